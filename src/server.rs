//! The gRPC server: the six lea.notices.v1 services, health and reflection.

use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context;
use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic_health::pb::health_server::{Health, HealthServer};

use crate::api::{
    attendance::AttendanceApi, audit::AuditApi, auth::Verifier, notice::NoticeApi,
    payment::PaymentApi, policy::PolicyApi, unimplemented::ReportApi,
};
use crate::app::App;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::proto::{
    FILE_DESCRIPTOR_SET,
    v1::{
        attendance_service_server::AttendanceServiceServer,
        audit_service_server::AuditServiceServer, notice_service_server::NoticeServiceServer,
        payment_service_server::PaymentServiceServer, policy_service_server::PolicyServiceServer,
        report_service_server::ReportServiceServer,
    },
};
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
    pub request_timeout: Duration,
    /// Calls in progress per connection; beyond it, RESOURCE_EXHAUSTED at once.
    pub max_concurrent_requests: usize,
    pub max_message_bytes: usize,
}

impl ServeOptions {
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        Ok(Self {
            tls: tls_config(config)?,
            request_timeout: Duration::from_secs(config.request_timeout_secs),
            max_concurrent_requests: config.max_concurrent_requests,
            max_message_bytes: config.max_message_bytes,
        })
    }
}

impl Default for ServeOptions {
    /// Plaintext with the configuration defaults (for tests and embedding).
    fn default() -> Self {
        let c = Config::default();
        Self {
            tls: None,
            request_timeout: Duration::from_secs(c.request_timeout_secs),
            max_concurrent_requests: c.max_concurrent_requests,
            max_message_bytes: c.max_message_bytes,
        }
    }
}

/// A service with the message limits set and the bearer-token check in front.
macro_rules! guarded {
    ($server:ident, $api:expr, $options:expr, $auth:expr) => {
        InterceptedService::new(
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
}

impl Application {
    /// The service on `store`, with the system clock and the default options.
    pub fn new(store: Arc<dyn Store>, verifier: Arc<Verifier>) -> Self {
        Self {
            app: App::new(store, Arc::new(SystemClock)),
            verifier,
            options: ServeOptions::default(),
        }
    }

    /// Another clock (a test pins the date with a `FixedClock`).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.app = App::new(self.app.store().clone(), clock);
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
        } = self;
        let auth = verifier.interceptor();
        let policy = guarded!(
            PolicyServiceServer,
            PolicyApi::new(app.clone()),
            options,
            auth.clone()
        );
        let attendance = guarded!(
            AttendanceServiceServer,
            AttendanceApi::new(app.clone()),
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
        let reports = guarded!(ReportServiceServer, ReportApi, options, auth);
        let health = health_service().await;
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;

        tracing::info!(addr = %listener.local_addr()?, tls = options.tls.is_some(), "serving lea.notices.v1");
        let mut builder = Server::builder()
            .layer(crate::telemetry::RpcLayer)
            .timeout(options.request_timeout)
            .concurrency_limit_per_connection(options.max_concurrent_requests)
            .load_shed(true);
        if let Some(tls) = options.tls {
            builder = builder.tls_config(tls)?;
        }
        builder
            .add_service(health)
            .add_service(reflection)
            .add_service(policy)
            .add_service(attendance)
            .add_service(notices)
            .add_service(payments)
            .add_service(audit)
            .add_service(reports)
            .serve_with_incoming_shutdown(incoming(listener), shutdown)
            .await?;
        Ok(())
    }
}

/// gRPC health: SERVING for the server and for each service.
async fn health_service() -> HealthServer<impl Health> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    reporter
        .set_serving::<PolicyServiceServer<PolicyApi>>()
        .await;
    reporter
        .set_serving::<AttendanceServiceServer<AttendanceApi>>()
        .await;
    reporter
        .set_serving::<NoticeServiceServer<NoticeApi>>()
        .await;
    reporter
        .set_serving::<PaymentServiceServer<PaymentApi>>()
        .await;
    reporter.set_serving::<AuditServiceServer<AuditApi>>().await;
    reporter
        .set_serving::<ReportServiceServer<ReportApi>>()
        .await;
    health
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
}
