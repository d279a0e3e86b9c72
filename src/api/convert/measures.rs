//! MeasureService ⇄ domain::measures.

use chrono::NaiveDate;

use super::{date, date_to_proto, timestamp_to_proto};
use crate::api::error::Violations;
use crate::api::mutation::validate_request_id;
use crate::api::pagination::{self, PageRequest};
use crate::app::{CaseOpening, CaseQuery, ServiceResult};
use crate::domain::{
    FieldViolation,
    identifiers::{LaCode, Upn, Urn},
    measures::{
        AppealResult, CaseEvent, CaseEventKind, CaseParent, CaseState, Disposal, EndReason,
        MeasureCase, MeasureKind, OrderBasis, Outcome, PaymentDecision, Plea, RecordedCaseEvent,
        Section,
    },
    names,
};
use crate::proto::v1 as pb;

/// Longest free text a case takes (a court's name, a reason).
const MAX_TEXT: usize = 2000;

fn kind_to_proto(k: MeasureKind) -> pb::MeasureKind {
    match k {
        MeasureKind::AttendanceContract => pb::MeasureKind::AttendanceContract,
        MeasureKind::EducationSupervisionOrder => pb::MeasureKind::EducationSupervisionOrder,
        MeasureKind::ParentingOrder => pb::MeasureKind::ParentingOrder,
        MeasureKind::Prosecution => pb::MeasureKind::Prosecution,
    }
}

fn kind_from_proto(field: &str, n: i32) -> Result<Option<MeasureKind>, FieldViolation> {
    match pb::MeasureKind::try_from(n) {
        Ok(pb::MeasureKind::Unspecified) => Ok(None),
        Ok(pb::MeasureKind::AttendanceContract) => Ok(Some(MeasureKind::AttendanceContract)),
        Ok(pb::MeasureKind::EducationSupervisionOrder) => {
            Ok(Some(MeasureKind::EducationSupervisionOrder))
        }
        Ok(pb::MeasureKind::ParentingOrder) => Ok(Some(MeasureKind::ParentingOrder)),
        Ok(pb::MeasureKind::Prosecution) => Ok(Some(MeasureKind::Prosecution)),
        Err(_) => Err(FieldViolation::new(field, "not a known kind")),
    }
}

fn state_to_proto(s: CaseState) -> pb::CaseState {
    use pb::CaseState as P;
    match s {
        CaseState::Offered => P::Offered,
        CaseState::Accepted => P::Accepted,
        CaseState::Declined => P::Declined,
        CaseState::Applied => P::Applied,
        CaseState::Made => P::Made,
        CaseState::Refused => P::Refused,
        CaseState::Referred => P::Referred,
        CaseState::HearingListed => P::HearingListed,
        CaseState::Pleaded => P::Pleaded,
        CaseState::OutcomeRecorded => P::OutcomeRecorded,
        CaseState::AppealLodged => P::AppealLodged,
        CaseState::AppealDecided => P::AppealDecided,
        CaseState::BlockedByPayment => P::BlockedByPayment,
        CaseState::Discontinued => P::Discontinued,
        CaseState::Ended => P::Ended,
    }
}

fn state_from_proto(field: &str, n: i32) -> Result<Option<CaseState>, FieldViolation> {
    let known =
        pb::CaseState::try_from(n).map_err(|_| FieldViolation::new(field, "not a known state"))?;
    Ok(CaseState::ALL
        .into_iter()
        .find(|s| state_to_proto(*s) == known))
}

pub(crate) fn section_to_proto(s: Section) -> pb::ProsecutionSection {
    match s {
        Section::S444_1 => pb::ProsecutionSection::S4441,
        Section::S444_1A => pb::ProsecutionSection::S4441a,
    }
}

fn basis_to_proto(b: OrderBasis) -> pb::ParentingOrderBasis {
    match b {
        OrderBasis::OnConviction => pb::ParentingOrderBasis::OnConviction,
        OrderBasis::FreeStanding => pb::ParentingOrderBasis::FreeStanding,
    }
}

fn end_reason_to_proto(r: EndReason) -> pb::CaseEndReason {
    match r {
        EndReason::Completed => pb::CaseEndReason::Completed,
        EndReason::Broken => pb::CaseEndReason::Broken,
        EndReason::Withdrawn => pb::CaseEndReason::Withdrawn,
        EndReason::Expired => pb::CaseEndReason::Expired,
        EndReason::Discharged => pb::CaseEndReason::Discharged,
    }
}

fn plea_to_proto(p: Plea) -> pb::Plea {
    match p {
        Plea::Guilty => pb::Plea::Guilty,
        Plea::NotGuilty => pb::Plea::NotGuilty,
        Plea::NoPlea => pb::Plea::None,
    }
}

fn disposal_to_proto(d: Disposal) -> pb::Disposal {
    match d {
        Disposal::Fine => pb::Disposal::Fine,
        Disposal::ConditionalDischarge => pb::Disposal::ConditionalDischarge,
        Disposal::Withdrawn => pb::Disposal::Withdrawn,
        Disposal::Dismissed => pb::Disposal::Dismissed,
    }
}

fn appeal_to_proto(a: AppealResult) -> pb::AppealResult {
    match a {
        AppealResult::Allowed => pb::AppealResult::Allowed,
        AppealResult::Dismissed => pb::AppealResult::Dismissed,
    }
}

fn decision_to_proto(d: PaymentDecision) -> pb::PaymentDecision {
    match d {
        PaymentDecision::ProceedDespitePayment => pb::PaymentDecision::ProceedDespitePayment,
        PaymentDecision::Discontinue => pb::PaymentDecision::Discontinue,
    }
}

fn event_kind_to_proto(k: CaseEventKind) -> pb::CaseEventKind {
    use pb::CaseEventKind as P;
    match k {
        CaseEventKind::Opened => P::Opened,
        CaseEventKind::Accepted => P::Accepted,
        CaseEventKind::Declined => P::Declined,
        CaseEventKind::Made => P::Made,
        CaseEventKind::Refused => P::Refused,
        CaseEventKind::Ended => P::Ended,
        CaseEventKind::HearingListed => P::HearingListed,
        CaseEventKind::PleaEntered => P::PleaEntered,
        CaseEventKind::OutcomeRecorded => P::OutcomeRecorded,
        CaseEventKind::AppealLodged => P::AppealLodged,
        CaseEventKind::AppealDecided => P::AppealDecided,
        CaseEventKind::BlockedByPayment => P::BlockedByPayment,
        CaseEventKind::PaymentDecisionRecorded => P::PaymentDecisionRecorded,
    }
}

/// A domain value `T` among `ALL` whose proto number is `n`; unset is `None`.
fn pick<T: Copy, P: Into<i32>>(
    field: &str,
    n: i32,
    all: &[T],
    to_proto: impl Fn(T) -> P,
) -> Result<Option<T>, FieldViolation> {
    if n == 0 {
        return Ok(None);
    }
    all.iter()
        .copied()
        .find(|v| to_proto(*v).into() == n)
        .map(Some)
        .ok_or_else(|| FieldViolation::new(field, "not a known value"))
}

fn required<T>(field: &str, v: Result<Option<T>, FieldViolation>) -> Result<T, FieldViolation> {
    v?.ok_or_else(|| FieldViolation::new(field, "required"))
}

fn text(field: &str, s: &str) -> Result<String, FieldViolation> {
    if s.trim().is_empty() {
        Err(FieldViolation::new(field, "required"))
    } else if s.chars().count() > MAX_TEXT {
        Err(FieldViolation::new(
            field,
            format!("at most {MAX_TEXT} characters"),
        ))
    } else if s.chars().any(|c| c.is_control() && c != '\n') {
        Err(FieldViolation::new(
            field,
            "must not contain control characters",
        ))
    } else {
        Ok(s.to_string())
    }
}

fn outcome_to_proto(o: &Outcome) -> pb::CaseOutcome {
    pb::CaseOutcome {
        disposal: disposal_to_proto(o.disposal) as i32,
        fine_pence: o.fine_pence,
        costs_pence: o.costs_pence,
        parenting_order: o.parenting_order,
    }
}

pub(crate) fn case_to_proto(authority: &LaCode, c: &MeasureCase) -> pb::MeasureCase {
    let f = &c.facts;
    pb::MeasureCase {
        name: names::case_name(authority, c.number),
        kind: kind_to_proto(c.kind) as i32,
        state: state_to_proto(c.state) as i32,
        upn: c.upn.clone(),
        school_urn: c.school_urn.clone(),
        parents: f
            .parents
            .iter()
            .map(|p| pb::CaseParent {
                person_id: p.person_id.clone(),
                given_name: p.given_name.clone(),
                family_name: p.family_name.clone(),
            })
            .collect(),
        follows: f.follows.clone(),
        opened_on: Some(date_to_proto(c.opened_on)),
        section: f.section.map_or(0, |s| section_to_proto(s) as i32),
        order_basis: f.order_basis.map_or(0, |b| basis_to_proto(b) as i32),
        court: f.court.clone().unwrap_or_default(),
        hearing_date: f.hearing_date.map(date_to_proto),
        plea: f.plea.map_or(0, |p| plea_to_proto(p) as i32),
        outcome: f.outcome.as_ref().map(outcome_to_proto),
        appeal_result: f.appeal_result.map_or(0, |a| appeal_to_proto(a) as i32),
        end_reason: f.end_reason.map_or(0, |r| end_reason_to_proto(r) as i32),
        closed_on: f.closed_on.map(date_to_proto),
        resume_state: f.resume_state.map_or(0, |s| state_to_proto(s) as i32),
        payment_decision: f
            .payment_decision
            .as_ref()
            .map_or(0, |(d, _)| decision_to_proto(*d) as i32),
        payment_decision_reason: f
            .payment_decision
            .as_ref()
            .map(|(_, r)| r.clone())
            .unwrap_or_default(),
        parenting_order_case: f
            .parenting_order_case
            .map(|n| names::case_name(authority, n))
            .unwrap_or_default(),
        prosecution_case: f
            .prosecution_case
            .map(|n| names::case_name(authority, n))
            .unwrap_or_default(),
        opened_by: c.opened_by.subject.clone(),
        create_time: Some(timestamp_to_proto(c.created_at)),
        version: c.version,
    }
}

fn event_to_proto(e: &CaseEvent, on: NaiveDate) -> pb::CaseEventDetails {
    let mut d = pb::CaseEventDetails {
        kind: event_kind_to_proto(e.kind()) as i32,
        date: Some(date_to_proto(on)),
        ..Default::default()
    };
    match e {
        CaseEvent::Opened
        | CaseEvent::Accepted
        | CaseEvent::Declined
        | CaseEvent::Made
        | CaseEvent::Refused
        | CaseEvent::AppealLodged => {}
        CaseEvent::Ended { reason } => d.end_reason = end_reason_to_proto(*reason) as i32,
        CaseEvent::HearingListed {
            court,
            hearing_date,
        } => {
            d.court = court.clone();
            d.hearing_date = Some(date_to_proto(*hearing_date));
        }
        CaseEvent::PleaEntered { plea } => d.plea = plea_to_proto(*plea) as i32,
        CaseEvent::OutcomeRecorded { outcome } => d.outcome = Some(outcome_to_proto(outcome)),
        CaseEvent::AppealDecided { result } => d.appeal_result = appeal_to_proto(*result) as i32,
        CaseEvent::BlockedByPayment {
            payment,
            amount_pence,
        } => {
            d.payment = payment.clone();
            d.amount_pence = *amount_pence;
        }
        CaseEvent::PaymentDecisionRecorded { decision, reason } => {
            d.payment_decision = decision_to_proto(*decision) as i32;
            d.reason = reason.clone();
        }
    }
    d
}

pub(crate) fn case_event_to_proto(e: &RecordedCaseEvent) -> pb::MeasureCaseEvent {
    pb::MeasureCaseEvent {
        sequence: e.sequence,
        details: Some(event_to_proto(&e.event, e.on)),
        state_after: state_to_proto(e.state_after) as i32,
        recorded_by: e.actor.subject.clone(),
        record_time: Some(timestamp_to_proto(e.recorded_at)),
        request_id: e.request_id.clone(),
    }
}

/// An OpenCase request, checked.
pub(crate) fn open_case_request(req: &pb::OpenCaseRequest) -> ServiceResult<CaseOpening> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    v.check(validate_request_id("request_id", &req.request_id));
    let kind = v.check(required("kind", kind_from_proto("kind", req.kind)));
    let upn = v.check(Upn::parse(&req.upn).map_err(|e| FieldViolation::new("upn", e)));
    let school =
        v.check(Urn::parse(&req.school_urn).map_err(|e| FieldViolation::new("school_urn", e)));
    let opened_on = v.check(date("opened_on", req.opened_on.as_ref()));
    let mut parents = Vec::new();
    for (i, p) in req.parents.iter().enumerate() {
        let at = |f: &str| format!("parents[{i}].{f}");
        let id = v.check(text(&at("person_id"), &p.person_id));
        let given = v.check(text(&at("given_name"), &p.given_name));
        let family = v.check(text(&at("family_name"), &p.family_name));
        if let (Some(person_id), Some(given_name), Some(family_name)) = (id, given, family) {
            parents.push(CaseParent {
                person_id,
                given_name,
                family_name,
            });
        }
    }
    for (i, f) in req.follows.iter().enumerate() {
        let field = format!("follows[{i}]");
        let notice = names::parse_notice(&field, f);
        let breach =
            f.contains("/breaches/") && f.starts_with("authorities/") && text(&field, f).is_ok();
        if notice.is_err() && !breach {
            v.push(FieldViolation::new(
                field,
                "a notice (authorities/{la_code}/notices/{number}) or a breach",
            ));
        }
    }
    let section = v.check(pick(
        "section",
        req.section,
        &Section::ALL,
        section_to_proto,
    ));
    let basis = v.check(pick(
        "order_basis",
        req.order_basis,
        &OrderBasis::ALL,
        basis_to_proto,
    ));
    match kind {
        Some(MeasureKind::Prosecution) => {
            if matches!(section, Some(None)) {
                v.push(FieldViolation::new(
                    "section",
                    "a prosecution names its section",
                ));
            }
            if req.follows.is_empty() {
                v.push(FieldViolation::new(
                    "follows",
                    "a prosecution follows a notice or a breach",
                ));
            }
        }
        Some(MeasureKind::ParentingOrder) if matches!(basis, Some(None)) => {
            v.push(FieldViolation::new(
                "order_basis",
                "a parenting order says how it was made",
            ));
        }
        _ => {}
    }
    if kind != Some(MeasureKind::Prosecution) && matches!(section, Some(Some(_))) {
        v.push(FieldViolation::new("section", "only for a prosecution"));
    }
    if kind != Some(MeasureKind::ParentingOrder) && matches!(basis, Some(Some(_))) {
        v.push(FieldViolation::new(
            "order_basis",
            "only for a parenting order",
        ));
    }
    let ((((kind, upn), school), opened_on), (section, basis)) = v.finish(
        kind.zip(upn)
            .zip(school)
            .zip(opened_on)
            .zip(section.zip(basis)),
    )?;
    Ok(CaseOpening {
        kind,
        upn: upn.as_str().to_string(),
        school_urn: school.as_str().to_string(),
        parents,
        follows: req.follows.clone(),
        opened_on,
        section,
        order_basis: basis,
    })
}

/// A RecordCaseEvent request: the case's number, the event and its date.
pub(crate) fn record_case_event_request(
    req: &pb::RecordCaseEventRequest,
) -> ServiceResult<(i64, CaseEvent, NaiveDate)> {
    let mut v = Violations::new();
    let number = v.check(names::parse_case("name", &req.name).map(|(_, n)| n));
    v.check(validate_request_id("request_id", &req.request_id));
    let Some(e) = req.event.as_ref() else {
        v.push(FieldViolation::new("event", "required"));
        return v.finish(None);
    };
    let on = v.check(date("event.date", e.date.as_ref()));
    let event = event_from_proto(&mut v, e);
    let ((number, on), event) = v.finish(number.zip(on).zip(event))?;
    Ok((number, event, on))
}

fn event_from_proto(v: &mut Violations, e: &pb::CaseEventDetails) -> Option<CaseEvent> {
    use pb::CaseEventKind as P;
    let kind = pb::CaseEventKind::try_from(e.kind).unwrap_or(P::Unspecified);
    match kind {
        P::Unspecified => {
            v.push(FieldViolation::new(
                "event.kind",
                "a known kind is required",
            ));
            None
        }
        P::Opened | P::BlockedByPayment => {
            v.push(FieldViolation::new(
                "event.kind",
                "recorded by the service itself, never sent",
            ));
            None
        }
        P::Accepted => Some(CaseEvent::Accepted),
        P::Declined => Some(CaseEvent::Declined),
        P::Made => Some(CaseEvent::Made),
        P::Refused => Some(CaseEvent::Refused),
        P::AppealLodged => Some(CaseEvent::AppealLodged),
        P::Ended => v
            .check(required(
                "event.end_reason",
                pick(
                    "event.end_reason",
                    e.end_reason,
                    &EndReason::ALL,
                    end_reason_to_proto,
                ),
            ))
            .map(|reason| CaseEvent::Ended { reason }),
        P::HearingListed => {
            let court = v.check(text("event.court", &e.court));
            let hearing = v.check(date("event.hearing_date", e.hearing_date.as_ref()));
            court
                .zip(hearing)
                .map(|(court, hearing_date)| CaseEvent::HearingListed {
                    court,
                    hearing_date,
                })
        }
        P::PleaEntered => v
            .check(required(
                "event.plea",
                pick("event.plea", e.plea, &Plea::ALL, plea_to_proto),
            ))
            .map(|plea| CaseEvent::PleaEntered { plea }),
        P::OutcomeRecorded => {
            let Some(o) = e.outcome.as_ref() else {
                v.push(FieldViolation::new("event.outcome", "required"));
                return None;
            };
            let disposal = v.check(required(
                "event.outcome.disposal",
                pick(
                    "event.outcome.disposal",
                    o.disposal,
                    &Disposal::ALL,
                    disposal_to_proto,
                ),
            ));
            if o.fine_pence < 0 {
                v.push(FieldViolation::new(
                    "event.outcome.fine_pence",
                    "must not be negative",
                ));
            }
            if o.costs_pence < 0 {
                v.push(FieldViolation::new(
                    "event.outcome.costs_pence",
                    "must not be negative",
                ));
            }
            disposal.map(|disposal| CaseEvent::OutcomeRecorded {
                outcome: Outcome {
                    disposal,
                    fine_pence: o.fine_pence,
                    costs_pence: o.costs_pence,
                    parenting_order: o.parenting_order,
                },
            })
        }
        P::AppealDecided => v
            .check(required(
                "event.appeal_result",
                pick(
                    "event.appeal_result",
                    e.appeal_result,
                    &AppealResult::ALL,
                    appeal_to_proto,
                ),
            ))
            .map(|result| CaseEvent::AppealDecided { result }),
        P::PaymentDecisionRecorded => {
            let decision = v.check(required(
                "event.payment_decision",
                pick(
                    "event.payment_decision",
                    e.payment_decision,
                    &PaymentDecision::ALL,
                    decision_to_proto,
                ),
            ));
            let reason = v.check(text("event.reason", &e.reason));
            decision
                .zip(reason)
                .map(|(decision, reason)| CaseEvent::PaymentDecisionRecorded { decision, reason })
        }
    }
}

/// A ListCases request: the filter, size and cursor (a case number).
pub(crate) fn case_query(req: &pb::ListCasesRequest) -> ServiceResult<PageRequest<CaseQuery, i64>> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    let kind = v.check(kind_from_proto("kind", req.kind));
    let state = v.check(state_from_proto("state", req.state));
    let upn = if req.upn.is_empty() {
        Some(None)
    } else {
        v.check(
            Upn::parse(&req.upn)
                .map(|u| Some(u.as_str().to_string()))
                .map_err(|e| FieldViolation::new("upn", e)),
        )
    };
    let school = if req.school_urn.is_empty() {
        Some(None)
    } else {
        v.check(
            Urn::parse(&req.school_urn)
                .map(|u| Some(u.as_str().to_string()))
                .map_err(|e| FieldViolation::new("school_urn", e)),
        )
    };
    let size = v.check(pagination::page_size("page_size", req.page_size));
    let filter = format!(
        "cases|{}|{}|{}|{}|{}",
        req.parent, req.kind, req.state, req.upn, req.school_urn
    );
    let after = v.check(pagination::decode_id(
        "page_token",
        &req.page_token,
        &filter,
    ));
    let ((((kind, state), (upn, school)), size), after) =
        v.finish(kind.zip(state).zip(upn.zip(school)).zip(size).zip(after))?;
    Ok(PageRequest {
        query: CaseQuery {
            kind,
            state,
            upn,
            school_urn: school,
        },
        size,
        after: Some(after),
        filter,
    })
}

/// A ListCaseEvents request: the case, size, cursor (a sequence) and filter.
pub(crate) fn case_events_query(
    req: &pb::ListCaseEventsRequest,
) -> ServiceResult<PageRequest<i64, i64>> {
    let mut v = Violations::new();
    let number = v.check(names::parse_case("name", &req.name).map(|(_, n)| n));
    let size = v.check(pagination::page_size("page_size", req.page_size));
    let filter = format!("case_events|{}", req.name);
    let after = v.check(pagination::decode_id(
        "page_token",
        &req.page_token,
        &filter,
    ));
    let ((number, size), after) = v.finish(number.zip(size).zip(after))?;
    Ok(PageRequest {
        query: number,
        size,
        after: Some(after),
        filter,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_its_proto_value() {
        for s in CaseState::ALL {
            assert_eq!(
                state_from_proto("state", state_to_proto(s) as i32),
                Ok(Some(s))
            );
        }
    }
}
