//! SchoolService messages ⇄ domain schools.

use crate::api::layers::limits::MAX_SCHOOLS_PER_IMPORT;
use std::collections::BTreeSet;

use super::{date_to_proto, optional_date};
use crate::api::error::Violations;
use crate::api::mutation::validate_request_id;
use crate::api::pagination::{self, PageRequest};
use crate::app::ServiceResult;
use crate::domain::{
    FieldViolation,
    identifiers::{LaCode, Urn},
    names,
    notice::Address,
    school::{Phase, School, SchoolStatus},
};
use crate::proto::v1 as pb;

pub(crate) fn phase_to_proto(phase: Option<Phase>) -> pb::SchoolPhase {
    match phase {
        None => pb::SchoolPhase::Unspecified,
        Some(Phase::Nursery) => pb::SchoolPhase::Nursery,
        Some(Phase::Primary) => pb::SchoolPhase::Primary,
        Some(Phase::Middle) => pb::SchoolPhase::Middle,
        Some(Phase::Secondary) => pb::SchoolPhase::Secondary,
        Some(Phase::AllThrough) => pb::SchoolPhase::AllThrough,
        Some(Phase::SixteenPlus) => pb::SchoolPhase::SixteenPlus,
        Some(Phase::NotApplicable) => pb::SchoolPhase::NotApplicable,
    }
}

/// `Ok(None)` for unset (unknown); `Err` for a number that is no phase.
fn phase_from_proto(value: i32) -> Result<Option<Phase>, ()> {
    Ok(match pb::SchoolPhase::try_from(value).map_err(|_| ())? {
        pb::SchoolPhase::Unspecified => None,
        pb::SchoolPhase::Nursery => Some(Phase::Nursery),
        pb::SchoolPhase::Primary => Some(Phase::Primary),
        pb::SchoolPhase::Middle => Some(Phase::Middle),
        pb::SchoolPhase::Secondary => Some(Phase::Secondary),
        pb::SchoolPhase::AllThrough => Some(Phase::AllThrough),
        pb::SchoolPhase::SixteenPlus => Some(Phase::SixteenPlus),
        pb::SchoolPhase::NotApplicable => Some(Phase::NotApplicable),
    })
}

fn status_to_proto(status: SchoolStatus) -> pb::SchoolStatus {
    match status {
        SchoolStatus::Open => pb::SchoolStatus::Open,
        SchoolStatus::Closed => pb::SchoolStatus::Closed,
        SchoolStatus::Proposed => pb::SchoolStatus::Proposed,
    }
}

fn status_from_proto(value: i32) -> Option<SchoolStatus> {
    match pb::SchoolStatus::try_from(value).ok()? {
        pb::SchoolStatus::Open => Some(SchoolStatus::Open),
        pb::SchoolStatus::Closed => Some(SchoolStatus::Closed),
        pb::SchoolStatus::Proposed => Some(SchoolStatus::Proposed),
        pb::SchoolStatus::Unspecified => None,
    }
}

pub(crate) fn school_to_proto(authority: &LaCode, school: &School, version: i32) -> pb::School {
    pb::School {
        name: names::school_name(authority, school.urn.as_str()),
        urn: school.urn.to_string(),
        la_code: school.la_code.to_string(),
        establishment_number: school.establishment_number.clone(),
        establishment_name: school.name.clone(),
        address: Some(pb::PostalAddress::from(&school.address)),
        phase: phase_to_proto(school.phase) as i32,
        establishment_type: school.establishment_type.clone(),
        status: status_to_proto(school.status) as i32,
        open_date: school.open_date.map(date_to_proto),
        close_date: school.close_date.map(date_to_proto),
        version,
    }
}

/// One school to load, or every problem with it (field paths under `field`).
fn school_from_proto(v: &mut Violations, field: &str, s: &pb::School) -> Option<School> {
    let at = |name: &str| format!("{field}.{name}");
    let urn = v.check(Urn::parse(s.urn.trim()).map_err(|e| FieldViolation::new(at("urn"), e)));
    let la_code =
        v.check(LaCode::parse(s.la_code.trim()).map_err(|e| FieldViolation::new(at("la_code"), e)));
    let name = s.establishment_name.trim();
    if name.is_empty() {
        v.push(FieldViolation::new(at("establishment_name"), "required"));
    }
    let phase = v.check(
        phase_from_proto(s.phase)
            .map_err(|()| FieldViolation::new(at("phase"), format!("{} is not a phase", s.phase))),
    );
    let status = status_from_proto(s.status);
    if status.is_none() {
        v.push(FieldViolation::new(
            at("status"),
            "required: open, closed or proposed",
        ));
    }
    let open_date = v.check(optional_date(&at("open_date"), s.open_date.as_ref()));
    let close_date = v.check(optional_date(&at("close_date"), s.close_date.as_ref()));
    let address = s.address.clone().unwrap_or_default();
    Some(School {
        urn: urn?,
        la_code: la_code?,
        establishment_number: s.establishment_number.trim().to_string(),
        name: Some(name.to_string()).filter(|n| !n.is_empty())?,
        address: Address {
            lines: address
                .lines
                .iter()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect(),
            postcode: address.postcode.trim().to_string(),
        },
        phase: phase?,
        establishment_type: s.establishment_type.trim().to_string(),
        status: status?,
        open_date: open_date?,
        close_date: close_date?,
    })
}

/// An ImportSchools request's schools: at most [`MAX_SCHOOLS_PER_IMPORT`], each
/// URN once, each complete.
pub(crate) fn import_request(req: &pb::ImportSchoolsRequest) -> ServiceResult<Vec<School>> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    v.check(validate_request_id("request_id", &req.request_id));
    if req.schools.is_empty() {
        v.push(FieldViolation::new(
            "schools",
            "at least one school is required",
        ));
    }
    if req.schools.len() > MAX_SCHOOLS_PER_IMPORT {
        v.push(FieldViolation::new(
            "schools",
            format!("at most {MAX_SCHOOLS_PER_IMPORT} schools per request"),
        ));
    }
    let mut seen = BTreeSet::new();
    let mut schools = Vec::with_capacity(req.schools.len());
    for (i, s) in req.schools.iter().enumerate() {
        let field = format!("schools[{i}]");
        if let Some(school) = school_from_proto(&mut v, &field, s) {
            if !seen.insert(school.urn.clone()) {
                v.push(FieldViolation::new(
                    format!("{field}.urn"),
                    format!("URN {} appears more than once", school.urn),
                ));
            }
            schools.push(school);
        }
    }
    v.finish(Some(schools))
}

/// A GetSchool request: the school and the version (`None` for the current one).
pub(crate) fn get_request(req: &pb::GetSchoolRequest) -> ServiceResult<(Urn, Option<i32>)> {
    let mut v = Violations::new();
    let urn = v.check(names::parse_school("name", &req.name).map(|(_, urn)| urn));
    let version = match req.version {
        0 => Some(None),
        n if n > 0 => Some(Some(n)),
        _ => {
            v.push(FieldViolation::new("version", "must not be negative"));
            None
        }
    };
    v.finish(urn.zip(version))
}

/// A ListSchools request, paged by URN.
pub(crate) fn list_request(req: &pb::ListSchoolsRequest) -> ServiceResult<PageRequest<(), String>> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    let size = v.check(pagination::page_size("page_size", req.page_size));
    let filter = format!("parent={}", req.parent);
    let after = v.check(pagination::decode_with(
        "page_token",
        &req.page_token,
        &filter,
        |c| Urn::parse(c).ok().map(|_| c.to_string()),
    ));
    let (size, after) = v.finish(size.zip(after))?;
    Ok(PageRequest {
        query: (),
        size,
        after,
        filter,
    })
}
