//! The gRPC server: the five lea.notices.v1 services, health and reflection.

use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use crate::api::{
    attendance::AttendanceApi, auth::Verifier, notice::NoticeApi, payment::PaymentApi,
    policy::PolicyApi, unimplemented::ReportApi,
};
use crate::config::Config;
use crate::proto::{
    FILE_DESCRIPTOR_SET,
    v1::{
        attendance_service_server::AttendanceServiceServer,
        notice_service_server::NoticeServiceServer, payment_service_server::PaymentServiceServer,
        policy_service_server::PolicyServiceServer, report_service_server::ReportServiceServer,
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

/// Serves on `listener` until `shutdown` completes, then stops accepting and lets
/// in-flight calls finish. Every lea.notices.v1 call needs a bearer token
/// `verifier` accepts; health and reflection need none.
pub async fn serve(
    store: Arc<dyn Store>,
    verifier: Arc<Verifier>,
    options: ServeOptions,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let auth = verifier.interceptor();
    let policy = guarded!(
        PolicyServiceServer,
        PolicyApi::new(store.clone()),
        options,
        auth.clone()
    );
    let attendance = guarded!(
        AttendanceServiceServer,
        AttendanceApi::new(store.clone()),
        options,
        auth.clone()
    );
    let notices = guarded!(
        NoticeServiceServer,
        NoticeApi::new(store.clone()),
        options,
        auth.clone()
    );
    let payments = guarded!(
        PaymentServiceServer,
        PaymentApi::new(store.clone()),
        options,
        auth.clone()
    );
    let reports = guarded!(ReportServiceServer, ReportApi, options, auth);

    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    health_reporter
        .set_serving::<PolicyServiceServer<PolicyApi>>()
        .await;
    health_reporter
        .set_serving::<AttendanceServiceServer<AttendanceApi>>()
        .await;
    health_reporter
        .set_serving::<NoticeServiceServer<NoticeApi>>()
        .await;
    health_reporter
        .set_serving::<PaymentServiceServer<PaymentApi>>()
        .await;
    health_reporter
        .set_serving::<ReportServiceServer<ReportApi>>()
        .await;

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
        .add_service(reports)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await?;
    Ok(())
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
}
