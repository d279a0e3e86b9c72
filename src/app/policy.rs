//! Policy versions: each authority's local code of conduct, versioned by the
//! date it takes effect.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::idempotency::UseCase;
use super::{App, Caller, Read, RequestId, ServiceError, ServiceResult};
use crate::domain::{
    FieldViolation, RuleViolation,
    access::Operation,
    identifiers::LaCode,
    names,
    policy::{self, PolicyRules, PolicySource, PolicyVersion, Publication},
};
use crate::store::{NewAuditEvent, StoreError, StoreTx};

const CREATE: UseCase = UseCase::CreatePolicyVersion;

/// What a retried create answers with.
#[derive(Serialize, Deserialize)]
struct Created {
    effective_from: NaiveDate,
}

/// The policy in force on `on`, with its resource name, read in `tx`.
pub(crate) async fn policy_in_force(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    on: NaiveDate,
) -> ServiceResult<(PolicyVersion, String)> {
    let own = tx.policy_versions(authority, None, i64::MAX).await?;
    let version = policy::in_force(&own, on).ok_or_else(|| {
        RuleViolation::new(
            "NO_POLICY_IN_FORCE",
            on.to_string(),
            format!("no penalty notice regime was in force on {on}"),
        )
    })?;
    let name = match version.source {
        PolicySource::Authority => names::policy_version_name(authority, version.effective_from),
        PolicySource::National => names::national_regime_name(version.effective_from),
    };
    Ok((version, name))
}

/// The authority's own version starting on `effective_from`, read in `tx`.
async fn own_version(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    effective_from: NaiveDate,
) -> ServiceResult<PolicyVersion> {
    let after = effective_from.pred_opt();
    tx.policy_versions(authority, after, 1)
        .await?
        .into_iter()
        .find(|v| v.effective_from == effective_from)
        .ok_or_else(|| {
            StoreError::Corrupt(format!("policy version {effective_from} vanished")).into()
        })
}

impl App {
    /// Publishes a new version of the caller's authority's policy (validated
    /// against the law by the caller's conversion: see `PolicyRules::validate`).
    pub async fn create_policy_version(
        &self,
        caller: Caller,
        request: RequestId,
        version: Read<(NaiveDate, PolicyRules)>,
    ) -> ServiceResult<PolicyVersion> {
        caller.check_allowed(Operation::CreatePolicyVersion)?;
        let (effective_from, rules) = version?;
        self.write(move |app, mut tx| async move {
            let result = app
                .create_policy_version_in(&mut *tx, &caller, &request, effective_from, rules)
                .await;
            (tx, result)
        })
        .await
    }

    async fn create_policy_version_in(
        &self,
        tx: &mut dyn StoreTx,
        caller: &Caller,
        request: &RequestId,
        effective_from: NaiveDate,
        rules: PolicyRules,
    ) -> ServiceResult<PolicyVersion> {
        let authority = &caller.authority;
        let now = self.now();
        if let Some(kept) = request.claim::<Created>(tx, authority, CREATE, now).await? {
            return own_version(tx, authority, kept.effective_from).await;
        }
        let version = PolicyVersion {
            effective_from,
            source: PolicySource::Authority,
            rules,
            published: Some(Publication {
                at: now,
                by: caller.actor.clone(),
            }),
        };
        match tx.insert_policy_version(authority, &version).await {
            Err(StoreError::Duplicate(_)) => {
                return Err(FieldViolation::new(
                    "policy_version.effective_from",
                    format!("authority {authority} already has a version effective from {effective_from}"),
                )
                .into());
            }
            other => other?,
        }
        tx.append_audit(&NewAuditEvent {
            authority,
            at: now,
            actor: &caller.actor,
            action: "policy_version.created",
            resource: &names::policy_version_name(authority, effective_from),
            request_id: &request.id,
            details: serde_json::json!({
                "effective_from": effective_from,
                "rules": &version.rules,
            }),
        })
        .await?;
        request
            .complete(tx, authority, CREATE, &Created { effective_from })
            .await?;
        Ok(version)
    }

    /// The version in force on `on`: the authority's own or a national regime.
    pub async fn policy_on(
        &self,
        caller: Caller,
        on: Read<NaiveDate>,
    ) -> ServiceResult<PolicyVersion> {
        caller.check_allowed(Operation::ReadPolicy)?;
        let on = on?;
        self.read(move |_, mut tx| async move {
            let result = async {
                let own = tx
                    .policy_versions(&caller.authority, None, i64::MAX)
                    .await?;
                policy::in_force(&own, on).ok_or_else(|| {
                    ServiceError::NotFound(format!(
                        "a policy in force on {on} (penalty notices exist from {})",
                        policy::FIRST_REGIME_FROM
                    ))
                })
            }
            .await;
            (tx, result)
        })
        .await
    }

    /// The authority's own versions starting after `after`, oldest first.
    pub async fn list_policy_versions(
        &self,
        caller: Caller,
        listing: Read<(Option<NaiveDate>, i64)>,
    ) -> ServiceResult<Vec<PolicyVersion>> {
        caller.check_allowed(Operation::ReadPolicy)?;
        let (after, limit) = listing?;
        self.read(move |_, mut tx| async move {
            let result = tx.policy_versions(&caller.authority, after, limit).await;
            (tx, result.map_err(ServiceError::from))
        })
        .await
    }
}
