//! A message over the size limit answers RESOURCE_EXHAUSTED, as the gRPC
//! status-code guide says. tonic's codec answers OUT_OF_RANGE both for a request
//! message it would decode and for a response message it would encode over
//! `max_message_bytes`; this layer rewrites exactly those two statuses, wherever
//! they travel: in the response headers (a trailers-only answer, as for a request
//! refused before the service ran) or in the trailers after the body (a response
//! that could not be encoded).

use super::status_rewrite::StatusRewriteLayer;
use tonic::{Code, Status};

/// Wraps the gRPC services (see `server::Application::serve`).
pub const LAYER: StatusRewriteLayer = StatusRewriteLayer::new(remap);

/// OUT_OF_RANGE from tonic's size check becomes RESOURCE_EXHAUSTED with the same
/// message (it names the size and the limit); any other status is left alone.
fn remap(headers: &mut http::HeaderMap) {
    let out_of_range = Code::OutOfRange as i32;
    if headers.get("grpc-status").map(|v| v.as_bytes()) != Some(out_of_range.to_string().as_bytes())
    {
        return;
    }
    let Some(status) = Status::from_header_map(headers) else {
        return;
    };
    if !is_size_limit(status.message()) {
        return;
    }
    let exhausted = Status::resource_exhausted(status.message());
    if exhausted.add_header(headers).is_err() {
        tracing::warn!(
            message = status.message(),
            "could not rewrite an oversize status"
        );
    }
}

/// tonic's messages for a message over the limit: "Error, decoded message length
/// too large: found N bytes, the limit is: M bytes" (and "encoded" for responses).
fn is_size_limit(message: &str) -> bool {
    message.starts_with("Error, decoded message length too large")
        || message.starts_with("Error, encoded message length too large")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(status: &Status) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        status.add_header(&mut h).unwrap();
        h
    }

    #[test]
    fn only_the_size_limit_becomes_resource_exhausted() {
        let message =
            "Error, decoded message length too large: found 32849 bytes, the limit is: 16384 bytes";
        let mut h = headers(&Status::out_of_range(message));
        remap(&mut h);
        let status = Status::from_header_map(&h).unwrap();
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(status.message(), message);

        // Another OUT_OF_RANGE (say, a page beyond the end) is not ours to change.
        let mut h = headers(&Status::out_of_range("page 9 of 3"));
        remap(&mut h);
        assert_eq!(
            Status::from_header_map(&h).unwrap().code(),
            Code::OutOfRange
        );
        let mut h = headers(&Status::ok(""));
        remap(&mut h);
        assert_eq!(Status::from_header_map(&h).unwrap().code(), Code::Ok);
    }
}
