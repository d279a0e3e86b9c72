//! AuditService through the real API: every kind of mutation's event listed and
//! filtered, only for auditors and admins of the authority; and the hash chain,
//! verified intact and broken by edits made behind the service's back.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use lea_notices::store::Backend;
use tonic::Code;

use crate::helpers::attendance::{SCHOOL, batch, record, week};
use crate::helpers::notices::{Penalty, by_hand, d, issue, issuer, parent, pupil, withdraw};
use crate::helpers::payments::{pay, payment};
use crate::helpers::policy::{create, local_version};
use crate::helpers::{As, TestApp, date, on_both_backends, violated_fields};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn ts(t: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    })
}

fn list(parent: &str) -> pb::ListAuditEventsRequest {
    pb::ListAuditEventsRequest {
        parent: parent.into(),
        page_size: 500,
        ..Default::default()
    }
}

async fn events(who: &As, request: pb::ListAuditEventsRequest) -> Vec<pb::AuditEvent> {
    who.audit()
        .list_audit_events(request)
        .await
        .unwrap()
        .into_inner()
        .audit_events
}

fn actions(events: &[pb::AuditEvent]) -> Vec<&str> {
    events.iter().map(|e| e.action.as_str()).collect()
}

async fn verify(who: &As, parent: &str) -> pb::VerifyAuditTrailResponse {
    who.audit()
        .verify_audit_trail(pb::VerifyAuditTrailRequest {
            parent: parent.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// One of each mutation, the clock a minute on before each (step `k` at
/// `start + k min`). Returns the notices and the payment it touched.
async fn one_of_each_mutation(app: &TestApp, start: DateTime<Utc>) -> (Vec<pb::Notice>, String) {
    let step = |k: i64| app.clock.set(start + Duration::minutes(k));
    step(0);
    app.policy()
        .create_policy_version(create("authorities/850", "v", local_version(2024, 9, 1)))
        .await
        .unwrap();
    step(1);
    let officer = app.as_role("850", Role::LaOfficer);
    record(
        &officer,
        vec![batch("marks", week(SCHOOL, 1, d(2025, 1, 6), "G", &[0, 1]))],
    )
    .await
    .unwrap();
    step(2);
    app.notices()
        .issue_notice_to_improve(pb::IssueNoticeToImproveRequest {
            parent: "authorities/850".into(),
            request_id: "nti".into(),
            pupil: pupil(9),
            parents: vec![parent("mum")],
            issue_date: date(2025, 9, 8),
            issuer: issuer(pb::IssuerRole::LaOfficer),
            improvement_period: Some(pb::ImprovementPeriod {
                start_date: date(2025, 9, 8),
                school_weeks: 4,
                end_date: None,
                reason: "Attend every session".into(),
            }),
            delivery: by_hand(),
            breach: None,
        })
        .await
        .unwrap();
    step(3);
    let mut notices = Vec::new();
    for pupil in 1..=3 {
        // The week after the registers held: the claims rest on themselves.
        let p = Penalty::holiday(pupil, &["mum"], d(2025, 1, 13), d(2025, 2, 3));
        notices.extend(issue(app, p.request(&format!("pn-{pupil}"))).await.unwrap());
    }
    step(4);
    let p = pay(
        app,
        payment(
            "850",
            "p1",
            8_000,
            d(2025, 2, 10),
            "",
            &[(&notices[0].name, 8_000)],
        ),
    )
    .await;
    step(5);
    app.payments()
        .allocate_payment(pb::AllocatePaymentRequest {
            name: p.name.clone(),
            request_id: "move".into(),
            allocations: vec![pb::Allocation {
                notice: notices[1].name.clone(),
                amount_pence: 8_000,
                ..Default::default()
            }],
            reason: "for the other child".into(),
        })
        .await
        .unwrap();
    step(6);
    app.notices()
        .withdraw_notice(withdraw(&notices[1].name, "w"))
        .await
        .unwrap();
    step(7);
    app.payments()
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
        .unwrap();
    step(8);
    app.notices()
        .record_prosecution_outcome(pb::RecordProsecutionOutcomeRequest {
            name: notices[2].name.clone(),
            request_id: "court".into(),
            prosecution_outcome: Some(pb::ProsecutionOutcome {
                hearing_date: date(2025, 5, 20),
                court: "Winchester Magistrates' Court".into(),
                result: pb::ProsecutionResult::Convicted as i32,
                fine_pence: 44_000,
                costs_pence: 10_000,
            }),
        })
        .await
        .unwrap();
    (notices, p.name)
}

on_both_backends! {
    async fn every_kind_of_mutation_is_listed_and_filtered(app) {
        let start = DateTime::parse_from_rfc3339("2027-01-04T09:00:00Z").unwrap().to_utc();
        let (notices, payment_name) = one_of_each_mutation(&app, start).await;
        // Another authority's event, never visible to Hampshire.
        app.as_role("852", Role::Admin).policy()
            .create_policy_version(create("authorities/852", "v", local_version(2024, 9, 1))).await.unwrap();
        let auditor = app.as_role("850", Role::Auditor);

        let all = events(&auditor, list("authorities/850")).await;
        let kinds: BTreeSet<&str> = actions(&all).into_iter().collect();
        let expected: BTreeSet<&str> = [
            "policy_version.created",
            "attendance.marks_recorded",
            "notice.notice_to_improve_issued",
            "notice.penalty_notice_issued",
            "payment.recorded",
            "payment.allocated",
            "notice.paid",
            "payment.reallocated",
            "notice.payment_status_cleared",
            "notice.withdrawn",
            "payment.refunded",
            "notice.prosecution_outcome_recorded",
        ].into();
        assert_eq!(kinds, expected);
        // Numbered 1, 2, 3, ... and chained from the genesis hash.
        assert_eq!(all.iter().map(|e| e.event_id).collect::<Vec<_>>(), (1..=all.len() as i64).collect::<Vec<_>>());
        assert_eq!(all[0].previous_hash, GENESIS);
        for pair in all.windows(2) {
            assert_eq!(pair[1].previous_hash, pair[0].hash, "event {}", pair[1].event_id);
            assert_eq!(pair[1].hash.len(), 64);
        }
        assert!(all.iter().all(|e| !e.resource.starts_with("authorities/852")));
        assert_eq!(all[0].actor.as_ref().unwrap().subject, "admin@850");

        // By resource.
        let by = |resource: &str| { let mut r = list("authorities/850"); r.resource = resource.into(); r };
        assert_eq!(actions(&events(&auditor, by(&payment_name)).await), ["payment.recorded", "payment.reallocated", "payment.refunded"]);
        assert_eq!(actions(&events(&auditor, by("authorities/850/policyVersions/2024-09-01")).await), ["policy_version.created"]);
        assert_eq!(actions(&events(&auditor, by("authorities/850/attendance")).await), ["attendance.marks_recorded"]);
        assert_eq!(actions(&events(&auditor, by(&notices[2].name)).await), ["notice.penalty_notice_issued", "notice.prosecution_outcome_recorded"]);
        // By action.
        let mut refunded = list("authorities/850");
        refunded.action = "payment.refunded".into();
        let refunds = events(&auditor, refunded).await;
        let resources: BTreeSet<&str> = refunds.iter().map(|e| e.resource.as_str()).collect();
        assert_eq!(resources, [payment_name.as_str(), notices[1].name.as_str()].into());
        // By time: the payment step alone, then allocations from the reallocation on.
        let mut minute = list("authorities/850");
        minute.start_time = ts(start + Duration::minutes(4));
        minute.end_time = ts(start + Duration::minutes(5));
        assert_eq!(actions(&events(&auditor, minute).await), ["payment.recorded", "notice.paid", "payment.allocated"]);
        let mut later = list("authorities/850");
        later.action = "payment.allocated".into();
        later.start_time = ts(start + Duration::minutes(5));
        let moved: Vec<_> = events(&auditor, later).await.into_iter().map(|e| e.resource).collect();
        assert_eq!(moved, [notices[0].name.clone(), notices[1].name.clone()]);
        let mut before = list("authorities/850");
        before.end_time = ts(start + Duration::minutes(1));
        assert_eq!(actions(&events(&auditor, before).await), ["policy_version.created"]);

        // Paged: two at a time gives the same events; a token is bound to its filter.
        let mut paged = Vec::new();
        let mut request = list("authorities/850");
        request.page_size = 2;
        loop {
            let page = auditor.audit().list_audit_events(request.clone()).await.unwrap().into_inner();
            assert!(page.audit_events.len() <= 2);
            paged.extend(page.audit_events);
            if page.next_page_token.is_empty() { break; }
            request.page_token = page.next_page_token;
        }
        assert_eq!(paged, all);
        let mut first = list("authorities/850");
        first.page_size = 1;
        let token = auditor.audit().list_audit_events(first).await.unwrap().into_inner().next_page_token;
        let mut other_filter = list("authorities/850");
        other_filter.action = "notice.paid".into();
        other_filter.page_token = token;
        assert_eq!(violated_fields(&auditor.audit().list_audit_events(other_filter).await.unwrap_err()), ["page_token"]);

        // Bad filters are named.
        let mut bad = list("authorities/850");
        bad.resource = "authorities/852/payments/852-PAY-000001".into();
        bad.action = "refunded".into();
        bad.start_time = ts(start + Duration::minutes(5));
        bad.end_time = ts(start + Duration::minutes(5));
        assert_eq!(violated_fields(&auditor.audit().list_audit_events(bad).await.unwrap_err()), ["resource", "action", "end_time"]);

        // Admins read it too; nobody else does, and no one reads another authority's.
        assert_eq!(events(&app.as_role("850", Role::Admin), list("authorities/850")).await, all);
        for role in [Role::LaOfficer, Role::Finance, Role::Police, Role::SchoolStaff] {
            let who = app.as_role("850", role);
            assert_eq!(who.audit().list_audit_events(list("authorities/850")).await.unwrap_err().code(), Code::PermissionDenied, "{role:?}");
            let verify = who.audit().verify_audit_trail(pb::VerifyAuditTrailRequest { parent: "authorities/850".into() }).await;
            assert_eq!(verify.unwrap_err().code(), Code::PermissionDenied, "{role:?}");
        }
        assert_eq!(auditor.audit().list_audit_events(list("authorities/852")).await.unwrap_err().code(), Code::PermissionDenied);
        let southampton = events(&app.as_role("852", Role::Auditor), list("authorities/852")).await;
        assert_eq!(actions(&southampton), ["policy_version.created"]);
        assert_eq!((southampton[0].event_id, southampton[0].previous_hash.as_str()), (1, GENESIS));

        // The whole chain verifies, ending at the last event listed.
        let v = verify(&auditor, "authorities/850").await;
        assert!(v.intact, "{v:?}");
        assert_eq!((v.events_checked, v.unchained_events, v.last_event_id), (all.len() as i64, 0, all.len() as i64));
        assert_eq!(v.last_hash, all.last().unwrap().hash);
    }

    async fn edits_behind_the_service_s_back_break_the_chain_where_they_were_made(app) {
        for (i, day) in [(2024, 9, 1), (2025, 9, 1), (2026, 9, 1), (2027, 9, 1)].into_iter().enumerate() {
            app.policy().create_policy_version(create("authorities/850", &format!("v{i}"), local_version(day.0, day.1, day.2))).await.unwrap();
        }
        let auditor = app.as_role("850", Role::Auditor);
        let intact = verify(&auditor, "authorities/850").await;
        assert!(intact.intact && intact.events_checked == 4, "{intact:?}");

        // As the tables' owner, with the append-only trigger out of the way.
        let tamper = |sql: String| { let app = &app; async move { as_owner_without_triggers(app, &sql).await } };
        let original: String = owner_scalar(&app, "SELECT details FROM audit_events WHERE authority_code = '850' AND event_id = 2").await;
        tamper("UPDATE audit_events SET details = '{\"forged\":true}' WHERE authority_code = '850' AND event_id = 2".into()).await;
        let edited = verify(&auditor, "authorities/850").await;
        assert!(!edited.intact);
        let b = edited.first_break.unwrap();
        assert_eq!((b.event_id, b.kind(), edited.events_checked), (2, pb::AuditChainBreakKind::EventAltered, 1), "{}", b.description);

        // Put back exactly, it verifies again: the check is of the contents, nothing else.
        tamper(format!("UPDATE audit_events SET details = '{}' WHERE authority_code = '850' AND event_id = 2", original.replace('\'', "''"))).await;
        assert!(verify(&auditor, "authorities/850").await.intact);

        tamper("DELETE FROM audit_events WHERE authority_code = '850' AND event_id = 4".into()).await;
        let b = verify(&auditor, "authorities/850").await.first_break.unwrap();
        assert_eq!((b.event_id, b.kind()), (4, pb::AuditChainBreakKind::HeadMismatch), "{}", b.description);

        tamper("DELETE FROM audit_events WHERE authority_code = '850' AND event_id = 2".into()).await;
        let b = verify(&auditor, "authorities/850").await.first_break.unwrap();
        assert_eq!((b.event_id, b.kind()), (3, pb::AuditChainBreakKind::LinkBroken), "{}", b.description);

        // The operator's command says the same, and fails.
        let out = verify_audit_command(&app, "850").await;
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("BROKEN at event 3 (LinkBroken)"), "{stdout}");
        // Another authority's chain is untouched.
        let out = verify_audit_command(&app, "852").await;
        assert!(out.status.success(), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("intact: 0 events checked"), "{out:?}");
    }

    async fn events_from_before_the_chain_are_counted_and_may_only_come_first(app) {
        app.policy().create_policy_version(create("authorities/850", "v0", local_version(2024, 9, 1))).await.unwrap();
        // An event as recorded before migration 0007: no hashes.
        as_owner_without_triggers(&app, "UPDATE audit_events SET prev_hash = NULL, hash = NULL WHERE authority_code = '850'").await;
        app.policy().create_policy_version(create("authorities/850", "v1", local_version(2025, 9, 1))).await.unwrap();
        let auditor = app.as_role("850", Role::Auditor);
        // Event 2 was chained to event 1's hash: hashes cleared from the start of
        // a chain leave its first remaining event not starting from genesis.
        let b = verify(&auditor, "authorities/850").await.first_break.unwrap();
        assert_eq!((b.event_id, b.kind()), (2, pb::AuditChainBreakKind::LinkBroken), "{}", b.description);

        // Start again: the chain begins after the unchained events, from genesis.
        as_owner_without_triggers(&app, "DELETE FROM audit_events").await;
        as_owner_without_triggers(&app, &format!(
            "INSERT INTO audit_events (authority_code, event_id, occurred_at, actor_subject, actor_role, action, resource, request_id, details) \
             VALUES ('850', 7, {now}, 'admin@850', 'admin', 'policy_version.created', 'authorities/850/policyVersions/2024-09-01', 'old', '{{}}')",
            now = if app.backend == Backend::Postgres { "now()" } else { "'2026-01-01T00:00:00+00:00'" },
        )).await;
        as_owner_without_triggers(&app, &format!("UPDATE audit_chain_heads SET last_event_id = 7, last_hash = '{GENESIS}'")).await;
        app.policy().create_policy_version(create("authorities/850", "v2", local_version(2026, 9, 1))).await.unwrap();
        let v = verify(&auditor, "authorities/850").await;
        assert!(v.intact, "{v:?}");
        assert_eq!((v.events_checked, v.unchained_events, v.last_event_id), (2, 1, 8));
        let listed = events(&auditor, list("authorities/850")).await;
        assert_eq!((listed[0].hash.as_str(), listed[1].previous_hash.as_str()), ("", GENESIS));

        // One inserted without a hash after the chain began is caught.
        as_owner_without_triggers(&app, &format!(
            "INSERT INTO audit_events (authority_code, event_id, occurred_at, actor_subject, actor_role, action, resource, request_id, details) \
             VALUES ('850', 9, {now}, 'admin@850', 'admin', 'notice.withdrawn', 'authorities/850/notices/x', 'forged', '{{}}')",
            now = if app.backend == Backend::Postgres { "now()" } else { "'2026-01-01T00:00:00+00:00'" },
        )).await;
        let b = verify(&auditor, "authorities/850").await.first_break.unwrap();
        assert_eq!((b.event_id, b.kind()), (9, pb::AuditChainBreakKind::UnchainedEvent), "{}", b.description);
    }
}

/// Runs `sql` as the owner of the tables, with the audit log's append-only
/// triggers disabled (PostgreSQL) or dropped (SQLite) for it.
async fn as_owner_without_triggers(app: &TestApp, sql: &str) {
    let statements: Vec<String> = match app.backend {
        Backend::Postgres => vec![
            "ALTER TABLE audit_events DISABLE TRIGGER USER".into(),
            sql.into(),
            "ALTER TABLE audit_events ENABLE TRIGGER USER".into(),
        ],
        Backend::Sqlite => vec![
            "DROP TRIGGER IF EXISTS audit_events_no_update".into(),
            "DROP TRIGGER IF EXISTS audit_events_no_delete".into(),
            sql.into(),
        ],
    };
    for s in statements {
        app.execute_raw(&s)
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
}

async fn owner_scalar(app: &TestApp, sql: &str) -> String {
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

/// `lea-notices verify-audit --authority {la}` on the test's database, as the
/// service's role.
async fn verify_audit_command(app: &TestApp, la: &str) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_lea-notices"))
        .args(["verify-audit", "--authority", la])
        .env("DATABASE_URL", app.service_url())
        .env_remove("LEA_NOTICES_DATABASE_URL")
        .env_remove("LEA_NOTICES_CONFIG")
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir())
        .output()
        .await
        .expect("run lea-notices")
}
