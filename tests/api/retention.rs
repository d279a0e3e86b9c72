//! Retention: each authority's periods as data (PolicyService), versioned by
//! date with sourced defaults.

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

async fn retention_on(app: &TestApp, la: &str, y: i32, m: i32, d: i32) -> pb::RetentionPolicyVersion {
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
