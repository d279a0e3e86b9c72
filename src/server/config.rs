//! Configuration, layered (later wins): built-in defaults, an optional TOML file,
//! `LEA_NOTICES_*` environment variables (and `DATABASE_URL`), command-line flags.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The level of the line each call logs when it ends ("rpc finished": method,
/// authority, gRPC code, milliseconds), or `off`. Below the level the log
/// filter (`RUST_LOG`, default `info`) lets through, the line is never
/// formatted: `debug` keeps it out of the default log at no cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallLog {
    Off,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Address the gRPC server listens on.
    pub listen_addr: SocketAddr,
    /// `postgres://...` or `sqlite:...`; unset means a SQLite file in `data_dir`.
    pub database_url: Option<String>,
    /// PostgreSQL only: a streaming replica of `database_url` (`postgres://...`)
    /// that searches, summaries, the statutory return and lists read from once
    /// it has replayed every write acknowledged before the read began. Unset:
    /// every read goes to the primary.
    pub database_replica_url: Option<String>,
    /// Milliseconds a replica read waits for the replica to catch up with the
    /// primary before reading from the primary instead.
    pub replica_wait_ms: u64,
    /// Where the embedded default keeps its SQLite file (created on first run).
    pub data_dir: PathBuf,
    /// Database connections in the pool.
    pub max_connections: u32,
    /// PostgreSQL: seconds a call waits for a pool connection. An unreachable
    /// database answers UNAVAILABLE after this long, so keep it well under the
    /// request timeout.
    pub db_acquire_timeout_secs: u64,
    /// Milliseconds between two checks of the database by the health service.
    pub health_check_interval_ms: u64,
    /// Milliseconds a health check waits for the database before it counts as
    /// failed (health NOT_SERVING).
    pub health_check_timeout_ms: u64,
    /// Apply migrations when `serve` starts. Unset: yes on SQLite, no on
    /// PostgreSQL (where `lea-notices migrate` runs as a deployment step).
    /// SQLite migrates before serving, and a failure stops `serve`; PostgreSQL
    /// is not waited for: `serve` starts NOT_SERVING and migrates once the
    /// database answers (a migration failing other than by an outage stops it).
    pub migrate_on_start: Option<bool>,
    pub log_format: LogFormat,
    /// The level of each call's log line (see [`CallLog`]).
    pub call_log: CallLog,
    /// Public keys that sign bearer tokens: a PEM file (Ed25519 or RSA) or a JWKS
    /// file. Unset: the development key in `data_dir`, allowed only on the
    /// embedded SQLite default unless `dev_tokens` says otherwise.
    pub jwt_keys_file: Option<PathBuf>,
    /// The `iss` every token must carry.
    pub jwt_issuer: String,
    /// The `aud` every token must carry.
    pub jwt_audience: String,
    /// Seconds a token's `exp`, `nbf` and `iat` may be off this server's clock
    /// (skew between the identity provider and us); at most 300.
    pub jwt_leeway_secs: u64,
    /// The identity provider's JWKS (`https://...`; `http://` only to a
    /// loopback address), fetched at start, every `jwt_jwks_refresh_secs`,
    /// and when a token names a key not in it. Instead of `jwt_keys_file`.
    pub jwt_jwks_url: Option<String>,
    /// Find the JWKS by OpenID Connect discovery: `jwt_issuer` +
    /// `/.well-known/openid-configuration`, its `jwks_uri`. Instead of
    /// `jwt_keys_file` and `jwt_jwks_url`.
    pub jwt_oidc_discovery: bool,
    /// Seconds between two scheduled fetches of the provider's keys.
    pub jwt_jwks_refresh_secs: u64,
    /// Least milliseconds between two fetches asked for by tokens naming a key
    /// (`kid`) the set does not hold: a flood of made-up `kid`s costs the
    /// provider one request per interval.
    pub jwt_jwks_min_refetch_ms: u64,
    /// The claim holding the caller's authority (LA code): a claim's name, or
    /// a dotted path into nested claims.
    pub jwt_authority_claim: String,
    /// Every caller's authority, for a deployment serving one council (the
    /// authority claim is then not read).
    pub jwt_authority: Option<String>,
    /// The claim holding the caller's role: a string or an array of strings
    /// (Entra ID: `roles`; Keycloak: `realm_access.roles` or
    /// `resource_access.<client>.roles`).
    pub jwt_role_claim: String,
    /// The provider's role or group values and the role each means here
    /// (`"Attendance.Officer=la_officer, Attendance.Audit=auditor"`, or a TOML
    /// table). Empty: the claim holds this service's role names.
    #[serde(deserialize_with = "key_values")]
    pub jwt_role_map: BTreeMap<String, String>,
    /// The claim holding school staff's schools' URNs (a string or an array).
    pub jwt_schools_claim: String,
    /// Accept tokens signed with the development key. Unset: only on the
    /// embedded SQLite default with no other token keys configured.
    pub dev_tokens: Option<bool>,
    /// Server certificate chain (PEM); with `tls_key_file`, the server speaks TLS.
    pub tls_cert_file: Option<PathBuf>,
    /// Server private key (PEM).
    pub tls_key_file: Option<PathBuf>,
    /// CA bundle (PEM) client certificates must chain to: set, clients need one (mTLS).
    pub tls_client_ca_file: Option<PathBuf>,
    /// Serve without TLS. Unset: only on a loopback address (local use).
    pub allow_plaintext: Option<bool>,
    /// A call not answered after this many seconds (or by its caller's own
    /// deadline, if sooner) answers DEADLINE_EXCEEDED; its units of work not
    /// yet begun never start.
    pub request_timeout_secs: u64,
    /// Calls in progress on the whole server, over every connection, each
    /// until its units of work have ended; more are refused at once with
    /// RESOURCE_EXHAUSTED rather than queued.
    pub max_concurrent_requests: usize,
    /// Largest request or response message, in bytes.
    pub max_message_bytes: usize,
    /// After SIGTERM, in-flight calls get this many seconds to finish.
    pub shutdown_grace_secs: u64,
    /// Where Prometheus scrapes `/metrics` (plain HTTP). Unset: no metrics listener.
    pub metrics_addr: Option<SocketAddr>,
    /// Browser origins (`https://host[:port]`) allowed to call over grpc-web
    /// (CORS); a comma-separated string or a list. Empty: none.
    #[serde(deserialize_with = "comma_separated")]
    pub grpc_web_origins: Vec<String>,
    /// The Ed25519 private key (PKCS#8 PEM) that signs audit checkpoints; every
    /// replica holds the same one. Unset: `audit-checkpoint-key.pem` in
    /// `data_dir` (made on first start) on the embedded SQLite default, and no
    /// checkpoints elsewhere.
    pub audit_checkpoint_key_file: Option<PathBuf>,
    /// Where each checkpoint is also written, as a file. Unset:
    /// `audit-checkpoints` in `data_dir` on the embedded default, elsewhere
    /// only the log.
    pub audit_checkpoint_dir: Option<PathBuf>,
    /// Seconds between the checkpoints published of every authority whose
    /// chain moved (and one round at start); 0: only on demand.
    pub audit_checkpoint_interval_secs: u64,
    /// Milliseconds between two rounds of the scheduler that records the
    /// events on the statutory dates (a notice's lower rate ended, unpaid at
    /// the end of its period, a school's request past its deadline), and one
    /// round at start. Every replica runs it; each event is recorded once
    /// whichever gets there first. 0: this server runs no rounds.
    pub statutory_events_interval_ms: u64,
    /// Milliseconds between two runs of the purge of what is past retention
    /// (`lea-notices purge`; README, "Retention"), and one run at start.
    /// Every replica may run it: batches take turns. 0: this server runs none.
    pub purge_interval_ms: u64,
}

/// A map given as `"a=b, c=d"` (an environment variable) or as a table (TOML).
fn key_values<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum TextOrTable {
        Text(String),
        Table(BTreeMap<String, String>),
    }
    match TextOrTable::deserialize(d)? {
        TextOrTable::Table(map) => Ok(map),
        TextOrTable::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    Ok((k.trim().to_owned(), v.trim().to_owned()))
                }
                _ => Err(serde::de::Error::custom(format!(
                    "'{pair}' is not provider_value=role"
                ))),
            })
            .collect(),
    }
}

/// A list given as `"a, b"` (an environment variable) or as a list (TOML).
fn comma_separated<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let items = match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => s.split(',').map(str::to_owned).collect(),
        OneOrMany::Many(v) => v,
    };
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect())
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 50051)),
            database_url: None,
            database_replica_url: None,
            replica_wait_ms: 200,
            data_dir: PathBuf::from("data"),
            max_connections: 10,
            db_acquire_timeout_secs: 5,
            health_check_interval_ms: super::HEALTH_CHECK_INTERVAL.as_millis() as u64,
            health_check_timeout_ms: super::HEALTH_CHECK_TIMEOUT.as_millis() as u64,
            migrate_on_start: None,
            log_format: LogFormat::Text,
            call_log: CallLog::Info,
            jwt_keys_file: None,
            jwt_issuer: "lea-notices-dev".into(),
            jwt_audience: "lea-notices".into(),
            jwt_leeway_secs: crate::api::layers::auth::DEFAULT_LEEWAY.as_secs(),
            jwt_jwks_url: None,
            jwt_oidc_discovery: false,
            jwt_jwks_refresh_secs: 3600,
            jwt_jwks_min_refetch_ms: 30_000,
            jwt_authority_claim: "la".into(),
            jwt_authority: None,
            jwt_role_claim: "role".into(),
            jwt_role_map: BTreeMap::new(),
            jwt_schools_claim: "schools".into(),
            dev_tokens: None,
            tls_cert_file: None,
            tls_key_file: None,
            tls_client_ca_file: None,
            allow_plaintext: None,
            request_timeout_secs: 30,
            max_concurrent_requests: 200,
            max_message_bytes: 4 * 1024 * 1024,
            shutdown_grace_secs: 20,
            metrics_addr: None,
            grpc_web_origins: Vec::new(),
            audit_checkpoint_key_file: None,
            audit_checkpoint_dir: None,
            audit_checkpoint_interval_secs: 3600,
            statutory_events_interval_ms: super::STATUTORY_EVENTS_INTERVAL.as_millis() as u64,
            purge_interval_ms: super::PURGE_INTERVAL.as_millis() as u64,
        }
    }
}

/// Values given on the command line; unset ones leave lower layers alone.
#[derive(Debug, Default, Clone, Serialize, clap::Args)]
pub struct Overrides {
    /// Address to listen on [default: 127.0.0.1:50051].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen_addr: Option<SocketAddr>,
    /// Database URL (postgres://... or sqlite:...) [default: SQLite in the data directory].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// A PostgreSQL streaming replica for reads that tolerate one [default: none].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_replica_url: Option<String>,
    /// Data directory of the embedded SQLite default [default: ./data].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Log format [default: text].
    #[arg(long, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
}

impl Config {
    /// Loads the layers. `file` is the `--config` flag; without it
    /// `LEA_NOTICES_CONFIG` may name the file.
    pub fn load(
        file: Option<PathBuf>,
        overrides: &Overrides,
    ) -> Result<Config, Box<figment::Error>> {
        let file = file.or_else(|| std::env::var_os("LEA_NOTICES_CONFIG").map(PathBuf::from));
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment
            .merge(Env::raw().only(&["DATABASE_URL"]))
            .merge(Env::prefixed("LEA_NOTICES_").ignore(&["CONFIG"]))
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(Box::new)
    }

    /// Whether the embedded default (a SQLite file in `data_dir`) is in use.
    pub fn is_embedded_default(&self) -> bool {
        self.database_url.as_deref().is_none_or(str::is_empty)
    }

    /// Whether tokens signed with the development key are accepted.
    pub fn dev_tokens_enabled(&self) -> bool {
        self.dev_tokens
            .unwrap_or(!self.has_token_keys() && self.is_embedded_default())
    }

    /// Whether the identity provider's keys are configured (a file, a JWKS
    /// URL, or discovery).
    pub fn has_token_keys(&self) -> bool {
        self.jwt_keys_file.is_some()
            || self.jwt_jwks_url.as_deref().is_some_and(|u| !u.is_empty())
            || self.jwt_oidc_discovery
    }

    /// The database URL to open: the configured one, or the embedded default.
    pub fn resolved_database_url(&self) -> std::io::Result<String> {
        match &self.database_url {
            Some(url) if !url.is_empty() => Ok(url.clone()),
            _ => crate::store::sqlite_url_in(&self.data_dir),
        }
    }
}

#[cfg(test)]
// figment's Jail closures return its (large) error type; that is its API.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "lea.toml",
                "listen_addr = \"0.0.0.0:6000\"\ndata_dir = \"/from/file\"\nmax_connections = 3\n",
            )?;
            jail.set_env("LEA_NOTICES_DATA_DIR", "/from/env");
            jail.set_env("DATABASE_URL", "postgres://db/lea");
            jail.set_env("LEA_NOTICES_JWT_LEEWAY_SECS", "5");
            let overrides = Overrides {
                listen_addr: Some("127.0.0.1:7000".parse().unwrap()),
                ..Overrides::default()
            };
            let c = Config::load(Some("lea.toml".into()), &overrides).unwrap();
            assert_eq!(c.listen_addr, "127.0.0.1:7000".parse().unwrap());
            assert_eq!(c.data_dir, PathBuf::from("/from/env"));
            assert_eq!(c.max_connections, 3);
            assert_eq!(c.database_url.as_deref(), Some("postgres://db/lea"));
            assert_eq!(c.jwt_leeway_secs, 5);
            Ok(())
        });
    }

    #[test]
    fn the_call_log_level_comes_from_the_environment_and_is_a_level() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(
                c.call_log,
                CallLog::Info,
                "the default keeps the line at info"
            );
            for (value, level) in [
                ("off", CallLog::Off),
                ("debug", CallLog::Debug),
                ("warn", CallLog::Warn),
            ] {
                jail.set_env("LEA_NOTICES_CALL_LOG", value);
                let c = Config::load(None, &Overrides::default()).unwrap();
                assert_eq!(c.call_log, level);
                let options = crate::server::ServeOptions::from_config(&c).unwrap();
                assert_eq!(options.call_log, level);
            }
            jail.set_env("LEA_NOTICES_CALL_LOG", "loud");
            let refused = Config::load(None, &Overrides::default()).unwrap_err();
            assert!(refused.to_string().contains("loud"), "{refused}");
            Ok(())
        });
    }

    #[test]
    fn the_acquire_timeout_comes_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("LEA_NOTICES_DB_ACQUIRE_TIMEOUT_SECS", "2");
            let c = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(c.db_acquire_timeout_secs, 2);
            Ok(())
        });
    }

    #[test]
    fn the_read_replica_is_optional_and_comes_from_the_environment_or_a_flag() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(c.database_replica_url, None, "no replica unless configured");
            assert_eq!(c.replica_wait_ms, 200);
            jail.set_env("LEA_NOTICES_DATABASE_REPLICA_URL", "postgres://standby/lea");
            jail.set_env("LEA_NOTICES_REPLICA_WAIT_MS", "150");
            let c = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(
                c.database_replica_url.as_deref(),
                Some("postgres://standby/lea")
            );
            assert_eq!(c.replica_wait_ms, 150);
            let flag = Overrides {
                database_replica_url: Some("postgres://other/lea".into()),
                ..Default::default()
            };
            let c = Config::load(None, &flag).unwrap();
            assert_eq!(
                c.database_replica_url.as_deref(),
                Some("postgres://other/lea")
            );
            Ok(())
        });
    }

    #[test]
    fn the_health_checks_come_from_the_environment_and_are_never_zero() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None, &Overrides::default()).unwrap();
            let options = crate::server::ServeOptions::from_config(&c).unwrap();
            assert_eq!(
                (options.health_check_interval, options.health_check_timeout),
                (
                    crate::server::HEALTH_CHECK_INTERVAL,
                    crate::server::HEALTH_CHECK_TIMEOUT
                )
            );
            jail.set_env("LEA_NOTICES_HEALTH_CHECK_INTERVAL_MS", "100");
            jail.set_env("LEA_NOTICES_HEALTH_CHECK_TIMEOUT_MS", "2000");
            let c = Config::load(None, &Overrides::default()).unwrap();
            let options = crate::server::ServeOptions::from_config(&c).unwrap();
            assert_eq!(
                options.health_check_interval,
                std::time::Duration::from_millis(100)
            );
            assert_eq!(
                options.health_check_timeout,
                std::time::Duration::from_secs(2)
            );
            jail.set_env("LEA_NOTICES_HEALTH_CHECK_TIMEOUT_MS", "0");
            let c = Config::load(None, &Overrides::default()).unwrap();
            assert!(crate::server::ServeOptions::from_config(&c).is_err());
            Ok(())
        });
    }

    #[test]
    fn the_scheduler_interval_comes_from_the_environment_and_0_turns_it_off() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(None, &Overrides::default()).unwrap();
            let options = crate::server::ServeOptions::from_config(&c).unwrap();
            assert_eq!(
                options.statutory_events_interval,
                Some(crate::server::STATUTORY_EVENTS_INTERVAL)
            );
            jail.set_env("LEA_NOTICES_STATUTORY_EVENTS_INTERVAL_MS", "250");
            let c = Config::load(None, &Overrides::default()).unwrap();
            let options = crate::server::ServeOptions::from_config(&c).unwrap();
            assert_eq!(
                options.statutory_events_interval,
                Some(std::time::Duration::from_millis(250))
            );
            jail.set_env("LEA_NOTICES_STATUTORY_EVENTS_INTERVAL_MS", "0");
            let c = Config::load(None, &Overrides::default()).unwrap();
            let options = crate::server::ServeOptions::from_config(&c).unwrap();
            assert_eq!(options.statutory_events_interval, None);
            Ok(())
        });
    }

    #[test]
    fn grpc_web_origins_are_a_comma_separated_variable_or_a_list() {
        figment::Jail::expect_with(|jail| {
            jail.set_env(
                "LEA_NOTICES_GRPC_WEB_ORIGINS",
                "https://ewo.hants.gov.uk, http://localhost:3000,",
            );
            let c = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(
                c.grpc_web_origins,
                ["https://ewo.hants.gov.uk", "http://localhost:3000"]
            );
            jail.set_env("LEA_NOTICES_GRPC_WEB_ORIGINS", "");
            jail.create_file("lea.toml", "grpc_web_origins = [\"https://a.example\"]\n")?;
            let c = Config::load(Some("lea.toml".into()), &Overrides::default()).unwrap();
            assert!(c.grpc_web_origins.is_empty(), "the variable wins, empty");
            Ok(())
        });
    }

    #[test]
    fn the_claim_mapping_comes_from_the_environment_or_a_table() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("LEA_NOTICES_JWT_ROLE_CLAIM", "roles");
            jail.set_env(
                "LEA_NOTICES_JWT_ROLE_MAP",
                "Attendance.Officer=la_officer, Attendance.Audit = auditor,",
            );
            jail.set_env("LEA_NOTICES_JWT_JWKS_URL", "https://idp.example/keys");
            let c = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(c.jwt_role_claim, "roles");
            assert_eq!(
                c.jwt_role_map,
                BTreeMap::from([
                    ("Attendance.Audit".to_string(), "auditor".to_string()),
                    ("Attendance.Officer".to_string(), "la_officer".to_string()),
                ])
            );
            assert!(c.has_token_keys() && !c.dev_tokens_enabled());
            jail.set_env("LEA_NOTICES_JWT_ROLE_MAP", "");
            jail.create_file("lea.toml", "[jwt_role_map]\n\"lea-ewo\" = \"la_officer\"\n")?;
            let c = Config::load(Some("lea.toml".into()), &Overrides::default()).unwrap();
            assert!(c.jwt_role_map.is_empty(), "the variable wins, empty");
            jail.clear_env();
            let c = Config::load(Some("lea.toml".into()), &Overrides::default()).unwrap();
            assert_eq!(c.jwt_role_map["lea-ewo"], "la_officer");
            jail.set_env("LEA_NOTICES_JWT_ROLE_MAP", "no-equals-sign");
            assert!(Config::load(None, &Overrides::default()).is_err());
            Ok(())
        });
    }

    #[test]
    fn defaults_listen_locally_on_sqlite() {
        figment::Jail::expect_with(|_| {
            let c = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(c, Config::default());
            Ok(())
        });
    }
}
