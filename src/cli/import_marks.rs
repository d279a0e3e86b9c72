//! `lea-notices import-marks`: streams an MIS register export to
//! AttendanceService.RecordMarks in batches.
//!
//! Its own CSV layout has a header row and these columns, in any order:
//!
//! | column        | example                | meaning                                  |
//! |---------------|------------------------|------------------------------------------|
//! | `school_urn`  | `116439`               | the school's 6-digit URN                 |
//! | `upn`         | `R850200125001`        | the pupil's 13-character UPN             |
//! | `date`        | `2025-03-03`           | the session's date (or `03/03/2025`)     |
//! | `session`     | `AM` or `PM`           | morning or afternoon                     |
//! | `code`        | `/`, `N`, `G`, ...     | the register code                        |
//! | `record_time` | `2025-03-03T09:05:00Z` | when the school recorded it (RFC 3339)   |
//!
//! An export's own column names are mapped onto these (`--columns`), a row per
//! pupil with a `start_date` and a string of `marks` stands for its sessions,
//! and a DfE Common Transfer File is read for its mark strings
//! ([`layout`], [`ctf`]).
//!
//! The file is read twice: once to check every row's format (a malformed row
//! stops the import before anything is sent, naming its line and column), then
//! to send it over RecordMarksStream, which confirms each batch as it commits.
//! Each batch's request id is a hash of its contents, so a batch sent again is
//! not applied twice: when a call is cut (a dropped connection, UNAVAILABLE,
//! the server's time limit) the importer reconnects and sends again from the
//! first batch not confirmed, and running the same import again skips what was
//! applied.

pub mod ctf;
pub mod layout;

pub use layout::{Layout, MarkDays};

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use prost::Message;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::connect::Bearer;
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::api::attendance::MAX_MARKS_PER_BATCH;
use crate::api::error::ERROR_DOMAIN;
use crate::domain::attendance::MarkCounts;
use crate::proto::v1::{self as pb, attendance_service_client::AttendanceServiceClient};

/// Batches sent in one call unless asked otherwise (100,000 marks at the
/// default size), so calls end on their own well inside the server's time limit.
pub const BATCHES_PER_CALL: usize = 20;
/// Batches sent and not yet confirmed: what a cut call may have to send again.
const IN_FLIGHT: usize = 4;
// Calls in a row that confirm no batch before the import gives up, and the
// wait before resuming a failed call: what every client command does
// (`connect::backoff`).
use super::connect::{MAX_ATTEMPTS_WITHOUT_PROGRESS, backoff};

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
    /// Batches sent in one RecordMarksStream call before the next call; the
    /// server also ends a call at its time limit, and the import resumes.
    pub batches_per_call: usize,
    /// CA certificate (PEM) to trust for an `https` server.
    pub ca_file: Option<PathBuf>,
    /// Show a progress bar (off when stderr is not a terminal).
    pub progress: bool,
    /// How to read the file beyond the native CSV layout.
    pub layout: Layout,
}

/// Reads the file's marks with where each came from (`line N`, ...), and
/// the pupils' SEN statuses read with them, calling `batch` for every `size`
/// marks (and for the rest). A status goes in the batch of the marks read
/// after it (a row's status before its marks, a CTF pupil's SEN history
/// before their attendance).
fn read_batches(
    file: &Path,
    layout: &Layout,
    size: usize,
    mut batch: impl FnMut(Vec<pb::Mark>, Vec<String>, Vec<pb::PupilSenStatus>) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let statuses = std::cell::RefCell::new(Vec::new());
    let (mut marks, mut origins, mut total) = (Vec::new(), Vec::new(), 0);
    let mut emit = |mark: pb::Mark, origin: String| -> anyhow::Result<()> {
        marks.push(mark);
        origins.push(origin);
        total += 1;
        if marks.len() == size {
            let sen = compact_sen_statuses(statuses.take());
            batch(
                std::mem::take(&mut marks),
                std::mem::take(&mut origins),
                sen,
            )?;
        }
        Ok(())
    };
    let mut sen = |s: pb::PupilSenStatus| statuses.borrow_mut().push(s);
    if ctf::is_xml(file)? {
        ctf::read_ctf(file, layout, &mut emit, &mut sen)?;
    } else {
        layout::read_csv(file, layout, &mut emit, &mut sen)?;
    }
    let rest = compact_sen_statuses(statuses.take());
    if !marks.is_empty() || !rest.is_empty() {
        batch(marks, origins, rest)?;
    }
    Ok(total)
}

/// A batch's SEN statuses as few as say the same: by pupil and date, each
/// pupil's first and then only those that differ from the one before (an
/// export repeats a pupil's status on every row); for one pupil and date,
/// the last read.
pub fn compact_sen_statuses(mut sent: Vec<pb::PupilSenStatus>) -> Vec<pb::PupilSenStatus> {
    let key = |s: &pb::PupilSenStatus| {
        let d = s.effective_date.unwrap_or_default();
        (s.upn.clone(), d.year, d.month, d.day)
    };
    // Stable: for one pupil and date, the order read.
    sent.sort_by_key(key);
    let mut out: Vec<pb::PupilSenStatus> = Vec::new();
    for s in sent {
        match out.last_mut() {
            Some(last) if key(last) == key(&s) => *last = s,
            _ => out.push(s),
        }
    }
    let mut kept: Vec<pb::PupilSenStatus> = Vec::new();
    for s in out {
        let same = kept
            .last()
            .is_some_and(|k| k.upn == s.upn && k.sen_provision == s.sen_provision);
        if !same {
            kept.push(s);
        }
    }
    kept
}

/// A request id that is the same whenever the same marks (and SEN statuses)
/// are sent again.
fn batch_request_id(authority: &str, marks: &[pb::Mark], sen: &[pb::PupilSenStatus]) -> String {
    let mut hash = Sha256::new();
    hash.update(authority.as_bytes());
    for m in marks {
        hash.update(m.encode_to_vec());
    }
    // Nothing added without statuses: a file without them keeps its ids.
    for s in sen {
        hash.update(s.encode_to_vec());
    }
    format!("import-{}", hex::encode(&hash.finalize()[..16]))
}

/// A refused batch's violations, with `marks[i]` turned into where in the
/// file that mark came from.
fn explain(status: &Status, pending: &VecDeque<Batch>) -> String {
    let batch_origins = status
        .message()
        .strip_prefix("batch ")
        .and_then(|rest| rest.split_once(':'))
        .and_then(|(id, _)| pending.iter().find(|b| b.request.request_id == id))
        .map(|b| &b.origins);
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
            .and_then(|i| batch_origins?.get(i));
        match line {
            Some(origin) => out.push(format!("  {origin}: {}", v.description)),
            None => out.push(format!("  {}: {}", v.field, v.description)),
        }
    }
    out.join("\n")
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// The server's counts over every batch confirmed.
    pub counts: MarkCounts,
    /// Batches confirmed (each once, however often it was sent).
    pub batches: u64,
    /// RecordMarksStream calls made.
    pub calls: u64,
    /// Calls ended before their share (cut, or by the server's time limit)
    /// and resumed on a new call.
    pub resumed: u64,
    /// Batches sent again because a cut call had not confirmed them.
    pub resent: u64,
}

/// One batch as sent, with where in the file each of its marks came from.
struct Batch {
    request: pb::RecordMarksStreamRequest,
    origins: Vec<String>,
}

type Client = AttendanceServiceClient<InterceptedService<Channel, Bearer>>;

/// How a call ended.
enum CallEnd {
    /// The file is done and every batch confirmed.
    Finished,
    /// The call sent its share and all of it is confirmed.
    Full,
    /// The call failed or was cut, with batches in flight perhaps unconfirmed.
    Stopped(Status),
}

/// Whether a call ended by `status` is worth resuming. A batch the server
/// looked at and refused stays refused unless the server was only busy or
/// away; anything else (the connection, the server's time limit) is the call's.
fn resumable(status: &Status) -> bool {
    let refused = status
        .get_details_error_info()
        .is_some_and(|i| i.domain == ERROR_DOMAIN && i.reason == "BATCH_NOT_COMMITTED");
    match status.code() {
        Code::Unavailable | Code::ResourceExhausted | Code::Aborted => true,
        Code::DeadlineExceeded | Code::Cancelled | Code::Unknown | Code::Internal => !refused,
        _ => false,
    }
}

/// Sends batches and keeps those not yet confirmed.
struct Sender {
    client: Client,
    batches_per_call: usize,
    /// Sent on some call and not confirmed yet, in order.
    pending: VecDeque<Batch>,
    report: ImportReport,
    bar: ProgressBar,
}

impl Sender {
    /// One RecordMarksStream call: first the batches a cut call left
    /// unconfirmed, then new ones from `batches` until the call's share is sent.
    /// Returns how many batches it confirmed, and how it ended; an error only
    /// when the server's answers make no sense.
    async fn call(
        &mut self,
        batches: &mut mpsc::Receiver<Batch>,
        file_done: &mut bool,
    ) -> anyhow::Result<(u64, CallEnd)> {
        // Every batch in the channel is also in `pending`, so it never fills.
        let (out, out_rx) = mpsc::channel(IN_FLIGHT);
        for b in &self.pending {
            let _ = out.try_send(b.request.clone());
        }
        let mut sent = self.pending.len();
        let mut out = (!*file_done && sent < self.batches_per_call).then_some(out);
        self.report.calls += 1;
        let mut answers = match self
            .client
            .record_marks_stream(ReceiverStream::new(out_rx))
            .await
        {
            Ok(r) => r.into_inner(),
            Err(status) => return Ok((0, CallEnd::Stopped(status))),
        };
        let mut confirmed = 0;
        loop {
            let may_send = out.is_some() && self.pending.len() < IN_FLIGHT;
            tokio::select! {
                next = batches.recv(), if may_send => match next {
                    Some(b) => {
                        let _ = out.as_ref().expect("open").try_send(b.request.clone());
                        self.pending.push_back(b);
                        sent += 1;
                        if sent >= self.batches_per_call {
                            out = None; // ends the call's request stream
                        }
                    }
                    None => {
                        *file_done = true;
                        out = None;
                    }
                },
                answer = answers.message() => match answer {
                    Ok(Some(answer)) => {
                        self.confirm(answer)?;
                        confirmed += 1;
                    }
                    Ok(None) if out.is_none() && self.pending.is_empty() => {
                        let end = if *file_done { CallEnd::Finished } else { CallEnd::Full };
                        return Ok((confirmed, end));
                    }
                    Ok(None) => {
                        let cut = Status::unavailable("the call ended before every batch was answered");
                        return Ok((confirmed, CallEnd::Stopped(cut)));
                    }
                    Err(status) => return Ok((confirmed, CallEnd::Stopped(status))),
                },
            }
        }
    }

    /// Takes the server's answer for the oldest batch in flight.
    fn confirm(&mut self, answer: pb::RecordMarksStreamResponse) -> anyhow::Result<()> {
        let result = answer.batch_result.unwrap_or_default();
        let Some(batch) = self.pending.front() else {
            bail!("the server answered batch {}, not sent", result.request_id);
        };
        if batch.request.request_id != result.request_id {
            bail!(
                "the server answered batch {} when {} was next",
                result.request_id,
                batch.request.request_id
            );
        }
        self.bar.inc(batch.request.marks.len() as u64);
        self.pending.pop_front();
        let counts = &mut self.report.counts;
        counts.add(MarkCounts {
            inserted: result.inserted,
            replaced: result.replaced,
            unchanged: result.unchanged,
            outdated: result.outdated,
        });
        self.report.batches += 1;
        Ok(())
    }

    /// Sends every batch of `batches`, resuming cut calls; fails on a batch
    /// the server refuses or after too many fruitless attempts.
    async fn send_all(&mut self, mut batches: mpsc::Receiver<Batch>) -> anyhow::Result<()> {
        let (mut file_done, mut fruitless) = (false, 0u32);
        loop {
            let (confirmed, end) = self.call(&mut batches, &mut file_done).await?;
            let status = match end {
                CallEnd::Finished => return Ok(()),
                CallEnd::Full => {
                    fruitless = 0;
                    continue;
                }
                CallEnd::Stopped(status) if resumable(&status) => status,
                CallEnd::Stopped(status) => bail!(explain(&status, &self.pending)),
            };
            fruitless = if confirmed > 0 { 0 } else { fruitless + 1 };
            if fruitless >= MAX_ATTEMPTS_WITHOUT_PROGRESS {
                bail!(
                    "giving up after {MAX_ATTEMPTS_WITHOUT_PROGRESS} calls in a row that \
                     confirmed nothing: {:?}: {}",
                    status.code(),
                    status.message()
                );
            }
            // The server's time limit is a call's ordinary end: carry on at once.
            let time_limit = status
                .get_details_error_info()
                .is_some_and(|i| i.reason == "STREAM_TIME_LIMIT");
            if !(time_limit && confirmed > 0) {
                let wait = backoff(fruitless);
                let from = self.pending.front().map(|b| b.request.request_id.as_str());
                self.bar.suspend(|| {
                    eprintln!(
                        "call cut ({:?}: {}); resuming from batch {} in {:.1} s",
                        status.code(),
                        status.message(),
                        from.unwrap_or("(next)"),
                        wait.as_secs_f64()
                    )
                });
                tokio::time::sleep(wait).await;
            }
            self.report.resumed += 1;
            self.report.resent += self.pending.len() as u64;
        }
    }
}

/// What `import-marks` takes.
#[derive(clap::Args)]
pub struct Args {
    /// The CSV file, or a CTF (XML).
    file: PathBuf,
    #[command(flatten)]
    server: super::connect::ServerArgs,
    /// The authority (LA code) the marks belong to.
    #[arg(long)]
    authority: String,
    /// Marks per RecordMarks message (at most 5,000).
    #[arg(long, default_value_t = 5_000)]
    batch_size: usize,
    /// Batches per call; the server also ends a call at its request
    /// timeout, and the import resumes on a new one.
    #[arg(long, default_value_t = BATCHES_PER_CALL)]
    batches_per_call: usize,
    /// The export's column for each field, `school_urn=URN,upn=UPN,...`
    /// (fields: school_urn, upn, date, session, code, record_time,
    /// start_date, marks); a field not named is read from the column of
    /// its own name.
    #[arg(long)]
    columns: Option<String>,
    /// The school's URN for a file with no school_urn column (or a CTF
    /// whose header names none).
    #[arg(long)]
    school_urn: Option<String>,
    /// When the school recorded the marks (RFC 3339, or UK local time
    /// `YYYY-MM-DD HH:MM`), for a file with no record_time column; a CTF's
    /// header DateTime otherwise.
    #[arg(long)]
    recorded_at: Option<String>,
    /// The days a mark string's pairs (AM, PM) stand for: weekdays
    /// (Monday to Friday) or all (every calendar day).
    #[arg(long, value_enum, default_value_t = MarkDays::Weekdays)]
    mark_days: MarkDays,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let telemetry = super::connect::start_telemetry(None)?;

    let layout = layout::Layout {
        columns: match &args.columns {
            Some(spec) => layout::parse_columns(spec)?,
            None => Default::default(),
        },
        school_urn: args.school_urn.clone(),
        recorded_at: args
            .recorded_at
            .as_deref()
            .map(layout::parse_record_time)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--recorded-at: {e}"))?,
        mark_days: args.mark_days,
    };
    let started = std::time::Instant::now();
    let report = import_marks(ImportOptions {
        file: args.file.clone(),
        server: args.server.server.clone(),
        authority: args.authority.clone(),
        token: args.server.token.clone(),
        batch_size: args.batch_size,
        batches_per_call: args.batches_per_call,
        ca_file: args.server.ca_file.clone(),
        progress: std::io::stderr().is_terminal(),
        layout,
    })
    .await?;
    let c = &report.counts;
    println!(
        "{} marks in {} batches: {} inserted, {} replaced, {} unchanged, {} outdated ({:.1} s, {} calls)",
        c.total(),
        report.batches,
        c.inserted,
        c.replaced,
        c.unchanged,
        c.outdated,
        started.elapsed().as_secs_f64(),
        report.calls
    );
    if report.resumed > 0 {
        println!(
            "{} cut calls resumed; {} unconfirmed batches sent again (none applied twice)",
            report.resumed, report.resent
        );
    }
    telemetry.shutdown().await;
    Ok(())
}

/// A client of `options.server` that sends the bearer token.
async fn connect(options: &ImportOptions) -> anyhow::Result<Client> {
    let channel = super::connect::channel(&options.server, options.ca_file.as_deref()).await?;
    Ok(
        AttendanceServiceClient::with_interceptor(channel, Bearer::new(&options.token)?)
            .max_encoding_message_size(usize::MAX),
    )
}

/// Runs the import; what the server reported and how many calls it took.
pub async fn import_marks(options: ImportOptions) -> anyhow::Result<ImportReport> {
    if !(1..=MAX_MARKS_PER_BATCH).contains(&options.batch_size) {
        bail!("--batch-size must be between 1 and {MAX_MARKS_PER_BATCH}");
    }
    // Pass 1: every row well formed, and how many there are.
    let rows = read_batches(
        &options.file,
        &options.layout,
        options.batch_size,
        |_, _, _| Ok(()),
    )?;
    if rows == 0 {
        bail!("{} has no marks", options.file.display());
    }
    let client = connect(&options).await?;
    let bar = if options.progress {
        ProgressBar::new(rows).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} marks ({per_sec}, {eta} left)")
                .expect("a valid template"),
        )
    } else {
        ProgressBar::hidden()
    };
    // Pass 2: read a few batches ahead of the sender.
    let (tx, rx) = mpsc::channel::<Batch>(IN_FLIGHT);
    let (file, size, authority, layout) = (
        options.file.clone(),
        options.batch_size,
        options.authority.clone(),
        options.layout.clone(),
    );
    let reader = tokio::task::spawn_blocking(move || {
        read_batches(&file, &layout, size, |marks, origins, sen_statuses| {
            let request = pb::RecordMarksStreamRequest {
                parent: format!("authorities/{authority}"),
                request_id: batch_request_id(&authority, &marks, &sen_statuses),
                marks,
                sen_statuses,
            };
            // A closed channel means the sender stopped (an error): stop reading.
            tx.blocking_send(Batch { request, origins })
                .map_err(|_| anyhow::anyhow!("the import stopped"))
        })
    });
    let mut sender = Sender {
        client,
        batches_per_call: options.batches_per_call.max(1),
        pending: VecDeque::new(),
        report: ImportReport::default(),
        bar: bar.clone(),
    };
    let sent = sender.send_all(rx).await;
    bar.finish_and_clear();
    let read = reader.await.context("the file reader")?;
    sent?;
    read?;
    Ok(sender.report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::ErrorDetails;

    #[test]
    fn calls_cut_on_the_way_are_resumed_and_refused_batches_are_not() {
        let batch_error = |code| {
            let details = ErrorDetails::with_error_info(
                "BATCH_NOT_COMMITTED",
                ERROR_DOMAIN,
                std::collections::HashMap::new(),
            );
            Status::with_error_details(code, "batch b: ...", details)
        };
        for code in [
            Code::Unavailable,
            Code::Cancelled,
            Code::Unknown,
            Code::Internal,
        ] {
            assert!(resumable(&Status::new(code, "transport")), "{code:?}");
        }
        assert!(
            resumable(&batch_error(Code::Unavailable)),
            "the server was away"
        );
        for code in [Code::Internal, Code::InvalidArgument, Code::AlreadyExists] {
            assert!(!resumable(&batch_error(code)), "{code:?}");
        }
        assert!(!resumable(&Status::permission_denied("not yours")));
        assert!(!resumable(&Status::unauthenticated("expired")));
    }
}
