//! Retention: each authority's periods as data (PolicyService), versioned by
//! date with sourced defaults.

use chrono::Datelike;
use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use tonic::Code;

use crate::helpers::{TestApp, date, on_both_backends, violated_fields};

fn version(y: i32, m: i32, d: i32, register_years: i32) -> pb::RetentionPolicyVersion {
    pb::RetentionPolicyVersion {
        effective_from: date(y, m, d),
        register_years,
        breach_years: 7,
        notice_years: 8,
        payment_years: 9,
        access_log_years: 3,
        ..Default::default()
    }
}

async fn create_retention(
    app: &TestApp,
    request_id: &str,
    v: pb::RetentionPolicyVersion,
) -> Result<pb::RetentionPolicyVersion, tonic::Status> {
    app.policy()
        .create_retention_policy_version(pb::CreateRetentionPolicyVersionRequest {
            parent: "authorities/850".into(),
            request_id: request_id.into(),
            retention_policy_version: Some(v),
        })
        .await
        .map(|r| r.into_inner().retention_policy_version.unwrap())
}

async fn retention_on(
    app: &TestApp,
    la: &str,
    y: i32,
    m: i32,
    d: i32,
) -> pb::RetentionPolicyVersion {
    app.as_role(la, Role::Auditor)
        .policy()
        .get_retention_policy(pb::GetRetentionPolicyRequest {
            parent: format!("authorities/{la}"),
            date: date(y, m, d),
        })
        .await
        .unwrap()
        .into_inner()
        .retention_policy_version
        .unwrap()
}

on_both_backends! {
    async fn retention_periods_are_versioned_by_date_with_sourced_defaults(app) {
        let defaults = retention_on(&app, "850", 2026, 1, 6).await;
        assert_eq!(defaults.source(), pb::RetentionPolicySource::Default);
        assert_eq!(
            (defaults.register_years, defaults.breach_years, defaults.notice_years, defaults.payment_years, defaults.access_log_years),
            (6, 6, 6, 6, 2)
        );
        assert_eq!((defaults.name.as_str(), defaults.effective_from), ("", None));
        let fields: Vec<&str> = defaults.bases.iter().map(|b| b.field.as_str()).collect();
        assert_eq!(fields, ["register_years", "breach_years", "notice_years", "payment_years", "access_log_years"]);
        assert!(defaults.bases[0].basis.contains("Pupil Registration"), "{:?}", defaults.bases[0]);
        assert!(defaults.bases[3].basis.contains("Limitation Act 1980"), "{:?}", defaults.bases[3]);

        let created = create_retention(&app, "r1", version(2026, 4, 1, 7)).await.unwrap();
        assert_eq!(created.name, "authorities/850/retentionPolicyVersions/2026-04-01");
        assert_eq!(created.source(), pb::RetentionPolicySource::Authority);
        assert!(created.bases.is_empty() && created.creator.is_some() && created.create_time.is_some());
        // A retry answers the same, and publishes nothing more.
        let again = create_retention(&app, "r1", version(2026, 4, 1, 7)).await.unwrap();
        assert_eq!(again, created);
        create_retention(&app, "r2", version(2028, 4, 1, 10)).await.unwrap();

        assert_eq!(retention_on(&app, "850", 2026, 3, 31).await.source(), pb::RetentionPolicySource::Default);
        let own = retention_on(&app, "850", 2026, 4, 1).await;
        assert_eq!((own.register_years, own.breach_years, own.notice_years, own.payment_years, own.access_log_years), (7, 7, 8, 9, 3));
        assert_eq!(retention_on(&app, "850", 2028, 3, 31).await.register_years, 7);
        assert_eq!(retention_on(&app, "850", 2030, 1, 1).await.register_years, 10);
        // Another authority keeps the defaults.
        assert_eq!(retention_on(&app, "852", 2030, 1, 1).await.source(), pb::RetentionPolicySource::Default);

        // Audited, once.
        let events = app.as_role("850", Role::Auditor).audit()
            .list_audit_events(pb::ListAuditEventsRequest {
                parent: "authorities/850".into(),
                action: "retention_policy_version.created".into(),
                page_size: 10,
                ..Default::default()
            }).await.unwrap().into_inner().audit_events;
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].resource, created.name);
    }

    async fn retention_periods_are_validated_and_only_admins_publish_them(app) {
        let short = create_retention(&app, "r1", version(2026, 4, 1, 5)).await.unwrap_err();
        assert_eq!(violated_fields(&short), ["retention_policy_version.register_years"]);
        let mut bad = version(2026, 4, 1, 101);
        bad.breach_years = 0;
        bad.access_log_years = 101;
        let bad = create_retention(&app, "r2", bad).await.unwrap_err();
        assert_eq!(
            violated_fields(&bad),
            ["retention_policy_version.register_years", "retention_policy_version.breach_years", "retention_policy_version.access_log_years"]
        );
        let mut undated = version(2026, 4, 1, 6);
        undated.effective_from = None;
        let undated = create_retention(&app, "r3", undated).await.unwrap_err();
        assert_eq!(violated_fields(&undated), ["retention_policy_version.effective_from"]);

        create_retention(&app, "r4", version(2026, 4, 1, 6)).await.unwrap();
        let duplicate = create_retention(&app, "r5", version(2026, 4, 1, 8)).await.unwrap_err();
        assert_eq!(violated_fields(&duplicate), ["retention_policy_version.effective_from"]);

        let officer = app.as_role("850", Role::LaOfficer).policy()
            .create_retention_policy_version(pb::CreateRetentionPolicyVersionRequest {
                parent: "authorities/850".into(),
                request_id: "r6".into(),
                retention_policy_version: Some(version(2027, 4, 1, 6)),
            }).await.unwrap_err();
        assert_eq!(officer.code(), Code::PermissionDenied);
        assert_eq!(retention_on(&app, "850", 2030, 1, 1).await.register_years, 6);
    }
}

// The purge: what is past retention on a day is removed or pseudonymised,
// batch by batch, each audited; the chain still verifies.

use chrono::NaiveDate;
use lea_notices::store::Backend;

use crate::helpers::attendance::{SCHOOL, batch, first, record, week};
use crate::helpers::notices::{Penalty, d, issue, proto_date};
use crate::helpers::payments::{pay, payment};

/// A number the tables' owner reads (counts, texts).
async fn scalar<T>(app: &TestApp, sql: &str) -> T
where
    T: Send
        + Unpin
        + for<'r> sqlx::Decode<'r, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
        + for<'r> sqlx::Decode<'r, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>,
{
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    match app.backend {
        Backend::Postgres => {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(app.database_url())
                .await
                .unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
        }
        Backend::Sqlite => {
            let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(app.database_url())
                .await
                .unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
        }
    }
}

async fn count(app: &TestApp, table_and_filter: &str) -> i64 {
    scalar::<i64>(app, &format!("SELECT count(*) FROM {table_and_filter}")).await
}

/// The `retention.purged` events: (kind, count) each.
async fn purged_events(app: &TestApp) -> Vec<(String, i64)> {
    app.as_role("850", Role::Auditor)
        .audit()
        .list_audit_events(pb::ListAuditEventsRequest {
            parent: "authorities/850".into(),
            action: "retention.purged".into(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .audit_events
        .into_iter()
        .map(|e| {
            let details: serde_json::Value = serde_json::from_str(&e.details_json).unwrap();
            assert!(
                details.get("first_key").is_some() && details.get("cut_off").is_some(),
                "{details}"
            );
            (
                details["kind"].as_str().unwrap().to_string(),
                details["count"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn audited(events: &[(String, i64)], kind: &str) -> i64 {
    events
        .iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, n)| n)
        .sum()
}

async fn verify(app: &TestApp) -> pb::VerifyAuditTrailResponse {
    app.as_role("850", Role::Auditor)
        .audit()
        .verify_audit_trail(pb::VerifyAuditTrailRequest {
            parent: "authorities/850".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

async fn purge_on(
    app: &TestApp,
    day: NaiveDate,
    batch_size: i64,
) -> lea_notices::app::retention::PurgeReport {
    app.clock.set_day(day);
    app.service.purge(day, batch_size).await.unwrap()
}

async fn notice(app: &TestApp, name: &str) -> pb::Notice {
    app.as_role("850", Role::Auditor)
        .notices()
        .get_notice(pb::GetNoticeRequest { name: name.into() })
        .await
        .unwrap()
        .into_inner()
        .notice
        .unwrap()
}

/// `marks` as recorded `minutes` after midnight on 31 January 2020.
fn recorded(mut marks: Vec<pb::Mark>, minutes: i64) -> Vec<pb::Mark> {
    for m in &mut marks {
        m.record_time = Some(prost_types::Timestamp {
            seconds: 1_580_428_800 + minutes * 60,
            nanos: 0,
        });
    }
    marks
}

/// Marks for pupils 1 to `pupils` over the school weeks of 6 and 13 January 2020.
async fn two_weeks_of_marks(app: &TestApp, pupils: u32) {
    let officer = app.as_role("850", Role::LaOfficer);
    for p in 1..=pupils {
        let mut marks = week(SCHOOL, p, d(2020, 1, 6), "G", &first(10));
        marks.extend(week(SCHOOL, p, d(2020, 1, 13), "G", &[]));
        record(&officer, vec![batch(&format!("m{p}"), recorded(marks, 1))])
            .await
            .unwrap();
    }
}

on_both_backends! {
    async fn records_past_retention_are_purged_on_their_day_and_the_rest_kept(app) {
        app.clock.set_day(d(2020, 1, 31));
        two_weeks_of_marks(&app, 3).await;
        // A correction on 13 January: two held marks move to the history.
        let officer = app.as_role("850", Role::LaOfficer);
        record(&officer, vec![batch("fix", recorded(week(SCHOOL, 1, d(2020, 1, 13), "O", &[0, 1]).into_iter().take(2).collect(), 2))]).await.unwrap();
        assert_eq!((count(&app, "attendance_marks").await, count(&app, "attendance_mark_history").await), (60, 2));

        // Three notices: one withdrawn and one paid on 31 January (closed), one open.
        let withdrawn = issue(&app, Penalty::holiday(1, &["mum"], d(2020, 1, 6), d(2020, 1, 20)).request("n1")).await.unwrap().remove(0);
        let paid = issue(&app, Penalty::holiday(2, &["dad"], d(2020, 1, 6), d(2020, 1, 20)).request("n2")).await.unwrap().remove(0);
        let open = issue(&app, Penalty::holiday(3, &["gran"], d(2020, 1, 6), d(2020, 1, 20)).request("n3")).await.unwrap().remove(0);
        officer.notices().withdraw_notice(pb::WithdrawNoticeRequest {
            name: withdrawn.name.clone(),
            request_id: "w1".into(),
            withdrawal: Some(pb::Withdrawal {
                ground: pb::WithdrawalGround::IssuedToWrongPerson as i32,
                reason: "Parent does not live at the address".into(),
                withdrawal_date: proto_date(d(2020, 1, 31)),
            }),
        }).await.unwrap();
        let lower = paid.lower_amount_pence;
        let mut request = payment("850", "p1", lower, d(2020, 1, 31), "", &[(&paid.name, lower)]);
        request.payment.as_mut().unwrap().receive_time = Some(prost_types::Timestamp { seconds: 1_580_428_800, nanos: 0 });
        let payment = pay(&app, request).await;
        assert_eq!(notice(&app, &paid.name).await.status(), pb::NoticeStatus::Paid);

        // The day before six years from the first marks: nothing.
        // (The reads of 2020 left in the access log went years ago.)
        let none = purge_on(&app, d(2026, 1, 5), 1000).await;
        assert!(none.records.keys().all(|k| *k == "access_log"), "{none:?}");
        assert_eq!(count(&app, "attendance_marks").await, 60);

        // On the day: exactly the marks of 6 January 2020 (3 pupils, AM and PM).
        let first_day = purge_on(&app, d(2026, 1, 6), 1000).await;
        assert_eq!(first_day.records.get("registers"), Some(&6), "{first_day:?}");
        assert_eq!(count(&app, "attendance_marks").await, 54);
        assert_eq!(count(&app, "attendance_marks WHERE mark_date <= '2020-01-06'").await, 0);

        // A week later: the rest of that week and 13 January, its history, and
        // the weekly figures of the week wholly past.
        purge_on(&app, d(2026, 1, 13), 1000).await;
        assert_eq!(count(&app, "attendance_marks").await, 3 * 8);
        assert_eq!(count(&app, "attendance_mark_history").await, 0);
        assert_eq!(count(&app, "attendance_week_figures WHERE week_start = '2020-01-06'").await, 0);
        assert!(count(&app, "attendance_week_figures WHERE week_start = '2020-01-13'").await > 0);
        // Notices and payments closed on 31 January 2020 are kept until 2026-01-31.
        assert_eq!(notice(&app, &withdrawn.name).await.pupil.unwrap().given_name, withdrawn.pupil.clone().unwrap().given_name);

        let last = purge_on(&app, d(2026, 1, 31), 1000).await;
        assert_eq!((last.records.get("notices"), last.records.get("payments")), (Some(&2), Some(&1)), "{last:?}");
        assert_eq!(count(&app, "attendance_marks").await, 0);
        assert_eq!(count(&app, "attendance_enrolments").await, 0);
        assert_eq!(count(&app, "attendance_week_figures").await, 0);
        for name in [&withdrawn.name, &paid.name] {
            let n = notice(&app, name).await;
            let (pupil, parent) = (n.pupil.clone().unwrap(), n.parent.clone().unwrap());
            assert_eq!((pupil.upn.as_str(), pupil.given_name.as_str(), pupil.family_name.as_str()), ("A000000000000", "erased", "erased"), "{n:?}");
            assert_eq!((parent.given_name.as_str(), parent.family_name.as_str(), parent.person_id.as_str()), ("erased", "erased", "erased"));
            // What the statistics need stays.
            assert_eq!((n.notice_number.as_str(), n.issue_date), (name.rsplit('/').next().unwrap(), proto_date(d(2020, 1, 20))));
        }
        let kept = notice(&app, &open.name).await;
        assert_eq!(kept.pupil, open.pupil, "an open notice is never purged");
        assert_eq!(kept.parent, open.parent);
        let payer: String = scalar(&app, "SELECT payer_name FROM payments").await;
        assert_eq!(payer, "erased");
        let amount: i64 = scalar(&app, "SELECT amount_pence FROM payments").await;
        assert_eq!(amount, payment.amount_pence);

        // Audited batch by batch, counting what went; the chain still verifies
        // with the details of the purged records' events erased.
        let events = purged_events(&app).await;
        assert_eq!((audited(&events, "registers"), audited(&events, "notices"), audited(&events, "payments")), (60, 2, 1), "{events:?}");
        let v = verify(&app).await;
        assert!(v.intact, "{v:?}");
        assert!(v.erased_events > 0, "{v:?}");
        let about_paid = app.as_role("850", Role::Auditor).audit()
            .list_audit_events(pb::ListAuditEventsRequest {
                parent: "authorities/850".into(),
                resource: paid.name.clone(),
                page_size: 100,
                ..Default::default()
            }).await.unwrap().into_inner().audit_events;
        assert!(!about_paid.is_empty());
        assert!(about_paid.iter().all(|e| e.details_json == "{\"erased\":true}"), "{about_paid:?}");
        // A purge again on the same day finds nothing left.
        assert_eq!(purge_on(&app, d(2026, 1, 31), 1000).await.batches, 0);
    }

    async fn a_purge_stopped_after_a_batch_finishes_on_the_next_run(app) {
        app.clock.set_day(d(2020, 1, 31));
        two_weeks_of_marks(&app, 2).await;
        let on = d(2026, 2, 2);
        app.clock.set_day(on);
        let one = app.service.purge_batches(on, 1, Some(1)).await.unwrap();
        assert!(one.stopped_early && one.batches == 1, "{one:?}");
        assert_eq!(count(&app, "attendance_marks").await, 39);
        let rest = app.service.purge(on, 7).await.unwrap();
        assert_eq!(rest.records.get("registers"), Some(&39), "{rest:?}");
        assert_eq!(count(&app, "attendance_marks").await, 0);
        assert_eq!(count(&app, "attendance_enrolments").await, 0);
        let events = purged_events(&app).await;
        assert_eq!(audited(&events, "registers"), 40, "{events:?}");
        assert!(verify(&app).await.intact);
    }

    async fn two_purges_at_once_remove_each_record_once(app) {
        app.clock.set_day(d(2020, 1, 31));
        two_weeks_of_marks(&app, 3).await;
        let on = d(2026, 2, 2);
        app.clock.set_day(on);
        let (a, b) = tokio::join!(app.service.purge(on, 4), app.service.purge(on, 4));
        let (a, b) = (a.unwrap(), b.unwrap());
        let removed = a.records.get("registers").copied().unwrap_or(0) + b.records.get("registers").copied().unwrap_or(0);
        assert_eq!(removed, 60, "{a:?} {b:?}");
        assert_eq!(count(&app, "attendance_marks").await, 0);
        let events = purged_events(&app).await;
        assert_eq!(audited(&events, "registers"), 60, "{events:?}");
        assert!(verify(&app).await.intact);
    }

    async fn the_purge_command_purges_what_is_past_retention_today(app) {
        // Marks of January 2020 are past six years by the real clock the
        // command reads.
        app.clock.set_day(d(2020, 1, 31));
        two_weeks_of_marks(&app, 1).await;
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_lea-notices"))
            .args(["purge", "--batch-size", "3", "--database-url", app.service_url()])
            .env_remove("DATABASE_URL")
            .env_remove("LEA_NOTICES_DATABASE_URL")
            .env_remove("LEA_NOTICES_CONFIG")
            .env("RUST_LOG", "warn")
            .current_dir(std::env::temp_dir())
            .output()
            .await
            .expect("run lea-notices");
        assert!(out.status.success(), "{out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        // On PostgreSQL the school year 2019/20 is past retention whole by
        // now: its partition is dropped in one step, not seven batches.
        let batches = if app.backend == Backend::Sqlite { "7 batches" } else { "2 batches" };
        assert!(stdout.contains(batches) && stdout.contains("registers 20"), "{stdout}");
        assert_eq!(count(&app, "attendance_marks").await, 0);
        assert_eq!(audited(&purged_events(&app).await, "registers"), 20);
        assert!(verify(&app).await.intact);
    }

    async fn register_entries_younger_than_six_years_are_never_deleted(app) {
        // Whatever the service is told: the database refuses, by its own clock.
        let today = chrono::Utc::now().date_naive();
        let monday = today - chrono::Duration::days(today.weekday().num_days_from_monday() as i64 + 7);
        app.clock.set_day(today);
        record(&app.as_role("850", Role::LaOfficer), vec![batch("recent", week(SCHOOL, 1, monday, "G", &[]))]).await.unwrap();
        let e = app.execute_raw("DELETE FROM attendance_marks").await.unwrap_err().to_string();
        assert!(e.contains("kept six years"), "{e}");
        assert_eq!(count(&app, "attendance_marks").await, 10);
    }
}

// The purge reaches every kind: decided breach cases, schools' requests, the
// other measures' cases, the access log, and the rectifications of notices.

use crate::helpers::policy::{create, local_version};
use crate::helpers::worklist::{request_notice, school_request};

on_both_backends! {
    async fn breaches_requests_cases_reads_and_rectifications_are_purged_on_their_day(app) {
        app.clock.set_day(d(2020, 1, 6));
        app.as_role("850", Role::Admin).policy()
            .create_policy_version(create("authorities/850", "local", local_version(2019, 9, 1)))
            .await.unwrap();
        // Pupils 1 and 2: a week of holiday from 6 January 2020, then a week
        // at school, each recorded on its Friday.
        let officer = app.as_role("850", Role::LaOfficer);
        let at = |mut marks: Vec<pb::Mark>, seconds: i64| {
            for m in &mut marks {
                m.record_time = Some(prost_types::Timestamp { seconds, nanos: 0 });
            }
            marks
        };
        app.clock.set_day(d(2020, 1, 10));
        let holiday: Vec<pb::Mark> = (1..=2).flat_map(|p| week(SCHOOL, p, d(2020, 1, 6), "G", &first(10))).collect();
        record(&officer, vec![batch("m1", at(holiday, 1_578_650_400))]).await.unwrap();
        app.clock.set_day(d(2020, 1, 17));
        let back: Vec<pb::Mark> = (1..=2).flat_map(|p| week(SCHOOL, p, d(2020, 1, 13), "G", &[])).collect();
        record(&officer, vec![batch("m2", at(back, 1_579_255_200))]).await.unwrap();

        // 17 January 2020: the school asks for notices for both; the
        // officer declines pupil 1's, decides pupil 1's breach, and reads.
        app.clock.set_day(d(2020, 1, 17));
        let declined = request_notice(&app, school_request("r-1", 1, d(2020, 1, 6))).await;
        let pending = request_notice(&app, school_request("r-2", 2, d(2020, 1, 6))).await;
        officer.notices().decline_penalty_notice_request(pb::DeclinePenaltyNoticeRequestRequest {
            name: declined.name.clone(),
            request_id: "decline-1".into(),
            reason: "Support plan agreed with the family".into(),
        }).await.unwrap();
        officer.attendance().record_breach_decision(pb::RecordBreachDecisionRequest {
            parent: "authorities/850".into(),
            request_id: "decision".into(),
            upn: crate::helpers::notices::upn(1),
            as_of_date: proto_date(d(2020, 1, 10)),
            state: pb::BreachState::NoAction as i32,
            no_action_reason: pb::NoActionReason::Medical as i32,
            note: "hospital stay".into(),
        }).await.unwrap();
        officer.notices().list_penalty_notice_requests(pb::ListPenaltyNoticeRequestsRequest {
            parent: "authorities/850".into(),
            page_size: 10,
            ..Default::default()
        }).await.unwrap();
        let old_reads = count(&app, "access_log").await;
        assert!(old_reads >= 2, "{old_reads}");

        // 20 and 21 January: an attendance contract offered and declined
        // (closed), another offered (open); a notice to pupil 2's father,
        // his address corrected, then the notice withdrawn.
        app.clock.set_day(d(2020, 1, 20));
        let contract = |id: &str| pb::OpenCaseRequest {
            parent: "authorities/850".into(),
            request_id: id.into(),
            kind: pb::MeasureKind::AttendanceContract as i32,
            upn: crate::helpers::notices::upn(1),
            school_urn: SCHOOL.into(),
            parents: vec![pb::CaseParent { person_id: "mum".into(), given_name: "Jo".into(), family_name: "Taylor".into() }],
            opened_on: proto_date(d(2020, 1, 20)),
            ..Default::default()
        };
        let closed = officer.measures().open_case(contract("c-1")).await.unwrap().into_inner().measure_case.unwrap();
        let open = officer.measures().open_case(contract("c-2")).await.unwrap().into_inner().measure_case.unwrap();
        let notice = issue(&app, Penalty::holiday(2, &["dad"], d(2020, 1, 6), d(2020, 1, 20)).request("n1")).await.unwrap().remove(0);
        app.clock.set_day(d(2020, 1, 21));
        officer.measures().record_case_event(pb::RecordCaseEventRequest {
            name: closed.name.clone(),
            request_id: "c-1-declined".into(),
            event: Some(pb::CaseEventDetails { kind: pb::CaseEventKind::Declined as i32, date: proto_date(d(2020, 1, 21)), ..Default::default() }),
        }).await.unwrap();
        officer.data_protection().rectify_personal_details(pb::RectifyPersonalDetailsRequest {
            parent: "authorities/850".into(),
            person_id: "dad".into(),
            details: Some(pb::PersonalDetails {
                given_name: "dad".into(),
                family_name: "Taylor".into(),
                address: Some(pb::PostalAddress { lines: vec!["7 Mill Lane".into()], postcode: "SO22 5AB".into() }),
            }),
            reason: "Parent's letter".into(),
            request_id: "rectify-1".into(),
            ..Default::default()
        }).await.unwrap();
        officer.notices().withdraw_notice(pb::WithdrawNoticeRequest {
            name: notice.name.clone(),
            request_id: "w1".into(),
            withdrawal: Some(pb::Withdrawal {
                ground: pb::WithdrawalGround::IssuedToWrongPerson as i32,
                reason: "Parent does not live at the address".into(),
                withdrawal_date: proto_date(d(2020, 1, 21)),
            }),
        }).await.unwrap();
        assert_eq!(count(&app, "rectifications").await, 1);
        // A read of 1 June 2024, within two years of every purge below.
        app.clock.set_day(d(2024, 6, 1));
        officer.notices().get_notice(pb::GetNoticeRequest { name: notice.name.clone() }).await.unwrap();
        let reads = count(&app, "access_log").await;
        assert_eq!(reads, old_reads + 2, "the pupil and the parent of the notice");

        // The access log: reads of 17 January 2020 go two years on, the rest stay.
        let before = purge_on(&app, d(2022, 1, 16), 1000).await;
        assert_eq!(before.records.get("access_log"), None, "{before:?}");
        let on = purge_on(&app, d(2022, 1, 17), 1000).await;
        assert_eq!(on.records.get("access_log"), Some(&old_reads), "{on:?}");
        assert_eq!(count(&app, "access_log").await, 2);

        // Six years on, the day before: the breach case and the declined request stay.
        let eve = purge_on(&app, d(2026, 1, 16), 1000).await;
        assert_eq!(eve.records.get("breaches"), None, "{eve:?}");
        // (Issuing pupil 2's notice on 20 January decided that breach too.)
        assert_eq!(count(&app, "breach_cases").await, 2);
        assert_eq!(count(&app, "penalty_notice_requests").await, 2);

        // On the day: the case decided and the request declined on 17 January
        // go; the pending request stays.
        let day = purge_on(&app, d(2026, 1, 17), 1000).await;
        assert_eq!(day.records.get("breaches"), Some(&2), "{day:?}");
        assert_eq!(count(&app, "breach_cases").await, 1);
        assert_eq!(count(&app, &format!("penalty_notice_requests WHERE request_number = {}", pending.name.rsplit('/').next().unwrap())).await, 1);
        assert_eq!(count(&app, "penalty_notice_requests").await, 1);
        assert_eq!(count(&app, "measure_cases").await, 2);
        assert_eq!(count(&app, "rectifications").await, 1);

        // 21 January: the breach decided by the notice of 20 January, the
        // declined contract (its events and links with it), and the withdrawn
        // notice's rectification with the notice's details.
        let last = purge_on(&app, d(2026, 1, 21), 1000).await;
        assert_eq!((last.records.get("breaches"), last.records.get("notices")), (Some(&2), Some(&1)), "{last:?}");
        assert_eq!(count(&app, "breach_cases").await, 0);
        let case_number = |name: &str| name.rsplit('/').next().unwrap().to_string();
        assert_eq!(count(&app, &format!("measure_cases WHERE case_number = {}", case_number(&closed.name))).await, 0);
        assert_eq!(count(&app, &format!("measure_case_events WHERE case_number = {}", case_number(&closed.name))).await, 0);
        assert_eq!(count(&app, &format!("measure_cases WHERE case_number = {}", case_number(&open.name))).await, 1, "an open case is never purged");
        assert_eq!(count(&app, "rectifications").await, 0);
        assert_eq!(count(&app, "access_log").await, 2);

        // Each batch audited; the chain still verifies; the details of the
        // purged records' events are erased.
        let events = purged_events(&app).await;
        assert_eq!((audited(&events, "breaches"), audited(&events, "access_log"), audited(&events, "notices")), (4, old_reads, 1), "{events:?}");
        let v = verify(&app).await;
        assert!(v.intact, "{v:?}");
        let about_case = app.as_role("850", Role::Auditor).audit()
            .list_audit_events(pb::ListAuditEventsRequest {
                parent: "authorities/850".into(),
                resource: closed.name.clone(),
                page_size: 100,
                ..Default::default()
            }).await.unwrap().into_inner().audit_events;
        assert!(!about_case.is_empty() && about_case.iter().all(|e| e.details_json == "{\"erased\":true}"), "{about_case:?}");
        assert_eq!(purge_on(&app, d(2026, 1, 21), 1000).await.batches, 0);
    }
}
