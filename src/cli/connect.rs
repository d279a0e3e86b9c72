//! What the subcommands share: the configuration, telemetry and store of the
//! commands that open the database, and an authenticated channel to a server
//! for the client commands.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig};
use tonic::{Code, Status};

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
    let Some(replica) = config
        .database_replica_url
        .as_deref()
        .filter(|u| !u.is_empty())
    else {
        return store::connect(&url, config.max_connections, acquire_timeout)
            .await
            .context("opening the database");
    };
    anyhow::ensure!(
        url.starts_with("postgres://") || url.starts_with("postgresql://"),
        "database_replica_url needs a PostgreSQL database_url"
    );
    anyhow::ensure!(
        replica.starts_with("postgres://") || replica.starts_with("postgresql://"),
        "database_replica_url must be a postgres:// URL"
    );
    anyhow::ensure!(
        config.replica_wait_ms > 0,
        "replica_wait_ms must be at least 1"
    );
    let wait = std::time::Duration::from_millis(config.replica_wait_ms);
    let store = store::PgStore::connect(&url, config.max_connections, acquire_timeout)
        .await
        .context("opening the database")?
        .with_replica(replica, config.max_connections, acquire_timeout, wait)
        .context("opening the read replica")?;
    Ok(Arc::new(store))
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

/// The wait before calling a server again after a call it could not answer;
/// it doubles with each such call in a row, up to `MAX_BACKOFF` (about 35 s
/// in all before giving up: long enough for a server to restart).
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Calls in a row that get nothing done before a client command gives up.
pub const MAX_ATTEMPTS_WITHOUT_PROGRESS: u32 = 8;

/// The wait after `failures` calls in a row got nothing done (0: the first).
pub fn backoff(failures: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(2u32.saturating_pow(failures))
        .min(MAX_BACKOFF)
}

/// Whether a call's answer says only that the server was away or busy, so the
/// same call may be made again: `UNAVAILABLE` (a server restarting, the
/// database away, a dropped connection), `RESOURCE_EXHAUSTED` (calls shed),
/// `ABORTED`.
pub fn server_away(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::ResourceExhausted | Code::Aborted
    )
}

/// Makes a unary call that is safe to repeat (a read, or a mutation idempotent
/// on its key) until the server answers it, waiting [`backoff`] after each
/// answer that the server was away (`waiting` is told of each wait). After
/// [`MAX_ATTEMPTS_WITHOUT_PROGRESS`] of those in a row, that answer.
pub async fn retrying<T, F, Fut>(
    call: F,
    waiting: impl FnMut(&Status, Duration),
) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Status>>,
{
    retry_with(call, waiting, tokio::time::sleep).await
}

/// [`retrying`], waiting with `sleep`.
async fn retry_with<T, F, Fut, S>(
    mut call: F,
    mut waiting: impl FnMut(&Status, Duration),
    sleep: impl Fn(Duration) -> S,
) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Status>>,
    S: std::future::Future<Output = ()>,
{
    let mut failures = 0;
    loop {
        match call().await {
            Err(status) if server_away(&status) && failures + 1 < MAX_ATTEMPTS_WITHOUT_PROGRESS => {
                let wait = backoff(failures);
                waiting(&status, wait);
                sleep(wait).await;
                failures += 1;
            }
            answer => return answer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn no_wait(_: Duration) {}

    #[tokio::test]
    async fn calls_are_made_again_while_the_server_is_away_and_not_otherwise() {
        let mut calls = 0;
        let answer = retry_with(
            || {
                calls += 1;
                let n = calls;
                async move {
                    match n {
                        1 => Err(Status::unavailable("restarting")),
                        2 => Err(Status::resource_exhausted("shed")),
                        _ => Ok(n),
                    }
                }
            },
            |_, _| {},
            no_wait,
        )
        .await;
        assert_eq!(answer.unwrap(), 3);

        let mut calls = 0;
        let refused: Result<(), _> = retry_with(
            || {
                calls += 1;
                async { Err(Status::invalid_argument("bad")) }
            },
            |_, _| {},
            no_wait,
        )
        .await;
        assert_eq!(
            (refused.unwrap_err().code(), calls),
            (Code::InvalidArgument, 1)
        );

        let mut waits = Vec::new();
        let away: Result<(), _> = retry_with(
            || async { Err(Status::unavailable("gone")) },
            |_, wait| waits.push(wait),
            no_wait,
        )
        .await;
        assert_eq!(away.unwrap_err().code(), Code::Unavailable);
        assert_eq!(waits.len() as u32, MAX_ATTEMPTS_WITHOUT_PROGRESS - 1);
        assert_eq!(
            (waits[0], waits[1], waits[6]),
            (FIRST_BACKOFF, FIRST_BACKOFF * 2, MAX_BACKOFF)
        );
    }
}
