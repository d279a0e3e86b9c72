//! The SQLite store (the embedded default: one file, no server).

use std::{str::FromStr, sync::Arc, time::Duration};

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite};
use tokio::sync::{Semaphore, oneshot};

use super::access_log::{AccessSql, audit_events_naming, notice_subjects};
use super::dialect::Dialect;
use super::notices::{NoticeSql, notices_of_pupils};
use super::sen::{SenSql, sen_of_pupils};
use super::tx::Tx;
use super::tx::{LATEST_WEEKS_CACHED, LatestWeeksCache};
use super::{Backend, Store, StoreResult, StoreTx, TableKeys};

/// "Is one of the JSON array bound as `$n`".
macro_rules! any_of {
    ($param:literal) => {
        concat!("IN (SELECT value FROM json_each(", $param, "))")
    };
}

mod marks;

impl AccessSql for Sqlite {
    // Numbered in the statement: it holds the single write lock, and SQLite
    // reads the SELECT (which reads the table) before it inserts.
    const INSERT_ACCESS: &str = "INSERT INTO access_log (authority_code, entry_id, accessed_at, \
           actor_subject, actor_role, method, purpose, subject_kind, subject_key, resource) \
         SELECT $1, \
           (SELECT COALESCE(MAX(entry_id), 0) FROM access_log WHERE authority_code = $1) \
             + s.key + 1, \
           $2, $3, $4, $5, $6, json_extract(s.value, '$.k'), json_extract(s.value, '$.s'), \
           json_extract(s.value, '$.r') \
         FROM json_each($7) AS s";
    // SQLite's commit is the same either way (its durability is the file's).
    const INSERT_ACCESS_AFTER_READ: &str = Self::INSERT_ACCESS;
    // No data-modifying WITH, and no round trip to save.
    const NOTICE_READ_RECORDED: Option<&str> = None;
    const NOTICE_SUBJECTS: &str = notice_subjects!(any_of);
    const AUDIT_EVENTS_NAMING: &str = audit_events_naming!("instr(details, $2) > 0");
}

impl SenSql for Sqlite {
    const SEN_OF_PUPILS: &str = sen_of_pupils!(any_of);
}

impl NoticeSql for Sqlite {
    const NOTICES_OF_PUPILS: &str = notices_of_pupils!(any_of);
}

impl Dialect for Sqlite {
    // BEGIN IMMEDIATE already makes every write transaction the only writer.
    const LOCK_PUPIL: Option<&str> = None;
    // SQLite has no INSERT inside WITH, and no network to save a trip over.
    const INSERT_AUDIT_EVENTS: Option<&str> = None;

    const SELECT_NOTICE_FOR_UPDATE: &str = concat!(
        super::notices::notice_select!(),
        " WHERE authority_code = $1 AND notice_number = $2"
    );

    const LOCK_PAYMENT: Option<&str> = None;

    const PARTITIONED_REGISTERS: bool = false;
    const LATEST_SCHOOL_WEEKS: &str = "SELECT school_urn, week_start FROM ( \
           SELECT school_urn, week_start, \
                  ROW_NUMBER() OVER (PARTITION BY school_urn ORDER BY week_start DESC) AS back \
           FROM attendance_school_weeks WHERE authority_code = $1 AND week_start <= $2) w \
         WHERE back <= $3";

    // Bound as a JSON array of strings.
    type ListArg = String;

    fn list_arg(items: &[String]) -> String {
        serde_json::to_string(items).expect("strings always serialise")
    }

    fn rows_affected(result: &sqlx::sqlite::SqliteQueryResult) -> u64 {
        result.rows_affected()
    }
}

pub struct SqliteStore {
    pool: Pool<Sqlite>,
    latest_weeks: Arc<LatestWeeksCache>,
    /// One write unit at a time, in the order they asked (tokio's semaphore is
    /// fair). SQLite has one write lock, and a writer that finds it taken
    /// sleeps in its busy handler and retries on a timer, so under load the
    /// lock went to whoever retried at the right moment: at 8 clients writes'
    /// p99 was 0.4–2.8 s against 4–7 ms of statements (issue #32). Queued
    /// here, each writer starts as the one before it commits.
    write_turns: Arc<Semaphore>,
    /// Dropped with the store, which ends the statistics task (see
    /// [`SqliteStore::keep_statistics`]).
    _statistics: oneshot::Sender<()>,
    /// Dropped with the store, which ends the checkpointing task (see
    /// [`SqliteStore::keep_checkpointing`]).
    _checkpoints: oneshot::Sender<()>,
}

/// How often the store checkpoints the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// How often the store refreshes the planner's statistics while it runs.
const STATISTICS_EVERY: Duration = Duration::from_secs(3600);

/// Rows ANALYZE reads of an index at most, so that refreshing the statistics
/// takes milliseconds whatever the database's size (SQLite's advice for
/// `PRAGMA optimize`).
const ANALYSIS_LIMIT: u32 = 1000;

impl SqliteStore {
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // The store's own writers queue on its write turns; a writer still
            // waits here for a lock held outside them (a migration, another
            // process, an operator's transaction) rather than fail at once.
            .busy_timeout(Duration::from_secs(30))
            // No connection checkpoints the WAL in its own commit: the store's
            // task does, off the writers (see [`SqliteStore::keep_checkpointing`]).
            .pragma("wal_autocheckpoint", "0");
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .connect_with(options)
            .await?;
        let write_turns = Arc::new(Semaphore::new(1));
        let (statistics, stop) = oneshot::channel();
        tokio::spawn(Self::keep_statistics(
            pool.clone(),
            write_turns.clone(),
            stop,
        ));
        let (checkpoints, stop) = oneshot::channel();
        tokio::spawn(Self::keep_checkpointing(pool.clone(), stop));
        Ok(Self {
            pool,
            latest_weeks: Arc::new(LatestWeeksCache::new(LATEST_WEEKS_CACHED)),
            write_turns,
            _statistics: statistics,
            _checkpoints: checkpoints,
        })
    }

    /// `PRAGMA optimize` (ANALYZE where the statistics are missing or stale,
    /// reading at most [`ANALYSIS_LIMIT`] rows an index) in a write turn: the
    /// statistics are written like any other row.
    async fn optimize(
        pool: &Pool<Sqlite>,
        turns: &Arc<Semaphore>,
        pragma: &'static str,
    ) -> StoreResult<()> {
        let _turn = super::tx::write_turn(turns).await?;
        let mut conn = pool.acquire().await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "PRAGMA analysis_limit = {ANALYSIS_LIMIT}; {pragma}"
        )))
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Refreshes the planner's statistics every [`STATISTICS_EVERY`] until the
    /// store is dropped or closed, so that plans follow the tables as they grow
    /// (after an import of marks, a year of notices). The plans of the calls
    /// that must stay flat do not depend on them (their indexes serve their
    /// order: migration 0029), but the rest of the planner's choices do.
    async fn keep_statistics(
        pool: Pool<Sqlite>,
        turns: Arc<Semaphore>,
        mut stop: oneshot::Receiver<()>,
    ) {
        Self::every(&pool, STATISTICS_EVERY, &mut stop, "statistics", || {
            Self::optimize(&pool, &turns, "PRAGMA optimize")
        })
        .await
    }

    /// Runs `task` every `interval` until `stop` or the pool closes; a failed
    /// run is logged (with `task_name`) and the next one tries again.
    async fn every<F, Fut>(
        pool: &Pool<Sqlite>,
        interval: Duration,
        stop: &mut oneshot::Receiver<()>,
        task_name: &'static str,
        mut task: F,
    ) where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = StoreResult<()>>,
    {
        loop {
            tokio::select! {
                _ = &mut *stop => return,
                () = tokio::time::sleep(interval) => {}
            }
            if pool.is_closed() {
                return;
            }
            if let Err(e) = task().await {
                tracing::warn!(error = %e, task = task_name, "an SQLite store task failed");
            }
        }
    }
}

impl SqliteStore {
    /// Copies what the WAL holds into the database file as far as no reader
    /// still needs it (`PASSIVE`: it waits for no lock, and writers and
    /// readers go on meanwhile), then flushes the file. The WAL's pages: how
    /// many it holds and how many are now in the database file.
    async fn checkpoint(pool: &Pool<Sqlite>) -> StoreResult<(i64, i64)> {
        let (_busy, log, checkpointed): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(pool)
                .await?;
        Ok((log, checkpointed))
    }

    /// Checkpoints every [`CHECKPOINT_EVERY`] until the store is dropped or
    /// closed. SQLite's default (`wal_autocheckpoint`, 1,000 pages) runs the
    /// checkpoint in the commit that crosses it, while that writer holds the
    /// store's write turn: every writer queued behind it waited for the copy
    /// and the database file's flush. Commits are as durable either way
    /// (`synchronous = FULL` flushes the WAL at each); the WAL is reused from
    /// its start once a checkpoint has copied all of it.
    async fn keep_checkpointing(pool: Pool<Sqlite>, mut stop: oneshot::Receiver<()>) {
        Self::every(
            &pool,
            CHECKPOINT_EVERY,
            &mut stop,
            "WAL checkpoint",
            || async { Self::checkpoint(&pool).await.map(drop) },
        )
        .await
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("src/store/sqlite/migrations")
            .run(&self.pool)
            .await?;
        // The breach states the domain knows (see `breaches::known_states_sql`),
        // the trigger replaced in one transaction.
        let guard = format!(
            "DROP TRIGGER IF EXISTS breach_cases_state_known; \
             CREATE TRIGGER breach_cases_state_known BEFORE INSERT ON breach_cases \
               WHEN NEW.state NOT IN ({}) \
             BEGIN SELECT RAISE(ABORT, 'unknown breach state'); END;",
            super::breaches::known_states_sql()
        );
        let mut tx = self.pool.begin().await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(guard))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        // The planner's statistics, gathered where missing (0x10000: every
        // table, not only those this connection used), as SQLite advises on
        // opening a database a process keeps open; refreshed hourly after.
        Self::optimize(&self.pool, &self.write_turns, "PRAGMA optimize = 0x10002").await
    }

    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>> {
        // IMMEDIATE takes the write lock up front: a read-then-write transaction
        // can neither deadlock nor act on data another writer is changing.
        // Writers take their turn first, then a connection: one waiting for
        // its turn holds no connection a reader could use.
        let turn = super::tx::write_turn(&self.write_turns).await?;
        Ok(Box::new(
            Tx::begin(&self.pool, "BEGIN IMMEDIATE", None)
                .await?
                .with_write_turn(turn),
        ))
    }

    async fn begin_read(&self) -> StoreResult<Box<dyn StoreTx>> {
        Ok(Box::new(
            Tx::begin(&self.pool, "BEGIN", None)
                .await?
                .read_only()
                .with_write_turns(&self.write_turns)
                .with_latest_weeks(&self.latest_weeks),
        ))
    }

    async fn begin_single_read(&self) -> StoreResult<Box<dyn StoreTx>> {
        Ok(Box::new(
            Tx::begin(&self.pool, "", None)
                .await?
                .read_only()
                .with_write_turns(&self.write_turns),
        ))
    }

    async fn make_register_partitions(
        &self,
        _first: i32,
        _last: i32,
        _droppable_before: i32,
    ) -> StoreResult<()> {
        // One table: nothing to make.
        Ok(())
    }

    async fn table_keys(&self) -> StoreResult<Vec<TableKeys>> {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_schema WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut all = Vec::with_capacity(tables.len());
        for table in tables {
            let primary_key: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM pragma_table_info($1) WHERE pk > 0 ORDER BY pk",
            )
            .bind(&table)
            .fetch_all(&self.pool)
            .await?;
            let fk_columns: Vec<(i64, String)> = sqlx::query_as(
                "SELECT id, \"from\" FROM pragma_foreign_key_list($1) ORDER BY id, seq",
            )
            .bind(&table)
            .fetch_all(&self.pool)
            .await?;
            let mut foreign_keys: Vec<Vec<String>> = vec![];
            let mut last_id = None;
            for (id, column) in fk_columns {
                if last_id != Some(id) {
                    foreign_keys.push(vec![]);
                    last_id = Some(id);
                }
                foreign_keys.last_mut().expect("pushed above").push(column);
            }
            let index_names: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM pragma_index_list($1) WHERE origin <> 'pk' ORDER BY name",
            )
            .bind(&table)
            .fetch_all(&self.pool)
            .await?;
            let mut indexes = Vec::with_capacity(index_names.len());
            for index in index_names {
                indexes.push(
                    sqlx::query_scalar(
                        "SELECT name FROM pragma_index_info($1) WHERE cid >= 0 ORDER BY seqno",
                    )
                    .bind(&index)
                    .fetch_all(&self.pool)
                    .await?,
                );
            }
            all.push(TableKeys {
                table,
                primary_key,
                foreign_keys,
                indexes,
            });
        }
        Ok(all)
    }

    fn pool_usage(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    async fn ping(&self, within: Duration) -> StoreResult<()> {
        super::tx::ping(&self.pool, within).await
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn commits_leave_the_wal_to_the_stores_checkpoints() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/store.db", dir.path().display());
        let store = SqliteStore::connect(&url, 2).await.expect("connect");
        let autocheckpoint: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(&store.pool)
            .await
            .expect("pragma");
        assert_eq!(autocheckpoint, 0, "no commit checkpoints on its own");
        sqlx::raw_sql("CREATE TABLE t (x BLOB)")
            .execute(&store.pool)
            .await
            .expect("table");
        // More pages than SQLite's default threshold of 1,000.
        for _ in 0..300 {
            sqlx::query("INSERT INTO t (x) VALUES (zeroblob(16384))")
                .execute(&store.pool)
                .await
                .expect("insert");
        }
        let (log, checkpointed) = SqliteStore::checkpoint(&store.pool)
            .await
            .expect("checkpoint");
        assert_eq!(checkpointed, log, "no reader: all of it copied");
        store.close().await;
    }
}
