//! Logging and tracing: human-readable or JSON lines, filtered with `RUST_LOG`
//! (default `info`); spans exported over OTLP when an endpoint is configured (the
//! standard `OTEL_EXPORTER_OTLP_ENDPOINT`; other `OTEL_*` variables are read by the
//! SDK), each RPC's span continuing the caller's W3C `traceparent`.

use crate::server::config::CallLog;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::{EnvFilter, fmt, layer::SubscriberExt, util::SubscriberInitExt};

use crate::api::layers::calls::DEADLINE_SLACK;
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
///
/// A call is counted once, when it ends, with the code its caller got: from the
/// response headers (a trailers-only answer), else from the trailers after the
/// body (a stream's error, a response too large to encode). A call cut off
/// before that (its caller cancelled, its deadline passed and tonic dropped it,
/// the connection went) is counted `CANCELLED`, or `DEADLINE_EXCEEDED` once its
/// caller's deadline has passed. The metrics are go-grpc-prometheus's
/// (`grpc_server_started_total`, `grpc_server_handled_total`,
/// `grpc_server_handling_seconds`). `lea_rpc_in_flight` comes down with the
/// count, however the call ended: the count happens when the response body
/// ends or is dropped.
#[derive(Clone, Copy)]
pub struct RpcLayer {
    /// The level of each call's log line.
    pub call_log: CallLog,
}

impl<S> tower::Layer<S> for RpcLayer {
    type Service = RpcService<S>;

    fn layer(&self, inner: S) -> RpcService<S> {
        RpcService {
            inner,
            call_log: self.call_log,
        }
    }
}

#[derive(Clone)]
pub struct RpcService<S> {
    inner: S,
    call_log: CallLog,
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for RpcService<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = http::Response<RpcBody<ResBody>>;
    type Error = S::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, S::Error>> + Send>,
    >;

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
        let deadline = crate::api::layers::calls::client_timeout(request.headers())
            .map(|timeout| tokio::time::Instant::now() + timeout);
        let mut tracker = Tracker::start(&method, span.clone(), deadline, self.call_log);
        let call = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        Box::pin(async move {
            // Dropped here (cancelled, cut by tonic at the caller's deadline),
            // the tracker counts the call as it drops.
            let result = call.instrument(span).await;
            match result {
                Ok(response) => {
                    // Errors travel as trailers-only responses, with the code in
                    // the headers; otherwise it comes in the trailers.
                    tracker.code = grpc_status(response.headers());
                    Ok(response.map(|inner| RpcBody {
                        inner,
                        tracker: Some(tracker),
                    }))
                }
                Err(e) => {
                    tracker.finish(tonic::Code::Internal);
                    Err(e)
                }
            }
        })
    }
}

/// The gRPC code in `headers` (or trailers), if they carry one.
fn grpc_status(headers: &http::HeaderMap) -> Option<tonic::Code> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(tonic::Code::from)
}

/// One call from its first byte to its end: counted exactly once.
struct Tracker {
    labels: (&'static str, &'static str),
    /// `grpc_type`: `unary`, `client_stream`, `server_stream`, `bidi_stream`.
    kind: &'static str,
    span: tracing::Span,
    started: std::time::Instant,
    deadline: Option<tokio::time::Instant>,
    /// The code, once known (from the headers or the trailers).
    code: Option<tonic::Code>,
    finished: bool,
    call_log: CallLog,
}

impl Tracker {
    fn start(
        method: &str,
        span: tracing::Span,
        deadline: Option<tokio::time::Instant>,
        call_log: CallLog,
    ) -> Self {
        let metrics = crate::server::metrics::metrics();
        let labels = crate::server::metrics::rpc_labels(method);
        let kind = crate::server::metrics::rpc_type(method);
        metrics.rpc_in_flight.inc();
        metrics
            .grpc_started
            .with_label_values(&[labels.0, labels.1, kind])
            .inc();
        Tracker {
            labels,
            kind,
            span,
            started: std::time::Instant::now(),
            deadline,
            code: None,
            finished: false,
            call_log,
        }
    }

    fn finish(&mut self, code: tonic::Code) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let metrics = crate::server::metrics::metrics();
        metrics.rpc_in_flight.dec();
        let elapsed = self.started.elapsed();
        let (service, method) = self.labels;
        let name = crate::server::metrics::code_name(code);
        self.span.record("grpc.code", code as i32);
        self.span
            .record("latency_ms", elapsed.as_secs_f64() * 1000.0);
        let kind = self.kind;
        metrics
            .grpc_handled
            .with_label_values(&[
                service,
                method,
                kind,
                crate::server::metrics::metric_code_name(code),
            ])
            .inc();
        metrics
            .grpc_handling_seconds
            .with_label_values(&[service, method, kind])
            .observe(elapsed.as_secs_f64());
        // The level is a constant in each macro: one arm per level. A level
        // the filter does not let through costs a check, not a line.
        let span = &self.span;
        match self.call_log {
            CallLog::Off => {}
            CallLog::Error => tracing::error!(parent: span, code = name, "rpc finished"),
            CallLog::Warn => tracing::warn!(parent: span, code = name, "rpc finished"),
            CallLog::Info => tracing::info!(parent: span, code = name, "rpc finished"),
            CallLog::Debug => tracing::debug!(parent: span, code = name, "rpc finished"),
            CallLog::Trace => tracing::trace!(parent: span, code = name, "rpc finished"),
        }
    }

    /// How a call that ends without a code in its headers or trailers ended.
    fn cut_off(&self) -> tonic::Code {
        let now = tokio::time::Instant::now();
        match self.deadline {
            Some(deadline) if now + DEADLINE_SLACK >= deadline => tonic::Code::DeadlineExceeded,
            _ => tonic::Code::Cancelled,
        }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        // A trailers-only answer's body may be dropped unread: its code is in
        // its headers. Anything else dropped early was cut off.
        let code = self.code.unwrap_or_else(|| self.cut_off());
        self.finish(code);
    }
}

/// A response body that counts its call when it ends or is dropped.
pub struct RpcBody<B> {
    inner: B,
    tracker: Option<Tracker>,
}

impl<B: http_body::Body + Unpin> http_body::Body for RpcBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let frame = std::task::ready!(std::pin::Pin::new(&mut self.inner).poll_frame(cx));
        let ended = match &frame {
            Some(Ok(frame)) => frame
                .trailers_ref()
                .map(|trailers| grpc_status(trailers).unwrap_or(tonic::Code::Unknown)),
            // The connection resets the stream: its client sees INTERNAL.
            Some(Err(_)) => Some(tonic::Code::Internal),
            None => None,
        };
        let code = match (ended, frame.is_none()) {
            (Some(code), _) => Some(code),
            // The end without trailers: the code came in the headers, or never.
            (None, true) => Some(
                self.tracker
                    .as_ref()
                    .and_then(|t| t.code)
                    .unwrap_or(tonic::Code::Unknown),
            ),
            (None, false) => None,
        };
        if let Some(code) = code
            && let Some(mut tracker) = self.tracker.take()
        {
            tracker.code = Some(code);
            tracker.finish(code);
        }
        std::task::Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
