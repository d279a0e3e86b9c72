//! Prometheus metrics, served as text on their own HTTP port (`/metrics`).

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, LazyLock},
};

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use tokio::net::TcpListener;

use crate::store::Store;

pub struct Metrics {
    registry: Registry,
    /// RPCs by service, method and gRPC status code (its name, `OK`,
    /// `UNAVAILABLE`), each counted once when it ends, however it ends.
    pub rpc_requests: IntCounterVec,
    /// RPC latency by service and method, in seconds, to the call's last byte.
    pub rpc_duration: HistogramVec,
    /// Calls begun and not yet ended (answered to the last byte, or cut off).
    pub rpc_in_flight: IntGauge,
    /// Units of work never started because their caller had gone or its
    /// deadline had passed, by service, method and reason.
    pub rpc_units_not_started: IntCounterVec,
    /// Database connections by state (`in_use`, `idle`), read at scrape time.
    pub db_pool: IntGaugeVec,
    /// Notices issued, by authority and kind.
    pub notices_issued: IntCounterVec,
    /// Payments recorded (not retries), by authority.
    pub payments_recorded: IntCounterVec,
}

impl Metrics {
    fn new() -> Self {
        let registry = Registry::new_custom(Some("lea".into()), None).expect("valid prefix");
        let m = Metrics {
            rpc_requests: IntCounterVec::new(
                Opts::new(
                    "rpc_requests_total",
                    "RPCs ended, by service, method and gRPC code",
                ),
                &["grpc_service", "grpc_method", "grpc_code"],
            )
            .expect("valid metric"),
            rpc_duration: HistogramVec::new(
                HistogramOpts::new("rpc_duration_seconds", "RPC latency by service and method")
                    .buckets(vec![
                        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                    ]),
                &["grpc_service", "grpc_method"],
            )
            .expect("valid metric"),
            rpc_in_flight: IntGauge::new("rpc_in_flight", "RPCs in progress")
                .expect("valid metric"),
            rpc_units_not_started: IntCounterVec::new(
                Opts::new(
                    "rpc_units_not_started_total",
                    "Units of work not started: the caller had gone or its deadline had passed",
                ),
                &["grpc_service", "grpc_method", "reason"],
            )
            .expect("valid metric"),
            db_pool: IntGaugeVec::new(
                Opts::new("db_pool_connections", "Database connections by state"),
                &["state"],
            )
            .expect("valid metric"),
            notices_issued: IntCounterVec::new(
                Opts::new(
                    "notices_issued_total",
                    "Notices issued by authority and kind",
                ),
                &["authority", "kind"],
            )
            .expect("valid metric"),
            payments_recorded: IntCounterVec::new(
                Opts::new("payments_recorded_total", "Payments recorded by authority"),
                &["authority"],
            )
            .expect("valid metric"),
            registry,
        };
        for c in [
            Box::new(m.rpc_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(m.rpc_duration.clone()),
            Box::new(m.rpc_in_flight.clone()),
            Box::new(m.rpc_units_not_started.clone()),
            Box::new(m.db_pool.clone()),
            Box::new(m.notices_issued.clone()),
            Box::new(m.payments_recorded.clone()),
        ] {
            m.registry.register(c).expect("registered once");
        }
        m
    }

    /// The text exposition, with the pool read now.
    pub fn render(&self, store: &dyn Store) -> String {
        let (size, idle) = store.pool_usage();
        self.db_pool.with_label_values(&["idle"]).set(idle as i64);
        self.db_pool
            .with_label_values(&["in_use"])
            .set(i64::from(size) - idle as i64);
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding");
        String::from_utf8(out).expect("text is UTF-8")
    }
}

/// The `(grpc_service, grpc_method)` labels of a call to `path`
/// (`/lea.notices.v1.PolicyService/GetPolicy`): the service's full name and the
/// method's. A path the server does not serve is `("unknown", "unknown")`, so a
/// client cannot make up label values.
pub fn rpc_labels(path: &str) -> (&'static str, &'static str) {
    static KNOWN: LazyLock<HashMap<String, (&'static str, &'static str)>> = LazyLock::new(|| {
        let mut known = HashMap::new();
        let mut add = |service: &str, method: &str| {
            let labels: (&'static str, &'static str) = (
                Box::leak(service.to_owned().into_boxed_str()),
                Box::leak(method.to_owned().into_boxed_str()),
            );
            known.insert(format!("/{service}/{method}"), labels);
        };
        for set in [
            crate::proto::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
        ] {
            if let Ok(pool) = prost_reflect::DescriptorPool::decode(set) {
                for service in pool.services() {
                    for method in service.methods() {
                        add(service.full_name(), method.name());
                    }
                }
            }
        }
        for service in [
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        ] {
            add(service, "ServerReflectionInfo");
        }
        known
    });
    KNOWN.get(path).copied().unwrap_or(("unknown", "unknown"))
}

/// A gRPC code's name, as the metrics label it (`OK`, `DEADLINE_EXCEEDED`).
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

/// Serves `GET /metrics` on `listener` until `shutdown` completes.
pub async fn serve_metrics(
    listener: TcpListener,
    store: Arc<dyn Store>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let store = store.clone();
            async move { metrics().render(&*store) }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_only_what_is_served() {
        assert_eq!(
            rpc_labels("/lea.notices.v1.PolicyService/GetPolicy"),
            ("lea.notices.v1.PolicyService", "GetPolicy")
        );
        assert_eq!(
            rpc_labels("/grpc.health.v1.Health/Check"),
            ("grpc.health.v1.Health", "Check")
        );
        assert_eq!(
            rpc_labels("/lea.notices.v1.PolicyService/Made_Up_1234"),
            ("unknown", "unknown")
        );
        assert_eq!(code_name(tonic::Code::Unavailable), "UNAVAILABLE");
    }
}
