//! NoticeService messages ⇄ domain notices.

use chrono::NaiveDate;

use super::policy::{issuer_role_to_proto, offence_reason_to_proto};
use super::{date, date_to_proto, optional_date, session_to_proto, timestamp_to_proto};
use crate::api::error::Violations;
use crate::api::mutation::validate_request_id;
use crate::api::pagination::{self, PageRequest};
use crate::app::{LifecycleChange, NoticeQuery, ServiceResult};
use crate::domain::{
    FieldViolation,
    evidence::{EvidenceCorrection, SessionEvidence},
    identifiers::LaCode,
    names,
    notice::{
        Address, Delivery, DeliveryMethod, ImprovementPeriod, Issuer, LiabilityBasis, Notice,
        NoticeKind, NoticeStatus, Offence, OffenceType, PaidRate, Parent, ProsecutionOutcome,
        ProsecutionResult, Pupil, SessionMark, Withdrawal, WithdrawalGround,
    },
    payment::{self, AmountDue, MAX_PAYMENT_PENCE},
};
use crate::proto::v1 as pb;

/// A required date no later than today: notices, withdrawals and outcomes are
/// recorded once they happen.
pub(super) fn past_date(
    field: &str,
    value: Option<&crate::proto::Date>,
    today: NaiveDate,
) -> Result<NaiveDate, FieldViolation> {
    let day = date(field, value)?;
    if day > today {
        Err(FieldViolation::new(field, "cannot be in the future"))
    } else {
        Ok(day)
    }
}

pub(super) fn required_text(v: &mut Violations, field: &str, value: &str) -> Option<String> {
    if value.trim().is_empty() {
        v.push(FieldViolation::new(field, "required"));
        None
    } else {
        Some(value.trim().to_string())
    }
}

pub(super) fn address_from_proto(
    v: &mut Violations,
    field: &str,
    a: Option<&pb::PostalAddress>,
) -> Option<Address> {
    let Some(a) = a else {
        v.push(FieldViolation::new(field, "a postal address is required"));
        return None;
    };
    let lines: Vec<String> = a
        .lines
        .iter()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        v.push(FieldViolation::new(
            format!("{field}.lines"),
            "at least one address line is required",
        ));
    }
    let postcode = required_text(v, &format!("{field}.postcode"), &a.postcode);
    Some(Address {
        lines,
        postcode: postcode?,
    })
    .filter(|a| !a.lines.is_empty())
}

fn status_to_proto(s: NoticeStatus) -> pb::NoticeStatus {
    match s {
        NoticeStatus::Issued => pb::NoticeStatus::Issued,
        NoticeStatus::Paid => pb::NoticeStatus::Paid,
        NoticeStatus::Unpaid => pb::NoticeStatus::Unpaid,
        NoticeStatus::Prosecuted => pb::NoticeStatus::Prosecuted,
        NoticeStatus::Withdrawn => pb::NoticeStatus::Withdrawn,
        NoticeStatus::ImprovementPeriodEnded => pb::NoticeStatus::ImprovementPeriodEnded,
    }
}

fn status_from_proto(value: i32) -> Result<Option<NoticeStatus>, FieldViolation> {
    Ok(
        match pb::NoticeStatus::try_from(value)
            .map_err(|_| FieldViolation::new("status", "not a notice status"))?
        {
            pb::NoticeStatus::Unspecified => None,
            pb::NoticeStatus::Issued => Some(NoticeStatus::Issued),
            pb::NoticeStatus::Paid => Some(NoticeStatus::Paid),
            pb::NoticeStatus::Unpaid => Some(NoticeStatus::Unpaid),
            pb::NoticeStatus::Prosecuted => Some(NoticeStatus::Prosecuted),
            pb::NoticeStatus::Withdrawn => Some(NoticeStatus::Withdrawn),
            pb::NoticeStatus::ImprovementPeriodEnded => Some(NoticeStatus::ImprovementPeriodEnded),
        },
    )
}

fn kind_from_proto(value: i32) -> Result<Option<NoticeKind>, FieldViolation> {
    Ok(
        match pb::NoticeKind::try_from(value)
            .map_err(|_| FieldViolation::new("kind", "not a notice kind"))?
        {
            pb::NoticeKind::Unspecified => None,
            pb::NoticeKind::NoticeToImprove => Some(NoticeKind::NoticeToImprove),
            pb::NoticeKind::PenaltyNotice => Some(NoticeKind::PenaltyNotice),
        },
    )
}

impl From<&Address> for pb::PostalAddress {
    fn from(a: &Address) -> Self {
        pb::PostalAddress {
            lines: a.lines.clone(),
            postcode: a.postcode.clone(),
        }
    }
}

impl From<&Pupil> for pb::Pupil {
    fn from(p: &Pupil) -> Self {
        pb::Pupil {
            upn: p.upn.to_string(),
            school_urn: p.school_urn.to_string(),
            given_name: p.given_name.clone(),
            family_name: p.family_name.clone(),
            address: Some((&p.address).into()),
        }
    }
}

impl From<&Parent> for pb::Parent {
    fn from(p: &Parent) -> Self {
        pb::Parent {
            person_id: p.person_id.clone(),
            given_name: p.given_name.clone(),
            family_name: p.family_name.clone(),
            address: Some((&p.address).into()),
            liability: p.liability.as_ref().map(|l| pb::Liability {
                basis: match l.basis {
                    LiabilityBasis::ParentalResponsibility => {
                        pb::LiabilityBasis::ParentalResponsibility
                    }
                    LiabilityBasis::CareOfChild => pb::LiabilityBasis::CareOfChild,
                } as i32,
                relationship: l.relationship.clone(),
            }),
        }
    }
}

impl From<&Offence> for pb::Offence {
    fn from(o: &Offence) -> Self {
        pb::Offence {
            r#type: match o.offence_type {
                OffenceType::S444Attendance => pb::OffenceType::S444Attendance,
                OffenceType::S103ExcludedInPublic => pb::OffenceType::S103ExcludedInPublic,
            } as i32,
            reason: o
                .reason
                .map_or(pb::OffenceReason::Unspecified, offence_reason_to_proto)
                as i32,
            description: o.description.clone(),
        }
    }
}

impl From<&SessionMark> for pb::SessionMark {
    fn from(s: &SessionMark) -> Self {
        pb::SessionMark {
            date: Some(date_to_proto(s.date)),
            session: session_to_proto(s.session) as i32,
            code: s.code.clone(),
        }
    }
}

impl From<&Issuer> for pb::Issuer {
    fn from(i: &Issuer) -> Self {
        pb::Issuer {
            role: issuer_role_to_proto(i.role) as i32,
            display_name: i.display_name.clone(),
            official_details: i.official_details.clone(),
            subject: i.subject.clone(),
        }
    }
}

impl From<&Delivery> for pb::Delivery {
    fn from(d: &Delivery) -> Self {
        pb::Delivery {
            method: match d.method {
                DeliveryMethod::Hand => pb::DeliveryMethod::Hand,
                DeliveryMethod::Post => pb::DeliveryMethod::Post,
            } as i32,
            posting_date: d.posting_date.map(date_to_proto),
        }
    }
}

impl From<&ImprovementPeriod> for pb::ImprovementPeriod {
    fn from(p: &ImprovementPeriod) -> Self {
        pb::ImprovementPeriod {
            start_date: Some(date_to_proto(p.start_date)),
            school_weeks: p.school_weeks,
            end_date: Some(date_to_proto(p.end_date)),
            reason: p.reason.clone(),
        }
    }
}

impl From<&Withdrawal> for pb::Withdrawal {
    fn from(w: &Withdrawal) -> Self {
        pb::Withdrawal {
            ground: withdrawal_ground_to_proto(w.ground) as i32,
            reason: w.reason.clone(),
            withdrawal_date: Some(date_to_proto(w.date)),
        }
    }
}

impl From<&ProsecutionOutcome> for pb::ProsecutionOutcome {
    fn from(p: &ProsecutionOutcome) -> Self {
        pb::ProsecutionOutcome {
            hearing_date: Some(date_to_proto(p.hearing_date)),
            court: p.court.clone(),
            result: prosecution_result_to_proto(p.result) as i32,
            fine_pence: p.fine_pence,
            costs_pence: p.costs_pence,
        }
    }
}

fn kind_to_proto(kind: NoticeKind) -> pb::NoticeKind {
    match kind {
        NoticeKind::NoticeToImprove => pb::NoticeKind::NoticeToImprove,
        NoticeKind::PenaltyNotice => pb::NoticeKind::PenaltyNotice,
    }
}

/// A notice as the protocol shows it, with its status and balance on `today`.
pub(crate) fn notice_to_proto(authority: &LaCode, n: &Notice, today: NaiveDate) -> pb::Notice {
    let charges = n.charges.as_ref();
    pb::Notice {
        name: names::notice_name(authority, &n.notice_number),
        notice_number: n.notice_number.clone(),
        kind: kind_to_proto(n.kind) as i32,
        pupil: Some((&n.pupil).into()),
        parent: Some((&n.parent).into()),
        related_notices: n
            .related_notices
            .iter()
            .map(|r| names::notice_name(authority, r))
            .collect(),
        offence: n.offence.as_ref().map(Into::into),
        sessions: n.sessions.iter().map(Into::into).collect(),
        issue_date: Some(date_to_proto(n.issue_date)),
        issuer: Some((&n.issuer).into()),
        delivery: Some((&n.delivery).into()),
        receipt_date: Some(date_to_proto(n.receipt_date)),
        policy_version: n.policy_version.clone(),
        second_notice: n.second_notice,
        lower_amount_pence: charges.map_or(0, |c| c.lower_amount_pence),
        lower_deadline: charges.and_then(|c| c.lower_deadline).map(date_to_proto),
        higher_amount_pence: charges.map_or(0, |c| c.higher_amount_pence),
        higher_deadline: charges.map(|c| date_to_proto(c.higher_deadline)),
        improvement_period: n.improvement_period.as_ref().map(Into::into),
        status: status_to_proto(n.status(today)) as i32,
        paid_rate: paid_rate_to_proto(n.settlement.as_ref().map(|s| s.rate)) as i32,
        withdrawal: n.withdrawal.as_ref().map(Into::into),
        prosecution_outcome: n.prosecution.as_ref().map(Into::into),
        balance: Some(balance_to_proto(n, today)),
        create_time: Some(timestamp_to_proto(n.created_at)),
        session_evidence: n.session_evidence.iter().map(Into::into).collect(),
        evidence_corrections: n.evidence_corrections.iter().map(Into::into).collect(),
        other_authority_notices: n
            .other_authority_notices
            .iter()
            .map(|o| pb::OtherAuthorityNotice {
                la_code: o.la_code.clone(),
                issue_date: Some(date_to_proto(o.issue_date)),
                counted: o.counted,
            })
            .collect(),
        sen_provision: super::sen_to_proto(n.sen_provision) as i32,
    }
}

impl From<&SessionEvidence> for pb::SessionEvidence {
    fn from(e: &SessionEvidence) -> Self {
        pb::SessionEvidence {
            date: Some(date_to_proto(e.date)),
            session: session_to_proto(e.session) as i32,
            claimed_code: e.claimed_code.clone(),
            matched: e.held.is_some(),
            held_code: e.held.as_ref().map(|h| h.code.clone()).unwrap_or_default(),
            source_school_urn: e
                .held
                .as_ref()
                .map(|h| h.school_urn.clone())
                .unwrap_or_default(),
        }
    }
}

impl From<&EvidenceCorrection> for pb::EvidenceCorrection {
    fn from(c: &EvidenceCorrection) -> Self {
        pb::EvidenceCorrection {
            date: Some(date_to_proto(c.date)),
            session: session_to_proto(c.session) as i32,
            school_urn: c.school_urn.clone(),
            previous_code: c.previous_code.clone(),
            new_code: c.new_code.clone(),
            record_time: Some(timestamp_to_proto(c.at)),
            request_id: c.request_id.clone(),
        }
    }
}

pub(crate) fn paid_rate_to_proto(rate: Option<PaidRate>) -> pb::PaidRate {
    match rate {
        None => pb::PaidRate::Unspecified,
        Some(PaidRate::Lower) => pb::PaidRate::Lower,
        Some(PaidRate::Higher) => pb::PaidRate::Higher,
        Some(PaidRate::SecondNoticeFlat) => pb::PaidRate::SecondNoticeFlat,
    }
}

/// The money on a notice, with what is due on `day`.
pub(crate) fn balance_to_proto(n: &Notice, day: NaiveDate) -> pb::NoticeBalance {
    let amount_due_pence = match payment::amount_due(n, n.money.applied_pence, day) {
        AmountDue::Payable { amount_pence, .. } => amount_pence,
        AmountDue::NotPayable { .. } => 0,
    };
    pb::NoticeBalance {
        amount_due_pence,
        allocated_pence: n.money.allocated_pence,
        applied_pence: n.money.applied_pence,
        refund_due_pence: n.money.refund_due_pence(),
        refunded_pence: n.money.refunded_pence,
    }
}

fn withdrawal_ground_from_proto(value: i32) -> Option<WithdrawalGround> {
    match pb::WithdrawalGround::try_from(value).ok()? {
        pb::WithdrawalGround::OughtNotToHaveBeenIssued => {
            Some(WithdrawalGround::OughtNotToHaveBeenIssued)
        }
        pb::WithdrawalGround::IssuedToWrongPerson => Some(WithdrawalGround::IssuedToWrongPerson),
        pb::WithdrawalGround::MaterialErrors => Some(WithdrawalGround::MaterialErrors),
        pb::WithdrawalGround::OutsideCodeOfConduct => Some(WithdrawalGround::OutsideCodeOfConduct),
        pb::WithdrawalGround::Unspecified => None,
    }
}

fn withdrawal_ground_to_proto(ground: WithdrawalGround) -> pb::WithdrawalGround {
    match ground {
        WithdrawalGround::OughtNotToHaveBeenIssued => {
            pb::WithdrawalGround::OughtNotToHaveBeenIssued
        }
        WithdrawalGround::IssuedToWrongPerson => pb::WithdrawalGround::IssuedToWrongPerson,
        WithdrawalGround::MaterialErrors => pb::WithdrawalGround::MaterialErrors,
        WithdrawalGround::OutsideCodeOfConduct => pb::WithdrawalGround::OutsideCodeOfConduct,
    }
}

fn withdrawal_from_proto(
    v: &mut Violations,
    w: Option<&pb::Withdrawal>,
    today: NaiveDate,
) -> Option<Withdrawal> {
    let Some(w) = w else {
        v.push(FieldViolation::new(
            "withdrawal",
            "the ground, reason and date are required",
        ));
        return None;
    };
    let ground = withdrawal_ground_from_proto(w.ground);
    if ground.is_none() {
        v.push(FieldViolation::new(
            "withdrawal.ground",
            "one of the four statutory grounds",
        ));
    }
    let reason = required_text(v, "withdrawal.reason", &w.reason);
    let day = v.check(past_date(
        "withdrawal.withdrawal_date",
        w.withdrawal_date.as_ref(),
        today,
    ));
    Some(Withdrawal {
        ground: ground?,
        reason: reason?,
        date: day?,
    })
}

/// A WithdrawNotice request: the notice's number and the withdrawal.
pub(crate) fn withdraw_request(
    req: &pb::WithdrawNoticeRequest,
    today: NaiveDate,
) -> ServiceResult<(String, LifecycleChange)> {
    let mut v = Violations::new();
    let name = v.check(names::parse_notice("name", &req.name));
    v.check(validate_request_id("request_id", &req.request_id));
    let withdrawal = withdrawal_from_proto(&mut v, req.withdrawal.as_ref(), today);
    let ((_, number), withdrawal) = v.finish(name.zip(withdrawal))?;
    Ok((number, LifecycleChange::Withdraw(withdrawal)))
}

fn prosecution_result_from_proto(value: i32) -> Option<ProsecutionResult> {
    match pb::ProsecutionResult::try_from(value).ok()? {
        pb::ProsecutionResult::Convicted => Some(ProsecutionResult::Convicted),
        pb::ProsecutionResult::Acquitted => Some(ProsecutionResult::Acquitted),
        pb::ProsecutionResult::Withdrawn => Some(ProsecutionResult::Withdrawn),
        pb::ProsecutionResult::Unspecified => None,
    }
}

fn prosecution_result_to_proto(result: ProsecutionResult) -> pb::ProsecutionResult {
    match result {
        ProsecutionResult::Convicted => pb::ProsecutionResult::Convicted,
        ProsecutionResult::Acquitted => pb::ProsecutionResult::Acquitted,
        ProsecutionResult::Withdrawn => pb::ProsecutionResult::Withdrawn,
    }
}

fn prosecution_from_proto(
    v: &mut Violations,
    p: Option<&pb::ProsecutionOutcome>,
    today: NaiveDate,
) -> Option<ProsecutionOutcome> {
    let Some(p) = p else {
        v.push(FieldViolation::new(
            "prosecution_outcome",
            "the outcome is required",
        ));
        return None;
    };
    let hearing = v.check(past_date(
        "prosecution_outcome.hearing_date",
        p.hearing_date.as_ref(),
        today,
    ));
    let court = required_text(v, "prosecution_outcome.court", &p.court);
    let result = prosecution_result_from_proto(p.result);
    if result.is_none() {
        v.push(FieldViolation::new(
            "prosecution_outcome.result",
            "convicted, acquitted or withdrawn",
        ));
    }
    for (field, value) in [("fine_pence", p.fine_pence), ("costs_pence", p.costs_pence)] {
        if !(0..=MAX_PAYMENT_PENCE).contains(&value) {
            v.push(FieldViolation::new(
                format!("prosecution_outcome.{field}"),
                format!("must be from 0 to {MAX_PAYMENT_PENCE} pence"),
            ));
        }
    }
    if result != Some(ProsecutionResult::Convicted) && p.fine_pence > 0 {
        v.push(FieldViolation::new(
            "prosecution_outcome.fine_pence",
            "only a conviction carries a fine",
        ));
    }
    Some(ProsecutionOutcome {
        hearing_date: hearing?,
        court: court?,
        result: result?,
        fine_pence: p.fine_pence,
        costs_pence: p.costs_pence,
    })
}

/// A RecordProsecutionOutcome request: the notice's number and the outcome.
pub(crate) fn prosecution_request(
    req: &pb::RecordProsecutionOutcomeRequest,
    today: NaiveDate,
) -> ServiceResult<(String, LifecycleChange)> {
    let mut v = Violations::new();
    let name = v.check(names::parse_notice("name", &req.name));
    v.check(validate_request_id("request_id", &req.request_id));
    let outcome = prosecution_from_proto(&mut v, req.prosecution_outcome.as_ref(), today);
    let ((_, number), outcome) = v.finish(name.zip(outcome))?;
    Ok((number, LifecycleChange::Prosecute(outcome)))
}

/// A ListNotices request: the query, the page size, the cursor and the filter
/// its page tokens are bound to.
pub(crate) fn notice_query(
    req: &pb::ListNoticesRequest,
) -> ServiceResult<PageRequest<NoticeQuery, (NaiveDate, String)>> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    let size = v.check(pagination::page_size("page_size", req.page_size));
    let status = v.check(status_from_proto(req.status));
    let kind = v.check(kind_from_proto(req.kind));
    let issued_from = v.check(optional_date("issued_from", req.issued_from.as_ref()));
    let issued_to = v.check(optional_date("issued_to", req.issued_to.as_ref()));
    let sen_provision = v.check(super::sen_from_proto("sen_provision", req.sen_provision));
    let mut token_request = req.clone();
    token_request.page_token.clear();
    token_request.page_size = 0;
    let filter = format!("{token_request:?}");
    let after = v.check(pagination::decode_date_key(
        "page_token",
        &req.page_token,
        &filter,
    ));
    let ((size, ((status, kind), ((issued_from, issued_to), after))), sen_provision) = v.finish(
        size.zip(status.zip(kind).zip(issued_from.zip(issued_to).zip(after)))
            .zip(sen_provision),
    )?;
    Ok(PageRequest {
        query: NoticeQuery {
            school_urn: non_empty(&req.school_urn),
            upn: non_empty(&req.upn),
            parent_person_id: non_empty(&req.parent_person_id),
            kind,
            status,
            issued_from,
            issued_to,
            sen_provision,
        },
        size,
        after,
        filter,
    })
}

/// A text filter: blank is none.
fn non_empty(s: &str) -> Option<String> {
    Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_string)
}
