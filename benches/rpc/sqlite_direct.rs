//! The SQLite baseline of `benches/rpc.rs` (issue #32): the statements the
//! server sends for a call, run directly on the same database file from the
//! same number of clients, each on its own connection opened with the store's
//! settings, in the same transaction shape.
//!
//! The scripts are `benches/rpc/sqlite/*.sql`, written from the server's
//! statement log (sqlx's `sqlx::query` events at `debug`). One statement a
//! line, exactly as the server sends it; before it, `-- bind:` lists the values
//! bound to `$1`, `$2`, ... and `-- into:` names the columns of its first row
//! kept for later binds. A value is `NULL`, an integer, `true`/`false`, a
//! `'text'` or `x'hex'` with `{name}` or `{name:06}` replaced (`{n}` a number
//! unique to the iteration, `{notice}` a seeded notice's number, `{now}` the
//! time as sqlx writes a timestamp, `{today}` the date as sqlx writes one, and
//! the columns kept; `{name-K}` is a kept integer less `K`; braces around
//! anything else, as a JSON object's, are kept), or `{name}` alone (the value
//! as it was read). Values the server computes in Rust (hashes,
//! JSON details) are literals of the same size.
//!
//! Before measuring, the bench runs a second server on the database with the
//! statement log on, makes each call, and fails when the statements it sent
//! differ from the script's ([`differences`]).
//!
//! Writers take turns as the server's do (`SqliteStore::begin`): one fair
//! queue, a turn taken before `BEGIN IMMEDIATE` and held to its `COMMIT`, and
//! for a write in autocommit (a read's access-log entries) for that statement.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteRow, SqliteSynchronous,
};
use sqlx::{Column, Connection, Row, ValueRef};
use tokio::sync::Semaphore;

/// A value kept from a row, or bound.
#[derive(Clone, Debug)]
enum Value {
    Int(i64),
    Text(String),
}

/// What `-- bind:` lists, one per parameter.
#[derive(Clone, Debug)]
enum Bind {
    Null,
    Int(i64),
    Bool(bool),
    Text(String),
    Blob(String),
    Var(String),
}

#[derive(Clone, Debug)]
struct Statement {
    /// Shared, so that a run binds it without copying it (the server's are
    /// `&'static str`).
    sql: Arc<str>,
    binds: Vec<Bind>,
    into: bool,
}

/// A call's statements, in the server's order.
#[derive(Clone, Debug)]
pub struct Script {
    pub file: String,
    statements: Vec<Statement>,
}

impl Script {
    /// `benches/rpc/sqlite/{file}`.
    pub fn load(file: &str) -> anyhow::Result<Script> {
        let path = format!("{}/benches/rpc/sqlite/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).with_context(|| path.clone())?;
        Self::parse(file, &text).with_context(|| path)
    }

    fn parse(file: &str, text: &str) -> anyhow::Result<Script> {
        let mut statements = Vec::new();
        let mut binds = Vec::new();
        let mut into = false;
        for line in text.lines() {
            let line = line.trim_end();
            if let Some(list) = line.strip_prefix("-- bind:") {
                binds = parse_binds(list)?;
            } else if line.starts_with("-- into:") {
                into = true;
            } else if line.starts_with("--") || line.trim().is_empty() {
                continue;
            } else {
                statements.push(Statement {
                    sql: Arc::from(line),
                    binds: std::mem::take(&mut binds),
                    into: std::mem::take(&mut into),
                });
            }
        }
        anyhow::ensure!(!statements.is_empty(), "no statements");
        Ok(Script {
            file: file.into(),
            statements,
        })
    }

    /// The statements' text, as the statement log shows them.
    pub fn sql(&self) -> Vec<&str> {
        self.statements.iter().map(|s| &*s.sql).collect()
    }
}

fn parse_binds(list: &str) -> anyhow::Result<Vec<Bind>> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in list.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => items.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    anyhow::ensure!(!quoted, "unclosed quote in {list}");
    items.push(current);
    items
        .iter()
        .map(|item| {
            let item = item.trim();
            let unquote = |s: &str| s[1..s.len() - 1].replace("''", "'");
            Ok(if item == "NULL" {
                Bind::Null
            } else if item == "true" || item == "false" {
                Bind::Bool(item == "true")
            } else if item.starts_with("x'") && item.ends_with('\'') {
                Bind::Blob(unquote(&item[1..]))
            } else if item.starts_with('\'') && item.ends_with('\'') && item.len() >= 2 {
                Bind::Text(unquote(item))
            } else if let Some(name) = item.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Bind::Var(name.into())
            } else {
                Bind::Int(item.parse().with_context(|| format!("bind value {item}"))?)
            })
        })
        .collect()
}

/// `{name}` and `{name:06}` in `template` replaced from `vars`. Braces around
/// anything else (a JSON object's `{"k":...}`) are left as they are.
fn fill(template: &str, vars: &HashMap<String, Value>) -> anyhow::Result<String> {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let spec = rest[open + 1..]
            .find('}')
            .map(|len| &rest[open + 1..open + 1 + len]);
        let Some(spec) = spec.filter(|s| is_name(s)) else {
            out.push('{');
            rest = &rest[open + 1..];
            continue;
        };
        let close = open + 1 + spec.len();
        let (name, width) = match spec.split_once(':') {
            Some((name, width)) => (name, width.parse::<usize>()?),
            None => (spec, 0),
        };
        match lookup(vars, name)? {
            Value::Int(i) => out.push_str(&format!("{i:0width$}")),
            Value::Text(t) => out.push_str(&t),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `name`, `name-K`, `name:06`: what `fill` replaces.
fn is_name(spec: &str) -> bool {
    let (name, width) = spec.split_once(':').unwrap_or((spec, "0"));
    let (name, less) = name.rsplit_once('-').unwrap_or((name, "0"));
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !less.is_empty()
        && less.chars().all(|c| c.is_ascii_digit())
        && !width.is_empty()
        && width.chars().all(|c| c.is_ascii_digit())
}

/// `name`'s value, or for `name-K` an integer's value less `K` (the first of
/// the `K + 1` audit events a unit numbers: the chain's head returns the last).
fn lookup(vars: &HashMap<String, Value>, name: &str) -> anyhow::Result<Value> {
    if let Some(value) = vars.get(name) {
        return Ok(value.clone());
    }
    if let Some((base, less)) = name.rsplit_once('-')
        && let Ok(less) = less.parse::<i64>()
        && let Some(Value::Int(i)) = vars.get(base)
    {
        return Ok(Value::Int(i - less));
    }
    anyhow::bail!("no value {name}")
}

/// The connection options of the server's SQLite pool
/// (`SqliteStore::connect` in src/store/sqlite/mod.rs): WAL, `synchronous`
/// FULL, foreign keys on, a busy timeout of 30 s, no checkpoint in a commit
/// (the measured server's store checkpoints the same file from a task of its
/// own meanwhile); sqlx's other defaults.
pub fn connect_options(url: &str) -> anyhow::Result<SqliteConnectOptions> {
    Ok(SqliteConnectOptions::from_str(url)?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30))
        .pragma("wal_autocheckpoint", "0"))
}

fn is_write(sql: &str) -> bool {
    let head = sql.trim_start().to_ascii_uppercase();
    ["INSERT", "UPDATE", "DELETE", "REPLACE", "WITH"]
        .iter()
        .any(|w| head.starts_with(w))
}

/// Runs `script` once on `conn`, taking write turns of `turns` as the server
/// does.
async fn run_once(
    conn: &mut SqliteConnection,
    script: &Script,
    turns: &Arc<Semaphore>,
    vars: &mut HashMap<String, Value>,
) -> anyhow::Result<()> {
    let mut turn = None;
    let mut in_transaction = false;
    for s in &script.statements {
        let upper = s.sql.to_ascii_uppercase();
        if upper.starts_with("BEGIN") {
            if upper.starts_with("BEGIN IMMEDIATE") {
                turn = Some(turns.clone().acquire_owned().await?);
            }
            sqlx::raw_sql(sqlx::AssertSqlSafe(s.sql.clone()))
                .execute(&mut *conn)
                .await?;
            in_transaction = true;
            continue;
        }
        if upper.starts_with("COMMIT") || upper.starts_with("ROLLBACK") {
            sqlx::raw_sql(sqlx::AssertSqlSafe(s.sql.clone()))
                .execute(&mut *conn)
                .await?;
            in_transaction = false;
            turn = None;
            continue;
        }
        let own_turn = if !in_transaction && is_write(&s.sql) {
            Some(turns.clone().acquire_owned().await?)
        } else {
            None
        };
        let mut query = sqlx::query::<sqlx::Sqlite>(sqlx::AssertSqlSafe(s.sql.clone()));
        for b in &s.binds {
            query = match b {
                Bind::Null => query.bind(None::<String>),
                Bind::Int(i) => query.bind(*i),
                Bind::Bool(v) => query.bind(*v),
                Bind::Text(t) => query.bind(fill(t, vars)?),
                Bind::Blob(h) => query.bind(hex::decode(fill(h, vars)?)?),
                Bind::Var(name) => match lookup(vars, name)? {
                    Value::Int(i) => query.bind(i),
                    Value::Text(t) => query.bind(t),
                },
            };
        }
        let rows = query
            .fetch_all(&mut *conn)
            .await
            .with_context(|| format!("{}: {}", script.file, s.sql))?;
        drop(own_turn);
        if s.into {
            let row = rows
                .first()
                .with_context(|| format!("{}: no row from {}", script.file, s.sql))?;
            keep(row, vars)?;
        }
    }
    drop(turn);
    Ok(())
}

fn keep(row: &SqliteRow, vars: &mut HashMap<String, Value>) -> anyhow::Result<()> {
    for (i, column) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i)?;
        let value = if raw.is_null() {
            Value::Text(String::new())
        } else if let Ok(v) = row.try_get::<i64, _>(i) {
            Value::Int(v)
        } else {
            Value::Text(row.try_get::<String, _>(i)?)
        };
        vars.insert(column.name().to_string(), value);
    }
    Ok(())
}

/// What running a script from a number of clients saw.
pub struct Direct {
    pub rate: f64,
    /// Microseconds per run of the script (with its waits for a write turn).
    pub latency: Histogram<u64>,
}

impl Direct {
    pub fn quantile_ms(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1000.0
    }
}

/// Runs `script` from `clients` clients for `secs` seconds, each client on its
/// own connection to `url` (opened first, and warmed by one run each), again
/// as soon as it finishes. `numbers` are the seeded notices'; `next` gives
/// each run its `{n}`.
pub async fn run(
    url: &str,
    script: &Script,
    clients: usize,
    secs: f64,
    numbers: &[String],
    next: &Arc<AtomicU64>,
) -> anyhow::Result<Direct> {
    let options = connect_options(url)?;
    let turns = Arc::new(Semaphore::new(1));
    let numbers = Arc::new(numbers.to_vec());
    let script = Arc::new(script.clone());
    let mut conns = Vec::new();
    for _ in 0..clients {
        conns.push(SqliteConnection::connect_with(&options).await?);
    }
    let vars_for = |n: u64, numbers: &[String]| {
        let mut vars = HashMap::new();
        vars.insert("n".to_string(), Value::Int(n as i64));
        vars.insert(
            "notice".to_string(),
            Value::Text(numbers[(n % numbers.len() as u64) as usize].clone()),
        );
        let now = chrono::Utc::now();
        vars.insert(
            "now".to_string(),
            Value::Text(now.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)),
        );
        vars.insert(
            "today".to_string(),
            Value::Text(now.date_naive().to_string()),
        );
        vars
    };
    // Warm: every connection has prepared the statements, as the server's have.
    for conn in &mut conns {
        let n = next.fetch_add(1, Ordering::Relaxed);
        run_once(conn, &script, &turns, &mut vars_for(n, &numbers)).await?;
    }
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for mut conn in conns {
        let (script, turns, numbers, next) =
            (script.clone(), turns.clone(), numbers.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latency = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3)?;
            let mut runs = 0u64;
            while Instant::now() < until {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let mut vars = vars_for(n, &numbers);
                let at = Instant::now();
                run_once(&mut conn, &script, &turns, &mut vars).await?;
                latency.saturating_record((at.elapsed().as_micros() as u64).max(1));
                runs += 1;
            }
            conn.close().await?;
            anyhow::Ok((runs, latency))
        }));
    }
    let mut runs = 0;
    let mut latency = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3)?;
    for task in tasks {
        let (r, l) = task.await??;
        runs += r;
        latency.add(l)?;
    }
    Ok(Direct {
        rate: runs as f64 / started.elapsed().as_secs_f64(),
        latency,
    })
}

/// The statements of sqlx's `sqlx::query` events in the server's JSON log
/// lines `log`, in order.
pub fn logged_statements(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|v| v["target"] == "sqlx::query")
        .filter_map(|v| {
            let fields = &v["fields"];
            let full = fields["db.statement"].as_str().unwrap_or("").trim();
            let sql = if full.is_empty() {
                fields["summary"].as_str()?
            } else {
                full
            };
            Some(sql.to_string())
        })
        // The store's checkpointing task (`SqliteStore::keep_checkpointing`),
        // on its own timer: never a call's.
        .filter(|sql| sql != "PRAGMA wal_checkpoint(PASSIVE)")
        .collect()
}

/// Where `logged` (what the server sent) and the script differ: empty when
/// they are the same statements in the same order.
pub fn differences(script: &Script, logged: &[String]) -> Vec<String> {
    let ours = script.sql();
    let mut out = Vec::new();
    for i in 0..ours.len().max(logged.len()) {
        match (ours.get(i), logged.get(i)) {
            (Some(a), Some(b)) if *a == b.as_str() => {}
            (a, b) => out.push(format!(
                "{} statement {}:\n  script: {}\n  server: {}",
                script.file,
                i + 1,
                a.unwrap_or(&"(none)"),
                b.map_or("(none)", String::as_str)
            )),
        }
    }
    out
}
