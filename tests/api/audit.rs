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
            ..Default::default()
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
            let verify = who.audit().verify_audit_trail(pb::VerifyAuditTrailRequest { parent: "authorities/850".into(), ..Default::default() }).await;
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
        // Counted for the alert (the registry is the test process's, shared by
        // the tests running beside this one: it can only have gone up more).
        let failures = || lea_notices::server::metrics::metrics()
            .audit_verification_failures
            .with_label_values(&["850", "chain_broken"])
            .get();
        let before = failures();
        let edited = verify(&auditor, "authorities/850").await;
        assert!(!edited.intact);
        assert!(failures() > before, "lea_audit_verification_failures_total");
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

on_both_backends! {
    async fn erased_details_keep_the_chain_intact_and_only_erasure_is_let_through(app) {
        policy_versions(&app, "850", 2021..2025).await;
        let erase = |id: i64| format!(
            "UPDATE audit_events SET details = '{{\"erased\":true}}', details_salt = NULL \
             WHERE authority_code = '850' AND event_id = {id}"
        );
        // The append-only rule lets exactly this through, as the tables' owner too.
        assert_eq!(app.execute_raw(&erase(2)).await.unwrap(), 1);
        let auditor = app.as_role("850", Role::Auditor);
        let v = verify(&auditor, "authorities/850").await;
        assert!(v.intact, "{v:?}");
        assert_eq!((v.events_checked, v.erased_events), (4, 1));
        let listed = events(&auditor, list("authorities/850")).await;
        assert_eq!(listed[1].details_json, "{\"erased\":true}");
        assert_ne!(listed[0].details_json, "{\"erased\":true}");

        let refused = [
            // Erased already: no salt to drop.
            erase(2),
            "UPDATE audit_events SET details = '{}' WHERE authority_code = '850' AND event_id = 1".into(),
            "UPDATE audit_events SET details = '{}', details_salt = NULL WHERE authority_code = '850' AND event_id = 1".into(),
            "UPDATE audit_events SET details_salt = NULL WHERE authority_code = '850' AND event_id = 1".into(),
            "UPDATE audit_events SET details = '{\"erased\":true}', details_salt = NULL, actor_subject = 'x' WHERE authority_code = '850' AND event_id = 3".into(),
            "UPDATE audit_events SET details = '{\"erased\":true}', details_salt = NULL, details_digest = NULL WHERE authority_code = '850' AND event_id = 3".into(),
            "UPDATE audit_events SET action = 'forged' WHERE authority_code = '850' AND event_id = 3".into(),
            "DELETE FROM audit_events WHERE authority_code = '850' AND event_id = 4".into(),
        ];
        for sql in &refused {
            let e = app.execute_raw(sql).await.expect_err(sql).to_string();
            assert!(e.contains("append-only"), "{sql}: {e}");
        }
        assert!(verify(&auditor, "authorities/850").await.intact);

        // Details changed behind the rule's back are caught, erased or not.
        as_owner_without_triggers(&app, "UPDATE audit_events SET details = '{\"erased\":false}' WHERE authority_code = '850' AND event_id = 2").await;
        let b = verify(&auditor, "authorities/850").await.first_break.unwrap();
        assert_eq!((b.event_id, b.kind()), (2, pb::AuditChainBreakKind::EventAltered), "{}", b.description);
        as_owner_without_triggers(&app, "UPDATE audit_events SET details = '{\"erased\":true}' WHERE authority_code = '850' AND event_id = 2").await;
        as_owner_without_triggers(&app, "UPDATE audit_events SET details = '{\"n\":1}' WHERE authority_code = '850' AND event_id = 3").await;
        let b = verify(&auditor, "authorities/850").await.first_break.unwrap();
        assert_eq!((b.event_id, b.kind()), (3, pb::AuditChainBreakKind::EventAltered), "{}", b.description);
        // The operator's command counts the erased events too.
        as_owner_without_triggers(&app, "UPDATE audit_events SET details = '{\"erased\":true}', details_salt = NULL WHERE authority_code = '850' AND event_id = 3").await;
        let out = verify_audit_command(&app, "850").await;
        assert!(out.status.success(), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("2 with their details erased"), "{out:?}");
    }
}

async fn policy_versions(app: &TestApp, la: &str, years: std::ops::Range<i32>) {
    for year in years {
        app.as_role(la, Role::Admin)
            .policy()
            .create_policy_version(create(
                &format!("authorities/{la}"),
                &format!("v{year}"),
                local_version(year, 9, 1),
            ))
            .await
            .unwrap();
    }
}

async fn checkpoint(who: &As, parent: &str) -> pb::AuditCheckpoint {
    who.audit()
        .create_audit_checkpoint(pb::CreateAuditCheckpointRequest {
            parent: parent.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .audit_checkpoint
        .unwrap()
}

async fn verify_against(
    who: &As,
    parent: &str,
    c: &pb::AuditCheckpoint,
) -> Result<pb::VerifyAuditTrailResponse, tonic::Status> {
    who.audit()
        .verify_audit_trail(pb::VerifyAuditTrailRequest {
            parent: parent.into(),
            checkpoint: Some(c.clone()),
        })
        .await
        .map(|r| r.into_inner())
}

/// Authority 850's events as stored, for recomputing their hashes.
async fn stored_chain(app: &TestApp) -> Vec<lea_notices::domain::audit::ChainedEvent> {
    let mut tx = app.store.begin_read().await.unwrap();
    let events = tx
        .audit_chain(
            &lea_notices::domain::identifiers::LaCode::parse("850").unwrap(),
            0,
            10_000,
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    events
}

/// What the tables' owner can do undetected by the chain alone: edit event
/// `edit`, recompute the hash of it and of every event after it, and the head's.
async fn rewrite_tail_from(app: &TestApp, edit: i64) {
    let mut events = stored_chain(app).await;
    let from = events.iter().position(|e| e.event_id == edit).unwrap();
    let forged = &mut events[from];
    forged.details = r#"{"forged":true}"#.into();
    // Its digest recomputed with its salt, as the owner can.
    let salt = hex::decode(forged.details_salt.as_deref().unwrap()).unwrap();
    forged.details_digest = Some(lea_notices::domain::audit::details_digest(
        &salt,
        &forged.details,
    ));
    let mut prev = events[from].prev_hash.clone().unwrap();
    let mut sql = Vec::new();
    for e in &mut events[from..] {
        let hash = lea_notices::domain::audit::event_hash(&prev, &e.fields("850"));
        sql.push(format!(
            "UPDATE audit_events SET details = '{}', details_digest = '{}', prev_hash = '{prev}', \
             hash = '{hash}' WHERE authority_code = '850' AND event_id = {}",
            e.details,
            e.details_digest.as_deref().unwrap(),
            e.event_id
        ));
        prev = hash;
    }
    sql.push(format!(
        "UPDATE audit_chain_heads SET last_hash = '{prev}' WHERE authority_code = '850'"
    ));
    as_owner_without_triggers(app, &sql.join("; ")).await;
}

/// The checkpoint file the server published for `c`.
fn published_file(app: &TestApp, c: &pb::AuditCheckpoint) -> std::path::PathBuf {
    let prefix = format!("audit-checkpoint-850-{:012}-", c.event_id);
    std::fs::read_dir(&app.checkpoint_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&prefix)
        })
        .unwrap_or_else(|| panic!("no {prefix}* in {}", app.checkpoint_dir.display()))
}

on_both_backends! {
    async fn the_chain_head_only_moves_forward(app) {
        policy_versions(&app, "850", 2020..2024).await;
        let head = "UPDATE audit_chain_heads SET";
        let refused = [
            format!("{head} last_event_id = last_event_id - 1 WHERE authority_code = '850'"),
            format!("{head} last_event_id = 2, last_hash = (SELECT hash FROM audit_events WHERE authority_code = '850' AND event_id = 2) WHERE authority_code = '850'"),
            format!("{head} last_hash = '{GENESIS}' WHERE authority_code = '850'"),
            format!("{head} authority_code = '852' WHERE authority_code = '850'"),
            "DELETE FROM audit_chain_heads WHERE authority_code = '850'".into(),
        ];
        for sql in &refused {
            let e = app.execute_raw(sql).await.expect_err(sql).to_string();
            assert!(e.contains("audit_chain_heads"), "{sql}: {e}");
        }
        if app.backend == Backend::Postgres {
            let e = app.execute_raw("TRUNCATE audit_chain_heads").await.unwrap_err().to_string();
            assert!(e.contains("never removed"), "{e}");
        }
        // Nothing moved: the chain verifies and the service goes on appending.
        let auditor = app.as_role("850", Role::Auditor);
        policy_versions(&app, "850", 2024..2026).await;
        let v = verify(&auditor, "authorities/850").await;
        assert!(v.intact, "{v:?}");
        assert_eq!(v.last_event_id, 6);
    }

    async fn a_checkpoint_shows_a_tail_rewritten_after_it(app) {
        policy_versions(&app, "850", 2020..2025).await;
        let auditor = app.as_role("850", Role::Auditor);
        let taken = checkpoint(&auditor, "authorities/850").await;
        assert_eq!((taken.authority.as_str(), taken.event_id), ("authorities/850", 5));
        assert_eq!((taken.public_key.len(), taken.signature.len()), (32, 64));
        let listed = events(&auditor, list("authorities/850")).await;
        assert_eq!(taken.event_hash, listed[4].hash);
        // Published outside the database, in the form verify-audit reads.
        let file = published_file(&app, &taken);
        let json = std::fs::read_to_string(&file).unwrap();
        assert!(json.contains(&taken.event_hash), "{json}");
        let v = verify_against(&auditor, "authorities/850", &taken).await.unwrap();
        assert!(v.intact && v.checkpoint_matched, "{v:?}");

        policy_versions(&app, "850", 2025..2027).await;
        let v = verify_against(&auditor, "authorities/850", &taken).await.unwrap();
        assert!(v.intact && v.checkpoint_matched, "later events leave it standing: {v:?}");

        // The owner edits event 4 and recomputes every hash after it, head and all.
        rewrite_tail_from(&app, 4).await;
        let alone = verify(&auditor, "authorities/850").await;
        assert!(alone.intact, "the chain alone cannot tell: {alone:?}");
        let v = verify_against(&auditor, "authorities/850", &taken).await.unwrap();
        assert!(!v.intact && !v.checkpoint_matched, "{v:?}");
        let b = v.first_break.unwrap();
        assert_eq!((b.event_id, b.kind()), (5, pb::AuditChainBreakKind::CheckpointRewritten), "{}", b.description);
        assert_eq!(v.events_checked, 4);

        let out = verify_audit_command_with(&app, &["--authority", "850", "--checkpoint", file.to_str().unwrap()]).await;
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("BROKEN at event 5 (CheckpointRewritten)"), "{stdout}");
        assert!(stdout.contains("NOT MATCHED"), "{stdout}");
    }

    async fn a_checkpoint_shows_a_tail_cut_off_and_its_head_moved_back(app) {
        policy_versions(&app, "850", 2020..2026).await;
        let auditor = app.as_role("850", Role::Auditor);
        let early = checkpoint(&auditor, "authorities/850").await;
        let four = events(&auditor, list("authorities/850")).await[3].hash.clone();
        assert_eq!(early.event_id, 6);
        let out = verify_audit_command_with(&app, &["--authority", "850", "--checkpoint", published_file(&app, &early).to_str().unwrap()]).await;
        assert!(out.status.success(), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("still holds event 6"), "{out:?}");

        // The owner removes events 5 and 6 and sets the head back to event 4.
        as_owner_without_triggers(&app, &format!(
            "DELETE FROM audit_events WHERE authority_code = '850' AND event_id > 4; \
             UPDATE audit_chain_heads SET last_event_id = 4, last_hash = '{four}' WHERE authority_code = '850'"
        )).await;
        let alone = verify(&auditor, "authorities/850").await;
        assert!(alone.intact && alone.last_event_id == 4, "the chain alone cannot tell: {alone:?}");
        let v = verify_against(&auditor, "authorities/850", &early).await.unwrap();
        let b = v.first_break.unwrap();
        assert_eq!((b.event_id, b.kind()), (5, pb::AuditChainBreakKind::CheckpointTruncated), "{}", b.description);
        let out = verify_audit_command_with(&app, &["--authority", "850", "--checkpoint", published_file(&app, &early).to_str().unwrap()]).await;
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("(CheckpointTruncated)"), "{out:?}");

        // New events in the gap cannot cover it: event 6 is another event now.
        policy_versions(&app, "850", 2030..2033).await;
        let v = verify_against(&auditor, "authorities/850", &early).await.unwrap();
        let b = v.first_break.unwrap();
        assert_eq!((b.event_id, b.kind()), (6, pb::AuditChainBreakKind::CheckpointRewritten), "{}", b.description);
    }

    async fn a_checkpoint_changed_or_of_another_authority_is_refused(app) {
        policy_versions(&app, "850", 2020..2022).await;
        policy_versions(&app, "852", 2020..2021).await;
        let auditor = app.as_role("850", Role::Auditor);
        let taken = checkpoint(&auditor, "authorities/850").await;
        let theirs = checkpoint(&app.as_role("852", Role::Auditor), "authorities/852").await;
        let field = |r: Result<pb::VerifyAuditTrailResponse, tonic::Status>| violated_fields(&r.unwrap_err());

        let mut moved = taken.clone();
        moved.event_hash = GENESIS.replace('0', "1");
        assert_eq!(field(verify_against(&auditor, "authorities/850", &moved).await), ["checkpoint.signature"]);
        let mut earlier = taken.clone();
        earlier.event_id = 1;
        assert_eq!(field(verify_against(&auditor, "authorities/850", &earlier).await), ["checkpoint.signature"]);
        let mut other_key = taken.clone();
        other_key.public_key = vec![7; 32];
        assert_eq!(field(verify_against(&auditor, "authorities/850", &other_key).await), ["checkpoint.public_key"]);
        assert_eq!(field(verify_against(&auditor, "authorities/850", &theirs).await), ["checkpoint.authority"]);
        let malformed = pb::AuditCheckpoint {
            authority: "850".into(),
            event_id: -1,
            event_hash: "x".into(),
            checkpoint_time: None,
            public_key: vec![1],
            signature: vec![],
        };
        assert_eq!(
            field(verify_against(&auditor, "authorities/850", &malformed).await),
            ["checkpoint.authority", "checkpoint.checkpoint_time", "checkpoint.public_key", "checkpoint.signature"]
        );
        // Only auditors and administrators take them.
        for role in [Role::LaOfficer, Role::Finance, Role::SchoolStaff, Role::Police] {
            let refused = app.as_role("850", role).audit()
                .create_audit_checkpoint(pb::CreateAuditCheckpointRequest { parent: "authorities/850".into() })
                .await.unwrap_err();
            assert_eq!(refused.code(), Code::PermissionDenied, "{role:?}");
        }
        // Before any event, a checkpoint holds the genesis hash and matches.
        let empty = checkpoint(&app.as_role("853", Role::Admin), "authorities/853").await;
        assert_eq!((empty.event_id, empty.event_hash.as_str()), (0, GENESIS));
        let v = verify_against(&app.as_role("853", Role::Admin), "authorities/853", &empty).await.unwrap();
        assert!(v.intact && v.checkpoint_matched, "{v:?}");
    }
}

/// Runs `sql` as the owner of the tables, with the audit log's append-only
/// triggers and the chain heads' forward-only ones disabled (PostgreSQL) or
/// dropped (SQLite) for it: what the tables' owner can do.
async fn as_owner_without_triggers(app: &TestApp, sql: &str) {
    let statements: Vec<String> = match app.backend {
        Backend::Postgres => vec![
            "ALTER TABLE audit_events DISABLE TRIGGER USER".into(),
            "ALTER TABLE audit_chain_heads DISABLE TRIGGER USER".into(),
            sql.into(),
            "ALTER TABLE audit_events ENABLE TRIGGER USER".into(),
            "ALTER TABLE audit_chain_heads ENABLE TRIGGER USER".into(),
        ],
        Backend::Sqlite => vec![
            "DROP TRIGGER IF EXISTS audit_events_no_update".into(),
            "DROP TRIGGER IF EXISTS audit_events_no_delete".into(),
            "DROP TRIGGER IF EXISTS audit_chain_heads_forward_only".into(),
            "DROP TRIGGER IF EXISTS audit_chain_heads_no_delete".into(),
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
    verify_audit_command_with(app, &["--authority", la]).await
}

/// `lea-notices verify-audit {args}` on the test's database, as the service's
/// role, with the server's checkpoint key.
async fn verify_audit_command_with(app: &TestApp, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_lea-notices"))
        .arg("verify-audit")
        .args(args)
        .env(
            "LEA_NOTICES_AUDIT_CHECKPOINT_KEY_FILE",
            &app.checkpoint_key_file,
        )
        .env("DATABASE_URL", app.service_url())
        .env_remove("LEA_NOTICES_DATABASE_URL")
        .env_remove("LEA_NOTICES_CONFIG")
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir())
        .output()
        .await
        .expect("run lea-notices")
}

/// The embedded default end to end: `serve` makes its checkpoint key in the
/// data directory, publishes a checkpoint of a chain that moved at its next
/// round, and `verify-audit --checkpoint` checks the file with that key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_default_publishes_checkpoints_verify_audit_reads() {
    use lea_notices::api::layers::auth::{self, DevKey};
    use lea_notices::domain::identifiers::LaCode;
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = DevKey::load_or_create(&data).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let command = || {
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_lea-notices"));
        c.current_dir(dir.path())
            .env_remove("DATABASE_URL")
            .env_remove("LEA_NOTICES_DATABASE_URL")
            .env_remove("LEA_NOTICES_CONFIG")
            .env_remove("LEA_NOTICES_AUDIT_CHECKPOINT_KEY_FILE")
            .env("RUST_LOG", "warn");
        c
    };
    let _server = command()
        .args(["serve", "--listen-addr", &format!("127.0.0.1:{port}")])
        .env("LEA_NOTICES_AUDIT_CHECKPOINT_INTERVAL_SECS", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start lea-notices");
    let endpoint =
        tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}")).unwrap();
    let mut channel = None;
    for _ in 0..100 {
        if let Ok(c) = endpoint.connect().await {
            channel = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let claims = auth::claims(
        "admin@850",
        &LaCode::parse("850").unwrap(),
        Role::Admin,
        &[],
        ("lea-notices-dev", "lea-notices"),
        chrono::Duration::minutes(10),
        chrono::Utc::now(),
    );
    let bearer = crate::helpers::Bearer::new(&key.sign(&claims));
    let channel = channel.expect("the server came up");
    lea_notices::proto::v1::policy_service_client::PolicyServiceClient::with_interceptor(
        channel, bearer,
    )
    .create_policy_version(create("authorities/850", "v", local_version(2024, 9, 1)))
    .await
    .unwrap();

    // The next round (every second here) publishes event 1.
    let published = data.join("audit-checkpoints");
    let mut file = None;
    for _ in 0..300 {
        file = std::fs::read_dir(&published).ok().and_then(|entries| {
            entries.map(|e| e.unwrap().path()).find(|p| {
                p.to_string_lossy()
                    .contains("audit-checkpoint-850-000000000001-")
            })
        });
        if file.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let file = file.expect("a checkpoint of event 1 published");
    assert!(data.join("audit-checkpoint-key.pem").exists());

    let out = command()
        .args([
            "verify-audit",
            "--authority",
            "850",
            "--checkpoint",
            file.to_str().unwrap(),
        ])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("still holds event 1"), "{stdout}");
}
