//! `verify-audit`: recomputes an authority's audit-log hash chain from the
//! database and says whether it is intact (exit 1 where it is broken), against
//! a checkpoint taken earlier when given one.

use std::sync::Arc;

use anyhow::Context;

use std::path::{Path, PathBuf};

use super::connect::{ConfigArgs, checkpoint_key_file, open_store, start_telemetry};
use crate::app::App;
use crate::app::checkpoints::{CheckpointKey, SignedCheckpoint};
use crate::app::clock::SystemClock;
use crate::domain::audit::{ChainSummary, Checkpoint};
use crate::domain::identifiers::LaCode;
use crate::server::config::Config;

#[derive(clap::Args)]
pub struct Args {
    /// The authority (LA code).
    #[arg(long)]
    authority: String,
    /// A checkpoint of the authority taken earlier (a file from the checkpoint
    /// directory, or the `checkpoint` field of its log line): the chain must
    /// still hold its event with its hash. Its signature is checked with the
    /// configured checkpoint key (audit_checkpoint_key_file).
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    #[command(flatten)]
    config: ConfigArgs,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let config = args.config.load()?;
    let telemetry = start_telemetry(Some(config.log_format))?;
    let authority = LaCode::parse(&args.authority).map_err(anyhow::Error::msg)?;
    let checkpoint = args
        .checkpoint
        .as_deref()
        .map(|file| read_checkpoint(file, &config, &authority))
        .transpose()?;
    let store = open_store(&config).await?;
    let app = App::new(store.clone(), Arc::new(SystemClock));
    let summary = app
        .verify_audit_chain(authority.clone(), checkpoint.clone())
        .await
        .context("reading the audit log")?;
    println!("{}", verification_report(&authority, &summary));
    if let Some(c) = &checkpoint {
        println!("{}", checkpoint_report(c, &summary));
    }
    store.close().await;
    telemetry.shutdown().await;
    if !summary.intact() {
        std::process::exit(1);
    }
    Ok(())
}

/// The checkpoint in `file`, its signature checked with the configured key,
/// of `authority`.
fn read_checkpoint(file: &Path, config: &Config, authority: &LaCode) -> anyhow::Result<Checkpoint> {
    let json = std::fs::read_to_string(file)
        .with_context(|| format!("reading the checkpoint {}", file.display()))?;
    let signed = SignedCheckpoint::from_json(json.trim())
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let key_file = checkpoint_key_file(config).ok_or_else(|| {
        anyhow::anyhow!(
            "no checkpoint key to check the signature with: set audit_checkpoint_key_file"
        )
    })?;
    let key = CheckpointKey::load(&key_file)?;
    signed
        .verify(&key.verifying_key())
        .map_err(|v| anyhow::anyhow!("{}: {}: {}", file.display(), v.field, v.description))?;
    anyhow::ensure!(
        signed.checkpoint.authority == authority.as_str(),
        "{}: a checkpoint of authority {}, not {authority}",
        file.display(),
        signed.checkpoint.authority
    );
    Ok(signed.checkpoint)
}

/// What `verify-audit --checkpoint` adds.
fn checkpoint_report(c: &Checkpoint, s: &ChainSummary) -> String {
    let at = c.taken_at.to_rfc3339();
    if s.checkpoint_matched {
        format!(
            "checkpoint of {at}: the chain still holds event {} with hash {}",
            c.event_id, c.event_hash
        )
    } else {
        format!(
            "checkpoint of {at}: NOT MATCHED (event {}, hash {})",
            c.event_id, c.event_hash
        )
    }
}

/// What `verify-audit` prints.
fn verification_report(authority: &LaCode, s: &ChainSummary) -> String {
    let before = match s.unchained_events {
        0 => String::new(),
        n => format!(", {n} of them recorded before the chain"),
    };
    let before = match s.erased_events {
        0 => before,
        n => format!("{before}, {n} with their details erased"),
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
