//! The events on the statutory dates already recorded, one per resource and
//! kind, and how far each authority's statutory dates have been looked at.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::StoreResult;
use super::tx::sql_impl;
use crate::domain::identifiers::LaCode;

/// The scheduler's record of events on statutory dates.
#[async_trait]
pub trait StatutoryEventStore: Send {
    /// Takes the key of `resource`'s event of `kind`: `true` when this unit
    /// took it (append the event in the same unit), `false` when it was taken
    /// already (by another replica, or an earlier round). On PostgreSQL a
    /// concurrent unit taking the same key waits for this one to end.
    async fn claim_statutory_event(
        &mut self,
        authority: &LaCode,
        (resource, kind): (&str, &str),
        statutory_date: NaiveDate,
        emitted_at: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// The day of the authority's last completed round; `None` before its first.
    async fn statutory_event_progress(
        &mut self,
        authority: &LaCode,
    ) -> StoreResult<Option<NaiveDate>>;

    /// Records a completed round on `day`; the day only moves forward.
    async fn advance_statutory_event_progress(
        &mut self,
        authority: &LaCode,
        day: NaiveDate,
    ) -> StoreResult<()>;
}

sql_impl! {
    impl StatutoryEventStore for Tx {
        async fn claim_statutory_event(
            &mut self,
            authority: &LaCode,
            (resource, kind): (&str, &str),
            statutory_date: NaiveDate,
            emitted_at: DateTime<Utc>,
        ) -> StoreResult<bool> {
            let result = sqlx::query(
                "INSERT INTO statutory_events \
                   (authority_code, resource, kind, statutory_date, emitted_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (authority_code, resource, kind) DO NOTHING",
            )
            .bind(authority.as_str())
            .bind(resource)
            .bind(kind)
            .bind(statutory_date)
            .bind(emitted_at)
            .execute(self.conn())
            .await?;
            Ok(DB::rows_affected(&result) == 1)
        }

        async fn statutory_event_progress(
            &mut self,
            authority: &LaCode,
        ) -> StoreResult<Option<NaiveDate>> {
            Ok(sqlx::query_scalar(
                "SELECT through_date FROM statutory_event_progress WHERE authority_code = $1",
            )
            .bind(authority.as_str())
            .fetch_optional(self.conn())
            .await?)
        }

        async fn advance_statutory_event_progress(
            &mut self,
            authority: &LaCode,
            day: NaiveDate,
        ) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO statutory_event_progress (authority_code, through_date) VALUES ($1, $2) \
                 ON CONFLICT (authority_code) DO UPDATE SET through_date = excluded.through_date \
                 WHERE statutory_event_progress.through_date < excluded.through_date",
            )
            .bind(authority.as_str())
            .bind(day)
            .execute(self.conn())
            .await?;
            Ok(())
        }
    }
}
