//! Each authority's retention periods, versioned by effective date.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::tx::{duplicate_as, sql_impl};
use super::{StoreError, StoreResult};
use crate::domain::actor::{Actor, Role};
use crate::domain::identifiers::LaCode;
use crate::domain::policy::Publication;
use crate::domain::retention::{RetentionPeriods, RetentionPolicy};

#[derive(sqlx::FromRow)]
struct RetentionRow {
    effective_from: NaiveDate,
    register_years: i32,
    breach_years: i32,
    notice_years: i32,
    payment_years: i32,
    access_log_years: i32,
    created_at: DateTime<Utc>,
    created_by_subject: String,
    created_by_role: String,
}

impl From<RetentionRow> for RetentionPolicy {
    fn from(r: RetentionRow) -> Self {
        RetentionPolicy {
            effective_from: Some(r.effective_from),
            periods: RetentionPeriods {
                register_years: r.register_years,
                breach_years: r.breach_years,
                notice_years: r.notice_years,
                payment_years: r.payment_years,
                access_log_years: r.access_log_years,
            },
            published: Some(Publication {
                at: r.created_at,
                by: Actor {
                    subject: r.created_by_subject,
                    role: Role::parse(&r.created_by_role),
                },
            }),
        }
    }
}

/// Retention periods, versioned by effective date.
#[async_trait]
pub trait RetentionStore: Send {
    /// Inserts a version of an authority's retention periods; `Duplicate` if
    /// one starts on that date.
    async fn insert_retention_policy(
        &mut self,
        authority: &LaCode,
        version: &RetentionPolicy,
    ) -> StoreResult<()>;

    /// Every version of an authority's retention periods, oldest first.
    async fn retention_policies(&mut self, authority: &LaCode)
    -> StoreResult<Vec<RetentionPolicy>>;
}

sql_impl! {
    impl RetentionStore for Tx {
        async fn insert_retention_policy(
            &mut self,
            authority: &LaCode,
            v: &RetentionPolicy,
        ) -> StoreResult<()> {
            let (Some(effective_from), Some(published)) = (v.effective_from, &v.published) else {
                return Err(StoreError::Corrupt(
                    "an authority's retention version needs its date and publication".into(),
                ));
            };
            let p = &v.periods;
            sqlx::query(
                "INSERT INTO retention_policy_versions (authority_code, effective_from, \
                 register_years, breach_years, notice_years, payment_years, access_log_years, \
                 created_at, created_by_subject, created_by_role) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(authority.as_str())
            .bind(effective_from)
            .bind(p.register_years)
            .bind(p.breach_years)
            .bind(p.notice_years)
            .bind(p.payment_years)
            .bind(p.access_log_years)
            .bind(published.at)
            .bind(&published.by.subject)
            .bind(published.by.role_str())
            .execute(&mut *self.conn)
            .await
            .map_err(duplicate_as(|| {
                format!(
                    "a retention policy version of authority {authority} effective from \
                     {effective_from}"
                )
            }))?;
            Ok(())
        }

        async fn retention_policies(
            &mut self,
            authority: &LaCode,
        ) -> StoreResult<Vec<RetentionPolicy>> {
            let rows: Vec<RetentionRow> = sqlx::query_as(
                "SELECT effective_from, register_years, breach_years, notice_years, \
                 payment_years, access_log_years, created_at, created_by_subject, \
                 created_by_role FROM retention_policy_versions WHERE authority_code = $1 \
                 ORDER BY effective_from",
            )
            .bind(authority.as_str())
            .fetch_all(&mut *self.conn)
            .await?;
            Ok(rows.into_iter().map(RetentionPolicy::from).collect())
        }

    }
}
