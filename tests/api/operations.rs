//! Running it: load shedding when a connection is full, and graceful shutdown on
//! SIGTERM. A call is made slow for real by holding SQLite's write lock from the
//! test, so the server has no test hooks.

use std::{process::Stdio, time::Duration};

use lea_notices::domain::actor::Role;
use lea_notices::server::ServeOptions;
use lea_notices::store::Backend;
use sqlx::Connection;
use tonic::Code;

use crate::helpers::policy::{create, local_version};
use crate::helpers::{Bearer, TestApp};

/// Holds SQLite's write lock until dropped or rolled back.
async fn hold_write_lock(url: &str) -> sqlx::SqliteConnection {
    let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

async fn release(mut conn: sqlx::SqliteConnection) {
    sqlx::raw_sql("ROLLBACK").execute(&mut conn).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_connection_sheds_load_with_resource_exhausted() {
    let options = ServeOptions {
        max_concurrent_requests: 2,
        ..Default::default()
    };
    let app = TestApp::spawn_with(Backend::Sqlite, options).await;
    let lock = hold_write_lock(app.database_url()).await;
    let slow: Vec<_> = [9, 10]
        .into_iter()
        .map(|month| {
            let mut client = app.policy();
            tokio::spawn(async move {
                client
                    .create_policy_version(create(
                        "authorities/850",
                        &format!("m{month}"),
                        local_version(2025, month, 1),
                    ))
                    .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let shed = app
        .policy()
        .create_policy_version(create("authorities/850", "m11", local_version(2025, 11, 1)))
        .await
        .unwrap_err();
    assert_eq!(shed.code(), Code::ResourceExhausted, "{shed:?}");
    release(lock).await;
    for call in slow {
        call.await.unwrap().expect("the calls in progress complete");
    }
    // With capacity back, calls are served again.
    app.policy()
        .create_policy_version(create("authorities/850", "m12", local_version(2025, 12, 1)))
        .await
        .unwrap();
}

/// SIGTERM: the server stops taking connections, the call in flight completes,
/// and the process exits cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_call_in_flight_finish_and_refuses_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bin = env!("CARGO_BIN_EXE_lea-notices");
    let mut server = tokio::process::Command::new(bin)
        .args(["serve", "--listen-addr", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("LEA_NOTICES_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let endpoint =
        tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}")).unwrap();
    let mut channel = None;
    for _ in 0..100 {
        if let Ok(c) = endpoint.connect().await {
            channel = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let channel = channel.expect("the server came up");
    let token = std::process::Command::new(bin)
        .args([
            "token",
            "--authority",
            "850",
            "--role",
            Role::Admin.as_str(),
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let token = String::from_utf8(token.stdout).unwrap();
    let mut client =
        lea_notices::proto::v1::policy_service_client::PolicyServiceClient::with_interceptor(
            channel,
            Bearer::new(token.trim()),
        );

    let url = format!(
        "sqlite://{}",
        dir.path().join("data/lea-notices.sqlite3").display()
    );
    let lock = hold_write_lock(&url).await;
    let in_flight = tokio::spawn(async move {
        client
            .create_policy_version(create("authorities/850", "slow", local_version(2025, 9, 1)))
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    let pid = server.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        endpoint.connect().await.is_err(),
        "new connections are refused after SIGTERM"
    );

    release(lock).await;
    let done = in_flight
        .await
        .unwrap()
        .expect("the call in flight completes");
    assert_eq!(
        done.into_inner().policy_version.unwrap().name,
        "authorities/850/policyVersions/2025-09-01"
    );
    let exit = tokio::time::timeout(Duration::from_secs(10), server.wait())
        .await
        .expect("exits")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}

/// `GET /metrics` over plain HTTP/1.0 (close-delimited, so the text arrives whole).
pub(crate) async fn scrape(addr: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    body.to_string()
}

/// The value of the series of `name` whose labels include every one of `labels`.
pub(crate) fn value(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .find(|l| labels.iter().all(|label| l.contains(label)))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_with_calls() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(lea_notices::server::metrics::serve_metrics(
        listener,
        app.store.clone(),
        std::future::pending(),
    ));

    let get_policy = [
        r#"grpc_service="lea.notices.v1.PolicyService""#,
        r#"grpc_method="GetPolicy""#,
        r#"grpc_code="OK""#,
    ];
    let denied = [
        r#"grpc_service="lea.notices.v1.PolicyService""#,
        r#"grpc_method="CreatePolicyVersion""#,
        r#"grpc_code="PermissionDenied""#,
    ];
    let issued = [r#"authority="850""#, r#"kind="penalty_notice""#];
    let before = scrape(addr).await;

    let officer = app.as_role("850", Role::LaOfficer);
    for _ in 0..2 {
        officer
            .policy()
            .get_policy(lea_notices::proto::v1::GetPolicyRequest {
                parent: "authorities/850".into(),
                date: crate::helpers::date(2025, 9, 1),
            })
            .await
            .unwrap();
    }
    let refused = officer
        .policy()
        .create_policy_version(create("authorities/850", "x", local_version(2025, 9, 1)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    crate::helpers::notices::issue(
        &app,
        crate::helpers::notices::Penalty::holiday(
            1,
            &["mum", "dad"],
            crate::helpers::notices::d(2025, 1, 6),
            crate::helpers::notices::d(2025, 2, 3),
        )
        .request("m"),
    )
    .await
    .unwrap();

    let after = scrape(addr).await;
    assert!(
        value(&after, "grpc_server_handled_total", &get_policy)
            >= value(&before, "grpc_server_handled_total", &get_policy) + 2.0,
        "{after}"
    );
    assert!(
        value(&after, "grpc_server_handled_total", &denied)
            >= value(&before, "grpc_server_handled_total", &denied) + 1.0
    );
    assert!(
        value(&after, "lea_notices_issued_total", &issued)
            >= value(&before, "lea_notices_issued_total", &issued) + 2.0
    );
    assert!(
        value(
            &after,
            "grpc_server_handling_seconds_count",
            &get_policy[..2]
        ) >= 2.0
    );
    assert!(after.contains("lea_rpc_in_flight "), "in-flight gauge");
    // A connection goes back to the pool on a task of its own: give it a moment.
    let mut idle = value(&after, "lea_db_pool_connections", &[r#"state="idle""#]);
    for _ in 0..50 {
        if idle >= 1.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        idle = value(
            &scrape(addr).await,
            "lea_db_pool_connections",
            &[r#"state="idle""#],
        );
    }
    assert!(idle >= 1.0, "pool gauge");
}

/// The server's span for a call carrying a W3C `traceparent` is exported over
/// OTLP as a child of the caller's span, with the RPC's attributes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_spans_continue_the_callers_trace_over_otlp() {
    let collector = crate::helpers::otlp::Collector::start().await;
    let telemetry = lea_notices::server::telemetry::init(None, Some(collector.endpoint())).unwrap();

    let app = TestApp::spawn(Backend::Sqlite).await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let mut request = tonic::Request::new(lea_notices::proto::v1::GetPolicyRequest {
        parent: "authorities/850".into(),
        date: crate::helpers::date(2025, 9, 1),
    });
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-{caller_span}-01").parse().unwrap(),
    );
    app.as_role("850", Role::Auditor)
        .policy()
        .get_policy(request)
        .await
        .unwrap();
    telemetry.shutdown().await;

    let span = collector
        .spans()
        .into_iter()
        .rfind(|span| span.name == "rpc" && hex::encode(&span.trace_id) == trace_id)
        .expect("the server's rpc span was exported with the caller's trace id");
    assert_eq!(hex::encode(&span.parent_span_id), caller_span);
    let attribute = |key: &str| {
        span.attributes
            .iter()
            .find(|a| a.key == key)
            .and_then(|a| a.value.clone())
            .and_then(|v| v.value)
            .map(|v| format!("{v:?}"))
    };
    assert!(
        attribute("rpc.method")
            .unwrap()
            .contains("/lea.notices.v1.PolicyService/GetPolicy")
    );
    assert!(attribute("authority").unwrap().contains("850"));
    assert!(attribute("grpc.code").unwrap().contains('0'));
    assert!(attribute("latency_ms").is_some());
}
