//! NoticeService messages ⇄ domain notices.

use chrono::NaiveDate;

use super::policy::{
    issuer_role_from_proto, issuer_role_to_proto, offence_reason_from_proto,
    offence_reason_to_proto,
};
use super::{
    date, date_to_proto, optional_date, session_from_proto, session_to_proto, timestamp_to_proto,
};
use crate::api::error::Violations;
use crate::api::mutation::validate_request_id;
use crate::api::pagination::{self, PageRequest};
use crate::app::Caller;
use crate::app::{LifecycleChange, NoticeQuery, ServiceResult};
use crate::domain::{
    FieldViolation, access,
    evidence::{EvidenceCorrection, SessionEvidence},
    identifiers::{LaCode, Upn, Urn},
    names,
    notice::{
        Address, BreachRef, Delivery, DeliveryMethod, ImprovementPeriod, Issuer, Notice,
        NoticeKind, NoticeStatus, NoticeToImproveRequest, Offence, OffenceType, PaidRate, Parent,
        PenaltyRequest, ProsecutionOutcome, ProsecutionResult, Pupil, SessionMark, Withdrawal,
        WithdrawalGround,
    },
    payment::{self, AmountDue, MAX_PAYMENT_PENCE},
};
use crate::proto::v1 as pb;

/// The parts every issuing request shares, validated.
struct Common {
    pupil: Pupil,
    parents: Vec<Parent>,
    issue_date: NaiveDate,
    issuer: Issuer,
    delivery: Delivery,
}

/// The fields every issuing request shares, as sent.
struct CommonFields<'a> {
    parent: &'a str,
    request_id: &'a str,
    pupil: Option<&'a pb::Pupil>,
    parents: &'a [pb::Parent],
    issue_date: Option<&'a crate::proto::Date>,
    issuer: Option<&'a pb::Issuer>,
    delivery: Option<&'a pb::Delivery>,
}

fn common_from_proto(
    v: &mut Violations,
    caller: &Caller,
    today: NaiveDate,
    f: CommonFields<'_>,
) -> Option<Common> {
    v.check(names::parse_authority("parent", f.parent));
    v.check(validate_request_id("request_id", f.request_id));
    let pupil = pupil_from_proto(v, f.pupil);
    let parents = parents_from_proto(v, f.parents);
    let issue_date = v.check(past_date("issue_date", f.issue_date, today));
    let issuer = issuer_from_proto(v, caller, f.issuer);
    let delivery = issue_date.and_then(|d| delivery_from_proto(v, (d, today), f.delivery));
    Some(Common {
        pupil: pupil?,
        parents: parents?,
        issue_date: issue_date?,
        issuer: issuer?,
        delivery: delivery?,
    })
}

/// A required date no later than today: notices, withdrawals and outcomes are
/// recorded once they happen.
fn past_date(
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

fn required_text(v: &mut Violations, field: &str, value: &str) -> Option<String> {
    if value.trim().is_empty() {
        v.push(FieldViolation::new(field, "required"));
        None
    } else {
        Some(value.trim().to_string())
    }
}

fn address_from_proto(
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

fn pupil_from_proto(v: &mut Violations, p: Option<&pb::Pupil>) -> Option<Pupil> {
    let Some(p) = p else {
        v.push(FieldViolation::new("pupil", "the pupil is required"));
        return None;
    };
    let upn = v.check(Upn::parse(&p.upn).map_err(|e| FieldViolation::new("pupil.upn", e)));
    let urn =
        v.check(Urn::parse(&p.school_urn).map_err(|e| FieldViolation::new("pupil.school_urn", e)));
    let given = required_text(v, "pupil.given_name", &p.given_name);
    let family = required_text(v, "pupil.family_name", &p.family_name);
    let address = address_from_proto(v, "pupil.address", p.address.as_ref());
    Some(Pupil {
        upn: upn?,
        school_urn: urn?,
        given_name: given?,
        family_name: family?,
        address: address?,
    })
}

fn parents_from_proto(v: &mut Violations, parents: &[pb::Parent]) -> Option<Vec<Parent>> {
    if parents.is_empty() {
        v.push(FieldViolation::new(
            "parents",
            "at least one parent is required",
        ));
        return None;
    }
    let mut out = Vec::new();
    for (i, p) in parents.iter().enumerate() {
        let field = format!("parents[{i}]");
        let id = required_text(v, &format!("{field}.person_id"), &p.person_id);
        if let Some(id) = &id
            && parents[..i].iter().any(|q| q.person_id.trim() == id)
        {
            v.push(FieldViolation::new(
                format!("{field}.person_id"),
                "each parent gets one notice; this parent is listed twice",
            ));
        }
        let given = required_text(v, &format!("{field}.given_name"), &p.given_name);
        let family = required_text(v, &format!("{field}.family_name"), &p.family_name);
        let address = address_from_proto(v, &format!("{field}.address"), p.address.as_ref());
        if let (Some(person_id), Some(given_name), Some(family_name), Some(address)) =
            (id, given, family, address)
        {
            out.push(Parent {
                person_id,
                given_name,
                family_name,
                address,
            });
        }
    }
    Some(out).filter(|o| o.len() == parents.len())
}

fn issuer_from_proto(
    v: &mut Violations,
    caller: &Caller,
    i: Option<&pb::Issuer>,
) -> Option<Issuer> {
    let Some(i) = i else {
        v.push(FieldViolation::new("issuer", "the issuer is required"));
        return None;
    };
    // The capacity comes from the verified role; a different claimed one is refused.
    let role = access::issuer_role(caller.role);
    if i.role != pb::IssuerRole::Unspecified as i32 && issuer_role_from_proto(i.role) != role {
        v.push(FieldViolation::new(
            "issuer.role",
            "must be left unset or match the caller's verified role",
        ));
        return None;
    }
    let name = required_text(v, "issuer.display_name", &i.display_name);
    Some(Issuer {
        role: role?,
        display_name: name?,
        official_details: i.official_details.trim().to_string(),
        // The identity is the verified caller's, never the request's.
        subject: caller.actor.subject.clone(),
    })
}

fn delivery_from_proto(
    v: &mut Violations,
    (issue_date, today): (NaiveDate, NaiveDate),
    d: Option<&pb::Delivery>,
) -> Option<Delivery> {
    let Some(d) = d else {
        v.push(FieldViolation::new(
            "delivery",
            "how the notice is served is required",
        ));
        return None;
    };
    let posting = v.check(optional_date(
        "delivery.posting_date",
        d.posting_date.as_ref(),
    ))?;
    let method = match pb::DeliveryMethod::try_from(d.method) {
        Ok(pb::DeliveryMethod::Hand) => DeliveryMethod::Hand,
        Ok(pb::DeliveryMethod::Post) => DeliveryMethod::Post,
        _ => {
            v.push(FieldViolation::new("delivery.method", "by hand or by post"));
            return None;
        }
    };
    let problem = match (method, posting) {
        (DeliveryMethod::Hand, Some(_)) => Some("only a posted notice has a posting date"),
        (DeliveryMethod::Post, None) => Some("a posting date is required for delivery by post"),
        (DeliveryMethod::Post, Some(p)) if p < issue_date => {
            Some("a notice cannot be posted before its issue date")
        }
        (DeliveryMethod::Post, Some(p)) if p > today => Some("the posting date is in the future"),
        _ => None,
    };
    if let Some(problem) = problem {
        v.push(FieldViolation::new("delivery.posting_date", problem));
        return None;
    }
    Some(Delivery {
        method,
        posting_date: posting,
    })
}

pub(crate) fn sessions_from_proto(
    v: &mut Violations,
    sessions: &[pb::SessionMark],
) -> Option<Vec<SessionMark>> {
    let mut out = Vec::new();
    for (i, s) in sessions.iter().enumerate() {
        let day = v.check(date(&format!("sessions[{i}].date"), s.date.as_ref()));
        let session = session_from_proto(s.session);
        if session.is_none() {
            v.push(FieldViolation::new(
                format!("sessions[{i}].session"),
                "AM or PM",
            ));
        }
        if let (Some(date), Some(session)) = (day, session) {
            out.push(SessionMark {
                date,
                session,
                code: s.code.trim().to_string(),
            });
        }
    }
    Some(out).filter(|o| o.len() == sessions.len())
}

/// The breach a notice is issued from, if named: `Some(None)` when it is not.
/// It must be the request's pupil's, as of a day that has happened.
fn breach_from_proto(
    v: &mut Violations,
    b: Option<&pb::BreachReference>,
    pupil: Option<&pb::Pupil>,
    today: NaiveDate,
) -> Option<Option<BreachRef>> {
    let Some(b) = b else {
        return Some(None);
    };
    let upn = v.check(Upn::parse(&b.upn).map_err(|e| FieldViolation::new("breach.upn", e)));
    if let (Some(upn), Some(pupil)) = (&upn, pupil)
        && Upn::parse(&pupil.upn).is_ok_and(|p| p != *upn)
    {
        v.push(FieldViolation::new(
            "breach.upn",
            "must be the pupil's UPN (pupil.upn)",
        ));
        return None;
    }
    let as_of = v.check(past_date("breach.as_of_date", b.as_of_date.as_ref(), today));
    Some(Some(BreachRef {
        upn: upn?,
        as_of: as_of?,
    }))
}

fn offence_from_proto(v: &mut Violations, o: Option<&pb::Offence>) -> Option<Offence> {
    let Some(o) = o else {
        v.push(FieldViolation::new("offence", "the offence is required"));
        return None;
    };
    let offence_type = match pb::OffenceType::try_from(o.r#type) {
        Ok(pb::OffenceType::S444Attendance) => OffenceType::S444Attendance,
        Ok(pb::OffenceType::S103ExcludedInPublic) => OffenceType::S103ExcludedInPublic,
        _ => {
            v.push(FieldViolation::new(
                "offence.type",
                "s444 attendance or s103 excluded pupil in public",
            ));
            return None;
        }
    };
    let reason = offence_reason_from_proto(o.reason);
    match (offence_type, reason) {
        (OffenceType::S444Attendance, None) => {
            v.push(FieldViolation::new(
                "offence.reason",
                "an s444 offence needs its reason: holiday, late or other",
            ));
            None
        }
        (OffenceType::S103ExcludedInPublic, Some(_)) => {
            v.push(FieldViolation::new(
                "offence.reason",
                "an s103 offence has no s444 reason",
            ));
            None
        }
        _ => Some(Offence {
            offence_type,
            reason,
            description: o.description.trim().to_string(),
        }),
    }
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

/// An IssueNoticeToImprove request as the use case takes it (`today` decides
/// what is in the future).
pub(crate) fn notice_to_improve_request(
    req: &pb::IssueNoticeToImproveRequest,
    caller: &Caller,
    today: NaiveDate,
) -> ServiceResult<NoticeToImproveRequest> {
    let mut v = Violations::new();
    let common = common_from_proto(
        &mut v,
        caller,
        today,
        CommonFields {
            parent: &req.parent,
            request_id: &req.request_id,
            pupil: req.pupil.as_ref(),
            parents: &req.parents,
            issue_date: req.issue_date.as_ref(),
            issuer: req.issuer.as_ref(),
            delivery: req.delivery.as_ref(),
        },
    );
    let period = match &req.improvement_period {
        None => {
            v.push(FieldViolation::new(
                "improvement_period",
                "the improvement period is required",
            ));
            None
        }
        Some(p) => {
            let start = v.check(date("improvement_period.start_date", p.start_date.as_ref()));
            let reason = required_text(&mut v, "improvement_period.reason", &p.reason);
            start.zip(reason).map(|(s, r)| (s, p.school_weeks, r))
        }
    };
    let breach = breach_from_proto(&mut v, req.breach.as_ref(), req.pupil.as_ref(), today);
    let (c, ((start_date, school_weeks, reason), breach)) =
        v.finish(common.zip(period.zip(breach)))?;
    Ok(NoticeToImproveRequest {
        sessions: vec![],
        breach,
        pupil: c.pupil,
        parents: c.parents,
        issue_date: c.issue_date,
        issuer: c.issuer,
        delivery: c.delivery,
        start_date,
        school_weeks,
        reason,
    })
}

/// An IssuePenaltyNotice request as the use case takes it.
pub(crate) fn penalty_request(
    req: &pb::IssuePenaltyNoticeRequest,
    caller: &Caller,
    today: NaiveDate,
) -> ServiceResult<PenaltyRequest> {
    let mut v = Violations::new();
    let common = common_from_proto(
        &mut v,
        caller,
        today,
        CommonFields {
            parent: &req.parent,
            request_id: &req.request_id,
            pupil: req.pupil.as_ref(),
            parents: &req.parents,
            issue_date: req.issue_date.as_ref(),
            issuer: req.issuer.as_ref(),
            delivery: req.delivery.as_ref(),
        },
    );
    let offence = offence_from_proto(&mut v, req.offence.as_ref());
    let sessions = sessions_from_proto(&mut v, &req.sessions);
    let breach = breach_from_proto(&mut v, req.breach.as_ref(), req.pupil.as_ref(), today);
    if req.breach.is_some() && !req.sessions.is_empty() {
        v.push(FieldViolation::new(
            "sessions",
            "give the sessions or the breach, not both: a breach's sessions come from the registers",
        ));
    }
    let (c, (offence, (sessions, breach))) =
        v.finish(common.zip(offence.zip(sessions.zip(breach))))?;
    Ok(PenaltyRequest {
        breach,
        pupil: c.pupil,
        parents: c.parents,
        offence,
        sessions,
        issue_date: c.issue_date,
        issuer: c.issuer,
        delivery: c.delivery,
    })
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
    let mut token_request = req.clone();
    token_request.page_token.clear();
    token_request.page_size = 0;
    let filter = format!("{token_request:?}");
    let after = v.check(pagination::decode_date_key(
        "page_token",
        &req.page_token,
        &filter,
    ));
    let (size, ((status, kind), ((issued_from, issued_to), after))) =
        v.finish(size.zip(status.zip(kind).zip(issued_from.zip(issued_to).zip(after))))?;
    Ok(PageRequest {
        query: NoticeQuery {
            school_urn: non_empty(&req.school_urn),
            upn: non_empty(&req.upn),
            parent_person_id: non_empty(&req.parent_person_id),
            kind,
            status,
            issued_from,
            issued_to,
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
