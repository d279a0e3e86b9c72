//! What depends on "today", with the server's clock pinned and moved: a notice's
//! status and amount due as its periods pass, refusals of dates in the future,
//! and receipt dates of notices posted in years the old bank-holiday table
//! never reached.

use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use tonic::Code;

use crate::helpers::notices::{Penalty, d, issue, proto_date, ymd};
use crate::helpers::{TestApp, on_both_backends, violated_fields};

async fn notice(app: &TestApp, name: &str) -> pb::Notice {
    app.as_role("850", Role::LaOfficer)
        .notices()
        .get_notice(pb::GetNoticeRequest { name: name.into() })
        .await
        .unwrap()
        .into_inner()
        .notice
        .unwrap()
}

async fn amount_due(app: &TestApp, name: &str) -> pb::GetAmountDueResponse {
    app.as_role("850", Role::Finance)
        .payments()
        .get_amount_due(pb::GetAmountDueRequest {
            name: name.into(),
            date: None,
        })
        .await
        .unwrap()
        .into_inner()
}

async fn names_with_status(app: &TestApp, status: pb::NoticeStatus) -> Vec<String> {
    app.as_role("850", Role::LaOfficer)
        .notices()
        .list_notices(pb::ListNoticesRequest {
            parent: "authorities/850".into(),
            status: status as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .notices
        .into_iter()
        .map(|n| n.name)
        .collect()
}

on_both_backends! {
    async fn a_penalty_notice_is_issued_then_unpaid_as_its_periods_pass(app) {
        // Issued by hand on Monday 2 June 2025: the lower amount is due to day 21
        // (22 June), the higher to day 28 (29 June).
        app.clock.set_day(d(2025, 6, 2));
        let issued = issue(&app, Penalty::holiday(1, &["mum"], d(2025, 5, 12), d(2025, 6, 2)).request("c1"))
            .await
            .unwrap();
        let name = issued[0].name.clone();
        assert_eq!(issued[0].status, pb::NoticeStatus::Issued as i32);

        let due = amount_due(&app, &name).await;
        assert!(due.payable);
        assert_eq!((due.amount_due_pence, due.rate), (8_000, pb::PaidRate::Lower as i32));
        assert_eq!(ymd(&due.due_by), Some((2025, 6, 22)));
        assert_eq!(notice(&app, &name).await.balance.unwrap().amount_due_pence, 8_000);

        app.clock.set_day(d(2025, 6, 22));
        assert_eq!(amount_due(&app, &name).await.amount_due_pence, 8_000, "day 21 is still the lower period");

        app.clock.set_day(d(2025, 6, 23));
        let due = amount_due(&app, &name).await;
        assert_eq!((due.amount_due_pence, due.rate), (16_000, pb::PaidRate::Higher as i32));
        assert_eq!(ymd(&due.due_by), Some((2025, 6, 29)));
        assert_eq!(notice(&app, &name).await.status, pb::NoticeStatus::Issued as i32);
        assert_eq!(names_with_status(&app, pb::NoticeStatus::Issued).await, vec![name.clone()]);
        assert!(names_with_status(&app, pb::NoticeStatus::Unpaid).await.is_empty());

        app.clock.set_day(d(2025, 6, 30));
        let late = notice(&app, &name).await;
        assert_eq!(late.status, pb::NoticeStatus::Unpaid as i32);
        assert_eq!(late.balance.unwrap().amount_due_pence, 0);
        let due = amount_due(&app, &name).await;
        assert!(!due.payable, "{due:?}");
        assert!(!due.not_payable_reason.is_empty());
        assert_eq!(names_with_status(&app, pb::NoticeStatus::Unpaid).await, vec![name.clone()]);
        assert!(names_with_status(&app, pb::NoticeStatus::Issued).await.is_empty());
    }

    async fn dates_after_today_are_refused_until_they_arrive(app) {
        app.clock.set_day(d(2025, 6, 2));
        let tomorrow = Penalty::holiday(2, &["dad"], d(2025, 5, 12), d(2025, 6, 3));
        let refused = issue(&app, tomorrow.request("f1")).await.unwrap_err();
        assert_eq!(violated_fields(&refused), vec!["issue_date"]);

        let mut posted_tomorrow = Penalty::holiday(2, &["dad"], d(2025, 5, 12), d(2025, 6, 2)).request("f2");
        posted_tomorrow.delivery = Some(pb::Delivery {
            method: pb::DeliveryMethod::Post as i32,
            posting_date: proto_date(d(2025, 6, 3)),
        });
        let refused = issue(&app, posted_tomorrow).await.unwrap_err();
        assert_eq!(violated_fields(&refused), vec!["delivery.posting_date"]);

        let issued = issue(&app, Penalty::holiday(2, &["dad"], d(2025, 5, 12), d(2025, 6, 2)).request("f3"))
            .await
            .unwrap();
        let mut withdrawal = crate::helpers::notices::withdraw(&issued[0].name, "f4");
        withdrawal.withdrawal.as_mut().unwrap().withdrawal_date = proto_date(d(2025, 6, 3));
        let officer = app.as_role("850", Role::LaOfficer);
        let refused = officer.notices().withdraw_notice(withdrawal.clone()).await.unwrap_err();
        assert_eq!(violated_fields(&refused), vec!["withdrawal.withdrawal_date"]);

        // The next day the same dates are in the past.
        app.clock.set_day(d(2025, 6, 3));
        let withdrawn = officer.notices().withdraw_notice(withdrawal).await.unwrap().into_inner();
        assert_eq!(withdrawn.notice.unwrap().status, pb::NoticeStatus::Withdrawn as i32);
        // With that notice withdrawn, its sessions may back a notice dated today.
        issue(&app, tomorrow.request("f5")).await.unwrap();
    }

    async fn a_notice_posted_in_2028_gets_its_receipt_date_past_easter(app) {
        // Posted on Thursday 13 April 2028: Good Friday (14th) and Easter Monday
        // (17th) are not working days, so it is received on Wednesday the 19th.
        app.clock.set_day(d(2028, 4, 13));
        let mut request = Penalty::holiday(3, &["mum"], d(2028, 3, 6), d(2028, 4, 13)).request("e1");
        request.delivery = Some(pb::Delivery {
            method: pb::DeliveryMethod::Post as i32,
            posting_date: proto_date(d(2028, 4, 13)),
        });
        let issued = issue(&app, request).await.unwrap();
        assert_eq!(ymd(&issued[0].receipt_date), Some((2028, 4, 19)));
        assert_eq!(ymd(&issued[0].lower_deadline), Some((2028, 5, 9)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_server_starts_on_the_same_day_unless_told() {
    // Without a pinned day every server starts on the same Monday, whatever the
    // day the suite runs on.
    let app = TestApp::spawn(lea_notices::store::Backend::Sqlite).await;
    let refused = issue(
        &app,
        Penalty::holiday(4, &["mum"], d(2027, 1, 4), d(2027, 1, 5)).request("u1"),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&refused), vec!["issue_date"]);
    let app = TestApp::spawn_on(lea_notices::store::Backend::Sqlite, d(2027, 1, 5)).await;
    issue(
        &app,
        Penalty::holiday(4, &["mum"], d(2026, 12, 7), d(2027, 1, 5)).request("u2"),
    )
    .await
    .unwrap();
}
