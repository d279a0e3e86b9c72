//! The gRPC server: the lea.notices.v1 services, health and reflection, and
//! the scheduler of the statutory dates.

pub mod config;
pub mod metrics;
pub mod migrating;
pub mod telemetry;

use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context;
use tokio::net::TcpListener;
use tonic::server::NamedService;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::server::HealthReporter;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::api::data_protection::DataProtectionApi;
use crate::api::events::EventApi;
use crate::api::{
    attendance::AttendanceApi,
    audit::AuditApi,
    layers::auth::{Authenticated, Verifier},
    measures::MeasureApi,
    notice::NoticeApi,
    payment::PaymentApi,
    policy::PolicyApi,
    report::ReportApi,
    school::SchoolApi,
    worklist::WorklistApi,
};
use crate::app::App;
use crate::app::checkpoints::Checkpoints;
use crate::app::clock::{Clock, SystemClock};
use crate::proto::v1::data_protection_service_server::DataProtectionServiceServer;
use crate::proto::v1::event_service_server::EventServiceServer;
use crate::proto::{
    FILE_DESCRIPTOR_SET,
    v1::{
        attendance_service_server::AttendanceServiceServer,
        audit_service_server::AuditServiceServer, measure_service_server::MeasureServiceServer,
        notice_service_server::NoticeServiceServer, payment_service_server::PaymentServiceServer,
        policy_service_server::PolicyServiceServer, report_service_server::ReportServiceServer,
        school_service_server::SchoolServiceServer, worklist_service_server::WorklistServiceServer,
    },
};
use crate::server::config::Config;
use crate::store::Store;

/// The transport security the configuration asks for: TLS when a certificate and
/// key are set (requiring client certificates when a client CA is set), plaintext
/// only when allowed, which by default is only on a loopback address.
pub fn tls_config(config: &Config) -> anyhow::Result<Option<ServerTlsConfig>> {
    let read = |path: &std::path::Path| {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))
    };
    match (&config.tls_cert_file, &config.tls_key_file) {
        (Some(cert), Some(key)) => {
            let mut tls =
                ServerTlsConfig::new().identity(Identity::from_pem(read(cert)?, read(key)?));
            if let Some(ca) = &config.tls_client_ca_file {
                tls = tls.client_ca_root(Certificate::from_pem(read(ca)?));
            }
            Ok(Some(tls))
        }
        (None, None) if config.tls_client_ca_file.is_some() => {
            anyhow::bail!("tls_client_ca_file needs tls_cert_file and tls_key_file")
        }
        (None, None) => {
            let loopback = config.listen_addr.ip().is_loopback();
            if config.allow_plaintext.unwrap_or(loopback) {
                if !loopback {
                    tracing::warn!(
                        "serving plaintext gRPC on {} (allow_plaintext)",
                        config.listen_addr
                    );
                }
                Ok(None)
            } else {
                anyhow::bail!(
                    "{} is not a loopback address: set tls_cert_file and tls_key_file, \
                     or allow_plaintext = true where something else terminates TLS",
                    config.listen_addr
                )
            }
        }
        _ => anyhow::bail!("set both tls_cert_file and tls_key_file, or neither"),
    }
}

/// How the server protects itself: set explicitly, never left to library defaults.
#[derive(Clone)]
pub struct ServeOptions {
    pub tls: Option<ServerTlsConfig>,
    /// A call not answered within it (or its caller's deadline, if sooner)
    /// answers DEADLINE_EXCEEDED (`api::calls`).
    pub request_timeout: Duration,
    /// Calls in progress on the whole server (every connection together), each
    /// until its units of work have ended; beyond it, RESOURCE_EXHAUSTED at
    /// once. Health checks are not counted.
    pub max_concurrent_requests: usize,
    pub max_message_bytes: usize,
    /// How often the health service checks the database.
    pub health_check_interval: Duration,
    /// How long a check waits for the database to answer before it counts as
    /// failed (and the database-backed health services turn NOT_SERVING),
    /// whatever the pool's acquire timeout.
    pub health_check_timeout: Duration,
    /// Browser origins allowed to call over grpc-web (CORS). Empty: none, and
    /// grpc-web still answers non-browser clients and same-origin pages.
    pub grpc_web_origins: Vec<http::HeaderValue>,
    /// Between two rounds of the scheduler of the statutory dates
    /// ([`App::emit_due_events`]); `None`: this server runs none.
    pub statutory_events_interval: Option<Duration>,
    /// Between two runs of the purge of what is past retention
    /// ([`App::purge`]); `None`: this server runs none.
    pub purge_interval: Option<Duration>,
    /// The level of each call's log line.
    pub call_log: crate::server::config::CallLog,
}

/// HTTP/2 flow control: how much of a call's request the server buffers
/// before the service reads it. A client stream waiting for its batch to be
/// written holds at most this much, however small its messages.
///
/// h2 closes a whole connection (GOAWAY `too_many_data_frames`, every call on
/// it cut) when the DATA frames it buffers unread cost more than half the
/// connection's window in framing: each frame under 256 bytes costs 256 less
/// its size. A one-mark `RecordMarks` message is one frame of about 85 bytes
/// from most clients (grpcio sends each message alone), 2 bytes of overhead
/// per byte buffered. With hyper's defaults (1 MiB a stream, 1 MiB a
/// connection) one stream of one-mark batches waiting for the database fills
/// the allowance after about 3,000 of them. Here a stream holds 256 KiB
/// (about 3,000 such frames, 0.5 MiB of overhead) against an allowance of
/// 8 MiB: 16 streams of one-mark batches waiting at once on one connection,
/// 10 of the smallest messages the service takes.
pub const STREAM_WINDOW: u32 = 256 * 1024;

/// See [`STREAM_WINDOW`]: h2's allowance for small frames is half of this.
/// The connection's unread data is bounded by its streams' windows too (the
/// server takes at most `max_concurrent_requests` calls at once).
pub const CONNECTION_WINDOW: u32 = 16 * 1024 * 1024;

/// Between two checks of the database by the health service: with
/// [`HEALTH_CHECK_TIMEOUT`], an outage turns health NOT_SERVING within about
/// 0.75 s, and a database back turns it SERVING within about 0.25 s. A check is
/// one `SELECT 1` on an idle pooled connection.
pub const HEALTH_CHECK_INTERVAL: Duration = Duration::from_millis(250);

/// How long a health check waits for the database. A connection refused fails
/// at once; this bounds a database that does not answer at all (a network
/// partition, a server hung) and must stay well above a loaded database's
/// `SELECT 1`, or a busy database would be taken for a dead one.
pub const HEALTH_CHECK_TIMEOUT: Duration = Duration::from_millis(500);

/// Between two rounds of the scheduler of the statutory dates: an event is
/// recorded within a minute of its day starting (or of the service starting).
pub const STATUTORY_EVENTS_INTERVAL: Duration = Duration::from_secs(60);

/// Between two runs of the purge: daily.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// Records per batch (and transaction) of the server's purge.
pub const PURGE_BATCH_SIZE: i64 = 1000;

/// The health service name that is SERVING while the process serves at all, for
/// liveness probes: a database outage must not get the pod restarted.
pub const LIVENESS_SERVICE: &str = "liveness";

impl ServeOptions {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        Ok(Self {
            tls: tls_config(config)?,
            request_timeout: Duration::from_secs(config.request_timeout_secs),
            max_concurrent_requests: config.max_concurrent_requests,
            max_message_bytes: config.max_message_bytes,
            health_check_interval: positive_millis(
                "health_check_interval_ms",
                config.health_check_interval_ms,
            )?,
            health_check_timeout: positive_millis(
                "health_check_timeout_ms",
                config.health_check_timeout_ms,
            )?,
            grpc_web_origins: grpc_web_origins(&config.grpc_web_origins)?,
            statutory_events_interval: (config.statutory_events_interval_ms > 0)
                .then(|| Duration::from_millis(config.statutory_events_interval_ms)),
            purge_interval: (config.purge_interval_ms > 0)
                .then(|| Duration::from_millis(config.purge_interval_ms)),
            call_log: config.call_log,
        })
    }
}

/// A setting in milliseconds that must not be zero.
fn positive_millis(name: &str, ms: u64) -> anyhow::Result<Duration> {
    anyhow::ensure!(ms > 0, "{name} must be at least 1");
    Ok(Duration::from_millis(ms))
}

/// Each allowed origin as a browser sends it: `scheme://host[:port]`, nothing more
/// (no path, no wildcard: every origin is named).
pub fn grpc_web_origins(origins: &[String]) -> anyhow::Result<Vec<http::HeaderValue>> {
    origins
        .iter()
        .map(|origin| {
            let uri: http::Uri = origin
                .parse()
                .with_context(|| format!("grpc_web_origins: {origin:?} is not an origin"))?;
            let bare = match (uri.scheme_str(), uri.authority()) {
                (Some(scheme @ ("http" | "https")), Some(authority)) => {
                    *origin == format!("{scheme}://{authority}")
                }
                _ => false,
            };
            anyhow::ensure!(
                bare,
                "grpc_web_origins: {origin:?} is not an origin (scheme://host[:port])"
            );
            Ok(http::HeaderValue::from_str(origin)?)
        })
        .collect()
}

/// CORS for the allowed grpc-web origins: preflights answered, the headers a
/// grpc-web client sends allowed, and the gRPC status headers exposed to it.
fn grpc_web_cors(origins: &[http::HeaderValue]) -> Option<CorsLayer> {
    use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName};
    if origins.is_empty() {
        return None;
    }
    let name = HeaderName::from_static;
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins.iter().cloned()))
            .allow_methods([http::Method::POST])
            .allow_headers([
                AUTHORIZATION,
                CONTENT_TYPE,
                name("x-grpc-web"),
                name("x-user-agent"),
                name("grpc-timeout"),
                name("connect-protocol-version"),
                name("traceparent"),
            ])
            .expose_headers([
                name("grpc-status"),
                name("grpc-message"),
                name("grpc-status-details-bin"),
            ])
            .max_age(Duration::from_secs(600)),
    )
}

impl Default for ServeOptions {
    /// Plaintext with the configuration defaults (for tests and embedding),
    /// but no scheduler rounds: an embedding (a test) that wants them sets
    /// `statutory_events_interval`, or calls [`App::emit_due_events`] itself.
    fn default() -> Self {
        let c = Config::default();
        Self {
            tls: None,
            request_timeout: Duration::from_secs(c.request_timeout_secs),
            max_concurrent_requests: c.max_concurrent_requests,
            max_message_bytes: c.max_message_bytes,
            health_check_interval: Duration::from_millis(c.health_check_interval_ms),
            health_check_timeout: Duration::from_millis(c.health_check_timeout_ms),
            grpc_web_origins: Vec::new(),
            statutory_events_interval: None,
            purge_interval: None,
            call_log: c.call_log,
        }
    }
}

/// A service with the message limits set and the bearer-token check in front.
macro_rules! guarded {
    ($server:ident, $api:expr, $options:expr, $auth:expr) => {
        Authenticated::new(
            $server::new($api)
                .max_decoding_message_size($options.max_message_bytes)
                .max_encoding_message_size($options.max_message_bytes),
            $auth,
        )
    };
}

/// The whole service as one value: the application (store and clock), the token
/// verifier and the serving options. `main` and the test harness build it the
/// same way and differ only in what they pass.
pub struct Application {
    app: App,
    verifier: Arc<Verifier>,
    options: ServeOptions,
    /// Counts the scheduler's completed rounds (see [`Self::scheduler_rounds`]).
    rounds: tokio::sync::watch::Sender<u64>,
}

impl Application {
    /// The service on `store`, with the system clock and the default options.
    pub fn new(store: Arc<dyn Store>, verifier: Arc<Verifier>) -> Self {
        Self {
            app: App::new(store, Arc::new(SystemClock)),
            verifier,
            options: ServeOptions::default(),
            rounds: tokio::sync::watch::channel(0).0,
        }
    }

    /// How many rounds of the scheduler of the statutory dates this server
    /// has completed: a round that completes after the clock moved to a day
    /// has recorded every event due by it.
    pub fn scheduler_rounds(&self) -> tokio::sync::watch::Receiver<u64> {
        self.rounds.subscribe()
    }

    /// Another clock (a test pins the date with a `FixedClock`).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.app = self.app.with_clock(clock);
        self
    }

    /// Audit checkpoints signed and published with `checkpoints`.
    pub fn with_checkpoints(mut self, checkpoints: Arc<Checkpoints>) -> Self {
        self.app = self.app.with_checkpoints(checkpoints);
        self
    }

    pub fn with_options(mut self, options: ServeOptions) -> Self {
        self.options = options;
        self
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    /// Serves on `listener` until `shutdown` completes, then stops accepting and
    /// lets in-flight calls finish. Every lea.notices.v1 call needs a bearer token
    /// the verifier accepts; health and reflection need none.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> anyhow::Result<()> {
        let Self {
            app,
            verifier,
            options,
            rounds,
        } = self;
        let auth = verifier;
        let policy = guarded!(
            PolicyServiceServer,
            PolicyApi::new(app.clone()),
            options,
            auth.clone()
        );
        let attendance = guarded!(
            AttendanceServiceServer,
            AttendanceApi::new(app.clone(), options.request_timeout),
            options,
            auth.clone()
        );
        let notices = guarded!(
            NoticeServiceServer,
            NoticeApi::new(app.clone()),
            options,
            auth.clone()
        );
        let payments = guarded!(
            PaymentServiceServer,
            PaymentApi::new(app.clone()),
            options,
            auth.clone()
        );
        let audit = guarded!(
            AuditServiceServer,
            AuditApi::new(app.clone()),
            options,
            auth.clone()
        );
        let reports = guarded!(
            ReportServiceServer,
            ReportApi::new(app.clone()),
            options,
            auth.clone()
        );
        let schools = guarded!(
            SchoolServiceServer,
            SchoolApi::new(app.clone()),
            options,
            auth.clone()
        );
        let worklist = guarded!(
            WorklistServiceServer,
            WorklistApi::new(app.clone()),
            options,
            auth.clone()
        );
        let measures = guarded!(
            MeasureServiceServer,
            MeasureApi::new(app.clone()),
            options,
            auth.clone()
        );
        let data_protection = guarded!(
            DataProtectionServiceServer,
            DataProtectionApi::new(app.clone()),
            options,
            auth.clone()
        );
        // Event streams end when the server begins to shut down, so they do
        // not hold the grace period open.
        let (stopping, stop_streams) = tokio::sync::watch::channel(false);
        let shutdown = async move {
            shutdown.await;
            let _ = stopping.send(true);
        };
        let events = guarded!(
            EventServiceServer,
            EventApi::new(app.clone(), stop_streams),
            options,
            auth
        );
        let (health_reporter, health) = health_service().await;
        // One check before the first call is answered: a database that answers
        // is SERVING from the start, one that does not NOT_SERVING.
        let mut database = DatabaseWatch::new(
            app.store().clone(),
            health_reporter,
            options.health_check_timeout,
        );
        database.check().await;
        // Both reflection versions: grpcurl before 1.8.8, older Postman, Kreya,
        // BloomRPC and grpcui ask v1alpha only.
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                // The error details every error carries (google.rpc.BadRequest,
                // ErrorInfo, PreconditionFailure; google.rpc.Status), so
                // grpcurl and grpcui print them rather than "not recognized";
                // the set holds google/protobuf/{any,duration}.proto they import.
                .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        };
        let reflection_v1 = reflection().build_v1()?;
        let reflection_v1alpha = reflection().build_v1alpha()?;

        tracing::info!(addr = %listener.local_addr()?, tls = options.tls.is_some(), "serving lea.notices.v1");
        // grpc-web (HTTP/1.1 or 2) on the same port: CORS outermost so it answers
        // preflights, then the translation to gRPC for everything inside.
        let mut builder = Server::builder()
            .accept_http1(true)
            .initial_stream_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .layer(tower::util::option_layer(grpc_web_cors(
                &options.grpc_web_origins,
            )))
            .layer(tonic_web::GrpcWebLayer::new())
            .layer(crate::server::telemetry::RpcLayer {
                call_log: options.call_log,
            })
            .layer(catch_panics())
            // Inside RpcLayer, so the RPC metrics count the code callers get.
            .layer(crate::api::layers::oversize::LAYER)
            .layer(crate::api::layers::undecodable::LAYER)
            // The deadline (answered DEADLINE_EXCEEDED, and counted so: tonic's
            // own `timeout` would wrap outside every layer and drop them), and
            // the call the units of work check before they begin.
            .layer(crate::api::layers::calls::CallLayer::new(
                options.request_timeout,
            ))
            // A shed call costs nothing beyond its headers, and is still counted
            // and answered in grpc-web's framing by the layers outside. The
            // permit goes to the call, and is held until its work is done.
            .layer(crate::api::layers::shedding::ShedLayer::new(
                options.max_concurrent_requests,
            ))
            // Innermost: each request message is walked against its limits as
            // it arrives, before tonic decodes it, and refused undecoded.
            .layer(crate::api::layers::prewalk::PrewalkLayer::new(
                options.max_message_bytes,
            ));
        if let Some(tls) = options.tls {
            builder = builder.tls_config(tls)?;
        }
        let serving = builder
            .add_service(health)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(policy)
            .add_service(attendance)
            .add_service(notices)
            .add_service(payments)
            .add_service(audit)
            .add_service(reports)
            .add_service(schools)
            .add_service(worklist)
            .add_service(measures)
            .add_service(data_protection)
            .add_service(events)
            .serve_with_incoming_shutdown(incoming(listener), shutdown);
        // The checks and the scheduler run as long as the server does, and
        // stop with it (a round's unit of work in flight still ends cleanly).
        let watching = database.watch(options.health_check_interval);
        let scheduling = async {
            match options.statutory_events_interval {
                Some(interval) => schedule_statutory_events(app.clone(), interval, rounds).await,
                None => std::future::pending().await,
            }
        };
        let purging = async {
            match options.purge_interval {
                Some(interval) => schedule_purge(app.clone(), interval).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            served = serving => served?,
            never = watching => match never {},
            never = scheduling => match never {},
            never = purging => match never {},
        }
        Ok(())
    }
}

/// The scheduler of the statutory dates: a round ([`App::emit_due_events`]) at
/// start and every `interval` after the last one ended, on the application's
/// clock. A round that fails (the database away) is logged, once until one
/// succeeds again, and the next round tries again: its days are looked at then.
async fn schedule_statutory_events(
    app: App,
    interval: Duration,
    rounds: tokio::sync::watch::Sender<u64>,
) -> std::convert::Infallible {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        ticks.tick().await;
        match app.emit_due_events().await {
            Ok(done) => {
                if failing {
                    tracing::info!("statutory date events: rounds succeed again");
                    failing = false;
                }
                tracing::debug!(
                    authorities = done.authorities,
                    emitted = done.emitted,
                    "statutory date events: round done"
                );
                rounds.send_modify(|n| *n += 1);
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "statutory date events: a round failed; retrying every interval");
                    failing = true;
                }
            }
        }
    }
}

/// The purge of what is past retention ([`App::purge`]) at start and every
/// `interval` after the last run ended, on the application's clock. A run that
/// fails is logged and the next one finishes it (each batch commits alone).
async fn schedule_purge(app: App, interval: Duration) -> std::convert::Infallible {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        // The register's partitions ahead of their marks (PostgreSQL).
        if let Err(e) = app.make_partitions_ahead().await {
            tracing::warn!(error = %e, "register partitions: not made this run; the next run tries again");
        }
        if let Err(e) = app.purge(app.today(), PURGE_BATCH_SIZE).await {
            tracing::warn!(error = %e, "retention purge: a run failed; the next run resumes it");
        }
    }
}

type PanicResponse = fn(Box<dyn std::any::Any + Send>) -> http::Response<tonic::body::Body>;

/// A call that panics (a bug: the use cases run on tasks of their own, and a
/// panic there is already INTERNAL) answers INTERNAL with a log line; the
/// connection and the server go on serving.
pub fn catch_panics() -> CatchPanicLayer<PanicResponse> {
    CatchPanicLayer::custom(|panic: Box<dyn std::any::Any + Send>| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(panic = %what, "a call panicked");
        tonic::Status::internal("internal error").into_http()
    })
}

/// The health service names that follow the database: the server as a whole
/// ("") and each lea.notices.v1 service.
const DATABASE_BACKED: [&str; 12] = [
    "",
    <AuditServiceServer<AuditApi> as NamedService>::NAME,
    <PolicyServiceServer<PolicyApi> as NamedService>::NAME,
    <AttendanceServiceServer<AttendanceApi> as NamedService>::NAME,
    <NoticeServiceServer<NoticeApi> as NamedService>::NAME,
    <PaymentServiceServer<PaymentApi> as NamedService>::NAME,
    <ReportServiceServer<ReportApi> as NamedService>::NAME,
    <SchoolServiceServer<SchoolApi> as NamedService>::NAME,
    <WorklistServiceServer<WorklistApi> as NamedService>::NAME,
    <MeasureServiceServer<MeasureApi> as NamedService>::NAME,
    <EventServiceServer<EventApi> as NamedService>::NAME,
    <DataProtectionServiceServer<DataProtectionApi> as NamedService>::NAME,
];

/// gRPC health: `liveness` SERVING, the database-backed names NOT_SERVING
/// until the first check of the database answers ([`DatabaseWatch`]).
async fn health_service() -> (HealthReporter, HealthServer<impl Health>) {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status(LIVENESS_SERVICE, ServingStatus::Serving)
        .await;
    for name in DATABASE_BACKED {
        reporter
            .set_service_status(name, ServingStatus::NotServing)
            .await;
    }
    (reporter, health)
}

/// The checks of the database behind the health service: the database-backed
/// names are SERVING while it answers a ping within the check timeout,
/// NOT_SERVING while it does not. `liveness` is left SERVING.
struct DatabaseWatch {
    store: Arc<dyn Store>,
    reporter: HealthReporter,
    timeout: Duration,
    /// What the last check found; none before the first.
    up: Option<bool>,
    /// Whether the last check could measure the read replica's lag; none
    /// before the first, or without a replica.
    replica_up: Option<bool>,
}

impl DatabaseWatch {
    fn new(store: Arc<dyn Store>, reporter: HealthReporter, timeout: Duration) -> Self {
        Self {
            store,
            reporter,
            timeout,
            up: None,
            replica_up: None,
        }
    }

    /// Pings the database once, and turns the health services over (with a
    /// log line) when the answer differs from the last one.
    async fn check(&mut self) {
        // On a task of its own, so stopping the server never cuts a ping half-way.
        let store = self.store.clone();
        let timeout = self.timeout;
        let pinged = tokio::spawn(async move { store.ping(timeout).await }).await;
        let answered = match pinged {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                if self.up != Some(false) {
                    tracing::error!(error = %e, "database not answering: health NOT_SERVING");
                }
                false
            }
            Err(e) => {
                tracing::error!(error = %e, "the database check panicked");
                false
            }
        };
        crate::server::metrics::metrics()
            .database_up
            .set(i64::from(answered));
        self.check_replica().await;
        if self.up == Some(answered) {
            return;
        }
        let status = if answered {
            tracing::info!("database answering: health SERVING");
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        self.up = Some(answered);
        for name in DATABASE_BACKED {
            self.reporter.set_service_status(name, status).await;
        }
    }

    /// Measures the read replica's lag, if there is one, into the metrics, with
    /// a log line when it turns measurable or not. The health services do not
    /// follow it: while the replica is away reads fall back to the primary.
    async fn check_replica(&mut self) {
        let store = self.store.clone();
        let timeout = self.timeout;
        let measured = match tokio::spawn(async move { store.replica_lag(timeout).await }).await {
            Ok(None) => return,
            Ok(Some(measured)) => measured.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let metrics = crate::server::metrics::metrics();
        let up = measured.is_ok();
        metrics.replica_up.set(i64::from(up));
        match measured {
            Ok(lag) => {
                metrics.replica_lag_bytes.set(lag.bytes);
                metrics.replica_lag_seconds.set(lag.seconds);
                if self.replica_up != Some(true) {
                    tracing::info!(
                        lag_bytes = lag.bytes,
                        lag_seconds = lag.seconds,
                        "read replica answering: replica-tolerant reads go to it"
                    );
                }
            }
            Err(error) => {
                if self.replica_up != Some(false) {
                    tracing::warn!(
                        %error,
                        "read replica lag not measurable: reads fall back to the primary \
                         (health unchanged)"
                    );
                }
            }
        }
        self.replica_up = Some(up);
    }

    /// Checks every `interval` (after the check before it has answered or timed
    /// out). Never returns.
    async fn watch(mut self, interval: Duration) -> std::convert::Infallible {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.check().await;
        }
    }
}

/// The accepted connections, with Nagle's algorithm off: tonic sets
/// `TCP_NODELAY` only on sockets it accepts itself, and without it every small
/// unary response waits for the client's delayed ACK (~40 ms).
pub fn incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_only_on_loopback_unless_allowed() {
        let mut c = Config::default();
        assert!(
            tls_config(&c).unwrap().is_none(),
            "127.0.0.1 may be plaintext"
        );
        c.listen_addr = "0.0.0.0:50051".parse().unwrap();
        assert!(
            tls_config(&c).is_err(),
            "a public address needs TLS or an explicit allowance"
        );
        c.allow_plaintext = Some(true);
        assert!(tls_config(&c).unwrap().is_none());
        c.tls_cert_file = Some("cert.pem".into());
        assert!(tls_config(&c).is_err(), "a certificate without its key");
        c.tls_cert_file = None;
        c.tls_client_ca_file = Some("ca.pem".into());
        assert!(
            tls_config(&c).is_err(),
            "client verification without server TLS"
        );
    }

    #[test]
    fn grpc_web_origins_are_bare_origins() {
        let ok = ["https://ewo.hants.gov.uk", "http://localhost:3000"].map(String::from);
        assert_eq!(grpc_web_origins(&ok).unwrap().len(), 2);
        for bad in [
            "*",
            "ewo.hants.gov.uk",
            "https://a.example/",
            "https://a.example/app",
            "ftp://a.example",
        ] {
            assert!(grpc_web_origins(&[bad.to_string()]).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn accepted_sockets_have_nagle_off() {
        use tokio_stream::StreamExt;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut accepted = incoming(listener);
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let socket = accepted.next().await.unwrap().unwrap();
        assert!(
            socket.nodelay().unwrap(),
            "TCP_NODELAY on the accepted socket"
        );
    }

    #[tokio::test]
    async fn a_panicking_call_answers_internal() {
        use tower::{Layer, Service, ServiceExt};
        let panicking = tower::service_fn(|_: http::Request<()>| async {
            if true {
                panic!("a bug");
            }
            Ok::<_, std::convert::Infallible>(http::Response::new(tonic::body::Body::empty()))
        });
        let mut service = catch_panics().layer(panicking);
        let response = service
            .ready()
            .await
            .unwrap()
            .call(http::Request::new(()))
            .await
            .unwrap();
        let status = tonic::Status::from_header_map(response.headers()).expect("a gRPC status");
        assert_eq!(status.code(), tonic::Code::Internal);
        assert_eq!(status.message(), "internal error");
    }
}
