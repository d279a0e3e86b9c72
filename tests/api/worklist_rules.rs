//! Where the worklist's and the scheduler's SQL restates a domain rule for
//! speed, the two agree on every case: the notices `worklist_notices` reads
//! against `worklist::notice_actions`, the candidates of a scheduler round
//! (`notices_with_deadlines_between`) against `statutory_dates::notice_events`,
//! `payments_in_suspense` against `Payment::refundable_for(None)`, and the
//! school days a deadline counts (`school_day_dates`) against `school_days`.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use lea_notices::domain::attendance::RegisterMark;
use lea_notices::domain::evidence::EvidenceCorrection;
use lea_notices::domain::identifiers::{LaCode, Upn, Urn};
use lea_notices::domain::notice::{
    Address, Charges, Delivery, DeliveryMethod, ImprovementPeriod, Issuer, MoneyOnNotice, Notice,
    NoticeKind, PaidRate, Parent, ProsecutionOutcome, ProsecutionResult, Pupil, Session,
    Settlement, Withdrawal, WithdrawalGround,
};
use lea_notices::domain::payment::{AppliedAllocation, Channel, NoticeMoney, Payment, Refund};
use lea_notices::domain::policy::IssuerRole;
use lea_notices::domain::register_codes::CodeSet;
use lea_notices::domain::statutory_dates::{self, DateEventKind};
use lea_notices::domain::worklist::{self, ActionKind};
use lea_notices::store::{NoticeFilter, Store, StoreTx};

use crate::helpers::notices::upn;
use crate::helpers::on_both_backends;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn la() -> LaCode {
    LaCode::parse("850").unwrap()
}

/// The day the cases are built around: a Monday.
const T: NaiveDate = match NaiveDate::from_ymd_opt(2025, 6, 16) {
    Some(d) => d,
    None => panic!("a date"),
};

fn instant(day: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(9, 0, 0).unwrap())
}

/// A notice received on `receipt`: a penalty notice (with or without a lower
/// rate) or a notice to improve, recorded long before.
fn notice(number: &str, kind: NoticeKind, receipt: NaiveDate, second: bool) -> Notice {
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
        issue_date: receipt,
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
        receipt_date: receipt,
        policy_version: "nationalRegimes/2024-08-19".into(),
        second_notice: second,
        charges: (kind == NoticeKind::PenaltyNotice).then(|| Charges {
            lower_amount_pence: if second { 0 } else { 8_000 },
            lower_deadline: (!second).then(|| receipt + Duration::days(20)),
            higher_amount_pence: 16_000,
            higher_deadline: receipt + Duration::days(27),
        }),
        improvement_period: (kind == NoticeKind::NoticeToImprove).then(|| ImprovementPeriod {
            start_date: receipt,
            school_weeks: 4,
            end_date: receipt + Duration::days(27),
            reason: "support offered".into(),
        }),
        part_payments_accepted: false,
        settlement: None,
        withdrawal: None,
        prosecution: None,
        created_at: instant(d(2025, 1, 1)),
        money: MoneyOnNotice::default(),
        session_evidence: vec![],
        evidence_corrections: vec![],
        other_authority_notices: vec![],
        sen_provision: None,
    }
}

fn payment(id: &str, amount_pence: i64, received: NaiveDate) -> Payment {
    Payment {
        payment_id: id.into(),
        amount_pence,
        paid_date: received,
        received_at: instant(received),
        channel: Channel::Online,
        provider: "govuk-pay".into(),
        provider_payment_id: format!("provider-{id}"),
        payer_reference: String::new(),
        payer_name: "J Taylor".into(),
        allocations: vec![],
        refunds: vec![],
        created_at: instant(received),
    }
}

fn refund(id: String, amount_pence: i64, notice_number: Option<&str>) -> Refund {
    Refund {
        provider_refund_id: id,
        amount_pence,
        refund_date: T - Duration::days(1),
        reason: "paid back".into(),
        notice_number: notice_number.map(String::from),
    }
}

/// What money a case's notice holds.
#[derive(Clone, Copy)]
enum Money {
    None,
    /// £80 that counted.
    Applied,
    /// £80 that did not count: due back.
    DueBack,
    /// £80 due back, and refunded.
    Refunded,
}

/// Stores one notice of every combination of kind, dates around `T`, outcome,
/// corrected evidence and money; answers how many.
async fn store_every_case(tx: &mut dyn StoreTx) -> usize {
    // Receipt days putting the higher period's last day on T-1 or T, the lower
    // period's on T-1, T, T+7 or T+8.
    let receipts = [28, 27, 21, 20, 13, 12].map(|back| T - Duration::days(back));
    let kinds = [
        (NoticeKind::PenaltyNotice, false),
        (NoticeKind::PenaltyNotice, true),
        (NoticeKind::NoticeToImprove, false),
    ];
    let mut count = 0;
    for receipt in receipts {
        for (kind, second) in kinds {
            for facts in 0..16 {
                for money in [Money::None, Money::Applied, Money::DueBack, Money::Refunded] {
                    count += 1;
                    let number = format!("850-2025-{count:06}");
                    tx.insert_notice(&la(), &notice(&number, kind, receipt, second))
                        .await
                        .unwrap();
                    let (withdrawn, prosecuted, paid, corrected) = (
                        facts & 1 != 0,
                        facts & 2 != 0,
                        facts & 4 != 0,
                        facts & 8 != 0,
                    );
                    let pid = format!("pay-{count:06}");
                    let allocations = match money {
                        Money::None => vec![],
                        Money::Applied => vec![AppliedAllocation {
                            payment_id: pid.clone(),
                            applied_pence: 8_000,
                            refund_due_pence: 0,
                        }],
                        Money::DueBack | Money::Refunded => vec![AppliedAllocation {
                            payment_id: pid.clone(),
                            applied_pence: 0,
                            refund_due_pence: 8_000,
                        }],
                    };
                    if !allocations.is_empty() {
                        tx.insert_payment(&la(), &payment(&pid, 8_000, T - Duration::days(5)), "f")
                            .await
                            .unwrap();
                        tx.set_allocations(&la(), &pid, true, &[(number.clone(), 8_000)])
                            .await
                            .unwrap();
                    }
                    let settlement = paid.then(|| Settlement {
                        rate: PaidRate::Lower,
                        date: receipt + Duration::days(3),
                    });
                    tx.apply_notice_money(
                        &la(),
                        &number,
                        &NoticeMoney {
                            allocations,
                            settlement,
                        },
                        true,
                    )
                    .await
                    .unwrap();
                    if matches!(money, Money::Refunded) {
                        tx.insert_refund(
                            &la(),
                            &pid,
                            &refund(format!("{pid}-r"), 8_000, Some(&number)),
                            "f",
                            instant(T - Duration::days(1)),
                        )
                        .await
                        .unwrap();
                    }
                    if prosecuted {
                        let outcome = ProsecutionOutcome {
                            hearing_date: T - Duration::days(2),
                            court: "Winchester Magistrates' Court".into(),
                            result: ProsecutionResult::Convicted,
                            fine_pence: 12_000,
                            costs_pence: 0,
                        };
                        tx.record_prosecution(&la(), &number, &outcome)
                            .await
                            .unwrap();
                    }
                    if withdrawn {
                        let withdrawal = Withdrawal {
                            ground: WithdrawalGround::MaterialErrors,
                            reason: "wrong dates".into(),
                            date: receipt + Duration::days(10),
                        };
                        tx.record_withdrawal(&la(), &number, &withdrawal)
                            .await
                            .unwrap();
                    }
                    if corrected {
                        let correction = EvidenceCorrection {
                            date: receipt - Duration::days(14),
                            session: Session::Am,
                            school_urn: "116439".into(),
                            previous_code: "G".into(),
                            new_code: "I".into(),
                            at: instant(receipt + Duration::days(2)),
                            request_id: "correction".into(),
                        };
                        tx.record_evidence_corrections(&la(), &number, &[correction])
                            .await
                            .unwrap();
                    }
                }
            }
        }
    }
    count
}

async fn all_notices(store: &dyn Store, today: NaiveDate) -> Vec<Notice> {
    let mut tx = store.begin_read().await.unwrap();
    let all = tx
        .list_notices(&la(), &NoticeFilter::default(), today, None, 100_000)
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

fn register(pupil: u32, date: NaiveDate, session: Session, code: &str) -> RegisterMark {
    RegisterMark {
        school_urn: Urn::parse("116439").unwrap(),
        upn: Upn::parse(&upn(pupil)).unwrap(),
        date,
        session,
        code: code.into(),
        category: CodeSet::categorise(date, code).unwrap(),
        record_time: instant(d(2025, 1, 1)),
    }
}

on_both_backends! {
    async fn the_worklist_query_misses_no_notice_the_domain_lists(app) {
        let store = app.store.as_ref();
        let mut tx = store.begin().await.unwrap();
        let count = store_every_case(&mut *tx).await;
        tx.commit().await.unwrap();
        let warning_days = 7;
        let mut kinds_seen = BTreeSet::new();
        for today in [T - Duration::days(1), T, T + Duration::days(1)] {
            let all = all_notices(store, today).await;
            assert_eq!(all.len(), count, "every notice stored");
            let mut tx = store.begin_read().await.unwrap();
            let mut listed_by_domain = BTreeSet::new();
            for n in &all {
                let received: Vec<NaiveDate> = tx
                    .notice_allocations(&la(), &n.notice_number)
                    .await
                    .unwrap()
                    .iter()
                    .map(|a| worklist::received_on(a.received_at))
                    .collect();
                let actions = worklist::notice_actions(n, &received, warning_days, today);
                kinds_seen.extend(actions.iter().map(|a| a.kind));
                if !actions.is_empty() {
                    listed_by_domain.insert(n.notice_number.clone());
                }
            }
            let until = today + Duration::days(i64::from(warning_days));
            let candidates = tx.worklist_notices(&la(), today, until, None).await.unwrap();
            let none_elsewhere = tx.worklist_notices(&la(), today, until, Some("100000")).await.unwrap();
            tx.commit().await.unwrap();
            assert!(none_elsewhere.is_empty(), "the school filter");
            let read = numbers(&candidates);
            let missed: Vec<&String> = listed_by_domain.difference(&read).collect();
            assert!(missed.is_empty(), "on {today} the query misses {missed:?}");
            // The query narrows the notices: most cases need nothing.
            assert!(read.len() < all.len(), "on {today}: {} of {}", read.len(), all.len());
            // What it reads, the domain narrows to the same list.
            let narrowed: BTreeSet<String> = candidates
                .iter()
                .filter(|n| listed_by_domain.contains(&n.notice_number))
                .map(|n| n.notice_number.clone())
                .collect();
            assert_eq!(narrowed, listed_by_domain, "on {today}");
        }
        // Every kind of a notice's item occurs among the cases.
        for kind in [ActionKind::LowerRateEnding, ActionKind::UnpaidAfterPeriod, ActionKind::PaymentAfterProsecution, ActionKind::RefundDue, ActionKind::EvidenceCorrected] {
            assert!(kinds_seen.contains(&kind), "no case gives {kind:?}");
        }
    }

    async fn a_scheduler_round_reads_every_notice_with_an_event_due(app) {
        let store = app.store.as_ref();
        let mut tx = store.begin().await.unwrap();
        store_every_case(&mut *tx).await;
        tx.commit().await.unwrap();
        let all = all_notices(store, T).await;
        let mut kinds_seen = BTreeSet::new();
        let rounds = [(T - Duration::days(2), T - Duration::days(1)), (T - Duration::days(1), T), (T, T), (T - Duration::days(9), T + Duration::days(9))];
        for (from, today) in rounds {
            let due: BTreeSet<String> = all
                .iter()
                .filter(|n| {
                    let events = statutory_dates::notice_events(n, from, today);
                    kinds_seen.extend(events.iter().map(|e| e.kind));
                    !events.is_empty()
                })
                .map(|n| n.notice_number.clone())
                .collect();
            let (first, last) = statutory_dates::last_days_between(from, today);
            let mut tx = store.begin_read().await.unwrap();
            let candidates = tx.notices_with_deadlines_between(&la(), first, last).await.unwrap();
            tx.commit().await.unwrap();
            let read = numbers(&candidates);
            let missed: Vec<&String> = due.difference(&read).collect();
            assert!(missed.is_empty(), "from {from} to {today} the round misses {missed:?}");
            assert!(read.len() < all.len());
            for n in &candidates {
                let c = n.charges.as_ref().expect("a penalty notice");
                let in_range = |day: NaiveDate| (first..=last).contains(&day);
                assert!(c.lower_deadline.is_some_and(in_range) || in_range(c.higher_deadline));
            }
        }
        assert_eq!(kinds_seen, BTreeSet::from([DateEventKind::LowerRateEnded, DateEventKind::UnpaidAtPeriodEnd]));
    }

    async fn money_in_suspense_is_what_may_still_be_refunded_of_the_unallocated(app) {
        let store = app.store.as_ref();
        let number = "850-2025-000001";
        let mut tx = store.begin().await.unwrap();
        tx.insert_notice(&la(), &notice(number, NoticeKind::PenaltyNotice, T, false)).await.unwrap();
        let mut count = 0;
        // Of £80: nothing allocated, part, all; of the rest none, part or all
        // refunded; and a refund against the notice or none.
        for allocated in [0, 5_000, 8_000] {
            let unallocated = 8_000 - allocated;
            let mut refunds = vec![0];
            if unallocated > 0 {
                refunds.extend([1_000, unallocated]);
            }
            for refunded in refunds {
                for notice_refund in if allocated > 0 { vec![0, 1_000] } else { vec![0] } {
                    count += 1;
                    let id = format!("payment-{count:03}");
                    tx.insert_payment(&la(), &payment(&id, 8_000, T), "f").await.unwrap();
                    if allocated > 0 {
                        tx.set_allocations(&la(), &id, true, &[(number.to_string(), allocated)]).await.unwrap();
                    }
                    if refunded > 0 {
                        tx.insert_refund(&la(), &id, &refund(format!("{id}-u"), refunded, None), "f", instant(T)).await.unwrap();
                    }
                    if notice_refund > 0 {
                        tx.insert_refund(&la(), &id, &refund(format!("{id}-n"), notice_refund, Some(number)), "f", instant(T)).await.unwrap();
                    }
                }
            }
        }
        tx.commit().await.unwrap();
        let mut tx = store.begin_read().await.unwrap();
        let all = tx.list_payments(&la(), &Default::default(), None, 10_000).await.unwrap();
        let suspense = tx.payments_in_suspense(&la()).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(all.len(), count);
        let ids = |ps: &[Payment]| ps.iter().map(|p| p.payment_id.clone()).collect::<BTreeSet<_>>();
        let expected: Vec<Payment> = all.iter().filter(|p| p.refundable_for(None) > 0).cloned().collect();
        assert!(!expected.is_empty() && expected.len() < all.len());
        assert!(all.iter().any(|p| p.unallocated_pence() > 0 && p.refundable_for(None) == 0), "refunded suspense is among the cases");
        assert_eq!(ids(&suspense), ids(&expected));
        // And the domain makes an item of exactly those.
        let items: BTreeSet<String> = all.iter().filter_map(worklist::payment_action).map(|a| match a.subject {
            worklist::ActionSubject::Payment(id) => id,
            other => panic!("{other:?}"),
        }).collect();
        assert_eq!(items, ids(&expected));
    }

    async fn the_days_a_deadline_counts_are_the_days_the_request_check_counts(app) {
        let store = app.store.as_ref();
        // Two pupils at school on weekdays from 2 Jun 2025 but a closure (#) on
        // the 11th, and one absent (N) on the 12th; pupil 2 leaves on the 13th.
        let mut marks = Vec::new();
        for day in (0..21).map(|i| d(2025, 6, 2) + Duration::days(i)) {
            if matches!(chrono::Datelike::weekday(&day), chrono::Weekday::Sat | chrono::Weekday::Sun) {
                continue;
            }
            for pupil in [1, 2] {
                if pupil == 2 && day > d(2025, 6, 13) {
                    continue;
                }
                let code = if day == d(2025, 6, 11) { "#" } else if day == d(2025, 6, 12) && pupil == 1 { "N" } else { "/" };
                marks.push(register(pupil, day, Session::Am, code));
                marks.push(register(pupil, day, Session::Pm, if code == "/" { "\\" } else { code }));
            }
        }
        // Straight to the store: its school year's partition first, as the
        // application makes it before a write (PostgreSQL).
        store.make_register_partitions(2024, 2024, i32::MAX).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.record_marks(&la(), &marks, "marks", instant(d(2025, 6, 30))).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin_read().await.unwrap();
        for after in (0..22).map(|i| d(2025, 6, 1) + Duration::days(i)) {
            for to in [after, after + Duration::days(3), d(2025, 6, 30)] {
                let counted = tx.school_days(&la(), "116439", after, to).await.unwrap();
                let days = tx.school_day_dates(&la(), "116439", after, to).await.unwrap();
                assert_eq!(days.len() as i64, counted, "{after} to {to}");
                assert!(days.windows(2).all(|w| w[0] < w[1]), "oldest first, each once");
                assert!(days.iter().all(|&x| x > after && x <= to));
                assert!(!days.contains(&d(2025, 6, 11)), "a closure is not a school day");
            }
        }
        tx.commit().await.unwrap();
    }
}
