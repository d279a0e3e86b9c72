//! Every call's deadline, and the call the use cases see (`crate::app::call`).
//!
//! The deadline is the sooner of the caller's (`grpc-timeout`) and the server's
//! request timeout. When it passes before the service has answered, the call
//! answers DEADLINE_EXCEEDED; tonic's own `Server::timeout` is not used: it
//! wraps outside every layer, drops them mid-call and answers CANCELLED.
//!
//! A unit of work started by the call checks it before it begins and keeps it
//! (with the server's permit, `shedding`) until it ends. The call ends, for the
//! units not yet begun, when its caller has the whole answer, when it leaves
//! (its future or response body dropped) or at its deadline.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body::{Body, Frame, SizeHint};
use tokio::time::Instant;
use tonic::Status;

use crate::app::call::{self, Abandoned, Call};

/// The caller's deadline as `grpc-timeout` gives it (`100m`, `5S`); none when
/// absent or malformed (as tonic reads it).
pub fn client_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (amount, unit) = value.split_at(value.len() - 1);
    let amount: u64 = amount.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// Wraps the gRPC services (see `server::Application::serve`).
#[derive(Clone, Copy)]
pub struct CallLayer {
    request_timeout: Duration,
}

impl CallLayer {
    pub fn new(request_timeout: Duration) -> Self {
        Self { request_timeout }
    }
}

impl<S> tower::Layer<S> for CallLayer {
    type Service = Calls<S>;

    fn layer(&self, inner: S) -> Calls<S> {
        Calls {
            inner,
            layer: *self,
        }
    }
}

#[derive(Clone)]
pub struct Calls<S> {
    inner: S,
    layer: CallLayer,
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for Calls<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = http::Response<CallBody<ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let timeout = client_timeout(request.headers()).map_or(self.layer.request_timeout, |t| {
            t.min(self.layer.request_timeout)
        });
        let deadline = Instant::now() + timeout;
        let call = Call::new(
            Some(deadline),
            crate::server::metrics::rpc_labels(request.uri().path()),
        );
        // For the services inside (the permit, a stream's spawned work).
        request.extensions_mut().insert(call.clone());
        let answer = self.inner.call(request);
        Box::pin(async move {
            // Ends the call if this future is dropped before it answers.
            let ending = Ending(Some(call.clone()));
            let answered = call::scope(call.clone(), tokio::time::timeout_at(deadline, answer));
            let response = match answered.await {
                Ok(response) => response?,
                Err(_) => {
                    call.end(Abandoned::DeadlineExceeded);
                    Status::deadline_exceeded(format!(
                        "no answer within the call's deadline ({:.1} s)",
                        timeout.as_secs_f64()
                    ))
                    .into_http()
                }
            };
            Ok(response.map(|inner| CallBody { inner, ending }))
        })
    }
}

/// Ends its call when dropped.
struct Ending(Option<Arc<Call>>);

/// Cut this close to its deadline, a call was cut by it (tonic's timer at the
/// caller's deadline and ours fire in the same millisecond, in either order).
pub const DEADLINE_SLACK: Duration = Duration::from_millis(5);

impl Drop for Ending {
    fn drop(&mut self) {
        if let Some(call) = self.0.take() {
            let past = call
                .deadline()
                .is_some_and(|d| Instant::now() + DEADLINE_SLACK >= d);
            call.end(if past {
                Abandoned::DeadlineExceeded
            } else {
                Abandoned::Cancelled
            });
        }
    }
}

/// A response body that ends its call when it ends or is dropped.
pub struct CallBody<B> {
    inner: B,
    ending: Ending,
}

impl<B: Body + Unpin> Body for CallBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let frame = std::task::ready!(Pin::new(&mut self.inner).poll_frame(cx));
        let last = match &frame {
            Some(Ok(frame)) => frame.is_trailers(),
            Some(Err(_)) | None => true,
        };
        if last && let Some(call) = self.ending.0.take() {
            // Answered: nothing waits for any more of its work.
            call.end(Abandoned::Cancelled);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_read_as_tonic_reads_them() {
        let read = |v: &str| {
            let mut h = http::HeaderMap::new();
            h.insert("grpc-timeout", v.parse().unwrap());
            client_timeout(&h)
        };
        assert_eq!(read("50m"), Some(Duration::from_millis(50)));
        assert_eq!(read("3S"), Some(Duration::from_secs(3)));
        assert_eq!(read("2M"), Some(Duration::from_secs(120)));
        assert_eq!(read("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(read("7u"), Some(Duration::from_micros(7)));
        assert_eq!(read("9n"), Some(Duration::from_nanos(9)));
        assert_eq!(read("123456789S"), None, "at most 8 digits");
        assert_eq!(read("5x"), None);
        assert_eq!(read("S"), None);
        assert_eq!(client_timeout(&http::HeaderMap::new()), None);
    }

    #[tokio::test]
    async fn a_call_past_its_deadline_answers_deadline_exceeded_and_ends() {
        use tower::{Layer, Service, ServiceExt};
        let (seen_tx, seen_rx) = tokio::sync::oneshot::channel();
        let mut seen_tx = Some(seen_tx);
        let slow = tower::service_fn(move |request: http::Request<()>| {
            let call = request.extensions().get::<Arc<Call>>().cloned().unwrap();
            let _ = seen_tx.take().unwrap().send(call);
            async move {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok::<_, std::convert::Infallible>(http::Response::new(tonic::body::Body::empty()))
            }
        });
        let mut service = CallLayer::new(Duration::from_secs(30)).layer(slow);
        let mut request = http::Request::new(());
        request
            .headers_mut()
            .insert("grpc-timeout", "100m".parse().unwrap());
        let response = service.ready().await.unwrap().call(request).await.unwrap();
        let status = Status::from_header_map(response.headers()).unwrap();
        assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
        let call = seen_rx.await.unwrap();
        assert!(
            call.abandoned().is_some(),
            "no work starts after the deadline"
        );
    }
}
