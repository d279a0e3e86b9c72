//! PolicyService: each authority's versioned local code of conduct.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::convert::{date, date_to_proto, timestamp_to_proto};
use super::error::{ApiError, Violations};
use super::mutation::{Begun, IdempotentRequest, now, validate_request_id};
use super::{caller, names, pagination};
use crate::domain::access::Operation;
use chrono::NaiveDate;

use crate::domain::{
    FieldViolation, RuleViolation,
    identifiers::LaCode,
    policy::{
        self, IssuerRole, OffenceReason, PolicyRules, PolicySource, PolicyVersion, Publication,
        Threshold,
    },
};
use crate::proto::v1::{self as pb, policy_service_server::PolicyService};
use crate::store::{NewAuditEvent, Store, StoreError, StoreTx};

const CREATE_METHOD: &str = "/lea.notices.v1.PolicyService/CreatePolicyVersion";

pub struct PolicyApi {
    store: Arc<dyn Store>,
}

impl PolicyApi {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// Every version of an authority (they are few: one per change of local code).
    async fn all_versions(&self, authority: &LaCode) -> Result<Vec<PolicyVersion>, ApiError> {
        let mut tx = self.store.begin_read().await?;
        let versions = tx.policy_versions(authority, None, i64::MAX).await?;
        tx.commit().await?;
        Ok(versions)
    }
}

#[tonic::async_trait]
impl PolicyService for PolicyApi {
    async fn create_policy_version(
        &self,
        request: Request<pb::CreatePolicyVersionRequest>,
    ) -> Result<Response<pb::CreatePolicyVersionResponse>, Status> {
        let caller = caller::authorize(&request, Operation::CreatePolicyVersion)?;
        let actor = caller.actor.clone();
        let req = request.into_inner();
        caller.check_parent_name(&req.parent)?;

        let mut v = Violations::new();
        let authority = v.check(names::parse_authority("parent", &req.parent));
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
        let (authority, (effective_from, rules)) = v.finish(authority.zip(version))?;

        let request = IdempotentRequest::new(&authority, &req.request_id, CREATE_METHOD, &req);
        let mut tx = match request.begin(&*self.store).await? {
            Begun::Replay(response) => return Ok(Response::new(response)),
            Begun::New(tx) => tx,
        };
        let version = PolicyVersion {
            effective_from,
            source: PolicySource::Authority,
            rules,
            published: Some(Publication {
                at: now(),
                by: actor.clone(),
            }),
        };
        match tx.insert_policy_version(&authority, &version).await {
            Err(StoreError::Duplicate(_)) => {
                return Err(ApiError::from(FieldViolation::new(
                    "policy_version.effective_from",
                    format!("authority {authority} already has a version effective from {effective_from}"),
                ))
                .into());
            }
            other => other.map_err(ApiError::from)?,
        }
        let name = names::policy_version_name(&authority, effective_from);
        tx.append_audit(&NewAuditEvent {
            authority: &authority,
            at: version.published.as_ref().map_or_else(now, |p| p.at),
            actor: &actor,
            action: "policy_version.created",
            resource: &name,
            request_id: request.request_id(),
            details: serde_json::json!({
                "effective_from": effective_from,
                "rules": &version.rules,
            }),
        })
        .await
        .map_err(ApiError::from)?;
        let response = pb::CreatePolicyVersionResponse {
            policy_version: Some(version_to_proto(&authority, &version)),
        };
        request.commit(tx, &response).await?;
        Ok(Response::new(response))
    }

    async fn get_policy(
        &self,
        request: Request<pb::GetPolicyRequest>,
    ) -> Result<Response<pb::GetPolicyResponse>, Status> {
        let caller = caller::authorize(&request, Operation::ReadPolicy)?;
        let req = request.into_inner();
        caller.check_parent_name(&req.parent)?;
        let mut v = Violations::new();
        let authority = v.check(names::parse_authority("parent", &req.parent));
        let on = v.check(date("date", req.date.as_ref()));
        let (authority, on) = v.finish(authority.zip(on))?;

        let own = self.all_versions(&authority).await?;
        let version = policy::in_force(&own, on).ok_or_else(|| {
            ApiError::NotFound(format!(
                "a policy in force on {on} (penalty notices exist from {})",
                policy::FIRST_REGIME_FROM
            ))
        })?;
        Ok(Response::new(pb::GetPolicyResponse {
            policy_version: Some(version_to_proto(&authority, &version)),
        }))
    }

    async fn list_policy_versions(
        &self,
        request: Request<pb::ListPolicyVersionsRequest>,
    ) -> Result<Response<pb::ListPolicyVersionsResponse>, Status> {
        let caller = caller::authorize(&request, Operation::ReadPolicy)?;
        let req = request.into_inner();
        caller.check_parent_name(&req.parent)?;
        let mut v = Violations::new();
        let authority = v.check(names::parse_authority("parent", &req.parent));
        let size = v.check(pagination::page_size("page_size", req.page_size));
        let filter = format!("parent={}", req.parent);
        let cursor = v.check(pagination::decode_token(
            "page_token",
            &req.page_token,
            &filter,
        ));
        let after = match cursor.flatten() {
            None => Some(None),
            Some(c) => v.check(c.parse().map(Some).map_err(|_| {
                FieldViolation::new("page_token", "not a page token this service issued")
            })),
        };
        let ((authority, size), after) = v.finish(authority.zip(size).zip(after))?;

        let mut tx = self.store.begin_read().await.map_err(ApiError::from)?;
        let fetched = tx
            .policy_versions(&authority, after, size + 1)
            .await
            .map_err(ApiError::from)?;
        tx.commit().await.map_err(ApiError::from)?;
        let (page, next_page_token) = pagination::page(fetched, size, &filter, |last| {
            last.effective_from.to_string()
        });
        Ok(Response::new(pb::ListPolicyVersionsResponse {
            policy_versions: page
                .iter()
                .map(|p| version_to_proto(&authority, p))
                .collect(),
            next_page_token,
        }))
    }
}

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
        create_time: v.published.as_ref().map(|p| timestamp_to_proto(p.at)),
        creator: v.published.as_ref().map(|p| pb::Actor {
            subject: p.by.subject.clone(),
            role: super::caller::role_to_proto(p.by.role) as i32,
        }),
    }
}

/// The policy in force on `on`, with its resource name.
pub async fn policy_in_force(
    store: &mut dyn StoreTx,
    authority: &LaCode,
    on: NaiveDate,
) -> Result<(PolicyVersion, String), ApiError> {
    let own = store.policy_versions(authority, None, i64::MAX).await?;
    let version = policy::in_force(&own, on).ok_or_else(|| {
        ApiError::FailedPrecondition(vec![RuleViolation::new(
            "NO_POLICY_IN_FORCE",
            on.to_string(),
            format!("no penalty notice regime was in force on {on}"),
        )])
    })?;
    let name = match version.source {
        PolicySource::Authority => names::policy_version_name(authority, version.effective_from),
        PolicySource::National => names::national_regime_name(version.effective_from),
    };
    Ok((version, name))
}
