//! Rows as both backends return them, and their conversion to domain values.
//! `FromRow` derives for any sqlx row type, so one definition serves both.

use chrono::{DateTime, NaiveDate, Utc};

use super::{AuditEvent, StoreError, StoreResult, StoredRequest};
use crate::domain::{
    actor::{Actor, Role},
    policy::{
        IssuerRole, OffenceReason, PolicyRules, PolicySource, PolicyVersion, Publication, Threshold,
    },
};

/// Lists are stored as comma-separated names: none of the values holds a comma.
pub(super) fn join_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    items.into_iter().collect::<Vec<_>>().join(",")
}

fn split_list<T>(
    column: &str,
    value: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> StoreResult<Vec<T>> {
    value
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| parse(s).ok_or_else(|| StoreError::Corrupt(format!("{column}: '{s}'"))))
        .collect()
}

#[derive(sqlx::FromRow)]
pub(super) struct PolicyVersionRow {
    effective_from: NaiveDate,
    lower_amount_pence: i64,
    lower_period_days: i32,
    higher_amount_pence: i64,
    higher_period_days: i32,
    second_notice_amount_pence: i64,
    threshold_sessions: i32,
    threshold_window_school_weeks: i32,
    threshold_qualifying_codes: String,
    max_notices_per_parent_per_child: i32,
    notice_limit_period_years: i32,
    notice_to_improve_min_school_weeks: i32,
    notice_to_improve_max_school_weeks: i32,
    notice_to_improve_required_for: String,
    permitted_issuers: String,
    request_deadline_school_days: i32,
    part_payments_accepted: bool,
    created_at: DateTime<Utc>,
    created_by_subject: String,
    created_by_role: String,
}

/// The columns of [`PolicyVersionRow`], as a macro so queries stay `&'static str`
/// (sqlx refuses SQL built at run time unless asserted safe).
macro_rules! policy_version_columns {
    () => {
        "effective_from, lower_amount_pence, lower_period_days, higher_amount_pence, \
         higher_period_days, second_notice_amount_pence, threshold_sessions, \
         threshold_window_school_weeks, threshold_qualifying_codes, \
         max_notices_per_parent_per_child, notice_limit_period_years, \
         notice_to_improve_min_school_weeks, notice_to_improve_max_school_weeks, \
         notice_to_improve_required_for, permitted_issuers, request_deadline_school_days, \
         part_payments_accepted, created_at, created_by_subject, created_by_role"
    };
}
pub(super) use policy_version_columns;

impl TryFrom<PolicyVersionRow> for PolicyVersion {
    type Error = StoreError;

    fn try_from(r: PolicyVersionRow) -> StoreResult<Self> {
        Ok(PolicyVersion {
            effective_from: r.effective_from,
            source: PolicySource::Authority,
            rules: PolicyRules {
                lower_amount_pence: r.lower_amount_pence,
                lower_period_days: r.lower_period_days,
                higher_amount_pence: r.higher_amount_pence,
                higher_period_days: r.higher_period_days,
                second_notice_amount_pence: r.second_notice_amount_pence,
                threshold: Threshold {
                    sessions: r.threshold_sessions,
                    window_school_weeks: r.threshold_window_school_weeks,
                    qualifying_codes: split_list(
                        "threshold_qualifying_codes",
                        &r.threshold_qualifying_codes,
                        |s| Some(s.to_string()),
                    )?,
                },
                max_notices_per_parent_per_child: r.max_notices_per_parent_per_child,
                notice_limit_period_years: r.notice_limit_period_years,
                notice_to_improve_min_school_weeks: r.notice_to_improve_min_school_weeks,
                notice_to_improve_max_school_weeks: r.notice_to_improve_max_school_weeks,
                notice_to_improve_required_for: split_list(
                    "notice_to_improve_required_for",
                    &r.notice_to_improve_required_for,
                    OffenceReason::parse,
                )?,
                permitted_issuers: split_list(
                    "permitted_issuers",
                    &r.permitted_issuers,
                    IssuerRole::parse,
                )?,
                request_deadline_school_days: r.request_deadline_school_days,
                part_payments_accepted: r.part_payments_accepted,
            },
            published: Some(Publication {
                at: r.created_at,
                by: Actor {
                    subject: r.created_by_subject,
                    role: Role::parse(&r.created_by_role),
                },
            }),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct StoredRequestRow {
    method: String,
    fingerprint: String,
    response: Option<Vec<u8>>,
}

impl TryFrom<StoredRequestRow> for StoredRequest {
    type Error = StoreError;

    fn try_from(r: StoredRequestRow) -> StoreResult<Self> {
        Ok(StoredRequest {
            method: r.method,
            fingerprint: r.fingerprint,
            // A committed claim always has its response: both are written in one transaction.
            response: r
                .response
                .ok_or_else(|| StoreError::Corrupt("request id without a response".into()))?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct AuditEventRow {
    event_id: i64,
    occurred_at: DateTime<Utc>,
    actor_subject: String,
    actor_role: String,
    action: String,
    resource: String,
    request_id: String,
    details: String,
}

impl TryFrom<AuditEventRow> for AuditEvent {
    type Error = StoreError;

    fn try_from(r: AuditEventRow) -> StoreResult<Self> {
        Ok(AuditEvent {
            event_id: r.event_id,
            at: r.occurred_at,
            actor_subject: r.actor_subject,
            actor_role: r.actor_role,
            action: r.action,
            resource: r.resource,
            request_id: r.request_id,
            details: serde_json::from_str(&r.details)
                .map_err(|e| StoreError::Corrupt(format!("audit details: {e}")))?,
        })
    }
}
