//! Builders of registers: marks, weeks of marks, batches, and the calls that
//! record them and read summaries, breaches and histories.

#![allow(dead_code)]

use chrono::{Duration, NaiveDate};
use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};

use crate::helpers::notices::{proto_date, upn};
use crate::helpers::{As, TestApp};

pub(crate) const SCHOOL: &str = "116439";
pub(crate) const OTHER_SCHOOL: &str = "116440";

/// Seconds after 1 Jan 2025 (UTC): a record time.
pub(crate) fn at(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: 1_735_689_600 + seconds,
        nanos: 0,
    })
}

pub(crate) fn mark(
    school: &str,
    pupil: u32,
    day: NaiveDate,
    session: pb::Session,
    code: &str,
    recorded: i64,
) -> pb::Mark {
    pb::Mark {
        school_urn: school.into(),
        upn: upn(pupil),
        date: proto_date(day),
        session: session as i32,
        code: code.into(),
        record_time: at(recorded),
    }
}

/// A school week of one pupil from `monday`: present (`/` and `\`) except the
/// `absent` sessions, numbered 0..10 (day * 2, + 1 for the afternoon).
pub(crate) fn week(
    school: &str,
    pupil: u32,
    monday: NaiveDate,
    code: &str,
    absent: &[usize],
) -> Vec<pb::Mark> {
    (0..10)
        .map(|i| {
            let session = if i % 2 == 0 {
                pb::Session::Am
            } else {
                pb::Session::Pm
            };
            let present = if i % 2 == 0 { "/" } else { "\\" };
            let code = if absent.contains(&i) { code } else { present };
            mark(
                school,
                pupil,
                monday + Duration::days(i as i64 / 2),
                session,
                code,
                0,
            )
        })
        .collect()
}

/// The first `n` sessions of a week.
pub(crate) fn first(n: usize) -> Vec<usize> {
    (0..n).collect()
}

pub(crate) fn batch(request_id: &str, marks: Vec<pb::Mark>) -> pb::RecordMarksRequest {
    pb::RecordMarksRequest {
        parent: "authorities/850".into(),
        request_id: request_id.into(),
        marks,
        sen_statuses: vec![],
    }
}

pub(crate) async fn record(
    who: &As,
    batches: Vec<pb::RecordMarksRequest>,
) -> Result<pb::RecordMarksResponse, tonic::Status> {
    who.attendance()
        .record_marks(tokio_stream::iter(batches))
        .await
        .map(|r| r.into_inner())
}

pub(crate) fn officer(app: &TestApp) -> As {
    app.as_role("850", Role::LaOfficer)
}

/// Records `marks` in batches of 1,000.
pub(crate) async fn record_all(app: &TestApp, marks: Vec<pb::Mark>) {
    let batches = marks
        .chunks(1_000)
        .enumerate()
        .map(|(i, c)| batch(&format!("load-{i}-{}", uuid::Uuid::new_v4()), c.to_vec()))
        .collect();
    record(&officer(app), batches).await.unwrap();
}

pub(crate) async fn summary(
    app: &TestApp,
    school: &str,
    pupil: Option<u32>,
    from: NaiveDate,
    to: NaiveDate,
) -> pb::GetAttendanceSummaryResponse {
    officer(app)
        .attendance()
        .get_attendance_summary(pb::GetAttendanceSummaryRequest {
            parent: "authorities/850".into(),
            school_urn: school.into(),
            upn: pupil.map(upn).unwrap_or_default(),
            start_date: proto_date(from),
            end_date: proto_date(to),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

pub(crate) async fn breaches(
    app: &TestApp,
    as_of: NaiveDate,
    school: &str,
) -> Vec<pb::ThresholdBreach> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = officer(app)
            .attendance()
            .list_threshold_breaches(pb::ListThresholdBreachesRequest {
                parent: "authorities/850".into(),
                as_of_date: proto_date(as_of),
                school_urn: school.into(),
                page_size: 2,
                page_token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        all.extend(page.threshold_breaches);
        if page.next_page_token.is_empty() {
            return all;
        }
        page_token = page.next_page_token;
    }
}

/// The UPNs of `pupils` in the order breaches are listed (by UPN, bytewise).
pub(crate) fn sorted(pupils: &[u32]) -> Vec<String> {
    let mut upns: Vec<String> = pupils.iter().map(|&p| upn(p)).collect();
    upns.sort();
    upns
}

pub(crate) fn pupils(found: &[pb::ThresholdBreach]) -> Vec<String> {
    found.iter().map(|b| b.upn.clone()).collect()
}

pub(crate) async fn history(
    app: &TestApp,
    pupil: u32,
    day: NaiveDate,
) -> Result<Vec<(String, bool)>, tonic::Status> {
    officer(app)
        .attendance()
        .get_mark_history(pb::GetMarkHistoryRequest {
            parent: "authorities/850".into(),
            school_urn: SCHOOL.into(),
            upn: upn(pupil),
            date: proto_date(day),
            session: pb::Session::Am as i32,
        })
        .await
        .map(|r| {
            r.into_inner()
                .revisions
                .into_iter()
                .map(|r| (r.code, r.current))
                .collect()
        })
}
