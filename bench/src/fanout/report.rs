//! What a run measured, the per-subscriber check of its deliveries against the event log, and
//! the printed table.

use std::collections::{HashMap, HashSet};

use super::client::Delivery;
use super::{Backend, Mode};

/// Mismatches and connection problems kept word for word (the rest are only counted).
const SAMPLES: usize = 10;

/// The numbers of one table row: a whole run, or the subscribers of one instance.
#[derive(Clone, Debug)]
pub struct Stats {
    /// Subscribers counted.
    pub subscribers: usize,
    /// Server RSS growth while they connected, per subscriber, in KiB.
    pub idle_kib: f64,
    /// Events they received.
    pub deliveries: usize,
    /// Events they should have received.
    pub expected: usize,
    /// Deliveries per second, from the first event published to the last delivery.
    pub per_second: f64,
    /// Median commit-to-client latency, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile of it.
    pub p99_ms: f64,
    /// Peak RSS of the server(s), in MiB (summed over both instances in a combined row).
    pub peak_mib: f64,
}

impl Stats {
    /// Latency percentiles and rates of `deliveries` over `elapsed_secs`; the rest as given.
    pub fn of(deliveries: &[&Delivery], subscribers: usize, expected: usize, elapsed_secs: f64) -> Self {
        let mut sorted: Vec<f64> = deliveries.iter().map(|d| d.latency_ms).collect();
        sorted.sort_by(f64::total_cmp);
        Self {
            subscribers,
            idle_kib: f64::NAN,
            deliveries: sorted.len(),
            expected,
            per_second: sorted.len() as f64 / elapsed_secs.max(f64::EPSILON),
            p50_ms: percentile(&sorted, 50.0),
            p99_ms: percentile(&sorted, 99.0),
            peak_mib: f64::NAN,
        }
    }
}

/// What one (backend, mode, instances) run measured.
#[derive(Debug)]
pub struct Outcome {
    /// Database.
    pub backend: Backend,
    /// Who the events concerned.
    pub mode: Mode,
    /// Server instances.
    pub instances: usize,
    /// Time to open every subscriber, in seconds.
    pub connect_secs: f64,
    /// All subscribers together.
    pub total: Stats,
    /// With two instances: the subscribers of A (which published) and of B.
    pub per_instance: Vec<Stats>,
    /// Deliveries that do not match the event log (wrong subscriber, duplicate, missing),
    /// and the log's own disagreements with what was published.
    pub mismatches: Problems,
    /// Errors on the subscribers' connections (error messages, closes).
    pub connection_problems: Problems,
}

impl Outcome {
    /// Whether every subscriber received exactly its agent's events, with no error.
    pub fn delivered_exactly(&self) -> bool {
        self.total.deliveries == self.total.expected
            && self.mismatches.count == 0
            && self.connection_problems.count == 0
    }
}

/// Problems counted, with the first few described.
#[derive(Clone, Debug, Default)]
pub struct Problems {
    /// How many.
    pub count: usize,
    /// The first [`SAMPLES`].
    pub samples: Vec<String>,
}

impl Problems {
    /// Counts one, and keeps its description if it is among the first.
    pub fn add(&mut self, what: String) {
        self.count += 1;
        if self.samples.len() < SAMPLES {
            self.samples.push(what);
        }
    }
}

/// Checks every delivery against the event log. `agent_of[s]` is subscriber `s`'s agent,
/// `published` how many status changes the bench made per agent, `log` the log's
/// `AGENT_STATUS_CHANGED` events (event id → agent). Each agent's events in the log must be
/// as many as it published, and each subscriber must have received exactly its agent's
/// events, each once, and nothing else.
pub fn check(
    deliveries: &[Delivery],
    agent_of: &[i64],
    published: &HashMap<i64, usize>,
    log: &HashMap<i64, i64>,
) -> Problems {
    let mut problems = Problems::default();
    let mut logged: HashMap<i64, HashSet<i64>> = HashMap::new();
    for (&event, &agent) in log {
        logged.entry(agent).or_default().insert(event);
    }
    let mut agents: Vec<i64> = published.keys().chain(logged.keys()).copied().collect();
    agents.sort_unstable();
    agents.dedup();
    for agent in agents {
        let (made, found) =
            (published.get(&agent).copied().unwrap_or(0), logged.get(&agent).map_or(0, HashSet::len));
        if made != found {
            problems.add(format!("agent {agent}: {found} status events in the log, {made} published"));
        }
    }
    let mut received: Vec<HashSet<i64>> = vec![HashSet::new(); agent_of.len()];
    for d in deliveries {
        let mine = agent_of[d.subscriber];
        match log.get(&d.event) {
            None => problems.add(format!("subscriber {}: event {} is not in the log", d.subscriber, d.event)),
            Some(&agent) if agent != mine => problems.add(format!(
                "subscriber {} (agent {mine}) received event {} of agent {agent}",
                d.subscriber, d.event
            )),
            Some(_) => {
                if !received[d.subscriber].insert(d.event) {
                    problems.add(format!("subscriber {} received event {} twice", d.subscriber, d.event));
                }
            }
        }
    }
    let none = HashSet::new();
    for (subscriber, got) in received.iter().enumerate() {
        let agent = agent_of[subscriber];
        let missing = logged.get(&agent).unwrap_or(&none).difference(got).count();
        if missing > 0 {
            problems.add(format!(
                "subscriber {subscriber} (agent {agent}) missed {missing} of its agent's events"
            ));
        }
    }
    problems
}

/// The `p`th percentile of ascending `sorted` (NaN when empty).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// Prints the table (one row per run; with two instances, its subscribers on A and on B
/// below it), then each run against the targets and its problems.
pub fn print(outcomes: &[Outcome]) {
    println!(
        "backend   mode       inst  subs on  subscribers  connect s  idle KiB/sub  deliveries/expected  \
         deliveries/s  p50 ms  p99 ms  peak RSS MiB"
    );
    for o in outcomes {
        let on = if o.instances == 1 { "-" } else { "A+B" };
        row(o, on, o.connect_secs, &o.total);
        for (name, stats) in ["A", "B"].iter().zip(&o.per_instance) {
            row(o, name, f64::NAN, stats);
        }
    }
    for o in outcomes {
        let met = |ok: bool| if ok { "met" } else { "MISSED" };
        println!(
            "targets {} {} x{}: p99 {:.1} ms < 100 ms: {}; {:.1} KiB/idle subscriber < 16: {}; \
             each subscriber got exactly its agent's events: {}",
            o.backend.name(),
            o.mode.name(),
            o.instances,
            o.total.p99_ms,
            met(o.total.p99_ms < 100.0),
            o.total.idle_kib,
            met(o.total.idle_kib < 16.0),
            met(o.delivered_exactly())
        );
        for (what, problems) in
            [("mismatches", &o.mismatches), ("connection problems", &o.connection_problems)]
        {
            if problems.count > 0 {
                println!("  {} {what}; the first ones:", problems.count);
                for sample in &problems.samples {
                    println!("    {sample}");
                }
            }
        }
    }
}

fn row(o: &Outcome, on: &str, connect_secs: f64, s: &Stats) {
    let connect = if connect_secs.is_nan() { String::new() } else { format!("{connect_secs:.1}") };
    println!(
        "{:<9} {:<10} {:>4}  {:<7} {:>11} {:>10} {:>13.1} {:>12}/{:<8} {:>12.0} {:>7.1} {:>7.1} {:>13.1}",
        o.backend.name(),
        o.mode.name(),
        o.instances,
        on,
        s.subscribers,
        connect,
        s.idle_kib,
        s.deliveries,
        s.expected,
        s.per_second,
        s.p50_ms,
        s.p99_ms,
        s.peak_mib
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivered(pairs: &[(usize, i64)]) -> Vec<Delivery> {
        pairs.iter().map(|&(subscriber, event)| Delivery { subscriber, event, latency_ms: 1.0 }).collect()
    }

    #[test]
    fn each_subscriber_must_get_exactly_its_agents_events() {
        // Subscribers 0 and 1 belong to agents 1 and 2; events 10 and 11 concern them.
        let agent_of = [1, 2];
        let published = HashMap::from([(1, 1), (2, 1)]);
        let log = HashMap::from([(10, 1), (11, 2)]);
        assert_eq!(check(&delivered(&[(0, 10), (1, 11)]), &agent_of, &published, &log).count, 0);
        // Subscriber 0 got agent 2's event; subscriber 1 got its own twice.
        let wrong = check(&delivered(&[(0, 10), (0, 11), (1, 11), (1, 11)]), &agent_of, &published, &log);
        assert_eq!(wrong.count, 2, "{:?}", wrong.samples);
        // Subscriber 1 got nothing; an event not in the log.
        assert_eq!(check(&delivered(&[(0, 10), (0, 99)]), &agent_of, &published, &log).count, 2);
        // The log lacks agent 2's event although it was published.
        let short_log = HashMap::from([(10, 1)]);
        assert_eq!(check(&delivered(&[(0, 10)]), &agent_of, &published, &short_log).count, 1);
    }
}
