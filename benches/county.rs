//! A synthetic county on PostgreSQL (issue #5), measured side by side in one run:
//!
//! - ingestion through `RecordMarks` (the real server binary, as its own process)
//!   against raw `COPY` of the same rows into a table of the same shape;
//! - whole-authority `ListThresholdBreaches` (every page) against a naive SQL
//!   window query over the raw marks, whose answer must be the same;
//! - the whole authority's `GetAttendanceSummary` for the school year against a
//!   naive count of the raw marks, whose figures must be the same;
//! - the server's peak memory (VmHWM) while ingesting.
//!
//! ```text
//! cargo bench --bench county -- --pupils 2000      # 1% of a county: CI checks the answers
//! cargo bench --bench county -- --pupils 200000    # Hampshire-sized
//! ```
//! With `--authorities N` (issue #31: national scale) it then loads N-1 more
//! authorities of the same size through `RecordMarks` (real LA codes, each with
//! its own UPNs, URNs and seeds), and times Hampshire's breaches and summary
//! again with them all held: the answers must be the same as with Hampshire
//! alone. Every run prints the database's bytes per mark held and the WAL
//! `RecordMarks` wrote per mark.
//!
//! ```text
//! cargo bench --bench county -- --pupils 20000 --authorities 10
//! ```
//! Options: `--pupils N` (per authority), `--authorities N` (1 to 20; 1),
//! `--streams N` (parallel RecordMarks calls and COPYs; 4,
//! as several MIS connectors send at once),
//! `--admin-url URL` (default postgres://postgres@127.0.0.1:5432/postgres; a
//! fresh database is created and dropped), `--keep-database` (leave it, to look
//! at query plans at scale), `--reuse-database NAME` (measure the queries only,
//! on a database an earlier run kept, with the same `--pupils` and
//! `--authorities`). The server's
//! log filter is `LEA_BENCH_SERVER_LOG` (default `warn`; `sqlx::query=debug`
//! times every statement). Exits non-zero if answers differ.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{Datelike, NaiveDate, Weekday};
use lea_notices::domain::identifiers::Upn;
use lea_notices::domain::register_codes::CodeSet;
use lea_notices::proto::v1::{self as pb, attendance_service_client::AttendanceServiceClient};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sqlx::Connection;

#[path = "common/server_env.rs"]
mod server_env;
use server_env::server_env;

const LA: &str = "850";
/// Real LA codes, Hampshire first: the authority every run measures.
const AUTHORITIES: [&str; 20] = [
    "850", "852", "851", "886", "330", "925", "936", "919", "881", "855", "341", "873", "931",
    "380", "383", "372", "202", "838", "908", "916",
];
/// Each authority's schools' URNs start at `200_000 + index * URNS_PER_AUTHORITY`.
const URNS_PER_AUTHORITY: usize = 1_000;
const PUPILS_PER_SCHOOL: usize = 400;
const BATCH: usize = 5_000;
const BATCHES_PER_CALL: usize = 20;
const AS_OF: (i32, u32, u32) = (2025, 7, 18);

struct Args {
    pupils: usize,
    authorities: usize,
    streams: usize,
    admin_url: String,
    keep_database: bool,
    /// A database kept by an earlier run: measure the queries only.
    reuse_database: Option<String>,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        pupils: 2_000,
        authorities: 1,
        streams: 4,
        admin_url: "postgres://postgres@127.0.0.1:5432/postgres".into(),
        keep_database: false,
        reuse_database: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--pupils" => a.pupils = it.next().context("--pupils N")?.parse()?,
            "--authorities" => {
                a.authorities = it.next().context("--authorities N")?.parse()?;
                if !(1..=AUTHORITIES.len()).contains(&a.authorities) {
                    bail!("--authorities is 1 to {}", AUTHORITIES.len());
                }
            }
            "--streams" => a.streams = it.next().context("--streams N")?.parse()?,
            "--admin-url" => a.admin_url = it.next().context("--admin-url URL")?,
            "--keep-database" => a.keep_database = true,
            "--reuse-database" => {
                a.reuse_database = Some(it.next().context("--reuse-database NAME")?)
            }
            _ => {} // cargo bench adds --bench
        }
    }
    if a.pupils.div_ceil(PUPILS_PER_SCHOOL) > URNS_PER_AUTHORITY {
        bail!(
            "at most {} pupils an authority",
            URNS_PER_AUTHORITY * PUPILS_PER_SCHOOL
        );
    }
    Ok(a)
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
}

/// The 2024/25 school year's days: weekdays from 2 Sep 2024 to 18 Jul 2025
/// without the half-terms, Christmas, Easter and the May bank holiday.
fn school_days() -> Vec<NaiveDate> {
    let closed = [
        (d(2024, 10, 28), d(2024, 11, 1)),
        (d(2024, 12, 23), d(2025, 1, 3)),
        (d(2025, 2, 17), d(2025, 2, 21)),
        (d(2025, 4, 7), d(2025, 4, 18)),
        (d(2025, 5, 5), d(2025, 5, 5)),
        (d(2025, 5, 26), d(2025, 5, 30)),
    ];
    d(2024, 9, 2)
        .iter_days()
        .take_while(|x| *x <= d(2025, 7, 18))
        .filter(|x| !matches!(x.weekday(), Weekday::Sat | Weekday::Sun))
        .filter(|x| !closed.iter().any(|(a, b)| a <= x && x <= b))
        .collect()
}

/// Pupil `i` of authority `la` (its LA code leads the UPN, as a real one's does).
fn upn(la: &str, i: usize) -> String {
    let body = format!("{la}24{i:07}");
    format!("{}{body}", Upn::check_letter(&body).expect("digits"))
}

/// The school of pupil `pupil` of the authority at `index` in [`AUTHORITIES`].
fn school_urn(index: usize, pupil: usize) -> String {
    format!(
        "{}",
        200_000 + index * URNS_PER_AUTHORITY + pupil / PUPILS_PER_SCHOOL
    )
}

/// One pupil's year: mostly present, a few % authorised, about 1% unauthorised,
/// with term-time holidays and clusters of unauthorised absence for some.
fn pupil_codes(index: usize, i: usize, days: &[NaiveDate]) -> Vec<&'static str> {
    let mut rng = StdRng::seed_from_u64(0x5eed ^ i as u64 ^ ((index as u64) << 40));
    let sessions = days.len() * 2;
    let authorised = rng.random_range(0.02..0.06);
    let unauthorised = rng.random_range(0.002..0.015);
    let mut codes: Vec<&'static str> = (0..sessions)
        .map(|s| {
            let r: f64 = rng.random();
            if r < authorised {
                ["I", "I", "I", "M", "C"][rng.random_range(0..5)]
            } else if r < authorised + unauthorised {
                ["O", "N", "U"][rng.random_range(0..3)]
            } else if r < authorised + unauthorised + 0.02 {
                "L"
            } else if s % 2 == 0 {
                "/"
            } else {
                "\\"
            }
        })
        .collect();
    if rng.random_bool(0.04) {
        // A week's term-time holiday.
        let start = rng.random_range(0..sessions - 10) / 10 * 10;
        codes[start..start + 10].fill("G");
    }
    if rng.random_bool(0.03) {
        // A run of unauthorised absence.
        let start = rng.random_range(0..sessions - 30);
        for code in &mut codes[start..start + 30] {
            if rng.random_bool(0.4) {
                *code = "O";
            }
        }
    }
    codes
}

/// Every mark of the pupils in `pupils` of the authority at `index` in
/// [`AUTHORITIES`], in export order (pupil, then date).
fn marks_of(index: usize, pupils: &[usize], days: &[NaiveDate]) -> impl Iterator<Item = pb::Mark> {
    let la = AUTHORITIES[index];
    pupils.iter().flat_map(move |&p| {
        let (upn, urn) = (upn(la, p), school_urn(index, p));
        pupil_codes(index, p, days)
            .into_iter()
            .enumerate()
            .map(move |(s, code)| {
                let day = days[s / 2];
                pb::Mark {
                    school_urn: urn.clone(),
                    upn: upn.clone(),
                    date: Some(lea_notices::api::convert::date_to_proto(day)),
                    session: if s % 2 == 0 {
                        pb::Session::Am
                    } else {
                        pb::Session::Pm
                    } as i32,
                    code: code.into(),
                    record_time: Some(prost_types::Timestamp {
                        seconds: day
                            .and_hms_opt(16, 0, 0)
                            .expect("time")
                            .and_utc()
                            .timestamp(),
                        nanos: 0,
                    }),
                }
            })
            .collect::<Vec<_>>()
    })
}

/// Pupils split between streams by school, as separate MIS connectors would.
fn partitions(pupils: usize, streams: usize) -> Vec<Vec<usize>> {
    let mut parts = vec![Vec::new(); streams];
    for p in 0..pupils {
        parts[(p / PUPILS_PER_SCHOOL) % streams].push(p);
    }
    parts
}

fn copy_line(m: &pb::Mark, out: &mut String) {
    let date = m.date.as_ref().expect("date");
    let day = d(date.year, date.month as u32, date.day as u32);
    let category = CodeSet::categorise(day, &m.code)
        .expect("valid code")
        .as_i16();
    let code = if m.code == "\\" {
        "\\\\"
    } else {
        m.code.as_str()
    };
    let t = m.record_time.as_ref().expect("time").seconds;
    let t = chrono::DateTime::from_timestamp(t, 0).expect("time");
    use std::fmt::Write;
    let _ = writeln!(
        out,
        "{LA}\t{}\t{day}\t{}\t{}\t{code}\t{category}\t{}",
        m.upn,
        m.session - 1,
        m.school_urn,
        t.to_rfc3339()
    );
}

/// The authority's figures over $1..=$2 counted from the raw marks.
const NAIVE_SUMMARY: &str = "
SELECT COALESCE(SUM(possible), 0)::int8 AS possible, COALESCE(SUM(present), 0)::int8 AS present,
       COALESCE(SUM(approved_activity), 0)::int8 AS approved_activity,
       COALESCE(SUM(authorised), 0)::int8 AS authorised,
       COALESCE(SUM(unauthorised), 0)::int8 AS unauthorised,
       COUNT(*) AS enrolments,
       COUNT(*) FILTER (WHERE (authorised + unauthorised) * 10 >= possible) AS persistent,
       COUNT(*) FILTER (WHERE (authorised + unauthorised) * 2 >= possible) AS severe
FROM (SELECT COUNT(*) FILTER (WHERE category <> 4) AS possible,
             COUNT(*) FILTER (WHERE category = 0) AS present,
             COUNT(*) FILTER (WHERE category = 1) AS approved_activity,
             COUNT(*) FILTER (WHERE category = 2) AS authorised,
             COUNT(*) FILTER (WHERE category = 3) AS unauthorised
      FROM bench_raw_marks WHERE mark_date BETWEEN $1 AND $2
      GROUP BY upn, school_urn) e
WHERE possible > 0";

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct SummaryTotals {
    possible: i64,
    present: i64,
    approved_activity: i64,
    authorised: i64,
    unauthorised: i64,
    enrolments: i64,
    persistent: i64,
    severe: i64,
}

/// The naive answer: school weeks, windows and counts computed from the raw
/// marks alone, with the service's rules (see attendance::threshold_breach).
const NAIVE_BREACHES: &str = "
WITH school_weeks AS (
  SELECT DISTINCT school_urn, date_trunc('week', mark_date)::date AS wk
  FROM bench_raw_marks WHERE category <> 4 AND mark_date <= $1),
ranked AS (
  SELECT school_urn, wk, ROW_NUMBER() OVER (PARTITION BY school_urn ORDER BY wk DESC) AS back
  FROM school_weeks),
window_weeks AS (SELECT school_urn, wk FROM ranked WHERE back <= $2),
bound AS (SELECT min(wk) AS lb FROM window_weeks),
pupil_schools AS (
  SELECT DISTINCT upn, school_urn FROM bench_raw_marks, bound
  WHERE mark_date BETWEEN bound.lb AND $1),
pupil_weeks AS (
  SELECT DISTINCT ps.upn, w.wk FROM pupil_schools ps JOIN window_weeks w USING (school_urn)),
pupil_ranked AS (
  SELECT upn, wk, ROW_NUMBER() OVER (PARTITION BY upn ORDER BY wk DESC) AS back FROM pupil_weeks),
pupil_window AS (
  SELECT upn, min(wk) AS first_week FROM pupil_ranked WHERE back <= $2 GROUP BY upn),
qualifying AS (
  SELECT DISTINCT m.upn, m.mark_date, m.session FROM bench_raw_marks m JOIN pupil_window p USING (upn)
  WHERE m.code IN ('G', 'N', 'O', 'U') AND m.mark_date >= p.first_week AND m.mark_date <= $1)
SELECT upn::text, COUNT(*)::int4 FROM qualifying GROUP BY upn HAVING COUNT(*) >= $3 ORDER BY upn";

fn peak_rss_mib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .context("VmHWM")?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kb / 1024.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let days = school_days();
    let total_marks = args.pupils * days.len() * 2;
    eprintln!(
        "county: {} pupils, {} schools, {} school days, {total_marks} marks",
        args.pupils,
        args.pupils.div_ceil(PUPILS_PER_SCHOOL),
        days.len()
    );

    let (base, _) = args
        .admin_url
        .rsplit_once('/')
        .context("URL with a database")?;
    if let Some(db) = &args.reuse_database {
        return measure(&args, &days, &format!("{base}/{db}")).await;
    }
    let db = format!("lea_bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&args.admin_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut admin)
        .await?;
    let url = format!("{base}/{db}");
    let result = measure(&args, &days, &url).await;
    if args.keep_database {
        eprintln!("kept {url}");
        return result;
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {db} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    result
}

/// The server under test, as its own process, and how to reach it.
struct Server {
    process: tokio::process::Child,
    pid: u32,
    env: Vec<(&'static str, String)>,
    channel: tonic::transport::Channel,
    _data_dir: tempfile::TempDir,
}

const BIN: &str = env!("CARGO_BIN_EXE_lea-notices");

impl Server {
    /// Starts `lea-notices serve` on `url` and waits until its health says it serves.
    async fn start(url: &str) -> anyhow::Result<Self> {
        let data_dir = tempfile::tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let env = server_env(url.to_string(), data_dir.path(), port);
        let process = tokio::process::Command::new(BIN)
            .arg("serve")
            .envs(env.iter().cloned())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let pid = process.id().context("server pid")?;
        let channel = loop {
            match tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))?
                .connect()
                .await
            {
                Ok(c) => break c,
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        // `serve` migrates PostgreSQL in the background and answers UNAVAILABLE
        // until it has: wait for its health to say it serves.
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
        loop {
            let serving = health
                .check(tonic_health::pb::HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .is_ok_and(|r| {
                    r.into_inner().status
                        == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
                });
            if serving {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Self {
            process,
            pid,
            env,
            channel,
            _data_dir: data_dir,
        })
    }

    /// A client calling as an officer of authority `la`.
    fn client(&self, la: &str) -> anyhow::Result<Client> {
        let token = std::process::Command::new(BIN)
            .args([
                "token",
                "--authority",
                la,
                "--role",
                "la_officer",
                "--ttl-minutes",
                "600",
            ])
            .envs(self.env.iter().cloned())
            .output()?;
        let token = String::from_utf8(token.stdout)?.trim().to_string();
        Ok(AttendanceServiceClient::with_interceptor(
            self.channel.clone(),
            Bearer(format!("Bearer {token}").parse()?),
        ))
    }
}

async fn measure(args: &Args, days: &[NaiveDate], url: &str) -> anyhow::Result<()> {
    let mut server = Server::start(url).await?;
    let client = server.client(LA)?;
    let mut pg = sqlx::PgConnection::connect(url).await?;
    let ingested = match args.reuse_database {
        Some(_) => None,
        None => Some(ingest(args, days, url, &client, server.pid, &mut pg).await?),
    };

    let as_of = d(AS_OF.0, AS_OF.1, AS_OF.2);
    let range = (days[0], as_of);
    let alone = answers(&client, as_of, range).await?;

    let started = Instant::now();
    let naive: Vec<(String, i32)> = sqlx::query_as(NAIVE_BREACHES)
        .bind(as_of)
        .bind(10i64)
        .bind(10i64)
        .fetch_all(&mut pg)
        .await?;
    let naive_secs = started.elapsed().as_secs_f64();
    // Figures for the whole authority over the year against a naive count of
    // the raw marks (the answers must match).
    let started = Instant::now();
    let naive_summary: SummaryTotals = sqlx::query_as(NAIVE_SUMMARY)
        .bind(range.0)
        .bind(range.1)
        .fetch_one(&mut pg)
        .await?;
    let naive_summary_secs = started.elapsed().as_secs_f64();

    // National scale: the other authorities, then Hampshire's answers again.
    let others = match (args.authorities > 1, &args.reuse_database) {
        (true, None) => Some(load_others(args, days, &server, &mut pg).await?),
        // A kept database holds them already: its answers, as they are.
        (_, Some(_)) | (false, None) => None,
    };
    let with_all = match others {
        Some(_) => Some(answers(&client, as_of, range).await?),
        None => None,
    };
    let peak_mib = peak_rss_mib(server.pid)?;
    let held = storage(&mut pg).await?;
    let _ = server.process.kill().await;

    println!("| measure | lea-notices | baseline (same run) | ratio | target |");
    println!("|---|---|---|---|---|");
    let per_authority = days.len() * 2 * args.pupils;
    if let Some(Ingested {
        copy_secs,
        ingest_secs,
        ..
    }) = &ingested
    {
        let copy_rate = per_authority as f64 / copy_secs;
        let ingest_rate = per_authority as f64 / ingest_secs;
        println!(
            "| ingestion, {per_authority} marks | RecordMarks {:.0} marks/s ({ingest_secs:.1} s) | COPY {:.0} rows/s ({copy_secs:.1} s) | {:.2} | ≥ 0.50 |",
            ingest_rate,
            copy_rate,
            ingest_rate / copy_rate
        );
    }
    println!(
        "| whole-authority breaches on {as_of}, {} pupils | ListThresholdBreaches {:.3} s (median of 3, all pages) | naive SQL {naive_secs:.3} s | {:.1}× faster | ≤ 1 s and ≥ 10× |",
        alone.breaches.len(),
        alone.breach_secs,
        naive_secs / alone.breach_secs
    );
    if let Some(Ingested { peak_mib, .. }) = &ingested {
        println!(
            "| server peak memory (VmHWM) while ingesting | {peak_mib:.0} MiB | | | < 1024 MiB |"
        );
    }
    // A refusal (the request timeout, say) is a result to report, not a crash.
    println!(
        "{}",
        summary_row(
            "whole-authority",
            &alone.authority,
            alone.authority_secs,
            Some(naive_summary_secs)
        )
    );
    println!(
        "{}",
        summary_row(
            "one school's",
            &alone.one_school,
            alone.one_school_secs,
            None
        )
    );
    let marks_held: usize = per_authority * args.authorities;
    if let Some(Ingested { wal_bytes, .. }) = &ingested {
        println!(
            "| WAL written while RecordMarks ingested {LA} | {:.0} bytes/mark ({:.2} GiB) | | | |",
            wal_bytes / per_authority as f64,
            wal_bytes / f64::from(1 << 30)
        );
    }
    let total: i64 = held.iter().map(|(_, b)| b).sum();
    let register: i64 = held
        .iter()
        .filter(|(t, _)| t.starts_with("attendance_mark"))
        .map(|(_, b)| b)
        .sum();
    println!(
        "| database held, {marks_held} marks (without the COPY baseline) | {:.0} bytes/mark ({:.2} GiB; the register's tables {:.0} bytes/mark) | | | |",
        total as f64 / marks_held as f64,
        total as f64 / f64::from(1 << 30),
        register as f64 / marks_held as f64
    );
    // 8 million pupils, two sessions on 190 days (the capacity plan, BENCHMARKS.md).
    const NATIONAL_MARKS_A_YEAR: f64 = 3.04e9;
    println!(
        "| a year of national registers at this size | {:.2} TB | | | |",
        NATIONAL_MARKS_A_YEAR * total as f64 / marks_held as f64 / 1e12
    );
    let largest: Vec<String> = held
        .iter()
        .take(6)
        .map(|(t, b)| format!("{t} {:.0}", *b as f64 / marks_held as f64))
        .collect();
    eprintln!("bytes per mark by table: {}", largest.join(", "));

    if let (Some(loads), Some(all)) = (&others, &with_all) {
        println!(
            "| server peak memory (VmHWM), the whole run, {} authorities | {peak_mib:.0} MiB | | | < 256 MiB |",
            args.authorities
        );
        let rates: Vec<f64> = loads
            .iter()
            .map(|l| per_authority as f64 / l.secs)
            .collect();
        let wal: f64 = loads.iter().map(|l| l.wal_bytes).sum();
        println!(
            "| ingestion of {} more authorities, {per_authority} marks each | first {:.0}, last {:.0}, slowest {:.0} marks/s | {LA}'s (into an empty database) {:.0} marks/s | last / {LA}'s {:.2} | |",
            loads.len(),
            rates[0],
            rates[rates.len() - 1],
            rates.iter().copied().fold(f64::INFINITY, f64::min),
            ingested
                .as_ref()
                .map_or(f64::NAN, |i| per_authority as f64 / i.ingest_secs),
            rates[rates.len() - 1]
                / ingested
                    .as_ref()
                    .map_or(f64::NAN, |i| per_authority as f64 / i.ingest_secs)
        );
        println!(
            "| WAL written while the others were ingested | {:.0} bytes/mark | | | |",
            wal / (per_authority * loads.len()) as f64
        );
        println!(
            "| {LA}'s breaches with {} authorities held | {:.3} s | {LA} alone {:.3} s | {:.2} | ≤ 1.1 |",
            args.authorities,
            all.breach_secs,
            alone.breach_secs,
            all.breach_secs / alone.breach_secs
        );
        println!(
            "| {LA}'s whole-authority summary with {} authorities held | {:.3} s | {LA} alone {:.3} s | {:.2} | ≤ 1.1 |",
            args.authorities,
            all.authority_secs,
            alone.authority_secs,
            all.authority_secs / alone.authority_secs
        );
        println!(
            "| {LA}'s one-school summary with {} authorities held | {:.3} s | {LA} alone {:.3} s | {:.2} | |",
            args.authorities,
            all.one_school_secs,
            alone.one_school_secs,
            all.one_school_secs / alone.one_school_secs
        );
    }

    if alone.breaches != naive {
        let only_service: Vec<_> = alone
            .breaches
            .iter()
            .filter(|b| !naive.contains(b))
            .take(5)
            .collect();
        let only_naive: Vec<_> = naive
            .iter()
            .filter(|b| !alone.breaches.contains(b))
            .take(5)
            .collect();
        bail!("answers differ: service only {only_service:?}, naive only {only_naive:?}");
    }
    // A refused summary is reported above, not compared: README states the limit.
    let summary_checked = match &alone.authority {
        Ok(authority) => {
            if totals(authority) != naive_summary {
                bail!(
                    "summaries differ: service {:?}, naive {naive_summary:?}",
                    totals(authority)
                );
            }
            "the summary's figures and enrolment counts"
        }
        Err(_) => "the summary was refused, so not compared",
    };
    println!(
        "\nAnswers match: {} breaches, the same pupils and counts; {summary_checked}.",
        alone.breaches.len()
    );
    if let Some(all) = &with_all {
        // Another authority's marks must change nothing in Hampshire's answers.
        let same_summary =
            |a: &Result<pb::GetAttendanceSummaryResponse, tonic::Status>,
             b: &Result<pb::GetAttendanceSummaryResponse, tonic::Status>| {
                match (a, b) {
                    (Ok(a), Ok(b)) => totals(a) == totals(b),
                    _ => false,
                }
            };
        if all.breaches != alone.breaches
            || !same_summary(&all.authority, &alone.authority)
            || !same_summary(&all.one_school, &alone.one_school)
        {
            bail!(
                "{LA}'s answers changed with {} authorities held",
                args.authorities
            );
        }
        println!(
            "With {} authorities held, {LA}'s breaches and summaries are unchanged.",
            args.authorities
        );
    }
    Ok(())
}

/// A summary's figures, as the naive count states them.
fn totals(s: &pb::GetAttendanceSummaryResponse) -> SummaryTotals {
    let f = s.figures.unwrap_or_default();
    SummaryTotals {
        possible: f.possible_sessions,
        present: f.present,
        approved_activity: f.approved_educational_activity,
        authorised: f.authorised_absence,
        unauthorised: f.unauthorised_absence,
        enrolments: s.enrolments,
        persistent: s.persistent_absence_enrolments,
        severe: s.severe_absence_enrolments,
    }
}

type Summary = Result<pb::GetAttendanceSummaryResponse, tonic::Status>;

/// Hampshire's answers and how long they took (medians of 3).
struct Answers {
    breaches: Vec<(String, i32)>,
    breach_secs: f64,
    authority: Summary,
    authority_secs: f64,
    one_school: Summary,
    one_school_secs: f64,
}

fn median(mut secs: Vec<f64>) -> f64 {
    secs.sort_by(f64::total_cmp);
    secs[secs.len() / 2]
}

/// Every page of the whole authority's breaches on `as_of`, the whole
/// authority's summary and one school's over `range`, each three times.
async fn answers(
    client: &Client,
    as_of: NaiveDate,
    range: (NaiveDate, NaiveDate),
) -> anyhow::Result<Answers> {
    let mut breaches = Vec::new();
    let mut breach_times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let mut found: BTreeMap<String, i32> = BTreeMap::new();
        let mut page_token = String::new();
        loop {
            let page = client
                .clone()
                .list_threshold_breaches(pb::ListThresholdBreachesRequest {
                    parent: format!("authorities/{LA}"),
                    as_of_date: Some(lea_notices::api::convert::date_to_proto(as_of)),
                    page_size: 500,
                    page_token,
                    ..Default::default()
                })
                .await?
                .into_inner();
            found.extend(
                page.threshold_breaches
                    .iter()
                    .map(|b| (b.upn.clone(), b.qualifying_sessions)),
            );
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        breach_times.push(started.elapsed().as_secs_f64());
        breaches = found.into_iter().collect::<Vec<_>>();
    }
    let summary = |school: String| async move {
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..3 {
            let (s, secs) = timed_summary(client, school.clone(), range).await;
            times.push(secs);
            last = Some(s);
        }
        (last.expect("three calls"), median(times))
    };
    let (authority, authority_secs) = summary(String::new()).await;
    let (one_school, one_school_secs) = summary(school_urn(0, 0)).await;
    Ok(Answers {
        breaches,
        breach_secs: median(breach_times),
        authority,
        authority_secs,
        one_school,
        one_school_secs,
    })
}

/// One school's (or, with `school` empty, the whole authority's) summary over
/// `range`, and the seconds it took.
async fn timed_summary(
    client: &Client,
    school: String,
    range: (NaiveDate, NaiveDate),
) -> (Summary, f64) {
    let started = Instant::now();
    let summary = client
        .clone()
        .get_attendance_summary(pb::GetAttendanceSummaryRequest {
            parent: format!("authorities/{LA}"),
            school_urn: school,
            start_date: Some(lea_notices::api::convert::date_to_proto(range.0)),
            end_date: Some(lea_notices::api::convert::date_to_proto(range.1)),
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner);
    (summary, started.elapsed().as_secs_f64())
}

/// The results table's row for a summary, against the naive count when there is one.
fn summary_row(scope: &str, summary: &Summary, secs: f64, naive_secs: Option<f64>) -> String {
    let baseline = naive_secs.map_or(String::new(), |n| format!("naive SQL {n:.3} s"));
    match summary {
        Ok(s) => format!(
            "| {scope} summary, the school year, {} enrolments | GetAttendanceSummary {secs:.3} s (median of 3) | {baseline} | {} | |",
            s.enrolments,
            naive_secs.map_or(String::new(), |n| format!("{:.1}× faster", n / secs))
        ),
        Err(status) => format!(
            "| {scope} summary, the school year | refused after {secs:.1} s: {:?} {} | {baseline} | | |",
            status.code(),
            status.message()
        ),
    }
}

/// Puts the officer's token on every call.
#[derive(Clone)]
struct Bearer(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut r: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        r.metadata_mut().insert("authorization", self.0.clone());
        Ok(r)
    }
}

type Client = AttendanceServiceClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Bearer>,
>;

/// What loading the county took.
struct Ingested {
    copy_secs: f64,
    ingest_secs: f64,
    peak_mib: f64,
    /// WAL PostgreSQL wrote while RecordMarks ingested.
    wal_bytes: f64,
}

/// PostgreSQL's WAL position now.
async fn wal_lsn(pg: &mut sqlx::PgConnection) -> anyhow::Result<String> {
    Ok(sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
        .fetch_one(pg)
        .await?)
}

/// Bytes of WAL written since `lsn`.
async fn wal_since(pg: &mut sqlx::PgConnection, lsn: &str) -> anyhow::Result<f64> {
    Ok(
        sqlx::query_scalar("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::float8")
            .bind(lsn)
            .fetch_one(pg)
            .await?,
    )
}

/// Bytes on disk per table (tables, indexes and TOAST; a partitioned table's
/// partitions summed), largest first, without the bench's COPY baseline.
async fn storage(pg: &mut sqlx::PgConnection) -> anyhow::Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT COALESCE(parent.relname, c.relname)::text, \
                SUM(pg_total_relation_size(c.oid))::int8 AS bytes \
         FROM pg_class c \
         LEFT JOIN pg_inherits i ON i.inhrelid = c.oid \
         LEFT JOIN pg_class parent ON parent.oid = i.inhparent \
         WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace \
           AND c.relname <> 'bench_raw_marks' \
         GROUP BY 1 ORDER BY 2 DESC",
    )
    .fetch_all(pg)
    .await?)
}

/// What loading one more authority took.
struct Load {
    secs: f64,
    wal_bytes: f64,
}

/// The authorities after Hampshire, each through RecordMarks as Hampshire's
/// was, then the database settled (`VACUUM ANALYZE`) as after Hampshire's.
async fn load_others(
    args: &Args,
    days: &[NaiveDate],
    server: &Server,
    pg: &mut sqlx::PgConnection,
) -> anyhow::Result<Vec<Load>> {
    let parts = partitions(args.pupils, args.streams);
    let mut loads = Vec::new();
    for (index, la) in AUTHORITIES
        .iter()
        .enumerate()
        .take(args.authorities)
        .skip(1)
    {
        let client = server.client(la)?;
        let lsn = wal_lsn(pg).await?;
        let started = Instant::now();
        send_marks(&client, index, &parts, days).await?;
        let secs = started.elapsed().as_secs_f64();
        let wal_bytes = wal_since(pg, &lsn).await?;
        eprintln!("{la}: RecordMarks {secs:.1} s");
        loads.push(Load { secs, wal_bytes });
    }
    let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM attendance_marks")
        .fetch_one(&mut *pg)
        .await?;
    if held as usize != days.len() * 2 * args.pupils * args.authorities {
        bail!("RecordMarks stored {held} marks");
    }
    sqlx::query("VACUUM ANALYZE").execute(&mut *pg).await?;
    Ok(loads)
}

/// Sends every mark of the authority at `index` in [`AUTHORITIES`] through
/// RecordMarks, a stream per part, in calls of 20 batches of 5,000. A producer
/// builds the next batches while the server writes these, as the COPY client
/// fills the socket while PostgreSQL reads it.
async fn send_marks(
    client: &Client,
    index: usize,
    parts: &[Vec<usize>],
    days: &[NaiveDate],
) -> anyhow::Result<()> {
    let la = AUTHORITIES[index];
    let sends = parts.iter().map(|part| {
        let (mut client, days, part) = (client.clone(), days.to_vec(), part.clone());
        let (calls_tx, mut calls) = tokio::sync::mpsc::channel(1);
        let producer = tokio::spawn(async move {
            let mut marks = marks_of(index, &part, &days).peekable();
            let mut n = 0usize;
            while marks.peek().is_some() {
                let (batches, call) = tokio::sync::mpsc::channel(2);
                calls_tx.send(call).await?;
                for _ in 0..BATCHES_PER_CALL {
                    if marks.peek().is_none() {
                        break;
                    }
                    n += 1;
                    batches
                        .send(pb::RecordMarksRequest {
                            parent: format!("authorities/{la}"),
                            request_id: format!("bench-{}-{n}", part[0]),
                            marks: marks.by_ref().take(BATCH).collect(),
                            sen_statuses: vec![],
                        })
                        .await?;
                }
            }
            anyhow::Ok(())
        });
        tokio::spawn(async move {
            while let Some(call) = calls.recv().await {
                client
                    .record_marks(tokio_stream::wrappers::ReceiverStream::new(call))
                    .await?;
            }
            producer.await?
        })
    });
    for s in futures_join(sends).await {
        s??;
    }
    Ok(())
}

/// Loads the county twice: by COPY into a bare table, then through RecordMarks.
async fn ingest(
    args: &Args,
    days: &[NaiveDate],
    url: &str,
    client: &Client,
    pid: u32,
    pg: &mut sqlx::PgConnection,
) -> anyhow::Result<Ingested> {
    let parts = partitions(args.pupils, args.streams);

    // Raw COPY of the same rows into a table of the same shape and indexes.
    sqlx::query("CREATE TABLE bench_raw_marks (LIKE attendance_marks INCLUDING ALL)")
        .execute(&mut *pg)
        .await?;
    let started = Instant::now();
    let copies = parts.iter().map(|part| {
        let (url, days, part) = (url.to_string(), days.to_vec(), part.clone());
        tokio::spawn(async move {
            let mut conn = sqlx::PgConnection::connect(&url).await?;
            let mut copy = conn
                .copy_in_raw(
                    "COPY bench_raw_marks (authority_code, upn, mark_date, session, school_urn, \
                     code, category, record_time) FROM STDIN",
                )
                .await?;
            let mut buf = String::new();
            for m in marks_of(0, &part, &days) {
                copy_line(&m, &mut buf);
                if buf.len() > 1 << 20 {
                    copy.send(std::mem::take(&mut buf).into_bytes()).await?;
                }
            }
            copy.send(buf.into_bytes()).await?;
            copy.finish().await?;
            anyhow::Ok(())
        })
    });
    for c in futures_join(copies).await {
        c??;
    }
    let copy_secs = started.elapsed().as_secs_f64();
    eprintln!("COPY: {copy_secs:.1} s");
    // The baseline's dirty pages are written now, not while RecordMarks is timed.
    sqlx::query("CHECKPOINT").execute(&mut *pg).await?;

    let lsn = wal_lsn(pg).await?;
    let started = Instant::now();
    send_marks(client, 0, &parts, days).await?;
    let ingest_secs = started.elapsed().as_secs_f64();
    let wal_bytes = wal_since(pg, &lsn).await?;
    let peak_mib = peak_rss_mib(pid)?;
    eprintln!("RecordMarks: {ingest_secs:.1} s, server peak {peak_mib:.0} MiB");

    let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM attendance_marks")
        .fetch_one(&mut *pg)
        .await?;
    if held as usize != days.len() * 2 * args.pupils {
        bail!("RecordMarks stored {held} marks");
    }
    // Both tables fresh from bulk loads: statistics and visibility maps first.
    sqlx::query("VACUUM ANALYZE").execute(&mut *pg).await?;
    Ok(Ingested {
        copy_secs,
        ingest_secs,
        peak_mib,
        wal_bytes,
    })
}

/// Awaits every task (in order).
async fn futures_join<T>(
    tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let mut out = Vec::new();
    for t in tasks.collect::<Vec<_>>() {
        out.push(t.await);
    }
    out
}
