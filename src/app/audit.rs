//! The audit log as a whole: listing every kind of event, and verifying the
//! hash chain (see `domain::audit`).

use chrono::{DateTime, Utc};

use super::{App, Caller, Read, ServiceResult};
use crate::domain::{
    access::Operation,
    audit::{ChainSummary, ChainWalk, Checkpoint},
    identifiers::LaCode,
};
use crate::store::{AuditEvent, AuditFilter, StoreTx};

/// Events read per query while verifying: memory stays bounded for a log of
/// any length.
const VERIFY_PAGE: i64 = 5_000;

/// Which audit events to list: every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub resource: Option<String>,
    pub action: Option<String>,
    /// At or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Before this instant.
    pub to: Option<DateTime<Utc>>,
}

impl App {
    /// The caller's authority's audit events matching `query` after
    /// `after_event_id`, oldest first.
    pub async fn list_audit_events(
        &self,
        caller: Caller,
        asked: Read<(AuditQuery, i64, i64)>,
    ) -> ServiceResult<Vec<AuditEvent>> {
        caller.check_allowed(Operation::ReadAuditLog)?;
        let (query, after_event_id, limit) = asked?;
        self.read(move |_, mut tx| async move {
            let filter = AuditFilter {
                resource: query.resource.as_deref(),
                action: query.action.as_deref(),
                from: query.from,
                to: query.to,
            };
            let result = tx
                .audit_events(&caller.authority, &filter, after_event_id, limit)
                .await;
            (tx, result.map_err(Into::into))
        })
        .await
    }

    /// Verifies `authority`'s hash chain, for an operator with access to the
    /// database (`lea-notices verify-audit`) and for VerifyAuditTrail (see
    /// `checkpoints`): every event from the first, in one snapshot, against the
    /// chain head, and against `checkpoint` when one is given (its signature
    /// already checked).
    pub async fn verify_audit_chain(
        &self,
        authority: LaCode,
        checkpoint: Option<Checkpoint>,
    ) -> ServiceResult<ChainSummary> {
        let checked = checkpoint.is_some();
        let label = authority.as_str().to_string();
        let summary = self
            .read(move |_, mut tx| async move {
                let result = walk_chain(&mut *tx, &authority, checkpoint.as_ref()).await;
                (tx, result)
            })
            .await?;
        // Counted for the alert on a trail that does not hold
        // (lea_audit_verification_failures_total).
        let failed = if !summary.intact() {
            Some("chain_broken")
        } else if checked && !summary.checkpoint_matched {
            Some("checkpoint_not_matched")
        } else {
            None
        };
        if let Some(reason) = failed {
            crate::server::metrics::metrics()
                .audit_verification_failures
                .with_label_values(&[label.as_str(), reason])
                .inc();
        }
        Ok(summary)
    }
}

async fn walk_chain(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    checkpoint: Option<&Checkpoint>,
) -> ServiceResult<ChainSummary> {
    let mut walk = ChainWalk::new(authority.as_str()).expecting(checkpoint);
    loop {
        let page = tx
            .audit_chain(authority, walk.last_event_id(), VERIFY_PAGE)
            .await?;
        for event in &page {
            if let Err(broken) = walk.check(event) {
                return Ok(walk.broken(broken));
            }
        }
        if (page.len() as i64) < VERIFY_PAGE {
            break;
        }
    }
    let head = tx.audit_chain_head(authority).await?;
    Ok(walk.finish(head.as_ref()))
}
