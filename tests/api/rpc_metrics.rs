//! The RPC metrics count every call once, with the code its caller got however
//! the call ended: an error at the end of a stream (in the trailers), a response
//! too large to send, the server's timeout, the caller's deadline, the caller
//! cancelling; and `lea_rpc_in_flight` comes back to 0. They are named and
//! labelled as go-grpc-prometheus does (`grpc_server_handled_total` with
//! `grpc_service`, `grpc_method`, `grpc_type` and Go's name of the code), so
//! grpc-ecosystem dashboards and alerts work unchanged. Measured on the server
//! binary run as a child process: the metrics registry is process-wide.

use std::time::Duration;

use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use lea_notices::store::Backend;
use tonic::Code;

use crate::child::ChildServer;
use crate::helpers::As;
use crate::helpers::attendance::{SCHOOL, batch, week};
use crate::helpers::notices::d;
use crate::helpers::policy::{create, local_version};
use crate::load::Held;

fn stream_batch(request_id: &str, marks: Vec<pb::Mark>) -> pb::RecordMarksStreamRequest {
    let b = batch(request_id, marks);
    pb::RecordMarksStreamRequest {
        parent: b.parent,
        request_id: b.request_id,
        marks: b.marks,
        sen_statuses: b.sen_statuses,
    }
}

/// Every answer of a RecordMarksStream call, or the status that ended it.
async fn stream(
    who: &As,
    batches: Vec<pb::RecordMarksStreamRequest>,
) -> Result<Vec<pb::RecordMarksStreamResponse>, tonic::Status> {
    let mut answers = who
        .attendance()
        .record_marks_stream(tokio_stream::iter(batches))
        .await?
        .into_inner();
    let mut all = Vec::new();
    while let Some(answer) = answers.message().await? {
        all.push(answer);
    }
    Ok(all)
}

/// `grpc_server_handled_total` of `service`/`method` ended with `code` (Go's
/// name for it, as go-grpc-prometheus labels it: `OK`, `InvalidArgument`).
async fn count(server: &ChildServer, service: &str, method: &str, code: &str) -> f64 {
    let labels = [
        format!(r#"grpc_service="lea.notices.v1.{service}""#),
        format!(r#"grpc_method="{method}""#),
        format!(r#"grpc_code="{code}""#),
    ];
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    server.metric("grpc_server_handled_total", &labels).await
}

/// `lea_rpc_units_not_started_total` of `method` for `reason`, once it is
/// `want` (the units wait for the write lock, which SQLite polls).
async fn not_started(server: &ChildServer, method: &str, reason: &str, want: f64) -> f64 {
    let labels = [
        format!(r#"grpc_method="{method}""#),
        format!(r#"reason="{reason}""#),
    ];
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    server
        .metric_settles("lea_rpc_units_not_started_total", &labels, want)
        .await
}

async fn every_ending_is_counted_once_with_its_code(backend: Backend) {
    let server = ChildServer::spawn(
        backend,
        &[
            // Long enough for 40 batches on a loaded machine (the message-limit
            // case below must not meet the stream's time limit first).
            ("LEA_NOTICES_REQUEST_TIMEOUT_SECS", "6"),
            ("LEA_NOTICES_MAX_MESSAGE_BYTES", "4096"),
        ],
    )
    .await;
    let admin = server.as_role("850", Role::Admin).await;
    let officer = server.as_role("850", Role::LaOfficer).await;
    let finance = server.as_role("850", Role::Finance).await;

    // OK (and, on PostgreSQL, the authority's first audit event to lock).
    admin
        .policy()
        .create_policy_version(create(
            "authorities/850",
            "first",
            local_version(2025, 9, 1),
        ))
        .await
        .unwrap();

    // RecordMarksStream's endings travel in its trailers.
    let monday = d(2025, 1, 6);
    let mut withdrawn = week(SCHOOL, 1, monday, "O", &[0]);
    withdrawn[3].code = "H".into();
    let refused = stream(&officer, vec![stream_batch("bad", withdrawn)]).await;
    assert_eq!(refused.unwrap_err().code(), Code::InvalidArgument);
    let first = week(SCHOOL, 2, monday, "O", &[0]);
    stream(&officer, vec![stream_batch("dup", first)])
        .await
        .unwrap();
    let other = week(SCHOOL, 3, monday, "O", &[0]);
    let reused = stream(&officer, vec![stream_batch("dup", other)]).await;
    assert_eq!(reused.unwrap_err().code(), Code::AlreadyExists);
    let denied = stream(&finance, vec![stream_batch("x", vec![])]).await;
    assert_eq!(denied.unwrap_err().code(), Code::PermissionDenied);
    // A stream that sends nothing until its time limit (the request timeout).
    let mut answers = officer
        .attendance()
        .record_marks_stream(tokio_stream::pending())
        .await
        .unwrap()
        .into_inner();
    let ended = answers.message().await.unwrap_err();
    assert_eq!(ended.code(), Code::DeadlineExceeded, "{ended:?}");

    // A response over the message limit: RESOURCE_EXHAUSTED in the trailers.
    let batches: Vec<pb::RecordMarksRequest> = (0..40)
        .map(|n| {
            let id = format!("{n:0>100}");
            batch(&id, week(SCHOOL, 10 + n, monday, "O", &[])[..1].to_vec())
        })
        .collect();
    let too_large = officer
        .attendance()
        .record_marks(tokio_stream::iter(batches))
        .await
        .unwrap_err();
    assert_eq!(too_large.code(), Code::ResourceExhausted, "{too_large:?}");

    // With every write held: the server's timeout, the caller's deadline, a
    // caller that cancels.
    let held = Held::take_on(backend, &server.database_url()).await;
    let timed_out = admin
        .policy()
        .create_policy_version(create(
            "authorities/850",
            "timeout",
            local_version(2025, 10, 1),
        ))
        .await
        .unwrap_err();
    assert_eq!(timed_out.code(), Code::DeadlineExceeded, "{timed_out:?}");
    let mut request = tonic::Request::new(create(
        "authorities/850",
        "deadline",
        local_version(2025, 11, 1),
    ));
    request.set_timeout(Duration::from_millis(300));
    let late = admin
        .policy()
        .create_policy_version(request)
        .await
        .unwrap_err();
    // tonic's client says CANCELLED when its own timer beats the server's answer.
    assert!(
        matches!(late.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{late:?}"
    );
    let mut client = admin.policy();
    let cancelled = tokio::spawn(async move {
        client
            .create_policy_version(create(
                "authorities/850",
                "cancel",
                local_version(2025, 12, 1),
            ))
            .await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    cancelled.abort();
    let _ = cancelled.await;
    // The server counts the cancelled call as it sees the reset.
    let policy = |code| count(&server, "PolicyService", "CreatePolicyVersion", code);
    let mut seen = 0.0;
    for _ in 0..100 {
        seen = policy("Canceled").await;
        if seen > 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, 1.0, "the cancelled call");
    held.release().await;

    let idle = server.metric_settles("lea_rpc_in_flight", &[], 0.0).await;
    assert_eq!(idle, 0.0, "{}", server.scrape().await);
    assert_eq!(policy("OK").await, 1.0);
    assert_eq!(policy("DeadlineExceeded").await, 2.0);
    let marks = |code| count(&server, "AttendanceService", "RecordMarksStream", code);
    assert_eq!(marks("OK").await, 1.0);
    assert_eq!(marks("InvalidArgument").await, 1.0);
    assert_eq!(marks("AlreadyExists").await, 1.0);
    assert_eq!(marks("PermissionDenied").await, 1.0);
    assert_eq!(marks("DeadlineExceeded").await, 1.0);
    assert_eq!(
        count(
            &server,
            "AttendanceService",
            "RecordMarks",
            "ResourceExhausted"
        )
        .await,
        1.0
    );
    let durations = server
        .metric(
            "grpc_server_handling_seconds_count",
            &[
                r#"grpc_method="CreatePolicyVersion""#,
                r#"grpc_type="unary""#,
            ],
        )
        .await;
    assert_eq!(durations, 4.0);
    // Every call begun is counted begun, with its type.
    let started = |method: &'static str, kind: &'static str| {
        let labels = [
            format!(r#"grpc_method="{method}""#),
            format!(r#"grpc_type="{kind}""#),
        ];
        let server = &server;
        async move {
            let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
            server.metric("grpc_server_started_total", &labels).await
        }
    };
    assert_eq!(started("CreatePolicyVersion", "unary").await, 4.0);
    assert_eq!(started("RecordMarksStream", "bidi_stream").await, 5.0);
    assert_eq!(started("RecordMarks", "client_stream").await, 1.0);
    // And the process, as every Prometheus client library exports it.
    let scraped = server.scrape().await;
    for name in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "lea_database_up 1",
    ] {
        assert!(scraped.contains(name), "{name} in {scraped}");
    }

    // What became of the three writes whose callers went: on SQLite they
    // waited for the write lock to begin, and never began; on PostgreSQL they
    // had begun (they wait at their commit) and finished.
    let versions = admin
        .policy()
        .list_policy_versions(pb::ListPolicyVersionsRequest {
            parent: "authorities/850".into(),
            page_size: 50,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .policy_versions;
    match backend {
        Backend::Sqlite => {
            let method = "CreatePolicyVersion";
            assert_eq!(
                not_started(&server, method, "deadline_exceeded", 2.0).await,
                2.0
            );
            assert_eq!(not_started(&server, method, "cancelled", 1.0).await, 1.0);
            assert_eq!(versions.len(), 1, "{versions:?}");
        }
        Backend::Postgres => {
            let mut left = versions.len();
            for _ in 0..100 {
                if left == 4 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                left = admin
                    .policy()
                    .list_policy_versions(pb::ListPolicyVersionsRequest {
                        parent: "authorities/850".into(),
                        page_size: 50,
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner()
                    .policy_versions
                    .len();
            }
            assert_eq!(left, 4, "the writes that had begun finished");
            assert_eq!(
                server.metric("lea_rpc_units_not_started_total", &[]).await,
                0.0
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ending_is_counted_once_with_its_code_sqlite() {
    every_ending_is_counted_once_with_its_code(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ending_is_counted_once_with_its_code_postgres() {
    every_ending_is_counted_once_with_its_code(Backend::Postgres).await;
}
