//! The limit across authorities (#28): within one deployment, penalty notices
//! another participating authority issued to the same parent for the same
//! child count towards the limit and the flat second amount, when both
//! authorities' sharing agreements name each other on the issue date. The
//! issuing officer learns the other authority's code, the issue date and
//! whether it counted; each look-up is audited in both authorities.

use chrono::NaiveDate;
use lea_notices::domain::{actor::Role, identifiers::LaCode};
use lea_notices::proto::v1::{self as pb};
use tonic::Code;

use crate::helpers::notices::{Penalty, d, issue, proto_date, upn};
use crate::helpers::{TestApp, broken_rules, on_both_backends};

async fn agree(
    app: &TestApp,
    la: &str,
    from: NaiveDate,
    with: &[&str],
) -> pb::SharingAgreementVersion {
    app.as_role(la, Role::Admin)
        .policy()
        .create_sharing_agreement_version(pb::CreateSharingAgreementVersionRequest {
            parent: format!("authorities/{la}"),
            request_id: format!("share-{la}-{from}"),
            sharing_agreement_version: Some(pb::SharingAgreementVersion {
                effective_from: proto_date(from),
                shares_with: with.iter().map(|c| c.to_string()).collect(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .sharing_agreement_version
        .unwrap()
}

/// A week of holiday from `monday`, to `parents`, issued by `la` on `issued`.
fn holiday(
    la: &'static str,
    pupil: u32,
    parents: &[&'static str],
    monday: NaiveDate,
    issued: NaiveDate,
) -> Penalty {
    let mut p = Penalty::holiday(pupil, parents, monday, issued);
    p.la = la;
    p
}

async fn actions(app: &TestApp, la: &str, action: &str) -> Vec<serde_json::Value> {
    app.audit_events(&LaCode::parse(la).unwrap(), None, 0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action)
        .map(|e| e.details)
        .collect()
}

fn other(la: &str, day: NaiveDate, counted: bool) -> pb::OtherAuthorityNotice {
    pb::OtherAuthorityNotice {
        la_code: la.into(),
        issue_date: proto_date(day),
        counted,
    }
}

on_both_backends! {
    async fn a_southampton_notice_makes_hampshires_next_the_flat_second_and_a_third_is_refused(app) {
        app.clock.set_day(d(2025, 3, 24));
        agree(&app, "850", d(2024, 9, 1), &["852"]).await;
        agree(&app, "852", d(2024, 9, 1), &["850"]).await;
        // Southampton's notice to mum for pupil 1 (its own first).
        let southampton = issue(&app, holiday("852", 1, &["mum"], d(2024, 9, 9), d(2024, 10, 1)).request("s-1")).await.unwrap();
        assert!(!southampton[0].second_notice);
        assert_eq!(southampton[0].notice_number, "852-2024-000001");

        // Hampshire's first notice to mum and dad: mum's is a second notice at
        // the flat amount; dad has none elsewhere.
        let hampshire = issue(&app, holiday("850", 1, &["mum", "dad"], d(2025, 1, 6), d(2025, 2, 3)).request("h-1")).await.unwrap();
        let (mum, dad) = (&hampshire[0], &hampshire[1]);
        assert!(mum.second_notice);
        assert_eq!((mum.lower_amount_pence, mum.higher_amount_pence), (0, 16_000));
        assert_eq!(mum.other_authority_notices, [other("852", d(2024, 10, 1), true)]);
        assert!(!dad.second_notice);
        assert!(dad.other_authority_notices.is_empty());
        // Read back as issued.
        let read = app.notices().get_notice(pb::GetNoticeRequest { name: mum.name.clone() }).await.unwrap().into_inner().notice.unwrap();
        assert_eq!(read.other_authority_notices, mum.other_authority_notices);

        // A third to mum within three years is refused, naming only the code and date.
        let third = issue(&app, holiday("850", 1, &["mum"], d(2025, 3, 3), d(2025, 3, 24)).request("h-2")).await.unwrap_err();
        assert_eq!(broken_rules(&third), ["NOTICE_LIMIT"]);
        let described = {
            use tonic_types::StatusExt;
            third.get_details_precondition_failure().unwrap().violations[0].description.clone()
        };
        assert!(described.contains("one of authority 852 issued on 2024-10-01"), "{described}");

        // Every look-up is audited in both authorities, with no personal data.
        let looked_up = actions(&app, "850", "sharing.notices_looked_up").await;
        assert_eq!(looked_up.len(), 2, "{looked_up:?}");
        assert_eq!(looked_up[0]["with"], "852");
        assert_eq!(looked_up[0]["counted"], 1);
        let disclosed = actions(&app, "852", "sharing.notices_disclosed").await;
        assert_eq!(disclosed.len(), 2, "{disclosed:?}");
        assert_eq!(disclosed[0]["to"], "850");
        assert_eq!(disclosed[0]["notices"], serde_json::json!(["852-2024-000001"]));
        // Southampton's own issue looked Hampshire up too (nothing there yet).
        assert_eq!(actions(&app, "852", "sharing.notices_looked_up").await.len(), 1);
        assert_eq!(actions(&app, "850", "sharing.notices_disclosed").await.len(), 1);
        for details in looked_up.iter().chain(&disclosed) {
            let text = details.to_string();
            assert!(!text.contains("Taylor") && !text.contains(&upn(1)) && !text.contains("mum"), "{text}");
        }
        // Both chains still verify.
        for la in ["850", "852"] {
            let verified = app.as_role(la, Role::Auditor).audit()
                .verify_audit_trail(pb::VerifyAuditTrailRequest { parent: format!("authorities/{la}"), checkpoint: None })
                .await.unwrap().into_inner();
            assert!(verified.intact, "{la}: {verified:?}");
        }
    }

    async fn without_both_agreements_on_the_issue_date_nothing_is_looked_up(app) {
        app.clock.set_day(d(2025, 3, 24));
        // Only Hampshire agrees: Southampton's notice does not count.
        agree(&app, "850", d(2024, 9, 1), &["852"]).await;
        issue(&app, holiday("852", 1, &["mum"], d(2024, 9, 9), d(2024, 10, 1)).request("s-1")).await.unwrap();
        let alone = issue(&app, holiday("850", 1, &["mum"], d(2025, 1, 6), d(2025, 2, 3)).request("h-1")).await.unwrap();
        assert!(!alone[0].second_notice);
        assert_eq!(alone[0].lower_amount_pence, 8_000);
        assert!(alone[0].other_authority_notices.is_empty());
        // Southampton agrees from 1 March: a notice issued before then still
        // does not look; one issued after does.
        agree(&app, "852", d(2025, 3, 1), &["850"]).await;
        issue(&app, holiday("852", 2, &["mum"], d(2024, 9, 9), d(2024, 10, 1)).request("s-2")).await.unwrap();
        let before = issue(&app, holiday("850", 2, &["mum"], d(2025, 1, 6), d(2025, 2, 28)).request("h-2")).await.unwrap();
        assert!(!before[0].second_notice);
        assert!(actions(&app, "850", "sharing.notices_looked_up").await.is_empty());
        assert!(actions(&app, "852", "sharing.notices_disclosed").await.is_empty());
        let after = issue(&app, holiday("850", 2, &["dad", "mum"], d(2025, 3, 3), d(2025, 3, 24)).request("h-3")).await.unwrap_err();
        // Mum: Hampshire's own of 28 Feb and Southampton's: the limit.
        assert_eq!(broken_rules(&after), ["NOTICE_LIMIT"]);
        assert_eq!(actions(&app, "852", "sharing.notices_disclosed").await.len(), 1, "audited although refused");
    }

    async fn a_doubtful_match_is_reported_and_not_counted(app) {
        app.clock.set_day(d(2025, 3, 24));
        agree(&app, "850", d(2024, 9, 1), &["852"]).await;
        agree(&app, "852", d(2024, 9, 1), &["850"]).await;
        // Southampton knows mum under another person id ("mum2 Taylor" is
        // within two edits of "mum Taylor").
        issue(&app, holiday("852", 1, &["mum2"], d(2024, 9, 9), d(2024, 10, 1)).request("s-1")).await.unwrap();
        let notices = issue(&app, holiday("850", 1, &["mum"], d(2025, 1, 6), d(2025, 2, 3)).request("h-1")).await.unwrap();
        assert!(!notices[0].second_notice);
        assert_eq!(notices[0].other_authority_notices, [other("852", d(2024, 10, 1), false)]);
        let looked_up = actions(&app, "850", "sharing.notices_looked_up").await;
        assert_eq!((looked_up[0]["counted"].clone(), looked_up[0]["doubtful"].clone()), (serde_json::json!(0), serde_json::json!(1)));
    }

    async fn an_authority_reads_and_changes_only_its_own_agreement(app) {
        let on = crate::helpers::date(2025, 3, 1);
        let get = |la: &'static str, parent: &'static str| {
            let who = app.as_role(la, Role::LaOfficer);
            async move {
                who.policy()
                    .get_sharing_agreement(pb::GetSharingAgreementRequest { parent: parent.into(), date: on })
                    .await
                    .map(|r| r.into_inner().sharing_agreement_version)
            }
        };
        assert_eq!(get("850", "authorities/850").await.unwrap(), None, "off by default");
        let made = agree(&app, "850", d(2025, 1, 1), &["852", "851"]).await;
        assert_eq!(made.name, "authorities/850/sharingAgreementVersions/2025-01-01");
        assert_eq!(made.shares_with, ["851", "852"]);
        assert_eq!(get("850", "authorities/850").await.unwrap(), Some(made));
        assert_eq!(get("852", "authorities/850").await.unwrap_err().code(), Code::PermissionDenied);
        // Officers do not change it; another authority's admin cannot either.
        let change = |la: &'static str, parent: &'static str, role: Role| {
            let who = app.as_role(la, role);
            async move {
                who.policy()
                    .create_sharing_agreement_version(pb::CreateSharingAgreementVersionRequest {
                        parent: parent.into(),
                        request_id: "share-x".into(),
                        sharing_agreement_version: Some(pb::SharingAgreementVersion {
                            effective_from: crate::helpers::date(2025, 6, 1),
                            shares_with: vec![],
                            ..Default::default()
                        }),
                    })
                    .await
            }
        };
        assert_eq!(change("850", "authorities/850", Role::LaOfficer).await.unwrap_err().code(), Code::PermissionDenied);
        assert_eq!(change("852", "authorities/850", Role::Admin).await.unwrap_err().code(), Code::PermissionDenied);
        // Sharing with itself is refused.
        let mut own = pb::CreateSharingAgreementVersionRequest {
            parent: "authorities/850".into(),
            request_id: "share-self".into(),
            sharing_agreement_version: Some(pb::SharingAgreementVersion {
                effective_from: crate::helpers::date(2025, 6, 1),
                shares_with: vec!["850".into()],
                ..Default::default()
            }),
        };
        let refused = app.as_role("850", Role::Admin).policy().create_sharing_agreement_version(own.clone()).await.unwrap_err();
        assert_eq!(crate::helpers::violated_fields(&refused), ["sharing_agreement_version.shares_with"]);
        own.sharing_agreement_version.as_mut().unwrap().shares_with = vec!["85x".into()];
        let refused = app.as_role("850", Role::Admin).policy().create_sharing_agreement_version(own).await.unwrap_err();
        assert_eq!(crate::helpers::violated_fields(&refused), ["sharing_agreement_version.shares_with[0]"]);
    }
}
