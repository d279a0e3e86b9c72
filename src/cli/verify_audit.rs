//! `verify-audit`: recomputes an authority's audit-log hash chain from the
//! database and says whether it is intact (exit 1 where it is broken).

use std::sync::Arc;

use anyhow::Context;

use super::connect::{ConfigArgs, open_store, start_telemetry};
use crate::app::App;
use crate::app::clock::SystemClock;
use crate::domain::audit::ChainSummary;
use crate::domain::identifiers::LaCode;

#[derive(clap::Args)]
pub struct Args {
    /// The authority (LA code).
    #[arg(long)]
    authority: String,
    #[command(flatten)]
    config: ConfigArgs,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let config = args.config.load()?;
    let telemetry = start_telemetry(Some(config.log_format))?;
    let authority = LaCode::parse(&args.authority).map_err(anyhow::Error::msg)?;
    let store = open_store(&config).await?;
    let app = App::new(store.clone(), Arc::new(SystemClock));
    let summary = app
        .verify_audit_chain(authority.clone())
        .await
        .context("reading the audit log")?;
    println!("{}", verification_report(&authority, &summary));
    store.close().await;
    telemetry.shutdown().await;
    if !summary.intact() {
        std::process::exit(1);
    }
    Ok(())
}

/// What `verify-audit` prints.
fn verification_report(authority: &LaCode, s: &ChainSummary) -> String {
    let before = match s.unchained_events {
        0 => String::new(),
        n => format!(", {n} of them recorded before the chain"),
    };
    match &s.first_break {
        None => format!(
            "authority {authority}: audit trail intact: {} events checked{before}; \
             last event {}, hash {}",
            s.events_checked, s.last_event_id, s.last_hash
        ),
        Some(b) => format!(
            "authority {authority}: audit trail BROKEN at event {} ({:?}): {} \
             ({} events checked before it{before})",
            b.event_id, b.kind, b.description, s.events_checked
        ),
    }
}
