//! The registers as a notice's evidence (issue 15): claimed sessions checked
//! against the marks held, notices issued from a breach, school weeks at issue
//! and in improvement periods, and later corrections of backing marks.

use chrono::{Duration, NaiveDate};
use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::attendance::{SCHOOL, batch, mark, record, week};
use crate::helpers::notices::{Penalty, by_hand, d, issue, issuer, parent, proto_date, pupil, upn};
use crate::helpers::policy::{create, local_version};
use crate::helpers::{As, TestApp, broken_rules, on_both_backends, violated_fields};

const OTHER_SCHOOL: &str = "116440";

fn officer(app: &TestApp) -> As {
    app.as_role("850", Role::LaOfficer)
}

/// Loads `marks` in one batch per 1,000.
async fn load(app: &TestApp, name: &str, marks: Vec<pb::Mark>) {
    let batches = marks
        .chunks(1_000)
        .enumerate()
        .map(|(i, c)| batch(&format!("{name}-{i}"), c.to_vec()))
        .collect();
    record(&officer(app), batches).await.unwrap();
}

/// `weeks` school weeks of a pupil from `first`: present, except the weeks
/// `closed` (a planned closure, `#`: no possible session) and the absences
/// `absent` gives as (week, code, sessions).
fn term(
    school: &str,
    pupil: u32,
    first: NaiveDate,
    weeks: i64,
    closed: &[i64],
    absent: &[(i64, &str, &[usize])],
) -> Vec<pb::Mark> {
    (0..weeks)
        .flat_map(|w| {
            let monday = first + Duration::weeks(w);
            if closed.contains(&w) {
                return week(school, pupil, monday, "#", &(0..10).collect::<Vec<_>>());
            }
            match absent.iter().find(|(aw, _, _)| *aw == w) {
                Some((_, code, sessions)) => week(school, pupil, monday, code, sessions),
                None => week(school, pupil, monday, "/", &[]),
            }
        })
        .collect()
}

/// The week's sessions numbered as `week` numbers them, with `code`.
fn claims(monday: NaiveDate, which: &[usize], code: &str) -> Vec<pb::SessionMark> {
    which
        .iter()
        .map(|&i| pb::SessionMark {
            date: proto_date(monday + Duration::days(i as i64 / 2)),
            session: if i % 2 == 0 {
                pb::Session::Am
            } else {
                pb::Session::Pm
            } as i32,
            code: code.into(),
        })
        .collect()
}

fn penalty(
    pupil_n: u32,
    sessions: Vec<pb::SessionMark>,
    issue_date: NaiveDate,
) -> pb::IssuePenaltyNoticeRequest {
    let mut p = Penalty::holiday(pupil_n, &["mum"], d(2026, 3, 2), issue_date);
    p.sessions = sessions;
    p.request(&format!("pn-{pupil_n}-{issue_date}"))
}

/// `(rule, subject, description)` of a FAILED_PRECONDITION.
fn violations(status: &tonic::Status) -> Vec<(String, String, String)> {
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    status
        .get_details_precondition_failure()
        .expect("PreconditionFailure details")
        .violations
        .into_iter()
        .map(|v| (v.r#type, v.subject, v.description))
        .collect()
}

on_both_backends! {
    async fn claims_the_register_holds_as_present_are_refused_naming_them_and_held_g_is_matched(app) {
        let monday = d(2026, 3, 2);
        // Pupil 1 was in school all week; pupil 2 was on holiday (G) all week.
        load(&app, "p1", week(SCHOOL, 1, monday, "/", &[])).await;
        load(&app, "p2", week(SCHOOL, 2, monday, "G", &(0..10).collect::<Vec<_>>())).await;
        let all: Vec<usize> = (0..10).collect();

        let refused = issue(&app, penalty(1, claims(monday, &all, "G"), d(2026, 3, 16)))
            .await
            .unwrap_err();
        let found = violations(&refused);
        assert_eq!(found.len(), 10, "{found:?}");
        assert!(found.iter().all(|(rule, _, _)| rule == "REGISTER_CONTRADICTS_CLAIM"));
        assert_eq!(found[0].1, "2026-03-02 AM");
        assert_eq!(found[1].1, "2026-03-02 PM");
        assert!(found[0].2.contains("holds '/'") && found[0].2.contains(SCHOOL), "{}", found[0].2);
        assert!(found[1].2.contains("holds '\\'"), "{}", found[1].2);
        let listed = officer(&app)
            .notices()
            .list_notices(pb::ListNoticesRequest {
                parent: "authorities/850".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(listed.notices.is_empty(), "a refusal writes nothing");

        let notices = issue(&app, penalty(2, claims(monday, &all, "G"), d(2026, 3, 16)))
            .await
            .unwrap();
        let evidence = &notices[0].session_evidence;
        assert_eq!(evidence.len(), 10);
        assert!(evidence.iter().all(|e| e.matched && e.held_code == "G" && e.source_school_urn == SCHOOL));
        assert_eq!(evidence[0].date, proto_date(monday));
        assert!(notices[0].evidence_corrections.is_empty());

        // The school later corrects Monday morning to M (medical appointment):
        // the notice says so, and so do its events.
        let corrected = record(
            &officer(&app),
            vec![batch("fix", vec![mark(SCHOOL, 2, monday, pb::Session::Am, "M", 3_600)])],
        )
        .await
        .unwrap();
        assert_eq!(corrected.replaced, 1);
        let name = notices[0].name.clone();
        let notice = officer(&app)
            .notices()
            .get_notice(pb::GetNoticeRequest { name: name.clone() })
            .await
            .unwrap()
            .into_inner()
            .notice
            .unwrap();
        assert_eq!(notice.evidence_corrections.len(), 1);
        let c = &notice.evidence_corrections[0];
        assert_eq!(
            (c.date, c.session, c.school_urn.as_str(), c.previous_code.as_str(), c.new_code.as_str(), c.request_id.as_str()),
            (proto_date(monday), pb::Session::Am as i32, SCHOOL, "G", "M", "fix")
        );
        let events = officer(&app)
            .notices()
            .list_notice_events(pb::ListNoticeEventsRequest {
                parent: name,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .notice_events;
        let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["notice.penalty_notice_issued", "notice.evidence_corrected"]);
        assert!(events[1].details_json.contains("\"new_code\":\"M\""), "{}", events[1].details_json);
        // Pupil 1's correction backs no notice and records nothing on pupil 2's.
        record(
            &officer(&app),
            vec![batch("other", vec![mark(SCHOOL, 1, monday, pb::Session::Am, "O", 3_600)])],
        )
        .await
        .unwrap();
        let notice = officer(&app)
            .notices()
            .get_notice(pb::GetNoticeRequest { name: notices[0].name.clone() })
            .await
            .unwrap()
            .into_inner()
            .notice
            .unwrap();
        assert_eq!(notice.evidence_corrections.len(), 1);
    }

    async fn unheld_sessions_need_the_policy_where_the_school_sent_registers(app) {
        let monday = d(2026, 3, 2);
        // The school sent registers that week, with no mark for pupil 3.
        load(&app, "p1", week(SCHOOL, 1, monday, "/", &[])).await;
        let all: Vec<usize> = (0..10).collect();
        let refused = issue(&app, penalty(3, claims(monday, &all, "G"), d(2026, 3, 16)))
            .await
            .unwrap_err();
        assert_eq!(broken_rules(&refused), vec!["SESSION_NOT_IN_REGISTER"; 10]);
        // A week no register is held for: the claim stands, not matched.
        let earlier = d(2026, 2, 2);
        let notices = issue(&app, penalty(3, claims(earlier, &all, "G"), d(2026, 3, 16)))
            .await
            .unwrap();
        assert!(notices[0].session_evidence.iter().all(|e| !e.matched && e.held_code.is_empty()));
        // A policy that allows claims accepts the first week too, not matched.
        let mut version = local_version(2026, 4, 1);
        version.evidence_rule = pb::EvidenceRule::ClaimsAllowed as i32;
        let created = app
            .policy()
            .create_policy_version(create("authorities/850", "claims", version))
            .await
            .unwrap()
            .into_inner()
            .policy_version
            .unwrap();
        assert_eq!(created.evidence_rule, pb::EvidenceRule::ClaimsAllowed as i32);
        let mut other_parent = penalty(3, claims(monday, &all, "G"), d(2026, 4, 13));
        other_parent.parents = vec![parent("dad")];
        let notices = issue(&app, other_parent).await.unwrap();
        assert_eq!(notices[0].session_evidence.len(), 10);
        assert!(notices[0].session_evidence.iter().all(|e| !e.matched));
    }

    async fn a_notice_from_a_breach_carries_exactly_the_breachs_sessions(app) {
        let first = d(2026, 3, 2);
        // Six O then four G over two weeks: a breach as of Friday 13 March; an
        // absence the Monday after is not part of it.
        let absences = [(0, "O", &[0, 1, 2, 3, 4, 5][..]), (1, "G", &[0, 1, 2, 3][..]), (2, "O", &[0][..])];
        let mut marks = term(SCHOOL, 4, first, 3, &[], &absences);
        // Pupil 8 the same: a breach of their own for the notice to improve
        // (issuing from a breach closes it, so one breach backs one issue).
        marks.extend(term(SCHOOL, 8, first, 3, &[], &absences));
        marks.extend(week(SCHOOL, 5, first, "/", &[]));
        load(&app, "term", marks).await;
        let as_of = d(2026, 3, 13);
        let breach = officer(&app)
            .attendance()
            .list_threshold_breaches(pb::ListThresholdBreachesRequest {
                parent: "authorities/850".into(),
                as_of_date: proto_date(as_of),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .threshold_breaches;
        assert_eq!(breach.len(), 2);
        let of = |n: u32| breach.iter().find(|b| b.upn == upn(n)).expect("a breach").clone();
        let (breach, breach_8) = (vec![of(4)], of(8));
        assert_eq!(breach[0].sessions.len(), 10);
        let reference = Some(pb::BreachReference {
            upn: upn(4),
            as_of_date: proto_date(as_of),
        });

        let mut request = penalty(4, vec![], d(2026, 3, 20));
        request.breach = reference.clone();
        let notices = issue(&app, request).await.unwrap();
        assert_eq!(notices[0].sessions, breach[0].sessions);
        assert!(notices[0].session_evidence.iter().all(|e| e.matched));

        let nti = officer(&app)
            .notices()
            .issue_notice_to_improve(pb::IssueNoticeToImproveRequest {
                parent: "authorities/850".into(),
                request_id: "nti-4".into(),
                pupil: pupil(8),
                parents: vec![parent("dad")],
                issue_date: proto_date(d(2026, 3, 20)),
                issuer: issuer(pb::IssuerRole::LaOfficer),
                improvement_period: Some(pb::ImprovementPeriod {
                    start_date: proto_date(d(2026, 3, 23)),
                    school_weeks: 4,
                    end_date: None,
                    reason: "Attend every session".into(),
                }),
                delivery: by_hand(),
                breach: Some(pb::BreachReference { upn: upn(8), as_of_date: proto_date(as_of) }),
            })
            .await
            .unwrap()
            .into_inner()
            .notices;
        assert_eq!(nti[0].sessions, breach_8.sessions);
        // Pupil 4's breach is closed by its penalty notice: it backs no second issue.
        let mut again = penalty(4, vec![], d(2026, 3, 20));
        again.request_id = "again".into();
        again.breach = reference.clone();
        assert_eq!(broken_rules(&issue(&app, again).await.unwrap_err()), ["BREACH_NOT_FOUND"]);

        // Pupil 5 has no breach; sessions and a breach together are refused.
        let mut none = penalty(5, vec![], d(2026, 3, 20));
        none.breach = Some(pb::BreachReference { upn: upn(5), as_of_date: proto_date(as_of) });
        let refused = issue(&app, none).await.unwrap_err();
        assert_eq!(broken_rules(&refused), ["BREACH_NOT_FOUND"]);
        let mut both = penalty(4, claims(first, &[0], "O"), d(2026, 3, 20));
        both.breach = reference;
        let refused = issue(&app, both).await.unwrap_err();
        assert_eq!(violated_fields(&refused), ["sessions"]);
    }

    async fn an_improvement_period_over_half_term_ends_a_week_later_than_in_calendar_weeks(app) {
        let first = d(2026, 1, 5);
        // Pupil 6's school closes for half-term in the week of 16 Feb; pupil 7's
        // (another school) does not.
        load(&app, "six", term(SCHOOL, 6, first, 12, &[6], &[])).await;
        load(&app, "seven", term(OTHER_SCHOOL, 7, first, 12, &[], &[])).await;
        let start = d(2026, 2, 2);
        let nti = |n: u32, school: &str| {
            let mut p = pupil(n).unwrap();
            p.school_urn = school.into();
            pb::IssueNoticeToImproveRequest {
                parent: "authorities/850".into(),
                request_id: format!("nti-{n}"),
                pupil: Some(p),
                parents: vec![parent("mum")],
                issue_date: proto_date(start),
                issuer: issuer(pb::IssuerRole::LaOfficer),
                improvement_period: Some(pb::ImprovementPeriod {
                    start_date: proto_date(start),
                    school_weeks: 4,
                    end_date: None,
                    reason: "Attend every session".into(),
                }),
                delivery: by_hand(),
                breach: None,
            }
        };
        let end = |n: pb::IssueNoticeToImproveRequest| {
            let app = &app;
            async move {
                officer(app)
                    .notices()
                    .issue_notice_to_improve(n)
                    .await
                    .unwrap()
                    .into_inner()
                    .notices[0]
                    .improvement_period
                    .clone()
                    .unwrap()
                    .end_date
            }
        };
        // Four calendar weeks end on 1 March; four school weeks skip half-term.
        assert_eq!(end(nti(7, OTHER_SCHOOL)).await, proto_date(d(2026, 3, 1)));
        assert_eq!(end(nti(6, SCHOOL)).await, proto_date(d(2026, 3, 8)));
    }

    async fn the_threshold_at_issue_counts_a_half_term_week_as_no_school_week(app) {
        let first = d(2026, 1, 5);
        let five: &[usize] = &[0, 1, 2, 3, 4];
        // Five G in the first week and five in the eleventh: ten school weeks
        // apart only where the seventh week is half-term.
        let absences = [(0, "G", five), (10, "G", five)];
        load(&app, "eight", term(SCHOOL, 8, first, 11, &[6], &absences)).await;
        load(&app, "nine", term(OTHER_SCHOOL, 9, first, 11, &[], &absences)).await;
        let claimed: Vec<pb::SessionMark> = claims(first, five, "G")
            .into_iter()
            .chain(claims(first + Duration::weeks(10), five, "G"))
            .collect();
        let notices = issue(&app, penalty(8, claimed.clone(), d(2026, 3, 23)))
            .await
            .unwrap();
        assert!(notices[0].session_evidence.iter().all(|e| e.matched));
        let mut at_other = penalty(9, claimed, d(2026, 3, 23));
        at_other.pupil.as_mut().unwrap().school_urn = OTHER_SCHOOL.into();
        let refused = issue(&app, at_other).await.unwrap_err();
        let found = violations(&refused);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "THRESHOLD_NOT_MET");
        assert!(found[0].2.starts_with("5 qualifying sessions"), "{}", found[0].2);
    }
}
