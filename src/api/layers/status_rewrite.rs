//! A layer that rewrites a call's gRPC status wherever it travels: in the
//! response headers (a trailers-only answer, as for a request refused before the
//! service ran) or in the trailers after the body. `oversize` and `undecodable`
//! are this layer with their own rewrite.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http_body::{Body, Frame, SizeHint};

/// Changes a status in place, given the headers or trailers that carry it;
/// leaves every other status alone.
pub type Rewrite = fn(&mut http::HeaderMap);

/// Wraps the gRPC services (see `server::Application::serve`).
#[derive(Clone, Copy)]
pub struct StatusRewriteLayer {
    rewrite: Rewrite,
}

impl StatusRewriteLayer {
    pub const fn new(rewrite: Rewrite) -> Self {
        Self { rewrite }
    }
}

impl<S> tower::Layer<S> for StatusRewriteLayer {
    type Service = StatusRewrite<S>;

    fn layer(&self, inner: S) -> StatusRewrite<S> {
        StatusRewrite {
            inner,
            rewrite: self.rewrite,
        }
    }
}

#[derive(Clone)]
pub struct StatusRewrite<S> {
    inner: S,
    rewrite: Rewrite,
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for StatusRewrite<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = http::Response<StatusRewriteBody<ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let call = self.inner.call(request);
        let rewrite = self.rewrite;
        Box::pin(async move {
            let mut response = call.await?;
            rewrite(response.headers_mut());
            Ok(response.map(|inner| StatusRewriteBody { inner, rewrite }))
        })
    }
}

/// A response body whose trailers get the same rewrite.
pub struct StatusRewriteBody<B> {
    inner: B,
    rewrite: Rewrite,
}

impl<B: Body + Unpin> Body for StatusRewriteBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let rewrite = self.rewrite;
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        Poll::Ready(frame.map(|frame| {
            frame.map(|mut frame| {
                if let Some(trailers) = frame.trailers_mut() {
                    rewrite(trailers);
                }
                frame
            })
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
