//! Retention: each authority's periods, versioned by date (see
//! `domain::retention`), and the purge of what is past them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::idempotency::UseCase;
use super::{App, Caller, Read, RequestId, ServiceResult};
use crate::domain::{
    FieldViolation,
    access::Operation,
    identifiers::LaCode,
    names,
    policy::Publication,
    retention::{self, RetentionPeriods, RetentionPolicy},
};
use crate::store::{NewAuditEvent, StoreError, StoreTx};


const CREATE: UseCase = UseCase::CreateRetentionPolicyVersion;

/// What a retried create answers with.
#[derive(Serialize, Deserialize)]
struct Created {
    effective_from: NaiveDate,
}

/// The authority's own version starting on `effective_from`, read in `tx`.
async fn own_version(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    effective_from: NaiveDate,
) -> ServiceResult<RetentionPolicy> {
    tx.retention_policies(authority)
        .await?
        .into_iter()
        .find(|v| v.effective_from == Some(effective_from))
        .ok_or_else(|| {
            StoreError::Corrupt(format!("retention version {effective_from} vanished")).into()
        })
}

/// The retention periods in force for `authority` on `on`, read in `tx`.
pub(crate) async fn retention_in_force(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    on: NaiveDate,
) -> ServiceResult<RetentionPolicy> {
    let own = tx.retention_policies(authority).await?;
    Ok(retention::in_force(&own, on))
}

impl App {
    /// Publishes a version of the caller's authority's retention periods
    /// (validated by the caller's conversion: see `RetentionPeriods::validate`).
    pub async fn create_retention_policy_version(
        &self,
        caller: Caller,
        request: RequestId,
        version: Read<(NaiveDate, RetentionPeriods)>,
    ) -> ServiceResult<RetentionPolicy> {
        caller.check_allowed(Operation::ChangeRetentionPolicy)?;
        let (effective_from, periods) = version?;
        self.write(move |app, mut tx| async move {
            let result = app
                .create_retention_policy_version_in(
                    &mut *tx,
                    &caller,
                    &request,
                    effective_from,
                    periods,
                )
                .await;
            (tx, result)
        })
        .await
    }

    async fn create_retention_policy_version_in(
        &self,
        tx: &mut dyn StoreTx,
        caller: &Caller,
        request: &RequestId,
        effective_from: NaiveDate,
        periods: RetentionPeriods,
    ) -> ServiceResult<RetentionPolicy> {
        let authority = &caller.authority;
        let now = self.now();
        if let Some(kept) = request.claim::<Created>(tx, authority, CREATE, now).await? {
            return own_version(tx, authority, kept.effective_from).await;
        }
        let version = RetentionPolicy {
            effective_from: Some(effective_from),
            periods,
            published: Some(Publication {
                at: now,
                by: caller.actor.clone(),
            }),
        };
        match tx.insert_retention_policy(authority, &version).await {
            Err(StoreError::Duplicate(_)) => {
                return Err(FieldViolation::new(
                    "retention_policy_version.effective_from",
                    format!(
                        "authority {authority} already has a retention policy version \
                         effective from {effective_from}"
                    ),
                )
                .into());
            }
            other => other?,
        }
        tx.append_audit(&NewAuditEvent {
            authority,
            at: now,
            actor: &caller.actor,
            action: "retention_policy_version.created",
            resource: &names::retention_policy_version_name(authority, effective_from),
            request_id: &request.id,
            details: serde_json::json!({
                "effective_from": effective_from,
                "periods": &version.periods,
            }),
        })
        .await?;
        request
            .complete(tx, authority, CREATE, &Created { effective_from })
            .await?;
        Ok(version)
    }

    /// The caller's authority's retention periods in force on `on`: its own
    /// version or the defaults.
    pub async fn retention_policy_on(
        &self,
        caller: Caller,
        on: Read<NaiveDate>,
    ) -> ServiceResult<RetentionPolicy> {
        caller.check_allowed(Operation::ReadPolicy)?;
        let on = on?;
        self.read(move |_, mut tx| async move {
            let result = retention_in_force(&mut *tx, &caller.authority, on).await;
            (tx, result)
        })
        .await
    }
}

