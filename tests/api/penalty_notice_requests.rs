//! Schools' requests for penalty notices (#15 item 5): inside the local code's
//! deadline (school days from the registers) a request is accepted and an
//! officer issues from it or declines it; after the deadline it is refused.

use chrono::{Duration, NaiveDate};
use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use tonic::Code;

use crate::helpers::attendance::{SCHOOL, batch, record, week};
use crate::helpers::notices::{Penalty, d, issue, upn};
use crate::helpers::policy::{create, local_version};
use crate::helpers::{As, TestApp, broken_rules, on_both_backends, violated_fields};

fn staff(app: &TestApp) -> As {
    app.as_role("850", Role::SchoolStaff)
}

fn officer(app: &TestApp) -> As {
    app.as_role("850", Role::LaOfficer)
}

/// A school's request for pupil `pupil`'s week of holiday from `monday`.
fn notice_request(
    request_id: &str,
    pupil: u32,
    monday: NaiveDate,
) -> pb::RequestPenaltyNoticeRequest {
    let sessions = Penalty::holiday(pupil, &["mum"], monday, monday).sessions;
    pb::RequestPenaltyNoticeRequest {
        parent: "authorities/850".into(),
        request_id: request_id.into(),
        upn: upn(pupil),
        school_urn: SCHOOL.into(),
        parent_person_ids: vec!["mum".into()],
        sessions,
        support_offered: "Attendance meeting 10 Feb; early help offered".into(),
    }
}

async fn request(
    who: &As,
    req: pb::RequestPenaltyNoticeRequest,
) -> Result<pb::PenaltyNoticeRequest, tonic::Status> {
    who.notices()
        .request_penalty_notice(req)
        .await
        .map(|r| r.into_inner().penalty_notice_request.expect("the request"))
}

async fn listed(
    app: &TestApp,
    state: pb::PenaltyNoticeRequestState,
) -> Vec<pb::PenaltyNoticeRequest> {
    officer(app)
        .notices()
        .list_penalty_notice_requests(pb::ListPenaltyNoticeRequestsRequest {
            parent: "authorities/850".into(),
            state: state as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .penalty_notice_requests
}

on_both_backends! {
    async fn a_request_inside_the_deadline_is_issued_one_after_it_refused_one_declined(app) {
        use pb::PenaltyNoticeRequestState::*;
        // Hampshire's local code: schools request within 10 school days.
        app.as_role("850", Role::Admin)
            .policy()
            .create_policy_version(create("authorities/850", "local", local_version(2025, 1, 1)))
            .await
            .unwrap();
        // Pupils 1..3: a week of holiday from 3 Mar, then at school for two
        // weeks and the Monday after (11 school days after the holiday).
        let monday = d(2025, 3, 3);
        let holiday: Vec<usize> = (0..10).collect();
        let mut marks = Vec::new();
        for pupil in 1..=3 {
            marks.extend(week(SCHOOL, pupil, monday, "G", &holiday));
            marks.extend(week(SCHOOL, pupil, monday + Duration::weeks(1), "G", &[]));
            marks.extend(week(SCHOOL, pupil, monday + Duration::weeks(2), "G", &[]));
            marks.extend(week(SCHOOL, pupil, monday + Duration::weeks(3), "G", &[]).into_iter().take(2));
        }
        record(&officer(&app), vec![batch("registers", marks)]).await.unwrap();

        // Friday of the first week back: 5 school days have passed.
        app.clock.set_day(d(2025, 3, 14));
        let accepted = request(&staff(&app), notice_request("r-1", 1, monday)).await.unwrap();
        assert_eq!(accepted.state(), Pending);
        assert_eq!(accepted.name, "authorities/850/penaltyNoticeRequests/1");
        assert_eq!((accepted.school_days_elapsed, accepted.deadline_school_days), (5, 10));
        assert_eq!(accepted.sessions.len(), 10);
        assert_eq!(accepted.requested_by, "school_staff@850");
        // A retry is the same request.
        assert_eq!(request(&staff(&app), notice_request("r-1", 1, monday)).await.unwrap(), accepted);
        let to_decline = request(&staff(&app), notice_request("r-3", 3, monday)).await.unwrap();
        // The school's evidence of support is required; other schools are not theirs.
        let mut bare = notice_request("r-bare", 1, monday);
        bare.support_offered.clear();
        assert_eq!(violated_fields(&request(&staff(&app), bare).await.unwrap_err()), ["support_offered"]);
        let mut elsewhere = notice_request("r-elsewhere", 1, monday);
        elsewhere.school_urn = "116440".into();
        assert_eq!(request(&staff(&app), elsewhere).await.unwrap_err().code(), Code::PermissionDenied);

        // The Monday of the third week back is school day 11: too late.
        app.clock.set_day(d(2025, 3, 24));
        let late = request(&staff(&app), notice_request("r-2", 2, monday)).await.unwrap_err();
        assert_eq!(broken_rules(&late), ["REQUEST_DEADLINE"]);
        let described = {
            use tonic_types::StatusExt;
            late.get_details_precondition_failure().unwrap().violations[0].description.clone()
        };
        assert!(described.contains("deadline is 10 school days"), "{described}");
        assert!(described.contains("11 school days"), "{described}");

        // Officers see the pending requests; schools do not list them.
        let pending = listed(&app, Pending).await;
        assert_eq!(pending.iter().map(|r| r.upn.as_str()).collect::<Vec<_>>(), [upn(1), upn(3)]);
        let status = staff(&app)
            .notices()
            .list_penalty_notice_requests(pb::ListPenaltyNoticeRequestsRequest {
                parent: "authorities/850".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);

        // An officer issues from pupil 1's request: it becomes ISSUED with the notices.
        let mut from_request = Penalty::holiday(1, &["mum"], monday, d(2025, 3, 24)).request("pn-1");
        from_request.penalty_notice_request = accepted.name.clone();
        let notices = issue(&app, from_request.clone()).await.unwrap();
        let issued = listed(&app, Issued).await;
        assert_eq!(issued.len(), 1);
        assert_eq!(issued[0].name, accepted.name);
        assert_eq!(
            issued[0].notice_numbers,
            notices.iter().map(|n| n.notice_number.clone()).collect::<Vec<_>>()
        );
        // Not twice, and not for another pupil.
        let mut again = Penalty::holiday(3, &["mum"], monday, d(2025, 3, 24)).request("pn-again");
        again.penalty_notice_request = accepted.name.clone();
        assert_eq!(broken_rules(&issue(&app, again).await.unwrap_err()), ["REQUEST_NOT_PENDING"]);
        let mut other = Penalty::holiday(1, &["mum"], monday, d(2025, 3, 24)).request("pn-other");
        other.penalty_notice_request = to_decline.name.clone();
        assert_eq!(broken_rules(&issue(&app, other).await.unwrap_err()), ["REQUEST_FOR_ANOTHER_PUPIL"]);

        // Pupil 3's request is declined with a reason.
        let decline = pb::DeclinePenaltyNoticeRequestRequest {
            name: to_decline.name.clone(),
            request_id: "decline-3".into(),
            reason: "Support plan agreed with the family".into(),
        };
        let declined = officer(&app)
            .notices()
            .decline_penalty_notice_request(decline.clone())
            .await
            .unwrap()
            .into_inner()
            .penalty_notice_request
            .unwrap();
        assert_eq!(declined.state(), Declined);
        assert_eq!(declined.decline_reason, "Support plan agreed with the family");
        assert_eq!(listed(&app, Declined).await, std::slice::from_ref(&declined));
        assert!(listed(&app, Pending).await.is_empty());
        // The retry answers the same; declining again (a new id) is refused.
        let retried = officer(&app).notices().decline_penalty_notice_request(decline).await.unwrap();
        assert_eq!(retried.into_inner().penalty_notice_request.unwrap(), declined);
        let twice = officer(&app)
            .notices()
            .decline_penalty_notice_request(pb::DeclinePenaltyNoticeRequestRequest {
                name: to_decline.name.clone(),
                request_id: "decline-again".into(),
                reason: "again".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(broken_rules(&twice), ["REQUEST_NOT_PENDING"]);
        let missing = officer(&app)
            .notices()
            .decline_penalty_notice_request(pb::DeclinePenaltyNoticeRequestRequest {
                name: "authorities/850/penaltyNoticeRequests/99".into(),
                request_id: "decline-missing".into(),
                reason: "none".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(missing.code(), Code::NotFound);
        // Every step is in the audit log.
        let la = lea_notices::domain::identifiers::LaCode::parse("850").unwrap();
        let actions: Vec<String> = app
            .audit_events(&la, None, 0, 1_000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .filter(|a| a.starts_with("penalty_notice_request."))
            .collect();
        assert_eq!(
            actions,
            [
                "penalty_notice_request.created",
                "penalty_notice_request.created",
                "penalty_notice_request.issued",
                "penalty_notice_request.declined"
            ]
        );
    }

    async fn who_may_request_is_the_local_codes_choice(app) {
        // Southampton's code takes no requests from schools; Hampshire's (the
        // national default) does, and reads back as ACCEPTED.
        let mut southampton = local_version(2025, 1, 1);
        southampton.school_requests = pb::SchoolRequests::NotAccepted as i32;
        app.as_role("852", Role::Admin)
            .policy()
            .create_policy_version(create("authorities/852", "local-852", southampton))
            .await
            .unwrap();
        app.as_role("850", Role::Admin)
            .policy()
            .create_policy_version(create("authorities/850", "local-850", local_version(2025, 1, 1)))
            .await
            .unwrap();
        for (la, expected) in [("850", pb::SchoolRequests::Accepted), ("852", pb::SchoolRequests::NotAccepted)] {
            let policy = app
                .as_role(la, Role::LaOfficer)
                .policy()
                .get_policy(pb::GetPolicyRequest {
                    parent: format!("authorities/{la}"),
                    date: crate::helpers::date(2025, 3, 14),
                })
                .await
                .unwrap()
                .into_inner()
                .policy_version
                .unwrap();
            assert_eq!(policy.school_requests(), expected, "authority {la}");
        }
        app.clock.set_day(d(2025, 3, 14));
        let mut to_southampton = notice_request("r-852", 1, d(2025, 3, 3));
        to_southampton.parent = "authorities/852".into();
        let refused = request(&app.as_role("852", Role::SchoolStaff), to_southampton).await.unwrap_err();
        assert_eq!(broken_rules(&refused), ["SCHOOL_REQUESTS_NOT_ACCEPTED"]);
        let accepted = request(&staff(&app), notice_request("r-850", 1, d(2025, 3, 3))).await.unwrap();
        assert_eq!(accepted.state(), pb::PenaltyNoticeRequestState::Pending);
    }

    async fn the_deadline_runs_from_the_pupils_return_after_illness(app) {
        // Hampshire's local code: schools request within 10 school days of
        // the pupil's return.
        app.as_role("850", Role::Admin)
            .policy()
            .create_policy_version(create("authorities/850", "local", local_version(2025, 1, 1)))
            .await
            .unwrap();
        // Pupils 4 and 5: a week of holiday (G) from 3 Mar, then 7 school days
        // off ill (I, 10-18 Mar), back on Wednesday 19 Mar (day 1) and at
        // school to Wednesday 2 Apr (day 11). Pupil 6 is still off ill.
        let monday = d(2025, 3, 3);
        let all: Vec<usize> = (0..10).collect();
        let mut marks = Vec::new();
        for pupil in 4..=6 {
            let ill = |n: usize| if pupil == 6 { all.clone() } else { (0..n).collect() };
            marks.extend(week(SCHOOL, pupil, monday, "G", &all));
            marks.extend(week(SCHOOL, pupil, monday + Duration::weeks(1), "I", &all));
            marks.extend(week(SCHOOL, pupil, monday + Duration::weeks(2), "I", &ill(4)));
            marks.extend(week(SCHOOL, pupil, monday + Duration::weeks(3), "I", &ill(0)));
            marks.extend(week(SCHOOL, pupil, monday + Duration::weeks(4), "I", &ill(0)).into_iter().take(6));
        }
        record(&officer(&app), vec![batch("registers", marks)]).await.unwrap();

        // Friday 28 Mar: the 8th school day back (15 after the holiday).
        app.clock.set_day(d(2025, 3, 28));
        let accepted = request(&staff(&app), notice_request("r-4", 4, monday)).await.unwrap();
        assert_eq!(accepted.state(), pb::PenaltyNoticeRequestState::Pending);
        assert_eq!((accepted.school_days_elapsed, accepted.deadline_school_days), (8, 10));

        // Wednesday 2 Apr: the 11th school day back, too late.
        app.clock.set_day(d(2025, 4, 2));
        let late = request(&staff(&app), notice_request("r-5", 5, monday)).await.unwrap_err();
        assert_eq!(broken_rules(&late), ["REQUEST_DEADLINE"]);
        let described = {
            use tonic_types::StatusExt;
            late.get_details_precondition_failure().unwrap().violations[0].description.clone()
        };
        assert!(described.contains("from the pupil's return (2025-03-19, day 1)"), "{described}");
        assert!(described.contains("11 school days"), "{described}");

        // No register shows pupil 6 back: the deadline has not begun.
        let waiting = request(&staff(&app), notice_request("r-6", 6, monday)).await.unwrap();
        assert_eq!(waiting.state(), pb::PenaltyNoticeRequestState::Pending);
        assert_eq!(waiting.school_days_elapsed, 0);
    }
}
