//! SEN status per pupil (issue 28): sent by the MIS with its marks (the
//! RecordMarks calls, and `import-marks` from a CSV column), kept by date,
//! and breaches, notices and the statutory return broken down by the status
//! on the date that matters: a pupil whose status changed mid-year counts
//! under the status of each date.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};

use crate::helpers::attendance::{SCHOOL, batch, breaches, first, officer, record, week};
use crate::helpers::events::audit_log;
use crate::helpers::notices::{Penalty, d, issue, proto_date, upn};
use crate::helpers::{TestApp, on_both_backends, violated_fields};

fn status(pupil: u32, sen: pb::SenProvision, from: NaiveDate) -> pb::PupilSenStatus {
    pb::PupilSenStatus {
        upn: upn(pupil),
        sen_provision: sen as i32,
        effective_date: proto_date(from),
        source: pb::SenStatusSource::Unspecified as i32,
    }
}

/// A holiday notice for `pupil` (one week of G from `monday`), issued on `issued`.
async fn notice(app: &TestApp, pupil: u32, monday: NaiveDate, issued: NaiveDate) -> pb::Notice {
    let id = format!("n{pupil}-{issued}");
    issue(
        app,
        Penalty::holiday(pupil, &["mum"], monday, issued).request(&id),
    )
    .await
    .unwrap()
    .remove(0)
}

async fn get(app: &TestApp, name: &str) -> pb::Notice {
    officer(app)
        .notices()
        .get_notice(pb::GetNoticeRequest { name: name.into() })
        .await
        .unwrap()
        .into_inner()
        .notice
        .unwrap()
}

async fn listed_with(app: &TestApp, sen: pb::SenProvision) -> Vec<String> {
    officer(app)
        .notices()
        .list_notices(pb::ListNoticesRequest {
            parent: "authorities/850".into(),
            sen_provision: sen as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .notices
        .into_iter()
        .map(|n| n.notice_number)
        .collect()
}

fn counts(c: Option<pb::SenCounts>) -> (i64, i64, i64, i64) {
    let c = c.unwrap();
    (c.no_sen, c.sen_support, c.ehc_plan, c.not_known)
}

/// Each breach's pupil and SEN status (listings are by UPN).
fn sen_of(found: &[pb::ThresholdBreach]) -> BTreeMap<String, pb::SenProvision> {
    found
        .iter()
        .map(|b| (b.upn.clone(), b.sen_provision()))
        .collect()
}

async fn breach_page(app: &TestApp, as_of: NaiveDate) -> pb::ListThresholdBreachesResponse {
    officer(app)
        .attendance()
        .list_threshold_breaches(pb::ListThresholdBreachesRequest {
            parent: "authorities/850".into(),
            as_of_date: proto_date(as_of),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

/// Runs `lea-notices import-marks` on a CSV.
fn import_csv(app: &TestApp, dir: &std::path::Path, contents: &str) -> (bool, String, String) {
    let file = dir.join("register.csv");
    std::fs::write(&file, contents).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lea-notices"))
        .arg("import-marks")
        .arg(&file)
        .args([
            "--server",
            &format!("http://{}", app.addr),
            "--authority",
            "850",
        ])
        .env("LEA_NOTICES_TOKEN", app.token("850", Role::LaOfficer))
        .env("LEA_NOTICES_DATA_DIR", dir)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// The pupil's SEN history as stored: (effective date, code), oldest first.
async fn stored_history(app: &TestApp, pupil: u32) -> Vec<(String, String)> {
    let sql = format!(
        "SELECT CAST(effective_from AS TEXT), sen_provision FROM pupil_sen_statuses \
         WHERE upn = '{}' ORDER BY effective_from",
        upn(pupil)
    );
    let sql = sqlx::AssertSqlSafe(sql);
    match app.backend {
        lea_notices::store::Backend::Postgres => {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(app.database_url())
                .await
                .unwrap();
            sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
        }
        lea_notices::store::Backend::Sqlite => {
            let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(app.database_url())
                .await
                .unwrap();
            sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
        }
    }
}

on_both_backends! {
    async fn statuses_superseded_by_the_register_cut_off_are_purged_with_it(app) {
        app.clock.set_day(d(2020, 1, 31));
        let mut marks = week(SCHOOL, 1, d(2020, 1, 6), "O", &[]);
        marks.extend(week(SCHOOL, 1, d(2020, 1, 13), "O", &[]));
        for m in &mut marks {
            // Recorded on 31 January 2020.
            m.record_time = Some(prost_types::Timestamp { seconds: 1_580_428_800, nanos: 0 });
        }
        let mut sent = batch("2020", marks);
        sent.sen_statuses = vec![
            status(1, pb::SenProvision::NoSen, d(2019, 9, 2)),
            status(1, pb::SenProvision::SenSupport, d(2019, 12, 2)),
            status(1, pb::SenProvision::EhcPlan, d(2020, 1, 13)),
        ];
        record(&officer(&app), vec![sent]).await.unwrap();
        assert_eq!(stored_history(&app, 1).await.len(), 3);
        // Six years after 6 January 2020 its marks go, and the status that
        // stopped applying before then; the one in force then, and the later
        // one, stay.
        app.clock.set_day(d(2026, 1, 6));
        app.service.purge(d(2026, 1, 6), 1000).await.unwrap();
        assert_eq!(
            stored_history(&app, 1).await,
            [
                ("2019-12-02".to_string(), "K".to_string()),
                ("2020-01-13".to_string(), "E".to_string()),
            ]
        );
    }

    async fn breaches_notices_and_the_return_are_broken_down_by_sen_status(app) {
        app.clock.set_day(d(2025, 10, 1));
        let monday = d(2025, 3, 3);
        let (friday, next_friday) = (monday + Duration::days(4), monday + Duration::days(11));
        // Pupils 1 to 3 miss a whole week (a breach each); pupil 4 attends.
        let mut marks = Vec::new();
        for pupil in 1..=3 {
            marks.extend(week(SCHOOL, pupil, monday, "O", &first(10)));
        }
        marks.extend(week(SCHOOL, 4, monday, "O", &[]));
        // Pupil 1: SEN support from September, an EHC plan from 10 March;
        // pupil 2: no SEN; pupil 3: nothing sent.
        let mut sent = batch("with-sen", marks);
        sent.sen_statuses = vec![
            status(1, pb::SenProvision::SenSupport, d(2024, 9, 2)),
            status(1, pb::SenProvision::EhcPlan, d(2025, 3, 10)),
            status(2, pb::SenProvision::NoSen, d(2024, 9, 2)),
        ];
        record(&officer(&app), vec![sent]).await.unwrap();

        // A status without a value is refused, naming the row only.
        let mut bad = batch("bad-sen", week(SCHOOL, 4, monday + Duration::weeks(1), "O", &[]));
        bad.sen_statuses = vec![status(4, pb::SenProvision::Unspecified, d(2025, 3, 10))];
        let refused = record(&officer(&app), vec![bad]).await.unwrap_err();
        assert_eq!(violated_fields(&refused), ["sen_statuses[0]"]);
        assert!(!refused.message().contains(&upn(4)), "{refused:?}");

        // School staff send statuses only for pupils with a mark in the batch.
        let staff = app.as_role("850", Role::SchoolStaff);
        let mut others = batch("staff-sen", week(SCHOOL, 4, monday + Duration::weeks(1), "O", &[]));
        others.sen_statuses = vec![status(5, pb::SenProvision::EhcPlan, d(2025, 3, 10))];
        let refused = record(&staff, vec![others.clone()]).await.unwrap_err();
        assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
        assert!(!refused.message().contains(&upn(5)), "{refused:?}");
        others.request_id = "staff-sen-own".into();
        others.sen_statuses = vec![status(4, pb::SenProvision::NoSen, d(2025, 3, 10))];
        record(&staff, vec![others]).await.unwrap();

        // A later batch without statuses, and one sending the same status
        // again, leave each pupil's history as it was.
        let mut again = batch("same-again", week(SCHOOL, 4, monday + Duration::weeks(1), "O", &[]));
        again.sen_statuses = vec![status(2, pb::SenProvision::NoSen, d(2025, 3, 10))];
        record(&officer(&app), vec![again]).await.unwrap();

        // Breaches on Friday 7 March: pupil 1 still on SEN support.
        let page = breach_page(&app, friday).await;
        assert_eq!(
            sen_of(&page.threshold_breaches),
            BTreeMap::from([
                (upn(1), pb::SenProvision::SenSupport),
                (upn(2), pb::SenProvision::NoSen),
                (upn(3), pb::SenProvision::Unspecified),
            ])
        );
        assert_eq!(counts(page.sen_counts), (1, 1, 0, 1));
        // A week later the same breach is listed under the plan.
        let page = breach_page(&app, next_friday).await;
        assert_eq!(sen_of(&page.threshold_breaches)[&upn(1)], pb::SenProvision::EhcPlan);
        assert_eq!(counts(page.sen_counts), (1, 0, 1, 1));
        // The decision on a breach answers with the status on its date.
        let decided = officer(&app)
            .attendance()
            .record_breach_decision(pb::RecordBreachDecisionRequest {
                parent: "authorities/850".into(),
                request_id: "decide-3".into(),
                upn: upn(2),
                as_of_date: proto_date(next_friday),
                state: pb::BreachState::NoAction as i32,
                no_action_reason: pb::NoActionReason::SupportInPlace as i32,
                note: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .threshold_breach
            .unwrap();
        assert_eq!(decided.sen_provision(), pb::SenProvision::NoSen);
        // Paged listings carry each breach's status too.
        let paged = breaches(&app, next_friday, "").await;
        assert_eq!(sen_of(&paged), sen_of(&page.threshold_breaches));

        // Notices carry the status on their issue date.
        let january = notice(&app, 1, d(2025, 1, 6), d(2025, 1, 13)).await;
        let march = notice(&app, 1, d(2025, 3, 17), d(2025, 3, 24)).await;
        let second = notice(&app, 2, d(2025, 1, 27), d(2025, 2, 3)).await;
        let unknown = notice(&app, 3, d(2025, 2, 3), d(2025, 2, 10)).await;
        assert_eq!(january.sen_provision(), pb::SenProvision::SenSupport, "as issued");
        assert_eq!(get(&app, &march.name).await.sen_provision(), pb::SenProvision::EhcPlan);
        assert_eq!(get(&app, &second.name).await.sen_provision(), pb::SenProvision::NoSen);
        assert_eq!(get(&app, &unknown.name).await.sen_provision(), pb::SenProvision::Unspecified);
        assert_eq!(listed_with(&app, pb::SenProvision::EhcPlan).await, vec![march.notice_number.as_str()]);
        assert_eq!(listed_with(&app, pb::SenProvision::SenSupport).await, vec![january.notice_number.as_str()]);
        assert_eq!(listed_with(&app, pb::SenProvision::Unspecified).await.len(), 4, "unset: any");

        // The return counts each notice under its pupil's status on its issue date.
        let r = app
            .as_role("850", Role::Auditor)
            .reports()
            .get_statutory_return(pb::GetStatutoryReturnRequest {
                parent: "authorities/850".into(),
                academic_year_start: 2024,
                as_of_date: proto_date(d(2025, 9, 30)),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.totals.unwrap().issued, 4);
        let by_sen = r.by_sen_status.unwrap();
        assert_eq!(counts(by_sen.penalty_notices_issued), (1, 1, 1, 1));
        assert_eq!(counts(by_sen.notices_to_improve_issued), (0, 0, 0, 0));
        // The CSV carries the same breakdown in its last columns
        // (`pn_issued_sen_*`, `nti_issued_sen_*`): four holiday notices, all
        // unresolved, no measures.
        let row = |sen: &str| {
            format!(
                "202425,Academic year,Local authority,850,\
                 4,4,0,0,0,0,0,0,0,0,0,0,0,4,0,0,0,0,0,0,\
                 0,0,0,0,0,4,0,0,0,0,0,0,0,0,0,0,0,0,\
                 0,\
                 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,\
                 {sen}\n"
            )
        };
        assert_eq!(r.csv, format!("{}{}", crate::statutory_return::HEADER, row("1,1,1,1,0,0,0,0")));

        // The MIS corrects pupil 2's status from September: the notice follows.
        let mut correction = batch("correction", week(SCHOOL, 2, monday + Duration::weeks(1), "O", &[]));
        correction.sen_statuses = vec![status(2, pb::SenProvision::SenSupport, d(2024, 9, 2))];
        record(&officer(&app), vec![correction]).await.unwrap();
        assert_eq!(get(&app, &second.name).await.sen_provision(), pb::SenProvision::SenSupport);
        let corrected = app
            .as_role("850", Role::Auditor)
            .reports()
            .get_statutory_return(pb::GetStatutoryReturnRequest {
                parent: "authorities/850".into(),
                academic_year_start: 2024,
                as_of_date: proto_date(d(2025, 9, 30)),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(counts(corrected.by_sen_status.unwrap().penalty_notices_issued), (0, 2, 1, 1));
        assert_eq!(corrected.csv, format!("{}{}", crate::statutory_return::HEADER, row("0,2,1,1,0,0,0,0")));

        // The pupil's subject access export holds their history.
        let mut stream = app
            .as_role("850", Role::DataProtectionOfficer)
            .data_protection()
            .export_subject_data(pb::ExportSubjectDataRequest {
                parent: "authorities/850".into(),
                upn: upn(1),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.message().await.unwrap() {
            bytes.extend(chunk.data);
        }
        let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            doc["sen_statuses"],
            serde_json::json!([
                {"effective_date": "2024-09-02", "sen_provision": "K", "source": "marks_call"},
                {"effective_date": "2025-03-10", "sen_provision": "E", "source": "marks_call"},
            ])
        );

        // Each change is audited with the marks, without the status itself
        // (audit events go out on the event feed).
        let events: Vec<_> = audit_log(&app, "850")
            .await
            .into_iter()
            .filter(|e| e.action == "pupil.sen_statuses_recorded")
            .collect();
        let changes: Vec<serde_json::Value> = events
            .iter()
            .flat_map(|e| {
                let details: serde_json::Value = serde_json::from_str(&e.details_json).unwrap();
                details["changes"].as_array().unwrap().clone()
            })
            .collect();
        let summary: Vec<(String, String, String)> = changes
            .iter()
            .map(|c| {
                let s = |k: &str| c[k].as_str().unwrap().to_string();
                (s("upn"), s("effective_date"), s("change"))
            })
            .collect();
        assert_eq!(
            summary,
            // The first batch's changes by UPN (F... sorts before R...).
            [
                (upn(2), "2024-09-02".into(), "added".into()),
                (upn(1), "2024-09-02".into(), "added".into()),
                (upn(1), "2025-03-10".into(), "added".into()),
                (upn(4), "2025-03-10".into(), "added".into()),
                (upn(2), "2024-09-02".into(), "corrected".into()),
            ],
            "sending the same status again changed nothing"
        );
        for e in &events {
            assert!(!e.details_json.contains("sen_provision"), "{}", e.details_json);
        }
    }

    async fn a_register_import_sends_the_sen_status_of_its_rows(app) {
        app.clock.set_day(d(2025, 10, 1));
        let dir = tempfile::tempdir().unwrap();
        let mut csv = String::from("school_urn,upn,date,session,code,record_time,sen_provision,sen_start_date\n");
        for (day, session) in [(d(2025, 3, 3), "AM"), (d(2025, 3, 3), "PM"), (d(2025, 3, 4), "AM")] {
            csv += &format!("{SCHOOL},{},{day},{session},/,2025-03-14T16:30:00Z,E,2025-02-03\n", upn(1));
            csv += &format!("{SCHOOL},{},{day},{session},/,2025-03-14T16:30:00Z,,\n", upn(2));
        }
        let (ok, out, err) = import_csv(&app, dir.path(), &csv);
        assert!(ok, "{out} {err}");
        assert!(out.starts_with("6 marks in 1 batches: 6 inserted"), "{out}");
        let before = notice(&app, 1, d(2025, 1, 6), d(2025, 1, 13)).await;
        let after = notice(&app, 1, d(2025, 3, 10), d(2025, 3, 17)).await;
        let other = notice(&app, 2, d(2025, 3, 10), d(2025, 3, 17)).await;
        assert_eq!(before.sen_provision(), pb::SenProvision::Unspecified, "before its start date");
        assert_eq!(after.sen_provision(), pb::SenProvision::EhcPlan);
        assert_eq!(other.sen_provision(), pb::SenProvision::Unspecified, "a blank cell sends none");
        // Imported again: nothing changes (the same request ids).
        let (ok, out, err) = import_csv(&app, dir.path(), &csv);
        assert!(ok, "{out} {err}");
        assert!(out.contains("0 inserted, 0 replaced, 6 unchanged"), "{out}");
        // A bad code stops the import before anything is sent, naming the
        // line and column, never the value.
        let (ok, _, err) = import_csv(&app, dir.path(), &csv.replace(",E,", ",S,"));
        assert!(!ok);
        assert!(err.contains("line 2, column 'sen_provision': not a school census SEN provision code"), "{err}");
    }
}
