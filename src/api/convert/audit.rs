//! AuditService messages ⇄ the audit log's use cases.

use chrono::{DateTime, Utc};

use super::timestamp_to_proto;
use crate::api::caller::role_to_proto;
use crate::api::error::Violations;
use crate::api::pagination::{self, PageRequest};
use crate::app::checkpoints::{self, SignedCheckpoint};
use crate::app::{AuditQuery, ServiceResult};
use crate::domain::{
    FieldViolation,
    actor::Role,
    audit::{BreakKind, ChainSummary, Checkpoint},
    names,
};
use crate::proto::v1 as pb;
use crate::store::AuditEvent;

/// An optional instant: unset is `None`.
pub(crate) fn optional_instant(
    field: &str,
    t: Option<&prost_types::Timestamp>,
) -> Result<Option<DateTime<Utc>>, FieldViolation> {
    t.map(|t| {
        u32::try_from(t.nanos)
            .ok()
            .and_then(|nanos| DateTime::from_timestamp(t.seconds, nanos))
            .ok_or_else(|| FieldViolation::new(field, "not a valid timestamp"))
    })
    .transpose()
}

/// An action as the log names them: `resource_type.verb`, lower case.
fn action_filter(action: &str) -> Result<Option<String>, FieldViolation> {
    if action.is_empty() {
        return Ok(None);
    }
    let part = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    match action.split_once('.') {
        Some((kind, verb)) if part(kind) && part(verb) => Ok(Some(action.to_string())),
        _ => Err(FieldViolation::new(
            "action",
            format!("'{action}' is not an action such as payment.recorded"),
        )),
    }
}

/// A ListAuditEvents request: the filter, and the page after an event id.
pub(crate) fn audit_page(
    req: &pb::ListAuditEventsRequest,
) -> ServiceResult<PageRequest<AuditQuery, i64>> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    if !req.resource.is_empty() && !req.resource.starts_with(&format!("{}/", req.parent)) {
        v.push(FieldViolation::new(
            "resource",
            format!("'{}' is not a resource of {}", req.resource, req.parent),
        ));
    }
    let action = v.check(action_filter(&req.action));
    let from = v.check(optional_instant("start_time", req.start_time.as_ref()));
    let to = v.check(optional_instant("end_time", req.end_time.as_ref()));
    if let (Some(Some(from)), Some(Some(to))) = (from, to)
        && to <= from
    {
        v.push(FieldViolation::new("end_time", "must be after start_time"));
    }
    let size = v.check(pagination::page_size("page_size", req.page_size));
    let mut token_request = req.clone();
    token_request.page_token.clear();
    token_request.page_size = 0;
    let filter = format!("{token_request:?}");
    let after = v.check(pagination::decode_id(
        "page_token",
        &req.page_token,
        &filter,
    ));
    let (((action, (from, to)), size), after) =
        v.finish(action.zip(from.zip(to)).zip(size).zip(after))?;
    Ok(PageRequest {
        query: AuditQuery {
            resource: Some(req.resource.clone()).filter(|r| !r.is_empty()),
            action,
            from,
            to,
        },
        size,
        after: Some(after),
        filter,
    })
}

pub(crate) fn audit_event_to_proto(e: AuditEvent) -> pb::AuditEvent {
    pb::AuditEvent {
        event_id: e.event_id,
        event_time: Some(timestamp_to_proto(e.at)),
        actor: Some(pb::Actor {
            subject: e.actor_subject,
            role: role_to_proto(Role::parse(&e.actor_role)) as i32,
        }),
        action: e.action,
        resource: e.resource,
        request_id: e.request_id,
        details_json: e.details.to_string(),
        previous_hash: e.prev_hash.unwrap_or_default(),
        hash: e.hash.unwrap_or_default(),
    }
}

fn break_kind_to_proto(kind: BreakKind) -> pb::AuditChainBreakKind {
    match kind {
        BreakKind::EventAltered => pb::AuditChainBreakKind::EventAltered,
        BreakKind::LinkBroken => pb::AuditChainBreakKind::LinkBroken,
        BreakKind::UnchainedEvent => pb::AuditChainBreakKind::UnchainedEvent,
        BreakKind::HeadMismatch => pb::AuditChainBreakKind::HeadMismatch,
        BreakKind::CheckpointRewritten => pb::AuditChainBreakKind::CheckpointRewritten,
        BreakKind::CheckpointTruncated => pb::AuditChainBreakKind::CheckpointTruncated,
    }
}

pub(crate) fn verification_to_proto(s: ChainSummary) -> pb::VerifyAuditTrailResponse {
    pb::VerifyAuditTrailResponse {
        intact: s.intact(),
        events_checked: s.events_checked,
        unchained_events: s.unchained_events,
        last_event_id: s.last_event_id,
        last_hash: s.last_hash,
        first_break: s.first_break.map(|b| pb::AuditChainBreak {
            event_id: b.event_id,
            kind: break_kind_to_proto(b.kind) as i32,
            description: b.description,
        }),
        checkpoint_matched: s.checkpoint_matched,
        erased_events: s.erased_events,
    }
}

/// A checkpoint an auditor gives back, its fields checked (its signature is
/// checked by the use case, against the server's key); violations are named
/// under `checkpoint`.
pub(crate) fn checkpoint_from_proto(c: &pb::AuditCheckpoint) -> ServiceResult<SignedCheckpoint> {
    let mut v = Violations::new();
    let authority = v.check(names::parse_authority("checkpoint.authority", &c.authority));
    let taken_at = match &c.checkpoint_time {
        None => {
            v.push(FieldViolation::new(
                "checkpoint.checkpoint_time",
                "required",
            ));
            None
        }
        Some(t) => v
            .check(optional_instant("checkpoint.checkpoint_time", Some(t)))
            .flatten(),
    };
    let public_key = v.check(<[u8; 32]>::try_from(c.public_key.as_slice()).map_err(|_| {
        FieldViolation::new("checkpoint.public_key", "an Ed25519 public key is 32 bytes")
    }));
    let signature = v.check(<[u8; 64]>::try_from(c.signature.as_slice()).map_err(|_| {
        FieldViolation::new("checkpoint.signature", "an Ed25519 signature is 64 bytes")
    }));
    let checkpoint = match (authority, taken_at) {
        (Some(authority), Some(taken_at)) => v.check(
            checkpoints::checked(Checkpoint {
                authority: authority.as_str().to_string(),
                event_id: c.event_id,
                event_hash: c.event_hash.clone(),
                taken_at,
            })
            .map_err(|e| e.nested_under("checkpoint")),
        ),
        _ => None,
    };
    let ((checkpoint, public_key), signature) =
        v.finish(checkpoint.zip(public_key).zip(signature))?;
    Ok(SignedCheckpoint {
        checkpoint,
        public_key,
        signature,
    })
}

pub(crate) fn checkpoint_to_proto(s: &SignedCheckpoint) -> pb::AuditCheckpoint {
    pb::AuditCheckpoint {
        authority: format!("authorities/{}", s.checkpoint.authority),
        event_id: s.checkpoint.event_id,
        event_hash: s.checkpoint.event_hash.clone(),
        checkpoint_time: Some(timestamp_to_proto(s.checkpoint.taken_at)),
        public_key: s.public_key.to_vec(),
        signature: s.signature.to_vec(),
    }
}
