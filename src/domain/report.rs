//! The DfE's annual "parental responsibility measures" return: penalty notices
//! issued in an academic year (1 September to 31 August) and what became of
//! them, in total and by main reason, and the other measures (prosecutions and
//! their outcomes, attendance contracts, parenting orders, education
//! supervision orders: [`measures`]), from the records' own facts as of a date
//! (a notice issued or a case opened after that date does not count yet).
//! The collection's columns and the CSV: [`collection`].
//!
//! Each count is decided by one function: a notice's outcome by
//! [`notice_outcome`], its main reason by [`main_reason`], a withdrawal's
//! reason by [`withdrawn_reason`]; each case count by its function in
//! [`measures`]. [`statutory_return`] only adds them up, so another breakdown
//! (for example by SEN status) is one more sum over the same functions.
//!
//! Each notice issued in the year falls in exactly one outcome, the first that
//! applies as of the date: withdrawn (withdrawal dated on or before it), then
//! prosecuted (where a prosecution case follows the notice, the case decides:
//! its outcome recorded on or before the date; else the notice's own recorded
//! prosecution, its hearing on or before the date), then paid within 28 days of
//! receipt (the payment that settled it dated on or before day 28 of the period
//! that begins with the day of receipt, and on or before the date), else other
//! or outstanding. Paid within 21 days is the part of paid within 28 days whose
//! settling payment is dated on or before day 21.

pub mod collection;
pub mod measures;

use std::collections::HashMap;

use chrono::NaiveDate;

use super::calendar::last_day_of_period;
use super::measures::MeasureKind;
use super::notice::{Notice, NoticeKind, OffenceType, WithdrawalGround};
use super::policy::OffenceReason;
pub use measures::{CaseHistory, MeasureCounts, ProsecutionCounts, ProsecutionOutcome};

/// The return's main reasons: s444 unauthorised holiday, late arrival, and
/// everything else (s444 other, and s103 exclusion offences).
pub const REASONS: [OffenceReason; OffenceReason::ALL.len()] = OffenceReason::ALL;

/// Penalty notice counts for one reason, or for all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub issued: i64,
    pub paid_within_21_days: i64,
    /// Paid within 28 days, those within 21 included.
    pub paid_within_28_days: i64,
    /// Paid on days 22 to 28 (paid within 28 days less those within 21).
    pub paid_on_days_22_to_28: i64,
    pub withdrawn: i64,
    pub prosecuted: i64,
    pub other_or_outstanding: i64,
}

/// The collection's reasons for a withdrawal (its `withdrawn_reason_*` columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WithdrawnReason {
    /// Issued outside the authority's code of conduct.
    Conduct,
    /// Issued wrongly: it ought not to have been issued, or to the wrong person.
    WrongIssue,
    /// It contains material errors.
    MaterialError,
    /// Its period expired unpaid and the authority withdrew it rather than
    /// prosecute ("expiry, no legal action").
    ExpiryNoLegal,
}
super::all_variants!(WithdrawnReason {
    Conduct,
    WrongIssue,
    MaterialError,
    ExpiryNoLegal
});

/// Withdrawn notices by the collection's reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WithdrawnCounts {
    pub conduct: i64,
    pub wrong_issue: i64,
    pub material_error: i64,
    pub expiry_no_legal: i64,
}

impl WithdrawnCounts {
    fn add(&mut self, reason: WithdrawnReason) {
        match reason {
            WithdrawnReason::Conduct => self.conduct += 1,
            WithdrawnReason::WrongIssue => self.wrong_issue += 1,
            WithdrawnReason::MaterialError => self.material_error += 1,
            WithdrawnReason::ExpiryNoLegal => self.expiry_no_legal += 1,
        }
    }
}

/// The figures for one authority and academic year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatutoryReturn {
    /// The calendar year the academic year starts in.
    pub year_start: i32,
    pub as_of: NaiveDate,
    pub totals: Counts,
    /// In the order of [`REASONS`].
    pub by_reason: [(OffenceReason, Counts); 3],
    /// The withdrawn notices (all reasons of issue) by reason of withdrawal.
    pub withdrawn_by_reason: WithdrawnCounts,
    /// Notices to improve issued in the year, counted apart.
    pub notices_to_improve_issued: i64,
    /// The other measures, from the cases.
    pub measures: MeasureCounts,
}

/// The first and last day of the academic year starting in `year_start`, or
/// `None` for a year the calendar cannot hold.
pub fn academic_year(year_start: i32) -> Option<(NaiveDate, NaiveDate)> {
    let first = NaiveDate::from_ymd_opt(year_start, 9, 1)?;
    let last = NaiveDate::from_ymd_opt(year_start.checked_add(1)?, 8, 31)?;
    Some((first, last))
}

/// Whether `day` is in the academic year starting in `year_start` and on or
/// before `as_of`: what "in the year, as of the date" means for every count.
pub fn in_year(day: NaiveDate, year_start: i32, as_of: NaiveDate) -> bool {
    day <= as_of
        && academic_year(year_start).is_some_and(|(first, last)| (first..=last).contains(&day))
}

/// The academic year as the collection writes it: "2024/25".
pub fn academic_year_label(year_start: i32) -> String {
    format!("{year_start}/{:02}", (year_start + 1).rem_euclid(100))
}

/// The return's main reason of a penalty notice.
pub fn main_reason(notice: &Notice) -> OffenceReason {
    match &notice.offence {
        Some(o) if o.offence_type == OffenceType::S444Attendance => {
            o.reason.unwrap_or(OffenceReason::Other)
        }
        _ => OffenceReason::Other,
    }
}

/// Where one penalty notice counts, as of a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Withdrawn(WithdrawnReason),
    Prosecuted,
    Paid { within_21_days: bool },
    OtherOrOutstanding,
}

/// The collection's reason for a notice's withdrawal: withdrawn after day 28
/// of its period (unpaid, and not prosecuted: the authority must do one or the
/// other) is "expiry, no legal action" whatever the ground recorded; before,
/// the ground decides (issued outside the code of conduct: conduct; ought not
/// to have been issued, or to the wrong person: wrong issue; material errors).
pub fn withdrawn_reason(
    notice: &Notice,
    ground: WithdrawalGround,
    on: NaiveDate,
) -> WithdrawnReason {
    if on > last_day_of_period(notice.receipt_date, 28) {
        return WithdrawnReason::ExpiryNoLegal;
    }
    match ground {
        WithdrawalGround::OutsideCodeOfConduct => WithdrawnReason::Conduct,
        WithdrawalGround::OughtNotToHaveBeenIssued | WithdrawalGround::IssuedToWrongPerson => {
            WithdrawnReason::WrongIssue
        }
        WithdrawalGround::MaterialErrors => WithdrawnReason::MaterialError,
    }
}

/// Where `notice` counts as of `as_of`. `prosecutions` are the prosecution
/// cases that follow it: where one was referred on or before `as_of`, they
/// decide whether it was prosecuted (an outcome recorded on or before `as_of`, [`measures::prosecuted`]),
/// and the notice's own recorded prosecution is not read; where there is
/// none, the notice's own recorded prosecution does (its hearing on or before
/// `as_of`).
pub fn notice_outcome(notice: &Notice, prosecutions: &[&CaseHistory], as_of: NaiveDate) -> Outcome {
    if let Some(w) = notice.withdrawal.as_ref().filter(|w| w.date <= as_of) {
        return Outcome::Withdrawn(withdrawn_reason(notice, w.ground, w.date));
    }
    // Only the cases referred by the date: as of an earlier date, a case
    // opened later did not exist yet.
    let mut referred = prosecutions
        .iter()
        .filter(|h| h.case.opened_on <= as_of)
        .peekable();
    let prosecuted = if referred.peek().is_none() {
        notice
            .prosecution
            .as_ref()
            .is_some_and(|p| p.hearing_date <= as_of)
    } else {
        referred.any(|h| measures::prosecuted(h, as_of))
    };
    if prosecuted {
        return Outcome::Prosecuted;
    }
    match &notice.settlement {
        Some(s) if s.date <= as_of && s.date <= last_day_of_period(notice.receipt_date, 28) => {
            Outcome::Paid {
                within_21_days: s.date <= last_day_of_period(notice.receipt_date, 21),
            }
        }
        _ => Outcome::OtherOrOutstanding,
    }
}

impl Counts {
    fn add(&mut self, outcome: Outcome) {
        self.issued += 1;
        match outcome {
            Outcome::Withdrawn(_) => self.withdrawn += 1,
            Outcome::Prosecuted => self.prosecuted += 1,
            Outcome::Paid { within_21_days } => {
                self.paid_within_28_days += 1;
                if within_21_days {
                    self.paid_within_21_days += 1;
                } else {
                    self.paid_on_days_22_to_28 += 1;
                }
            }
            Outcome::OtherOrOutstanding => self.other_or_outstanding += 1,
        }
    }
}

/// The prosecution cases in `cases` that follow each notice, by notice number.
fn prosecutions_by_notice(cases: &[CaseHistory]) -> HashMap<&str, Vec<&CaseHistory>> {
    let mut by_notice: HashMap<&str, Vec<&CaseHistory>> = HashMap::new();
    for h in cases
        .iter()
        .filter(|h| h.case.kind == MeasureKind::Prosecution)
    {
        for number in h.followed_notices() {
            by_notice.entry(number).or_default().push(h);
        }
    }
    by_notice
}

/// The return from `notices` (any of the authority's; only those issued in the
/// year count) and `cases` (any of the authority's with their events: which
/// count is each count's function's to say; the prosecutions following the
/// year's notices must be among them, wherever they were opened).
pub fn statutory_return(
    notices: &[Notice],
    cases: &[CaseHistory],
    year_start: i32,
    as_of: NaiveDate,
) -> StatutoryReturn {
    let mut totals = Counts::default();
    let mut by_reason = REASONS.map(|r| (r, Counts::default()));
    let mut withdrawn_by_reason = WithdrawnCounts::default();
    let mut notices_to_improve_issued = 0;
    let prosecutions = prosecutions_by_notice(cases);
    for notice in notices
        .iter()
        .filter(|n| in_year(n.issue_date, year_start, as_of))
    {
        match notice.kind {
            NoticeKind::NoticeToImprove => notices_to_improve_issued += 1,
            NoticeKind::PenaltyNotice => {
                let following = prosecutions
                    .get(notice.notice_number.as_str())
                    .map_or(&[][..], Vec::as_slice);
                let outcome = notice_outcome(notice, following, as_of);
                totals.add(outcome);
                if let Outcome::Withdrawn(reason) = outcome {
                    withdrawn_by_reason.add(reason);
                }
                let reason = main_reason(notice);
                if let Some((_, counts)) = by_reason.iter_mut().find(|(r, _)| *r == reason) {
                    counts.add(outcome);
                }
            }
        }
    }
    StatutoryReturn {
        year_start,
        as_of,
        totals,
        by_reason,
        withdrawn_by_reason,
        notices_to_improve_issued,
        measures: measures::measure_counts(cases, year_start, as_of),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::issuing::tests_support::penalty_notice;
    use crate::domain::notice::PaidRate;
    use crate::domain::notice::{
        ProsecutionOutcome, ProsecutionResult, Settlement, Withdrawal, WithdrawalGround,
    };

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn paid_on(day: NaiveDate) -> Notice {
        let mut n = penalty_notice(d(2025, 2, 3));
        n.issue_date = d(2025, 2, 3);
        n.settlement = Some(Settlement {
            rate: PaidRate::Lower,
            date: day,
        });
        n
    }

    #[test]
    fn academic_years_run_september_to_august() {
        assert_eq!(academic_year(2024), Some((d(2024, 9, 1), d(2025, 8, 31))));
        assert_eq!(academic_year_label(2024), "2024/25");
        assert_eq!(academic_year_label(1999), "1999/00");
        assert_eq!(academic_year(i32::MAX), None);
    }

    #[test]
    fn days_21_and_28_begin_with_the_day_of_receipt() {
        // Received 3 Feb: day 21 is 23 Feb, day 28 is 2 Mar.
        let as_of = d(2025, 8, 31);
        let r = statutory_return(
            &[
                paid_on(d(2025, 2, 23)),
                paid_on(d(2025, 2, 24)),
                paid_on(d(2025, 3, 2)),
                paid_on(d(2025, 3, 3)),
            ],
            &[],
            2024,
            as_of,
        );
        assert_eq!(r.totals.issued, 4);
        assert_eq!(r.totals.paid_within_21_days, 1);
        assert_eq!(r.totals.paid_within_28_days, 3);
        assert_eq!(r.totals.other_or_outstanding, 1);
    }

    #[test]
    fn each_notice_has_one_outcome_as_of_the_date() {
        let mut withdrawn = paid_on(d(2025, 2, 10));
        withdrawn.withdrawal = Some(Withdrawal {
            ground: WithdrawalGround::MaterialErrors,
            reason: "r".into(),
            date: d(2025, 4, 1),
        });
        let mut prosecuted = penalty_notice(d(2025, 2, 3));
        prosecuted.issue_date = d(2025, 2, 3);
        prosecuted.prosecution = Some(ProsecutionOutcome {
            hearing_date: d(2025, 6, 1),
            court: "c".into(),
            result: ProsecutionResult::Convicted,
            fine_pence: 0,
            costs_pence: 0,
        });
        let notices = [withdrawn, prosecuted];
        let later = statutory_return(&notices, &[], 2024, d(2025, 8, 31));
        assert_eq!((later.totals.withdrawn, later.totals.prosecuted), (1, 1));
        assert_eq!(later.totals.paid_within_28_days, 0, "withdrawn comes first");
        // Before the withdrawal and the hearing: paid, and outstanding.
        let earlier = statutory_return(&notices, &[], 2024, d(2025, 3, 1));
        assert_eq!(earlier.totals.paid_within_28_days, 1);
        assert_eq!(earlier.totals.other_or_outstanding, 1);
    }

    #[test]
    fn notices_outside_the_year_do_not_count() {
        let mut before = paid_on(d(2025, 2, 10));
        before.issue_date = d(2024, 8, 31);
        let mut after = paid_on(d(2025, 2, 10));
        after.issue_date = d(2025, 9, 1);
        let r = statutory_return(&[before, after], &[], 2024, d(2026, 1, 1));
        assert_eq!(r.totals, Counts::default());
    }

    mod hand_worked {
        //! A small authority for 2024/25, every count worked by hand below.
        use super::*;
        use crate::domain::actor::Actor;
        use crate::domain::measures::{
            CaseEvent, CaseFacts, CaseState, Disposal, MeasureCase, Outcome as CaseOutcome,
            PaymentDecision, RecordedCaseEvent, Section,
        };
        use crate::domain::notice::{
            NoticeKind, Offence, PaidRate, ProsecutionOutcome, ProsecutionResult, Settlement,
            Withdrawal,
        };
        use crate::domain::report::collection;

        fn notice(number: u32, reason: OffenceReason, issued: NaiveDate) -> Notice {
            let mut n = penalty_notice(issued);
            n.notice_number = format!("850-2025-{number:06}");
            n.offence = Some(Offence {
                offence_type: OffenceType::S444Attendance,
                reason: Some(reason),
                description: "d".into(),
            });
            n
        }

        fn paid(mut n: Notice, on: NaiveDate) -> Notice {
            n.settlement = Some(Settlement {
                rate: PaidRate::Lower,
                date: on,
            });
            n
        }

        fn withdrawn(mut n: Notice, ground: WithdrawalGround, on: NaiveDate) -> Notice {
            n.withdrawal = Some(Withdrawal {
                ground,
                reason: "r".into(),
                date: on,
            });
            n
        }

        /// A case of `kind` for pupil `upn`, opened on `opened_on`, following
        /// the notices numbered `follows`, with `events` after its opening.
        fn case(
            number: i64,
            kind: MeasureKind,
            upn: &str,
            opened_on: NaiveDate,
            follows: &[u32],
            section: Option<Section>,
            events: Vec<(CaseEvent, NaiveDate)>,
        ) -> CaseHistory {
            let actor = Actor {
                subject: "o".into(),
                role: None,
            };
            let at = chrono::DateTime::from_timestamp(1_738_000_000, 0).unwrap();
            let recorded = |sequence, event, on| RecordedCaseEvent {
                sequence,
                event,
                on,
                state_after: CaseState::Referred,
                actor: actor.clone(),
                recorded_at: at,
                request_id: "r".into(),
            };
            let mut all = vec![recorded(1, CaseEvent::Opened, opened_on)];
            for (i, (e, on)) in events.into_iter().enumerate() {
                all.push(recorded(i as i64 + 2, e, on));
            }
            CaseHistory {
                case: MeasureCase {
                    number,
                    kind,
                    state: crate::domain::measures::initial_state(kind),
                    upn: upn.into(),
                    school_urn: "116439".into(),
                    opened_on,
                    facts: CaseFacts {
                        follows: follows
                            .iter()
                            .map(|n| format!("authorities/850/notices/850-2025-{n:06}"))
                            .chain(std::iter::once("authorities/850/breaches/1".to_string()))
                            .collect(),
                        section,
                        ..Default::default()
                    },
                    opened_by: actor.clone(),
                    created_at: at,
                    version: all.len() as i64,
                },
                events: all,
            }
        }

        fn outcome(disposal: Disposal, fine_pence: i64) -> CaseEvent {
            CaseEvent::OutcomeRecorded {
                outcome: CaseOutcome {
                    disposal,
                    fine_pence,
                    costs_pence: 0,
                    parenting_order: false,
                },
            }
        }

        fn listed(on: NaiveDate) -> (CaseEvent, NaiveDate) {
            (
                CaseEvent::HearingListed {
                    court: "c".into(),
                    hearing_date: on,
                },
                on,
            )
        }

        /// The authority. Penalty notices are received the day they are
        /// issued (by hand), so day 21 and day 28 count from the issue date.
        ///
        /// | notice | reason  | issued | what happened                                   | outcome (as of 1 Oct 2025)        |
        /// |--------|---------|--------|-------------------------------------------------|-----------------------------------|
        /// | 1      | holiday | 16 Sep | paid 20 Sep (day 5)                              | paid within 21                    |
        /// | 2      | holiday | 7 Oct  | paid 31 Oct (day 25; day 21 = 27 Oct)            | paid on days 22-28                |
        /// | 3      | holiday | 4 Nov  | withdrawn 20 Nov, material errors                | withdrawn: material error         |
        /// | 4      | late    | 13 Jan | case P1 (s444(1)): fined, outcome 20 Mar         | prosecuted (from the case)        |
        /// | 5      | late    | 3 Feb  | case P2 (s444(1A)): hearing listed, no outcome   | unresolved                        |
        /// | 6      | other   | 3 Feb  | no case; its own prosecution, hearing 1 Apr      | prosecuted (from the notice)      |
        /// | 7      | holiday | 3 Mar  | withdrawn 15 Apr (after day 28 = 30 Mar), ought not to have been issued | withdrawn: expiry, no legal action |
        /// | 8      | holiday | 3 Mar  | withdrawn 10 Mar, issued to the wrong person     | withdrawn: wrong issue            |
        /// | 9      | other   | 7 Apr  | withdrawn 8 Apr, outside the code of conduct     | withdrawn: conduct                |
        /// | 10     | holiday | 5 May  | paid 3 Jun (day 30)                              | unresolved                        |
        /// | 11     | late    | 13 Jan | case P3 (s444(1)) discontinued after money; a stale own record of a hearing on 1 Mar | unresolved (the case decides) |
        /// | 12     | holiday | 30 Aug 2024 | before the year                             | not counted                       |
        /// | 13     | holiday | 1 Sep 2025  | after the year                              | not counted                       |
        /// | 14     | notice to improve, 5 May                                                 | notices to improve: 1             |
        ///
        /// Totals: issued 11; paid 2 (21: 1, 22-28: 1); withdrawn 4 (conduct 1,
        /// wrong issue 1, material error 1, expiry 1); prosecuted 2; unresolved 3
        /// (11 = 2 + 4 + 2 + 3). Holiday: 6 = paid 2 (1 + 1), withdrawn 3, unresolved 1.
        /// Late: 3 = prosecuted 1, unresolved 2. Other: 2 = withdrawn 1, prosecuted 1.
        ///
        /// Prosecution cases (referred = opened): P1 s444(1) 17 Feb, fined 20 Mar;
        /// P2 s444(1A) 10 Mar, no outcome; P3 s444(1) 17 Feb, blocked by money and
        /// discontinued 1 Mar; P4 s444(1) 1 Apr (a breach), conditional discharge
        /// 1 Jun; P5 s444(1A) 1 Apr, withdrawn 1 May; P6 s444(1) 1 May, dismissed
        /// 15 Sep 2025 (after the year, before the date: counts); P7 s444(1)
        /// 20 Aug 2024 (before the year, not counted). So 6 referred: s444(1) 4
        /// (fine 1, discharge 1, dismissed 1, discontinued 1); s444(1A) 2
        /// (withdrawn 1, awaiting 1).
        ///
        /// Contracts: C1 offered 1 Oct 2024, accepted 8 Oct; C2 offered 10 Jan,
        /// declined; C3 offered 20 Aug 2024, accepted 5 Sep (offered before the
        /// year: neither). Offered 2, accepted 1.
        /// Parenting orders: O1 made 20 Mar; O2 made 1 Jul; O3 made 10 Sep 2025
        /// (after the year). Granted 2.
        /// Supervision orders: E1 for P2's pupil, applied 1 Nov, made 1 Dec (in
        /// addition to prosecution: P2 referred by the date); E2 another pupil,
        /// made 1 Feb (in place of); E3 refused; E4 made 5 Sep 2025 (after the
        /// year). Made 2: in place 1, in addition 1.
        fn authority() -> (Vec<Notice>, Vec<CaseHistory>) {
            use MeasureKind::*;
            use OffenceReason::*;
            let mut n6 = notice(6, Other, d(2025, 2, 3));
            n6.prosecution = Some(ProsecutionOutcome {
                hearing_date: d(2025, 4, 1),
                court: "c".into(),
                result: ProsecutionResult::Convicted,
                fine_pence: 1,
                costs_pence: 0,
            });
            let mut n11 = notice(11, Late, d(2025, 1, 13));
            n11.prosecution = n6.prosecution.clone().map(|mut p| {
                p.hearing_date = d(2025, 3, 1);
                p
            });
            let mut nti = notice(14, Holiday, d(2025, 5, 5));
            nti.kind = NoticeKind::NoticeToImprove;
            let notices = vec![
                paid(notice(1, Holiday, d(2024, 9, 16)), d(2024, 9, 20)),
                paid(notice(2, Holiday, d(2024, 10, 7)), d(2024, 10, 31)),
                withdrawn(
                    notice(3, Holiday, d(2024, 11, 4)),
                    WithdrawalGround::MaterialErrors,
                    d(2024, 11, 20),
                ),
                notice(4, Late, d(2025, 1, 13)),
                notice(5, Late, d(2025, 2, 3)),
                n6,
                withdrawn(
                    notice(7, Holiday, d(2025, 3, 3)),
                    WithdrawalGround::OughtNotToHaveBeenIssued,
                    d(2025, 4, 15),
                ),
                withdrawn(
                    notice(8, Holiday, d(2025, 3, 3)),
                    WithdrawalGround::IssuedToWrongPerson,
                    d(2025, 3, 10),
                ),
                withdrawn(
                    notice(9, Other, d(2025, 4, 7)),
                    WithdrawalGround::OutsideCodeOfConduct,
                    d(2025, 4, 8),
                ),
                paid(notice(10, Holiday, d(2025, 5, 5)), d(2025, 6, 3)),
                n11,
                paid(notice(12, Holiday, d(2024, 8, 30)), d(2024, 8, 31)),
                notice(13, Holiday, d(2025, 9, 1)),
                nti,
            ];
            let s1 = Some(Section::S444_1);
            let s1a = Some(Section::S444_1A);
            let cases = vec![
                case(
                    1,
                    Prosecution,
                    "P1",
                    d(2025, 2, 17),
                    &[4],
                    s1,
                    vec![
                        listed(d(2025, 3, 20)),
                        (outcome(Disposal::Fine, 25_000), d(2025, 3, 20)),
                    ],
                ),
                case(
                    2,
                    Prosecution,
                    "P2",
                    d(2025, 3, 10),
                    &[5],
                    s1a,
                    vec![listed(d(2025, 11, 3))],
                ),
                case(
                    3,
                    Prosecution,
                    "P3",
                    d(2025, 2, 17),
                    &[11],
                    s1,
                    vec![
                        (
                            CaseEvent::BlockedByPayment {
                                payment: "p".into(),
                                amount_pence: 16_000,
                            },
                            d(2025, 2, 24),
                        ),
                        (
                            CaseEvent::PaymentDecisionRecorded {
                                decision: PaymentDecision::Discontinue,
                                reason: "paid".into(),
                            },
                            d(2025, 3, 1),
                        ),
                    ],
                ),
                case(
                    4,
                    Prosecution,
                    "P4",
                    d(2025, 4, 1),
                    &[],
                    s1,
                    vec![
                        listed(d(2025, 6, 1)),
                        (outcome(Disposal::ConditionalDischarge, 0), d(2025, 6, 1)),
                    ],
                ),
                case(
                    5,
                    Prosecution,
                    "P5",
                    d(2025, 4, 1),
                    &[],
                    s1a,
                    vec![(outcome(Disposal::Withdrawn, 0), d(2025, 5, 1))],
                ),
                case(
                    6,
                    Prosecution,
                    "P6",
                    d(2025, 5, 1),
                    &[],
                    s1,
                    vec![
                        listed(d(2025, 9, 15)),
                        (outcome(Disposal::Dismissed, 0), d(2025, 9, 15)),
                    ],
                ),
                case(7, Prosecution, "P7", d(2024, 8, 20), &[], s1, vec![]),
                case(
                    8,
                    AttendanceContract,
                    "C1",
                    d(2024, 10, 1),
                    &[],
                    None,
                    vec![(CaseEvent::Accepted, d(2024, 10, 8))],
                ),
                case(
                    9,
                    AttendanceContract,
                    "C2",
                    d(2025, 1, 10),
                    &[],
                    None,
                    vec![(CaseEvent::Declined, d(2025, 1, 17))],
                ),
                case(
                    10,
                    AttendanceContract,
                    "C3",
                    d(2024, 8, 20),
                    &[],
                    None,
                    vec![(CaseEvent::Accepted, d(2024, 9, 5))],
                ),
                case(11, ParentingOrder, "P1", d(2025, 3, 20), &[], None, vec![]),
                case(12, ParentingOrder, "O2", d(2025, 7, 1), &[], None, vec![]),
                case(13, ParentingOrder, "O3", d(2025, 9, 10), &[], None, vec![]),
                case(
                    14,
                    EducationSupervisionOrder,
                    "P2",
                    d(2024, 11, 1),
                    &[],
                    None,
                    vec![(CaseEvent::Made, d(2024, 12, 1))],
                ),
                case(
                    15,
                    EducationSupervisionOrder,
                    "E2",
                    d(2025, 1, 1),
                    &[],
                    None,
                    vec![(CaseEvent::Made, d(2025, 2, 1))],
                ),
                case(
                    16,
                    EducationSupervisionOrder,
                    "E3",
                    d(2025, 3, 1),
                    &[],
                    None,
                    vec![(CaseEvent::Refused, d(2025, 4, 1))],
                ),
                case(
                    17,
                    EducationSupervisionOrder,
                    "E4",
                    d(2025, 6, 1),
                    &[],
                    None,
                    vec![(CaseEvent::Made, d(2025, 9, 5))],
                ),
            ];
            (notices, cases)
        }

        fn c(v: [i64; 7]) -> Counts {
            let [issued, p21, p28, p22, withdrawn, prosecuted, other] = v;
            Counts {
                issued,
                paid_within_21_days: p21,
                paid_within_28_days: p28,
                paid_on_days_22_to_28: p22,
                withdrawn,
                prosecuted,
                other_or_outstanding: other,
            }
        }

        #[test]
        fn every_count_matches_the_hand_worked_figures() {
            let (notices, cases) = authority();
            let r = statutory_return(&notices, &cases, 2024, d(2025, 10, 1));
            // issued, paid 21, paid 28, paid 22-28, withdrawn, prosecuted, other.
            assert_eq!(r.totals, c([11, 1, 2, 1, 4, 2, 3]));
            assert_eq!(
                r.by_reason,
                [
                    (OffenceReason::Holiday, c([6, 1, 2, 1, 3, 0, 1])),
                    (OffenceReason::Late, c([3, 0, 0, 0, 0, 1, 2])),
                    (OffenceReason::Other, c([2, 0, 0, 0, 1, 1, 0])),
                ]
            );
            assert_eq!(
                r.withdrawn_by_reason,
                WithdrawnCounts {
                    conduct: 1,
                    wrong_issue: 1,
                    material_error: 1,
                    expiry_no_legal: 1,
                }
            );
            assert_eq!(r.notices_to_improve_issued, 1);
            let m = r.measures;
            let p = |referred, fine, cd, withdrawn, dismissed, discontinued, awaiting| {
                ProsecutionCounts {
                    referred,
                    fine,
                    conditional_discharge: cd,
                    withdrawn,
                    dismissed,
                    discontinued,
                    awaiting_outcome: awaiting,
                }
            };
            assert_eq!(m.prosecutions, p(6, 1, 1, 1, 1, 1, 1));
            assert_eq!(
                m.prosecutions_by_section,
                [
                    (Section::S444_1, p(4, 1, 1, 0, 1, 1, 0)),
                    (Section::S444_1A, p(2, 0, 0, 1, 0, 0, 1)),
                ]
            );
            assert_eq!((m.contracts_offered, m.contracts_accepted), (2, 1));
            assert_eq!(m.parenting_orders_granted, 2);
            assert_eq!(
                (
                    m.supervision_orders_made,
                    m.supervision_orders_in_place_of_prosecution,
                    m.supervision_orders_in_addition_to_prosecution
                ),
                (2, 1, 1)
            );
            let by_sen = crate::domain::sen::return_by_sen_status(&notices, 2024, d(2025, 10, 1));
            let csv = collection::csv("850", &r, &by_sen);
            let mut lines = csv.lines();
            let header: Vec<&str> = lines.next().unwrap().split(',').collect();
            let row: Vec<&str> = lines.next().unwrap().split(',').collect();
            assert_eq!(header.len(), row.len());
            let at = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
            assert_eq!(
                &row[..4],
                ["202425", "Academic year", "Local authority", "850"]
            );
            for (name, value) in [
                ("pn_issued", "11"),
                ("reason_pn_hols", "6"),
                ("pn_paid_22_28", "1"),
                ("withdrawn_reason_expiry_no_legal", "1"),
                ("pn_prosecuted_non_payment", "2"),
                ("pn_unresolved", "3"),
                ("supervision_orders_inadditiontoprosecution", "1"),
                ("prosecutions_s444_1_discontinued", "1"),
                ("prosecutions_s444_1a_awaiting_outcome", "1"),
                // No SEN status was sent for any pupil.
                ("pn_issued_sen_none", "0"),
                ("pn_issued_sen_not_known", "11"),
                ("nti_issued_sen_not_known", "1"),
            ] {
                assert_eq!(at(name), value, "{name}");
            }
        }

        #[test]
        fn a_case_decides_from_its_referral_and_the_notice_before_it() {
            // Notice 6 has its own prosecution (hearing 1 Apr 2025). Suppose a
            // case P9 followed it, referred 1 Jun and awaiting its outcome: as
            // of 15 May the case did not exist and the notice's own record
            // counts (prosecuted); as of 1 Oct the case decides (unresolved).
            let (notices, mut cases) = authority();
            cases.push(case(
                99,
                MeasureKind::Prosecution,
                "P9",
                d(2025, 6, 1),
                &[6],
                Some(Section::S444_1),
                vec![],
            ));
            let n6 = notices
                .iter()
                .find(|n| n.notice_number.ends_with("000006"))
                .unwrap();
            let following: Vec<&CaseHistory> =
                cases.iter().filter(|h| h.case.number == 99).collect();
            assert_eq!(
                notice_outcome(n6, &following, d(2025, 5, 15)),
                Outcome::Prosecuted
            );
            assert_eq!(
                notice_outcome(n6, &following, d(2025, 10, 1)),
                Outcome::OtherOrOutstanding
            );
            let r = statutory_return(&notices, &cases, 2024, d(2025, 10, 1));
            assert_eq!(r.totals, c([11, 1, 2, 1, 4, 1, 4]));
        }

        #[test]
        fn earlier_the_fined_case_and_the_later_cases_do_not_count_yet() {
            // As of 15 Mar 2025: notices 9, 10 and 13 not yet issued; notice 3
            // withdrawn, 8 withdrawn (10 Mar); 7 not yet withdrawn (outstanding);
            // 4's case has no outcome yet (outstanding); 6's hearing is 1 Apr
            // (outstanding); 11's case discontinued (outstanding).
            let (notices, cases) = authority();
            let r = statutory_return(&notices, &cases, 2024, d(2025, 3, 15));
            assert_eq!(r.totals, c([9, 1, 2, 1, 2, 0, 5]));
            let m = r.measures;
            // P1, P2 and P3 referred: P1 awaiting, P2 awaiting, P3 discontinued.
            assert_eq!(
                (
                    m.prosecutions.referred,
                    m.prosecutions.awaiting_outcome,
                    m.prosecutions.discontinued
                ),
                (3, 2, 1)
            );
            assert_eq!(m.parenting_orders_granted, 0);
            // E1's pupil's prosecution (P2) was referred 10 Mar: still in addition.
            assert_eq!(m.supervision_orders_in_addition_to_prosecution, 1);
        }
    }
}
