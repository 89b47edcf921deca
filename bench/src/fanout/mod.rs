//! One fan-out run: a fresh database with agents and sessions seeded in SQL, one or two servers
//! on it, N subscribers, then status toggles published through the first server while
//! everyone listens.

pub mod client;
pub mod report;
pub mod seed;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use crate::postgres;
use crate::server::{Server, WorkDir};
use client::Inbox;
use report::{Outcome, Stats};

/// Subscribers opened at once.
const CONNECT_BATCH: usize = 250;
/// Pause between the last subscriber and the idle-memory reading.
const SETTLE: Duration = Duration::from_secs(3);
/// How long deliveries may trail the last event published.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);
/// How long to keep listening once every expected delivery is in, to catch extra ones.
const EXTRA_GRACE: Duration = Duration::from_millis(500);

/// A database the bench runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A fresh database on the PostgreSQL server of `--postgres-url`.
    Postgres,
}

impl Backend {
    /// Its name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Who the events concern.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// One agent: every subscriber uses its token, every event reaches all of them.
    All,
    /// One agent per subscriber; each event concerns one agent (taken in turn), so it reaches
    /// one subscriber and the others only run the server's filter check.
    PerAgent,
}

impl Mode {
    /// Its name on the command line and in the table.
    pub fn name(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::PerAgent => "per-agent",
        }
    }
}

/// What one run does.
#[derive(Clone, Copy, Debug)]
pub struct Plan<'a> {
    /// Database.
    pub backend: Backend,
    /// Who the events concern.
    pub mode: Mode,
    /// Servers on the database (1 or 2); subscriber `s` connects to server `s % instances`.
    pub instances: usize,
    /// WebSocket subscribers.
    pub subscribers: usize,
    /// Status toggles published.
    pub events: usize,
    /// Of them per second.
    pub rate: f64,
    /// PostgreSQL server that may CREATE DATABASE.
    pub postgres_url: Option<&'a str>,
    /// The server binary.
    pub server_bin: &'a Path,
}

impl Plan<'_> {
    /// `backend / mode / N instance(s)`, for progress lines.
    pub fn label(&self) -> String {
        let s = if self.instances == 1 { "" } else { "s" };
        format!("{} / {} / {} instance{s}", self.backend.name(), self.mode.name(), self.instances)
    }
}

/// Runs `plan` on a database of its own and returns what it measured.
pub async fn run(plan: &Plan<'_>) -> anyhow::Result<Outcome> {
    if plan.instances == 2 && plan.backend != Backend::Postgres {
        bail!("two instances need PostgreSQL (they share events through LISTEN/NOTIFY)");
    }
    // Declared before the servers, so on an error those stop first, then the database goes,
    // then the directory.
    let dir = WorkDir::new(&format!("fanout-{}", plan.backend.name()))?;
    let database = match plan.backend {
        Backend::Postgres => Some(postgres::Database::create(
            plan.postgres_url.context("PostgreSQL needs --postgres-url or TEST_DATABASE_URL")?,
        )?),
        Backend::Sqlite => None,
    };
    let url = match &database {
        Some(db) => db.url().to_owned(),
        None => format!("sqlite://{}/bench.db?mode=rwc", dir.path().display()),
    };
    let label = plan.label();

    // 1. Schema (the first start migrates), then agents and sessions seeded with it stopped.
    Server::start(plan.server_bin, &url, dir.path()).await?.stop();
    let agent_count = match plan.mode {
        Mode::All => 1,
        Mode::PerAgent => plan.subscribers,
    };
    let mut conn = seed::Conn::open(plan.backend, &url).await?;
    let seeded = Instant::now();
    let agents = seed::agents(&mut conn, plan.backend, agent_count).await?;
    eprintln!("fanout: {label}: seeded {agent_count} agent(s) in {:.1} s", seeded.elapsed().as_secs_f64());

    // 2. The servers; the forged tokens must work on each.
    let mut servers = Vec::with_capacity(plan.instances);
    for _ in 0..plan.instances {
        servers.push(Server::serve(plan.server_bin, &url, dir.path()).await?);
    }
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    for server in &servers {
        for agent in [&agents[0], &agents[agents.len() - 1]] {
            check_token(&http, server.base(), agent).await?;
        }
    }
    let ports: Vec<u16> = servers.iter().map(|s| port_of(s.base())).collect::<anyhow::Result<_>>()?;
    let before = memories(&servers)?;

    // 3. Subscribers: subscriber s uses agent `agent_of[s]`, on server `s % instances`.
    let agent_index = |s: usize| if plan.mode == Mode::All { 0 } else { s };
    let agent_of: Vec<i64> = (0..plan.subscribers).map(|s| agents[agent_index(s)].id).collect();
    let inbox = Arc::new(Inbox::default());
    let started = Instant::now();
    for batch in (0..plan.subscribers).collect::<Vec<_>>().chunks(CONNECT_BATCH) {
        let joins = batch.iter().map(|&s| {
            client::subscribe(ports[s % plan.instances], s, &agents[agent_index(s)].token, inbox.clone())
        });
        for (result, s) in futures_util::future::join_all(joins).await.into_iter().zip(batch) {
            result.with_context(|| format!("subscriber {s}"))?;
        }
    }
    let connect_secs = started.elapsed().as_secs_f64();
    eprintln!("fanout: {label}: {} subscribers connected in {connect_secs:.1} s", plan.subscribers);
    // FANOUT_SETTLE_SECS (a diagnostic) waits longer, to tell memory the subscribers hold
    // from what the connection storm left behind.
    let settle = std::env::var("FANOUT_SETTLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(SETTLE, Duration::from_secs);
    tokio::time::sleep(settle).await;
    let idle = memories(&servers)?;

    // 4. Events, through server A: event n toggles agent n % agents (INACTIVE ↔ ACTIVE).
    let mut published: HashMap<i64, usize> = HashMap::new();
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / plan.rate));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let flow_started = Instant::now();
    for n in 0..plan.events {
        ticks.tick().await;
        let agent = &agents[n % agents.len()];
        let toggles = published.entry(agent.id).or_default();
        // Seeded INACTIVE: the first toggle makes the agent ACTIVE.
        let status = if toggles.is_multiple_of(2) { "ACTIVE" } else { "INACTIVE" };
        client::graphql(
            &http,
            servers[0].base(),
            &agent.token,
            "mutation($s: AgentStatus!) { setMyStatus(status: $s) { status } }",
            json!({ "s": status }),
        )
        .await
        .with_context(|| format!("setMyStatus({status}) for agent {}", agent.id))?;
        *toggles += 1;
    }
    let per_subscriber: Vec<usize> =
        agent_of.iter().map(|a| published.get(a).copied().unwrap_or(0)).collect();
    let expected: usize = per_subscriber.iter().sum();
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    while inbox.count() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = flow_started.elapsed().as_secs_f64();
    tokio::time::sleep(EXTRA_GRACE).await;
    let peak = memories(&servers)?;
    let (deliveries, (problem_count, problem_samples)) = inbox.snapshot();
    let log = seed::status_events(&mut conn).await?;
    conn.close().await;
    for server in servers {
        server.stop();
    }
    drop(database);

    // 5. The numbers, over everyone and per instance.
    let mut mismatches = report::check(&deliveries, &agent_of, &published, &log);
    if deliveries.len() != expected {
        mismatches.add(format!("{} deliveries in all, expected {expected}", deliveries.len()));
    }
    let growth = |i: usize| idle[i].current_kib as f64 - before[i].current_kib as f64;
    let mut per_instance = Vec::new();
    if plan.instances > 1 {
        for (i, peak) in peak.iter().enumerate() {
            let mine = |s: usize| s % plan.instances == i;
            let on: Vec<&client::Delivery> = deliveries.iter().filter(|d| mine(d.subscriber)).collect();
            let subs = (0..plan.subscribers).filter(|&s| mine(s)).count();
            let want = (0..plan.subscribers).filter(|&s| mine(s)).map(|s| per_subscriber[s]).sum();
            let mut stats = Stats::of(&on, subs, want, elapsed);
            stats.idle_kib = growth(i) / subs.max(1) as f64;
            stats.peak_mib = peak.peak_kib as f64 / 1024.0;
            per_instance.push(stats);
        }
    }
    let mut total = Stats::of(&deliveries.iter().collect::<Vec<_>>(), plan.subscribers, expected, elapsed);
    total.idle_kib = (0..plan.instances).map(growth).sum::<f64>() / plan.subscribers as f64;
    total.peak_mib = peak.iter().map(|m| m.peak_kib as f64).sum::<f64>() / 1024.0;
    Ok(Outcome {
        backend: plan.backend,
        mode: plan.mode,
        instances: plan.instances,
        connect_secs,
        total,
        per_instance,
        mismatches,
        connection_problems: report::Problems { count: problem_count, samples: problem_samples },
    })
}

/// `me` with `agent`'s forged token must answer that agent.
async fn check_token(http: &reqwest::Client, base: &str, agent: &seed::Agent) -> anyhow::Result<()> {
    let data =
        client::graphql(http, base, &agent.token, "{ me { id } }", json!({})).await.with_context(|| {
            format!(
                "the server at {base} refused agent {}'s forged token (is the JWT secret in \
                 bench/src/fanout/seed.rs still the one bench/src/server.rs starts it with?)",
                agent.id
            )
        })?;
    let want = URL_SAFE_NO_PAD.encode(format!("Agent:{}", agent.id));
    if data["me"]["id"].as_str() != Some(want.as_str()) {
        bail!("the forged token of agent {} signed in as {}", agent.id, data["me"]["id"]);
    }
    Ok(())
}

/// The port of a base URL such as `http://127.0.0.1:40123`.
fn port_of(base: &str) -> anyhow::Result<u16> {
    base.rsplit(':').next().and_then(|p| p.parse().ok()).with_context(|| format!("no port in {base}"))
}

/// Each server's memory now.
fn memories(servers: &[Server]) -> anyhow::Result<Vec<crate::procfs::Memory>> {
    servers.iter().map(Server::memory).collect()
}
