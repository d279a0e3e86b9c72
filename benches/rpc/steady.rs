//! Warm-up before every measurement and the medians over rounds (issue #32:
//! steady tails). The server's pool opens its connections lazily and each
//! connection prepares and plans a statement the first time it runs it, so
//! the first calls of a kind pay for connecting and preparing; a warm-up runs
//! the call, unmeasured, at 32 clients (every pooled connection busy) before
//! the closed loops, and at the open loop's own rate before the open loop.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Bench, Client, Op};

/// How long each warm-up runs: half a measurement, at most 1 s.
pub fn warm_secs(secs: f64) -> f64 {
    (secs / 2.0).min(1.0)
}

/// `op` at 32 clients closed loop for `secs`, not counted.
pub async fn warm_closed(
    bench: &Arc<Bench>,
    clients: &[Client],
    op: Op,
    secs: f64,
) -> anyhow::Result<()> {
    super::closed_loop(bench, &clients[..clients.len().min(32)], op, secs).await?;
    Ok(())
}

/// `op` open loop at `rate` over 8 connections for `secs`, not counted.
pub async fn warm_open(
    bench: &Arc<Bench>,
    clients: &[Client],
    op: Op,
    rate: f64,
    secs: f64,
) -> anyhow::Result<()> {
    super::open_loop(bench, &clients[..clients.len().min(8)], op, rate, secs).await?;
    Ok(())
}

fn median(v: &[f64]) -> f64 {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The medians over the rounds, 8 clients, against the targets of issue #32,
/// and the open loop's p99 at half the rate in every round.
pub fn summary(
    rounds: usize,
    by_round: &BTreeMap<Op, Vec<(f64, f64)>>,
    half_rate_p99: &BTreeMap<Op, Vec<f64>>,
) {
    println!("## Median of {rounds} round(s), 8 clients (after warm-up)\n");
    println!(
        "| call | calls/s | of pgbench | target | open loop at half the rate: p99 ms by round | p99 ≤ 10 ms every round |"
    );
    println!("|---|---|---|---|---|---|");
    for (op, rounds) in by_round {
        let rates: Vec<f64> = rounds.iter().map(|r| r.0).collect();
        let ratios: Vec<f64> = rounds.iter().map(|r| r.0 / r.1).collect();
        let ratio = median(&ratios);
        let target = match op {
            Op::IssuePenaltyNotice => Some(0.85),
            Op::RecordPayment => Some(0.9),
            Op::ListNotices => Some(0.6),
            _ => None,
        };
        let target = target.map_or(String::new(), |t| {
            format!("≥ {t}: {}", if ratio >= t { "met" } else { "**not met**" })
        });
        let p99s = half_rate_p99.get(op);
        let listed = p99s.map_or(String::new(), |v| {
            v.iter()
                .map(|p| format!("{p:.1}"))
                .collect::<Vec<_>>()
                .join(", ")
        });
        let under = p99s.map_or(String::new(), |v| {
            if v.iter().all(|p| *p <= 10.0) {
                "yes".into()
            } else {
                "**no**".into()
            }
        });
        println!(
            "| {} | {:.0} | {} | {target} | {listed} | {under} |",
            op.name(),
            median(&rates),
            if ratio.is_nan() {
                String::new()
            } else {
                format!("{ratio:.2}")
            }
        );
    }
    print_load();
}

/// On SQLite (`--sqlite --direct`): the medians over the rounds, 8 clients,
/// against issue #32's targets for the embedded default: each call at least
/// 0.7 of its statements run directly, and the writes' p99 at 8 clients
/// closed loop at most 50 ms (every round).
pub fn summary_sqlite(
    rounds: usize,
    by_round: &BTreeMap<Op, Vec<(f64, f64)>>,
    p99_at8: &BTreeMap<Op, Vec<f64>>,
) {
    println!(
        "## Median of {rounds} round(s), 8 clients (after warm-up)
"
    );
    println!(
        "| call | calls/s | of its statements direct | ≥ 0.7 | p99 ms at 8 clients by round | writes: p99 ≤ 50 ms every round |"
    );
    println!("|---|---|---|---|---|---|");
    for (op, rounds) in by_round {
        if *op == Op::Health {
            continue;
        }
        let rates: Vec<f64> = rounds.iter().map(|r| r.0).collect();
        let ratios: Vec<f64> = rounds.iter().map(|r| r.0 / r.1).collect();
        let ratio = median(&ratios);
        let met = |yes: bool| if yes { "met" } else { "**not met**" };
        let p99s = p99_at8.get(op).cloned().unwrap_or_default();
        let listed: Vec<String> = p99s.iter().map(|p| format!("{p:.1}")).collect();
        let write = matches!(op, Op::IssuePenaltyNotice | Op::RecordPayment);
        println!(
            "| {} | {:.0} | {ratio:.2} | {} | {} | {} |",
            op.name(),
            median(&rates),
            met(ratio >= 0.7),
            listed.join(", "),
            if write {
                met(p99s.iter().all(|p| *p <= 50.0))
            } else {
                ""
            }
        );
    }
    print_load();
}

fn print_load() {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "\nload average at the end (1, 5, 15 min): {}\n",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(", ")
    );
}
