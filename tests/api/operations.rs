//! Running it: load shedding when a connection is full, and graceful shutdown on
//! SIGTERM. A call is made slow for real by holding SQLite's write lock from the
//! test, so the server has no test hooks.

use std::{process::Stdio, time::Duration};

use lea_notices::domain::actor::Role;
use lea_notices::server::ServeOptions;
use lea_notices::store::Backend;
use sqlx::Connection;
use tonic::Code;

use crate::helpers::{Bearer, TestApp};
use crate::policy::{create, local_version};

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
