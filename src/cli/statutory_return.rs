//! `statutory-return`: the DfE return ("parental responsibility measures") of
//! an authority for an academic year, read from the database, as CSV.

use crate::domain::report::{Counts, StatutoryReturn, academic_year_label};

#[derive(clap::Args)]
pub struct Args {
    /// The authority (LA code).
    #[arg(long)]
    authority: String,
    /// The calendar year the academic year starts in (2025 for 2025/26).
    #[arg(long)]
    year: i32,
    /// Outcomes as of this date (YYYY-MM-DD); default today.
    #[arg(long)]
    as_of: Option<chrono::NaiveDate>,
    /// Output format: csv (one row per main reason, and one for all).
    #[arg(long, default_value = "csv", value_parser = ["csv"])]
    format: String,
    #[command(flatten)]
    config: super::connect::ConfigArgs,
}

/// Reads the figures as the auditor role would, and prints them.
pub async fn run(args: Args) -> anyhow::Result<()> {
    use crate::app::{App, Caller, clock::SystemClock};
    use crate::domain::actor::{Actor, Role};
    let config = args.config.load()?;
    let telemetry = super::connect::start_telemetry(Some(config.log_format))?;
    let authority =
        crate::domain::identifiers::LaCode::parse(&args.authority).map_err(anyhow::Error::msg)?;
    let store = super::connect::open_store(&config).await?;
    let app = App::new(store.clone(), std::sync::Arc::new(SystemClock));
    let operator = Caller {
        actor: Actor {
            subject: "lea-notices statutory-return".into(),
            role: Some(Role::Auditor),
        },
        authority: authority.clone(),
        role: Role::Auditor,
        schools: vec![],
        purpose: Default::default(),
    };
    let figures = app
        .statutory_return(operator, Ok((args.year, args.as_of)))
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    print!("{}", statutory_return_csv(authority.as_str(), &figures)?);
    store.close().await;
    telemetry.shutdown().await;
    Ok(())
}

const HEADER: [&str; 9] = [
    "la_code",
    "academic_year",
    "reason",
    "issued",
    "paid_within_21_days",
    "paid_within_28_days",
    "withdrawn",
    "prosecuted",
    "other_or_outstanding",
];

/// The figures as CSV text.
pub fn statutory_return_csv(la_code: &str, r: &StatutoryReturn) -> Result<String, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(HEADER)?;
    let year = academic_year_label(r.year_start);
    let rows = r
        .by_reason
        .iter()
        .map(|(reason, counts)| (reason.as_str(), *counts))
        .chain(std::iter::once(("all", r.totals)));
    for (reason, c) in rows {
        let Counts {
            issued,
            paid_within_21_days,
            paid_within_28_days,
            withdrawn,
            prosecuted,
            other_or_outstanding,
        } = c;
        let figures = [
            issued,
            paid_within_21_days,
            paid_within_28_days,
            withdrawn,
            prosecuted,
            other_or_outstanding,
        ]
        .map(|n| n.to_string());
        out.write_record(
            [la_code, &year, reason]
                .into_iter()
                .chain(figures.iter().map(String::as_str)),
        )?;
    }
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
