//! Sharing agreement versions: the requests as the use cases take them, and
//! the versions as the protocol gives them.

use chrono::NaiveDate;

use super::{date, date_to_proto, timestamp_to_proto};
use crate::api::error::Violations;
use crate::api::mutation::validate_request_id;
use crate::app::ServiceResult;
use crate::domain::{
    FieldViolation,
    identifiers::LaCode,
    names,
    sharing::{MAX_SHARES_WITH, SharingAgreementVersion},
};
use crate::proto::v1 as pb;

pub(crate) fn sharing_to_proto(
    authority: &LaCode,
    v: &SharingAgreementVersion,
) -> pb::SharingAgreementVersion {
    pb::SharingAgreementVersion {
        name: names::sharing_agreement_name(authority, v.effective_from),
        effective_from: Some(date_to_proto(v.effective_from)),
        shares_with: v
            .shares_with
            .iter()
            .map(|c| c.as_str().to_string())
            .collect(),
        create_time: Some(timestamp_to_proto(v.published_at)),
        creator: Some(pb::Actor {
            subject: v.published_by.subject.clone(),
            role: crate::api::caller::role_to_proto(v.published_by.role) as i32,
        }),
    }
}

/// A CreateSharingAgreementVersion request: the effective date and the
/// authorities shared with (sorted, each once).
pub(crate) fn new_sharing(
    req: &pb::CreateSharingAgreementVersionRequest,
) -> ServiceResult<(NaiveDate, Vec<LaCode>)> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    v.check(validate_request_id("request_id", &req.request_id));
    let Some(s) = &req.sharing_agreement_version else {
        v.push(FieldViolation::new(
            "sharing_agreement_version",
            "the version is required",
        ));
        return v.finish(None);
    };
    let effective_from = v.check(date(
        "sharing_agreement_version.effective_from",
        s.effective_from.as_ref(),
    ));
    if s.shares_with.len() > MAX_SHARES_WITH {
        v.push(FieldViolation::new(
            "sharing_agreement_version.shares_with",
            format!("at most {MAX_SHARES_WITH} authorities"),
        ));
    }
    let mut codes = Vec::new();
    for (i, code) in s.shares_with.iter().enumerate() {
        match LaCode::parse(code.trim()) {
            Ok(c) if codes.contains(&c) => v.push(FieldViolation::new(
                format!("sharing_agreement_version.shares_with[{i}]"),
                "listed twice",
            )),
            Ok(c) => codes.push(c),
            Err(e) => v.push(FieldViolation::new(
                format!("sharing_agreement_version.shares_with[{i}]"),
                e,
            )),
        }
    }
    codes.sort();
    v.finish(effective_from.map(|d| (d, codes)))
}

pub(crate) fn sharing_date(req: &pb::GetSharingAgreementRequest) -> ServiceResult<NaiveDate> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    let on = v.check(date("date", req.date.as_ref()));
    v.finish(on)
}
