//! Rows as both backends return them, and their conversion to domain values.
//! `FromRow` derives for any sqlx row type, so one definition serves both.

use chrono::{DateTime, NaiveDate, Utc};

use super::{AuditEvent, StoreError, StoreResult, StoredRequest};
use crate::domain::{
    actor::{Actor, Role},
    audit::ChainedEvent,
    identifiers::{Upn, Urn},
    letter::{AuthorityDetails, AuthoritySettings},
    notice::{
        Address, Charges, Delivery, DeliveryMethod, ImprovementPeriod, Issuer, MoneyOnNotice,
        Notice, NoticeKind, Offence, OffenceType, PaidRate, Parent, ProsecutionOutcome,
        ProsecutionResult, Pupil, Settlement, Withdrawal, WithdrawalGround,
    },
    payment::{Allocation, AllocationFact, Channel, Payment, Refund},
    policy::{
        EvidenceRule, IssuerRole, OffenceReason, PolicyRules, PolicySource, PolicyVersion,
        Publication, Threshold,
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
    evidence_rule: String,
    created_at: DateTime<Utc>,
    created_by_subject: String,
    created_by_role: String,
    school_requests_accepted: bool,
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
         school_requests_accepted"
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
                evidence: parse_name("evidence_rule", &r.evidence_rule, EvidenceRule::parse)?,
                school_requests_accepted: r.school_requests_accepted,
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
    prev_hash: Option<String>,
    hash: Option<String>,
}

/// The columns of [`AuditEventRow`] (and of [`ChainedEventRow`]), in order.
macro_rules! audit_event_columns {
    () => {
        "event_id, occurred_at, actor_subject, actor_role, action, resource, request_id, details, \
         prev_hash, hash"
    };
}
pub(super) use audit_event_columns;

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
            prev_hash: r.prev_hash,
            hash: r.hash,
        })
    }
}

/// An audit event as stored, details as text, for recomputing its hash.
#[derive(sqlx::FromRow)]
pub(super) struct ChainedEventRow {
    event_id: i64,
    occurred_at: DateTime<Utc>,
    actor_subject: String,
    actor_role: String,
    action: String,
    resource: String,
    request_id: String,
    details: String,
    prev_hash: Option<String>,
    hash: Option<String>,
}

impl From<ChainedEventRow> for ChainedEvent {
    fn from(r: ChainedEventRow) -> Self {
        ChainedEvent {
            event_id: r.event_id,
            occurred_at: r.occurred_at,
            actor_subject: r.actor_subject,
            actor_role: r.actor_role,
            action: r.action,
            resource: r.resource,
            request_id: r.request_id,
            details: r.details,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

/// The columns of [`NoticeRow`], in order.
macro_rules! notice_columns {
    () => {
        "notice_number, kind, upn, school_urn, pupil_given_name, pupil_family_name, \
         pupil_address_lines, pupil_postcode, parent_person_id, parent_given_name, \
         parent_family_name, parent_address_lines, parent_postcode, related_notices, \
         offence_type, offence_reason, offence_description, sessions, issue_date, issuer_role, \
         issuer_display_name, issuer_official_details, issuer_subject, delivery_method, \
         posting_date, receipt_date, policy_version, second_notice, part_payments_accepted, \
         lower_amount_pence, \
         lower_deadline, higher_amount_pence, higher_deadline, improvement_start_date, \
         improvement_school_weeks, improvement_end_date, improvement_reason, paid_rate, \
         paid_date, withdrawal_ground, withdrawal_reason, withdrawal_date, \
         prosecution_hearing_date, prosecution_court, prosecution_result, \
         prosecution_fine_pence, prosecution_costs_pence, created_at, session_evidence, \
         evidence_corrections"
    };
}
pub(super) use notice_columns;

/// `SELECT` of a notice with the sums of the money on it.
macro_rules! notice_select {
    () => {
        concat!(
            "SELECT ",
            $crate::store::rows::notice_columns!(),
            ", ",
            $crate::store::rows::notice_sums!(),
            " FROM notices"
        )
    };
}
/// The sums of the money on a notice, over the rows of a `notices` in scope.
macro_rules! notice_sums {
    () => {
        "CAST((SELECT COALESCE(SUM(a.amount_pence), 0) FROM allocations a \
           WHERE a.authority_code = notices.authority_code AND a.notice_number = notices.notice_number) AS BIGINT) AS allocated_pence, \
         CAST((SELECT COALESCE(SUM(a.applied_pence), 0) FROM allocations a \
           WHERE a.authority_code = notices.authority_code AND a.notice_number = notices.notice_number) AS BIGINT) AS applied_pence, \
         CAST((SELECT COALESCE(SUM(r.amount_pence), 0) FROM refunds r \
           WHERE r.authority_code = notices.authority_code AND r.notice_number = notices.notice_number) AS BIGINT) AS refunded_pence"
    };
}
pub(crate) use notice_select;
pub(crate) use notice_sums;

#[derive(sqlx::FromRow)]
pub(super) struct NoticeRow {
    notice_number: String,
    kind: String,
    upn: String,
    school_urn: String,
    pupil_given_name: String,
    pupil_family_name: String,
    pupil_address_lines: String,
    pupil_postcode: String,
    parent_person_id: String,
    parent_given_name: String,
    parent_family_name: String,
    parent_address_lines: String,
    parent_postcode: String,
    related_notices: String,
    offence_type: Option<String>,
    offence_reason: Option<String>,
    offence_description: String,
    sessions: String,
    issue_date: NaiveDate,
    issuer_role: String,
    issuer_display_name: String,
    issuer_official_details: String,
    issuer_subject: String,
    delivery_method: String,
    posting_date: Option<NaiveDate>,
    receipt_date: NaiveDate,
    policy_version: String,
    second_notice: bool,
    part_payments_accepted: bool,
    lower_amount_pence: Option<i64>,
    lower_deadline: Option<NaiveDate>,
    higher_amount_pence: Option<i64>,
    higher_deadline: Option<NaiveDate>,
    improvement_start_date: Option<NaiveDate>,
    improvement_school_weeks: Option<i32>,
    improvement_end_date: Option<NaiveDate>,
    improvement_reason: Option<String>,
    paid_rate: Option<String>,
    paid_date: Option<NaiveDate>,
    withdrawal_ground: Option<String>,
    withdrawal_reason: Option<String>,
    withdrawal_date: Option<NaiveDate>,
    prosecution_hearing_date: Option<NaiveDate>,
    prosecution_court: Option<String>,
    prosecution_result: Option<String>,
    prosecution_fine_pence: Option<i64>,
    prosecution_costs_pence: Option<i64>,
    created_at: DateTime<Utc>,
    session_evidence: String,
    evidence_corrections: String,
    allocated_pence: i64,
    applied_pence: i64,
    refunded_pence: i64,
}

fn parse_name<T>(column: &str, value: &str, parse: impl Fn(&str) -> Option<T>) -> StoreResult<T> {
    parse(value).ok_or_else(|| StoreError::Corrupt(format!("{column}: '{value}'")))
}

fn parse_json<T: serde::de::DeserializeOwned>(column: &str, value: &str) -> StoreResult<T> {
    serde_json::from_str(value).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data always serialises")
}

impl TryFrom<NoticeRow> for Notice {
    type Error = StoreError;

    fn try_from(r: NoticeRow) -> StoreResult<Self> {
        let corrupt =
            |what: &str| StoreError::Corrupt(format!("notice {}: {what}", r.notice_number));
        let kind = parse_name("kind", &r.kind, NoticeKind::parse)?;
        let offence = match &r.offence_type {
            None => None,
            Some(t) => Some(Offence {
                offence_type: parse_name("offence_type", t, OffenceType::parse)?,
                reason: r
                    .offence_reason
                    .as_deref()
                    .map(|x| parse_name("offence_reason", x, OffenceReason::parse))
                    .transpose()?,
                description: r.offence_description.clone(),
            }),
        };
        let charges = match (r.higher_amount_pence, r.higher_deadline) {
            (Some(higher_amount_pence), Some(higher_deadline)) => Some(Charges {
                lower_amount_pence: r.lower_amount_pence.unwrap_or(0),
                lower_deadline: r.lower_deadline,
                higher_amount_pence,
                higher_deadline,
            }),
            (None, None) => None,
            _ => return Err(corrupt("higher amount without deadline")),
        };
        let improvement_period = match (
            r.improvement_start_date,
            r.improvement_school_weeks,
            r.improvement_end_date,
        ) {
            (Some(start_date), Some(school_weeks), Some(end_date)) => Some(ImprovementPeriod {
                start_date,
                school_weeks,
                end_date,
                reason: r.improvement_reason.clone().unwrap_or_default(),
            }),
            (None, None, None) => None,
            _ => return Err(corrupt("partial improvement period")),
        };
        let settlement = match (&r.paid_rate, r.paid_date) {
            (Some(rate), Some(date)) => Some(Settlement {
                rate: parse_name("paid_rate", rate, PaidRate::parse)?,
                date,
            }),
            (None, None) => None,
            _ => return Err(corrupt("partial settlement")),
        };
        let withdrawal = match (&r.withdrawal_ground, r.withdrawal_date) {
            (Some(ground), Some(date)) => Some(Withdrawal {
                ground: parse_name("withdrawal_ground", ground, WithdrawalGround::parse)?,
                reason: r.withdrawal_reason.clone().unwrap_or_default(),
                date,
            }),
            (None, None) => None,
            _ => return Err(corrupt("partial withdrawal")),
        };
        let prosecution = match (&r.prosecution_result, r.prosecution_hearing_date) {
            (Some(result), Some(hearing_date)) => Some(ProsecutionOutcome {
                hearing_date,
                court: r.prosecution_court.clone().unwrap_or_default(),
                result: parse_name("prosecution_result", result, ProsecutionResult::parse)?,
                fine_pence: r.prosecution_fine_pence.unwrap_or(0),
                costs_pence: r.prosecution_costs_pence.unwrap_or(0),
            }),
            (None, None) => None,
            _ => return Err(corrupt("partial prosecution outcome")),
        };
        Ok(Notice {
            kind,
            pupil: Pupil {
                upn: Upn::parse(&r.upn).map_err(|e| corrupt(&e))?,
                school_urn: Urn::parse(&r.school_urn).map_err(|e| corrupt(&e))?,
                given_name: r.pupil_given_name,
                family_name: r.pupil_family_name,
                address: Address {
                    lines: parse_json("pupil_address_lines", &r.pupil_address_lines)?,
                    postcode: r.pupil_postcode,
                },
            },
            parent: Parent {
                person_id: r.parent_person_id,
                given_name: r.parent_given_name,
                family_name: r.parent_family_name,
                address: Address {
                    lines: parse_json("parent_address_lines", &r.parent_address_lines)?,
                    postcode: r.parent_postcode,
                },
            },
            related_notices: split_list("related_notices", &r.related_notices, |s| {
                Some(s.to_string())
            })?
            .into_iter()
            .filter(|n| *n != r.notice_number)
            .collect(),
            offence,
            sessions: parse_json("sessions", &r.sessions)?,
            issue_date: r.issue_date,
            issuer: Issuer {
                role: parse_name("issuer_role", &r.issuer_role, IssuerRole::parse)?,
                display_name: r.issuer_display_name,
                official_details: r.issuer_official_details,
                subject: r.issuer_subject,
            },
            delivery: Delivery {
                method: parse_name("delivery_method", &r.delivery_method, DeliveryMethod::parse)?,
                posting_date: r.posting_date,
            },
            receipt_date: r.receipt_date,
            policy_version: r.policy_version,
            second_notice: r.second_notice,
            part_payments_accepted: r.part_payments_accepted,
            charges,
            improvement_period,
            settlement,
            withdrawal,
            prosecution,
            created_at: r.created_at,
            money: MoneyOnNotice {
                allocated_pence: r.allocated_pence,
                applied_pence: r.applied_pence,
                refunded_pence: r.refunded_pence,
            },
            session_evidence: parse_json("session_evidence", &r.session_evidence)?,
            evidence_corrections: parse_json("evidence_corrections", &r.evidence_corrections)?,
            notice_number: r.notice_number,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct PaymentRow {
    payment_id: String,
    amount_pence: i64,
    paid_date: NaiveDate,
    received_at: DateTime<Utc>,
    channel: String,
    provider: String,
    provider_payment_id: String,
    payer_reference: String,
    payer_name: String,
    request_fingerprint: String,
    created_at: DateTime<Utc>,
}

/// `SELECT` of a payment row (`p`), without its allocations and refunds.
macro_rules! payment_select {
    () => {
        "SELECT p.payment_id, p.amount_pence, p.paid_date, p.received_at, p.channel, p.provider, \
         p.provider_payment_id, p.payer_reference, p.payer_name, p.request_fingerprint, p.created_at \
         FROM payments p"
    };
}
pub(super) use payment_select;

impl PaymentRow {
    pub(super) fn payment_id(&self) -> &str {
        &self.payment_id
    }

    /// The payment with its allocations and refunds, and its request fingerprint.
    pub(super) fn into_payment(
        self,
        allocations: Vec<AllocationRow>,
        refunds: Vec<RefundRow>,
    ) -> StoreResult<(Payment, String)> {
        Ok((
            Payment {
                channel: parse_name("channel", &self.channel, Channel::parse)?,
                payment_id: self.payment_id,
                amount_pence: self.amount_pence,
                paid_date: self.paid_date,
                received_at: self.received_at,
                provider: self.provider,
                provider_payment_id: self.provider_payment_id,
                payer_reference: self.payer_reference,
                payer_name: self.payer_name,
                allocations: allocations
                    .into_iter()
                    .map(|a| Allocation {
                        notice_number: a.notice_number,
                        amount_pence: a.amount_pence,
                        applied_pence: a.applied_pence,
                        refund_due_pence: a.refund_due_pence,
                    })
                    .collect(),
                refunds: refunds
                    .into_iter()
                    .map(|r| Refund {
                        provider_refund_id: r.provider_refund_id,
                        amount_pence: r.amount_pence,
                        refund_date: r.refund_date,
                        reason: r.reason,
                        notice_number: r.notice_number,
                    })
                    .collect(),
                created_at: self.created_at,
            },
            self.request_fingerprint,
        ))
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct AllocationRow {
    notice_number: String,
    amount_pence: i64,
    applied_pence: i64,
    refund_due_pence: i64,
}

#[derive(sqlx::FromRow)]
pub(super) struct RefundRow {
    provider_refund_id: String,
    amount_pence: i64,
    refund_date: NaiveDate,
    reason: String,
    notice_number: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(super) struct AllocationFactRow {
    payment_id: String,
    amount_pence: i64,
    paid_date: NaiveDate,
    received_at: DateTime<Utc>,
}

impl From<AllocationFactRow> for AllocationFact {
    fn from(r: AllocationFactRow) -> Self {
        AllocationFact {
            payment_id: r.payment_id,
            amount_pence: r.amount_pence,
            paid_date: r.paid_date,
            received_at: r.received_at,
        }
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
