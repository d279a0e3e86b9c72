//! AIP-155 request ids: a retry with the same id and the same request gets the
//! result of the first; the same id with another request is `ALREADY_EXISTS`.
//!
//! The claim, the change and its audit event commit in one unit of work. What is
//! kept for a retry is what the first call created or changed (notice numbers, a
//! payment id, a policy version's date), and a retry answers with those resources
//! as they stand now.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Serialize, de::DeserializeOwned};

use super::error::{ServiceError, ServiceResult};
use crate::domain::identifiers::LaCode;
use crate::store::{RequestKey, StoreError, StoreTx};

/// A mutation's request id, with a fingerprint of the whole request as sent
/// (the transport computes it: equal requests, equal fingerprints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId {
    pub id: String,
    pub fingerprint: String,
}

impl RequestId {
    fn key<'a>(&'a self, authority: &'a LaCode, method: &'a str) -> RequestKey<'a> {
        RequestKey {
            authority,
            request_id: &self.id,
            method,
            fingerprint: &self.fingerprint,
        }
    }

    /// Claims the id in `tx` for `method`. `None`: the id is new and now held by
    /// this unit of work. `Some`: what the first request with this id kept.
    pub(crate) async fn claim<R: DeserializeOwned>(
        &self,
        tx: &mut dyn StoreTx,
        authority: &LaCode,
        method: &'static str,
        at: DateTime<Utc>,
    ) -> ServiceResult<Option<R>> {
        let Some(earlier) = tx.claim_request(&self.key(authority, method), at).await? else {
            return Ok(None);
        };
        if earlier.method == method && earlier.fingerprint == self.fingerprint {
            let kept = serde_json::from_slice(&earlier.response)
                .map_err(|e| StoreError::Corrupt(format!("kept result of {method}: {e}")))?;
            return Ok(Some(kept));
        }
        Err(ServiceError::AlreadyExists {
            message: format!(
                "request_id '{}' was already used for a different request",
                self.id
            ),
            reason: "REQUEST_ID_REUSED",
            metadata: HashMap::from([
                ("request_id".to_string(), self.id.clone()),
                ("method".to_string(), earlier.method),
            ]),
        })
    }

    /// Keeps `result` for retries, in the same unit of work as the change.
    pub(crate) async fn complete<R: Serialize>(
        &self,
        tx: &mut dyn StoreTx,
        authority: &LaCode,
        method: &'static str,
        result: &R,
    ) -> ServiceResult<()> {
        let kept = serde_json::to_vec(result)
            .map_err(|e| ServiceError::Internal(format!("keeping a result: {e}")))?;
        tx.complete_request(&self.key(authority, method), &kept)
            .await?;
        Ok(())
    }
}
