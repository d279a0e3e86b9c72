//! The load of the failover drill (`.ci/failover-drill`, issue #31): issues
//! penalty notices and records a payment against each through a running server,
//! polls its health, runs a fault command (the drill's kill or network cut)
//! part-way, and afterwards checks on the database (the new leader, through the
//! load balancer) that every acknowledged write is there exactly once.
//!
//! Every write is retried with the same idempotency key (the notice's
//! `request_id`, the payment's `provider_payment_id`) until it is acknowledged,
//! as a client should: a commit whose answer was lost in the failover must be
//! found by the retry, not made twice. Each failed attempt's code and time are
//! kept. Exits non-zero on a lost or duplicated write, on INTERNAL or UNKNOWN,
//! or when no write succeeds after the fault.
//!
//! ```sh
//! cargo run --example failover_load -- --server http://127.0.0.1:50051 \
//!   --database-url postgres://... --run 1 --fault 'kill -9 1234' \
//!   --warmup-secs 5 --after-secs 5     # tokens in LEA_DRILL_OFFICER_TOKEN, LEA_DRILL_FINANCE_TOKEN
//! ```

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
#[path = "common/holiday_notice.rs"]
mod holiday_notice;
use holiday_notice::{date, holiday_penalty};
use lea_notices::domain::identifiers::Upn;
use lea_notices::proto::v1::{
    self as pb, notice_service_client::NoticeServiceClient,
    payment_service_client::PaymentServiceClient,
};
use sqlx::Connection;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

const LA: &str = "850";

struct Args {
    server: String,
    database_url: String,
    run: u64,
    fault: String,
    warmup: Duration,
    after: Duration,
    workers: u64,
    /// Longest wait for the first write after the fault.
    give_up: Duration,
    /// Where every attempt goes, one CSV line each.
    record: Option<std::path::PathBuf>,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        server: "http://127.0.0.1:50051".into(),
        database_url: String::new(),
        run: 1,
        fault: String::new(),
        warmup: Duration::from_secs(5),
        after: Duration::from_secs(5),
        workers: 4,
        give_up: Duration::from_secs(120),
        record: None,
    };
    let mut it = std::env::args().skip(1);
    let secs = |v: Option<String>| -> anyhow::Result<Duration> {
        Ok(Duration::from_secs_f64(
            v.context("a number of seconds")?.parse()?,
        ))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--server" => a.server = it.next().context("--server URL")?,
            "--database-url" => a.database_url = it.next().context("--database-url URL")?,
            "--run" => a.run = it.next().context("--run N")?.parse()?,
            "--fault" => a.fault = it.next().context("--fault COMMAND")?,
            "--warmup-secs" => a.warmup = secs(it.next())?,
            "--after-secs" => a.after = secs(it.next())?,
            "--give-up-secs" => a.give_up = secs(it.next())?,
            "--record" => a.record = Some(it.next().context("--record FILE")?.into()),
            "--workers" => a.workers = it.next().context("--workers N")?.parse()?,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    anyhow::ensure!(!a.database_url.is_empty(), "--database-url is required");
    anyhow::ensure!((1..=9).contains(&a.run), "--run is 1 to 9");
    Ok(a)
}

#[derive(Clone)]
struct Bearer(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut r: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        r.metadata_mut().insert("authorization", self.0.clone());
        Ok(r)
    }
}

fn bearer(var: &str) -> anyhow::Result<Bearer> {
    let token = std::env::var(var).with_context(|| format!("{var} (a bearer token)"))?;
    Ok(Bearer(format!("Bearer {}", token.trim()).parse()?))
}

/// The UPN of write `n` of run `run`: unique across the drill's runs.
fn upn(run: u64, n: u64) -> String {
    let body = format!("85020{run}{:06}", n % 1_000_000);
    format!("{}{body}", Upn::check_letter(&body).expect("digits"))
}

fn penalty(run: u64, n: u64) -> pb::IssuePenaltyNoticeRequest {
    holiday_penalty(
        LA,
        upn(run, n),
        format!("drill-{run}-p-{n}"),
        format!("drill-{run}-notice-{n}"),
    )
}

fn payment(run: u64, n: u64, notice: &str) -> pb::RecordPaymentRequest {
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
            provider_payment_id: format!("drill-{run}-pay-{n}"),
            payer_reference: notice.into(),
            payer_name: "A Taylor".into(),
            ..Default::default()
        }),
    }
}

/// One attempt at a write, answered or failed.
struct Attempt {
    /// The call: IssuePenaltyNotice or RecordPayment.
    call: &'static str,
    /// Its idempotency key: the notice's request_id, the payment's
    /// provider_payment_id.
    key: String,
    started: Instant,
    ended: Instant,
    code: Code,
}

#[derive(Default)]
struct Log {
    attempts: Vec<Attempt>,
    /// Acknowledged notices: UPN and the numbers answered.
    notices: Vec<(String, Vec<String>)>,
    /// Acknowledged payments: provider payment id and the payment's name.
    payments: Vec<(String, String)>,
    /// Health answers as they changed: when, and SERVING / NOT_SERVING / a code.
    health: Vec<(Instant, String)>,
}

/// Calls `f` with the same request until it is answered, logging each attempt;
/// `None` if `stop` is set first (the write was never acknowledged).
async fn until_acknowledged<T, F, Fut>(
    log: &Mutex<Log>,
    stop: &AtomicBool,
    (call, key): (&'static str, &str),
    mut f: F,
) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, tonic::Status>>,
{
    loop {
        let started = Instant::now();
        let answer = tokio::time::timeout(Duration::from_secs(10), f()).await;
        let ended = Instant::now();
        let (code, value) = match answer {
            Ok(Ok(v)) => (Code::Ok, Some(v)),
            Ok(Err(s)) => (s.code(), None),
            // The client's own deadline, as a caller with a 10 s deadline sees it.
            Err(_) => (Code::DeadlineExceeded, None),
        };
        log.lock().unwrap().attempts.push(Attempt {
            call,
            key: key.to_string(),
            started,
            ended,
            code,
        });
        if value.is_some() {
            return value;
        }
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let officer = bearer("LEA_DRILL_OFFICER_TOKEN")?;
    let finance = bearer("LEA_DRILL_FINANCE_TOKEN")?;
    let channel = Channel::from_shared(args.server.clone())?
        .connect_timeout(Duration::from_secs(1))
        .connect_lazy();
    let log = Arc::new(Mutex::new(Log::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicU64::new(0));

    let health = {
        let (log, stop) = (log.clone(), stop.clone());
        let mut client = HealthClient::new(channel.clone());
        tokio::spawn(async move {
            let mut last = String::new();
            while !stop.load(Ordering::Relaxed) {
                let answer = tokio::time::timeout(
                    Duration::from_secs(1),
                    client.check(HealthCheckRequest {
                        service: String::new(),
                    }),
                )
                .await;
                let now = match answer {
                    Ok(Ok(r)) => match r.into_inner().status {
                        1 => "SERVING".to_string(),
                        2 => "NOT_SERVING".to_string(),
                        s => format!("status {s}"),
                    },
                    Ok(Err(s)) => format!("{:?}", s.code()),
                    Err(_) => "no answer in 1 s".to_string(),
                };
                if now != last {
                    log.lock()
                        .unwrap()
                        .health
                        .push((Instant::now(), now.clone()));
                    last = now;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    // The load starts once the server serves (`serve` migrates PostgreSQL in
    // the background), so every failure counted is the fault's.
    let mut waiting = HealthClient::new(channel.clone());
    let serving = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            let answer = waiting
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await;
            if answer.is_ok_and(|r| r.into_inner().status == 1) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    anyhow::ensure!(serving.is_ok(), "the server did not serve within 120 s");
    let begun = Instant::now();

    let mut workers = Vec::new();
    for _ in 0..args.workers {
        let (log, stop, next) = (log.clone(), stop.clone(), next.clone());
        let notices = NoticeServiceClient::with_interceptor(channel.clone(), officer.clone());
        let payments = PaymentServiceClient::with_interceptor(channel.clone(), finance.clone());
        let run = args.run;
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let request = penalty(run, n);
                let key = request.request_id.clone();
                let issued = until_acknowledged(&log, &stop, ("IssuePenaltyNotice", &key), || {
                    let (mut c, r) = (notices.clone(), request.clone());
                    async move { c.issue_penalty_notice(r).await }
                })
                .await;
                let Some(issued) = issued else { break };
                let numbers: Vec<String> = issued
                    .into_inner()
                    .notices
                    .into_iter()
                    .map(|n| n.notice_number)
                    .collect();
                log.lock()
                    .unwrap()
                    .notices
                    .push((upn(run, n), numbers.clone()));
                let request = payment(run, n, &numbers[0]);
                let key = format!("drill-{run}-pay-{n}");
                let paid = until_acknowledged(&log, &stop, ("RecordPayment", &key), || {
                    let (mut c, r) = (payments.clone(), request.clone());
                    async move { c.record_payment(r).await }
                })
                .await;
                let Some(paid) = paid else { break };
                let name = paid
                    .into_inner()
                    .payment
                    .map(|p| p.name)
                    .unwrap_or_default();
                log.lock().unwrap().payments.push((key, name));
            }
        }));
    }

    tokio::time::sleep(args.warmup).await;
    if !args.fault.is_empty() {
        let status = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&args.fault)
            .status()
            .await?;
        anyhow::ensure!(status.success(), "the fault command failed: {status}");
    }
    // The fault is in force once its command has returned (a kill at once,
    // a firewall rule once loaded): a write sent before then may still have
    // gone through, so it does not count as the first one after.
    let fault_at = Instant::now();
    // The first write sent after the fault and acknowledged.
    let first_write = loop {
        let found = log
            .lock()
            .unwrap()
            .attempts
            .iter()
            .filter(|a| a.code == Code::Ok && a.started >= fault_at)
            .map(|a| a.ended)
            .min();
        if let Some(t) = found {
            break Some(t);
        }
        if fault_at.elapsed() > args.give_up {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(args.after).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await?;
    }
    health.await?;
    let log = Arc::try_unwrap(log)
        .map_err(|_| anyhow::anyhow!("log still shared"))?
        .into_inner()
        .unwrap();

    // What the database holds, through the load balancer (the leader).
    // Retried for a while, as any client would: the load balancer may still
    // be settling on the new leader.
    let mut tries = 0;
    let mut db = loop {
        match sqlx::PgConnection::connect(&args.database_url).await {
            Ok(c) => break c,
            Err(e) if tries < 60 => {
                tries += 1;
                eprintln!("  verifying: {e}; again in 0.5 s");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e).context("connecting to the database to verify"),
        }
    };
    let (server_addr, in_recovery): (Option<String>, bool) = sqlx::query_as(
        "SELECT host(inet_server_addr()) || ':' || inet_server_port(), pg_is_in_recovery()",
    )
    .fetch_one(&mut db)
    .await?;
    anyhow::ensure!(!in_recovery, "the database verified is a standby");
    let prefix = format!("85020{}", args.run);
    let upns: Vec<(String, i64)> = sqlx::query_as(
        "SELECT upn, count(*) FROM notices WHERE authority_code = $1 AND substr(upn, 2, 6) = $2 GROUP BY upn",
    )
    .bind(LA)
    .bind(&prefix)
    .fetch_all(&mut db)
    .await?;
    let upns: BTreeMap<String, i64> = upns.into_iter().collect();
    let numbers: Vec<(String,)> = sqlx::query_as(
        "SELECT notice_number FROM notices WHERE authority_code = $1 AND substr(upn, 2, 6) = $2",
    )
    .bind(LA)
    .bind(&prefix)
    .fetch_all(&mut db)
    .await?;
    let numbers: std::collections::BTreeSet<String> = numbers.into_iter().map(|n| n.0).collect();
    // Payments, and their allocations (one each: a payment applied twice is a
    // duplicate too).
    let paid: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT p.provider_payment_id, p.payment_id, \
                (SELECT count(*) FROM allocations a \
                  WHERE a.authority_code = p.authority_code AND a.payment_id = p.payment_id) \
           FROM payments p WHERE p.authority_code = $1 AND p.provider_payment_id LIKE $2",
    )
    .bind(LA)
    .bind(format!("drill-{}-pay-%", args.run))
    .fetch_all(&mut db)
    .await?;
    let mut by_provider_id: BTreeMap<String, (i64, i64, String)> = BTreeMap::new();
    for (provider_id, payment_id, allocations) in paid {
        let e = by_provider_id
            .entry(provider_id)
            .or_insert((0, 0, payment_id));
        e.0 += 1;
        e.1 += allocations;
    }

    let mut lost = Vec::new();
    for (upn, answered) in &log.notices {
        if !upns.contains_key(upn) || answered.iter().any(|n| !numbers.contains(n)) {
            lost.push(format!("notice of {upn}"));
        }
    }
    for (provider_id, name) in &log.payments {
        match by_provider_id.get(provider_id) {
            Some((_, _, id)) if name.ends_with(&format!("/payments/{id}")) => {}
            _ => lost.push(format!("payment {provider_id}")),
        }
    }
    // Every write of this run, acknowledged or not, at most once.
    let mut duplicated: Vec<String> = upns
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(u, n)| format!("{n} notices of {u}"))
        .collect();
    duplicated.extend(
        by_provider_id
            .iter()
            .filter(|(_, (rows, allocations, _))| *rows > 1 || *allocations > 1)
            .map(|(p, (rows, allocations, _))| {
                format!("{p}: {rows} rows, {allocations} allocations")
            }),
    );

    let secs = |t: Instant| t.saturating_duration_since(fault_at).as_secs_f64();
    // Seconds from the fault, negative before it.
    let since = |t: Instant| {
        if t >= fault_at {
            secs(t)
        } else {
            -fault_at.duration_since(t).as_secs_f64()
        }
    };
    if let Some(path) = &args.record {
        use std::fmt::Write;
        let mut csv = String::from("call,key,code,started_secs,ended_secs\n");
        for a in &log.attempts {
            let _ = writeln!(
                csv,
                "{},{},{:?},{:.3},{:.3}",
                a.call,
                a.key,
                a.code,
                since(a.started),
                since(a.ended)
            );
        }
        std::fs::write(path, csv).with_context(|| format!("writing {}", path.display()))?;
    }
    let until = first_write.unwrap_or_else(Instant::now);
    let mut between: BTreeMap<String, u64> = BTreeMap::new();
    let mut all: BTreeMap<String, u64> = BTreeMap::new();
    // Each code's first and last answer after the fault.
    let mut spans: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for a in log.attempts.iter().filter(|a| a.code != Code::Ok) {
        let code = format!("{:?}", a.code);
        *all.entry(code.clone()).or_default() += 1;
        if a.ended >= fault_at && a.ended <= until {
            *between.entry(code.clone()).or_default() += 1;
            let t = secs(a.ended);
            let span = spans.entry(code).or_insert((t, t));
            span.0 = span.0.min(t);
            span.1 = span.1.max(t);
        }
    }
    let show = |m: &BTreeMap<String, u64>| {
        if m.is_empty() {
            "none".to_string()
        } else {
            m.iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let health: Vec<String> = log
        .health
        .iter()
        .map(|(t, s)| {
            if *t < fault_at {
                format!("{s} (before)")
            } else {
                format!("{s} at +{:.1} s", secs(*t))
            }
        })
        .collect();
    let internal = log
        .attempts
        .iter()
        .filter(|a| matches!(a.code, Code::Internal | Code::Unknown))
        .count();
    let writes = log.attempts.iter().filter(|a| a.code == Code::Ok).count();
    // Writes acknowledged only on a retry: those whose first attempt may have
    // committed unanswered, which the duplicated count is about.
    let mut failed_keys = std::collections::BTreeSet::new();
    let mut retried = 0;
    for a in &log.attempts {
        if a.code != Code::Ok {
            failed_keys.insert(&a.key);
        } else if failed_keys.contains(&a.key) {
            retried += 1;
        }
    }
    println!(
        "  run {}: {:.1} s of load, {writes} writes acknowledged",
        args.run,
        begun.elapsed().as_secs_f64()
    );
    println!(
        "  acknowledged:        {} notices, {} payments",
        log.notices.len(),
        log.payments.len()
    );
    println!(
        "  verified on:         {} (the leader, through HAProxy)",
        server_addr.unwrap_or_default()
    );
    println!("  acknowledged on a retry (same key): {retried}");
    println!("  lost:                {}", lost.len());
    println!("  duplicated:          {}", duplicated.len());
    match first_write {
        Some(t) => println!("  seconds to first write after the fault: {:.1}", secs(t)),
        None => println!(
            "  no write succeeded within {:?} of the fault",
            args.give_up
        ),
    }
    println!(
        "  codes between the fault and that write: {}",
        show(&between)
    );
    for (code, (first, last)) in &spans {
        println!("    {code}: answered from +{first:.1} s to +{last:.1} s");
    }
    println!("  codes over the whole run:               {}", show(&all));
    println!("  health through it: {}", health.join(", "));
    println!(
        "FIGURES run={} lost={} duplicated={} first_write_secs={} between=\"{}\" internal={internal}",
        args.run,
        lost.len(),
        duplicated.len(),
        first_write.map_or("none".into(), |t| format!("{:.1}", secs(t))),
        show(&between),
    );
    for l in lost.iter().take(10) {
        println!("  LOST {l}");
    }
    for d in duplicated.iter().take(10) {
        println!("  DUPLICATED {d}");
    }
    anyhow::ensure!(
        lost.is_empty() && duplicated.is_empty(),
        "acknowledged writes lost or duplicated"
    );
    anyhow::ensure!(
        internal == 0,
        "{internal} calls answered INTERNAL or UNKNOWN"
    );
    anyhow::ensure!(first_write.is_some(), "no write succeeded after the fault");
    Ok(())
}
