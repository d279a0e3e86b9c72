//! `--instructions`: the server's instructions per call, counted by callgrind
//! (issue #32), so that a change's cost shows whatever else the machine is
//! doing.
//!
//! The release server runs under `valgrind --tool=callgrind` on a fresh SQLite
//! database; the load generator runs natively and makes its calls one at a
//! time. Each call is warmed up first, then measured twice: `k` calls, then
//! `2k` calls, each block between `callgrind_control --zero` and `--dump`. The
//! difference of the two blocks over `k` is the cost of one call: what a block
//! costs whatever its length (zeroing, the dump) cancels out. What costs in
//! proportion to a block's wall time would not, so the server's timers are
//! set out of the way (the database watch to a day, the statutory-date rounds
//! off) and the bench prints what the server counts idle, a second: a few
//! hundred instructions, against ~0.3M with the 250 ms database watch. The
//! pool has one connection, so each call finds SQLite's page cache as the
//! call before left it (with the default ten, which connection a call gets
//! depends on timing, and so do the pages it reads again).
//! Calls are made in the order of the table on one database, so a figure is
//! that of the database as the calls before left it (GetNotice and
//! RecordPayment cost more per call as the calls go on: compare a block's
//! average with the difference).
//! `RecordMarksStream` sends one batch of [`MARKS_PER_CALL`] new marks a call,
//! so its figure per mark is the call's over that number.
//!
//! At the end, the functions taking most of a `GetNotice` (inclusive), from
//! `callgrind_annotate` on its `2k` block.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use anyhow::Context;
use lea_notices::domain::identifiers::Upn;
use lea_notices::proto::v1::{self as pb, attendance_service_client::AttendanceServiceClient};

use chrono::Datelike;

use super::server_env::server_env;
use super::{Args, Bearer, Bench, Client, LA, Op, date, penalty};

/// Notices issued before measuring (GetNotice reads them, payments quote them:
/// a RecordPayment costs more the more payments its notice has, so the 130
/// measured are spread over 100 notices).
const SEEDED_HERE: u64 = 100;
/// Marks in the one batch of each RecordMarksStream call: 50 pupils' weeks.
const MARKS_PER_CALL: usize = 500;
/// The calls measured, and `k` for each (the second block makes `2k`).
const MEASURED: [(Kind, u64); 6] = [
    (Kind::Call(Op::Health), 500),
    (Kind::Call(Op::GetNotice), 200),
    (Kind::Call(Op::ListNotices), 40),
    (Kind::Call(Op::IssuePenaltyNotice), 40),
    (Kind::Call(Op::RecordPayment), 40),
    (Kind::Marks, 8),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Call(Op),
    /// `RecordMarksStream`, one batch of [`MARKS_PER_CALL`] marks.
    Marks,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Call(op) => op.name(),
            Kind::Marks => "RecordMarksStream",
        }
    }
}

/// The server under callgrind, and where its dumps go.
struct Callgrind {
    pid: u32,
    dir: PathBuf,
    dumps: usize,
}

impl Callgrind {
    fn control(&self, arg: &str) -> anyhow::Result<()> {
        let out = std::process::Command::new("callgrind_control")
            .args([arg, &self.pid.to_string()])
            .output()
            .context("running callgrind_control (Debian: valgrind)")?;
        anyhow::ensure!(
            out.status.success(),
            "callgrind_control {arg}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }

    /// Counts from zero until [`Self::dump`].
    fn zero(&self) -> anyhow::Result<()> {
        self.control("--zero")
    }

    /// Dumps what was counted since [`Self::zero`]: the file and its total
    /// instructions.
    fn dump(&mut self) -> anyhow::Result<(PathBuf, u64)> {
        self.control("--dump")?;
        self.dumps += 1;
        let path = self.dir.join(format!("callgrind.out.{}", self.dumps));
        // The dump is written by the server's process: wait for its totals.
        for _ in 0..600 {
            if let Ok(text) = std::fs::read_to_string(&path)
                && let Some(total) = total_instructions(&text)
            {
                return Ok((path, total));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        anyhow::bail!("no callgrind dump at {}", path.display())
    }
}

/// The `totals:` (or `summary:`) line of a callgrind dump: instructions (Ir).
fn total_instructions(dump: &str) -> Option<u64> {
    dump.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// A UPN the seeded notices' pupils do not use (see [`super::penalty`]).
fn marks_upn(n: u64) -> String {
    let body = format!("851300{:06}", n % 1_000_000);
    format!("{}{body}", Upn::check_letter(&body).expect("digits"))
}

/// One batch of [`MARKS_PER_CALL`] marks, new to the server: a week (Monday
/// 6 January 2025) of pupils `first..`, absent on Monday morning.
fn marks_batch(first: u64) -> pb::RecordMarksStreamRequest {
    let monday = chrono::NaiveDate::from_ymd_opt(2025, 1, 6).expect("date");
    let pupils = (MARKS_PER_CALL / 10) as u64;
    let marks = (first..first + pupils)
        .flat_map(|p| {
            let upn = marks_upn(p);
            (0..10).map(move |i| {
                let day = monday + chrono::Duration::days(i / 2);
                let (session, present) = if i % 2 == 0 {
                    (pb::Session::Am, "/")
                } else {
                    (pb::Session::Pm, "\\")
                };
                pb::Mark {
                    school_urn: "116439".into(),
                    upn: upn.clone(),
                    date: date(day.year(), day.month() as i32, day.day() as i32),
                    session: session as i32,
                    code: if i == 0 { "O" } else { present }.into(),
                    record_time: Some(prost_types::Timestamp {
                        seconds: 1_736_200_000,
                        nanos: 0,
                    }),
                }
            })
        })
        .collect();
    pb::RecordMarksStreamRequest {
        parent: format!("authorities/{LA}"),
        request_id: format!("bench-marks-{first}"),
        marks,
        sen_statuses: vec![],
    }
}

/// Makes one call of `kind`.
async fn call(
    bench: &Bench,
    client: &mut Client,
    marks: &mut AttendanceServiceClient<
        tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Bearer>,
    >,
    kind: Kind,
) -> anyhow::Result<()> {
    match kind {
        Kind::Call(op) => bench
            .call(client, op)
            .await
            .map_err(|code| anyhow::anyhow!("{}: {code:?}", op.name())),
        Kind::Marks => {
            let n = bench.next.fetch_add(
                MARKS_PER_CALL as u64 / 10,
                std::sync::atomic::Ordering::Relaxed,
            );
            let mut answers = marks
                .record_marks_stream(tokio_stream::iter(vec![marks_batch(n)]))
                .await?
                .into_inner();
            let mut inserted = 0;
            while let Some(answer) = answers.message().await? {
                inserted += answer.batch_result.map_or(0, |r| r.inserted);
            }
            anyhow::ensure!(
                inserted == MARKS_PER_CALL as i64,
                "RecordMarksStream inserted {inserted} of {MARKS_PER_CALL} marks"
            );
            Ok(())
        }
    }
}

/// A development token for `role`, made by the server binary.
fn token(bin: &str, env: &[(&str, String)], role: &str) -> anyhow::Result<Bearer> {
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
    anyhow::ensure!(out.status.success(), "token: {out:?}");
    let token = String::from_utf8(out.stdout)?.trim().to_string();
    Ok(Bearer(format!("Bearer {token}").parse()?))
}

/// `--instructions`: see the module's documentation.
pub(super) async fn run(_args: &Args, bin: &str) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let out_dir = dir.path().join("callgrind");
    std::fs::create_dir(&out_dir)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut env = server_env(
        format!("sqlite://{}/bench.db", dir.path().display()),
        dir.path(),
        port,
    );
    let log = env
        .iter()
        .find(|(name, _)| *name == "RUST_LOG")
        .map(|(_, filter)| filter.clone())
        .unwrap_or_default();
    env.extend([
        // No timers in the blocks: the database watch pings every 250 ms by
        // default (about 0.3M instructions a second under callgrind, counted
        // in whichever block it falls, in proportion to the block's wall
        // time), and the statutory-date rounds every minute.
        ("LEA_NOTICES_HEALTH_CHECK_INTERVAL_MS", "86400000".into()),
        ("LEA_NOTICES_STATUTORY_EVENTS_INTERVAL_MS", "0".into()),
        // One pool connection: SQLite keeps a page cache per connection and
        // drops it when another connection has written, so with the default
        // ten which connection a call gets (a matter of timing: a connection
        // goes back to the pool on a task of its own) decides how many pages
        // it reads again, up to ~4 % of an IssuePenaltyNotice between runs.
        ("LEA_NOTICES_MAX_CONNECTIONS", "1".into()),
    ]);
    // Made before the server starts, so that the development key is made once.
    let officer = token(bin, &env, "la_officer")?;
    let finance = token(bin, &env, "finance")?;
    let callgrind_out = format!(
        "--callgrind-out-file={}",
        out_dir.join("callgrind.out").display()
    );
    let server =
        super::server_command(&["valgrind", "--tool=callgrind", &callgrind_out], bin, &env)
            .stderr(Stdio::null())
            .spawn()
            .context("running valgrind (Debian: valgrind)")?;
    let mut callgrind = Callgrind {
        pid: server.id().context("valgrind's pid")?,
        dir: out_dir,
        dumps: 0,
    };
    let mut bench = Bench {
        port,
        officer: officer.clone(),
        finance,
        next: AtomicU64::new(0),
        numbers: Vec::new(),
    };
    // The database-backed names turn SERVING at the watch's first ping, a day
    // away; SQLite is migrated before `serve` listens. (So the health `Check`
    // measured answers NOT_SERVING for the server as a whole: the same lookup
    // as SERVING.)
    let mut client = super::wait_serving(
        &bench,
        "liveness",
        Duration::from_millis(500),
        Duration::from_millis(500),
    )
    .await?;
    for n in 0..SEEDED_HERE {
        let issued = client.notices.issue_penalty_notice(penalty(n)).await?;
        bench.numbers.extend(
            issued
                .into_inner()
                .notices
                .into_iter()
                .map(|n| n.notice_number),
        );
    }
    bench
        .next
        .store(SEEDED_HERE, std::sync::atomic::Ordering::Relaxed);
    let bench = Arc::new(bench);
    let channel = tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))?
        .tcp_nodelay(true)
        .connect()
        .await?;
    let mut marks = AttendanceServiceClient::with_interceptor(channel, officer);

    println!(
        "# Server instructions per call (callgrind, SQLite, fresh database, RUST_LOG={log}, one call at a time)\n"
    );
    println!(
        "| call | k | instructions, k calls | 2k calls | per call ((2k − k) / k) | per mark |"
    );
    println!("|---|---|---|---|---|---|");
    let mut get_notice_dump = None;
    for (kind, k) in MEASURED {
        for _ in 0..k.min(10) {
            call(&bench, &mut client, &mut marks, kind).await?;
        }
        let mut blocks = Vec::new();
        for calls in [k, 2 * k] {
            callgrind.zero()?;
            for _ in 0..calls {
                call(&bench, &mut client, &mut marks, kind).await?;
            }
            blocks.push(callgrind.dump()?);
        }
        let (once, twice) = (blocks[0].1, blocks[1].1);
        let per_call = twice.saturating_sub(once) as f64 / k as f64;
        let per_mark = if kind == Kind::Marks {
            format!("{:.0}", per_call / MARKS_PER_CALL as f64)
        } else {
            String::new()
        };
        println!(
            "| {}{} | {k} | {once} | {twice} | {per_call:.0} | {per_mark} |",
            kind.name(),
            if kind == Kind::Marks {
                format!(" ({MARKS_PER_CALL} marks)")
            } else {
                String::new()
            }
        );
        if kind == Kind::Call(Op::GetNotice) {
            get_notice_dump = Some((blocks[1].0.clone(), 2 * k));
        }
    }
    // What the server counts with no call at all (its timers), a second.
    callgrind.zero()?;
    let idle_from = std::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, idle) = callgrind.dump()?;
    println!(
        "\nidle: {:.0} instructions a second",
        idle as f64 / idle_from.elapsed().as_secs_f64()
    );
    if let Some((path, calls)) = get_notice_dump {
        annotate(&path, calls)?;
    }
    drop(server);
    Ok(())
}

/// The functions taking most of GetNotice's instructions, inclusive of what
/// they call, from the block of `calls` calls at `path`.
fn annotate(path: &Path, calls: u64) -> anyhow::Result<()> {
    let out = std::process::Command::new("callgrind_annotate")
        .args(["--inclusive=yes", "--threshold=100"])
        .arg(path)
        .output()
        .context("running callgrind_annotate")?;
    anyhow::ensure!(out.status.success(), "callgrind_annotate: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    println!("\n## GetNotice: the top inclusive functions ({calls} calls; per call)\n");
    println!("| instructions per call | share | function |");
    println!("|---|---|---|");
    let total = total_instructions_annotated(&text).unwrap_or(0) as f64;
    let mut shown = 0;
    for line in text.lines() {
        let line = line.trim();
        // "1,234,567 (12.34%)  file:function [object]"
        let Some((count, rest)) = line.split_once(' ') else {
            continue;
        };
        let Ok(count) = count.replace(',', "").parse::<u64>() else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(function) = rest.split_once(')').map(|(_, f)| f.trim()) else {
            continue;
        };
        if function.starts_with("PROGRAM TOTALS") || function.is_empty() {
            continue;
        }
        let function = function.split_once(':').map_or(function, |(_, f)| f);
        let function: String = function.chars().take(110).collect();
        println!(
            "| {:.0} | {:.1} % | `{}` |",
            count as f64 / calls as f64,
            100.0 * count as f64 / total.max(1.0),
            function.replace('|', "\\|")
        );
        shown += 1;
        if shown == 40 {
            break;
        }
    }
    Ok(())
}

/// The `PROGRAM TOTALS` of callgrind_annotate's output.
fn total_instructions_annotated(text: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.contains("PROGRAM TOTALS"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.replace(',', "").parse().ok())
}
