//! The `lea-notices` command: `serve`, `migrate`, `verify-audit` and the tools.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::sync::Arc;

use lea_notices::{
    api::auth::{self, DevKey, Verifier},
    clock::{Clock, SystemClock},
    config::{Config, Overrides},
    domain::{actor::Role, identifiers::LaCode},
    metrics, server, store, telemetry,
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
    /// Recomputes an authority's audit-log hash chain from its first event:
    /// prints that it is intact, or its first broken link and exits with 1.
    VerifyAudit {
        /// The authority (LA code).
        #[arg(long)]
        authority: String,
    },
    /// Prints a short-lived bearer token signed with the development key.
    Token {
        /// The caller's authority (LA code).
        #[arg(long)]
        authority: String,
        /// school_staff, la_officer, police, finance, auditor or admin.
        #[arg(long)]
        role: String,
        /// The token's subject.
        #[arg(long, default_value = "dev-user")]
        subject: String,
        /// For school staff: a school's URN (repeat for several).
        #[arg(long = "school")]
        schools: Vec<String>,
        /// Minutes until the token expires.
        #[arg(long, default_value_t = 60)]
        ttl_minutes: i64,
    },
    /// Prints the DfE statutory return ("parental responsibility measures") of an
    /// authority for an academic year, read from the database.
    StatutoryReturn {
        /// The authority (LA code).
        #[arg(long)]
        authority: String,
        /// The calendar year the academic year starts in (2025 for 2025/26).
        #[arg(long)]
        year: i32,
        /// Outcomes as of this date (YYYY-MM-DD); default today.
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        /// Output format: csv (one row per main reason, and one for all).
        #[arg(long, default_value = "csv", value_parser = ["csv"])]
        format: String,
    },
    /// Writes a notice's letter (NoticeService.RenderNotice) to a PDF file.
    NoticeLetter {
        /// The notice: `authorities/850/notices/850-2025-000001` or its number.
        notice: String,
        /// Where to write the PDF.
        #[arg(long)]
        out: std::path::PathBuf,
        /// The server, for example http://127.0.0.1:50051.
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        server: String,
        /// Bearer token of a role that may read the notice.
        #[arg(long, env = "LEA_NOTICES_TOKEN", hide_env_values = true)]
        token: String,
        /// CA certificate (PEM) for an https server.
        #[arg(long)]
        ca_file: Option<std::path::PathBuf>,
    },
    /// Loads the DfE's GIAS all-establishments file (edubasealldata<date>.csv,
    /// Windows-1252) into an authority's school register on a server.
    ImportSchools {
        /// The CSV file.
        file: std::path::PathBuf,
        /// The server, for example http://127.0.0.1:50051.
        #[arg(long)]
        server: String,
        /// The authority (LA code) whose register it is.
        #[arg(long)]
        authority: String,
        /// Also load other authorities' establishments (by default only those
        /// whose "LA (code)" is the authority's).
        #[arg(long)]
        all_authorities: bool,
        /// Bearer token of a role that may import schools (la_officer, admin).
        #[arg(long, env = "LEA_NOTICES_TOKEN", hide_env_values = true)]
        token: String,
        /// CA certificate (PEM) for an https server.
        #[arg(long)]
        ca_file: Option<std::path::PathBuf>,
    },
    /// Streams an MIS register export (CSV: school_urn, upn, date, session,
    /// code, record_time; or mark strings; or a DfE CTF) to a server's
    /// RecordMarks.
    ImportMarks {
        /// The CSV file, or a CTF (XML).
        file: std::path::PathBuf,
        /// The server, for example http://127.0.0.1:50051.
        #[arg(long)]
        server: String,
        /// The authority (LA code) the marks belong to.
        #[arg(long)]
        authority: String,
        /// Bearer token of a role that may record marks.
        #[arg(long, env = "LEA_NOTICES_TOKEN", hide_env_values = true)]
        token: String,
        /// Marks per RecordMarks message (at most 5,000).
        #[arg(long, default_value_t = 5_000)]
        batch_size: usize,
        /// Batches per call; the server also ends a call at its request
        /// timeout, and the import resumes on a new one.
        #[arg(long, default_value_t = lea_notices::import::BATCHES_PER_CALL)]
        batches_per_call: usize,
        /// CA certificate (PEM) for an https server.
        #[arg(long)]
        ca_file: Option<std::path::PathBuf>,
        /// The export's column for each field, `school_urn=URN,upn=UPN,...`
        /// (fields: school_urn, upn, date, session, code, record_time,
        /// start_date, marks); a field not named is read from the column of
        /// its own name.
        #[arg(long)]
        columns: Option<String>,
        /// The school's URN for a file with no school_urn column (or a CTF
        /// whose header names none).
        #[arg(long)]
        school_urn: Option<String>,
        /// When the school recorded the marks (RFC 3339, or UK local time
        /// `YYYY-MM-DD HH:MM`), for a file with no record_time column; a CTF's
        /// header DateTime otherwise.
        #[arg(long)]
        recorded_at: Option<String>,
        /// The days a mark string's pairs (AM, PM) stand for: weekdays
        /// (Monday to Friday) or all (every calendar day).
        #[arg(long, value_enum, default_value_t = lea_notices::import::MarkDays::Weekdays)]
        mark_days: lea_notices::import::MarkDays,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config, &cli.overrides).context("reading configuration")?;
    let otlp = std::env::var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .or_else(|_| std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT"))
        .ok()
        .filter(|e| !e.is_empty());
    let telemetry = telemetry::init(Some(config.log_format), otlp.as_deref())?;

    if let Command::Token {
        authority,
        role,
        subject,
        schools,
        ttl_minutes,
    } = &cli.command
    {
        let authority = LaCode::parse(authority).map_err(anyhow::Error::msg)?;
        let role = Role::parse(role).with_context(|| format!("unknown role '{role}'"))?;
        let key = DevKey::load_or_create(&config.data_dir)?;
        let claims = auth::claims(
            subject,
            &authority,
            role,
            schools,
            (&config.jwt_issuer, &config.jwt_audience),
            chrono::Duration::minutes(*ttl_minutes),
            SystemClock.now(),
        );
        println!("{}", key.sign(&claims));
        return Ok(());
    }

    if let Command::NoticeLetter {
        notice,
        out,
        server,
        token,
        ca_file,
    } = &cli.command
    {
        let options = lea_notices::letter_client::LetterOptions {
            notice: notice.clone(),
            server: server.clone(),
            token: token.clone(),
            ca_file: ca_file.clone(),
            out: out.clone(),
        };
        let (pages, bytes) = lea_notices::letter_client::fetch_notice_letter(&options).await?;
        println!("{}: {pages} page(s), {bytes} bytes", out.display());
        telemetry.shutdown().await;
        return Ok(());
    }

    if let Command::ImportMarks {
        file,
        server,
        authority,
        token,
        batch_size,
        batches_per_call,
        ca_file,
        columns,
        school_urn,
        recorded_at,
        mark_days,
    } = &cli.command
    {
        use lea_notices::import::layout;
        use std::io::IsTerminal;
        let layout = layout::Layout {
            columns: match columns {
                Some(spec) => layout::parse_columns(spec)?,
                None => Default::default(),
            },
            school_urn: school_urn.clone(),
            recorded_at: recorded_at
                .as_deref()
                .map(layout::parse_record_time)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--recorded-at: {e}"))?,
            mark_days: *mark_days,
        };
        let started = std::time::Instant::now();
        let report = lea_notices::import::import_marks(lea_notices::import::ImportOptions {
            file: file.clone(),
            server: server.clone(),
            authority: authority.clone(),
            token: token.clone(),
            batch_size: *batch_size,
            batches_per_call: *batches_per_call,
            ca_file: ca_file.clone(),
            progress: std::io::stderr().is_terminal(),
            layout,
        })
        .await?;
        let c = &report.counts;
        println!(
            "{} marks in {} batches: {} inserted, {} replaced, {} unchanged, {} outdated ({:.1} s, {} calls)",
            c.total(),
            report.batches,
            c.inserted,
            c.replaced,
            c.unchanged,
            c.outdated,
            started.elapsed().as_secs_f64(),
            report.calls
        );
        if report.resumed > 0 {
            println!(
                "{} cut calls resumed; {} unconfirmed batches sent again (none applied twice)",
                report.resumed, report.resent
            );
        }
        return Ok(());
    }

    if let Command::ImportSchools {
        file,
        server,
        authority,
        all_authorities,
        token,
        ca_file,
    } = &cli.command
    {
        use std::io::IsTerminal;
        let report = lea_notices::import_schools::import_schools(
            lea_notices::import_schools::SchoolImportOptions {
                file: file.clone(),
                server: server.clone(),
                authority: authority.clone(),
                all_authorities: *all_authorities,
                token: token.clone(),
                ca_file: ca_file.clone(),
                progress: std::io::stderr().is_terminal(),
            },
        )
        .await?;
        println!(
            "{} establishments read: {} added, {} changed, {} unchanged, {} of other authorities skipped ({} calls)",
            report.rows,
            report.added,
            report.changed,
            report.unchanged,
            report.skipped_other_authorities,
            report.calls
        );
        return Ok(());
    }

    let url = config
        .resolved_database_url()
        .context("creating the data directory")?;
    anyhow::ensure!(
        config.db_acquire_timeout_secs > 0,
        "db_acquire_timeout_secs must be at least 1"
    );
    let acquire_timeout = std::time::Duration::from_secs(config.db_acquire_timeout_secs);
    let store = store::connect(&url, config.max_connections, acquire_timeout)
        .await
        .context("opening the database")?;
    let is_sqlite = store.backend() == store::Backend::Sqlite;

    match cli.command {
        Command::Migrate => {
            store.migrate().await.context("applying migrations")?;
            tracing::info!("migrations applied");
        }
        Command::VerifyAudit { authority } => {
            let authority = LaCode::parse(&authority).map_err(anyhow::Error::msg)?;
            let app = lea_notices::app::App::new(store.clone(), Arc::new(SystemClock));
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
            return Ok(());
        }
        Command::Token { .. }
        | Command::ImportMarks { .. }
        | Command::ImportSchools { .. }
        | Command::NoticeLetter { .. } => {
            unreachable!("handled above")
        }
        Command::StatutoryReturn {
            authority,
            year,
            as_of,
            format: _,
        } => {
            let authority = LaCode::parse(&authority).map_err(anyhow::Error::msg)?;
            let app = lea_notices::app::App::new(store.clone(), Arc::new(SystemClock));
            let operator = lea_notices::app::Caller {
                actor: lea_notices::domain::actor::Actor {
                    subject: "lea-notices statutory-return".into(),
                    role: Some(Role::Auditor),
                },
                authority: authority.clone(),
                role: Role::Auditor,
                schools: vec![],
            };
            let figures = app
                .statutory_return(operator, year, as_of)
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            print!(
                "{}",
                lea_notices::export::statutory_return_csv(authority.as_str(), &figures)?
            );
        }
        Command::Serve => {
            if config.migrate_on_start.unwrap_or(is_sqlite) {
                store.migrate().await.context("applying migrations")?;
            }
            let verifier = Arc::new(verifier(&config)?);
            let options = server::ServeOptions::from_config(&config)?;
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
            let application =
                server::Application::new(store.clone(), verifier).with_options(options);
            let serving = application.serve(listener, async move {
                let mut stopped = stopped;
                let _ = stopped.wait_for(|s| *s).await;
            });
            tokio::pin!(serving);
            let grace = std::time::Duration::from_secs(config.shutdown_grace_secs);
            tokio::select! {
                result = &mut serving => result?,
                () = async {
                    shutdown_signal().await;
                    let _ = stop.send(true);
                    tokio::time::sleep(grace).await;
                } => {
                    tracing::warn!(?grace, "grace period over: abandoning calls still in flight");
                }
            }
            store.close().await;
        }
    }
    telemetry.shutdown().await;
    Ok(())
}

/// The largest `jwt_leeway_secs` accepted.
const MAX_JWT_LEEWAY_SECS: u64 = 300;

/// What `verify-audit` prints.
fn verification_report(authority: &LaCode, s: &lea_notices::domain::audit::ChainSummary) -> String {
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

/// The token verifier the configuration asks for; the development key only when
/// allowed, so production never trusts it by accident.
fn verifier(config: &Config) -> anyhow::Result<Verifier> {
    let (issuer, audience) = (&config.jwt_issuer, &config.jwt_audience);
    // A larger leeway would stretch every token's life by as much.
    anyhow::ensure!(
        config.jwt_leeway_secs <= MAX_JWT_LEEWAY_SECS,
        "jwt_leeway_secs is {}: at most {MAX_JWT_LEEWAY_SECS}",
        config.jwt_leeway_secs
    );
    let leeway = std::time::Duration::from_secs(config.jwt_leeway_secs);
    match (&config.jwt_keys_file, config.dev_tokens_enabled()) {
        (Some(file), false) => Ok(Verifier::from_file(file, issuer, audience)?.with_leeway(leeway)),
        (None, true) => {
            tracing::warn!(
                "accepting tokens signed with the development key in {}",
                config.data_dir.display()
            );
            Ok(DevKey::load_or_create(&config.data_dir)?
                .verifier(issuer, audience)
                .with_leeway(leeway))
        }
        (Some(_), true) => anyhow::bail!("set either jwt_keys_file or dev_tokens, not both"),
        (None, false) => anyhow::bail!(
            "no token keys configured: set LEA_NOTICES_JWT_KEYS_FILE (PEM or JWKS), \
             or LEA_NOTICES_DEV_TOKENS=true for the development key"
        ),
    }
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
