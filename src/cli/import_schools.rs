//! `lea-notices import-schools`: loads the DfE's "Get Information About
//! Schools" all-establishments file (`edubasealldata<date>.csv`) into an
//! authority's school register over SchoolService.ImportSchools.
//!
//! The file is Windows-1252 as GIAS publishes it, or UTF-8 (with or without a
//! byte-order mark) or UTF-16 (with its mark) as a spreadsheet may save it
//! (`columns::decode_text`); it has a header row of about 140 columns and one row per establishment
//! (about 50,000 nationally). Only these columns are read, by name:
//! `URN`, `LA (code)`, `EstablishmentNumber`, `EstablishmentName`,
//! `TypeOfEstablishment (name)`, `EstablishmentStatus (name)`,
//! `PhaseOfEducation (name)`, `OpenDate`, `CloseDate` (DD-MM-YYYY), `Street`,
//! `Locality`, `Address3`, `Town`, `County (name)` and `Postcode`.
//!
//! Only the authority's own establishments (`LA (code)`) are sent unless
//! `all_authorities` is set. Every row is checked before anything is sent (a
//! bad row stops the import naming its line). A batch sent again after a lost
//! answer keeps its request id, so it is not applied twice; loading the same
//! file again finds every school unchanged.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use prost::Message;
use sha2::{Digest, Sha256};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::connect::Bearer;

use crate::api::convert::date_to_proto;
use crate::domain::identifiers::{LaCode, Urn};
use crate::domain::school::{Phase, SchoolStatus, parse_gias_date};
use crate::proto::v1::{self as pb, school_service_client::SchoolServiceClient};

/// Schools per ImportSchools request.
pub const SCHOOLS_PER_BATCH: usize = 500;
/// Attempts of one batch while the server is unavailable or busy.
const ATTEMPTS: u32 = 6;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// The GIAS columns read, by their header names.
mod column {
    pub const URN: &str = "URN";
    pub const LA_CODE: &str = "LA (code)";
    pub const NUMBER: &str = "EstablishmentNumber";
    pub const NAME: &str = "EstablishmentName";
    pub const TYPE: &str = "TypeOfEstablishment (name)";
    pub const STATUS: &str = "EstablishmentStatus (name)";
    pub const PHASE: &str = "PhaseOfEducation (name)";
    pub const OPEN_DATE: &str = "OpenDate";
    pub const CLOSE_DATE: &str = "CloseDate";
    /// The address lines, in order.
    pub const ADDRESS: [&str; 5] = ["Street", "Locality", "Address3", "Town", "County (name)"];
    pub const POSTCODE: &str = "Postcode";
}

/// What to import and where.
#[derive(Debug, Clone)]
pub struct SchoolImportOptions {
    pub file: PathBuf,
    /// `http://host:port` or `https://host:port`.
    pub server: String,
    /// The authority whose register it is (LA code).
    pub authority: String,
    /// Also load other authorities' establishments (for example schools over
    /// the border that the authority's pupils attend).
    pub all_authorities: bool,
    /// A bearer token of a role that may import schools.
    pub token: String,
    /// CA certificate (PEM) to trust for an `https` server.
    pub ca_file: Option<PathBuf>,
    /// Show a progress bar (off when stderr is not a terminal).
    pub progress: bool,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchoolImportReport {
    /// Establishment rows in the file.
    pub rows: u64,
    /// Rows of other authorities, not sent.
    pub skipped_other_authorities: u64,
    pub added: i64,
    pub changed: i64,
    pub unchanged: i64,
    /// ImportSchools requests sent (retries included).
    pub calls: u64,
}

/// Decodes the file: UTF-16 or UTF-8 by its byte-order mark, UTF-8 when its
/// bytes are, else Windows-1252 as GIAS publishes it (a UTF-8 file without a
/// mark read as Windows-1252 would store "St Maryâ€™s").
pub fn decode(bytes: &[u8]) -> String {
    super::columns::decode_text(bytes)
}

/// The positions of the columns read, or the ones missing.
struct Columns {
    urn: usize,
    la_code: usize,
    number: usize,
    name: usize,
    kind: usize,
    status: usize,
    phase: usize,
    open_date: usize,
    close_date: usize,
    address: [usize; 5],
    postcode: usize,
}

impl Columns {
    fn find(headers: &csv::StringRecord) -> anyhow::Result<Self> {
        let mut missing = Vec::new();
        let mut at = |name: &'static str| {
            headers.iter().position(|h| h == name).unwrap_or_else(|| {
                missing.push(name);
                0
            })
        };
        let columns = Columns {
            urn: at(column::URN),
            la_code: at(column::LA_CODE),
            number: at(column::NUMBER),
            name: at(column::NAME),
            kind: at(column::TYPE),
            status: at(column::STATUS),
            phase: at(column::PHASE),
            open_date: at(column::OPEN_DATE),
            close_date: at(column::CLOSE_DATE),
            address: column::ADDRESS.map(&mut at),
            postcode: at(column::POSTCODE),
        };
        if !missing.is_empty() {
            bail!(
                "not a GIAS establishments file: no column {}",
                missing.join(", ")
            );
        }
        Ok(columns)
    }

    /// One row as a school, or why it is not one.
    fn school(&self, row: &csv::StringRecord) -> Result<pb::School, String> {
        let field = |i: usize| row.get(i).unwrap_or("").trim();
        let urn = Urn::parse(field(self.urn))?;
        let la_code = LaCode::parse(field(self.la_code))?;
        let name = field(self.name);
        if name.is_empty() {
            return Err(format!("URN {urn} has no EstablishmentName"));
        }
        let status = SchoolStatus::from_gias(field(self.status)).ok_or_else(|| {
            format!(
                "URN {urn}: EstablishmentStatus '{}' is not one GIAS uses",
                field(self.status)
            )
        })?;
        let date = |i: usize, what: &str| {
            parse_gias_date(field(i)).map_err(|e| format!("URN {urn}: {what} {e}"))
        };
        let open_date = date(self.open_date, "OpenDate")?;
        let close_date = date(self.close_date, "CloseDate")?;
        Ok(pb::School {
            name: String::new(),
            urn: urn.to_string(),
            la_code: la_code.to_string(),
            establishment_number: field(self.number).to_string(),
            establishment_name: name.to_string(),
            address: Some(pb::PostalAddress {
                lines: self
                    .address
                    .iter()
                    .map(|&i| field(i))
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect(),
                postcode: field(self.postcode).to_string(),
            }),
            phase: crate::api::convert::school::phase_to_proto(Phase::from_gias(field(self.phase)))
                as i32,
            establishment_type: field(self.kind).to_string(),
            status: match status {
                SchoolStatus::Open => pb::SchoolStatus::Open,
                SchoolStatus::Closed => pb::SchoolStatus::Closed,
                SchoolStatus::Proposed => pb::SchoolStatus::Proposed,
            } as i32,
            open_date: open_date.map(date_to_proto),
            close_date: close_date.map(date_to_proto),
            version: 0,
        })
    }
}

/// The schools of `text` to send, and how many rows there were and were
/// skipped as other authorities' (also the fuzz targets' entry, see `fuzz/`).
pub fn read_schools(
    text: &str,
    authority: &LaCode,
    all_authorities: bool,
) -> anyhow::Result<(Vec<pb::School>, u64, u64)> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader.headers().context("reading the header")?.clone();
    let columns = Columns::find(&headers)?;
    let (mut schools, mut rows, mut skipped) = (Vec::new(), 0, 0);
    let mut seen = BTreeSet::new();
    let mut record = csv::StringRecord::new();
    // The reader's own line numbers are one short for CRLF files.
    let mut lines = super::columns::LineCounter::new(text);
    loop {
        let more = reader.read_record(&mut record).map_err(|e| {
            let line = e.position().map_or(0, |p| lines.line_at(p.byte()));
            anyhow::anyhow!("line {line}: {e}")
        })?;
        if !more {
            break;
        }
        rows += 1;
        let line = record.position().map_or(0, |p| lines.line_at(p.byte()));
        // Other authorities' rows are skipped unread: a problem in one of them
        // is not this authority's to fix.
        if !all_authorities
            && record.get(columns.la_code).map(str::trim) != Some(authority.as_str())
        {
            skipped += 1;
            continue;
        }
        let school = columns
            .school(&record)
            .map_err(|e| anyhow::anyhow!("line {line}: {e}"))?;
        if !seen.insert(school.urn.clone()) {
            bail!("line {line}: URN {} appears more than once", school.urn);
        }
        schools.push(school);
    }
    Ok((schools, rows, skipped))
}

/// A batch's request id: the run's and a hash of the batch. A retry within the
/// run is recognised by it; a later run of the same file is a new request,
/// which the register answers "unchanged" school by school.
fn batch_request_id(run: &str, authority: &LaCode, schools: &[pb::School]) -> String {
    let mut hash = Sha256::new();
    hash.update(authority.as_str().as_bytes());
    for s in schools {
        hash.update(s.encode_to_vec());
    }
    format!(
        "import-schools-{run}-{}",
        hex::encode(&hash.finalize()[..12])
    )
}

type Client = SchoolServiceClient<InterceptedService<Channel, Bearer>>;

/// What `import-schools` takes.
#[derive(clap::Args)]
pub struct Args {
    /// The CSV file.
    file: PathBuf,
    /// The authority (LA code) whose register it is.
    #[arg(long)]
    authority: String,
    /// Also load other authorities' establishments (by default only those
    /// whose "LA (code)" is the authority's).
    #[arg(long)]
    all_authorities: bool,
    #[command(flatten)]
    server: super::connect::ServerArgs,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let telemetry = super::connect::start_telemetry(None)?;
    let report = import_schools(SchoolImportOptions {
        file: args.file.clone(),
        server: args.server.server.clone(),
        authority: args.authority.clone(),
        all_authorities: args.all_authorities,
        token: args.server.token.clone(),
        ca_file: args.server.ca_file.clone(),
        progress: std::io::stderr().is_terminal(),
    })
    .await?;
    println!(
        "{} establishments read: {} added, {} changed, {} unchanged, {} of other authorities skipped ({} calls)",
        report.rows,
        report.added,
        report.changed,
        report.unchanged,
        report.skipped_other_authorities,
        report.calls
    );
    telemetry.shutdown().await;
    Ok(())
}

async fn connect(options: &SchoolImportOptions) -> anyhow::Result<Client> {
    let channel = super::connect::channel(&options.server, options.ca_file.as_deref()).await?;
    Ok(SchoolServiceClient::with_interceptor(
        channel,
        Bearer::new(&options.token)?,
    ))
}

/// Runs the import: reads and checks the whole file, then sends it in batches.
pub async fn import_schools(options: SchoolImportOptions) -> anyhow::Result<SchoolImportReport> {
    let authority = LaCode::parse(&options.authority).map_err(anyhow::Error::msg)?;
    let bytes = std::fs::read(&options.file)
        .with_context(|| format!("reading {}", options.file.display()))?;
    let text = decode(&bytes);
    let (schools, rows, skipped) = read_schools(&text, &authority, options.all_authorities)
        .with_context(|| options.file.display().to_string())?;
    let mut report = SchoolImportReport {
        rows,
        skipped_other_authorities: skipped,
        ..Default::default()
    };
    if schools.is_empty() {
        return Ok(report);
    }
    // In URN order, so each batch covers a narrow range of the register.
    let mut schools = schools;
    schools.sort_by(|a, b| a.urn.cmp(&b.urn));
    let mut client = connect(&options).await?;
    let bar = if options.progress {
        ProgressBar::new(schools.len() as u64).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} schools ({eta} left)")
                .expect("a valid template"),
        )
    } else {
        ProgressBar::hidden()
    };
    let parent = format!("authorities/{authority}");
    let mut run = [0u8; 8];
    getrandom::fill(&mut run).context("choosing the run's request ids")?;
    let run = hex::encode(run);
    for batch in schools.chunks(SCHOOLS_PER_BATCH) {
        let request = pb::ImportSchoolsRequest {
            parent: parent.clone(),
            request_id: batch_request_id(&run, &authority, batch),
            schools: batch.to_vec(),
        };
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        let answer = loop {
            report.calls += 1;
            match client.import_schools(request.clone()).await {
                Ok(answer) => break answer.into_inner(),
                // Safe to send again: the request id makes a retry change nothing.
                Err(status)
                    if attempt < ATTEMPTS
                        && matches!(
                            status.code(),
                            Code::Unavailable | Code::ResourceExhausted | Code::Cancelled
                        ) =>
                {
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    attempt += 1;
                }
                Err(status) => {
                    bar.abandon();
                    bail!(
                        "the server refused the schools from URN {} ({}): {}",
                        batch[0].urn,
                        status.code(),
                        status.message()
                    );
                }
            }
        };
        report.added += answer.added;
        report.changed += answer.changed;
        report.unchanged += answer.unchanged;
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "URN,LA (code),LA (name),EstablishmentNumber,EstablishmentName,\
        TypeOfEstablishment (name),EstablishmentStatus (name),PhaseOfEducation (name),OpenDate,\
        CloseDate,Street,Locality,Address3,Town,County (name),Postcode";

    #[test]
    fn windows_1252_names_are_decoded() {
        let mut bytes = format!("{HEADER}\n116439,850,Hampshire,3001,St Mary").into_bytes();
        bytes.push(0x92);
        bytes.extend_from_slice(
            b"s Primary,Voluntary aided school,Open,Primary,,,Church Lane,,,Winchester,Hampshire,SO23 8UJ\n",
        );
        let text = decode(&bytes);
        let la = LaCode::parse("850").unwrap();
        let (schools, rows, skipped) = read_schools(&text, &la, false).unwrap();
        assert_eq!((rows, skipped), (1, 0));
        assert_eq!(schools[0].establishment_name, "St Mary\u{2019}s Primary");
        assert_eq!(
            schools[0].address.as_ref().unwrap().lines,
            ["Church Lane", "Winchester", "Hampshire"]
        );
    }

    #[test]
    fn utf8_names_are_read_as_utf8_with_or_without_a_byte_order_mark() {
        let row = format!(
            "{HEADER}\n116439,850,Hampshire,3001,St Mary\u{2019}s \u{0141}\u{00f3}d\u{017a},\
             Voluntary aided school,Open,Primary,,,Church Lane,,,Winchester,Hampshire,SO23 8UJ\n"
        );
        let la = LaCode::parse("850").unwrap();
        for bytes in [
            row.clone().into_bytes(),
            [&b"\xEF\xBB\xBF"[..], row.as_bytes()].concat(),
        ] {
            let (schools, _, _) = read_schools(&decode(&bytes), &la, false).unwrap();
            assert_eq!(
                schools[0].establishment_name,
                "St Mary\u{2019}s \u{0141}\u{00f3}d\u{017a}"
            );
        }
    }

    #[test]
    fn other_authorities_are_skipped_unless_asked_for_and_bad_rows_name_their_line() {
        let text = format!(
            "{HEADER}\n\
             116439,850,Hampshire,3001,A,Community school,Open,Primary,,,,,,,,\n\
             135000,852,Southampton,4001,B,Academy converter,Closed,Secondary,01-09-2011,31-08-2020,,,,,,\n"
        );
        let la = LaCode::parse("850").unwrap();
        let (schools, rows, skipped) = read_schools(&text, &la, false).unwrap();
        assert_eq!((schools.len(), rows, skipped), (1, 2, 1));
        let (schools, _, skipped) = read_schools(&text, &la, true).unwrap();
        assert_eq!((schools.len(), skipped), (2, 0));
        assert_eq!(
            schools[1].close_date,
            Some(date_to_proto(
                chrono::NaiveDate::from_ymd_opt(2020, 8, 31).unwrap()
            ))
        );

        let bad = text.replace("31-08-2020", "2020-08-31");
        let err = read_schools(&bad, &la, true).unwrap_err().to_string();
        assert!(err.starts_with("line 3:"), "{err}");
        // Unread when it is another authority's.
        assert_eq!(read_schools(&bad, &la, false).unwrap().0.len(), 1);
        // A Windows export (CRLF) names the same line.
        let err = read_schools(&bad.replace('\n', "\r\n"), &la, true)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("line 3:"), "{err}");
        let err = read_schools("URN,Name\n", &la, true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("LA (code)"), "{err}");
    }
}
