//! Reads from a read replica where it is safe: a real streaming standby (a
//! second PostgreSQL cluster the test starts from a base backup of the first)
//! serves the breach search and the summary; a read never sees older data than
//! the caller has just written (it waits for the replica to replay the
//! primary's position, or reads from the primary); and with the replica
//! stopped every call still succeeds from the primary, health SERVING.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lea_notices::server::ServeOptions;
use lea_notices::server::metrics::metrics;
use lea_notices::store::{Backend, PgStore, Store};
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::helpers::TestApp;
use crate::helpers::attendance::{SCHOOL, batch, breaches, first, officer, record, summary, week};
use crate::helpers::notices::{d, upn};
use crate::outage::PrivateCluster;

const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a replica read waits for the replica to catch up.
const REPLICA_WAIT: Duration = Duration::from_millis(250);

async fn serving(channel: &Channel) -> ServingStatus {
    let status = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health")
        .into_inner()
        .status;
    ServingStatus::try_from(status).expect("a known status")
}

/// (replica reads, fallbacks lagging, fallbacks unreachable) so far.
fn counts() -> (u64, u64, u64) {
    let m = metrics();
    (
        m.replica_reads.get(),
        m.replica_fallbacks.with_label_values(&["lagging"]).get(),
        m.replica_fallbacks
            .with_label_values(&["unreachable"])
            .get(),
    )
}

/// Waits (at most 10 s) until `lea_replica_up` reads `want`.
async fn replica_up_turns(want: i64) {
    let started = Instant::now();
    while metrics().replica_up.get() != want {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "lea_replica_up did not turn {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_reads_are_never_older_than_the_callers_writes_and_fall_back_to_the_primary() {
    let primary = PrivateCluster::start().await;
    primary.create_database("lea_replica").await;
    let standby = PrivateCluster::standby_of(&primary).await;
    let url = primary.url("lea_replica");
    let store = PgStore::connect(&url, 4, ACQUIRE_TIMEOUT)
        .await
        .expect("connect")
        .with_replica(
            &standby.url("lea_replica"),
            4,
            ACQUIRE_TIMEOUT,
            REPLICA_WAIT,
        )
        .expect("replica");
    store.migrate().await.expect("migrate");
    let store: Arc<dyn Store> = Arc::new(store);
    let options = ServeOptions {
        health_check_interval: Duration::from_millis(100),
        ..Default::default()
    };
    let app = TestApp::spawn_on_store(Backend::Postgres, store, url, options).await;
    let mut replica =
        <sqlx::PgConnection as sqlx::Connection>::connect(&standby.url("lea_replica"))
            .await
            .expect("connect to the standby");
    let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(&mut replica)
        .await
        .unwrap();
    assert!(in_recovery, "the second cluster is a standby");
    replica_up_turns(1).await;

    // Each caller writes a pupil's week of unauthorised holiday and at once
    // searches breaches and asks for the authority's summary: its write is
    // there every time, and the replica served (most of) the reads.
    let monday = d(2025, 3, 3);
    let friday = d(2025, 3, 7);
    let before = counts();
    for pupil in 1..=5u32 {
        let marks = week(SCHOOL, pupil, monday, "G", &first(10));
        record(&officer(&app), vec![batch(&format!("week-{pupil}"), marks)])
            .await
            .expect("recorded");
        let found: Vec<String> = breaches(&app, friday, "")
            .await
            .into_iter()
            .map(|b| b.upn)
            .collect();
        assert!(
            found.contains(&upn(pupil)),
            "pupil {pupil}'s new breach: {found:?}"
        );
        assert_eq!(found.len(), pupil as usize);
        let figures = summary(&app, "", None, monday, friday).await;
        assert_eq!(
            figures.enrolments,
            i64::from(pupil),
            "the summary sees the new week"
        );
    }
    let after = counts();
    let served = after.0 - before.0;
    let fell_back = (after.1 - before.1) + (after.2 - before.2);
    eprintln!("replica reads {served}, fallbacks {fell_back}");
    assert!(
        served >= 5,
        "the replica served the reads: {served} of them"
    );
    assert!(
        served > fell_back,
        "mostly from the replica: {served} against {fell_back}"
    );

    // What waiting for the replica costs a read, against the same read on a
    // server with no replica (printed; the figure is in the README).
    let primary_only: Arc<dyn Store> = Arc::new(
        PgStore::connect(app.database_url(), 4, ACQUIRE_TIMEOUT)
            .await
            .expect("connect"),
    );
    let direct = TestApp::spawn_on_store(
        Backend::Postgres,
        primary_only,
        app.database_url().to_string(),
        ServeOptions::default(),
    )
    .await;
    let mut took = [Duration::ZERO; 2];
    for _ in 0..3 {
        for (i, server) in [&app, &direct].into_iter().enumerate() {
            summary(server, "", None, monday, friday).await;
            let started = Instant::now();
            for _ in 0..20 {
                summary(server, "", None, monday, friday).await;
            }
            took[i] += started.elapsed();
        }
    }
    eprintln!(
        "summary a call: {:?} with the replica, {:?} primary only",
        took[0] / 60,
        took[1] / 60
    );
    drop(direct);

    // Replay paused on the standby: it cannot catch up with a new write, so the
    // read waits at most its bound and reads from the primary: never stale.
    sqlx::query("SELECT pg_wal_replay_pause()")
        .execute(&mut replica)
        .await
        .unwrap();
    let before = counts();
    record(
        &officer(&app),
        vec![batch("week-6", week(SCHOOL, 6, monday, "G", &first(10)))],
    )
    .await
    .expect("recorded");
    let started = Instant::now();
    let figures = summary(&app, "", None, monday, friday).await;
    assert_eq!(figures.enrolments, 6, "a lagging replica is not read");
    assert!(
        started.elapsed() < REPLICA_WAIT + Duration::from_secs(2),
        "waited {:?}",
        started.elapsed()
    );
    assert!(counts().1 > before.1, "the fallback is counted as lagging");
    sqlx::query("SELECT pg_wal_replay_resume()")
        .execute(&mut replica)
        .await
        .unwrap();
    drop(replica);

    // The replica stopped: every read still succeeds, from the primary, and
    // health stays SERVING while it reports the replica down.
    standby.pg_ctl_stop().await;
    let before = counts();
    record(
        &officer(&app),
        vec![batch("week-7", week(SCHOOL, 7, monday, "G", &first(10)))],
    )
    .await
    .expect("writes go on");
    let found = breaches(&app, friday, "").await;
    assert_eq!(found.len(), 7, "the new breach, from the primary");
    let figures = summary(&app, "", None, monday, friday).await;
    assert_eq!(figures.enrolments, 7);
    let after = counts();
    assert_eq!(after.0, before.0, "nothing read from a stopped replica");
    assert!(
        after.2 > before.2,
        "the fallbacks are counted as unreachable"
    );
    replica_up_turns(0).await;
    assert_eq!(serving(&app.channel).await, ServingStatus::Serving);
    // Clusters are stopped when dropped, even when an assertion above failed.
}
