//! Identity, roles and isolation between authorities: every RPC with every role,
//! for its own and the other authority, and every kind of refused token.

use base64::Engine;
use lea_notices::api::layers::auth::{self, DevKey};
use lea_notices::domain::{actor::Role, identifiers::LaCode};
use lea_notices::proto::v1::{self as pb};
use tonic::Code;

use crate::helpers::attendance::{SCHOOL, batch, record, week};
use crate::helpers::notices::{Penalty, d, upn};
use crate::helpers::{AUDIENCE, As, ISSUER, TestApp, date, on_both_backends};

/// What each role may do, written from the issue's description of the roles
/// (independently of the service's own table).
fn may(role: Role, method: &str) -> bool {
    // The school register is public data: every role reads it.
    if ["GetSchool", "ListSchools"].contains(&method) {
        return true;
    }
    // The worklist: what needs a person now. Officers and auditors see it all,
    // school staff their schools' cases, finance the money; police and
    // administrators have none.
    if method == "ListActions" {
        return matches!(
            role,
            Role::LaOfficer | Role::Auditor | Role::SchoolStaff | Role::Finance
        );
    }
    // The other measures' cases: officers open and change them; auditors,
    // administrators and school staff (their schools') read them; finance and
    // police have none.
    if ["OpenCase", "RecordCaseEvent"].contains(&method) {
        return role == Role::LaOfficer;
    }
    // The court bundle holds the payments: officers, auditors, administrators.
    if method == "RenderProsecutionFile" {
        return matches!(role, Role::LaOfficer | Role::Auditor | Role::Admin);
    }
    if ["GetCase", "ListCases", "ListCaseEvents"].contains(&method) {
        return matches!(
            role,
            Role::LaOfficer | Role::Auditor | Role::Admin | Role::SchoolStaff
        );
    }
    const READS: &[&str] = &[
        "GetPolicy",
        "ListPolicyVersions",
        "GetAuthoritySettings",
        "GetSharingAgreement",
        "GetRetentionPolicy",
        "GetAttendanceSummary",
        "ListThresholdBreaches",
        "GetMarkHistory",
        "GetNotice",
        "ListNotices",
        "ListNoticeEvents",
        "RenderNotice",
        "GetAmountDue",
        "ListPayments",
        "GetStatutoryReturn",
    ];
    // The access log: who read which child's or parent's data.
    if method == "ListAccessEvents" {
        return matches!(role, Role::Auditor | Role::DataProtectionOfficer);
    }
    // Correcting a pupil's or parent's details (UK GDPR Article 16): the
    // officers who hold the cases, and the data protection officer.
    if method == "RectifyPersonalDetails" {
        return matches!(role, Role::LaOfficer | Role::DataProtectionOfficer);
    }
    // Everything held about one pupil or parent: the data protection officer.
    if method == "ExportSubjectData" {
        return role == Role::DataProtectionOfficer;
    }
    const AUDIT: &[&str] = &[
        "ListAuditEvents",
        "VerifyAuditTrail",
        "CreateAuditCheckpoint",
    ];
    // The event feed: roles whose access is not scoped within the authority
    // and who read notices (finance: notices and money; officers, auditors and
    // administrators: more).
    if method == "WatchEvents" {
        return matches!(
            role,
            Role::LaOfficer | Role::Finance | Role::Auditor | Role::Admin
        );
    }
    const NOTICE_READS: &[&str] = &[
        "GetNotice",
        "ListNotices",
        "ListNoticeEvents",
        "RenderNotice",
    ];
    match role {
        Role::SchoolStaff => {
            [
                "RecordMarks",
                "RecordMarksStream",
                "GetAttendanceSummary",
                "ListThresholdBreaches",
                "GetMarkHistory",
                "IssueNoticeToImprove",
                "IssuePenaltyNotice",
                "RequestPenaltyNotice",
            ]
            .contains(&method)
                || NOTICE_READS.contains(&method)
        }
        Role::LaOfficer => {
            ![
                "CreatePolicyVersion",
                "CreateAuthoritySettings",
                "CreateSharingAgreementVersion",
                "CreateRetentionPolicyVersion",
            ]
            .contains(&method)
                && !AUDIT.contains(&method)
        }
        Role::Police => method == "IssuePenaltyNotice" || NOTICE_READS.contains(&method),
        Role::Finance => {
            [
                "RecordPayment",
                "AllocatePayment",
                "RecordRefund",
                "GetAmountDue",
                "ListPayments",
            ]
            .contains(&method)
                || NOTICE_READS.contains(&method)
        }
        Role::Auditor => READS.contains(&method) || AUDIT.contains(&method),
        Role::Admin => {
            [
                "CreatePolicyVersion",
                "CreateAuthoritySettings",
                "CreateSharingAgreementVersion",
                "CreateRetentionPolicyVersion",
                "ImportSchools",
            ]
            .contains(&method)
                || READS.contains(&method)
                || AUDIT.contains(&method)
        }
        // The data protection officer: the audit log (and the access log,
        // above); it reads no notice or register directly.
        Role::DataProtectionOfficer => AUDIT.contains(&method),
    }
}

/// Methods addressing an existing resource by name (the rest name a parent authority).
const BY_NAME: &[&str] = &[
    "GetNotice",
    "WithdrawNotice",
    "RecordProsecutionOutcome",
    "ListNoticeEvents",
    "AllocatePayment",
    "RecordRefund",
    "GetAmountDue",
    "GetSchool",
    "RenderNotice",
    "DeclinePenaltyNoticeRequest",
    "GetCase",
    "RecordCaseEvent",
    "ListCaseEvents",
    "RenderProsecutionFile",
];
/// Mutations are sent without a request id (or payment), so an allowed caller gets
/// INVALID_ARGUMENT and nothing changes between cells of the matrix.
const MUTATIONS: &[&str] = &[
    "CreatePolicyVersion",
    "RecordMarks",
    "RecordMarksStream",
    "IssueNoticeToImprove",
    "IssuePenaltyNotice",
    "WithdrawNotice",
    "RecordProsecutionOutcome",
    "RecordPayment",
    "AllocatePayment",
    "RecordRefund",
    "ImportSchools",
    "CreateAuthoritySettings",
    "CreateSharingAgreementVersion",
    "CreateRetentionPolicyVersion",
    "RecordBreachDecision",
    "RequestPenaltyNotice",
    "DeclinePenaltyNoticeRequest",
    "OpenCase",
    "RecordCaseEvent",
    "RectifyPersonalDetails",
];
/// Every RPC of lea.notices.v1.
pub(crate) const METHODS: [&str; 49] = [
    "CreatePolicyVersion",
    "GetPolicy",
    "ListPolicyVersions",
    "RecordMarks",
    "RecordMarksStream",
    "GetAttendanceSummary",
    "ListThresholdBreaches",
    "GetMarkHistory",
    "RecordBreachDecision",
    "IssueNoticeToImprove",
    "IssuePenaltyNotice",
    "GetNotice",
    "ListNotices",
    "WithdrawNotice",
    "RecordProsecutionOutcome",
    "ListNoticeEvents",
    "RequestPenaltyNotice",
    "ListPenaltyNoticeRequests",
    "DeclinePenaltyNoticeRequest",
    "RecordPayment",
    "AllocatePayment",
    "RecordRefund",
    "GetAmountDue",
    "ListPayments",
    "ListAuditEvents",
    "VerifyAuditTrail",
    "CreateAuditCheckpoint",
    "GetStatutoryReturn",
    "ImportSchools",
    "GetSchool",
    "ListSchools",
    "CreateAuthoritySettings",
    "GetAuthoritySettings",
    "CreateSharingAgreementVersion",
    "CreateRetentionPolicyVersion",
    "GetSharingAgreement",
    "GetRetentionPolicy",
    "RenderNotice",
    "ListActions",
    "WatchEvents",
    "OpenCase",
    "RecordCaseEvent",
    "GetCase",
    "ListCases",
    "ListCaseEvents",
    "ListAccessEvents",
    "RenderProsecutionFile",
    "ExportSubjectData",
    "RectifyPersonalDetails",
];

/// The answer a caller should get.
fn expected(method: &str, role: Role, own: bool) -> Code {
    if !may(role, method) {
        Code::PermissionDenied
    } else if !own {
        if BY_NAME.contains(&method) {
            Code::NotFound
        } else {
            Code::PermissionDenied
        }
    } else if role == Role::Police
        && ["GetNotice", "ListNoticeEvents", "RenderNotice"].contains(&method)
    {
        Code::NotFound // an LA officer issued the fixture notice, not this constable
    } else if MUTATIONS.contains(&method) {
        Code::InvalidArgument
    } else if method == "RenderProsecutionFile" {
        Code::FailedPrecondition // the fixture case is an attendance contract
    } else {
        Code::Ok
    }
}

fn code<T>(r: Result<tonic::Response<T>, tonic::Status>) -> Code {
    r.map_or_else(|s| s.code(), |_| Code::Ok)
}

/// Calls `method` as `who` against authority `la`'s fixtures.
pub(crate) async fn call(who: &As, method: &str, la: &str) -> Code {
    let parent = format!("authorities/{la}");
    let notice = format!("authorities/{la}/notices/{la}-2025-000001");
    let payment = format!("authorities/{la}/payments/{la}-PAY-000001");
    let case = format!("authorities/{la}/cases/1");
    let on = date(2025, 2, 10);
    match method {
        "CreatePolicyVersion" => code(
            who.policy()
                .create_policy_version(pb::CreatePolicyVersionRequest {
                    parent,
                    ..Default::default()
                })
                .await,
        ),
        "GetPolicy" => code(
            who.policy()
                .get_policy(pb::GetPolicyRequest { parent, date: on })
                .await,
        ),
        "ListPolicyVersions" => code(
            who.policy()
                .list_policy_versions(pb::ListPolicyVersionsRequest {
                    parent,
                    ..Default::default()
                })
                .await,
        ),
        "RecordMarks" => code(
            who.attendance()
                .record_marks(tokio_stream::iter(vec![pb::RecordMarksRequest {
                    parent,
                    ..Default::default()
                }]))
                .await,
        ),
        "RecordMarksStream" => {
            let answers = who
                .attendance()
                .record_marks_stream(tokio_stream::iter(vec![pb::RecordMarksStreamRequest {
                    parent,
                    ..Default::default()
                }]))
                .await;
            match answers {
                Ok(answers) => code(
                    answers
                        .into_inner()
                        .message()
                        .await
                        .map(tonic::Response::new),
                ),
                Err(status) => status.code(),
            }
        }
        "GetAttendanceSummary" => code(
            who.attendance()
                .get_attendance_summary(pb::GetAttendanceSummaryRequest {
                    parent,
                    school_urn: SCHOOL.into(),
                    start_date: date(2025, 1, 6),
                    end_date: date(2025, 1, 10),
                    ..Default::default()
                })
                .await,
        ),
        "ListThresholdBreaches" => code(
            who.attendance()
                .list_threshold_breaches(pb::ListThresholdBreachesRequest {
                    parent,
                    school_urn: SCHOOL.into(),
                    as_of_date: date(2025, 1, 10),
                    ..Default::default()
                })
                .await,
        ),
        "RecordBreachDecision" => code(
            who.attendance()
                .record_breach_decision(pb::RecordBreachDecisionRequest {
                    parent,
                    upn: upn(1),
                    as_of_date: date(2025, 1, 10),
                    state: pb::BreachState::NoAction as i32,
                    no_action_reason: pb::NoActionReason::Medical as i32,
                    ..Default::default()
                })
                .await,
        ),
        "GetMarkHistory" => code(
            who.attendance()
                .get_mark_history(pb::GetMarkHistoryRequest {
                    parent,
                    school_urn: SCHOOL.into(),
                    upn: upn(1),
                    date: date(2025, 1, 6),
                    session: pb::Session::Am as i32,
                })
                .await,
        ),
        "IssueNoticeToImprove" => code(
            who.notices()
                .issue_notice_to_improve(pb::IssueNoticeToImproveRequest {
                    parent,
                    ..Default::default()
                })
                .await,
        ),
        "IssuePenaltyNotice" => code(
            who.notices()
                .issue_penalty_notice(pb::IssuePenaltyNoticeRequest {
                    parent,
                    ..Default::default()
                })
                .await,
        ),
        "GetNotice" => code(
            who.notices()
                .get_notice(pb::GetNoticeRequest { name: notice })
                .await,
        ),
        "ListNotices" => code(
            who.notices()
                .list_notices(pb::ListNoticesRequest {
                    parent,
                    school_urn: "116439".into(),
                    ..Default::default()
                })
                .await,
        ),
        "WithdrawNotice" => code(
            who.notices()
                .withdraw_notice(pb::WithdrawNoticeRequest {
                    name: notice,
                    ..Default::default()
                })
                .await,
        ),
        "RecordProsecutionOutcome" => code(
            who.notices()
                .record_prosecution_outcome(pb::RecordProsecutionOutcomeRequest {
                    name: notice,
                    ..Default::default()
                })
                .await,
        ),
        "ListNoticeEvents" => code(
            who.notices()
                .list_notice_events(pb::ListNoticeEventsRequest {
                    parent: notice,
                    ..Default::default()
                })
                .await,
        ),
        "RequestPenaltyNotice" => code(
            who.notices()
                .request_penalty_notice(pb::RequestPenaltyNoticeRequest {
                    parent,
                    upn: upn(1),
                    school_urn: SCHOOL.into(),
                    ..Default::default()
                })
                .await,
        ),
        "ListPenaltyNoticeRequests" => code(
            who.notices()
                .list_penalty_notice_requests(pb::ListPenaltyNoticeRequestsRequest {
                    parent,
                    ..Default::default()
                })
                .await,
        ),
        "DeclinePenaltyNoticeRequest" => code(
            who.notices()
                .decline_penalty_notice_request(pb::DeclinePenaltyNoticeRequestRequest {
                    name: format!("authorities/{la}/penaltyNoticeRequests/1"),
                    ..Default::default()
                })
                .await,
        ),
        "RecordPayment" => code(
            who.payments()
                .record_payment(pb::RecordPaymentRequest {
                    parent,
                    payment: None,
                })
                .await,
        ),
        "AllocatePayment" => code(
            who.payments()
                .allocate_payment(pb::AllocatePaymentRequest {
                    name: payment,
                    ..Default::default()
                })
                .await,
        ),
        "RecordRefund" => code(
            who.payments()
                .record_refund(pb::RecordRefundRequest {
                    name: payment,
                    refund: None,
                })
                .await,
        ),
        "GetAmountDue" => code(
            who.payments()
                .get_amount_due(pb::GetAmountDueRequest {
                    name: notice,
                    date: on,
                })
                .await,
        ),
        "ListPayments" => code(
            who.payments()
                .list_payments(pb::ListPaymentsRequest {
                    parent,
                    ..Default::default()
                })
                .await,
        ),
        "ListAuditEvents" => code(
            who.audit()
                .list_audit_events(pb::ListAuditEventsRequest {
                    parent,
                    ..Default::default()
                })
                .await,
        ),
        "CreateAuditCheckpoint" => code(
            who.audit()
                .create_audit_checkpoint(pb::CreateAuditCheckpointRequest { parent })
                .await,
        ),
        "VerifyAuditTrail" => code(
            who.audit()
                .verify_audit_trail(pb::VerifyAuditTrailRequest {
                    parent,
                    ..Default::default()
                })
                .await,
        ),
        "GetStatutoryReturn" => code(
            who.reports()
                .get_statutory_return(pb::GetStatutoryReturnRequest {
                    parent,
                    academic_year_start: 2024,
                    as_of_date: None,
                })
                .await,
        ),
        "ImportSchools" => code(
            who.schools()
                .import_schools(pb::ImportSchoolsRequest {
                    parent,
                    ..Default::default()
                })
                .await,
        ),
        "GetSchool" => code(
            who.schools()
                .get_school(pb::GetSchoolRequest {
                    name: format!("authorities/{la}/schools/{SCHOOL}"),
                    version: 0,
                })
                .await,
        ),
        "ListSchools" => code(
            who.schools()
                .list_schools(pb::ListSchoolsRequest {
                    parent,
                    ..Default::default()
                })
                .await,
        ),
        "CreateAuthoritySettings" => code(
            who.policy()
                .create_authority_settings(pb::CreateAuthoritySettingsRequest {
                    parent,
                    ..Default::default()
                })
                .await,
        ),
        "GetAuthoritySettings" => code(
            who.policy()
                .get_authority_settings(pb::GetAuthoritySettingsRequest { parent, date: on })
                .await,
        ),
        "CreateSharingAgreementVersion" => code(
            who.policy()
                .create_sharing_agreement_version(pb::CreateSharingAgreementVersionRequest {
                    parent,
                    ..Default::default()
                })
                .await,
        ),
        "GetSharingAgreement" => code(
            who.policy()
                .get_sharing_agreement(pb::GetSharingAgreementRequest { parent, date: on })
                .await,
        ),
        "CreateRetentionPolicyVersion" => code(
            who.policy()
                .create_retention_policy_version(pb::CreateRetentionPolicyVersionRequest {
                    parent,
                    ..Default::default()
                })
                .await,
        ),
        "GetRetentionPolicy" => code(
            who.policy()
                .get_retention_policy(pb::GetRetentionPolicyRequest { parent, date: on })
                .await,
        ),
        "RenderNotice" => code(
            who.notices()
                .render_notice(pb::RenderNoticeRequest { name: notice })
                .await,
        ),
        "ListActions" => code(
            who.worklist()
                .list_actions(pb::ListActionsRequest {
                    parent,
                    ..Default::default()
                })
                .await,
        ),
        "OpenCase" => code(
            who.measures()
                .open_case(pb::OpenCaseRequest {
                    parent,
                    ..Default::default()
                })
                .await,
        ),
        "RecordCaseEvent" => code(
            who.measures()
                .record_case_event(pb::RecordCaseEventRequest {
                    name: case,
                    ..Default::default()
                })
                .await,
        ),
        "GetCase" => code(
            who.measures()
                .get_case(pb::GetCaseRequest { name: case })
                .await,
        ),
        "ListCases" => code(
            who.measures()
                .list_cases(pb::ListCasesRequest {
                    parent,
                    school_urn: SCHOOL.into(),
                    ..Default::default()
                })
                .await,
        ),
        "ListCaseEvents" => code(
            who.measures()
                .list_case_events(pb::ListCaseEventsRequest {
                    name: case,
                    ..Default::default()
                })
                .await,
        ),
        "RenderProsecutionFile" => code(
            who.measures()
                .render_prosecution_file(pb::RenderProsecutionFileRequest { name: case })
                .await,
        ),
        "WatchEvents" => {
            let answers = who
                .events()
                .watch_events(pb::WatchEventsRequest {
                    parent,
                    stop_when_caught_up: true,
                    ..Default::default()
                })
                .await;
            match answers {
                Ok(answers) => {
                    let mut answers = answers.into_inner();
                    loop {
                        match answers.message().await {
                            Ok(Some(_)) => continue,
                            Ok(None) => break Code::Ok,
                            Err(status) => break status.code(),
                        }
                    }
                }
                Err(status) => status.code(),
            }
        }
        "ListAccessEvents" => code(
            who.data_protection()
                .list_access_events(pb::ListAccessEventsRequest {
                    parent,
                    ..Default::default()
                })
                .await,
        ),
        "ExportSubjectData" => {
            let answers = who
                .data_protection()
                .export_subject_data(pb::ExportSubjectDataRequest {
                    parent,
                    upn: upn(1),
                    ..Default::default()
                })
                .await;
            match answers {
                Ok(answers) => {
                    let mut answers = answers.into_inner();
                    loop {
                        match answers.message().await {
                            Ok(Some(_)) => continue,
                            Ok(None) => break Code::Ok,
                            Err(status) => break status.code(),
                        }
                    }
                }
                Err(status) => status.code(),
            }
        }
        "RectifyPersonalDetails" => code(
            who.data_protection()
                .rectify_personal_details(pb::RectifyPersonalDetailsRequest {
                    parent,
                    person_id: "mum".into(),
                    ..Default::default()
                })
                .await,
        ),
        other => panic!("no call for {other}"),
    }
}

/// A notice (`{la}-2025-000001`), a payment (`{la}-PAY-000001`) and a week of
/// register marks in both authorities.
async fn fixtures(app: &TestApp) {
    for la in ["850", "852"] {
        let mut marks = batch("fixture-marks", week(SCHOOL, 1, d(2025, 1, 6), "O", &[]));
        marks.parent = format!("authorities/{la}");
        record(&app.as_role(la, Role::LaOfficer), vec![marks])
            .await
            .unwrap();
        app.as_role(la, Role::LaOfficer)
            .schools()
            .import_schools(pb::ImportSchoolsRequest {
                parent: format!("authorities/{la}"),
                request_id: "fixture-school".into(),
                schools: vec![pb::School {
                    urn: SCHOOL.into(),
                    la_code: la.into(),
                    establishment_name: "Fixture School".into(),
                    status: pb::SchoolStatus::Open as i32,
                    ..Default::default()
                }],
            })
            .await
            .unwrap();
        // The letter settings RenderNotice prints.
        app.as_role(la, Role::Admin)
            .policy()
            .create_authority_settings(pb::CreateAuthoritySettingsRequest {
                parent: format!("authorities/{la}"),
                request_id: "fixture-settings".into(),
                settings: Some(pb::AuthoritySettings {
                    effective_from: date(2024, 9, 1),
                    authority_name: format!("Authority {la}"),
                    address: Some(pb::PostalAddress {
                        lines: vec!["1 Council Street".into()],
                        postcode: "SO23 8UG".into(),
                    }),
                    payment_url: "https://pay.example.gov.uk".into(),
                    payment_telephone: "0300 555 0000".into(),
                    questions_contact: "the attendance team".into(),
                    ..Default::default()
                }),
            })
            .await
            .unwrap();
        // The week after the registers held: the claims rest on themselves.
        let mut p = Penalty::holiday(1, &["mum"], d(2025, 1, 13), d(2025, 2, 3));
        p.la = la;
        let notice = app
            .as_role(la, Role::LaOfficer)
            .notices()
            .issue_penalty_notice(p.request("fixture"))
            .await
            .unwrap()
            .into_inner()
            .notices
            .remove(0);
        assert_eq!(notice.notice_number, format!("{la}-2025-000001"));
        let payment = app
            .as_role(la, Role::Finance)
            .payments()
            .record_payment(pb::RecordPaymentRequest {
                parent: format!("authorities/{la}"),
                payment: Some(pb::Payment {
                    amount_pence: 8_000,
                    paid_date: date(2025, 2, 10),
                    receive_time: Some(prost_types::Timestamp {
                        seconds: 1_739_180_000,
                        nanos: 0,
                    }),
                    channel: pb::PaymentChannel::Online as i32,
                    provider: "govuk-pay".into(),
                    provider_payment_id: "fixture".into(),
                    payer_reference: notice.notice_number.clone(),
                    ..Default::default()
                }),
            })
            .await
            .unwrap()
            .into_inner()
            .payment
            .unwrap();
        assert_eq!(
            payment.name,
            format!("authorities/{la}/payments/{la}-PAY-000001")
        );
        // An attendance contract at the fixture school (`{la}` case 1).
        let case = app
            .as_role(la, Role::LaOfficer)
            .measures()
            .open_case(pb::OpenCaseRequest {
                parent: format!("authorities/{la}"),
                request_id: "fixture-case".into(),
                kind: pb::MeasureKind::AttendanceContract as i32,
                upn: upn(1),
                school_urn: SCHOOL.into(),
                parents: vec![pb::CaseParent {
                    person_id: "mum".into(),
                    given_name: "Jo".into(),
                    family_name: "Taylor".into(),
                }],
                opened_on: date(2025, 2, 3),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .measure_case
            .unwrap();
        assert_eq!(case.name, format!("authorities/{la}/cases/1"));
    }
}

on_both_backends! {
    async fn every_rpc_with_every_role_in_both_authorities(app) {
        fixtures(&app).await;
        let mut wrong = Vec::new();
        for role in Role::ALL {
            let who = app.as_role("850", role);
            for method in METHODS {
                for (la, own) in [("850", true), ("852", false)] {
                    let got = call(&who, method, la).await;
                    let want = expected(method, role, own);
                    if got != want {
                        wrong.push(format!("{} {method} on {la}: got {got:?}, want {want:?}", role.as_str()));
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        // And nothing in the other authority changed hands: its fixtures are as created.
        let hampshire_view = app.as_role("852", Role::Auditor).payments().list_payments(pb::ListPaymentsRequest { parent: "authorities/852".into(), ..Default::default() }).await.unwrap().into_inner();
        assert_eq!(hampshire_view.payments.len(), 1);
    }

    async fn school_staff_act_only_for_their_own_schools(app) {
        fixtures(&app).await;
        let head = app.as_role("850", Role::SchoolStaff); // school 116439
        let mut elsewhere = Penalty::holiday(2, &["dad"], d(2025, 1, 6), d(2025, 2, 3)).request("x");
        elsewhere.pupil.as_mut().unwrap().school_urn = "116440".into();
        elsewhere.issuer.as_mut().unwrap().role = pb::IssuerRole::Unspecified as i32;
        assert_eq!(head.notices().issue_penalty_notice(elsewhere).await.unwrap_err().code(), Code::PermissionDenied);
        let listing = head.notices().list_notices(pb::ListNoticesRequest { parent: "authorities/850".into(), school_urn: "116440".into(), ..Default::default() }).await;
        assert_eq!(listing.unwrap_err().code(), Code::PermissionDenied);
        let own = head.notices().list_notices(pb::ListNoticesRequest { parent: "authorities/850".into(), school_urn: "116439".into(), ..Default::default() }).await.unwrap().into_inner();
        assert_eq!(own.notices.len(), 1);

        // A constable sees the notices they issued, and only those.
        let police = app.as_role("850", Role::Police);
        let mut theirs = Penalty::holiday(3, &["gran"], d(2025, 1, 13), d(2025, 2, 3)).request("police-1");
        theirs.issuer.as_mut().unwrap().role = pb::IssuerRole::Police as i32;
        let issued = police.notices().issue_penalty_notice(theirs).await.unwrap().into_inner().notices.remove(0);
        assert_eq!(issued.issuer.as_ref().unwrap().subject, "police@850");
        let listed = police.notices().list_notices(pb::ListNoticesRequest { parent: "authorities/850".into(), ..Default::default() }).await.unwrap().into_inner();
        assert_eq!(listed.notices.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(), [issued.name.as_str()]);
        police.notices().get_notice(pb::GetNoticeRequest { name: issued.name }).await.unwrap();
    }
}

#[tokio::test]
async fn refused_tokens_are_unauthenticated_without_saying_why() {
    let app = TestApp::spawn(lea_notices::store::Backend::Sqlite).await;
    let la = LaCode::parse("850").unwrap();
    let claims = |iss: &str, aud: &str, ttl_minutes: i64| {
        auth::claims(
            "mallory",
            &la,
            Role::Admin,
            &[],
            (iss, aud),
            chrono::Duration::minutes(ttl_minutes),
            chrono::Utc::now(),
        )
    };
    let other_dir = tempfile::tempdir().unwrap();
    let other_key = DevKey::load_or_create(other_dir.path()).unwrap();
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let alg_none = format!(
        "{}.{}.",
        b64(&serde_json::json!({"alg": "none", "typ": "JWT"})),
        b64(&serde_json::to_value(claims(ISSUER, AUDIENCE, 10)).unwrap())
    );
    let now = chrono::Utc::now().timestamp();
    let shifted = |nbf: Option<i64>, iat: i64| auth::Claims {
        nbf,
        iat,
        ..claims(ISSUER, AUDIENCE, 120)
    };
    // Signed correctly, but asking the verifier to understand a header extension.
    let mut critical = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    critical.crit = Some(vec!["lea-delegation".into()]);
    critical.extras.insert("lea-delegation", "officer.jones");
    let tokens = [
        ("expired", app.key.sign(&claims(ISSUER, AUDIENCE, -10))),
        (
            "not valid for an hour",
            app.key.sign(&shifted(Some(now + 3600), now)),
        ),
        (
            "issued an hour from now",
            app.key.sign(&shifted(None, now + 3600)),
        ),
        (
            "unknown crit",
            app.key
                .sign_with_header(&critical, &claims(ISSUER, AUDIENCE, 10)),
        ),
        (
            "wrong issuer",
            app.key.sign(&claims("someone-else", AUDIENCE, 10)),
        ),
        (
            "wrong audience",
            app.key.sign(&claims(ISSUER, "another-service", 10)),
        ),
        ("wrong key", other_key.sign(&claims(ISSUER, AUDIENCE, 10))),
        ("alg none", alg_none),
        ("garbage", "not-a-jwt".to_string()),
    ];
    let request = || pb::GetPolicyRequest {
        parent: "authorities/850".into(),
        date: date(2025, 2, 10),
    };
    for (what, token) in &tokens {
        let status = app
            .with_token(token)
            .policy()
            .get_policy(request())
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{what}");
        assert_eq!(status.message(), "the bearer token is not valid", "{what}");
    }
    let anonymous = lea_notices::proto::v1::policy_service_client::PolicyServiceClient::new(
        app.channel.clone(),
    );
    assert_eq!(
        anonymous
            .clone()
            .get_policy(request())
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    // The same claims, properly signed, are accepted; so is a token whose nbf
    // and iat are a few seconds ahead, within the leeway for clock skew.
    let accepted = [
        ("normal", app.key.sign(&claims(ISSUER, AUDIENCE, 10))),
        (
            "nbf 10 s ahead",
            app.key.sign(&shifted(Some(now + 10), now + 10)),
        ),
    ];
    for (what, token) in &accepted {
        app.with_token(token)
            .policy()
            .get_policy(request())
            .await
            .unwrap_or_else(|e| panic!("{what}: {e:?}"));
    }
}
