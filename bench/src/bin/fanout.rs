//! Subscription fan-out benchmark: N WebSocket subscribers with `myChatEvents` open on one
//! server (or split over two servers on one PostgreSQL database); measures server memory per
//! idle subscriber, and commit-to-client latency and deliveries per second while events flow.
//!
//! Run: `cargo build --release && scripts/with-postgres.sh cargo run --release -p bench --bin fanout`.
//! The modes, flags and results are described in `docs/benchmarks.md`.

#[allow(dead_code)]
#[path = "../postgres.rs"]
mod postgres;
#[allow(dead_code)]
#[path = "../procfs.rs"]
mod procfs;
#[allow(dead_code)]
#[path = "../server.rs"]
mod server;

#[path = "../fanout/mod.rs"]
mod fanout;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use fanout::report::{self, Outcome};
use fanout::{Backend, Mode, Plan};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(about = "Subscription fan-out benchmark for Switchboard")]
struct Options {
    /// Databases to run against.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<Backend>,
    /// Who the events concern: `all` (one agent; every event reaches every subscriber) or
    /// `per-agent` (one agent per subscriber; each event reaches one). Several are run in turn.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "all")]
    mode: Vec<Mode>,
    /// Server instances on one database: 1, or 2 (PostgreSQL only; events are published
    /// through the first and reach the second's subscribers through LISTEN/NOTIFY).
    #[arg(long, value_delimiter = ',', default_value = "1",
          value_parser = clap::value_parser!(u8).range(1..=2))]
    instances: Vec<u8>,
    /// Connected subscribers (one WebSocket each, all `myChatEvents`), split evenly over the
    /// instances.
    #[arg(long, default_value_t = 10_000)]
    subscribers: usize,
    /// Events to publish while everyone listens (status toggles; in `all` mode each goes to
    /// every subscriber, in `per-agent` mode to one, agents taken in turn).
    #[arg(long, default_value_t = 40)]
    events: usize,
    /// Events per second.
    #[arg(long, default_value_t = 4.0)]
    rate: f64,
    /// PostgreSQL server whose user may CREATE DATABASE (default: $TEST_DATABASE_URL).
    #[arg(long, env = "TEST_DATABASE_URL")]
    postgres_url: Option<String>,
    /// The server binary.
    #[arg(long, default_value = "target/release/switchboard")]
    server_bin: PathBuf,
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = Options::parse();
    if options.instances.contains(&2) && options.backends.contains(&Backend::Sqlite) {
        eprintln!(
            "fanout: --instances 2 runs on PostgreSQL only: two servers share events through \
             PostgreSQL LISTEN/NOTIFY, and a SQLite file is one server's. Pass --backends postgres."
        );
        return ExitCode::from(2);
    }
    if options.subscribers == 0 || options.rate.is_nan() || options.rate <= 0.0 {
        eprintln!("fanout: --subscribers and --rate must be positive");
        return ExitCode::from(2);
    }
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut failed = false;
    for &backend in &options.backends {
        if backend == Backend::Postgres && options.postgres_url.is_none() {
            eprintln!("fanout: NOTE: PostgreSQL skipped (no --postgres-url or TEST_DATABASE_URL)");
            continue;
        }
        for &mode in &options.mode {
            for &instances in &options.instances {
                let plan = Plan {
                    backend,
                    mode,
                    instances: usize::from(instances),
                    subscribers: options.subscribers,
                    events: options.events,
                    rate: options.rate,
                    postgres_url: options.postgres_url.as_deref(),
                    server_bin: &options.server_bin,
                };
                let label = plan.label();
                eprintln!("fanout: {label}: {} subscribers, {} events", plan.subscribers, plan.events);
                match fanout::run(&plan).await {
                    Ok(outcome) => outcomes.push(outcome),
                    Err(err) => {
                        eprintln!("fanout: {label} FAILED: {err:#}");
                        failed = true;
                    }
                }
            }
        }
    }
    report::print(&outcomes);
    if failed || outcomes.iter().any(|o| !o.delivered_exactly()) {
        eprintln!("fanout: FAILED: a run failed, or deliveries were missing, extra or misrouted");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
