//! Logging and tracing: human-readable or JSON lines, filtered with `RUST_LOG`
//! (default `info`); spans exported over OTLP when an endpoint is configured (the
//! standard `OTEL_EXPORTER_OTLP_ENDPOINT`; other `OTEL_*` variables are read by the
//! SDK), each RPC's span continuing the caller's W3C `traceparent`.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::{EnvFilter, fmt, layer::SubscriberExt, util::SubscriberInitExt};

use crate::server::config::LogFormat;

/// What must be flushed before the process exits.
#[must_use = "call shutdown() before exiting, or spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still buffered and stops the exporter.
    pub async fn shutdown(self) {
        if let Some(provider) = self.provider {
            // The SDK's shutdown blocks while the batch drains.
            let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        }
    }
}

/// Installs the process's subscriber: log lines in `logs` format (none when
/// `None`, as when embedded in tests) and OTLP export to `otlp_endpoint`. Call
/// inside the tokio runtime: the OTLP exporter runs on it.
pub fn init(logs: Option<LogFormat>, otlp_endpoint: Option<&str>) -> anyhow::Result<Telemetry> {
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let provider = match otlp_endpoint {
        None => None,
        Some(endpoint) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()?;
            Some(
                SdkTracerProvider::builder()
                    .with_batch_exporter(exporter)
                    .with_resource(
                        opentelemetry_sdk::Resource::builder()
                            .with_service_name("lea-notices")
                            .build(),
                    )
                    .build(),
            )
        }
    };
    let otel = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("lea-notices")));
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let text = (logs == Some(LogFormat::Text)).then(|| fmt::layer().with_writer(std::io::stderr));
    let json =
        (logs == Some(LogFormat::Json)).then(|| fmt::layer().json().with_writer(std::io::stderr));
    // A second init (several servers in one test process) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json)
        .with(otel)
        .try_init();
    Ok(Telemetry { provider })
}

/// Reads W3C trace context from gRPC metadata (HTTP/2 headers).
struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl opentelemetry::propagation::Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// A span per RPC (method, authority, gRPC code, latency) and the RPC metrics.
#[derive(Clone, Copy, Default)]
pub struct RpcLayer;

impl<S> tower::Layer<S> for RpcLayer {
    type Service = RpcService<S>;

    fn layer(&self, inner: S) -> RpcService<S> {
        RpcService { inner }
    }
}

#[derive(Clone)]
pub struct RpcService<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for RpcService<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        use tracing::{Instrument, field::Empty};
        let method = request.uri().path().to_string();
        // The authentication layer records the caller's authority on this span.
        let span = tracing::info_span!("rpc", rpc.method = %method, authority = Empty, grpc.code = Empty, latency_ms = Empty);
        // A caller's traceparent makes this span a child of the caller's.
        let parent = opentelemetry::global::get_text_map_propagator(|p| {
            p.extract(&HeaderExtractor(request.headers()))
        });
        let _ = tracing_opentelemetry::OpenTelemetrySpanExt::set_parent(&span, parent);
        let metrics = crate::server::metrics::metrics();
        metrics.rpc_in_flight.inc();
        let started = std::time::Instant::now();
        let call = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        Box::pin(async move {
            let result = call.instrument(span.clone()).await;
            metrics.rpc_in_flight.dec();
            // Errors travel as trailers-only responses, with the code in the headers;
            // a response without one is a success whose OK comes in the trailers.
            let code = match &result {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .unwrap_or(0),
                Err(_) => tonic::Code::Internal as i32,
            };
            let elapsed = started.elapsed();
            span.record("grpc.code", code);
            span.record("latency_ms", elapsed.as_secs_f64() * 1000.0);
            metrics
                .rpc_requests
                .with_label_values(&[method.as_str(), &code.to_string()])
                .inc();
            metrics
                .rpc_duration
                .with_label_values(&[method.as_str()])
                .observe(elapsed.as_secs_f64());
            tracing::info!(parent: &span, code = ?tonic::Code::from(code), "rpc finished");
            result
        })
    }
}
