//! The officer's worklist and the events on the statutory dates (#27), through
//! the real API with the server's clock pinned and moved: a notice walked
//! through its dates with two replicas on one database, days of downtime
//! caught up, money after prosecution, who sees what, filters and paging.

use chrono::{Datelike, Duration, NaiveDate};
use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use pb::ActionKind as K;
use tonic::Code;

use crate::helpers::attendance::{OTHER_SCHOOL, SCHOOL, batch, mark, record, week};
use crate::helpers::notices::{Penalty, d, issue, upn};
use crate::helpers::payments::{pay, payment};
use crate::helpers::policy::{create, local_version};
use crate::helpers::worklist::{
    all_actions, audit_events, date_events, day, listing, on, request_notice, scheduled,
    school_request, summary, unmatched, worklist,
};
use crate::helpers::{TestApp, on_both_backends, violated_fields};

/// Pupil `pupil`'s week of holiday from 6 Jan 2025, a notice to "mum" issued
/// by hand on `issued` (the clock moved there first): its name.
async fn notice_issued_on(app: &TestApp, pupil: u32, issued: NaiveDate) -> String {
    app.clock.set_day(issued);
    let p = Penalty::holiday(pupil, &["mum"], d(2025, 1, 6), issued);
    issue(app, p.request(&format!("issue-{pupil}")))
        .await
        .unwrap()
        .remove(0)
        .name
}

/// `(action, day)` of each event.
fn actions_and_days(events: &[(String, NaiveDate, serde_json::Value)]) -> Vec<(&str, NaiveDate)> {
    events
        .iter()
        .map(|(a, day, _)| (a.as_str(), *day))
        .collect()
}

fn emitted_on(details: &serde_json::Value) -> NaiveDate {
    let at: chrono::DateTime<chrono::Utc> = details["emitted_at"]
        .as_str()
        .expect("emitted_at")
        .parse()
        .expect("an RFC 3339 instant");
    lea_notices::domain::calendar::london_date(at)
}

on_both_backends! {
    async fn a_notice_walked_through_its_dates_shows_each_on_its_day_once_with_two_replicas(app) {
        // Received by hand on Monday 3 Feb 2025: the lower amount is due to
        // Sunday 23 Feb (day 21), the higher to Sunday 2 Mar (day 28).
        let notice = notice_issued_on(&app, 1, d(2025, 2, 3)).await;
        // Two more servers on the same database, each running the scheduler.
        let replicas = [app.replica(scheduled()).await, app.replica(scheduled()).await];
        let mut today = d(2025, 2, 14);
        while today <= d(2025, 3, 5) {
            app.clock.set_day(today);
            for r in &replicas {
                r.scheduler_round().await;
            }
            // The worklist, read through either replica.
            let listed = worklist(&replicas[(today.ordinal() % 2) as usize], Role::LaOfficer).await;
            let expected = if (d(2025, 2, 16)..=d(2025, 2, 23)).contains(&today) {
                vec![(K::LowerRateEnding, notice.clone(), d(2025, 2, 23))]
            } else if today >= d(2025, 3, 3) {
                vec![(K::UnpaidAfterPeriod, notice.clone(), d(2025, 3, 3))]
            } else {
                vec![]
            };
            assert_eq!(summary(&listed), expected, "the worklist on {today}");
            if let Some(ending) = listed.iter().find(|a| a.kind() == K::LowerRateEnding) {
                assert_eq!(ending.amount_pence, 8_000);
                assert!(ending.rule.starts_with("reg. 4 Education (Penalty Notices) (England) Regulations 2007"), "{}", ending.rule);
                assert_eq!(ending.policy_version, "nationalRegimes/2024-08-19");
            }
            // Each event on its day, once, whichever replica recorded it.
            let events = date_events(&app, &notice).await;
            let mut expected = Vec::new();
            if today >= d(2025, 2, 24) {
                expected.push(("notice.lower_rate_ended", d(2025, 2, 24)));
            }
            if today >= d(2025, 3, 3) {
                expected.push(("notice.unpaid_at_period_end", d(2025, 3, 3)));
            }
            assert_eq!(actions_and_days(&events), expected, "the events on {today}");
            today = today.succ_opt().unwrap();
        }
        let events = date_events(&app, &notice).await;
        let (_, _, lower) = &events[0];
        assert_eq!(lower["statutory_date"], "2025-02-24");
        assert_eq!(lower["last_day"], "2025-02-23");
        assert_eq!(lower["caught_up"], false);
        assert_eq!(emitted_on(lower), d(2025, 2, 24), "recorded on its day");
        assert_eq!(lower["higher_deadline"], "2025-03-02");
        assert!(lower["rule"].as_str().unwrap().starts_with("reg. 4"));
        let (_, _, unpaid) = &events[1];
        assert_eq!(unpaid["statutory_date"], "2025-03-03");
        assert!(unpaid["rule"].as_str().unwrap().contains("regs. 7 and 9"));
        // Recorded by the service itself.
        let audited = audit_events(&app, "notice.unpaid_at_period_end").await;
        assert_eq!(audited.len(), 1);
        let actor = audited[0].actor.as_ref().unwrap();
        assert_eq!((actor.subject.as_str(), actor.role()), ("lea-notices/scheduler", pb::Role::Unspecified));
        assert_eq!(audited[0].resource, notice);

        // Rounds racing on three servers at once still record nothing twice.
        let mut rounds = tokio::task::JoinSet::new();
        for server in [&app, &replicas[0], &replicas[1]] {
            for _ in 0..4 {
                let service = server.service.clone();
                rounds.spawn(async move { service.emit_due_events().await });
            }
        }
        for round in rounds.join_all().await {
            round.unwrap();
        }
        assert_eq!(date_events(&app, &notice).await.len(), 2);
        for r in replicas {
            drop(r);
        }
        let verified = app.as_role("850", Role::Auditor).audit()
            .verify_audit_trail(pb::VerifyAuditTrailRequest { parent: "authorities/850".into(), checkpoint: None })
            .await.unwrap().into_inner();
        assert!(verified.intact, "{verified:?}");
    }

    async fn after_days_of_downtime_each_missed_event_is_recorded_once_with_its_own_day(app) {
        // Hampshire's code: schools request within 10 school days.
        app.policy().create_policy_version(create("authorities/850", "local", local_version(2025, 1, 1))).await.unwrap();
        let notice = notice_issued_on(&app, 1, d(2025, 2, 3)).await;
        // A school asks on Mon 10 Feb for pupil 2's holiday week from 3 Feb;
        // the register shows the pupil back that day (day 1 of the deadline).
        // No registers are held after it, so the rest of its 10 school days
        // are working days: the deadline's last day is Fri 21 Feb, passed on
        // Sat 22 Feb.
        let back = week(SCHOOL, 2, d(2025, 2, 10), "/", &[]).into_iter().take(2).collect();
        record(&app.as_role("850", Role::LaOfficer), vec![batch("back", back)]).await.unwrap();
        app.clock.set_day(d(2025, 2, 10));
        let asked = request_notice(&app, school_request("ask-1", 2, d(2025, 2, 3))).await;
        app.clock.set_day(d(2025, 2, 20));
        let first = app.replica(scheduled()).await;
        first.scheduler_round().await;
        assert!(date_events(&app, &notice).await.is_empty());
        drop(first);

        // No server runs from 21 Feb until 5 Mar.
        app.clock.set_day(d(2025, 3, 5));
        assert!(date_events(&app, &notice).await.is_empty(), "nothing runs the scheduler");
        let replicas = [app.replica(scheduled()).await, app.replica(scheduled()).await];
        for r in &replicas {
            r.scheduler_round().await;
        }
        let events = date_events(&app, &notice).await;
        assert_eq!(
            actions_and_days(&events),
            [("notice.lower_rate_ended", d(2025, 2, 24)), ("notice.unpaid_at_period_end", d(2025, 3, 3))]
        );
        for (_, day, details) in &events {
            assert_eq!(details["statutory_date"], day.to_string());
            assert_eq!(details["caught_up"], true);
            assert_eq!(emitted_on(details), d(2025, 3, 5), "recorded when the servers came back");
        }
        let passed = audit_events(&app, "penalty_notice_request.deadline_passed").await;
        assert_eq!(passed.len(), 1, "{passed:?}");
        assert_eq!(passed[0].resource, asked.name);
        let details: serde_json::Value = serde_json::from_str(&passed[0].details_json).unwrap();
        assert_eq!((details["statutory_date"].as_str(), details["last_day"].as_str()), (Some("2025-02-22"), Some("2025-02-21")));
        assert_eq!(details["deadline_school_days"], 10);
        let t = passed[0].event_time.unwrap();
        let at = chrono::DateTime::from_timestamp(t.seconds, 0).unwrap();
        assert_eq!(lea_notices::domain::calendar::london_date(at), d(2025, 2, 22));

        // The worklist on 5 Mar: the request (due on its deadline's last day)
        // and the unpaid notice, oldest due first.
        let listed = worklist(&replicas[0], Role::LaOfficer).await;
        assert_eq!(
            summary(&listed),
            [
                (K::PenaltyNoticeRequestPending, asked.name.clone(), d(2025, 2, 21)),
                (K::UnpaidAfterPeriod, notice.clone(), d(2025, 3, 3)),
            ]
        );
        assert!(listed[0].rule.contains("within 10 school days"), "{}", listed[0].rule);
        assert_eq!(listed[0].policy_version, "authorities/850/policyVersions/2025-01-01");
        // More rounds, another day: nothing again.
        app.clock.set_day(d(2025, 3, 6));
        for r in &replicas {
            r.scheduler_round().await;
        }
        assert_eq!(date_events(&app, &notice).await.len(), 2);
        assert_eq!(audit_events(&app, "penalty_notice_request.deadline_passed").await.len(), 1);
        for r in replicas {
            drop(r);
        }
    }

    async fn money_paid_after_referral_to_prosecution_is_an_action_and_an_event(app) {
        let notice = notice_issued_on(&app, 1, d(2025, 2, 3)).await;
        app.clock.set_day(d(2025, 3, 10));
        assert_eq!(summary(&worklist(&app, Role::LaOfficer).await), [(K::UnpaidAfterPeriod, notice.clone(), d(2025, 3, 3))]);
        app.notices()
            .record_prosecution_outcome(pb::RecordProsecutionOutcomeRequest {
                name: notice.clone(),
                request_id: "prosecute".into(),
                prosecution_outcome: Some(pb::ProsecutionOutcome {
                    hearing_date: on(d(2025, 3, 10)),
                    court: "Winchester Magistrates' Court".into(),
                    result: pb::ProsecutionResult::Convicted as i32,
                    fine_pence: 12_000,
                    costs_pence: 0,
                }),
            })
            .await
            .unwrap();
        assert!(worklist(&app, Role::LaOfficer).await.is_empty(), "decided: prosecuted");

        // The parent pays the higher amount, quoting the notice, the same day.
        let mut late = payment("850", "late-1", 16_000, d(2025, 3, 10), "850-2025-000001", &[]);
        late.payment.as_mut().unwrap().receive_time = Some(prost_types::Timestamp { seconds: 1_741_600_800, nanos: 0 });
        let paid = pay(&app, late).await;
        let events = date_events(&app, &notice).await;
        assert_eq!(actions_and_days(&events), [("notice.payment_after_prosecution", d(2025, 3, 10))]);
        let details = &events[0].2;
        assert_eq!(details["payment"], paid.name);
        assert_eq!(details["amount_pence"], 16_000);
        assert_eq!(details["hearing_date"], "2025-03-10");
        assert!(details["rule"].as_str().unwrap().starts_with("s444A Education Act 1996"));
        let audited = audit_events(&app, "notice.payment_after_prosecution").await;
        assert_eq!(audited.len(), 1);
        assert_eq!(audited[0].actor.as_ref().unwrap().role(), pb::Role::Finance, "the payment's own caller");
        assert_eq!(audited[0].request_id, "late-1", "in the payment's transaction");

        // Officers and finance see it, with the money due back.
        for role in [Role::LaOfficer, Role::Finance] {
            let listed = worklist(&app, role).await;
            assert_eq!(
                summary(&listed),
                [
                    (K::PaymentAfterProsecution, notice.clone(), d(2025, 3, 10)),
                    (K::RefundDue, notice.clone(), d(2025, 3, 10)),
                ],
                "{role:?}"
            );
            assert_eq!(listed[0].amount_pence, 16_000);
            assert_eq!(listed[1].amount_pence, 16_000);
            assert_eq!(listed[0].action_id, "payment_after_prosecution/850-2025-000001");
        }
        assert!(worklist(&app, Role::SchoolStaff).await.is_empty());

        // Refunded: both leave the list.
        app.payments()
            .record_refund(pb::RecordRefundRequest {
                name: paid.name.clone(),
                refund: Some(pb::Refund {
                    provider_refund_id: "refund-1".into(),
                    amount_pence: 16_000,
                    refund_date: on(d(2025, 3, 10)),
                    reason: "paid after prosecution".into(),
                    notice: notice.clone(),
                }),
            })
            .await
            .unwrap();
        assert!(worklist(&app, Role::LaOfficer).await.is_empty());
        // Money moved onto it again by a reallocation is an event again.
        let second = pay(&app, payment("850", "late-2", 5_000, d(2025, 3, 10), "no reference", &[])).await;
        assert_eq!(summary(&worklist(&app, Role::Finance).await), [(K::PaymentUnallocated, second.name.clone(), d(2025, 2, 19))]);
        app.payments()
            .allocate_payment(pb::AllocatePaymentRequest {
                name: second.name.clone(),
                request_id: "move".into(),
                allocations: vec![pb::Allocation { notice: notice.clone(), amount_pence: 5_000, ..Default::default() }],
                reason: "the parent's letter names the notice".into(),
            })
            .await
            .unwrap();
        assert_eq!(audit_events(&app, "notice.payment_after_prosecution").await.len(), 2);
        assert_eq!(
            summary(&worklist(&app, Role::Finance).await).into_iter().map(|(k, _, _)| k).collect::<Vec<_>>(),
            [K::PaymentAfterProsecution, K::RefundDue]
        );
    }

    async fn school_staff_see_their_schools_cases_finance_the_money_and_others_are_refused(app) {
        // Notices received 24 Feb 2025, lower period to 16 Mar: one of a
        // pupil at the staff's school, one elsewhere.
        let own_notice = notice_issued_on(&app, 1, d(2025, 2, 24)).await;
        let mut elsewhere = Penalty::holiday(5, &["mum"], d(2025, 1, 6), d(2025, 2, 24)).request("elsewhere");
        elsewhere.pupil.as_mut().unwrap().school_urn = OTHER_SCHOOL.into();
        let other_notice = issue(&app, elsewhere).await.unwrap().remove(0).name;
        // Registers to Fri 14 Mar: a week of holiday from 3 Mar for pupils 3
        // (at the staff's school), 4 (elsewhere) and 6, then a week at school.
        app.clock.set_day(d(2025, 3, 14));
        let mut marks = Vec::new();
        for (pupil, school) in [(3, SCHOOL), (4, OTHER_SCHOOL), (6, SCHOOL)] {
            marks.extend(week(school, pupil, d(2025, 3, 3), "G", &(0..10).collect::<Vec<_>>()));
            marks.extend(week(school, pupil, d(2025, 3, 10), "G", &[]));
        }
        record(&app.as_role("850", Role::LaOfficer), vec![batch("registers", marks)]).await.unwrap();
        // Pupil 6's week goes to a notice, then a mark it rests on is corrected.
        let mut from_register = Penalty::holiday(6, &["mum"], d(2025, 3, 3), d(2025, 3, 14));
        from_register.la = "850";
        let corrected_notice = issue(&app, from_register.request("from-register")).await.unwrap().remove(0).name;
        let correction = mark(SCHOOL, 6, d(2025, 3, 3), pb::Session::Am, "I", 6_000_000);
        record(&app.as_role("850", Role::SchoolStaff), vec![batch("correction", vec![correction])]).await.unwrap();
        // A school's request, and money quoting no notice.
        let asked = request_notice(&app, school_request("ask", 7, d(2025, 3, 3))).await;
        let suspense = pay(&app, unmatched("unmatched", 8_000, d(2025, 2, 19))).await;

        let officer = worklist(&app, Role::LaOfficer).await;
        let mut kinds: Vec<(K, String, NaiveDate)> = summary(&officer);
        kinds.sort_by_key(|(k, r, _)| (*k as i32, r.clone()));
        assert_eq!(
            kinds,
            [
                (K::BreachPendingDecision, String::new(), d(2025, 3, 7)),
                (K::BreachPendingDecision, String::new(), d(2025, 3, 7)),
                // No deadline under the national code: due from the day it was made.
                (K::PenaltyNoticeRequestPending, asked.name.clone(), d(2025, 3, 14)),
                (K::LowerRateEnding, own_notice.clone(), d(2025, 3, 16)),
                (K::LowerRateEnding, other_notice.clone(), d(2025, 3, 16)),
                (K::PaymentUnallocated, suspense.name.clone(), d(2025, 2, 19)),
                (K::EvidenceCorrected, corrected_notice.clone(), d(2025, 3, 14)),
            ]
        );
        let breaches: Vec<&pb::Action> = officer.iter().filter(|a| a.kind() == K::BreachPendingDecision).collect();
        let mut pupils: Vec<String> = breaches.iter().map(|a| a.breach.as_ref().unwrap().upn.clone()).collect();
        pupils.sort();
        let mut expected = vec![upn(3), upn(4)];
        expected.sort();
        assert_eq!(pupils, expected, "pupil 6's breach was closed by its notice");
        for b in &breaches {
            // At the threshold on Fri 7 Mar; 10..14 Mar are school days since.
            assert_eq!(b.school_days_elapsed, 5);
            assert_eq!(day(&b.breach.as_ref().unwrap().as_of_date), d(2025, 3, 14));
            assert!(b.rule.contains("10 sessions of unauthorised absence within 10 school weeks"), "{}", b.rule);
        }
        assert_eq!(worklist(&app, Role::Auditor).await, officer, "auditors read everything");

        // School staff: their school's breach, request and corrected notice.
        let staff = worklist(&app, Role::SchoolStaff).await;
        assert_eq!(
            summary(&staff),
            [
                (K::BreachPendingDecision, String::new(), d(2025, 3, 7)),
                (K::EvidenceCorrected, corrected_notice.clone(), d(2025, 3, 14)),
                (K::PenaltyNoticeRequestPending, asked.name.clone(), d(2025, 3, 14)),
            ]
        );
        assert_eq!(staff[0].breach.as_ref().unwrap().upn, upn(3));
        // Finance: the money.
        assert_eq!(summary(&worklist(&app, Role::Finance).await), [(K::PaymentUnallocated, suspense.name.clone(), d(2025, 2, 19))]);

        // Refused: roles without a worklist, kinds a role never sees, a school not the caller's.
        for role in [Role::Police, Role::Admin] {
            let refused = app.as_role("850", role).worklist().list_actions(listing(&[])).await.unwrap_err();
            assert_eq!(refused.code(), Code::PermissionDenied, "{role:?}");
        }
        let staff_client = app.as_role("850", Role::SchoolStaff);
        let refused = staff_client.worklist().list_actions(listing(&[K::PaymentUnallocated])).await.unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        let mut other = listing(&[]);
        other.school_urn = OTHER_SCHOOL.into();
        let refused = staff_client.worklist().list_actions(other.clone()).await.unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        let refused = app.as_role("850", Role::Finance).worklist().list_actions(listing(&[K::BreachPendingDecision])).await.unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        let refused = app.as_role("852", Role::LaOfficer).worklist().list_actions(listing(&[])).await.unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "another authority");
        // An officer's listing of the other school: its cases, no payments.
        let theirs = all_actions(&app.as_role("850", Role::LaOfficer), other).await.unwrap();
        assert_eq!(
            theirs.iter().map(|a| (a.kind(), a.school_urn.as_str())).collect::<Vec<_>>(),
            [(K::BreachPendingDecision, OTHER_SCHOOL), (K::LowerRateEnding, OTHER_SCHOOL)]
        );
        // Decided, the breach leaves the list.
        app.as_role("850", Role::LaOfficer)
            .attendance()
            .record_breach_decision(pb::RecordBreachDecisionRequest {
                parent: "authorities/850".into(),
                request_id: "decide".into(),
                upn: upn(3),
                as_of_date: on(d(2025, 3, 14)),
                state: pb::BreachState::NoAction as i32,
                no_action_reason: pb::NoActionReason::Medical as i32,
                note: String::new(),
            })
            .await
            .unwrap();
        assert_eq!(
            summary(&worklist(&app, Role::SchoolStaff).await).into_iter().map(|(k, _, _)| k).collect::<Vec<_>>(),
            [K::EvidenceCorrected, K::PenaltyNoticeRequestPending]
        );
    }

    async fn the_worklist_filters_by_kind_school_and_due_date_and_pages(app) {
        // Notices received a week apart from Fri 10 Jan 2025.
        let mut notices = Vec::new();
        for i in 0..6 {
            notices.push(notice_issued_on(&app, i + 1, d(2025, 1, 10) + Duration::weeks(i64::from(i))).await);
        }
        app.clock.set_day(d(2025, 2, 23));
        let mut payments = Vec::new();
        for i in 0..3 {
            payments.push(pay(&app, unmatched(&format!("unmatched-{i}"), 1_000 + i64::from(i), d(2025, 2, 19))).await.name);
        }
        let officer = app.as_role("850", Role::LaOfficer);
        let everything = officer.worklist().list_actions(pb::ListActionsRequest { page_size: 500, ..listing(&[]) }).await.unwrap().into_inner();
        assert_eq!(day(&everything.as_of_date), d(2025, 2, 23));
        assert!(everything.next_page_token.is_empty());
        // Unpaid since 7, 14 and 21 Feb; the money of 19 Feb; notice 5's
        // lower period ends on 27 Feb; notices 4 and 6 need nothing today.
        assert_eq!(
            summary(&everything.actions),
            [
                (K::UnpaidAfterPeriod, notices[0].clone(), d(2025, 2, 7)),
                (K::UnpaidAfterPeriod, notices[1].clone(), d(2025, 2, 14)),
                (K::PaymentUnallocated, payments[0].clone(), d(2025, 2, 19)),
                (K::PaymentUnallocated, payments[1].clone(), d(2025, 2, 19)),
                (K::PaymentUnallocated, payments[2].clone(), d(2025, 2, 19)),
                (K::UnpaidAfterPeriod, notices[2].clone(), d(2025, 2, 21)),
                (K::LowerRateEnding, notices[4].clone(), d(2025, 2, 27)),
            ]
        );
        assert_eq!(everything.actions[0].action_id, "unpaid_after_period/850-2025-000001");
        assert!(everything.actions[0].rule.contains("regs. 7 and 9"));

        // Pages of 2 give the same items in the same order.
        let mut paged = Vec::new();
        let mut request = pb::ListActionsRequest { page_size: 2, ..listing(&[]) };
        let mut pages = 0;
        loop {
            let page = officer.worklist().list_actions(request.clone()).await.unwrap().into_inner();
            pages += 1;
            assert!(page.actions.len() <= 2);
            paged.extend(page.actions);
            if page.next_page_token.is_empty() {
                break;
            }
            // A token is only good for its own filter.
            let mut other = request.clone();
            other.page_token = page.next_page_token.clone();
            other.kinds = vec![K::UnpaidAfterPeriod as i32];
            assert_eq!(violated_fields(&officer.worklist().list_actions(other).await.unwrap_err()), ["page_token"]);
            request.page_token = page.next_page_token;
        }
        assert_eq!(pages, 4);
        assert_eq!(paged, everything.actions);

        let kinds = |actions: &[pb::Action]| summary(actions).into_iter().map(|(k, r, _)| (k, r)).collect::<Vec<_>>();
        let unpaid = all_actions(&officer, listing(&[K::UnpaidAfterPeriod])).await.unwrap();
        assert_eq!(kinds(&unpaid), (0..3).map(|i| (K::UnpaidAfterPeriod, notices[i].clone())).collect::<Vec<_>>());
        assert_eq!(unpaid[0].policy_version, "nationalRegimes/2024-08-19");
        let two_kinds = all_actions(&officer, listing(&[K::LowerRateEnding, K::PaymentUnallocated])).await.unwrap();
        assert_eq!(two_kinds.len(), 4);
        let mut due = listing(&[]);
        due.due_on_or_before = on(d(2025, 2, 14));
        assert_eq!(all_actions(&officer, due).await.unwrap(), everything.actions[..2]);
        let mut school = listing(&[]);
        school.school_urn = SCHOOL.into();
        let of_school = all_actions(&officer, school).await.unwrap();
        assert_eq!(of_school.len(), 4, "no payments: they belong to no school");
        assert!(of_school.iter().all(|a| a.school_urn == SCHOOL));

        // Bad filters name their fields.
        let mut bad = listing(&[]);
        bad.kinds = vec![99, K::RefundDue as i32, K::RefundDue as i32];
        bad.school_urn = "abc".into();
        bad.page_size = -1;
        assert_eq!(
            violated_fields(&officer.worklist().list_actions(bad).await.unwrap_err()),
            ["page_size", "kinds[0]", "kinds[2]", "school_urn"]
        );
        let mut wrong_parent = listing(&[]);
        wrong_parent.parent = "authorities/85".into();
        assert_eq!(violated_fields(&officer.worklist().list_actions(wrong_parent).await.unwrap_err()), ["parent"]);
    }

    async fn a_part_matched_payment_is_listed_until_the_rest_is_refunded(app) {
        let notice = notice_issued_on(&app, 1, d(2025, 2, 3)).await;
        app.clock.set_day(d(2025, 2, 20));
        // £100 paid, £80 of it on the notice: the lower amount, paid; £20 in suspense.
        let paid = pay(&app, payment("850", "part-1", 10_000, d(2025, 2, 19), "", &[(&notice, 8_000)])).await;
        let listed = worklist(&app, Role::Finance).await;
        assert_eq!(summary(&listed), [(K::PaymentPartMatched, paid.name.clone(), d(2025, 2, 19))]);
        assert_eq!(listed[0].amount_pence, 2_000);
        assert!(listed[0].rule.starts_with("reg. 20 Education (Penalty Notices) (England) Regulations 2007"), "{}", listed[0].rule);
        assert_eq!(listed[0].school_urn, "", "a payment belongs to no school");
        assert_eq!(worklist(&app, Role::LaOfficer).await, listed, "the notice itself is paid");
        app.payments()
            .record_refund(pb::RecordRefundRequest {
                name: paid.name.clone(),
                refund: Some(pb::Refund {
                    provider_refund_id: "refund-rest".into(),
                    amount_pence: 2_000,
                    refund_date: on(d(2025, 2, 20)),
                    reason: "paid more than due".into(),
                    notice: String::new(),
                }),
            })
            .await
            .unwrap();
        assert!(worklist(&app, Role::Finance).await.is_empty());
    }

    async fn a_local_code_sets_how_early_a_lower_rate_ending_is_listed(app) {
        let mut version = local_version(2025, 1, 1);
        version.lower_rate_warning_days = 14;
        let created = app.policy().create_policy_version(create("authorities/850", "warn", version)).await.unwrap().into_inner().policy_version.unwrap();
        assert_eq!(created.lower_rate_warning_days, 14);
        let mut too_long = local_version(2025, 2, 1);
        too_long.lower_rate_warning_days = 22;
        assert_eq!(
            violated_fields(&app.policy().create_policy_version(create("authorities/850", "long", too_long)).await.unwrap_err()),
            ["policy_version.lower_rate_warning_days"]
        );
        let unset = app.policy().get_policy(pb::GetPolicyRequest { parent: "authorities/850".into(), date: on(d(2024, 12, 1)) })
            .await.unwrap().into_inner().policy_version.unwrap();
        assert_eq!(unset.lower_rate_warning_days, 7, "the national default");

        let notice = notice_issued_on(&app, 1, d(2025, 2, 3)).await;
        app.clock.set_day(d(2025, 2, 8));
        assert!(worklist(&app, Role::LaOfficer).await.is_empty(), "15 days before");
        app.clock.set_day(d(2025, 2, 9));
        let listed = worklist(&app, Role::LaOfficer).await;
        assert_eq!(summary(&listed), [(K::LowerRateEnding, notice, d(2025, 2, 23))]);
        assert!(listed[0].rule.contains("listed 14 days before"), "{}", listed[0].rule);
    }
}
