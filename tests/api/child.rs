//! The server binary as a child process, on either backend, for what one test
//! process cannot measure of a server it shares with other tests: its metrics
//! (a process-wide registry) and its resident memory.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use lea_notices::domain::actor::Role;
use lea_notices::store::Backend;
use tonic::transport::Channel;

use crate::helpers::{As, TestApp};

pub struct ChildServer {
    pub addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    child: tokio::process::Child,
    dir: tempfile::TempDir,
    /// Keeps the PostgreSQL test database (and its roles) until the child is done.
    postgres: Option<TestApp>,
    /// A database the test manages itself (see [`ChildServer::spawn_on`]).
    external_database: Option<String>,
    env: Vec<(String, String)>,
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

impl ChildServer {
    /// The release or debug binary `cargo test` built, serving with `env` (the
    /// `LEA_NOTICES_*` settings) on a fresh database.
    pub async fn spawn(backend: Backend, env: &[(&str, &str)]) -> ChildServer {
        let dir = tempfile::tempdir().unwrap();
        let mut vars: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let postgres = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                // A migrated database and a login with the service's privileges.
                let app = TestApp::spawn(Backend::Postgres).await;
                vars.push(("DATABASE_URL".into(), app.service_url().to_string()));
                vars.push(("LEA_NOTICES_DEV_TOKENS".into(), "true".into()));
                Some(app)
            }
        };
        Self::start(dir, vars, postgres, None).await
    }

    /// The binary serving on `database_url`, a PostgreSQL database the test
    /// manages (and may take away, even before the server starts), with the
    /// development key and `env`.
    pub async fn spawn_on(database_url: &str, env: &[(&str, &str)]) -> ChildServer {
        let mut vars: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        vars.push(("DATABASE_URL".into(), database_url.into()));
        vars.push(("LEA_NOTICES_DEV_TOKENS".into(), "true".into()));
        let dir = tempfile::tempdir().unwrap();
        Self::start(dir, vars, None, Some(database_url.into())).await
    }

    /// Starts `serve` and waits until it accepts connections.
    async fn start(
        dir: tempfile::TempDir,
        mut vars: Vec<(String, String)>,
        postgres: Option<TestApp>,
        external_database: Option<String>,
    ) -> ChildServer {
        let addr = free_port();
        let metrics_addr = free_port();
        vars.push(("LEA_NOTICES_METRICS_ADDR".into(), metrics_addr.to_string()));
        let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
        let child = Self::command(dir.path(), &vars)
            .args(["serve", "--listen-addr", &addr.to_string()])
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let server = ChildServer {
            addr,
            metrics_addr,
            child,
            dir,
            postgres,
            external_database,
            env: vars,
        };
        let mut server = server;
        let endpoint = Channel::from_shared(format!("http://{addr}")).unwrap();
        for _ in 0..300 {
            if endpoint.connect().await.is_ok() {
                return server;
            }
            if let Some(status) = server.exited() {
                panic!("the server exited ({status}):\n{}", server.log());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not come up:\n{}", server.log());
    }

    /// Kills the server with SIGKILL (no shutdown, nothing flushed) and starts
    /// it again on the same database and address, waiting until it accepts
    /// connections.
    pub async fn kill_and_restart(&mut self) {
        self.child.start_kill().expect("SIGKILL");
        self.child.wait().await.expect("the killed server's status");
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(self.dir.path().join("serve.log"))
            .unwrap();
        self.child = Self::command(self.dir.path(), &self.env)
            .args(["serve", "--listen-addr", &self.addr.to_string()])
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let endpoint = Channel::from_shared(format!("http://{}", self.addr)).unwrap();
        for _ in 0..300 {
            if endpoint.connect().await.is_ok() {
                return;
            }
            if let Some(status) = self.exited() {
                panic!("the restarted server exited ({status}):\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the restarted server did not come up:\n{}", self.log());
    }

    /// What the server has logged so far (at `RUST_LOG=warn` unless `env` said
    /// otherwise).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }

    fn command(dir: &std::path::Path, vars: &[(String, String)]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_lea-notices"));
        command
            .current_dir(dir)
            .env_remove("DATABASE_URL")
            .env_remove("LEA_NOTICES_CONFIG")
            .env("RUST_LOG", "warn")
            .envs(vars.iter().map(|(k, v)| (k, v)));
        command
    }

    /// A token the child accepts, for `role` of authority `la`.
    pub async fn token(&self, la: &str, role: Role) -> String {
        let out = Self::command(self.dir.path(), &self.env)
            .args(["token", "--authority", la, "--role", role.as_str()])
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// A channel on a connection of its own.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .tcp_nodelay(true)
            .connect()
            .await
            .unwrap()
    }

    /// Clients calling as `role` of authority `la`, on a connection of their own.
    pub async fn as_role(&self, la: &str, role: Role) -> As {
        As::new(self.channel().await, &self.token(la, role).await)
    }

    /// The database as its owner, for a test that holds a lock in it.
    pub fn database_url(&self) -> String {
        match (&self.postgres, &self.external_database) {
            (Some(app), _) => app.database_url().to_string(),
            (None, Some(url)) => url.clone(),
            (None, None) => format!(
                "sqlite://{}",
                self.dir.path().join("data/lea-notices.sqlite3").display()
            ),
        }
    }

    /// Stops the server as an orchestrator does (SIGTERM) and waits for it to
    /// exit, so what it buffered (spans) is flushed.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.pid().to_string();
        let sent = tokio::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .expect("kill");
        assert!(sent.success(), "SIGTERM to {pid}");
        tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("the server exits within a minute of SIGTERM")
            .expect("the server's status")
    }

    /// How the server exited, if it has.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("the server's status")
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// `GET /metrics`, as Prometheus scrapes it.
    pub async fn scrape(&self) -> String {
        crate::operations::scrape(self.metrics_addr).await
    }

    /// The value of `name{labels}` now (0 when the series does not exist yet).
    pub async fn metric(&self, name: &str, labels: &[&str]) -> f64 {
        crate::operations::value(&self.scrape().await, name, labels)
    }

    /// Waits (up to 30 s, for a loaded machine) until `name{labels}` is `want`;
    /// the last value seen.
    pub async fn metric_settles(&self, name: &str, labels: &[&str], want: f64) -> f64 {
        let mut seen = self.metric(name, labels).await;
        for _ in 0..300 {
            if seen == want {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            seen = self.metric(name, labels).await;
        }
        seen
    }
}
