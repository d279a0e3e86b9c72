//! PolicyService through the real API: versions by date, national defaults,
//! validation, idempotent retry and the audit log.

use lea_notices::domain::actor::Role;
use lea_notices::domain::identifiers::LaCode;
use lea_notices::proto::v1::{self as pb};
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::policy::*;
use crate::helpers::{date, on_both_backends, violated_fields};

on_both_backends! {
    async fn national_regimes_apply_by_date_without_local_versions(app) {
        let cases = [
            ((2004, 2, 27), "nationalRegimes/2004-02-27", 5_000, 28, 10_000, 42, 0),
            ((2012, 9, 1), "nationalRegimes/2012-09-01", 6_000, 28, 12_000, 42, 0),
            ((2014, 3, 3), "nationalRegimes/2013-09-01", 6_000, 21, 12_000, 28, 0),
            ((2024, 8, 18), "nationalRegimes/2013-09-01", 6_000, 21, 12_000, 28, 0),
            ((2024, 8, 19), "nationalRegimes/2024-08-19", 8_000, 21, 16_000, 28, 16_000),
        ];
        for ((y, m, d), name, lower, lower_days, higher, higher_days, second) in cases {
            let p = policy_on(&app, "authorities/850", y, m, d).await.unwrap();
            assert_eq!(p.name, name);
            assert_eq!(p.source, pb::PolicySource::National as i32);
            assert_eq!(
                (p.lower_amount_pence, p.lower_period_days, p.higher_amount_pence, p.higher_period_days, p.second_notice_amount_pence),
                (lower, lower_days, higher, higher_days, second),
                "{name} on {y}-{m}-{d}"
            );
        }
        let before = policy_on(&app, "authorities/850", 2004, 2, 26).await.unwrap_err();
        assert_eq!(before.code(), Code::NotFound);
    }

    async fn authority_versions_govern_from_their_date_and_only_their_authority(app) {
        let mut southampton = local_version(2025, 9, 1);
        southampton.permitted_issuers = vec![pb::IssuerRole::HeadTeacher as i32, pb::IssuerRole::LaOfficer as i32];
        let created = app.as_role("852", Role::Admin).policy().create_policy_version(create("authorities/852", "r-1", southampton)).await.unwrap().into_inner();
        let created = created.policy_version.unwrap();
        assert_eq!(created.name, "authorities/852/policyVersions/2025-09-01");
        assert_eq!(created.source, pb::PolicySource::Authority as i32);
        assert!(created.create_time.is_some());
        assert_eq!(created.creator.as_ref().unwrap().subject, "admin@852");
        assert_eq!(created.creator.as_ref().unwrap().role, pb::Role::Admin as i32);

        let mut later = local_version(2026, 1, 5);
        later.part_payments_accepted = true;
        app.as_role("852", Role::Admin).policy().create_policy_version(create("authorities/852", "r-2", later)).await.unwrap();

        assert_eq!(policy_on(&app, "authorities/852", 2025, 8, 31).await.unwrap().name, "nationalRegimes/2024-08-19");
        let first = policy_on(&app, "authorities/852", 2025, 9, 1).await.unwrap();
        assert_eq!(first, created, "GetPolicy returns the version exactly as stored");
        assert_eq!(policy_on(&app, "authorities/852", 2026, 1, 4).await.unwrap().name, created.name);
        let second = policy_on(&app, "authorities/852", 2026, 1, 5).await.unwrap();
        assert_eq!(second.name, "authorities/852/policyVersions/2026-01-05");
        assert!(second.part_payments_accepted);

        // Hampshire's policy is untouched by Southampton's versions.
        assert_eq!(policy_on(&app, "authorities/850", 2026, 1, 5).await.unwrap().name, "nationalRegimes/2024-08-19");
        assert!(versions(&app, "authorities/850").await.is_empty());
        let listed: Vec<_> = versions(&app, "authorities/852").await.into_iter().map(|v| v.name).collect();
        assert_eq!(listed, ["authorities/852/policyVersions/2025-09-01", "authorities/852/policyVersions/2026-01-05"]);
    }

    async fn every_problem_is_a_field_violation_and_nothing_is_written(app) {
        let mut bad = local_version(2025, 9, 1);
        bad.higher_amount_pence = 7_000; // below the lower amount
        bad.second_notice_amount_pence = 7_000;
        bad.higher_period_days = 20; // shorter than the lower period
        bad.notice_to_improve_max_school_weeks = 7;
        bad.threshold.as_mut().unwrap().qualifying_codes = vec!["G".into(), "Q9".into(), "G".into()];
        bad.max_notices_per_parent_per_child = 3;
        bad.permitted_issuers = vec![pb::IssuerRole::Unspecified as i32, 42];
        bad.notice_to_improve_required_for = vec![pb::OffenceReason::Holiday as i32, pb::OffenceReason::Holiday as i32];
        let status = app.policy().create_policy_version(create("authorities/850", "", bad)).await.unwrap_err();
        assert_eq!(
            violated_fields(&status),
            [
                "request_id",
                "policy_version.permitted_issuers[0]",
                "policy_version.permitted_issuers[1]",
                "policy_version.higher_amount_pence",
                "policy_version.higher_period_days",
                "policy_version.threshold.qualifying_codes[1]",
                "policy_version.threshold.qualifying_codes[2]",
                "policy_version.max_notices_per_parent_per_child",
                "policy_version.notice_to_improve_max_school_weeks",
                "policy_version.notice_to_improve_required_for[1]",
                "policy_version.permitted_issuers",
            ]
        );

        let missing = app.policy().create_policy_version(pb::CreatePolicyVersionRequest {
            parent: "authorities/85".into(),
            request_id: "r".into(),
            policy_version: None,
        }).await.unwrap_err();
        assert_eq!(violated_fields(&missing), ["parent", "policy_version"]);

        let mut no_date = local_version(2025, 9, 1);
        no_date.effective_from = date(2025, 2, 30);
        let status = app.policy().create_policy_version(create("authorities/850", "r", no_date)).await.unwrap_err();
        assert_eq!(violated_fields(&status), ["policy_version.effective_from"]);

        let mut too_early = local_version(2003, 9, 1);
        too_early.second_notice_amount_pence = 0;
        too_early.max_notices_per_parent_per_child = 0;
        let status = app.policy().create_policy_version(create("authorities/850", "r", too_early)).await.unwrap_err();
        assert_eq!(violated_fields(&status), ["policy_version.effective_from"]);

        assert!(versions(&app, "authorities/850").await.is_empty());
        assert_eq!(audit_count(&app, "850").await, 0);
    }

    async fn each_validation_rule_names_its_field(app) {
        type Edit = fn(&mut pb::PolicyVersion);
        let cases: [(&str, Edit); 17] = [
            ("lower_amount_pence", |v| v.lower_amount_pence = 0),
            ("higher_amount_pence", |v| { v.higher_amount_pence = 7_999; v.second_notice_amount_pence = 7_999 }),
            ("lower_period_days", |v| v.lower_period_days = 0),
            ("higher_period_days", |v| v.higher_period_days = 20),
            ("second_notice_amount_pence", |v| v.second_notice_amount_pence = 16_001),
            ("second_notice_amount_pence", |v| v.second_notice_amount_pence = 0),
            ("threshold.sessions", |v| v.threshold.as_mut().unwrap().sessions = 0),
            ("threshold.sessions", |v| v.threshold.as_mut().unwrap().sessions = 101),
            ("threshold.window_school_weeks", |v| v.threshold.as_mut().unwrap().window_school_weeks = 0),
            ("threshold.qualifying_codes", |v| v.threshold.as_mut().unwrap().qualifying_codes.clear()),
            ("threshold.qualifying_codes[0]", |v| v.threshold.as_mut().unwrap().qualifying_codes[0] = "H".into()),
            ("max_notices_per_parent_per_child", |v| v.max_notices_per_parent_per_child = 0),
            ("notice_limit_period_years", |v| v.notice_limit_period_years = 2),
            ("notice_to_improve_min_school_weeks", |v| v.notice_to_improve_min_school_weeks = 2),
            ("permitted_issuers[1]", |v| v.permitted_issuers = vec![2, 2]),
            ("request_deadline_school_days", |v| v.request_deadline_school_days = -1),
            ("lower_rate_warning_days", |v| v.lower_rate_warning_days = 22),
        ];
        for (i, (field, edit)) in cases.into_iter().enumerate() {
            let mut version = local_version(2025, 9, 1);
            edit(&mut version);
            let status = app.policy().create_policy_version(create("authorities/850", &format!("v{i}"), version)).await.unwrap_err();
            assert_eq!(violated_fields(&status), [format!("policy_version.{field}")], "case {i}");
        }
        assert!(versions(&app, "authorities/850").await.is_empty());
    }

    async fn a_second_version_on_the_same_date_is_refused(app) {
        app.policy().create_policy_version(create("authorities/850", "a", local_version(2025, 9, 1))).await.unwrap();
        let mut other = local_version(2025, 9, 1);
        other.lower_amount_pence = 7_000;
        let status = app.policy().create_policy_version(create("authorities/850", "b", other)).await.unwrap_err();
        assert_eq!(violated_fields(&status), ["policy_version.effective_from"]);
        assert_eq!(versions(&app, "authorities/850").await[0].lower_amount_pence, 8_000);
        assert_eq!(audit_count(&app, "850").await, 1);
        // The same date is free in another authority.
        app.as_role("852", Role::Admin).policy().create_policy_version(create("authorities/852", "b", local_version(2025, 9, 1))).await.unwrap();
    }

    async fn retrying_a_request_id_returns_the_stored_response(app) {
        let request = create("authorities/850", "req-42", local_version(2025, 9, 1));
        let first = app.policy().create_policy_version(request.clone()).await.unwrap().into_inner();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let retry = app.policy().create_policy_version(request.clone()).await.unwrap().into_inner();
        assert_eq!(first, retry, "the retry gets the first response, create_time included");
        assert_eq!(versions(&app, "authorities/850").await.len(), 1);
        assert_eq!(audit_count(&app, "850").await, 1);

        let mut different = request.clone();
        different.policy_version.as_mut().unwrap().effective_from = date(2025, 10, 1);
        let status = app.policy().create_policy_version(different).await.unwrap_err();
        assert_eq!(status.code(), Code::AlreadyExists);
        let info = status.get_details_error_info().expect("ErrorInfo");
        assert_eq!(info.reason, "REQUEST_ID_REUSED");
        assert_eq!(info.metadata["request_id"], "req-42");
        assert_eq!(versions(&app, "authorities/850").await.len(), 1);

        // Request ids are scoped to their authority.
        let mut elsewhere = request.clone();
        elsewhere.parent = "authorities/852".into();
        app.as_role("852", Role::Admin).policy().create_policy_version(elsewhere).await.unwrap();
    }

    async fn a_request_id_kept_under_its_grpc_path_before_the_upgrade_still_answers_its_retry(app) {
        // Request ids were kept under the gRPC method before migration 0018;
        // its UPDATE renames them to the use case's name.
        let request = create("authorities/850", "req-before-upgrade", local_version(2025, 9, 1));
        let first = app.policy().create_policy_version(request.clone()).await.unwrap().into_inner();
        app.execute_raw(
            "UPDATE idempotency_keys SET method = '/lea.notices.v1.PolicyService/CreatePolicyVersion' \
             WHERE request_id = 'req-before-upgrade'",
        )
        .await
        .unwrap();
        let kept_before = app.policy().create_policy_version(request.clone()).await.unwrap_err();
        assert_eq!(kept_before.code(), Code::AlreadyExists, "a path is not the use case's name");
        let migration = match app.backend {
            lea_notices::store::Backend::Postgres => {
                include_str!("../../src/store/postgres/migrations/0018_request_ids_by_use_case.sql")
            }
            lea_notices::store::Backend::Sqlite => {
                include_str!("../../src/store/sqlite/migrations/0018_request_ids_by_use_case.sql")
            }
        };
        app.execute_raw(migration).await.unwrap();
        let retry = app.policy().create_policy_version(request).await.unwrap().into_inner();
        assert_eq!(first, retry);
        assert_eq!(versions(&app, "authorities/850").await.len(), 1);
    }

    async fn concurrent_retries_create_one_version(app) {
        let request = create("authorities/850", "same-id", local_version(2025, 9, 1));
        let calls = (0..10).map(|_| {
            let mut client = app.policy();
            let request = request.clone();
            tokio::spawn(async move { client.create_policy_version(request).await.map(|r| r.into_inner()) })
        });
        let responses: Vec<_> = futures_results(calls).await;
        assert!(responses.iter().all(|r| r.as_ref().unwrap() == responses[0].as_ref().unwrap()));
        assert_eq!(versions(&app, "authorities/850").await.len(), 1);
        assert_eq!(audit_count(&app, "850").await, 1);
    }

    async fn concurrent_versions_for_one_date_leave_exactly_one(app) {
        let calls = (0..10).map(|i| {
            let mut client = app.policy();
            let mut version = local_version(2025, 9, 1);
            version.lower_amount_pence = 7_000 + i;
            let request = create("authorities/850", &format!("id-{i}"), version);
            tokio::spawn(async move { client.create_policy_version(request).await })
        });
        let results = futures_results(calls).await;
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 1, "{results:?}");
        for status in results.iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(violated_fields(status), ["policy_version.effective_from"]);
        }
        assert_eq!(versions(&app, "authorities/850").await.len(), 1);
        assert_eq!(audit_count(&app, "850").await, 1);
    }

    async fn creating_a_version_writes_one_audit_event(app) {
        app.policy().create_policy_version(create("authorities/850", "audit-me", local_version(2025, 9, 1))).await.unwrap();
        let events = app.audit_events(&LaCode::parse("850").unwrap(), Some("authorities/850/policyVersions/2025-09-01"), 0, 10)
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!((e.action.as_str(), e.request_id.as_str()), ("policy_version.created", "audit-me"));
        assert_eq!((e.actor_subject.as_str(), e.actor_role.as_str()), ("admin@850", "admin"), "the verified identity, not the request");
        assert_eq!(e.details["effective_from"], "2025-09-01");
        assert_eq!(e.details["rules"]["lower_amount_pence"], 8_000);
        assert_eq!(e.details["rules"]["permitted_issuers"], serde_json::json!(["la_officer"]));
    }

    async fn listing_pages_with_tokens_bound_to_their_filter(app) {
        for (i, month) in [9, 10, 11].into_iter().enumerate() {
            app.policy().create_policy_version(create("authorities/850", &format!("p{i}"), local_version(2025, month, 1))).await.unwrap();
        }
        let mut client = app.policy();
        let page1 = client.list_policy_versions(pb::ListPolicyVersionsRequest { parent: "authorities/850".into(), page_size: 2, ..Default::default() }).await.unwrap().into_inner();
        assert_eq!(page1.policy_versions.len(), 2);
        assert!(!page1.next_page_token.is_empty());
        let page2 = client.list_policy_versions(pb::ListPolicyVersionsRequest { parent: "authorities/850".into(), page_size: 2, page_token: page1.next_page_token.clone() }).await.unwrap().into_inner();
        assert_eq!(page2.policy_versions.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), ["authorities/850/policyVersions/2025-11-01"]);
        assert!(page2.next_page_token.is_empty());

        let wrong_filter = app.as_role("852", Role::Admin).policy().list_policy_versions(pb::ListPolicyVersionsRequest { parent: "authorities/852".into(), page_size: 2, page_token: page1.next_page_token }).await.unwrap_err();
        assert_eq!(violated_fields(&wrong_filter), ["page_token"]);
        let negative = client.list_policy_versions(pb::ListPolicyVersionsRequest { parent: "authorities/850".into(), page_size: -1, ..Default::default() }).await.unwrap_err();
        assert_eq!(violated_fields(&negative), ["page_size"]);
    }
}

/// Awaits spawned calls, in order.
async fn futures_results<T: std::fmt::Debug>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}
