//! The `webhooks` suite's report: the table of every level, server and baseline side by
//! side with their ratio, peak memory, and the targets.

use super::{Handler, Row, TARGET_P99_MS, TARGET_SENDERS, target_per_second};
use crate::procfs::Memory;
use crate::{Backend, mib, millis};

/// The baseline's row at `row`'s backend, scenario and level.
fn baseline_of<'a>(rows: &'a [Row], row: &Row) -> Option<&'a Row> {
    rows.iter().find(|other| {
        other.handler == Handler::Baseline
            && (other.backend, other.scenario, other.senders) == (row.backend, row.scenario, row.senders)
    })
}

/// The results table on stdout, then peak memory, then the targets.
pub(super) fn print_table(rows: &[Row], memory: &[(Backend, Memory)]) {
    println!(
        "{:<9} {:<15} {:<8} {:>7} {:>8} {:>7} {:>7} {:>7} {:>6} {:>8} {:>8} {:>9} {:>6}",
        "backend",
        "scenario",
        "handler",
        "senders",
        "messages",
        "msg/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "srv cpu",
        "gen cpu",
        "other cpu",
        "ratio"
    );
    for row in rows {
        let ratio = match (row.handler, baseline_of(rows, row)) {
            (Handler::Server, Some(baseline)) if baseline.outcome.per_second() > 0.0 => {
                format!("{:.2}x", row.outcome.per_second() / baseline.outcome.per_second())
            }
            _ => String::new(),
        };
        println!(
            "{:<9} {:<15} {:<8} {:>7} {:>8} {:>7.0} {:>7.1} {:>7.1} {:>6} {:>7.0}% {:>7.0}% {:>8.0}% {:>6}",
            row.backend.name(),
            row.scenario.label(),
            row.handler.label(),
            row.senders,
            row.outcome.ok + row.outcome.errors,
            row.outcome.per_second(),
            millis(row.outcome.percentile(50.0)),
            millis(row.outcome.percentile(99.0)),
            row.outcome.errors,
            row.server_cpu,
            row.bench_cpu,
            row.other_cpu,
            ratio,
        );
    }
    let peaks: Vec<String> = memory
        .iter()
        .map(|(backend, m)| {
            format!(
                "{} {:.1} MiB (at the end {:.1} MiB)",
                backend.name(),
                mib(m.peak_kib),
                mib(m.current_kib)
            )
        })
        .collect();
    println!();
    println!("server peak RSS (VmHWM): {}", peaks.join(", "));
    println!(
        "srv / gen / other cpu: CPU used by the handler (server or baseline) / the load generator / \
         everything else (PostgreSQL, outside load), in % of one core"
    );
    println!(
        "ratio: the server's msg/s over the baseline's at the same level, measured right after it \
         on the same database (baseline: the same rows in one statement, no similar-contact \
         search, routing or NOTIFY)"
    );

    let at_target: Vec<&Row> =
        rows.iter().filter(|row| row.senders == TARGET_SENDERS && row.handler == Handler::Server).collect();
    if !at_target.is_empty() {
        println!();
        println!(
            "targets (issue 15, {TARGET_SENDERS} senders: sqlite >= {} msg/s, postgres >= {} msg/s, p99 < {TARGET_P99_MS} ms):",
            target_per_second(Backend::Sqlite),
            target_per_second(Backend::Postgres)
        );
    }
    for row in at_target {
        let rate = row.outcome.per_second();
        let target = target_per_second(row.backend);
        let p99 = millis(row.outcome.percentile(99.0));
        let rate_verdict = if rate >= target {
            "met".to_owned()
        } else {
            format!("MISSED by {:.0} msg/s ({:.0}%)", target - rate, 100.0 * (target - rate) / target)
        };
        let p99_verdict = if p99 < TARGET_P99_MS {
            "met".to_owned()
        } else {
            format!("MISSED by {:.1} ms", p99 - TARGET_P99_MS)
        };
        let floor = baseline_of(rows, row)
            .map(|b| {
                format!(
                    " (baseline {:.0} msg/s, p99 {:.1} ms)",
                    b.outcome.per_second(),
                    millis(b.outcome.percentile(99.0))
                )
            })
            .unwrap_or_default();
        println!(
            "  {:<9} {:<15} {:>6.0} msg/s: {rate_verdict}; p99 {p99:.1} ms: {p99_verdict}{floor}",
            row.backend.name(),
            row.scenario.label(),
            rate
        );
    }
}
