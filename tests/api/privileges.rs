//! PostgreSQL privileges: the service connects as a LOGIN member of
//! `lea_notices_service` (every PostgreSQL test server does, see helpers.rs),
//! which owns nothing, may do exactly what `src/store` does, and cannot rewrite
//! the audit log (only erase an event's details, see migration 0025) or the money.

use std::collections::BTreeMap;

use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use lea_notices::store::Backend;
use sqlx::{Connection, PgConnection};

use crate::helpers::attendance::{SCHOOL, batch, record, week};
use crate::helpers::notices::{Penalty, d, issue, upn};
use crate::helpers::payments::{pay, payment};
use crate::helpers::policy::{create, local_version};
use crate::helpers::{TestApp, date};

/// What the service's role may do on each table: table privileges, and the
/// columns it may UPDATE. A new table must be listed here with its grants in
/// the migration that creates it. The register's partitions (migration 0030)
/// are reached only through their parents and have no grants of their own.
const GRANTS: &[(&str, &str, &[&str])] = &[
    ("access_log", "DELETE, INSERT, SELECT", &[]),
    (
        "allocations",
        "DELETE, INSERT, SELECT",
        &["applied_pence", "refund_due_pence"],
    ),
    (
        "attendance_enrolments",
        "DELETE, INSERT, SELECT",
        &["first_date", "last_date"],
    ),
    ("attendance_mark_history", "DELETE, INSERT, SELECT", &[]),
    (
        "attendance_marks",
        "DELETE, INSERT, SELECT",
        &["category", "code", "record_time"],
    ),
    (
        "attendance_school_week_changes",
        "INSERT, SELECT",
        &["changes"],
    ),
    (
        "attendance_school_weeks",
        "DELETE, INSERT, SELECT",
        &["first_day", "last_day"],
    ),
    ("attendance_week_figures", "DELETE, INSERT, SELECT", &[]),
    (
        "attendance_year_figures",
        "DELETE, INSERT, SELECT",
        &[
            "approved_activity",
            "authorised_absence",
            "present",
            "unauthorised_absence",
        ],
    ),
    (
        "audit_chain_heads",
        "INSERT, SELECT",
        &["last_event_id", "last_hash"],
    ),
    (
        "audit_events",
        "INSERT, SELECT",
        &["details", "details_salt"],
    ),
    ("authority_settings", "INSERT, SELECT", &[]),
    ("breach_cases", "DELETE, INSERT, SELECT", &[]),
    ("idempotency_keys", "INSERT, SELECT", &["response"]),
    ("measure_case_events", "DELETE, INSERT, SELECT", &[]),
    ("measure_case_follows", "DELETE, INSERT, SELECT", &[]),
    (
        "measure_cases",
        "DELETE, INSERT, SELECT",
        &["facts", "state", "version"],
    ),
    (
        "notices",
        "INSERT, SELECT",
        &[
            "evidence_corrections",
            "offence_description",
            "paid_date",
            "paid_rate",
            "parent_address_lines",
            "parent_family_name",
            "parent_given_name",
            "parent_person_id",
            "parent_postcode",
            "prosecution_costs_pence",
            "prosecution_court",
            "prosecution_fine_pence",
            "prosecution_hearing_date",
            "prosecution_result",
            "pupil_address_lines",
            "pupil_family_name",
            "pupil_given_name",
            "pupil_postcode",
            "upn",
            "withdrawal_date",
            "withdrawal_ground",
            "withdrawal_reason",
        ],
    ),
    (
        "payments",
        "INSERT, SELECT",
        &["payer_name", "payer_reference"],
    ),
    (
        "penalty_notice_requests",
        "DELETE, INSERT, SELECT",
        &["decline_reason", "notice_numbers", "settled_at", "state"],
    ),
    ("policy_versions", "INSERT, SELECT", &[]),
    // A status sent again for the same date corrects it; retention deletes
    // the superseded ones.
    (
        "pupil_sen_statuses",
        "DELETE, INSERT, SELECT",
        &["recorded_at", "request_id", "sen_provision", "source"],
    ),
    ("rectifications", "DELETE, INSERT, SELECT", &[]),
    ("refunds", "INSERT, SELECT", &[]),
    ("retention_policy_versions", "INSERT, SELECT", &[]),
    ("relay_cursors", "INSERT, SELECT", &["last_sequence"]),
    ("school_history", "INSERT, SELECT", &[]),
    (
        "schools",
        "INSERT, SELECT",
        &[
            "address_lines",
            "close_date",
            "establishment_number",
            "establishment_type",
            "la_code",
            "name",
            "open_date",
            "phase",
            "postcode",
            "recorded_at",
            "request_id",
            "status",
            "version",
        ],
    ),
    ("serials", "INSERT, SELECT", &["last_value"]),
    ("service_keys", "SELECT", &[]),
    ("sharing_agreement_versions", "INSERT, SELECT", &[]),
    (
        "statutory_event_progress",
        "INSERT, SELECT",
        &["through_date"],
    ),
    ("statutory_events", "INSERT, SELECT", &[]),
];

async fn owner(app: &TestApp) -> PgConnection {
    PgConnection::connect(app.database_url()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_role_holds_exactly_the_privileges_the_store_needs() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let mut c = owner(&app).await;
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT t.table_name::text, COALESCE(string_agg(g.privilege_type::text, ', ' \
                ORDER BY g.privilege_type), '') \
         FROM information_schema.tables t \
         LEFT JOIN information_schema.role_table_grants g \
           ON g.table_schema = t.table_schema AND g.table_name = t.table_name \
          AND g.grantee = 'lea_notices_service' \
         WHERE t.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
           AND NOT EXISTS (SELECT 1 FROM pg_class p WHERE p.relname = t.table_name \
                           AND p.relnamespace = current_schema()::regnamespace AND p.relispartition) \
         GROUP BY t.table_name ORDER BY t.table_name",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let updates: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.column_privileges \
         WHERE table_schema = current_schema() AND grantee = 'lea_notices_service' \
           AND privilege_type = 'UPDATE' ORDER BY table_name, column_name",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let mut columns: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (table, column) in updates {
        columns.entry(table).or_default().push(column);
    }
    let got: Vec<(String, String, Vec<String>)> = tables
        .into_iter()
        .map(|(t, privileges)| {
            let cols = columns.remove(&t).unwrap_or_default();
            (t, privileges, cols)
        })
        .collect();
    let mut want: Vec<(String, String, Vec<String>)> = GRANTS
        .iter()
        .map(|(t, p, cols)| {
            (
                t.to_string(),
                p.to_string(),
                cols.iter().map(|c| c.to_string()).collect(),
            )
        })
        .collect();
    want.push(("_sqlx_migrations".into(), String::new(), vec![]));
    want.sort();
    assert_eq!(got, want);

    // The register's partitions it makes (migration 0030) are not its own
    // either, and it cannot drop a school year younger than six years.
    app.store
        .make_register_partitions(2009, 2010, i32::MAX)
        .await
        .unwrap();
    let mut service = PgConnection::connect(app.service_url()).await.unwrap();
    let made: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('attendance_marks_2010_11')::text")
            .fetch_one(&mut service)
            .await
            .unwrap();
    assert_eq!(made.as_deref(), Some("attendance_marks_2010_11"));
    let young =
        sqlx::query("SELECT drop_register_school_year(register_school_year(current_date) - 1)")
            .execute(&mut service)
            .await
            .unwrap_err()
            .to_string();
    assert!(young.contains("kept six years"), "{young}");
    for refused in [
        "DROP TABLE attendance_marks_2010_11",
        "ALTER TABLE attendance_marks DETACH PARTITION attendance_marks_2010_11",
    ] {
        assert!(
            sqlx::query(refused).execute(&mut service).await.is_err(),
            "{refused}"
        );
    }

    // It owns nothing, and cannot become the owner.
    let (owned, owner_member): (i64, bool) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM pg_class c WHERE pg_has_role(current_user, c.relowner, 'USAGE') \
                   AND c.relnamespace = current_schema()::regnamespace), \
                pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = 'audit_events'::regclass), 'MEMBER')",
    )
    .fetch_one(&mut service)
    .await
    .unwrap();
    assert_eq!((owned, owner_member), (0, false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_role_cannot_rewrite_the_audit_log_or_the_money() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let notice = issue(
        &app,
        Penalty::holiday(1, &["mum"], d(2025, 1, 6), d(2025, 2, 3)).request("n"),
    )
    .await
    .unwrap()
    .remove(0);
    pay(
        &app,
        payment(
            "850",
            "p1",
            8_000,
            d(2025, 2, 10),
            "",
            &[(&notice.name, 8_000)],
        ),
    )
    .await;
    let mut service = PgConnection::connect(app.service_url()).await.unwrap();
    let refused = [
        "UPDATE audit_events SET action = 'forged'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
        "ALTER TABLE audit_events DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_events_append_only ON audit_events",
        "DROP TRIGGER audit_events_no_truncate ON audit_events",
        "DROP TABLE audit_events",
        "UPDATE payments SET amount_pence = 1",
        "DELETE FROM payments",
        "TRUNCATE payments CASCADE",
        "ALTER TABLE payments DROP CONSTRAINT payments_amount_pence_check",
        "UPDATE refunds SET amount_pence = 1",
        "DELETE FROM refunds",
        "UPDATE attendance_mark_history SET code = 'X'",
        "UPDATE notices SET higher_amount_pence = 1",
        "DELETE FROM notices",
        "UPDATE policy_versions SET lower_amount_pence = 1",
        "SET ROLE postgres",
    ];
    for sql in refused {
        let e = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut service)
            .await
            .expect_err(sql);
        let code = e
            .as_database_error()
            .and_then(|d| d.code())
            .map(|c| c.to_string());
        assert_eq!(code.as_deref(), Some("42501"), "{sql}: {e}");
    }

    // Its one change to the log: erasing an event's details (the purge), which
    // the trigger lets through; any other change of the columns it may update
    // is refused by the trigger.
    let erased = sqlx::raw_sql(
        "UPDATE audit_events SET details = '{\"erased\":true}', details_salt = NULL \
         WHERE authority_code = '850' AND event_id = 1",
    )
    .execute(&mut service)
    .await
    .unwrap();
    assert_eq!(erased.rows_affected(), 1);
    for sql in [
        "UPDATE audit_events SET details = '{}' WHERE event_id = 2",
        "UPDATE audit_events SET details_salt = NULL WHERE event_id = 2",
        "UPDATE audit_events SET details = '{\"erased\":true}' WHERE event_id = 1",
        "UPDATE audit_events SET details = 'x', details_salt = 'y' WHERE event_id = 1",
    ] {
        let e = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut service)
            .await
            .expect_err(sql);
        let code = e
            .as_database_error()
            .and_then(|d| d.code())
            .map(|c| c.to_string());
        assert_eq!(code.as_deref(), Some("P0001"), "{sql}: {e}");
    }
    let v = app
        .as_role("850", Role::Auditor)
        .audit()
        .verify_audit_trail(pb::VerifyAuditTrailRequest {
            parent: "authorities/850".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(v.intact && v.erased_events == 1, "{v:?}");

    // The owner can still see everything is as the service wrote it.
    let mut c = owner(&app).await;
    let (events, amount): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM audit_events WHERE action <> 'forged'), \
                (SELECT amount_pence FROM payments)",
    )
    .fetch_one(&mut c)
    .await
    .unwrap();
    assert!(events >= 4, "{events}");
    assert_eq!(amount, 8_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_role_cannot_move_a_chain_head_back() {
    let app = TestApp::spawn(Backend::Postgres).await;
    for year in 2020..2024 {
        app.policy()
            .create_policy_version(create(
                "authorities/850",
                &format!("v{year}"),
                local_version(year, 9, 1),
            ))
            .await
            .unwrap();
    }
    let mut service = PgConnection::connect(app.service_url()).await.unwrap();
    // Its grants allow these statements (UPDATE of both columns): the trigger
    // is what refuses them, and only the owner can disable it.
    for sql in [
        "UPDATE audit_chain_heads SET last_event_id = 2, \
           last_hash = (SELECT hash FROM audit_events WHERE authority_code = '850' AND event_id = 2)",
        "UPDATE audit_chain_heads SET last_hash = '0000000000000000000000000000000000000000000000000000000000000000'",
    ] {
        let e = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut service)
            .await
            .expect_err(sql);
        let code = e
            .as_database_error()
            .and_then(|d| d.code())
            .map(|c| c.to_string());
        assert_eq!(code.as_deref(), Some("P0001"), "{sql}: {e}");
    }
    for sql in [
        "DELETE FROM audit_chain_heads",
        "TRUNCATE audit_chain_heads",
        "ALTER TABLE audit_chain_heads DISABLE TRIGGER audit_chain_heads_forward_only",
        "DROP TRIGGER audit_chain_heads_forward_only ON audit_chain_heads",
    ] {
        let e = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut service)
            .await
            .expect_err(sql);
        let code = e
            .as_database_error()
            .and_then(|d| d.code())
            .map(|c| c.to_string());
        assert_eq!(code.as_deref(), Some("42501"), "{sql}: {e}");
    }
    // Every later mutation still appends, and the chain verifies.
    app.policy()
        .create_policy_version(create(
            "authorities/850",
            "after",
            local_version(2025, 9, 1),
        ))
        .await
        .unwrap();
    let v = app
        .as_role("850", Role::Auditor)
        .audit()
        .verify_audit_trail(pb::VerifyAuditTrailRequest {
            parent: "authorities/850".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(v.intact && v.last_event_id == 5, "{v:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_service_works_as_the_service_role() {
    let app = TestApp::spawn(Backend::Postgres).await;
    app.policy()
        .create_policy_version(create("authorities/850", "v", local_version(2024, 9, 1)))
        .await
        .unwrap();
    let officer = app.as_role("850", Role::LaOfficer);
    // A week, then a correction of it: inserts, then a replacement into the history.
    record(
        &officer,
        vec![batch("w1", week(SCHOOL, 1, d(2025, 1, 6), "G", &[0, 1]))],
    )
    .await
    .unwrap();
    let corrected = record(
        &officer,
        vec![batch("w2", week(SCHOOL, 1, d(2025, 1, 6), "O", &[0]))],
    )
    .await
    .unwrap();
    assert_eq!(corrected.replaced, 2);
    let history = officer
        .attendance()
        .get_mark_history(pb::GetMarkHistoryRequest {
            parent: "authorities/850".into(),
            school_urn: SCHOOL.into(),
            upn: upn(1),
            date: date(2025, 1, 6),
            session: pb::Session::Am as i32,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(history.revisions.len(), 2, "{history:?}");

    let notices = issue(
        &app,
        // A week no register is held for (pupil 1's week is): the claim stands.
        Penalty::holiday(2, &["mum", "dad"], d(2025, 1, 13), d(2025, 2, 3)).request("n"),
    )
    .await
    .unwrap();
    let p = pay(
        &app,
        payment(
            "850",
            "p1",
            8_000,
            d(2025, 2, 10),
            &notices[0].notice_number,
            &[],
        ),
    )
    .await;
    assert_eq!(p.allocated_pence, 8_000);
    let moved = app
        .payments()
        .allocate_payment(pb::AllocatePaymentRequest {
            name: p.name.clone(),
            request_id: "move".into(),
            allocations: vec![pb::Allocation {
                notice: notices[1].name.clone(),
                amount_pence: 8_000,
                ..Default::default()
            }],
            reason: "paid for the other parent".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .payment
        .unwrap();
    assert_eq!(moved.allocations[0].notice, notices[1].name);
    app.notices()
        .withdraw_notice(crate::helpers::notices::withdraw(&notices[1].name, "w"))
        .await
        .unwrap();
    let refunded = app
        .payments()
        .record_refund(pb::RecordRefundRequest {
            name: p.name.clone(),
            refund: Some(pb::Refund {
                provider_refund_id: "r1".into(),
                amount_pence: 8_000,
                refund_date: date(2025, 3, 1),
                reason: "notice withdrawn".into(),
                notice: notices[1].name.clone(),
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .payment
        .unwrap();
    assert_eq!(refunded.refunded_pence, 8_000);
    let listed = app
        .as_role("850", Role::Auditor)
        .notices()
        .list_notices(pb::ListNoticesRequest {
            parent: "authorities/850".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .notices;
    assert_eq!(listed.len(), 2);

    // Every session the server holds on the database is the service's login.
    let mut c = owner(&app).await;
    let users: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT usename::text FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let service_user = app
        .service_url()
        .split_once("://")
        .unwrap()
        .1
        .split(':')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(users, [service_user]);
}
