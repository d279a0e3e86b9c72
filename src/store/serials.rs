//! Numbers of series (notice and payment numbers).

use async_trait::async_trait;

use super::StoreResult;
use super::tx::sql_impl;
use crate::domain::identifiers::LaCode;

/// Serial numbers, per authority and series.
#[async_trait]
pub trait SerialStore: Send {
    /// The next number of a series ("notice-2026", "payment"), starting at 1, in
    /// the order units ask. On PostgreSQL it is taken outside the unit (the
    /// counter is not held to commit, so units do not queue behind each other
    /// here), and a unit that rolls back leaves its number unused: a gap.
    async fn next_serial(&mut self, authority: &LaCode, series: &str) -> StoreResult<i64>;
}

sql_impl! {
    impl SerialStore for Tx {
        async fn next_serial(&mut self, authority: &LaCode, series: &str) -> StoreResult<i64> {
            const NEXT: &str = "INSERT INTO serials (authority_code, series, last_value) VALUES ($1, $2, 1) \
                 ON CONFLICT (authority_code, series) DO UPDATE SET last_value = serials.last_value + 1 \
                 RETURNING last_value";
            let query = sqlx::query_scalar(NEXT)
                .bind(authority.as_str())
                .bind(series);
            let serial: i64 = match &self.numbering {
                // Committed on its own at once: the row is locked for this one
                // statement, so concurrent units take numbers without waiting for each
                // other's commits. A number taken by a unit that then rolls back is
                // not used again (a gap), as with a database sequence.
                Some(numbering) => query.fetch_one(numbering).await?,
                // In this unit: the row stays locked until it commits (SQLite's
                // single writer serialises the units anyway).
                None => query.fetch_one(&mut *self.conn).await?,
            };
            Ok(serial)
        }
    }
}
