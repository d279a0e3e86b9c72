//! Secrets the service draws from the database, made by its migrations (the
//! page-token key: `api::pagination`).

use async_trait::async_trait;

use super::StoreResult;
use super::tx::sql_impl;

/// The purpose of the secret page tokens are authenticated with.
pub const PAGE_TOKEN: &str = "page_token";

#[async_trait]
pub trait KeyStore: Send {
    /// The service-wide secret for `purpose`; `None` before the migration that
    /// makes it.
    async fn service_key(&mut self, purpose: &str) -> StoreResult<Option<String>>;
}

sql_impl! {
    impl KeyStore for Tx {
        async fn service_key(&mut self, purpose: &str) -> StoreResult<Option<String>> {
            Ok(sqlx::query_scalar(
                "SELECT secret FROM service_keys WHERE authority_code = '' AND purpose = $1",
            )
            .bind(purpose)
            .fetch_optional(&mut *self.conn)
            .await?)
        }
    }
}
