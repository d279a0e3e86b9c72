//! PolicyService messages ⇄ domain policy versions.

use chrono::NaiveDate;

use super::{date, date_to_proto, timestamp_to_proto};
use crate::api::error::Violations;
use crate::api::mutation::validate_request_id;
use crate::api::pagination::{self, PageRequest};
use crate::app::ServiceResult;
use crate::domain::{
    FieldViolation,
    identifiers::LaCode,
    names,
    policy::{
        DEFAULT_LOWER_RATE_WARNING_DAYS, EvidenceRule, IssuerRole, OffenceReason, PolicyRules,
        PolicySource, PolicyVersion, Threshold,
    },
};
use crate::proto::v1 as pb;

pub(crate) fn issuer_role_from_proto(value: i32) -> Option<IssuerRole> {
    match pb::IssuerRole::try_from(value).ok()? {
        pb::IssuerRole::HeadTeacher => Some(IssuerRole::HeadTeacher),
        pb::IssuerRole::LaOfficer => Some(IssuerRole::LaOfficer),
        pb::IssuerRole::Police => Some(IssuerRole::Police),
        pb::IssuerRole::Unspecified => None,
    }
}

pub(crate) fn issuer_role_to_proto(role: IssuerRole) -> pb::IssuerRole {
    match role {
        IssuerRole::HeadTeacher => pb::IssuerRole::HeadTeacher,
        IssuerRole::LaOfficer => pb::IssuerRole::LaOfficer,
        IssuerRole::Police => pb::IssuerRole::Police,
    }
}

/// Unset is the national default, REGISTER_REQUIRED; an unknown value is `None`.
fn evidence_rule_from_proto(value: i32) -> Option<EvidenceRule> {
    match pb::EvidenceRule::try_from(value).ok()? {
        pb::EvidenceRule::Unspecified | pb::EvidenceRule::RegisterRequired => {
            Some(EvidenceRule::RegisterRequired)
        }
        pb::EvidenceRule::ClaimsAllowed => Some(EvidenceRule::ClaimsAllowed),
    }
}

fn evidence_rule_to_proto(rule: EvidenceRule) -> pb::EvidenceRule {
    match rule {
        EvidenceRule::RegisterRequired => pb::EvidenceRule::RegisterRequired,
        EvidenceRule::ClaimsAllowed => pb::EvidenceRule::ClaimsAllowed,
    }
}

pub(crate) fn offence_reason_from_proto(value: i32) -> Option<OffenceReason> {
    match pb::OffenceReason::try_from(value).ok()? {
        pb::OffenceReason::Holiday => Some(OffenceReason::Holiday),
        pb::OffenceReason::Late => Some(OffenceReason::Late),
        pb::OffenceReason::Other => Some(OffenceReason::Other),
        pb::OffenceReason::Unspecified => None,
    }
}

pub(crate) fn offence_reason_to_proto(reason: OffenceReason) -> pb::OffenceReason {
    match reason {
        OffenceReason::Holiday => pb::OffenceReason::Holiday,
        OffenceReason::Late => pb::OffenceReason::Late,
        OffenceReason::Other => pb::OffenceReason::Other,
    }
}

/// Converts each item of a repeated enum field, naming the ones that are not a value.
fn enum_list<T>(
    field: &str,
    values: &[i32],
    convert: impl Fn(i32) -> Option<T>,
    problems: &mut Vec<FieldViolation>,
) -> Vec<T> {
    values
        .iter()
        .enumerate()
        .filter_map(|(i, &value)| {
            let converted = convert(value);
            if converted.is_none() {
                problems.push(FieldViolation::new(
                    format!("{field}[{i}]"),
                    format!("{value} is not one of the allowed values"),
                ));
            }
            converted
        })
        .collect()
}

/// The effective date and rules of a version to create, and every problem with
/// them (field paths relative to the version).
fn version_from_proto(
    p: &pb::PolicyVersion,
) -> (
    Option<(chrono::NaiveDate, PolicyRules)>,
    Vec<FieldViolation>,
) {
    let mut problems = Vec::new();
    let effective_from = date("effective_from", p.effective_from.as_ref())
        .map_err(|e| problems.push(e))
        .ok();
    let threshold = p.threshold.clone().unwrap_or_default();
    let rules = PolicyRules {
        lower_amount_pence: p.lower_amount_pence,
        lower_period_days: p.lower_period_days,
        higher_amount_pence: p.higher_amount_pence,
        higher_period_days: p.higher_period_days,
        second_notice_amount_pence: p.second_notice_amount_pence,
        threshold: Threshold {
            sessions: threshold.sessions,
            window_school_weeks: threshold.window_school_weeks,
            qualifying_codes: threshold.qualifying_codes,
        },
        max_notices_per_parent_per_child: p.max_notices_per_parent_per_child,
        notice_limit_period_years: p.notice_limit_period_years,
        notice_to_improve_min_school_weeks: p.notice_to_improve_min_school_weeks,
        notice_to_improve_max_school_weeks: p.notice_to_improve_max_school_weeks,
        notice_to_improve_required_for: enum_list(
            "notice_to_improve_required_for",
            &p.notice_to_improve_required_for,
            offence_reason_from_proto,
            &mut problems,
        ),
        permitted_issuers: enum_list(
            "permitted_issuers",
            &p.permitted_issuers,
            issuer_role_from_proto,
            &mut problems,
        ),
        request_deadline_school_days: p.request_deadline_school_days,
        part_payments_accepted: p.part_payments_accepted,
        evidence: evidence_rule_from_proto(p.evidence_rule).unwrap_or_else(|| {
            problems.push(FieldViolation::new(
                "evidence_rule",
                format!("{} is not one of the allowed values", p.evidence_rule),
            ));
            EvidenceRule::default()
        }),
        // Unset keeps the national default: schools may request.
        school_requests_accepted: p.school_requests != pb::SchoolRequests::NotAccepted as i32,
        // Unset (0) keeps the default.
        lower_rate_warning_days: match p.lower_rate_warning_days {
            0 => DEFAULT_LOWER_RATE_WARNING_DAYS,
            days => days,
        },
    };
    match effective_from {
        Some(from) => {
            problems.extend(rules.validate(from));
            (Some((from, rules)), problems)
        }
        None => (None, problems),
    }
}

pub(crate) fn version_to_proto(authority: &LaCode, v: &PolicyVersion) -> pb::PolicyVersion {
    let r = &v.rules;
    let (name, source) = match v.source {
        PolicySource::Authority => (
            names::policy_version_name(authority, v.effective_from),
            pb::PolicySource::Authority,
        ),
        PolicySource::National => (
            names::national_regime_name(v.effective_from),
            pb::PolicySource::National,
        ),
    };
    pb::PolicyVersion {
        name,
        source: source as i32,
        effective_from: Some(date_to_proto(v.effective_from)),
        lower_amount_pence: r.lower_amount_pence,
        lower_period_days: r.lower_period_days,
        higher_amount_pence: r.higher_amount_pence,
        higher_period_days: r.higher_period_days,
        second_notice_amount_pence: r.second_notice_amount_pence,
        threshold: Some(pb::Threshold {
            sessions: r.threshold.sessions,
            window_school_weeks: r.threshold.window_school_weeks,
            qualifying_codes: r.threshold.qualifying_codes.clone(),
        }),
        max_notices_per_parent_per_child: r.max_notices_per_parent_per_child,
        notice_limit_period_years: r.notice_limit_period_years,
        notice_to_improve_min_school_weeks: r.notice_to_improve_min_school_weeks,
        notice_to_improve_max_school_weeks: r.notice_to_improve_max_school_weeks,
        notice_to_improve_required_for: r
            .notice_to_improve_required_for
            .iter()
            .map(|&x| offence_reason_to_proto(x) as i32)
            .collect(),
        permitted_issuers: r
            .permitted_issuers
            .iter()
            .map(|&x| issuer_role_to_proto(x) as i32)
            .collect(),
        request_deadline_school_days: r.request_deadline_school_days,
        part_payments_accepted: r.part_payments_accepted,
        evidence_rule: evidence_rule_to_proto(r.evidence) as i32,
        school_requests: if r.school_requests_accepted {
            pb::SchoolRequests::Accepted
        } else {
            pb::SchoolRequests::NotAccepted
        } as i32,
        lower_rate_warning_days: r.lower_rate_warning_days,
        create_time: v.published.as_ref().map(|p| timestamp_to_proto(p.at)),
        creator: v.published.as_ref().map(|p| pb::Actor {
            subject: p.by.subject.clone(),
            role: crate::api::caller::role_to_proto(p.by.role) as i32,
        }),
    }
}

/// A CreatePolicyVersion request: the date the version takes effect and its rules,
/// checked against the law.
pub(crate) fn new_version(
    req: &pb::CreatePolicyVersionRequest,
) -> ServiceResult<(NaiveDate, PolicyRules)> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    v.check(validate_request_id("request_id", &req.request_id));
    let version = match &req.policy_version {
        None => {
            v.push(FieldViolation::new(
                "policy_version",
                "a policy version is required",
            ));
            None
        }
        Some(p) => {
            let (version, problems) = version_from_proto(p);
            v.extend(
                problems
                    .into_iter()
                    .map(|f| f.nested_under("policy_version")),
            );
            version
        }
    };
    v.finish(version)
}

/// A GetPolicy request: the date.
pub(crate) fn policy_date(req: &pb::GetPolicyRequest) -> ServiceResult<NaiveDate> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    let on = v.check(date("date", req.date.as_ref()));
    v.finish(on)
}

/// A ListPolicyVersions request.
pub(crate) fn version_page(
    req: &pb::ListPolicyVersionsRequest,
) -> ServiceResult<PageRequest<(), NaiveDate>> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    let size = v.check(pagination::page_size("page_size", req.page_size));
    let filter = format!("parent={}", req.parent);
    let after = v.check(pagination::decode_date(
        "page_token",
        &req.page_token,
        &filter,
    ));
    let (size, after) = v.finish(size.zip(after))?;
    Ok(PageRequest {
        query: (),
        size,
        after,
        filter,
    })
}
