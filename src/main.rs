//! The `lea-notices` command: `serve` and `migrate`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use lea_notices::{
    config::{Config, Overrides},
    server, store, telemetry,
};
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(
    version,
    about = "School-attendance enforcement for English local authorities"
)]
struct Cli {
    /// TOML configuration file (also LEA_NOTICES_CONFIG).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(flatten)]
    overrides: Overrides,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the gRPC server (migrating the embedded SQLite default first).
    Serve,
    /// Applies database migrations and exits.
    Migrate,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config, &cli.overrides).context("reading configuration")?;
    telemetry::init(config.log_format);

    let url = config
        .resolved_database_url()
        .context("creating the data directory")?;
    let store = store::connect(&url, config.max_connections)
        .await
        .context("opening the database")?;
    let is_sqlite = store.backend() == store::Backend::Sqlite;

    match cli.command {
        Command::Migrate => {
            store.migrate().await.context("applying migrations")?;
            tracing::info!("migrations applied");
        }
        Command::Serve => {
            if config.migrate_on_start.unwrap_or(is_sqlite) {
                store.migrate().await.context("applying migrations")?;
            }
            let listener = TcpListener::bind(config.listen_addr)
                .await
                .with_context(|| format!("listening on {}", config.listen_addr))?;
            server::serve(store.clone(), listener, shutdown_signal()).await?;
            store.close().await;
        }
    }
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
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
