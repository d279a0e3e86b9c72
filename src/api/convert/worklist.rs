//! WorklistService: a listing's filter in, the items out.

use chrono::NaiveDate;

use super::{date_to_proto, optional_date};
use crate::api::error::Violations;
use crate::api::pagination::{self, PageRequest};
use crate::app::ServiceResult;
use crate::domain::{
    FieldViolation,
    identifiers::{LaCode, Urn},
    names,
    worklist::{Action, ActionKind, ActionSubject, WorklistQuery},
};
use crate::proto::v1 as pb;

/// The protocol's value of each kind; every kind is written out.
pub(crate) fn kind_to_proto(kind: ActionKind) -> pb::ActionKind {
    match kind {
        ActionKind::BreachPendingDecision => pb::ActionKind::BreachPendingDecision,
        ActionKind::PenaltyNoticeRequestPending => pb::ActionKind::PenaltyNoticeRequestPending,
        ActionKind::LowerRateEnding => pb::ActionKind::LowerRateEnding,
        ActionKind::UnpaidAfterPeriod => pb::ActionKind::UnpaidAfterPeriod,
        ActionKind::PaymentAfterProsecution => pb::ActionKind::PaymentAfterProsecution,
        ActionKind::PaymentUnallocated => pb::ActionKind::PaymentUnallocated,
        ActionKind::PaymentPartMatched => pb::ActionKind::PaymentPartMatched,
        ActionKind::RefundDue => pb::ActionKind::RefundDue,
        ActionKind::EvidenceCorrected => pb::ActionKind::EvidenceCorrected,
        ActionKind::ProsecutionBlockedByPayment => pb::ActionKind::ProsecutionBlockedByPayment,
    }
}

/// The kind a protocol value names; `None` for unset or unknown values.
fn kind_from_proto(value: i32) -> Option<ActionKind> {
    let wanted = pb::ActionKind::try_from(value).ok()?;
    ActionKind::ALL
        .into_iter()
        .find(|&k| kind_to_proto(k) == wanted)
}

/// A ListActions request: what to list, the page size, where to resume.
pub(crate) fn actions_query(
    req: &pb::ListActionsRequest,
) -> ServiceResult<PageRequest<WorklistQuery, (NaiveDate, String)>> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    let size = v.check(pagination::page_size("page_size", req.page_size));
    let mut kinds = Vec::new();
    for (i, &value) in req.kinds.iter().enumerate() {
        match kind_from_proto(value) {
            Some(kind) if !kinds.contains(&kind) => kinds.push(kind),
            Some(_) => v.push(FieldViolation::new(
                format!("kinds[{i}]"),
                "is listed twice",
            )),
            None => v.push(FieldViolation::new(
                format!("kinds[{i}]"),
                format!("{value} is not an action kind"),
            )),
        }
    }
    let school = if req.school_urn.is_empty() {
        Some(None)
    } else {
        v.check(Urn::parse(&req.school_urn).map_err(|e| FieldViolation::new("school_urn", e)))
            .map(Some)
    };
    let due_by = v.check(optional_date(
        "due_on_or_before",
        req.due_on_or_before.as_ref(),
    ));
    let mut token_request = req.clone();
    token_request.page_token.clear();
    token_request.page_size = 0;
    let filter = format!("{token_request:?}");
    let after = v.check(pagination::decode_date_key(
        "page_token",
        &req.page_token,
        &filter,
    ));
    let (size, (school, (due_by, after))) = v.finish(size.zip(school.zip(due_by.zip(after))))?;
    Ok(PageRequest {
        query: WorklistQuery {
            kinds,
            school,
            due_by,
        },
        size,
        after,
        filter,
    })
}

pub(crate) fn action_to_proto(la: &LaCode, a: &Action) -> pb::Action {
    let (_, id) = a.position();
    pb::Action {
        kind: kind_to_proto(a.kind) as i32,
        resource: a.subject.resource(la).unwrap_or_default(),
        breach: match &a.subject {
            ActionSubject::Breach { upn, as_of } => Some(pb::BreachReference {
                upn: upn.clone(),
                as_of_date: Some(date_to_proto(*as_of)),
            }),
            _ => None,
        },
        due_date: Some(date_to_proto(a.due)),
        rule: a.rule.citation(),
        policy_version: a.policy_version.clone().unwrap_or_default(),
        school_urn: a.school_urn.clone().unwrap_or_default(),
        school_days_elapsed: a
            .school_days_elapsed
            .map_or(0, |d| i32::try_from(d).unwrap_or(i32::MAX)),
        amount_pence: a.amount_pence.unwrap_or(0),
        action_id: id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_protocol_value() {
        for kind in ActionKind::ALL {
            assert_eq!(kind_from_proto(kind_to_proto(kind) as i32), Some(kind));
        }
        assert_eq!(kind_from_proto(0), None);
        assert_eq!(kind_from_proto(999), None);
    }
}
