//! Every kind of error the service answers carries details that a standard
//! reader decodes, and the `google.rpc.Status` in them has exactly the code and
//! message of the status sent (Python's `rpc_status.from_call` refuses anything
//! else).

use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use prost::Message;
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::attendance::{batch, mark, record};
use crate::helpers::notices::{Penalty, d, issue};
use crate::helpers::payments::payment;
use crate::helpers::{TestApp, on_both_backends};

/// The details decode as a `google.rpc.Status` agreeing with `status`.
fn readable(status: &tonic::Status, expected: Code) {
    assert_eq!(status.code(), expected, "{status:?}");
    let details = tonic_types::pb::Status::decode(status.details())
        .unwrap_or_else(|e| panic!("{expected:?}: details are not a google.rpc.Status: {e}"));
    assert_eq!(
        details.code, expected as i32,
        "{expected:?}: code in the details"
    );
    assert_eq!(
        details.message,
        status.message(),
        "{expected:?}: message in the details"
    );
    status
        .check_error_details_vec()
        .unwrap_or_else(|e| panic!("{expected:?}: {e}"));
}

on_both_backends! {
    async fn every_error_kind_reads_with_a_standard_reader(app) {
        let officer = app.as_role("850", Role::LaOfficer);
        // INVALID_ARGUMENT, with field violations.
        let mut bad = Penalty::holiday(1, &["mum"], d(2026, 12, 7), d(2027, 1, 4)).request("");
        bad.pupil = None;
        readable(&issue(&app, bad).await.unwrap_err(), Code::InvalidArgument);
        // FAILED_PRECONDITION, naming the rule.
        let mut short = Penalty::holiday(1, &["mum"], d(2026, 12, 7), d(2027, 1, 4));
        short.sessions.truncate(2);
        readable(&issue(&app, short.request("short")).await.unwrap_err(), Code::FailedPrecondition);
        // ALREADY_EXISTS, with ErrorInfo.
        issue(&app, Penalty::holiday(2, &["mum"], d(2026, 12, 7), d(2027, 1, 4)).request("once")).await.unwrap();
        let reused = issue(&app, Penalty::holiday(3, &["mum"], d(2026, 12, 7), d(2027, 1, 4)).request("once")).await.unwrap_err();
        readable(&reused, Code::AlreadyExists);
        // NOT_FOUND.
        let missing = officer.notices().get_notice(pb::GetNoticeRequest {
            name: "authorities/850/notices/850-2027-999999".into(),
        }).await.unwrap_err();
        readable(&missing, Code::NotFound);
        // PERMISSION_DENIED.
        let denied = app.as_role("850", Role::Auditor).payments()
            .record_payment(payment("850", "p", 100, d(2027, 1, 4), "", &[])).await.unwrap_err();
        readable(&denied, Code::PermissionDenied);
        // A refused RecordMarks batch: its message names the batch.
        let refused = record(&officer, vec![batch("bad-batch", vec![
            mark("116439", 1, d(2026, 12, 7), pb::Session::Am, "H", 60),
        ])]).await.unwrap_err();
        assert!(refused.message().starts_with("batch bad-batch:"), "{}", refused.message());
        readable(&refused, Code::InvalidArgument);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_reads_with_a_standard_reader() {
    let app = TestApp::spawn(lea_notices::store::Backend::Sqlite).await;
    let status = app
        .with_token("not-a-token")
        .policy()
        .get_policy(pb::GetPolicyRequest {
            parent: "authorities/850".into(),
            date: crate::helpers::date(2025, 9, 1),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    // No detail is given to a caller without a valid token, but what is sent
    // decodes (empty details are an empty google.rpc.Status or none).
    if !status.details().is_empty() {
        readable(&status, Code::Unauthenticated);
    }
}
