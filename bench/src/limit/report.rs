//! The limit suite's table: each read through GraphQL and through the baseline handler, their
//! ratios, and the verdicts against issue 15's targets.

use crate::history::seed::Seeded;
use crate::load::Outcome;
use crate::procfs::{CpuSplit, Memory};
use crate::{Backend, mib, millis};

/// The panel read through GraphQL must reach this share of the baseline's requests/s at 32
/// clients (PostgreSQL).
const PANEL_RATE: f64 = 0.7;
/// Its single-client p50 may be at most this many times the baseline's (PostgreSQL).
const PANEL_P50: f64 = 2.0;
/// The waiting list through GraphQL must reach this share of the baseline's requests/s at 32
/// clients (PostgreSQL).
const WAITING_RATE: f64 = 0.5;
/// The level the throughput targets are read at.
const TARGET_CLIENTS: usize = 32;

/// What a row measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// One chat with its contact, queue, owner and latest 20 messages, read by its owner.
    Panel,
    /// The first 50 waiting chats of one queue, read by the admin.
    Waiting,
}

impl Workload {
    /// Its name in the table.
    pub fn label(self) -> &'static str {
        match self {
            Self::Panel => "panel",
            Self::Waiting => "waiting",
        }
    }
}

/// Through the server or through the baseline handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// One GraphQL POST to the server.
    Graphql,
    /// One POST to the baseline handler.
    Baseline,
}

impl Side {
    /// Its name in the table.
    pub fn label(self) -> &'static str {
        match self {
            Self::Graphql => "graphql",
            Self::Baseline => "baseline",
        }
    }
}

/// One measurement: every round of one workload, side and level added up.
pub struct Row {
    /// Backend.
    pub backend: Backend,
    /// What was measured.
    pub workload: Workload,
    /// GraphQL or baseline.
    pub side: Side,
    /// Concurrent clients.
    pub clients: usize,
    /// Counts and latencies over the rounds.
    pub outcome: Outcome,
    /// CPU use averaged over the rounds; `server` is the process answering (the server or
    /// the baseline).
    pub cpu: CpuSplit,
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
    /// Agents with chats in progress (the panel's readers), and those chats.
    pub readers: usize,
    /// Chats in progress read by the panel clients.
    pub chats: usize,
    /// Queues with waiting chats (the waiting list's rotation).
    pub queues: usize,
}

impl Report {
    fn find(&self, workload: Workload, side: Side, clients: usize) -> Option<&Outcome> {
        self.rows
            .iter()
            .find(|r| r.workload == workload && r.side == side && r.clients == clients)
            .map(|r| &r.outcome)
    }
}

/// The report on stdout: `header` (commit, command), the table, the ratios and the targets.
pub fn print(header: &[String], reports: &[Report]) {
    for line in header {
        println!("{line}");
    }
    println!();
    println!(
        "{:<9} {:<8} {:<9} {:>7} {:>8} {:>8} {:>8} {:>8} {:>6} {:>9} {:>8} {:>9}",
        "backend",
        "workload",
        "side",
        "clients",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "proc cpu",
        "gen cpu",
        "other cpu"
    );
    for row in reports.iter().flat_map(|r| &r.rows) {
        println!(
            "{:<9} {:<8} {:<9} {:>7} {:>8} {:>8.1} {:>8.2} {:>8.2} {:>6} {:>8.0}% {:>7.0}% {:>8.0}%",
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
        "proc / gen / other cpu: the process answering (the server for graphql, the baseline for \
         baseline) / the bench / everything else (PostgreSQL, the idle other process, outside load), \
         % of one core, averaged over the rounds"
    );
    for report in reports {
        let s = &report.seeded;
        println!(
            "seeded {}: {} chats, {} messages in {:.1} s (with ANALYZE); panel reads {} chats in progress \
             of {} agents, waiting lists of {} queues; server peak RSS {:.1} MiB",
            report.backend.name(),
            s.chats,
            s.messages,
            s.elapsed.as_secs_f64(),
            report.chats,
            report.readers,
            report.queues,
            mib(report.memory.peak_kib),
        );
    }

    println!();
    println!("ratios graphql / baseline (same run):");
    let mut verdicts = Vec::new();
    for report in reports {
        let name = report.backend.name();
        for workload in [Workload::Panel, Workload::Waiting] {
            for clients in super::LEVELS {
                let (Some(graphql), Some(baseline)) = (
                    report.find(workload, Side::Graphql, clients),
                    report.find(workload, Side::Baseline, clients),
                ) else {
                    continue;
                };
                let rate = ratio(graphql.per_second(), baseline.per_second());
                let p50 = ratio(millis(graphql.percentile(50.0)), millis(baseline.percentile(50.0)));
                println!(
                    "  {name:<9} {:<8} {:>10}: {rate:.2}x req/s ({:.1} / {:.1}), \
                     {p50:.2}x p50 ({:.2} / {:.2} ms)",
                    workload.label(),
                    clients_label(clients),
                    graphql.per_second(),
                    baseline.per_second(),
                    millis(graphql.percentile(50.0)),
                    millis(baseline.percentile(50.0)),
                );
                if report.backend != Backend::Postgres {
                    continue;
                }
                match (workload, clients) {
                    (Workload::Panel, TARGET_CLIENTS) => verdicts.push(at_least(
                        &format!("panel req/s at {}", clients_label(clients)),
                        rate,
                        PANEL_RATE,
                    )),
                    (Workload::Panel, 1) => verdicts.push(at_most(
                        &format!("panel p50 at {}", clients_label(clients)),
                        p50,
                        PANEL_P50,
                    )),
                    (Workload::Waiting, TARGET_CLIENTS) => verdicts.push(at_least(
                        &format!("waiting list req/s at {}", clients_label(clients)),
                        rate,
                        WAITING_RATE,
                    )),
                    _ => {}
                }
            }
        }
    }
    println!();
    if verdicts.is_empty() {
        println!("targets: not judged (they are read on PostgreSQL)");
    } else {
        println!("targets (postgres, against the baseline of the same run):");
        for line in verdicts {
            println!("  {line}");
        }
    }
}

/// "1 client", "32 clients".
pub fn clients_label(clients: usize) -> String {
    if clients == 1 { "1 client".to_owned() } else { format!("{clients} clients") }
}

/// `a / b`, 0 when `b` is 0.
fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// The verdict on a ratio that must reach `target` (a share of the baseline's throughput).
fn at_least(what: &str, ratio: f64, target: f64) -> String {
    let head = format!("{what}: {ratio:.2}x the baseline >= {target:.2}x:");
    if ratio >= target {
        format!("{head} met")
    } else if ratio > 0.0 {
        format!("{head} MISSED by {:.2}x (needs {:.2}x its throughput)", target - ratio, target / ratio)
    } else {
        format!("{head} MISSED (nothing answered)")
    }
}

/// The verdict on a ratio that may be at most `target` (a multiple of the baseline's latency).
fn at_most(what: &str, ratio: f64, target: f64) -> String {
    let head = format!("{what}: {ratio:.2}x the baseline <= {target:.2}x:");
    if ratio <= 0.0 {
        format!("{head} MISSED (nothing answered)")
    } else if ratio <= target {
        format!("{head} met")
    } else {
        format!("{head} MISSED by {:.2}x (needs a {:.2}x lower p50)", ratio - target, ratio / target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throughput_targets_say_by_how_much_they_are_missed() {
        assert_eq!(at_least("panel", 0.8, 0.7), "panel: 0.80x the baseline >= 0.70x: met");
        assert_eq!(at_least("panel", 0.7, 0.7), "panel: 0.70x the baseline >= 0.70x: met");
        assert_eq!(
            at_least("panel", 0.25, 0.7),
            "panel: 0.25x the baseline >= 0.70x: MISSED by 0.45x (needs 2.80x its throughput)"
        );
        assert_eq!(at_least("w", 0.0, 0.5), "w: 0.00x the baseline >= 0.50x: MISSED (nothing answered)");
    }

    #[test]
    fn latency_targets_say_by_how_much_they_are_missed() {
        assert_eq!(at_most("p50", 1.5, 2.0), "p50: 1.50x the baseline <= 2.00x: met");
        assert_eq!(
            at_most("p50", 6.0, 2.0),
            "p50: 6.00x the baseline <= 2.00x: MISSED by 4.00x (needs a 3.00x lower p50)"
        );
        assert_eq!(at_most("p50", 0.0, 2.0), "p50: 0.00x the baseline <= 2.00x: MISSED (nothing answered)");
    }

    #[test]
    fn levels_are_named() {
        assert_eq!(clients_label(1), "1 client");
        assert_eq!(clients_label(32), "32 clients");
    }

    #[test]
    fn ratios_of_nothing_are_zero() {
        assert_eq!(ratio(3.0, 0.0), 0.0);
        assert_eq!(ratio(3.0, 2.0), 1.5);
    }
}
