//! `import-marks` against a real server with MIS exports as they come: an
//! export's own column names and UK dates (`--columns`), session-mark strings
//! (a row per pupil), and a DfE Common Transfer File. Each gives exactly the
//! marks of the same register in the importer's own layout: the native file
//! imported after it changes nothing, and the record times agree. Malformed
//! rows are named by line and column before anything is sent.

use chrono::{Datelike, Duration, NaiveDate};
use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};

use crate::helpers::attendance::{SCHOOL, summary};
use crate::helpers::notices::{d, proto_date, upn};
use crate::helpers::{TestApp, on_both_backends};

/// When the school recorded every mark of the register.
const RECORDED: &str = "2025-03-14T16:30:00Z";
const PUPILS: u32 = 3;
/// Eight school days (Thursday 6 to Monday 17 March 2025): 16 sessions.
const SESSIONS: usize = 16;

fn school_days() -> Vec<NaiveDate> {
    (0..)
        .map(|i| d(2025, 3, 6) + Duration::days(i))
        .filter(|d| d.weekday().number_from_monday() <= 5)
        .take(SESSIONS / 2)
        .collect()
}

/// Session `k` (day * 2, + 1 for the afternoon) of pupil `p`: `None` when the
/// register holds no mark for it.
fn code(p: u32, k: usize) -> Option<&'static str> {
    match (p, k) {
        (1, 2 | 3) => Some("N"),
        (2, 5) => Some("I"),
        (3, 8 | 9) => Some("G"),
        (3, 10) => Some("L"),
        (3, 12) => None,
        (_, k) if k % 2 == 0 => Some("/"),
        _ => Some("\\"),
    }
}

/// Every mark of the register: (pupil, date, AM or PM, code).
fn register() -> Vec<(u32, NaiveDate, &'static str, &'static str)> {
    let days = school_days();
    let mut out = Vec::new();
    for p in 1..=PUPILS {
        for k in 0..SESSIONS {
            if let Some(c) = code(p, k) {
                out.push((p, days[k / 2], if k % 2 == 0 { "AM" } else { "PM" }, c));
            }
        }
    }
    out
}

/// Pupil `p`'s marks as a string from the first school day: two a day, `-`
/// for no mark; with `weekends`, a `--` pair for each Saturday and Sunday.
fn mark_string(p: u32, weekends: bool) -> String {
    let days = school_days();
    let mut s = String::new();
    for (i, day) in days.iter().enumerate() {
        if weekends && i > 0 {
            s += &"--".repeat((*day - days[i - 1]).num_days() as usize - 1);
        }
        for k in [i * 2, i * 2 + 1] {
            s += code(p, k).unwrap_or("-");
        }
    }
    s
}

fn native_csv() -> String {
    let mut csv = String::from("school_urn,upn,date,session,code,record_time\n");
    for (p, day, session, code) in register() {
        csv += &format!("{SCHOOL},{},{day},{session},{code},{RECORDED}\n", upn(p));
    }
    csv
}

/// Runs `lea-notices import-marks` on `contents` with `args`.
fn import(
    app: &TestApp,
    dir: &std::path::Path,
    name: &str,
    contents: &str,
    args: &[&str],
) -> (bool, String, String) {
    let file = dir.join(name);
    std::fs::write(&file, contents).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lea-notices"))
        .arg("import-marks")
        .arg(&file)
        .args([
            "--server",
            &format!("http://{}", app.addr),
            "--authority",
            "850",
        ])
        .args(args)
        .env("LEA_NOTICES_TOKEN", app.token("850", Role::LaOfficer))
        .env("LEA_NOTICES_DATA_DIR", dir)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// Sessions the school's register holds in March 2025 (every mark here is possible).
async fn sessions_held(app: &TestApp) -> i64 {
    let s = summary(app, SCHOOL, None, d(2025, 3, 1), d(2025, 3, 31)).await;
    s.figures.unwrap().possible_sessions
}

/// The layout imported first gave the register's marks exactly: the native
/// file imported after it finds every mark already held with the same code,
/// and sessions carry one revision, recorded at `RECORDED`.
async fn assert_native_marks(app: &TestApp, dir: &std::path::Path, first: &str) {
    let n = register().len();
    assert!(
        first.starts_with(&format!("{n} marks in "))
            && first.contains(&format!("{n} inserted, 0 replaced")),
        "{first}"
    );
    assert_eq!(sessions_held(app).await, n as i64);
    let (ok, out, err) = import(app, dir, "native.csv", &native_csv(), &[]);
    assert!(ok, "{out} {err}");
    assert!(
        out.contains(&format!(
            "0 inserted, 0 replaced, {n} unchanged, 0 outdated"
        )),
        "the native file differs from what was imported: {out}"
    );
    let recorded = chrono::DateTime::parse_from_rfc3339(RECORDED)
        .unwrap()
        .timestamp();
    let officer = app.as_role("850", Role::LaOfficer);
    for (p, day, session) in [
        (1, d(2025, 3, 7), pb::Session::Am),
        (3, d(2025, 3, 12), pb::Session::Pm),
    ] {
        let history = officer
            .attendance()
            .get_mark_history(pb::GetMarkHistoryRequest {
                parent: "authorities/850".into(),
                school_urn: SCHOOL.into(),
                upn: upn(p),
                date: proto_date(day),
                session: session as i32,
            })
            .await
            .unwrap()
            .into_inner();
        let times: Vec<_> = history
            .revisions
            .iter()
            .map(|r| r.record_time.unwrap().seconds)
            .collect();
        assert_eq!(times, [recorded], "pupil {p} {day} {session:?}");
    }
}

on_both_backends! {
    async fn an_exports_own_columns_and_uk_dates_give_the_native_marks(app) {
        let dir = tempfile::tempdir().unwrap();
        // An export's header, in its order, with a column the importer does not read.
        let mut csv = String::from("Surname,Pupil UPN,URN,Session Date,AM/PM,Mark,Recorded\n");
        for (p, day, session, code) in register() {
            let day = day.format("%d/%m/%Y");
            // 16:30 on 14 March is GMT: the same instant as RECORDED.
            csv += &format!("Taylor,{},{SCHOOL},{day},{session},{code},14/03/2025 16:30\n", upn(p));
        }
        let columns = [
            "--columns",
            "school_urn=URN,upn=Pupil UPN,date=Session Date,session=AM/PM,code=Mark,record_time=Recorded",
        ];
        // A malformed row stops the import before anything is sent, by line and column.
        let bad = csv.replacen("07/03/2025", "31/02/2025", 1);
        let (ok, _, err) = import(&app, dir.path(), "bad.csv", &bad, &columns);
        assert!(!ok);
        let line = 2 + register().iter().position(|m| m.1 == d(2025, 3, 7)).unwrap();
        assert!(
            err.contains(&format!(
                "line {line}, column 'Session Date': '31/02/2025' is not a date (YYYY-MM-DD or DD/MM/YYYY)"
            )),
            "{err}"
        );
        // Without the mapping the export's columns are not found, and are named.
        let (ok, _, err) = import(&app, dir.path(), "unmapped.csv", &csv, &[]);
        assert!(!ok);
        assert!(err.contains("has no column 'school_urn' (map one with --columns school_urn=NAME"), "{err}");
        assert!(err.contains("Pupil UPN"), "{err}");
        let (ok, _, err) = import(&app, dir.path(), "typo.csv", &csv, &["--columns", "upn=UPN"]);
        assert!(!ok);
        assert!(err.contains("--columns upn=UPN:") && err.contains("has no column 'UPN'"), "{err}");
        assert_eq!(sessions_held(&app).await, 0, "nothing was sent");

        let (ok, out, err) = import(&app, dir.path(), "export.csv", &csv, &columns);
        assert!(ok, "{out} {err}");
        assert_native_marks(&app, dir.path(), &out).await;
    }

    async fn session_mark_strings_give_the_native_marks(app) {
        let dir = tempfile::tempdir().unwrap();
        let file = |weekends: bool, tamper: Option<(u32, usize, char)>| {
            let mut csv = String::from("UPN,Start,Marks\n");
            for p in 1..=PUPILS {
                let mut marks: Vec<char> = mark_string(p, weekends).chars().collect();
                if let Some((_, k, c)) = tamper.filter(|t| t.0 == p) {
                    marks[k] = c;
                }
                let marks: String = marks.into_iter().collect();
                // A mark string holds backslashes and spaces: quoted as CSV.
                csv += &format!("{},06/03/2025,\"{marks}\"\n", upn(p));
            }
            csv
        };
        let args = [
            "--columns",
            "upn=UPN,start_date=Start,marks=Marks",
            "--school-urn",
            SCHOOL,
            "--recorded-at",
            RECORDED,
        ];
        // H was withdrawn in 2024: the server refuses the batch, and the
        // importer names the row, column and character of the mark.
        let (ok, _, err) = import(&app, dir.path(), "withdrawn.csv", &file(false, Some((2, 4, 'H'))), &args);
        assert!(!ok);
        assert!(
            err.contains("line 3, column 'Marks', character 5 (2025-03-10 AM): code: code 'H' was withdrawn"),
            "{err}"
        );
        // A string that starts on a Saturday cannot be weekdays.
        let saturday = file(false, None).replace("06/03/2025", "08/03/2025");
        let (ok, _, err) = import(&app, dir.path(), "saturday.csv", &saturday, &args);
        assert!(!ok);
        assert!(err.contains("line 2, column 'Marks': the string starts on 2025-03-08"), "{err}");
        assert_eq!(sessions_held(&app).await, 0, "nothing was applied");

        let (ok, out, err) = import(&app, dir.path(), "strings.csv", &file(false, None), &args);
        assert!(ok, "{out} {err}");
        // The same register with a pair for every day, weekends `--`.
        let every_day = [&args[..], &["--mark-days", "all"]].concat();
        let (ok, again, err) = import(&app, dir.path(), "every-day.csv", &file(true, None), &every_day);
        assert!(ok, "{again} {err}");
        assert!(again.contains(&format!("0 inserted, 0 replaced, {} unchanged", register().len())), "{again}");
        assert_native_marks(&app, dir.path(), &out).await;
    }

    async fn a_common_transfer_file_gives_the_native_marks(app) {
        let dir = tempfile::tempdir().unwrap();
        let pupil = |p: u32, start: &str| {
            format!(
                "    <Pupil>
      <UPN>{}</UPN>
      <Surname>Taylor</Surname>
      <Attendance>
        <YearData>
          <Year>2023</Year><LEA>852</LEA><Estab>4001</Estab><SchoolName>Previous School</SchoolName>
          <SessionsPossible>4</SessionsPossible><SessionsAuthorised>0</SessionsAuthorised>
          <SessionsAttended>4</SessionsAttended><SessionsUnauthorised>0</SessionsUnauthorised>
          <AttendSessions><AttendanceStartDate>2024-03-04</AttendanceStartDate><AttendanceMarks>OOOO</AttendanceMarks></AttendSessions>
        </YearData>
        <YearData>
          <Year>2024</Year><LEA>850</LEA><Estab>2001</Estab><SchoolName>Test School</SchoolName>
          <SessionsPossible>16</SessionsPossible>
          <AttendSessions>
            <AttendanceStartDate>{start}</AttendanceStartDate>
            <AttendanceMarks>{}</AttendanceMarks>
          </AttendSessions>
        </YearData>
      </Attendance>
    </Pupil>
",
                upn(p),
                mark_string(p, false)
            )
        };
        let ctf = |start_of_2: &str| {
            let mut xml = String::from(
                r#"<?xml version="1.0" encoding="UTF-8"?>
<CTfile>
  <Header>
    <DocumentName>Common Transfer File</DocumentName>
    <CTFversion>25.0</CTFversion>
    <DateTime>2025-03-14T16:30:00</DateTime>
    <DocumentQualifier>full</DocumentQualifier>
    <SourceSchool><LEA>850</LEA><Estab>2001</Estab><URN>116439</URN><SchoolName>Test School</SchoolName><AcademicYear>2024</AcademicYear></SourceSchool>
    <DestSchool><LEA>850</LEA><Estab>LLLL</Estab></DestSchool>
  </Header>
  <CTFpupilData>
"#,
            );
            for p in 1..=PUPILS {
                xml += &pupil(p, if p == 2 { start_of_2 } else { "2025-03-06" });
            }
            // A pupil with the year's totals only: no marks.
            xml += "    <Pupil><UPN>A850200125999</UPN><Attendance><YearData><Year>2024</Year><SessionsPossible>10</SessionsPossible></YearData></Attendance></Pupil>\n";
            xml + "  </CTFpupilData>\n</CTfile>\n"
        };
        let bad = ctf("06/13/2025");
        let (ok, _, err) = import(&app, dir.path(), "bad.xml", &bad, &[]);
        assert!(!ok);
        let line = 1 + bad.lines().position(|l| l.contains("06/13/2025")).unwrap();
        assert!(
            err.contains(&format!("line {line}: pupil {}: AttendanceStartDate '06/13/2025' is not a date", upn(2))),
            "{err}"
        );
        assert_eq!(sessions_held(&app).await, 0, "nothing was sent");

        let (ok, out, err) = import(&app, dir.path(), "ctf.xml", &ctf("2025-03-06"), &[]);
        assert!(ok, "{out} {err}");
        assert_native_marks(&app, dir.path(), &out).await;
    }
}
