//! Spawning the server on either backend, and what tests share: the builders
//! of each service's requests live in this folder, one file a service, and
//! test files import only from here.

pub mod attendance;
pub mod events;
pub mod notices;
pub mod otlp;
pub mod payments;
pub mod policy;
pub mod worklist;

use std::sync::Arc;

use lea_notices::api::layers::auth::{self, DevKey};
use lea_notices::app::checkpoints::{CheckpointKey, Checkpoints};
use lea_notices::app::clock::FixedClock;
use lea_notices::domain::{actor::Role, identifiers::LaCode};
use lea_notices::proto::{
    Date,
    v1::{
        attendance_service_client::AttendanceServiceClient,
        audit_service_client::AuditServiceClient,
        data_protection_service_client::DataProtectionServiceClient,
        event_service_client::EventServiceClient, measure_service_client::MeasureServiceClient,
        notice_service_client::NoticeServiceClient, payment_service_client::PaymentServiceClient,
        policy_service_client::PolicyServiceClient, report_service_client::ReportServiceClient,
        school_service_client::SchoolServiceClient, worklist_service_client::WorklistServiceClient,
    },
};
use lea_notices::store::{self, Backend, Store};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

fn acquire_timeout() -> std::time::Duration {
    std::time::Duration::from_secs(
        lea_notices::server::config::Config::default().db_acquire_timeout_secs,
    )
}

/// The server PostgreSQL tests create their databases on. Override with
/// `LEA_TEST_POSTGRES_URL`; tests fail (never skip) when it cannot be reached.
fn postgres_admin_url() -> String {
    std::env::var("LEA_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Where a test's database lives, removed when the test ends.
enum TestDatabase {
    /// Held so the directory lives as long as the test.
    Sqlite { _dir: tempfile::TempDir },
    Postgres {
        name: String,
        /// The LOGIN role the server connects as (a member of the service group).
        service_role: String,
    },
}

pub const ISSUER: &str = "lea-notices-test";

/// Where every test server's clock starts: a Monday in term time, so no test
/// depends on the day the suite runs.
pub const DEFAULT_TODAY: chrono::NaiveDate = match chrono::NaiveDate::from_ymd_opt(2027, 1, 4) {
    Some(d) => d,
    None => panic!("a calendar date"),
};
pub const AUDIENCE: &str = "lea-notices";

/// Adds a bearer token to every call.
#[derive(Clone)]
pub struct Bearer(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

impl Bearer {
    pub fn new(token: &str) -> Self {
        Bearer(format!("Bearer {token}").parse().expect("ascii token"))
    }
}

pub type Authed = InterceptedService<Channel, Bearer>;

/// Clients that call as one identity.
pub struct As {
    channel: Channel,
    bearer: Bearer,
}

impl As {
    /// Clients on `channel` with `token`.
    pub fn new(channel: Channel, token: &str) -> Self {
        As {
            channel,
            bearer: Bearer::new(token),
        }
    }

    pub fn policy(&self) -> PolicyServiceClient<Authed> {
        PolicyServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }
    pub fn notices(&self) -> NoticeServiceClient<Authed> {
        NoticeServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }
    pub fn payments(&self) -> PaymentServiceClient<Authed> {
        PaymentServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }
    pub fn attendance(&self) -> AttendanceServiceClient<Authed> {
        AttendanceServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }
    pub fn audit(&self) -> AuditServiceClient<Authed> {
        AuditServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }
    pub fn reports(&self) -> ReportServiceClient<Authed> {
        ReportServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }
    pub fn schools(&self) -> SchoolServiceClient<Authed> {
        SchoolServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }
    pub fn worklist(&self) -> WorklistServiceClient<Authed> {
        WorklistServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }

    pub fn data_protection(&self) -> DataProtectionServiceClient<Authed> {
        DataProtectionServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }

    pub fn events(&self) -> EventServiceClient<Authed> {
        EventServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }

    pub fn measures(&self) -> MeasureServiceClient<Authed> {
        MeasureServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }
}

/// The LA code in a resource name or parent (`authorities/{la}/...`).
pub fn la_of(name: &str) -> &str {
    name.strip_prefix("authorities/")
        .and_then(|r| r.split('/').next())
        .expect("an authority's resource")
}

/// A server on a random port with its own empty, migrated database.
pub struct TestApp {
    pub backend: Backend,
    /// Signs this server's test tokens.
    pub key: DevKey,
    /// Signs this server's audit checkpoints.
    pub checkpoint_key_file: std::path::PathBuf,
    /// Where this server writes its audit checkpoints.
    pub checkpoint_dir: std::path::PathBuf,
    _key_dir: tempfile::TempDir,
    pub store: Arc<dyn Store>,
    /// The server's clock: tests pin and move "today" with it.
    pub clock: FixedClock,
    /// The application the server runs (its use cases, on its clock).
    pub service: lea_notices::app::App,
    /// Counts the rounds of the server's scheduler of the statutory dates.
    rounds: tokio::sync::watch::Receiver<u64>,
    pub channel: Channel,
    /// The server's address (for clients other than `channel`).
    pub addr: std::net::SocketAddr,
    /// As the owner of the tables (the migrating role; on PostgreSQL a superuser).
    database_url: String,
    /// As the server connects: on PostgreSQL a member of the service's role.
    service_url: String,
    database: Option<TestDatabase>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, lea_notices::server::ServeOptions::default()).await
    }

    /// A server whose clock shows noon on `day` until a test moves it.
    pub async fn spawn_on(backend: Backend, day: chrono::NaiveDate) -> TestApp {
        let app = Self::spawn(backend).await;
        app.clock.set_day(day);
        app
    }

    /// The database URL of this test's database, as the owner of its tables.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// The database URL the server uses: on PostgreSQL as a LOGIN role of this
    /// test's that is a member of `lea_notices_service` and nothing else, so
    /// every PostgreSQL test runs the service with its production privileges.
    pub fn service_url(&self) -> &str {
        &self.service_url
    }

    pub async fn spawn_with(
        backend: Backend,
        options: lea_notices::server::ServeOptions,
    ) -> TestApp {
        Self::spawn_with_pool(backend, options, 8).await
    }

    /// A server whose database pool holds at most `pool_size` connections.
    pub async fn spawn_with_pool(
        backend: Backend,
        options: lea_notices::server::ServeOptions,
        pool_size: u32,
    ) -> TestApp {
        let (database_url, service_url, database) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = store::sqlite_url_in(dir.path()).expect("data dir");
                (url.clone(), url, TestDatabase::Sqlite { _dir: dir })
            }
            Backend::Postgres => {
                let id = uuid::Uuid::new_v4().simple();
                let (name, service_role) = (format!("lea_test_{id}"), format!("lea_svc_{id}"));
                let admin = postgres_admin_url();
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is required: {e}"));
                sqlx::Executor::execute(
                    &mut conn,
                    sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")),
                )
                .await
                .expect("create test database");
                let owner_url = with_database(&admin, &name);
                // The role exists once the owner has migrated (0008 creates it).
                let owner = store::connect(&owner_url, 1, acquire_timeout())
                    .await
                    .expect("connect");
                owner.migrate().await.expect("migrate");
                owner.close().await;
                sqlx::Executor::execute(
                    &mut conn,
                    sqlx::AssertSqlSafe(format!(
                        "CREATE ROLE {service_role} LOGIN PASSWORD '{id}' IN ROLE lea_notices_service"
                    )),
                )
                .await
                .expect("create the test's service login");
                let service_url = as_role(&owner_url, &service_role, &id.to_string());
                (
                    owner_url,
                    service_url,
                    TestDatabase::Postgres { name, service_role },
                )
            }
        };
        let store = store::connect(&service_url, pool_size, acquire_timeout())
            .await
            .expect("connect");
        if backend == Backend::Sqlite {
            store.migrate().await.expect("migrate");
        }
        let urls = (database_url, service_url);
        let clock = FixedClock::on(DEFAULT_TODAY);
        Self::serve(backend, store, urls, Some(database), options, clock, None).await
    }

    /// Another server on this one's database, as a second replica would be:
    /// its own pool, the same clock. Dropping it stops it and leaves the
    /// database to this one.
    pub async fn replica(&self, options: lea_notices::server::ServeOptions) -> TestApp {
        let store = store::connect(&self.service_url, 8, acquire_timeout())
            .await
            .expect("connect");
        let urls = (self.database_url.clone(), self.service_url.clone());
        Self::serve(
            self.backend,
            store,
            urls,
            None,
            options,
            self.clock.clone(),
            None,
        )
        .await
    }

    /// Another server on this one's database that checks tokens with
    /// `verifier` (the identity provider's keys, another claim mapping).
    pub async fn replica_verifying_with(
        &self,
        verifier: Arc<lea_notices::api::layers::auth::Verifier>,
    ) -> TestApp {
        let store = store::connect(&self.service_url, 8, acquire_timeout())
            .await
            .expect("connect");
        let urls = (self.database_url.clone(), self.service_url.clone());
        Self::serve(
            self.backend,
            store,
            urls,
            None,
            lea_notices::server::ServeOptions::default(),
            self.clock.clone(),
            Some(verifier),
        )
        .await
    }

    /// Waits until the server's scheduler has completed a round that began
    /// after this call (so saw the clock as it is now), and fails the test
    /// after a minute without one.
    pub async fn scheduler_round(&self) {
        let mut rounds = self.rounds.clone();
        // A round in flight may have read the clock before the call: wait for
        // the one after it.
        let target = *rounds.borrow_and_update() + 2;
        tokio::time::timeout(
            std::time::Duration::from_secs(60),
            rounds.wait_for(|&n| n >= target),
        )
        .await
        .expect("a scheduler round within a minute (is the scheduler on?)")
        .expect("the server is running");
    }

    /// A server on `store`, a database the test manages itself (at
    /// `database_url`, already migrated), for tests that take it away.
    pub async fn spawn_on_store(
        backend: Backend,
        store: Arc<dyn Store>,
        database_url: String,
        options: lea_notices::server::ServeOptions,
    ) -> TestApp {
        let urls = (database_url.clone(), database_url);
        Self::serve(
            backend,
            store,
            urls,
            None,
            options,
            FixedClock::on(DEFAULT_TODAY),
            None,
        )
        .await
    }

    /// `urls`: the database as its owner and as the service's role.
    async fn serve(
        backend: Backend,
        store: Arc<dyn Store>,
        (database_url, service_url): (String, String),
        database: Option<TestDatabase>,
        options: lea_notices::server::ServeOptions,
        clock: FixedClock,
        verifier: Option<Arc<lea_notices::api::layers::auth::Verifier>>,
    ) -> TestApp {
        let key_dir = tempfile::tempdir().expect("temp dir");
        let key = DevKey::load_or_create(key_dir.path()).expect("test key");
        let verifier = verifier.unwrap_or_else(|| Arc::new(key.verifier(ISSUER, AUDIENCE)));
        let checkpoint_key_file = key_dir.path().join("audit-checkpoint-key.pem");
        let checkpoint_dir = key_dir.path().join("audit-checkpoints");
        let checkpoints = Checkpoints::new(
            CheckpointKey::load_or_create(&checkpoint_key_file).expect("checkpoint key"),
            Some(checkpoint_dir.clone()),
        );

        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let application = lea_notices::server::Application::new(store.clone(), verifier)
            .with_clock(Arc::new(clock.clone()))
            .with_checkpoints(Arc::new(checkpoints))
            .with_options(options);
        // As `serve` does; in this process the first test's key stays (see
        // `install_token_key`), which is all a test's tokens need.
        lea_notices::api::pagination::install_token_key_from(application.app())
            .await
            .expect("the page-token key");
        let service = application.app().clone();
        let rounds = application.scheduler_rounds();
        let server = tokio::spawn(async move {
            application
                .serve(listener, async {
                    let _ = rx.await;
                })
                .await
                .expect("server");
        });
        let channel = Channel::from_shared(format!("http://{addr}"))
            .expect("uri")
            .connect()
            .await
            .expect("connect to server");
        TestApp {
            backend,
            key,
            checkpoint_key_file,
            checkpoint_dir,
            _key_dir: key_dir,
            store,
            clock,
            service,
            rounds,
            channel,
            addr,
            database_url,
            service_url,
            database,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    /// The audit log as stored, read in its own unit of work.
    pub async fn audit_events(
        &self,
        la: &LaCode,
        resource: Option<&str>,
        after_event_id: i64,
        limit: i64,
    ) -> lea_notices::store::StoreResult<Vec<lea_notices::store::AuditEvent>> {
        let mut tx = self.store.begin_read().await?;
        let filter = lea_notices::store::AuditFilter {
            resource,
            ..Default::default()
        };
        let events = tx.audit_events(la, &filter, after_event_id, limit).await?;
        tx.commit().await?;
        Ok(events)
    }

    /// A token for `role` in authority `la` (school staff: of school 116439).
    pub fn token(&self, la: &str, role: Role) -> String {
        let schools = if role == Role::SchoolStaff {
            vec!["116439".to_string()]
        } else {
            vec![]
        };
        let claims = auth::claims(
            &format!("{}@{la}", role.as_str()),
            &LaCode::parse(la).unwrap(),
            role,
            &schools,
            (ISSUER, AUDIENCE),
            chrono::Duration::minutes(10),
            chrono::Utc::now(),
        );
        self.key.sign(&claims)
    }

    /// Clients calling as `role` of authority `la`.
    pub fn as_role(&self, la: &str, role: Role) -> As {
        As {
            channel: self.channel.clone(),
            bearer: Bearer::new(&self.token(la, role)),
        }
    }

    /// Clients with a token signed elsewhere (tests of refused tokens).
    pub fn with_token(&self, token: &str) -> As {
        As {
            channel: self.channel.clone(),
            bearer: Bearer::new(token),
        }
    }

    /// Hampshire's policy administrator.
    pub fn policy(&self) -> PolicyServiceClient<Authed> {
        self.as_role("850", Role::Admin).policy()
    }

    /// A Hampshire LA officer.
    pub fn notices(&self) -> NoticeServiceClient<Authed> {
        self.as_role("850", Role::LaOfficer).notices()
    }

    /// Hampshire's finance team.
    pub fn payments(&self) -> PaymentServiceClient<Authed> {
        self.as_role("850", Role::Finance).payments()
    }

    /// Runs raw SQL on the test database, bypassing the service (to prove what
    /// the schema itself refuses).
    pub async fn execute_raw(&self, sql: &str) -> Result<u64, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match self.backend {
            Backend::Postgres => {
                let mut c =
                    <sqlx::PgConnection as sqlx::Connection>::connect(&self.database_url).await?;
                Ok(sqlx::Executor::execute(&mut c, sql).await?.rows_affected())
            }
            Backend::Sqlite => {
                let mut c =
                    <sqlx::SqliteConnection as sqlx::Connection>::connect(&self.database_url)
                        .await?;
                Ok(sqlx::Executor::execute(&mut c, sql).await?.rows_affected())
            }
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
        if let Some(TestDatabase::Postgres { name, service_role }) = self.database.take() {
            // Drop runs inside the test's runtime, which cannot block on itself.
            let admin = postgres_admin_url();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut c) =
                        <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await
                    {
                        let _ = sqlx::Executor::execute(
                            &mut c,
                            sqlx::AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            )),
                        )
                        .await;
                        // After the database: its sessions are gone with it.
                        let _ = sqlx::Executor::execute(
                            &mut c,
                            sqlx::AssertSqlSafe(format!("DROP ROLE IF EXISTS {service_role}")),
                        )
                        .await;
                    }
                });
            })
            .join()
            .ok();
        }
    }
}

/// `url` naming database `name` instead, its parameters (`?sslmode=verify-full&sslrootcert=/path`)
/// kept.
pub fn with_database(url: &str, name: &str) -> String {
    let (address, parameters) = url
        .split_once('?')
        .map_or((url, None), |(a, p)| (a, Some(p)));
    let (base, _) = address.rsplit_once('/').expect("URL with a database");
    match parameters {
        Some(p) => format!("{base}/{name}?{p}"),
        None => format!("{base}/{name}"),
    }
}

/// `url` with its user and password replaced.
pub fn as_role(url: &str, role: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{role}:{password}@{host}")
}

/// Declares each test once per backend: `name::sqlite` and `name::postgres`.
macro_rules! on_both_backends {
    ($(async fn $name:ident($app:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($app: $crate::helpers::TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run($crate::helpers::TestApp::spawn(lea_notices::store::Backend::Sqlite).await).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    run($crate::helpers::TestApp::spawn(lea_notices::store::Backend::Postgres).await).await
                }
            }
        )*
    };
}
pub(crate) use on_both_backends;

pub fn date(year: i32, month: i32, day: i32) -> Option<Date> {
    Some(Date { year, month, day })
}

/// The fields named by an INVALID_ARGUMENT's BadRequest, in order.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .expect("BadRequest details")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect()
}

/// The rules named by a FAILED_PRECONDITION's PreconditionFailure, in order.
pub fn broken_rules(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
    status
        .get_details_precondition_failure()
        .expect("PreconditionFailure details")
        .violations
        .into_iter()
        .map(|v| v.r#type)
        .collect()
}
