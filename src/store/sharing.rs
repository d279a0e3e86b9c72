//! Sharing agreements between authorities, versioned by effective date.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::StoreResult;
use super::rows::{join_list, split_list};
use super::tx::{duplicate_as, sql_impl};
use crate::domain::actor::{Actor, Role};
use crate::domain::identifiers::LaCode;
use crate::domain::sharing::SharingAgreementVersion;

#[derive(sqlx::FromRow)]
struct VersionRow {
    effective_from: NaiveDate,
    shares_with: String,
    created_at: DateTime<Utc>,
    created_by_subject: String,
    created_by_role: String,
}

/// Each authority's sharing agreement versions.
#[async_trait]
pub trait SharingStore: Send {
    /// Inserts a version; `Duplicate` if the authority has one from that date.
    async fn insert_sharing_agreement_version(
        &mut self,
        authority: &LaCode,
        version: &SharingAgreementVersion,
    ) -> StoreResult<()>;

    /// Every version of an authority's agreement, oldest first.
    async fn sharing_agreement_versions(
        &mut self,
        authority: &LaCode,
    ) -> StoreResult<Vec<SharingAgreementVersion>>;
}

sql_impl! {
    impl SharingStore for Tx {
        async fn insert_sharing_agreement_version(
            &mut self,
            authority: &LaCode,
            v: &SharingAgreementVersion,
        ) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO sharing_agreement_versions (authority_code, effective_from, \
                 shares_with, created_at, created_by_subject, created_by_role) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(authority.as_str())
            .bind(v.effective_from)
            .bind(join_list(v.shares_with.iter().map(LaCode::as_str)))
            .bind(v.published_at)
            .bind(&v.published_by.subject)
            .bind(v.published_by.role_str())
            .execute(&mut *self.conn)
            .await
            .map_err(duplicate_as(|| {
                format!(
                    "sharing agreement of authority {authority} effective from {}",
                    v.effective_from
                )
            }))?;
            Ok(())
        }

        async fn sharing_agreement_versions(
            &mut self,
            authority: &LaCode,
        ) -> StoreResult<Vec<SharingAgreementVersion>> {
            let rows: Vec<VersionRow> = sqlx::query_as(
                "SELECT effective_from, shares_with, created_at, created_by_subject, \
                 created_by_role FROM sharing_agreement_versions WHERE authority_code = $1 \
                 ORDER BY effective_from",
            )
            .bind(authority.as_str())
            .fetch_all(&mut *self.conn)
            .await?;
            rows.into_iter()
                .map(|r| {
                    Ok(SharingAgreementVersion {
                        effective_from: r.effective_from,
                        shares_with: split_list("shares_with", &r.shares_with, |s| {
                            LaCode::parse(s).ok()
                        })?,
                        published_at: r.created_at,
                        published_by: Actor {
                            subject: r.created_by_subject,
                            role: Role::parse(&r.created_by_role),
                        },
                    })
                })
                .collect()
        }
    }
}
