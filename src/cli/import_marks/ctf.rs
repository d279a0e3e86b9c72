//! The DfE Common Transfer File (CTF) as `import-marks` reads it: each pupil's
//! `Attendance/YearData/AttendSessions`, an `AttendanceStartDate` and an
//! `AttendanceMarks` string (two marks a day, AM then PM), beside the year's
//! session totals, which are not marks and are not read.
//!
//! ```xml
//! <CTfile>
//!   <Header>
//!     <DateTime>2025-03-14T16:30:00</DateTime>
//!     <SourceSchool><LEA>850</LEA><Estab>2001</Estab><URN>116439</URN>...</SourceSchool>
//!   </Header>
//!   <CTFpupilData>
//!     <Pupil>
//!       <UPN>R850200125001</UPN> ...
//!       <Attendance>
//!         <YearData>
//!           <Year>2024</Year><LEA>850</LEA><Estab>2001</Estab> ...
//!           <AttendSessions>
//!             <AttendanceStartDate>2025-03-03</AttendanceStartDate>
//!             <AttendanceMarks>//\\N/...</AttendanceMarks>
//!           </AttendSessions>
//!         </YearData>
//!       </Attendance>
//!     </Pupil>
//!   </CTFpupilData>
//! </CTfile>
//! ```
//!
//! The marks belong to the sending school (the header's `SourceSchool`): a
//! `YearData` naming another school (LEA and Estab) is a previous school's and
//! is skipped. The school's URN is the header's, or `--school-urn`; when the
//! marks were recorded is `--recorded-at`, or the header's `DateTime` (UK time).

use std::path::Path;

use anyhow::{Context, bail};
use chrono::{DateTime, FixedOffset, NaiveDateTime};
use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;

use super::layout::{Layout, expand_marks, parse_date, string_mark};
use crate::domain::calendar::london_local_to_utc;
use crate::proto::v1 as pb;

/// Whether `file` is XML (a CTF) rather than CSV: its first character, past a
/// byte-order mark and white space, is `<`, which no CSV header starts with.
pub fn is_xml(file: &Path) -> anyhow::Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let mut f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let n = f.read(&mut head)?;
    let head = head[..n]
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&head[..n]);
    Ok(head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<'))
}

/// Line numbers of byte offsets in a text.
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Self {
        Lines(text.match_indices('\n').map(|(i, _)| i).collect())
    }
    fn of(&self, offset: u64) -> usize {
        self.0.partition_point(|&nl| (nl as u64) < offset) + 1
    }
}

#[derive(Default)]
struct SourceSchool {
    lea: Option<String>,
    estab: Option<String>,
    urn: Option<String>,
}

#[derive(Default)]
struct YearData {
    line: usize,
    lea: Option<String>,
    estab: Option<String>,
    start: Option<(String, usize)>,
    marks: Option<(String, usize)>,
}

/// Whether the open elements end with `tail` (whatever the root is called).
fn at(path: &[String], tail: &[&str]) -> bool {
    path.len() >= tail.len()
        && path[path.len() - tail.len()..]
            .iter()
            .zip(tail)
            .all(|(a, b)| a == b)
}

/// Reads a CTF's marks in order, each with its place (`line N, pupil UPN,
/// AttendanceMarks character K (date session)`), stopping at the first
/// malformed element with its line.
pub fn read_ctf(
    file: &Path,
    layout: &Layout,
    emit: &mut dyn FnMut(pb::Mark, String) -> anyhow::Result<()>,
    sen: &mut dyn FnMut(pb::PupilSenStatus),
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading {} (a CTF is UTF-8 XML)", file.display()))?;
    read_ctf_sen(&text, layout, emit, sen)
}

/// As [`read_ctf`], from a CTF's text, without its SEN statuses (the fuzz
/// targets' entry, see `fuzz/`).
pub fn read_ctf_text(
    text: &str,
    layout: &Layout,
    emit: &mut dyn FnMut(pb::Mark, String) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    read_ctf_sen(text, layout, emit, &mut |_| {})
}

/// One `SENhistory/SEN` entry being read.
#[derive(Default)]
struct SenEntry {
    line: usize,
    start: Option<(String, usize)>,
    provision: Option<(String, usize)>,
}

/// A pupil's `SENhistory/SEN` entry as a status to send: its `SENprovision`
/// from its `StartDate`. Values are not quoted in errors: they are the
/// pupil's SEN information.
fn sen_status(entry: &SenEntry, upn: Option<&str>) -> anyhow::Result<Option<pb::PupilSenStatus>> {
    let Some((code, code_line)) = &entry.provision else {
        return Ok(None); // needs only, no provision
    };
    let line = entry.line;
    let Some(upn) = upn.filter(|u| !u.is_empty()) else {
        bail!("line {line}: this pupil's SEN history comes before (or without) its UPN");
    };
    let provision = super::layout::parse_sen_provision(code)
        .map_err(|e| anyhow::anyhow!("line {code_line}: pupil {upn}: SENprovision {e}"))?;
    let Some(provision) = provision else {
        return Ok(None);
    };
    let Some((start, start_line)) = &entry.start else {
        bail!("line {code_line}: pupil {upn}: SENprovision without a StartDate");
    };
    let start = parse_date(start)
        .map_err(|e| anyhow::anyhow!("line {start_line}: pupil {upn}: SEN StartDate {e}"))?;
    Ok(Some(pb::PupilSenStatus {
        upn: upn.to_string(),
        sen_provision: provision as i32,
        effective_date: Some(crate::api::convert::date_to_proto(start)),
        source: pb::SenStatusSource::CommonTransferFile as i32,
    }))
}

/// Reads a CTF's marks (as [`read_ctf`]) and each pupil's SEN history
/// (`Pupil/SENhistory/SEN`: `StartDate` and `SENprovision`, the census code),
/// handing each status to `sen` as its entry ends. The CTF puts a pupil's SEN
/// history before their attendance, so a status goes in the batch of the
/// pupil's first marks.
fn read_ctf_sen(
    text: &str,
    layout: &Layout,
    emit: &mut dyn FnMut(pb::Mark, String) -> anyhow::Result<()>,
    sen: &mut dyn FnMut(pb::PupilSenStatus),
) -> anyhow::Result<()> {
    let lines = Lines::new(text);
    let mut reader = Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let mut content = String::new();
    let mut created: Option<(String, usize)> = None;
    let mut source = SourceSchool::default();
    let mut upn: Option<String> = None;
    let mut year = YearData::default();
    let mut sen_entry = SenEntry::default();
    loop {
        let offset = reader.buffer_position();
        let event = reader.read_event().map_err(|e| {
            let line = lines.of(reader.error_position());
            anyhow::anyhow!("line {line}: not well-formed XML: {e}")
        })?;
        let line = lines.of(offset);
        let (opened, closed) = match &event {
            Event::Start(e) => (Some(e.local_name().as_ref().to_string()), false),
            Event::Empty(e) => (Some(e.local_name().as_ref().to_string()), true),
            Event::End(_) => (None, true),
            Event::Text(t) => {
                content.push_str(&t.xml10_content());
                (None, false)
            }
            Event::CData(t) => {
                content.push_str(&t.xml10_content());
                (None, false)
            }
            Event::GeneralRef(r) => {
                let name = r.xml10_content();
                match r.resolve_char_ref() {
                    Ok(Some(c)) => content.push(c),
                    _ => match resolve_predefined_entity(&name) {
                        Some(s) => content.push_str(s),
                        None => bail!("line {line}: unknown entity &{name};"),
                    },
                }
                (None, false)
            }
            Event::Eof => break,
            _ => (None, false),
        };
        if let Some(name) = opened {
            path.push(name);
            content.clear();
            if at(&path, &["Pupil"]) {
                upn = None;
            } else if at(&path, &["Pupil", "Attendance", "YearData"]) {
                year = YearData {
                    line,
                    ..Default::default()
                };
            } else if at(&path, &["Pupil", "SENhistory", "SEN"]) {
                sen_entry = SenEntry {
                    line,
                    ..Default::default()
                };
            }
        }
        if !closed {
            continue;
        }
        let value = content.trim().to_string();
        let here = (value.clone(), line);
        if at(&path, &["Header", "DateTime"]) {
            created = Some(here);
        } else if at(&path, &["Header", "SourceSchool", "LEA"]) {
            source.lea = Some(value);
        } else if at(&path, &["Header", "SourceSchool", "Estab"]) {
            source.estab = Some(value);
        } else if at(&path, &["Header", "SourceSchool", "URN"]) {
            source.urn = Some(value);
        } else if at(&path, &["Pupil", "UPN"]) {
            upn = Some(value);
        } else if at(&path, &["SENhistory", "SEN", "StartDate"]) {
            sen_entry.start = Some(here);
        } else if at(&path, &["SENhistory", "SEN", "SENprovision"]) {
            sen_entry.provision = Some(here);
        } else if at(&path, &["Pupil", "SENhistory", "SEN"]) {
            let entry = std::mem::take(&mut sen_entry);
            if let Some(status) = sen_status(&entry, upn.as_deref())? {
                sen(status);
            }
        } else if at(&path, &["YearData", "LEA"]) {
            year.lea = Some(value);
        } else if at(&path, &["YearData", "Estab"]) {
            year.estab = Some(value);
        } else if at(
            &path,
            &["YearData", "AttendSessions", "AttendanceStartDate"],
        ) {
            year.start = Some(here);
        } else if at(&path, &["YearData", "AttendSessions", "AttendanceMarks"]) {
            year.marks = Some(here);
        } else if at(&path, &["Pupil", "Attendance", "YearData"]) {
            let year = std::mem::take(&mut year);
            year_marks(
                &year,
                upn.as_deref(),
                &source,
                created.as_ref(),
                layout,
                emit,
            )?;
        }
        path.pop();
        content.clear();
    }
    Ok(())
}

/// The marks of one pupil's `YearData`, if it has a mark string of the
/// sending school.
fn year_marks(
    year: &YearData,
    upn: Option<&str>,
    source: &SourceSchool,
    created: Option<&(String, usize)>,
    layout: &Layout,
    emit: &mut dyn FnMut(pb::Mark, String) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let Some((marks, marks_line)) = &year.marks else {
        return Ok(()); // totals only
    };
    let other = |theirs: &Option<String>, ours: &Option<String>| matches!((theirs, ours), (Some(t), Some(o)) if t != o);
    if other(&year.lea, &source.lea) || other(&year.estab, &source.estab) {
        return Ok(()); // a previous school's year
    }
    let line = year.line;
    let Some(upn) = upn.filter(|u| !u.is_empty()) else {
        bail!("line {line}: this pupil's attendance comes before (or without) its UPN");
    };
    let Some((start, start_line)) = &year.start else {
        bail!("line {marks_line}: pupil {upn}: AttendanceMarks without an AttendanceStartDate");
    };
    let start = parse_date(start)
        .map_err(|e| anyhow::anyhow!("line {start_line}: pupil {upn}: AttendanceStartDate {e}"))?;
    let Some(urn) = layout.school_urn.as_ref().or(source.urn.as_ref()) else {
        bail!("the CTF's SourceSchool names no URN: name the school with --school-urn");
    };
    let recorded = match (layout.recorded_at, created) {
        (Some(t), _) => t,
        (None, Some((t, t_line))) => {
            header_time(t).map_err(|e| anyhow::anyhow!("line {t_line}: header DateTime {e}"))?
        }
        (None, None) => bail!("the CTF's header has no DateTime: give --recorded-at"),
    };
    let sessions = expand_marks(start, marks, layout.mark_days)
        .map_err(|e| anyhow::anyhow!("line {marks_line}: pupil {upn}: AttendanceMarks: {e}"))?;
    let place = format!("line {marks_line}, pupil {upn}, AttendanceMarks");
    for m in &sessions {
        let (mark, origin) = string_mark(urn, upn, m, recorded, &place);
        emit(mark, origin)?;
    }
    Ok(())
}

/// The header's DateTime (`YYYY-MM-DDTHH:MM:SS`, UK time unless it has an offset).
fn header_time(value: &str) -> Result<DateTime<FixedOffset>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t);
    }
    NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S")
        .map(|t| london_local_to_utc(t).fixed_offset())
        .map_err(|_| format!("'{value}' is not YYYY-MM-DDTHH:MM:SS"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marks_of(xml: &str, layout: &Layout) -> anyhow::Result<Vec<(pb::Mark, String)>> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ctf.xml");
        std::fs::write(&file, xml).unwrap();
        assert!(is_xml(&file).unwrap());
        let mut out = Vec::new();
        read_ctf(
            &file,
            layout,
            &mut |m, o| {
                out.push((m, o));
                Ok(())
            },
            &mut |_| {},
        )?;
        Ok(out)
    }

    const CTF: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<CTfile>
  <Header>
    <DateTime>2025-06-13T16:30:00</DateTime>
    <SourceSchool><LEA>850</LEA><Estab>2001</Estab><URN>116439</URN></SourceSchool>
  </Header>
  <CTFpupilData>
    <Pupil>
      <UPN>R850200125001</UPN>
      <Attendance>
        <YearData>
          <LEA>850</LEA><Estab>2001</Estab>
          <SessionsPossible>4</SessionsPossible>
          <AttendSessions>
            <AttendanceStartDate>2025-06-13</AttendanceStartDate>
            <AttendanceMarks>/\-N</AttendanceMarks>
          </AttendSessions>
        </YearData>
        <YearData>
          <LEA>852</LEA><Estab>4000</Estab>
          <AttendSessions>
            <AttendanceStartDate>2024-09-02</AttendanceStartDate>
            <AttendanceMarks>OOOO</AttendanceMarks>
          </AttendSessions>
        </YearData>
      </Attendance>
    </Pupil>
  </CTFpupilData>
</CTfile>
"#;

    #[test]
    fn reads_the_sending_schools_mark_strings() {
        let marks = marks_of(CTF, &Layout::default()).unwrap();
        let got: Vec<_> = marks
            .iter()
            .map(|(m, _)| {
                (
                    m.upn.as_str(),
                    m.school_urn.as_str(),
                    m.date.unwrap().day,
                    m.code.as_str(),
                )
            })
            .collect();
        // Friday 13 June, then Monday 16 June; the other school's year is skipped.
        assert_eq!(
            got,
            [
                ("R850200125001", "116439", 13, "/"),
                ("R850200125001", "116439", 13, "\\"),
                ("R850200125001", "116439", 16, "N"),
            ]
        );
        assert_eq!(
            marks[2].1,
            "line 16, pupil R850200125001, AttendanceMarks, character 4 (2025-06-16 PM)"
        );
        // 16:30 in British Summer Time.
        let recorded = marks[0].0.record_time.unwrap();
        assert_eq!(
            recorded.seconds,
            chrono::DateTime::parse_from_rfc3339("2025-06-13T15:30:00Z")
                .unwrap()
                .timestamp()
        );
    }

    #[test]
    fn a_pupils_sen_history_is_sent_with_its_start_dates() {
        let ctf = CTF.replace(
            "      <Attendance>",
            "      <SENhistory>\n\
                     <SEN><StartDate>2024-09-02</StartDate><SENprovision>K</SENprovision></SEN>\n\
                     <SEN><StartDate>2025-01-06</StartDate><SENprovision>E</SENprovision>\n\
                       <SENneeds><SENneed><SENtype>SLCN</SENtype></SENneed></SENneeds></SEN>\n\
                   </SENhistory>\n      <Attendance>",
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ctf.xml");
        std::fs::write(&file, &ctf).unwrap();
        let (mut marks, mut sen) = (0, Vec::new());
        read_ctf(
            &file,
            &Layout::default(),
            &mut |_, _| {
                marks += 1;
                Ok(())
            },
            &mut |s| sen.push(s),
        )
        .unwrap();
        assert_eq!(marks, 3);
        let got: Vec<_> = sen
            .iter()
            .map(|s| {
                let d = s.effective_date.unwrap();
                (
                    s.upn.as_str(),
                    s.sen_provision(),
                    (d.year, d.month, d.day),
                    s.source(),
                )
            })
            .collect();
        let ctf_source = pb::SenStatusSource::CommonTransferFile;
        assert_eq!(
            got,
            [
                (
                    "R850200125001",
                    pb::SenProvision::SenSupport,
                    (2024, 9, 2),
                    ctf_source
                ),
                (
                    "R850200125001",
                    pb::SenProvision::EhcPlan,
                    (2025, 1, 6),
                    ctf_source
                ),
            ]
        );
        // A provision without its start date is named by line, the code unquoted.
        let undated = ctf.replace("<StartDate>2024-09-02</StartDate>", "");
        std::fs::write(&file, &undated).unwrap();
        let err = read_ctf(&file, &Layout::default(), &mut |_, _| Ok(()), &mut |_| {})
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "line 11: pupil R850200125001: SENprovision without a StartDate"
        );
        let old_code = ctf.replace("<SENprovision>K<", "<SENprovision>P<");
        std::fs::write(&file, &old_code).unwrap();
        let err = read_ctf(&file, &Layout::default(), &mut |_, _| Ok(()), &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("SENprovision not a school census SEN provision code (N, K or E)"),
            "{err}"
        );
        assert!(!err.contains("'P'"), "{err}");
    }

    #[test]
    fn malformed_attendance_is_named_by_line() {
        let bad = CTF.replace(
            "2025-06-13</AttendanceStartDate>",
            "13/13/2025</AttendanceStartDate>",
        );
        let e = marks_of(&bad, &Layout::default()).unwrap_err().to_string();
        assert!(
            e.starts_with(
                "line 15: pupil R850200125001: AttendanceStartDate '13/13/2025' is not a date"
            ),
            "{e}"
        );
        let no_urn = CTF.replace("<URN>116439</URN>", "");
        let e = marks_of(&no_urn, &Layout::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("--school-urn"), "{e}");
        let layout = Layout {
            school_urn: Some("116440".into()),
            ..Default::default()
        };
        assert_eq!(
            marks_of(&no_urn, &layout).unwrap()[0].0.school_urn,
            "116440"
        );
        let broken = CTF.replace("</UPN>", "</UPM>");
        let e = marks_of(&broken, &Layout::default())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("line 9: not well-formed XML"), "{e}");
    }
}
