//! `purge`: removes or irreversibly pseudonymises, for every authority, what
//! is past retention today (see `app::retention`), in bounded batches, each
//! its own transaction with one `retention.purged` audit event. Stopped half
//! way, the next run finishes it; several at once take turns.

use std::sync::Arc;

use anyhow::Context;

use super::connect::{ConfigArgs, open_store, start_telemetry};
use crate::app::App;
use crate::app::clock::SystemClock;

#[derive(clap::Args)]
pub struct Args {
    /// Records (marks, notices, payments) per batch and transaction.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(i64).range(1..=100_000))]
    batch_size: i64,
    #[command(flatten)]
    config: ConfigArgs,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let config = args.config.load()?;
    let telemetry = start_telemetry(Some(config.log_format))?;
    let store = open_store(&config).await?;
    let app = App::new(store.clone(), Arc::new(SystemClock));
    let today = app.today();
    let report = app
        .purge(today, args.batch_size)
        .await
        .context("purging records past retention")?;
    let records: Vec<String> = report
        .records
        .iter()
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect();
    println!(
        "purged on {today}: {} batches; records: {}; audit details erased: {}",
        report.batches,
        if records.is_empty() {
            "none".to_string()
        } else {
            records.join(", ")
        },
        report.audit_details_erased
    );
    store.close().await;
    telemetry.shutdown().await;
    Ok(())
}
