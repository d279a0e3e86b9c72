//! Arbitrary requests through the limits, the conversions and the domain rules
//! they feed: whatever a client sends, the answer is a value or a violation,
//! never a panic.

use chrono::NaiveDate;
use proptest::prelude::*;
use proptest::strategy::ValueTree;

use super::attendance::{marks_batch, summary_request};
use super::data_protection::{access_page, export_subject};
use super::issuing::{notice_to_improve_request, penalty_request};
use super::measures::{
    case_events_query, case_query, open_case_request, record_case_event_request,
};
use super::notice::{prosecution_request, withdraw_request};
use super::payment::{new_payment, reallocation, refund};
use super::policy::new_version;
use super::school;
use super::worklist::actions_query;
use crate::api::layers::prewalk;
use crate::app::Caller;
use crate::domain::{
    actor::{Actor, Role},
    identifiers::LaCode,
    issuing,
    policy::{self, PolicySource, PolicyVersion},
};
use crate::proto::{Date, v1 as pb};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("authorities/850".to_string()),
        Just("authorities/850/notices/850-2027-000001".to_string()),
        Just("B801200005001".to_string()),
        Just("116439".to_string()),
        Just("G".to_string()),
        "[ -~]{0,12}",
        any::<String>(),
    ]
}

fn date() -> impl Strategy<Value = Option<Date>> {
    let year = prop_oneof![1990..2100i32, any::<i32>()];
    let month = prop_oneof![1..=12i32, any::<i32>()];
    let day = prop_oneof![1..=31i32, any::<i32>()];
    proptest::option::of((year, month, day).prop_map(|(year, month, day)| Date {
        year,
        month,
        day,
    }))
}

fn number() -> impl Strategy<Value = i64> {
    prop_oneof![0..20_000i64, any::<i64>()]
}

fn small() -> impl Strategy<Value = i32> {
    prop_oneof![0..60i32, any::<i32>()]
}

fn address() -> impl Strategy<Value = Option<pb::PostalAddress>> {
    proptest::option::of(
        (proptest::collection::vec(text(), 0..3), text())
            .prop_map(|(lines, postcode)| pb::PostalAddress { lines, postcode }),
    )
}

fn pupil() -> impl Strategy<Value = Option<pb::Pupil>> {
    proptest::option::of((text(), text(), text(), text(), address()).prop_map(
        |(upn, school_urn, given_name, family_name, address)| pb::Pupil {
            upn,
            school_urn,
            given_name,
            family_name,
            address,
        },
    ))
}

fn parents() -> impl Strategy<Value = Vec<pb::Parent>> {
    proptest::collection::vec(
        (text(), text(), text(), address()).prop_map(
            |(person_id, given_name, family_name, address)| pb::Parent {
                person_id,
                given_name,
                family_name,
                address,
                liability: None,
            },
        ),
        0..3,
    )
}

fn sessions() -> impl Strategy<Value = Vec<pb::SessionMark>> {
    proptest::collection::vec(
        (date(), small(), text()).prop_map(|(date, session, code)| pb::SessionMark {
            date,
            session,
            code,
        }),
        0..12,
    )
}

fn issuer() -> impl Strategy<Value = Option<pb::Issuer>> {
    proptest::option::of(
        (small(), text()).prop_map(|(role, display_name)| pb::Issuer {
            role,
            display_name,
            ..Default::default()
        }),
    )
}

fn delivery() -> impl Strategy<Value = Option<pb::Delivery>> {
    proptest::option::of(
        (small(), date()).prop_map(|(method, posting_date)| pb::Delivery {
            method,
            posting_date,
        }),
    )
}

fn penalty() -> impl Strategy<Value = pb::IssuePenaltyNoticeRequest> {
    (
        (text(), text(), pupil(), parents()),
        (small(), small(), text(), sessions()),
        (date(), issuer(), delivery()),
    )
        .prop_map(
            |(
                (parent, request_id, pupil, parents),
                (t, reason, description, sessions),
                (issue_date, issuer, delivery),
            )| {
                pb::IssuePenaltyNoticeRequest {
                    parent,
                    request_id,
                    pupil,
                    parents,
                    offence: Some(pb::Offence {
                        r#type: t,
                        reason,
                        description,
                    }),
                    sessions,
                    issue_date,
                    issuer,
                    delivery,
                    breach: None,
                    ..Default::default()
                }
            },
        )
}

/// Mostly `usual`, sometimes an edge of the bounds, sometimes anything.
fn near(usual: i64, edges: &'static [i64]) -> impl Strategy<Value = i64> {
    prop_oneof![
        12 => Just(usual),
        2 => proptest::sample::select(edges),
        1 => any::<i64>(),
    ]
}

fn near32(usual: i32, edges: &'static [i64]) -> impl Strategy<Value = i32> {
    near(i64::from(usual), edges).prop_map(|n| n as i32)
}

/// A local version near a valid one: most cases are valid with values at the
/// edges of the bounds, the ones that once crashed issuing.
fn policy_version() -> impl Strategy<Value = pb::PolicyVersion> {
    const DAYS: &[i64] = &[0, 1, 365, 366, 367, 2_000_000_000, -1];
    const AMOUNTS: &[i64] = &[0, 1, 100_000, 100_001, i64::MAX, i64::MIN];
    const WEEKS: &[i64] = &[0, 1, 52, 53, 200_000_000, -1];
    const COUNTS: &[i64] = &[0, 1, 2, 10, 11, i32::MAX as i64, -1];
    (
        (
            near(8_000, AMOUNTS),
            near32(21, DAYS),
            near(16_000, AMOUNTS),
            near32(28, DAYS),
        ),
        (near32(10, COUNTS), near32(10, WEEKS), near(16_000, AMOUNTS)),
        (near32(2, COUNTS), near32(3, COUNTS), near32(10, COUNTS)),
    )
        .prop_map(|(a, t, l)| pb::PolicyVersion {
            effective_from: Some(Date {
                year: 2026,
                month: 9,
                day: 1,
            }),
            lower_amount_pence: a.0,
            lower_period_days: a.1,
            higher_amount_pence: a.2,
            higher_period_days: a.3,
            second_notice_amount_pence: t.2,
            threshold: Some(pb::Threshold {
                sessions: t.0,
                window_school_weeks: t.1,
                qualifying_codes: vec!["G".into(), "O".into()],
            }),
            max_notices_per_parent_per_child: l.0,
            notice_limit_period_years: l.1,
            notice_to_improve_min_school_weeks: 3,
            notice_to_improve_max_school_weeks: 6,
            request_deadline_school_days: l.2,
            notice_to_improve_required_for: vec![],
            permitted_issuers: vec![pb::IssuerRole::LaOfficer as i32],
            ..Default::default()
        })
}

fn timestamp() -> impl Strategy<Value = Option<prost_types::Timestamp>> {
    proptest::option::of(
        (any::<i64>(), any::<i32>())
            .prop_map(|(seconds, nanos)| prost_types::Timestamp { seconds, nanos }),
    )
}

fn caller() -> Caller {
    Caller {
        actor: Actor {
            subject: "officer".into(),
            role: Some(Role::LaOfficer),
        },
        authority: LaCode::parse("850").unwrap(),
        role: Role::LaOfficer,
        schools: vec![],
        purpose: Default::default(),
    }
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 1, 4).unwrap()
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_798_000_000, 0).unwrap()
}

#[test]
fn edge_policies_are_mostly_valid_so_the_rules_run_on_them() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut valid = 0;
    for _ in 0..200 {
        let version = policy_version().new_tree(&mut runner).unwrap().current();
        let create = pb::CreatePolicyVersionRequest {
            parent: "authorities/850".into(),
            request_id: "r".into(),
            policy_version: Some(version),
        };
        valid += usize::from(new_version(&create).is_ok());
    }
    assert!(valid > 20, "{valid} of 200 valid");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn issuing_requests_never_panic(req in penalty()) {
        let _ = prewalk::check(&req);
        if let Ok(issue) = penalty_request(&req, &caller(), today()) {
            // The rules the request then meets, under every national regime.
            for regime in policy::national_regimes() {
                let _ = issuing::plan_penalty_notices(&regime, "national", (&[], &[]), &issue, &issuing::Registers::none());
            }
        }
        let nti = pb::IssueNoticeToImproveRequest {
            parent: req.parent.clone(),
            request_id: req.request_id.clone(),
            pupil: req.pupil.clone(),
            parents: req.parents.clone(),
            issue_date: req.issue_date,
            issuer: req.issuer.clone(),
            delivery: req.delivery,
            improvement_period: Some(pb::ImprovementPeriod {
                start_date: req.issue_date,
                school_weeks: req.sessions.len() as i32 - 3,
                end_date: None,
                reason: req.request_id.clone(),
            }),
            breach: None,
        };
        let _ = prewalk::check(&nti);
        if let Ok(issue) = notice_to_improve_request(&nti, &caller(), today()) {
            for regime in policy::national_regimes() {
                let _ = issuing::plan_notice_to_improve(&regime, "national", &issue, &issuing::Registers::none());
            }
        }
    }

    #[test]
    fn policy_versions_never_panic_and_valid_ones_issue_without_panicking(
        version in policy_version(),
        req in penalty(),
    ) {
        let create = pb::CreatePolicyVersionRequest {
            parent: "authorities/850".into(),
            request_id: "r".into(),
            policy_version: Some(version),
        };
        let _ = prewalk::check(&create);
        if let Ok((effective_from, rules)) = new_version(&create) {
            let local = PolicyVersion {
                effective_from,
                source: PolicySource::Authority,
                rules,
                published: None,
            };
            if let Ok(issue) = penalty_request(&req, &caller(), today()) {
                let _ = issuing::plan_penalty_notices(&local, "local", (&[], &[]), &issue, &issuing::Registers::none());
                let _ = crate::domain::evidence::best_window_count(&local, &issue.issue.sessions, &Default::default());
            }
        }
    }

    #[test]
    fn money_requests_never_panic(
        (amount, alloc_amount, paid_date, receive_time) in (number(), number(), date(), timestamp()),
        (name, notice_name, reference) in (text(), text(), text()),
    ) {
        let payment = pb::RecordPaymentRequest {
            parent: "authorities/850".into(),
            payment: Some(pb::Payment {
                amount_pence: amount,
                paid_date,
                receive_time,
                channel: 1,
                provider: reference.clone(),
                provider_payment_id: name.clone(),
                payer_reference: reference.clone(),
                allocations: vec![pb::Allocation { notice: notice_name.clone(), amount_pence: alloc_amount, ..Default::default() }],
                ..Default::default()
            }),
        };
        let _ = prewalk::check(&payment);
        let _ = new_payment(&payment, now());
        let allocate = pb::AllocatePaymentRequest {
            name: name.clone(),
            request_id: reference.clone(),
            allocations: vec![pb::Allocation { notice: notice_name.clone(), amount_pence: alloc_amount, ..Default::default() }; 2],
            reason: reference.clone(),
        };
        let _ = reallocation(&allocate);
        let refund_request = pb::RecordRefundRequest {
            name,
            refund: Some(pb::Refund { provider_refund_id: reference.clone(), amount_pence: amount, refund_date: paid_date, reason: reference, notice: notice_name.clone() }),
        };
        let _ = refund(&refund_request);
        let withdraw = pb::WithdrawNoticeRequest {
            name: notice_name.clone(),
            request_id: "w".into(),
            withdrawal: Some(pb::Withdrawal { ground: alloc_amount as i32, reason: "r".into(), withdrawal_date: paid_date }),
        };
        let _ = withdraw_request(&withdraw, today());
        let prosecution = pb::RecordProsecutionOutcomeRequest {
            name: notice_name,
            request_id: "p".into(),
            prosecution_outcome: Some(pb::ProsecutionOutcome { hearing_date: paid_date, court: "c".into(), result: amount as i32, fine_pence: amount, costs_pence: alloc_amount }),
        };
        let _ = prosecution_request(&prosecution, today());
    }

    #[test]
    fn registers_and_summaries_never_panic(
        marks in proptest::collection::vec((text(), text(), date(), small(), text(), timestamp()), 0..8),
        (start, end) in (date(), date()),
    ) {
        let batch = pb::RecordMarksRequest {
            parent: "authorities/850".into(),
            request_id: "b".into(),
            marks: marks.into_iter().map(|(school_urn, upn, date, session, code, record_time)| pb::Mark {
                school_urn, upn, date, session, code, record_time,
            }).collect(),
            sen_statuses: vec![],
        };
        let _ = prewalk::check(&batch);
        let _ = marks_batch(&batch, now());
        let summary = pb::GetAttendanceSummaryRequest {
            parent: "authorities/850".into(),
            start_date: start,
            end_date: end,
            ..Default::default()
        };
        let _ = summary_request(&summary);
    }

    #[test]
    fn school_imports_and_grouped_summaries_never_panic(
        schools in proptest::collection::vec(
            (text(), text(), text(), address(), small(), small(), (date(), date())),
            0..6,
        ),
        group_by in small(),
        version in small(),
        name in text(),
    ) {
        let import = pb::ImportSchoolsRequest {
            parent: "authorities/850".into(),
            request_id: "i".into(),
            schools: schools.into_iter().map(|(urn, la_code, establishment_name, address, phase, status, (open_date, close_date))| pb::School {
                urn, la_code, establishment_name, address, phase, status, open_date, close_date,
                ..Default::default()
            }).collect(),
        };
        let _ = prewalk::check(&import);
        let _ = school::import_request(&import);
        let _ = school::get_request(&pb::GetSchoolRequest { name, version });
        let summary = pb::GetAttendanceSummaryRequest {
            parent: "authorities/850".into(),
            group_by,
            ..Default::default()
        };
        let _ = summary_request(&summary);
    }

    #[test]
    fn worklist_listings_never_panic(
        parent in text(),
        kinds in proptest::collection::vec(small(), 0..12),
        school_urn in text(),
        due_on_or_before in date(),
        page_size in small(),
        page_token in text(),
    ) {
        let req = pb::ListActionsRequest { parent, kinds, school_urn, due_on_or_before, page_size, page_token };
        let _ = prewalk::check(&req);
        let _ = actions_query(&req);
    }

    #[test]
    fn measure_requests_never_panic(
        (name, upn, school_urn, court, reason) in (text(), text(), text(), text(), text()),
        (kind, state, section, event_kind, code) in (small(), small(), small(), small(), small()),
        (opened_on, hearing_date) in (date(), date()),
        (fine_pence, costs_pence) in (number(), number()),
        follows in proptest::collection::vec(text(), 0..4),
        page_token in text(),
    ) {
        let open = pb::OpenCaseRequest {
            parent: "authorities/850".into(),
            request_id: "r".into(),
            kind,
            upn: upn.clone(),
            school_urn: school_urn.clone(),
            parents: vec![pb::CaseParent { person_id: name.clone(), given_name: court.clone(), family_name: reason.clone() }],
            follows,
            opened_on,
            section,
            order_basis: code,
        };
        let _ = prewalk::check(&open);
        let _ = open_case_request(&open);
        let record = pb::RecordCaseEventRequest {
            name: name.clone(),
            request_id: "r".into(),
            event: Some(pb::CaseEventDetails {
                kind: event_kind,
                date: opened_on,
                end_reason: code,
                court,
                hearing_date,
                plea: code,
                outcome: Some(pb::CaseOutcome { disposal: code, fine_pence, costs_pence, parenting_order: code % 2 == 0 }),
                appeal_result: code,
                payment_decision: code,
                reason,
                ..Default::default()
            }),
        };
        let _ = prewalk::check(&record);
        let _ = record_case_event_request(&record);
        let list = pb::ListCasesRequest { parent: "authorities/850".into(), kind, state, upn, school_urn, page_size: code, page_token: page_token.clone() };
        let _ = case_query(&list);
        let _ = case_events_query(&pb::ListCaseEventsRequest { name, page_size: code, page_token });
    }

    #[test]
    fn data_protection_requests_never_panic(
        parent in text(),
        upn in text(),
        person_id in text(),
        actor_subject in text(),
        start_time in timestamp(),
        end_time in timestamp(),
        page_size in small(),
        page_token in text(),
        format in small(),
    ) {
        let req = pb::ListAccessEventsRequest {
            parent: parent.clone(), upn: upn.clone(), person_id: person_id.clone(), actor_subject,
            start_time, end_time, page_size, page_token,
        };
        let _ = prewalk::check(&req);
        let _ = access_page(&req);
        let export = pb::ExportSubjectDataRequest { parent, upn, person_id, format };
        let _ = prewalk::check(&export);
        let _ = export_subject(&export);
    }
}
