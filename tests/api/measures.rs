//! The other measures as cases (MeasureService): each lifecycle, a
//! prosecution from referral to outcome, no referral of a paid notice, and
//! money after referral stopping the case until an officer decides
//! (docs/measures.md).

use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use tonic::Code;

use crate::helpers::attendance::{SCHOOL, batch, first, record as record_marks, week};
use crate::helpers::notices::{Penalty, d, issue, proto_date, upn};
use crate::helpers::payments::{pay, payment};
use crate::helpers::{As, TestApp, broken_rules, on_both_backends, violated_fields};

const NOTICE: &str = "authorities/850/notices/850-2025-000001";

fn officer(app: &TestApp) -> As {
    app.as_role("850", Role::LaOfficer)
}

/// A penalty notice to "mum" for pupil 1, received 3 Feb 2025 by hand: lower
/// £80 to 23 Feb, higher £160 to 2 Mar.
async fn notice(app: &TestApp) -> String {
    app.clock.set_day(d(2025, 2, 3));
    let p = Penalty::holiday(1, &["mum"], d(2025, 1, 6), d(2025, 2, 3));
    issue(app, p.request("issue-1"))
        .await
        .unwrap()
        .remove(0)
        .name
}

fn opening(kind: pb::MeasureKind, request_id: &str, on: chrono::NaiveDate) -> pb::OpenCaseRequest {
    pb::OpenCaseRequest {
        parent: "authorities/850".into(),
        request_id: request_id.into(),
        kind: kind as i32,
        upn: upn(1),
        school_urn: "116439".into(),
        parents: vec![pb::CaseParent {
            person_id: "mum".into(),
            given_name: "Jo".into(),
            family_name: "Taylor".into(),
        }],
        follows: vec![],
        opened_on: proto_date(on),
        ..Default::default()
    }
}

fn referral(request_id: &str, on: chrono::NaiveDate) -> pb::OpenCaseRequest {
    pb::OpenCaseRequest {
        parents: vec![],
        follows: vec![NOTICE.into()],
        section: pb::ProsecutionSection::S4441 as i32,
        ..opening(pb::MeasureKind::Prosecution, request_id, on)
    }
}

async fn open(who: &As, request: pb::OpenCaseRequest) -> Result<pb::MeasureCase, tonic::Status> {
    who.measures()
        .open_case(request)
        .await
        .map(|r| r.into_inner().measure_case.unwrap())
}

fn event(kind: pb::CaseEventKind, on: chrono::NaiveDate) -> pb::CaseEventDetails {
    pb::CaseEventDetails {
        kind: kind as i32,
        date: proto_date(on),
        ..Default::default()
    }
}

async fn record(
    who: &As,
    case: &str,
    request_id: &str,
    details: pb::CaseEventDetails,
) -> Result<pb::MeasureCase, tonic::Status> {
    who.measures()
        .record_case_event(pb::RecordCaseEventRequest {
            name: case.into(),
            request_id: request_id.into(),
            event: Some(details),
        })
        .await
        .map(|r| r.into_inner().measure_case.unwrap())
}

async fn get(who: &As, case: &str) -> Result<pb::MeasureCase, tonic::Status> {
    who.measures()
        .get_case(pb::GetCaseRequest { name: case.into() })
        .await
        .map(|r| r.into_inner().measure_case.unwrap())
}

fn state(c: &pb::MeasureCase) -> pb::CaseState {
    pb::CaseState::try_from(c.state).unwrap()
}

async fn event_kinds(who: &As, case: &str) -> Vec<pb::CaseEventKind> {
    who.measures()
        .list_case_events(pb::ListCaseEventsRequest {
            name: case.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events
        .iter()
        .map(|e| pb::CaseEventKind::try_from(e.details.as_ref().unwrap().kind).unwrap())
        .collect()
}

fn hearing(on: chrono::NaiveDate) -> pb::CaseEventDetails {
    pb::CaseEventDetails {
        court: "Basingstoke Magistrates' Court".into(),
        hearing_date: proto_date(d(2025, 4, 14)),
        ..event(pb::CaseEventKind::HearingListed, on)
    }
}

fn plea(on: chrono::NaiveDate) -> pb::CaseEventDetails {
    pb::CaseEventDetails {
        plea: pb::Plea::Guilty as i32,
        ..event(pb::CaseEventKind::PleaEntered, on)
    }
}

async fn audited(app: &TestApp, resource: &str) -> Vec<(String, String)> {
    let la = lea_notices::domain::identifiers::LaCode::parse("850").unwrap();
    app.audit_events(&la, Some(resource), 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.request_id))
        .collect()
}

on_both_backends! {
    async fn each_measure_has_its_lifecycle(app) {
        app.clock.set_day(d(2025, 3, 3));
        let o = officer(&app);
        use pb::CaseEventKind as E;
        // Attendance contract: offered, accepted, ended as broken.
        let contract = open(&o, opening(pb::MeasureKind::AttendanceContract, "c-1", d(2025, 3, 3))).await.unwrap();
        assert_eq!(contract.name, "authorities/850/cases/1");
        assert_eq!(state(&contract), pb::CaseState::Offered);
        assert_eq!(contract.parents[0].given_name, "Jo");
        let accepted = record(&o, &contract.name, "c-2", event(E::Accepted, d(2025, 3, 4))).await.unwrap();
        assert_eq!(state(&accepted), pb::CaseState::Accepted);
        let again = record(&o, &contract.name, "c-3", event(E::Declined, d(2025, 3, 5))).await.unwrap_err();
        assert_eq!(broken_rules(&again), ["CASE_EVENT_NOT_ALLOWED"]);
        let expired = pb::CaseEventDetails { end_reason: pb::CaseEndReason::Expired as i32, ..event(E::Ended, d(2025, 6, 1)) };
        assert_eq!(broken_rules(&record(&o, &contract.name, "c-4", expired).await.unwrap_err()), ["END_REASON_NOT_FOR_KIND"]);
        let broken = pb::CaseEventDetails { end_reason: pb::CaseEndReason::Broken as i32, ..event(E::Ended, d(2025, 6, 1)) };
        let ended = record(&o, &contract.name, "c-5", broken).await.unwrap();
        assert_eq!((state(&ended), ended.end_reason), (pb::CaseState::Ended, pb::CaseEndReason::Broken as i32));
        assert_eq!(ended.closed_on, proto_date(d(2025, 6, 1)));
        assert_eq!(event_kinds(&o, &contract.name).await, [E::Opened, E::Accepted, E::Ended]);
        assert_eq!(
            audited(&app, &contract.name).await.into_iter().map(|(a, _)| a).collect::<Vec<_>>(),
            ["measure.case_opened", "measure.accepted", "measure.ended"]
        );
        // Officers follow them on the event feed (finance does not see them).
        let feed = |who: As| async move {
            let mut stream = who.events()
                .watch_events(pb::WatchEventsRequest {
                    parent: "authorities/850".into(),
                    event_types: vec!["uk.gov.lea-notices.v1.measure".into()],
                    stop_when_caught_up: true,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            let mut types = Vec::new();
            while let Some(page) = stream.message().await.unwrap() {
                types.extend(page.events.into_iter().map(|e| (e.r#type, e.subject)));
            }
            types
        };
        assert_eq!(
            feed(officer(&app)).await,
            [
                ("uk.gov.lea-notices.v1.measure.case_opened".to_string(), contract.name.clone()),
                ("uk.gov.lea-notices.v1.measure.accepted".to_string(), contract.name.clone()),
                ("uk.gov.lea-notices.v1.measure.ended".to_string(), contract.name.clone()),
            ]
        );
        assert!(feed(app.as_role("850", Role::Finance)).await.is_empty());
        // An event before the case opened is refused.
        let early = record(&o, &contract.name, "c-6", event(E::Accepted, d(2025, 3, 1))).await.unwrap_err();
        assert_eq!(broken_rules(&early), ["EVENT_BEFORE_OPENING"]);

        // Education supervision order: applied, refused; another applied, made, expired.
        let refused = open(&o, opening(pb::MeasureKind::EducationSupervisionOrder, "e-1", d(2025, 3, 3))).await.unwrap();
        assert_eq!(state(&refused), pb::CaseState::Applied);
        assert_eq!(state(&record(&o, &refused.name, "e-2", event(E::Refused, d(2025, 4, 1))).await.unwrap()), pb::CaseState::Refused);
        let eso = open(&o, opening(pb::MeasureKind::EducationSupervisionOrder, "e-3", d(2025, 3, 3))).await.unwrap();
        assert_eq!(state(&record(&o, &eso.name, "e-4", event(E::Made, d(2025, 4, 1))).await.unwrap()), pb::CaseState::Made);
        let expired = pb::CaseEventDetails { end_reason: pb::CaseEndReason::Expired as i32, ..event(E::Ended, d(2026, 4, 1)) };
        assert_eq!(state(&record(&o, &eso.name, "e-5", expired).await.unwrap()), pb::CaseState::Ended);

        // Parenting order (free-standing): made, discharged; needs its basis.
        let no_basis = open(&o, opening(pb::MeasureKind::ParentingOrder, "p-0", d(2025, 3, 3))).await.unwrap_err();
        assert_eq!(violated_fields(&no_basis), ["order_basis"]);
        let po = open(&o, pb::OpenCaseRequest {
            order_basis: pb::ParentingOrderBasis::FreeStanding as i32,
            ..opening(pb::MeasureKind::ParentingOrder, "p-1", d(2025, 3, 3))
        }).await.unwrap();
        assert_eq!(state(&po), pb::CaseState::Made);
        assert_eq!(broken_rules(&record(&o, &po.name, "p-2", event(E::Made, d(2025, 3, 4))).await.unwrap_err()), ["CASE_EVENT_NOT_ALLOWED"]);
        let discharged = pb::CaseEventDetails { end_reason: pb::CaseEndReason::Discharged as i32, ..event(E::Ended, d(2025, 9, 1)) };
        assert_eq!(state(&record(&o, &po.name, "p-3", discharged).await.unwrap()), pb::CaseState::Ended);

        // Listing by kind and state.
        let listed = o.measures().list_cases(pb::ListCasesRequest {
            parent: "authorities/850".into(),
            kind: pb::MeasureKind::EducationSupervisionOrder as i32,
            ..Default::default()
        }).await.unwrap().into_inner();
        assert_eq!(listed.cases.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), [refused.name.as_str(), eso.name.as_str()]);
        let ended = o.measures().list_cases(pb::ListCasesRequest {
            parent: "authorities/850".into(),
            state: pb::CaseState::Ended as i32,
            upn: upn(1),
            page_size: 2,
            ..Default::default()
        }).await.unwrap().into_inner();
        assert_eq!(ended.cases.len(), 2);
        let rest = o.measures().list_cases(pb::ListCasesRequest {
            parent: "authorities/850".into(),
            state: pb::CaseState::Ended as i32,
            upn: upn(1),
            page_size: 2,
            page_token: ended.next_page_token.clone(),
            ..Default::default()
        }).await.unwrap().into_inner();
        assert_eq!(rest.cases.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), [po.name.as_str()]);
        assert!(rest.next_page_token.is_empty());
    }

    async fn a_prosecution_goes_from_referral_to_outcome_with_a_parenting_order(app) {
        let notice = notice(&app).await;
        assert_eq!(notice, NOTICE);
        app.clock.set_day(d(2025, 3, 10));
        let o = officer(&app);
        use pb::CaseEventKind as E;
        let case = open(&o, referral("ref-1", d(2025, 3, 10))).await.unwrap();
        assert_eq!(state(&case), pb::CaseState::Referred);
        assert_eq!(case.follows, [NOTICE]);
        assert_eq!(case.section, pb::ProsecutionSection::S4441 as i32);
        // The parent as on the notice.
        assert_eq!((case.parents[0].person_id.as_str(), case.parents[0].family_name.as_str()), ("mum", "Taylor"));
        assert_eq!(broken_rules(&record(&o, &case.name, "r-0", plea(d(2025, 3, 11))).await.unwrap_err()), ["CASE_EVENT_NOT_ALLOWED"]);
        let listed = record(&o, &case.name, "r-1", hearing(d(2025, 3, 11))).await.unwrap();
        assert_eq!(state(&listed), pb::CaseState::HearingListed);
        assert_eq!((listed.court.as_str(), listed.hearing_date), ("Basingstoke Magistrates' Court", proto_date(d(2025, 4, 14))));
        assert_eq!(state(&record(&o, &case.name, "r-2", plea(d(2025, 4, 14))).await.unwrap()), pb::CaseState::Pleaded);
        let outcome = |fine_pence| pb::CaseEventDetails {
            outcome: Some(pb::CaseOutcome {
                disposal: pb::Disposal::Fine as i32,
                fine_pence,
                costs_pence: 15_000,
                parenting_order: true,
            }),
            ..event(E::OutcomeRecorded, d(2025, 4, 14))
        };
        assert_eq!(broken_rules(&record(&o, &case.name, "r-3", outcome(0)).await.unwrap_err()), ["FINE_AMOUNT"]);
        let decided = record(&o, &case.name, "r-4", outcome(22_000)).await.unwrap();
        assert_eq!(state(&decided), pb::CaseState::OutcomeRecorded);
        let o_ = decided.outcome.as_ref().unwrap();
        assert_eq!((o_.fine_pence, o_.costs_pence, o_.parenting_order), (22_000, 15_000, true));
        // The parenting order the court made is a case of its own.
        assert_eq!(decided.parenting_order_case, "authorities/850/cases/2");
        let order = get(&o, &decided.parenting_order_case).await.unwrap();
        assert_eq!(order.kind, pb::MeasureKind::ParentingOrder as i32);
        assert_eq!(state(&order), pb::CaseState::Made);
        assert_eq!(order.order_basis, pb::ParentingOrderBasis::OnConviction as i32);
        assert_eq!(order.prosecution_case, case.name);
        assert_eq!(order.follows, [case.name.as_str(), NOTICE]);
        assert_eq!(order.parents, case.parents);
        assert_eq!(
            audited(&app, &order.name).await,
            [("measure.case_opened".to_string(), "r-4".to_string())],
            "in the outcome's transaction"
        );
        // Appeal.
        let lodged = record(&o, &case.name, "r-5", event(E::AppealLodged, d(2025, 4, 20))).await.unwrap();
        assert_eq!(state(&lodged), pb::CaseState::AppealLodged);
        let result = pb::CaseEventDetails { appeal_result: pb::AppealResult::Dismissed as i32, ..event(E::AppealDecided, d(2025, 6, 2)) };
        let done = record(&o, &case.name, "r-6", result).await.unwrap();
        assert_eq!(state(&done), pb::CaseState::AppealDecided);
        assert_eq!(
            event_kinds(&o, &case.name).await,
            [E::Opened, E::HearingListed, E::PleaEntered, E::OutcomeRecorded, E::AppealLodged, E::AppealDecided]
        );
        let prosecutions = o.measures().list_cases(pb::ListCasesRequest {
            parent: "authorities/850".into(),
            kind: pb::MeasureKind::Prosecution as i32,
            upn: upn(1),
            ..Default::default()
        }).await.unwrap().into_inner();
        assert_eq!(prosecutions.cases.len(), 1);
    }

    async fn a_paid_notice_is_not_referred_nor_one_still_payable(app) {
        notice(&app).await;
        let o = officer(&app);
        app.clock.set_day(d(2025, 2, 20));
        let early = open(&o, referral("early", d(2025, 2, 20))).await.unwrap_err();
        assert_eq!(broken_rules(&early), ["NOTICE_NOT_YET_UNPAID"]);
        // Paid in full at the lower rate.
        pay(&app, payment("850", "pay-1", 8_000, d(2025, 2, 10), "850-2025-000001", &[])).await;
        app.clock.set_day(d(2025, 3, 10));
        let refused = open(&o, referral("paid", d(2025, 3, 10))).await.unwrap_err();
        assert_eq!(broken_rules(&refused), ["NOTICE_PAID"]);
        assert!(refused.message().contains("discharges liability"), "{}", refused.message());
        // Nothing was opened.
        let listed = o.measures().list_cases(pb::ListCasesRequest { parent: "authorities/850".into(), ..Default::default() }).await.unwrap();
        assert!(listed.into_inner().cases.is_empty());
        // A notice that does not exist is an invalid argument; another pupil's a broken rule.
        let missing = pb::OpenCaseRequest { follows: vec!["authorities/850/notices/850-2025-000099".into()], ..referral("missing", d(2025, 3, 10)) };
        assert_eq!(violated_fields(&open(&o, missing).await.unwrap_err()), ["follows[0]"]);
        let other = pb::OpenCaseRequest { upn: upn(2), ..referral("other", d(2025, 3, 10)) };
        assert_eq!(broken_rules(&open(&o, other).await.unwrap_err()), ["NOTICE_FOR_ANOTHER_PUPIL", "NOTICE_PAID"]);
    }

    async fn money_after_referral_blocks_the_case_until_an_officer_decides(app) {
        notice(&app).await;
        app.clock.set_day(d(2025, 3, 10));
        let o = officer(&app);
        use pb::CaseEventKind as E;
        let case = open(&o, referral("ref-1", d(2025, 3, 10))).await.unwrap();
        record(&o, &case.name, "r-1", hearing(d(2025, 3, 11))).await.unwrap();
        // The parent pays the higher amount late, quoting the notice.
        app.clock.set_day(d(2025, 3, 12));
        let paid = pay(&app, payment("850", "late-1", 16_000, d(2025, 3, 12), "850-2025-000001", &[])).await;
        let blocked = get(&o, &case.name).await.unwrap();
        assert_eq!(state(&blocked), pb::CaseState::BlockedByPayment);
        assert_eq!(blocked.resume_state, pb::CaseState::HearingListed as i32);
        let events = o.measures().list_case_events(pb::ListCaseEventsRequest { name: case.name.clone(), ..Default::default() }).await.unwrap().into_inner().events;
        let last = events.last().unwrap();
        let details = last.details.as_ref().unwrap();
        assert_eq!(details.kind, E::BlockedByPayment as i32);
        assert_eq!((details.payment.as_str(), details.amount_pence), (paid.name.as_str(), 16_000));
        assert_eq!(last.recorded_by, "finance@850");
        assert!(
            audited(&app, &case.name).await.contains(&("measure.blocked_by_payment".to_string(), "late-1".to_string())),
            "audited in the payment's transaction"
        );
        // Officers have it on their worklist, due from the day the money came.
        let blocked_items = |who: As| async move {
            who.worklist()
                .list_actions(pb::ListActionsRequest {
                    parent: "authorities/850".into(),
                    kinds: vec![pb::ActionKind::ProsecutionBlockedByPayment as i32],
                    ..Default::default()
                })
                .await
                .map(|r| r.into_inner().actions)
        };
        let items = blocked_items(officer(&app)).await.unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!((items[0].resource.as_str(), items[0].due_date, items[0].amount_pence), (case.name.as_str(), proto_date(d(2025, 3, 12)), 16_000));
        assert!(items[0].rule.starts_with("s444A Education Act 1996"), "{}", items[0].rule);
        assert_eq!(blocked_items(app.as_role("850", Role::Finance)).await.unwrap_err().code(), Code::PermissionDenied);
        // While blocked: no hearing, plea or outcome.
        for (id, e) in [("r-2", hearing(d(2025, 3, 13))), ("r-3", plea(d(2025, 3, 13)))] {
            let refused = record(&o, &case.name, id, e).await.unwrap_err();
            assert_eq!(broken_rules(&refused), ["PAYMENT_AFTER_REFERRAL"]);
        }
        // A decision needs its reason.
        let no_reason = pb::CaseEventDetails { payment_decision: pb::PaymentDecision::ProceedDespitePayment as i32, ..event(E::PaymentDecisionRecorded, d(2025, 3, 13)) };
        assert_eq!(violated_fields(&record(&o, &case.name, "r-4", no_reason).await.unwrap_err()), ["event.reason"]);
        let proceed = pb::CaseEventDetails {
            payment_decision: pb::PaymentDecision::ProceedDespitePayment as i32,
            reason: "paid after the higher period; the money is refunded".into(),
            ..event(E::PaymentDecisionRecorded, d(2025, 3, 13))
        };
        let resumed = record(&o, &case.name, "r-5", proceed).await.unwrap();
        assert_eq!(state(&resumed), pb::CaseState::HearingListed);
        assert!(blocked_items(officer(&app)).await.unwrap().is_empty(), "decided");
        assert_eq!(resumed.payment_decision, pb::PaymentDecision::ProceedDespitePayment as i32);
        assert_eq!(state(&record(&o, &case.name, "r-6", plea(d(2025, 4, 14))).await.unwrap()), pb::CaseState::Pleaded);

        // More money stops it again; this time the officer discontinues.
        app.clock.set_day(d(2025, 4, 15));
        pay(&app, payment("850", "late-2", 1_000, d(2025, 4, 15), "850-2025-000001", &[])).await;
        assert_eq!(state(&get(&o, &case.name).await.unwrap()), pb::CaseState::BlockedByPayment);
        let outcome = pb::CaseEventDetails {
            outcome: Some(pb::CaseOutcome { disposal: pb::Disposal::ConditionalDischarge as i32, ..Default::default() }),
            ..event(E::OutcomeRecorded, d(2025, 4, 16))
        };
        assert_eq!(broken_rules(&record(&o, &case.name, "r-7", outcome).await.unwrap_err()), ["PAYMENT_AFTER_REFERRAL"]);
        let stop = pb::CaseEventDetails {
            payment_decision: pb::PaymentDecision::Discontinue as i32,
            reason: "paid in full".into(),
            ..event(E::PaymentDecisionRecorded, d(2025, 4, 16))
        };
        let stopped = record(&o, &case.name, "r-8", stop).await.unwrap();
        assert_eq!(state(&stopped), pb::CaseState::Discontinued);
        // Money after that changes nothing.
        app.clock.set_day(d(2025, 4, 17));
        pay(&app, payment("850", "late-3", 500, d(2025, 4, 17), "850-2025-000001", &[])).await;
        assert_eq!(state(&get(&o, &case.name).await.unwrap()), pb::CaseState::Discontinued);
    }

    async fn retries_are_idempotent_and_cases_stay_in_their_authority_and_schools(app) {
        app.clock.set_day(d(2025, 3, 3));
        let o = officer(&app);
        let first = open(&o, opening(pb::MeasureKind::AttendanceContract, "c-1", d(2025, 3, 3))).await.unwrap();
        let retry = open(&o, opening(pb::MeasureKind::AttendanceContract, "c-1", d(2025, 3, 3))).await.unwrap();
        assert_eq!(retry.name, first.name);
        let reused = open(&o, opening(pb::MeasureKind::AttendanceContract, "c-1", d(2025, 3, 4))).await.unwrap_err();
        assert_eq!(reused.code(), Code::AlreadyExists);
        let accept = pb::CaseEventDetails { kind: pb::CaseEventKind::Accepted as i32, date: proto_date(d(2025, 3, 4)), ..Default::default() };
        let once = record(&o, &first.name, "a-1", accept.clone()).await.unwrap();
        let twice = record(&o, &first.name, "a-1", accept).await.unwrap();
        assert_eq!((once.version, twice.version), (2, 2));
        assert_eq!(event_kinds(&o, &first.name).await.len(), 2);
        let listed = o.measures().list_cases(pb::ListCasesRequest { parent: "authorities/850".into(), ..Default::default() }).await.unwrap();
        assert_eq!(listed.into_inner().cases.len(), 1);

        // Southampton sees nothing of Hampshire's cases.
        let other = app.as_role("852", Role::LaOfficer);
        assert_eq!(get(&other, &first.name).await.unwrap_err().code(), Code::NotFound);
        let declined = pb::CaseEventDetails { kind: pb::CaseEventKind::Declined as i32, date: proto_date(d(2025, 3, 4)), ..Default::default() };
        assert_eq!(record(&other, &first.name, "x", declined).await.unwrap_err().code(), Code::NotFound);
        let events = other.measures().list_case_events(pb::ListCaseEventsRequest { name: first.name.clone(), ..Default::default() }).await;
        assert_eq!(events.unwrap_err().code(), Code::NotFound);
        let theirs = other.measures().list_cases(pb::ListCasesRequest { parent: "authorities/852".into(), ..Default::default() }).await.unwrap();
        assert!(theirs.into_inner().cases.is_empty());
        assert_eq!(get(&o, "authorities/850/cases/99").await.unwrap_err().code(), Code::NotFound);

        // School staff read their own schools' cases, and only those.
        let elsewhere = open(&o, pb::OpenCaseRequest { school_urn: "116440".into(), ..opening(pb::MeasureKind::AttendanceContract, "c-2", d(2025, 3, 3)) }).await.unwrap();
        let head = app.as_role("850", Role::SchoolStaff);
        assert_eq!(get(&head, &first.name).await.unwrap().name, first.name);
        assert_eq!(get(&head, &elsewhere.name).await.unwrap_err().code(), Code::NotFound);
        let all = head.measures().list_cases(pb::ListCasesRequest { parent: "authorities/850".into(), ..Default::default() }).await;
        assert_eq!(all.unwrap_err().code(), Code::PermissionDenied);
        let own = head.measures().list_cases(pb::ListCasesRequest { parent: "authorities/850".into(), school_urn: "116439".into(), ..Default::default() }).await.unwrap();
        assert_eq!(own.into_inner().cases.len(), 1);
        assert_eq!(open(&head, opening(pb::MeasureKind::AttendanceContract, "c-3", d(2025, 3, 3))).await.unwrap_err().code(), Code::PermissionDenied);
        for role in [Role::Finance, Role::Police] {
            assert_eq!(get(&app.as_role("850", role), &first.name).await.unwrap_err().code(), Code::PermissionDenied, "{role:?}");
        }
        assert_eq!(get(&app.as_role("850", Role::Auditor), &first.name).await.unwrap().name, first.name);
    }

    async fn a_prosecution_file_carries_each_part(app) {
        // The registers hold the week of holiday the notice claims.
        app.clock.set_day(d(2025, 1, 13));
        let marks = week(SCHOOL, 1, d(2025, 1, 6), "G", &first(10));
        record_marks(&officer(&app), vec![batch("week-1", marks)]).await.unwrap();
        notice(&app).await;
        app.clock.set_day(d(2025, 3, 10));
        let o = officer(&app);
        use pb::CaseEventKind as E;
        let case = open(&o, referral("ref-1", d(2025, 3, 10))).await.unwrap();
        record(&o, &case.name, "r-1", hearing(d(2025, 3, 11))).await.unwrap();
        app.clock.set_day(d(2025, 3, 12));
        pay(&app, payment("850", "late-1", 16_000, d(2025, 3, 12), "850-2025-000001", &[])).await;
        let proceed = pb::CaseEventDetails {
            payment_decision: pb::PaymentDecision::ProceedDespitePayment as i32,
            reason: "paid after the period ended".into(),
            ..event(E::PaymentDecisionRecorded, d(2025, 3, 13))
        };
        record(&o, &case.name, "r-2", proceed).await.unwrap();
        app.clock.set_day(d(2025, 3, 14));
        let file = o.measures()
            .render_prosecution_file(pb::RenderProsecutionFileRequest { name: case.name.clone() })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(file.content_type, "application/pdf");
        assert!(file.page_count >= 1);
        let text = extracted_text(&file.content);
        for part in [
            "Prosecution file: case authorities/850/cases/1",
            // The chronology, from the notice and the case's events.
            "Chronology",
            "Monday 3 February 2025: Penalty notice 850-2025-000001 issued",
            "Monday 10 March 2025: Referred for prosecution under section 444(1) Education Act 1996",
            "Tuesday 11 March 2025: Hearing listed at Basingstoke Magistrates' Court on Monday 14 April 2025",
            "Wednesday 12 March 2025: £160.00 received on the notice after referral",
            "Thursday 13 March 2025: Decision to proceed despite the payment: paid after the period ended",
            // The register extract: school, date, session, code.
            "Register extract (exhibit 1)",
            "School 116439, Monday 6 January 2025, morning session: code G",
            "School 116439, Friday 10 January 2025, afternoon session: code G",
            // The notice and its service.
            "Penalty notice 850-2025-000001 to mum Taylor, issued Monday 3 February 2025, handed to the parent (served) on Monday 3 February 2025",
            // The payments.
            "Payments (exhibit 3)",
            "Wednesday 12 March 2025: £160.00 received (govuk-pay late-1), £160.00 to notice 850-2025-000001",
            // The statement with its s9 declaration.
            "Draft witness statement (Criminal Justice Act 1967, s9)",
            "Statement of: la_officer@850",
            "This statement is true to the best of my knowledge and belief and I make it knowing that, if it is tendered in evidence, I shall be liable to prosecution if I have wilfully stated in it anything which I know to be false, or do not believe to be true.",
        ] {
            assert!(text.contains(part), "the file lacks {part:?}:\n{text}");
        }
        assert!(!text.contains("no mark held"), "every session is backed by the register:\n{text}");
        // Only a prosecution has one, and only for those who read payments.
        let contract = open(&o, opening(pb::MeasureKind::AttendanceContract, "c-1", d(2025, 3, 14))).await.unwrap();
        let refused = o.measures().render_prosecution_file(pb::RenderProsecutionFileRequest { name: contract.name }).await.unwrap_err();
        assert_eq!(broken_rules(&refused), ["NOT_A_PROSECUTION"]);
        let head = app.as_role("850", Role::SchoolStaff);
        let denied = head.measures().render_prosecution_file(pb::RenderProsecutionFileRequest { name: case.name.clone() }).await.unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
    }
}

/// The PDF's text as `pdftotext` extracts it, every run of white space as one space.
fn extracted_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (Debian's poppler-utils)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
