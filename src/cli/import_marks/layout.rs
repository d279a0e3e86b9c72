//! The CSV layouts `import-marks` reads: its own (one row per session), the
//! columns of an MIS export mapped onto its fields (`--columns`), dates as
//! YYYY-MM-DD or DD/MM/YYYY, and session-mark strings (one row per pupil: a
//! start date and a string of marks, two a day, AM then PM).

use std::path::Path;

use anyhow::{Context, bail};
use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveTime, Weekday};

use crate::api::convert::date_to_proto;
use crate::cli::columns::{self, ColumnMap, Columns, ImportField};
use crate::domain::calendar::london_local_to_utc;
use crate::proto::v1 as pb;

/// A field the importer reads, by the column name of its own layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    SchoolUrn,
    Upn,
    Date,
    Session,
    Code,
    RecordTime,
    /// Mark strings: the date of the string's first session (a morning).
    StartDate,
    /// Mark strings: the string of marks.
    Marks,
    /// Optional: the pupil's SEN status (census code N, K or E); blank for
    /// none sent.
    SenProvision,
    /// Optional: the date that status applies from; without it, the row's
    /// date (or a mark string's start date).
    SenStartDate,
}

crate::domain::all_variants!(Field {
    SchoolUrn,
    Upn,
    Date,
    Session,
    Code,
    RecordTime,
    StartDate,
    Marks,
    SenProvision,
    SenStartDate,
});

impl ImportField for Field {
    fn all() -> &'static [Field] {
        &Field::ALL
    }

    fn name(self) -> &'static str {
        match self {
            Field::SchoolUrn => "school_urn",
            Field::Upn => "upn",
            Field::Date => "date",
            Field::Session => "session",
            Field::Code => "code",
            Field::RecordTime => "record_time",
            Field::StartDate => "start_date",
            Field::Marks => "marks",
            Field::SenProvision => "sen_provision",
            Field::SenStartDate => "sen_start_date",
        }
    }
}

/// Which days the pairs of a session-mark string stand for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum MarkDays {
    /// Monday to Friday: Saturdays and Sundays have no pair.
    #[default]
    Weekdays,
    /// Every calendar day, weekends included.
    All,
}

/// How to read a file beyond the importer's own layout.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// The file's column for each field named (`--columns field=Header,...`);
    /// a field not named is read from the column of its own name.
    pub columns: ColumnMap<Field>,
    /// The school, for a file with no `school_urn` column (or a CTF whose
    /// header names no URN).
    pub school_urn: Option<String>,
    /// When the school recorded the marks, for a file with no `record_time`
    /// column (a CTF's header DateTime otherwise).
    pub recorded_at: Option<DateTime<FixedOffset>>,
    /// Which days a mark string's pairs stand for.
    pub mark_days: MarkDays,
}

/// `--columns school_urn=URN,upn=UPN,...`: each field once, each naming a column.
pub fn parse_columns(spec: &str) -> anyhow::Result<ColumnMap<Field>> {
    columns::parse_columns(spec)
}

/// A date as MIS exports write it: `YYYY-MM-DD`, or `DD/MM/YYYY` (UK order,
/// never US). The two shapes cannot be mistaken for each other, so each value
/// is read by its own shape.
pub fn parse_date(value: &str) -> Result<NaiveDate, String> {
    let s = value.trim();
    let bad = || format!("'{s}' is not a date (YYYY-MM-DD or DD/MM/YYYY)");
    let digits = |p: &str, len: std::ops::RangeInclusive<usize>| {
        len.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
    };
    let parts: Vec<&str> = s.split(['-', '/']).collect();
    let (y, m, d) = match parts.as_slice() {
        [y, m, d]
            if s.contains('-') && digits(y, 4..=4) && digits(m, 1..=2) && digits(d, 1..=2) =>
        {
            (*y, *m, *d)
        }
        [d, m, y]
            if s.contains('/') && digits(y, 4..=4) && digits(m, 1..=2) && digits(d, 1..=2) =>
        {
            (*y, *m, *d)
        }
        _ => return Err(bad()),
    };
    let n = |p: &str| p.parse::<u32>().map_err(|_| bad());
    NaiveDate::from_ymd_opt(n(y)? as i32, n(m)?, n(d)?).ok_or_else(bad)
}

/// When a mark was recorded: RFC 3339, or a date (either shape) and `HH:MM`
/// or `HH:MM:SS` read as UK local time, as MIS exports print it.
pub fn parse_record_time(value: &str) -> Result<DateTime<FixedOffset>, String> {
    let s = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t);
    }
    let bad = || {
        format!(
            "'{s}' is not a time (RFC 3339, or YYYY-MM-DD HH:MM[:SS] or DD/MM/YYYY HH:MM[:SS] in UK time)"
        )
    };
    let (date, time) = s.split_once([' ', 'T']).ok_or_else(bad)?;
    let date = parse_date(date).map_err(|_| bad())?;
    let time = NaiveTime::parse_from_str(time.trim(), "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(time.trim(), "%H:%M"))
        .map_err(|_| bad())?;
    Ok(london_local_to_utc(date.and_time(time)).fixed_offset())
}

/// Characters of a mark string that stand for no mark (none recorded, or the
/// pupil not expected): nothing is sent for them.
pub const NO_MARK: [char; 2] = ['-', ' '];

/// The longest mark string read: a year of every day, with room to spare.
pub const MAX_MARK_STRING: usize = 800;

/// One session of a mark string: its 1-based character, date, session, code.
pub type StringMark = (usize, NaiveDate, pb::Session, String);

/// The sessions of a mark string whose first character is the morning of
/// `start`: two characters a day, AM then PM, for each day `days` counts.
/// A string holds one-character codes only.
pub fn expand_marks(
    start: NaiveDate,
    marks: &str,
    days: MarkDays,
) -> Result<Vec<StringMark>, String> {
    let weekend = |d: NaiveDate| matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
    if days == MarkDays::Weekdays && weekend(start) {
        return Err(format!(
            "the string starts on {start}, a {:?}, but its pairs are weekdays (--mark-days all for every day)",
            start.weekday()
        ));
    }
    let length = marks.chars().count();
    if length > MAX_MARK_STRING {
        return Err(format!(
            "{length} marks is more than {MAX_MARK_STRING} (a year of every day)"
        ));
    }
    let mut day = start;
    let mut out = Vec::with_capacity(length);
    for (i, c) in marks.chars().enumerate() {
        if i > 0 && i % 2 == 0 {
            day = day
                .checked_add_days(Days::new(1))
                .ok_or("the string runs past the calendar's end")?;
            while days == MarkDays::Weekdays && weekend(day) {
                day = day + Days::new(1);
            }
        }
        if NO_MARK.contains(&c) {
            continue;
        }
        let session = if i % 2 == 0 {
            pb::Session::Am
        } else {
            pb::Session::Pm
        };
        out.push((i + 1, day, session, c.to_string()));
    }
    Ok(out)
}

fn session_name(session: pb::Session) -> &'static str {
    if session == pb::Session::Am {
        "AM"
    } else {
        "PM"
    }
}

/// A mark of a mark string, with where it came from.
pub fn string_mark(
    school_urn: &str,
    upn: &str,
    mark: &StringMark,
    record_time: DateTime<FixedOffset>,
    place: &str,
) -> (pb::Mark, String) {
    let (character, date, session, code) = mark;
    let origin = format!(
        "{place}, character {character} ({date} {})",
        session_name(*session)
    );
    (
        pb::Mark {
            school_urn: school_urn.to_string(),
            upn: upn.to_string(),
            date: Some(date_to_proto(*date)),
            session: *session as i32,
            code: code.clone(),
            record_time: Some(timestamp(record_time)),
        },
        origin,
    )
}

pub fn timestamp(t: DateTime<FixedOffset>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// Where a field is read from: the file's column, or a value for every row.
enum Source<T> {
    Column(usize),
    Fixed(T),
}

/// Reads a CSV file's marks in order, each with the place it came from
/// (`line N`, and for mark strings the column and character), stopping at
/// the first malformed row with its line and column. The file is read whole
/// (an MIS export is a school's registers: megabytes) and decoded as
/// `columns::decode_text` says: UTF-8 with or without a byte-order mark,
/// UTF-16 with one, else Windows-1252.
pub fn read_csv(
    file: &Path,
    layout: &Layout,
    emit: &mut dyn FnMut(pb::Mark, String) -> anyhow::Result<()>,
    sen: &mut dyn FnMut(pb::PupilSenStatus),
) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("opening {}", file.display()))?;
    let text = crate::cli::columns::decode_text(&bytes);
    read_records(&text, &file.display().to_string(), layout, emit, sen)
}

/// A `sen_provision` cell: `None` when blank. The value is not quoted when
/// bad: it may still be a pupil's SEN information (an old code).
pub fn parse_sen_provision(value: &str) -> Result<Option<pb::SenProvision>, String> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    match crate::domain::sen::SenProvision::from_code(value) {
        Some(p) => Ok(Some(crate::api::convert::sen_to_proto(Some(p)))),
        None => Err("not a school census SEN provision code (N, K or E)".into()),
    }
}

/// As [`read_csv`], from a file's bytes; `name` names it in messages (the
/// fuzz targets' entry, see `fuzz/`).
pub fn read_csv_bytes(
    bytes: &[u8],
    name: &str,
    layout: &Layout,
    emit: &mut dyn FnMut(pb::Mark, String) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let text = crate::cli::columns::decode_text(bytes);
    read_records(&text, name, layout, emit, &mut |_| {})
}

fn csv_reader() -> csv::ReaderBuilder {
    let mut builder = csv::ReaderBuilder::new();
    // Headers only: a mark string's spaces are marks' places, not padding.
    builder.trim(csv::Trim::Headers);
    builder
}

fn read_records(
    text: &str,
    file: &str,
    layout: &Layout,
    emit: &mut dyn FnMut(pb::Mark, String) -> anyhow::Result<()>,
    sen: &mut dyn FnMut(pb::PupilSenStatus),
) -> anyhow::Result<()> {
    let mut reader = csv_reader().from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .with_context(|| format!("reading the header of {file}"))?
        .clone();
    let columns = Columns::resolve(headers, &layout.columns, file)?;
    let school = match (columns.get(Field::SchoolUrn), &layout.school_urn) {
        (Some(i), _) => Source::Column(i),
        (None, Some(urn)) => Source::Fixed(urn.clone()),
        (None, None) => bail!(
            "{} has no column 'school_urn' (map one with --columns school_urn=NAME, or name the school with --school-urn; its columns: {})",
            file,
            columns.list()
        ),
    };
    let recorded = match (columns.get(Field::RecordTime), layout.recorded_at) {
        (Some(i), _) => Source::Column(i),
        (None, Some(t)) => Source::Fixed(t),
        (None, None) => bail!(
            "{} has no column 'record_time' (map one with --columns record_time=NAME, or give --recorded-at; its columns: {})",
            file,
            columns.list()
        ),
    };
    let strings = columns.get(Field::Marks).is_some();
    let upn = columns.required(Field::Upn, file)?;
    let sen_provision = columns.get(Field::SenProvision);
    let sen_start = columns.get(Field::SenStartDate);
    let shape = if strings {
        Shape::Strings {
            start: columns.required(Field::StartDate, file)?,
            marks: columns.required(Field::Marks, file)?,
        }
    } else {
        Shape::Sessions {
            date: columns.required(Field::Date, file)?,
            session: columns.required(Field::Session, file)?,
            code: columns.required(Field::Code, file)?,
        }
    };

    let mut record = csv::StringRecord::new();
    // The reader's own line numbers are one short for CRLF files.
    let mut lines = crate::cli::columns::LineCounter::new(text);
    loop {
        let more = reader.read_record(&mut record).map_err(|e| {
            let line = e.position().map_or(0, |p| lines.line_at(p.byte()));
            anyhow::anyhow!("line {line}: {e}")
        })?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| lines.line_at(p.byte()));
        let at = |i: usize, e: String| {
            anyhow::anyhow!("line {line}, column '{}': {e}", columns.header(i))
        };
        let cell = |i: usize| -> anyhow::Result<&str> {
            record
                .get(i)
                .ok_or_else(|| at(i, "the row has no such column".into()))
        };
        let school_urn = match &school {
            Source::Column(i) => cell(*i)?.trim().to_string(),
            Source::Fixed(urn) => urn.clone(),
        };
        let record_time = match &recorded {
            Source::Column(i) => parse_record_time(cell(*i)?).map_err(|e| at(*i, e))?,
            Source::Fixed(t) => *t,
        };
        let upn = cell(upn)?.trim().to_string();
        // The row's SEN status, sent with its marks (before them, so in the
        // same batch); from `sen_start_date`, else the row's first date.
        let sen_status = match sen_provision {
            Some(i) => parse_sen_provision(cell(i)?).map_err(|e| at(i, e))?,
            None => None,
        };
        let sen_from = match sen_start {
            Some(i) if sen_status.is_some() && !cell(i)?.trim().is_empty() => {
                Some(parse_date(cell(i)?).map_err(|e| at(i, e))?)
            }
            _ => None,
        };
        let mut send_sen = |row_date: NaiveDate| {
            if let Some(p) = sen_status {
                sen(pb::PupilSenStatus {
                    upn: upn.clone(),
                    sen_provision: p as i32,
                    effective_date: Some(date_to_proto(sen_from.unwrap_or(row_date))),
                    source: pb::SenStatusSource::RegisterImport as i32,
                });
            }
        };
        match shape {
            Shape::Sessions {
                date,
                session,
                code,
            } => {
                let day = parse_date(cell(date)?).map_err(|e| at(date, e))?;
                send_sen(day);
                let s = cell(session)?.trim();
                let sess = match s.to_ascii_uppercase().as_str() {
                    "AM" => pb::Session::Am,
                    "PM" => pb::Session::Pm,
                    _ => return Err(at(session, format!("'{s}' is not AM or PM"))),
                };
                let mark = pb::Mark {
                    school_urn,
                    upn,
                    date: Some(date_to_proto(day)),
                    session: sess as i32,
                    code: cell(code)?.trim().to_string(),
                    record_time: Some(timestamp(record_time)),
                };
                emit(mark, format!("line {line}"))?;
            }
            Shape::Strings { start, marks } => {
                let first = parse_date(cell(start)?).map_err(|e| at(start, e))?;
                send_sen(first);
                let place = format!("line {line}, column '{}'", columns.header(marks));
                let sessions = expand_marks(first, cell(marks)?, layout.mark_days)
                    .map_err(|e| at(marks, e))?;
                for m in &sessions {
                    let (mark, origin) = string_mark(&school_urn, &upn, m, record_time, &place);
                    emit(mark, origin)?;
                }
            }
        }
    }
    Ok(())
}

/// Which columns make a row's marks.
#[derive(Clone, Copy)]
enum Shape {
    /// One row per session.
    Sessions {
        date: usize,
        session: usize,
        code: usize,
    },
    /// One row per pupil: a start date and a mark string.
    Strings { start: usize, marks: usize },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn dates_are_read_by_their_shape_and_uk_order() {
        assert_eq!(parse_date("2025-03-04"), Ok(d(2025, 3, 4)));
        assert_eq!(parse_date("04/03/2025"), Ok(d(2025, 3, 4)));
        assert_eq!(parse_date(" 4/3/2025 "), Ok(d(2025, 3, 4)));
        for bad in [
            "31/02/2025",
            "03/13/2025",
            "04/03/25",
            "2025/03/04",
            "25-03-04",
            "",
            "4 March",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn record_times_without_an_offset_are_uk_time() {
        let utc = |s: &str| parse_record_time(s).unwrap().to_utc().to_rfc3339();
        assert_eq!(utc("2025-03-03T09:05:00Z"), "2025-03-03T09:05:00+00:00");
        assert_eq!(utc("03/03/2025 09:05"), "2025-03-03T09:05:00+00:00");
        // British Summer Time: an hour ahead of UTC.
        assert_eq!(utc("2025-06-02 09:05:30"), "2025-06-02T08:05:30+00:00");
        assert!(parse_record_time("2025-06-02").is_err());
    }

    #[test]
    fn mark_strings_pair_weekdays_and_skip_no_marks() {
        // Friday 7 March 2025: Friday, then Monday.
        let marks = expand_marks(d(2025, 3, 7), "/\\-N", MarkDays::Weekdays).unwrap();
        let got: Vec<_> = marks
            .iter()
            .map(|(i, date, s, c)| (*i, *date, *s, c.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (1, d(2025, 3, 7), pb::Session::Am, "/"),
                (2, d(2025, 3, 7), pb::Session::Pm, "\\"),
                (4, d(2025, 3, 10), pb::Session::Pm, "N"),
            ]
        );
        let every = expand_marks(d(2025, 3, 7), "//--", MarkDays::All).unwrap();
        assert_eq!(every.len(), 2);
        let sat = expand_marks(d(2025, 3, 7), "////#", MarkDays::All).unwrap();
        assert_eq!(
            sat[4].1,
            d(2025, 3, 9),
            "the fifth character is Sunday's morning"
        );
        assert!(expand_marks(d(2025, 3, 8), "//", MarkDays::Weekdays).is_err());
        assert!(
            expand_marks(
                d(2025, 3, 7),
                &"/".repeat(MAX_MARK_STRING + 1),
                MarkDays::All
            )
            .is_err()
        );
    }

    #[test]
    fn a_bad_row_is_named_by_its_line_in_any_encoding_and_line_ending() {
        let file = "school_urn,upn,date,session,code,record_time\n\
                    116439,A850200125001,2025-03-06,AM,/,2025-03-14T16:30:00Z\n\
                    \n\
                    116439,A850200125001,2025-13-06,PM,N,2025-03-14T16:30:00Z\n";
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(
                file.replace('\n', "\r\n")
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes),
            )
            .collect();
        for bytes in [
            file.as_bytes().to_vec(),
            file.replace('\n', "\r\n").into_bytes(),
            [&b"\xEF\xBB\xBF"[..], file.replace('\n', "\r\n").as_bytes()].concat(),
            utf16,
        ] {
            let mut marks = 0;
            let err = read_csv_bytes(&bytes, "f.csv", &Layout::default(), &mut |_, _| {
                marks += 1;
                Ok(())
            })
            .unwrap_err()
            .to_string();
            assert_eq!(marks, 1);
            assert!(err.starts_with("line 4, column 'date'"), "{err}");
        }
    }

    #[test]
    fn a_sen_provision_column_sends_each_rows_status_from_its_date_or_start_date() {
        let file = "school_urn,upn,date,session,code,record_time,sen_provision,sen_start_date\n\
                    116439,A850200125001,2025-03-06,AM,/,2025-03-14T16:30:00Z,K,\n\
                    116439,A850200125001,2025-03-06,PM,/,2025-03-14T16:30:00Z,k,\n\
                    116439,B850200125001,2025-03-06,AM,/,2025-03-14T16:30:00Z,,\n\
                    116439,C850200125001,2025-03-06,AM,/,2025-03-14T16:30:00Z,E,2024-09-02\n";
        let read = |text: &str| {
            let (mut marks, mut sen) = (0, Vec::new());
            let result = read_records(
                text,
                "f.csv",
                &Layout::default(),
                &mut |_, _| {
                    marks += 1;
                    Ok(())
                },
                &mut |s| sen.push(s),
            );
            result.map(|()| (marks, sen))
        };
        let (marks, sen) = read(file).unwrap();
        assert_eq!(marks, 4);
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
        let import = pb::SenStatusSource::RegisterImport;
        assert_eq!(
            got,
            [
                (
                    "A850200125001",
                    pb::SenProvision::SenSupport,
                    (2025, 3, 6),
                    import
                ),
                (
                    "A850200125001",
                    pb::SenProvision::SenSupport,
                    (2025, 3, 6),
                    import
                ),
                // A blank cell sends nothing.
                (
                    "C850200125001",
                    pb::SenProvision::EhcPlan,
                    (2024, 9, 2),
                    import
                ),
            ]
        );
        // The importer sends one status per pupil and change.
        assert_eq!(crate::cli::import_marks::compact_sen_statuses(sen).len(), 2);
        // A code that is not the census's is refused without quoting it.
        let err = read(&file.replace(",K,", ",S,")).unwrap_err().to_string();
        assert_eq!(
            err,
            "line 2, column 'sen_provision': not a school census SEN provision code (N, K or E)"
        );
        // A file without the column sends none, as before.
        let plain = "school_urn,upn,date,session,code,record_time\n\
                     116439,A850200125001,2025-03-06,AM,/,2025-03-14T16:30:00Z\n";
        assert_eq!(read(plain).unwrap(), (1, vec![]));
    }

    #[test]
    fn columns_name_known_fields_once() {
        let c = parse_columns("school_urn=URN, upn=UPN,date=Date").unwrap();
        assert_eq!(c[&Field::SchoolUrn], ["URN"]);
        assert_eq!(c[&Field::Date], ["Date"]);
        assert!(parse_columns("pupil=UPN").is_err());
        assert!(parse_columns("upn=UPN,upn=Pupil").is_err());
        assert!(parse_columns("upn").is_err());
        assert!(parse_columns("upn=").is_err());
    }
}
