// SQL that PostgreSQL and SQLite both accept, compiled into each backend module
// with `include!`. The including module defines:
// - `Db`: its sqlx database type;
// - `INSERT_AUDIT_EVENT`: its audit insert (ids come from an identity column on
//   PostgreSQL and from the single writer on SQLite), binding the same $1..$8.
// Everything here runs inside that backend's own types; nothing is dynamic.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Pool;

use super::rows::{join_list, policy_version_columns, AuditEventRow, PolicyVersionRow, StoredRequestRow};
use super::{AuditEvent, NewAuditEvent, RequestKey, StoreError, StoreResult, StoreTx, StoredRequest};
use crate::domain::{identifiers::LaCode, policy::PolicyVersion};

/// A write transaction.
pub struct Tx {
    tx: sqlx::Transaction<'static, Db>,
}

/// Maps a unique-key violation to `Duplicate(what)`.
fn duplicate_as(what: impl FnOnce() -> String) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate(what()),
        _ => StoreError::Database(e),
    }
}

#[async_trait]
impl StoreTx for Tx {
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
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(None);
        }
        let row: StoredRequestRow = sqlx::query_as(
            "SELECT method, fingerprint, response FROM idempotency_keys \
             WHERE authority_code = $1 AND request_id = $2",
        )
        .bind(key.authority.as_str())
        .bind(key.request_id)
        .fetch_one(&mut *self.tx)
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
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn append_audit(&mut self, event: &NewAuditEvent<'_>) -> StoreResult<i64> {
        let id: i64 = sqlx::query_scalar(INSERT_AUDIT_EVENT)
            .bind(event.authority.as_str())
            .bind(event.at)
            .bind(&event.actor.subject)
            .bind(event.actor.role_str())
            .bind(event.action)
            .bind(event.resource)
            .bind(event.request_id)
            .bind(event.details.to_string())
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(id)
    }

    async fn insert_policy_version(&mut self, authority: &LaCode, v: &PolicyVersion) -> StoreResult<()> {
        let r = &v.rules;
        let published = v
            .published
            .as_ref()
            .ok_or_else(|| StoreError::Corrupt("an authority's version needs its publication".into()))?;
        sqlx::query(concat!(
            "INSERT INTO policy_versions (authority_code, ",
            policy_version_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20, $21)"
        ))
        .bind(authority.as_str())
        .bind(v.effective_from)
        .bind(r.lower_amount_pence)
        .bind(r.lower_period_days)
        .bind(r.higher_amount_pence)
        .bind(r.higher_period_days)
        .bind(r.second_notice_amount_pence)
        .bind(r.threshold.sessions)
        .bind(r.threshold.window_school_weeks)
        .bind(join_list(r.threshold.qualifying_codes.iter().map(String::as_str)))
        .bind(r.max_notices_per_parent_per_child)
        .bind(r.notice_limit_period_years)
        .bind(r.notice_to_improve_min_school_weeks)
        .bind(r.notice_to_improve_max_school_weeks)
        .bind(join_list(r.notice_to_improve_required_for.iter().map(|x| x.as_str())))
        .bind(join_list(r.permitted_issuers.iter().map(|x| x.as_str())))
        .bind(r.request_deadline_school_days)
        .bind(r.part_payments_accepted)
        .bind(published.at)
        .bind(&published.by.subject)
        .bind(published.by.role_str())
        .execute(&mut *self.tx)
        .await
        .map_err(duplicate_as(|| {
            format!("a policy version of authority {authority} effective from {}", v.effective_from)
        }))?;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

async fn select_policy_versions(
    pool: &Pool<Db>,
    authority: &LaCode,
    after: Option<NaiveDate>,
    limit: i64,
) -> StoreResult<Vec<PolicyVersion>> {
    let rows: Vec<PolicyVersionRow> = sqlx::query_as(concat!(
        "SELECT ",
        policy_version_columns!(),
        " FROM policy_versions \
         WHERE authority_code = $1 AND ($2 IS NULL OR effective_from > $2) \
         ORDER BY effective_from LIMIT $3"
    ))
    .bind(authority.as_str())
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(PolicyVersion::try_from).collect()
}

async fn select_audit_events(
    pool: &Pool<Db>,
    authority: &LaCode,
    resource: Option<&str>,
    after_event_id: i64,
    limit: i64,
) -> StoreResult<Vec<AuditEvent>> {
    let rows: Vec<AuditEventRow> = sqlx::query_as(
        "SELECT event_id, occurred_at, actor_subject, actor_role, action, resource, request_id, details \
         FROM audit_events \
         WHERE authority_code = $1 AND ($2 IS NULL OR resource = $2) AND event_id > $3 \
         ORDER BY event_id LIMIT $4",
    )
    .bind(authority.as_str())
    .bind(resource)
    .bind(after_event_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(AuditEvent::try_from).collect()
}
