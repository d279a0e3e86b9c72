//! The register partitioned by school year (PostgreSQL only, migration 0030):
//! partitions made by the service as marks need them, and a past school year
//! dropped whole by the retention purge on the day its last marks pass
//! retention, leaving every other answer as it was.

use chrono::NaiveDate;
use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use lea_notices::store::Backend;
use sqlx::{Connection, PgConnection};

use crate::helpers::TestApp;
use crate::helpers::attendance::{
    OTHER_SCHOOL, SCHOOL, batch, breaches, first, mark, officer, record, summary, week,
};
use crate::helpers::notices::d;

async fn owner(app: &TestApp) -> PgConnection {
    PgConnection::connect(app.database_url()).await.unwrap()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {sql}")))
        .fetch_one(&mut owner(app).await)
        .await
        .unwrap()
}

async fn partition_exists(app: &TestApp, name: &str) -> bool {
    let found: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
        .bind(name)
        .fetch_one(&mut owner(app).await)
        .await
        .unwrap();
    found.is_some()
}

/// What the other answers say: breaches as of two days and the summaries of
/// two school years, whole authority.
async fn answers(
    app: &TestApp,
) -> (
    Vec<pb::ThresholdBreach>,
    Vec<pb::ThresholdBreach>,
    String,
    String,
) {
    (
        breaches(app, d(2026, 1, 16), "").await,
        breaches(app, d(2021, 1, 8), "").await,
        format!(
            "{:?}",
            summary(app, "", None, d(2025, 9, 1), d(2026, 8, 31)).await
        ),
        format!(
            "{:?}",
            summary(app, "", None, d(2020, 9, 1), d(2021, 8, 31)).await
        ),
    )
}

/// The `retention.purged` events' details.
async fn purged(app: &TestApp) -> Vec<serde_json::Value> {
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
        .map(|e| serde_json::from_str(&e.details_json).unwrap())
        .collect()
}

/// `marks` as recorded `seconds` after midnight on 1 September 2020.
fn recorded(mut marks: Vec<pb::Mark>, seconds: i64) -> Vec<pb::Mark> {
    for m in &mut marks {
        m.record_time = Some(prost_types::Timestamp {
            seconds: 1_598_918_400 + seconds,
            nanos: 0,
        });
    }
    marks
}

async fn purge_on(app: &TestApp, day: NaiveDate) -> lea_notices::app::retention::PurgeReport {
    app.clock.set_day(day);
    app.service.purge(day, 1000).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_past_school_year_is_dropped_whole_on_its_day_and_every_other_answer_is_unchanged() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let who = officer(&app);
    // 2019/20: three pupils' two weeks of January 2020 (ten unauthorised
    // holiday sessions each the first week), a correction (history), and
    // pupil 1 present on its last day, Monday 31 August 2020.
    app.clock.set_day(d(2020, 9, 1));
    for p in 1..=3 {
        let mut marks = week(SCHOOL, p, d(2020, 1, 6), "G", &first(10));
        marks.extend(week(SCHOOL, p, d(2020, 1, 13), "G", &[]));
        record(&who, vec![batch(&format!("y19-{p}"), recorded(marks, 0))])
            .await
            .unwrap();
    }
    let fix = vec![mark(SCHOOL, 1, d(2020, 1, 13), pb::Session::Am, "O", 0)];
    record(&who, vec![batch("fix", recorded(fix, 60))])
        .await
        .unwrap();
    let last_day = vec![
        mark(SCHOOL, 1, d(2020, 8, 31), pb::Session::Am, "/", 0),
        mark(SCHOOL, 1, d(2020, 8, 31), pb::Session::Pm, "\\", 0),
    ];
    record(&who, vec![batch("last-day", recorded(last_day, 0))])
        .await
        .unwrap();
    // The service made the partitions the marks needed.
    assert!(partition_exists(&app, "attendance_marks_2019_20").await);
    assert!(partition_exists(&app, "attendance_mark_history_2019_20").await);

    // 2020/21 at the same school, 2025/26 at another: breaches each.
    app.clock.set_day(d(2021, 1, 8));
    for p in 1..=2 {
        record(
            &who,
            vec![batch(
                &format!("y20-{p}"),
                recorded(week(SCHOOL, p, d(2021, 1, 4), "G", &first(10)), 10_000_000),
            )],
        )
        .await
        .unwrap();
    }
    app.clock.set_day(d(2026, 1, 16));
    for p in 4..=6 {
        let absent = if p == 6 { vec![] } else { first(10) };
        let mut marks = week(OTHER_SCHOOL, p, d(2026, 1, 5), "G", &absent);
        marks.extend(week(OTHER_SCHOOL, p, d(2026, 1, 12), "O", &[0]));
        record(&who, vec![batch(&format!("y25-{p}"), marks)])
            .await
            .unwrap();
    }
    assert_eq!(count(&app, "attendance_marks").await, 60 + 2 + 20 + 60);

    // The day before: January 2020 is past six years and goes in batches, but
    // 31 August 2020 is not, so the school year's partition stays.
    let before = purge_on(&app, d(2026, 8, 30)).await;
    assert_eq!(before.records.get("registers"), Some(&60), "{before:?}");
    assert!(partition_exists(&app, "attendance_marks_2019_20").await);
    assert_eq!(
        count(&app, "attendance_marks WHERE mark_date <= '2020-08-31'").await,
        2
    );
    let kept = answers(&app).await;
    // The first school's window of ten school weeks reaches back to 2021.
    assert_eq!(kept.0.len(), 4, "pupils 1, 2, 4 and 5: {:?}", kept.0);
    assert_eq!(kept.1.len(), 2, "pupils 1 and 2: {:?}", kept.1);

    // On the day: the whole school year goes, its partitions detached and
    // dropped, audited as a batch is.
    let on_the_day = purge_on(&app, d(2026, 8, 31)).await;
    assert_eq!(
        on_the_day.records.get("registers"),
        Some(&2),
        "{on_the_day:?}"
    );
    assert!(!partition_exists(&app, "attendance_marks_2019_20").await);
    assert!(!partition_exists(&app, "attendance_mark_history_2019_20").await);
    assert!(partition_exists(&app, "attendance_marks_2020_21").await);
    assert_eq!(
        count(&app, "attendance_marks WHERE mark_date <= '2020-08-31'").await,
        0
    );
    assert_eq!(count(&app, "attendance_mark_history").await, 0);
    assert_eq!(count(&app, "attendance_marks").await, 20 + 60);
    // What was derived from that year's marks went with them, as a batch's
    // would (the week of 31 August reaches into the next year: kept).
    assert_eq!(
        count(
            &app,
            "attendance_week_figures WHERE week_start < '2020-08-31'"
        )
        .await,
        0
    );
    assert_eq!(
        count(&app, "attendance_year_figures WHERE school_year <= 2019").await,
        0
    );
    assert_eq!(
        count(
            &app,
            "attendance_enrolments WHERE first_date <= '2020-08-31'"
        )
        .await,
        0
    );
    let dropped: Vec<_> = purged(&app)
        .await
        .into_iter()
        .filter(|e| e["partition_dropped"] == serde_json::json!(true))
        .collect();
    assert_eq!(dropped.len(), 1, "{dropped:?}");
    assert_eq!(
        (
            &dropped[0]["kind"],
            &dropped[0]["count"],
            &dropped[0]["school_year"],
            &dropped[0]["first_key"]
        ),
        (
            &serde_json::json!("registers"),
            &serde_json::json!(2),
            &serde_json::json!("2019/20"),
            &serde_json::json!("2020-08-31")
        ),
    );

    // Every other answer is as it was.
    assert_eq!(answers(&app).await, kept);
    let verified = app
        .as_role("850", Role::Auditor)
        .audit()
        .verify_audit_trail(pb::VerifyAuditTrailRequest {
            parent: "authorities/850".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(verified.intact, "{verified:?}");
    // Nothing left to drop or delete that day; marks of the next school year
    // still go in.
    assert_eq!(purge_on(&app, d(2026, 8, 31)).await.batches, 0);
    record(
        &who,
        vec![batch(
            "later",
            week(OTHER_SCHOOL, 7, d(2026, 9, 7), "O", &[]),
        )],
    )
    .await
    .unwrap();
    assert!(partition_exists(&app, "attendance_marks_2026_27").await);
}

/// Plans prune: a threshold search and a summary bounded by one school year's
/// dates read only that year's partitions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_bounded_by_a_school_year_reads_only_its_partition() {
    let app = TestApp::spawn(Backend::Postgres).await;
    app.store
        .make_register_partitions(2018, 2026, i32::MAX)
        .await
        .unwrap();
    let mut c = owner(&app).await;
    // The shapes of the breach search's candidates (`store::marks::queries`)
    // and a pupil's summary (`store::marks::summary`), with the values bound.
    for query in [
        "SELECT upn FROM attendance_marks \
         WHERE authority_code = '850' AND mark_date BETWEEN '2024-09-02' AND '2025-07-18' \
           AND category = 3 AND code = ANY('{G,N,O,U}') AND upn > '' \
         GROUP BY upn HAVING COUNT(*) >= 10 ORDER BY upn LIMIT 536",
        "SELECT upn, school_urn, category, COUNT(*) FROM attendance_marks \
         WHERE authority_code = '850' AND mark_date BETWEEN '2024-09-01' AND '2025-08-31' \
           AND upn = 'A850200125001' GROUP BY upn, school_urn, category",
    ] {
        let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("EXPLAIN {query}")))
            .fetch_all(&mut c)
            .await
            .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("attendance_marks_2024_25"), "{plan}");
        for other in [
            "attendance_marks_2023_24",
            "attendance_marks_2025_26",
            "attendance_marks_2018_19",
        ] {
            assert!(!plan.contains(other), "{plan}");
        }
    }
}

/// An authority's first load into a database analysed before its marks: the
/// write path's lookups of a batch's sessions probe the register's primary
/// key row by row. Planned as joins from those statistics, they hashed the
/// authority's whole register on every batch (BENCHMARKS.md, national scale).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_authoritys_sessions_are_looked_up_by_key_whatever_the_statistics() {
    use lea_notices::store::register_lookups::{ANY_HELD, HELD_MARKS, REPLACE_MARKS};
    let app = TestApp::spawn(Backend::Postgres).await;
    let who = officer(&app);
    // Hampshire's registers, analysed: nothing of Southampton's is known.
    app.clock.set_day(d(2025, 7, 21));
    for p in 1..=20 {
        let mut marks = Vec::new();
        for w in 0..6 {
            let monday = d(2024, 9, 2) + chrono::Duration::weeks(w);
            marks.extend(week(SCHOOL, p, monday, "O", &first(2)));
        }
        record(&who, vec![batch(&format!("p-{p}"), marks)])
            .await
            .unwrap();
    }
    let mut c = owner(&app).await;
    sqlx::query("ANALYZE attendance_marks")
        .execute(&mut c)
        .await
        .unwrap();

    // A batch of Southampton's: two pupils' sessions in 2024/25.
    let upns = vec!["A852200125001".to_string(), "A852200125002".to_string()];
    let schools = vec!["117001".to_string(), "117001".to_string()];
    let dates = vec![d(2024, 9, 2), d(2024, 9, 3)];
    let sessions = vec![0i16, 1];
    let explain = |sql: &str| format!("EXPLAIN {sql}");
    let plans: Vec<(&str, Vec<String>)> = vec![
        (
            "ANY_HELD",
            sqlx::query_scalar(sqlx::AssertSqlSafe(explain(ANY_HELD)))
                .bind("852")
                .bind(&upns)
                .bind(&schools)
                .bind(&dates)
                .bind(&dates)
                .fetch_all(&mut c)
                .await
                .unwrap(),
        ),
        (
            "HELD_MARKS",
            sqlx::query_scalar(sqlx::AssertSqlSafe(explain(HELD_MARKS)))
                .bind("852")
                .bind(&upns)
                .bind(&dates)
                .bind(&sessions)
                .bind(&schools)
                .fetch_all(&mut c)
                .await
                .unwrap(),
        ),
        (
            "REPLACE_MARKS",
            sqlx::query_scalar(sqlx::AssertSqlSafe(explain(REPLACE_MARKS)))
                .bind("852")
                .bind(&upns)
                .bind(&dates)
                .bind(&sessions)
                .bind(&schools)
                .bind(vec!["O".to_string(), "O".to_string()])
                .bind(vec![3i16, 3])
                .bind(vec![chrono::Utc::now(), chrono::Utc::now()])
                .fetch_all(&mut c)
                .await
                .unwrap(),
        ),
    ];
    for (name, plan) in plans {
        let text = plan.join("\n");
        // Every read of the year's partition is an index probe on the
        // pupil's key, never a scan of the authority's rows.
        let reads: Vec<usize> = (0..plan.len())
            .filter(|&i| plan[i].contains(" on attendance_marks_2024_25"))
            .collect();
        for i in reads {
            assert!(plan[i].contains("Index"), "{name}: {text}");
            let condition = plan.get(i + 1).map_or("", String::as_str);
            assert!(
                condition.contains("Index Cond") && condition.contains("upn = "),
                "{name}: {text}"
            );
        }
        assert!(!text.contains("Hash Join"), "{name}: {text}");
    }
}
