//! Messages over `max_message_bytes`, either way: RESOURCE_EXHAUSTED (as the
//! gRPC status-code guide has it for a message too large; tonic alone answers
//! OUT_OF_RANGE), naming the size and the limit, and nothing written.

use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use lea_notices::server::ServeOptions;
use lea_notices::store::Backend;
use tonic::Code;

use crate::helpers::TestApp;
use crate::helpers::attendance::{batch, week};
use crate::helpers::notices::{Penalty, d};
use crate::helpers::policy::{create, local_version};

const LIMIT: usize = 16 * 1024;

async fn spawn(backend: Backend) -> TestApp {
    let options = ServeOptions {
        max_message_bytes: LIMIT,
        ..Default::default()
    };
    TestApp::spawn_with(backend, options).await
}

fn assert_too_large(what: &str, status: &tonic::Status) {
    assert_eq!(status.code(), Code::ResourceExhausted, "{what}: {status:?}");
    assert!(
        status.message().contains(&LIMIT.to_string()),
        "{what} names the limit: {status:?}"
    );
}

async fn requests_over_the_limit_are_refused(backend: Backend) {
    let app = spawn(backend).await;

    // A unary request: a request id of twice the limit.
    let big_id = "x".repeat(2 * LIMIT);
    let refused = app
        .policy()
        .create_policy_version(create(
            "authorities/850",
            &big_id,
            local_version(2026, 9, 1),
        ))
        .await
        .unwrap_err();
    assert_too_large("CreatePolicyVersion", &refused);

    // One message of a stream: the first batch fits, the second does not.
    let officer = app.as_role("850", Role::LaOfficer);
    let small = batch("small", week("116439", 1, d(2026, 11, 2), "/", &[]));
    let big_marks = (2..=200)
        .flat_map(|p| week("116439", p, d(2026, 11, 2), "/", &[]))
        .collect();
    let big = batch("big", big_marks);
    assert!(prost::Message::encoded_len(&big) > LIMIT);
    let refused = officer
        .attendance()
        .record_marks(tokio_stream::iter(vec![small, big]))
        .await
        .unwrap_err();
    assert_too_large("RecordMarks", &refused);

    // The refused version was not written (the stream's first batch, a unit of
    // work of its own, was); under the limit the same call is served.
    let versions = app
        .policy()
        .list_policy_versions(pb::ListPolicyVersionsRequest {
            parent: "authorities/850".into(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .policy_versions;
    assert!(versions.is_empty(), "{versions:?}");
    app.policy()
        .create_policy_version(create("authorities/850", "fits", local_version(2026, 9, 1)))
        .await
        .expect("a request under the limit");
}

async fn responses_over_the_limit_are_refused(backend: Backend) {
    let app = spawn(backend).await;
    let officer = app.as_role("850", Role::LaOfficer);
    for n in 1..=40 {
        let request =
            Penalty::holiday(n, &["mum"], d(2026, 12, 7), d(2027, 1, 4)).request(&format!("p{n}"));
        officer
            .notices()
            .issue_penalty_notice(request)
            .await
            .expect("each notice fits");
    }
    let list = |page_size| pb::ListNoticesRequest {
        parent: "authorities/850".into(),
        page_size,
        ..Default::default()
    };
    let refused = officer.notices().list_notices(list(500)).await.unwrap_err();
    assert_too_large("ListNotices of 40", &refused);
    // A smaller page fits.
    let page = officer
        .notices()
        .list_notices(list(5))
        .await
        .expect("a page under the limit")
        .into_inner();
    assert_eq!(page.notices.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_over_the_limit_are_resource_exhausted_sqlite() {
    requests_over_the_limit_are_refused(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_over_the_limit_are_resource_exhausted_postgres() {
    requests_over_the_limit_are_refused(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_over_the_limit_are_resource_exhausted_sqlite() {
    responses_over_the_limit_are_refused(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_over_the_limit_are_resource_exhausted_postgres() {
    responses_over_the_limit_are_refused(Backend::Postgres).await;
}
