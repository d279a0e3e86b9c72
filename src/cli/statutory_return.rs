//! `statutory-return`: the DfE return ("parental responsibility measures") of
//! an authority for an academic year, read from the database, as CSV in the
//! collection's column names (`domain::report::collection`; the same text as
//! `GetStatutoryReturnResponse.csv`).

use crate::domain::report::collection;

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
    /// Output format: csv (a header and the authority's row, in the
    /// collection's column names).
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
    let (figures, by_sen) = app
        .statutory_return_with_sen(operator, Ok((args.year, args.as_of)))
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    print!("{}", collection::csv(authority.as_str(), &figures, &by_sen));
    store.close().await;
    telemetry.shutdown().await;
    Ok(())
}
