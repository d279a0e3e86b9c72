//! Which database failures are outages: the database cannot be reached or will
//! not take work right now, so the same call may succeed later. Everything else
//! (a bug, bad data, a broken invariant) is not, and retrying it would not help.

use super::StoreError;

impl StoreError {
    /// Whether this failure is an outage of the database rather than a fault of
    /// the call (callers get UNAVAILABLE, which clients may retry).
    pub fn is_outage(&self) -> bool {
        match self {
            StoreError::Database(e) => is_outage(e),
            StoreError::Migrate(sqlx::migrate::MigrateError::Execute(e)) => is_outage(e),
            StoreError::NotMigrated => true,
            _ => false,
        }
    }
}

impl StoreError {
    /// Whether the database cancelled the unit to resolve a conflict with other
    /// work, so that nothing was done and the same call may succeed at once:
    /// a serialisation failure (40001: also what a hot standby raises when
    /// replaying the primary's changes cancels a read there) or a deadlock
    /// (40P01). Callers get ABORTED.
    pub fn is_conflict(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(db)) => db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some_and(|pg| is_postgres_conflict(pg.code())),
            _ => false,
        }
    }
}

/// PostgreSQL SQLSTATEs of a unit cancelled to resolve a conflict.
fn is_postgres_conflict(sqlstate: &str) -> bool {
    matches!(sqlstate, "40001" | "40P01")
}

/// The one decision of which sqlx errors are outages.
pub fn is_outage(e: &sqlx::Error) -> bool {
    match e {
        // Connection refused or reset, a connection cut mid-call, a pool that
        // could not hand out a live connection in time, or no TLS to the server.
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed => true,
        sqlx::Error::Protocol(message) => closed_before_answering(message),
        sqlx::Error::Database(db) => {
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                is_postgres_outage(pg.code())
            } else if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                db.code()
                    .and_then(|c| c.parse::<i32>().ok())
                    .is_some_and(is_sqlite_outage)
            } else {
                false
            }
        }
        _ => false,
    }
}

/// A connection closed before PostgreSQL's first answer: sqlx opens with an
/// SSLRequest and reads the one byte answering it, and a connection closed at
/// once leaves that byte 0x00 (sqlx reports a protocol error, not I/O). A load
/// balancer does exactly this while no server is up behind it (HAProxy during
/// a failover, `.ci/failover-drill`); nothing of the call was done, so it is an
/// outage to retry, not a fault of the call. Any other answer than `S` or `N`
/// is something at that address that is not PostgreSQL yet: the same.
fn closed_before_answering(message: &str) -> bool {
    message.starts_with("unexpected response from SSLRequest")
}

/// PostgreSQL SQLSTATEs of a server that cannot be reached or is going away:
/// class 08 (connection exception), 57P01 admin shutdown, 57P02 crash shutdown,
/// 57P03 cannot connect now (starting up or shutting down), and 25006
/// read-only SQL transaction: during a failover a connection can reach a
/// server that is (or has just become) a standby, which refuses the write
/// until the load balancer follows the new leader (`.ci/failover-drill`).
fn is_postgres_outage(sqlstate: &str) -> bool {
    sqlstate.starts_with("08") || matches!(sqlstate, "57P01" | "57P02" | "57P03" | "25006")
}

/// SQLite result codes (extended codes carry the primary code in their low
/// byte) of a file that cannot be used right now: SQLITE_BUSY (another process
/// held the lock for the whole busy timeout), SQLITE_IOERR (the disk or file
/// system failed a read or write) and SQLITE_CANTOPEN (the file cannot be opened).
fn is_sqlite_outage(code: i32) -> bool {
    const SQLITE_BUSY: i32 = 5;
    const SQLITE_IOERR: i32 = 10;
    const SQLITE_CANTOPEN: i32 = 14;
    matches!(code & 0xff, SQLITE_BUSY | SQLITE_IOERR | SQLITE_CANTOPEN)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Connection};

    use super::*;

    #[test]
    fn postgres_connection_and_shutdown_states_are_outages() {
        for code in [
            "08000", "08001", "08003", "08004", "08006", "57P01", "57P02", "57P03",
            // A standby, or a primary being demoted, refusing a write.
            "25006",
        ] {
            assert!(is_postgres_outage(code), "{code}");
        }
        // Unique and foreign-key violations, serialisation failure, a syntax
        // error, a statement timeout, query cancelled, too many connections.
        for code in [
            "23505", "23503", "40001", "42601", "57014", "57P04", "53300", "XX000",
        ] {
            assert!(!is_postgres_outage(code), "{code}");
        }
    }

    #[test]
    fn serialisation_failures_and_deadlocks_are_conflicts_not_outages() {
        for code in ["40001", "40P01"] {
            assert!(is_postgres_conflict(code), "{code}");
            assert!(!is_postgres_outage(code), "{code}");
        }
        for code in ["23505", "08006", "25006", "57014", "XX000"] {
            assert!(!is_postgres_conflict(code), "{code}");
        }
    }

    #[test]
    fn sqlite_busy_io_and_cannot_open_are_outages_with_their_extended_codes() {
        // SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR, SQLITE_IOERR_READ,
        // SQLITE_IOERR_FSYNC, SQLITE_CANTOPEN, SQLITE_CANTOPEN_NOTEMPDIR.
        for code in [5, 517, 10, 266, 1034, 14, 270] {
            assert!(is_sqlite_outage(code), "{code}");
        }
        // SQLITE_ERROR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CONSTRAINT_UNIQUE,
        // SQLITE_CONSTRAINT_FOREIGNKEY, SQLITE_NOTADB, SQLITE_LOCKED.
        for code in [1, 11, 13, 2067, 787, 26, 6] {
            assert!(!is_sqlite_outage(code), "{code}");
        }
    }

    #[test]
    fn pool_and_transport_failures_are_outages_and_data_faults_are_not() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(is_outage(&sqlx::Error::Io(refused)));
        assert!(is_outage(&sqlx::Error::PoolTimedOut));
        assert!(is_outage(&sqlx::Error::PoolClosed));
        assert!(is_outage(&sqlx::Error::Tls("handshake failed".into())));
        assert!(!is_outage(&sqlx::Error::RowNotFound));
        assert!(!is_outage(&sqlx::Error::Protocol(
            "unexpected message".into()
        )));
        assert!(!StoreError::Corrupt("notice 1".into()).is_outage());
        assert!(!StoreError::Duplicate("payment".into()).is_outage());
        assert!(StoreError::Database(sqlx::Error::PoolTimedOut).is_outage());
        // `serve` waiting to migrate PostgreSQL until it answers.
        assert!(StoreError::NotMigrated.is_outage());
    }

    /// What a load balancer with no server behind it does (HAProxy during a
    /// failover): accepts the connection and closes it at once.
    #[tokio::test]
    async fn a_connection_closed_before_postgres_answers_is_an_outage() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let closing = tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                // Read the SSLRequest first: a socket closed with it unread is
                // reset (an I/O error), not closed as HAProxy closes it.
                let mut request = [0u8; 8];
                let _ = tokio::io::AsyncReadExt::read_exact(&mut socket, &mut request).await;
                drop(socket);
            }
        });
        // sslmode=prefer (the default) asks for TLS first, as the service does.
        let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        let closed = sqlx::PgConnection::connect(&url)
            .await
            .expect_err("nothing answers");
        closing.abort();
        // sqlx's words for it, which the classification reads.
        assert!(format!("{closed}").contains("SSLRequest"), "{closed}");
        assert!(is_outage(&closed), "{closed:?}");
        assert!(StoreError::Database(closed).is_outage());
        // A protocol error in the middle of a conversation is not one.
        assert!(!is_outage(&sqlx::Error::Protocol(
            "unexpected response from server: DataRow".into()
        )));
    }

    fn sqlite_code(e: &sqlx::Error) -> Option<String> {
        match e {
            sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
            _ => None,
        }
    }

    /// Real SQLite errors, as sqlx reports them.
    #[tokio::test]
    async fn sqlite_errors_from_a_real_database_are_classified() {
        let dir = tempfile::tempdir().unwrap();

        // A file in a directory that does not exist: SQLITE_CANTOPEN.
        let missing = dir.path().join("no-such-dir").join("db.sqlite3");
        let cannot_open =
            SqliteConnectOptions::from_str(&format!("sqlite://{}", missing.display()))
                .unwrap()
                .create_if_missing(true)
                .connect()
                .await
                .expect_err("cannot open");
        assert_eq!(sqlite_code(&cannot_open).as_deref(), Some("14"));
        assert!(is_outage(&cannot_open), "{cannot_open:?}");

        // Another connection holds the write lock past the busy timeout: SQLITE_BUSY.
        let options = SqliteConnectOptions::from_str(&format!(
            "sqlite://{}",
            dir.path().join("db.sqlite3").display()
        ))
        .unwrap()
        .create_if_missing(true)
        .busy_timeout(std::time::Duration::ZERO);
        let mut holder = options.connect().await.unwrap();
        let mut waiter = options.connect().await.unwrap();
        sqlx::raw_sql("BEGIN IMMEDIATE")
            .execute(&mut holder)
            .await
            .unwrap();
        let busy = sqlx::raw_sql("BEGIN IMMEDIATE")
            .execute(&mut waiter)
            .await
            .expect_err("busy");
        assert_eq!(sqlite_code(&busy).as_deref(), Some("5"));
        assert!(is_outage(&busy), "{busy:?}");

        // What the service's own SQL can get wrong is not an outage.
        sqlx::raw_sql("ROLLBACK")
            .execute(&mut holder)
            .await
            .unwrap();
        sqlx::raw_sql("CREATE TABLE t (k INTEGER PRIMARY KEY)")
            .execute(&mut holder)
            .await
            .unwrap();
        sqlx::raw_sql("INSERT INTO t VALUES (1)")
            .execute(&mut holder)
            .await
            .unwrap();
        let duplicate = sqlx::raw_sql("INSERT INTO t VALUES (1)")
            .execute(&mut holder)
            .await
            .expect_err("unique violation");
        assert_eq!(sqlite_code(&duplicate).as_deref(), Some("1555"));
        assert!(!is_outage(&duplicate), "{duplicate:?}");
        let syntax = sqlx::raw_sql("SELEC 1")
            .execute(&mut holder)
            .await
            .expect_err("syntax error");
        assert!(!is_outage(&syntax), "{syntax:?}");
        holder.close().await.unwrap();
        waiter.close().await.unwrap();
    }
}
