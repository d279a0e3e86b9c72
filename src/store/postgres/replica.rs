//! Reads from a streaming replica where it is safe.
//!
//! A unit that tolerates a replica (`Store::begin_replica_read`) first asks the
//! primary how far its WAL is flushed (`pg_current_wal_flush_lsn()`: one tiny
//! query), then waits, polling every [`POLL`], until the replica has replayed
//! that far (`pg_last_wal_replay_lsn()`), and only then begins its snapshot on
//! the same replica connection. Every write acknowledged before the read began
//! has its commit record below that position (a synchronous commit, the
//! default the service's units run with, is flushed before it is
//! acknowledged; the flush position, not the write or insert one, since a
//! standby is only ever sent flushed WAL and would otherwise wait for the WAL
//! writer to flush the numbering pool's asynchronous commits), so the read sees it: no caller
//! reads older data than it has just written, whichever service replica wrote
//! it. A replica that does not get there within the wait bound, or cannot be
//! reached, is not waited for: the unit reads from the primary instead, and the
//! fallback is counted (`lea_replica_fallbacks_total{reason}`).

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Pool, Postgres};

use super::super::StoreResult;

/// Between two looks at the replica's replay position while waiting for it.
const POLL: Duration = Duration::from_millis(2);

/// The replica's lag behind the primary, as the health checks measure it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplicaLag {
    /// WAL the primary has flushed and the replica has not yet replayed.
    pub bytes: i64,
    /// Since the last transaction the replica replayed committed on the
    /// primary, while it has WAL left to replay; 0 when it has replayed all it
    /// received.
    pub seconds: f64,
}

/// The replica's pool and how long a read waits for it.
pub(super) struct Replica {
    pub(super) pool: Pool<Postgres>,
    /// How long a read waits for the replica to replay the primary's position
    /// before it reads from the primary instead.
    pub(super) wait: Duration,
}

/// Why a read went to the primary: the metric's `reason` label.
#[derive(Debug, Clone, Copy)]
pub(super) enum Fallback {
    /// The replica had not replayed the primary's position within the bound.
    Lagging,
    /// The replica did not answer (or is not a standby).
    Unreachable,
}

impl Fallback {
    fn as_str(self) -> &'static str {
        match self {
            Fallback::Lagging => "lagging",
            Fallback::Unreachable => "unreachable",
        }
    }

    pub(super) fn count(self) {
        crate::server::metrics::metrics()
            .replica_fallbacks
            .with_label_values(&[self.as_str()])
            .inc();
    }
}

impl Replica {
    pub(super) fn connect(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
        wait: Duration,
    ) -> StoreResult<Self> {
        let options =
            PgConnectOptions::from_str(url)?.options([("plan_cache_mode", "force_custom_plan")]);
        let port = options.get_port();
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            // A read never waits longer for the replica than its bound anyway.
            .acquire_timeout(acquire_timeout.min(wait.max(Duration::from_millis(1))))
            .after_connect(move |_, _| {
                super::nodelay::set_on_sockets_to(port);
                Box::pin(async { Ok(()) })
            })
            .connect_lazy_with(options);
        Ok(Self { pool, wait })
    }

    /// A replica connection that has replayed the primary's position `lsn`,
    /// or why not, within the wait bound.
    pub(super) async fn caught_up(
        &self,
        lsn: &str,
    ) -> Result<sqlx::pool::PoolConnection<Postgres>, Fallback> {
        let deadline = tokio::time::Instant::now() + self.wait;
        let mut conn = match tokio::time::timeout_at(deadline, self.pool.acquire()).await {
            Ok(Ok(conn)) => conn,
            _ => return Err(Fallback::Unreachable),
        };
        loop {
            // NULL on a server that is not a standby (a promoted replica, a URL
            // naming a primary): not a replica to read from.
            let replayed = tokio::time::timeout_at(
                deadline,
                sqlx::query_scalar::<_, Option<bool>>(
                    "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn",
                )
                .bind(lsn)
                .fetch_one(&mut *conn),
            )
            .await;
            match replayed {
                Ok(Ok(Some(true))) => return Ok(conn),
                Ok(Ok(Some(false))) => {}
                Ok(Ok(None)) => return Err(Fallback::Unreachable),
                Ok(Err(_)) => {
                    conn.close_on_drop();
                    return Err(Fallback::Unreachable);
                }
                Err(_) => {
                    // Cut mid-query: not fit to go back to the pool.
                    conn.close_on_drop();
                    return Err(Fallback::Lagging);
                }
            }
            if tokio::time::Instant::now() + POLL >= deadline {
                return Err(Fallback::Lagging);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The replica's lag behind `primary`, both asked within `within`.
    pub(super) async fn lag(
        &self,
        primary: &Pool<Postgres>,
        within: Duration,
    ) -> StoreResult<ReplicaLag> {
        let measure = async {
            let lsn: String = sqlx::query_scalar("SELECT pg_current_wal_flush_lsn()::text")
                .fetch_one(primary)
                .await?;
            let (bytes, seconds): (Option<i64>, Option<f64>) = sqlx::query_as(
                "SELECT pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::bigint, \
                 CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
                 ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END",
            )
            .bind(&lsn)
            .fetch_one(&self.pool)
            .await?;
            let bytes = bytes
                .ok_or_else(|| sqlx::Error::Protocol("the read replica is not a standby".into()))?;
            Ok(ReplicaLag {
                bytes: bytes.max(0),
                seconds: seconds.unwrap_or(0.0).max(0.0),
            })
        };
        match tokio::time::timeout(within, measure).await {
            Ok(result) => result,
            Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer from the database within {within:?}"),
            ))
            .into()),
        }
    }
}
