//! `TCP_NODELAY` on the connections to PostgreSQL.
//!
//! sqlx 0.9.0 stopped setting it (sqlx issue #4335; fixed by PR #4336, in no
//! release yet), so the tail of a message sent in a segment of its own (COPY's
//! closing message, the end of a large bind) waits for PostgreSQL's delayed ACK,
//! about 40 ms: at 1% of a county `RecordMarks` took 10.9 s over TCP against
//! 5.7 s over the Unix socket (BENCHMARKS.md). sqlx gives no access to its
//! socket, so after each new connection the process's TCP sockets to the
//! database's port have the option set. Remove this once sqlx sets it again;
//! the test below says when.

/// Sets `TCP_NODELAY` on every TCP socket of this process whose peer port is
/// `port` and that lacks it; the number set. Setting it on another client's
/// connection to that port does no harm (libpq and tokio-postgres set it too).
#[cfg(target_os = "linux")]
pub(super) fn set_on_sockets_to(port: u16) -> usize {
    let mut set = 0;
    for_each_socket_to(port, |socket| {
        if socket.tcp_nodelay().is_ok_and(|on| !on) && socket.set_tcp_nodelay(true).is_ok() {
            set += 1;
        }
    });
    set
}

/// Calls `f` with each socket of this process whose peer port is `port`.
#[cfg(target_os = "linux")]
fn for_each_socket_to(port: u16, mut f: impl FnMut(socket2::SockRef<'_>)) {
    use std::os::fd::BorrowedFd;

    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    for entry in entries.flatten() {
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        let Some(raw) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        if !is_socket {
            continue;
        }
        // SAFETY: the descriptor is only passed to getpeername, getsockopt and
        // setsockopt while borrowed. Were it closed meanwhile, those fail with
        // EBADF; were its number reused, they act on another descriptor, and
        // TCP_NODELAY on any TCP socket is harmless (on anything else they fail).
        let fd = unsafe { BorrowedFd::borrow_raw(raw) };
        let socket = socket2::SockRef::from(&fd);
        let to_port = socket
            .peer_addr()
            .ok()
            .and_then(|addr| addr.as_socket())
            .is_some_and(|addr| addr.port() == port);
        if to_port {
            f(socket);
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub(super) fn set_on_sockets_to(_port: u16) -> usize {
    0
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::time::Duration;

    use sqlx::Connection;

    use crate::store::Store;
    use crate::store::postgres::PgStore;

    const URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

    /// Whether each TCP socket of this process to port 5432 has `TCP_NODELAY`.
    fn nodelay_of_sockets_to_5432() -> Vec<bool> {
        let mut found = Vec::new();
        super::for_each_socket_to(5432, |socket| found.push(socket.tcp_nodelay().unwrap()));
        found
    }

    /// sqlx's own connection lacks the option (when this fails, sqlx sets it
    /// again and the module can go); the store's connections have it.
    #[tokio::test]
    async fn the_stores_connections_to_postgres_do_not_wait_for_delayed_acks() {
        let mut plain = sqlx::PgConnection::connect(URL).await.unwrap();
        plain.ping().await.unwrap();
        assert_eq!(
            nodelay_of_sockets_to_5432(),
            [false],
            "sqlx sets TCP_NODELAY again"
        );
        plain.close().await.unwrap();

        let store = PgStore::connect(URL, 2, Duration::from_secs(5))
            .await
            .unwrap();
        store.ping(Duration::from_secs(5)).await.unwrap();
        let sockets = nodelay_of_sockets_to_5432();
        assert!(!sockets.is_empty());
        assert!(sockets.iter().all(|on| *on), "{sockets:?}");
    }
}
