//! Retention: each authority's periods, versioned by date (see
//! `domain::retention`), and the purge of what is past them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::idempotency::UseCase;
use super::{App, Caller, Read, RequestId, ServiceError, ServiceResult};
use crate::domain::{
    FieldViolation,
    access::Operation,
    actor::Actor,
    identifiers::LaCode,
    measures::{self, CaseState},
    names,
    policy::Publication,
    retention::{self, RecordKind, RetentionPeriods, RetentionPolicy},
};
use crate::store::{NewAuditEvent, PurgedBatch, StoreError, StoreTx};

/// The subject the purge's audit events are recorded against.
pub const PURGE_SUBJECT: &str = "lea-notices/purge";

/// Whether the purge removes or pseudonymises `kind`: a new kind must say
/// (the match is exhaustive). Every kind is purged: registers (marks and what
/// is derived from them), breaches (decided breach cases, schools' requests
/// for a penalty notice, cases of the other measures), notices (with their
/// rectifications), payments and the access log.
pub fn purged(kind: RecordKind) -> bool {
    match kind {
        RecordKind::Registers
        | RecordKind::Breaches
        | RecordKind::Notices
        | RecordKind::Payments
        | RecordKind::AccessLog => true,
    }
}

/// The states of the other measures' cases nothing moves on from, by name.
fn final_case_states() -> Vec<&'static str> {
    CaseState::ALL
        .into_iter()
        .filter(|s| measures::is_final(*s))
        .map(CaseState::as_str)
        .collect()
}

/// `more`'s records added to `batch`'s (keys are listed by the caller).
fn merge(batch: &mut PurgedBatch, more: &PurgedBatch) {
    batch.selected += more.selected;
    batch.rows += more.rows;
    if batch.first_key.is_none() {
        batch.first_key.clone_from(&more.first_key);
    }
    if more.last_key.is_some() {
        batch.last_key.clone_from(&more.last_key);
    }
}

/// What a purge did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Batches committed (each one transaction and one audit event).
    pub batches: usize,
    /// Records selected by those batches (marks, notices, payments), by kind.
    pub records: std::collections::BTreeMap<&'static str, i64>,
    /// Audit events whose details were erased.
    pub audit_details_erased: i64,
    /// Stopped at the batch limit with more perhaps left.
    pub stopped_early: bool,
}

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

impl App {
    /// Removes or irreversibly pseudonymises, for every authority, what is past
    /// retention on `on` (the periods in force that day), in batches of at most
    /// `batch_size` records: `lea-notices purge` and the server's scheduler.
    pub async fn purge(&self, on: NaiveDate, batch_size: i64) -> ServiceResult<PurgeReport> {
        self.purge_batches(on, batch_size, None).await
    }

    /// [`App::purge`], stopping after `max_batches` batches (`None`: none left).
    /// Each batch is one unit of work with its own audit event
    /// (`retention.purged`) and selects by the cut-off: a purge stopped between
    /// batches is finished by the next, and two at once take turns (a lock per
    /// authority and kind), so each record is purged and counted once.
    pub async fn purge_batches(
        &self,
        on: NaiveDate,
        batch_size: i64,
        max_batches: Option<usize>,
    ) -> ServiceResult<PurgeReport> {
        let batch_size = batch_size.max(1);
        let authorities = self
            .read(|_, mut tx| async move {
                let heads = tx.audit_chain_heads().await;
                (tx, heads.map_err(ServiceError::from))
            })
            .await?;
        // Whole school years first, where the register is partitioned.
        let mut report = self.drop_past_register_years(on).await?;
        for (code, _) in authorities {
            let Ok(authority) = LaCode::parse(&code) else {
                continue;
            };
            for kind in RecordKind::ALL.into_iter().filter(|k| purged(*k)) {
                let mut after = String::new();
                loop {
                    if max_batches.is_some_and(|max| report.batches >= max) {
                        report.stopped_early = true;
                        return Ok(report);
                    }
                    let la = authority.clone();
                    let from = after.clone();
                    let done = self
                        .write(move |app, mut tx| async move {
                            let result =
                                purge_batch(&mut *tx, &app, &la, kind, on, batch_size, &from).await;
                            (tx, result)
                        })
                        .await?;
                    let Some((batch, erased)) = done else { break };
                    if let Some(upn) = &batch.resume_after {
                        after.clone_from(upn);
                    }
                    report.batches += 1;
                    *report.records.entry(kind.as_str()).or_default() += batch.selected;
                    report.audit_details_erased += erased;
                    if batch.selected < batch_size {
                        break;
                    }
                }
            }
        }
        if report.batches > 0 {
            tracing::info!(%on, batches = report.batches, "records past retention purged");
        }
        Ok(report)
    }
}

/// One batch of `kind` for `authority`: `None` when there was nothing to do
/// (and nothing was written).
async fn purge_batch(
    tx: &mut dyn StoreTx,
    app: &App,
    authority: &LaCode,
    kind: RecordKind,
    on: NaiveDate,
    batch_size: i64,
    after_upn: &str,
) -> ServiceResult<Option<(PurgedBatch, i64)>> {
    tx.lock_purge(authority, kind.as_str()).await?;
    let policy = retention_in_force(tx, authority, on).await?;
    let cut_off = policy.cut_off(kind, on);
    // The resources whose audit details go with the batch's records.
    let mut resources: Vec<String> = Vec::new();
    let (batch, mut erased) = match kind {
        RecordKind::Registers => {
            let batch = tx
                .purge_register_batch(authority, cut_off, batch_size, after_upn)
                .await?;
            // The last batch: the audit details of every recording of marks up
            // to the cut-off go too (their details name pupils).
            let erased = if batch.selected < batch_size {
                let before = cut_off
                    .succ_opt()
                    .unwrap_or(cut_off)
                    .and_hms_opt(0, 0, 0)
                    .map(|t| t.and_utc())
                    .unwrap_or_default();
                tx.erase_audit_details_before(authority, "attendance.", before)
                    .await? as i64
            } else {
                0
            };
            (batch, erased)
        }
        RecordKind::Breaches => {
            // Breach cases, then schools' requests, then the other measures'
            // cases, at most `batch_size` records in all.
            let register_cut_off = policy.cut_off(RecordKind::Registers, on);
            let mut batch = tx
                .delete_breach_case_batch(authority, cut_off, register_cut_off, batch_size)
                .await?;
            resources.extend(
                batch
                    .keys
                    .iter()
                    .filter_map(|k| k.parse().ok())
                    .map(|id| names::breach_name(authority, id)),
            );
            let left = batch_size - batch.selected;
            if left > 0 {
                let requests = tx
                    .delete_penalty_notice_request_batch(authority, cut_off, left)
                    .await?;
                resources.extend(
                    requests
                        .keys
                        .iter()
                        .filter_map(|k| k.parse().ok())
                        .map(|n| names::penalty_notice_request_name(authority, n)),
                );
                merge(&mut batch, &requests);
            }
            let left = batch_size - batch.selected;
            if left > 0 {
                let cases = tx
                    .delete_measure_case_batch(authority, cut_off, left, &final_case_states())
                    .await?;
                resources.extend(
                    cases
                        .keys
                        .iter()
                        .filter_map(|k| k.parse().ok())
                        .map(|n| names::case_name(authority, n)),
                );
                merge(&mut batch, &cases);
            }
            (batch, 0)
        }
        RecordKind::Notices => {
            let batch = tx
                .pseudonymise_notice_batch(authority, cut_off, batch_size)
                .await?;
            resources.extend(batch.keys.iter().map(|k| names::notice_name(authority, k)));
            (batch, 0)
        }
        RecordKind::Payments => {
            let batch = tx.clear_payer_batch(authority, cut_off, batch_size).await?;
            resources.extend(batch.keys.iter().map(|k| names::payment_name(authority, k)));
            (batch, 0)
        }
        RecordKind::AccessLog => (
            tx.delete_access_log_batch(authority, cut_off, batch_size)
                .await?,
            0,
        ),
    };
    for resource in &resources {
        erased += tx.erase_audit_details_of(authority, resource).await? as i64;
    }
    if batch.selected == 0 && erased == 0 {
        return Ok(None);
    }
    let now = app.now();
    tx.append_audit(&NewAuditEvent {
        authority,
        at: now,
        actor: &Actor::service(PURGE_SUBJECT),
        action: "retention.purged",
        resource: &format!(
            "{}/retention/{}",
            names::authority_name(authority),
            kind.as_str()
        ),
        request_id: &format!("purge-{on}"),
        details: serde_json::json!({
            "kind": kind.as_str(),
            "on": on,
            "cut_off": cut_off,
            "count": batch.selected,
            "rows": batch.rows,
            "first_key": batch.first_key,
            "last_key": batch.last_key,
            "audit_details_erased": erased,
        }),
    })
    .await?;
    Ok(Some((batch, erased)))
}
