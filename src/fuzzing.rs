//! What the fuzz targets run (`fuzz/`, README "Fuzzing"): each takes any bytes,
//! must never panic, and checks what must hold of its answer. The libFuzzer
//! targets call these; `tests/api/fuzz_corpus.rs` runs them on stable over the
//! checked-in seed corpus and a bounded, seeded run of mutations of it.

use crate::api::{layers::prewalk, pagination};
use crate::cli::import_marks::{Layout, MarkDays, ctf, layout};
use crate::cli::import_payments::format as payments;
use crate::cli::import_schools;
use crate::domain::identifiers::LaCode;

/// A target: any bytes in, a panic on what must not happen.
pub type Target = fn(&[u8]);

/// The targets, by the name of their folder in `fuzz/corpus/`.
pub const TARGETS: [(&str, Target); 6] = [
    ("limits", limits_walk),
    ("page_token", page_token),
    ("mis_csv", mis_csv),
    ("ctf", ctf_xml),
    ("gias", gias_csv),
    ("payments_csv", payments_csv),
];

/// The request limits walker over any bytes, read as the request type the first
/// byte picks. It must answer (a violation list or "not a message of this
/// type") and never panic, loop or overflow its stack.
pub fn limits_walk(data: &[u8]) {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let names = prewalk::request_names();
    let name = &names[usize::from(pick) % names.len()];
    if let Ok(found) = prewalk::walk_encoded(name, bytes) {
        for v in found {
            // Violations name a field and a limit, never quote the value.
            assert!(v.description.len() < 200, "{name}: {}", v.description);
        }
    }
}

/// The page-token decoders over any token, and encode-then-decode over any
/// filter and cursor: a token decodes only for its own filter, to its own
/// cursor, and only when the cursor is one SQL can take.
pub fn page_token(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let filter = "parent=authorities/850";
    let _ = pagination::decode_token("page_token", &text, filter);
    let _ = pagination::decode_date_key("page_token", &text, filter);
    let _ = pagination::decode_date("page_token", &text, filter);
    let _ = pagination::decode_id("page_token", &text, filter);

    let (filter, cursor) = text.split_once('\u{1}').unwrap_or(("f", &text));
    let token = pagination::encode_token(filter, cursor);
    match pagination::decode_token("page_token", &token, filter) {
        Ok(Some(back)) => assert_eq!(back, cursor),
        Ok(None) => unreachable!("a token is never empty"),
        Err(_) => assert!(
            cursor.chars().count() > pagination::MAX_CURSOR_CHARS
                || cursor.chars().any(char::is_control),
            "{cursor:?} refused"
        ),
    }
    let other = format!("{filter}x");
    assert!(pagination::decode_token("page_token", &token, &other).is_err());
    if let Ok(Some((date, _))) = pagination::decode_date_key("page_token", &token, filter) {
        use chrono::Datelike;
        assert!((1..=9999).contains(&date.year()), "{date}");
    }
}

/// Layouts to read a file with: the native one, and one with every option.
fn layouts() -> [Layout; 2] {
    let mut mapped = Layout {
        school_urn: Some("116439".into()),
        recorded_at: chrono::DateTime::parse_from_rfc3339("2025-01-10T16:00:00+00:00").ok(),
        mark_days: MarkDays::All,
        ..Layout::default()
    };
    if let Ok(columns) = layout::parse_columns("upn=UPN,start_date=Start,marks=Marks") {
        mapped.columns = columns;
    }
    [Layout::default(), mapped]
}

/// What an importer emits must be a mark the server can be sent: a session,
/// a date, a code of a few characters.
fn check_mark(mark: &crate::proto::v1::Mark, origin: &str) {
    assert!(mark.date.is_some(), "{origin}");
    assert!(mark.record_time.is_some(), "{origin}");
    assert!(!origin.is_empty());
}

/// The MIS CSV reader (either shape: a row per session, or mark strings) over
/// any bytes: marks or an error with its line, never a panic.
pub fn mis_csv(data: &[u8]) {
    for layout in layouts() {
        let _ = layout::read_csv_bytes(data, "fuzz.csv", &layout, &mut |mark, origin| {
            check_mark(&mark, &origin);
            Ok(())
        });
    }
    if let Ok(columns) = std::str::from_utf8(data) {
        let _ = layout::parse_columns(columns);
        let _ = layout::parse_date(columns);
        let _ = layout::parse_record_time(columns);
    }
}

/// The Common Transfer File reader over any text.
pub fn ctf_xml(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for layout in layouts() {
        let _ = ctf::read_ctf_text(&text, &layout, &mut |mark, origin| {
            check_mark(&mark, &origin);
            Ok(())
        });
    }
}

/// The GIAS register reader over any bytes (decoded as the importer does), for
/// one authority and for all.
pub fn gias_csv(data: &[u8]) {
    let text = import_schools::decode(data);
    let Ok(la) = LaCode::parse("850") else {
        return;
    };
    for all in [false, true] {
        if let Ok((schools, rows, skipped)) = import_schools::read_schools(&text, &la, all) {
            assert!(schools.len() as u64 + skipped <= rows);
            let mut urns: Vec<&str> = schools.iter().map(|s| s.urn.as_str()).collect();
            urns.sort_unstable();
            urns.dedup();
            assert_eq!(urns.len(), schools.len(), "a URN twice");
        }
    }
}

/// The payment-file reader (`import-payments`) over any bytes, decoded as the
/// importer does, in the generic layout and GOV.UK Pay's: each line a payment
/// the server can be sent, skipped, or refused naming its line; never a panic.
pub fn payments_csv(data: &[u8]) {
    let text = crate::cli::columns::decode_text(data);
    let layouts = [
        payments::Layout::default(),
        payments::Layout::new(payments::Format::GovukPay, None, None, None)
            .expect("the GOV.UK Pay layout"),
    ];
    for layout in layouts {
        let Ok((_, lines)) = payments::read_lines(&text, "fuzz.csv", &layout) else {
            continue;
        };
        let mut last = 0;
        for line in lines {
            let at = match line {
                payments::Line::Payment(row) => {
                    let max = crate::domain::payment::MAX_PAYMENT_PENCE;
                    assert!((1..=max).contains(&row.amount_pence), "{row:?}");
                    assert!(!row.transaction_id.is_empty(), "{row:?}");
                    row.line
                }
                payments::Line::Skipped { line, .. } => line,
                payments::Line::Refused { line, message } => {
                    assert!(message.starts_with(&format!("line {line}")), "{message}");
                    line
                }
            };
            assert!(at > last, "lines in order: {at} after {last}");
            last = at;
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = payments::parse_pounds(text);
        let _ = payments::parse_pence(text);
        let _ = payments::parse_paid(text, None, payments::Times::Uk);
        let _ = payments::Layout::new(payments::Format::Generic, Some(text), None, Some(text));
    }
}
