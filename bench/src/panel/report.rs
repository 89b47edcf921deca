//! The panel suite's results table, ratios and verdicts against the targets.

use super::seed::Seeded;
use crate::load::Outcome;
use crate::procfs::{CpuSplit, Memory};
use crate::{Backend, mib, millis};

/// Clients at which the issue sets its targets.
const TARGET_CLIENTS: usize = 32;
/// The panel read must reach at least this share of the plain-SQL figure.
const TARGET_RATIO: f64 = 0.7;
/// Panel reads per second the issue asks for on PostgreSQL at 32 clients.
const TARGET_POSTGRES_RATE: f64 = 2500.0;

/// What a row measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// The panel read through GraphQL (one POST).
    PanelGraphql,
    /// The same reads as plain SQL through sqlx, on a pool of this many connections.
    PanelSql(u32),
    /// `acceptChat`.
    Accept,
    /// `completeChat`.
    Complete,
}

impl Workload {
    /// Its name in the table.
    pub fn label(self) -> String {
        match self {
            Self::PanelGraphql => "panel graphql".to_owned(),
            Self::PanelSql(pool) => format!("plain sql pool {pool}"),
            Self::Accept => "acceptChat".to_owned(),
            Self::Complete => "completeChat".to_owned(),
        }
    }
}

/// One measurement.
pub struct Row {
    /// Backend.
    pub backend: Backend,
    /// What was measured.
    pub workload: Workload,
    /// Concurrent clients.
    pub clients: usize,
    /// Counts and latencies.
    pub outcome: Outcome,
    /// CPU use while it ran.
    pub cpu: CpuSplit,
    /// PostgreSQL only: database transactions per operation (one per statement outside an
    /// explicit transaction), approximate.
    pub transactions: Option<f64>,
}

/// One backend's results.
pub struct Report {
    /// Backend.
    pub backend: Backend,
    /// What was seeded, and how long it took (with ANALYZE).
    pub seeded: Seeded,
    /// The measurements.
    pub rows: Vec<Row>,
    /// The server's memory at the end (it was restarted after seeding).
    pub memory: Memory,
}

/// The table on stdout, then seeding, ratios, memory and the targets.
pub fn print(reports: &[Report]) {
    println!(
        "{:<9} {:<17} {:>7} {:>8} {:>7} {:>7} {:>7} {:>6} {:>8} {:>8} {:>9} {:>8}",
        "backend",
        "workload",
        "clients",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "srv cpu",
        "gen cpu",
        "other cpu",
        "pg xact"
    );
    for row in reports.iter().flat_map(|r| &r.rows) {
        let transactions = row.transactions.map_or_else(|| "-".to_owned(), |t| format!("{t:.1}"));
        println!(
            "{:<9} {:<17} {:>7} {:>8} {:>7.0} {:>7.1} {:>7.1} {:>6} {:>7.0}% {:>7.0}% {:>8.0}% {:>8}",
            row.backend.name(),
            row.workload.label(),
            row.clients,
            row.outcome.ok + row.outcome.errors,
            row.outcome.per_second(),
            millis(row.outcome.percentile(50.0)),
            millis(row.outcome.percentile(99.0)),
            row.outcome.errors,
            row.cpu.server,
            row.cpu.bench,
            row.cpu.other,
            transactions,
        );
    }
    println!();
    println!(
        "srv / gen / other cpu: CPU used by the server / the bench (load generator; for plain SQL on \
         SQLite also SQLite itself) / everything else (PostgreSQL, outside load), in % of one core"
    );
    println!(
        "pg xact: PostgreSQL transactions per request (each statement outside a transaction is one), approximate"
    );
    for report in reports {
        let s = &report.seeded;
        println!(
            "seeded {}: {} contacts, {} chats, {} messages, {} assignments in {:.1} s (with ANALYZE)",
            report.backend.name(),
            s.contacts,
            s.chats,
            s.messages,
            s.assignments,
            s.elapsed.as_secs_f64(),
        );
    }
    let peaks: Vec<String> = reports
        .iter()
        .map(|r| {
            format!(
                "{} {:.1} MiB (at the end {:.1} MiB)",
                r.backend.name(),
                mib(r.memory.peak_kib),
                mib(r.memory.current_kib)
            )
        })
        .collect();
    println!("server peak RSS after the restart (VmHWM): {}", peaks.join(", "));

    println!();
    println!("panel graphql / the fastest plain sql (same clients):");
    let mut verdicts = Vec::new();
    for report in reports {
        for graphql in report.rows.iter().filter(|r| r.workload == Workload::PanelGraphql) {
            let plain = report
                .rows
                .iter()
                .filter(|r| matches!(r.workload, Workload::PanelSql(_)) && r.clients == graphql.clients)
                .max_by(|a, b| a.outcome.per_second().total_cmp(&b.outcome.per_second()));
            let Some(plain) = plain else { continue };
            let (g, p) = (graphql.outcome.per_second(), plain.outcome.per_second());
            let ratio = g / p.max(f64::EPSILON);
            println!(
                "  {:<9} {:>3} clients: {g:.0} / {p:.0} req/s ({}) = {ratio:.2}x",
                report.backend.name(),
                graphql.clients,
                plain.workload.label()
            );
            if graphql.clients == TARGET_CLIENTS {
                verdicts.push(format!(
                    "  {:<9} ratio {ratio:.2}x >= {TARGET_RATIO}x: {}",
                    report.backend.name(),
                    verdict(ratio, TARGET_RATIO, |gap| format!("{:.0}% short", 100.0 * gap / TARGET_RATIO))
                ));
                if report.backend == Backend::Postgres {
                    verdicts.push(format!(
                        "  {:<9} {g:.0} req/s >= {TARGET_POSTGRES_RATE:.0}: {}",
                        report.backend.name(),
                        verdict(g, TARGET_POSTGRES_RATE, |gap| format!(
                            "{gap:.0} req/s ({:.0}%) short",
                            100.0 * gap / TARGET_POSTGRES_RATE
                        ))
                    ));
                }
            }
        }
    }
    if !verdicts.is_empty() {
        println!();
        println!(
            "targets ({TARGET_CLIENTS} clients: panel read >= {TARGET_RATIO}x plain SQL; \
             >= {TARGET_POSTGRES_RATE:.0} req/s on postgres):"
        );
        for line in verdicts {
            println!("{line}");
        }
    }
}

/// "met", or "MISSED" with how far off.
fn verdict(value: f64, target: f64, gap: impl Fn(f64) -> String) -> String {
    if value >= target { "met".to_owned() } else { format!("MISSED, {}", gap(target - value)) }
}
