//! The similar suite's tables and verdicts against the targets.

use std::time::Duration;

use crate::load::Outcome;
use crate::procfs::Memory;
use crate::webhooks::Row;
use crate::{Backend, mib, millis};

/// The search's p99 the issue asks for at 1M contacts, in milliseconds.
const TARGET_P99_MS: f64 = 5.0;
/// The most the search may lower new-contact ingestion, in percent.
const TARGET_DROP_PERCENT: f64 = 10.0;

/// One level of the on/off comparison.
pub struct SwitchRow {
    /// Round, from 1.
    pub round: usize,
    /// Whether the rules were on.
    pub on: bool,
    /// The webhooks suite's measurement.
    pub row: Row,
}

/// The on/off comparison at one table size.
pub struct Switch {
    /// Backend.
    pub backend: Backend,
    /// Contacts seeded beforehand.
    pub contacts: usize,
    /// Every level, in the order run.
    pub rows: Vec<SwitchRow>,
}

impl Switch {
    /// Messages per second over every round with the rules `on`.
    fn rate(&self, on: bool) -> f64 {
        let (messages, seconds) =
            self.rows.iter().filter(|r| r.on == on).fold((0usize, 0.0), |(m, s), r| {
                (m + r.row.outcome.ok, s + r.row.outcome.elapsed.as_secs_f64())
            });
        messages as f64 / seconds.max(f64::EPSILON)
    }

    /// Server CPU per message over every round with the rules `on`, in milliseconds.
    fn cpu_per_message(&self, on: bool) -> f64 {
        let (messages, cpu) = self
            .rows
            .iter()
            .filter(|r| r.on == on)
            .fold((0usize, 0.0), |(m, c), r| (m + r.row.outcome.ok, c + cpu_seconds(&r.row)));
        1000.0 * cpu / messages.max(1) as f64
    }
}

/// Server CPU time a level used, in seconds.
fn cpu_seconds(row: &Row) -> f64 {
    row.server_cpu / 100.0 * row.outcome.elapsed.as_secs_f64()
}

/// One backend's results.
pub struct Report {
    /// Backend.
    pub backend: Backend,
    /// Contacts seeded.
    pub contacts: usize,
    /// Their `contact_keys` rows.
    pub keys: usize,
    /// Seeding time, ANALYZE included.
    pub seeding: Duration,
    /// The new chats from colliding customers, one at a time.
    pub chats: Outcome,
    /// `similar::find` for each of their contacts, one at a time.
    pub search: Outcome,
    /// Similar contacts found for each.
    pub matches: Vec<usize>,
    /// The on/off comparisons.
    pub switches: Vec<Switch>,
    /// The server's memory at the end.
    pub memory: Memory,
}

impl Report {
    /// No failed request or search.
    pub fn clean(&self) -> bool {
        self.chats.errors == 0
            && self.search.errors == 0
            && self.switches.iter().all(|s| s.rows.iter().all(|r| r.row.outcome.errors == 0))
    }
}

/// Prints every table, then the verdicts.
pub fn print(reports: &[Report], contacts: usize) {
    println!("similar-contact search per new chat ({contacts} contacts seeded), one at a time:");
    println!(
        "{:<9} {:>9} {:>10} {:<28} {:>7} {:>7} {:>7} {:>7} {:>6} {:>8} {:>8}",
        "backend",
        "contacts",
        "keys",
        "measure",
        "samples",
        "p50 ms",
        "p99 ms",
        "max ms",
        "errors",
        "matches",
        "found %"
    );
    for r in reports {
        let found = r.matches.iter().filter(|&&m| m > 0).count();
        let mean = r.matches.iter().sum::<usize>() as f64 / r.matches.len().max(1) as f64;
        for (label, outcome, stats) in
            [("similar::find, from the bench", &r.search, true), ("webhook POST, new chat", &r.chats, false)]
        {
            let (mean, share) = if stats {
                (
                    format!("{mean:.1}"),
                    format!("{:.0}%", 100.0 * found as f64 / r.matches.len().max(1) as f64),
                )
            } else {
                (String::new(), String::new())
            };
            println!(
                "{:<9} {:>9} {:>10} {:<28} {:>7} {:>7.2} {:>7.2} {:>7.2} {:>6} {:>8} {:>8}",
                r.backend.name(),
                r.contacts,
                r.keys,
                label,
                outcome.ok + outcome.errors,
                millis(outcome.percentile(50.0)),
                millis(outcome.percentile(99.0)),
                millis(outcome.percentile(100.0)),
                outcome.errors,
                mean,
                share,
            );
        }
    }
    println!("matches: mean similar contacts found per new contact; found %: share with at least one");
    println!(
        "seeding (INSERTs + ANALYZE): {}",
        reports
            .iter()
            .map(|r| format!("{} {:.0} s", r.backend.name(), r.seeding.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    );

    println!();
    println!("webhook new contacts, search on vs off (32 senders, alternated rounds, same server):");
    println!(
        "{:<9} {:>9} {:<6} {:>5} {:>8} {:>7} {:>7} {:>7} {:>6} {:>8} {:>9} {:>10}",
        "backend",
        "contacts",
        "search",
        "round",
        "messages",
        "msg/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "srv cpu",
        "other cpu",
        "srv ms/msg"
    );
    for switch in reports.iter().flat_map(|r| &r.switches) {
        for r in &switch.rows {
            println!(
                "{:<9} {:>9} {:<6} {:>5} {:>8} {:>7.0} {:>7.1} {:>7.1} {:>6} {:>7.0}% {:>8.0}% {:>10.2}",
                switch.backend.name(),
                switch.contacts,
                if r.on { "on" } else { "off" },
                r.round,
                r.row.outcome.ok + r.row.outcome.errors,
                r.row.outcome.per_second(),
                millis(r.row.outcome.percentile(50.0)),
                millis(r.row.outcome.percentile(99.0)),
                r.row.outcome.errors,
                r.row.server_cpu,
                r.row.other_cpu,
                1000.0 * cpu_seconds(&r.row) / r.row.outcome.ok.max(1) as f64,
            );
        }
    }
    println!("srv ms/msg: server CPU time per message (less sensitive to outside load than msg/s)");
    println!();
    println!(
        "server peak RSS (VmHWM): {}",
        reports
            .iter()
            .map(|r| format!("{} {:.1} MiB", r.backend.name(), mib(r.memory.peak_kib)))
            .collect::<Vec<_>>()
            .join(", ")
    );

    println!();
    println!(
        "targets (search p99 < {TARGET_P99_MS} ms at 1,000,000 contacts; ingestion with the search on \
         >= {:.0}% of off):",
        100.0 - TARGET_DROP_PERCENT
    );
    for r in reports {
        let p99 = millis(r.search.percentile(99.0));
        let verdict = if r.search.errors > 0 || r.search.ok == 0 {
            "NOT MEASURED (failed searches)".to_owned()
        } else if p99 < TARGET_P99_MS {
            "met".to_owned()
        } else {
            format!("MISSED by {:.2} ms", p99 - TARGET_P99_MS)
        };
        let scale = if r.contacts < 1_000_000 { " (below the 1M of the target)" } else { "" };
        println!(
            "  {:<9} search p99 at {} contacts{scale}: {p99:.2} ms: {verdict}",
            r.backend.name(),
            r.contacts
        );
        for switch in &r.switches {
            let (on, off) = (switch.rate(true), switch.rate(false));
            let ratio = on / off.max(f64::EPSILON);
            let drop = 100.0 * (1.0 - ratio);
            let failed = switch.rows.iter().any(|r| r.row.outcome.errors > 0);
            let verdict = if failed {
                "NOT MEASURED (failed requests)".to_owned()
            } else if drop <= TARGET_DROP_PERCENT {
                "met".to_owned()
            } else {
                format!("MISSED ({drop:.0}% lower)")
            };
            println!(
                "  {:<9} ingestion at {} contacts: on {on:.0} msg/s / off {off:.0} msg/s = {ratio:.2} ({:+.0}%): {verdict}; \
                 server CPU per message on {:.2} ms / off {:.2} ms",
                r.backend.name(),
                switch.contacts,
                -drop,
                switch.cpu_per_message(true),
                switch.cpu_per_message(false),
            );
        }
    }
}
