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

    async fn the_audit_log_is_append_only(app) {
        use crate::helpers::policy::{create, local_version};
        app.policy().create_policy_version(create("authorities/850", "x", local_version(2025, 9, 1))).await.unwrap();
        let update = app.execute_raw("UPDATE audit_events SET action = 'forged'").await;
        assert!(update.unwrap_err().to_string().contains("append-only"));
        let delete = app.execute_raw("DELETE FROM audit_events").await;
        assert!(delete.unwrap_err().to_string().contains("append-only"));
    }
}
