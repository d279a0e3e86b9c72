//! Prometheus metrics, served as text on their own HTTP port (`/metrics`).

use std::{
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
    /// RPCs by full method and gRPC status code.
    pub rpc_requests: IntCounterVec,
    /// RPC latency by full method, in seconds.
    pub rpc_duration: HistogramVec,
    pub rpc_in_flight: IntGauge,
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
                Opts::new("rpc_requests_total", "RPCs by method and gRPC code"),
                &["method", "code"],
            )
            .expect("valid metric"),
            rpc_duration: HistogramVec::new(
                HistogramOpts::new("rpc_duration_seconds", "RPC latency by method").buckets(vec![
                    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                ]),
                &["method"],
            )
            .expect("valid metric"),
            rpc_in_flight: IntGauge::new("rpc_in_flight", "RPCs in progress")
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
