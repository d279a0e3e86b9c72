//! Issue 29: the access log (who read which child's or parent's data) and
//! subject access exports, for the data protection officer.

use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use tonic::Code;

use crate::helpers::notices::{Penalty, d, issue, upn};
use crate::helpers::payments::{pay, payment};
use crate::helpers::{TestApp, on_both_backends};

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
