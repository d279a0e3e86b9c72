//! The two issuing requests (IssueNoticeToImprove, IssuePenaltyNotice) as the
//! use cases take them: what they share is one [`Issue`], converted once.

use chrono::NaiveDate;

use super::notice::{address_from_proto, past_date, required_text};
use super::policy::{issuer_role_from_proto, offence_reason_from_proto};
use super::{date, optional_date, session_from_proto};
use crate::api::error::Violations;
use crate::api::mutation::validate_request_id;
use crate::app::{Caller, ServiceResult};
use crate::domain::{
    FieldViolation, access,
    identifiers::{Upn, Urn},
    issuing::{BreachRef, Issue, NoticeToImproveRequest, PenaltyRequest},
    names,
    notice::{
        Delivery, DeliveryMethod, Issuer, Liability, LiabilityBasis, MAX_RELATIONSHIP_CHARS,
        Offence, OffenceType, Parent, Pupil, SessionMark,
    },
};
use crate::proto::v1 as pb;

/// The fields every issuing request shares, as sent.
struct IssueFields<'a> {
    parent: &'a str,
    request_id: &'a str,
    pupil: Option<&'a pb::Pupil>,
    parents: &'a [pb::Parent],
    issue_date: Option<&'a crate::proto::Date>,
    issuer: Option<&'a pb::Issuer>,
    delivery: Option<&'a pb::Delivery>,
    /// Claimed sessions (none on a notice to improve).
    sessions: &'a [pb::SessionMark],
    /// Whether each parent's liability must be given (a penalty notice).
    liability_required: bool,
    breach: Option<&'a pb::BreachReference>,
}

fn issue_from_proto(
    v: &mut Violations,
    caller: &Caller,
    today: NaiveDate,
    f: IssueFields<'_>,
) -> Option<Issue> {
    v.check(names::parse_authority("parent", f.parent));
    v.check(validate_request_id("request_id", f.request_id));
    let pupil = pupil_from_proto(v, f.pupil);
    let parents = parents_from_proto(v, f.parents, f.liability_required);
    let issue_date = v.check(past_date("issue_date", f.issue_date, today));
    let issuer = issuer_from_proto(v, caller, f.issuer);
    let delivery = issue_date.and_then(|d| delivery_from_proto(v, (d, today), f.delivery));
    let sessions = sessions_from_proto(v, f.sessions);
    let breach = breach_from_proto(v, f.breach, f.pupil, today);
    if f.breach.is_some() && !f.sessions.is_empty() {
        v.push(FieldViolation::new(
            "sessions",
            "give the sessions or the breach, not both: a breach's sessions come from the registers",
        ));
    }
    Some(Issue {
        pupil: pupil?,
        parents: parents?,
        issue_date: issue_date?,
        issuer: issuer?,
        delivery: delivery?,
        sessions: sessions?,
        breach: breach?,
    })
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

/// A parent's liability as sent: required on a penalty notice (`required`).
fn liability_from_proto(
    v: &mut Violations,
    field: &str,
    l: Option<&pb::Liability>,
    required: bool,
) -> Option<Option<Liability>> {
    let Some(l) = l else {
        if required {
            v.push(FieldViolation::new(
                format!("{field}.liability"),
                "the basis of the parent's liability (s576 Education Act 1996) is required on a \
                 penalty notice",
            ));
            return None;
        }
        return Some(None);
    };
    let basis = match pb::LiabilityBasis::try_from(l.basis) {
        Ok(pb::LiabilityBasis::ParentalResponsibility) => {
            Some(LiabilityBasis::ParentalResponsibility)
        }
        Ok(pb::LiabilityBasis::CareOfChild) => Some(LiabilityBasis::CareOfChild),
        _ => {
            v.push(FieldViolation::new(
                format!("{field}.liability.basis"),
                "parental responsibility or care of the child",
            ));
            None
        }
    };
    let relationship = required_text(
        v,
        &format!("{field}.liability.relationship"),
        &l.relationship,
    );
    if let Some(r) = &relationship
        && r.chars().count() > MAX_RELATIONSHIP_CHARS
    {
        v.push(FieldViolation::new(
            format!("{field}.liability.relationship"),
            format!("at most {MAX_RELATIONSHIP_CHARS} characters"),
        ));
        return None;
    }
    Some(Some(Liability {
        basis: basis?,
        relationship: relationship?,
    }))
}

fn parents_from_proto(
    v: &mut Violations,
    parents: &[pb::Parent],
    liability_required: bool,
) -> Option<Vec<Parent>> {
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
        let liability = liability_from_proto(v, &field, p.liability.as_ref(), liability_required);
        if let (
            Some(person_id),
            Some(given_name),
            Some(family_name),
            Some(address),
            Some(liability),
        ) = (id, given, family, address, liability)
        {
            out.push(Parent {
                person_id,
                given_name,
                family_name,
                address,
                liability,
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

/// An IssueNoticeToImprove request as the use case takes it (`today` decides
/// what is in the future).
pub(crate) fn notice_to_improve_request(
    req: &pb::IssueNoticeToImproveRequest,
    caller: &Caller,
    today: NaiveDate,
) -> ServiceResult<NoticeToImproveRequest> {
    let mut v = Violations::new();
    let issue = issue_from_proto(
        &mut v,
        caller,
        today,
        IssueFields {
            parent: &req.parent,
            request_id: &req.request_id,
            pupil: req.pupil.as_ref(),
            parents: &req.parents,
            issue_date: req.issue_date.as_ref(),
            issuer: req.issuer.as_ref(),
            delivery: req.delivery.as_ref(),
            sessions: &[],
            breach: req.breach.as_ref(),
            liability_required: false,
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
    let (issue, (start_date, school_weeks, reason)) = v.finish(issue.zip(period))?;
    Ok(NoticeToImproveRequest {
        issue,
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
    let issue = issue_from_proto(
        &mut v,
        caller,
        today,
        IssueFields {
            parent: &req.parent,
            request_id: &req.request_id,
            pupil: req.pupil.as_ref(),
            parents: &req.parents,
            issue_date: req.issue_date.as_ref(),
            issuer: req.issuer.as_ref(),
            delivery: req.delivery.as_ref(),
            sessions: &req.sessions,
            breach: req.breach.as_ref(),
            liability_required: true,
        },
    );
    let offence = offence_from_proto(&mut v, req.offence.as_ref());
    let (issue, offence) = v.finish(issue.zip(offence))?;
    Ok(PenaltyRequest { issue, offence })
}
