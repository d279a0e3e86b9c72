//! The `lea-notices` command: one file per subcommand, each with its
//! arguments and its `run` (`serve.rs`, `migrate.rs`, `token.rs`, ...), and
//! what they share in `connect.rs`. A new subcommand is a file and one arm of
//! [`Command`].

pub mod columns;
pub mod connect;
pub mod import_marks;
pub mod import_payments;
pub mod import_schools;
mod migrate;
pub mod notice_letter;
mod purge;
pub mod relay_events;
mod serve;
pub mod statutory_return;
mod token;
mod verify_audit;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    version,
    about = "School-attendance enforcement for English local authorities"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the gRPC server (migrating the embedded SQLite default first).
    Serve(serve::Args),
    /// Applies database migrations and exits.
    Migrate(migrate::Args),
    /// Recomputes an authority's audit-log hash chain from its first event:
    /// prints that it is intact, or its first broken link and exits with 1.
    VerifyAudit(verify_audit::Args),
    /// Removes or pseudonymises what is past retention today, for every
    /// authority, in bounded batches (each audited); resumable.
    Purge(purge::Args),
    /// Prints a short-lived bearer token signed with the development key.
    Token(token::Args),
    /// Prints the DfE statutory return ("parental responsibility measures") of an
    /// authority for an academic year, read from the database.
    StatutoryReturn(statutory_return::Args),
    /// Writes a notice's letter (NoticeService.RenderNotice) to a PDF file.
    NoticeLetter(notice_letter::Args),
    /// Loads the DfE's GIAS all-establishments file (edubasealldata<date>.csv,
    /// Windows-1252) into an authority's school register on a server.
    ImportSchools(import_schools::Args),
    /// Streams an MIS register export (CSV: school_urn, upn, date, session,
    /// code, record_time; or mark strings; or a DfE CTF) to a server's
    /// RecordMarks.
    ImportMarks(import_marks::Args),
    /// Records a payment provider's daily export (CSV: transaction id, amount,
    /// paid date, references; or GOV.UK Pay's or Stripe's own) over a server's
    /// PaymentService, each payment once, split over the notices it quotes.
    ImportPayments(import_payments::Args),
    /// Publishes every authority's event feed (the CloudEvents WatchEvents
    /// sends) to a RabbitMQ exchange with publisher confirms, resuming from
    /// the last confirmed sequence it stored in the database.
    RelayEvents(relay_events::Args),
}

impl Cli {
    /// Runs the subcommand.
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Migrate(args) => migrate::run(args).await,
            Command::VerifyAudit(args) => verify_audit::run(args).await,
            Command::Purge(args) => purge::run(args).await,
            Command::Token(args) => token::run(args),
            Command::StatutoryReturn(args) => statutory_return::run(args).await,
            Command::NoticeLetter(args) => notice_letter::run(args).await,
            Command::ImportSchools(args) => import_schools::run(args).await,
            Command::ImportMarks(args) => import_marks::run(args).await,
            Command::ImportPayments(args) => import_payments::run(args).await,
            Command::RelayEvents(args) => relay_events::run(args).await,
        }
    }
}
