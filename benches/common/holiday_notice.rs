//! What the RPC benchmark and the failover drill's load both send: a penalty
//! notice for a week of term-time holiday (included with `#[path]`).

use lea_notices::proto::Date;
use lea_notices::proto::v1 as pb;

pub fn date(year: i32, month: i32, day: i32) -> Option<Date> {
    Some(Date { year, month, day })
}

pub fn address() -> Option<pb::PostalAddress> {
    Some(pb::PostalAddress {
        lines: vec!["1 High Street".into(), "Winchester".into()],
        postcode: "SO23 8UJ".into(),
    })
}

/// A penalty notice of authority `la` for a week of term-time holiday (2 to
/// 6 June 2025) of the pupil `upn`, to one parent, `person_id`.
pub fn holiday_penalty(
    la: &str,
    upn: String,
    person_id: String,
    request_id: String,
) -> pb::IssuePenaltyNoticeRequest {
    let sessions = (2..=6)
        .flat_map(|day| {
            [pb::Session::Am, pb::Session::Pm].map(|s| pb::SessionMark {
                date: date(2025, 6, day),
                session: s as i32,
                code: "G".into(),
            })
        })
        .collect();
    pb::IssuePenaltyNoticeRequest {
        parent: format!("authorities/{la}"),
        request_id,
        pupil: Some(pb::Pupil {
            upn,
            school_urn: "116439".into(),
            given_name: "Sam".into(),
            family_name: "Taylor".into(),
            address: address(),
        }),
        parents: vec![pb::Parent {
            person_id,
            given_name: "Alex".into(),
            family_name: "Taylor".into(),
            address: address(),
            liability: Some(pb::Liability {
                basis: pb::LiabilityBasis::ParentalResponsibility as i32,
                relationship: "mother".into(),
            }),
        }],
        offence: Some(pb::Offence {
            r#type: pb::OffenceType::S444Attendance as i32,
            reason: pb::OffenceReason::Holiday as i32,
            description: "Term-time holiday".into(),
        }),
        sessions,
        issue_date: date(2025, 6, 16),
        issuer: Some(pb::Issuer {
            role: pb::IssuerRole::LaOfficer as i32,
            display_name: "J. Jones".into(),
            official_details: "Attendance Enforcement Officer".into(),
            subject: String::new(),
        }),
        delivery: Some(pb::Delivery {
            method: pb::DeliveryMethod::Hand as i32,
            posting_date: None,
        }),
        ..Default::default()
    }
}
