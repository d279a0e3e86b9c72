//! The school register (issue 17 item 1) and attendance by phase and by school
//! (item 2): a GIAS file with the real header loaded through ImportSchools, and
//! GetAttendanceSummary grouped by the register's phases.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use lea_notices::cli::import_schools::{SchoolImportOptions, SchoolImportReport, import_schools};
use lea_notices::domain::{actor::Role, identifiers::LaCode};
use lea_notices::proto::v1::{self as pb};
use tonic::Code;

use crate::helpers::attendance::{batch, mark, record};
use crate::helpers::notices::{d, proto_date};
use crate::helpers::{TestApp, date, on_both_backends, violated_fields};

/// A GIAS all-establishments extract: the header of `edubasealldata<date>.csv`
/// (all 139 columns, in order), Windows-1252, CRLF. Five Hampshire (850)
/// establishments (open primary "St Mary’s" with 0x92 for the apostrophe, open
/// secondary, closed infant, a notice_request unit proposed to close, a free school
/// proposed to open) and one Southampton (852) school.
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/edubasealldata20260902_sample.csv")
}

const ST_MARYS: &str = "116439";
const WESTGATE: &str = "116440";
const NOT_IN_REGISTER: &str = "999999";

async fn import(app: &TestApp, file: &Path, all_authorities: bool) -> SchoolImportReport {
    import_schools(SchoolImportOptions {
        file: file.to_path_buf(),
        server: format!("http://{}", app.addr),
        authority: "850".into(),
        all_authorities,
        token: app.token("850", Role::LaOfficer),
        ca_file: None,
        progress: false,
    })
    .await
    .expect("the import completes")
}

async fn list_all(app: &TestApp, role: Role) -> Vec<pb::School> {
    let mut schools = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = app
            .as_role("850", role)
            .schools()
            .list_schools(pb::ListSchoolsRequest {
                parent: "authorities/850".into(),
                page_size: 2,
                page_token,
            })
            .await
            .unwrap()
            .into_inner();
        schools.extend(page.schools);
        if page.next_page_token.is_empty() {
            return schools;
        }
        page_token = page.next_page_token;
    }
}

async fn get(app: &TestApp, urn: &str, version: i32) -> Result<pb::School, tonic::Status> {
    app.as_role("850", Role::Auditor)
        .schools()
        .get_school(pb::GetSchoolRequest {
            name: format!("authorities/850/schools/{urn}"),
            version,
        })
        .await
        .map(|r| r.into_inner().school.unwrap())
}

on_both_backends! {
    async fn a_gias_file_loads_the_authoritys_own_schools_and_loading_it_again_changes_nothing(app) {
        // The command line, as a council runs it.
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lea-notices"))
            .arg("import-schools")
            .arg(fixture())
            .args(["--server", &format!("http://{}", app.addr), "--authority", "850"])
            .env("LEA_NOTICES_TOKEN", app.token("850", Role::LaOfficer))
            .env("LEA_NOTICES_DATA_DIR", dir.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(
            stdout.trim(),
            "6 establishments read: 5 added, 0 changed, 0 unchanged, 1 of other authorities skipped (1 calls)"
        );

        let schools = list_all(&app, Role::SchoolStaff).await;
        let urns: Vec<&str> = schools.iter().map(|s| s.urn.as_str()).collect();
        assert_eq!(urns, ["116439", "116440", "116441", "116442", "150001"]);
        let st_marys = &schools[0];
        assert_eq!(st_marys.name, "authorities/850/schools/116439");
        assert_eq!(st_marys.establishment_name, "St Mary\u{2019}s Church of England Primary School");
        assert_eq!(st_marys.la_code, "850");
        assert_eq!(st_marys.establishment_number, "3001");
        assert_eq!(
            st_marys.address,
            Some(pb::PostalAddress {
                lines: vec!["Church Lane".into(), "Kings Worthy".into(), "Winchester".into(), "Hampshire".into()],
                postcode: "SO23 7QA".into(),
            })
        );
        assert_eq!(st_marys.phase, pb::SchoolPhase::Primary as i32);
        assert_eq!(st_marys.establishment_type, "Voluntary aided school");
        assert_eq!(st_marys.status, pb::SchoolStatus::Open as i32);
        assert_eq!((st_marys.open_date, st_marys.close_date), (None, None));
        assert_eq!(st_marys.version, 1);

        let westgate = &schools[1];
        assert_eq!((westgate.phase, westgate.open_date), (pb::SchoolPhase::Secondary as i32, date(2011, 9, 1)));
        assert_eq!(westgate.address.as_ref().unwrap().lines, ["Cheriton Road", "Winchester"]);
        let closed = &schools[2];
        assert_eq!((closed.status, closed.close_date), (pb::SchoolStatus::Closed as i32, date(2019, 8, 31)));
        let unit = &schools[3];
        assert_eq!(
            (unit.status, unit.phase, unit.close_date),
            (pb::SchoolStatus::Open as i32, pb::SchoolPhase::NotApplicable as i32, date(2027, 8, 31))
        );
        assert_eq!(schools[4].status, pb::SchoolStatus::Proposed as i32);
        assert_eq!(get(&app, "116439", 0).await.unwrap(), *st_marys);

        // The same file again: nothing changes.
        let again = import(&app, &fixture(), false).await;
        assert_eq!((again.added, again.changed, again.unchanged, again.skipped_other_authorities), (0, 0, 5, 1));
        assert_eq!(list_all(&app, Role::Finance).await, schools);
        // Southampton's school only when asked for; Southampton's own register stays empty.
        let all = import(&app, &fixture(), true).await;
        assert_eq!((all.added, all.unchanged, all.skipped_other_authorities), (1, 5, 0));
        assert_eq!(get(&app, "135000", 0).await.unwrap().la_code, "852");
        let theirs = app.as_role("852", Role::LaOfficer).schools().list_schools(pb::ListSchoolsRequest {
            parent: "authorities/852".into(), ..Default::default()
        }).await.unwrap().into_inner();
        assert!(theirs.schools.is_empty());
        // Another authority's school is not found, exactly as one that does not exist.
        let other = app.as_role("852", Role::Auditor).schools().get_school(pb::GetSchoolRequest {
            name: "authorities/850/schools/116439".into(), version: 0,
        }).await.unwrap_err();
        assert_eq!(other.code(), Code::NotFound);
        let events = app.audit_events(&LaCode::parse("850").unwrap(), Some("authorities/850/schools"), 0, 100).await.unwrap();
        assert_eq!(events.len(), 3, "one event per batch that was sent");
        assert_eq!(events[0].details["added"], 5);
    }

    async fn a_changed_school_gets_a_new_version_and_the_old_one_is_kept(app) {
        import(&app, &fixture(), false).await;
        let dir = tempfile::tempdir().unwrap();
        let moved = dir.path().join("edubasealldata20261001.csv");
        let bytes = std::fs::read(fixture()).unwrap();
        // One address changed; the rest of the file is byte for byte as before.
        let replaced: Vec<u8> = {
            let (from, to) = (b"Cheriton Road".as_slice(), b"Romsey Road".as_slice());
            let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
            [&bytes[..at], to, &bytes[at + from.len()..]].concat()
        };
        std::fs::write(&moved, replaced).unwrap();
        let report = import(&app, &moved, false).await;
        assert_eq!((report.added, report.changed, report.unchanged), (0, 1, 4));

        let now = get(&app, WESTGATE, 0).await.unwrap();
        assert_eq!((now.version, now.address.unwrap().lines[0].as_str()), (2, "Romsey Road"));
        let before = get(&app, WESTGATE, 1).await.unwrap();
        assert_eq!((before.version, before.address.unwrap().lines[0].as_str()), (1, "Cheriton Road"));
        assert_eq!(get(&app, WESTGATE, 2).await.unwrap().version, 2);
        assert_eq!(get(&app, WESTGATE, 3).await.unwrap_err().code(), Code::NotFound);
        // The unchanged schools keep their first version.
        assert_eq!(get(&app, ST_MARYS, 0).await.unwrap().version, 1);
    }

    async fn imports_are_checked_and_only_officers_and_admins_may_import(app) {
        let school = |urn: &str| pb::School {
            urn: urn.into(),
            la_code: "850".into(),
            establishment_name: "A School".into(),
            status: pb::SchoolStatus::Open as i32,
            ..Default::default()
        };
        let request = |schools: Vec<pb::School>| pb::ImportSchoolsRequest {
            parent: "authorities/850".into(),
            request_id: "import-1".into(),
            schools,
        };
        let officer = app.as_role("850", Role::LaOfficer);
        let bad = officer.schools().import_schools(request(vec![
            school("12345"),
            pb::School { status: 0, phase: 99, ..school("100001") },
            school("100002"),
            school("100002"),
        ])).await.unwrap_err();
        assert_eq!(bad.code(), Code::InvalidArgument);
        assert_eq!(
            violated_fields(&bad),
            ["schools[0].urn", "schools[1].phase", "schools[1].status", "schools[3].urn"]
        );
        assert!(list_all(&app, Role::Auditor).await.is_empty(), "nothing of a refused request is written");

        for role in [Role::SchoolStaff, Role::Police, Role::Finance, Role::Auditor] {
            let refused = app.as_role("850", role).schools().import_schools(request(vec![school("100001")])).await;
            assert_eq!(refused.unwrap_err().code(), Code::PermissionDenied, "{}", role.as_str());
        }
        let first = officer.schools().import_schools(request(vec![school("100001")])).await.unwrap().into_inner();
        assert_eq!(first.added, 1);
        // A retry answers as the first did; the same id for another request is refused.
        let retry = officer.schools().import_schools(request(vec![school("100001")])).await.unwrap().into_inner();
        assert_eq!(retry, first);
        let reused = officer.schools().import_schools(request(vec![school("100002")])).await.unwrap_err();
        assert_eq!(reused.code(), Code::AlreadyExists);
        let admin = app.as_role("850", Role::Admin).schools().import_schools(pb::ImportSchoolsRequest {
            request_id: "import-2".into(),
            ..request(vec![school("100002")])
        }).await.unwrap().into_inner();
        assert_eq!(admin.added, 1);
    }

    async fn attendance_by_phase_matches_the_figures_worked_out_by_hand(app) {
        import(&app, &fixture(), false).await;
        record_sessions(&app).await;
        let summary = grouped(&app, pb::AttendanceGrouping::Phase).await;
        let total = summary.figures.unwrap();
        assert_eq!(
            (total.possible_sessions, total.present, total.approved_educational_activity, total.authorised_absence, total.unauthorised_absence),
            (39, 29, 1, 2, 7)
        );
        assert!((total.attendance_rate - 30.0 / 39.0).abs() < 1e-12);
        assert!(summary.school_groups.is_empty());

        let phases: Vec<i32> = summary.phase_groups.iter().map(|g| g.phase).collect();
        assert_eq!(phases, [pb::SchoolPhase::Unspecified as i32, pb::SchoolPhase::Primary as i32, pb::SchoolPhase::Secondary as i32]);
        let [unknown, primary, secondary] = &summary.phase_groups[..] else { unreachable!() };

        // Primary: pupil 1 (6 present, 1 approved, 2 authorised, 1 unauthorised)
        // and pupil 2 (10 present) at St Mary's.
        let f = primary.figures.unwrap();
        assert_eq!(
            (f.possible_sessions, f.present, f.approved_educational_activity, f.authorised_absence, f.unauthorised_absence),
            (20, 16, 1, 2, 1)
        );
        assert!((f.attendance_rate - 0.85).abs() < 1e-12, "{}", f.attendance_rate);
        assert!((f.overall_absence_rate - 0.15).abs() < 1e-12);
        assert_eq!(
            (primary.schools, primary.enrolments, primary.persistent_absence_enrolments, primary.severe_absence_enrolments),
            (1, 2, 1, 0)
        );
        assert!(primary.unknown_school_urns.is_empty());

        // Secondary: pupil 3, six unauthorised of nine possible (one planned closure).
        let f = secondary.figures.unwrap();
        assert_eq!((f.possible_sessions, f.present, f.unauthorised_absence), (9, 3, 6));
        assert!((f.attendance_rate - 3.0 / 9.0).abs() < 1e-12);
        assert_eq!((secondary.enrolments, secondary.persistent_absence_enrolments, secondary.severe_absence_enrolments), (1, 1, 1));

        // A school the register does not hold is reported as unknown, not dropped.
        let f = unknown.figures.unwrap();
        assert_eq!((f.possible_sessions, f.present, f.attendance_rate), (10, 10, 1.0));
        assert_eq!((unknown.schools, unknown.enrolments), (1, 1));
        assert_eq!(unknown.unknown_school_urns, [NOT_IN_REGISTER]);
    }

    async fn attendance_by_school_gives_every_school_in_one_call(app) {
        import(&app, &fixture(), false).await;
        record_sessions(&app).await;
        let summary = grouped(&app, pb::AttendanceGrouping::School).await;
        assert!(summary.phase_groups.is_empty());
        let rows: Vec<(&str, &str, i32, i64, i64)> = summary
            .school_groups
            .iter()
            .map(|g| {
                let f = g.figures.unwrap();
                (g.school_urn.as_str(), g.establishment_name.as_str(), g.phase, f.possible_sessions, g.enrolments)
            })
            .collect();
        assert_eq!(
            rows,
            [
                (ST_MARYS, "St Mary\u{2019}s Church of England Primary School", pb::SchoolPhase::Primary as i32, 20, 2),
                (WESTGATE, "The Westgate School", pb::SchoolPhase::Secondary as i32, 9, 1),
                (NOT_IN_REGISTER, "", pb::SchoolPhase::Unspecified as i32, 10, 1),
            ]
        );
        // Each school's figures are what a per-school summary gives.
        for group in &summary.school_groups {
            let alone = crate::helpers::attendance::summary(&app, &group.school_urn, None, MONDAY, MONDAY + chrono::Duration::days(4)).await;
            assert_eq!(alone.figures, group.figures, "{}", group.school_urn);
            assert_eq!(alone.persistent_absence_enrolments, group.persistent_absence_enrolments);
        }
        // An unknown grouping is named.
        let bad = app.as_role("850", Role::LaOfficer).attendance().get_attendance_summary(pb::GetAttendanceSummaryRequest {
            group_by: 7,
            ..summary_request(pb::AttendanceGrouping::Unspecified)
        }).await.unwrap_err();
        assert_eq!(violated_fields(&bad), ["group_by"]);
    }
}

const MONDAY: NaiveDate = match NaiveDate::from_ymd_opt(2025, 1, 6) {
    Some(d) => d,
    None => panic!("a date"),
};

/// One week from Monday 6 Jan 2025, session by session (AM, PM, ...):
/// pupils 1 and 2 at St Mary's (primary), 3 at Westgate (secondary), 4 at a
/// school not in the register.
async fn record_sessions(app: &TestApp) {
    let weeks: [(&str, u32, [&str; 10]); 4] = [
        (
            ST_MARYS,
            1,
            ["/", "\\", "I", "I", "O", "\\", "V", "\\", "/", "\\"],
        ),
        (
            ST_MARYS,
            2,
            ["/", "\\", "/", "\\", "/", "\\", "/", "\\", "/", "\\"],
        ),
        (
            WESTGATE,
            3,
            ["G", "G", "G", "G", "G", "G", "/", "\\", "/", "#"],
        ),
        (
            NOT_IN_REGISTER,
            4,
            ["/", "\\", "/", "\\", "/", "\\", "/", "\\", "/", "\\"],
        ),
    ];
    let marks = weeks
        .iter()
        .flat_map(|(school, pupil, codes)| {
            codes.iter().enumerate().map(move |(i, code)| {
                let session = if i % 2 == 0 {
                    pb::Session::Am
                } else {
                    pb::Session::Pm
                };
                mark(
                    school,
                    *pupil,
                    MONDAY + chrono::Duration::days(i as i64 / 2),
                    session,
                    code,
                    0,
                )
            })
        })
        .collect();
    record(
        &app.as_role("850", Role::LaOfficer),
        vec![batch("week", marks)],
    )
    .await
    .unwrap();
}

fn summary_request(group_by: pb::AttendanceGrouping) -> pb::GetAttendanceSummaryRequest {
    pb::GetAttendanceSummaryRequest {
        parent: "authorities/850".into(),
        start_date: proto_date(MONDAY),
        end_date: proto_date(d(2025, 1, 10)),
        group_by: group_by as i32,
        ..Default::default()
    }
}

async fn grouped(
    app: &TestApp,
    group_by: pb::AttendanceGrouping,
) -> pb::GetAttendanceSummaryResponse {
    app.as_role("850", Role::LaOfficer)
        .attendance()
        .get_attendance_summary(summary_request(group_by))
        .await
        .unwrap()
        .into_inner()
}
