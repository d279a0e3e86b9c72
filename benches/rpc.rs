//! The RPC benchmark of issue #18 (see BENCHMARKS.md): the real server binary on
//! a fresh PostgreSQL database, driven by a tokio load generator on the
//! generated tonic clients, against two ceilings measured in the same round:
//! the gRPC health `Check` on the same server (the stack's) and `pgbench`
//! running the SQL the server issues for the same call (the database's; the
//! scripts are in `benches/rpc/`).
//!
//! Each round measures every call closed loop at 1, 8 and 32 clients (each
//! client on its own connection, one call at a time), then pgbench at 8
//! clients, then open loop at half of the call's 8-client rate and at twice it.
//! Rounds follow each other, so a machine shared with other work shows up as
//! spread between rounds, and ratios are taken within a round.
//!
//! `cargo bench --bench rpc` (5 rounds of 3 s per measurement) or
//! `cargo bench --bench rpc -- --quick` (1 round of 1 s: for CI, which fails the
//! run on any INTERNAL or UNKNOWN answer, or on a collapse to 0 calls/s).
//!
//! Options for measuring at size and on the embedded default (issue #32):
//! `--notices N` puts N more notices in the authority first (copies of an
//! issued one by SQL: spread over three school years, for 50,000 pupils, the
//! 50 latest paid), so that a call's cost can be compared at 1k, 10k and 100k
//! notices; `--sqlite` runs the server on SQLite (no pgbench there); `--calls
//! A,B` measures only those calls, and health `Check` for the ceilings (names
//! as in the tables, `ListNotices.PAID` for a page filtered by status). `LEA_BENCH_SERVER_BIN` runs another build
//! of the server (an earlier commit's, for before and after) under the same
//! load generator.
//!
//! `--sqlite --direct` also runs each call's statements directly on the
//! database file (at 1 and 8 clients, after the call, in the same round) and
//! reports the call's rate as a ratio of theirs; the scripts
//! (`benches/rpc/sqlite/`, see `rpc/sqlite_direct.rs`) are first checked
//! against the statements a second server logs for the same calls, and the
//! bench fails when they differ. `--sqlite --log-statements` prints those
//! statements (to write the scripts) and keeps the database.
//!
//! `cargo bench --bench rpc -- --access-log-cost [--rounds N] [--secs S]`
//! measures only what the access log costs GetNotice: the same binary three
//! times on the same database, as deployed, writing the entries after the
//! read as before session 15, and not writing the access log (switches
//! honoured only with development tokens, for this benchmark), GetNotice at 8
//! clients on each in turn every round, and the median ratios of their rates.
//!
//! `cargo bench --bench rpc -- --feature-costs [--rounds N] [--secs S]`
//! measures only what the event feed and audit checkpoints cost
//! IssuePenaltyNotice and RecordPayment (benches/rpc/feature_costs.rs).
//!
//! `cargo bench --bench rpc -- --instructions` counts the server's
//! instructions per call under callgrind on SQLite instead (see
//! `benches/rpc/instructions.rs`).

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
#[path = "rpc/feature_costs.rs"]
mod feature_costs;
#[path = "common/holiday_notice.rs"]
mod holiday_notice;
#[path = "common/server_env.rs"]
mod server_env;
use server_env::server_env;
#[path = "rpc/instructions.rs"]
mod instructions;
#[path = "rpc/sqlite_direct.rs"]
mod sqlite_direct;
use hdrhistogram::Histogram;
use holiday_notice::{date, holiday_penalty};
#[path = "rpc/statements.rs"]
mod statements;
#[path = "rpc/steady.rs"]
mod steady;
use lea_notices::domain::identifiers::Upn;
use lea_notices::proto::v1::{
    self as pb, notice_service_client::NoticeServiceClient,
    payment_service_client::PaymentServiceClient,
};
use sqlx::Connection;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

const LA: &str = "850";
/// Notices issued before measuring, for GetNotice and for payments to quote.
const SEEDED: u64 = 200;

struct Args {
    /// Print the statements the server sends for one call of each kind
    /// compared with pgbench (read off the wire: `rpc/statements.rs`), check
    /// the scripts against them and stop: how the pgbench scripts are written.
    log_statements: bool,
    quick: bool,
    rounds: usize,
    secs: f64,
    admin_url: String,
    /// Notices put in by SQL before measuring.
    notices: u64,
    sqlite: bool,
    /// With `--sqlite`: each call also against its statements run directly on
    /// the database (`sqlite_direct`), checked first against what the server sends.
    direct: bool,
    /// The calls measured (all when empty).
    calls: Vec<String>,
    /// Measure only what the access log costs GetNotice: the same server
    /// binary twice on the same database, one writing the access log and one
    /// not (`LEA_NOTICES_BENCHMARK_ONLY_SKIP_ACCESS_LOG`), 8 clients closed
    /// loop on each in turn every round.
    access_log_cost: bool,
    /// Measure only what the event feed and checkpoints cost the writes
    /// (benches/rpc/feature_costs.rs).
    feature_costs: bool,
    /// Count the server's instructions per call under callgrind on SQLite
    /// instead (`benches/rpc/instructions.rs`).
    instructions: bool,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        log_statements: false,
        quick: false,
        rounds: 5,
        secs: 3.0,
        admin_url: "postgres://postgres@127.0.0.1:5432/postgres".into(),
        notices: 0,
        sqlite: false,
        direct: false,
        calls: Vec::new(),
        access_log_cost: false,
        feature_costs: false,
        instructions: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => {
                a.quick = true;
                a.rounds = 1;
                a.secs = 1.0;
            }
            "--log-statements" => a.log_statements = true,
            "--access-log-cost" => a.access_log_cost = true,
            "--feature-costs" => a.feature_costs = true,
            "--instructions" => a.instructions = true,
            "--rounds" => a.rounds = it.next().context("--rounds N")?.parse()?,
            "--secs" => a.secs = it.next().context("--secs S")?.parse()?,
            "--admin-url" => a.admin_url = it.next().context("--admin-url URL")?,
            "--notices" => a.notices = it.next().context("--notices N")?.parse()?,
            "--sqlite" => a.sqlite = true,
            "--direct" => a.direct = true,
            "--calls" => {
                a.calls = it
                    .next()
                    .context("--calls A,B")?
                    .split(',')
                    .map(String::from)
                    .collect()
            }
            _ => {} // cargo bench adds --bench
        }
    }
    Ok(a)
}

/// Puts a token on every call.
#[derive(Clone)]
struct Bearer(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut r: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        r.metadata_mut().insert("authorization", self.0.clone());
        Ok(r)
    }
}

type Authed = InterceptedService<Channel, Bearer>;

/// The calls measured.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Op {
    Health,
    GetNotice,
    ListNotices,
    /// A page of the notices with status PAID.
    ListNoticesPaid,
    IssuePenaltyNotice,
    RecordPayment,
}

const OPS: [Op; 6] = [
    Op::Health,
    Op::GetNotice,
    Op::ListNotices,
    Op::ListNoticesPaid,
    Op::IssuePenaltyNotice,
    Op::RecordPayment,
];

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Health => "Health.Check",
            Op::GetNotice => "GetNotice",
            Op::ListNotices => "ListNotices",
            Op::ListNoticesPaid => "ListNotices.PAID",
            Op::IssuePenaltyNotice => "IssuePenaltyNotice",
            Op::RecordPayment => "RecordPayment",
        }
    }

    /// The pgbench script with the same SQL, if the call has one.
    fn script(self) -> Option<&'static str> {
        match self {
            Op::Health => None,
            Op::GetNotice => Some("get_notice.sql"),
            Op::ListNotices => Some("list_notices.sql"),
            Op::ListNoticesPaid => None,
            Op::IssuePenaltyNotice => Some("issue_penalty_notice.sql"),
            Op::RecordPayment => Some("record_payment.sql"),
        }
    }

    /// The SQLite script with the server's statements for the call, if it has
    /// one (`benches/rpc/sqlite/`, see `sqlite_direct`).
    fn sqlite_script(self) -> Option<&'static str> {
        match self {
            Op::Health => None,
            Op::GetNotice => Some("get_notice.sql"),
            Op::ListNotices => Some("list_notices.sql"),
            Op::ListNoticesPaid => Some("list_notices_paid.sql"),
            Op::IssuePenaltyNotice => Some("issue_penalty_notice.sql"),
            Op::RecordPayment => Some("record_payment.sql"),
        }
    }
}

/// One client: its own connection, with the officer's and finance's tokens.
#[derive(Clone)]
struct Client {
    health: HealthClient<Channel>,
    notices: NoticeServiceClient<Authed>,
    payments: PaymentServiceClient<Authed>,
}

struct Bench {
    port: u16,
    officer: Bearer,
    finance: Bearer,
    /// Unique numbers for pupils, request and provider ids.
    next: AtomicU64,
    /// The seeded notices' numbers.
    numbers: Vec<String>,
}

/// A penalty notice for a week of term-time holiday of pupil `n` (unique).
fn penalty(n: u64) -> pb::IssuePenaltyNoticeRequest {
    let body = format!("850200{:06}", n % 1_000_000);
    let upn = format!("{}{body}", Upn::check_letter(&body).expect("digits"));
    holiday_penalty(LA, upn, format!("p-{n}"), format!("bench-notice-{n}"))
}

/// £1 towards a seeded notice, quoted in the reference.
fn payment(n: u64, notice: &str) -> pb::RecordPaymentRequest {
    pb::RecordPaymentRequest {
        parent: format!("authorities/{LA}"),
        payment: Some(pb::Payment {
            amount_pence: 100,
            paid_date: date(2025, 6, 20),
            receive_time: Some(prost_types::Timestamp {
                seconds: 1_750_420_000,
                nanos: 0,
            }),
            channel: pb::PaymentChannel::Online as i32,
            provider: "govuk-pay".into(),
            provider_payment_id: format!("bench-pay-{n}"),
            payer_reference: notice.into(),
            payer_name: "A Taylor".into(),
            ..Default::default()
        }),
    }
}

impl Bench {
    async fn client(&self) -> anyhow::Result<Client> {
        // Nagle off, as tonic's default: small unary calls must not wait for
        // delayed ACKs (issue #18 item 2).
        let channel = Channel::from_shared(format!("http://127.0.0.1:{}", self.port))?
            .tcp_nodelay(true)
            .connect()
            .await?;
        Ok(Client {
            health: HealthClient::new(channel.clone()),
            notices: NoticeServiceClient::with_interceptor(channel.clone(), self.officer.clone()),
            payments: PaymentServiceClient::with_interceptor(channel, self.finance.clone()),
        })
    }

    async fn call(&self, client: &mut Client, op: Op) -> Result<(), Code> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let seeded = &self.numbers[(n % self.numbers.len() as u64) as usize];
        let answer = match op {
            Op::Health => client
                .health
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .map(drop),
            Op::GetNotice => client
                .notices
                .get_notice(pb::GetNoticeRequest {
                    name: format!("authorities/{LA}/notices/{seeded}"),
                })
                .await
                .map(drop),
            Op::ListNotices => client
                .notices
                .list_notices(pb::ListNoticesRequest {
                    parent: format!("authorities/{LA}"),
                    page_size: 20,
                    ..Default::default()
                })
                .await
                .map(drop),
            Op::ListNoticesPaid => client
                .notices
                .list_notices(pb::ListNoticesRequest {
                    parent: format!("authorities/{LA}"),
                    page_size: 20,
                    status: pb::NoticeStatus::Paid as i32,
                    ..Default::default()
                })
                .await
                .map(drop),
            Op::IssuePenaltyNotice => client
                .notices
                .issue_penalty_notice(penalty(n))
                .await
                .map(drop),
            Op::RecordPayment => client
                .payments
                .record_payment(payment(n, seeded))
                .await
                .map(drop),
        };
        answer.map_err(|s| s.code())
    }
}

/// What one measurement saw.
#[derive(Default)]
struct Outcome {
    ok: u64,
    codes: BTreeMap<String, u64>,
    secs: f64,
    /// Microseconds, of the calls answered OK.
    latency: Option<Histogram<u64>>,
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.secs
    }
    fn quantile_ms(&self, q: f64) -> f64 {
        self.latency
            .as_ref()
            .map_or(f64::NAN, |h| h.value_at_quantile(q) as f64 / 1000.0)
    }
    fn merge(&mut self, other: Outcome) {
        self.ok += other.ok;
        for (code, n) in other.codes {
            *self.codes.entry(code).or_default() += n;
        }
        match (&mut self.latency, other.latency) {
            (Some(h), Some(o)) => h.add(o).expect("same bounds"),
            (None, o) => self.latency = o,
            _ => {}
        }
    }
    fn failures(&self) -> String {
        if self.codes.is_empty() {
            return "none".into();
        }
        let parts: Vec<String> = self.codes.iter().map(|(c, n)| format!("{c} {n}")).collect();
        parts.join(", ")
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("bounds")
}

fn record(out: &mut Outcome, result: Result<(), Code>, micros: u64) {
    match result {
        Ok(()) => {
            out.ok += 1;
            out.latency
                .get_or_insert_with(histogram)
                .saturating_record(micros.max(1));
        }
        Err(code) => *out.codes.entry(format!("{code:?}")).or_default() += 1,
    }
}

/// `clients` clients, each calling again as soon as it is answered.
async fn closed_loop(
    bench: &Arc<Bench>,
    clients: &[Client],
    op: Op,
    secs: f64,
) -> anyhow::Result<Outcome> {
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in clients {
        let (bench, mut client) = (bench.clone(), client.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Outcome::default();
            while Instant::now() < until {
                let at = Instant::now();
                let result = bench.call(&mut client, op).await;
                record(&mut out, result, at.elapsed().as_micros() as u64);
            }
            out
        }));
    }
    let mut total = Outcome::default();
    for task in tasks {
        total.merge(task.await?);
    }
    total.secs = started.elapsed().as_secs_f64();
    Ok(total)
}

/// Calls started at `rate` a second whether or not earlier ones were answered,
/// spread over `clients` connections; latency counts from when each call was
/// due, so a stalled server is not hidden by a stalled generator.
async fn open_loop(
    bench: &Arc<Bench>,
    clients: &[Client],
    op: Op,
    rate: f64,
    secs: f64,
) -> anyhow::Result<Outcome> {
    let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
    let calls = (rate * secs).max(1.0) as u64;
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..calls {
        let due = started + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let (bench, mut client, tx) = (
            bench.clone(),
            clients[i as usize % clients.len()].clone(),
            tx.clone(),
        );
        tokio::spawn(async move {
            let result = bench.call(&mut client, op).await;
            let _ = tx.send((result, due.elapsed().as_micros() as u64));
        });
    }
    drop(tx);
    let mut out = Outcome::default();
    while let Some((result, micros)) = rx.recv().await {
        record(&mut out, result, micros);
    }
    out.secs = secs;
    Ok(out)
}

/// pgbench at `clients` clients for `secs` seconds; its rate (transactions a
/// second) and p99 is not reported by pgbench, so its mean latency.
async fn pgbench(url: &str, script: &str, clients: usize, secs: f64) -> anyhow::Result<(f64, f64)> {
    let path = format!("{}/benches/rpc/{script}", env!("CARGO_MANIFEST_DIR"));
    let output = tokio::process::Command::new("pgbench")
        // The server's connections plan every statement for its own values
        // (src/store/postgres/mod.rs): pgbench's do too, so both pay the planning.
        .env("PGOPTIONS", "-c plan_cache_mode=force_custom_plan")
        .args([
            "-n",
            "-M",
            "prepared",
            "-c",
            &clients.to_string(),
            "-j",
            &clients.min(2).to_string(),
            "-T",
            &(secs.ceil() as u64).max(1).to_string(),
            "-D",
            &format!("seeded={SEEDED}"),
            "-f",
            &path,
            url,
        ])
        .output()
        .await
        .context("running pgbench (Debian: postgresql-client)")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(
        output.status.success(),
        "pgbench {script}: {}{}",
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    let field = |prefix: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    let tps = field("tps = ").context("pgbench printed no tps")?;
    let latency = field("latency average = ").unwrap_or(f64::NAN);
    Ok((tps, latency))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    if args.instructions {
        return instructions::run(&args, &server_bin()).await;
    }
    if args.sqlite {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}/bench.db", dir.path().display());
        if args.log_statements {
            // Kept, to read back the values the server bound (the scripts'
            // `-- bind:` lines).
            println!("-- database: {url}");
            let _kept = dir.keep();
        }
        return measure(&args, &url).await;
    }
    let (base, _) = args
        .admin_url
        .rsplit_once('/')
        .context("URL with a database")?;
    let db = format!("lea_rpcbench_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&args.admin_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut admin)
        .await?;
    let url = format!("{base}/{db}");
    let result = measure(&args, &url).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {db} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    result
}

/// The server binary: this build's, or `LEA_BENCH_SERVER_BIN`.
fn server_bin() -> String {
    std::env::var("LEA_BENCH_SERVER_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_lea-notices").to_string())
}

/// `serve` of the server binary `bin` with `env`, its standard output
/// discarded, killed when dropped; run by `under` (a program and its
/// arguments, given `bin serve` after them: `valgrind`) unless that is empty.
fn server_command(under: &[&str], bin: &str, env: &[(&str, String)]) -> tokio::process::Command {
    let mut command = match under {
        [] => tokio::process::Command::new(bin),
        [program, args @ ..] => {
            let mut c = tokio::process::Command::new(program);
            c.args(args).arg(bin);
            c
        }
    };
    command
        .arg("serve")
        .envs(env.iter().cloned())
        .stdout(Stdio::null())
        .kill_on_drop(true);
    command
}

/// A first client of the server on `bench.port`, once it connects (tried every
/// `connect_every`) and its health says `service` (`""`: the server as a
/// whole) is SERVING (asked every `check_every`).
async fn wait_serving(
    bench: &Bench,
    service: &str,
    connect_every: Duration,
    check_every: Duration,
) -> anyhow::Result<Client> {
    let mut client = loop {
        match bench.client().await {
            Ok(c) => break c,
            Err(_) => tokio::time::sleep(connect_every).await,
        }
    };
    loop {
        let serving = client
            .health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .is_ok_and(|r| {
                r.into_inner().status
                    == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
            });
        if serving {
            return Ok(client);
        }
        tokio::time::sleep(check_every).await;
    }
}

async fn measure(args: &Args, url: &str) -> anyhow::Result<()> {
    let data_dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let bin = server_bin();
    let bin = bin.as_str();
    let env = server_env(url.to_string(), data_dir.path(), port);
    let _server = server_command(&[], bin, &env).spawn()?;
    // The same server without the access log, on the same database and data
    // directory (the same development key), for `--access-log-cost` only.
    let without_port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let _without = if args.access_log_cost {
        Some(
            tokio::process::Command::new(bin)
                .arg("serve")
                .envs(env.iter().cloned())
                .env(
                    "LEA_NOTICES_LISTEN_ADDR",
                    format!("127.0.0.1:{without_port}"),
                )
                .env("LEA_NOTICES_MIGRATE_ON_START", "false")
                .env("LEA_NOTICES_BENCHMARK_ONLY_SKIP_ACCESS_LOG", "true")
                .stdout(Stdio::null())
                .kill_on_drop(true)
                .spawn()?,
        )
    } else {
        None
    };
    // And the same server writing GetNotice's entries after the read, as
    // before session 15 (see `access_log::BENCHMARK_ONLY_ACCESS_LOG_AFTER_READ`).
    let after_port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let _after = if args.access_log_cost {
        Some(
            tokio::process::Command::new(bin)
                .arg("serve")
                .envs(env.iter().cloned())
                .env("LEA_NOTICES_LISTEN_ADDR", format!("127.0.0.1:{after_port}"))
                .env("LEA_NOTICES_MIGRATE_ON_START", "false")
                .env("LEA_NOTICES_BENCHMARK_ONLY_ACCESS_LOG_AFTER_READ", "true")
                .stdout(Stdio::null())
                .kill_on_drop(true)
                .spawn()?,
        )
    } else {
        None
    };
    let token = |role: &str| -> anyhow::Result<Bearer> {
        let out = std::process::Command::new(bin)
            .args([
                "token",
                "--authority",
                LA,
                "--role",
                role,
                "--ttl-minutes",
                "600",
            ])
            .envs(env.iter().cloned())
            .output()?;
        let token = String::from_utf8(out.stdout)?.trim().to_string();
        Ok(Bearer(format!("Bearer {token}").parse()?))
    };
    let mut bench = Bench {
        port,
        officer: token("la_officer")?,
        finance: token("finance")?,
        next: AtomicU64::new(0),
        numbers: Vec::new(),
    };
    // `serve` migrates PostgreSQL in the background and answers UNAVAILABLE
    // until it has: wait for its health to say it serves.
    let mut first = wait_serving(
        &bench,
        "",
        Duration::from_millis(200),
        Duration::from_millis(100),
    )
    .await?;
    for n in 0..SEEDED {
        let issued = first.notices.issue_penalty_notice(penalty(n)).await?;
        bench.numbers.extend(
            issued
                .into_inner()
                .notices
                .into_iter()
                .map(|n| n.notice_number),
        );
    }
    bench.next.store(SEEDED, Ordering::Relaxed);
    let bench = Arc::new(bench);
    if args.log_statements && !args.sqlite {
        return statements::check_scripts(bin, &env, url, &bench, SEEDED, true, true).await;
    }
    if args.access_log_cost {
        return access_log_cost(args, &bench, without_port, after_port).await;
    }
    if args.feature_costs {
        return feature_costs::run(args, &bench, bin, &env).await;
    }
    let mut clients = Vec::new();
    for _ in 0..32 {
        clients.push(bench.client().await?);
    }
    if args.notices > 0 {
        let at = Instant::now();
        seed_notices(url, args.sqlite, &bench.numbers[0], args.notices).await?;
        println!(
            "<!-- {} notices put in by SQL in {:.1} s -->",
            args.notices,
            at.elapsed().as_secs_f64()
        );
    }
    if !args.sqlite {
        let mut pg = sqlx::PgConnection::connect(url).await?;
        sqlx::raw_sql("VACUUM ANALYZE").execute(&mut pg).await?;
        // Every run that compares with pgbench first checks that the scripts
        // send what the server sends (issue #32); CI's `--quick` only warns.
        statements::check_scripts(bin, &env, url, &bench, SEEDED, false, !args.quick).await?;
    }
    let ops: Vec<Op> = OPS
        .into_iter()
        // Health `Check` always: the stack's ceiling of the round, and half of
        // the two-core bound.
        .filter(|op| {
            args.calls.is_empty() || *op == Op::Health || args.calls.iter().any(|c| c == op.name())
        })
        .collect();
    let direct = if args.sqlite && (args.direct || args.log_statements) {
        let scripts = sqlite_scripts_checked(args, bin, &env, &bench, &ops).await?;
        if args.log_statements {
            return Ok(());
        }
        Some(scripts)
    } else {
        None
    };
    // `{n}` of the direct runs: apart from the calls' own numbers.
    let direct_next = Arc::new(AtomicU64::new(5_000_000));

    let machine = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_default();
    println!(
        "# RPC benchmark: {}, {} notices, {} round(s) of {} s per measurement, {} cores ({machine})\n",
        if args.sqlite { "SQLite" } else { "PostgreSQL" },
        SEEDED + args.notices,
        args.rounds,
        args.secs,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut bad = Vec::new();
    let mut by_round: BTreeMap<Op, Vec<(f64, f64)>> = BTreeMap::new();
    let mut half_rate_p99: BTreeMap<Op, Vec<f64>> = BTreeMap::new();
    // Each round's p99 at 8 clients closed loop (SQLite's write target).
    let mut p99_at8: BTreeMap<Op, Vec<f64>> = BTreeMap::new();
    let warm = steady::warm_secs(args.secs);
    // Each round's rate over 1/(1/Check + 1/pgbench) (see `two_core_bound`).
    let mut bound_by_round: BTreeMap<Op, Vec<f64>> = BTreeMap::new();
    for round in 1..=args.rounds {
        println!("## Round {round}\n");
        println!(
            "| call | clients | calls/s | p50 ms | p99 ms | failures | of health Check (8) | {} |",
            if args.sqlite {
                "of its statements direct (same clients): direct calls/s, p99 ms"
            } else {
                "of pgbench (8)"
            }
        );
        println!("|---|---|---|---|---|---|---|---|");
        let mut health8 = f64::NAN;
        let mut at8 = BTreeMap::new();
        for &op in &ops {
            steady::warm_closed(&bench, &clients, op, warm).await?;
            let mut rates = BTreeMap::new();
            for n in [1usize, 8, 32] {
                let out = closed_loop(&bench, &clients[..n], op, args.secs).await?;
                rates.insert(n, out.rate());
                if out.codes.keys().any(|c| c == "Internal" || c == "Unknown") {
                    bad.push(format!("{} at {n} clients: {}", op.name(), out.failures()));
                }
                if n == 8 {
                    if op == Op::Health {
                        health8 = out.rate();
                    }
                    at8.insert(op, out.rate());
                    p99_at8.entry(op).or_default().push(out.quantile_ms(0.99));
                }
                let direct_script = direct.as_ref().and_then(|d| d.get(&op));
                let pgb = if let Some(script) = direct_script.filter(|_| n <= 8) {
                    let d =
                        sqlite_direct::run(url, script, n, args.secs, &bench.numbers, &direct_next)
                            .await?;
                    if n == 8 {
                        by_round.entry(op).or_default().push((out.rate(), d.rate));
                    }
                    format!(
                        "{:.2} ({:.0}/s, {:.2})",
                        out.rate() / d.rate,
                        d.rate,
                        d.quantile_ms(0.99)
                    )
                } else if n == 8 {
                    match op.script().filter(|_| !args.sqlite) {
                        Some(script) => {
                            let (tps, _) = pgbench(url, script, 8, args.secs).await?;
                            by_round.entry(op).or_default().push((out.rate(), tps));
                            bound_by_round
                                .entry(op)
                                .or_default()
                                .push(out.rate() / two_core_bound(health8, tps));
                            format!(
                                "{:.2} (pgbench {tps:.0}/s; {:.2} of the two-core bound)",
                                out.rate() / tps,
                                out.rate() / two_core_bound(health8, tps)
                            )
                        }
                        None => {
                            by_round.entry(op).or_default().push((out.rate(), f64::NAN));
                            String::new()
                        }
                    }
                } else {
                    String::new()
                };
                let of_health = if n == 8 && op != Op::Health {
                    format!("{:.2}", out.rate() / health8)
                } else {
                    String::new()
                };
                println!(
                    "| {} | {n} | {:.0} | {:.2} | {:.2} | {} | {of_health} | {pgb} |",
                    op.name(),
                    out.rate(),
                    out.quantile_ms(0.5),
                    out.quantile_ms(0.99),
                    out.failures()
                );
            }
            if rates[&32] < rates[&8] * 0.8 || rates[&32] == 0.0 {
                println!("<!-- {}: 32 clients below 8 -->", op.name());
                if rates[&32] == 0.0 {
                    bad.push(format!("{}: 0 calls/s at 32 clients", op.name()));
                }
            }
        }
        println!();
        println!("| open loop | rate asked /s | served /s | p50 ms | p99 ms | failures |");
        println!("|---|---|---|---|---|---|");
        for op in [Op::GetNotice, Op::IssuePenaltyNotice, Op::RecordPayment] {
            if !ops.contains(&op) {
                continue;
            }
            let max = at8[&op];
            steady::warm_open(&bench, &clients, op, max * 0.5, warm).await?;
            for (label, factor) in [("half the 8-client rate", 0.5), ("twice it", 2.0)] {
                let rate = max * factor;
                let out = open_loop(&bench, &clients[..8], op, rate, args.secs).await?;
                if factor < 1.0 {
                    half_rate_p99
                        .entry(op)
                        .or_default()
                        .push(out.quantile_ms(0.99));
                }
                if factor < 1.0 && !out.codes.is_empty() {
                    bad.push(format!(
                        "{} open loop at {rate:.0}/s ({label}): {}",
                        op.name(),
                        out.failures()
                    ));
                }
                println!(
                    "| {} at {label} | {rate:.0} | {:.0} | {:.2} | {:.2} | {} |",
                    op.name(),
                    out.rate(),
                    out.quantile_ms(0.5),
                    out.quantile_ms(0.99),
                    out.failures()
                );
            }
        }
        println!();
    }
    if args.rounds > 1 {
        println!("## Spread over {} rounds, 8 clients\n", args.rounds);
        println!(
            "| call | calls/s min–max | spread (max/min) | ratio to {} min–max | of the two-core bound, median (by round) |",
            if args.sqlite {
                "its statements direct"
            } else {
                "pgbench"
            }
        );
        println!("|---|---|---|---|---|");
        for (op, rounds) in &by_round {
            let rates: Vec<f64> = rounds.iter().map(|r| r.0).collect();
            let ratios: Vec<f64> = rounds.iter().map(|r| r.0 / r.1).collect();
            let (lo, hi) = min_max(&rates);
            let (rlo, rhi) = min_max(&ratios);
            let bound = bound_by_round.get(op).map_or(String::new(), |b| {
                let mut sorted = b.clone();
                sorted.sort_by(f64::total_cmp);
                let each: Vec<String> = b.iter().map(|r| format!("{r:.2}")).collect();
                format!("{:.2} ({})", sorted[sorted.len() / 2], each.join(", "))
            });
            println!(
                "| {} | {lo:.0}–{hi:.0} | {:.2} | {rlo:.2}–{rhi:.2} | {bound} |",
                op.name(),
                hi / lo
            );
        }
    }
    if args.sqlite {
        steady::summary_sqlite(args.rounds, &by_round, &p99_at8);
    } else {
        steady::summary(args.rounds, &by_round, &half_rate_p99);
    }
    anyhow::ensure!(bad.is_empty(), "the server failed calls: {bad:#?}");
    Ok(())
}

/// SQLite: the scripts of `ops` (see `sqlite_direct`), checked against the
/// statements the server sends. A second server on the same database logs its
/// statements (sqlx's `sqlx::query` at `debug`, JSON lines); each call is made
/// twice and the second kept (the first may fill the server's caches). Fails
/// when a script differs from what the server sent; with `--log-statements`
/// prints what it sent instead.
async fn sqlite_scripts_checked(
    args: &Args,
    bin: &str,
    env: &[(&str, String)],
    bench: &Bench,
    ops: &[Op],
) -> anyhow::Result<BTreeMap<Op, sqlite_direct::Script>> {
    let dir = tempfile::tempdir()?;
    let log_path = dir.path().join("server.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let _server = tokio::process::Command::new(bin)
        .arg("serve")
        .envs(env.iter().cloned())
        .env("LEA_NOTICES_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("LEA_NOTICES_MIGRATE_ON_START", "false")
        .env("LEA_NOTICES_LOG_FORMAT", "json")
        .env("RUST_LOG", "warn,sqlx::query=debug")
        // Nothing but the calls in its log: its health checks (a `SELECT 1`
        // every 250 ms), statutory events and purge would otherwise land
        // among a call's statements (the measured server still runs them).
        .env("LEA_NOTICES_HEALTH_CHECK_INTERVAL_MS", "3600000")
        .env("LEA_NOTICES_STATUTORY_EVENTS_INTERVAL_MS", "0")
        .env("LEA_NOTICES_PURGE_INTERVAL_MS", "0")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path)?)
        .kill_on_drop(true)
        .spawn()?;
    let logging = Bench {
        port,
        officer: bench.officer.clone(),
        finance: bench.finance.clone(),
        next: AtomicU64::new(900_000),
        numbers: bench.numbers.clone(),
    };
    let mut client = loop {
        match logging.client().await {
            Ok(c) => break c,
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    while client
        .health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .is_err()
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut scripts = BTreeMap::new();
    let mut differences = Vec::new();
    for &op in ops {
        let Some(file) = op.sqlite_script() else {
            continue;
        };
        let mut logged = Vec::new();
        for _ in 0..2 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let from = std::fs::metadata(&log_path)?.len() as usize;
            let answer = logging.call(&mut client, op).await;
            anyhow::ensure!(answer.is_ok(), "{}: {answer:?}", op.name());
            tokio::time::sleep(Duration::from_millis(300)).await;
            let log = std::fs::read(&log_path)?;
            logged = sqlite_direct::logged_statements(&String::from_utf8_lossy(&log[from..]));
        }
        if args.log_statements {
            println!("-- {} ({file}): {} statements", op.name(), logged.len());
            for sql in &logged {
                println!("{sql}");
            }
            println!();
            continue;
        }
        let script = sqlite_direct::Script::load(file)?;
        differences.extend(sqlite_direct::differences(&script, &logged));
        scripts.insert(op, script);
    }
    anyhow::ensure!(
        differences.is_empty(),
        "the SQLite scripts differ from what the server sends:\n{}",
        differences.join("\n")
    );
    Ok(scripts)
}

/// GetNotice at 8 clients closed loop on the server writing the access log
/// (in the read's statement where it can), on the same server writing it
/// after the read (as before session 15), and on one not writing it, in turn
/// (the order rotates each round), every round; the ratios of their rates
/// each round and their medians over the rounds.
async fn access_log_cost(
    args: &Args,
    with: &Arc<Bench>,
    without_port: u16,
    after_port: u16,
) -> anyhow::Result<()> {
    let other = |port| {
        Arc::new(Bench {
            port,
            officer: with.officer.clone(),
            finance: with.finance.clone(),
            next: AtomicU64::new(SEEDED),
            numbers: with.numbers.clone(),
        })
    };
    let servers = [with.clone(), other(after_port), other(without_port)];
    let mut clients: [Vec<Client>; 3] = Default::default();
    for (bench, clients) in servers.iter().zip(clients.iter_mut()) {
        for _ in 0..8 {
            let client = loop {
                match bench.client().await {
                    Ok(c) => break c,
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            };
            clients.push(client);
        }
    }
    // All warm: a second of each, not counted.
    for (bench, clients) in servers.iter().zip(&clients) {
        closed_loop(bench, clients, Op::GetNotice, 1.0).await?;
    }
    println!(
        "# The access log's cost on GetNotice: {} round(s) of {} s each way, 8 clients\n",
        args.rounds, args.secs
    );
    println!(
        "| round | in the read's statement calls/s | p50 ms | after the read calls/s | p50 ms | without calls/s | p50 ms | in the statement / without | after / without |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let (mut ratios, mut ratios_after) = (Vec::new(), Vec::new());
    let mut bad = Vec::new();
    for round in 1..=args.rounds {
        let mut outs: [Option<Outcome>; 3] = Default::default();
        for i in 0..3 {
            let which = (i + round) % 3;
            let out =
                closed_loop(&servers[which], &clients[which], Op::GetNotice, args.secs).await?;
            if !out.codes.is_empty() {
                bad.push(out.failures());
            }
            outs[which] = Some(out);
        }
        let [Some(a), Some(b), Some(c)] = outs else {
            unreachable!("every server measured")
        };
        let (ratio, ratio_after) = (a.rate() / c.rate(), b.rate() / c.rate());
        ratios.push(ratio);
        ratios_after.push(ratio_after);
        println!(
            "| {round} | {:.0} | {:.2} | {:.0} | {:.2} | {:.0} | {:.2} | {ratio:.3} | {ratio_after:.3} |",
            a.rate(),
            a.quantile_ms(0.5),
            b.rate(),
            b.quantile_ms(0.5),
            c.rate(),
            c.quantile_ms(0.5)
        );
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (median, median_after) = (median(&mut ratios), median(&mut ratios_after));
    println!(
        "\nmedian of {} rounds: in the read's statement / without = {median:.3} (the access log costs {:.1}% of GetNotice's rate); after the read / without = {median_after:.3}",
        ratios.len(),
        (1.0 - median) * 100.0
    );
    anyhow::ensure!(bad.is_empty(), "the server failed calls: {bad:#?}");
    Ok(())
}

/// What a call could reach on this machine if the server cost nothing: the
/// stack's cost per call (health `Check`'s rate) and the database's (pgbench's
/// rate on the call's SQL) add up on the same two cores, so
/// 1 / (1/Check + 1/pgbench). NaN without `Check` in the round.
fn two_core_bound(check: f64, pgbench: f64) -> f64 {
    1.0 / (1.0 / check + 1.0 / pgbench)
}

fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(*x), hi.max(*x))
        })
}

/// Puts `count` notices into the bench's authority by SQL: copies of the issued
/// notice `template` with their own numbers, pupils (50,000, so two or more
/// notices each, none of them a pupil the bench issues to) and issue dates
/// spread from 1 September 2022 over 1,000 days (before the bench's own
/// notices); the 50 latest are paid. Enough for a listing to cost what it
/// costs at that size: the payments and audit events of such notices are not
/// put in.
async fn seed_notices(url: &str, sqlite: bool, template: &str, count: u64) -> anyhow::Result<()> {
    const COLUMNS_SQLITE: &str =
        "SELECT name FROM pragma_table_xinfo('notices') WHERE hidden = 0 ORDER BY cid";
    const COLUMNS_POSTGRES: &str = "SELECT column_name::text FROM information_schema.columns \
         WHERE table_name = 'notices' AND table_schema = current_schema() \
           AND is_generated = 'NEVER' ORDER BY ordinal_position";
    // The columns an INSERT may name (not the generated ones).
    let columns: Vec<String> = if sqlite {
        let mut db = sqlx::SqliteConnection::connect(url).await?;
        sqlx::query_scalar(COLUMNS_SQLITE)
            .fetch_all(&mut db)
            .await?
    } else {
        let mut db = sqlx::PgConnection::connect(url).await?;
        sqlx::query_scalar(COLUMNS_POSTGRES)
            .fetch_all(&mut db)
            .await?
    };
    let date = |s: String| {
        if sqlite {
            format!("'{s}'")
        } else {
            format!("DATE '{s}'")
        }
    };
    let select: Vec<String> = columns
        .iter()
        .map(|c| match c.as_str() {
            "notice_number" | "related_notices" => "v.column1".to_string(),
            "upn" => "v.column2".into(),
            "issue_date" => "v.column3".into(),
            "paid_rate" => "v.column4".into(),
            "paid_date" => "v.column5".into(),
            other => format!("t.{other}"),
        })
        .collect();
    let start = chrono::NaiveDate::from_ymd_opt(2022, 9, 1).expect("a date");
    let mut statements = Vec::new();
    let mut i = 0u64;
    while i < count {
        let end = (i + 1000).min(count);
        let rows: Vec<String> = (i..end)
            .map(|k| {
                let body = format!("850201{:06}", k % 50_000);
                let upn = format!("{}{body}", Upn::check_letter(&body).expect("digits"));
                let issued = start + chrono::Duration::days((k * 1000 / count) as i64);
                let paid = k + 50 >= count;
                format!(
                    "('850-SEED-{k:07}', '{upn}', {}, {}, {})",
                    date(issued.to_string()),
                    if paid { "'lower'" } else { "NULL" },
                    if paid {
                        date(issued.to_string())
                    } else if sqlite {
                        "NULL".into()
                    } else {
                        "CAST(NULL AS DATE)".into()
                    },
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO notices ({}) SELECT {} FROM notices t CROSS JOIN (VALUES {}) AS v \
             WHERE t.authority_code = '{LA}' AND t.notice_number = '{template}'",
            columns.join(", "),
            select.join(", "),
            rows.join(", ")
        );
        statements.push((sql, end - i));
        i = end;
    }
    for (sql, rows) in statements {
        let inserted = if sqlite {
            let mut db = sqlx::SqliteConnection::connect(url).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut db)
                .await?
                .rows_affected()
        } else {
            let mut db = sqlx::PgConnection::connect(url).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut db)
                .await?
                .rows_affected()
        };
        anyhow::ensure!(
            inserted == rows,
            "seeding notices: {inserted} rows of {rows}"
        );
    }
    Ok(())
}
