//! Input that once crashed the server, wrapped money or broke a backend, through
//! the real API: each is refused with a precise INVALID_ARGUMENT naming the
//! field, and the server goes on serving.

use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use tonic::Code;

use crate::helpers::notices::{Penalty, d, issue};
use crate::helpers::payments::payment;
use crate::helpers::policy::{create, local_version};
use crate::helpers::{TestApp, on_both_backends, violated_fields};

/// The server still answers an ordinary call.
async fn still_serving(app: &TestApp) {
    app.as_role("850", Role::LaOfficer)
        .policy()
        .get_policy(pb::GetPolicyRequest {
            parent: "authorities/850".into(),
            date: crate::helpers::date(2025, 9, 1),
        })
        .await
        .expect("the server is still serving");
}

async fn two_notices(app: &TestApp) -> (String, String) {
    let a = issue(
        app,
        Penalty::holiday(1, &["mum"], d(2026, 12, 7), d(2027, 1, 4)).request("a"),
    )
    .await
    .unwrap();
    let b = issue(
        app,
        Penalty::holiday(2, &["mum"], d(2026, 12, 7), d(2027, 1, 4)).request("b"),
    )
    .await
    .unwrap();
    (a[0].name.clone(), b[0].name.clone())
}

on_both_backends! {
    async fn allocations_that_would_wrap_are_refused(app) {
        let (n1, n2) = two_notices(&app).await;
        let finance = app.as_role("850", Role::Finance);
        let bomb = payment("850", "wrap-1", 100, d(2027, 1, 4), "", &[(&n1, 100), (&n2, i64::MAX)]);
        let refused = finance.payments().record_payment(bomb).await.unwrap_err();
        assert_eq!(violated_fields(&refused), ["payment.allocations[1].amount_pence", "payment.allocations"]);

        let paid = finance.payments().record_payment(payment("850", "ok-1", 100, d(2027, 1, 4), "", &[]))
            .await.unwrap().into_inner().payment.unwrap();
        let refused = finance.payments().allocate_payment(pb::AllocatePaymentRequest {
            name: paid.name.clone(),
            request_id: "wrap-2".into(),
            allocations: vec![
                pb::Allocation { notice: n1.clone(), amount_pence: 100, ..Default::default() },
                pb::Allocation { notice: n2.clone(), amount_pence: i64::MAX, ..Default::default() },
            ],
            reason: "test".into(),
        }).await.unwrap_err();
        assert_eq!(violated_fields(&refused), ["allocations[1].amount_pence"]);
        let notice = app.as_role("850", Role::LaOfficer).notices()
            .get_notice(pb::GetNoticeRequest { name: n2.clone() }).await.unwrap().into_inner().notice.unwrap();
        assert_eq!(notice.status, pb::NoticeStatus::Issued as i32, "nothing was paid");
        still_serving(&app).await;
    }

    async fn payments_and_refunds_above_the_limit_are_refused(app) {
        let finance = app.as_role("850", Role::Finance);
        for amount in [i64::MAX, 10_000_001, 0, -5] {
            let refused = finance.payments().record_payment(payment("850", "big", amount, d(2027, 1, 4), "", &[]))
                .await.unwrap_err();
            assert_eq!(violated_fields(&refused), ["payment.amount_pence"], "{amount}");
        }
        let largest = finance.payments().record_payment(payment("850", "largest", 10_000_000, d(2027, 1, 4), "", &[]))
            .await.unwrap().into_inner().payment.unwrap();
        let refused = finance.payments().record_refund(pb::RecordRefundRequest {
            name: largest.name.clone(),
            refund: Some(pb::Refund {
                provider_refund_id: "r1".into(),
                amount_pence: 1_000_000_000_000_000,
                refund_date: crate::helpers::date(2027, 1, 4),
                reason: "test".into(),
                notice: String::new(),
            }),
        }).await.unwrap_err();
        assert_eq!(violated_fields(&refused), ["refund.amount_pence"]);
        // Many of the largest payments on one notice still read back.
        let (n1, _) = two_notices(&app).await;
        for i in 0..3 {
            finance.payments().record_payment(payment("850", &format!("max-{i}"), 10_000_000, d(2027, 1, 4), "", &[(&n1, 10_000_000)]))
                .await.unwrap();
        }
        let due = finance.payments().get_amount_due(pb::GetAmountDueRequest { name: n1.clone(), date: None })
            .await.unwrap().into_inner();
        assert_eq!(due.balance.unwrap().allocated_pence, 30_000_000);
        still_serving(&app).await;
    }

    async fn policy_values_that_once_crashed_issuing_are_refused(app) {
        let mut admin = app.policy();
        let mut bomb = local_version(2026, 9, 1);
        bomb.lower_period_days = 2_000_000_000;
        bomb.higher_period_days = 2_000_000_000;
        bomb.threshold.as_mut().unwrap().window_school_weeks = 200_000_000;
        bomb.notice_limit_period_years = i32::MAX;
        bomb.lower_amount_pence = i64::MAX;
        bomb.higher_amount_pence = i64::MAX;
        bomb.request_deadline_school_days = i32::MAX;
        let refused = admin.create_policy_version(create("authorities/850", "bomb", bomb)).await.unwrap_err();
        let fields = violated_fields(&refused);
        for field in [
            "policy_version.lower_period_days",
            "policy_version.threshold.window_school_weeks",
            "policy_version.notice_limit_period_years",
            "policy_version.lower_amount_pence",
            "policy_version.request_deadline_school_days",
        ] {
            assert!(fields.iter().any(|f| f == field), "{field} in {fields:?}");
        }
        // Nothing was stored: issuing still runs under the national regime.
        issue(&app, Penalty::holiday(3, &["mum"], d(2026, 12, 7), d(2027, 1, 4)).request("after")).await.unwrap();
        still_serving(&app).await;
    }

    async fn oversized_and_nul_text_is_refused_the_same_on_both_backends(app) {
        let mut long = Penalty::holiday(4, &["mum"], d(2026, 12, 7), d(2027, 1, 4)).request("long");
        long.parents[0].person_id = "p".repeat(1_000_000);
        long.pupil.as_mut().unwrap().given_name = "x".repeat(4_000);
        let refused = issue(&app, long).await.unwrap_err();
        assert_eq!(violated_fields(&refused), ["pupil.given_name", "parents[0].person_id"]);
        assert!(refused.message().len() < 300, "the message quotes no value: {}", refused.message());

        let mut nul = Penalty::holiday(4, &["mum"], d(2026, 12, 7), d(2027, 1, 4)).request("nul");
        nul.pupil.as_mut().unwrap().family_name = "Tay\0lor".into();
        nul.offence.as_mut().unwrap().description = "holiday\0".into();
        let refused = issue(&app, nul).await.unwrap_err();
        assert_eq!(violated_fields(&refused), ["pupil.family_name", "offence.description"]);

        let finance = app.as_role("850", Role::Finance);
        let mut reference = payment("850", "ref\0", 100, d(2027, 1, 4), "", &[]);
        reference.payment.as_mut().unwrap().payer_reference = "r".repeat(501);
        let refused = finance.payments().record_payment(reference).await.unwrap_err();
        assert_eq!(violated_fields(&refused), ["payment.provider_payment_id", "payment.payer_reference"]);
        still_serving(&app).await;
    }

    async fn timestamps_out_of_range_are_refused(app) {
        let finance = app.as_role("850", Role::Finance);
        let at = |seconds: i64, nanos: i32| {
            let mut p = payment("850", &format!("t{seconds}{nanos}"), 100, d(2027, 1, 4), "", &[]);
            p.payment.as_mut().unwrap().receive_time = Some(prost_types::Timestamp { seconds, nanos });
            p
        };
        for (seconds, nanos) in [
            (1_798_000_000, -1),             // negative nanos
            (1_798_000_000, 1_000_000_000),  // a whole second of nanos
            (253_402_300_800, 0),            // year 10000
            (-7_950_000_000_000, 0),         // year -250,000
            (1_900_000_000, 0),              // after today (2027-01-04)
        ] {
            let refused = finance.payments().record_payment(at(seconds, nanos)).await.unwrap_err();
            assert_eq!(violated_fields(&refused), ["payment.receive_time"], "{seconds} {nanos}");
        }
        finance.payments().record_payment(at(1_798_000_000, 999_999_999)).await.unwrap();
        still_serving(&app).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_large_notices_stays_under_the_message_limit() {
    let app = TestApp::spawn(lea_notices::store::Backend::Sqlite).await;
    let big = |line: &str| {
        Some(pb::PostalAddress {
            lines: vec![line.repeat(200); 8],
            postcode: "SO23 8UJ".into(),
        })
    };
    // 22 requests to 10 parents each: 220 notices of about 17 kB, more than the
    // 3 MiB a page may carry, so a page of 500 must end early and say so.
    const PARENTS: [&str; 10] = ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"];
    for n in 0..22u32 {
        let mut request = Penalty::holiday(10 + n, &PARENTS, d(2026, 12, 7), d(2027, 1, 4))
            .request(&format!("big-{n}"));
        request.offence.as_mut().unwrap().description = "€".repeat(2_000);
        request.pupil.as_mut().unwrap().address = big("€");
        for parent in &mut request.parents {
            parent.address = big("€");
        }
        issue(&app, request).await.unwrap();
    }
    let mut names = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = app
            .as_role("850", Role::LaOfficer)
            .notices()
            .list_notices(pb::ListNoticesRequest {
                parent: "authorities/850".into(),
                page_size: 500,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(prost::Message::encoded_len(&page) < 4 * 1024 * 1024);
        pages += 1;
        names.extend(page.notices.into_iter().map(|n| n.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(names.len(), 220, "every notice listed once");
    names.dedup();
    assert_eq!(names.len(), 220);
    assert!(pages >= 2, "the first page ended early");
    let refused = issue(
        &app,
        Penalty::holiday(99, &["mum"], d(2026, 12, 7), d(2027, 1, 4)).request(&"r".repeat(200)),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
}
