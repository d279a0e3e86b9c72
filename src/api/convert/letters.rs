//! Authority letter settings (PolicyService) and rendered notices
//! (NoticeService) ⇄ domain values.

use chrono::NaiveDate;

use super::{date, date_to_proto, timestamp_to_proto};
use crate::api::error::Violations;
use crate::api::mutation::validate_request_id;
use crate::app::RenderedPdf;
use crate::app::ServiceResult;
use crate::domain::{
    FieldViolation,
    identifiers::LaCode,
    letter::{AuthorityDetails, AuthoritySettings},
    names,
    notice::Address,
};
use crate::proto::v1 as pb;

/// The media type of a rendered notice.
pub const PDF_CONTENT_TYPE: &str = "application/pdf";

pub(crate) fn settings_to_proto(
    authority: &LaCode,
    s: &AuthoritySettings,
) -> pb::AuthoritySettings {
    let d = &s.details;
    pb::AuthoritySettings {
        name: names::authority_settings_name(authority, s.effective_from),
        effective_from: Some(date_to_proto(s.effective_from)),
        authority_name: d.name.clone(),
        address: Some(pb::PostalAddress::from(&d.address)),
        payment_url: d.payment_url.clone(),
        payment_telephone: d.payment_telephone.clone(),
        questions_contact: d.questions_contact.clone(),
        create_time: Some(timestamp_to_proto(s.published_at)),
        creator: Some(pb::Actor {
            subject: s.published_by.subject.clone(),
            role: crate::api::caller::role_to_proto(s.published_by.role) as i32,
        }),
    }
}

/// A CreateAuthoritySettings request: the first issue date the version is
/// printed for, and the details, validated.
pub(crate) fn new_settings(
    req: &pb::CreateAuthoritySettingsRequest,
) -> ServiceResult<(NaiveDate, AuthorityDetails)> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    v.check(validate_request_id("request_id", &req.request_id));
    let Some(s) = &req.settings else {
        v.push(FieldViolation::new("settings", "the settings are required"));
        return v.finish(None);
    };
    let effective_from = v.check(date("settings.effective_from", s.effective_from.as_ref()));
    let address = s
        .address
        .as_ref()
        .map_or_else(Address::default, |a| Address {
            lines: a.lines.iter().map(|l| l.trim().to_string()).collect(),
            postcode: a.postcode.trim().to_string(),
        });
    let details = AuthorityDetails {
        name: s.authority_name.trim().to_string(),
        address,
        payment_url: s.payment_url.trim().to_string(),
        payment_telephone: s.payment_telephone.trim().to_string(),
        questions_contact: s.questions_contact.trim().to_string(),
    };
    let problems = details.validate();
    let valid = problems.is_empty();
    v.extend(problems.into_iter().map(|f| f.nested_under("settings")));
    v.finish(effective_from.filter(|_| valid).map(|d| (d, details)))
}

/// A GetAuthoritySettings request's date.
pub(crate) fn settings_date(req: &pb::GetAuthoritySettingsRequest) -> ServiceResult<NaiveDate> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    let on = v.check(date("date", req.date.as_ref()));
    v.finish(on)
}

impl From<RenderedPdf> for pb::RenderNoticeResponse {
    fn from(pdf: RenderedPdf) -> Self {
        pb::RenderNoticeResponse {
            content: pdf.bytes,
            content_type: PDF_CONTENT_TYPE.to_string(),
            page_count: i32::try_from(pdf.page_count).unwrap_or(i32::MAX),
        }
    }
}
