//! Request ids (AIP-155): a mutation claims its id in its own unit of work and
//! stores its response there, so a retry gets the first answer.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::tx::sql_impl;
use super::{StoreError, StoreResult};
use crate::domain::identifiers::LaCode;

/// A mutation's idempotency key and what identifies the request it came with.
#[derive(Debug, Clone, Copy)]
pub struct RequestKey<'a> {
    pub authority: &'a LaCode,
    pub request_id: &'a str,
    /// The use case's name, so one id cannot be replayed against another use case.
    pub method: &'a str,
    /// A hash of the whole request.
    pub fingerprint: &'a str,
}

/// A request id that was already used.
#[derive(Debug, Clone)]
pub struct StoredRequest {
    pub method: String,
    pub fingerprint: String,
    /// The encoded response the first request got.
    pub response: Vec<u8>,
}

#[derive(sqlx::FromRow)]
pub(super) struct StoredRequestRow {
    method: String,
    fingerprint: String,
    response: Option<Vec<u8>>,
}

impl TryFrom<StoredRequestRow> for StoredRequest {
    type Error = StoreError;

    fn try_from(r: StoredRequestRow) -> StoreResult<Self> {
        Ok(StoredRequest {
            method: r.method,
            fingerprint: r.fingerprint,
            // A committed claim always has its response: both are written in one transaction.
            response: r
                .response
                .ok_or_else(|| StoreError::Corrupt("request id without a response".into()))?,
        })
    }
}

/// The idempotency keys of mutations.
#[async_trait]
pub trait IdempotencyStore: Send {
    /// Claims `key.request_id` for this transaction. `None`: the id is new and now
    /// held by this transaction. `Some`: it was used before (by a committed request).
    async fn claim_request(
        &mut self,
        key: &RequestKey<'_>,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<StoredRequest>>;

    /// Stores the response to a claimed request id.
    async fn complete_request(&mut self, key: &RequestKey<'_>, response: &[u8]) -> StoreResult<()>;
}

sql_impl! {
    impl IdempotencyStore for Tx {
        async fn claim_request(
            &mut self,
            key: &RequestKey<'_>,
            at: DateTime<Utc>,
        ) -> StoreResult<Option<StoredRequest>> {
            // On PostgreSQL a concurrent claim of the same id waits here until the
            // first transaction ends, then sees its committed row (or takes the id).
            let inserted = sqlx::query(
                "INSERT INTO idempotency_keys (authority_code, request_id, method, fingerprint, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(key.authority.as_str())
            .bind(key.request_id)
            .bind(key.method)
            .bind(key.fingerprint)
            .bind(at)
            .execute(&mut *self.conn)
            .await?;
            if DB::rows_affected(&inserted) == 1 {
                return Ok(None);
            }
            let row: StoredRequestRow = sqlx::query_as(
                "SELECT method, fingerprint, response FROM idempotency_keys \
                 WHERE authority_code = $1 AND request_id = $2",
            )
            .bind(key.authority.as_str())
            .bind(key.request_id)
            .fetch_one(&mut *self.conn)
            .await?;
            row.try_into().map(Some)
        }

        async fn complete_request(&mut self, key: &RequestKey<'_>, response: &[u8]) -> StoreResult<()> {
            sqlx::query(
                "UPDATE idempotency_keys SET response = $3 WHERE authority_code = $1 AND request_id = $2",
            )
            .bind(key.authority.as_str())
            .bind(key.request_id)
            .bind(response)
            .execute(&mut *self.conn)
            .await?;
            Ok(())
        }
    }
}
