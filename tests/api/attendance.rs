//! AttendanceService: recording registers (code sets by date, corrections with
//! history, idempotent batches), summaries worked out by hand, and threshold
//! breaches at the edge, across half-terms, school years and a change of school.

use chrono::{Duration, NaiveDate};
use lea_notices::domain::{actor::Role, identifiers::LaCode};
use lea_notices::proto::v1::{self as pb};
use tonic::Code;

use crate::helpers::attendance::*;
use crate::helpers::notices::{Penalty, d, issue, proto_date, upn};
use crate::helpers::policy::{create, local_version};
use crate::helpers::{on_both_backends, violated_fields};

on_both_backends! {
    async fn codes_are_checked_against_the_code_set_in_force_on_their_date(app) {
        // H (authorised holiday) was withdrawn on 19 Aug 2024; C1 arrived then.
        let friday = d(2024, 8, 16);
        let monday = d(2024, 8, 19);
        let marks = vec![
            mark(SCHOOL, 1, friday, pb::Session::Am, "H", 0),
            mark(SCHOOL, 1, monday, pb::Session::Am, "H", 0),
            mark(SCHOOL, 1, monday, pb::Session::Pm, "C1", 0),
            mark(SCHOOL, 1, friday, pb::Session::Pm, "C1", 0),
            mark(SCHOOL, 2, monday, pb::Session::Am, "ZZ", 0),
            mark(SCHOOL, 1, friday, pb::Session::Am, "/", 0),
        ];
        let status = record(&officer(&app), vec![batch("codes-1", marks.clone())])
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            violated_fields(&status),
            ["marks[1]", "marks[3]", "marks[4]", "marks[5]"],
            "{status:?}"
        );
        assert!(status.message().contains("withdrawn on 19 Aug 2024"), "{}", status.message());
        // Nothing from the refused batch was written.
        let s = summary(&app, SCHOOL, None, friday, monday).await;
        assert_eq!(s.figures.unwrap().possible_sessions, 0);

        let valid = vec![marks[0].clone(), marks[2].clone()];
        let done = record(&officer(&app), vec![batch("codes-2", valid)]).await.unwrap();
        assert_eq!((done.inserted, done.batches), (2, 1));
        let s = summary(&app, SCHOOL, Some(1), friday, monday).await;
        assert_eq!(s.figures.unwrap().authorised_absence, 2);

        // At most 5,000 marks a message; more is refused before anything is read.
        let big: Vec<_> = (0..5_001)
            .map(|i| mark(SCHOOL, i % 999, d(2025, 1, 6), pb::Session::Am, "/", 0))
            .collect();
        let status = record(&officer(&app), vec![batch("big", big)]).await.unwrap_err();
        assert_eq!(violated_fields(&status), ["marks"]);
    }

    async fn a_later_mark_replaces_the_held_one_which_is_kept_as_history(app) {
        let day = d(2025, 3, 3);
        let n = mark(SCHOOL, 1, day, pb::Session::Am, "N", 100);
        let first = record(&officer(&app), vec![batch("m-1", vec![n.clone()])]).await.unwrap();
        assert_eq!((first.inserted, first.replaced), (1, 0));

        // The reason is established: N becomes M (medical), recorded later.
        let mut m = n.clone();
        m.code = "M".into();
        m.record_time = at(200);
        let second = record(&officer(&app), vec![batch("m-2", vec![m.clone()])]).await.unwrap();
        assert_eq!((second.inserted, second.replaced, second.unchanged), (0, 1, 0));
        assert_eq!(
            history(&app, 1, day).await.unwrap(),
            [("M".to_string(), true), ("N".to_string(), false)]
        );

        // An old export sent again cannot undo the correction; the same mark
        // again changes nothing; a retried batch is skipped.
        let third = record(
            &officer(&app),
            vec![
                batch("m-3", vec![n.clone()]),
                batch("m-4", vec![m.clone()]),
                batch("m-2", vec![m.clone()]),
            ],
        )
        .await
        .unwrap();
        assert_eq!(
            (third.inserted, third.replaced, third.unchanged, third.outdated, third.batches),
            (0, 0, 2, 1, 3)
        );
        assert_eq!(history(&app, 1, day).await.unwrap().len(), 2);
        let s = summary(&app, SCHOOL, Some(1), day, day).await.figures.unwrap();
        assert_eq!((s.authorised_absence, s.unauthorised_absence), (1, 0));

        // Each batch is in the audit log with its counts.
        let events = app.audit_events(&LaCode::parse("850").unwrap(), None, 0, 1_000)
            .await
            .unwrap();
        let recorded: Vec<_> = events
            .iter()
            .filter(|e| e.action == "attendance.marks_recorded")
            .map(|e| (e.request_id.clone(), e.details["replaced"].as_i64().unwrap()))
            .collect();
        assert_eq!(
            recorded,
            [("m-1".into(), 0), ("m-2".into(), 1), ("m-3".into(), 0), ("m-4".into(), 0)]
        );

        let status = history(&app, 2, day).await.unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
    }

    async fn a_batch_mixing_new_and_held_sessions_counts_each(app) {
        let monday = d(2025, 3, 3);
        let held = week(SCHOOL, 1, monday, "O", &[]);
        let first = record(&officer(&app), vec![batch("mix-1", held.clone())]).await.unwrap();
        assert_eq!(first.inserted, 10);

        // A correction, a mark sent again and a new session, in one batch.
        let mut corrected = held[0].clone();
        corrected.code = "N".into();
        corrected.record_time = at(100);
        let new = mark(SCHOOL, 1, monday + Duration::weeks(2), pb::Session::Am, "O", 0);
        let mixed = vec![corrected, held[2].clone(), new];
        let done = record(&officer(&app), vec![batch("mix-2", mixed)]).await.unwrap();
        assert_eq!((done.inserted, done.replaced, done.unchanged), (1, 1, 1));
        // Then a week none of whose sessions is held.
        let next = week(SCHOOL, 1, monday + Duration::weeks(1), "O", &[]);
        let done = record(&officer(&app), vec![batch("mix-3", next)]).await.unwrap();
        assert_eq!((done.inserted, done.replaced), (10, 0));

        let to = monday + Duration::weeks(2);
        let f = summary(&app, SCHOOL, Some(1), monday, to).await.figures.unwrap();
        assert_eq!((f.possible_sessions, f.present, f.unauthorised_absence), (21, 19, 2));
        assert_eq!(
            history(&app, 1, monday).await.unwrap(),
            [("N".to_string(), true), ("/".to_string(), false)]
        );
        // The afternoon code `\` is stored as sent.
        let pm = officer(&app)
            .attendance()
            .get_mark_history(pb::GetMarkHistoryRequest {
                parent: "authorities/850".into(),
                school_urn: SCHOOL.into(),
                upn: upn(1),
                date: proto_date(monday),
                session: pb::Session::Pm as i32,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(pm.revisions.len(), 1);
        assert_eq!(pm.revisions[0].code, "\\");
    }

    async fn summary_figures_for_a_hand_computed_pupil_and_school(app) {
        let monday = d(2025, 3, 3);
        // Pupil 1: 8 present (one L), 1 approved activity (V), 1 unauthorised (O);
        // the next week 2 authorised (I), 2 unauthorised (G), 4 present and
        // 2 not possible (# on Friday): possible 18, absence 5 (27.8%).
        let mut marks = week(SCHOOL, 1, monday, "O", &[9]);
        marks[2].code = "L".into();
        marks[3].code = "V".into();
        let mut second = week(SCHOOL, 1, monday + Duration::weeks(1), "I", &[0, 1]);
        for (i, code) in [(2, "G"), (3, "G"), (8, "#"), (9, "#")] {
            second[i].code = code.into();
        }
        marks.extend(second);
        // Pupil 2: present throughout (20 possible), and pupil 3 at another school.
        marks.extend(week(SCHOOL, 2, monday, "O", &[]));
        marks.extend(week(SCHOOL, 2, monday + Duration::weeks(1), "O", &[]));
        marks.extend(week(OTHER_SCHOOL, 3, monday, "O", &first(10)));
        record_all(&app, marks).await;

        let to = monday + Duration::days(11);
        let pupil = summary(&app, "", Some(1), monday, to).await;
        let f = pupil.figures.unwrap();
        assert_eq!(
            (f.possible_sessions, f.present, f.approved_educational_activity,
             f.authorised_absence, f.unauthorised_absence),
            (18, 12, 1, 2, 3)
        );
        assert!((f.overall_absence_rate - 5.0 / 18.0).abs() < 1e-12);
        assert_eq!(pupil.enrolment_summaries.len(), 1);
        let e = &pupil.enrolment_summaries[0];
        assert_eq!(e.school_urn, SCHOOL);
        assert!(e.persistent_absence && !e.severe_absence);

        let school = summary(&app, SCHOOL, None, monday, to).await;
        let f = school.figures.unwrap();
        assert_eq!((f.possible_sessions, f.authorised_absence, f.unauthorised_absence), (38, 2, 3));
        assert_eq!(
            (school.enrolments, school.persistent_absence_enrolments, school.severe_absence_enrolments),
            (2, 1, 0)
        );
        assert!(school.enrolment_summaries.is_empty());

        // The whole authority adds pupil 3's week of unauthorised absence.
        let all = summary(&app, "", None, monday, to).await;
        assert_eq!(all.figures.unwrap().unauthorised_absence, 13);
        assert_eq!((all.enrolments, all.persistent_absence_enrolments, all.severe_absence_enrolments), (3, 2, 1));

        // Only the first week.
        let week1 = summary(&app, SCHOOL, Some(1), monday, monday + Duration::days(4)).await;
        assert_eq!(week1.figures.unwrap().possible_sessions, 10);
    }

    async fn school_and_authority_figures_follow_corrections_over_any_range(app) {
        // Three weeks of full attendance for pupils 1 and 2 and, at the other
        // school, pupil 3; then corrections recorded later.
        let monday = d(2025, 3, 3);
        let mut marks = Vec::new();
        for w in 0..3 {
            for (school, pupil) in [(SCHOOL, 1), (SCHOOL, 2), (OTHER_SCHOOL, 3)] {
                marks.extend(week(school, pupil, monday + Duration::weeks(w), "O", &[]));
            }
        }
        record_all(&app, marks).await;
        let correct = |pupil, days, session, code: &str| {
            mark(SCHOOL, pupil, monday + Duration::days(days), session, code, 100)
        };
        let corrections = vec![
            correct(1, 7, pb::Session::Am, "O"),  // present -> unauthorised
            correct(1, 8, pb::Session::Am, "#"),  // present -> not possible
            correct(2, 2, pb::Session::Am, "O"),  // present -> unauthorised
            correct(2, 18, pb::Session::Pm, "M"), // present -> authorised
        ];
        record(&officer(&app), vec![batch("fix-1", corrections)]).await.unwrap();
        // Within one category: unauthorised O becomes unauthorised G.
        let g = mark(SCHOOL, 2, monday + Duration::days(2), pb::Session::Am, "G", 200);
        record(&officer(&app), vec![batch("fix-2", vec![g])]).await.unwrap();

        let figures = |f: pb::AttendanceFigures| {
            (f.possible_sessions, f.present, f.authorised_absence, f.unauthorised_absence)
        };
        // Three whole weeks, then Wednesday to the third Tuesday.
        let whole = (monday, monday + Duration::days(20));
        let part = (monday + Duration::days(2), monday + Duration::days(15));
        let school = summary(&app, SCHOOL, None, whole.0, whole.1).await;
        assert_eq!(figures(school.figures.unwrap()), (59, 56, 1, 2));
        let school = summary(&app, SCHOOL, None, part.0, part.1).await;
        assert_eq!(figures(school.figures.unwrap()), (39, 37, 0, 2));
        let all = summary(&app, "", None, part.0, part.1).await;
        assert_eq!(figures(all.figures.unwrap()), (59, 57, 0, 2));
        assert_eq!(all.enrolments, 3);

        // Over ranges of every shape, the school's figures (read through its
        // enrolments) equal its pupils' (read by UPN).
        for (first, last) in [(0, 20), (2, 15), (1, 5), (7, 13), (6, 14), (4, 7), (0, 6)] {
            let (from, to) = (monday + Duration::days(first), monday + Duration::days(last));
            let school = figures(summary(&app, SCHOOL, None, from, to).await.figures.unwrap());
            let mut pupils = (0, 0, 0, 0);
            for pupil in [1, 2] {
                let f = figures(summary(&app, "", Some(pupil), from, to).await.figures.unwrap());
                pupils = (pupils.0 + f.0, pupils.1 + f.1, pupils.2 + f.2, pupils.3 + f.3);
            }
            assert_eq!(school, pupils, "days {first}..={last}");
        }
    }

    async fn a_week_corrected_to_no_possible_session_leaves_the_school_weeks(app) {
        // Pupil 1 misses the first week; the school is open for three weeks.
        let monday = d(2025, 3, 3);
        let mut marks = week(SCHOOL, 1, monday, "O", &first(10));
        for w in 1..3 {
            for pupil in [1, 2] {
                marks.extend(week(SCHOOL, pupil, monday + Duration::weeks(w), "O", &[]));
            }
        }
        record_all(&app, marks).await;
        let friday = monday + Duration::days(18);
        let found = breaches(&app, friday, "").await;
        assert_eq!(found[0].window_last_week, proto_date(monday + Duration::weeks(2)));

        // The third week was a closure after all: every session becomes "#".
        let mut closed = Vec::new();
        for pupil in [1, 2] {
            closed.extend(week(SCHOOL, pupil, monday + Duration::weeks(2), "#", &first(10)));
        }
        for m in &mut closed {
            m.record_time = at(100);
        }
        record(&officer(&app), vec![batch("closure", closed)]).await.unwrap();
        let found = breaches(&app, friday, "").await;
        assert_eq!(found[0].window_last_week, proto_date(monday + Duration::weeks(1)));
    }

    async fn ten_qualifying_sessions_breach_and_nine_do_not(app) {
        let monday = d(2025, 3, 3);
        let mut marks = week(SCHOOL, 1, monday, "O", &first(9));
        marks.extend(week(SCHOOL, 2, monday, "G", &first(10)));
        // Mixed codes count together; authorised absence does not count.
        let mut mixed = week(SCHOOL, 3, monday, "N", &first(10));
        mixed[0].code = "U".into();
        mixed[1].code = "I".into();
        marks.extend(mixed);
        record_all(&app, marks).await;

        let found = breaches(&app, monday + Duration::days(4), "").await;
        assert_eq!(pupils(&found), [upn(2)]);
        let b = &found[0];
        assert_eq!(b.qualifying_sessions, 10);
        assert_eq!(b.sessions.len(), 10);
        assert_eq!((b.window_first_week, b.window_last_week), (proto_date(monday), proto_date(monday)));
        assert_eq!(b.school_urn, SCHOOL);
        assert_eq!(b.policy_version, "nationalRegimes/2024-08-19");
        assert!(!b.covered_by_penalty_notice && !b.covered_by_notice_to_improve);

        // Pupil 1's tenth session on the Friday afternoon brings them to the threshold.
        let tenth = mark(SCHOOL, 1, monday + Duration::days(4), pb::Session::Pm, "O", 50);
        record(&officer(&app), vec![batch("tenth", vec![tenth])]).await.unwrap();
        let found = breaches(&app, monday + Duration::days(4), "").await;
        assert_eq!(pupils(&found), sorted(&[1, 2]));
        // Before the week's marks, nobody.
        assert!(breaches(&app, monday - Duration::days(3), "").await.is_empty());
    }

    async fn a_local_policy_may_count_lateness(app) {
        // From 10 Mar lateness and O count; from 17 Mar lateness alone.
        let monday = d(2025, 3, 3);
        for (from, codes) in [(d(2025, 3, 10), vec!["L", "O"]), (d(2025, 3, 17), vec!["L"])] {
            let mut version = local_version(2025, 1, 1);
            version.effective_from = proto_date(from);
            version.threshold.as_mut().unwrap().qualifying_codes =
                codes.iter().map(|c| c.to_string()).collect();
            app.as_role("850", Role::Admin)
                .policy()
                .create_policy_version(create("authorities/850", &format!("p-{from}"), version))
                .await
                .unwrap();
        }
        // Pupil 1: 5 late and 5 O; pupil 2: 10 late; pupil 3: 10 O.
        let mut one = week(SCHOOL, 1, monday, "L", &first(5));
        for m in &mut one[5..] {
            m.code = "O".into();
        }
        let mut marks = one;
        marks.extend(week(SCHOOL, 2, monday, "L", &first(10)));
        marks.extend(week(SCHOOL, 3, monday, "O", &first(10)));
        record_all(&app, marks).await;

        let national = breaches(&app, monday + Duration::days(4), "").await;
        assert_eq!(pupils(&national), [upn(3)]);
        let late_or_o = breaches(&app, d(2025, 3, 14), "").await;
        assert_eq!(pupils(&late_or_o), sorted(&[1, 2, 3]));
        let late = breaches(&app, d(2025, 3, 21), "").await;
        assert_eq!(pupils(&late), [upn(2)]);
        assert_eq!(late[0].qualifying_sessions, 10);
        assert!(late[0].sessions.iter().all(|s| s.code == "L"));
    }

    async fn the_window_spans_a_half_term_and_a_school_year_boundary(app) {
        // Pupil 1: five unauthorised sessions in the last week of the summer term
        // (14 Jul 2025) and five in the week of 20 Oct, before the October
        // half-term (27 Oct, a planned closure). Pupil 2 attends throughout and
        // gives the school its weeks.
        let summer = [d(2025, 7, 7), d(2025, 7, 14)];
        let autumn: Vec<NaiveDate> = (0..8).map(|w| d(2025, 9, 1) + Duration::weeks(w)).collect();
        let mut marks = Vec::new();
        for &monday in summer.iter().chain(&autumn) {
            let absent = if monday == d(2025, 7, 14) || monday == d(2025, 10, 20) {
                first(5)
            } else {
                vec![]
            };
            marks.extend(week(SCHOOL, 1, monday, "O", &absent));
            marks.extend(week(SCHOOL, 2, monday, "O", &[]));
        }
        for pupil in [1, 2] {
            marks.extend(week(SCHOOL, pupil, d(2025, 10, 27), "#", &first(10)));
        }
        record_all(&app, marks.clone()).await;

        // On the Friday of half-term the ten school weeks are 7 Jul .. 20 Oct.
        let found = breaches(&app, d(2025, 10, 31), "").await;
        assert_eq!(pupils(&found), [upn(1)]);
        assert_eq!(found[0].qualifying_sessions, 10);
        assert_eq!(
            (found[0].window_first_week, found[0].window_last_week),
            (proto_date(d(2025, 7, 7)), proto_date(d(2025, 10, 20)))
        );
        // One more school week (3 Nov) pushes 7 Jul out: 14 Jul is still in.
        let mut next = Vec::new();
        for (i, monday) in [d(2025, 11, 3), d(2025, 11, 10)].into_iter().enumerate() {
            next.push(week(SCHOOL, 1, monday, "O", &[]));
            next.push(week(SCHOOL, 2, monday, "O", &[]));
            record_all(&app, next.concat()).await;
            let as_of = monday + Duration::days(4);
            let found = breaches(&app, as_of, "").await;
            if i == 0 {
                assert_eq!(found[0].window_first_week, proto_date(d(2025, 7, 14)));
                assert_eq!(found[0].qualifying_sessions, 10);
            } else {
                // Two school weeks later the summer absences have left the window.
                assert!(found.is_empty(), "{found:?}");
            }
        }
    }

    async fn a_pupil_moving_school_keeps_one_window_across_both(app) {
        // Pupil 1: five absences at the first school in the week of 6 Jan, then
        // at the other school from 13 Jan, with five more in the week of 20 Jan.
        let mut marks = week(SCHOOL, 1, d(2025, 1, 6), "O", &first(5));
        marks.extend(week(OTHER_SCHOOL, 1, d(2025, 1, 13), "O", &[]));
        marks.extend(week(OTHER_SCHOOL, 1, d(2025, 1, 20), "G", &first(5)));
        // Classmates keep both schools open.
        for monday in [d(2025, 1, 6), d(2025, 1, 13), d(2025, 1, 20)] {
            marks.extend(week(SCHOOL, 2, monday, "O", &[]));
            marks.extend(week(OTHER_SCHOOL, 3, monday, "O", &[]));
        }
        record_all(&app, marks).await;

        let found = breaches(&app, d(2025, 1, 24), "").await;
        assert_eq!(pupils(&found), [upn(1)]);
        assert_eq!(found[0].school_urn, OTHER_SCHOOL, "the latest session's school");
        assert_eq!(found[0].window_first_week, proto_date(d(2025, 1, 6)));
        // Either school's officers find the pupil.
        assert_eq!(pupils(&breaches(&app, d(2025, 1, 24), SCHOOL).await), [upn(1)]);
        assert_eq!(pupils(&breaches(&app, d(2025, 1, 24), OTHER_SCHOOL).await), [upn(1)]);
        assert!(breaches(&app, d(2025, 1, 24), "116441").await.is_empty());
        // The summary keeps the two enrolments apart.
        let s = summary(&app, "", Some(1), d(2025, 1, 6), d(2025, 1, 24)).await;
        let schools: Vec<_> = s.enrolment_summaries.iter().map(|e| e.school_urn.as_str()).collect();
        assert_eq!(schools, [SCHOOL, OTHER_SCHOOL]);
    }

    async fn breaches_are_paged_by_upn_and_show_notices_that_cover_them(app) {
        let monday = d(2025, 1, 6);
        let mut marks = Vec::new();
        for pupil in [5, 1, 4, 2, 3] {
            marks.extend(week(SCHOOL, pupil, monday, "G", &first(10)));
        }
        record_all(&app, marks).await;
        // A penalty notice for pupil 3's holiday: the same ten sessions.
        issue(&app, Penalty::holiday(3, &["mum"], monday, d(2025, 2, 3)).request("pn")).await.unwrap();

        let found = breaches(&app, monday + Duration::days(4), "").await;
        assert_eq!(pupils(&found), sorted(&[1, 2, 3, 4, 5]));
        let covered: Vec<&str> = found
            .iter()
            .filter(|b| b.covered_by_penalty_notice)
            .map(|b| b.upn.as_str())
            .collect();
        assert_eq!(covered, [upn(3)]);

        // A token is bound to its filter.
        let page = officer(&app)
            .attendance()
            .list_threshold_breaches(pb::ListThresholdBreachesRequest {
                parent: "authorities/850".into(),
                as_of_date: proto_date(monday + Duration::days(4)),
                page_size: 2,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let status = officer(&app)
            .attendance()
            .list_threshold_breaches(pb::ListThresholdBreachesRequest {
                parent: "authorities/850".into(),
                as_of_date: proto_date(monday + Duration::days(5)),
                page_size: 2,
                page_token: page.next_page_token,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&status), ["page_token"]);
    }

    async fn school_staff_work_only_with_their_own_schools(app) {
        let head = app.as_role("850", Role::SchoolStaff);
        let monday = d(2025, 1, 6);
        let own = week(SCHOOL, 1, monday, "O", &[]);
        assert_eq!(record(&head, vec![batch("own", own)]).await.unwrap().inserted, 10);
        let theirs = week(OTHER_SCHOOL, 2, monday, "O", &[]);
        let status = record(&head, vec![batch("theirs", theirs)]).await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        for school in ["", OTHER_SCHOOL] {
            let status = head
                .attendance()
                .get_attendance_summary(pb::GetAttendanceSummaryRequest {
                    parent: "authorities/850".into(),
                    school_urn: school.into(),
                    start_date: proto_date(monday),
                    end_date: proto_date(monday),
                    ..Default::default()
                })
                .await
                .unwrap_err();
            assert_eq!(status.code(), Code::PermissionDenied, "{school:?}");
        }
        // Another authority's officers see none of it.
        let other = app.as_role("852", Role::LaOfficer);
        let status = other
            .attendance()
            .get_attendance_summary(pb::GetAttendanceSummaryRequest {
                parent: "authorities/850".into(),
                start_date: proto_date(monday),
                end_date: proto_date(monday),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
    }

    async fn the_importer_streams_a_csv_in_batches_and_names_bad_lines(app) {
        let dir = tempfile::tempdir().unwrap();
        let mut csv = String::from("school_urn,upn,date,session,code,record_time\n");
        for (i, m) in week(SCHOOL, 1, d(2025, 3, 3), "O", &first(3)).iter().enumerate() {
            let day = d(2025, 3, 3) + Duration::days(i as i64 / 2);
            let session = if i % 2 == 0 { "AM" } else { "PM" };
            csv += &format!("{SCHOOL},{},{day},{session},{},2025-03-03T09:00:00Z\n", m.upn, m.code);
        }
        let good = dir.path().join("good.csv");
        std::fs::write(&good, &csv).unwrap();
        let run = |file: &std::path::Path| {
            std::process::Command::new(env!("CARGO_BIN_EXE_lea-notices"))
                .arg("import-marks")
                .arg(file)
                .args(["--server", &format!("http://{}", app.addr), "--authority", "850"])
                .args(["--batch-size", "4"])
                .env("LEA_NOTICES_TOKEN", app.token("850", Role::LaOfficer))
                .env("LEA_NOTICES_DATA_DIR", dir.path())
                .output()
                .unwrap()
        };
        let out = run(&good);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.starts_with("10 marks in 3 batches: 10 inserted"), "{stdout}");
        let s = summary(&app, SCHOOL, Some(1), d(2025, 3, 3), d(2025, 3, 7)).await;
        assert_eq!(s.figures.unwrap().unauthorised_absence, 3);
        // Again: every batch is recognised and skipped.
        let out = run(&good);
        assert!(String::from_utf8_lossy(&out.stdout).contains("0 inserted, 0 replaced, 10 unchanged"));

        // A malformed row stops the import before anything is sent.
        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, csv.replace("2025-03-04,AM", "2025-03-04,XX")).unwrap();
        let out = run(&bad);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(stderr.contains("line 4, column 'session': 'XX' is not AM or PM"), "{stderr}");
        // A code the server refuses is reported by line.
        let refused = dir.path().join("refused.csv");
        std::fs::write(&refused, csv.replacen(",O,", ",H,", 1).replace("2025-03-03", "2025-03-10")).unwrap();
        let out = run(&refused);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(stderr.contains("line 2: code: code 'H' was withdrawn"), "{stderr}");
    }
}

on_both_backends! {
    async fn a_school_week_added_or_removed_moves_the_window_of_the_next_listing(app) {
        // A server keeps every school's latest weeks between listings (each page
        // reads them): a week added or removed must still move the window.
        let mondays: Vec<NaiveDate> = (0..11).map(|w| d(2025, 3, 3) + Duration::days(7 * w)).collect();
        // Pupil 1: ten O in the week of 3 Mar, present after; the school holds
        // no week of 10 Mar yet.
        let mut marks = week(SCHOOL, 1, mondays[0], "O", &first(10));
        for monday in &mondays[2..] {
            marks.extend(week(SCHOOL, 1, *monday, "O", &[]));
        }
        record_all(&app, marks).await;
        let as_of = mondays[10] + Duration::days(4);
        // Ten school weeks: 3 Mar, then 17 Mar to 12 May.
        assert_eq!(pupils(&breaches(&app, as_of, "").await), [upn(1)]);
        assert_eq!(pupils(&breaches(&app, as_of, "").await), [upn(1)]);
        // Registers arrive for 10 Mar: the window now starts there.
        record_all(&app, week(SCHOOL, 2, mondays[1], "O", &[])).await;
        assert!(breaches(&app, as_of, "").await.is_empty());
        // Those sessions were not possible after all: the week goes again.
        let not_possible = week(SCHOOL, 2, mondays[1], "#", &first(10))
            .into_iter()
            .map(|m| pb::Mark { record_time: at(10), ..m })
            .collect();
        record_all(&app, not_possible).await;
        assert_eq!(pupils(&breaches(&app, as_of, "").await), [upn(1)]);
        // A week written by anyone else (an older server during an upgrade, an
        // operator) moves it too.
        app.execute_raw(&format!(
            "INSERT INTO attendance_school_weeks (authority_code, school_urn, week_start, first_day, last_day) \
             VALUES ('850', '{SCHOOL}', '2025-03-10', '2025-03-10', '2025-03-14')"
        ))
        .await
        .unwrap();
        assert!(breaches(&app, as_of, "").await.is_empty());
    }
}
