//! How far each broker relay (`lea-notices relay-events`) has published each
//! authority's events: the last sequence the broker confirmed.

use async_trait::async_trait;

use super::StoreResult;
use super::tx::sql_impl;
use crate::domain::identifiers::LaCode;

#[async_trait]
pub trait RelayStore: Send {
    /// The last sequence of `authority` relay `relay` published and had
    /// confirmed; 0 before its first.
    async fn relay_cursor(&mut self, relay: &str, authority: &LaCode) -> StoreResult<i64>;

    /// Moves relay `relay`'s cursor of `authority` on to `sequence`; a cursor
    /// already further on stays where it is.
    async fn set_relay_cursor(
        &mut self,
        relay: &str,
        authority: &LaCode,
        sequence: i64,
    ) -> StoreResult<()>;
}

sql_impl! {
    impl RelayStore for Tx {
        async fn relay_cursor(&mut self, relay: &str, authority: &LaCode) -> StoreResult<i64> {
            let found: Option<i64> = sqlx::query_scalar(
                "SELECT last_sequence FROM relay_cursors \
                 WHERE authority_code = $1 AND relay_name = $2",
            )
            .bind(authority.as_str())
            .bind(relay)
            .fetch_optional(&mut *self.conn)
            .await?;
            Ok(found.unwrap_or(0))
        }

        async fn set_relay_cursor(
            &mut self,
            relay: &str,
            authority: &LaCode,
            sequence: i64,
        ) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO relay_cursors (authority_code, relay_name, last_sequence) \
                 VALUES ($1, $2, $3) ON CONFLICT (authority_code, relay_name) \
                 DO UPDATE SET last_sequence = excluded.last_sequence \
                 WHERE relay_cursors.last_sequence < excluded.last_sequence",
            )
            .bind(authority.as_str())
            .bind(relay)
            .bind(sequence)
            .execute(&mut *self.conn)
            .await?;
            Ok(())
        }
    }
}
