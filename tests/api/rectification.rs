//! Rectification (UK GDPR Article 16) through the real API: a parent's and a
//! pupil's details corrected on the notices that hold them, the history of
//! what they held before, letters rendered afterwards, and the subject's
//! export.

use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use tonic::Code;

use crate::data_protection::export;
use crate::helpers::notices::{Penalty, d, issue};
use crate::helpers::{TestApp, on_both_backends, violated_fields};
use crate::letters::{create_settings, extracted_text, register_school, render, settings};

fn details(given: &str, family: &str, line: &str, postcode: &str) -> Option<pb::PersonalDetails> {
    Some(pb::PersonalDetails {
        given_name: given.into(),
        family_name: family.into(),
        address: Some(pb::PostalAddress {
            lines: vec![line.into(), "Winchester".into()],
            postcode: postcode.into(),
        }),
    })
}

async fn rectify(
    app: &TestApp,
    role: Role,
    request: pb::RectifyPersonalDetailsRequest,
) -> Result<Vec<pb::Rectification>, tonic::Status> {
    app.as_role("850", role)
        .data_protection()
        .rectify_personal_details(request)
        .await
        .map(|r| r.into_inner().rectifications)
}

fn moved_house(request_id: &str) -> pb::RectifyPersonalDetailsRequest {
    pb::RectifyPersonalDetailsRequest {
        parent: "authorities/850".into(),
        person_id: "mum".into(),
        details: details("mum", "Taylor", "7 Mill Lane", "SO22 5AB"),
        reason: "Parent's letter of 2 December: the address was mistyped".into(),
        request_id: request_id.into(),
        ..Default::default()
    }
}

async fn letter_text(app: &TestApp, name: &str) -> String {
    extracted_text(&render(app, Role::LaOfficer, name).await.unwrap().content)
}

async fn rectified_events(app: &TestApp) -> Vec<pb::AuditEvent> {
    app.as_role("850", Role::Auditor)
        .audit()
        .list_audit_events(pb::ListAuditEventsRequest {
            parent: "authorities/850".into(),
            action: "notice.rectified".into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .audit_events
}

on_both_backends! {
    async fn a_corrected_address_is_printed_on_later_letters_and_the_old_one_kept(app) {
        app.clock.set_day(d(2024, 10, 1));
        register_school(&app).await;
        create_settings(&app, "s1", settings(d(2024, 9, 1), "Hampshire County Council", "0300 555 1375")).await.unwrap();
        let notices = issue(&app, Penalty::holiday(1, &["mum", "dad"], d(2024, 9, 9), d(2024, 10, 1)).request("n1")).await.unwrap();
        let (mums, dads) = (&notices[0], &notices[1]);
        assert_eq!(mums.parent.as_ref().unwrap().person_id, "mum");
        let before = letter_text(&app, &mums.name).await;
        assert!(before.contains("given to mum Taylor, of 1 High Street, Winchester, SO23 8UJ"), "{before}");

        // The officer corrects the mother's address, a day later.
        app.clock.set_day(d(2024, 10, 2));
        let done = rectify(&app, Role::LaOfficer, moved_house("r1")).await.unwrap();
        assert_eq!(done.len(), 1, "only the mother's notice names her: {done:?}");
        let r = &done[0];
        assert_eq!((r.notice.as_str(), r.sequence, r.subject_key.as_str()), (mums.name.as_str(), 1, "mum"));
        assert_eq!(r.subject_kind(), pb::DataSubjectKind::Parent);
        assert_eq!(r.previous.as_ref().unwrap().address, mums.parent.as_ref().unwrap().address);
        assert_eq!(r.corrected, details("mum", "Taylor", "7 Mill Lane", "SO22 5AB"));
        assert_eq!(r.actor.as_ref().unwrap().role(), pb::Role::LaOfficer);
        assert_eq!(r.rectify_time.unwrap().seconds / 86_400, 1_727_827_200 / 86_400); // 2 October 2024

        // A retry answers the same and changes nothing more.
        assert_eq!(rectify(&app, Role::LaOfficer, moved_house("r1")).await.unwrap(), done);
        let reused = rectify(&app, Role::LaOfficer, pb::RectifyPersonalDetailsRequest { reason: "another".into(), ..moved_house("r1") }).await.unwrap_err();
        assert_eq!(reused.code(), Code::AlreadyExists);
        // Asked again under a new id: nothing differs, nothing is made.
        assert!(rectify(&app, Role::DataProtectionOfficer, moved_house("r2")).await.unwrap().is_empty());

        // The notice and the letter rendered afterwards hold the new address.
        let now = app.as_role("850", Role::LaOfficer).notices()
            .get_notice(pb::GetNoticeRequest { name: mums.name.clone() }).await.unwrap().into_inner().notice.unwrap();
        assert_eq!(now.parent.as_ref().unwrap().address, details("mum", "Taylor", "7 Mill Lane", "SO22 5AB").unwrap().address);
        let after = letter_text(&app, &mums.name).await;
        assert!(after.contains("given to mum Taylor, of 7 Mill Lane, Winchester, SO22 5AB"), "{after}");
        assert!(!after.contains("mum Taylor, of 1 High Street"), "{after}");
        // The father's notice is his own.
        assert!(letter_text(&app, &dads.name).await.contains("given to dad Taylor, of 1 High Street, Winchester, SO23 8UJ"));

        // The pupil's name corrected: on both notices, each with its history.
        let pupil = rectify(&app, Role::DataProtectionOfficer, pb::RectifyPersonalDetailsRequest {
            parent: "authorities/850".into(),
            upn: mums.pupil.as_ref().unwrap().upn.clone(),
            details: details("Samuel", "Taylor", "1 High Street", "SO23 8UJ"),
            reason: "Name as on the birth certificate".into(),
            request_id: "r3".into(),
            ..Default::default()
        }).await.unwrap();
        assert_eq!(pupil.iter().map(|r| (r.notice.as_str(), r.sequence)).collect::<Vec<_>>(), [(mums.name.as_str(), 2), (dads.name.as_str(), 1)]);
        assert_eq!(pupil[0].previous.as_ref().unwrap().given_name, "Sam");
        assert!(letter_text(&app, &dads.name).await.contains("Child: Samuel Taylor, of 1 High Street"));

        // Audited in the same unit, by field name only: no value in the details.
        let events = rectified_events(&app).await;
        assert_eq!(events.len(), 3, "{events:?}");
        assert_eq!(events[0].resource, mums.name);
        assert!(events[0].details_json.contains("\"address\""), "{}", events[0].details_json);
        assert!(events.iter().all(|e| !e.details_json.contains("Mill Lane") && !e.details_json.contains("Samuel")), "{events:?}");

        // The mother's export holds the history: what was printed before.
        let (doc, _) = export(&app, pb::ExportSubjectDataRequest {
            parent: "authorities/850".into(),
            person_id: "mum".into(),
            ..Default::default()
        }).await;
        let history = doc["rectifications"].as_array().unwrap();
        assert_eq!(history.len(), 2, "{doc}");
        assert_eq!(history[0]["previous"]["address"]["lines"][0], "1 High Street");
        assert_eq!(history[0]["corrected"]["address"]["lines"][0], "7 Mill Lane");
        assert_eq!(history[0]["reason"], "Parent's letter of 2 December: the address was mistyped");
        assert_eq!(history[0]["rectified_by"]["role"], "la_officer");
        assert_eq!(history[1]["previous"]["given_name"], "Sam");
        assert!(doc["letters"].to_string().contains("7 Mill Lane"), "{}", doc["letters"]);
    }

    async fn a_rectification_is_refused_without_its_details_reason_or_subject(app) {
        app.clock.set_day(d(2024, 10, 1));
        issue(&app, Penalty::holiday(1, &["mum"], d(2024, 9, 9), d(2024, 10, 1)).request("n1")).await.unwrap();
        let bare = rectify(&app, Role::LaOfficer, pb::RectifyPersonalDetailsRequest {
            parent: "authorities/850".into(),
            request_id: "r1".into(),
            ..Default::default()
        }).await.unwrap_err();
        assert_eq!(violated_fields(&bare), ["upn", "details", "reason"]);
        let blank = rectify(&app, Role::LaOfficer, pb::RectifyPersonalDetailsRequest {
            details: Some(pb::PersonalDetails::default()),
            reason: " ".into(),
            ..moved_house("r2")
        }).await.unwrap_err();
        assert_eq!(violated_fields(&blank), ["details.given_name", "details.family_name", "details.address", "reason"]);
        let nobody = rectify(&app, Role::LaOfficer, pb::RectifyPersonalDetailsRequest {
            person_id: "stranger".into(),
            ..moved_house("r3")
        }).await.unwrap_err();
        assert_eq!(nobody.code(), Code::NotFound);
        assert!(!nobody.message().contains("stranger"), "{}", nobody.message());
        for role in [Role::SchoolStaff, Role::Auditor, Role::Finance] {
            let e = rectify(&app, role, moved_house("r4")).await.unwrap_err();
            assert_eq!(e.code(), Code::PermissionDenied, "{role:?}");
        }
        assert!(rectified_events(&app).await.is_empty());
    }
}
