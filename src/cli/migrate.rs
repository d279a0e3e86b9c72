//! `migrate`: applies the database's migrations as the role that owns the
//! tables (a deployment step on PostgreSQL; `serve` does it on SQLite).

use anyhow::Context;

use super::connect::{ConfigArgs, open_store, start_telemetry};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArgs,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let config = args.config.load()?;
    let telemetry = start_telemetry(Some(config.log_format))?;
    let store = open_store(&config).await?;
    store.migrate().await.context("applying migrations")?;
    tracing::info!("migrations applied");
    store.close().await;
    telemetry.shutdown().await;
    Ok(())
}
