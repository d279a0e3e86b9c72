//! Builders of policy versions, and the calls that create and read them.

#![allow(dead_code)]

use crate::helpers::la_of;
use lea_notices::domain::actor::Role;
use lea_notices::domain::identifiers::LaCode;
use lea_notices::proto::v1::{self as pb};

use crate::helpers::{TestApp, date};

/// A valid local version: Hampshire-style, lower rate £80 in 21 days, a notice
/// to improve required before holiday-free cases, only LA officers issue.
pub(crate) fn local_version(year: i32, month: i32, day: i32) -> pb::PolicyVersion {
    pb::PolicyVersion {
        effective_from: date(year, month, day),
        lower_amount_pence: 8_000,
        lower_period_days: 21,
        higher_amount_pence: 16_000,
        higher_period_days: 28,
        second_notice_amount_pence: 16_000,
        threshold: Some(pb::Threshold {
            sessions: 10,
            window_school_weeks: 10,
            qualifying_codes: vec!["G".into(), "N".into(), "O".into(), "U".into()],
        }),
        max_notices_per_parent_per_child: 2,
        notice_limit_period_years: 3,
        notice_to_improve_min_school_weeks: 4,
        notice_to_improve_max_school_weeks: 6,
        notice_to_improve_required_for: vec![
            pb::OffenceReason::Other as i32,
            pb::OffenceReason::Late as i32,
        ],
        permitted_issuers: vec![pb::IssuerRole::LaOfficer as i32],
        request_deadline_school_days: 10,
        part_payments_accepted: false,
        ..Default::default()
    }
}

pub(crate) fn create(
    parent: &str,
    request_id: &str,
    version: pb::PolicyVersion,
) -> pb::CreatePolicyVersionRequest {
    pb::CreatePolicyVersionRequest {
        parent: parent.into(),
        request_id: request_id.into(),
        policy_version: Some(version),
    }
}

pub(crate) async fn policy_on(
    app: &TestApp,
    parent: &str,
    y: i32,
    m: i32,
    d: i32,
) -> Result<pb::PolicyVersion, tonic::Status> {
    app.as_role(la_of(parent), Role::LaOfficer)
        .policy()
        .get_policy(pb::GetPolicyRequest {
            parent: parent.into(),
            date: date(y, m, d),
        })
        .await
        .map(|r| r.into_inner().policy_version.expect("version"))
}

pub(crate) async fn versions(app: &TestApp, parent: &str) -> Vec<pb::PolicyVersion> {
    app.as_role(la_of(parent), Role::Admin)
        .policy()
        .list_policy_versions(pb::ListPolicyVersionsRequest {
            parent: parent.into(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .policy_versions
}

pub(crate) async fn audit_count(app: &TestApp, la: &str) -> usize {
    app.audit_events(&LaCode::parse(la).unwrap(), None, 0, 1000)
        .await
        .unwrap()
        .len()
}
