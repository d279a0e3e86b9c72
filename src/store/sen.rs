//! Each pupil's SEN status by the date it applies from (see `domain::sen`).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::dialect::Dialect;
use super::tx::sql_impl;
use super::{StoreError, StoreResult};
use crate::domain::identifiers::LaCode;
use crate::domain::sen::{SenProvision, SenRecord, SenSource};

#[derive(sqlx::FromRow)]
struct SenRow {
    upn: String,
    effective_from: NaiveDate,
    sen_provision: String,
    source: String,
}

impl TryFrom<SenRow> for (String, SenRecord) {
    type Error = StoreError;

    fn try_from(r: SenRow) -> StoreResult<Self> {
        // The value is not quoted: it is the pupil's personal data.
        let provision = SenProvision::from_code(&r.sen_provision)
            .ok_or_else(|| StoreError::Corrupt("a pupil's sen_provision".into()))?;
        let source = SenSource::parse(&r.source)
            .ok_or_else(|| StoreError::Corrupt(format!("SEN status source '{}'", r.source)))?;
        Ok((
            r.upn,
            SenRecord {
                effective_from: r.effective_from,
                provision,
                source,
            },
        ))
    }
}

/// Where a status written came from, for the row.
pub struct SenWrite<'a> {
    pub upn: &'a str,
    pub record: &'a SenRecord,
    pub recorded_at: DateTime<Utc>,
    pub request_id: &'a str,
}

/// Pupils' SEN status histories.
#[async_trait]
pub trait SenStore: Send {
    /// The histories of `upns` (any order), as `(upn, entry)`.
    async fn sen_histories(
        &mut self,
        authority: &LaCode,
        upns: &[String],
    ) -> StoreResult<Vec<(String, SenRecord)>>;

    /// Writes an entry: added, or replacing the pupil's entry of the same date.
    async fn put_sen_status(&mut self, authority: &LaCode, write: &SenWrite<'_>)
    -> StoreResult<()>;
}

/// What the SEN statuses' SQL needs of a backend beyond [`Dialect`].
pub(super) trait SenSql: Dialect {
    /// The entries of any of the pupils bound as `$2` (a list).
    const SEN_OF_PUPILS: &'static str;
}

/// [`SenSql::SEN_OF_PUPILS`] with the backend's `any_of!`.
macro_rules! sen_of_pupils {
    ($any_of:ident) => {
        concat!(
            "SELECT upn, effective_from, sen_provision, source FROM pupil_sen_statuses \
             WHERE authority_code = $1 AND upn ",
            $any_of!("$2"),
            " ORDER BY upn, effective_from"
        )
    };
}
pub(super) use sen_of_pupils;

/// The code of a pupil's status on a notice's issue date, over the rows of a
/// `notices` in scope (one more column of a notice's `SELECT`).
macro_rules! notice_sen_provision {
    () => {
        "(SELECT s.sen_provision FROM pupil_sen_statuses s \
           WHERE s.authority_code = notices.authority_code AND s.upn = notices.upn \
             AND s.effective_from <= notices.issue_date \
           ORDER BY s.effective_from DESC LIMIT 1)"
    };
}
pub(crate) use notice_sen_provision;

sql_impl! {
    impl SenStore for Tx where [DB: SenSql] {
        async fn sen_histories(
            &mut self,
            authority: &LaCode,
            upns: &[String],
        ) -> StoreResult<Vec<(String, SenRecord)>> {
            if upns.is_empty() {
                return Ok(vec![]);
            }
            let rows: Vec<SenRow> = sqlx::query_as(DB::SEN_OF_PUPILS)
                .bind(authority.as_str())
                .bind(DB::list_arg(upns))
                .fetch_all(self.conn())
                .await?;
            rows.into_iter().map(TryFrom::try_from).collect()
        }

        async fn put_sen_status(
            &mut self,
            authority: &LaCode,
            w: &SenWrite<'_>,
        ) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO pupil_sen_statuses (authority_code, upn, effective_from, \
                 sen_provision, source, recorded_at, request_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (authority_code, upn, effective_from) DO UPDATE SET \
                 sen_provision = excluded.sen_provision, source = excluded.source, \
                 recorded_at = excluded.recorded_at, request_id = excluded.request_id",
            )
            .bind(authority.as_str())
            .bind(w.upn)
            .bind(w.record.effective_from)
            .bind(w.record.provision.code())
            .bind(w.record.source.as_str())
            .bind(w.recorded_at)
            .bind(w.request_id)
            .execute(&mut *self.conn)
            .await?;
            Ok(())
        }
    }
}
