//! `lea-notices import-marks`: streams an MIS register export (CSV) to
//! AttendanceService.RecordMarks in batches.
//!
//! The CSV has a header row and these columns, in any order:
//!
//! | column        | example                | meaning                                  |
//! |---------------|------------------------|------------------------------------------|
//! | `school_urn`  | `116439`               | the school's 6-digit URN                 |
//! | `upn`         | `R850200125001`        | the pupil's 13-character UPN             |
//! | `date`        | `2025-03-03`           | the session's date                       |
//! | `session`     | `AM` or `PM`           | morning or afternoon                     |
//! | `code`        | `/`, `N`, `G`, ...     | the register code                        |
//! | `record_time` | `2025-03-03T09:05:00Z` | when the school recorded it (RFC 3339)   |
//!
//! The file is read twice: once to check every row's format (a malformed row
//! stops the import before anything is sent, naming its line), then to send
//! it. Each batch's request id is a hash of its contents, so running the same
//! import again after a failure skips the batches already applied.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate};
use indicatif::{ProgressBar, ProgressStyle};
use prost::Message;
use sha2::{Digest, Sha256};
use tonic::transport::{Certificate, Channel, ClientTlsConfig};
use tonic_types::StatusExt;

use crate::api::attendance::MAX_MARKS_PER_BATCH;
use crate::api::convert::date_to_proto;
use crate::proto::v1::{self as pb, attendance_service_client::AttendanceServiceClient};

/// Batches sent in one RecordMarks call (100,000 marks at the default size).
const BATCHES_PER_CALL: usize = 20;

/// What to import and where.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub file: PathBuf,
    /// `http://host:port` or `https://host:port`.
    pub server: String,
    /// The authority's LA code.
    pub authority: String,
    /// A bearer token of a role that may record marks.
    pub token: String,
    pub batch_size: usize,
    /// CA certificate (PEM) to trust for an `https` server.
    pub ca_file: Option<PathBuf>,
    /// Show a progress bar (off when stderr is not a terminal).
    pub progress: bool,
}

#[derive(Debug, serde::Deserialize)]
struct Row {
    school_urn: String,
    upn: String,
    date: String,
    session: String,
    code: String,
    record_time: String,
}

/// One CSV row as a mark, or why its format is wrong.
fn mark_from_row(row: &Row) -> Result<pb::Mark, String> {
    let date: NaiveDate = row
        .date
        .trim()
        .parse()
        .map_err(|_| format!("date '{}' is not YYYY-MM-DD", row.date))?;
    let session = match row.session.trim().to_ascii_uppercase().as_str() {
        "AM" => pb::Session::Am,
        "PM" => pb::Session::Pm,
        other => return Err(format!("session '{other}' is not AM or PM")),
    };
    let record_time = DateTime::parse_from_rfc3339(row.record_time.trim())
        .map_err(|_| format!("record_time '{}' is not an RFC 3339 time", row.record_time))?;
    Ok(pb::Mark {
        school_urn: row.school_urn.trim().to_string(),
        upn: row.upn.trim().to_string(),
        date: Some(date_to_proto(date)),
        session: session as i32,
        code: row.code.trim().to_string(),
        record_time: Some(prost_types::Timestamp {
            seconds: record_time.timestamp(),
            nanos: record_time.timestamp_subsec_nanos() as i32,
        }),
    })
}

/// Reads the file's marks with their line numbers, calling `batch` for every
/// `size` of them (and for the rest).
fn read_batches(
    file: &Path,
    size: usize,
    mut batch: impl FnMut(Vec<pb::Mark>, Vec<u64>) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(file)
        .with_context(|| format!("opening {}", file.display()))?;
    let headers = reader
        .headers()
        .with_context(|| format!("reading the header of {}", file.display()))?
        .clone();
    let (mut marks, mut lines, mut total) = (Vec::new(), Vec::new(), 0);
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut record).map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            anyhow::anyhow!("line {line}: {e}")
        })?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line());
        let mark = record
            .deserialize::<Row>(Some(&headers))
            .map_err(|e| e.to_string())
            .and_then(|row| mark_from_row(&row))
            .map_err(|e| anyhow::anyhow!("line {line}: {e}"))?;
        marks.push(mark);
        lines.push(line);
        total += 1;
        if marks.len() == size {
            batch(std::mem::take(&mut marks), std::mem::take(&mut lines))?;
        }
    }
    if !marks.is_empty() {
        batch(marks, lines)?;
    }
    Ok(total)
}

/// A request id that is the same whenever the same marks are sent again.
fn batch_request_id(authority: &str, marks: &[pb::Mark]) -> String {
    let mut hash = Sha256::new();
    hash.update(authority.as_bytes());
    for m in marks {
        hash.update(m.encode_to_vec());
    }
    format!("import-{}", hex::encode(&hash.finalize()[..16]))
}

/// A refused batch's violations, with `marks[i]` turned into the CSV line.
fn explain(status: &tonic::Status, lines: &HashMap<String, Vec<u64>>) -> String {
    let batch_lines = status
        .message()
        .strip_prefix("batch ")
        .and_then(|rest| rest.split_once(':'))
        .and_then(|(id, _)| lines.get(id));
    let Some(bad) = status.get_details_bad_request() else {
        return format!("{:?}: {}", status.code(), status.message());
    };
    let mut out = vec![format!("the server refused a batch ({:?}):", status.code())];
    for v in bad.field_violations {
        let line = v
            .field
            .strip_prefix("marks[")
            .and_then(|rest| rest.strip_suffix(']'))
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|i| batch_lines?.get(i));
        match line {
            Some(line) => out.push(format!("  line {line}: {}", v.description)),
            None => out.push(format!("  {}: {}", v.field, v.description)),
        }
    }
    out.join("\n")
}

/// Runs the import; the totals the server reported.
pub async fn import_marks(options: ImportOptions) -> anyhow::Result<pb::RecordMarksResponse> {
    if !(1..=MAX_MARKS_PER_BATCH).contains(&options.batch_size) {
        bail!("--batch-size must be between 1 and {MAX_MARKS_PER_BATCH}");
    }
    // Pass 1: every row well formed, and how many there are.
    let rows = read_batches(&options.file, options.batch_size, |_, _| Ok(()))?;
    if rows == 0 {
        bail!("{} has no marks", options.file.display());
    }

    let mut endpoint = Channel::from_shared(options.server.clone())
        .with_context(|| format!("server address '{}'", options.server))?;
    if let Some(ca) = &options.ca_file {
        let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
        endpoint = endpoint
            .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))?;
    }
    let channel = endpoint
        .connect()
        .await
        .with_context(|| format!("connecting to {}", options.server))?;
    let bearer: tonic::metadata::MetadataValue<_> = format!("Bearer {}", options.token)
        .parse()
        .context("the token is not a valid header value")?;
    let mut client =
        AttendanceServiceClient::with_interceptor(channel, move |mut r: tonic::Request<()>| {
            r.metadata_mut().insert("authorization", bearer.clone());
            Ok(r)
        })
        .max_encoding_message_size(usize::MAX);

    let bar = if options.progress {
        ProgressBar::new(rows).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} marks ({per_sec}, {eta} left)")
                .expect("a valid template"),
        )
    } else {
        ProgressBar::hidden()
    };
    // Pass 2: send, a few batches ahead of the server.
    let lines: Arc<Mutex<HashMap<String, Vec<u64>>>> = Arc::default();
    let (tx, rx) = tokio::sync::mpsc::channel::<pb::RecordMarksRequest>(4);
    let reader = {
        let (file, size, authority, lines, bar) = (
            options.file.clone(),
            options.batch_size,
            options.authority.clone(),
            lines.clone(),
            bar.clone(),
        );
        tokio::task::spawn_blocking(move || {
            read_batches(&file, size, |marks, batch_lines| {
                let request_id = batch_request_id(&authority, &marks);
                let n = marks.len() as u64;
                lines
                    .lock()
                    .expect("not poisoned")
                    .insert(request_id.clone(), batch_lines);
                let sent = tx.blocking_send(pb::RecordMarksRequest {
                    parent: format!("authorities/{authority}"),
                    request_id,
                    marks,
                });
                // A closed stream means the server answered early (an error).
                if sent.is_ok() {
                    bar.inc(n);
                }
                Ok(())
            })
        })
    };
    // Batches go in streams of a bounded size, so no call outlives the server's
    // request timeout however big the file is.
    let mut rx = rx;
    let mut totals = pb::RecordMarksResponse::default();
    let result = loop {
        let mut group = Vec::with_capacity(BATCHES_PER_CALL);
        while group.len() < BATCHES_PER_CALL {
            match rx.recv().await {
                Some(batch) => group.push(batch),
                None => break,
            }
        }
        if group.is_empty() {
            break Ok(());
        }
        match client.record_marks(tokio_stream::iter(group)).await {
            Ok(r) => {
                let r = r.into_inner();
                totals.inserted += r.inserted;
                totals.replaced += r.replaced;
                totals.unchanged += r.unchanged;
                totals.outdated += r.outdated;
                totals.batches += r.batches;
            }
            Err(status) => break Err(status),
        }
    };
    drop(rx);
    bar.finish_and_clear();
    let _ = reader.await;
    match result {
        Ok(()) => Ok(totals),
        Err(status) => bail!(explain(&status, &lines.lock().expect("not poisoned"))),
    }
}
