//! Closing the books: the DfE statutory return over a year of notices with every
//! outcome, the same figures from the command line as CSV, late money that still
//! shows on the notice it names, and a pre-2024 local limit that binds.

use chrono::NaiveDate;
use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};

use crate::helpers::notices::{Penalty, d, issue, proto_date, sessions};
use crate::helpers::payments::payment;
use crate::helpers::policy::{create, local_version};
use crate::helpers::{TestApp, broken_rules, on_both_backends};

/// A holiday notice for `pupil`, one week of G from `monday`, issued by hand on
/// `issued` (so received that day).
async fn holiday(app: &TestApp, pupil: u32, monday: NaiveDate, issued: NaiveDate) -> pb::Notice {
    let request = Penalty::holiday(pupil, &["mum"], monday, issued).request(&format!("h{pupil}"));
    issue(app, request).await.unwrap().remove(0)
}

/// A late-arrival notice: one week of U (after the register closed).
async fn late(app: &TestApp, pupil: u32, monday: NaiveDate, issued: NaiveDate) -> pb::Notice {
    let mut p = Penalty::holiday(pupil, &["mum"], monday, issued);
    p.reason = pb::OffenceReason::Late;
    p.sessions = sessions(monday, 5, "U");
    issue(app, p.request(&format!("l{pupil}")))
        .await
        .unwrap()
        .remove(0)
}

async fn pay(app: &TestApp, id: &str, pence: i64, on: NaiveDate, reference: &str) -> pb::Payment {
    app.as_role("850", Role::Finance)
        .payments()
        .record_payment(payment("850", id, pence, on, reference, &[]))
        .await
        .unwrap()
        .into_inner()
        .payment
        .unwrap()
}

async fn get(app: &TestApp, name: &str) -> pb::Notice {
    app.as_role("850", Role::LaOfficer)
        .notices()
        .get_notice(pb::GetNoticeRequest { name: name.into() })
        .await
        .unwrap()
        .into_inner()
        .notice
        .unwrap()
}

async fn statutory_return(
    app: &TestApp,
    as_of: Option<NaiveDate>,
) -> pb::GetStatutoryReturnResponse {
    app.as_role("850", Role::Auditor)
        .reports()
        .get_statutory_return(pb::GetStatutoryReturnRequest {
            parent: "authorities/850".into(),
            academic_year_start: 2024,
            as_of_date: as_of.and_then(proto_date),
        })
        .await
        .unwrap()
        .into_inner()
}

fn counts(c: &Option<pb::PenaltyNoticeCounts>) -> [i64; 6] {
    // paid_on_days_22_to_28 is the difference of two of these (checked in
    // statutory_return.rs).
    let c = c.unwrap();
    [
        c.issued,
        c.paid_within_21_days,
        c.paid_within_28_days,
        c.withdrawn,
        c.prosecuted,
        c.other_or_outstanding,
    ]
}

/// The year 2024/25 with one notice of each outcome, and one either side.
async fn a_year_of_notices(app: &TestApp) -> pb::Notice {
    app.clock.set_day(d(2025, 10, 1));
    // Before the year: not counted.
    let before = holiday(app, 1, d(2024, 8, 19), d(2024, 8, 30)).await;
    pay(app, "before", 8_000, d(2024, 8, 31), &before.notice_number).await;
    // Paid at the lower rate on day 5.
    let lower = holiday(app, 2, d(2024, 9, 9), d(2024, 9, 16)).await;
    pay(app, "lower", 8_000, d(2024, 9, 20), &lower.notice_number).await;
    // Paid at the higher rate on day 25 (received 7 Oct: day 21 is 27 Oct, day 28 3 Nov).
    let higher = holiday(app, 3, d(2024, 9, 30), d(2024, 10, 7)).await;
    pay(
        app,
        "higher",
        16_000,
        d(2024, 10, 31),
        &higher.notice_number,
    )
    .await;
    // Withdrawn.
    let withdrawn = holiday(app, 4, d(2024, 10, 21), d(2024, 11, 4)).await;
    let officer = app.as_role("850", Role::LaOfficer);
    officer
        .notices()
        .withdraw_notice(pb::WithdrawNoticeRequest {
            name: withdrawn.name.clone(),
            request_id: "w4".into(),
            withdrawal: Some(pb::Withdrawal {
                ground: pb::WithdrawalGround::MaterialErrors as i32,
                reason: "Wrong dates".into(),
                withdrawal_date: proto_date(d(2024, 11, 20)),
            }),
        })
        .await
        .unwrap();
    // Late arrival, prosecuted after its higher period (to 9 Feb).
    let prosecuted = late(app, 5, d(2025, 1, 6), d(2025, 1, 13)).await;
    officer
        .notices()
        .record_prosecution_outcome(pb::RecordProsecutionOutcomeRequest {
            name: prosecuted.name.clone(),
            request_id: "p5".into(),
            prosecution_outcome: Some(pb::ProsecutionOutcome {
                hearing_date: proto_date(d(2025, 3, 20)),
                court: "Basingstoke Magistrates' Court".into(),
                result: pb::ProsecutionResult::Convicted as i32,
                fine_pence: 25_000,
                costs_pence: 10_000,
            }),
        })
        .await
        .unwrap();
    // Late arrival, never paid.
    late(app, 6, d(2025, 1, 27), d(2025, 2, 3)).await;
    // Holiday, £160 paid on day 29 (received 3 Mar: day 28 is 30 Mar).
    let paid_late = holiday(app, 7, d(2025, 2, 24), d(2025, 3, 3)).await;
    pay(
        app,
        "day-29",
        16_000,
        d(2025, 3, 31),
        &format!("Fine {}", paid_late.notice_number),
    )
    .await;
    // A notice to improve, counted apart.
    officer
        .notices()
        .issue_notice_to_improve(pb::IssueNoticeToImproveRequest {
            parent: "authorities/850".into(),
            request_id: "nti-8".into(),
            pupil: crate::helpers::notices::pupil(8),
            parents: vec![crate::helpers::notices::parent("mum")],
            issue_date: proto_date(d(2025, 5, 5)),
            issuer: crate::helpers::notices::issuer(pb::IssuerRole::LaOfficer),
            improvement_period: Some(pb::ImprovementPeriod {
                start_date: proto_date(d(2025, 5, 5)),
                school_weeks: 4,
                end_date: None,
                reason: "Attend every session".into(),
            }),
            delivery: crate::helpers::notices::by_hand(),
            breach: None,
        })
        .await
        .unwrap();
    // After the year: not counted.
    holiday(app, 9, d(2025, 8, 25), d(2025, 9, 1)).await;
    paid_late
}

on_both_backends! {
    async fn the_statutory_return_counts_each_outcome_once(app) {
        a_year_of_notices(&app).await;
        let r = statutory_return(&app, None).await;
        assert_eq!((r.la_code.as_str(), r.academic_year.as_str()), ("850", "2024/25"));
        assert_eq!(r.as_of_date, proto_date(d(2025, 10, 1)), "as of today");
        // issued, paid in 21 days, paid in 28 days, withdrawn, prosecuted, other.
        assert_eq!(counts(&r.totals), [6, 1, 2, 1, 1, 2]);
        let by: Vec<(i32, [i64; 6])> = r.by_reason.iter().map(|c| (c.reason, counts(&c.counts))).collect();
        assert_eq!(by, vec![
            (pb::OffenceReason::Holiday as i32, [4, 1, 2, 1, 0, 1]),
            (pb::OffenceReason::Late as i32, [2, 0, 0, 0, 1, 1]),
            (pb::OffenceReason::Other as i32, [0, 0, 0, 0, 0, 0]),
        ]);
        assert_eq!(r.notices_to_improve_issued, 1);

        // As of 1 March 2025 the last two notices were not issued yet, and the
        // prosecuted one was still outstanding: its hearing was on 20 March.
        let earlier = statutory_return(&app, Some(d(2025, 3, 1))).await;
        assert_eq!(counts(&earlier.totals), [5, 1, 2, 1, 0, 2]);
        assert_eq!(earlier.notices_to_improve_issued, 0);
    }

    async fn the_command_writes_the_same_figures_as_csv(app) {
        a_year_of_notices(&app).await;
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_lea-notices"))
            .args(["statutory-return", "--authority", "850", "--year", "2024", "--as-of", "2025-10-01", "--format", "csv"])
            .env("DATABASE_URL", app.database_url())
            .env_remove("LEA_NOTICES_CONFIG")
            .env("RUST_LOG", "error")
            .output()
            .await
            .expect("run lea-notices");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let csv = String::from_utf8(output.stdout).unwrap();
        // The collection's columns (crate::statutory_return::HEADER), one row:
        // the holiday notice withdrawn for material errors; no cases.
        let row = concat!(
            "202425,Academic year,Local authority,850,",
            "6,4,2,0,2,1,1,1,0,0,1,0,1,2,0,0,0,0,0,0,",
            "2,1,1,1,0,1,",
            "0,0,0,0,1,1,",
            "0,0,0,0,0,0,",
            "1,",
            "0,0,0,0,0,0,0,",
            "0,0,0,0,0,0,0,",
            "0,0,0,0,0,0,0,",
            "0,0,0,6,0,0,0,1\n",
        );
        assert_eq!(csv, format!("{}{row}", crate::statutory_return::HEADER));
        assert_eq!(csv, statutory_return(&app, Some(d(2025, 10, 1))).await.csv, "the API's CSV");
    }

    async fn money_paid_on_day_29_shows_on_its_notice_as_refund_due(app) {
        let paid_late = a_year_of_notices(&app).await;
        let notice = get(&app, &paid_late.name).await;
        let balance = notice.balance.unwrap();
        assert_eq!((balance.allocated_pence, balance.applied_pence, balance.refund_due_pence), (16_000, 0, 16_000));
        assert_eq!(notice.status, pb::NoticeStatus::Unpaid as i32);
        let payments = app.as_role("850", Role::Finance).payments().list_payments(pb::ListPaymentsRequest {
            parent: "authorities/850".into(),
            notice: paid_late.name.clone(),
            ..Default::default()
        }).await.unwrap().into_inner().payments;
        assert_eq!(payments.len(), 1);
        assert_eq!(payments[0].unallocated_pence, 0, "not left in suspense");
        // Money quoting nothing known still waits unallocated.
        let stray = pay(&app, "stray", 5_000, d(2025, 3, 31), "850-2025-999999").await;
        assert_eq!(stray.unallocated_pence, 5_000);
    }

    async fn a_2015_local_limit_of_one_notice_refuses_the_second(app) {
        app.clock.set_day(d(2016, 3, 7));
        let mut version = local_version(2015, 9, 1);
        version.max_notices_per_parent_per_child = 1;
        version.notice_limit_period_years = 1;
        version.second_notice_amount_pence = 0;
        version.lower_amount_pence = 6_000;
        version.higher_amount_pence = 12_000;
        version.notice_to_improve_required_for = vec![];
        app.policy().create_policy_version(create("authorities/850", "v2015", version)).await.unwrap();
        let first = Penalty::holiday(1, &["mum"], d(2015, 9, 28), d(2015, 10, 5));
        issue(&app, first.request("first")).await.unwrap();
        let second = Penalty::holiday(1, &["mum"], d(2016, 2, 29), d(2016, 3, 7));
        let refused = issue(&app, second.request("second")).await.unwrap_err();
        assert_eq!(broken_rules(&refused), ["NOTICE_LIMIT"]);
        // The other parent has no notice yet.
        issue(&app, Penalty::holiday(1, &["dad"], d(2016, 2, 29), d(2016, 3, 7)).request("dad")).await.unwrap();
    }
}
