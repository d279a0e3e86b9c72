//! Logging: human-readable or JSON lines, filtered with `RUST_LOG` (default `info`).

use tracing_subscriber::{EnvFilter, fmt};

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second init (tests start several servers) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
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
        let metrics = crate::metrics::metrics();
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
