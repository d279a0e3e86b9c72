//! `cargo bench --bench rpc -- --feature-costs [--rounds N] [--secs S]`: what
//! the event feed and periodic audit checkpoints cost IssuePenaltyNotice and
//! RecordPayment (issue #32), in the same run, as `--access-log-cost` does for
//! the access log. Two more servers of the same binary on the same database:
//!
//! - `base`: no periodic checkpoints (`LEA_NOTICES_AUDIT_CHECKPOINT_INTERVAL_SECS=0`)
//!   and nothing following the feed;
//! - `checkpoints`: a checkpoint of every authority whose chain moved every
//!   second (3,600 times the default rate: an upper bound of its cost).
//!
//! The feed is measured on `base` with its readers running: a `relay-events`
//! process publishing to the RabbitMQ on loopback (polling every 500 ms, its
//! default) and a `WatchEvents` stream following the authority from where it
//! last stopped, both started before that measurement and stopped after it;
//! counting starts once both have read every event written so far
//! (`caught_up`), as followers running all along would have. Every measurement is 8
//! clients closed loop; the order of the three rotates each round. Reported:
//! each round's ratio to `base`, and their median over the rounds.
//!
//! Replica routing is not measured here: neither call uses it (writes always
//! go to the primary), and with no replica a read that tolerates one only
//! checks an `Option` (`store::postgres::Store::begin_replica_read`).

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use lea_notices::proto::v1::{self as pb, event_service_client::EventServiceClient};
use tonic::transport::Channel;

use super::{Args, Bench, Client, LA, Op, Outcome, closed_loop};

/// The calls whose cost is measured.
const CALLS: [Op; 2] = [Op::IssuePenaltyNotice, Op::RecordPayment];

/// The ways a call is measured: on `base`, on `checkpoints`, on `base` with
/// the feed's readers running.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    Base,
    Checkpoints,
    Feed,
}

impl Variant {
    const ALL: [Variant; 3] = [Variant::Base, Variant::Checkpoints, Variant::Feed];

    fn name(self) -> &'static str {
        match self {
            Variant::Base => "base",
            Variant::Checkpoints => "checkpoints every 1 s",
            Variant::Feed => "feed followed",
        }
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A server of `bin` with `env` on `port`, not migrating, with `extra` set.
fn server(
    bin: &str,
    env: &[(&str, String)],
    port: u16,
    extra: &[(&str, &str)],
) -> anyhow::Result<tokio::process::Child> {
    Ok(tokio::process::Command::new(bin)
        .arg("serve")
        .envs(env.iter().cloned())
        .env("LEA_NOTICES_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("LEA_NOTICES_MIGRATE_ON_START", "false")
        .envs(extra.iter().copied())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()?)
}

/// 8 clients of the server on `port` (waiting for it to listen).
async fn clients(bench: &Bench, port: u16) -> anyhow::Result<Vec<Client>> {
    let on_port = Bench {
        port,
        officer: bench.officer.clone(),
        finance: bench.finance.clone(),
        next: AtomicU64::new(0),
        numbers: Vec::new(),
    };
    let mut out = Vec::new();
    for _ in 0..8 {
        let client = loop {
            match on_port.client().await {
                Ok(c) => break c,
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        out.push(client);
    }
    Ok(out)
}

/// Where the WatchEvents follower got to: each start resumes there, as a
/// follower that reconnects does (the first, in the warm-up, reads the log
/// from its beginning).
static WATCH_CURSOR: AtomicI64 = AtomicI64::new(0);

/// The feed's readers: a relay process and a WatchEvents stream on `port`,
/// both stopped when dropped.
struct FeedReaders {
    _relay: tokio::process::Child,
    watcher: tokio::task::JoinHandle<()>,
}

impl Drop for FeedReaders {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

async fn start_feed(
    bin: &str,
    env: &[(&str, String)],
    bench: &Bench,
    port: u16,
) -> anyhow::Result<FeedReaders> {
    let relay = tokio::process::Command::new(bin)
        .args(["relay-events", "--relay-name", "rpc-bench"])
        .envs(env.iter().cloned())
        .env_remove("LEA_NOTICES_AMQP_URL")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let channel = Channel::from_shared(format!("http://127.0.0.1:{port}"))?
        .tcp_nodelay(true)
        .connect()
        .await?;
    let mut events = EventServiceClient::with_interceptor(channel, bench.officer.clone());
    let mut stream = events
        .watch_events(pb::WatchEventsRequest {
            parent: format!("authorities/{LA}"),
            start_after: WATCH_CURSOR.load(Ordering::Relaxed),
            ..Default::default()
        })
        .await?
        .into_inner();
    let watcher = tokio::spawn(async move {
        while let Ok(Some(page)) = stream.message().await {
            WATCH_CURSOR.store(page.cursor, Ordering::Relaxed);
            std::hint::black_box(page.events);
        }
    });
    Ok(FeedReaders {
        _relay: relay,
        watcher,
    })
}

/// Waits until the relay and the stream have read every event written so far:
/// the other variants' events, written while the feed was not followed, are
/// a backlog a follower running all along would not have. Counting while
/// they catch up would charge the feed with publishing that backlog.
async fn caught_up(env: &[(&str, String)]) -> anyhow::Result<()> {
    use sqlx::Connection;
    let url = env
        .iter()
        .find(|(k, _)| *k == "DATABASE_URL")
        .map(|(_, v)| v.as_str())
        .context("the servers' DATABASE_URL")?;
    let mut db = sqlx::PgConnection::connect(url).await?;
    let head: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(last_event_id), 0) FROM audit_chain_heads WHERE authority_code = $1",
    )
    .bind(LA)
    .fetch_one(&mut db)
    .await?;
    let started = tokio::time::Instant::now();
    loop {
        let relayed: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(last_sequence), 0) FROM relay_cursors \
             WHERE authority_code = $1 AND relay_name = 'rpc-bench'",
        )
        .bind(LA)
        .fetch_one(&mut db)
        .await?;
        if relayed >= head && WATCH_CURSOR.load(Ordering::Relaxed) >= head {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "the feed's readers did not catch up with event {head} in a minute \
             (relay at {relayed}, stream at {})",
            WATCH_CURSOR.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Each call on each variant, every round; the ratios to `base`.
pub(super) async fn run(
    args: &Args,
    bench: &Arc<Bench>,
    bin: &str,
    env: &[(&str, String)],
) -> anyhow::Result<()> {
    let (base_port, checkpoints_port) = (free_port()?, free_port()?);
    let _base = server(
        bin,
        env,
        base_port,
        &[("LEA_NOTICES_AUDIT_CHECKPOINT_INTERVAL_SECS", "0")],
    )?;
    let _checkpoints = server(
        bin,
        env,
        checkpoints_port,
        &[("LEA_NOTICES_AUDIT_CHECKPOINT_INTERVAL_SECS", "1")],
    )?;
    let base_clients = clients(bench, base_port).await?;
    let checkpoint_clients = clients(bench, checkpoints_port).await?;
    let measure = |variant: Variant, op: Op, secs: f64| {
        let (bench, on) = match variant {
            Variant::Checkpoints => (bench.clone(), checkpoint_clients.clone()),
            Variant::Base | Variant::Feed => (bench.clone(), base_clients.clone()),
        };
        async move {
            let _feed = match variant {
                Variant::Feed => Some(start_feed(bin, env, &bench, base_port).await?),
                _ => None,
            };
            if variant == Variant::Feed {
                caught_up(env).await?;
            }
            closed_loop(&bench, &on, op, secs).await
        }
    };
    // Warm every server and the broker: a second of each, not counted.
    for op in CALLS {
        for variant in Variant::ALL {
            measure(variant, op, 1.0).await?;
        }
    }
    println!(
        "# What the event feed and audit checkpoints cost: {} round(s) of {} s each, 8 clients\n",
        args.rounds, args.secs
    );
    println!(
        "| round | call | base calls/s | checkpoints every 1 s | ratio | feed followed | ratio |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut ratios: Vec<(Op, Variant, Vec<f64>)> = Vec::new();
    let mut bad = Vec::new();
    for round in 1..=args.rounds {
        for op in CALLS {
            let mut rates = Vec::new();
            for i in 0..Variant::ALL.len() {
                let variant = Variant::ALL[(i + round) % Variant::ALL.len()];
                let out: Outcome = measure(variant, op, args.secs).await?;
                if !out.codes.is_empty() {
                    bad.push(format!(
                        "{} {}: {}",
                        op.name(),
                        variant.name(),
                        out.failures()
                    ));
                }
                rates.push((variant, out.rate()));
            }
            let rate = |v: Variant| {
                rates
                    .iter()
                    .find(|(w, _)| *w == v)
                    .map_or(f64::NAN, |r| r.1)
            };
            let base = rate(Variant::Base);
            let mut row = format!("| {round} | {} | {base:.0} |", op.name());
            for variant in [Variant::Checkpoints, Variant::Feed] {
                let ratio = rate(variant) / base;
                row += &format!(" {:.0} | {ratio:.3} |", rate(variant));
                match ratios
                    .iter_mut()
                    .find(|(o, v, _)| *o == op && *v == variant)
                {
                    Some((_, _, r)) => r.push(ratio),
                    None => ratios.push((op, variant, vec![ratio])),
                }
            }
            println!("{row}");
        }
    }
    println!();
    for (op, variant, mut r) in ratios {
        r.sort_by(f64::total_cmp);
        let median = r[r.len() / 2];
        println!(
            "median of {} rounds: {} with {} / base = {median:.3} (costs {:.1}% of its rate)",
            r.len(),
            op.name(),
            variant.name(),
            (1.0 - median) * 100.0
        );
    }
    anyhow::ensure!(bad.is_empty(), "the server failed calls: {bad:#?}");
    Ok(())
}
