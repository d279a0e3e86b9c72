//! Where the store's SQL restates a domain rule for speed, the two must agree on
//! every case: the status filter of `list_notices` against `Notice::status`, and
//! `list_payments`' `unallocated_only` against `Payment::unallocated_pence`.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use lea_notices::domain::identifiers::{LaCode, Upn, Urn};
use lea_notices::domain::notice::{
    Address, Charges, Delivery, DeliveryMethod, ImprovementPeriod, Issuer, MoneyOnNotice, Notice,
    NoticeKind, NoticeStatus, PaidRate, Parent, ProsecutionOutcome, ProsecutionResult, Pupil,
    Settlement, Withdrawal, WithdrawalGround,
};
use lea_notices::domain::payment::{Channel, NoticeMoney, Payment, Refund};
use lea_notices::domain::policy::IssuerRole;
use lea_notices::store::{NoticeFilter, PaymentFilter, Store};

use crate::helpers::on_both_backends;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn la() -> LaCode {
    LaCode::parse("850").unwrap()
}

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 2, 3, 9, 0, 0).unwrap()
}

/// Every status, in an array the compiler keeps complete.
fn all_statuses() -> [NoticeStatus; 6] {
    // A new status fails to compile here until it is added below.
    match NoticeStatus::Issued {
        NoticeStatus::Issued
        | NoticeStatus::Paid
        | NoticeStatus::Unpaid
        | NoticeStatus::Prosecuted
        | NoticeStatus::Withdrawn
        | NoticeStatus::ImprovementPeriodEnded => {}
    }
    [
        NoticeStatus::Issued,
        NoticeStatus::Paid,
        NoticeStatus::Unpaid,
        NoticeStatus::Prosecuted,
        NoticeStatus::Withdrawn,
        NoticeStatus::ImprovementPeriodEnded,
    ]
}

/// A notice with no outcome yet; money, withdrawal and prosecution come later
/// through the store.
fn notice(
    number: &str,
    kind: NoticeKind,
    higher_deadline: Option<NaiveDate>,
    improvement_end: Option<NaiveDate>,
) -> Notice {
    let issue_date = d(2025, 1, 6);
    Notice {
        notice_number: number.into(),
        kind,
        pupil: Pupil {
            upn: Upn::parse("B801200005001").unwrap(),
            school_urn: Urn::parse("116439").unwrap(),
            given_name: "Sam".into(),
            family_name: "Taylor".into(),
            address: Address::default(),
        },
        parent: Parent {
            person_id: "mum".into(),
            given_name: "Jo".into(),
            family_name: "Taylor".into(),
            address: Address::default(),
            liability: None,
        },
        related_notices: vec![],
        offence: None,
        sessions: vec![],
        issue_date,
        issuer: Issuer {
            role: IssuerRole::LaOfficer,
            display_name: "Officer".into(),
            official_details: String::new(),
            subject: "la_officer@850".into(),
        },
        delivery: Delivery {
            method: DeliveryMethod::Hand,
            posting_date: None,
        },
        receipt_date: issue_date,
        policy_version: "nationalRegimes/2024-08-19".into(),
        second_notice: false,
        charges: higher_deadline.map(|higher_deadline| Charges {
            lower_amount_pence: 8_000,
            lower_deadline: Some(higher_deadline - Duration::days(7)),
            higher_amount_pence: 16_000,
            higher_deadline,
        }),
        improvement_period: improvement_end.map(|end_date| ImprovementPeriod {
            start_date: issue_date,
            school_weeks: 4,
            end_date,
            reason: "support offered".into(),
        }),
        part_payments_accepted: false,
        settlement: None,
        withdrawal: None,
        prosecution: None,
        created_at: at(),
        money: MoneyOnNotice::default(),
        session_evidence: vec![],
        evidence_corrections: vec![],
        other_authority_notices: vec![],
        sen_provision: None,
    }
}

/// Every notice of the authority, as stored.
async fn stored_notices(store: &dyn Store, today: NaiveDate) -> Vec<Notice> {
    let mut tx = store.begin_read().await.unwrap();
    let all = tx
        .list_notices(&la(), &NoticeFilter::default(), today, None, 10_000)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    all
}

fn numbers<'a>(notices: impl IntoIterator<Item = &'a Notice>) -> BTreeSet<String> {
    notices
        .into_iter()
        .map(|n| n.notice_number.clone())
        .collect()
}

/// A payment of £80 on 2025-02-10, with nothing allocated or refunded yet.
fn payment(id: &str) -> Payment {
    Payment {
        payment_id: id.into(),
        amount_pence: 8_000,
        paid_date: d(2025, 2, 10),
        received_at: at(),
        channel: Channel::Online,
        provider: "govuk-pay".into(),
        provider_payment_id: format!("provider-{id}"),
        payer_reference: String::new(),
        payer_name: "J Taylor".into(),
        allocations: vec![],
        refunds: vec![],
        created_at: at(),
    }
}

fn refund(id: String, amount_pence: i64, notice_number: Option<&str>) -> Refund {
    Refund {
        provider_refund_id: id,
        amount_pence,
        refund_date: d(2025, 2, 20),
        reason: "paid back".into(),
        notice_number: notice_number.map(String::from),
    }
}

on_both_backends! {
    async fn the_status_filter_agrees_with_notice_status_on_every_case(app) {
        let store = app.store.as_ref();
        let today = d(2025, 6, 16);
        // A deadline (or the end of an improvement period) before, on or after
        // today, or none at all.
        let dates = [None, Some(today - Duration::days(1)), Some(today), Some(today + Duration::days(1))];
        let mut tx = store.begin().await.unwrap();
        let mut count = 0;
        for kind in [NoticeKind::PenaltyNotice, NoticeKind::NoticeToImprove] {
            for higher_deadline in dates {
                for improvement_end in dates {
                    for facts in 0..8 {
                        let (withdrawn, prosecuted, paid) = (facts & 1 != 0, facts & 2 != 0, facts & 4 != 0);
                        count += 1;
                        let number = format!("850-2025-{count:06}");
                        tx.insert_notice(&la(), &notice(&number, kind, higher_deadline, improvement_end)).await.unwrap();
                        if paid {
                            let money = NoticeMoney {
                                allocations: vec![],
                                settlement: Some(Settlement { rate: PaidRate::Lower, date: d(2025, 1, 20) }),
                            };
                            tx.apply_notice_money(&la(), &number, &money, true).await.unwrap();
                        }
                        if prosecuted {
                            let outcome = ProsecutionOutcome {
                                hearing_date: d(2025, 5, 1),
                                court: "Winchester Magistrates' Court".into(),
                                result: ProsecutionResult::Convicted,
                                fine_pence: 12_000,
                                costs_pence: 5_000,
                            };
                            tx.record_prosecution(&la(), &number, &outcome).await.unwrap();
                        }
                        if withdrawn {
                            let withdrawal = Withdrawal {
                                ground: WithdrawalGround::MaterialErrors,
                                reason: "wrong dates".into(),
                                date: d(2025, 2, 1),
                            };
                            tx.record_withdrawal(&la(), &number, &withdrawal).await.unwrap();
                        }
                    }
                }
            }
        }
        tx.commit().await.unwrap();

        let all = stored_notices(store, today).await;
        assert_eq!(all.len(), count, "every notice stored");
        let mut seen = BTreeSet::new();
        for status in all_statuses() {
            let expected = numbers(all.iter().filter(|n| n.status(today) == status));
            assert!(!expected.is_empty(), "no notice is {status:?}: the cases miss one");
            let mut tx = store.begin_read().await.unwrap();
            let filter = NoticeFilter { status: Some(status), ..Default::default() };
            let listed = tx.list_notices(&la(), &filter, today, None, 10_000).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(numbers(&listed), expected, "notices listed as {status:?} on {today}");
            seen.extend(expected);
        }
        assert_eq!(seen, numbers(&all), "every notice has one of the statuses");
    }

    async fn unallocated_only_agrees_with_unallocated_pence_on_every_case(app) {
        let store = app.store.as_ref();
        let notices = ["850-2025-000001", "850-2025-000002"];
        let mut tx = store.begin().await.unwrap();
        for number in notices {
            tx.insert_notice(&la(), &notice(number, NoticeKind::PenaltyNotice, Some(d(2025, 3, 2)), None)).await.unwrap();
        }
        // Of a payment of £80: nothing allocated, part, all, or all across two notices.
        let allocation_cases: [&[(&str, i64)]; 4] = [
            &[],
            &[(notices[0], 5_000)],
            &[(notices[0], 8_000)],
            &[(notices[0], 4_000), (notices[1], 4_000)],
        ];
        let mut count = 0;
        for allocations in allocation_cases {
            let allocated: i64 = allocations.iter().map(|(_, a)| a).sum();
            let unallocated = 8_000 - allocated;
            // Refunds of unallocated money: none, part of it, or all of it.
            let mut unallocated_refunds = vec![0];
            if unallocated > 0 {
                unallocated_refunds.extend([1_000.min(unallocated), unallocated]);
            }
            for unallocated_refund in unallocated_refunds {
                // A refund against a notice (of money due back on it), or none.
                let notice_refunds: &[i64] = if allocated > 0 { &[0, 1_000] } else { &[0] };
                for &notice_refund in notice_refunds {
                    count += 1;
                    let id = format!("payment-{count:03}");
                    tx.insert_payment(&la(), &payment(&id), "fingerprint").await.unwrap();
                    let allocations: Vec<(String, i64)> =
                        allocations.iter().map(|(n, a)| (n.to_string(), *a)).collect();
                    tx.set_allocations(&la(), &id, true, &allocations).await.unwrap();
                    if unallocated_refund > 0 {
                        tx.insert_refund(&la(), &id, &refund(format!("{id}-u"), unallocated_refund, None), "f", at()).await.unwrap();
                    }
                    if notice_refund > 0 {
                        tx.insert_refund(&la(), &id, &refund(format!("{id}-n"), notice_refund, Some(notices[0])), "f", at()).await.unwrap();
                    }
                }
            }
        }
        tx.commit().await.unwrap();

        let mut tx = store.begin_read().await.unwrap();
        let all = tx.list_payments(&la(), &PaymentFilter::default(), None, 10_000).await.unwrap();
        let filter = PaymentFilter { unallocated_only: true, ..Default::default() };
        let listed = tx.list_payments(&la(), &filter, None, 10_000).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(all.len(), count, "every payment stored");
        let ids = |ps: &mut dyn Iterator<Item = &Payment>| ps.map(|p| p.payment_id.clone()).collect::<BTreeSet<_>>();
        let expected = ids(&mut all.iter().filter(|p| p.unallocated_pence() > 0));
        // Both answers occur, and refunds of unallocated money are among the cases.
        assert!(!expected.is_empty() && expected.len() < all.len());
        assert!(all.iter().any(|p| p.unallocated_pence() > 0 && p.refundable_for(None) == 0));
        assert_eq!(ids(&mut listed.iter()), expected, "payments with unallocated money");
    }
}

mod consumed_sessions {
    //! The breach search's SQL counts only a pupil's qualifying sessions after
    //! their latest decided case; `domain::breach::unconsumed` says the same.

    use super::*;
    use lea_notices::domain::actor::{Actor, Role};
    use lea_notices::domain::attendance::{Breach, PupilMark, RegisterMark};
    use lea_notices::domain::breach::{
        BreachState, DecidedBreach, Decision, NoActionReason, consumed_through, unconsumed,
    };
    use lea_notices::domain::notice::Session;
    use lea_notices::domain::register_codes::CodeSet;
    use lea_notices::store::QualifyingFilter;

    use crate::helpers::notices::upn;

    fn register(pupil: u32, date: NaiveDate, session: Session, code: &str) -> RegisterMark {
        RegisterMark {
            school_urn: Urn::parse("116439").unwrap(),
            upn: Upn::parse(&upn(pupil)).unwrap(),
            date,
            session,
            code: code.into(),
            category: CodeSet::categorise(date, code).unwrap(),
            record_time: at(),
        }
    }

    fn case(case_id: i64, pupil: u32, through: (NaiveDate, Session)) -> DecidedBreach {
        DecidedBreach {
            breach_id: case_id,
            upn: upn(pupil),
            school_urn: "116439".into(),
            as_of: through.0,
            breach: Breach {
                qualifying_sessions: 1,
                first_week: d(2025, 3, 3),
                last_week: d(2025, 3, 3),
                sessions: vec![PupilMark {
                    date: through.0,
                    session: through.1,
                    code: "O".into(),
                }],
            },
            policy_version: "nationalRegimes/2024-08-19".into(),
            decision: Decision {
                state: BreachState::NoAction,
                reason: Some(NoActionReason::Medical),
                note: String::new(),
                notice_numbers: vec![],
            },
            decided_at: at(),
            decided_by: Actor {
                subject: "officer".into(),
                role: Some(Role::LaOfficer),
            },
        }
    }

    on_both_backends! {
        async fn the_breach_search_counts_only_unconsumed_sessions_as_the_domain_does(app) {
            let store = app.store.as_ref();
            let days = [d(2025, 3, 3), d(2025, 3, 4), d(2025, 3, 5)];
            // Each pupil: O on Mon..Wed, both sessions; present on Thursday.
            let pupils: Vec<u32> = (1..=6).collect();
            let mut marks = Vec::new();
            for &p in &pupils {
                for &day in &days {
                    marks.push(register(p, day, Session::Am, "O"));
                    marks.push(register(p, day, Session::Pm, "O"));
                }
                marks.push(register(p, d(2025, 3, 6), Session::Am, "/"));
            }
            // Cases: none; through Mon AM; Mon PM; Tue AM (and an older one, stored
            // after it); everything; before any mark.
            let cases = [
                case(1, 2, (days[0], Session::Am)),
                case(2, 3, (days[0], Session::Pm)),
                case(3, 4, (days[1], Session::Am)),
                case(4, 4, (days[0], Session::Pm)),
                case(5, 5, (days[2], Session::Pm)),
                case(6, 6, (d(2025, 2, 28), Session::Pm)),
            ];
            // Straight to the store: its school year's partition first, as the
            // application makes it before a write (PostgreSQL).
            store.make_register_partitions(2024, 2024, i32::MAX).await.unwrap();
            let mut tx = store.begin().await.unwrap();
            tx.record_marks(&la(), &marks, "marks", at()).await.unwrap();
            for c in &cases {
                tx.insert_decided_breach(&la(), c, "decision").await.unwrap();
            }
            tx.commit().await.unwrap();

            let codes: Vec<String> = ["G", "N", "O", "U"].map(String::from).to_vec();
            let filter = QualifyingFilter { codes: &codes, from: d(2025, 3, 3), to: d(2025, 3, 7) };
            let upns: Vec<String> = pupils.iter().map(|&p| upn(p)).collect();
            let mut tx = store.begin_read().await.unwrap();
            let read = tx.qualifying_marks(&la(), &upns, &filter).await.unwrap();
            let mut expected_counts = Vec::new();
            for &p in &pupils {
                let theirs: Vec<PupilMark> = marks
                    .iter()
                    .filter(|m| m.upn.as_str() == upn(p) && codes.contains(&m.code))
                    .map(|m| PupilMark { date: m.date, session: m.session, code: m.code.clone() })
                    .collect();
                let through = consumed_through(cases.iter().filter(|c| c.upn == upn(p)));
                let mut expected = unconsumed(&theirs, through);
                expected.sort_by_key(|m| (m.date, m.session));
                let mut got: Vec<PupilMark> =
                    read.iter().filter(|m| m.upn == upn(p)).map(|m| m.mark.clone()).collect();
                got.sort_by_key(|m| (m.date, m.session));
                assert_eq!(got, expected, "pupil {p}'s unconsumed qualifying marks");
                expected_counts.push((upn(p), expected.len()));
            }
            // Every count from 0 (pupil 5) to 6 (pupils 1 and 6) occurs but 1 and 2.
            let mut counts: Vec<usize> = expected_counts.iter().map(|(_, n)| *n).collect();
            counts.sort();
            assert_eq!(counts, [0, 3, 4, 5, 6, 6]);
            for at_least in 1..=7 {
                let candidates = tx
                    .threshold_candidates(&la(), &filter, None, at_least, "", 100)
                    .await
                    .unwrap();
                let mut expected: Vec<String> = expected_counts
                    .iter()
                    .filter(|(_, n)| *n as i64 >= at_least)
                    .map(|(u, _)| u.clone())
                    .collect();
                expected.sort();
                assert_eq!(candidates, expected, "pupils with at least {at_least}");
            }
            tx.commit().await.unwrap();
        }
    }
}

mod absence_classes {
    //! A school year's summary classifies enrolments in SQL (`school_totals`):
    //! persistent absence (10% or more of possible sessions) and severe absence
    //! (50% or more) must be `Figures::persistent_absence` and
    //! `Figures::severe_absence` on every case, the boundaries included.

    use super::*;
    use lea_notices::domain::attendance::{Figures, RegisterMark};
    use lea_notices::domain::notice::Session;
    use lea_notices::domain::register_codes::CodeSet;
    use lea_notices::store::{AttendanceScope, SchoolTotals};

    use chrono::Datelike;

    use crate::helpers::notices::upn;

    const SCHOOL: &str = "116439";

    /// Ten weekdays from Monday 3 March 2025: twenty sessions.
    fn sessions() -> Vec<(NaiveDate, Session)> {
        d(2025, 3, 3)
            .iter_days()
            .filter(|x| x.weekday().num_days_from_monday() < 5)
            .take(10)
            .flat_map(|day| [(day, Session::Am), (day, Session::Pm)])
            .collect()
    }

    fn register(pupil: u32, (date, session): (NaiveDate, Session), code: &str) -> RegisterMark {
        RegisterMark {
            school_urn: Urn::parse(SCHOOL).unwrap(),
            upn: Upn::parse(&upn(pupil)).unwrap(),
            date,
            session,
            code: code.into(),
            category: CodeSet::categorise(date, code).unwrap(),
            record_time: at(),
        }
    }

    on_both_backends! {
        async fn school_totals_classify_absence_as_the_domain_does(app) {
            let store = app.store.as_ref();
            let sessions = sessions();
            // A pupil for every number of possible sessions from 0 to 20 and
            // absences from 0 to all of them (authorised and unauthorised in
            // turn), the rest of the twenty not possible sessions.
            let mut marks = Vec::new();
            let mut pupil = 0;
            let mut figures = Vec::new();
            for possible in 0..=20_usize {
                for absent in 0..=possible {
                    pupil += 1;
                    let mut f = Figures::default();
                    for (i, &s) in sessions.iter().enumerate() {
                        let code = if i >= possible {
                            "X"
                        } else if i < absent {
                            if i % 2 == 0 { "O" } else { "I" }
                        } else if i % 3 == 0 {
                            "V"
                        } else {
                            "/"
                        };
                        f.add_count(CodeSet::categorise(s.0, code).unwrap(), 1);
                        marks.push(register(pupil, s, code));
                    }
                    figures.push(f);
                }
            }
            store.make_register_partitions(2024, 2024, i32::MAX).await.unwrap();
            let mut tx = store.begin().await.unwrap();
            for chunk in marks.chunks(2_000) {
                tx.record_marks(&la(), chunk, "marks", at()).await.unwrap();
            }
            tx.commit().await.unwrap();

            let mut expected = SchoolTotals {
                school_urn: SCHOOL.into(),
                figures: Figures::default(),
                enrolments: 0,
                persistent_absence_enrolments: 0,
                severe_absence_enrolments: 0,
            };
            for f in figures.iter().filter(|f| f.possible > 0) {
                expected.figures.merge(f);
                expected.enrolments += 1;
                expected.persistent_absence_enrolments += i64::from(f.persistent_absence());
                expected.severe_absence_enrolments += i64::from(f.severe_absence());
            }
            // Both answers occur, at and either side of each boundary.
            assert!(figures.iter().any(|f| f.possible == 10 && f.authorised_absence + f.unauthorised_absence == 1));
            assert!(expected.persistent_absence_enrolments > expected.severe_absence_enrolments);
            assert!(expected.severe_absence_enrolments > 0);

            let (from, to) = (d(2025, 3, 3), d(2025, 3, 14));
            let urn = Urn::parse(SCHOOL).unwrap();
            let mut tx = store.begin_read().await.unwrap();
            for school in [None, Some(&urn)] {
                let totals = tx.school_totals(&la(), school, from, to).await.unwrap();
                assert_eq!(totals, Some(vec![expected.clone()]), "school {school:?}");
            }
            // The same enrolments, classified one by one by the domain.
            let one_by_one = tx
                .enrolment_figures(&la(), AttendanceScope::Authority, from, to)
                .await
                .unwrap();
            let mut by_domain: Vec<Figures> = one_by_one.into_iter().map(|e| e.figures).collect();
            by_domain.retain(|f| f.possible > 0);
            assert_eq!(by_domain.len() as i64, expected.enrolments);
            assert_eq!(
                by_domain.iter().filter(|f| f.persistent_absence()).count() as i64,
                expected.persistent_absence_enrolments
            );
            assert_eq!(
                by_domain.iter().filter(|f| f.severe_absence()).count() as i64,
                expected.severe_absence_enrolments
            );
            // A range that cuts the school's weeks is not a whole school year's.
            assert_eq!(tx.school_totals(&la(), None, d(2025, 3, 4), to).await.unwrap(), None);
            tx.commit().await.unwrap();
        }
    }
}
