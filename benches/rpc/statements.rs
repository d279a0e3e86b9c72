//! The statements a call sends, read off the wire, and the check that each
//! pgbench script sends the same ones (issue #32).
//!
//! A small proxy sits between a second server process (the same binary, same
//! database, used only for this check) and PostgreSQL, and between pgbench and
//! PostgreSQL. It reads the frontend protocol: a simple `Query`, or the text
//! of a `Parse` and the `Bind`/`Execute` that run it (so a statement prepared
//! once and run again by name is still seen), and every `Sync`, each of which
//! the client waits on: a round trip. Nothing in the measured path goes
//! through it.
//!
//! The server binds its values as parameters; the scripts have literals of the
//! same type and size (pgbench cannot bind NULL, and values the server computes
//! in Rust are literals). So both texts are compared after every value
//! expression (a literal, a parameter, NULL, TRUE/FALSE, `now()`, or those
//! joined by `||`, `+`, `-`, cast with `::`, or passed to `lpad`, `repeat`,
//! `decode`, `md5`) is replaced by `?`. Everything else must be the same,
//! token for token, in the same order on each connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What a client connection asked of PostgreSQL, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wire {
    /// A statement run (simple query, or a bound prepared statement executed).
    Statement(String),
    /// A `Sync` (or a simple query) the client waited on, and what it carried.
    Trip(Trip),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trip {
    /// One or more statements executed.
    Run,
    /// A statement parsed and described, not yet run: sqlx prepares a new
    /// statement in a round trip of its own before running it.
    Prepare,
    /// Nothing but a `Sync` (sqlx's ping) or a `Close`.
    Other,
}

type Log = Arc<Mutex<Vec<(u64, Wire)>>>;

/// A proxy to PostgreSQL that logs what its clients send.
pub struct Capture {
    pub port: u16,
    log: Log,
    _accept: tokio::task::AbortHandle,
}

impl Capture {
    /// Listens on a free local port and forwards to `upstream` (host:port).
    pub async fn start(upstream: String) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let log: Log = Arc::default();
        let accept_log = log.clone();
        let accept = tokio::spawn(async move {
            let mut next = 0u64;
            while let Ok((client, _)) = listener.accept().await {
                next += 1;
                let (log, upstream) = (accept_log.clone(), upstream.clone());
                tokio::spawn(async move {
                    if let Err(e) = relay(next, client, &upstream, log).await {
                        eprintln!("statement capture: connection {next}: {e:#}");
                    }
                });
            }
        });
        Ok(Self {
            port,
            log,
            _accept: accept.abort_handle(),
        })
    }

    /// The position now: what comes after it is `since(mark)`.
    pub fn mark(&self) -> usize {
        self.log.lock().expect("log").len()
    }

    /// What each connection sent after `mark`, connections in the order they
    /// first sent something.
    pub fn since(&self, mark: usize) -> Vec<Vec<Wire>> {
        let log = self.log.lock().expect("log");
        let mut order: Vec<u64> = Vec::new();
        let mut by_conn: HashMap<u64, Vec<Wire>> = HashMap::new();
        for (conn, wire) in &log[mark..] {
            if !order.contains(conn) {
                order.push(*conn);
            }
            by_conn.entry(*conn).or_default().push(wire.clone());
        }
        order
            .into_iter()
            .map(|c| by_conn.remove(&c).unwrap_or_default())
            .collect()
    }
}

async fn relay(conn: u64, mut client: TcpStream, upstream: &str, log: Log) -> anyhow::Result<()> {
    client.set_nodelay(true)?;
    let mut server = TcpStream::connect(upstream).await?;
    server.set_nodelay(true)?;
    // The startup: SSL and GSS encryption requests are refused here (the
    // capture must read plain text), then the startup message goes on as is.
    loop {
        let len = client.read_u32().await? as usize;
        anyhow::ensure!(
            (8..=10_000).contains(&len),
            "startup message of {len} bytes"
        );
        let mut body = vec![0; len - 4];
        client.read_exact(&mut body).await?;
        let code = u32::from_be_bytes(body[..4].try_into()?);
        if code == 80_877_103 || code == 80_877_104 {
            client.write_all(b"N").await?;
            continue;
        }
        server.write_u32(len as u32).await?;
        server.write_all(&body).await?;
        break;
    }
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let back = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    });
    let mut parser = Parser::default();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = client_read.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        server_write.write_all(&chunk[..n]).await?;
        let seen = parser.feed(&chunk[..n]);
        if !seen.is_empty() {
            let mut log = log.lock().expect("log");
            log.extend(seen.into_iter().map(|w| (conn, w)));
        }
    }
    let _ = server_write.shutdown().await;
    let _ = back.await;
    Ok(())
}

/// Reads the typed frontend messages of one connection.
#[derive(Default)]
struct Parser {
    buffer: Vec<u8>,
    /// Prepared statements by name ("" is the unnamed one).
    prepared: HashMap<String, String>,
    bound: Option<String>,
    ran: bool,
    parsed: bool,
}

fn cstring(bytes: &[u8]) -> (String, &[u8]) {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let rest = bytes.get(end + 1..).unwrap_or(&[]);
    (String::from_utf8_lossy(&bytes[..end]).into_owned(), rest)
}

impl Parser {
    fn feed(&mut self, bytes: &[u8]) -> Vec<Wire> {
        self.buffer.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut at = 0;
        while self.buffer.len() - at >= 5 {
            let kind = self.buffer[at];
            let len = u32::from_be_bytes(self.buffer[at + 1..at + 5].try_into().expect("4 bytes"))
                as usize;
            if self.buffer.len() - at < 1 + len {
                break;
            }
            let body = self.buffer[at + 5..at + 1 + len].to_vec();
            at += 1 + len;
            match kind {
                b'Q' => {
                    out.push(Wire::Statement(cstring(&body).0));
                    out.push(Wire::Trip(Trip::Run));
                }
                b'P' => {
                    let (name, rest) = cstring(&body);
                    let (text, _) = cstring(rest);
                    self.prepared.insert(name, text);
                    self.parsed = true;
                }
                b'B' => {
                    let (_portal, rest) = cstring(&body);
                    let (statement, _) = cstring(rest);
                    self.bound = self.prepared.get(&statement).cloned();
                }
                b'E' => {
                    if let Some(text) = self.bound.take() {
                        out.push(Wire::Statement(text));
                    }
                    self.ran = true;
                }
                b'S' => {
                    out.push(Wire::Trip(if self.ran {
                        Trip::Run
                    } else if self.parsed {
                        Trip::Prepare
                    } else {
                        Trip::Other
                    }));
                    self.ran = false;
                    self.parsed = false;
                }
                _ => {}
            }
        }
        self.buffer.drain(..at);
        out
    }
}

/// The statements of one call (or one pgbench transaction), split as the
/// comparison needs them.
#[derive(Debug, Default)]
pub struct Trace {
    /// The unit of work's connection (the one that sent the most statements).
    pub main: Vec<String>,
    /// Statements on other connections (the server's numbering pool), in order.
    pub side: Vec<String>,
    /// Round trips on all connections, by kind.
    pub runs: usize,
    pub prepares: usize,
    pub others: usize,
}

impl Trace {
    /// The server's: one connection sends the unit, others (numbering) the rest.
    pub fn of_server(conns: &[Vec<Wire>]) -> Self {
        let conns = &without_health_checks(conns);
        let statements = |c: &Vec<Wire>| -> Vec<String> {
            c.iter()
                .filter_map(|w| match w {
                    Wire::Statement(s) => Some(s.clone()),
                    Wire::Trip(_) => None,
                })
                .collect()
        };
        let main_index = (0..conns.len())
            .max_by_key(|&i| statements(&conns[i]).len())
            .unwrap_or(0);
        let mut trace = Trace::default();
        for (i, conn) in conns.iter().enumerate() {
            if i == main_index {
                trace.main = statements(conn);
            } else {
                trace.side.extend(statements(conn));
            }
        }
        trace.count_trips(conns);
        trace
    }

    /// pgbench's: one connection; what it sends between `SET synchronous_commit
    /// = off` and `= on` stands for the server's other connections, in the
    /// order they first send: its numbering connection, and a unit a call runs
    /// on a pool connection of its own before its main one (IssuePenaltyNotice's
    /// sharing look-up). The SETs themselves are pgbench's cost of numbering,
    /// not compared. (The server's health checks are left out of both sides as
    /// well, by [`without_health_checks`]; the bench's server runs during the
    /// script too, on connections through the same capture.)
    pub fn of_pgbench(conns: &[Vec<Wire>]) -> Self {
        let conns = &without_health_checks(conns);
        let mut trace = Trace::default();
        let mut numbering = false;
        for wire in conns.iter().flatten() {
            if let Wire::Statement(s) = wire {
                let lower = s.trim().to_ascii_lowercase();
                if lower.starts_with("set synchronous_commit") {
                    numbering = lower.ends_with("off") || lower.ends_with("off;");
                } else if numbering {
                    trace.side.push(s.clone());
                } else {
                    trace.main.push(s.clone());
                }
            }
        }
        trace.count_trips(conns);
        trace
    }

    fn count_trips(&mut self, conns: &[Vec<Wire>]) {
        for wire in conns.iter().flatten() {
            match wire {
                Wire::Trip(Trip::Run) => self.runs += 1,
                Wire::Trip(Trip::Prepare) => self.prepares += 1,
                Wire::Trip(Trip::Other) => self.others += 1,
                Wire::Statement(_) => {}
            }
        }
    }

    pub fn statements(&self) -> usize {
        self.main.len() + self.side.len()
    }
}

/// The server's health check: `SELECT 1` as a simple query, on whichever
/// pooled connection is idle, every `HEALTH_CHECK_INTERVAL` (250 ms), from a
/// task of its own (`DatabaseWatch` in src/server/mod.rs, `ping` in
/// src/store/tx.rs). It is no part of any call's work (no call sends
/// `SELECT 1`), so it lands in a call's or a script's trace only by when it
/// ran: it and its round trip are dropped. sqlx's own liveness check is a
/// bare `Sync`, already no statement.
const HEALTH_CHECK: &str = "SELECT 1";

fn without_health_checks(conns: &[Vec<Wire>]) -> Vec<Vec<Wire>> {
    conns
        .iter()
        .map(|conn| {
            let mut kept = Vec::with_capacity(conn.len());
            let mut after_check = false;
            for wire in conn {
                match wire {
                    Wire::Statement(s) if s.trim() == HEALTH_CHECK => after_check = true,
                    // A simple query's round trip follows its statement.
                    Wire::Trip(Trip::Run) if after_check => after_check = false,
                    other => {
                        after_check = false;
                        kept.push(other.clone());
                    }
                }
            }
            kept
        })
        .filter(|conn| !conn.is_empty())
        .collect()
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Value,
    Word(String),
    Symbol(String),
}

fn tokens(sql: &str) -> Vec<Token> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '\'' {
            i += 1;
            loop {
                match chars.get(i) {
                    None => break,
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => i += 2,
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
            out.push(Token::Value);
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            out.push(Token::Value);
        } else if c == '$' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            out.push(Token::Value);
        } else if c.is_alphabetic() || c == '_' || c == '"' {
            let start = i;
            if c == '"' {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    i += 1;
                }
                i += 1;
            } else {
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
            let word: String = chars[start..i.min(chars.len())].iter().collect();
            match word.to_ascii_lowercase().as_str() {
                "null" | "true" | "false" => out.push(Token::Value),
                _ => out.push(Token::Word(word)),
            }
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            if ["||", "::", "<=", ">=", "<>", "!="].contains(&two.as_str()) {
                out.push(Token::Symbol(two));
                i += 2;
            } else {
                out.push(Token::Symbol(c.to_string()));
                i += 1;
            }
        }
    }
    out
}

/// Functions the scripts use to make a value of the right size from pgbench's
/// variables (`string_to_array` for a `text[]` the server binds: pgbench binds
/// text only), and `now()`, which stands for a timestamp the server binds.
const VALUE_FUNCTIONS: [&str; 6] = ["lpad", "repeat", "decode", "md5", "now", "string_to_array"];

fn symbol(t: Option<&Token>, s: &str) -> bool {
    matches!(t, Some(Token::Symbol(x)) if x == s)
}

/// The end of the value term starting at `i`, if one does.
fn term(t: &[Token], i: usize) -> Option<usize> {
    let mut j = match t.get(i)? {
        Token::Value => i + 1,
        Token::Word(w)
            if VALUE_FUNCTIONS.contains(&w.to_ascii_lowercase().as_str())
                && symbol(t.get(i + 1), "(") =>
        {
            let mut j = i + 2;
            if symbol(t.get(j), ")") {
                j + 1
            } else {
                loop {
                    j = value(t, j)?;
                    if symbol(t.get(j), ",") {
                        j += 1;
                    } else if symbol(t.get(j), ")") {
                        break j + 1;
                    } else {
                        return None;
                    }
                }
            }
        }
        _ => return None,
    };
    while symbol(t.get(j), "::") && matches!(t.get(j + 1), Some(Token::Word(_))) {
        j += 2;
    }
    Some(j)
}

/// The end of the value expression starting at `i`, if one does.
fn value(t: &[Token], i: usize) -> Option<usize> {
    let mut j = term(t, i)?;
    while ["||", "+", "-"].iter().any(|op| symbol(t.get(j), op)) {
        match term(t, j + 1) {
            Some(k) => j = k,
            None => break,
        }
    }
    Some(j)
}

/// The statement with its values replaced by `?`, tokens separated by one space.
pub fn normalise(sql: &str) -> String {
    let t = tokens(sql);
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < t.len() {
        if let Some(j) = value(&t, i) {
            out.push("?".into());
            i = j;
        } else {
            out.push(match &t[i] {
                Token::Word(w) | Token::Symbol(w) => w.clone(),
                Token::Value => "?".into(),
            });
            i += 1;
        }
    }
    // A statement's closing semicolon (pgbench sends it; sqlx need not).
    if out.last().is_some_and(|s| s == ";") {
        out.pop();
    }
    out.join(" ")
}

/// A line-by-line difference of two statement lists (longest common
/// subsequence), empty when they are the same after normalising.
pub fn diff(server: &[String], script: &[String]) -> Vec<String> {
    let a: Vec<String> = server.iter().map(|s| normalise(s)).collect();
    let b: Vec<String> = script.iter().map(|s| normalise(s)).collect();
    if a == b {
        return Vec::new();
    }
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let short = |s: &str| -> String {
        if s.chars().count() > 160 {
            format!("{}…", s.chars().take(160).collect::<String>())
        } else {
            s.to_string()
        }
    };
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push(format!("    {}", short(&a[i])));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(format!("  - server only: {}", short(&a[i])));
            i += 1;
        } else {
            out.push(format!("  + script only: {}", short(&b[j])));
            j += 1;
        }
    }
    // Pairs that differ only inside a statement: show where.
    for (x, y) in a.iter().zip(&b) {
        if x != y && x.split(' ').next() == y.split(' ').next() {
            let at = x
                .split(' ')
                .zip(y.split(' '))
                .position(|(p, q)| p != q)
                .unwrap_or(0);
            let words: Vec<&str> = x.split(' ').collect();
            let theirs: Vec<&str> = y.split(' ').collect();
            let from = at.saturating_sub(6);
            out.push(format!(
                "  first difference, word {at}: server `… {} …`, script `… {} …`",
                words[from..(at + 6).min(words.len())].join(" "),
                theirs[from..(at + 6).min(theirs.len())].join(" ")
            ));
            break;
        }
    }
    out
}

/// Runs `script` once through the proxy (`pgbench -t 1`): what pgbench sends.
pub async fn pgbench_once(
    url_via_proxy: &str,
    script_path: &str,
    seeded: u64,
) -> anyhow::Result<()> {
    let output = tokio::process::Command::new("pgbench")
        .env("PGOPTIONS", "-c plan_cache_mode=force_custom_plan")
        .args([
            "-n",
            "-M",
            "prepared",
            "-c",
            "1",
            "-t",
            "1",
            "-D",
            &format!("seeded={seeded}"),
            "-f",
            script_path,
            url_via_proxy,
        ])
        .output()
        .await
        .context("running pgbench (Debian: postgresql-client)")?;
    anyhow::ensure!(
        output.status.success(),
        "pgbench {script_path}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// The host:port a postgres://[user@]host[:port]/db URL names.
pub fn upstream(url: &str) -> anyhow::Result<String> {
    let (_, rest) = url.split_once("://").context("a URL")?;
    let (authority, _) = rest.split_once('/').context("a URL with a database")?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Ok(if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:5432")
    })
}

/// `url` pointed at 127.0.0.1:`port`, without TLS (the capture reads plain text).
pub fn proxied(url: &str, port: u16) -> anyhow::Result<String> {
    let (scheme, rest) = url.split_once("://").context("a URL")?;
    let (authority, path) = rest.split_once('/').context("a URL with a database")?;
    let user = authority
        .rsplit_once('@')
        .map_or(String::new(), |(u, _)| format!("{u}@"));
    let sep = if path.contains('?') { '&' } else { '?' };
    Ok(format!(
        "{scheme}://{user}127.0.0.1:{port}/{path}{sep}sslmode=disable"
    ))
}

/// The calls the bench compares with pgbench, with their scripts.
const COMPARED: [super::Op; 4] = [
    super::Op::GetNotice,
    super::Op::ListNotices,
    super::Op::IssuePenaltyNotice,
    super::Op::RecordPayment,
];

/// Starts a second server on the bench's database whose connections to
/// PostgreSQL go through the capture, makes one call of each compared kind
/// (after three unrecorded ones, so its connections and prepared statements
/// are warm, as under load), runs each script once through the capture, and
/// fails with a difference when they do not send the same statements (only
/// warns when not `fatal`).
/// `print` also prints every statement (what `--log-statements` shows).
pub async fn check_scripts(
    bin: &str,
    env: &[(&str, String)],
    url: &str,
    bench: &super::Bench,
    seeded: u64,
    print: bool,
    fatal: bool,
) -> anyhow::Result<()> {
    use std::sync::atomic::AtomicU64;
    use std::time::Duration;

    let capture = Capture::start(upstream(url)?).await?;
    let through = proxied(url, capture.port)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let _server = tokio::process::Command::new(bin)
        .arg("serve")
        .envs(env.iter().cloned())
        .env("DATABASE_URL", &through)
        .env("LEA_NOTICES_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("LEA_NOTICES_MIGRATE_ON_START", "false")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let watched = super::Bench {
        port,
        officer: bench.officer.clone(),
        finance: bench.finance.clone(),
        // Pupils and provider ids of their own, far from the bench's.
        next: AtomicU64::new(500_000),
        numbers: bench.numbers.clone(),
    };
    let mut client = loop {
        match watched.client().await {
            Ok(c) => break c,
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    for _ in 0..100 {
        if watched.call(&mut client, super::Op::Health).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("## The scripts against the server's statements (read off the wire)\n");
    println!(
        "| call | server: statements (unit + numbering) | round trips: run, prepare, other | pgbench script: statements | same |"
    );
    println!("|---|---|---|---|---|");
    let mut differences = Vec::new();
    let mut listings = Vec::new();
    for op in COMPARED {
        let script = op.script().context("a compared call has a script")?;
        for _ in 0..3 {
            let answer = watched.call(&mut client, op).await;
            anyhow::ensure!(answer.is_ok(), "{}: {answer:?}", op.name());
        }
        let mark = capture.mark();
        let answer = watched.call(&mut client, op).await;
        anyhow::ensure!(answer.is_ok(), "{}: {answer:?}", op.name());
        // Anything the call finishes after answering.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let server = Trace::of_server(&capture.since(mark));
        let mark = capture.mark();
        let path = format!("{}/benches/rpc/{script}", env!("CARGO_MANIFEST_DIR"));
        pgbench_once(&through, &path, seeded).await?;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let pgbench = Trace::of_pgbench(&capture.since(mark));
        let mut lines = diff(&server.main, &pgbench.main);
        let side = diff(&server.side, &pgbench.side);
        if !side.is_empty() {
            lines.push("  on the numbering connection:".into());
            lines.extend(side);
        }
        println!(
            "| {} | {} ({} + {}) | {}: {}, {}, {} | {} | {} |",
            op.name(),
            server.statements(),
            server.main.len(),
            server.side.len(),
            server.runs + server.prepares + server.others,
            server.runs,
            server.prepares,
            server.others,
            pgbench.statements(),
            if lines.is_empty() { "yes" } else { "**no**" }
        );
        if !lines.is_empty() {
            differences.push(format!("{} ({script}):\n{}", op.name(), lines.join("\n")));
        }
        if print {
            let mut listing = format!("{}:\n", op.name());
            for s in &server.main {
                listing.push_str(&format!("  {}\n", normalise(s)));
            }
            for s in &server.side {
                listing.push_str(&format!("  (numbering) {}\n", normalise(s)));
            }
            listings.push(listing);
        }
    }
    println!();
    for listing in listings {
        println!("{listing}");
    }
    if differences.is_empty() {
        return Ok(());
    }
    let report = format!(
        "the pgbench scripts do not send what the server sends (`-` the server only, `+` the script only; values shown as ?):\n{}",
        differences.join("\n")
    );
    if !fatal {
        // `--quick` (CI's run) says so and goes on: its ratios to pgbench are
        // then not of the same SQL, and no target is read from them.
        println!("**Warning**: {report}\n");
        return Ok(());
    }
    anyhow::bail!(report)
}
