//! What the subcommands share: the configuration, telemetry and store of the
//! commands that open the database, and an authenticated channel to a server
//! for the client commands.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

use crate::app::checkpoints::{CheckpointKey, Checkpoints};
use crate::server::config::{Config, LogFormat, Overrides};
use crate::server::telemetry::{self, Telemetry};
use crate::store::{self, Store};

/// The configuration layers (see README, "Configuration").
#[derive(clap::Args)]
pub struct ConfigArgs {
    /// TOML configuration file (also LEA_NOTICES_CONFIG).
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub overrides: Overrides,
}

impl ConfigArgs {
    pub fn load(&self) -> anyhow::Result<Config> {
        Config::load(self.config.clone(), &self.overrides).context("reading configuration")
    }
}

/// Logs (and, with `OTEL_EXPORTER_OTLP_ENDPOINT` set, traces) in `format`.
pub fn start_telemetry(format: Option<LogFormat>) -> anyhow::Result<Telemetry> {
    let otlp = std::env::var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .or_else(|_| std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT"))
        .ok()
        .filter(|e| !e.is_empty());
    telemetry::init(format, otlp.as_deref())
}

/// The store the configuration names (the embedded SQLite file by default).
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let url = config
        .resolved_database_url()
        .context("creating the data directory")?;
    anyhow::ensure!(
        config.db_acquire_timeout_secs > 0,
        "db_acquire_timeout_secs must be at least 1"
    );
    let acquire_timeout = std::time::Duration::from_secs(config.db_acquire_timeout_secs);
    store::connect(&url, config.max_connections, acquire_timeout)
        .await
        .context("opening the database")
}

/// The key file that signs audit checkpoints: the configured one, or on the
/// embedded default the one in the data directory; `None` elsewhere.
pub fn checkpoint_key_file(config: &Config) -> Option<PathBuf> {
    config.audit_checkpoint_key_file.clone().or_else(|| {
        config
            .is_embedded_default()
            .then(|| config.data_dir.join("audit-checkpoint-key.pem"))
    })
}

/// How `serve` signs and publishes audit checkpoints (see
/// `app::checkpoints`): `None` without a key. The embedded default makes its key
/// on first start; a configured key must exist.
pub fn checkpoints(config: &Config) -> anyhow::Result<Option<Checkpoints>> {
    let Some(key_file) = checkpoint_key_file(config) else {
        tracing::warn!(
            "no audit checkpoints: set audit_checkpoint_key_file (see README, Audit checkpoints)"
        );
        return Ok(None);
    };
    let key = if config.audit_checkpoint_key_file.is_some() {
        CheckpointKey::load(&key_file)?
    } else {
        CheckpointKey::load_or_create(&key_file)?
    };
    let dir = config.audit_checkpoint_dir.clone().or_else(|| {
        config
            .is_embedded_default()
            .then(|| config.data_dir.join("audit-checkpoints"))
    });
    Ok(Some(Checkpoints::new(key, dir)))
}

/// Where a client command finds the server, and who it is there.
#[derive(clap::Args, Clone)]
pub struct ServerArgs {
    /// The server, for example http://127.0.0.1:50051.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    pub server: String,
    /// Bearer token of a role the call needs.
    #[arg(long, env = "LEA_NOTICES_TOKEN", hide_env_values = true)]
    pub token: String,
    /// CA certificate (PEM) for an https server.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
}

/// A channel to `server` (https with `ca_file` as its trust root).
pub async fn channel(server: &str, ca_file: Option<&Path>) -> anyhow::Result<Channel> {
    let mut endpoint = Channel::from_shared(server.to_string())
        .with_context(|| format!("server address '{server}'"))?;
    if let Some(ca) = ca_file {
        let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
        endpoint = endpoint
            .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))?;
    }
    endpoint
        .connect()
        .await
        .with_context(|| format!("connecting to {server}"))
}

/// Sends the bearer token with every call.
#[derive(Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl Bearer {
    pub fn new(token: &str) -> anyhow::Result<Self> {
        let value = format!("Bearer {token}")
            .parse()
            .context("the token is not a valid header value")?;
        Ok(Self(value))
    }
}

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut r: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        r.metadata_mut().insert("authorization", self.0.clone());
        Ok(r)
    }
}
