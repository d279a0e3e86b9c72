//! NoticeService through the real API: statutory amounts and dates, the limits
//! a notice must not break, lifecycle, idempotency and the event history.

use chrono::Duration;
use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use tonic::Code;

use crate::helpers::notices::*;
use crate::helpers::policy::{create, local_version};
use crate::helpers::{broken_rules, date, on_both_backends, violated_fields};

/// Lists every status page by page (a notice a page) and checks each against
/// the notices GetNotice shows with it, and against `expected`: the indexes in
/// `n` of its notices, in issue order (statuses in the order of `STATUSES`).
async fn check_statuses(app: &crate::helpers::TestApp, n: &[pb::Notice], expected: [&[usize]; 6]) {
    const STATUSES: [pb::NoticeStatus; 6] = [
        pb::NoticeStatus::Issued,
        pb::NoticeStatus::Paid,
        pb::NoticeStatus::Unpaid,
        pb::NoticeStatus::Prosecuted,
        pb::NoticeStatus::Withdrawn,
        pb::NoticeStatus::ImprovementPeriodEnded,
    ];
    let all = all_notices(app, "850").await;
    for (status, numbers) in STATUSES.into_iter().zip(expected) {
        let mut listed = Vec::new();
        let mut token = String::new();
        loop {
            let page = app
                .notices()
                .list_notices(pb::ListNoticesRequest {
                    parent: "authorities/850".into(),
                    status: status as i32,
                    page_size: 1,
                    page_token: token.clone(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            listed.extend(page.notices.into_iter().map(|x| x.notice_number));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        let shown: Vec<_> = all
            .iter()
            .filter(|x| x.status == status as i32)
            .map(|x| x.notice_number.clone())
            .collect();
        assert_eq!(
            listed, shown,
            "{status:?}: listed against GetNotice's status"
        );
        let wanted: Vec<_> = numbers
            .iter()
            .map(|&k| n[k].notice_number.clone())
            .collect();
        assert_eq!(listed, wanted, "{status:?}, in issue order");
    }
}

on_both_backends! {
    async fn amounts_and_deadlines_follow_the_regime_of_the_issue_date(app) {
        // 2013 regime: £60 within 21 days, £120 within 28 (days begin with receipt).
        let mut old = Penalty::holiday(1, &["mum"], d(2014, 2, 3), d(2014, 3, 10));
        old.la = "850";
        let n = &issue(&app, old.request("r-2014")).await.unwrap()[0];
        assert_eq!(n.policy_version, "nationalRegimes/2013-09-01");
        assert_eq!((n.lower_amount_pence, n.higher_amount_pence), (6_000, 12_000));
        assert_eq!(ymd(&n.receipt_date), Some((2014, 3, 10)));
        assert_eq!(ymd(&n.lower_deadline), Some((2014, 3, 30)));
        assert_eq!(ymd(&n.higher_deadline), Some((2014, 4, 6)));
        assert!(n.notice_number.starts_with("850-2014-"), "{}", n.notice_number);

        // 2024 regime: £80 within 21 days, £160 within 28.
        let n = &issue(&app, Penalty::holiday(2, &["dad"], d(2025, 6, 2), d(2025, 6, 16)).request("r-2025")).await.unwrap()[0];
        assert_eq!(n.policy_version, "nationalRegimes/2024-08-19");
        assert_eq!((n.lower_amount_pence, n.higher_amount_pence), (8_000, 16_000));
        assert_eq!(ymd(&n.lower_deadline), Some((2025, 7, 6)));
        assert_eq!(ymd(&n.higher_deadline), Some((2025, 7, 13)));
        assert_eq!(n.status, pb::NoticeStatus::Unpaid as i32, "unpaid once the higher period is over");

        // An authority's own version overrides the national one from its date.
        let mut southampton = local_version(2025, 9, 1);
        southampton.lower_amount_pence = 7_000;
        southampton.lower_period_days = 14;
        southampton.higher_amount_pence = 14_000;
        southampton.second_notice_amount_pence = 14_000;
        app.as_role("852", Role::Admin).policy().create_policy_version(create("authorities/852", "v1", southampton)).await.unwrap();
        let mut local = Penalty::holiday(3, &["carer"], d(2025, 9, 1), d(2025, 9, 15));
        local.la = "852";
        let n = &issue(&app, local.request("r-852")).await.unwrap()[0];
        assert_eq!(n.policy_version, "authorities/852/policyVersions/2025-09-01");
        assert_eq!((n.lower_amount_pence, n.higher_amount_pence), (7_000, 14_000));
        assert_eq!(ymd(&n.lower_deadline), Some((2025, 9, 28)));
        assert_eq!(ymd(&n.higher_deadline), Some((2025, 10, 12)));
        assert!(n.name.starts_with("authorities/852/notices/852-2025-"));
    }

    async fn a_notice_posted_before_a_bank_holiday_weekend_is_received_on_tuesday(app) {
        let mut p = Penalty::holiday(1, &["mum"], d(2025, 4, 7), d(2025, 5, 1)).request("post");
        // Thursday 1 May 2025; Monday 5 May is the early May bank holiday.
        p.delivery = Some(pb::Delivery { method: pb::DeliveryMethod::Post as i32, posting_date: date(2025, 5, 1) });
        let n = &issue(&app, p).await.unwrap()[0];
        assert_eq!(ymd(&n.receipt_date), Some((2025, 5, 6)));
        assert_eq!(ymd(&n.lower_deadline), Some((2025, 5, 26)));
        assert_eq!(ymd(&n.higher_deadline), Some((2025, 6, 2)));

        let mut no_posting_date = Penalty::holiday(2, &["mum"], d(2025, 4, 7), d(2025, 5, 1)).request("post-2");
        no_posting_date.delivery = Some(pb::Delivery { method: pb::DeliveryMethod::Post as i32, posting_date: None });
        assert_eq!(violated_fields(&issue(&app, no_posting_date).await.unwrap_err()), ["delivery.posting_date"]);
    }

    async fn each_parent_gets_a_notice_a_second_is_flat_and_a_third_is_refused(app) {
        let first = issue(&app, Penalty::holiday(1, &["mum", "dad"], d(2024, 9, 9), d(2024, 10, 1)).request("o1")).await.unwrap();
        assert_eq!(first.len(), 2);
        assert_eq!(first[0].parent.as_ref().unwrap().person_id, "mum");
        assert_eq!(first[1].parent.as_ref().unwrap().person_id, "dad");
        assert_eq!(first[0].related_notices, [first[1].name.clone()]);
        assert_eq!(first[1].related_notices, [first[0].name.clone()]);
        assert!(first.iter().all(|n| !n.second_notice && n.lower_amount_pence == 8_000));

        let second = issue(&app, Penalty::holiday(1, &["mum"], d(2025, 2, 10), d(2025, 3, 3)).request("o2")).await.unwrap();
        let s = &second[0];
        assert!(s.second_notice);
        assert_eq!((s.lower_amount_pence, s.higher_amount_pence), (0, 16_000));
        assert_eq!(s.lower_deadline, None);
        assert_eq!(ymd(&s.higher_deadline), Some((2025, 3, 30)));

        let before = (all_notices(&app, "850").await.len(), audit_count(&app, "850").await);
        let third = issue(&app, Penalty::holiday(1, &["mum"], d(2025, 5, 12), d(2025, 6, 2)).request("o3")).await.unwrap_err();
        assert_eq!(broken_rules(&third), ["NOTICE_LIMIT"]);
        assert_eq!((all_notices(&app, "850").await.len(), audit_count(&app, "850").await), before, "a refusal writes nothing");

        // Backdating a notice before the two does not get round the limit.
        let backdated = issue(&app, Penalty::holiday(1, &["mum"], d(2024, 8, 19), d(2024, 9, 2)).request("o0")).await.unwrap_err();
        assert_eq!(broken_rules(&backdated), ["NOTICE_LIMIT"]);

        // Dad has had one notice only: his second offence is a flat-rate second notice.
        let dads = issue(&app, Penalty::holiday(1, &["dad"], d(2025, 5, 12), d(2025, 6, 2)).request("o3-dad")).await.unwrap();
        assert!(dads[0].second_notice);

        // A withdrawn notice does not count towards the limit.
        app.notices().withdraw_notice(withdraw(&second[0].name, "w1")).await.unwrap();
        let retry = issue(&app, Penalty::holiday(1, &["mum"], d(2025, 5, 12), d(2025, 6, 2)).request("o3-again")).await.unwrap();
        assert!(retry[0].second_notice);
    }

    async fn sessions_back_one_offence_only_until_its_notice_is_withdrawn(app) {
        let week = d(2025, 1, 6);
        let first = issue(&app, Penalty::holiday(1, &["mum"], week, d(2025, 2, 3)).request("a")).await.unwrap();

        // The same sessions for another offence are refused.
        let mut other = Penalty::holiday(1, &["mum"], week, d(2025, 2, 3));
        other.reason = pb::OffenceReason::Other;
        assert_eq!(broken_rules(&issue(&app, other.request("b")).await.unwrap_err()), ["SESSIONS_ALREADY_USED"]);
        // ...and for the same offence to the same parent (a second fine for one absence).
        assert_eq!(broken_rules(&issue(&app, Penalty::holiday(1, &["mum"], week, d(2025, 2, 3)).request("c")).await.unwrap_err()), ["SESSIONS_ALREADY_USED"]);
        // The same offence may be served on the other parent.
        let dads = issue(&app, Penalty::holiday(1, &["dad"], week, d(2025, 2, 3)).request("d")).await.unwrap();

        // Once the mother's notice is withdrawn, the sessions no longer back it.
        app.notices().withdraw_notice(withdraw(&first[0].name, "w")).await.unwrap();
        let mut other_to_mum = Penalty::holiday(1, &["mum"], week, d(2025, 2, 3));
        other_to_mum.reason = pb::OffenceReason::Other;
        let status = issue(&app, other_to_mum.request("e")).await.unwrap_err();
        let other_to_mum = other_to_mum;
        assert_eq!(broken_rules(&status), ["SESSIONS_ALREADY_USED"], "still backing the father's notice for another offence");
        // With both withdrawn the sessions are free again.
        app.notices().withdraw_notice(withdraw(&dads[0].name, "w2")).await.unwrap();
        issue(&app, other_to_mum.request("f")).await.unwrap();
    }

    async fn the_threshold_needs_enough_sessions_within_the_window(app) {
        let mut nine = Penalty::holiday(1, &["mum"], d(2025, 1, 6), d(2025, 2, 3));
        nine.sessions.truncate(9);
        assert_eq!(broken_rules(&issue(&app, nine.request("nine")).await.unwrap_err()), ["THRESHOLD_NOT_MET"]);

        // Ten sessions, but the first and last are 11 weeks apart: no 10-week window holds ten.
        let mut spread = Penalty::holiday(1, &["mum"], d(2025, 1, 6), d(2025, 4, 28));
        spread.sessions = sessions(d(2025, 1, 6), 1, "O");
        spread.sessions.extend(sessions(d(2025, 3, 3), 3, "U"));
        spread.sessions.extend(sessions(d(2025, 3, 24), 1, "N"));
        spread.reason = pb::OffenceReason::Other;
        assert_eq!(broken_rules(&issue(&app, spread.request("spread")).await.unwrap_err()), ["THRESHOLD_NOT_MET"]);

        let mut within = Penalty::holiday(1, &["mum"], d(2025, 1, 6), d(2025, 4, 28));
        within.sessions = sessions(d(2025, 1, 13), 1, "O");
        within.sessions.extend(sessions(d(2025, 3, 3), 3, "U"));
        within.sessions.extend(sessions(d(2025, 3, 17), 1, "N"));
        within.reason = pb::OffenceReason::Other;
        issue(&app, within.request("ten")).await.unwrap();

        // Authorised absence is not evidence.
        let mut illness = Penalty::holiday(2, &["mum"], d(2025, 1, 6), d(2025, 2, 3));
        illness.sessions = sessions(d(2025, 1, 6), 5, "I");
        let status = issue(&app, illness.request("ill")).await.unwrap_err();
        assert_eq!(violated_fields(&status).len(), 10);
    }

    async fn a_required_notice_to_improve_must_come_first_and_run_its_course(app) {
        // local_version requires a notice to improve for OTHER and LATE, and lets only LA officers issue.
        app.policy().create_policy_version(create("authorities/850", "v", local_version(2025, 9, 1))).await.unwrap();
        let mut other = Penalty::holiday(1, &["mum"], d(2025, 9, 1), d(2025, 9, 22));
        other.reason = pb::OffenceReason::Other;
        other.sessions = sessions(d(2025, 9, 1), 5, "O");
        assert_eq!(broken_rules(&issue(&app, other.request("p1")).await.unwrap_err()), ["NOTICE_TO_IMPROVE_REQUIRED"]);

        let nti = |weeks: i32, request_id: &str| pb::IssueNoticeToImproveRequest {
            parent: "authorities/850".into(),
            request_id: request_id.into(),
            pupil: pupil(1),
            parents: vec![parent("mum")],
            issue_date: date(2025, 9, 8),
            issuer: issuer(pb::IssuerRole::LaOfficer),
            improvement_period: Some(pb::ImprovementPeriod { start_date: date(2025, 9, 8), school_weeks: weeks, end_date: None, reason: "Attend every session".into() }),
            delivery: by_hand(),
            breach: None,
        };
        let status = app.notices().issue_notice_to_improve(nti(3, "n0")).await.unwrap_err();
        assert_eq!(violated_fields(&status), ["improvement_period.school_weeks"], "the policy's range is 4 to 6 weeks");
        let issued = app.notices().issue_notice_to_improve(nti(4, "n1")).await.unwrap().into_inner().notices;
        let period = issued[0].improvement_period.as_ref().unwrap();
        assert_eq!(ymd(&period.end_date), Some((2025, 10, 5)));
        assert_eq!(issued[0].kind, pb::NoticeKind::NoticeToImprove as i32);
        assert_eq!(issued[0].status, pb::NoticeStatus::ImprovementPeriodEnded as i32);

        let mut during = Penalty::holiday(1, &["mum"], d(2025, 9, 1), d(2025, 10, 3));
        during.reason = pb::OffenceReason::Other;
        during.sessions = sessions(d(2025, 9, 1), 5, "O");
        assert_eq!(broken_rules(&issue(&app, during.request("p2")).await.unwrap_err()), ["NOTICE_TO_IMPROVE_PERIOD_NOT_ENDED"]);

        let mut after = during;
        after.issue_date = d(2025, 10, 6);
        issue(&app, after.request("p3")).await.unwrap();

        // Holidays need no notice to improve under this policy, but only LA officers may issue.
        let mut head = Penalty::holiday(2, &["dad"], d(2025, 9, 1), d(2025, 9, 22)).request("p4");
        head.issuer = issuer(pb::IssuerRole::Unspecified);
        let refused = app.as_role("850", Role::SchoolStaff).notices().issue_penalty_notice(head.clone()).await.unwrap_err();
        assert_eq!(broken_rules(&refused), ["ISSUER_NOT_PERMITTED"]);
        // The capacity is the verified role's: an LA officer cannot claim to be a head teacher.
        head.issuer = issuer(pb::IssuerRole::HeadTeacher);
        assert_eq!(violated_fields(&issue(&app, head).await.unwrap_err()), ["issuer.role"]);
    }

    async fn concurrent_issues_never_exceed_the_limit(app) {
        // Twenty different holiday offences for one parent and pupil, at once.
        let calls = (0..20).map(|k| {
            let mut client = app.notices();
            let request = Penalty::holiday(7, &["mum"], d(2024, 9, 2) + Duration::weeks(k), d(2025, 6, 16)).request(&format!("c{k}"));
            tokio::spawn(async move { client.issue_penalty_notice(request).await })
        });
        let mut ok = 0;
        for call in calls {
            match call.await.unwrap() {
                Ok(_) => ok += 1,
                Err(status) => assert_eq!(broken_rules(&status), ["NOTICE_LIMIT"]),
            }
        }
        assert_eq!(ok, 2);
        let notices = all_notices(&app, "850").await;
        assert_eq!(notices.len(), 2);
        assert_eq!(notices.iter().filter(|n| n.second_notice).count(), 1);
    }

    async fn retrying_an_issue_returns_the_same_notices(app) {
        let request = Penalty::holiday(1, &["mum", "dad"], d(2025, 1, 6), d(2025, 2, 3)).request("same");
        let first = issue(&app, request.clone()).await.unwrap();
        let again = issue(&app, request.clone()).await.unwrap();
        assert_eq!(first, again);
        assert_eq!(all_notices(&app, "850").await.len(), 2);
        let mut changed = request;
        changed.parents.pop();
        assert_eq!(issue(&app, changed).await.unwrap_err().code(), Code::AlreadyExists);
    }

    async fn the_lifecycle_refuses_impossible_transitions(app) {
        let n = issue(&app, Penalty::holiday(1, &["mum"], d(2025, 1, 6), d(2025, 2, 3)).request("x")).await.unwrap().remove(0);
        assert_eq!(ymd(&n.higher_deadline), Some((2025, 3, 2)));
        let prosecute = |hearing: (i32, i32, i32), request_id: &str| pb::RecordProsecutionOutcomeRequest {
            name: n.name.clone(),
            request_id: request_id.into(),
            prosecution_outcome: Some(pb::ProsecutionOutcome {
                hearing_date: date(hearing.0, hearing.1, hearing.2),
                court: "Southampton Magistrates' Court".into(),
                result: pb::ProsecutionResult::Convicted as i32,
                fine_pence: 44_000,
                costs_pence: 10_000,
            }),
        };
        let future = app.notices().record_prosecution_outcome(prosecute((2099, 1, 5), "pf")).await.unwrap_err();
        assert_eq!(violated_fields(&future), ["prosecution_outcome.hearing_date"]);
        let early = app.notices().record_prosecution_outcome(prosecute((2025, 3, 2), "p0")).await.unwrap_err();
        assert_eq!(broken_rules(&early), ["NOTICE_NOT_YET_UNPAID"]);
        let done = app.notices().record_prosecution_outcome(prosecute((2025, 5, 20), "p1")).await.unwrap().into_inner().notice.unwrap();
        assert_eq!(done.status, pb::NoticeStatus::Prosecuted as i32);
        assert_eq!(done.prosecution_outcome.as_ref().unwrap().fine_pence, 44_000);
        assert_eq!(broken_rules(&app.notices().record_prosecution_outcome(prosecute((2025, 6, 1), "p2")).await.unwrap_err()), ["NOTICE_ALREADY_PROSECUTED"]);
        assert_eq!(broken_rules(&app.notices().withdraw_notice(withdraw(&n.name, "w0")).await.unwrap_err()), ["NOTICE_PROSECUTED"]);

        let m = issue(&app, Penalty::holiday(2, &["dad"], d(2025, 1, 6), d(2025, 2, 3)).request("y")).await.unwrap().remove(0);
        let withdrawn = app.notices().withdraw_notice(withdraw(&m.name, "w1")).await.unwrap().into_inner().notice.unwrap();
        assert_eq!(withdrawn.status, pb::NoticeStatus::Withdrawn as i32);
        assert_eq!(broken_rules(&app.notices().withdraw_notice(withdraw(&m.name, "w2")).await.unwrap_err()), ["NOTICE_ALREADY_WITHDRAWN"]);
        let mut prosecute_withdrawn = prosecute((2025, 5, 20), "p3");
        prosecute_withdrawn.name = m.name.clone();
        assert_eq!(broken_rules(&app.notices().record_prosecution_outcome(prosecute_withdrawn).await.unwrap_err()), ["NOTICE_WITHDRAWN"]);

        let events = app.notices().list_notice_events(pb::ListNoticeEventsRequest { parent: n.name.clone(), ..Default::default() }).await.unwrap().into_inner().notice_events;
        let actions: Vec<_> = events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["notice.penalty_notice_issued", "notice.prosecution_outcome_recorded"]);
        assert_eq!(events[1].request_id, "p1");
        assert_eq!(events[0].actor.as_ref().unwrap().subject, "la_officer@850");
        assert_eq!(events[0].actor.as_ref().unwrap().role, pb::Role::LaOfficer as i32);
        let details: serde_json::Value = serde_json::from_str(&events[1].details_json).unwrap();
        assert_eq!(details["court"], "Southampton Magistrates' Court");
    }

    async fn notices_are_listed_filtered_and_paged(app) {
        issue(&app, Penalty::holiday(1, &["mum", "dad"], d(2025, 1, 6), d(2025, 2, 3)).request("a")).await.unwrap();
        issue(&app, Penalty::holiday(2, &["gran"], d(2025, 1, 6), d(2025, 2, 10)).request("b")).await.unwrap();
        let w = issue(&app, Penalty::holiday(3, &["aunt"], d(2025, 1, 6), d(2025, 2, 17)).request("c")).await.unwrap();
        app.notices().withdraw_notice(withdraw(&w[0].name, "w")).await.unwrap();

        let list = |f: pb::ListNoticesRequest| {
            let mut client = app.notices();
            async move { client.list_notices(f).await.map(|r| r.into_inner()) }
        };
        let base = pb::ListNoticesRequest { parent: "authorities/850".into(), ..Default::default() };
        let by_parent = list(pb::ListNoticesRequest { parent_person_id: "gran".into(), ..base.clone() }).await.unwrap();
        assert_eq!(by_parent.notices.len(), 1);
        let withdrawn = list(pb::ListNoticesRequest { status: pb::NoticeStatus::Withdrawn as i32, ..base.clone() }).await.unwrap();
        assert_eq!(withdrawn.notices.iter().map(|n| n.name.clone()).collect::<Vec<_>>(), [w[0].name.clone()]);
        let unpaid = list(pb::ListNoticesRequest { status: pb::NoticeStatus::Unpaid as i32, ..base.clone() }).await.unwrap();
        assert_eq!(unpaid.notices.len(), 3);
        let by_pupil = list(pb::ListNoticesRequest { upn: upn(1), ..base.clone() }).await.unwrap();
        assert_eq!(by_pupil.notices.len(), 2);
        let dated = list(pb::ListNoticesRequest { issued_from: date(2025, 2, 10), issued_to: date(2025, 2, 10), ..base.clone() }).await.unwrap();
        assert_eq!(dated.notices.len(), 1);

        let page1 = list(pb::ListNoticesRequest { page_size: 3, ..base.clone() }).await.unwrap();
        assert_eq!(page1.notices.len(), 3);
        let page2 = list(pb::ListNoticesRequest { page_size: 3, page_token: page1.next_page_token.clone(), ..base.clone() }).await.unwrap();
        assert_eq!(page2.notices.len(), 1);
        assert!(page2.next_page_token.is_empty());
        let mut all: Vec<_> = page1.notices.iter().chain(&page2.notices).map(|n| (ymd(&n.issue_date), n.notice_number.clone())).collect();
        let sorted = { let mut s = all.clone(); s.sort(); s };
        assert_eq!(all, sorted, "issue date then number");
        all.dedup();
        assert_eq!(all.len(), 4);
        // One at a time, across the two notices sharing an issue date.
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let page = list(pb::ListNoticesRequest { page_size: 1, page_token: token.clone(), ..base.clone() }).await.unwrap();
            seen.extend(page.notices.iter().map(|n| n.notice_number.clone()));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        assert_eq!(seen.len(), 4);
        let garbled = list(pb::ListNoticesRequest { page_token: "7b7d".into(), ..base.clone() }).await.unwrap_err();
        assert_eq!(violated_fields(&garbled), ["page_token"]);
        let other_filter = list(pb::ListNoticesRequest { page_size: 3, page_token: page1.next_page_token, upn: upn(1), ..base.clone() }).await.unwrap_err();
        assert_eq!(violated_fields(&other_filter), ["page_token"]);

        let got = app.notices().get_notice(pb::GetNoticeRequest { name: w[0].name.clone() }).await.unwrap().into_inner().notice.unwrap();
        assert_eq!(got.status, pb::NoticeStatus::Withdrawn as i32);
        let elsewhere = w[0].name.replace("authorities/850", "authorities/852");
        assert_eq!(app.notices().get_notice(pb::GetNoticeRequest { name: elsewhere }).await.unwrap_err().code(), Code::NotFound);
    }

    async fn a_status_lists_the_notices_with_that_status_page_by_page(app) {
        // The status filter reads the recorded facts from a column the database
        // keeps (migration 0029) and the dates at read: as facts are recorded
        // and the days pass, every status lists, page by page and in order,
        // exactly the notices GetNotice shows with it.
        app.clock.set_day(d(2025, 2, 20));
        let mut n = Vec::new();
        for pupil in 1..=6 {
            let issued = d(2025, 2, 2) + Duration::days(i64::from(pupil));
            n.extend(issue(&app, Penalty::holiday(pupil, &["mum"], d(2025, 1, 6), issued).request(&format!("i{pupil}"))).await.unwrap());
        }
        for (k, notice) in [&n[0], &n[3]].into_iter().enumerate() {
            crate::helpers::payments::pay(&app, crate::helpers::payments::payment("850", &format!("pay-{k}"), 8_000, d(2025, 2, 19), &notice.notice_number, &[])).await;
        }
        let mut withdrawal = withdraw(&n[1].name, "w");
        withdrawal.withdrawal.as_mut().unwrap().withdrawal_date = date(2025, 2, 20);
        app.notices().withdraw_notice(withdrawal).await.unwrap();

        check_statuses(&app, &n, [&[2, 4, 5], &[0, 3], &[], &[], &[1], &[]]).await;

        // Past the higher deadlines (3 to 8 March), the open ones are unpaid;
        // one is then prosecuted.
        app.clock.set_day(d(2025, 4, 1));
        check_statuses(&app, &n, [&[], &[0, 3], &[2, 4, 5], &[], &[1], &[]]).await;
        app.notices().record_prosecution_outcome(pb::RecordProsecutionOutcomeRequest {
            name: n[4].name.clone(),
            request_id: "p".into(),
            prosecution_outcome: Some(pb::ProsecutionOutcome {
                hearing_date: date(2025, 3, 20),
                court: "Southampton Magistrates' Court".into(),
                result: pb::ProsecutionResult::Convicted as i32,
                fine_pence: 44_000,
                costs_pence: 10_000,
            }),
        }).await.unwrap();
        check_statuses(&app, &n, [&[], &[0, 3], &[2, 5], &[4], &[1], &[]]).await;
    }

    async fn migration_0029_gives_the_notices_held_their_recorded_status(app) {
        // Notices paid and withdrawn while the status was a read-time
        // expression; then migration 0029 as the upgrade runs it.
        app.clock.set_day(d(2025, 2, 20));
        let mut n = Vec::new();
        for pupil in 1..=3 {
            n.extend(issue(&app, Penalty::holiday(pupil, &["mum"], d(2025, 1, 6), d(2025, 2, 3)).request(&format!("i{pupil}"))).await.unwrap());
        }
        crate::helpers::payments::pay(&app, crate::helpers::payments::payment("850", "pay", 8_000, d(2025, 2, 19), &n[0].notice_number, &[])).await;
        let mut withdrawal = withdraw(&n[1].name, "w");
        withdrawal.withdrawal.as_mut().unwrap().withdrawal_date = date(2025, 2, 20);
        app.notices().withdraw_notice(withdrawal).await.unwrap();
        for before in [
            "DROP INDEX notices_by_recorded_status",
            "ALTER TABLE notices DROP COLUMN recorded_status",
            "DROP INDEX notices_by_pupil",
            "CREATE INDEX notices_by_pupil ON notices (authority_code, upn, issue_date)",
        ] {
            app.execute_raw(before).await.unwrap();
        }
        let migration = match app.backend {
            lea_notices::store::Backend::Postgres => include_str!("../../src/store/postgres/migrations/0029_notices_by_recorded_status.sql"),
            lea_notices::store::Backend::Sqlite => include_str!("../../src/store/sqlite/migrations/0029_notices_by_recorded_status.sql"),
        };
        for statement in migration.split(';').map(str::trim).filter(|s| s.lines().any(|l| !l.trim().is_empty() && !l.trim_start().starts_with("--"))) {
            app.execute_raw(statement).await.unwrap();
        }
        check_statuses(&app, &n, [&[2], &[0], &[], &[], &[1], &[]]).await;
    }

    async fn malformed_requests_name_every_bad_field(app) {
        let mut bad = Penalty::holiday(1, &["mum"], d(2025, 1, 6), d(2025, 2, 3)).request("");
        bad.pupil.as_mut().unwrap().upn = "A801200005001".into();
        bad.parents.push(parent("mum"));
        bad.offence.as_mut().unwrap().reason = pb::OffenceReason::Unspecified as i32;
        bad.issue_date = date(2099, 1, 1);
        let status = issue(&app, bad).await.unwrap_err();
        assert_eq!(
            violated_fields(&status),
            ["request_id", "pupil.upn", "parents[1].person_id", "issue_date", "offence.reason"]
        );
        assert_eq!(audit_count(&app, "850").await, 0);
    }
}
