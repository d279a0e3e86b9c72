//! Builders of worklist listings and of what puts items on it (schools'
//! requests, money in suspense), and the calls that read the events on the
//! statutory dates.

#![allow(dead_code)]

use chrono::NaiveDate;
use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};

use crate::helpers::attendance::SCHOOL;
use crate::helpers::notices::{Penalty, proto_date, upn};
use crate::helpers::{As, TestApp};

/// Serving options with the scheduler of the statutory dates running a round
/// every 20 ms (tests wait for rounds with `TestApp::scheduler_round`).
pub(crate) fn scheduled() -> lea_notices::server::ServeOptions {
    lea_notices::server::ServeOptions {
        statutory_events_interval: Some(std::time::Duration::from_millis(20)),
        ..Default::default()
    }
}

/// A listing of Hampshire's worklist of `kinds` (empty: all).
pub(crate) fn listing(kinds: &[pb::ActionKind]) -> pb::ListActionsRequest {
    pb::ListActionsRequest {
        parent: "authorities/850".into(),
        kinds: kinds.iter().map(|&k| k as i32).collect(),
        ..Default::default()
    }
}

/// Every item of a listing, page by page.
pub(crate) async fn all_actions(
    who: &As,
    request: pb::ListActionsRequest,
) -> Result<Vec<pb::Action>, tonic::Status> {
    let mut all = Vec::new();
    let mut request = request;
    loop {
        let page = who
            .worklist()
            .list_actions(request.clone())
            .await?
            .into_inner();
        all.extend(page.actions);
        if page.next_page_token.is_empty() {
            return Ok(all);
        }
        request.page_token = page.next_page_token;
    }
}

/// The items of the whole worklist as `role` of Hampshire sees it.
pub(crate) async fn worklist(app: &TestApp, role: Role) -> Vec<pb::Action> {
    all_actions(&app.as_role("850", role), listing(&[]))
        .await
        .unwrap()
}

/// `(kind, resource, due date)` of each item.
pub(crate) fn summary(actions: &[pb::Action]) -> Vec<(pb::ActionKind, String, NaiveDate)> {
    actions
        .iter()
        .map(|a| (a.kind(), a.resource.clone(), day(&a.due_date)))
        .collect()
}

pub(crate) fn day(date: &Option<lea_notices::proto::Date>) -> NaiveDate {
    let d = date.as_ref().expect("a date");
    NaiveDate::from_ymd_opt(d.year, d.month as u32, d.day as u32).expect("a calendar date")
}

/// A school's request for pupil `pupil`'s week of holiday from `monday`.
pub(crate) fn school_request(
    request_id: &str,
    pupil: u32,
    monday: NaiveDate,
) -> pb::RequestPenaltyNoticeRequest {
    pb::RequestPenaltyNoticeRequest {
        parent: "authorities/850".into(),
        request_id: request_id.into(),
        upn: upn(pupil),
        school_urn: SCHOOL.into(),
        parent_person_ids: vec!["mum".into()],
        sessions: Penalty::holiday(pupil, &["mum"], monday, monday).sessions,
        support_offered: "Attendance meeting; early help offered".into(),
    }
}

pub(crate) async fn request_notice(
    app: &TestApp,
    req: pb::RequestPenaltyNoticeRequest,
) -> pb::PenaltyNoticeRequest {
    app.as_role("850", Role::SchoolStaff)
        .notices()
        .request_penalty_notice(req)
        .await
        .unwrap()
        .into_inner()
        .penalty_notice_request
        .unwrap()
}

/// The events recorded by the scheduler, or caused by money after
/// prosecution, of one notice: `(action, London day of the event, details)`.
pub(crate) async fn date_events(
    app: &TestApp,
    notice: &str,
) -> Vec<(String, NaiveDate, serde_json::Value)> {
    let events = app
        .as_role("850", Role::LaOfficer)
        .notices()
        .list_notice_events(pb::ListNoticeEventsRequest {
            parent: notice.into(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .notice_events;
    events
        .into_iter()
        .filter(|e| {
            [
                "notice.lower_rate_ended",
                "notice.unpaid_at_period_end",
                "notice.payment_after_prosecution",
            ]
            .contains(&e.action.as_str())
        })
        .map(|e| {
            let t = e.event_time.expect("a time");
            let at =
                chrono::DateTime::from_timestamp(t.seconds, t.nanos as u32).expect("an instant");
            (
                e.action,
                lea_notices::domain::calendar::london_date(at),
                serde_json::from_str(&e.details_json).expect("JSON details"),
            )
        })
        .collect()
}

/// The authority's audit events with `action`, as an auditor lists them.
pub(crate) async fn audit_events(app: &TestApp, action: &str) -> Vec<pb::AuditEvent> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = app
            .as_role("850", Role::Auditor)
            .audit()
            .list_audit_events(pb::ListAuditEventsRequest {
                parent: "authorities/850".into(),
                action: action.into(),
                page_size: 500,
                page_token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        all.extend(page.audit_events);
        if page.next_page_token.is_empty() {
            return all;
        }
        page_token = page.next_page_token;
    }
}

/// A payment quoting no notice: money in suspense.
pub(crate) fn unmatched(
    provider_id: &str,
    amount: i64,
    paid: NaiveDate,
) -> pb::RecordPaymentRequest {
    crate::helpers::payments::payment("850", provider_id, amount, paid, "school fine Taylor", &[])
}

pub(crate) fn on(day: NaiveDate) -> Option<lea_notices::proto::Date> {
    proto_date(day)
}
