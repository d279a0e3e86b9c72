//! `lea-notices import-payments`: records a payment provider's daily export
//! (CSV) over PaymentService, as a client of a running server.
//!
//! Each line is a payment keyed by the provider's transaction id, which is the
//! payment's provider payment id and so RecordPayment's idempotency key: a
//! payment already recorded (an export imported twice, a line repeated, an
//! import run again after it stopped) is reported as such and not recorded
//! again.
//!
//! A line's references are read for the authority's notice numbers
//! (`850-2025-000123`, or a notice's resource name), in the order its reference
//! columns are named and, within a column, as written. The amount is split over
//! those notices in that order, each given what is due on it on the day paid
//! (GetAmountDue) until the money runs out ([`format::split`]); money left goes
//! to the first notice quoted that cannot be paid (paid, withdrawn, in
//! prosecution: money sent for a notice stays with it), and what is still left
//! (more than was due, references naming no notice) is recorded unallocated, in
//! suspense, for the finance team to match or refund. Money is never refused
//! for its reference.
//!
//! A line that cannot be read (or that the server refuses) is reported with its
//! line and column and the import goes on; the summary counts each outcome, and
//! the command exits with an error if any line was refused. Calls the server
//! cannot answer (UNAVAILABLE, shed) are made again as `import-marks` does.
//! The file's formats are in [`format`] and `docs/payment-files.md`.

pub mod format;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressStyle};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

use self::format::{Due, Format, Headers, Layout, Line, Row, Times, pounds, split};
use super::connect::{Bearer, retrying};
use crate::api::convert::date_to_proto;
use crate::api::convert::timestamp_to_proto;
use crate::domain::identifiers::LaCode;
use crate::domain::names;
use crate::domain::payment::notice_numbers_in;
use crate::proto::v1::{self as pb, payment_service_client::PaymentServiceClient};

/// What to import and where.
#[derive(Debug, Clone)]
pub struct PaymentImportOptions {
    pub file: PathBuf,
    /// `http://host:port` or `https://host:port`.
    pub server: String,
    /// The authority's LA code.
    pub authority: String,
    /// A bearer token of a role that may record and read payments (finance).
    pub token: String,
    /// CA certificate (PEM) to trust for an `https` server.
    pub ca_file: Option<PathBuf>,
    /// Show a progress bar (off when stderr is not a terminal).
    pub progress: bool,
    /// How to read the export.
    pub layout: Layout,
    /// The provider named on each payment (`govuk-pay`, `civica`, ...).
    pub provider: String,
    /// How the payments were made.
    pub channel: pb::PaymentChannel,
}

/// What an import did, line by line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentImportReport {
    /// Lines read after the header (blank lines not counted).
    pub lines: u64,
    /// Payments recorded whose whole amount went to the notices quoted.
    pub matched: u64,
    /// Payments recorded with part of the amount on notices, the rest unallocated.
    pub part_matched: u64,
    /// Payments recorded with nothing allocated: all of it in suspense.
    pub to_suspense: u64,
    /// Payments recorded before (by an earlier import, or earlier in this file).
    pub already_recorded: u64,
    /// Lines that are not completed payments (declined, refunds, ...).
    pub skipped: u64,
    /// Lines refused, each with its line and column.
    pub refused: Vec<String>,
    /// Why a payment went to suspense or was part-matched, why a line was skipped.
    pub notes: Vec<String>,
    /// Money recorded by this import, in pence.
    pub recorded_pence: i64,
    /// Calls made again because the server was away.
    pub retries: u64,
}

impl PaymentImportReport {
    /// The summary line `run` prints.
    pub fn summary(&self) -> String {
        format!(
            "{} lines: {} matched, {} part-matched, {} to suspense, {} already recorded, \
             {} skipped (not completed payments), {} refused; {} recorded",
            self.lines,
            self.matched,
            self.part_matched,
            self.to_suspense,
            self.already_recorded,
            self.skipped,
            self.refused.len(),
            pounds(self.recorded_pence)
        )
    }
}

type Client = PaymentServiceClient<InterceptedService<Channel, Bearer>>;

/// How a payment's line turned out.
enum Outcome {
    Recorded(Box<pb::Payment>),
    AlreadyRecorded,
    Refused(String),
}

/// The importer at work: the client, what is known of the authority's
/// payments, and the report so far.
struct Importer {
    client: Client,
    authority: LaCode,
    options: PaymentImportOptions,
    headers: Headers,
    /// The payments recorded on each paid date, by provider payment id, read
    /// once a line of that date comes up (and kept up to date as lines are
    /// recorded).
    known: HashMap<NaiveDate, HashMap<String, pb::Payment>>,
    /// Where in this file each transaction id was first recorded.
    first_line: HashMap<String, u64>,
    report: PaymentImportReport,
    bar: ProgressBar,
}

impl Importer {
    /// Calls the server, again while it is away; counts the calls made again.
    async fn call<T, F, Fut>(&mut self, call: F) -> Result<T, Status>
    where
        F: FnMut(Client) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<T>, Status>>,
    {
        let (client, bar) = (self.client.clone(), self.bar.clone());
        let mut call = call;
        let mut retries = 0;
        let answer = retrying(
            || call(client.clone()),
            |status: &Status, wait: Duration| {
                retries += 1;
                bar.suspend(|| {
                    eprintln!(
                        "the server did not answer ({:?}: {}); calling again in {:.1} s",
                        status.code(),
                        status.message(),
                        wait.as_secs_f64()
                    )
                });
            },
        )
        .await;
        self.report.retries += retries;
        answer.map(tonic::Response::into_inner)
    }

    fn note(&mut self, note: String) {
        self.bar.suspend(|| eprintln!("{note}"));
        self.report.notes.push(note);
    }

    fn refuse(&mut self, message: String) {
        self.bar.suspend(|| eprintln!("{message}"));
        self.report.refused.push(message);
    }

    /// The payments recorded on `date`, by provider payment id.
    async fn known_on(
        &mut self,
        date: NaiveDate,
    ) -> anyhow::Result<&mut HashMap<String, pb::Payment>> {
        if !self.known.contains_key(&date) {
            let mut found = HashMap::new();
            let mut page_token = String::new();
            loop {
                let request = pb::ListPaymentsRequest {
                    parent: format!("authorities/{}", self.authority),
                    paid_from: Some(date_to_proto(date)),
                    paid_to: Some(date_to_proto(date)),
                    page_size: 500,
                    page_token: page_token.clone(),
                    ..Default::default()
                };
                let page = self
                    .call(|mut c| {
                        let request = request.clone();
                        async move { c.list_payments(request).await }
                    })
                    .await
                    .map_err(|s| stopped("listing the payments already recorded", &s))?;
                for p in page.payments {
                    found.insert(p.provider_payment_id.clone(), p);
                }
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            self.known.insert(date, found);
        }
        Ok(self.known.get_mut(&date).expect("just read"))
    }

    /// What is due on each notice `row` quotes, in the order quoted, and why
    /// any reference matched nothing payable.
    async fn dues(&mut self, row: &Row) -> anyhow::Result<(Vec<(String, Due)>, Vec<String>)> {
        let (mut dues, mut why) = (Vec::new(), Vec::new());
        let mut seen = BTreeSet::new();
        for quoted in &row.references {
            let numbers = notice_numbers_in(&quoted.text, self.authority.as_str());
            if numbers.is_empty() {
                why.push(format!(
                    "the reference in column '{}' quotes no notice number of authority {}",
                    quoted.column, self.authority
                ));
            }
            for number in numbers {
                if !seen.insert(number.clone()) {
                    continue;
                }
                let name = names::notice_name(&self.authority, &number);
                let request = pb::GetAmountDueRequest {
                    name: name.clone(),
                    date: Some(date_to_proto(row.paid.date)),
                };
                let due = match self
                    .call(|mut c| {
                        let request = request.clone();
                        async move { c.get_amount_due(request).await }
                    })
                    .await
                {
                    Ok(due) if due.payable => Due::Payable(due.amount_due_pence),
                    Ok(due) => Due::NotPayable(due.not_payable_reason),
                    Err(s) if s.code() == Code::NotFound => {
                        why.push(format!("notice {number} does not exist"));
                        Due::Unknown
                    }
                    Err(s) => {
                        return Err(stopped(
                            &format!("line {}: what is due on {name}", row.line),
                            &s,
                        ));
                    }
                };
                dues.push((name, due));
            }
        }
        if row.references.is_empty() {
            why.push("the line quotes no reference".into());
        }
        Ok((dues, why))
    }

    /// Records one payment's line.
    async fn payment(&mut self, row: Row) -> anyhow::Result<()> {
        let id = row.transaction_id.clone();
        let headers = self.headers.clone();
        if let Some(before) = self.known_on(row.paid.date).await?.get(&id).cloned() {
            let first = self.first_line.get(&id).copied();
            return self.outcome(
                &row,
                already(&before, &row, first, &headers),
                vec![],
                vec![],
            );
        }
        let (dues, mut why) = self.dues(&row).await?;
        let allocations = split(row.amount_pence, &dues);
        // Money given to a notice that cannot be paid is named even when the
        // whole amount is matched.
        let mut closed = Vec::new();
        for (notice, due) in &dues {
            if let Due::NotPayable(reason) = due {
                let given = allocations.iter().find(|(n, _)| n == notice);
                closed.push(match given {
                    Some((_, amount)) => format!(
                        "{} to {notice}, not payable on {} ({reason}): there for the finance team to refund or review",
                        pounds(*amount),
                        row.paid.date
                    ),
                    None => format!("{notice} is not payable on {} ({reason})", row.paid.date),
                });
            }
        }
        why.extend(closed.iter().cloned());
        let reference = row
            .references
            .iter()
            .map(|q| q.text.as_str())
            .collect::<Vec<_>>()
            .join(" / ");
        let request = pb::RecordPaymentRequest {
            parent: format!("authorities/{}", self.authority),
            payment: Some(pb::Payment {
                amount_pence: row.amount_pence,
                paid_date: Some(date_to_proto(row.paid.date)),
                receive_time: Some(timestamp_to_proto(row.paid.at)),
                channel: self.options.channel as i32,
                provider: self.options.provider.clone(),
                provider_payment_id: id.clone(),
                payer_reference: reference,
                payer_name: row.payer_name.clone(),
                allocations: allocations
                    .iter()
                    .map(|(notice, amount)| pb::Allocation {
                        notice: notice.clone(),
                        amount_pence: *amount,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }),
        };
        let answer = self
            .call(|mut c| {
                let request = request.clone();
                async move { c.record_payment(request).await }
            })
            .await;
        let outcome = match answer {
            Ok(r) => Outcome::Recorded(Box::new(r.payment.unwrap_or_default())),
            Err(s) => match refused(&s, row.line, &id, &headers) {
                Some(message) => Outcome::Refused(message),
                None => {
                    return Err(stopped(
                        &format!("line {}: recording the payment", row.line),
                        &s,
                    ));
                }
            },
        };
        self.outcome(&row, outcome, why, closed)
    }

    /// Counts and notes how a payment's line turned out: `why` it was not
    /// all matched, and what went to notices that cannot be paid (`closed`).
    fn outcome(
        &mut self,
        row: &Row,
        outcome: Outcome,
        why: Vec<String>,
        closed: Vec<String>,
    ) -> anyhow::Result<()> {
        let line = row.line;
        match outcome {
            Outcome::AlreadyRecorded => self.report.already_recorded += 1,
            Outcome::Refused(message) => self.refuse(message),
            Outcome::Recorded(payment) => {
                self.report.recorded_pence = self
                    .report
                    .recorded_pence
                    .checked_add(payment.amount_pence)
                    .ok_or_else(|| {
                        anyhow::anyhow!("the file's payments overflow a total in pence")
                    })?;
                let unallocated = payment.unallocated_pence;
                let because = if why.is_empty() {
                    "more than was due on the notices quoted".to_string()
                } else {
                    why.join("; ")
                };
                if unallocated == 0 {
                    self.report.matched += 1;
                    if !closed.is_empty() {
                        self.note(format!(
                            "line {line}: matched ({}): {}",
                            payment.name,
                            closed.join("; ")
                        ));
                    }
                } else if payment.allocated_pence == 0 {
                    self.report.to_suspense += 1;
                    self.note(format!(
                        "line {line}: {} to suspense ({}): {because}",
                        pounds(payment.amount_pence),
                        payment.name
                    ));
                } else {
                    self.report.part_matched += 1;
                    self.note(format!(
                        "line {line}: part-matched, {} of {} unallocated ({}): {because}",
                        pounds(unallocated),
                        pounds(payment.amount_pence),
                        payment.name
                    ));
                }
                self.first_line.insert(row.transaction_id.clone(), line);
                self.known
                    .entry(row.paid.date)
                    .or_default()
                    .insert(row.transaction_id.clone(), *payment);
            }
        }
        Ok(())
    }
}

/// A line whose transaction id is recorded already: the same payment (the
/// same amount on the same day), or a refusal naming the one recorded.
fn already(before: &pb::Payment, row: &Row, first: Option<u64>, headers: &Headers) -> Outcome {
    let same_day = before.paid_date == Some(date_to_proto(row.paid.date));
    if before.amount_pence == row.amount_pence && same_day {
        return Outcome::AlreadyRecorded;
    }
    let earlier = first.map_or(String::new(), |l| format!(" from line {l}"));
    Outcome::Refused(format!(
        "line {}, column '{}': transaction '{}' is already recorded{earlier} as {} with {} paid on {}, not {} on {}",
        row.line,
        headers.transaction_id,
        row.transaction_id,
        before.name,
        pounds(before.amount_pence),
        before.paid_date.map_or("?".into(), |d| format!(
            "{:04}-{:02}-{:02}",
            d.year, d.month, d.day
        )),
        pounds(row.amount_pence),
        row.paid.date
    ))
}

/// A line the server refused, as a message naming its line and the column
/// each refused field came from; `None` when the answer is not about the line
/// (the server away, the token refused): the import cannot go on.
fn refused(status: &Status, line: u64, id: &str, headers: &Headers) -> Option<String> {
    match status.code() {
        Code::AlreadyExists => {
            let payment = status
                .get_details_error_info()
                .and_then(|i| i.metadata.get("payment").cloned())
                .unwrap_or_default();
            Some(format!(
                "line {line}, column '{}': transaction '{id}' is already recorded as {payment} with other details",
                headers.transaction_id
            ))
        }
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            let bad = status.get_details_bad_request();
            let violations: Vec<String> = bad
                .map(|b| b.field_violations)
                .unwrap_or_default()
                .into_iter()
                .map(|v| {
                    let column = match v.field.as_str() {
                        "payment.amount_pence" => Some(&headers.amount),
                        "payment.paid_date" | "payment.receive_time" => Some(&headers.paid_date),
                        "payment.provider_payment_id" => Some(&headers.transaction_id),
                        _ => None,
                    };
                    match column {
                        Some(c) => format!("column '{c}': {}", v.description),
                        None => format!("{}: {}", v.field, v.description),
                    }
                })
                .collect();
            let what = if violations.is_empty() {
                format!("{:?}: {}", status.code(), status.message())
            } else {
                violations.join("; ")
            };
            Some(format!("line {line}: the server refused it: {what}"))
        }
        _ => None,
    }
}

/// The import stopped on a call the server did not answer.
fn stopped(what: &str, status: &Status) -> anyhow::Error {
    anyhow::anyhow!(
        "{what}: {:?}: {}; the import stopped here (the lines before it are recorded: run the same file again to go on)",
        status.code(),
        status.message()
    )
}

/// Reads the export and records its payments; refused lines are in the
/// report. An error only when the file cannot be read as an export, or the
/// server cannot be reached or refuses the caller.
pub async fn import_payments(options: PaymentImportOptions) -> anyhow::Result<PaymentImportReport> {
    let authority = LaCode::parse(&options.authority)
        .map_err(|e| anyhow::anyhow!("--authority '{}': {e:?}", options.authority))?;
    if options.provider.trim().is_empty() {
        bail!("--provider names no provider");
    }
    let file = options.file.display().to_string();
    let bytes = std::fs::read(&options.file).with_context(|| format!("reading {file}"))?;
    let text = super::columns::decode_text(&bytes);
    let (headers, lines) = format::read_lines(&text, &file, &options.layout)?;

    let channel = super::connect::channel(&options.server, options.ca_file.as_deref()).await?;
    let client = PaymentServiceClient::with_interceptor(channel, Bearer::new(&options.token)?);
    let bar = if options.progress {
        ProgressBar::new(lines.len() as u64).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} lines ({eta} left)")
                .expect("a valid template"),
        )
    } else {
        ProgressBar::hidden()
    };
    let mut importer = Importer {
        client,
        authority,
        options,
        headers,
        known: HashMap::new(),
        first_line: HashMap::new(),
        report: PaymentImportReport {
            lines: lines.len() as u64,
            ..Default::default()
        },
        bar: bar.clone(),
    };
    let mut done = Ok(());
    for line in lines {
        let result = match line {
            Line::Payment(row) => importer.payment(row).await,
            Line::Skipped { line, why } => {
                importer.report.skipped += 1;
                importer.note(format!("line {line}: skipped: {why}"));
                Ok(())
            }
            Line::Refused { message, .. } => {
                importer.refuse(message);
                Ok(())
            }
        };
        if let Err(e) = result {
            done = Err(e);
            break;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    done.map(|()| importer.report)
}

/// What `import-payments` takes.
#[derive(clap::Args)]
pub struct Args {
    /// The provider's export (CSV with a header row).
    file: PathBuf,
    #[command(flatten)]
    server: super::connect::ServerArgs,
    /// The authority (LA code) the payments are to.
    #[arg(long)]
    authority: String,
    /// The export's layout: generic (columns named as the fields), or a
    /// provider's own.
    #[arg(long, value_enum, default_value_t = Format::Generic)]
    format: Format,
    /// The export's column for each field, `transaction_id=TxnRef,amount=Amount,
    /// paid_date=Date,reference=Ref1,reference=Ref2` (fields: transaction_id,
    /// amount, amount_pence, paid_date, paid_time, reference, payer_name,
    /// status, currency; reference may name several columns). A field not
    /// named is read from the format's column, or the column of its own name.
    #[arg(long)]
    columns: Option<String>,
    /// The provider named on the payments (required with the generic format).
    #[arg(long)]
    provider: Option<String>,
    /// How the payments were made.
    #[arg(long, value_enum, default_value_t = PaymentChannelArg::Online)]
    channel: PaymentChannelArg,
    /// How times with no offset are read (the format's own by default: UK
    /// time for generic, UTC for govuk-pay and stripe).
    #[arg(long, value_enum)]
    times: Option<Times>,
    /// The statuses that mean a completed payment, comma-separated, where the
    /// export has a status column (the format's own by default).
    #[arg(long)]
    paid_status: Option<String>,
}

/// `--channel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PaymentChannelArg {
    Online,
    Phone,
    Post,
    InPerson,
}

impl From<PaymentChannelArg> for pb::PaymentChannel {
    fn from(c: PaymentChannelArg) -> Self {
        match c {
            PaymentChannelArg::Online => pb::PaymentChannel::Online,
            PaymentChannelArg::Phone => pb::PaymentChannel::Phone,
            PaymentChannelArg::Post => pb::PaymentChannel::Post,
            PaymentChannelArg::InPerson => pb::PaymentChannel::InPerson,
        }
    }
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let telemetry = super::connect::start_telemetry(None)?;
    let layout = Layout::new(
        args.format,
        args.columns.as_deref(),
        args.times,
        args.paid_status.as_deref(),
    )?;
    let provider = match (&args.provider, args.format.provider()) {
        (Some(p), _) => p.clone(),
        (None, Some(p)) => p.to_string(),
        (None, None) => bail!(
            "--provider names the payment provider (for example civica, pay360), required with --format generic"
        ),
    };
    let report = import_payments(PaymentImportOptions {
        file: args.file.clone(),
        server: args.server.server.clone(),
        authority: args.authority.clone(),
        token: args.server.token.clone(),
        ca_file: args.server.ca_file.clone(),
        progress: std::io::stderr().is_terminal(),
        layout,
        provider,
        channel: args.channel.into(),
    })
    .await;
    telemetry.shutdown().await;
    let report = report?;
    println!("{}", report.summary());
    if report.retries > 0 {
        println!(
            "{} calls made again while the server was away",
            report.retries
        );
    }
    let refused = report.refused.len();
    if refused > 0 {
        bail!(
            "{refused} line{} refused (listed above): correct {} and import the file again; \
             the payments recorded are not recorded twice",
            if refused == 1 { "" } else { "s" },
            if refused == 1 { "it" } else { "them" }
        );
    }
    Ok(())
}
