//! How `import-payments` reads a provider's daily export: its columns (the
//! generic layout, a provider's preset, `--columns`), amounts and dates as
//! providers write them, and each line as a payment, a line skipped (not a
//! completed payment) or a line refused, named by line and column.
//!
//! Pure: no I/O but the text given, no clock.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use crate::cli::columns::{ColumnMap, Columns, ImportField, LineCounter, parse_columns};
use crate::cli::import_marks::layout::parse_date as parse_numeric_date;
use crate::domain::calendar::{london_date, london_local_to_utc};
use crate::domain::payment::MAX_PAYMENT_PENCE;

/// A field `import-payments` reads, by the column name of its generic layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The provider's own id of the payment: the idempotency key.
    TransactionId,
    /// The amount in pounds (`12.50`, `£1,250.00`).
    Amount,
    /// The amount in pence (`1250`), for exports that write pence.
    AmountPence,
    /// When the payer paid: a date, or a date and time.
    PaidDate,
    /// The time of day, for exports that write it in a column of its own.
    PaidTime,
    /// What the payer quoted: notice numbers (several columns allowed).
    Reference,
    /// The payer's name, kept with the payment.
    PayerName,
    /// The transaction's state: only completed payments are imported.
    Status,
    /// The currency, where the export says it: only pounds sterling.
    Currency,
}

crate::domain::all_variants!(Field {
    TransactionId,
    Amount,
    AmountPence,
    PaidDate,
    PaidTime,
    Reference,
    PayerName,
    Status,
    Currency,
});

impl ImportField for Field {
    fn all() -> &'static [Field] {
        &Field::ALL
    }

    fn name(self) -> &'static str {
        match self {
            Field::TransactionId => "transaction_id",
            Field::Amount => "amount",
            Field::AmountPence => "amount_pence",
            Field::PaidDate => "paid_date",
            Field::PaidTime => "paid_time",
            Field::Reference => "reference",
            Field::PayerName => "payer_name",
            Field::Status => "status",
            Field::Currency => "currency",
        }
    }

    fn repeatable(self) -> bool {
        self == Field::Reference
    }
}

/// How times with no offset of their own are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Times {
    /// UK time: GMT or BST by the date.
    Uk,
    /// UTC.
    Utc,
}

/// An export's layout: the generic one, or a provider's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// The columns named as the fields (`transaction_id`, `amount`, `paid_date`,
    /// `reference`, ...), times in UK time.
    #[default]
    Generic,
    /// GOV.UK Pay's transactions download: `GOV.UK Payment ID`, `Amount`,
    /// `Date Created` and `Time Created` (UTC), `Reference`, `Cardholder Name`,
    /// `State` (only `Success` is a payment).
    #[value(name = "govuk-pay")]
    GovukPay,
    /// Stripe's itemised balance-change report: `balance_transaction_id`,
    /// `gross`, `created_utc`, `description`, `currency`, `reporting_category`
    /// (only `charge` is a payment).
    Stripe,
}

/// Statuses the generic layout takes for a completed payment (ignoring case).
const GENERIC_PAID: [&str; 8] = [
    "paid",
    "success",
    "successful",
    "succeeded",
    "complete",
    "completed",
    "settled",
    "captured",
];

impl Format {
    /// The export's columns for the fields it has.
    fn columns(self) -> ColumnMap<Field> {
        let pairs: &[(Field, &str)] = match self {
            Format::Generic => &[],
            Format::GovukPay => &[
                (Field::TransactionId, "GOV.UK Payment ID"),
                (Field::Amount, "Amount"),
                (Field::PaidDate, "Date Created"),
                (Field::PaidTime, "Time Created"),
                (Field::Reference, "Reference"),
                (Field::PayerName, "Cardholder Name"),
                (Field::Status, "State"),
            ],
            Format::Stripe => &[
                (Field::TransactionId, "balance_transaction_id"),
                (Field::Amount, "gross"),
                (Field::PaidDate, "created_utc"),
                (Field::Reference, "description"),
                (Field::Status, "reporting_category"),
                (Field::Currency, "currency"),
            ],
        };
        pairs
            .iter()
            .map(|(f, c)| (*f, vec![c.to_string()]))
            .collect()
    }

    /// The provider's name on the payments recorded, unless `--provider` says.
    pub fn provider(self) -> Option<&'static str> {
        match self {
            Format::Generic => None,
            Format::GovukPay => Some("govuk-pay"),
            Format::Stripe => Some("stripe"),
        }
    }

    fn times(self) -> Times {
        match self {
            Format::Generic => Times::Uk,
            Format::GovukPay | Format::Stripe => Times::Utc,
        }
    }

    fn paid_statuses(self) -> Vec<String> {
        let list: &[&str] = match self {
            Format::Generic => &GENERIC_PAID,
            Format::GovukPay => &["success"],
            Format::Stripe => &["charge"],
        };
        list.iter().map(|s| s.to_string()).collect()
    }
}

/// How to read an export.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The export's columns for each field named; a field not named is read
    /// from the column of its own name.
    pub columns: ColumnMap<Field>,
    /// How times with no offset are read.
    pub times: Times,
    /// The statuses (lower case) that mean a completed payment, where the
    /// export has a status column.
    pub paid_statuses: Vec<String>,
}

impl Default for Layout {
    fn default() -> Self {
        Layout::new(Format::Generic, None, None, None).expect("the generic layout")
    }
}

impl Layout {
    /// `format`'s layout, with `--columns` replacing its columns field by
    /// field, `--times` and `--paid-status` replacing its own.
    pub fn new(
        format: Format,
        columns: Option<&str>,
        times: Option<Times>,
        paid_statuses: Option<&str>,
    ) -> anyhow::Result<Layout> {
        let mut mapped = format.columns();
        if let Some(spec) = columns {
            let given = parse_columns::<Field>(spec)?;
            anyhow::ensure!(
                !(given.contains_key(&Field::Amount) && given.contains_key(&Field::AmountPence)),
                "--columns: name amount (pounds) or amount_pence (pence), not both"
            );
            // The amount named on the command line replaces the format's, in
            // pounds or in pence.
            if given.contains_key(&Field::AmountPence) {
                mapped.remove(&Field::Amount);
            }
            if given.contains_key(&Field::Amount) {
                mapped.remove(&Field::AmountPence);
            }
            mapped.extend(given);
        }
        let paid_statuses = match paid_statuses {
            Some(list) => {
                let list: Vec<String> = list
                    .split(',')
                    .map(|s| s.trim().to_lowercase())
                    .filter(|s| !s.is_empty())
                    .collect();
                anyhow::ensure!(!list.is_empty(), "--paid-status names no status");
                list
            }
            None => format.paid_statuses(),
        };
        Ok(Layout {
            columns: mapped,
            times: times.unwrap_or(format.times()),
            paid_statuses,
        })
    }
}

/// An amount in pounds as providers write it: `12.50`, `12.5`, `12`,
/// `£12.50`, `1,250.00` (commas between thousands only), `GBP 12.50`; a
/// leading minus or brackets make it negative. In pence.
pub fn parse_pounds(value: &str) -> Result<i64, String> {
    let s = value.trim();
    let bad = || format!("'{s}' is not an amount (pounds and pence, for example 12.50, £1,250.00)");
    let (negative, unsigned) = sign(s);
    let unsigned = strip_currency(unsigned);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (unsigned, None),
    };
    let pounds = grouped_digits(whole).ok_or_else(bad)?;
    let pence = match fraction {
        None => 0,
        Some(f) if (1..=2).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()) => {
            let p: i64 = f.parse().map_err(|_| bad())?;
            if f.len() == 1 { p * 10 } else { p }
        }
        Some(_) => return Err(bad()),
    };
    let total = pounds
        .checked_mul(100)
        .and_then(|p| p.checked_add(pence))
        .ok_or_else(|| format!("'{s}' is more than any payment"))?;
    Ok(if negative { -total } else { total })
}

/// An amount in whole pence (`1250`, `1,250`); a leading minus makes it negative.
pub fn parse_pence(value: &str) -> Result<i64, String> {
    let s = value.trim();
    let (negative, unsigned) = sign(s);
    let pence = grouped_digits(unsigned).ok_or_else(|| {
        format!("'{s}' is not an amount in pence (whole pence, for example 1250)")
    })?;
    Ok(if negative { -pence } else { pence })
}

/// `-x`, `(x)` or `x`.
fn sign(s: &str) -> (bool, &str) {
    if let Some(rest) = s.strip_prefix('-') {
        (true, rest.trim_start())
    } else if let Some(rest) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        (true, rest.trim())
    } else {
        (false, s)
    }
}

/// Without a pound sign or a `GBP` before or after.
fn strip_currency(s: &str) -> &str {
    let s = s.strip_prefix('£').unwrap_or(s).trim();
    let s = s.strip_prefix("GBP").unwrap_or(s).trim();
    s.strip_suffix("GBP").unwrap_or(s).trim()
}

/// `1250` or `1,250`: digits, with commas only between groups of three.
fn grouped_digits(s: &str) -> Option<i64> {
    let groups: Vec<&str> = s.split(',').collect();
    let first_ok = (1..=if groups.len() > 1 { 3 } else { 18 }).contains(&groups[0].len());
    let ok = first_ok
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()))
        && groups[1..].iter().all(|g| g.len() == 3);
    if !ok {
        return None;
    }
    groups.concat().parse().ok()
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// `Jun`, `June`, `Sept` (any case): the month's number.
fn month_named(name: &str) -> Option<u32> {
    let name = name.to_lowercase();
    if name.len() < 3 {
        return None;
    }
    let at = MONTHS
        .iter()
        .position(|m| m.starts_with(&name) && (name.len() == 3 || name == *m || name == "sept"))?;
    Some(at as u32 + 1)
}

/// A date as providers write it: `2025-06-02`, `02/06/2025` (UK order),
/// `2 Jun 2025`, `02 June 2025`, `2-Jun-2025`.
pub fn parse_date(value: &str) -> Result<NaiveDate, String> {
    let s = value.trim();
    if let Ok(d) = parse_numeric_date(s) {
        return Ok(d);
    }
    let bad = || format!("'{s}' is not a date (2025-06-02, 02/06/2025 or 2 Jun 2025)");
    let parts: Vec<&str> = s.split([' ', '-']).filter(|p| !p.is_empty()).collect();
    let [day, month, year] = parts.as_slice() else {
        return Err(bad());
    };
    let day = Some(*day)
        .filter(|d| (1..=2).contains(&d.len()))
        .and_then(|d| d.parse::<u32>().ok());
    let year = Some(*year)
        .filter(|y| y.len() == 4)
        .and_then(|y| y.parse::<i32>().ok());
    match (day, month_named(month), year) {
        (Some(d), Some(m), Some(y)) => NaiveDate::from_ymd_opt(y, m, d).ok_or_else(bad),
        _ => Err(bad()),
    }
}

/// `14:03`, `14:03:11`, `14:03:11.250`.
pub fn parse_time(value: &str) -> Result<NaiveTime, String> {
    let s = value.trim();
    ["%H:%M:%S%.f", "%H:%M:%S", "%H:%M"]
        .iter()
        .find_map(|f| NaiveTime::parse_from_str(s, f).ok())
        .ok_or_else(|| format!("'{s}' is not a time (14:03 or 14:03:11)"))
}

/// When a payment was made: its UK date (the day that decides the rate) and
/// the instant the payment is recorded as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paid {
    pub date: NaiveDate,
    pub at: DateTime<Utc>,
}

/// A paid date as providers write it, with the time in `time` if the export has
/// a column for it: RFC 3339 (`2025-06-02T14:03:11Z`, `... +01:00`), or a date
/// (any shape [`parse_date`] reads) and an optional time, read in `times`. The
/// date paid is the UK date of that instant. With no time, the payment is
/// received at 00:00 UK time on the date written.
pub fn parse_paid(value: &str, time: Option<&str>, times: Times) -> Result<Paid, String> {
    let s = value.trim();
    let time = time.map(str::trim).filter(|t| !t.is_empty());
    let instant = |at: DateTime<Utc>| Paid {
        date: london_date(at),
        at,
    };
    if time.is_none()
        && let Some(t) = rfc3339(s)
    {
        return Ok(instant(t.to_utc()));
    }
    let bad = |e: String| {
        if s.contains(':') {
            format!(
                "'{s}' is not a date and time (2025-06-02 14:03:11, 02/06/2025 14:03, 2 Jun 2025 14:03 or RFC 3339)"
            )
        } else {
            e
        }
    };
    let (date, written_time) = split_time(s);
    let date = parse_date(date).map_err(bad)?;
    let time = match (time, written_time) {
        (Some(t), _) => Some(parse_time(t)?),
        (None, Some(t)) => Some(parse_time(t).map_err(bad)?),
        (None, None) => None,
    };
    Ok(match time {
        None => Paid {
            date,
            at: london_local_to_utc(date.and_time(NaiveTime::MIN)),
        },
        Some(t) => instant(local(date.and_time(t), times)),
    })
}

/// RFC 3339, with `T` or a space between date and time.
fn rfc3339(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z"))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.fZ")
                .map(|t| t.and_utc().fixed_offset())
        })
        .ok()
}

/// A date-time's date and time parts: `2025-06-02T14:03`, `2 Jun 2025 14:03`.
fn split_time(s: &str) -> (&str, Option<&str>) {
    if let Some((date, time)) = s.rsplit_once(' ')
        && time.contains(':')
    {
        return (date.trim(), Some(time));
    }
    match s.split_once('T') {
        Some((date, time)) if time.contains(':') => (date, Some(time)),
        _ => (s, None),
    }
}

fn local(t: NaiveDateTime, times: Times) -> DateTime<Utc> {
    match times {
        Times::Uk => london_local_to_utc(t),
        Times::Utc => t.and_utc(),
    }
}

/// A reference the payer quoted, with the column it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quoted {
    pub column: String,
    pub text: String,
}

/// A line that is a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: u64,
    pub transaction_id: String,
    pub amount_pence: i64,
    pub paid: Paid,
    /// The non-empty reference cells, in the order their columns are named.
    pub references: Vec<Quoted>,
    pub payer_name: String,
}

/// What a line of the export is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Payment(Row),
    /// Not a completed payment (a declined card, a refund): not imported.
    Skipped {
        line: u64,
        why: String,
    },
    /// A line that cannot be read, with each problem named by its column.
    Refused {
        line: u64,
        message: String,
    },
}

/// The export's columns for the fields a server's answer may name.
#[derive(Debug, Clone, Default)]
pub struct Headers {
    pub transaction_id: String,
    pub amount: String,
    pub paid_date: String,
}

/// Reads every line of an export. The header must have the columns of the
/// fields needed (transaction id, amount or pence, paid date, a reference);
/// each other line is a payment, skipped, or refused with its line and column.
pub fn read_lines(text: &str, file: &str, layout: &Layout) -> anyhow::Result<(Headers, Vec<Line>)> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::Headers)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| anyhow::anyhow!("reading the header of {file}: {e}"))?
        .clone();
    let columns = Columns::resolve(headers, &layout.columns, file)?;
    let id = columns.required(Field::TransactionId, file)?;
    let amount = match (columns.get(Field::Amount), columns.get(Field::AmountPence)) {
        (Some(i), None) => (i, false),
        (None, Some(i)) => (i, true),
        (Some(_), Some(_)) => anyhow::bail!(
            "{file} has both an 'amount' and an 'amount_pence' column: map the one to read with --columns"
        ),
        (None, None) => anyhow::bail!(
            "{file} has no column 'amount' (pounds) or 'amount_pence' (map one with --columns amount=NAME or amount_pence=NAME; its columns: {})",
            columns.list()
        ),
    };
    let paid = columns.required(Field::PaidDate, file)?;
    let references = columns.all(Field::Reference);
    if references.is_empty() {
        columns.required(Field::Reference, file)?;
    }
    let headers = Headers {
        transaction_id: columns.header(id).to_string(),
        amount: columns.header(amount.0).to_string(),
        paid_date: columns.header(paid).to_string(),
    };

    let mut lines = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut counter = LineCounter::new(text);
    loop {
        let before = reader.position().byte();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = counter.line_at(e.position().map_or(before, |p| p.byte()));
                lines.push(Line::Refused {
                    line,
                    message: format!("line {line}: {e}"),
                });
                continue;
            }
        }
        let line = counter.line_at(record.position().map_or(before, |p| p.byte()));
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        lines.push(read_line(
            &record,
            line,
            &columns,
            layout,
            (id, amount, paid),
        ));
    }
    Ok((headers, lines))
}

/// One line of the export.
fn read_line(
    record: &csv::StringRecord,
    line: u64,
    columns: &Columns<Field>,
    layout: &Layout,
    (id, (amount, in_pence), paid): (usize, (usize, bool), usize),
) -> Line {
    let cell = |i: usize| record.get(i).map(str::trim);
    let mut problems: Vec<String> = Vec::new();
    let mut at =
        |i: usize, e: String| problems.push(format!("column '{}': {e}", columns.header(i)));

    if let Some(i) = columns.get(Field::Status) {
        let status = cell(i).unwrap_or_default();
        if !layout
            .paid_statuses
            .iter()
            .any(|p| p.eq_ignore_ascii_case(status))
        {
            let why = if status.is_empty() {
                format!("no status in column '{}'", columns.header(i))
            } else {
                format!("status '{status}' is not a completed payment")
            };
            return Line::Skipped { line, why };
        }
    }
    let transaction_id = match cell(id) {
        Some(v) if !v.is_empty() => v.to_string(),
        Some(_) => {
            at(id, "no transaction id".into());
            String::new()
        }
        None => {
            at(id, "the line has no such column".into());
            String::new()
        }
    };
    let amount_pence = match cell(amount) {
        None => {
            at(amount, "the line has no such column".into());
            None
        }
        Some(v) => {
            let parsed = if in_pence {
                parse_pence(v)
            } else {
                parse_pounds(v)
            };
            match parsed {
                Ok(p) if p <= 0 => {
                    at(
                        amount,
                        format!(
                            "'{v}' is not a payment received (refunds and reversals are not imported)"
                        ),
                    );
                    None
                }
                Ok(p) if p > MAX_PAYMENT_PENCE => {
                    at(
                        amount,
                        format!("'{v}' is more than £100,000, the most one payment may be"),
                    );
                    None
                }
                Ok(p) => Some(p),
                Err(e) => {
                    at(amount, e);
                    None
                }
            }
        }
    };
    if let Some(i) = columns.get(Field::Currency) {
        let currency = cell(i).unwrap_or_default();
        if !(currency.is_empty() || currency.eq_ignore_ascii_case("gbp") || currency == "£") {
            at(i, format!("'{currency}' is not pounds sterling (GBP)"));
        }
    }
    let time = columns.get(Field::PaidTime).and_then(cell);
    let paid = match cell(paid) {
        None => {
            at(paid, "the line has no such column".into());
            None
        }
        Some(v) => match parse_paid(v, time, layout.times) {
            Ok(p) => Some(p),
            Err(e) => {
                // A bad time is the time column's when the export has one.
                let column = match columns.get(Field::PaidTime) {
                    Some(t) if time.is_some() && parse_date(v).is_ok() => t,
                    _ => paid,
                };
                at(column, e);
                None
            }
        },
    };
    let references = columns
        .all(Field::Reference)
        .iter()
        .filter_map(|&i| {
            let text = cell(i).unwrap_or_default();
            (!text.is_empty()).then(|| Quoted {
                column: columns.header(i).to_string(),
                text: text.to_string(),
            })
        })
        .collect();
    let payer_name = columns
        .get(Field::PayerName)
        .and_then(cell)
        .unwrap_or_default()
        .to_string();
    match (amount_pence, paid) {
        (Some(amount_pence), Some(paid)) if problems.is_empty() => Line::Payment(Row {
            line,
            transaction_id,
            amount_pence,
            paid,
            references,
            payer_name,
        }),
        _ => Line::Refused {
            line,
            message: format!("line {line}, {}", problems.join("; ")),
        },
    }
}

/// What is due on a notice a line quotes, on the day paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// The notice does not exist.
    Unknown,
    /// This much settles it.
    Payable(i64),
    /// Nothing can be paid on it (paid, withdrawn, past its period, ...).
    NotPayable(String),
}

/// Splits a payment over the notices it quotes. In the order quoted, each
/// notice that can be paid is given what is due on it until the money runs
/// out. Money left goes to the first notice quoted that exists but cannot be
/// paid (paid already, withdrawn, past its period, gone to prosecution): money
/// sent for a notice stays with it, where it shows as refund due and a notice
/// in prosecution shows money received. Anything still left (more than was
/// due, or quoting no notice that exists) stays unallocated, in suspense, for
/// the finance team to match or refund.
pub fn split(amount_pence: i64, dues: &[(String, Due)]) -> Vec<(String, i64)> {
    let mut remaining = amount_pence;
    let mut out = Vec::new();
    for (notice, due) in dues {
        if let Due::Payable(due) = due {
            let take = remaining.min(*due);
            if take > 0 {
                out.push((notice.clone(), take));
                remaining -= take;
            }
        }
    }
    if remaining > 0
        && let Some((notice, _)) = dues
            .iter()
            .find(|(_, d)| matches!(d, Due::NotPayable(_) | Due::Payable(0)))
    {
        out.push((notice.clone(), remaining));
    }
    out
}

/// The amount in pounds, for messages: `£1,250.00`.
pub fn pounds(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let pence = pence.unsigned_abs();
    let whole = (pence / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}£{grouped}.{:02}", pence % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn amounts_are_read_as_providers_write_them() {
        for (written, pence) in [
            ("12.50", 1_250),
            ("12.5", 1_250),
            ("12", 1_200),
            ("£12.50", 1_250),
            (" £ 12.50 ", 1_250),
            ("1,250.00", 125_000),
            ("£1,250", 125_000),
            ("1250.00", 125_000),
            ("GBP 80.00", 8_000),
            ("80.00 GBP", 8_000),
            ("0.99", 99),
            ("-0.99", -99),
            ("(12.50)", -1_250),
            ("-£12.50", -1_250),
            ("100,000.00", 10_000_000),
        ] {
            assert_eq!(parse_pounds(written), Ok(pence), "{written}");
        }
        for bad in [
            "12,5O", "12,50", "1,25.00", "12.505", "12.", ".50", "", "£", "12 50", "1.250,00",
            "12.5e1", "€12.50", "twelve", "1,2500",
        ] {
            let e = parse_pounds(bad).unwrap_err();
            assert!(e.contains("is not an amount"), "{bad}: {e}");
        }
        assert_eq!(
            parse_pounds("12,5O").unwrap_err(),
            "'12,5O' is not an amount (pounds and pence, for example 12.50, £1,250.00)"
        );
        assert_eq!(parse_pence("1250"), Ok(1_250));
        assert_eq!(parse_pence("1,250"), Ok(1_250));
        assert_eq!(parse_pence("-99"), Ok(-99));
        assert!(parse_pence("12.50").is_err());
        assert!(parse_pounds("99999999999999999999").is_err());
    }

    #[test]
    fn dates_are_read_in_every_shape_providers_use() {
        for written in [
            "2025-06-02",
            "02/06/2025",
            "2/6/2025",
            "2 Jun 2025",
            "02 Jun 2025",
            "2 June 2025",
            "2 JUNE 2025",
            "2-Jun-2025",
        ] {
            assert_eq!(parse_date(written), Ok(d(2025, 6, 2)), "{written}");
        }
        assert_eq!(parse_date("1 Sept 2025"), Ok(d(2025, 9, 1)));
        for bad in [
            "06/02/25",
            "2 Jun 25",
            "31 Jun 2025",
            "2 Ju 2025",
            "2 Junes 2025",
            "June 2 2025",
            "",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_are_uk_time_unless_the_export_writes_utc_and_the_date_is_the_uk_day() {
        // 14:03 on 2 June is BST: 13:03 UTC.
        for written in [
            "2025-06-02 14:03:11",
            "02/06/2025 14:03:11",
            "2 Jun 2025 14:03:11",
            "2025-06-02T14:03:11",
        ] {
            let p = parse_paid(written, None, Times::Uk).unwrap();
            assert_eq!(
                p,
                Paid {
                    date: d(2025, 6, 2),
                    at: utc("2025-06-02T13:03:11Z")
                },
                "{written}"
            );
        }
        assert_eq!(
            parse_paid("2025-06-02 14:03", None, Times::Uk).unwrap().at,
            utc("2025-06-02T13:03:00Z")
        );
        // RFC 3339 carries its own offset.
        for written in [
            "2025-06-02T14:03:11+01:00",
            "2025-06-02T13:03:11Z",
            "2025-06-02 13:03:11Z",
            "2025-06-02T13:03:11.000Z",
        ] {
            let p = parse_paid(written, None, Times::Utc).unwrap();
            assert_eq!(
                p,
                Paid {
                    date: d(2025, 6, 2),
                    at: utc("2025-06-02T13:03:11Z")
                },
                "{written}"
            );
        }
        // 23:30 UTC on 1 June is 00:30 on 2 June in the UK: paid on the 2nd.
        let late = parse_paid("01 Jun 2025", Some("23:30:00"), Times::Utc).unwrap();
        assert_eq!(
            late,
            Paid {
                date: d(2025, 6, 2),
                at: utc("2025-06-01T23:30:00Z")
            }
        );
        assert_eq!(
            parse_paid("2025-06-01T23:30:00Z", None, Times::Uk)
                .unwrap()
                .date,
            d(2025, 6, 2)
        );
        // In winter UTC is UK time.
        assert_eq!(
            parse_paid("2025-01-06 23:30", None, Times::Utc)
                .unwrap()
                .date,
            d(2025, 1, 6)
        );
        // A date alone: that day, received at its start in the UK.
        assert_eq!(
            parse_paid("2 Jun 2025", None, Times::Utc).unwrap(),
            Paid {
                date: d(2025, 6, 2),
                at: utc("2025-06-01T23:00:00Z")
            }
        );
        assert_eq!(
            parse_paid("2 Jun 2025", Some(""), Times::Uk).unwrap().date,
            d(2025, 6, 2)
        );
        assert!(
            parse_paid("2025-06-02 25:00", None, Times::Uk)
                .unwrap_err()
                .contains("not a date and time")
        );
        assert!(
            parse_paid("2 Jun 2025", Some("noon"), Times::Uk)
                .unwrap_err()
                .contains("not a time")
        );
        assert!(
            parse_paid("yesterday", None, Times::Uk)
                .unwrap_err()
                .contains("not a date")
        );
    }

    #[test]
    fn money_is_split_in_the_order_quoted_and_the_rest_stays_unallocated() {
        let payable = [
            ("A".to_string(), Due::Payable(8_000)),
            ("B".to_string(), Due::Unknown),
            ("D".to_string(), Due::Payable(8_000)),
        ];
        let a_d = |a: i64, d: i64| vec![("A".to_string(), a), ("D".to_string(), d)];
        assert_eq!(split(16_000, &payable), a_d(8_000, 8_000));
        assert_eq!(split(12_000, &payable), a_d(8_000, 4_000));
        // More than was due: the rest unallocated.
        assert_eq!(split(20_000, &payable), a_d(8_000, 8_000));
        assert_eq!(split(5_000, &payable), [("A".to_string(), 5_000)]);
        assert!(split(5_000, &payable[1..2]).is_empty());
        // Money left after what is due goes to the first notice that cannot be
        // paid (in prosecution, paid already): it stays with the notice named.
        let with_closed = [
            ("A".to_string(), Due::Payable(8_000)),
            (
                "C".to_string(),
                Due::NotPayable("the notice went to prosecution".into()),
            ),
            (
                "E".to_string(),
                Due::NotPayable("the notice is paid".into()),
            ),
        ];
        assert_eq!(
            split(20_000, &with_closed),
            [("A".to_string(), 8_000), ("C".to_string(), 12_000)]
        );
        assert_eq!(split(8_000, &with_closed), [("A".to_string(), 8_000)]);
        assert_eq!(split(3_000, &with_closed[1..]), [("C".to_string(), 3_000)]);
        let nothing_due = [("F".to_string(), Due::Payable(0))];
        assert_eq!(split(3_000, &nothing_due), [("F".to_string(), 3_000)]);
        assert_eq!(pounds(125_050), "£1,250.50");
        assert_eq!(pounds(99), "£0.99");
        assert_eq!(pounds(10_000_000), "£100,000.00");
    }

    fn read(text: &str, layout: &Layout) -> Vec<Line> {
        read_lines(text, "export.csv", layout).unwrap().1
    }

    #[test]
    fn a_bad_line_is_named_by_line_and_column_and_the_others_are_read() {
        let text = "\u{feff}TxnRef,Amount,Date,Ref1,Ref2\r\n\
                    T1,80.00,2025-02-10,850-2025-000001,\r\n\
                    T2,\"1,250.00\",10/02/2025,\"850-2025-000001, 850-2025-000002\",850-2025-000003\r\n\
                    T3,12,5O,2025-02-10,x\r\n\
                    T4,\"12,5O\",2025-02-31,x\r\n\
                    ,,,,\r\n\
                    T5,-3.00,2025-02-10\r\n\
                    T6,3.00\r\n";
        let layout = Layout::new(
            Format::Generic,
            Some(
                "transaction_id=TxnRef,amount=Amount,paid_date=Date,reference=Ref1,reference=Ref2",
            ),
            None,
            None,
        )
        .unwrap();
        let lines = read(text, &layout);
        assert_eq!(lines.len(), 6, "{lines:#?}");
        let Line::Payment(first) = &lines[0] else {
            panic!("{:?}", lines[0])
        };
        assert_eq!(
            (
                first.line,
                first.transaction_id.as_str(),
                first.amount_pence
            ),
            (2, "T1", 8_000)
        );
        assert_eq!(
            first.references,
            [Quoted {
                column: "Ref1".into(),
                text: "850-2025-000001".into()
            }]
        );
        let Line::Payment(second) = &lines[1] else {
            panic!("{:?}", lines[1])
        };
        assert_eq!(
            (
                second.amount_pence,
                second.paid.date,
                second.references.len()
            ),
            (125_000, d(2025, 2, 10), 2)
        );
        // A line with one field too many: its amount is the unquoted "12".
        assert_eq!(
            lines[2],
            Line::Refused { line: 4, message: "line 4, column 'Date': '5O' is not a date (2025-06-02, 02/06/2025 or 2 Jun 2025)".into() }
        );
        assert_eq!(
            lines[3],
            Line::Refused {
                line: 5,
                message: "line 5, column 'Amount': '12,5O' is not an amount (pounds and pence, for example 12.50, £1,250.00); \
                          column 'Date': '2025-02-31' is not a date (2025-06-02, 02/06/2025 or 2 Jun 2025)"
                    .into()
            }
        );
        let Line::Refused { line: 7, message } = &lines[4] else {
            panic!("{:?}", lines[4])
        };
        assert!(
            message.starts_with("line 7, column 'Amount': '-3.00' is not a payment received"),
            "{message}"
        );
        assert_eq!(
            lines[5],
            Line::Refused {
                line: 8,
                message: "line 8, column 'Date': the line has no such column".into()
            }
        );
    }

    #[test]
    fn a_govuk_pay_download_is_read_with_its_own_columns_and_only_successes() {
        let text = "Reference,Description,Email,Amount,Card Brand,Cardholder Name,Card Expiry Date,Card Number,State,Finished,Error Code,Error Message,Provider ID,GOV.UK Payment ID,Issued By,Date Created,Time Created,Corporate Card Surcharge,Total Amount,Wallet Type,Card Type\n\
                    850-2025-000001,Penalty notice,a@example.org,80.00,Visa,J Taylor,10/27,4242,Success,true,,,pi_1,hu20sqlact5260q2nanm0q8u93,,01 Jun 2025,23:30:00,0.00,80.00,,debit\n\
                    850-2025-000002,Penalty notice,a@example.org,80.00,Visa,J Taylor,10/27,4242,Declined,true,P0010,Payment method rejected,pi_2,xu20sqlact5260q2nanm0q8u94,,02 Jun 2025,09:00:00,0.00,80.00,,debit\n\
                    850-2025-000001,Penalty notice,a@example.org,-80.00,Visa,J Taylor,10/27,4242,Refund success,true,,,pi_1,hu20sqlact5260q2nanm0q8u93,x@example.org,03 Jun 2025,10:00:00,0.00,-80.00,,debit\n";
        let layout = Layout::new(Format::GovukPay, None, None, None).unwrap();
        let lines = read(text, &layout);
        let Line::Payment(paid) = &lines[0] else {
            panic!("{:?}", lines[0])
        };
        assert_eq!(paid.transaction_id, "hu20sqlact5260q2nanm0q8u93");
        assert_eq!(
            (paid.amount_pence, paid.paid.date, paid.payer_name.as_str()),
            (8_000, d(2025, 6, 2), "J Taylor")
        );
        assert_eq!(
            lines[1],
            Line::Skipped {
                line: 3,
                why: "status 'Declined' is not a completed payment".into()
            }
        );
        assert!(matches!(&lines[2], Line::Skipped { line: 4, .. }));
        // Pence named on the command line replace the preset's pounds.
        let pence = Layout::new(
            Format::GovukPay,
            Some("amount_pence=Total Amount"),
            None,
            None,
        )
        .unwrap();
        assert!(!pence.columns.contains_key(&Field::Amount));
    }

    #[test]
    fn the_header_must_have_the_columns_needed() {
        let e = |text: &str| {
            read_lines(text, "f.csv", &Layout::default())
                .unwrap_err()
                .to_string()
        };
        assert!(
            e("transaction_id,paid_date,reference\n")
                .contains("no column 'amount' (pounds) or 'amount_pence'")
        );
        assert!(e("transaction_id,amount,amount_pence,paid_date,reference\n").contains("both"));
        assert!(e("transaction_id,amount,paid_date\n").contains("has no column 'reference'"));
        assert!(e("amount,paid_date,reference\n").contains("has no column 'transaction_id'"));
        let stripe = Layout::new(Format::Stripe, None, None, None).unwrap();
        let lines = read_lines(
            "balance_transaction_id,created_utc,gross,currency,reporting_category,description\n\
             txn_1,2025-06-02 13:03:11,80.00,gbp,charge,PN 850-2025-000001\n\
             txn_2,2025-06-02 13:04:00,80.00,eur,charge,x\n\
             txn_3,2025-06-02 13:05:00,-80.00,gbp,refund,x\n",
            "s.csv",
            &stripe,
        )
        .unwrap()
        .1;
        assert!(matches!(&lines[0], Line::Payment(r) if r.paid.at == utc("2025-06-02T13:03:11Z")));
        assert_eq!(
            lines[1],
            Line::Refused {
                line: 3,
                message: "line 3, column 'currency': 'eur' is not pounds sterling (GBP)".into()
            }
        );
        assert!(matches!(&lines[2], Line::Skipped { .. }));
    }
}
