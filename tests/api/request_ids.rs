//! One request id sent to two different mutations (README, "request_id"): an
//! id names one request within its authority, so the second use case is
//! refused `ALREADY_EXISTS` naming the first, writes nothing, and never gets
//! the first call's kept answer; a call that failed keeps no id.

use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::attendance::{SCHOOL, batch, record as record_marks, summary, week};
use crate::helpers::notices::{
    Penalty, all_notices, audit_count, d, issue, proto_date, upn, withdraw,
};
use crate::helpers::policy::{create, local_version, versions};
use crate::helpers::{As, TestApp, broken_rules, on_both_backends};

fn officer(app: &TestApp) -> As {
    app.as_role("850", Role::LaOfficer)
}

fn contract(request_id: &str) -> pb::OpenCaseRequest {
    pb::OpenCaseRequest {
        parent: "authorities/850".into(),
        request_id: request_id.into(),
        kind: pb::MeasureKind::AttendanceContract as i32,
        upn: upn(1),
        school_urn: SCHOOL.into(),
        parents: vec![pb::CaseParent {
            person_id: "mum".into(),
            given_name: "Jo".into(),
            family_name: "Taylor".into(),
        }],
        opened_on: proto_date(d(2025, 3, 3)),
        ..Default::default()
    }
}

fn event(case: &str, request_id: &str, kind: pb::CaseEventKind) -> pb::RecordCaseEventRequest {
    pb::RecordCaseEventRequest {
        name: case.into(),
        request_id: request_id.into(),
        event: Some(pb::CaseEventDetails {
            kind: kind as i32,
            date: proto_date(d(2025, 3, 4)),
            ..Default::default()
        }),
    }
}

async fn open(who: &As, request: pb::OpenCaseRequest) -> Result<pb::MeasureCase, tonic::Status> {
    who.measures()
        .open_case(request)
        .await
        .map(|r| r.into_inner().measure_case.unwrap())
}

async fn record(
    who: &As,
    request: pb::RecordCaseEventRequest,
) -> Result<pb::MeasureCase, tonic::Status> {
    who.measures()
        .record_case_event(request)
        .await
        .map(|r| r.into_inner().measure_case.unwrap())
}

async fn cases(who: &As) -> Vec<pb::MeasureCase> {
    who.measures()
        .list_cases(pb::ListCasesRequest {
            parent: "authorities/850".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .cases
}

async fn case_events(who: &As, case: &str) -> usize {
    who.measures()
        .list_case_events(pb::ListCaseEventsRequest {
            name: case.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events
        .len()
}

/// The refusal of an id first used for `first_use_case`.
fn assert_reused(
    result: Result<impl std::fmt::Debug, tonic::Status>,
    id: &str,
    first_use_case: &str,
) {
    let status = result.expect_err("a request id used by another use case");
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    let info = status.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "REQUEST_ID_REUSED");
    assert_eq!(
        (
            info.metadata["request_id"].as_str(),
            info.metadata["method"].as_str()
        ),
        (id, first_use_case)
    );
}

on_both_backends! {
    async fn an_open_case_id_sent_to_record_case_event_is_refused_and_writes_nothing(app) {
        app.clock.set_day(d(2025, 3, 3));
        let o = officer(&app);
        let case = open(&o, contract("shared-1")).await.unwrap();
        assert_eq!(case.name, "authorities/850/cases/1");
        let audited = audit_count(&app, "850").await;

        // Both use cases keep the case's number: the second must not be
        // answered with the first's, nor apply its event.
        assert_reused(record(&o, event(&case.name, "shared-1", pb::CaseEventKind::Accepted)).await, "shared-1", "open_case");
        let now = cases(&o).await;
        assert_eq!(now, std::slice::from_ref(&case), "the case as opened, version and state unchanged");
        assert_eq!(case_events(&o, &case.name).await, 1);
        assert_eq!(audit_count(&app, "850").await, audited);
        // The first call's retry still gets its answer.
        assert_eq!(open(&o, contract("shared-1")).await.unwrap(), case);

        // The other way round: an event's id sent to OpenCase opens no case
        // and takes no case number.
        let accepted = record(&o, event(&case.name, "shared-2", pb::CaseEventKind::Accepted)).await.unwrap();
        assert_eq!(accepted.state, pb::CaseState::Accepted as i32);
        let audited = audit_count(&app, "850").await;
        assert_reused(open(&o, contract("shared-2")).await, "shared-2", "record_case_event");
        assert_eq!(cases(&o).await, std::slice::from_ref(&accepted));
        assert_eq!(audit_count(&app, "850").await, audited);
        assert_eq!(record(&o, event(&case.name, "shared-2", pb::CaseEventKind::Accepted)).await.unwrap(), accepted);
        assert_eq!(open(&o, contract("fresh")).await.unwrap().name, "authorities/850/cases/2");
    }

    async fn a_call_refused_for_its_own_reasons_keeps_no_request_id(app) {
        app.clock.set_day(d(2025, 3, 3));
        let o = officer(&app);
        let case = open(&o, contract("c-1")).await.unwrap();
        // A contract is not made: the refusal rolls its claim back.
        let refused = record(&o, event(&case.name, "free", pb::CaseEventKind::Made)).await.unwrap_err();
        assert_eq!(broken_rules(&refused), ["CASE_EVENT_NOT_ALLOWED"]);
        // So the id is free for another use case, and then held by it.
        assert_eq!(open(&o, contract("free")).await.unwrap().name, "authorities/850/cases/2");
        assert_reused(record(&o, event(&case.name, "free", pb::CaseEventKind::Accepted)).await, "free", "open_case");
    }

    async fn one_request_id_names_one_request_across_services(app) {
        app.clock.set_day(d(2025, 2, 3));
        let o = officer(&app);
        let penalty = Penalty::holiday(1, &["mum"], d(2025, 1, 6), d(2025, 2, 3));
        let issued = issue(&app, penalty.request("one-id")).await.unwrap();
        let audited = audit_count(&app, "850").await;
        // Past the notice's deadlines, so a withdrawal dated 1 July may be
        // made: the notice as it now stands.
        app.clock.set_day(d(2025, 7, 1));
        let notices = all_notices(&app, "850").await;
        assert_eq!(notices.iter().map(|n| &n.name).collect::<Vec<_>>(), [&issued[0].name]);

        // The same id on every other service's mutation: each refused,
        // naming the use case that holds it, none with a write.
        assert_reused(app.notices().withdraw_notice(withdraw(&notices[0].name, "one-id")).await, "one-id", "issue_penalty_notice");
        assert_reused(
            app.policy().create_policy_version(create("authorities/850", "one-id", local_version(2025, 9, 1))).await,
            "one-id",
            "issue_penalty_notice",
        );
        assert_reused(
            record_marks(&o, vec![batch("one-id", week(SCHOOL, 2, d(2025, 1, 13), "O", &[0, 1]))]).await,
            "one-id",
            "issue_penalty_notice",
        );
        assert_reused(open(&o, contract("one-id")).await, "one-id", "issue_penalty_notice");
        // The same use case with another request (another parent) too.
        assert_reused(issue(&app, Penalty::holiday(2, &["dad"], d(2025, 1, 6), d(2025, 2, 3)).request("one-id")).await, "one-id", "issue_penalty_notice");

        assert_eq!(all_notices(&app, "850").await, notices, "not withdrawn, none issued");
        assert!(versions(&app, "authorities/850").await.is_empty());
        assert_eq!(summary(&app, SCHOOL, Some(2), d(2025, 1, 13), d(2025, 1, 17)).await.figures.unwrap().possible_sessions, 0);
        assert!(cases(&o).await.is_empty());
        assert_eq!(audit_count(&app, "850").await, audited);
        // The first call's retry still answers with its notices, as they stand.
        assert_eq!(issue(&app, penalty.request("one-id")).await.unwrap(), notices);
        // Another authority's ids are its own.
        app.as_role("852", Role::Admin)
            .policy()
            .create_policy_version(create("authorities/852", "one-id", local_version(2025, 9, 1)))
            .await
            .unwrap();
    }
}
