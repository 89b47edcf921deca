//! `cargo run --release -p bench`: the Switchboard benchmark program.
//!
//! It starts the release server binary (`target/release/switchboard`, built beforehand with
//! `cargo build --release`) as a child process on a fresh database per backend, creates a
//! WhatsApp channel over GraphQL, and measures inbound webhook throughput: signed webhook
//! POSTs from 1, 8 and 32 concurrent senders, for messages from new customers and for
//! messages appended to existing chats. It prints one table row per backend, scenario and
//! concurrency level, then the server's peak memory. `docs/benchmarks.md` describes it.

mod load;
mod postgres;
mod procfs;
mod server;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use load::{Generator, Outcome, Payload};
use procfs::{HostCpu, Memory, TICKS_PER_SECOND};
use server::{Server, WorkDir};

/// Concurrent senders used to warm up the returning customers (not timed).
const WARM_UP_SENDERS: usize = 8;
/// The throughput the issue asks for with 32 senders, in messages per second.
const TARGET_SENDERS: usize = 32;
/// Machine CPU use (percent of all cores) before the run above which the bench warns that
/// other processes are busy.
const BUSY_HOST_PERCENT: f64 = 10.0;
/// The p99 latency the issue asks for, in milliseconds.
const TARGET_P99_MS: f64 = 100.0;

/// Switchboard benchmark: inbound webhook throughput against a release server binary.
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Cli {
    /// Databases to run against, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<Backend>,
    /// Scenarios to run, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "new,existing")]
    scenarios: Vec<Scenario>,
    /// Concurrency levels (concurrent senders), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    levels: Vec<usize>,
    /// Webhook messages sent per scenario and concurrency level.
    #[arg(long, default_value_t = 2000)]
    messages: usize,
    /// Returning customers in the `existing` scenario (each gets one untimed warm-up message
    /// that opens their chat).
    #[arg(long, default_value_t = 200)]
    customers: usize,
    /// PostgreSQL server URL whose user may CREATE DATABASE; the bench creates (and drops) a
    /// fresh `bench_<random>` database on it. Without it PostgreSQL is skipped.
    #[arg(long, env = "TEST_DATABASE_URL", hide_env_values = true)]
    postgres_url: Option<String>,
    /// The server binary; `<workspace>/target/release/switchboard` by default.
    #[arg(long)]
    server_bin: Option<PathBuf>,
}

/// A database backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Backend {
    /// SQLite, a file in a temporary directory.
    Sqlite,
    /// PostgreSQL, a fresh database on `--postgres-url`.
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// The throughput the issue asks for with 32 senders.
    fn target_per_second(self) -> f64 {
        match self {
            Self::Sqlite => 2000.0,
            Self::Postgres => 1000.0,
        }
    }
}

/// What each message of a scenario does on the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
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
}

/// One measured concurrency level.
struct Row {
    backend: Backend,
    scenario: Scenario,
    senders: usize,
    outcome: Outcome,
    /// Server CPU during the level, in percent of one core.
    server_cpu: f64,
    /// Bench (load generator) CPU during the level, in percent of one core.
    bench_cpu: f64,
    /// CPU used by everything else on the machine during the level (the PostgreSQL server,
    /// and any outside load), in percent of one core.
    other_cpu: f64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Dropping the run on Ctrl-C kills the server and removes temporary files and databases.
    let result = tokio::select! {
        result = run(cli) => result,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every backend; true when every backend ran and every webhook was answered 200.
async fn run(cli: Cli) -> anyhow::Result<bool> {
    let bin = cli.server_bin.clone().unwrap_or_else(default_server_bin);
    let mut backends = Vec::new();
    for backend in &cli.backends {
        if !backends.contains(backend) {
            backends.push(*backend);
        }
    }
    let mut skipped_postgres = false;
    if backends.contains(&Backend::Postgres) && cli.postgres_url.is_none() {
        skipped_postgres = true;
        backends.retain(|b| *b != Backend::Postgres);
        loud_postgres_note();
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    eprintln!(
        "bench: server {}, {} messages per level, levels {:?}, {cores} cores shared by server and load generator",
        bin.display(),
        cli.messages,
        cli.levels
    );

    let before = HostCpu::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_load = HostCpu::now().percent_since(&before);
    if idle_load > BUSY_HOST_PERCENT {
        eprintln!(
            "bench: WARNING: the machine is already {idle_load:.0}% busy before the bench starts; \
             other processes will skew the results"
        );
    }

    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let mut rows = Vec::new();
    let mut memory = Vec::new();
    let mut failed = false;
    for backend in backends {
        // A backend that fails is reported; the others still run and are printed.
        match bench_backend(&cli, backend, &bin, &run_id, &mut rows).await {
            Ok(used) => memory.push((backend, used)),
            Err(err) => {
                eprintln!("bench: {} FAILED: {err:#}", backend.name());
                failed = true;
            }
        }
    }

    print_table(&rows, &memory);
    if skipped_postgres {
        loud_postgres_note();
    }
    Ok(!failed && rows.iter().all(|row| row.outcome.errors == 0))
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
    // Declared in this order so they drop in reverse: server, then database, then directory.
    let dir = WorkDir::new(backend.name())?;
    let mut database = None;
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}/bench.db?mode=rwc", dir.path().display()),
        Backend::Postgres => {
            let server_url = cli.postgres_url.as_deref().unwrap_or_default();
            let created = postgres::Database::create(server_url)?;
            eprintln!("bench: postgres: created database {}", created.name());
            database.insert(created).url().to_owned()
        }
    };
    let server = Server::start(bin, &url, dir.path()).await?;
    eprintln!("bench: {}: server up at {}", backend.name(), server.base());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(usize::MAX)
        .build()?;
    let webhook = server.create_channel(&client).await?;
    let mut generator = Generator::new(&format!("{run_id}-{}", backend.name()));

    for &scenario in &cli.scenarios {
        if scenario == Scenario::Existing {
            let warm_up: Vec<Payload> =
                (0..cli.customers).map(|n| generator.returning_customer_message(n)).collect();
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
            let payloads: Vec<Payload> = (0..cli.messages)
                .map(|i| match scenario {
                    Scenario::New => generator.new_customer_message(),
                    Scenario::Existing => generator.returning_customer_message(i % cli.customers.max(1)),
                })
                .collect();
            let (server_before, bench_before, host_before) =
                (server.cpu_ticks(), procfs::cpu_ticks("/proc/self/stat"), HostCpu::now());
            let outcome = load::send_all(&client, &webhook, payloads, senders).await;
            let (server_after, bench_after, host_after) =
                (server.cpu_ticks(), procfs::cpu_ticks("/proc/self/stat"), HostCpu::now());
            let percent = |ticks: u64| {
                100.0 * ticks as f64 / TICKS_PER_SECOND / outcome.elapsed.as_secs_f64().max(f64::EPSILON)
            };
            let row = Row {
                backend,
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
                "bench: {} / {} / {} senders: {:.0} msg/s, p99 {:.1} ms, {} errors",
                backend.name(),
                scenario.label(),
                senders,
                row.outcome.per_second(),
                millis(row.outcome.percentile(99.0)),
                row.outcome.errors
            );
            for sample in &row.outcome.error_samples {
                eprintln!("bench:   error: {sample}");
            }
            rows.push(row);
        }
    }

    let memory = server.memory()?;
    server.stop();
    drop(database);
    Ok(memory)
}

/// `<workspace>/target/release/switchboard`, or under `$CARGO_TARGET_DIR` when that is set.
fn default_server_bin() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| {
        let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        manifest.parent().unwrap_or(manifest).join("target")
    });
    target.join("release").join("switchboard")
}

fn loud_postgres_note() {
    eprintln!();
    eprintln!("################################################################################");
    eprintln!("#  NOTE: PostgreSQL SKIPPED: neither --postgres-url nor TEST_DATABASE_URL set.  #");
    eprintln!("#  For the full run: scripts/with-postgres.sh cargo run --release -p bench       #");
    eprintln!("################################################################################");
    eprintln!();
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The results table on stdout, then peak memory, then the targets.
fn print_table(rows: &[Row], memory: &[(Backend, Memory)]) {
    println!(
        "{:<9} {:<15} {:>7} {:>8} {:>7} {:>7} {:>7} {:>6} {:>8} {:>8} {:>9}",
        "backend",
        "scenario",
        "senders",
        "messages",
        "msg/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "srv cpu",
        "gen cpu",
        "other cpu"
    );
    for row in rows {
        println!(
            "{:<9} {:<15} {:>7} {:>8} {:>7.0} {:>7.1} {:>7.1} {:>6} {:>7.0}% {:>7.0}% {:>8.0}%",
            row.backend.name(),
            row.scenario.label(),
            row.senders,
            row.outcome.ok + row.outcome.errors,
            row.outcome.per_second(),
            millis(row.outcome.percentile(50.0)),
            millis(row.outcome.percentile(99.0)),
            row.outcome.errors,
            row.server_cpu,
            row.bench_cpu,
            row.other_cpu,
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
        "srv / gen / other cpu: CPU used by the server / the load generator / everything else \
         (PostgreSQL, outside load), in % of one core"
    );

    let at_target: Vec<&Row> = rows.iter().filter(|row| row.senders == TARGET_SENDERS).collect();
    if !at_target.is_empty() {
        println!();
        println!(
            "targets ({TARGET_SENDERS} senders: sqlite >= 2000 msg/s, postgres >= 1000 msg/s, p99 < {TARGET_P99_MS} ms):"
        );
    }
    for row in at_target {
        let rate = row.outcome.per_second();
        let target = row.backend.target_per_second();
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
        println!(
            "  {:<9} {:<15} {:>6.0} msg/s: {rate_verdict}; p99 {p99:.1} ms: {p99_verdict}",
            row.backend.name(),
            row.scenario.label(),
            rate
        );
    }
}
