//! Honest outages: while the database cannot be reached, calls answer
//! UNAVAILABLE (retryable, no internals) within the acquire timeout and the
//! health service says NOT_SERVING, except `liveness`; once it is back, both
//! recover without restarting the server. The PostgreSQL test stops and starts a
//! private cluster of its own (never the shared server on 5432).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use lea_notices::server::{HEALTH_CHECK_TIMEOUT, LIVENESS_SERVICE, ServeOptions};
use lea_notices::store::{self, Backend};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_types::StatusExt;

use crate::child::ChildServer;
use crate::helpers::attendance::{batch, mark};
use crate::helpers::notices::{Penalty, d, upn};
use crate::helpers::policy::{create, local_version};
use crate::helpers::{TestApp, date};

/// Every health service name that follows the database.
const DATABASE_BACKED: [&str; 6] = [
    "",
    "lea.notices.v1.PolicyService",
    "lea.notices.v1.AttendanceService",
    "lea.notices.v1.NoticeService",
    "lea.notices.v1.PaymentService",
    "lea.notices.v1.ReportService",
];

/// Short enough for a quick test, long enough for a loaded CI machine to connect.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

fn options() -> ServeOptions {
    ServeOptions {
        health_check_interval: Duration::from_millis(200),
        ..Default::default()
    }
}

async fn health(channel: &Channel, service: &str) -> ServingStatus {
    let status = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .unwrap_or_else(|e| panic!("health of '{service}': {e:?}"))
        .into_inner()
        .status;
    ServingStatus::try_from(status).expect("a known status")
}

/// How long until the server as a whole reports `want` (asked every 20 ms,
/// for at most `within`).
async fn time_until(channel: &Channel, want: ServingStatus, within: Duration) -> Duration {
    let started = Instant::now();
    while health(channel, "").await != want {
        assert!(
            started.elapsed() < within,
            "health did not turn {want:?} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

/// Waits (at most `within`) until the server as a whole reports `want`, then
/// checks every name: the database-backed ones report `want`, `liveness` SERVING.
async fn expect_health(channel: &Channel, want: ServingStatus, within: Duration) {
    let started = Instant::now();
    while health(channel, "").await != want {
        assert!(
            started.elapsed() < within,
            "health did not turn {want:?} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for name in DATABASE_BACKED {
        assert_eq!(health(channel, name).await, want, "health of '{name}'");
    }
    assert_eq!(
        health(channel, LIVENESS_SERVICE).await,
        ServingStatus::Serving,
        "liveness does not follow the database"
    );
}

/// An outage as callers must see it: UNAVAILABLE, the one plain message (after
/// the batch name on RecordMarks), ErrorInfo DATABASE_UNAVAILABLE, and nothing
/// about the database's internals.
fn assert_unavailable(what: &str, status: &tonic::Status) {
    assert_eq!(status.code(), Code::Unavailable, "{what}: {status:?}");
    assert!(
        status
            .message()
            .ends_with("the database is unavailable; retry later"),
        "{what}: {status:?}"
    );
    for internal in [
        "sqlx",
        "pool",
        "connection",
        "127.0.0.1",
        "refused",
        "SQLSTATE",
    ] {
        assert!(
            !status.message().contains(internal),
            "{what} leaks '{internal}': {status:?}"
        );
    }
    let info = status.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "DATABASE_UNAVAILABLE", "{what}");
}

fn get_policy() -> pb::GetPolicyRequest {
    pb::GetPolicyRequest {
        parent: "authorities/850".into(),
        date: date(2026, 1, 5),
    }
}

/// One read, one write and one stream: each UNAVAILABLE, each answered within
/// the acquire timeout (plus scheduling slack), not after a long wait.
async fn every_kind_of_call_is_unavailable(app: &TestApp, write_id: &str) {
    let officer = app.as_role("850", Role::LaOfficer);
    let slack = ACQUIRE_TIMEOUT + Duration::from_secs(1);

    let started = Instant::now();
    let read = officer.policy().get_policy(get_policy()).await.unwrap_err();
    assert!(
        started.elapsed() < slack,
        "GetPolicy took {:?}",
        started.elapsed()
    );
    assert_unavailable("GetPolicy", &read);

    let started = Instant::now();
    let write = app
        .policy()
        .create_policy_version(create(
            "authorities/850",
            write_id,
            local_version(2026, 9, 1),
        ))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < slack,
        "CreatePolicyVersion took {:?}",
        started.elapsed()
    );
    assert_unavailable("CreatePolicyVersion", &write);

    let started = Instant::now();
    let marks = vec![mark("116439", 1, d(2027, 1, 4), pb::Session::Am, "/", 60)];
    let stream = officer
        .attendance()
        .record_marks(tokio_stream::iter(vec![batch("outage-marks", marks)]))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < slack,
        "RecordMarks took {:?}",
        started.elapsed()
    );
    assert_unavailable("RecordMarks", &stream);
    assert!(
        stream.message().starts_with("batch outage-marks: "),
        "{stream:?}"
    );
}

/// A PostgreSQL cluster in a temporary directory, on a free port, trust auth,
/// run as the `postgres` OS user when the tests run as root (initdb refuses
/// root). Stopped when dropped.
pub(crate) struct PrivateCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// Run the server's tools as the `postgres` user (we are root).
    as_postgres: bool,
}

/// The directory holding `initdb` and `pg_ctl`: `LEA_TEST_PG_BIN`, else the
/// newest `/usr/lib/postgresql/<version>/bin` (Debian's layout, not on PATH).
fn postgres_bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LEA_TEST_PG_BIN") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join("initdb").is_file(),
            "LEA_TEST_PG_BIN={} holds no initdb",
            dir.display()
        );
        return dir;
    }
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max();
    match newest {
        Some((_, bin)) => bin,
        None => panic!(
            "the outage test runs a private PostgreSQL cluster and needs initdb and pg_ctl: \
             none found under /usr/lib/postgresql/*/bin (install the postgresql package, or \
             set LEA_TEST_PG_BIN to the directory holding them)"
        ),
    }
}

/// The uid and gid of the `postgres` OS user.
fn postgres_user() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&"postgres"))
                .then(|| (fields[2].parse().unwrap(), fields[3].parse().unwrap()))
        })
        .expect(
            "running as root, the outage test runs initdb as the `postgres` OS user \
             (initdb refuses root), and there is none: install the postgresql package",
        )
}

impl PrivateCluster {
    pub(crate) async fn start() -> Self {
        let bin = postgres_bin_dir();
        let dir = tempfile::tempdir().expect("temp dir");
        let as_postgres = std::fs::metadata("/proc/self").expect("/proc/self").uid() == 0;
        if as_postgres {
            let (uid, gid) = postgres_user();
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown temp dir");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Self {
            dir,
            bin,
            port,
            as_postgres,
        };
        let data = cluster.data();
        cluster
            .run(
                "initdb",
                &[
                    "-D",
                    data.to_str().unwrap(),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ],
            )
            .await;
        cluster.pg_ctl_start().await;
        cluster
    }

    /// A hot standby of `primary`, streaming from it: a base backup
    /// (`pg_basebackup -R`, which writes its `standby.signal` and
    /// `primary_conninfo`) in a directory of its own, started on another free
    /// port. initdb's pg_hba already trusts replication from 127.0.0.1, and
    /// `wal_level` is `replica` by default.
    pub(crate) async fn standby_of(primary: &PrivateCluster) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        if primary.as_postgres {
            let (uid, gid) = postgres_user();
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown temp dir");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let standby = Self {
            dir,
            bin: primary.bin.clone(),
            port,
            as_postgres: primary.as_postgres,
        };
        let (data, primary_port) = (standby.data(), primary.port.to_string());
        standby
            .run(
                "pg_basebackup",
                &[
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &primary_port,
                    "-U",
                    "postgres",
                    "-D",
                    data.to_str().unwrap(),
                    "-R",
                    "-X",
                    "stream",
                    // At once, not after a spread checkpoint (minutes).
                    "--checkpoint=fast",
                    "--no-sync",
                ],
            )
            .await;
        standby.pg_ctl_start().await;
        standby
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    pub(crate) fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn command(&self, tool: &str) -> tokio::process::Command {
        let path = self.bin.join(tool);
        let mut command = if self.as_postgres {
            let mut c = tokio::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            tokio::process::Command::new(path)
        };
        command.current_dir(self.dir.path()).kill_on_drop(true);
        command
    }

    async fn run(&self, tool: &str, args: &[&str]) {
        let out = self
            .command(tool)
            .args(args)
            .output()
            .await
            .unwrap_or_else(|e| panic!("running {tool} from {}: {e}", self.bin.display()));
        assert!(
            out.status.success(),
            "{tool} {args:?} failed ({}):\n{}{}\nserver log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.log()).unwrap_or_default()
        );
    }

    async fn pg_ctl_start(&self) {
        // Its own port and socket directory: nothing shared with the server on 5432.
        let server_options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let (data, log) = (self.data(), self.log());
        self.run(
            "pg_ctl",
            &[
                "start",
                "-w",
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &server_options,
            ],
        )
        .await;
    }

    /// `pg_ctl stop -m fast`: sessions are terminated, the server goes away.
    pub(crate) async fn pg_ctl_stop(&self) {
        let data = self.data();
        self.run(
            "pg_ctl",
            &["stop", "-w", "-m", "fast", "-D", data.to_str().unwrap()],
        )
        .await;
    }

    pub(crate) async fn create_database(&self, name: &str) {
        let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&self.url("postgres"))
            .await
            .expect("connect to the private cluster");
        sqlx::Executor::execute(
            &mut admin,
            sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")),
        )
        .await
        .expect("create database");
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        // The server is ours: stop it (by its data directory's pid file) even
        // when the test failed half-way.
        let data: &Path = &self.data();
        if data.join("postmaster.pid").exists() {
            let tool = self.bin.join("pg_ctl");
            let mut command = if self.as_postgres {
                let mut c = std::process::Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(tool);
                c
            } else {
                std::process::Command::new(tool)
            };
            let _ = command
                .args(["stop", "-w", "-m", "immediate", "-D"])
                .arg(data)
                .output();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_is_unavailable_and_not_serving_until_it_is_back() {
    let cluster = PrivateCluster::start().await;
    cluster.create_database("lea_outage").await;
    let url = cluster.url("lea_outage");
    let store = store::connect(&url, 4, ACQUIRE_TIMEOUT)
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let app = TestApp::spawn_on_store(Backend::Postgres, store, url, options()).await;

    app.policy()
        .create_policy_version(create(
            "authorities/850",
            "before",
            local_version(2026, 1, 5),
        ))
        .await
        .expect("served while the database is up");
    expect_health(&app.channel, ServingStatus::Serving, Duration::ZERO).await;

    // A call in flight when the server goes: it waits inside its unit of work
    // for a pupil's lock the test holds, and its session is terminated.
    let mut holder = <sqlx::PgConnection as sqlx::Connection>::connect(app.database_url())
        .await
        .unwrap();
    sqlx::query("SELECT pg_advisory_lock(hashtextextended($1, 0))")
        .bind(format!("notices/850/{}", upn(7)))
        .execute(&mut holder)
        .await
        .unwrap();
    let mut notices = app.as_role("850", Role::LaOfficer).notices();
    let issuing = tokio::spawn(async move {
        let request = Penalty::holiday(7, &["mum"], d(2026, 12, 7), d(2027, 1, 4));
        notices
            .issue_penalty_notice(request.request("in-flight"))
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !issuing.is_finished(),
        "the issue waits for the pupil's lock"
    );
    cluster.pg_ctl_stop().await;
    let cut = issuing.await.unwrap().expect_err("cut by the outage");
    assert_unavailable("IssuePenaltyNotice in flight", &cut);
    drop(holder);

    every_kind_of_call_is_unavailable(&app, "during").await;
    expect_health(
        &app.channel,
        ServingStatus::NotServing,
        Duration::from_secs(10),
    )
    .await;
    // Still down a while later: the answer does not depend on the pool's state.
    every_kind_of_call_is_unavailable(&app, "during").await;

    cluster.pg_ctl_start().await;
    expect_health(
        &app.channel,
        ServingStatus::Serving,
        Duration::from_secs(10),
    )
    .await;
    let officer = app.as_role("850", Role::LaOfficer);
    let policy = officer
        .policy()
        .get_policy(get_policy())
        .await
        .expect("served again once the database is back")
        .into_inner()
        .policy_version
        .unwrap();
    assert_eq!(
        policy.lower_amount_pence, 8_000,
        "what was written before the outage"
    );
    // The write refused during the outage, retried with its request id, happens once.
    for _ in 0..2 {
        app.policy()
            .create_policy_version(create(
                "authorities/850",
                "during",
                local_version(2026, 9, 1),
            ))
            .await
            .expect("the retried write");
    }
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
    assert_eq!(versions.len(), 2, "{versions:?}");
    // So does the notice whose unit of work the outage cut: it was rolled back.
    let in_flight = Penalty::holiday(7, &["mum"], d(2026, 12, 7), d(2027, 1, 4));
    for _ in 0..2 {
        officer
            .notices()
            .issue_penalty_notice(in_flight.request("in-flight"))
            .await
            .expect("the retried issue");
    }
    assert_eq!(
        crate::helpers::notices::all_notices(&app, "850")
            .await
            .len(),
        1
    );

    // A quick restart between two calls: the pool replaces its stale connections
    // rather than hand them to calls, and the health checks do the same.
    cluster.pg_ctl_stop().await;
    cluster.pg_ctl_start().await;
    officer
        .policy()
        .get_policy(get_policy())
        .await
        .expect("served right after a restart");
    // A check that fell within the restart (each waits at most 500 ms) may have
    // turned health NOT_SERVING; the next one after it turns it back.
    expect_health(&app.channel, ServingStatus::Serving, Duration::from_secs(5)).await;
}

/// A closed pool (as after shutdown) on either backend: UNAVAILABLE, and the
/// health service follows.
async fn a_closed_pool_is_unavailable_and_not_serving(backend: Backend) {
    let app = TestApp::spawn_with(backend, options()).await;
    expect_health(&app.channel, ServingStatus::Serving, Duration::ZERO).await;
    app.store.close().await;
    every_kind_of_call_is_unavailable(&app, "closed").await;
    expect_health(
        &app.channel,
        ServingStatus::NotServing,
        Duration::from_secs(5),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pool_is_unavailable_and_not_serving_sqlite() {
    a_closed_pool_is_unavailable_and_not_serving(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pool_is_unavailable_and_not_serving_postgres() {
    a_closed_pool_is_unavailable_and_not_serving(Backend::Postgres).await;
}

/// Every pool connection busy with a call is not an outage: the health check
/// opens a connection of its own rather than queue behind the calls.
async fn a_saturated_pool_stays_serving(backend: Backend) {
    let app = TestApp::spawn_with_pool(backend, options(), 1).await;
    let held = app.store.begin().await.expect("the pool's one connection");
    let started = Instant::now();
    app.store
        .ping(HEALTH_CHECK_TIMEOUT)
        .await
        .expect("a ping beside the busy pool, within the health check's bound");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // Several checks while it stays busy, and the server keeps serving.
    tokio::time::sleep(Duration::from_secs(1)).await;
    expect_health(&app.channel, ServingStatus::Serving, Duration::ZERO).await;
    held.rollback().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saturated_pool_stays_serving_sqlite() {
    a_saturated_pool_stays_serving(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saturated_pool_stays_serving_postgres() {
    a_saturated_pool_stays_serving(Backend::Postgres).await;
}

/// `serve` itself started while PostgreSQL is away (the cluster stopped): it
/// keeps running instead of exiting, `liveness` SERVING and the rest
/// NOT_SERVING, calls UNAVAILABLE; once the cluster is started it turns SERVING
/// by itself and serves calls. With `migrate_on_start`, on a database never
/// migrated: the migrations are applied once it answers, and it is NOT_SERVING
/// until they are.
async fn serve_starts_degraded_and_recovers_by_itself(migrate_on_start: bool) {
    let cluster = PrivateCluster::start().await;
    cluster.create_database("lea_degraded").await;
    let url = cluster.url("lea_degraded");
    if !migrate_on_start {
        // As the deployment step does, before the server starts.
        let owner = store::connect(&url, 1, ACQUIRE_TIMEOUT)
            .await
            .expect("connect");
        owner.migrate().await.expect("migrate");
        owner.close().await;
    }
    cluster.pg_ctl_stop().await;

    let migrate = if migrate_on_start { "true" } else { "false" };
    let mut server = ChildServer::spawn_on(
        &url,
        &[
            ("LEA_NOTICES_MIGRATE_ON_START", migrate),
            ("LEA_NOTICES_DB_ACQUIRE_TIMEOUT_SECS", "1"),
            ("RUST_LOG", "info"),
        ],
    )
    .await;
    let channel = server.channel().await;
    expect_health(&channel, ServingStatus::NotServing, Duration::ZERO).await;
    let officer = server.as_role("850", Role::LaOfficer).await;
    let refused = officer.policy().get_policy(get_policy()).await.unwrap_err();
    assert_unavailable("GetPolicy with the database away", &refused);
    // Several checks and an acquire timeout later: still up, still saying so.
    tokio::time::sleep(Duration::from_secs(1)).await;
    expect_health(&channel, ServingStatus::NotServing, Duration::ZERO).await;
    assert!(
        server.exited().is_none(),
        "serve exited with the database away:\n{}",
        server.log()
    );

    cluster.pg_ctl_start().await;
    let took = time_until(&channel, ServingStatus::Serving, Duration::from_secs(30)).await;
    eprintln!(
        "serve started degraded (migrate_on_start {migrate_on_start}): SERVING {took:?} \
         after the database started"
    );
    // About a quarter of a second (a check's interval); the margin is for a
    // loaded machine, and for applying every migration to an empty database.
    let bound = Duration::from_secs(if migrate_on_start { 10 } else { 3 });
    assert!(took < bound, "SERVING {took:?} after the database started");
    expect_health(&channel, ServingStatus::Serving, Duration::ZERO).await;
    let admin = server.as_role("850", Role::Admin).await;
    admin
        .policy()
        .create_policy_version(create(
            "authorities/850",
            "after-start",
            local_version(2026, 1, 5),
        ))
        .await
        .expect("served once the database answers");
    officer
        .policy()
        .get_policy(get_policy())
        .await
        .expect("served once the database answers");

    let log = server.log();
    assert!(
        log.contains("database not answering: health NOT_SERVING"),
        "{log}"
    );
    assert!(log.contains("database answering: health SERVING"), "{log}");
    if migrate_on_start {
        assert!(log.contains("migrations applied"), "{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_starts_with_postgres_down_and_recovers_by_itself() {
    serve_starts_degraded_and_recovers_by_itself(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_migrating_on_start_with_postgres_down_migrates_once_it_answers() {
    serve_starts_degraded_and_recovers_by_itself(true).await;
}

/// With the default health checks, and the default acquire timeout (5 s) that
/// the checks no longer wait for: NOT_SERVING within about a second of
/// PostgreSQL stopping, SERVING within about a second of its starting again,
/// twice over (the second time with the pool's connections broken by the
/// first).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_outage_is_not_serving_within_about_a_second() {
    let cluster = PrivateCluster::start().await;
    cluster.create_database("lea_quick").await;
    let url = cluster.url("lea_quick");
    let store = store::connect(&url, 4, Duration::from_secs(5))
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let app = TestApp::spawn_on_store(Backend::Postgres, store, url, ServeOptions::default()).await;
    // The pool holds a connection the outage will break.
    app.policy()
        .create_policy_version(create(
            "authorities/850",
            "before",
            local_version(2026, 1, 5),
        ))
        .await
        .expect("served while the database is up");
    expect_health(&app.channel, ServingStatus::Serving, Duration::ZERO).await;

    // A check every 250 ms, each bounded to 500 ms: about 0.75 s at worst on an
    // idle machine; the bound leaves room for a loaded one.
    let bound = Duration::from_millis(2_500);
    for round in 1..=2 {
        cluster.pg_ctl_stop().await;
        let down = time_until(
            &app.channel,
            ServingStatus::NotServing,
            Duration::from_secs(10),
        )
        .await;
        expect_health(&app.channel, ServingStatus::NotServing, Duration::ZERO).await;
        cluster.pg_ctl_start().await;
        let up = time_until(
            &app.channel,
            ServingStatus::Serving,
            Duration::from_secs(10),
        )
        .await;
        expect_health(&app.channel, ServingStatus::Serving, Duration::ZERO).await;
        eprintln!(
            "outage {round}: NOT_SERVING {down:?} after PostgreSQL stopped, \
             SERVING {up:?} after it started"
        );
        assert!(
            down < bound,
            "NOT_SERVING only {down:?} after the database stopped"
        );
        assert!(up < bound, "SERVING only {up:?} after the database started");
    }
    app.policy()
        .get_policy(get_policy())
        .await
        .expect("served again");
}
