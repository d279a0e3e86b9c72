//! Builders of notices: pupils, parents, issuers and penalty requests, and
//! the calls that issue and list them.

#![allow(dead_code)]

use chrono::{Datelike, Duration, NaiveDate};
use lea_notices::domain::actor::Role;
use lea_notices::domain::identifiers::{LaCode, Upn};
use lea_notices::proto::v1::{self as pb};

use crate::helpers::{TestApp, date, la_of};

/// A valid UPN for pupil `n` (check letter computed).
pub(crate) fn upn(n: u32) -> String {
    let body = format!("850200125{n:03}");
    format!("{}{body}", Upn::check_letter(&body).unwrap())
}

pub(crate) fn address(line: &str) -> Option<pb::PostalAddress> {
    Some(pb::PostalAddress {
        lines: vec![line.into(), "Winchester".into()],
        postcode: "SO23 8UJ".into(),
    })
}

pub(crate) fn pupil(n: u32) -> Option<pb::Pupil> {
    Some(pb::Pupil {
        upn: upn(n),
        school_urn: "116439".into(),
        given_name: "Sam".into(),
        family_name: "Taylor".into(),
        address: address("1 High Street"),
    })
}

/// A parent with parental responsibility: "mum" is the mother, "dad" the
/// father, anyone else a parent.
pub(crate) fn parent(id: &str) -> pb::Parent {
    pb::Parent {
        person_id: id.into(),
        given_name: id.into(),
        family_name: "Taylor".into(),
        address: address("1 High Street"),
        liability: Some(liability(
            pb::LiabilityBasis::ParentalResponsibility,
            match id {
                "mum" => "mother",
                "dad" => "father",
                _ => "parent",
            },
        )),
    }
}

pub(crate) fn liability(basis: pb::LiabilityBasis, relationship: &str) -> pb::Liability {
    pb::Liability {
        basis: basis as i32,
        relationship: relationship.into(),
    }
}

pub(crate) fn issuer(role: pb::IssuerRole) -> Option<pb::Issuer> {
    Some(pb::Issuer {
        role: role as i32,
        display_name: "A. Officer".into(),
        official_details: "Attendance Team".into(),
        subject: String::new(),
    })
}

pub(crate) fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

pub(crate) fn proto_date(x: NaiveDate) -> Option<lea_notices::proto::Date> {
    date(x.year(), x.month() as i32, x.day() as i32)
}

/// Mornings and afternoons of `days` school days from `monday`, all with `code`.
pub(crate) fn sessions(monday: NaiveDate, days: i64, code: &str) -> Vec<pb::SessionMark> {
    (0..days)
        .flat_map(|i| [pb::Session::Am, pb::Session::Pm].map(|s| (monday + Duration::days(i), s)))
        .map(|(day, s)| pb::SessionMark {
            date: proto_date(day),
            session: s as i32,
            code: code.into(),
        })
        .collect()
}

pub(crate) fn by_hand() -> Option<pb::Delivery> {
    Some(pb::Delivery {
        method: pb::DeliveryMethod::Hand as i32,
        posting_date: None,
    })
}

pub(crate) struct Penalty {
    pub(crate) la: &'static str,
    pupil: u32,
    parents: Vec<&'static str>,
    pub(crate) reason: pb::OffenceReason,
    pub(crate) sessions: Vec<pb::SessionMark>,
    pub(crate) issue_date: NaiveDate,
}

impl Penalty {
    /// A holiday offence: one week of G from `monday`, issued by hand by an LA officer.
    pub(crate) fn holiday(
        pupil: u32,
        parents: &[&'static str],
        monday: NaiveDate,
        issue_date: NaiveDate,
    ) -> Self {
        Penalty {
            la: "850",
            pupil,
            parents: parents.to_vec(),
            reason: pb::OffenceReason::Holiday,
            sessions: sessions(monday, 5, "G"),
            issue_date,
        }
    }

    pub(crate) fn request(&self, request_id: &str) -> pb::IssuePenaltyNoticeRequest {
        pb::IssuePenaltyNoticeRequest {
            parent: format!("authorities/{}", self.la),
            request_id: request_id.into(),
            pupil: pupil(self.pupil),
            parents: self.parents.iter().map(|p| parent(p)).collect(),
            offence: Some(pb::Offence {
                r#type: pb::OffenceType::S444Attendance as i32,
                reason: self.reason as i32,
                description: "Term-time absence".into(),
            }),
            sessions: self.sessions.clone(),
            issue_date: proto_date(self.issue_date),
            issuer: issuer(pb::IssuerRole::LaOfficer),
            delivery: by_hand(),
            breach: None,
            ..Default::default()
        }
    }
}

pub(crate) async fn issue(
    app: &TestApp,
    request: pb::IssuePenaltyNoticeRequest,
) -> Result<Vec<pb::Notice>, tonic::Status> {
    app.as_role(la_of(&request.parent), Role::LaOfficer)
        .notices()
        .issue_penalty_notice(request)
        .await
        .map(|r| r.into_inner().notices)
}

pub(crate) async fn all_notices(app: &TestApp, la: &str) -> Vec<pb::Notice> {
    app.as_role(la, Role::LaOfficer)
        .notices()
        .list_notices(pb::ListNoticesRequest {
            parent: format!("authorities/{la}"),
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .notices
}

pub(crate) async fn audit_count(app: &TestApp, la: &str) -> usize {
    app.audit_events(&LaCode::parse(la).unwrap(), None, 0, 10_000)
        .await
        .unwrap()
        .len()
}

pub(crate) fn ymd(x: &Option<lea_notices::proto::Date>) -> Option<(i32, i32, i32)> {
    x.as_ref().map(|d| (d.year, d.month, d.day))
}

pub(crate) fn withdraw(name: &str, request_id: &str) -> pb::WithdrawNoticeRequest {
    pb::WithdrawNoticeRequest {
        name: name.into(),
        request_id: request_id.into(),
        withdrawal: Some(pb::Withdrawal {
            ground: pb::WithdrawalGround::IssuedToWrongPerson as i32,
            reason: "Parent does not live at the address".into(),
            withdrawal_date: date(2025, 7, 1),
        }),
    }
}
