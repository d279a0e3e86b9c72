//! `serve`: the gRPC server, with its metrics listener, until SIGTERM or
//! Ctrl-C (then a grace period for the calls in flight).

use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use super::connect::{self, ConfigArgs, open_store, start_telemetry};
use crate::api::layers::auth::{ClaimMapping, DevKey, Verifier};
use crate::api::layers::jwks::{RemoteKeys, Source};
use crate::server::{self, config::Config, metrics, migrating::MigratingStore};
use crate::store;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: ConfigArgs,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let config = args.config.load()?;
    let telemetry = start_telemetry(Some(config.log_format))?;
    // On PostgreSQL nothing is connected yet: the server starts whether or not
    // the database answers, and health follows it from the first check.
    let store = open_store(&config).await?;
    let options = server::ServeOptions::from_config(&config)?;
    let is_sqlite = store.backend() == store::Backend::Sqlite;
    let mut migrating = None;
    let store = match config.migrate_on_start.unwrap_or(is_sqlite) {
        // The embedded file: migrated before serving, a failure stops `serve`.
        true if is_sqlite => {
            store.migrate().await.context("applying migrations")?;
            store
        }
        // PostgreSQL: in the background once it answers, the store an outage
        // until then.
        true => {
            let gated = MigratingStore::new(store);
            migrating = Some(gated.clone());
            gated
        }
        false => store,
    };
    let (interval, timeout) = (options.health_check_interval, options.health_check_timeout);
    let migrated = async move {
        if let Some(store) = migrating {
            store
                .migrate_when_answering(interval, timeout)
                .await
                .context("applying migrations")?;
        }
        std::future::pending::<anyhow::Result<std::convert::Infallible>>().await
    };
    let verifier = Arc::new(verifier(&config).await?);
    let listener = TcpListener::bind(config.listen_addr)
        .await
        .with_context(|| format!("listening on {}", config.listen_addr))?;
    // SIGTERM stops new calls at once; in-flight ones get the grace period.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    if let Some(addr) = config.metrics_addr {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening for metrics on {addr}"))?;
        let mut stopped = stopped.clone();
        tokio::spawn(metrics::serve_metrics(
            listener,
            store.clone(),
            async move {
                let _ = stopped.wait_for(|s| *s).await;
            },
        ));
        tracing::info!(%addr, "serving /metrics");
    }
    let mut application = server::Application::new(store.clone(), verifier).with_options(options);
    if let Some(checkpoints) = connect::checkpoints(&config)? {
        application = application.with_checkpoints(Arc::new(checkpoints));
        let interval = config.audit_checkpoint_interval_secs;
        if interval > 0 {
            let mut stopped = stopped.clone();
            tokio::spawn(publish_checkpoints(
                application.app().clone(),
                std::time::Duration::from_secs(interval),
                async move {
                    let _ = stopped.wait_for(|s| *s).await;
                },
            ));
        }
    }
    // Every replica on this database signs and accepts the same page tokens:
    // their key is read once the database answers (and is migrated), so
    // `serve` starts with the database away.
    let app = application.app().clone();
    tokio::spawn(async move {
        let mut logged = false;
        while let Err(e) = crate::api::pagination::install_token_key_from(&app).await {
            if !logged {
                tracing::warn!(error = %e, "page-token key not read yet: retrying until the database answers");
                logged = true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    });
    let serving = application.serve(listener, async move {
        let mut stopped = stopped;
        let _ = stopped.wait_for(|s| *s).await;
    });
    tokio::pin!(serving);
    let grace = std::time::Duration::from_secs(config.shutdown_grace_secs);
    tokio::select! {
        result = &mut serving => result?,
        failed = migrated => match failed? {},
        () = async {
            shutdown_signal().await;
            let _ = stop.send(true);
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(?grace, "grace period over: abandoning calls still in flight");
        }
    }
    store.close().await;
    telemetry.shutdown().await;
    Ok(())
}

/// Publishes a checkpoint of every authority whose audit chain moved, at start
/// and every `interval`, until `stop`. A round that fails (the database away)
/// is logged and the next one tries again.
async fn publish_checkpoints(
    app: crate::app::App,
    interval: std::time::Duration,
    stop: impl std::future::Future<Output = ()>,
) {
    let rounds = async {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match app.publish_audit_checkpoints().await {
                Ok(n) => tracing::debug!(published = n, "audit checkpoints"),
                Err(e) => tracing::error!(error = %e, "publishing audit checkpoints"),
            }
        }
    };
    tokio::select! {
        () = rounds => {},
        () = stop => {},
    }
}

/// The largest `jwt_leeway_secs` accepted.
const MAX_JWT_LEEWAY_SECS: u64 = 300;
/// The token verifier the configuration asks for; the development key only when
/// allowed, so production never trusts it by accident. The provider's keys
/// (a JWKS URL, or discovery) are fetched once here and kept fresh by a task.
async fn verifier(config: &Config) -> anyhow::Result<Verifier> {
    let (issuer, audience) = (&config.jwt_issuer, &config.jwt_audience);
    // A larger leeway would stretch every token's life by as much.
    anyhow::ensure!(
        config.jwt_leeway_secs <= MAX_JWT_LEEWAY_SECS,
        "jwt_leeway_secs is {}: at most {MAX_JWT_LEEWAY_SECS}",
        config.jwt_leeway_secs
    );
    let leeway = std::time::Duration::from_secs(config.jwt_leeway_secs);
    let claims = ClaimMapping::new(
        &config.jwt_authority_claim,
        config.jwt_authority.as_deref(),
        &config.jwt_role_claim,
        &config.jwt_role_map,
        &config.jwt_schools_claim,
    )
    .map_err(anyhow::Error::msg)?;
    let url = config.jwt_jwks_url.as_deref().filter(|u| !u.is_empty());
    let sources = [
        config.jwt_keys_file.is_some(),
        url.is_some(),
        config.jwt_oidc_discovery,
    ];
    anyhow::ensure!(
        sources.iter().filter(|s| **s).count() <= 1,
        "set one of jwt_keys_file, jwt_jwks_url and jwt_oidc_discovery"
    );
    let remote = match (url, config.jwt_oidc_discovery) {
        (Some(url), _) => Some(Source::jwks(url)?),
        (None, true) => Some(Source::discovery(issuer)?),
        (None, false) => None,
    };
    let verifier = match (&config.jwt_keys_file, remote, config.dev_tokens_enabled()) {
        (_, _, true) if config.has_token_keys() => anyhow::bail!(
            "set either the token keys (jwt_keys_file, jwt_jwks_url, jwt_oidc_discovery) or dev_tokens, not both"
        ),
        (Some(file), _, false) => Verifier::from_file(file, issuer, audience)?,
        (None, Some(source), false) => {
            // Below a second, callers queued behind a fetch would each fetch again.
            anyhow::ensure!(
                config.jwt_jwks_min_refetch_ms >= 1000,
                "jwt_jwks_min_refetch_ms is {}: at least 1000, so unknown key ids cannot hammer the provider",
                config.jwt_jwks_min_refetch_ms
            );
            let min_refetch = std::time::Duration::from_millis(config.jwt_jwks_min_refetch_ms);
            let keys = RemoteKeys::new(source, issuer, min_refetch).await;
            anyhow::ensure!(
                config.jwt_jwks_refresh_secs > 0,
                "jwt_jwks_refresh_secs must be at least 1"
            );
            keys.keep_fresh(std::time::Duration::from_secs(config.jwt_jwks_refresh_secs));
            Verifier::from_provider(keys, issuer, audience)
        }
        (None, None, true) => {
            tracing::warn!(
                "accepting tokens signed with the development key in {}",
                config.data_dir.display()
            );
            DevKey::load_or_create(&config.data_dir)?.verifier(issuer, audience)
        }
        (_, _, _) => anyhow::bail!(
            "no token keys configured: set LEA_NOTICES_JWT_KEYS_FILE (PEM or JWKS), \
             LEA_NOTICES_JWT_JWKS_URL or LEA_NOTICES_JWT_OIDC_DISCOVERY=true, \
             or LEA_NOTICES_DEV_TOKENS=true for the development key"
        ),
    };
    Ok(verifier.with_leeway(leeway).with_claims(claims))
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub(super) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
