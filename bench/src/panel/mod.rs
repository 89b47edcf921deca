//! The `panel` suite: the agent-panel read over a seeded database, next to the same reads as
//! plain SQL through sqlx, then `acceptChat` / `completeChat` throughput.

pub mod graphql;
mod report;
pub mod seed;
pub mod sql;

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};

use crate::drive::{self, Stop};
use crate::load::Outcome;
use crate::procfs::CpuMeter;
use crate::scratch::{Scratch, http_client};
use crate::server::Server;
use crate::{Backend, Cli};
use graphql::Agent;
use report::{Report, Row, Workload};
use seed::{IN_PROGRESS_MESSAGES, Layout};
use sql::{Conn, PanelRows, Pool};

/// Chats in progress per agent.
const IN_PROGRESS: u64 = 5;
/// Waiting chats directed to each agent.
const DIRECTED: u64 = 2;
/// Waiting chats offered to each agent.
const OFFERED: u64 = 1;
/// Messages per waiting chat.
const WAITING_MESSAGES: u64 = 3;

/// Runs the suite on each backend and prints the table; true when every backend ran and no
/// operation failed.
pub async fn run(cli: &Cli, bin: &Path, backends: &[Backend]) -> bool {
    let mut levels: Vec<usize> = cli.clients.iter().map(|&c| c.max(1)).collect();
    levels.dedup();
    eprintln!(
        "bench: panel: {} chats seeded, clients {levels:?}, {} s per read measurement after {} s warm-up, \
         {} accepts per client",
        cli.seed_chats, cli.duration, cli.warm_up, cli.accepts
    );
    let mut reports = Vec::new();
    let mut failed = false;
    for &backend in backends {
        match bench_backend(cli, bin, backend, &levels).await {
            Ok(report) => reports.push(report),
            Err(err) => {
                eprintln!("bench: {} FAILED: {err:#}", backend.name());
                failed = true;
            }
        }
    }
    report::print(&reports);
    !failed && reports.iter().all(|r| r.rows.iter().all(|row| row.outcome.errors == 0))
}

/// Fresh database, seeding, fresh server; every measurement on `backend`.
async fn bench_backend(cli: &Cli, bin: &Path, backend: Backend, levels: &[usize]) -> anyhow::Result<Report> {
    let name = backend.name();
    let agent_count = levels.iter().copied().max().unwrap_or(1);
    let scratch = Scratch::new(cli, backend, "panel")?;
    let (url, dir) = (scratch.url().to_owned(), scratch.dir().to_owned());
    let http = http_client(Duration::from_secs(30))?;

    // 1. Through the API: admin, queue, channel, agents (signed in, ACTIVE), no chat limit.
    let server = Server::start(bin, &url, &dir).await?;
    server.create_channel(&http).await?;
    let admin = server.admin_token(&http).await?;
    let agents = graphql::create_agents(&server, &http, &admin, agent_count).await?;
    graphql::unlimited_chats(&server, &http, &admin).await?;
    server.stop();
    eprintln!("bench: {name}: created {agent_count} agents; seeding");

    // 2. Straight into the database, with the server stopped.
    let mut conn = Conn::open(backend, &url).await?;
    let queue = *conn.ints("SELECT id FROM queues").await?.first().context("no queue")?;
    let channel = *conn.ints("SELECT id FROM channels").await?.first().context("no channel")?;
    let open = agent_count as u64 * (IN_PROGRESS + DIRECTED + OFFERED);
    ensure!(cli.seed_chats > open, "--seed-chats must exceed the {open} open chats of {agent_count} agents");
    let layout = Layout {
        completed: cli.seed_chats - open,
        in_progress: IN_PROGRESS,
        directed: DIRECTED,
        offered: OFFERED,
        completed_messages: cli.seed_messages,
        waiting_messages: WAITING_MESSAGES,
        history: !cli.no_history,
    };
    let agent_ids: Vec<i64> = agents.iter().map(|a| a.id).collect();
    let mut seeded = seed::seed(&mut conn, backend, &agent_ids, (queue, channel), &layout, "s").await?;
    let started = Instant::now();
    seed::analyze(&mut conn, backend).await?;
    let analyze_time = started.elapsed();
    seeded.elapsed += analyze_time;
    eprintln!(
        "bench: {name}: seeded {} chats, {} messages in {:.1} s (ANALYZE {:.1} s)",
        seeded.chats,
        seeded.messages,
        seeded.elapsed.as_secs_f64(),
        analyze_time.as_secs_f64()
    );
    let mut panel_chats: HashMap<i64, Vec<i64>> = HashMap::new();
    for (owner, chat) in conn
        .pairs("SELECT owner_id, id FROM chats WHERE status = 'IN_PROGRESS' ORDER BY accepted_at, id")
        .await?
    {
        panel_chats.entry(owner).or_default().push(chat);
    }

    // 3. A fresh server on the seeded database; on PostgreSQL, a connection for statistics.
    let server = Server::serve(bin, &url, &dir).await?;
    let stats = match backend {
        Backend::Postgres => Some(Pool::open(backend, &url, 1).await?),
        Backend::Sqlite => None,
    };
    let graphql_url = format!("{}/graphql", server.base());
    let expected = PanelRows {
        active: IN_PROGRESS as usize,
        new: (DIRECTED + OFFERED) as usize,
        messages: 20.min(IN_PROGRESS_MESSAGES as usize),
    };
    // Per client: its agent, and the panel chats it rotates through.
    let clients: Arc<Vec<(Agent, Vec<i64>)>> = Arc::new(
        agents.iter().map(|a| (a.clone(), panel_chats.get(&a.id).cloned().unwrap_or_default())).collect(),
    );
    let mut rows = Vec::new();
    let measure = Measure {
        backend,
        server: &server,
        stats: stats.as_ref(),
        warm_up: Duration::from_secs(cli.warm_up),
    };
    let timed = Stop::After(Duration::from_secs(cli.duration));
    for &level in levels {
        let (http, endpoint, graphql_clients) = (http.clone(), graphql_url.clone(), clients.clone());
        let bodies: Arc<Vec<Vec<Vec<u8>>>> = Arc::new(
            clients
                .iter()
                .map(|(_, chats)| chats.iter().map(|&c| graphql::body(graphql::PANEL_QUERY, c)).collect())
                .collect(),
        );
        let row = measure
            .run(Workload::PanelGraphql, level, timed, true, move |client, n| {
                let (http, url, clients, bodies) =
                    (http.clone(), endpoint.clone(), graphql_clients.clone(), bodies.clone());
                async move {
                    let mine = &bodies[client];
                    let body = mine.get(n % mine.len().max(1)).cloned().ok_or("no chat for this agent")?;
                    let data = graphql::post(&http, &url, &clients[client].0.token, body).await?;
                    check(graphql::panel_rows(&data), expected)
                }
            })
            .await;
        rows.push(row);
        // The same reads through the bench's own sqlx pool, opened afresh for each size.
        for &size in &cli.sql_pools {
            let pool = Pool::open(backend, &url, size).await?;
            let (sql_pool, sql_clients) = (pool.clone(), clients.clone());
            let row = measure
                .run(Workload::PanelSql(size.max(1)), level, timed, true, move |client, n| {
                    let (pool, clients) = (sql_pool.clone(), sql_clients.clone());
                    async move {
                        let (agent, chats) = &clients[client];
                        let chat = *chats.get(n % chats.len().max(1)).ok_or("no chat for this agent")?;
                        check(pool.panel_read(agent.id, chat).await?, expected)
                    }
                })
                .await;
            pool.close().await;
            rows.push(row);
        }
    }

    // 4. Accept and complete: chats directed to each client's agent, seeded while the server
    // runs (it is idle), then every client accepts all of its own, then completes them.
    if cli.accepts > 0 {
        let layout = Layout {
            completed: 0,
            in_progress: 0,
            directed: cli.accepts,
            offered: 0,
            completed_messages: 0,
            waiting_messages: 1,
            history: true,
        };
        let batch = seed::seed(&mut conn, backend, &agent_ids, (queue, channel), &layout, "a").await?;
        let mut waiting: HashMap<i64, Vec<i64>> = HashMap::new();
        let sql =
            format!("SELECT directed_agent_id, id FROM chats WHERE id >= {} ORDER BY id", batch.first_chat);
        for (agent, chat) in conn.pairs(&sql).await? {
            waiting.entry(agent).or_default().push(chat);
        }
        let per_client: Arc<Vec<(String, Vec<i64>)>> = Arc::new(
            agents
                .iter()
                .map(|a| (a.token.clone(), waiting.get(&a.id).cloned().unwrap_or_default()))
                .collect(),
        );
        let count = Stop::Count(cli.accepts as usize);
        for (workload, query, status) in [
            (Workload::Accept, graphql::ACCEPT, "IN_PROGRESS"),
            (Workload::Complete, graphql::COMPLETE, "COMPLETED"),
        ] {
            let (http, url, per_client) = (http.clone(), graphql_url.clone(), per_client.clone());
            let field = if workload == Workload::Accept { "acceptChat" } else { "completeChat" };
            let row = measure
                .run(workload, agent_count, count, false, move |client, n| {
                    let (http, url, per_client) = (http.clone(), url.clone(), per_client.clone());
                    async move {
                        let (token, chats) = &per_client[client];
                        let chat = *chats.get(n).ok_or("no chat left for this agent")?;
                        let data = graphql::post(&http, &url, token, graphql::body(query, chat)).await?;
                        match data[field]["status"].as_str() {
                            Some(s) if s == status => Ok(()),
                            other => Err(format!("{field} answered status {other:?}, expected {status}")),
                        }
                    }
                })
                .await;
            rows.push(row);
        }
    }

    let memory = server.memory()?;
    server.stop();
    if let Some(stats) = stats {
        stats.close().await;
    }
    conn.close().await;
    scratch.finish(cli.keep_data);
    Ok(Report { backend, seeded, rows, memory })
}

/// The answer's row counts must be the seeded ones.
fn check(found: PanelRows, expected: PanelRows) -> Result<(), String> {
    if found == expected { Ok(()) } else { Err(format!("read {found:?}, expected {expected:?}")) }
}

/// What every measurement shares.
struct Measure<'a> {
    backend: Backend,
    server: &'a Server,
    /// PostgreSQL only: a connection to read the database's statistics.
    stats: Option<&'a Pool>,
    warm_up: Duration,
}

impl Measure<'_> {
    /// Runs `op` on `clients` clients until `stop` (after an untimed warm-up when `warm`),
    /// with the CPU split and, on PostgreSQL, the database's transactions per operation.
    async fn run<F, Fut>(&self, workload: Workload, clients: usize, stop: Stop, warm: bool, op: F) -> Row
    where
        F: Fn(usize, usize) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let mut warm_up = Outcome::default();
        if warm && !self.warm_up.is_zero() {
            warm_up = drive::drive(clients, Stop::After(self.warm_up), op.clone()).await;
        }
        let before = match self.stats {
            Some(stats) => stats.pg_transactions().await,
            None => None,
        };
        let meter = CpuMeter::start(self.server.pid());
        let mut outcome = drive::drive(clients, stop, op).await;
        let cpu = meter.split(outcome.elapsed);
        // Only meaningful under steady load (the statistics lag by up to a second).
        let after = match self.stats {
            Some(stats) if warm => stats.pg_transactions().await,
            _ => None,
        };
        let transactions = before.zip(after).map(|(b, a)| (a - b) as f64 / outcome.ok.max(1) as f64);
        outcome.errors += warm_up.errors;
        outcome.error_samples.extend(warm_up.error_samples);
        let row = Row { backend: self.backend, workload, clients, outcome, cpu, transactions };
        eprintln!(
            "bench: {} / {} / {clients} clients: {:.0}/s, p99 {:.1} ms, {} errors",
            self.backend.name(),
            workload.label(),
            row.outcome.per_second(),
            crate::millis(row.outcome.percentile(99.0)),
            row.outcome.errors
        );
        for sample in &row.outcome.error_samples {
            eprintln!("bench:   error: {sample}");
        }
        row
    }
}
