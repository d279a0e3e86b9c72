//! Persistence by aggregate, with a PostgreSQL implementation (production) and a
//! SQLite implementation (the embedded default).
//!
//! Each aggregate has a file with its trait, its SQL (written once over
//! [`dialect::Dialect`], what differs between the backends) and its row types:
//! [`notices`], [`payments`], [`marks`] (with the summary's and the breach
//! search's reads), [`breaches`], [`requests`] (schools' penalty-notice
//! requests), [`schools`], [`audit`], [`policy`], [`idempotency`], [`serials`],
//! [`keys`] and [`statutory_events`] (the events on the statutory dates
//! recorded, once each). A unit of work, [`StoreTx`], is their sum plus commit and
//! rollback; `tx.rs` holds its connection and the bounds the shared SQL needs.
//!
//! Writes go through a [`StoreTx`]: the request-id claim, the change itself and its
//! audit event commit together or not at all. Audit events are appended at
//! commit, linked into their authority's hash chain. SQLite write transactions are
//! `BEGIN IMMEDIATE` (one writer at a time); PostgreSQL relies on unique keys and
//! row locks, so concurrent requests cannot break an invariant on either backend.

pub mod access_log;
pub mod audit;
pub mod breaches;
mod dialect;
pub mod idempotency;
pub mod keys;
pub mod marks;
pub mod measures;
pub mod notices;
mod outage;
pub mod partitions;
pub mod payments;
pub mod policy;
mod postgres;
#[doc(hidden)]
pub use postgres::register_lookups;
pub mod rectifications;
pub mod relay;
pub mod requests;
pub mod retention;
mod rows;
pub mod schools;
pub mod sen;
pub mod serials;
pub mod sharing;
mod sqlite;
pub mod statutory_events;
mod tx;

use std::{path::Path, sync::Arc, time::Duration};

use async_trait::async_trait;

pub use access_log::{AccessEvent, AccessFilter, AccessLogStore, NewAccess, ReadBy, ReplacedMark};
pub use audit::{AuditEvent, AuditFilter, AuditStore, NewAuditEvent};
pub use breaches::{BreachStore, DecidedBreachFilter};
pub use idempotency::{IdempotencyStore, RequestKey, StoredRequest};
pub use keys::KeyStore;
pub use marks::search::{BreachSearchStore, QualifyingFilter};
pub use marks::summary::{AttendanceScope, EnrolmentFigures, SchoolTotals, SummaryStore};
pub use marks::{MarkStore, SchoolMark};
pub use measures::{CaseFilter, MeasureStore};
pub use notices::{NoticeFilter, NoticeStore};
pub use partitions::{PartitionStore, YearMarks};
pub use payments::{PaymentFilter, PaymentStore};
pub use policy::PolicyStore;
pub use postgres::PgStore;
pub use rectifications::RectificationStore;
pub use relay::RelayStore;
pub use requests::PenaltyNoticeRequestStore;
pub use retention::{PurgedBatch, RetentionStore};
pub use schools::{SchoolCounts, SchoolStore};
pub use sen::{SenStore, SenWrite};
pub use serials::SerialStore;
pub use sharing::SharingStore;
pub use sqlite::SqliteStore;
pub use statutory_events::StatutoryEventStore;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A row with the same natural key exists (for example a policy version with
    /// the same effective date).
    #[error("{0} already exists")]
    Duplicate(String),
    /// A stored value the code cannot read back: a bug or a hand-edited database.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database URL '{0}' is neither postgres:// nor sqlite:")]
    UnsupportedUrl(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The store is waiting to apply its migrations (`serve` migrating on start
    /// once the database answers): an outage until they are applied.
    #[error("the database's migrations are not applied yet")]
    NotMigrated,
}

pub use postgres::replica::ReplicaLag;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A table's primary key, foreign keys and other indexes, each with its columns
/// in key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableKeys {
    pub table: String,
    pub primary_key: Vec<String>,
    pub foreign_keys: Vec<Vec<String>>,
    /// Every index but the primary key's.
    pub indexes: Vec<Vec<String>>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Applies this backend's migrations.
    async fn migrate(&self) -> StoreResult<()>;

    /// Starts a unit of work that may write. On SQLite it takes the single write
    /// lock at once (`BEGIN IMMEDIATE`). Dropping it unfinished closes its
    /// connection, so the transaction ends on the server and nothing half-done
    /// goes back to the pool.
    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>>;

    /// Starts a read-only unit of work: every read of one call sees one snapshot
    /// (REPEATABLE READ on PostgreSQL, a deferred transaction on SQLite).
    async fn begin_read(&self) -> StoreResult<Box<dyn StoreTx>>;

    /// Starts a read-only unit that may run on the read replica (see
    /// `postgres::replica`): only for units that tolerate one. It sees every
    /// write committed before it began, as [`Self::begin_read`] does; without a
    /// replica (or when it lags past its bound, or is away) it is that.
    async fn begin_replica_read(&self) -> StoreResult<Box<dyn StoreTx>> {
        self.begin_read().await
    }

    /// The replica's lag behind the primary, for the health checks: `None`
    /// without a replica; an error when it cannot be measured (either server
    /// away, or no answer within `within`).
    async fn replica_lag(&self, _within: Duration) -> Option<StoreResult<ReplicaLag>> {
        None
    }

    /// Starts a read of exactly one statement, outside an explicit transaction:
    /// a single statement is its own transaction and sees one snapshot, so the
    /// `BEGIN` and `COMMIT` round trips buy nothing. Only for units that make one
    /// store call of one statement (a second would see another snapshot).
    async fn begin_single_read(&self) -> StoreResult<Box<dyn StoreTx>>;

    /// Makes the register's partitions of school years `first_year..=last_year`
    /// (by their Septembers' calendar years) that do not exist yet, in a short
    /// transaction of its own: before a write of marks dated in them, and ahead
    /// of time by the scheduler. Idempotent, and safe when replicas do it at
    /// once. Nothing to do where the register is not partitioned (SQLite).
    /// Years before `droppable_before` may have been dropped by another
    /// replica's purge, so they are always asked for, never taken as made.
    async fn make_register_partitions(
        &self,
        first_year: i32,
        last_year: i32,
        droppable_before: i32,
    ) -> StoreResult<()>;

    /// The keys of every table of the schema (for the sharding check), migration
    /// bookkeeping and partitions (their parent's keys) excluded.
    async fn table_keys(&self) -> StoreResult<Vec<TableKeys>>;

    /// Connections in the pool, and how many of them are idle.
    fn pool_usage(&self) -> (u32, usize);

    /// Checks that the database answers a trivial query, for the health service.
    /// It uses an idle pool connection, or opens one; when every connection is
    /// busy it opens one of its own rather than queue behind the calls, so a
    /// saturated pool is not taken for an unreachable database. No answer
    /// within `within` is a failure, whatever the pool's acquire timeout.
    async fn ping(&self, within: Duration) -> StoreResult<()>;

    /// Waits for connections to close.
    async fn close(&self);
}

/// One unit of work: every read and write of a use case, on one connection in one
/// transaction; the sum of the aggregates' traits.
#[async_trait]
pub trait StoreTx:
    IdempotencyStore
    + AuditStore
    + AccessLogStore
    + PolicyStore
    + SerialStore
    + NoticeStore
    + PaymentStore
    + MarkStore
    + SummaryStore
    + BreachSearchStore
    + BreachStore
    + PenaltyNoticeRequestStore
    + SchoolStore
    + KeyStore
    + StatutoryEventStore
    + MeasureStore
    + RelayStore
    + SharingStore
    + RetentionStore
    + SenStore
    + RectificationStore
    + PartitionStore
    + Send
{
    async fn commit(self: Box<Self>) -> StoreResult<()>;

    /// Ends the unit of work, undoing its writes.
    async fn rollback(self: Box<Self>) -> StoreResult<()>;
}

tx::sql_impl! {
    impl StoreTx for Tx where [DB: marks::MarkSql + notices::NoticeSql + access_log::AccessSql + sen::SenSql] {
        async fn commit(mut self: Box<Self>) -> StoreResult<()> {
            if self.read_only {
                // It cannot write in its transaction: its reads are recorded
                // right after it, in autocommit on the same connection, before
                // the use case answers (see `access_log`).
                self.end_transaction("COMMIT").await?;
                if let Some(primary) = self.access_on.take()
                    && !self.pending_access.is_empty()
                {
                    // On a replica: the entries go to the primary, on one of
                    // its connections; the replica's goes back to its pool.
                    let replica = std::mem::replace(&mut self.conn, primary.acquire().await?);
                    drop(replica);
                }
                // Its entries are writes: on SQLite they queue with the others.
                if !self.pending_access.is_empty()
                    && let Some(turns) = self.write_turns.take()
                {
                    self.write_turn = Some(tx::write_turn(&turns).await?);
                }
                self.write_pending_access().await?;
                self.mark_finished();
                return Ok(());
            }
            self.write_pending_access().await?;
            self.write_pending_audit().await?;
            self.end("COMMIT").await
        }

        async fn rollback(self: Box<Self>) -> StoreResult<()> {
            self.end("ROLLBACK").await
        }
    }
}

/// Opens the store a database URL names: `postgres://...` or `sqlite:...`.
/// On PostgreSQL the pool is lazy: nothing is connected until it is first used,
/// so a server that is away (or refuses the login) is found out by the first
/// call or health check, not here, and `serve` starts without it. A call waits
/// at most `acquire_timeout` for a connection (so an unreachable server answers
/// within it); SQLite opens its file here, and keeps sqlx's longer acquire
/// timeout, since its calls only ever wait for the one write lock.
pub async fn connect(
    database_url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> StoreResult<Arc<dyn Store>> {
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        Ok(Arc::new(
            PgStore::connect(database_url, max_connections, acquire_timeout).await?,
        ))
    } else if database_url.starts_with("sqlite:") {
        Ok(Arc::new(
            SqliteStore::connect(database_url, max_connections).await?,
        ))
    } else {
        Err(StoreError::UnsupportedUrl(database_url.to_string()))
    }
}

/// The embedded default: a SQLite file in `data_dir`, created with the directory
/// on first use.
pub fn sqlite_url_in(data_dir: &Path) -> std::io::Result<String> {
    std::fs::create_dir_all(data_dir)?;
    Ok(format!(
        "sqlite://{}",
        data_dir.join("lea-notices.sqlite3").display()
    ))
}
