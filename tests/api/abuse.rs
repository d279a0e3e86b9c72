//! What a hostile client can send, through the real API (issue 25, item 6): page
//! tokens made up or changed, and request bytes that do not decode. Each answers
//! INVALID_ARGUMENT naming what was wrong; none reaches the database, none is
//! INTERNAL, and the server goes on serving.

use lea_notices::api::pagination::encode_token;
use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use tonic::Code;

use crate::helpers::{As, TestApp, date, on_both_backends, violated_fields};

/// Cursors no list of this service would issue, each aimed at something SQL
/// could choke on: dates far outside what PostgreSQL takes, a NUL, control
/// characters, an id past i64, a very long key.
const HOSTILE_CURSORS: &[&str] = &[
    "-200000-01-01",
    "-200000-01-01|850-PAY-000001",
    "+262143-12-31|x",
    "0000-01-01|x",
    "2025-02-30|x",
    "\0",
    "\0|1",
    "1160\u{0}439",
    "2025-09-01|850\u{0}-2025-000001",
    "A0\u{1b}[2J|1",
    "9223372036854775808",
    "-1|x",
];

/// Tokens for `filter` a client could make: hostile cursors under this process's
/// key (the test shares the server's process, so these pass the MAC and test the
/// checks behind it), the old unsigned form, a changed byte, and junk.
fn forged_tokens(filter: &str) -> Vec<String> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let mut tokens: Vec<String> = HOSTILE_CURSORS
        .iter()
        .map(|c| encode_token(filter, c))
        .collect();
    tokens.push(encode_token(filter, &"7".repeat(300)));
    // Before tokens were signed: hex of {"f": filter hash, "c": cursor}.
    let hash = {
        use sha2::Digest;
        hex::encode(&sha2::Sha256::digest(filter.as_bytes())[..12])
    };
    tokens.push(hex::encode(format!(
        r#"{{"f":"{hash}","c":"-200000-01-01"}}"#
    )));
    let mut changed = URL_SAFE_NO_PAD
        .decode(encode_token(filter, "2025-09-01|x"))
        .unwrap();
    changed[10] ^= 0x20;
    tokens.push(URL_SAFE_NO_PAD.encode(changed));
    tokens.extend(["x", "====", "%00", "AAAAAAAAAAAAAAAAAAAAAAAAAAAA"].map(String::from));
    tokens
}

/// The filter a list binds its tokens to, as the server writes it: the request
/// without its page token and size.
fn debug_filter<T: Clone + std::fmt::Debug>(req: &T, clear: impl Fn(&mut T)) -> String {
    let mut r = req.clone();
    clear(&mut r);
    format!("{r:?}")
}

fn assert_names_page_token(what: &str, token: &str, result: Result<(), tonic::Status>) {
    let status = result.expect_err(what);
    assert_eq!(
        status.code(),
        Code::InvalidArgument,
        "{what} with {token:?}: {status:?}"
    );
    assert_eq!(violated_fields(&status), ["page_token"], "{what} {token:?}");
}

async fn every_list_refuses(app: &TestApp) {
    let auditor = app.as_role("850", Role::Auditor);
    let officer = app.as_role("850", Role::LaOfficer);
    let parent = "authorities/850".to_string();

    let policy = pb::ListPolicyVersionsRequest {
        parent: parent.clone(),
        ..Default::default()
    };
    for token in forged_tokens(&format!("parent={parent}")) {
        let mut r = policy.clone();
        r.page_token = token.clone();
        let result = auditor.policy().list_policy_versions(r).await.map(drop);
        assert_names_page_token("ListPolicyVersions", &token, result);
    }

    let schools = pb::ListSchoolsRequest {
        parent: parent.clone(),
        ..Default::default()
    };
    for token in forged_tokens(&format!("parent={parent}")) {
        let mut r = schools.clone();
        r.page_token = token.clone();
        let result = auditor.schools().list_schools(r).await.map(drop);
        assert_names_page_token("ListSchools", &token, result);
    }

    let payments = pb::ListPaymentsRequest {
        parent: parent.clone(),
        paid_from: date(2025, 1, 1),
        ..Default::default()
    };
    let filter = debug_filter(&payments, |r| {
        r.page_token.clear();
        r.page_size = 0;
    });
    for token in forged_tokens(&filter) {
        let mut r = payments.clone();
        r.page_token = token.clone();
        let result = auditor.payments().list_payments(r).await.map(drop);
        assert_names_page_token("ListPayments", &token, result);
    }

    let notices = pb::ListNoticesRequest {
        parent: parent.clone(),
        ..Default::default()
    };
    let filter = debug_filter(&notices, |r| {
        r.page_token.clear();
        r.page_size = 0;
    });
    for token in forged_tokens(&filter) {
        let mut r = notices.clone();
        r.page_token = token.clone();
        let result = auditor.notices().list_notices(r).await.map(drop);
        assert_names_page_token("ListNotices", &token, result);
    }

    let events = pb::ListNoticeEventsRequest {
        parent: "authorities/850/notices/850-2025-000001".into(),
        ..Default::default()
    };
    for token in forged_tokens(&format!("parent={}", events.parent)) {
        let mut r = events.clone();
        r.page_token = token.clone();
        let result = auditor.notices().list_notice_events(r).await.map(drop);
        assert_names_page_token("ListNoticeEvents", &token, result);
    }

    let audit = pb::ListAuditEventsRequest {
        parent: parent.clone(),
        ..Default::default()
    };
    let filter = debug_filter(&audit, |r| {
        r.page_token.clear();
        r.page_size = 0;
    });
    for token in forged_tokens(&filter) {
        let mut r = audit.clone();
        r.page_token = token.clone();
        let result = auditor.audit().list_audit_events(r).await.map(drop);
        assert_names_page_token("ListAuditEvents", &token, result);
    }

    let breaches = pb::ListThresholdBreachesRequest {
        parent: parent.clone(),
        as_of_date: date(2025, 3, 28),
        ..Default::default()
    };
    let filter = format!(
        "{}|{:?}|{}|{:?}",
        breaches.parent, breaches.as_of_date, breaches.school_urn, breaches.states
    );
    for token in forged_tokens(&filter) {
        let mut r = breaches.clone();
        r.page_token = token.clone();
        let result = auditor
            .attendance()
            .list_threshold_breaches(r)
            .await
            .map(drop);
        assert_names_page_token("ListThresholdBreaches", &token, result);
    }

    let requests = pb::ListPenaltyNoticeRequestsRequest {
        parent: parent.clone(),
        ..Default::default()
    };
    let filter = format!(
        "{}|{}|{}",
        requests.parent, requests.state, requests.school_urn
    );
    for token in forged_tokens(&filter) {
        let mut r = requests.clone();
        r.page_token = token.clone();
        let result = officer
            .notices()
            .list_penalty_notice_requests(r)
            .await
            .map(drop);
        assert_names_page_token("ListPenaltyNoticeRequests", &token, result);
    }
}

/// A list's own token still pages (the check refuses only what it should).
async fn issued_tokens_still_page(who: &As) {
    let first = who
        .schools()
        .list_schools(pb::ListSchoolsRequest {
            parent: "authorities/850".into(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    if !first.next_page_token.is_empty() {
        who.schools()
            .list_schools(pb::ListSchoolsRequest {
                parent: "authorities/850".into(),
                page_size: 1,
                page_token: first.next_page_token,
            })
            .await
            .expect("an issued token");
    }
}

on_both_backends! {
    async fn forged_or_corrupt_page_tokens_name_page_token(app) {
        // Something to list, so a cursor would reach SQL if it got that far.
        crate::payments::pay(&app, crate::payments::payment(
            "850", "p1", 100, crate::notices::d(2025, 2, 10), "", &[],
        )).await;
        app.policy()
            .create_policy_version(crate::policy::create("authorities/850", "v", crate::policy::local_version(2024, 9, 1)))
            .await
            .unwrap();
        every_list_refuses(&app).await;
        issued_tokens_still_page(&app.as_role("850", Role::Auditor)).await;
    }
}
