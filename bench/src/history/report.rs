//! The history suite's table, ratios and verdicts against the targets.

use super::seed::Seeded;
use crate::load::Outcome;
use crate::procfs::{CpuSplit, Memory};
use crate::{Backend, mib, millis};

/// `chatStats` through GraphQL must reach this share of the plain SQL's requests/s.
const TARGET_RATIO: f64 = 0.9;
/// `chatStats` requests/s at 8 clients on PostgreSQL.
const TARGET_RATE: f64 = 150.0;
/// The deep page may take at most this many times the first page's time.
const TARGET_DEPTH: f64 = 1.5;

/// What a row measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// `chatStats` by QUEUE × STATUS over 30 days, the same request every time (a dashboard:
    /// the server's result cache keeps what can no longer change).
    Stats,
    /// The same, each request's range starting a millisecond later than the last one's: a new
    /// request shape every time, so the server reads and aggregates every chat of the period.
    StatsCold,
    /// A history page at this depth (page number).
    Page(u64),
}

impl Workload {
    /// Its name in the table.
    pub fn label(self) -> String {
        match self {
            Self::Stats => "chatStats".to_owned(),
            Self::StatsCold => "stats new".to_owned(),
            Self::Page(n) => format!("page {n}"),
        }
    }
}

/// Through the server or straight to the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// One GraphQL POST.
    Graphql,
    /// The same statement through sqlx.
    Sql,
}

impl Side {
    /// Its name in the table.
    pub fn label(self) -> &'static str {
        match self {
            Self::Graphql => "graphql",
            Self::Sql => "sql",
        }
    }
}

/// One measurement: every round of one workload, side and level added up.
pub struct Row {
    /// Backend.
    pub backend: Backend,
    /// What was measured.
    pub workload: Workload,
    /// GraphQL or SQL.
    pub side: Side,
    /// Concurrent clients.
    pub clients: usize,
    /// Counts and latencies over the rounds.
    pub outcome: Outcome,
    /// CPU use, averaged over the rounds.
    pub cpu: CpuSplit,
}

impl Row {
    /// Adds up the rounds.
    pub fn merge(
        backend: Backend,
        workload: Workload,
        side: Side,
        clients: usize,
        rounds: Vec<(Outcome, CpuSplit)>,
    ) -> Self {
        let (outcome, cpu) = merge(rounds);
        Self { backend, workload, side, clients, outcome, cpu }
    }
}

/// Adds up rounds: counts, time and latencies summed (sorted), CPU averaged.
pub(crate) fn merge(rounds: Vec<(Outcome, CpuSplit)>) -> (Outcome, CpuSplit) {
    let mut outcome = Outcome::default();
    let mut cpu = CpuSplit::default();
    let n = rounds.len().max(1) as f64;
    for (round, split) in rounds {
        outcome.ok += round.ok;
        outcome.errors += round.errors;
        outcome.elapsed += round.elapsed;
        outcome.latencies.extend(round.latencies);
        outcome.error_samples.extend(round.error_samples);
        cpu.server += split.server / n;
        cpu.bench += split.bench / n;
        cpu.other += split.other / n;
    }
    outcome.latencies.sort_unstable();
    outcome.error_samples.truncate(5);
    (outcome, cpu)
}

/// One backend's results.
pub struct Report {
    /// Backend.
    pub backend: Backend,
    /// What was seeded.
    pub seeded: Seeded,
    /// The measurements.
    pub rows: Vec<Row>,
    /// The server's memory at the end.
    pub memory: Memory,
    /// Chats in the 30 days `chatStats` reads.
    pub window: i64,
}

impl Report {
    fn find(&self, workload: Workload, side: Side, clients: usize) -> Option<&Outcome> {
        self.rows
            .iter()
            .find(|r| r.workload == workload && r.side == side && r.clients == clients)
            .map(|r| &r.outcome)
    }
}

/// The table on stdout, then the ratios and the targets.
pub fn print(reports: &[Report]) {
    println!(
        "{:<9} {:<10} {:<8} {:>7} {:>8} {:>7} {:>8} {:>8} {:>6} {:>8} {:>8} {:>9}",
        "backend",
        "workload",
        "side",
        "clients",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "srv cpu",
        "gen cpu",
        "other cpu"
    );
    for row in reports.iter().flat_map(|r| &r.rows) {
        println!(
            "{:<9} {:<10} {:<8} {:>7} {:>8} {:>7.1} {:>8.2} {:>8.2} {:>6} {:>7.0}% {:>7.0}% {:>8.0}%",
            row.backend.name(),
            row.workload.label(),
            row.side.label(),
            row.clients,
            row.outcome.ok + row.outcome.errors,
            row.outcome.per_second(),
            millis(row.outcome.percentile(50.0)),
            millis(row.outcome.percentile(99.0)),
            row.outcome.errors,
            row.cpu.server,
            row.cpu.bench,
            row.cpu.other,
        );
    }
    println!();
    println!(
        "srv / gen / other cpu: the server / the bench (and SQLite for plain SQL on SQLite) / everything \
         else (PostgreSQL, outside load), % of one core, averaged over the rounds"
    );
    println!(
        "sql on sqlite: chatStats is the rows the server reads (it aggregates in Rust: SQLite has no \
         percentile_cont), not aggregated"
    );
    for report in reports {
        let s = &report.seeded;
        println!(
            "seeded {}: {} chats, {} messages in {:.1} s (with ANALYZE); {} chats in the 30 days of chatStats; \
             server peak RSS {:.1} MiB",
            report.backend.name(),
            s.chats,
            s.messages,
            s.elapsed.as_secs_f64(),
            report.window,
            mib(report.memory.peak_kib),
        );
    }

    println!();
    println!("ratios (same run):");
    let mut verdicts = Vec::new();
    for report in reports {
        let name = report.backend.name();
        for workload in super::WORKLOADS {
            let (Some(g8), Some(s8), Some(g1), Some(s1)) = (
                report.find(workload, Side::Graphql, 8),
                report.find(workload, Side::Sql, 8),
                report.find(workload, Side::Graphql, 1),
                report.find(workload, Side::Sql, 1),
            ) else {
                continue;
            };
            let rate = g8.per_second() / s8.per_second().max(f64::EPSILON);
            let latency = millis(s1.percentile(50.0)) / millis(g1.percentile(50.0)).max(f64::EPSILON);
            println!(
                "  {name:<9} {:<10} graphql / sql: {rate:.2}x req/s at 8 clients ({:.1} / {:.1}), \
                 {latency:.2}x speed at 1 client (p50 {:.2} / {:.2} ms)",
                workload.label(),
                g8.per_second(),
                s8.per_second(),
                millis(g1.percentile(50.0)),
                millis(s1.percentile(50.0)),
            );
            if workload == Workload::StatsCold && report.backend == Backend::Postgres {
                verdicts.push(format!(
                    "  {name:<9} chatStats, a new shape each time: {rate:.2}x plain SQL >= {TARGET_RATIO}x: {}",
                    verdict(rate >= TARGET_RATIO)
                ));
            }
            if workload == Workload::Stats && report.backend == Backend::Postgres {
                verdicts.push(format!(
                    "  {name:<9} chatStats {rate:.2}x plain SQL >= {TARGET_RATIO}x: {}",
                    verdict(rate >= TARGET_RATIO)
                ));
                verdicts.push(format!(
                    "  {name:<9} chatStats {:.1} req/s at 8 clients >= {TARGET_RATE:.0}: {}",
                    g8.per_second(),
                    verdict(g8.per_second() >= TARGET_RATE)
                ));
            }
        }
        let deep = Workload::Page(super::DEEP_PAGE);
        for side in [Side::Graphql, Side::Sql] {
            let (Some(first), Some(deep)) =
                (report.find(Workload::Page(1), side, 1), report.find(deep, side, 1))
            else {
                continue;
            };
            let ratio = millis(deep.percentile(50.0)) / millis(first.percentile(50.0)).max(f64::EPSILON);
            println!(
                "  {name:<9} {:<7} page {} / page 1 at 1 client: p50 {:.2} / {:.2} ms = {ratio:.2}x",
                side.label(),
                super::DEEP_PAGE,
                millis(deep.percentile(50.0)),
                millis(first.percentile(50.0)),
            );
            if side == Side::Graphql && report.backend == Backend::Postgres {
                verdicts.push(format!(
                    "  {name:<9} page {} {ratio:.2}x page 1 <= {TARGET_DEPTH}x: {}",
                    super::DEEP_PAGE,
                    verdict(ratio <= TARGET_DEPTH)
                ));
            }
        }
    }
    if !verdicts.is_empty() {
        println!();
        println!("targets (postgres):");
        for line in verdicts {
            println!("{line}");
        }
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}
