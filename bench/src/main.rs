//! `cargo run --release -p bench`: the Switchboard benchmark program.
//!
//! It starts the release server binary (`target/release/switchboard`, built beforehand with
//! `cargo build --release`) as a child process on a fresh database per backend and drives it
//! over HTTP. The suites (`--suite`):
//!
//! - `webhooks` (the default): inbound webhook throughput, signed webhook POSTs from 1, 8 and
//!   32 concurrent senders, for messages from new customers and for messages appended to
//!   existing chats.
//! - `panel`: the agent-panel read (`myChats` plus one chat with its contact and latest 20
//!   messages) over a seeded database of 100,000 chats and 1,000,000 messages, next to the
//!   same reads as plain SQL through sqlx, then `acceptChat` / `completeChat` throughput.
//! - `similar`: the similar-contact search per new chat over 1,000,000 seeded contacts (the
//!   search called directly, and new chats through webhooks), and webhook new-contact
//!   throughput with the duplicate rules on versus off, in the same run.
//!
//! - `history`: over 300,000 seeded chats and 3,000,000 messages, `chatStats` by queue and
//!   status over 30 days and a history page at depth 1 and 1,000, each beside the same SQL
//!   through sqlx in alternating rounds.
//! - `limit`: over the same history, the agent-panel read and a queue's waiting list through
//!   GraphQL and through the physical-limit baseline (`src/bin/baseline/main.rs`: axum, a plain
//!   driver, the same JSON answers) on the same database, in alternating rounds at 1 and 32
//!   clients, with the ratios and issue 15's targets.
//!
//! Each prints one table row per measurement, then the server's peak memory and the issue's
//! targets. `docs/benchmarks.md` describes them.

mod drive;
mod history;
mod limit;
mod load;
mod panel;
mod postgres;
mod procfs;
mod scratch;
mod server;
mod similar;
mod webhooks;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use procfs::HostCpu;

/// Machine CPU use (percent of all cores) before the run above which the bench warns that
/// other processes are busy.
const BUSY_HOST_PERCENT: f64 = 10.0;

/// Switchboard benchmark: webhook throughput, the agent panel or similar contacts, against a
/// release server binary.
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Cli {
    /// Which benchmark to run.
    #[arg(long, value_enum, default_value = "webhooks")]
    suite: Suite,
    /// Databases to run against, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<Backend>,
    /// PostgreSQL server URL whose user may CREATE DATABASE; the bench creates (and drops) a
    /// fresh `bench_<random>` database on it. Without it PostgreSQL is skipped.
    #[arg(long, env = "TEST_DATABASE_URL", hide_env_values = true)]
    postgres_url: Option<String>,
    /// The server binary; `<workspace>/target/release/switchboard` by default.
    #[arg(long)]
    server_bin: Option<PathBuf>,

    /// webhooks: scenarios to run, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "new,existing",
        help_heading = "webhooks suite"
    )]
    scenarios: Vec<webhooks::Scenario>,
    /// webhooks: concurrency levels (concurrent senders), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32", help_heading = "webhooks suite")]
    levels: Vec<usize>,
    /// webhooks: webhook messages sent per scenario and concurrency level.
    #[arg(long, default_value_t = 2000, help_heading = "webhooks suite")]
    messages: usize,
    /// webhooks: returning customers in the `existing` scenario (each gets one untimed
    /// warm-up message that opens their chat).
    #[arg(long, default_value_t = 200, help_heading = "webhooks suite")]
    customers: usize,

    /// panel: concurrent clients, each signed in as its own agent, comma-separated levels.
    #[arg(long, value_delimiter = ',', default_value = "32", help_heading = "panel suite")]
    clients: Vec<usize>,
    /// panel: seconds each read measurement lasts (after an untimed warm-up).
    #[arg(long, default_value_t = 10, help_heading = "panel suite")]
    duration: u64,
    /// panel: seconds of untimed warm-up before each read measurement.
    #[arg(long, default_value_t = 3, help_heading = "panel suite")]
    warm_up: u64,
    /// panel: chats seeded (most COMPLETED; 8 open ones per agent).
    #[arg(long, default_value_t = 100_000, help_heading = "panel suite")]
    seed_chats: u64,
    /// panel: messages seeded per COMPLETED chat (chats in progress get 30, waiting ones 3).
    #[arg(long, default_value_t = 10, help_heading = "panel suite")]
    seed_messages: u64,
    /// panel: an experiment: seed no assignment rows for COMPLETED chats, so agents have no
    /// assignment history (the `new` list then no longer scans it).
    #[arg(long, help_heading = "panel suite")]
    no_history: bool,
    /// panel: chats each client accepts and then completes (0 skips that part).
    #[arg(long, default_value_t = 100, help_heading = "panel suite")]
    accepts: u64,
    /// panel: sizes of the bench's own sqlx pool for the plain-SQL reads, comma-separated: one
    /// plain-SQL measurement each; the ratio uses the fastest.
    #[arg(long, value_delimiter = ',', default_value = "1,32", help_heading = "panel suite")]
    sql_pools: Vec<u32>,
    /// panel, similar: keep the seeded database (SQLite file or PostgreSQL database) for
    /// inspection instead of removing it at the end; its location is printed.
    #[arg(long, help_heading = "panel suite")]
    keep_data: bool,

    /// similar: contacts seeded by SQL before the search is measured.
    #[arg(long, default_value_t = 1_000_000, help_heading = "similar suite")]
    contacts: usize,
    /// similar: new chats from customers who collide with seeded contacts, sent one at a
    /// time; the search is then timed directly for each of their contacts.
    #[arg(long, default_value_t = 2000, help_heading = "similar suite")]
    samples: usize,
    /// similar: rounds of the on/off comparison (each: `--messages` new-contact webhooks at
    /// 32 senders with the rules on, then as many with them off), before and after seeding.
    /// webhooks: rounds of the server and of the baseline, alternating, at each level (each
    /// round `--messages` webhooks).
    #[arg(long, default_value_t = 3, help_heading = "similar suite")]
    rounds: usize,

    /// history, limit: chats seeded over 60 days (these suites also use `--rounds` of
    /// `--duration` seconds per side, GraphQL and SQL or baseline alternating, after
    /// `--warm-up`).
    #[arg(long, default_value_t = 300_000, help_heading = "history suite")]
    history_chats: u64,
    /// history, limit: messages seeded per chat.
    #[arg(long, default_value_t = 10, help_heading = "history suite")]
    history_messages: u64,

    /// limit: the baseline handler's binary; `baseline` beside this bench binary by default
    /// (`cargo build --release` builds both).
    #[arg(long, help_heading = "limit suite")]
    baseline_bin: Option<PathBuf>,
    /// limit: database connections the baseline opens at start (default: as many as the
    /// server's default pool, so both sides hold the same).
    #[arg(long, default_value_t = 16, help_heading = "limit suite")]
    baseline_connections: usize,
}

/// A benchmark suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Suite {
    /// Inbound webhook throughput.
    Webhooks,
    /// The agent-panel read against plain SQL, and accept/complete throughput.
    Panel,
    /// The similar-contact search at scale, and ingestion with it on versus off.
    Similar,
    /// History and analytics: `chatStats` and deep history pages against plain SQL.
    History,
    /// The panel read and the waiting list against the physical-limit baseline handler.
    Limit,
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

/// Runs the suite on every backend; true when every backend ran and nothing failed.
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
        "bench: suite {:?}, server {}, {cores} cores shared by server and load generator",
        cli.suite,
        bin.display(),
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

    let ok = match cli.suite {
        Suite::Webhooks => webhooks::run(&cli, &bin, &backends).await,
        Suite::Panel => panel::run(&cli, &bin, &backends).await,
        Suite::Similar => similar::run(&cli, &bin, &backends).await,
        Suite::History => history::run(&cli, &bin, &backends).await,
        Suite::Limit => limit::run(&cli, &bin, &backends).await,
    };
    if skipped_postgres {
        loud_postgres_note();
    }
    Ok(ok)
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
