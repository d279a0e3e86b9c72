//! Each authority's versioned policy and letter settings.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::rows::{join_list, parse_json, parse_name, split_list, to_json};
use super::tx::{duplicate_as, sql_impl};
use super::{StoreError, StoreResult};
use crate::domain::actor::{Actor, Role};
use crate::domain::identifiers::LaCode;
use crate::domain::letter::{AuthorityDetails, AuthoritySettings};
use crate::domain::notice::Address;
use crate::domain::policy::{
    EvidenceRule, IssuerRole, OffenceReason, PolicyRules, PolicySource, PolicyVersion, Publication,
    Threshold,
};

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
    evidence_rule: String,
    created_at: DateTime<Utc>,
    created_by_subject: String,
    created_by_role: String,
    school_requests_accepted: bool,
    lower_rate_warning_days: i32,
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
         part_payments_accepted, evidence_rule, created_at, created_by_subject, created_by_role, \
         school_requests_accepted, lower_rate_warning_days"
    };
}

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
                evidence: parse_name("evidence_rule", &r.evidence_rule, EvidenceRule::parse)?,
                school_requests_accepted: r.school_requests_accepted,
                lower_rate_warning_days: r.lower_rate_warning_days,
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
pub(super) struct AuthoritySettingsRow {
    effective_from: NaiveDate,
    authority_name: String,
    address_lines: String,
    postcode: String,
    payment_url: String,
    payment_telephone: String,
    questions_contact: String,
    created_at: DateTime<Utc>,
    created_by_subject: String,
    created_by_role: String,
}

impl TryFrom<AuthoritySettingsRow> for AuthoritySettings {
    type Error = StoreError;

    fn try_from(r: AuthoritySettingsRow) -> StoreResult<Self> {
        Ok(AuthoritySettings {
            effective_from: r.effective_from,
            details: AuthorityDetails {
                name: r.authority_name,
                address: Address {
                    lines: parse_json("address_lines", &r.address_lines)?,
                    postcode: r.postcode,
                },
                payment_url: r.payment_url,
                payment_telephone: r.payment_telephone,
                questions_contact: r.questions_contact,
            },
            published_at: r.created_at,
            published_by: Actor {
                subject: r.created_by_subject,
                role: Role::parse(&r.created_by_role),
            },
        })
    }
}

/// Policy versions and letter settings, each versioned by effective date.
#[async_trait]
pub trait PolicyStore: Send {
    /// Inserts an authority's policy version; `Duplicate` if one starts on that date.
    async fn insert_policy_version(
        &mut self,
        authority: &LaCode,
        version: &PolicyVersion,
    ) -> StoreResult<()>;

    /// An authority's own policy versions with `effective_from` after `after`,
    /// oldest first, at most `limit`.
    async fn policy_versions(
        &mut self,
        authority: &LaCode,
        after: Option<NaiveDate>,
        limit: i64,
    ) -> StoreResult<Vec<PolicyVersion>>;

    /// Inserts a version of an authority's letter settings; `Duplicate` if one
    /// starts on that date.
    async fn insert_authority_settings(
        &mut self,
        authority: &LaCode,
        settings: &AuthoritySettings,
    ) -> StoreResult<()>;

    /// Every version of an authority's letter settings, oldest first.
    async fn authority_settings(
        &mut self,
        authority: &LaCode,
    ) -> StoreResult<Vec<AuthoritySettings>>;
}

sql_impl! {
    impl PolicyStore for Tx {
        async fn insert_policy_version(
            &mut self,
            authority: &LaCode,
            v: &PolicyVersion,
        ) -> StoreResult<()> {
            self.policy_versions = None;
            let r = &v.rules;
            let published = v.published.as_ref().ok_or_else(|| {
                StoreError::Corrupt("an authority's version needs its publication".into())
            })?;
            sqlx::query(concat!(
                "INSERT INTO policy_versions (authority_code, ",
                policy_version_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                 $17, $18, $19, $20, $21, $22, $23, $24)"
            ))
            .bind(authority.as_str())
            .bind(v.effective_from)
            .bind(r.lower_amount_pence)
            .bind(r.lower_period_days)
            .bind(r.higher_amount_pence)
            .bind(r.higher_period_days)
            .bind(r.second_notice_amount_pence)
            .bind(r.threshold.sessions)
            .bind(r.threshold.window_school_weeks)
            .bind(join_list(
                r.threshold.qualifying_codes.iter().map(String::as_str),
            ))
            .bind(r.max_notices_per_parent_per_child)
            .bind(r.notice_limit_period_years)
            .bind(r.notice_to_improve_min_school_weeks)
            .bind(r.notice_to_improve_max_school_weeks)
            .bind(join_list(
                r.notice_to_improve_required_for.iter().map(|x| x.as_str()),
            ))
            .bind(join_list(r.permitted_issuers.iter().map(|x| x.as_str())))
            .bind(r.request_deadline_school_days)
            .bind(r.part_payments_accepted)
            .bind(r.evidence.as_str())
            .bind(published.at)
            .bind(&published.by.subject)
            .bind(published.by.role_str())
            .bind(r.school_requests_accepted)
            .bind(r.lower_rate_warning_days)
            .execute(&mut *self.conn)
            .await
            .map_err(duplicate_as(|| {
                format!(
                    "a policy version of authority {authority} effective from {}",
                    v.effective_from
                )
            }))?;
            Ok(())
        }

        async fn policy_versions(
            &mut self,
            authority: &LaCode,
            after: Option<NaiveDate>,
            limit: i64,
        ) -> StoreResult<Vec<PolicyVersion>> {
            let all = after.is_none() && limit == i64::MAX;
            if all
                && let Some((read_for, versions)) = &self.policy_versions
                && read_for == authority
            {
                return Ok(versions.clone());
            }
            let versions = self.select_policy_versions(authority, after, limit).await?;
            if all {
                self.policy_versions = Some((authority.clone(), versions.clone()));
            }
            Ok(versions)
        }

        async fn insert_authority_settings(
            &mut self,
            authority: &LaCode,
            s: &AuthoritySettings,
        ) -> StoreResult<()> {
            let d = &s.details;
            sqlx::query(
                "INSERT INTO authority_settings (authority_code, effective_from, authority_name, \
                 address_lines, postcode, payment_url, payment_telephone, questions_contact, \
                 created_at, created_by_subject, created_by_role) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(authority.as_str())
            .bind(s.effective_from)
            .bind(&d.name)
            .bind(to_json(&d.address.lines))
            .bind(&d.address.postcode)
            .bind(&d.payment_url)
            .bind(&d.payment_telephone)
            .bind(&d.questions_contact)
            .bind(s.published_at)
            .bind(&s.published_by.subject)
            .bind(s.published_by.role_str())
            .execute(&mut *self.conn)
            .await
            .map_err(duplicate_as(|| {
                format!(
                    "letter settings of authority {authority} effective from {}",
                    s.effective_from
                )
            }))?;
            Ok(())
        }

        async fn authority_settings(
            &mut self,
            authority: &LaCode,
        ) -> StoreResult<Vec<AuthoritySettings>> {
            let rows: Vec<AuthoritySettingsRow> = sqlx::query_as(
                "SELECT effective_from, authority_name, address_lines, postcode, payment_url, \
                 payment_telephone, questions_contact, created_at, created_by_subject, \
                 created_by_role FROM authority_settings WHERE authority_code = $1 \
                 ORDER BY effective_from",
            )
            .bind(authority.as_str())
            .fetch_all(&mut *self.conn)
            .await?;
            rows.into_iter().map(AuthoritySettings::try_from).collect()
        }
    }
}

sql_impl! {
    impl Tx {
        async fn select_policy_versions(
            &mut self,
            authority: &LaCode,
            after: Option<NaiveDate>,
            limit: i64,
        ) -> StoreResult<Vec<PolicyVersion>> {
            let rows: Vec<PolicyVersionRow> = sqlx::query_as(concat!(
                "SELECT ",
                policy_version_columns!(),
                " FROM policy_versions \
                 WHERE authority_code = $1 AND ($2 IS NULL OR effective_from > $2) \
                 ORDER BY effective_from LIMIT $3"
            ))
            .bind(authority.as_str())
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *self.conn)
            .await?;
            rows.into_iter().map(PolicyVersion::try_from).collect()
        }
    }
}
