//! The DfE's annual "parental responsibility measures" return: penalty notices
//! issued in an academic year (1 September to 31 August) and what became of
//! them, in total and by main reason, from the notices' own facts as of a date
//! (a notice issued after that date does not count yet).
//!
//! Each notice issued in the year falls in exactly one outcome, the first that
//! applies as of the date: withdrawn (withdrawal dated on or before it), then
//! prosecuted (hearing on or before it), then paid within 28 days of receipt
//! (the payment that settled it dated on or before day 28 of the period that
//! begins with the day of receipt, and on or before the date), else other or
//! outstanding. Paid within 21 days is the part of paid within 28 days whose
//! settling payment is dated on or before day 21.

use chrono::NaiveDate;

use super::calendar::last_day_of_period;
use super::notice::{Notice, NoticeKind, OffenceType};
use super::policy::OffenceReason;

/// The return's main reasons: s444 unauthorised holiday, late arrival, and
/// everything else (s444 other, and s103 exclusion offences).
pub const REASONS: [OffenceReason; OffenceReason::ALL.len()] = OffenceReason::ALL;

/// Counts for one reason, or for all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub issued: i64,
    pub paid_within_21_days: i64,
    pub paid_within_28_days: i64,
    pub withdrawn: i64,
    pub prosecuted: i64,
    pub other_or_outstanding: i64,
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
    /// Notices to improve issued in the year, counted apart.
    pub notices_to_improve_issued: i64,
}

/// The first and last day of the academic year starting in `year_start`, or
/// `None` for a year the calendar cannot hold.
pub fn academic_year(year_start: i32) -> Option<(NaiveDate, NaiveDate)> {
    let first = NaiveDate::from_ymd_opt(year_start, 9, 1)?;
    let last = NaiveDate::from_ymd_opt(year_start.checked_add(1)?, 8, 31)?;
    Some((first, last))
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

/// Where one penalty notice counts, as of `as_of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Withdrawn,
    Prosecuted,
    Paid { within_21_days: bool },
    OtherOrOutstanding,
}

fn outcome(notice: &Notice, as_of: NaiveDate) -> Outcome {
    if notice.withdrawal.as_ref().is_some_and(|w| w.date <= as_of) {
        return Outcome::Withdrawn;
    }
    if notice
        .prosecution
        .as_ref()
        .is_some_and(|p| p.hearing_date <= as_of)
    {
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
            Outcome::Withdrawn => self.withdrawn += 1,
            Outcome::Prosecuted => self.prosecuted += 1,
            Outcome::Paid { within_21_days } => {
                self.paid_within_28_days += 1;
                self.paid_within_21_days += i64::from(within_21_days);
            }
            Outcome::OtherOrOutstanding => self.other_or_outstanding += 1,
        }
    }
}

/// The return from `notices` (any of the authority's; only those issued in the
/// year count).
pub fn statutory_return(notices: &[Notice], year_start: i32, as_of: NaiveDate) -> StatutoryReturn {
    let mut totals = Counts::default();
    let mut by_reason = REASONS.map(|r| (r, Counts::default()));
    let mut notices_to_improve_issued = 0;
    let in_year = |n: &&Notice| {
        n.issue_date <= as_of
            && academic_year(year_start)
                .is_some_and(|(first, last)| (first..=last).contains(&n.issue_date))
    };
    for notice in notices.iter().filter(in_year) {
        match notice.kind {
            NoticeKind::NoticeToImprove => notices_to_improve_issued += 1,
            NoticeKind::PenaltyNotice => {
                let outcome = outcome(notice, as_of);
                totals.add(outcome);
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
        notices_to_improve_issued,
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
        let later = statutory_return(&notices, 2024, d(2025, 8, 31));
        assert_eq!((later.totals.withdrawn, later.totals.prosecuted), (1, 1));
        assert_eq!(later.totals.paid_within_28_days, 0, "withdrawn comes first");
        // Before the withdrawal and the hearing: paid, and outstanding.
        let earlier = statutory_return(&notices, 2024, d(2025, 3, 1));
        assert_eq!(earlier.totals.paid_within_28_days, 1);
        assert_eq!(earlier.totals.other_or_outstanding, 1);
    }

    #[test]
    fn notices_outside_the_year_do_not_count() {
        let mut before = paid_on(d(2025, 2, 10));
        before.issue_date = d(2024, 8, 31);
        let mut after = paid_on(d(2025, 2, 10));
        after.issue_date = d(2025, 9, 1);
        let r = statutory_return(&[before, after], 2024, d(2026, 1, 1));
        assert_eq!(r.totals, Counts::default());
    }
}
