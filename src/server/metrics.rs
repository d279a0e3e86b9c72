//! Prometheus metrics, served as text on their own HTTP port (`/metrics`).

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, LazyLock},
};

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};
use tokio::net::TcpListener;

use crate::store::Store;

pub struct Metrics {
    registry: Registry,
    /// RPCs begun, by service, method and type (`grpc_server_started_total`,
    /// as go-grpc-prometheus names it).
    pub grpc_started: IntCounterVec,
    /// RPCs ended, by service, method, type and the code its caller got, by
    /// Go's name for it (`OK`, `InvalidArgument`, `Unavailable`: the labels
    /// grpc-ecosystem's dashboards and alerts filter on), each counted once
    /// when it ends, however it ends (`grpc_server_handled_total`).
    pub grpc_handled: IntCounterVec,
    /// RPC latency by service, method and type, in seconds, to the call's
    /// last byte (`grpc_server_handling_seconds`).
    pub grpc_handling_seconds: HistogramVec,
    /// Calls begun and not yet ended (answered to the last byte, or cut off).
    pub rpc_in_flight: IntGauge,
    /// Units of work never started because their caller had gone or its
    /// deadline had passed, by service, method and reason.
    pub rpc_units_not_started: IntCounterVec,
    /// Database connections by state (`in_use`, `idle`), read at scrape time.
    pub db_pool: IntGaugeVec,
    /// 1 while the health checks reach the database, 0 while they do not
    /// (health NOT_SERVING); set by the first check.
    pub database_up: IntGauge,
    /// Read-only units served by the read replica.
    pub replica_reads: IntCounter,
    /// Read-only units that tolerate the replica but went to the primary, by
    /// reason (`lagging`: not caught up within the wait bound; `unreachable`).
    pub replica_fallbacks: IntCounterVec,
    /// 1 while the health checks measure the replica's lag, 0 while they cannot
    /// (reads fall back to the primary; health stays SERVING); unset without a
    /// replica.
    pub replica_up: IntGauge,
    /// WAL the primary has flushed that the replica has not replayed, at the
    /// last health check.
    pub replica_lag_bytes: IntGauge,
    /// The replica's replay lag in seconds at the last health check (0 when it
    /// has replayed all it received).
    pub replica_lag_seconds: Gauge,
    /// Audit trails found not to hold when verified (VerifyAuditTrail), by
    /// authority and reason (`chain_broken`, `checkpoint_not_matched`).
    pub audit_verification_failures: IntCounterVec,
    /// Notices issued, by authority and kind.
    pub notices_issued: IntCounterVec,
    /// Payments recorded (not retries), by authority.
    pub payments_recorded: IntCounterVec,
    /// Every metric's name, exported or not yet (a vector with no series yet
    /// is left out of a scrape).
    names: Vec<String>,
}

/// The labels of the `grpc_server_*` metrics, in their order.
const GRPC_LABELS: [&str; 3] = ["grpc_service", "grpc_method", "grpc_type"];

impl Metrics {
    fn new() -> Self {
        // No prefix: the grpc_server_* and process_* names are the ecosystem's;
        // the service's own are named lea_*.
        let registry = Registry::new();
        let m = Metrics {
            grpc_started: IntCounterVec::new(
                Opts::new(
                    "grpc_server_started_total",
                    "Total number of RPCs started on the server.",
                ),
                &GRPC_LABELS,
            )
            .expect("valid metric"),
            grpc_handled: IntCounterVec::new(
                Opts::new(
                    "grpc_server_handled_total",
                    "Total number of RPCs completed on the server, regardless of success or failure.",
                ),
                &[GRPC_LABELS[0], GRPC_LABELS[1], GRPC_LABELS[2], "grpc_code"],
            )
            .expect("valid metric"),
            grpc_handling_seconds: HistogramVec::new(
                HistogramOpts::new(
                    "grpc_server_handling_seconds",
                    "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
                )
                .buckets(vec![
                    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                ]),
                &GRPC_LABELS,
            )
            .expect("valid metric"),
            rpc_in_flight: IntGauge::new("lea_rpc_in_flight", "RPCs in progress")
                .expect("valid metric"),
            rpc_units_not_started: IntCounterVec::new(
                Opts::new(
                    "lea_rpc_units_not_started_total",
                    "Units of work not started: the caller had gone or its deadline had passed",
                ),
                &["grpc_service", "grpc_method", "reason"],
            )
            .expect("valid metric"),
            db_pool: IntGaugeVec::new(
                Opts::new("lea_db_pool_connections", "Database connections by state"),
                &["state"],
            )
            .expect("valid metric"),
            database_up: IntGauge::new(
                "lea_database_up",
                "1 while the health checks reach the database, 0 while they do not",
            )
            .expect("valid metric"),
            replica_reads: IntCounter::new(
                "lea_replica_reads_total",
                "Read-only units served by the read replica",
            )
            .expect("valid metric"),
            replica_fallbacks: IntCounterVec::new(
                Opts::new(
                    "lea_replica_fallbacks_total",
                    "Reads that tolerate the replica but went to the primary, by reason",
                ),
                &["reason"],
            )
            .expect("valid metric"),
            replica_up: IntGauge::new(
                "lea_replica_up",
                "1 while the health checks measure the read replica's lag, 0 while they cannot",
            )
            .expect("valid metric"),
            replica_lag_bytes: IntGauge::new(
                "lea_replica_lag_bytes",
                "WAL flushed by the primary and not yet replayed by the read replica",
            )
            .expect("valid metric"),
            replica_lag_seconds: Gauge::new(
                "lea_replica_lag_seconds",
                "Replay lag of the read replica in seconds (0 when all received WAL is replayed)",
            )
            .expect("valid metric"),
            audit_verification_failures: IntCounterVec::new(
                Opts::new(
                    "lea_audit_verification_failures_total",
                    "Audit trails that failed verification, by authority and reason",
                ),
                &["authority", "reason"],
            )
            .expect("valid metric"),
            notices_issued: IntCounterVec::new(
                Opts::new(
                    "lea_notices_issued_total",
                    "Notices issued by authority and kind",
                ),
                &["authority", "kind"],
            )
            .expect("valid metric"),
            payments_recorded: IntCounterVec::new(
                Opts::new(
                    "lea_payments_recorded_total",
                    "Payments recorded by authority",
                ),
                &["authority"],
            )
            .expect("valid metric"),
            registry,
            names: Vec::new(),
        };
        let mut m = m;
        let mut collectors = vec![
            Box::new(m.grpc_started.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(m.grpc_handled.clone()),
            Box::new(m.grpc_handling_seconds.clone()),
            Box::new(m.rpc_in_flight.clone()),
            Box::new(m.rpc_units_not_started.clone()),
            Box::new(m.db_pool.clone()),
            Box::new(m.database_up.clone()),
            Box::new(m.replica_reads.clone()),
            Box::new(m.replica_fallbacks.clone()),
            Box::new(m.replica_up.clone()),
            Box::new(m.replica_lag_bytes.clone()),
            Box::new(m.replica_lag_seconds.clone()),
            Box::new(m.audit_verification_failures.clone()),
            Box::new(m.notices_issued.clone()),
            Box::new(m.payments_recorded.clone()),
        ];
        // process_cpu_seconds_total, process_resident_memory_bytes,
        // process_open_fds, process_max_fds, process_start_time_seconds,
        // process_virtual_memory_bytes (read from /proc at scrape time).
        #[cfg(target_os = "linux")]
        collectors.push(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ));
        for c in collectors {
            m.names.extend(c.desc().iter().map(|d| d.fq_name.clone()));
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

/// What the metrics know of a method the server serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Served {
    service: &'static str,
    method: &'static str,
    /// `unary`, `client_stream`, `server_stream` or `bidi_stream`.
    kind: &'static str,
}

const UNKNOWN: Served = Served {
    service: "unknown",
    method: "unknown",
    kind: "unknown",
};

/// What the server serves at `path` (`/lea.notices.v1.PolicyService/GetPolicy`),
/// or [`UNKNOWN`], so a client cannot make up label values.
fn served(path: &str) -> Served {
    static KNOWN: LazyLock<HashMap<String, Served>> = LazyLock::new(|| {
        let mut known = HashMap::new();
        let mut add = |service: &str, method: &str, client_streams: bool, server_streams: bool| {
            let kind = match (client_streams, server_streams) {
                (false, false) => "unary",
                (true, false) => "client_stream",
                (false, true) => "server_stream",
                (true, true) => "bidi_stream",
            };
            let served = Served {
                service: Box::leak(service.to_owned().into_boxed_str()),
                method: Box::leak(method.to_owned().into_boxed_str()),
                kind,
            };
            known.insert(format!("/{service}/{method}"), served);
        };
        for set in [
            crate::proto::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
        ] {
            if let Ok(pool) = prost_reflect::DescriptorPool::decode(set) {
                for service in pool.services() {
                    for method in service.methods() {
                        add(
                            service.full_name(),
                            method.name(),
                            method.is_client_streaming(),
                            method.is_server_streaming(),
                        );
                    }
                }
            }
        }
        for service in [
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        ] {
            add(service, "ServerReflectionInfo", true, true);
        }
        known
    });
    KNOWN.get(path).copied().unwrap_or(UNKNOWN)
}

/// The `(grpc_service, grpc_method)` labels of a call to `path`
/// (`/lea.notices.v1.PolicyService/GetPolicy`): the service's full name and the
/// method's. A path the server does not serve is `("unknown", "unknown")`, so a
/// client cannot make up label values.
pub fn rpc_labels(path: &str) -> (&'static str, &'static str) {
    let served = served(path);
    (served.service, served.method)
}

/// The `grpc_type` label of a call to `path`: `unary`, `client_stream`,
/// `server_stream` or `bidi_stream` (`unknown` for a path not served).
pub fn rpc_type(path: &str) -> &'static str {
    served(path).kind
}

/// A gRPC code's name, as logs and spans give it (`OK`, `DEADLINE_EXCEEDED`).
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

/// A gRPC code's name as the `grpc_code` label gives it: Go's
/// `codes.Code.String()` (`OK`, `Canceled`, `InvalidArgument`), which
/// go-grpc-prometheus and grpc-ecosystem's interceptors use, so their
/// dashboards and alerts work unchanged.
pub fn metric_code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "Canceled",
        Unknown => "Unknown",
        InvalidArgument => "InvalidArgument",
        DeadlineExceeded => "DeadlineExceeded",
        NotFound => "NotFound",
        AlreadyExists => "AlreadyExists",
        PermissionDenied => "PermissionDenied",
        ResourceExhausted => "ResourceExhausted",
        FailedPrecondition => "FailedPrecondition",
        Aborted => "Aborted",
        OutOfRange => "OutOfRange",
        Unimplemented => "Unimplemented",
        Internal => "Internal",
        Unavailable => "Unavailable",
        DataLoss => "DataLoss",
        Unauthenticated => "Unauthenticated",
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

    #[test]
    fn types_and_codes_are_named_as_go_grpc_prometheus_names_them() {
        let kind = |path| rpc_type(path);
        assert_eq!(kind("/lea.notices.v1.PolicyService/GetPolicy"), "unary");
        assert_eq!(
            kind("/lea.notices.v1.AttendanceService/RecordMarks"),
            "client_stream"
        );
        assert_eq!(
            kind("/lea.notices.v1.EventService/WatchEvents"),
            "server_stream"
        );
        assert_eq!(
            kind("/lea.notices.v1.AttendanceService/RecordMarksStream"),
            "bidi_stream"
        );
        assert_eq!(kind("/grpc.health.v1.Health/Watch"), "server_stream");
        assert_eq!(kind("/made.Up/X"), "unknown");
        assert_eq!(metric_code_name(tonic::Code::Ok), "OK");
        assert_eq!(metric_code_name(tonic::Code::Cancelled), "Canceled");
        assert_eq!(
            metric_code_name(tonic::Code::Unauthenticated),
            "Unauthenticated"
        );
        assert_eq!(
            metric_code_name(tonic::Code::InvalidArgument),
            "InvalidArgument"
        );
    }

    /// The chart's Grafana dashboard and Prometheus alerts ask only for
    /// metrics this server exports (a renamed metric would leave a panel
    /// empty and an alert silent).
    #[test]
    fn the_charts_dashboard_and_alerts_name_only_metrics_that_exist() {
        let names = &metrics().names;
        for (file, text) in [
            (
                "dashboards/lea-notices.json",
                include_str!("../../helm/lea-notices/dashboards/lea-notices.json"),
            ),
            (
                "templates/prometheusrule.yaml",
                include_str!("../../helm/lea-notices/templates/prometheusrule.yaml"),
            ),
        ] {
            let mut asked = 0;
            for token in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                // (`grpc_server_*` in prose names the family, not a metric.)
                if token.ends_with('_')
                    || !["grpc_server_", "lea_", "process_"]
                        .iter()
                        .any(|p| token.starts_with(p))
                {
                    continue;
                }
                asked += 1;
                let series = ["_bucket", "_count", "_sum"]
                    .iter()
                    .find_map(|suffix| token.strip_suffix(suffix))
                    .filter(|histogram| names.iter().any(|n| n == histogram))
                    .unwrap_or(token);
                assert!(
                    names.iter().any(|n| n == series),
                    "{file} asks for {token}, which is not exported: {names:?}"
                );
            }
            assert!(asked > 3, "{file}: {asked} metrics asked for");
        }
    }

    #[test]
    fn process_metrics_are_exported() {
        let text = metrics()
            .registry
            .gather()
            .iter()
            .map(|family| family.name().to_string())
            .collect::<Vec<_>>();
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_open_fds",
        ] {
            assert!(text.iter().any(|n| n == name), "{name} in {text:?}");
        }
    }
}
