//! A unit of work: one pool connection in one transaction, and the bounds the
//! shared SQL needs of a sqlx database, written once in [`sql_impl!`].

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

use sqlx::pool::PoolConnection;
use sqlx::{Database, Executor, Pool};

use super::{StoreError, StoreResult};
use crate::domain::identifiers::LaCode;
use crate::domain::policy::PolicyVersion;

/// Writes an `impl` of `Tx<DB>` (inherent, or of an aggregate's trait) over
/// every sqlx database the shared SQL runs on, with what that SQL needs of the
/// database: to run statements on a connection, and to bind and read the Rust
/// types it uses. Rust does not carry such bounds from one `impl` to another,
/// so they are written here once for every aggregate.
///
/// `where [DB: Trait]` adds what an aggregate's own SQL needs of a backend
/// beyond [`Dialect`](super::dialect::Dialect) (its trait, in its own file).
macro_rules! sql_impl {
    (impl $trait:ident for Tx $(where [$($extra:tt)*])? { $($body:tt)* }) => {
        $crate::store::tx::sql_impl!(@bounded
            [#[async_trait::async_trait] impl<DB> $trait for $crate::store::tx::Tx<DB>]
            [$($($extra)*)?]
            { $($body)* });
    };
    (impl Tx $(where [$($extra:tt)*])? { $($body:tt)* }) => {
        $crate::store::tx::sql_impl!(@bounded
            [impl<DB> $crate::store::tx::Tx<DB>]
            [$($($extra)*)?]
            { $($body)* });
    };
    (@bounded [$($head:tt)*] [$($extra:tt)*] { $($body:tt)* }) => {
        $($head)*
        where
            DB: $crate::store::dialect::Dialect,
            for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
            usize: sqlx::ColumnIndex<DB::Row>,
            for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB> + sqlx::ColumnIndex<DB::Row>,
            for<'q> Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> &'q [u8]: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            String: $crate::store::dialect::Column<DB>,
            Option<String>: $crate::store::dialect::Column<DB>,
            i64: $crate::store::dialect::Column<DB>,
            Option<i64>: $crate::store::dialect::Column<DB>,
            i32: $crate::store::dialect::Column<DB>,
            Option<i32>: $crate::store::dialect::Column<DB>,
            i16: $crate::store::dialect::Column<DB>,
            bool: $crate::store::dialect::Column<DB>,
            chrono::NaiveDate: $crate::store::dialect::Column<DB>,
            Option<chrono::NaiveDate>: $crate::store::dialect::Column<DB>,
            chrono::DateTime<chrono::Utc>: $crate::store::dialect::Column<DB>,
            Option<chrono::DateTime<chrono::Utc>>: $crate::store::dialect::Column<DB>,
            Vec<u8>: $crate::store::dialect::Column<DB>,
            $($extra)*
        {
            $($body)*
        }
    };
}
pub(super) use sql_impl;

/// An audit event waiting for its unit to commit.
pub(super) struct PendingAudit {
    pub(super) authority: String,
    pub(super) at: DateTime<Utc>,
    pub(super) actor_subject: String,
    pub(super) actor_role: &'static str,
    pub(super) action: String,
    pub(super) resource: String,
    pub(super) request_id: String,
    /// The details as stored (and hashed).
    pub(super) details: String,
}

/// Every school's latest school weeks as read by earlier read-only units, under
/// `(authority, last Monday, weeks per school, the authority's (epoch, count)
/// of changes to its school weeks)`. A hit is what the query would answer:
/// triggers add to the count in the transaction of every insert or delete of a
/// school week (migration 0016), whoever writes it, and only read-only units
/// (one snapshot each, seeing only committed writes) fill the cache. Listing
/// breaches page by page reads the weeks once. A database restored from a
/// backup under running servers could repeat a count with other weeks:
/// restart the servers after a restore (README).
pub(super) type LatestWeeksCache =
    quick_cache::sync::Cache<(String, NaiveDate, i64, (i64, i64)), Arc<Vec<(String, NaiveDate)>>>;

/// Entries a store keeps: an authority's listing uses one (about 200 KB at
/// county size), a few dates or policies a few more.
pub(super) const LATEST_WEEKS_CACHED: usize = 32;

/// A unit of work: one pool connection inside one transaction, begun with `BEGIN`
/// SQL of the backend's choosing. A unit dropped before `commit` or `rollback`
/// finished (a cancelled or panicked call) closes its connection instead of
/// returning it to the pool mid-transaction or mid-protocol.
pub struct Tx<DB: Database> {
    pub(super) conn: PoolConnection<DB>,
    finished: bool,
    /// Audit events appended, written and chained at commit.
    pub(super) pending_audit: Vec<PendingAudit>,
    /// Access-log entries recorded, written when the unit ends (see
    /// `access_log`).
    pub(super) pending_access: Vec<super::access_log::PendingAccess>,
    /// A unit that may not write in its transaction (see [`Tx::read_only`]).
    pub(super) read_only: bool,
    /// Where serial numbers are taken, when not inside this unit (see
    /// [`Tx::begin`]).
    pub(super) numbering: Option<Pool<DB>>,
    /// Begun with no statement: the unit is one statement in the database's
    /// autocommit, which is its own transaction (see [`Store::begin_single_read`]).
    single_statement: bool,
    /// Pupils whose lock this unit holds: a lock lasts to the end of the unit,
    /// so taking it again would be a round trip for nothing.
    pub(super) locked_pupils: HashSet<String>,
    /// An authority's policy versions as this unit read them: a use case decides
    /// on the policy in force on more than one date (an issue reads it for the
    /// issue date and again for the breach it closes). Cleared when the unit
    /// writes a version.
    pub(super) policy_versions: Option<(LaCode, Vec<PolicyVersion>)>,
    /// Where a read-only unit looks up and keeps every school's latest school
    /// weeks (see [`LatestWeeksCache`]); none in a unit that may write.
    pub(super) latest_weeks: Option<Arc<LatestWeeksCache>>,
    /// The store's write turn, held until the unit ends (SQLite: see
    /// `SqliteStore::begin`); none where the database queues writers itself.
    pub(super) write_turn: Option<tokio::sync::OwnedSemaphorePermit>,
    /// Where a read-only unit takes a write turn for the access-log entries it
    /// writes after its transaction (SQLite); none where the database queues
    /// writers itself.
    pub(super) write_turns: Option<Arc<tokio::sync::Semaphore>>,
    /// A read-only unit on a read replica: the primary's pool, where its
    /// access-log entries are written when it ends (a replica takes no writes).
    pub(super) access_on: Option<Pool<DB>>,
}

/// How long a writer waits for its turn (see `SqliteStore::begin`): as long as
/// SQLite's busy timeout, after which the call is refused as an outage
/// (`UNAVAILABLE`), as one that found the write lock held that long always was.
pub(super) const WRITE_TURN_WAIT: Duration = Duration::from_secs(30);

/// Waits for a write turn of `turns`.
pub(super) async fn write_turn(
    turns: &Arc<tokio::sync::Semaphore>,
) -> StoreResult<tokio::sync::OwnedSemaphorePermit> {
    match tokio::time::timeout(WRITE_TURN_WAIT, Arc::clone(turns).acquire_owned()).await {
        Ok(Ok(turn)) => Ok(turn),
        // Never closed; a wait that long is the busy timeout's outage.
        Ok(Err(_)) | Err(_) => Err(sqlx::Error::PoolTimedOut.into()),
    }
}

sql_impl! {
    impl Tx {
        /// A unit on a connection from `pool`. With `numbering`, serial numbers are
        /// taken on that pool's connections, each in a transaction of its own that
        /// commits at once, so a counter row is locked for one statement rather than
        /// until this unit commits (see [`StoreTx::next_serial`]). The numbering
        /// pool must be separate from `pool`: a unit holding one connection never
        /// waits for a second from the pool it holds it from. An empty `begin`
        /// starts no transaction: the unit must then be a single statement.
        pub(super) async fn begin(
            pool: &Pool<DB>,
            begin: &'static str,
            numbering: Option<&Pool<DB>>,
        ) -> StoreResult<Self> {
            let conn = pool.acquire().await?;
            Self::begin_on(conn, begin, numbering).await
        }

        /// As [`Self::begin`], on a connection already taken (from a replica's
        /// pool, once it has replayed far enough).
        pub(super) async fn begin_on(
            mut conn: PoolConnection<DB>,
            begin: &'static str,
            numbering: Option<&Pool<DB>>,
        ) -> StoreResult<Self> {
            if !begin.is_empty()
                && let Err(e) = sqlx::raw_sql(begin).execute(&mut *conn).await
            {
                conn.close_on_drop();
                return Err(e.into());
            }
            Ok(Self {
                conn,
                finished: false,
                pending_audit: Vec::new(),
                pending_access: Vec::new(),
                read_only: false,
                numbering: numbering.cloned(),
                single_statement: begin.is_empty(),
                locked_pupils: HashSet::new(),
                policy_versions: None,
                latest_weeks: None,
                write_turn: None,
                write_turns: None,
                access_on: None,
            })
        }

        /// A unit that only reads: its access-log entries are appended after
        /// its transaction ends (see `access_log`).
        pub(super) fn read_only(mut self) -> Self {
            self.read_only = true;
            self
        }

        /// This unit holds `turn` until it ends.
        pub(super) fn with_write_turn(mut self, turn: tokio::sync::OwnedSemaphorePermit) -> Self {
            self.write_turn = Some(turn);
            self
        }

        /// This read-only unit takes a turn of `turns` to write its access-log
        /// entries.
        pub(super) fn with_write_turns(mut self, turns: &Arc<tokio::sync::Semaphore>) -> Self {
            self.write_turns = Some(Arc::clone(turns));
            self
        }

        /// This read-only unit runs on a replica: its access-log entries are
        /// written on a connection from `primary` (see [`Tx::access_on`]).
        pub(super) fn on_replica(mut self, primary: &Pool<DB>) -> Self {
            self.access_on = Some(primary.clone());
            self
        }

        /// This read-only unit shares `cache` (see [`LatestWeeksCache`]).
        pub(super) fn with_latest_weeks(mut self, cache: &Arc<LatestWeeksCache>) -> Self {
            self.latest_weeks = Some(Arc::clone(cache));
            self
        }

        pub(super) async fn end(mut self: Box<Self>, statement: &'static str) -> StoreResult<()> {
            self.end_transaction(statement).await?;
            self.finished = true;
            Ok(())
        }

        /// The unit ended cleanly: its connection may go back to the pool.
        pub(super) fn mark_finished(&mut self) {
            self.finished = true;
        }

        /// Ends the transaction (nothing for a single statement), keeping the
        /// connection for what follows it.
        pub(super) async fn end_transaction(&mut self, statement: &'static str) -> StoreResult<()> {
            if !self.single_statement {
                sqlx::raw_sql(statement).execute(&mut *self.conn).await?;
            }
            Ok(())
        }
    }
}

impl<DB: Database> Tx<DB> {
    /// The unit's connection, for the shared SQL in `attendance.rs`.
    pub(super) fn conn(&mut self) -> &mut DB::Connection {
        &mut self.conn
    }

    /// Whether the unit is one statement in autocommit (no `BEGIN`).
    pub(super) fn single_statement(&self) -> bool {
        self.single_statement
    }
}

impl<DB: Database> Drop for Tx<DB> {
    fn drop(&mut self) {
        if !self.finished {
            self.conn.close_on_drop();
        }
    }
}

/// `Store::ping` for either backend: `SELECT 1` on an idle pool connection, on a
/// new pool connection while the pool has room, or else on a connection of its
/// own (every pooled one is busy with calls, and queueing behind them would take
/// a busy pool for a dead database), all within `within`, whatever the pool's
/// acquire timeout (a pool connecting to a server that refuses keeps retrying
/// until that timeout).
pub(super) async fn ping<DB>(pool: &Pool<DB>, within: Duration) -> StoreResult<()>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let deadline = tokio::time::Instant::now() + within;
    // A server that refuses connections is retried by the pool until then too.
    let timed_out = || {
        sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer from the database within {within:?}"),
        ))
    };
    if pool.is_closed() {
        return Err(sqlx::Error::PoolClosed.into());
    }
    // With an idle connection the pool tests it first (and replaces it if it
    // went stale, as across a database restart); with room it opens one.
    let idle_or_room = pool.num_idle() > 0 || pool.size() < pool.options().get_max_connections();
    if idle_or_room {
        let mut conn = tokio::time::timeout_at(deadline, pool.acquire())
            .await
            .map_err(|_| timed_out())??;
        let answered = tokio::time::timeout_at(deadline, select_one(&mut *conn)).await;
        let failure = match answered {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => e,
            Err(_) => timed_out(),
        };
        // Broken, or cut mid-query: not fit to go back to the pool.
        conn.close_on_drop();
        return Err(failure.into());
    }
    let options = pool.connect_options();
    let connecting = <DB::Connection as sqlx::Connection>::connect_with(&options);
    let mut own = tokio::time::timeout_at(deadline, connecting)
        .await
        .map_err(|_| timed_out())??;
    let answered = tokio::time::timeout_at(deadline, select_one(&mut own))
        .await
        .map_err(|_| timed_out())?;
    let _ = sqlx::Connection::close(own).await;
    Ok(answered?)
}

async fn select_one<DB: Database>(conn: &mut DB::Connection) -> Result<(), sqlx::Error>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    sqlx::raw_sql("SELECT 1").execute(conn).await.map(|_| ())
}

/// Maps a unique-key violation to `Duplicate(what)`.
pub(super) fn duplicate_as(
    what: impl FnOnce() -> String,
) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate(what()),
        _ => StoreError::Database(e),
    }
}
