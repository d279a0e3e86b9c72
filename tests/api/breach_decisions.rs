//! Decisions on threshold breaches (#15 item 4): a breach is pending until an
//! officer decides it or a notice closes it; a decided breach stays decided when
//! new marks arrive, and a breach after it is a new pending case.

use chrono::{Duration, NaiveDate};
use lea_notices::domain::{actor::Role, identifiers::LaCode};
use lea_notices::proto::v1::{self as pb};
use tonic::Code;

use crate::helpers::attendance::{SCHOOL, batch, record, week};
use crate::helpers::notices::{Penalty, d, issue, proto_date, upn};
use crate::helpers::{As, TestApp, broken_rules, on_both_backends, violated_fields};

fn officer(app: &TestApp) -> As {
    app.as_role("850", Role::LaOfficer)
}

/// Every breach on `as_of` in `states`, one page of one at a time (so paging
/// crosses a pupil's decided and pending breaches).
async fn listed(
    app: &TestApp,
    as_of: NaiveDate,
    states: &[pb::BreachState],
) -> Vec<pb::ThresholdBreach> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = officer(app)
            .attendance()
            .list_threshold_breaches(pb::ListThresholdBreachesRequest {
                parent: "authorities/850".into(),
                as_of_date: proto_date(as_of),
                page_size: 1,
                page_token,
                states: states.iter().map(|s| *s as i32).collect(),
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

/// `(upn, state)` of each breach, in listing order.
fn states(found: &[pb::ThresholdBreach]) -> Vec<(String, pb::BreachState)> {
    found.iter().map(|b| (b.upn.clone(), b.state())).collect()
}

fn decision(
    request_id: &str,
    pupil: u32,
    as_of: NaiveDate,
    state: pb::BreachState,
    reason: pb::NoActionReason,
    note: &str,
) -> pb::RecordBreachDecisionRequest {
    pb::RecordBreachDecisionRequest {
        parent: "authorities/850".into(),
        request_id: request_id.into(),
        upn: upn(pupil),
        as_of_date: proto_date(as_of),
        state: state as i32,
        no_action_reason: reason as i32,
        note: note.into(),
    }
}

async fn decide(
    who: &As,
    request: pb::RecordBreachDecisionRequest,
) -> Result<pb::ThresholdBreach, tonic::Status> {
    who.attendance()
        .record_breach_decision(request)
        .await
        .map(|r| r.into_inner().threshold_breach.expect("the breach"))
}

/// The `breach.decision_recorded` events of the authority.
async fn decision_events(app: &TestApp) -> Vec<lea_notices::store::AuditEvent> {
    let la = LaCode::parse("850").unwrap();
    let events = app.audit_events(&la, None, 0, 1_000).await.unwrap();
    events
        .into_iter()
        .filter(|e| e.action == "breach.decision_recorded")
        .collect()
}

on_both_backends! {
    async fn a_breach_decided_no_action_stays_so_after_new_marks(app) {
        use pb::BreachState::*;
        let monday = d(2025, 3, 3);
        let friday = monday + Duration::days(4);
        // Pupil 1: a week of unauthorised absence (10 sessions). Pupil 2 attends
        // and keeps the school's weeks.
        let mut marks = week(SCHOOL, 1, monday, "O", &(0..10).collect::<Vec<_>>());
        marks.extend(week(SCHOOL, 2, monday, "O", &[]));
        record(&officer(&app), vec![batch("week-1", marks)]).await.unwrap();

        let found = listed(&app, friday, &[]).await;
        assert_eq!(states(&found), [(upn(1), Pending)]);
        assert!(found[0].name.is_empty() && found[0].decision.is_none());
        assert_eq!(found[0].as_of_date, proto_date(friday));

        // Bad decisions name their fields, and change nothing.
        let bad = [
            (decision("bad-1", 1, friday, NoAction, pb::NoActionReason::Unspecified, ""), "no_action_reason"),
            (decision("bad-2", 1, friday, NoAction, pb::NoActionReason::Other, " "), "note"),
            (decision("bad-3", 1, friday, PenaltyNoticeIssued, pb::NoActionReason::Unspecified, ""), "state"),
            (decision("bad-4", 1, friday, OtherMeasure, pb::NoActionReason::Unspecified, ""), "note"),
        ];
        for (request, field) in bad {
            let status = decide(&officer(&app), request).await.unwrap_err();
            assert_eq!(violated_fields(&status), [field]);
        }
        // School staff consider, but do not decide.
        let status = decide(
            &app.as_role("850", Role::SchoolStaff),
            decision("staff", 1, friday, NoAction, pb::NoActionReason::Medical, ""),
        )
        .await
        .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);

        let request = decision("no-action", 1, friday, NoAction, pb::NoActionReason::Medical, "hospital stay");
        let decided = decide(&officer(&app), request.clone()).await.unwrap();
        assert_eq!(decided.state(), NoAction);
        assert_eq!(decided.name, "authorities/850/breaches/1");
        assert_eq!(decided.sessions, found[0].sessions);
        let made = decided.decision.clone().expect("a decision");
        assert_eq!(made.no_action_reason(), pb::NoActionReason::Medical);
        assert_eq!((made.note.as_str(), made.decided_by_role.as_str()), ("hospital stay", "la_officer"));
        assert!(!made.decided_by.is_empty());
        // A retry answers with the same case and records nothing more.
        assert_eq!(decide(&officer(&app), request).await.unwrap(), decided);
        let events = decision_events(&app).await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].resource, "authorities/850/breaches/1");
        assert_eq!(events[0].details["no_action_reason"], "medical");
        // Nothing is pending any more.
        let again = decision("again", 1, friday, ReferredToProsecution, pb::NoActionReason::Unspecified, "");
        let status = decide(&officer(&app), again).await.unwrap_err();
        assert_eq!(broken_rules(&status), ["NO_PENDING_BREACH"]);

        // Four more absences the next week: the decided breach stays decided
        // and its sessions do not count again.
        let mut next = week(SCHOOL, 1, monday + Duration::weeks(1), "O", &[0, 1, 2, 3]);
        next.extend(week(SCHOOL, 2, monday + Duration::weeks(1), "O", &[]));
        record(&officer(&app), vec![batch("week-2", next)]).await.unwrap();
        let found = listed(&app, friday + Duration::weeks(1), &[]).await;
        assert_eq!(states(&found), [(upn(1), NoAction)]);
        assert_eq!(found[0].sessions, decided.sessions);
        assert!(listed(&app, friday + Duration::weeks(1), &[Pending]).await.is_empty());
        assert_eq!(states(&listed(&app, friday + Duration::weeks(1), &[NoAction]).await), [(upn(1), NoAction)]);
        assert!(listed(&app, friday + Duration::weeks(1), &[PenaltyNoticeIssued]).await.is_empty());

        // Six more the week after: ten sessions after the decided case make a
        // new pending breach of their own, listed after the decided one.
        let mut third = week(SCHOOL, 1, monday + Duration::weeks(2), "O", &[0, 1, 2, 3, 4, 5]);
        third.extend(week(SCHOOL, 2, monday + Duration::weeks(2), "O", &[]));
        record(&officer(&app), vec![batch("week-3", third)]).await.unwrap();
        let as_of = friday + Duration::weeks(2);
        let found = listed(&app, as_of, &[]).await;
        assert_eq!(states(&found), [(upn(1), NoAction), (upn(1), Pending)]);
        let pending = &found[1];
        assert_eq!(pending.qualifying_sessions, 10);
        let day = |s: &pb::SessionMark| s.date.map(|d| (d.year, d.month, d.day));
        assert!(pending.sessions.iter().all(|s| day(s) > Some((2025, 3, 7))));
        assert_eq!(states(&listed(&app, as_of, &[Pending]).await), [(upn(1), Pending)]);
        // The new case is decided on its own.
        let referred = decide(
            &officer(&app),
            decision("referred", 1, as_of, ReferredToProsecution, pb::NoActionReason::Unspecified, ""),
        )
        .await
        .unwrap();
        assert_eq!(referred.name, "authorities/850/breaches/2");
        assert_eq!(referred.sessions, pending.sessions);
        assert_eq!(
            states(&listed(&app, as_of, &[]).await),
            [(upn(1), NoAction), (upn(1), ReferredToProsecution)]
        );
    }

    async fn issuing_a_penalty_notice_closes_the_pending_breach(app) {
        use pb::BreachState::*;
        let monday = d(2025, 6, 2);
        let friday = monday + Duration::days(4);
        // Pupils 2 and 3: a week of holiday each.
        let mut marks = week(SCHOOL, 2, monday, "G", &(0..10).collect::<Vec<_>>());
        marks.extend(week(SCHOOL, 3, monday, "G", &(0..10).collect::<Vec<_>>()));
        record(&officer(&app), vec![batch("holiday", marks)]).await.unwrap();
        assert_eq!(states(&listed(&app, friday, &[]).await), [(upn(2), Pending), (upn(3), Pending)]);

        // The notices list the ten sessions explicitly.
        let notices = issue(&app, Penalty::holiday(2, &["mum", "dad"], monday, d(2025, 6, 16)).request("pn"))
            .await
            .unwrap();
        let mut numbers: Vec<String> = notices.iter().map(|n| n.notice_number.clone()).collect();
        numbers.sort();

        let found = listed(&app, friday, &[]).await;
        assert_eq!(states(&found), [(upn(2), PenaltyNoticeIssued), (upn(3), Pending)]);
        let closed = &found[0];
        assert!(closed.covered_by_penalty_notice);
        assert_eq!(closed.sessions.len(), 10);
        let mut on_case = closed.decision.clone().expect("a decision").notice_numbers;
        on_case.sort();
        assert_eq!(on_case, numbers);
        assert_eq!(states(&listed(&app, friday, &[Pending]).await), [(upn(3), Pending)]);
        assert_eq!(
            states(&listed(&app, friday, &[PenaltyNoticeIssued, NoAction]).await),
            [(upn(2), PenaltyNoticeIssued)]
        );
        let events = decision_events(&app).await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].details["state"], "penalty_notice_issued");
        // Nothing is left to decide for pupil 2.
        let status = decide(
            &officer(&app),
            decision("late", 2, friday, NoAction, pb::NoActionReason::Medical, ""),
        )
        .await
        .unwrap_err();
        assert_eq!(broken_rules(&status), ["NO_PENDING_BREACH"]);
    }
}
