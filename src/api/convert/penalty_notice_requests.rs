//! Schools' requests for penalty notices ⇄ domain notice_requests.

use super::{date_to_proto, session_to_proto, timestamp_to_proto};
use crate::api::convert::issuing::sessions_from_proto;
use crate::api::error::Violations;
use crate::api::mutation::validate_request_id;
use crate::api::pagination::{self, PageRequest};
use crate::app::ServiceResult;
use crate::domain::{
    FieldViolation,
    identifiers::{LaCode, Upn, Urn},
    names,
    penalty_notice_request::{
        PenaltyNoticeRequest, PenaltyNoticeRequestDraft, PenaltyNoticeRequestState,
    },
};
use crate::proto::v1 as pb;

fn state_to_proto(s: PenaltyNoticeRequestState) -> pb::PenaltyNoticeRequestState {
    match s {
        PenaltyNoticeRequestState::Pending => pb::PenaltyNoticeRequestState::Pending,
        PenaltyNoticeRequestState::Issued => pb::PenaltyNoticeRequestState::Issued,
        PenaltyNoticeRequestState::Declined => pb::PenaltyNoticeRequestState::Declined,
    }
}

fn state_from_proto(n: i32) -> Result<Option<PenaltyNoticeRequestState>, FieldViolation> {
    match pb::PenaltyNoticeRequestState::try_from(n) {
        Ok(pb::PenaltyNoticeRequestState::Unspecified) => Ok(None),
        Ok(pb::PenaltyNoticeRequestState::Pending) => Ok(Some(PenaltyNoticeRequestState::Pending)),
        Ok(pb::PenaltyNoticeRequestState::Issued) => Ok(Some(PenaltyNoticeRequestState::Issued)),
        Ok(pb::PenaltyNoticeRequestState::Declined) => {
            Ok(Some(PenaltyNoticeRequestState::Declined))
        }
        Err(_) => Err(FieldViolation::new("state", "not a known state")),
    }
}

pub(crate) fn penalty_notice_request_to_proto(
    authority: &LaCode,
    r: &PenaltyNoticeRequest,
) -> pb::PenaltyNoticeRequest {
    pb::PenaltyNoticeRequest {
        name: names::penalty_notice_request_name(authority, r.number),
        upn: r.draft.upn.clone(),
        school_urn: r.draft.school_urn.clone(),
        parent_person_ids: r.draft.parent_person_ids.clone(),
        sessions: r
            .draft
            .sessions
            .iter()
            .map(|s| pb::SessionMark {
                date: Some(date_to_proto(s.date)),
                session: session_to_proto(s.session) as i32,
                code: s.code.clone(),
            })
            .collect(),
        support_offered: r.draft.support_offered.clone(),
        state: state_to_proto(r.state) as i32,
        requested_by: r.requested_by.subject.clone(),
        request_time: Some(timestamp_to_proto(r.requested_at)),
        school_days_elapsed: r.school_days_elapsed,
        deadline_school_days: r.deadline_school_days,
        decline_reason: r.decline_reason.clone(),
        notice_numbers: r.notice_numbers.clone(),
    }
}

/// A RequestPenaltyNotice request, checked.
pub(crate) fn penalty_notice_request_draft(
    req: &pb::RequestPenaltyNoticeRequest,
) -> ServiceResult<PenaltyNoticeRequestDraft> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    v.check(validate_request_id("request_id", &req.request_id));
    let upn = v.check(Upn::parse(&req.upn).map_err(|e| FieldViolation::new("upn", e)));
    let school =
        v.check(Urn::parse(&req.school_urn).map_err(|e| FieldViolation::new("school_urn", e)));
    if req.parent_person_ids.is_empty() {
        v.push(FieldViolation::new(
            "parent_person_ids",
            "at least one parent",
        ));
    }
    for (i, id) in req.parent_person_ids.iter().enumerate() {
        if id.trim().is_empty() {
            v.push(FieldViolation::new(
                format!("parent_person_ids[{i}]"),
                "required",
            ));
        }
    }
    if req.sessions.is_empty() {
        v.push(FieldViolation::new("sessions", "at least one session"));
    }
    let sessions = sessions_from_proto(&mut v, &req.sessions);
    if req.support_offered.trim().is_empty() {
        v.push(FieldViolation::new(
            "support_offered",
            "the school's evidence of support offered is required",
        ));
    }
    let ((upn, school), sessions) = v.finish(upn.zip(school).zip(sessions))?;
    Ok(PenaltyNoticeRequestDraft {
        upn: upn.as_str().to_string(),
        school_urn: school.as_str().to_string(),
        parent_person_ids: req.parent_person_ids.clone(),
        sessions,
        support_offered: req.support_offered.clone(),
    })
}

/// Which requests a listing returns: a state, a school (each `None` for any).
pub(crate) type PenaltyNoticeRequestQuery = (Option<PenaltyNoticeRequestState>, Option<Urn>);

/// A ListPenaltyNoticeRequests request: the filter, size and cursor.
pub(crate) fn penalty_notice_request_query(
    req: &pb::ListPenaltyNoticeRequestsRequest,
) -> ServiceResult<PageRequest<PenaltyNoticeRequestQuery, String>> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    let state = v.check(state_from_proto(req.state));
    let school = if req.school_urn.is_empty() {
        Some(None)
    } else {
        v.check(
            Urn::parse(&req.school_urn)
                .map(Some)
                .map_err(|e| FieldViolation::new("school_urn", e)),
        )
    };
    let size = v.check(pagination::page_size("page_size", req.page_size));
    let filter = format!("{}|{}|{}", req.parent, req.state, req.school_urn);
    let after = v.check(pagination::decode_token(
        "page_token",
        &req.page_token,
        &filter,
    ));
    let (((state, school), size), after) = v.finish(state.zip(school).zip(size).zip(after))?;
    Ok(PageRequest {
        query: (state, school),
        size,
        after,
        filter,
    })
}

/// A DeclinePenaltyNoticeRequest request: the request's number and the reason.
pub(crate) fn decline_request(
    req: &pb::DeclinePenaltyNoticeRequestRequest,
) -> ServiceResult<(i64, String)> {
    let mut v = Violations::new();
    let number = v.check(names::parse_penalty_notice_request("name", &req.name).map(|(_, n)| n));
    v.check(validate_request_id("request_id", &req.request_id));
    if req.reason.trim().is_empty() {
        v.push(FieldViolation::new("reason", "a reason is required"));
    }
    let number = v.finish(number)?;
    Ok((number, req.reason.clone()))
}
