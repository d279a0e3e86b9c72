//! Load shedding for the whole server: at most `limit` calls in progress across
//! every connection; a call beyond it answers RESOURCE_EXHAUSTED at once, before
//! it reads its request or waits for anything. tonic's own limit counts per
//! connection (so a hundred clients get a hundred times the limit, and the
//! excess queues for database connections until it times out), and its load
//! shedder refuses a call only while the per-connection limit is reached.
//!
//! A call's permit is held until the call has ended (a stream's last message
//! included) and every unit of work it started has finished: a unit runs on
//! after its caller has gone (`crate::app`), and it still takes the server's
//! capacity. So a flood of calls whose callers give up cannot pile up work
//! behind the limit; the excess is refused.
//!
//! Shed calls count in the RPC metrics as RESOURCE_EXHAUSTED (this layer sits
//! inside theirs). Health checks are never shed: a server at its limit is busy, not broken, and
//! an orchestrator must not restart it for that.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;

use crate::app::call::Call;

/// The path prefix of the gRPC health service, which is never shed.
const HEALTH: &str = "/grpc.health.v1.Health/";

/// Wraps the gRPC services (see `server::Application::serve`); every clone
/// shares one count, so the limit holds across connections.
#[derive(Clone)]
pub struct ShedLayer {
    permits: Arc<Semaphore>,
    limit: usize,
}

impl ShedLayer {
    /// At most `limit` calls in progress (at least 1).
    pub fn new(limit: usize) -> Self {
        let limit = limit.max(1);
        Self {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }
}

impl<S> tower::Layer<S> for ShedLayer {
    type Service = Shed<S>;

    fn layer(&self, inner: S) -> Shed<S> {
        Shed {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Shed<S> {
    inner: S,
    layer: ShedLayer,
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for Shed<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        if request.uri().path().starts_with(HEALTH) {
            return Box::pin(self.inner.call(request));
        }
        let permit: OwnedSemaphorePermit = match self.layer.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let status = Status::resource_exhausted(format!(
                    "the server has {} calls in progress, its limit; retry with backoff",
                    self.layer.limit
                ));
                return Box::pin(std::future::ready(Ok(status.into_http())));
            }
        };
        // Held by the call (see `api::calls`) until it and its work are over;
        // without one (this layer alone), until the service has answered.
        let permit = match request.extensions().get::<Arc<Call>>() {
            Some(call) => {
                call.hold(permit);
                None
            }
            None => Some(permit),
        };
        let call = self.inner.call(request);
        Box::pin(async move {
            let response = call.await;
            drop(permit);
            response
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::{Layer, Service, ServiceExt};

    fn request(path: &str) -> http::Request<()> {
        http::Request::builder().uri(path).body(()).unwrap()
    }

    #[tokio::test]
    async fn beyond_the_limit_a_call_is_refused_at_once_and_health_is_never_shed() {
        let (release, released) = tokio::sync::watch::channel(false);
        let slow = tower::service_fn(move |_: http::Request<()>| {
            let mut released = released.clone();
            async move {
                released.wait_for(|r| *r).await.unwrap();
                Ok::<_, std::convert::Infallible>(http::Response::new(tonic::body::Body::empty()))
            }
        });
        let layer = ShedLayer::new(1);
        // Two clones, as two connections would have.
        let mut first = layer.layer(slow.clone());
        let mut second = layer.layer(slow);
        let held = tokio::spawn(
            first
                .ready()
                .await
                .unwrap()
                .call(request("/lea.notices.v1.NoticeService/GetNotice")),
        );
        tokio::task::yield_now().await;
        let shed = second
            .ready()
            .await
            .unwrap()
            .call(request("/lea.notices.v1.NoticeService/GetNotice"))
            .await
            .unwrap();
        let status = Status::from_header_map(shed.headers()).expect("a gRPC status");
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        let health = tokio::spawn(
            second
                .ready()
                .await
                .unwrap()
                .call(request("/grpc.health.v1.Health/Check")),
        );
        release.send(true).unwrap();
        held.await.unwrap().unwrap();
        health.await.unwrap().unwrap();
        // The permit is back: the next call runs.
        let again = second
            .ready()
            .await
            .unwrap()
            .call(request("/lea.notices.v1.NoticeService/GetNotice"))
            .await
            .unwrap();
        assert!(Status::from_header_map(again.headers()).is_none());
    }
}
