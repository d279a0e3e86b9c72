//! Under load: the server sheds calls beyond its limit at once, counted over
//! every connection, and issuers of one authority do not wait for each other's
//! commits to number their notices. A call is made slow for real by holding a
//! lock from the test (SQLite's write lock; on PostgreSQL the authority's audit
//! chain head, which every mutation takes at its commit).

use std::time::{Duration, Instant};

use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb, notice_service_client::NoticeServiceClient};
use lea_notices::server::ServeOptions;
use lea_notices::store::Backend;
use sqlx::Connection;
use tonic::Code;
use tonic::transport::Channel;

use crate::helpers::notices::{Penalty, d};
use crate::helpers::{Authed, Bearer, TestApp};

fn penalty(n: u32, request_id: &str) -> pb::IssuePenaltyNoticeRequest {
    Penalty::holiday(n, &["mum"], d(2026, 12, 7), d(2027, 1, 4)).request(request_id)
}

/// A lock that keeps every mutation of authority 850 from committing until
/// released. On PostgreSQL the authority needs an audit event already.
pub(crate) enum Held {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Held {
    async fn take(app: &TestApp) -> Held {
        Self::take_on(app.backend, app.database_url()).await
    }

    /// On the database at `url` (as its owner).
    pub(crate) async fn take_on(backend: Backend, url: &str) -> Held {
        let begin = |backend| match backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        match backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
                sqlx::raw_sql(begin(backend))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                Held::Sqlite(conn)
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::raw_sql(begin(backend))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let locked: Vec<(String,)> = sqlx::query_as(
                    "SELECT authority_code FROM audit_chain_heads \
                     WHERE authority_code = '850' FOR UPDATE",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap();
                assert_eq!(locked.len(), 1, "the authority has a chain head to hold");
                Held::Postgres(conn)
            }
        }
    }

    pub(crate) async fn release(self) {
        match self {
            Held::Sqlite(mut c) => {
                sqlx::raw_sql("ROLLBACK").execute(&mut c).await.unwrap();
            }
            Held::Postgres(mut c) => {
                sqlx::raw_sql("ROLLBACK").execute(&mut c).await.unwrap();
            }
        }
    }
}

/// A notice client on a connection of its own.
async fn notices_on_new_connection(app: &TestApp) -> NoticeServiceClient<Authed> {
    let channel = Channel::from_shared(format!("http://{}", app.addr))
        .unwrap()
        .tcp_nodelay(true)
        .connect()
        .await
        .unwrap();
    let bearer = Bearer::new(&app.token("850", Role::LaOfficer));
    NoticeServiceClient::with_interceptor(channel, bearer)
}

async fn a_full_server_sheds_at_once_across_connections(backend: Backend) {
    let options = ServeOptions {
        max_concurrent_requests: 2,
        ..Default::default()
    };
    let app = TestApp::spawn_with(backend, options).await;
    let first = app
        .notices()
        .issue_penalty_notice(penalty(1, "first"))
        .await;
    first.expect("a first notice");
    let held = Held::take(&app).await;

    // Two slow calls, each on a connection of its own, fill the server.
    let mut slow = Vec::new();
    for n in [2, 3] {
        let mut client = notices_on_new_connection(&app).await;
        slow.push(tokio::spawn(async move {
            // The probe below may be in progress when this call arrives, and then
            // this one is the call shed: retry it (same request id) until admitted.
            loop {
                let call = client
                    .issue_penalty_notice(penalty(n, &format!("slow-{n}")))
                    .await;
                match call {
                    Err(status) if status.code() == Code::ResourceExhausted => {
                        tokio::time::sleep(Duration::from_millis(5)).await
                    }
                    other => break other,
                }
            }
        }));
    }
    // Until both are in progress (they wait at the lock, not at the server).
    let mut probe = notices_on_new_connection(&app).await;
    let started = Instant::now();
    let shed = loop {
        // A probe admitted before both slow calls are in: on SQLite its
        // access-log entry then waits for the held write lock. Its deadline
        // ends it and frees its place, and the next probe tries again.
        let mut request = tonic::Request::new(pb::GetNoticeRequest {
            name: "authorities/850/notices/850-2027-000001".into(),
        });
        request.set_timeout(Duration::from_secs(1));
        match probe.get_notice(request).await {
            Err(status) if status.code() == Code::ResourceExhausted => break status,
            Err(status)
                if matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled)
                    && started.elapsed() < Duration::from_secs(20) => {}
            Ok(_) if started.elapsed() < Duration::from_secs(20) => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            other => panic!(
                "the server never filled after {:?}: {other:?}; slow calls finished: {:?}",
                started.elapsed(),
                slow.iter()
                    .map(|call| call.is_finished())
                    .collect::<Vec<_>>()
            ),
        }
    };
    assert!(shed.message().contains("limit"), "{shed:?}");
    // Refused at once, on a third connection, while the two slow calls still wait.
    let at = Instant::now();
    let again = probe
        .get_notice(pb::GetNoticeRequest {
            name: "authorities/850/notices/850-2027-000001".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::ResourceExhausted, "{again:?}");
    // Queued, it would wait for the held lock, which is held until released
    // below: any bound short of that tells the two apart on a loaded machine.
    assert!(
        at.elapsed() < Duration::from_secs(3),
        "shed at once, not queued: {:?}",
        at.elapsed()
    );
    assert!(slow.iter().all(|call| !call.is_finished()));
    // Health is never shed.
    let health = tonic_health::pb::health_client::HealthClient::new(app.channel.clone())
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health answers while the server is full");
    assert_eq!(
        health.into_inner().status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    held.release().await;
    for call in slow {
        call.await.unwrap().expect("the calls in progress complete");
    }
    // With capacity back, calls are served again.
    probe
        .get_notice(pb::GetNoticeRequest {
            name: "authorities/850/notices/850-2027-000001".into(),
        })
        .await
        .expect("served once the server has room");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_server_sheds_at_once_across_connections_sqlite() {
    a_full_server_sheds_at_once_across_connections(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_server_sheds_at_once_across_connections_postgres() {
    a_full_server_sheds_at_once_across_connections(Backend::Postgres).await;
}

/// The authority's last notice serial of 2027, as committed.
async fn last_serial(conn: &mut sqlx::PgConnection) -> Option<i64> {
    sqlx::query_scalar(
        "SELECT last_value FROM serials WHERE authority_code = '850' AND series = 'notice-2027'",
    )
    .fetch_optional(conn)
    .await
    .unwrap()
}

/// PostgreSQL only: there concurrent units run side by side, and a notice number
/// is taken without waiting for the units that took the numbers before it to
/// commit. (SQLite has one writer: its units run one after another anyway.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuers_number_notices_without_waiting_for_each_others_commits_postgres() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let first = app
        .notices()
        .issue_penalty_notice(penalty(1, "first"))
        .await;
    let first = first.unwrap().into_inner().notices;
    assert_eq!(first[0].notice_number, "850-2027-000001");
    let mut watcher = sqlx::PgConnection::connect(app.database_url())
        .await
        .unwrap();
    // Every issuer now waits at its commit, after it has numbered its notice.
    let held = Held::take(&app).await;
    let mut waiting = Vec::new();
    for n in [2, 3, 4] {
        let mut client = notices_on_new_connection(&app).await;
        waiting.push(tokio::spawn(async move {
            client
                .issue_penalty_notice(penalty(n, &format!("issuer-{n}")))
                .await
        }));
        // This issuer's number is taken (and visible) while those before it
        // have not committed: numbering did not wait for them.
        let started = Instant::now();
        while last_serial(&mut watcher).await != Some(i64::from(n)) {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "issuer {n} waits for a number behind uncommitted issuers"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert!(waiting.iter().all(|call| !call.is_finished()));
    held.release().await;
    let mut numbers = Vec::new();
    for call in waiting {
        let issued = call.await.unwrap().expect("issued").into_inner().notices;
        numbers.push(issued[0].notice_number.clone());
    }
    // In the order they were issued, without gaps here.
    assert_eq!(
        numbers,
        ["850-2027-000002", "850-2027-000003", "850-2027-000004"]
    );
}
