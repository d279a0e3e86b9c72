//! Retention policy versions (PolicyService) ⇄ domain values.

use chrono::NaiveDate;

use super::{date, date_to_proto, timestamp_to_proto};
use crate::api::error::Violations;
use crate::api::mutation::validate_request_id;
use crate::app::ServiceResult;
use crate::domain::{
    FieldViolation,
    identifiers::LaCode,
    names,
    retention::{self, RecordKind, RetentionPeriods, RetentionPolicy},
};
use crate::proto::v1 as pb;

pub(crate) fn retention_to_proto(
    authority: &LaCode,
    v: &RetentionPolicy,
) -> pb::RetentionPolicyVersion {
    let p = &v.periods;
    let (source, bases) = match v.effective_from {
        Some(_) => (pb::RetentionPolicySource::Authority, Vec::new()),
        None => (
            pb::RetentionPolicySource::Default,
            RecordKind::ALL
                .into_iter()
                .map(|kind| pb::RetentionBasis {
                    field: RetentionPeriods::field(kind).to_string(),
                    basis: retention::default_basis(kind).to_string(),
                })
                .collect(),
        ),
    };
    pb::RetentionPolicyVersion {
        name: v
            .effective_from
            .map(|d| names::retention_policy_version_name(authority, d))
            .unwrap_or_default(),
        effective_from: v.effective_from.map(date_to_proto),
        register_years: p.register_years,
        breach_years: p.breach_years,
        notice_years: p.notice_years,
        payment_years: p.payment_years,
        access_log_years: p.access_log_years,
        source: source as i32,
        bases,
        create_time: v.published.as_ref().map(|p| timestamp_to_proto(p.at)),
        creator: v.published.as_ref().map(|p| pb::Actor {
            subject: p.by.subject.clone(),
            role: crate::api::caller::role_to_proto(p.by.role) as i32,
        }),
    }
}

/// A CreateRetentionPolicyVersion request: the first day in force and the
/// periods, validated.
pub(crate) fn new_retention(
    req: &pb::CreateRetentionPolicyVersionRequest,
) -> ServiceResult<(NaiveDate, RetentionPeriods)> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    v.check(validate_request_id("request_id", &req.request_id));
    let Some(r) = &req.retention_policy_version else {
        v.push(FieldViolation::new(
            "retention_policy_version",
            "the version is required",
        ));
        return v.finish(None);
    };
    let effective_from = v.check(date(
        "retention_policy_version.effective_from",
        r.effective_from.as_ref(),
    ));
    let periods = RetentionPeriods {
        register_years: r.register_years,
        breach_years: r.breach_years,
        notice_years: r.notice_years,
        payment_years: r.payment_years,
        access_log_years: r.access_log_years,
    };
    let problems = periods.validate();
    let valid = problems.is_empty();
    v.extend(
        problems
            .into_iter()
            .map(|f| f.nested_under("retention_policy_version")),
    );
    v.finish(effective_from.filter(|_| valid).map(|d| (d, periods)))
}

/// A GetRetentionPolicy request's date.
pub(crate) fn retention_date(req: &pb::GetRetentionPolicyRequest) -> ServiceResult<NaiveDate> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    let on = v.check(date("date", req.date.as_ref()));
    v.finish(on)
}
