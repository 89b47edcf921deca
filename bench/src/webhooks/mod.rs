//! The `webhooks` suite: inbound webhook throughput. Signed WhatsApp webhook POSTs from 1, 8
//! and 32 concurrent senders, for messages from new customers and for messages appended to
//! existing chats. At each level, `--rounds` rounds of the server alternate with as many of
//! the physical-limit baseline (`src/bin/baseline/ingest.rs`: a minimal handler writing the
//! same rows in one statement, nothing else) on the same database; each side's rounds are
//! added up, and the table gives their ratio.

use std::time::Duration;

use clap::ValueEnum;

mod report;

use crate::limit::baseline::Baseline;
use crate::load::{self, Generator, Outcome, Payload};
use crate::procfs::{self, HostCpu, Memory, TICKS_PER_SECOND};
use crate::scratch::{Scratch, http_client};
use crate::server::{APP_SECRET, Server};
use crate::{Backend, Cli, millis};

/// Concurrent senders used to warm up the returning customers (not timed).
const WARM_UP_SENDERS: usize = 8;
/// The concurrent senders issue 15's ingestion targets are set at.
const TARGET_SENDERS: usize = 32;
/// The p99 latency issue 15 asks for, in milliseconds (issue 4 asked for 100).
const TARGET_P99_MS: f64 = 50.0;

/// The throughput issue 15 asks for with 32 senders, new contacts and existing chats alike
/// (issue 4 asked for 2,000 on SQLite and 1,000 on PostgreSQL).
fn target_per_second(backend: Backend) -> f64 {
    match backend {
        Backend::Sqlite => 3000.0,
        Backend::Postgres => 2000.0,
    }
}

/// What each message of a scenario does on the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// Every message from a different customer: a new contact, chat and message each.
    New,
    /// Messages from a fixed set of customers with open chats: appends to existing chats.
    Existing,
}

impl Scenario {
    fn label(self) -> &'static str {
        match self {
            Self::New => "new contacts",
            Self::Existing => "existing chats",
        }
    }

    /// The baseline's route for it.
    fn baseline_path(self) -> &'static str {
        match self {
            Self::New => "/webhooks/new",
            Self::Existing => "/webhooks/existing",
        }
    }
}

/// Which handler answered a level's webhooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handler {
    /// The Switchboard server.
    Server,
    /// The physical-limit baseline: the same rows written in one statement (PostgreSQL) or
    /// one transaction (SQLite), without the similar-contact search, routing or NOTIFY.
    Baseline,
}

impl Handler {
    fn label(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Baseline => "baseline",
        }
    }
}

/// One measured concurrency level.
pub struct Row {
    /// Backend.
    pub backend: Backend,
    /// Who answered.
    pub handler: Handler,
    /// What each message did.
    pub scenario: Scenario,
    /// Concurrent senders.
    pub senders: usize,
    /// Counts and latencies.
    pub outcome: Outcome,
    /// The handler's CPU during the level, in percent of one core.
    pub server_cpu: f64,
    /// Bench (load generator) CPU during the level, in percent of one core.
    pub bench_cpu: f64,
    /// CPU used by everything else on the machine during the level (the PostgreSQL server,
    /// and any outside load), in percent of one core.
    pub other_cpu: f64,
}

/// Runs every scenario and level on each backend and prints the table; true when every
/// backend ran and every webhook was answered 200.
pub async fn run(cli: &Cli, bin: &std::path::Path, backends: &[Backend]) -> bool {
    eprintln!(
        "bench: webhooks: {} messages per round, {} rounds per side and level, levels {:?}",
        cli.messages, cli.rounds, cli.levels
    );
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let mut rows = Vec::new();
    let mut memory = Vec::new();
    let mut failed = false;
    for &backend in backends {
        // A backend that fails is reported; the others still run and are printed.
        match bench_backend(cli, backend, bin, &run_id, &mut rows).await {
            Ok(used) => memory.push((backend, used)),
            Err(err) => {
                eprintln!("bench: {} FAILED: {err:#}", backend.name());
                failed = true;
            }
        }
    }
    report::print_table(&rows, &memory);
    !failed && rows.iter().all(|row| row.outcome.errors == 0)
}

/// Fresh database and server for `backend`; every scenario and level against it. Returns the
/// server's memory use at the end.
async fn bench_backend(
    cli: &Cli,
    backend: Backend,
    bin: &std::path::Path,
    run_id: &str,
    rows: &mut Vec<Row>,
) -> anyhow::Result<Memory> {
    // Declared before the server, so the server stops before the data goes.
    let scratch = Scratch::new(cli, backend, "webhooks")?;
    let server = Server::start(bin, scratch.url(), scratch.dir()).await?;
    eprintln!("bench: {}: server up at {}", backend.name(), server.base());
    let client = http_client(Duration::from_secs(30))?;
    let webhook = server.create_channel(&client).await?;
    let baseline = start_baseline(cli, backend, &scratch).await?;
    let mut generator = Generator::new(&format!("{run_id}-{}", backend.name()));
    let mut sent = 0;

    for &scenario in &cli.scenarios {
        if scenario == Scenario::Existing {
            let warm_up: Vec<Payload> =
                (0..cli.customers).map(|n| generator.returning_customer_message(n)).collect();
            sent += warm_up.len();
            let outcome = load::send_all(&client, &webhook, warm_up, WARM_UP_SENDERS).await;
            if outcome.errors > 0 {
                anyhow::bail!(
                    "{}: warming up {} returning customers failed {} times: {:?}\nserver log:\n{}",
                    backend.name(),
                    cli.customers,
                    outcome.errors,
                    outcome.error_samples,
                    server.log_tail()
                );
            }
        }
        for &senders in &cli.levels {
            let baseline_url = format!("{}{}", baseline.base(), scenario.baseline_path());
            let sides = [
                (Handler::Server, webhook.as_str(), server.pid()),
                (Handler::Baseline, baseline_url.as_str(), baseline.pid()),
            ];
            let mut measured: [Option<Row>; 2] = [None, None];
            for _ in 0..cli.rounds.max(1) {
                for (&(handler, url, pid), total) in sides.iter().zip(&mut measured) {
                    let payloads: Vec<Payload> = (0..cli.messages)
                        .map(|i| match scenario {
                            Scenario::New => generator.new_customer_message(),
                            Scenario::Existing => {
                                generator.returning_customer_message(i % cli.customers.max(1))
                            }
                        })
                        .collect();
                    sent += payloads.len();
                    let level = Level { backend, scenario, senders };
                    let row = measure_handler(handler, pid, &client, url, level, payloads).await;
                    match total {
                        Some(total) => total.add(row),
                        None => *total = Some(row),
                    }
                }
            }
            rows.extend(measured.into_iter().flatten());
        }
    }
    // Every message answered 200 must be stored, once, with its event: a fast path that
    // answered without writing would otherwise look like throughput.
    let (messages, events) = stored(scratch.url()).await?;
    if (messages, events) != (sent as i64, sent as i64) {
        anyhow::bail!(
            "{}: {sent} messages sent, but {messages} stored with {events} MESSAGE_RECEIVED events",
            backend.name()
        );
    }

    let memory = server.memory()?;
    drop(baseline);
    server.stop();
    scratch.finish(false);
    Ok(memory)
}

/// The baseline on the scratch database, for the channel the server just created (the only
/// one): one database connection on SQLite (a single writer, as the server has), the limit
/// suite's `--baseline-connections` on PostgreSQL.
async fn start_baseline(cli: &Cli, backend: Backend, scratch: &Scratch) -> anyhow::Result<Baseline> {
    use sea_orm::{ConnectionTrait, Statement};
    let db = sea_orm::Database::connect(scratch.url()).await?;
    let sql = "SELECT id, queue_id FROM channels ORDER BY id DESC LIMIT 1";
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no channel"))?;
    let (channel, queue): (i64, i64) = (row.try_get("", "id")?, row.try_get("", "queue_id")?);
    db.close().await?;
    let connections = match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => cli.baseline_connections,
    };
    let args = [
        "--channel-id".to_owned(),
        channel.to_string(),
        "--queue-id".to_owned(),
        queue.to_string(),
        "--app-secret".to_owned(),
        APP_SECRET.to_owned(),
    ];
    Baseline::start(&crate::limit::baseline_bin(cli)?, scratch.url(), connections, &args, scratch.dir()).await
}

/// The messages stored and the MESSAGE_RECEIVED events recorded in the database at `url`.
async fn stored(url: &str) -> anyhow::Result<(i64, i64)> {
    use sea_orm::{ConnectionTrait, Statement};
    let db = sea_orm::Database::connect(url).await?;
    let sql = "SELECT (SELECT COUNT(*) FROM messages) AS messages, \
               (SELECT COUNT(*) FROM events WHERE kind = 'MESSAGE_RECEIVED') AS events";
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no counts"))?;
    let counts = (row.try_get("", "messages")?, row.try_get("", "events")?);
    db.close().await?;
    Ok(counts)
}

/// Posts `payloads` to the server's `webhook` with `senders` concurrent senders and measures
/// the level: throughput, latencies and the CPU split; prints a progress line and any error
/// samples.
pub async fn measure(
    server: &Server,
    client: &reqwest::Client,
    webhook: &str,
    backend: Backend,
    scenario: Scenario,
    senders: usize,
    payloads: Vec<Payload>,
) -> Row {
    let level = Level { backend, scenario, senders };
    measure_handler(Handler::Server, server.pid(), client, webhook, level, payloads).await
}

/// What a level measures: on which backend, which messages, how many senders.
#[derive(Clone, Copy, Debug)]
struct Level {
    backend: Backend,
    scenario: Scenario,
    senders: usize,
}

/// [`measure`] for either handler: the process `pid` answering at `webhook`.
async fn measure_handler(
    handler: Handler,
    pid: u32,
    client: &reqwest::Client,
    webhook: &str,
    level: Level,
    payloads: Vec<Payload>,
) -> Row {
    let Level { backend, scenario, senders } = level;
    let stat = format!("/proc/{pid}/stat");
    let (server_before, bench_before, host_before) =
        (procfs::cpu_ticks(&stat), procfs::cpu_ticks("/proc/self/stat"), HostCpu::now());
    let outcome = load::send_all(client, webhook, payloads, senders).await;
    let (server_after, bench_after, host_after) =
        (procfs::cpu_ticks(&stat), procfs::cpu_ticks("/proc/self/stat"), HostCpu::now());
    let percent = |ticks: u64| {
        100.0 * ticks as f64 / TICKS_PER_SECOND / outcome.elapsed.as_secs_f64().max(f64::EPSILON)
    };
    let row = Row {
        backend,
        handler,
        scenario,
        senders,
        server_cpu: percent(server_after.saturating_sub(server_before)),
        bench_cpu: percent(bench_after.saturating_sub(bench_before)),
        other_cpu: percent(
            host_after
                .busy
                .saturating_sub(host_before.busy)
                .saturating_sub(server_after.saturating_sub(server_before))
                .saturating_sub(bench_after.saturating_sub(bench_before)),
        ),
        outcome,
    };
    eprintln!(
        "bench: {} / {} / {} senders / {}: {:.0} msg/s, p99 {:.1} ms, {} errors",
        backend.name(),
        scenario.label(),
        senders,
        handler.label(),
        row.outcome.per_second(),
        millis(row.outcome.percentile(99.0)),
        row.outcome.errors
    );
    for sample in &row.outcome.error_samples {
        eprintln!("bench:   error: {sample}");
    }
    row
}

impl Row {
    /// Adds a later round of the same level and handler: counts, time and latencies added up,
    /// CPU shares weighted by each round's time.
    fn add(&mut self, other: Row) {
        let (mine, theirs) = (self.outcome.elapsed.as_secs_f64(), other.outcome.elapsed.as_secs_f64());
        let weigh = |a: f64, b: f64| (a * mine + b * theirs) / (mine + theirs).max(f64::EPSILON);
        self.server_cpu = weigh(self.server_cpu, other.server_cpu);
        self.bench_cpu = weigh(self.bench_cpu, other.bench_cpu);
        self.other_cpu = weigh(self.other_cpu, other.other_cpu);
        self.outcome.add(other.outcome);
    }
}
