//! Bytes a client sent that do not decode are the client's fault: INVALID_ARGUMENT,
//! not the INTERNAL tonic answers. tonic's prost codec turns every decode error
//! into INTERNAL ("failed to decode Protobuf message: ..."), and its framing
//! turns a frame cut short, a frame with a bad compression flag or a unary call
//! without its message into INTERNAL as well. The gRPC compression guide asks
//! INTERNAL for a compressed flag without an encoding; this service's rule, that
//! nothing a client can send is INTERNAL, wins: INTERNAL here means a bug of ours.
//!
//! [`LAYER`] rewrites exactly those statuses wherever they travel (the
//! response headers of a trailers-only answer, or the trailers after a body),
//! for every service on the server, health and reflection included. Handlers
//! that read a stream and add details of their own (RecordMarks) convert the
//! status first with [`client_fault`], so their details are kept.
//!
//! The answer names the field where prost says (`pupil.upn`) and what was wrong
//! with its encoding ("invalid wire type", "buffer underflow"); never a value.

use super::status_rewrite::StatusRewriteLayer;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::api::error::ERROR_DOMAIN;

/// The `ErrorInfo.reason` of a request whose bytes do not decode.
pub const MALFORMED_REQUEST: &str = "MALFORMED_REQUEST";

/// tonic's framing errors a client can cause (the decoder's own messages, as
/// sent while reading a request).
const FRAMING: &[&str] = &[
    "protocol error: received message with compressed-flag but no grpc-encoding",
    "protocol error: received message with invalid compression flag",
    "Unexpected EOF decoding stream",
    "Missing request message",
    "Error decompressing",
];

/// The INVALID_ARGUMENT a client's undecodable request deserves, for an INTERNAL
/// status tonic raised while decoding it; `None` for any other status.
pub fn client_fault(status: &Status) -> Option<Status> {
    if status.code() != Code::Internal {
        return None;
    }
    let message = status.message();
    let (field, description) =
        if let Some(rest) = message.strip_prefix("failed to decode Protobuf message: ") {
            let (path, what) = field_path(rest);
            (
                path,
                format!("the request message is not valid protobuf: {what}"),
            )
        } else if FRAMING.iter().any(|f| message.starts_with(f)) {
            (
                String::new(),
                format!("the request is not a valid gRPC message: {message}"),
            )
        } else {
            return None;
        };
    let mut details = ErrorDetails::new();
    details.add_bad_request_violation(field.clone(), description.clone());
    details.set_error_info(
        MALFORMED_REQUEST,
        ERROR_DOMAIN,
        std::collections::HashMap::new(),
    );
    let summary = if field.is_empty() {
        description
    } else {
        format!("{field}: {description}")
    };
    Some(Status::with_error_details(
        Code::InvalidArgument,
        summary,
        details,
    ))
}

/// The field path of a prost decode error's description and what went wrong.
/// prost writes the messages it was in innermost first, each as
/// `Message.field: `, then the error (`Pupil.upn: IssueNoticeRequest.pupil:
/// invalid string value: data is not UTF-8 encoded`); the path reads outermost
/// first (`pupil.upn`).
fn field_path(mut rest: &str) -> (String, &str) {
    let mut fields = Vec::new();
    while let Some((entry, after)) = rest.split_once(": ") {
        let Some((message, field)) = entry.split_once('.') else {
            break;
        };
        let ident = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'#')
        };
        if !ident(message) || !ident(field) {
            break;
        }
        fields.push(field.trim_start_matches("r#"));
        rest = after;
    }
    fields.reverse();
    (fields.join("."), rest)
}

/// Wraps the gRPC services (see `server::Application::serve`).
pub const LAYER: StatusRewriteLayer = StatusRewriteLayer::new(remap);

/// INTERNAL from decoding a request becomes INVALID_ARGUMENT; any other status
/// is left alone (and costs one header comparison).
fn remap(headers: &mut http::HeaderMap) {
    let internal = Code::Internal as i32;
    if headers.get("grpc-status").map(|v| v.as_bytes()) != Some(internal.to_string().as_bytes()) {
        return;
    }
    let Some(fault) = Status::from_header_map(headers)
        .as_ref()
        .and_then(client_fault)
    else {
        return;
    };
    headers.remove("grpc-status-details-bin");
    if fault.add_header(headers).is_err() {
        tracing::warn!("could not rewrite an undecodable request's status");
    }
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
    fn decode_errors_become_invalid_argument_naming_the_field() {
        let mut h = headers(&Status::internal(
            "failed to decode Protobuf message: Pupil.upn: IssueNoticeRequest.pupil: \
             invalid string value: data is not UTF-8 encoded",
        ));
        remap(&mut h);
        let status = Status::from_header_map(&h).unwrap();
        assert_eq!(status.code(), Code::InvalidArgument);
        let bad = status.get_details_bad_request().unwrap();
        assert_eq!(bad.field_violations[0].field, "pupil.upn");
        assert_eq!(
            bad.field_violations[0].description,
            "the request message is not valid protobuf: invalid string value: data is not UTF-8 encoded"
        );
        assert_eq!(
            status.get_details_error_info().unwrap().reason,
            MALFORMED_REQUEST
        );

        let top = client_fault(&Status::internal(
            "failed to decode Protobuf message: invalid wire type: LengthDelimited (expected Varint)",
        ))
        .unwrap();
        assert_eq!(
            top.get_details_bad_request().unwrap().field_violations[0].field,
            ""
        );
        assert!(top.message().ends_with("(expected Varint)"), "{top:?}");
        let framing = client_fault(&Status::internal("Unexpected EOF decoding stream.")).unwrap();
        assert_eq!(framing.code(), Code::InvalidArgument);
    }

    #[test]
    fn other_statuses_are_left_alone() {
        for status in [
            Status::internal("internal error"),
            Status::invalid_argument("failed to decode Protobuf message: x"),
            Status::ok(""),
        ] {
            let mut h = headers(&status);
            let before = h.clone();
            remap(&mut h);
            assert_eq!(h, before);
        }
    }

    #[test]
    fn field_paths_read_outermost_first() {
        assert_eq!(
            field_path("A.b: C.d: E.r#type: recursion limit reached"),
            ("type.d.b".into(), "recursion limit reached")
        );
        // The error itself may hold ": ".
        assert_eq!(
            field_path("invalid wire type: Varint (expected LengthDelimited)"),
            (
                String::new(),
                "invalid wire type: Varint (expected LengthDelimited)"
            )
        );
    }
}
