//! DataProtectionService messages ⇄ the access log's and subject access's use
//! cases.

use super::audit::optional_instant;
use super::notice::{address_from_proto, required_text};
use super::timestamp_to_proto;
use crate::api::caller::role_to_proto;
use crate::api::error::Violations;
use crate::api::mutation::validate_request_id;
use crate::api::pagination::{self, PageRequest};
use crate::app::{AccessQuery, ExportFormat, ServiceResult};
use crate::domain::{
    FieldViolation,
    access_log::SubjectKind,
    actor::Role,
    identifiers::{LaCode, Upn},
    names,
    rectification::{PersonalDetails, Rectification, RectificationRequest, check_reason},
};
use crate::proto::v1 as pb;
use crate::store::AccessEvent;

/// A pupil (by UPN) or a parent (by person id), at most one of them; neither
/// is `None`. A UPN that is not one is refused without quoting it.
fn subject(upn: &str, person_id: &str) -> Result<Option<(SubjectKind, String)>, FieldViolation> {
    match (upn.is_empty(), person_id.is_empty()) {
        (true, true) => Ok(None),
        (false, false) => Err(FieldViolation::new(
            "person_id",
            "give at most one of upn and person_id",
        )),
        (false, true) => Upn::parse(upn)
            .map(|u| Some((SubjectKind::Pupil, u.as_str().to_string())))
            .map_err(|why| FieldViolation::new("upn", why)),
        (true, false) => Ok(Some((SubjectKind::Parent, person_id.to_string()))),
    }
}

/// The subject an export is for: exactly one of `upn` and `person_id`.
pub(crate) fn export_subject(
    req: &pb::ExportSubjectDataRequest,
) -> ServiceResult<(SubjectKind, String, ExportFormat)> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    let subject = v.check(subject(&req.upn, &req.person_id).and_then(|s| {
        s.ok_or_else(|| FieldViolation::new("upn", "give a pupil's upn or a parent's person_id"))
    }));
    let format = v.check(match pb::SubjectExportFormat::try_from(req.format) {
        Ok(pb::SubjectExportFormat::Unspecified | pb::SubjectExportFormat::Json) => {
            Ok(ExportFormat::Json)
        }
        Ok(pb::SubjectExportFormat::Pdf) => Ok(ExportFormat::Pdf),
        Err(_) => Err(FieldViolation::new("format", "not a SubjectExportFormat")),
    });
    v.finish(
        subject
            .zip(format)
            .map(|((kind, key), format)| (kind, key, format)),
    )
}

/// A ListAccessEvents request: the filter, and the page after an entry id.
pub(crate) fn access_page(
    req: &pb::ListAccessEventsRequest,
) -> ServiceResult<PageRequest<AccessQuery, i64>> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    let subject = v.check(subject(&req.upn, &req.person_id));
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
    let ((subject, (from, to)), (size, after)) =
        v.finish(subject.zip(from.zip(to)).zip(size.zip(after)))?;
    Ok(PageRequest {
        query: AccessQuery {
            subject,
            actor_subject: Some(req.actor_subject.clone()).filter(|s| !s.is_empty()),
            from,
            to,
        },
        size,
        after: Some(after),
        filter,
    })
}

pub(crate) fn subject_kind_to_proto(kind: SubjectKind) -> pb::DataSubjectKind {
    match kind {
        SubjectKind::Pupil => pb::DataSubjectKind::Pupil,
        SubjectKind::Parent => pb::DataSubjectKind::Parent,
    }
}

pub(crate) fn access_event_to_proto(e: AccessEvent) -> pb::AccessEvent {
    pb::AccessEvent {
        access_event_id: e.entry_id,
        access_time: Some(timestamp_to_proto(e.at)),
        actor: Some(pb::Actor {
            subject: e.actor_subject,
            role: role_to_proto(Role::parse(&e.actor_role)) as i32,
        }),
        method: e.method,
        resource: e.resource,
        subject_kind: subject_kind_to_proto(e.subject_kind) as i32,
        subject_key: e.subject_key,
        purpose: e.purpose.unwrap_or_default(),
    }
}

fn details_from_proto(
    v: &mut Violations,
    d: Option<&pb::PersonalDetails>,
) -> Option<PersonalDetails> {
    let Some(d) = d else {
        v.push(FieldViolation::new(
            "details",
            "the corrected details are required: given_name, family_name and address",
        ));
        return None;
    };
    let given = required_text(v, "details.given_name", &d.given_name);
    let family = required_text(v, "details.family_name", &d.family_name);
    let address = address_from_proto(v, "details.address", d.address.as_ref());
    Some(PersonalDetails {
        given_name: given?,
        family_name: family?,
        address: address?,
    })
}

/// A RectifyPersonalDetails request: exactly one of `upn` and `person_id`,
/// the whole corrected details and a reason.
pub(crate) fn rectify_request(
    req: &pb::RectifyPersonalDetailsRequest,
) -> ServiceResult<RectificationRequest> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    v.check(validate_request_id("request_id", &req.request_id));
    let subject = v.check(subject(&req.upn, &req.person_id).and_then(|s| {
        s.ok_or_else(|| FieldViolation::new("upn", "give a pupil's upn or a parent's person_id"))
    }));
    let corrected = details_from_proto(&mut v, req.details.as_ref());
    let reason = v.check(check_reason("reason", &req.reason));
    v.finish(subject.zip(corrected).zip(reason).map(
        |(((subject_kind, subject_key), corrected), reason)| RectificationRequest {
            subject_kind,
            subject_key,
            corrected,
            reason,
        },
    ))
}

fn details_to_proto(d: &PersonalDetails) -> pb::PersonalDetails {
    pb::PersonalDetails {
        given_name: d.given_name.clone(),
        family_name: d.family_name.clone(),
        address: Some((&d.address).into()),
    }
}

pub(crate) fn rectification_to_proto(authority: &LaCode, r: &Rectification) -> pb::Rectification {
    pb::Rectification {
        notice: names::notice_name(authority, &r.notice_number),
        sequence: r.sequence,
        subject_kind: subject_kind_to_proto(r.subject_kind) as i32,
        subject_key: r.subject_key.clone(),
        previous: Some(details_to_proto(&r.previous)),
        corrected: Some(details_to_proto(&r.corrected)),
        reason: r.reason.clone(),
        actor: Some(pb::Actor {
            subject: r.by.subject.clone(),
            role: role_to_proto(r.by.role) as i32,
        }),
        rectify_time: Some(timestamp_to_proto(r.at)),
    }
}
