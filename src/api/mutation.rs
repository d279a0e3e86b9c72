//! AIP-155 request ids as sent: checked, and fingerprinted with the whole
//! request, so the use case can tell a retry from a reuse.

use prost::Message;
use sha2::{Digest, Sha256};

use crate::app::RequestId;
use crate::domain::FieldViolation;

const MAX_REQUEST_ID_LEN: usize = 128;

/// Checks a request id: required, at most 128 printable characters.
pub fn validate_request_id(field: &str, request_id: &str) -> Result<(), FieldViolation> {
    if request_id.is_empty() {
        Err(FieldViolation::new(
            field,
            "a request id is required (a UUID is best)",
        ))
    } else if request_id.len() > MAX_REQUEST_ID_LEN {
        Err(FieldViolation::new(
            field,
            format!("at most {MAX_REQUEST_ID_LEN} characters"),
        ))
    } else if request_id.chars().any(char::is_control) {
        Err(FieldViolation::new(
            field,
            "must not contain control characters",
        ))
    } else {
        Ok(())
    }
}

/// What identifies a request as sent: a retry must send the same.
pub fn fingerprint(request: &impl Message) -> String {
    hex::encode(Sha256::digest(request.encode_to_vec()))
}

/// The request id of `request` (already validated), with its fingerprint.
pub fn request_id(id: &str, request: &impl Message) -> RequestId {
    RequestId {
        id: id.to_string(),
        fingerprint: fingerprint(request),
    }
}
