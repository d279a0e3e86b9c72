//! NoticeService: issuing notices to improve and penalty notices, their
//! lifecycle, and their event history.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate, Utc};
use tonic::{Request, Response, Status};

use super::auth::Caller;
use super::convert::{
    date, date_to_proto, optional_date, session_from_proto, session_to_proto, timestamp_to_proto,
};
use super::error::{ApiError, Violations};
use super::mutation::{Begun, IdempotentRequest, now, validate_request_id};
use super::policy::{
    issuer_role_from_proto, issuer_role_to_proto, offence_reason_from_proto,
    offence_reason_to_proto, policy_in_force,
};
use super::{caller, names, pagination};
use crate::domain::access::Operation;
use crate::domain::{
    FieldViolation, access,
    actor::{Actor, Role},
    calendar,
    identifiers::{LaCode, Upn, Urn},
    notice::{
        self, Address, Delivery, DeliveryMethod, Issuer, Notice, NoticeKind, NoticeStatus,
        NoticeToImproveRequest, Offence, OffenceType, PaidRate, Parent, PenaltyRequest,
        ProsecutionOutcome, ProsecutionResult, Pupil, Refusal, SessionMark, Withdrawal,
        WithdrawalGround,
    },
    payment::{self, AmountDue},
    policy::PolicyVersion,
};
use crate::proto::v1::{self as pb, notice_service_server::NoticeService};
use crate::store::{NewAuditEvent, NoticeFilter, Store, StoreTx};

const ISSUE_NTI_METHOD: &str = "/lea.notices.v1.NoticeService/IssueNoticeToImprove";
const ISSUE_PENALTY_METHOD: &str = "/lea.notices.v1.NoticeService/IssuePenaltyNotice";
const WITHDRAW_METHOD: &str = "/lea.notices.v1.NoticeService/WithdrawNotice";
const PROSECUTION_METHOD: &str = "/lea.notices.v1.NoticeService/RecordProsecutionOutcome";

pub struct NoticeApi {
    store: Arc<dyn Store>,
}

impl NoticeApi {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// Numbers, stores and audits one notice per planned parent, all in `tx`.
    async fn create_notices(
        tx: &mut dyn StoreTx,
        authority: &LaCode,
        actor: &Actor,
        request_id: &str,
        drafts: Vec<Notice>,
    ) -> Result<Vec<Notice>, ApiError> {
        let mut notices = drafts;
        for n in &mut notices {
            let series = format!("notice-{}", n.issue_date.year());
            let serial = tx.next_serial(authority, &series).await?;
            n.notice_number =
                notice::notice_number(authority.as_str(), n.issue_date.year(), serial);
        }
        let numbers: Vec<String> = notices.iter().map(|n| n.notice_number.clone()).collect();
        for n in &mut notices {
            n.related_notices = numbers
                .iter()
                .filter(|x| **x != n.notice_number)
                .cloned()
                .collect();
            tx.insert_notice(authority, n).await?;
            let action = match n.kind {
                NoticeKind::NoticeToImprove => "notice.notice_to_improve_issued",
                NoticeKind::PenaltyNotice => "notice.penalty_notice_issued",
            };
            tx.append_audit(&NewAuditEvent {
                authority,
                at: n.created_at,
                actor,
                action,
                resource: &names::notice_name(authority, &n.notice_number),
                request_id,
                details: serde_json::to_value(&*n).expect("a notice serialises"),
            })
            .await?;
        }
        Ok(notices)
    }
}

/// School staff issue only for pupils of their own schools.
fn check_school(caller: &Caller, pupil: &Pupil) -> Result<(), ApiError> {
    if caller.covers_school(&pupil.school_urn) {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied(format!(
            "school {} is not one of the caller's schools",
            pupil.school_urn
        )))
    }
}

/// Whether the caller may see `notice`; others are answered as if it did not exist.
fn visible(caller: &Caller, notice: &Notice) -> bool {
    access::may_see_notice(caller.role, &caller.schools, &caller.actor.subject, notice)
}

fn refusal(r: Refusal) -> ApiError {
    match r {
        Refusal::Invalid(v) => ApiError::InvalidArgument(v),
        Refusal::Rules(r) => ApiError::FailedPrecondition(r),
    }
}

fn count_issued(authority: &LaCode, kind: &str, n: usize) {
    crate::metrics::metrics()
        .notices_issued
        .with_label_values(&[authority.as_str(), kind])
        .inc_by(n as u64);
}

/// A change to a notice's lifecycle.
enum LifecycleChange {
    Withdraw(Withdrawal),
    Prosecute(ProsecutionOutcome),
}

/// Locks the notice, checks the change against its state, records it with its
/// audit event and settles the notice's money again (money on a withdrawn
/// notice becomes refund due), all in `tx`. Returns the notice as it now stands.
async fn change_lifecycle(
    tx: &mut dyn StoreTx,
    (authority, number, name): (&LaCode, &str, &str),
    (actor, request_id): (&Actor, &str),
    change: LifecycleChange,
) -> Result<Notice, ApiError> {
    let mut notice = tx
        .notice_for_update(authority, number)
        .await?
        .ok_or_else(|| ApiError::NotFound(name.to_string()))?;
    let (action, details) = match change {
        LifecycleChange::Withdraw(w) => {
            notice
                .check_withdrawal(&w)
                .map_err(|r| ApiError::FailedPrecondition(vec![r]))?;
            tx.record_withdrawal(authority, number, &w).await?;
            let details = serde_json::to_value(&w).expect("serialises");
            notice.withdrawal = Some(w);
            ("notice.withdrawn", details)
        }
        LifecycleChange::Prosecute(p) => {
            notice
                .check_prosecution(&p)
                .map_err(|r| ApiError::FailedPrecondition(vec![r]))?;
            tx.record_prosecution(authority, number, &p).await?;
            let details = serde_json::to_value(&p).expect("serialises");
            notice.prosecution = Some(p);
            ("notice.prosecution_outcome_recorded", details)
        }
    };
    tx.append_audit(&NewAuditEvent {
        authority,
        at: now(),
        actor,
        action,
        resource: name,
        request_id,
        details,
    })
    .await?;
    super::payment::settle_notice(tx, authority, &notice, actor, request_id).await?;
    Ok(tx
        .notice_for_update(authority, number)
        .await?
        .expect("locked above"))
}

/// Today in England, which decides statuses and amounts due.
pub(crate) fn today() -> NaiveDate {
    calendar::london_date(Utc::now())
}

/// The parts every issuing request shares, validated.
struct Common {
    authority: LaCode,
    pupil: Pupil,
    parents: Vec<Parent>,
    issue_date: NaiveDate,
    issuer: Issuer,
    delivery: Delivery,
}

#[allow(clippy::too_many_arguments)]
fn common_from_proto(
    v: &mut Violations,
    caller: &Caller,
    parent: &str,
    request_id: &str,
    pupil: Option<&pb::Pupil>,
    parents: &[pb::Parent],
    issue_date: Option<&crate::proto::Date>,
    issuer: Option<&pb::Issuer>,
    delivery: Option<&pb::Delivery>,
) -> Option<Common> {
    let authority = v.check(names::parse_authority("parent", parent));
    v.check(validate_request_id("request_id", request_id));
    let pupil = pupil_from_proto(v, pupil);
    let parents = parents_from_proto(v, parents);
    let issue_date = v.check(past_date("issue_date", issue_date));
    let issuer = issuer_from_proto(v, caller, issuer);
    let delivery = issue_date.and_then(|d| delivery_from_proto(v, d, delivery));
    Some(Common {
        authority: authority?,
        pupil: pupil?,
        parents: parents?,
        issue_date: issue_date?,
        issuer: issuer?,
        delivery: delivery?,
    })
}

/// A required date no later than today: notices, withdrawals and outcomes are
/// recorded once they happen.
fn past_date(field: &str, value: Option<&crate::proto::Date>) -> Result<NaiveDate, FieldViolation> {
    let day = date(field, value)?;
    if day > today() {
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
    issue_date: NaiveDate,
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
        (DeliveryMethod::Post, Some(p)) if p > today() => Some("the posting date is in the future"),
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

fn sessions_from_proto(
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

fn address_to_proto(a: &Address) -> pb::PostalAddress {
    pb::PostalAddress {
        lines: a.lines.clone(),
        postcode: a.postcode.clone(),
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

pub(crate) fn notice_to_proto(authority: &LaCode, n: &Notice, today: NaiveDate) -> pb::Notice {
    let status = n.status(today);
    pb::Notice {
        name: names::notice_name(authority, &n.notice_number),
        notice_number: n.notice_number.clone(),
        kind: match n.kind {
            NoticeKind::NoticeToImprove => pb::NoticeKind::NoticeToImprove,
            NoticeKind::PenaltyNotice => pb::NoticeKind::PenaltyNotice,
        } as i32,
        pupil: Some(pb::Pupil {
            upn: n.pupil.upn.to_string(),
            school_urn: n.pupil.school_urn.to_string(),
            given_name: n.pupil.given_name.clone(),
            family_name: n.pupil.family_name.clone(),
            address: Some(address_to_proto(&n.pupil.address)),
        }),
        parent: Some(pb::Parent {
            person_id: n.parent.person_id.clone(),
            given_name: n.parent.given_name.clone(),
            family_name: n.parent.family_name.clone(),
            address: Some(address_to_proto(&n.parent.address)),
        }),
        related_notices: n
            .related_notices
            .iter()
            .map(|r| names::notice_name(authority, r))
            .collect(),
        offence: n.offence.as_ref().map(|o| pb::Offence {
            r#type: match o.offence_type {
                OffenceType::S444Attendance => pb::OffenceType::S444Attendance,
                OffenceType::S103ExcludedInPublic => pb::OffenceType::S103ExcludedInPublic,
            } as i32,
            reason: o
                .reason
                .map_or(pb::OffenceReason::Unspecified, offence_reason_to_proto)
                as i32,
            description: o.description.clone(),
        }),
        sessions: n
            .sessions
            .iter()
            .map(|s| pb::SessionMark {
                date: Some(date_to_proto(s.date)),
                session: session_to_proto(s.session) as i32,
                code: s.code.clone(),
            })
            .collect(),
        issue_date: Some(date_to_proto(n.issue_date)),
        issuer: Some(pb::Issuer {
            role: issuer_role_to_proto(n.issuer.role) as i32,
            display_name: n.issuer.display_name.clone(),
            official_details: n.issuer.official_details.clone(),
            subject: n.issuer.subject.clone(),
        }),
        delivery: Some(pb::Delivery {
            method: match n.delivery.method {
                DeliveryMethod::Hand => pb::DeliveryMethod::Hand,
                DeliveryMethod::Post => pb::DeliveryMethod::Post,
            } as i32,
            posting_date: n.delivery.posting_date.map(date_to_proto),
        }),
        receipt_date: Some(date_to_proto(n.receipt_date)),
        policy_version: n.policy_version.clone(),
        second_notice: n.second_notice,
        lower_amount_pence: n.charges.as_ref().map_or(0, |c| c.lower_amount_pence),
        lower_deadline: n
            .charges
            .as_ref()
            .and_then(|c| c.lower_deadline)
            .map(date_to_proto),
        higher_amount_pence: n.charges.as_ref().map_or(0, |c| c.higher_amount_pence),
        higher_deadline: n.charges.as_ref().map(|c| date_to_proto(c.higher_deadline)),
        improvement_period: n
            .improvement_period
            .as_ref()
            .map(|p| pb::ImprovementPeriod {
                start_date: Some(date_to_proto(p.start_date)),
                school_weeks: p.school_weeks,
                end_date: Some(date_to_proto(p.end_date)),
                reason: p.reason.clone(),
            }),
        status: status_to_proto(status) as i32,
        paid_rate: n
            .settlement
            .as_ref()
            .map_or(pb::PaidRate::Unspecified, |s| match s.rate {
                PaidRate::Lower => pb::PaidRate::Lower,
                PaidRate::Higher => pb::PaidRate::Higher,
                PaidRate::SecondNoticeFlat => pb::PaidRate::SecondNoticeFlat,
            }) as i32,
        withdrawal: n.withdrawal.as_ref().map(|w| pb::Withdrawal {
            ground: match w.ground {
                WithdrawalGround::OughtNotToHaveBeenIssued => {
                    pb::WithdrawalGround::OughtNotToHaveBeenIssued
                }
                WithdrawalGround::IssuedToWrongPerson => pb::WithdrawalGround::IssuedToWrongPerson,
                WithdrawalGround::MaterialErrors => pb::WithdrawalGround::MaterialErrors,
                WithdrawalGround::OutsideCodeOfConduct => {
                    pb::WithdrawalGround::OutsideCodeOfConduct
                }
            } as i32,
            reason: w.reason.clone(),
            withdrawal_date: Some(date_to_proto(w.date)),
        }),
        prosecution_outcome: n.prosecution.as_ref().map(|p| pb::ProsecutionOutcome {
            hearing_date: Some(date_to_proto(p.hearing_date)),
            court: p.court.clone(),
            result: match p.result {
                ProsecutionResult::Convicted => pb::ProsecutionResult::Convicted,
                ProsecutionResult::Acquitted => pb::ProsecutionResult::Acquitted,
                ProsecutionResult::Withdrawn => pb::ProsecutionResult::Withdrawn,
            } as i32,
            fine_pence: p.fine_pence,
            costs_pence: p.costs_pence,
        }),
        balance: Some(balance_to_proto(n, today)),
        create_time: Some(timestamp_to_proto(n.created_at)),
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

/// A notice about to be numbered and stored.
fn draft(
    common: &Common,
    parent: Parent,
    kind: NoticeKind,
    receipt: NaiveDate,
    (policy, policy_name): (&PolicyVersion, &str),
) -> Notice {
    Notice {
        notice_number: String::new(),
        kind,
        pupil: common.pupil.clone(),
        parent,
        related_notices: vec![],
        offence: None,
        sessions: vec![],
        issue_date: common.issue_date,
        issuer: common.issuer.clone(),
        delivery: common.delivery.clone(),
        receipt_date: receipt,
        policy_version: policy_name.to_string(),
        second_notice: false,
        charges: None,
        improvement_period: None,
        part_payments_accepted: policy.rules.part_payments_accepted,
        settlement: None,
        withdrawal: None,
        prosecution: None,
        created_at: now(),
        money: Default::default(),
    }
}

#[tonic::async_trait]
impl NoticeService for NoticeApi {
    async fn issue_notice_to_improve(
        &self,
        request: Request<pb::IssueNoticeToImproveRequest>,
    ) -> Result<Response<pb::IssueNoticeToImproveResponse>, Status> {
        let caller = caller::authorize(&request, Operation::IssueNoticeToImprove)?;
        let actor = caller.actor.clone();
        let req = request.into_inner();
        caller.check_parent_name(&req.parent)?;
        let mut v = Violations::new();
        let common = common_from_proto(
            &mut v,
            &caller,
            &req.parent,
            &req.request_id,
            req.pupil.as_ref(),
            &req.parents,
            req.issue_date.as_ref(),
            req.issuer.as_ref(),
            req.delivery.as_ref(),
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
        let (common, (start_date, school_weeks, reason)) = v.finish(common.zip(period))?;
        check_school(&caller, &common.pupil)?;

        let request =
            IdempotentRequest::new(&common.authority, &req.request_id, ISSUE_NTI_METHOD, &req);
        let mut tx = match request.begin(&*self.store).await? {
            Begun::Replay(response) => return Ok(Response::new(response)),
            Begun::New(tx) => tx,
        };
        // Rules are decided after the claim, so a retry gets the stored answer
        // even if the policy or other notices changed since.
        let (policy, policy_name) =
            policy_in_force(&mut *tx, &common.authority, common.issue_date).await?;
        let domain_req = NoticeToImproveRequest {
            pupil: common.pupil.clone(),
            parents: common.parents.clone(),
            issue_date: common.issue_date,
            issuer: common.issuer.clone(),
            delivery: common.delivery.clone(),
            start_date,
            school_weeks,
            reason,
        };
        let (receipt, period) =
            notice::plan_notice_to_improve(&policy, &policy_name, &domain_req).map_err(refusal)?;

        let drafts = common
            .parents
            .iter()
            .map(|p| Notice {
                improvement_period: Some(period.clone()),
                ..draft(
                    &common,
                    p.clone(),
                    NoticeKind::NoticeToImprove,
                    receipt,
                    (&policy, &policy_name),
                )
            })
            .collect();
        let notices =
            Self::create_notices(&mut *tx, &common.authority, &actor, &req.request_id, drafts)
                .await?;
        let today = today();
        let response = pb::IssueNoticeToImproveResponse {
            notices: notices
                .iter()
                .map(|n| notice_to_proto(&common.authority, n, today))
                .collect(),
        };
        request.commit(tx, &response).await?;
        count_issued(
            &common.authority,
            "notice_to_improve",
            response.notices.len(),
        );
        Ok(Response::new(response))
    }

    async fn issue_penalty_notice(
        &self,
        request: Request<pb::IssuePenaltyNoticeRequest>,
    ) -> Result<Response<pb::IssuePenaltyNoticeResponse>, Status> {
        let caller = caller::authorize(&request, Operation::IssuePenaltyNotice)?;
        let actor = caller.actor.clone();
        let req = request.into_inner();
        caller.check_parent_name(&req.parent)?;
        let mut v = Violations::new();
        let common = common_from_proto(
            &mut v,
            &caller,
            &req.parent,
            &req.request_id,
            req.pupil.as_ref(),
            &req.parents,
            req.issue_date.as_ref(),
            req.issuer.as_ref(),
            req.delivery.as_ref(),
        );
        let offence = offence_from_proto(&mut v, req.offence.as_ref());
        let sessions = sessions_from_proto(&mut v, &req.sessions);
        let (common, (offence, sessions)) = v.finish(common.zip(offence.zip(sessions)))?;
        check_school(&caller, &common.pupil)?;

        let request = IdempotentRequest::new(
            &common.authority,
            &req.request_id,
            ISSUE_PENALTY_METHOD,
            &req,
        );
        let mut tx = match request.begin(&*self.store).await? {
            Begun::Replay(response) => return Ok(Response::new(response)),
            Begun::New(tx) => tx,
        };
        // Rules are decided after the claim, so a retry gets the stored answer
        // even if the policy or other notices changed since.
        let (policy, policy_name) =
            policy_in_force(&mut *tx, &common.authority, common.issue_date).await?;
        let domain_req = PenaltyRequest {
            pupil: common.pupil.clone(),
            parents: common.parents.clone(),
            offence: offence.clone(),
            sessions: sessions.clone(),
            issue_date: common.issue_date,
            issuer: common.issuer.clone(),
            delivery: common.delivery.clone(),
        };

        // Everything the rules read is read under the pupil's lock, so concurrent
        // requests for the same pupil are decided one after another.
        tx.lock_pupil(&common.authority, &common.pupil.upn)
            .await
            .map_err(ApiError::from)?;
        let earlier = tx
            .pupil_notices(&common.authority, &common.pupil.upn)
            .await
            .map_err(ApiError::from)?;
        let (receipt, planned) =
            notice::plan_penalty_notices(&policy, &policy_name, &earlier, &domain_req)
                .map_err(refusal)?;
        let drafts = planned
            .into_iter()
            .map(|p| Notice {
                offence: Some(offence.clone()),
                sessions: sessions.clone(),
                second_notice: p.second_notice,
                charges: Some(p.charges),
                ..draft(
                    &common,
                    p.parent,
                    NoticeKind::PenaltyNotice,
                    receipt,
                    (&policy, &policy_name),
                )
            })
            .collect();
        let notices =
            Self::create_notices(&mut *tx, &common.authority, &actor, &req.request_id, drafts)
                .await?;
        let today = today();
        let response = pb::IssuePenaltyNoticeResponse {
            notices: notices
                .iter()
                .map(|n| notice_to_proto(&common.authority, n, today))
                .collect(),
        };
        request.commit(tx, &response).await?;
        count_issued(&common.authority, "penalty_notice", response.notices.len());
        Ok(Response::new(response))
    }

    async fn get_notice(
        &self,
        request: Request<pb::GetNoticeRequest>,
    ) -> Result<Response<pb::GetNoticeResponse>, Status> {
        let caller = caller::authorize(&request, Operation::ReadNotices)?;
        let req = request.into_inner();
        caller.check_resource_name(&req.name)?;
        let (authority, number) = names::parse_notice("name", &req.name).map_err(ApiError::from)?;
        let mut tx = self.store.begin_read().await.map_err(ApiError::from)?;
        let notice = tx
            .notice(&authority, &number)
            .await
            .map_err(ApiError::from)?;
        tx.commit().await.map_err(ApiError::from)?;
        let notice = notice
            .filter(|n| visible(&caller, n))
            .ok_or_else(|| ApiError::NotFound(req.name.clone()))?;
        Ok(Response::new(pb::GetNoticeResponse {
            notice: Some(notice_to_proto(&authority, &notice, today())),
        }))
    }

    async fn list_notices(
        &self,
        request: Request<pb::ListNoticesRequest>,
    ) -> Result<Response<pb::ListNoticesResponse>, Status> {
        let caller = caller::authorize(&request, Operation::ReadNotices)?;
        let req = request.into_inner();
        caller.check_parent_name(&req.parent)?;
        let mut v = Violations::new();
        let authority = v.check(names::parse_authority("parent", &req.parent));
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
        let ((authority, size), ((status, kind), ((issued_from, issued_to), after))) = v.finish(
            authority
                .zip(size)
                .zip(status.zip(kind).zip(issued_from.zip(issued_to).zip(after))),
        )?;
        let non_empty = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_string);
        let (school, upn, person) = (
            non_empty(&req.school_urn),
            non_empty(&req.upn),
            non_empty(&req.parent_person_id),
        );
        // School staff list one of their schools at a time; police see what they issued.
        if caller.role == Role::SchoolStaff
            && !school
                .as_deref()
                .and_then(|u| Urn::parse(u).ok())
                .is_some_and(|u| caller.schools.contains(&u))
        {
            return Err(ApiError::PermissionDenied(
                "school staff must filter by one of their own schools".into(),
            )
            .into());
        }
        let filter_values = NoticeFilter {
            school_urn: school.as_deref(),
            upn: upn.as_deref(),
            parent_person_id: person.as_deref(),
            issuer_subject: (caller.role == Role::Police).then_some(caller.actor.subject.as_str()),
            kind,
            status,
            issued_from,
            issued_to,
        };
        let today = today();
        let mut tx = self.store.begin_read().await.map_err(ApiError::from)?;
        let fetched = tx
            .list_notices(&authority, &filter_values, today, after, size + 1)
            .await
            .map_err(ApiError::from)?;
        tx.commit().await.map_err(ApiError::from)?;
        let (page, next_page_token) = pagination::page(fetched, size, &filter, |last| {
            pagination::date_key_cursor(last.issue_date, &last.notice_number)
        });
        Ok(Response::new(pb::ListNoticesResponse {
            notices: page
                .iter()
                .map(|n| notice_to_proto(&authority, n, today))
                .collect(),
            next_page_token,
        }))
    }

    async fn withdraw_notice(
        &self,
        request: Request<pb::WithdrawNoticeRequest>,
    ) -> Result<Response<pb::WithdrawNoticeResponse>, Status> {
        let caller = caller::authorize(&request, Operation::ChangeNoticeLifecycle)?;
        let actor = caller.actor.clone();
        let req = request.into_inner();
        caller.check_resource_name(&req.name)?;
        let mut v = Violations::new();
        let name = v.check(names::parse_notice("name", &req.name));
        v.check(validate_request_id("request_id", &req.request_id));
        let withdrawal = match &req.withdrawal {
            None => {
                v.push(FieldViolation::new(
                    "withdrawal",
                    "the ground, reason and date are required",
                ));
                None
            }
            Some(w) => {
                let ground = match pb::WithdrawalGround::try_from(w.ground) {
                    Ok(pb::WithdrawalGround::OughtNotToHaveBeenIssued) => {
                        Some(WithdrawalGround::OughtNotToHaveBeenIssued)
                    }
                    Ok(pb::WithdrawalGround::IssuedToWrongPerson) => {
                        Some(WithdrawalGround::IssuedToWrongPerson)
                    }
                    Ok(pb::WithdrawalGround::MaterialErrors) => {
                        Some(WithdrawalGround::MaterialErrors)
                    }
                    Ok(pb::WithdrawalGround::OutsideCodeOfConduct) => {
                        Some(WithdrawalGround::OutsideCodeOfConduct)
                    }
                    _ => {
                        v.push(FieldViolation::new(
                            "withdrawal.ground",
                            "one of the four statutory grounds",
                        ));
                        None
                    }
                };
                let reason = required_text(&mut v, "withdrawal.reason", &w.reason);
                let day = v.check(past_date(
                    "withdrawal.withdrawal_date",
                    w.withdrawal_date.as_ref(),
                ));
                match (ground, reason, day) {
                    (Some(ground), Some(reason), Some(date)) => Some(Withdrawal {
                        ground,
                        reason,
                        date,
                    }),
                    _ => None,
                }
            }
        };
        let ((authority, number), withdrawal) = v.finish(name.zip(withdrawal))?;

        let request = IdempotentRequest::new(&authority, &req.request_id, WITHDRAW_METHOD, &req);
        let mut tx = match request.begin(&*self.store).await? {
            Begun::Replay(response) => return Ok(Response::new(response)),
            Begun::New(tx) => tx,
        };
        let notice = change_lifecycle(
            &mut *tx,
            (&authority, &number, &req.name),
            (&actor, &req.request_id),
            LifecycleChange::Withdraw(withdrawal),
        )
        .await?;
        let response = pb::WithdrawNoticeResponse {
            notice: Some(notice_to_proto(&authority, &notice, today())),
        };
        request.commit(tx, &response).await?;
        Ok(Response::new(response))
    }

    async fn record_prosecution_outcome(
        &self,
        request: Request<pb::RecordProsecutionOutcomeRequest>,
    ) -> Result<Response<pb::RecordProsecutionOutcomeResponse>, Status> {
        let caller = caller::authorize(&request, Operation::ChangeNoticeLifecycle)?;
        let actor = caller.actor.clone();
        let req = request.into_inner();
        caller.check_resource_name(&req.name)?;
        let mut v = Violations::new();
        let name = v.check(names::parse_notice("name", &req.name));
        v.check(validate_request_id("request_id", &req.request_id));
        let outcome = match &req.prosecution_outcome {
            None => {
                v.push(FieldViolation::new(
                    "prosecution_outcome",
                    "the outcome is required",
                ));
                None
            }
            Some(p) => {
                let hearing = v.check(past_date(
                    "prosecution_outcome.hearing_date",
                    p.hearing_date.as_ref(),
                ));
                let court = required_text(&mut v, "prosecution_outcome.court", &p.court);
                let result = match pb::ProsecutionResult::try_from(p.result) {
                    Ok(pb::ProsecutionResult::Convicted) => Some(ProsecutionResult::Convicted),
                    Ok(pb::ProsecutionResult::Acquitted) => Some(ProsecutionResult::Acquitted),
                    Ok(pb::ProsecutionResult::Withdrawn) => Some(ProsecutionResult::Withdrawn),
                    _ => {
                        v.push(FieldViolation::new(
                            "prosecution_outcome.result",
                            "convicted, acquitted or withdrawn",
                        ));
                        None
                    }
                };
                for (field, value) in [("fine_pence", p.fine_pence), ("costs_pence", p.costs_pence)]
                {
                    if value < 0 {
                        v.push(FieldViolation::new(
                            format!("prosecution_outcome.{field}"),
                            "must not be negative",
                        ));
                    }
                }
                if result != Some(ProsecutionResult::Convicted) && p.fine_pence > 0 {
                    v.push(FieldViolation::new(
                        "prosecution_outcome.fine_pence",
                        "only a conviction carries a fine",
                    ));
                }
                match (hearing, court, result) {
                    (Some(hearing_date), Some(court), Some(result)) => Some(ProsecutionOutcome {
                        hearing_date,
                        court,
                        result,
                        fine_pence: p.fine_pence,
                        costs_pence: p.costs_pence,
                    }),
                    _ => None,
                }
            }
        };
        let ((authority, number), outcome) = v.finish(name.zip(outcome))?;

        let request = IdempotentRequest::new(&authority, &req.request_id, PROSECUTION_METHOD, &req);
        let mut tx = match request.begin(&*self.store).await? {
            Begun::Replay(response) => return Ok(Response::new(response)),
            Begun::New(tx) => tx,
        };
        let notice = change_lifecycle(
            &mut *tx,
            (&authority, &number, &req.name),
            (&actor, &req.request_id),
            LifecycleChange::Prosecute(outcome),
        )
        .await?;
        let response = pb::RecordProsecutionOutcomeResponse {
            notice: Some(notice_to_proto(&authority, &notice, today())),
        };
        request.commit(tx, &response).await?;
        Ok(Response::new(response))
    }

    async fn list_notice_events(
        &self,
        request: Request<pb::ListNoticeEventsRequest>,
    ) -> Result<Response<pb::ListNoticeEventsResponse>, Status> {
        let caller = caller::authorize(&request, Operation::ReadNotices)?;
        let req = request.into_inner();
        caller.check_resource_name(&req.parent)?;
        let mut v = Violations::new();
        let name = v.check(names::parse_notice("parent", &req.parent));
        let size = v.check(pagination::page_size("page_size", req.page_size));
        let filter = format!("parent={}", req.parent);
        let after = v.check(
            pagination::decode_token("page_token", &req.page_token, &filter).and_then(|c| {
                c.map_or(Ok(0), |c| {
                    c.parse::<i64>().map_err(|_| {
                        FieldViolation::new("page_token", "not a page token this service issued")
                    })
                })
            }),
        );
        let (((authority, number), size), after) = v.finish(name.zip(size).zip(after))?;
        let mut tx = self.store.begin_read().await.map_err(ApiError::from)?;
        if !tx
            .notice(&authority, &number)
            .await
            .map_err(ApiError::from)?
            .is_some_and(|n| visible(&caller, &n))
        {
            return Err(ApiError::NotFound(req.parent.clone()).into());
        }
        let fetched = tx
            .audit_events(&authority, Some(&req.parent), after, size + 1)
            .await
            .map_err(ApiError::from)?;
        tx.commit().await.map_err(ApiError::from)?;
        let (page, next_page_token) =
            pagination::page(fetched, size, &filter, |last| last.event_id.to_string());
        Ok(Response::new(pb::ListNoticeEventsResponse {
            notice_events: page
                .into_iter()
                .map(|e| pb::NoticeEvent {
                    event_id: e.event_id,
                    event_time: Some(timestamp_to_proto(e.at)),
                    actor: Some(pb::Actor {
                        subject: e.actor_subject,
                        role: caller::role_to_proto(crate::domain::actor::Role::parse(
                            &e.actor_role,
                        )) as i32,
                    }),
                    action: e.action,
                    request_id: e.request_id,
                    details_json: e.details.to_string(),
                })
                .collect(),
            next_page_token,
        }))
    }
}
