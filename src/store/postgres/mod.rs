//! The PostgreSQL store (production).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Pool, Postgres};

use super::access_log::{AccessSql, audit_events_naming, notice_subjects};
use super::dialect::Dialect;
use super::notices::{NoticeSql, notices_of_pupils};
use super::sen::{SenSql, sen_of_pupils};
use super::tx::Tx;
use super::tx::{LATEST_WEEKS_CACHED, LatestWeeksCache};
use super::{Backend, Store, StoreResult, StoreTx, TableKeys};

/// "Is one of the array bound as `$n`".
macro_rules! any_of {
    ($param:literal) => {
        concat!("= ANY(", $param, ")")
    };
}

mod marks;
pub use marks::register_lookups;
mod nodelay;
pub(super) mod replica;

impl AccessSql for Postgres {
    const INSERT_ACCESS: &str = "INSERT INTO access_log (authority_code, accessed_at, actor_subject, \
           actor_role, method, purpose, subject_kind, subject_key, resource) \
         SELECT $1, $2, $3, $4, $5, $6, s.k, s.s, s.r \
         FROM jsonb_to_recordset($7::jsonb) AS s(k TEXT, s TEXT, r TEXT)";
    // The one-row join sets `synchronous_commit` off for this statement's own
    // (autocommit) transaction, in the same round trip.
    const INSERT_ACCESS_AFTER_READ: &str = "INSERT INTO access_log (authority_code, accessed_at, \
           actor_subject, actor_role, method, purpose, subject_kind, subject_key, resource) \
         SELECT $1, $2, $3, $4, $5, $6, s.k, s.s, s.r \
         FROM jsonb_to_recordset($7::jsonb) AS s(k TEXT, s TEXT, r TEXT), \
           (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit";
    // The notice, then its two entries from it (in the order `distinct` gives
    // the domain's `notice_subjects`: pupil, then parent), committed with
    // `synchronous_commit` off as `INSERT_ACCESS_AFTER_READ`. A CTE named
    // twice is evaluated once; a data-modifying one always runs to its end.
    const NOTICE_READ_RECORDED: Option<&str> = Some(concat!(
        "WITH notice AS (",
        super::notices::notice_select!(),
        " WHERE authority_code = $1 AND notice_number = $2 \
           AND ($3 OR school_urn = ANY($4)) AND ($5::text IS NULL OR issuer_subject = $5)), \
         recorded AS (INSERT INTO access_log (authority_code, accessed_at, actor_subject, \
           actor_role, method, purpose, subject_kind, subject_key, resource) \
           SELECT $1, $6, $7, $8, $9, $10, s.kind, s.subject, $11 \
           FROM notice, LATERAL (VALUES (1, $12::text, notice.upn), \
             (2, $13::text, notice.parent_person_id)) AS s(n, kind, subject), \
             (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit \
           ORDER BY s.n) \
         SELECT * FROM notice"
    ));
    const NOTICE_SUBJECTS: &str = notice_subjects!(any_of);
    const AUDIT_EVENTS_NAMING: &str = audit_events_naming!("strpos(details, $2) > 0");
}

impl SenSql for Postgres {
    const SEN_OF_PUPILS: &str = sen_of_pupils!(any_of);
}

impl NoticeSql for Postgres {
    const NOTICES_OF_PUPILS: &str = notices_of_pupils!(any_of);
}

impl Dialect for Postgres {
    // A transaction-scoped advisory lock per pupil: concurrent issuers queue here.
    const LOCK_PUPIL: Option<&str> = Some("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))");
    const INSERT_AUDIT_EVENTS: Option<&str> = Some(
        "WITH events AS (INSERT INTO audit_events (authority_code, event_id, occurred_at, \
         actor_subject, actor_role, action, resource, request_id, details, prev_hash, hash, \
         details_digest, details_salt) \
         SELECT $1, * FROM UNNEST($2::text[]::int8[], $3::text[]::timestamptz[], $4::text[], \
                                  $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], \
                                  $10::text[], $11::text[], $12::text[], $13::text[])) \
         UPDATE audit_chain_heads SET last_hash = $14 WHERE authority_code = $1",
    );

    const SELECT_NOTICE_FOR_UPDATE: &str = concat!(
        super::notices::notice_select!(),
        " WHERE authority_code = $1 AND notice_number = $2 FOR UPDATE"
    );

    // As for pupils: a transaction-scoped advisory lock per payment.
    const LOCK_PAYMENT: Option<&str> =
        Some("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))");

    // Each school's weeks from the index, newest first, stopping at `$3`: the
    // schools come from a skip scan of the key (PostgreSQL 15 has none of its
    // own). Half the time of numbering every school week of the authority
    // (5,000 of 19,500 rows at county size: 10 ms against 22 ms).
    const PARTITIONED_REGISTERS: bool = true;
    const LATEST_SCHOOL_WEEKS: &str = "WITH RECURSIVE schools (urn) AS ( \
           (SELECT school_urn FROM attendance_school_weeks WHERE authority_code = $1 \
            ORDER BY school_urn LIMIT 1) \
           UNION ALL \
           SELECT (SELECT school_urn FROM attendance_school_weeks \
                   WHERE authority_code = $1 AND school_urn > s.urn ORDER BY school_urn LIMIT 1) \
           FROM schools s WHERE s.urn IS NOT NULL) \
         SELECT s.urn, w.week_start FROM schools s CROSS JOIN LATERAL ( \
           SELECT week_start FROM attendance_school_weeks \
           WHERE authority_code = $1 AND school_urn = s.urn AND week_start <= $2 \
           ORDER BY week_start DESC LIMIT $3) w \
         WHERE s.urn IS NOT NULL";

    // Bound as a text[] array.
    type ListArg = Vec<String>;

    fn list_arg(items: &[String]) -> Vec<String> {
        items.to_vec()
    }

    fn rows_affected(result: &sqlx::postgres::PgQueryResult) -> u64 {
        result.rows_affected()
    }
}

pub struct PgStore {
    pool: Pool<Postgres>,
    /// Where serial numbers (notice and payment numbers) are taken: a few
    /// connections of their own, whose transactions commit without waiting for
    /// the WAL flush. That is safe: a number is used only by a unit that
    /// commits later, and its synchronous commit flushes the WAL up to itself,
    /// the counter's commit included. A crash can lose only numbers no
    /// committed unit used.
    numbering: Pool<Postgres>,
    latest_weeks: Arc<LatestWeeksCache>,
    /// The read replica, when one is configured (see [`replica`]).
    replica: Option<replica::Replica>,
    /// School years whose register partitions this process has made or found,
    /// so a write of marks asks the database only for a year it has not seen.
    register_years: Arc<std::sync::Mutex<std::collections::BTreeSet<i32>>>,
}

const BEGIN_WRITE: &str = "BEGIN";
const BEGIN_READ: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

/// How long a pooled connection may sit idle before it is pinged on its way out:
/// under load connections come back within milliseconds and go out unpinged,
/// while a restart of PostgreSQL takes longer than this, so a connection it
/// broke has been idle longer and is found out and replaced.
const IDLE_BEFORE_PING: Duration = Duration::from_millis(100);

/// Connections for serial numbers: each holds a counter row for one short
/// statement, so two are enough for many concurrent units.
const NUMBERING_CONNECTIONS: u32 = 2;

impl PgStore {
    /// A pool of at most `max_connections`; a call waits at most
    /// `acquire_timeout` for one (and so for an unreachable server to answer).
    /// Lazy: no connection is opened here, so the server may be away (see
    /// [`super::connect`]); only a malformed URL fails.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> StoreResult<Self> {
        // Plan every statement for its own values: a long-lived connection's
        // cached generic plan, made while a table was small, otherwise stays in use
        // as the table grows (RecordPayment and ListNotices fell 8x and 26x in the
        // RPC bench, and GetNotice 5.6x over three rounds when its sums of a
        // notice's allocations kept a generic plan, while fresh plans did not).
        let options =
            PgConnectOptions::from_str(url)?.options([("plan_cache_mode", "force_custom_plan")]);
        let port = options.get_port();
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout)
            .after_connect(move |_, _| {
                nodelay::set_on_sockets_to(port);
                Box::pin(async { Ok(()) })
            })
            // sqlx pings every connection it hands out by default: a round trip
            // more on every call. Only one idle a while may have lost its server
            // (a restart, an idle timeout); a busy one that has is closed on its
            // error, and the call is answered UNAVAILABLE.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= IDLE_BEFORE_PING {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_lazy_with(options);
        let numbering_options =
            PgConnectOptions::from_str(url)?.options([("synchronous_commit", "off")]);
        let numbering = PgPoolOptions::new()
            .max_connections(NUMBERING_CONNECTIONS)
            .after_connect(move |_, _| {
                nodelay::set_on_sockets_to(port);
                Box::pin(async { Ok(()) })
            })
            .acquire_timeout(acquire_timeout)
            .connect_lazy_with(numbering_options);
        Ok(Self {
            pool,
            numbering,
            latest_weeks: Arc::new(LatestWeeksCache::new(LATEST_WEEKS_CACHED)),
            replica: None,
            register_years: Arc::default(),
        })
    }

    /// The same store with a read replica at `url` (a streaming standby of this
    /// primary): units that tolerate one read there once it has replayed the
    /// primary's position, waiting at most `wait` for it (see [`replica`]).
    /// Lazy, as the primary's pool is.
    pub fn with_replica(
        mut self,
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
        wait: Duration,
    ) -> StoreResult<Self> {
        self.replica = Some(replica::Replica::connect(
            url,
            max_connections,
            acquire_timeout,
            wait,
        )?);
        Ok(self)
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("src/store/postgres/migrations")
            .run(&self.pool)
            .await?;
        // The breach states the domain knows (see `breaches::known_states_sql`).
        let guard = format!(
            "CREATE OR REPLACE FUNCTION breach_state_known() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN \
               IF NEW.state NOT IN ({}) THEN \
                 RAISE EXCEPTION 'unknown breach state %', NEW.state USING ERRCODE = 'check_violation'; \
               END IF; \
               RETURN NEW; \
             END $$",
            super::breaches::known_states_sql()
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(guard))
            .execute(&self.pool)
            .await?;
        // The register's partitions of this school year and the next, by the
        // database's clock (the scheduler and the writes of marks make later ones).
        sqlx::query(
            "SELECT create_register_partitions(register_school_year(current_date), \
                                               register_school_year(current_date) + 1)",
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn make_register_partitions(
        &self,
        first_year: i32,
        last_year: i32,
        droppable_before: i32,
    ) -> StoreResult<()> {
        // A partition the purge may drop is never taken as made: another
        // replica may have dropped it. Asking costs a round trip per batch only
        // for marks that old.
        let known = |years: &std::collections::BTreeSet<i32>| {
            (first_year..=last_year).all(|y| y >= droppable_before && years.contains(&y))
        };
        if known(
            &self
                .register_years
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        ) {
            return Ok(());
        }
        // One statement, so its own transaction: the advisory lock it takes ends
        // with it, before the write of marks begins.
        sqlx::query("SELECT create_register_partitions($1, $2)")
            .bind(first_year)
            .bind(last_year)
            .execute(&self.pool)
            .await?;
        self.register_years
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(first_year..=last_year);
        Ok(())
    }

    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>> {
        Ok(Box::new(
            Tx::begin(&self.pool, BEGIN_WRITE, Some(&self.numbering)).await?,
        ))
    }

    async fn begin_read(&self) -> StoreResult<Box<dyn StoreTx>> {
        Ok(Box::new(
            Tx::begin(&self.pool, BEGIN_READ, None)
                .await?
                .read_only()
                .with_latest_weeks(&self.latest_weeks),
        ))
    }

    async fn begin_single_read(&self) -> StoreResult<Box<dyn StoreTx>> {
        Ok(Box::new(Tx::begin(&self.pool, "", None).await?.read_only()))
    }

    async fn begin_replica_read(&self) -> StoreResult<Box<dyn StoreTx>> {
        let Some(replica) = &self.replica else {
            return self.begin_read().await;
        };
        // Where the primary is now: every write acknowledged before this read
        // began committed below it. The primary away is an outage as for any
        // call (the access log goes there too).
        let lsn: String = sqlx::query_scalar("SELECT pg_current_wal_flush_lsn()::text")
            .fetch_one(&self.pool)
            .await?;
        let fallback = match replica.caught_up(&lsn).await {
            Ok(conn) => match Tx::begin_on(conn, BEGIN_READ, None).await {
                Ok(tx) => {
                    crate::server::metrics::metrics().replica_reads.inc();
                    return Ok(Box::new(
                        tx.read_only()
                            .on_replica(&self.pool)
                            .with_latest_weeks(&self.latest_weeks),
                    ));
                }
                Err(_) => replica::Fallback::Unreachable,
            },
            Err(why) => why,
        };
        fallback.count();
        self.begin_read().await
    }

    async fn replica_lag(&self, within: Duration) -> Option<StoreResult<super::ReplicaLag>> {
        let replica = self.replica.as_ref()?;
        Some(replica.lag(&self.pool, within).await)
    }

    async fn table_keys(&self) -> StoreResult<Vec<TableKeys>> {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             AND table_name <> '_sqlx_migrations' \
             AND NOT EXISTS (SELECT 1 FROM pg_class p WHERE p.relname = table_name \
                             AND p.relnamespace = current_schema()::regnamespace \
                             AND p.relispartition) \
             ORDER BY table_name",
        )
        .fetch_all(&self.pool)
        .await?;
        let columns: Vec<(String, String, String, String)> = sqlx::query_as(
            // From the catalog: information_schema shows a table's constraints
            // only to a role with more than SELECT on it (the service's role has
            // only SELECT on service_keys).
            "SELECT t.relname::text, \
                    CASE c.contype WHEN 'p' THEN 'PRIMARY KEY' ELSE 'FOREIGN KEY' END, \
                    c.conname::text, a.attname::text \
             FROM pg_constraint c \
             JOIN pg_class t ON t.oid = c.conrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
             WHERE n.nspname = current_schema() AND c.contype IN ('p', 'f') \
             ORDER BY t.relname, c.conname, k.ord",
        )
        .fetch_all(&self.pool)
        .await?;
        let index_columns: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT t.relname::text, i.relname::text, a.attname::text \
             FROM pg_index x \
             JOIN pg_class t ON t.oid = x.indrelid \
             JOIN pg_class i ON i.oid = x.indexrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
             WHERE n.nspname = current_schema() AND NOT x.indisprimary \
             ORDER BY t.relname, i.relname, k.ord",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(tables
            .into_iter()
            .map(|table| {
                let mut keys = TableKeys {
                    table,
                    primary_key: vec![],
                    foreign_keys: vec![],
                    indexes: vec![],
                };
                let mut last_index = None;
                for (t, index, column) in &index_columns {
                    if *t != keys.table {
                        continue;
                    }
                    if last_index != Some(index) {
                        keys.indexes.push(vec![]);
                        last_index = Some(index);
                    }
                    keys.indexes
                        .last_mut()
                        .expect("pushed above")
                        .push(column.clone());
                }
                let mut last_fk = None;
                for (t, kind, constraint, column) in &columns {
                    if *t != keys.table {
                        continue;
                    }
                    if kind == "PRIMARY KEY" {
                        keys.primary_key.push(column.clone());
                    } else {
                        if last_fk != Some(constraint) {
                            keys.foreign_keys.push(vec![]);
                            last_fk = Some(constraint);
                        }
                        keys.foreign_keys
                            .last_mut()
                            .expect("pushed above")
                            .push(column.clone());
                    }
                }
                keys
            })
            .collect())
    }

    fn pool_usage(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    async fn ping(&self, within: Duration) -> StoreResult<()> {
        super::tx::ping(&self.pool, within).await
    }

    async fn close(&self) {
        if let Some(replica) = &self.replica {
            replica.pool.close().await;
        }
        self.pool.close().await;
    }
}

#[cfg(test)]
mod copy_text_tests {
    use super::marks::copy_text;

    #[test]
    fn escapes_what_copy_text_format_reads_as_special() {
        assert_eq!(copy_text("/"), "/");
        assert_eq!(copy_text("\\"), "\\\\");
        assert_eq!(copy_text("a\tb\nc\rd"), "a\\tb\\nc\\rd");
    }
}
