//! Breach states and decisions ⇄ domain cases.

use super::{date, date_to_proto, timestamp_to_proto};
use crate::api::error::Violations;
use crate::api::mutation::validate_request_id;
use crate::app::{BreachPosition, FoundBreach, ServiceResult};
use crate::domain::{
    FieldViolation,
    breach::{BreachState, Decision, NoActionReason},
    identifiers::{LaCode, Upn},
    names,
};
use crate::proto::v1 as pb;
use chrono::NaiveDate;

pub fn state_to_proto(s: BreachState) -> pb::BreachState {
    match s {
        BreachState::Pending => pb::BreachState::Pending,
        BreachState::NoticeToImproveIssued => pb::BreachState::NoticeToImproveIssued,
        BreachState::PenaltyNoticeIssued => pb::BreachState::PenaltyNoticeIssued,
        BreachState::NoAction => pb::BreachState::NoAction,
        BreachState::ReferredToProsecution => pb::BreachState::ReferredToProsecution,
        BreachState::OtherMeasure => pb::BreachState::OtherMeasure,
    }
}

/// A set state; `None` for unspecified or a number this build does not know.
pub fn state_from_proto(n: i32) -> Option<BreachState> {
    Some(match pb::BreachState::try_from(n).ok()? {
        pb::BreachState::Unspecified => return None,
        pb::BreachState::Pending => BreachState::Pending,
        pb::BreachState::NoticeToImproveIssued => BreachState::NoticeToImproveIssued,
        pb::BreachState::PenaltyNoticeIssued => BreachState::PenaltyNoticeIssued,
        pb::BreachState::NoAction => BreachState::NoAction,
        pb::BreachState::ReferredToProsecution => BreachState::ReferredToProsecution,
        pb::BreachState::OtherMeasure => BreachState::OtherMeasure,
    })
}

fn reason_to_proto(r: NoActionReason) -> pb::NoActionReason {
    match r {
        NoActionReason::SupportInPlace => pb::NoActionReason::SupportInPlace,
        NoActionReason::Medical => pb::NoActionReason::Medical,
        NoActionReason::Safeguarding => pb::NoActionReason::Safeguarding,
        NoActionReason::ExceptionalCircumstances => pb::NoActionReason::ExceptionalCircumstances,
        NoActionReason::Other => pb::NoActionReason::Other,
    }
}

/// A set reason; `Err` for a number this build does not know.
fn reason_from_proto(n: i32) -> Result<Option<NoActionReason>, FieldViolation> {
    let unknown = || FieldViolation::new("no_action_reason", "not a known reason");
    Ok(Some(
        match pb::NoActionReason::try_from(n).map_err(|_| unknown())? {
            pb::NoActionReason::Unspecified => return Ok(None),
            pb::NoActionReason::SupportInPlace => NoActionReason::SupportInPlace,
            pb::NoActionReason::Medical => NoActionReason::Medical,
            pb::NoActionReason::Safeguarding => NoActionReason::Safeguarding,
            pb::NoActionReason::ExceptionalCircumstances => {
                NoActionReason::ExceptionalCircumstances
            }
            pb::NoActionReason::Other => NoActionReason::Other,
        },
    ))
}

/// A ListThresholdBreaches state filter.
pub fn states_from_proto(states: &[i32]) -> Result<Vec<BreachState>, FieldViolation> {
    let mut out: Vec<BreachState> = states
        .iter()
        .map(|&n| {
            state_from_proto(n).ok_or_else(|| {
                FieldViolation::new("states", "each state must be a known, set state")
            })
        })
        .collect::<Result<_, _>>()?;
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// A page token's cursor: `upn|breach_id` (a pending breach's id is
/// `i64::MAX`); a bare UPN (tokens issued before cases) is after its pending one.
pub fn position_from_cursor(cursor: &str) -> BreachPosition {
    match cursor.rsplit_once('|') {
        Some((upn, id)) => BreachPosition {
            upn: upn.to_string(),
            breach_id: id.parse().unwrap_or(i64::MAX),
        },
        None => BreachPosition {
            upn: cursor.to_string(),
            breach_id: i64::MAX,
        },
    }
}

pub fn position_to_cursor(p: &BreachPosition) -> String {
    format!("{}|{}", p.upn, p.breach_id)
}

/// The state, decision and name of a breach, on its ThresholdBreach.
pub fn decision_fields(authority: &LaCode, b: &FoundBreach, out: &mut pb::ThresholdBreach) {
    out.state = state_to_proto(b.state()) as i32;
    out.as_of_date = Some(date_to_proto(b.as_of));
    if let Some(d) = &b.decided {
        out.name = names::breach_name(authority, d.breach_id);
        out.decision = Some(pb::BreachDecision {
            state: state_to_proto(d.decision.state) as i32,
            no_action_reason: d
                .decision
                .reason
                .map_or(pb::NoActionReason::Unspecified, reason_to_proto)
                as i32,
            note: d.decision.note.clone(),
            notice_numbers: d.decision.notice_numbers.clone(),
            decide_time: Some(timestamp_to_proto(d.decided_at)),
            decided_by: d.decided_by.subject.clone(),
            decided_by_role: d.decided_by.role_str().to_string(),
        });
    }
}

/// A RecordBreachDecision request: the pupil and date, and the decision.
pub(crate) fn decision_request(
    req: &pb::RecordBreachDecisionRequest,
) -> ServiceResult<((Upn, NaiveDate), Decision)> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    v.check(validate_request_id("request_id", &req.request_id));
    let upn = v.check(Upn::parse(&req.upn).map_err(|e| FieldViolation::new("upn", e)));
    let as_of = v.check(date("as_of_date", req.as_of_date.as_ref()));
    let state = v.check(
        state_from_proto(req.state)
            .ok_or_else(|| FieldViolation::new("state", "a decided state is required")),
    );
    let reason = v.check(reason_from_proto(req.no_action_reason));
    let decision = match (state, reason) {
        (Some(state), Some(reason)) => match Decision::recorded(state, reason, req.note.clone()) {
            Ok(d) => Some(d),
            Err(violations) => {
                for violation in violations {
                    v.push(violation);
                }
                None
            }
        },
        _ => None,
    };
    let ((upn, as_of), decision) = v.finish(upn.zip(as_of).zip(decision))?;
    Ok(((upn, as_of), decision))
}
