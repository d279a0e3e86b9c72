//! The machinery every mutation uses: AIP-155 request ids and the audit event,
//! committed in one transaction with the change itself.
//!
//! ```text
//! let request = IdempotentRequest::new(&authority, &req.request_id, METHOD, &req)?;
//! let mut tx = match request.begin(store).await? {
//!     Begun::Replay(response) => return Ok(response),   // same id, same request
//!     Begun::New(tx) => tx,
//! };
//! ... change, tx.append_audit(...) ...
//! request.commit(tx, &response).await?;
//! ```

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use prost::Message;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use crate::domain::{FieldViolation, identifiers::LaCode};
use crate::store::{RequestKey, Store, StoreTx};

const MAX_REQUEST_ID_LEN: usize = 128;

/// The current instant, at the microsecond precision both backends store.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

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

/// A mutating request identified by its request id.
pub struct IdempotentRequest {
    authority: LaCode,
    request_id: String,
    method: &'static str,
    fingerprint: String,
}

/// What starting a mutation found.
pub enum Begun<R> {
    /// The id was used before with the same request: its stored response.
    Replay(R),
    /// The id is new and claimed by this open transaction.
    New(Box<dyn StoreTx>),
}

impl IdempotentRequest {
    /// `request` must be valid already (request id included): its encoding is its fingerprint.
    pub fn new(
        authority: &LaCode,
        request_id: &str,
        method: &'static str,
        request: &impl Message,
    ) -> Self {
        Self {
            authority: authority.clone(),
            request_id: request_id.to_string(),
            method,
            fingerprint: hex::encode(Sha256::digest(request.encode_to_vec())),
        }
    }

    fn key(&self) -> RequestKey<'_> {
        RequestKey {
            authority: &self.authority,
            request_id: &self.request_id,
            method: self.method,
            fingerprint: &self.fingerprint,
        }
    }

    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// Opens the transaction and claims the request id.
    pub async fn begin<R: Message + Default>(
        &self,
        store: &dyn Store,
    ) -> Result<Begun<R>, ApiError> {
        let mut tx = store.begin().await?;
        let Some(earlier) = tx.claim_request(&self.key(), now()).await? else {
            return Ok(Begun::New(tx));
        };
        if earlier.method == self.method && earlier.fingerprint == self.fingerprint {
            let response = R::decode(earlier.response.as_slice())
                .map_err(|e| crate::store::StoreError::Corrupt(format!("stored response: {e}")))?;
            return Ok(Begun::Replay(response));
        }
        Err(ApiError::AlreadyExists {
            message: format!(
                "request_id '{}' was already used for a different request",
                self.request_id
            ),
            reason: "REQUEST_ID_REUSED",
            metadata: HashMap::from([
                ("request_id".to_string(), self.request_id.clone()),
                ("method".to_string(), earlier.method),
            ]),
        })
    }

    /// Stores the response for retries and commits the transaction.
    pub async fn commit(
        &self,
        mut tx: Box<dyn StoreTx>,
        response: &impl Message,
    ) -> Result<(), ApiError> {
        tx.complete_request(&self.key(), &response.encode_to_vec())
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
