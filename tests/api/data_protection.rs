//! Issue 29: the access log (who read which child's or parent's data) and
//! subject access exports, for the data protection officer.

use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use tonic::Code;

use crate::helpers::attendance::{SCHOOL, batch, record, week};
use crate::helpers::notices::{Penalty, d, issue, proto_date, upn};
use crate::helpers::payments::{pay, payment};
use crate::helpers::{TestApp, date, on_both_backends};

const NOTICE: &str = "authorities/850/notices/850-2025-000001";

/// Every access-log entry of authority `la` matching `filter`, as its data
/// protection officer lists them, page by page.
async fn access_events(
    app: &TestApp,
    la: &str,
    filter: pb::ListAccessEventsRequest,
) -> Vec<pb::AccessEvent> {
    let dpo = app.as_role(la, Role::DataProtectionOfficer);
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = dpo
            .data_protection()
            .list_access_events(pb::ListAccessEventsRequest {
                parent: format!("authorities/{la}"),
                page_size: 2,
                page_token,
                ..filter.clone()
            })
            .await
            .unwrap()
            .into_inner();
        all.extend(page.access_events);
        if page.next_page_token.is_empty() {
            return all;
        }
        page_token = page.next_page_token;
    }
}

fn of_pupil(n: u32) -> pb::ListAccessEventsRequest {
    pb::ListAccessEventsRequest {
        upn: upn(n),
        ..Default::default()
    }
}

fn by(actor: &str) -> pb::ListAccessEventsRequest {
    pb::ListAccessEventsRequest {
        actor_subject: actor.into(),
        ..Default::default()
    }
}

/// A penalty notice to pupil 1's mother (`850-2025-000001`), issued by an LA
/// officer.
async fn one_notice(app: &TestApp) -> pb::Notice {
    app.clock.set_day(d(2025, 2, 3));
    let p = Penalty::holiday(1, &["mum-1"], d(2025, 1, 13), d(2025, 2, 3));
    issue(app, p.request("notice-1")).await.unwrap().remove(0)
}

fn get(name: &str) -> pb::GetNoticeRequest {
    pb::GetNoticeRequest { name: name.into() }
}

on_both_backends! {
    async fn a_read_of_a_childs_notice_leaves_one_entry_naming_the_child_per_reader(app) {
        let notice = one_notice(&app).await;
        assert_eq!(notice.name, NOTICE);
        assert!(access_events(&app, "850", Default::default()).await.is_empty(), "issuing is audited, not an access");
        // Every role that may read notices, and sees this one.
        let readers = [Role::SchoolStaff, Role::LaOfficer, Role::Finance, Role::Auditor, Role::Admin];
        for role in readers {
            app.as_role("850", role).notices().get_notice(get(NOTICE)).await.unwrap();
        }
        let entries = access_events(&app, "850", of_pupil(1)).await;
        for role in readers {
            let theirs: Vec<_> = entries
                .iter()
                .filter(|e| e.actor.as_ref().unwrap().subject == format!("{}@850", role.as_str()))
                .collect();
            assert_eq!(theirs.len(), 1, "{role:?}: {entries:?}");
            let e = theirs[0];
            assert_eq!(e.method, "GetNotice");
            assert_eq!(e.resource, NOTICE);
            assert_eq!(e.subject_kind, pb::DataSubjectKind::Pupil as i32);
            assert_eq!(e.subject_key, upn(1));
            assert_eq!(e.actor.as_ref().unwrap().role, lea_notices::api::caller::role_to_proto(Some(role)) as i32);
            assert!(e.access_time.is_some());
            assert_eq!(e.purpose, "");
        }
        assert_eq!(entries.len(), readers.len());
        // Each read names the parent too.
        let parent = access_events(&app, "850", pb::ListAccessEventsRequest { person_id: "mum-1".into(), ..Default::default() }).await;
        assert_eq!(parent.len(), readers.len());
        assert!(parent.iter().all(|e| e.subject_kind == pb::DataSubjectKind::Parent as i32 && e.subject_key == "mum-1"));

        // A constable who did not issue it, and the data protection officer
        // (who reads the logs, not notices), read nothing and leave nothing.
        let police = app.as_role("850", Role::Police).notices().get_notice(get(NOTICE)).await.unwrap_err();
        assert_eq!(police.code(), Code::NotFound);
        let dpo = app.as_role("850", Role::DataProtectionOfficer).notices().get_notice(get(NOTICE)).await.unwrap_err();
        assert_eq!(dpo.code(), Code::PermissionDenied);
        assert_eq!(access_events(&app, "850", of_pupil(1)).await.len(), readers.len());
    }

    async fn another_authoritys_officer_learns_nothing_and_leaves_no_entry(app) {
        one_notice(&app).await;
        let stranger = app.as_role("852", Role::LaOfficer);
        let there = stranger.notices().get_notice(get(NOTICE)).await.unwrap_err();
        let nowhere = stranger.notices().get_notice(get("authorities/850/notices/850-2025-999999")).await.unwrap_err();
        assert_eq!(there.code(), Code::NotFound);
        assert_eq!(nowhere.code(), Code::NotFound);
        assert_eq!(there.message().replace("000001", "999999"), nowhere.message(), "the answer is the same as for no notice");
        let letter = stranger.notices().render_notice(pb::RenderNoticeRequest { name: NOTICE.into() }).await.unwrap_err();
        assert_eq!(letter.code(), Code::NotFound);
        assert!(access_events(&app, "850", Default::default()).await.is_empty());
        assert!(access_events(&app, "852", Default::default()).await.is_empty());
        // Nor may it read the other authority's access log.
        let log = stranger.data_protection().list_access_events(pb::ListAccessEventsRequest { parent: "authorities/850".into(), ..Default::default() }).await.unwrap_err();
        assert_eq!(log.code(), Code::PermissionDenied);
    }

    async fn the_access_log_filters_by_pupil_parent_actor_and_time(app) {
        app.clock.set_day(d(2025, 2, 3));
        issue(&app, Penalty::holiday(1, &["mum-1"], d(2025, 1, 13), d(2025, 2, 3)).request("n1")).await.unwrap();
        issue(&app, Penalty::holiday(2, &["dad-2"], d(2025, 1, 13), d(2025, 2, 3)).request("n2")).await.unwrap();
        let second = "authorities/850/notices/850-2025-000002";
        let officer = app.as_role("850", Role::LaOfficer);
        let finance = app.as_role("850", Role::Finance);
        officer.notices().get_notice(get(NOTICE)).await.unwrap();
        app.clock.set_day(d(2025, 2, 5));
        finance.notices().get_notice(get(second)).await.unwrap();
        // A stated purpose is recorded.
        let mut asked = tonic::Request::new(get(second));
        asked.metadata_mut().insert("x-access-purpose", "attendance panel 2025-02".parse().unwrap());
        officer.notices().get_notice(asked).await.unwrap();

        let all = access_events(&app, "850", Default::default()).await;
        assert_eq!(all.len(), 6, "a pupil and a parent per read: {all:?}");
        assert!(all.windows(2).all(|w| w[0].access_event_id < w[1].access_event_id), "oldest first");
        let pupil2 = access_events(&app, "850", of_pupil(2)).await;
        assert_eq!(pupil2.iter().map(|e| e.actor.as_ref().unwrap().subject.as_str()).collect::<Vec<_>>(), ["finance@850", "la_officer@850"]);
        assert_eq!(pupil2[1].purpose, "attendance panel 2025-02");
        let dad = access_events(&app, "850", pb::ListAccessEventsRequest { person_id: "dad-2".into(), ..Default::default() }).await;
        assert_eq!(dad.len(), 2);
        assert!(dad.iter().all(|e| e.resource == second));
        let officer_reads = access_events(&app, "850", by("la_officer@850")).await;
        assert_eq!(officer_reads.len(), 4);
        let since = pb::ListAccessEventsRequest {
            start_time: Some(prost_types::Timestamp { seconds: d(2025, 2, 4).and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp(), nanos: 0 }),
            ..of_pupil(1)
        };
        assert!(access_events(&app, "850", since).await.is_empty(), "pupil 1 was read only on the 3rd");
        let until = pb::ListAccessEventsRequest {
            end_time: Some(prost_types::Timestamp { seconds: d(2025, 2, 4).and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp(), nanos: 0 }),
            ..by("la_officer@850")
        };
        assert_eq!(access_events(&app, "850", until).await.len(), 2);

        // Auditors read the log too; a UPN is checked without being quoted.
        app.as_role("850", Role::Auditor).data_protection().list_access_events(pb::ListAccessEventsRequest { parent: "authorities/850".into(), ..of_pupil(1) }).await.unwrap();
        let bad = app.as_role("850", Role::Auditor).data_protection().list_access_events(pb::ListAccessEventsRequest { parent: "authorities/850".into(), upn: "X850200125999".into(), ..Default::default() }).await.unwrap_err();
        assert_eq!(bad.code(), Code::InvalidArgument);
        assert!(!bad.message().contains("X850200125999"));
        let both = app.as_role("850", Role::Auditor).data_protection().list_access_events(pb::ListAccessEventsRequest { parent: "authorities/850".into(), upn: upn(1), person_id: "mum-1".into(), ..Default::default() }).await.unwrap_err();
        assert_eq!(both.code(), Code::InvalidArgument);
    }

    async fn a_notice_out_of_the_readers_scope_is_not_found_and_leaves_no_entry(app) {
        app.clock.set_day(d(2025, 2, 3));
        let mut elsewhere = Penalty::holiday(2, &["dad-2"], d(2025, 1, 13), d(2025, 2, 3)).request("notice-2");
        elsewhere.pupil.as_mut().unwrap().school_urn = "116440".into();
        let notice = issue(&app, elsewhere).await.unwrap().remove(0);
        let head = app.as_role("850", Role::SchoolStaff); // school 116439
        let refused = head.notices().get_notice(get(&notice.name)).await.unwrap_err();
        assert_eq!(refused.code(), Code::NotFound);
        assert!(access_events(&app, "850", Default::default()).await.is_empty());

        // A constable reads a notice they issued: its pupil and parent, once each.
        let police = app.as_role("850", Role::Police);
        let mut theirs = Penalty::holiday(3, &["gran-3"], d(2025, 1, 13), d(2025, 2, 3)).request("police-1");
        theirs.issuer.as_mut().unwrap().role = pb::IssuerRole::Police as i32;
        let issued = police.notices().issue_penalty_notice(theirs).await.unwrap().into_inner().notices.remove(0);
        police.notices().get_notice(get(&issued.name)).await.unwrap();
        let seen: Vec<(i32, String, String, String)> = access_events(&app, "850", Default::default())
            .await
            .into_iter()
            .map(|e| (e.subject_kind, e.subject_key, e.resource, e.actor.unwrap().subject))
            .collect();
        let police_read = |kind: pb::DataSubjectKind, key: String| (kind as i32, key, issued.name.clone(), "police@850".to_string());
        assert_eq!(seen, [police_read(pb::DataSubjectKind::Pupil, upn(3)), police_read(pb::DataSubjectKind::Parent, "gran-3".into())]);
    }

    async fn a_purpose_that_is_not_one_is_refused_and_leaves_no_entry(app) {
        one_notice(&app).await;
        let mut asked = tonic::Request::new(get(NOTICE));
        asked.metadata_mut().insert("x-access-purpose", "x".repeat(201).parse().unwrap());
        let refused = app.as_role("850", Role::LaOfficer).notices().get_notice(asked).await.unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert_eq!(crate::helpers::violated_fields(&refused), ["x-access-purpose"]);
        assert!(access_events(&app, "850", Default::default()).await.is_empty());
    }

    async fn a_list_records_the_children_it_returned_and_no_others(app) {
        app.clock.set_day(d(2025, 2, 3));
        for n in 1..=3 {
            issue(&app, Penalty::holiday(n, &["carer"], d(2025, 1, 13), d(2025, 2, 3)).request(&format!("n{n}"))).await.unwrap();
        }
        let head = app.as_role("850", Role::SchoolStaff);
        let page = head.notices().list_notices(pb::ListNoticesRequest { parent: "authorities/850".into(), school_urn: "116439".into(), page_size: 2, ..Default::default() }).await.unwrap().into_inner();
        assert_eq!(page.notices.len(), 2);
        let entries = access_events(&app, "850", by("school_staff@850")).await;
        let mut pupils: Vec<_> = entries.iter().filter(|e| e.subject_kind == pb::DataSubjectKind::Pupil as i32).map(|e| e.subject_key.clone()).collect();
        pupils.sort();
        let mut listed: Vec<_> = page.notices.iter().map(|n| n.pupil.as_ref().unwrap().upn.clone()).collect();
        listed.sort();
        assert_eq!(pupils, listed, "the row read past the page is not recorded");
        assert!(entries.iter().all(|e| e.method == "ListNotices"));
        // Payments name the pupils and parents of the notices they pay.
        app.clock.set_day(d(2025, 2, 20));
        let third = "authorities/850/notices/850-2025-000003";
        pay(&app, payment("850", "p-1", 8_000, d(2025, 2, 19), "", &[(third, 8_000)])).await;
        app.as_role("850", Role::Finance).payments().list_payments(pb::ListPaymentsRequest { parent: "authorities/850".into(), ..Default::default() }).await.unwrap();
        let paid = access_events(&app, "850", of_pupil(3)).await;
        assert_eq!(paid.iter().filter(|e| e.method == "ListPayments").count(), 1, "{paid:?}");
    }
}

/// The school and letter settings a letter prints (as `access::fixtures`).
async fn letter_fixtures(app: &TestApp) {
    app.as_role("850", Role::LaOfficer)
        .schools()
        .import_schools(pb::ImportSchoolsRequest {
            parent: "authorities/850".into(),
            request_id: "school".into(),
            schools: vec![pb::School {
                urn: SCHOOL.into(),
                la_code: "850".into(),
                establishment_name: "Fixture School".into(),
                status: pb::SchoolStatus::Open as i32,
                ..Default::default()
            }],
        })
        .await
        .unwrap();
    app.as_role("850", Role::Admin)
        .policy()
        .create_authority_settings(pb::CreateAuthoritySettingsRequest {
            parent: "authorities/850".into(),
            request_id: "settings".into(),
            settings: Some(pb::AuthoritySettings {
                effective_from: date(2024, 9, 1),
                authority_name: "Authority 850".into(),
                address: Some(pb::PostalAddress {
                    lines: vec!["1 Council Street".into()],
                    postcode: "SO23 8UG".into(),
                }),
                payment_url: "https://pay.example.gov.uk".into(),
                payment_telephone: "0300 555 0000".into(),
                questions_contact: "the attendance team".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap();
}

/// A family: pupil 1 with a week of registers, a decided breach, a penalty
/// notice to each of two parents (`mum-1`, `dad-1`) and a payment on the
/// mother's; and in the same school Alexandra Whitfield (pupil 2), with
/// registers and a notice to her parent `other-2`, and a payment on it.
async fn family(app: &TestApp) {
    app.clock.set_day(d(2025, 2, 3));
    letter_fixtures(app).await;
    let ours = Penalty::holiday(1, &["mum-1", "dad-1"], d(2025, 1, 13), d(2025, 2, 3));
    assert_eq!(issue(app, ours.request("ours")).await.unwrap().len(), 2);
    let mut theirs =
        Penalty::holiday(2, &["other-2"], d(2025, 1, 13), d(2025, 2, 3)).request("theirs");
    let pupil = theirs.pupil.as_mut().unwrap();
    pupil.given_name = "Alexandra".into();
    pupil.family_name = "Whitfield".into();
    theirs.parents[0].family_name = "Whitfield".into();
    issue(app, theirs).await.unwrap();
    app.clock.set_day(d(2025, 2, 20));
    pay(
        app,
        payment(
            "850",
            "ours-1",
            8_000,
            d(2025, 2, 19),
            "",
            &[("authorities/850/notices/850-2025-000001", 8_000)],
        ),
    )
    .await;
    pay(
        app,
        payment(
            "850",
            "theirs-1",
            8_000,
            d(2025, 2, 19),
            "",
            &[("authorities/850/notices/850-2025-000003", 8_000)],
        ),
    )
    .await;
    let monday = d(2025, 3, 3);
    let friday = monday + chrono::Duration::days(4);
    app.clock.set_day(friday);
    let mut marks = week(SCHOOL, 1, monday, "O", &(0..10).collect::<Vec<_>>());
    marks.extend(week(SCHOOL, 2, monday, "O", &[]));
    let officer = app.as_role("850", Role::LaOfficer);
    record(&officer, vec![batch("week-1", marks)])
        .await
        .unwrap();
    officer
        .attendance()
        .record_breach_decision(pb::RecordBreachDecisionRequest {
            parent: "authorities/850".into(),
            request_id: "decision".into(),
            upn: upn(1),
            as_of_date: proto_date(friday),
            state: pb::BreachState::NoAction as i32,
            no_action_reason: pb::NoActionReason::Medical as i32,
            note: "hospital stay".into(),
        })
        .await
        .unwrap();
    // Read once each, by the officer.
    officer.notices().get_notice(get(NOTICE)).await.unwrap();
    officer
        .notices()
        .get_notice(get("authorities/850/notices/850-2025-000003"))
        .await
        .unwrap();
}

/// The export of `request`'s subject as the data protection officer gets it,
/// and how many chunks it came in.
pub(crate) async fn export(
    app: &TestApp,
    request: pb::ExportSubjectDataRequest,
) -> (serde_json::Value, String) {
    let mut stream = app
        .as_role("850", Role::DataProtectionOfficer)
        .data_protection()
        .export_subject_data(request)
        .await
        .unwrap()
        .into_inner();
    let mut bytes = Vec::new();
    let mut first = true;
    while let Some(chunk) = stream.message().await.unwrap() {
        assert_eq!(
            chunk.content_type,
            if first { "application/json" } else { "" }
        );
        first = false;
        bytes.extend(chunk.data);
    }
    let text = String::from_utf8(bytes).unwrap();
    (serde_json::from_str(&text).unwrap(), text)
}

fn count(doc: &serde_json::Value, key: &str) -> usize {
    doc[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} missing"))
        .len()
}

on_both_backends! {
    async fn a_pupils_export_holds_every_record_about_them_and_none_about_anyone_else(app) {
        family(&app).await;
        let (doc, text) = export(&app, pb::ExportSubjectDataRequest { parent: "authorities/850".into(), upn: upn(1), ..Default::default() }).await;
        assert_eq!(doc["schema"], "lea-notices/subject-access/v1");
        assert_eq!(doc["subject"]["upn"], upn(1));
        assert_eq!(count(&doc, "marks"), 10);
        assert!(doc["marks"].as_array().unwrap().iter().all(|m| m["code"] == "O"));
        assert_eq!(count(&doc, "breach_cases"), 1);
        assert_eq!(doc["breach_cases"][0]["decision"]["note"], "hospital stay");
        assert_eq!(count(&doc, "notices"), 2);
        let parents: Vec<_> = doc["notices"].as_array().unwrap().iter().map(|n| n["parent"]["person_id"].as_str().unwrap().to_string()).collect();
        assert_eq!(parents, ["mum-1", "dad-1"]);
        assert_eq!(count(&doc, "letters"), 2);
        assert!(doc["letters"].as_array().unwrap().iter().all(|l| l["blocks"].as_array().is_some_and(|b| !b.is_empty())), "{}", doc["letters"]);
        assert_eq!(count(&doc, "payments"), 1);
        assert_eq!(doc["payments"][0]["provider_payment_id"], "ours-1");
        assert!(count(&doc, "audit_events") >= 4, "issued twice, paid, decided");
        let actions: Vec<_> = doc["audit_events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"breach.decision_recorded") && actions.contains(&"payment.recorded"), "{actions:?}");
        assert_eq!(count(&doc, "access_events"), 1, "the officer's read");
        assert_eq!(count(&doc, "penalty_notice_requests"), 0);
        // Nothing about the other child or her parent.
        for other in [upn(2).as_str(), "other-2", "Alexandra", "Whitfield", "theirs-1", "850-2025-000003"] {
            assert!(!text.contains(other), "the export names {other}");
        }

        // The export was recorded: an audit event and an access-log entry.
        let audit = app.as_role("850", Role::DataProtectionOfficer).audit().list_audit_events(pb::ListAuditEventsRequest { parent: "authorities/850".into(), action: "subject_data.exported".into(), ..Default::default() }).await.unwrap().into_inner().audit_events;
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].resource, format!("authorities/850/pupils/{}", upn(1)));
        assert_eq!(audit[0].actor.as_ref().unwrap().subject, "data_protection_officer@850");
        let reads = access_events(&app, "850", by("data_protection_officer@850")).await;
        assert_eq!(reads.len(), 1);
        assert_eq!((reads[0].method.as_str(), reads[0].subject_key.as_str()), ("ExportSubjectData", upn(1).as_str()));
    }

    async fn a_parents_export_holds_their_notices_and_payments_not_the_other_childs(app) {
        family(&app).await;
        let (doc, text) = export(&app, pb::ExportSubjectDataRequest { parent: "authorities/850".into(), person_id: "mum-1".into(), ..Default::default() }).await;
        assert_eq!(doc["subject"]["person_id"], "mum-1");
        assert_eq!(count(&doc, "notices"), 1);
        assert_eq!(doc["notices"][0]["notice_number"], "850-2025-000001");
        assert_eq!(count(&doc, "letters"), 1);
        assert_eq!(count(&doc, "payments"), 1);
        assert_eq!(doc["payments"][0]["provider_payment_id"], "ours-1");
        assert!(doc.get("marks").is_none(), "registers are the pupil's");
        assert_eq!(count(&doc, "access_events"), 1);
        for other in [upn(2).as_str(), "other-2", "Alexandra", "Whitfield", "theirs-1", "850-2025-000003"] {
            assert!(!text.contains(other), "the export names {other}");
        }
        let (theirs, _) = export(&app, pb::ExportSubjectDataRequest { parent: "authorities/850".into(), person_id: "other-2".into(), ..Default::default() }).await;
        assert_eq!(count(&theirs, "notices"), 1);
        assert_eq!(theirs["payments"][0]["provider_payment_id"], "theirs-1");

        // The same records, readable.
        let mut pdf = app.as_role("850", Role::DataProtectionOfficer).data_protection().export_subject_data(pb::ExportSubjectDataRequest { parent: "authorities/850".into(), person_id: "mum-1".into(), format: pb::SubjectExportFormat::Pdf as i32, ..Default::default() }).await.unwrap().into_inner();
        let first = pdf.message().await.unwrap().unwrap();
        assert_eq!(first.content_type, "application/pdf");
        assert!(first.data.starts_with(b"%PDF-"));
        let exported = app.as_role("850", Role::Auditor).audit().list_audit_events(pb::ListAuditEventsRequest { parent: "authorities/850".into(), action: "subject_data.exported".into(), ..Default::default() }).await.unwrap().into_inner().audit_events;
        assert_eq!(exported.len(), 3);
        assert!(exported[2].details_json.contains(r#""format":"pdf""#), "{}", exported[2].details_json);

        // Only the data protection officer exports; a subject is one of the two.
        let officer = app.as_role("850", Role::LaOfficer).data_protection().export_subject_data(pb::ExportSubjectDataRequest { parent: "authorities/850".into(), upn: upn(1), ..Default::default() }).await;
        assert_eq!(officer.err().map(|s| s.code()), Some(Code::PermissionDenied));
        let neither = app.as_role("850", Role::DataProtectionOfficer).data_protection().export_subject_data(pb::ExportSubjectDataRequest { parent: "authorities/850".into(), ..Default::default() }).await;
        assert_eq!(neither.err().map(|s| s.code()), Some(Code::InvalidArgument));
    }
}
