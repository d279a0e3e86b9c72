//! The schema itself: keys ready for sharding by authority, and an audit log
//! that cannot be rewritten.

use crate::helpers::on_both_backends;

/// Tables without a primary key: rows are only appended, and read by an index
/// (which leads with the authority like every key).
const KEYLESS: &[&str] = &["attendance_week_figures"];

on_both_backends! {
    async fn every_key_leads_with_authority_code(app) {
        let tables = app.store.table_keys().await.unwrap();
        let names: Vec<_> = tables.iter().map(|t| t.table.as_str()).collect();
        for expected in ["audit_events", "idempotency_keys", "policy_versions", "attendance_week_figures"] {
            assert!(names.contains(&expected), "{expected} missing from {names:?}");
        }
        for t in &tables {
            if KEYLESS.contains(&t.table.as_str()) {
                // Appended only: found by an index instead.
                assert_eq!(t.primary_key, Vec::<String>::new(), "{}", t.table);
                assert!(!t.indexes.is_empty(), "{} has no index", t.table);
            } else {
                assert_eq!(t.primary_key.first().map(String::as_str), Some("authority_code"), "primary key of {}: {:?}", t.table, t.primary_key);
            }
            for index in &t.indexes {
                assert_eq!(index.first().map(String::as_str), Some("authority_code"), "index of {}: {index:?}", t.table);
            }
            for fk in &t.foreign_keys {
                assert_eq!(fk.first().map(String::as_str), Some("authority_code"), "foreign key of {}: {fk:?}", t.table);
            }
        }
    }

    async fn a_breach_state_the_domain_does_not_know_is_refused_by_the_database(app) {
        // The known states come from `BreachState::decided` at migrate
        // (migration 0019's trigger), not from a list in a migration.
        let row = |case_id: i64, state: i16| {
            format!(
                "INSERT INTO breach_cases (authority_code, case_id, upn, school_urn, as_of_date, state, \
                   note, notice_numbers, qualifying_sessions, first_week, last_week, sessions, last_date, \
                   last_session, policy_version, decided_at, decided_by_subject, decided_by_role, request_id) \
                 VALUES ('850', {case_id}, 'A850200125001', '116439', '2025-02-03', {state}, '', '[]', 10, \
                   '2025-01-06', '2025-01-27', '[]', '2025-01-31', 1, 'nationalRegimes/2024-08-19', \
                   '2025-02-03T12:00:00Z', 'officer', 'la_officer', 'r-{case_id}')"
            )
        };
        let unknown = lea_notices::domain::breach::BreachState::all().map(|s| s.number()).max().unwrap() + 1;
        let refused = app.execute_raw(&row(1, unknown)).await.unwrap_err();
        assert!(refused.to_string().contains("unknown breach state"), "{refused}");
        let pending = lea_notices::domain::breach::BreachState::Pending.number();
        assert!(app.execute_raw(&row(2, pending)).await.is_err(), "a pending breach is never stored");
        for (i, state) in lea_notices::domain::breach::BreachState::decided().into_iter().enumerate() {
            app.execute_raw(&row(10 + i as i64, state.number())).await.unwrap();
        }
    }

    async fn the_audit_log_is_append_only(app) {
        use crate::helpers::policy::{create, local_version};
        app.policy().create_policy_version(create("authorities/850", "x", local_version(2025, 9, 1))).await.unwrap();
        let update = app.execute_raw("UPDATE audit_events SET action = 'forged'").await;
        assert!(update.unwrap_err().to_string().contains("append-only"));
        let delete = app.execute_raw("DELETE FROM audit_events").await;
        assert!(delete.unwrap_err().to_string().contains("append-only"));
    }
}
