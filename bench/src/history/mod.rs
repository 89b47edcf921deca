//! The `history` suite (issue 13, Benchmark): over a seeded history of 300,000 chats and
//! 3,000,000 messages spread over 60 days, `chatStats` grouped by QUEUE × STATUS over 30 days
//! (the same request every time, as a dashboard asks it, and a new request shape every time,
//! which the server's result cache cannot serve) and a filtered history page at depth 1 and at
//! depth 1,000, each through GraphQL and as the same SQL through sqlx, in alternating rounds of
//! the same run.

pub(crate) mod report;
pub(crate) mod seed;
mod sql;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use anyhow::{Context, ensure};
use chrono::{DurationRound, Utc};
use serde_json::{Value, json};

use crate::drive::{self, Stop};
use crate::load::Outcome;
use crate::panel::graphql::{self as gql, global_id};
use crate::panel::sql::{Conn, Pool};
use crate::procfs::CpuMeter;
use crate::scratch::{Scratch, http_client};
use crate::server::Server;
use crate::{Backend, Cli};
use report::{Report, Row, Side, Workload};

/// Queues, channels and agents the chats are spread over.
const QUEUES: usize = 4;
const CHANNELS: usize = 3;
const AGENTS: usize = 20;
/// Chats per history page, and the deep page's number.
const PAGE: u64 = 50;
const DEEP_PAGE: u64 = 1000;
/// What is measured, in order.
const WORKLOADS: [Workload; 4] =
    [Workload::Stats, Workload::StatsCold, Workload::Page(1), Workload::Page(DEEP_PAGE)];
/// Concurrent clients of the throughput and the latency measurements.
const LEVELS: [usize; 2] = [1, 8];

/// `chatStats` grouped by queue and status, every figure asked for.
const STATS_QUERY: &str = "query Stats($filter: ChatFilter) { chatStats(filter: $filter, groupBy: [QUEUE, STATUS]) { \
     queue { id } status count \
     timeToAccept { count average median p90 } firstResponseTime { count average median p90 } \
     duration { count average median p90 } handlingTime { count average median p90 } } }";
/// A history page: completed chats of one queue, newest first.
const PAGE_QUERY: &str = "query Page($filter: ChatFilter, $after: String) { \
     chats(filter: $filter, orderBy: { field: CREATED_AT, direction: DESC }, first: 50, after: $after) { \
     edges { cursor node { id status createdAt completedAt timeToAccept firstResponseTime duration handlingTime } } \
     pageInfo { hasNextPage endCursor } } }";

/// Runs the suite on each backend and prints the table; true when every backend ran and no
/// operation failed.
pub async fn run(cli: &Cli, bin: &Path, backends: &[Backend]) -> bool {
    eprintln!(
        "bench: history: {} chats x {} messages over {} days; {} rounds of {} s per side and level after {} s warm-up",
        cli.history_chats,
        cli.history_messages,
        seed::DAYS,
        cli.rounds,
        cli.duration,
        cli.warm_up
    );
    let mut reports = Vec::new();
    let mut failed = false;
    for &backend in backends {
        match bench_backend(cli, bin, backend).await {
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

/// The GraphQL request body of `query` with `variables`.
fn body(query: &str, variables: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({ "query": query, "variables": variables })).expect("a JSON value serialises")
}

/// Fresh database, seeding, fresh server; every measurement on `backend`.
async fn bench_backend(cli: &Cli, bin: &Path, backend: Backend) -> anyhow::Result<Report> {
    let name = backend.name();
    let scratch = Scratch::new(cli, backend, "history")?;
    let (url, dir) = (scratch.url().to_owned(), scratch.dir().to_owned());
    let http = http_client(Duration::from_secs(60))?;

    // 1. Through the API: admin, queues, a channel, agents.
    let (admin, agents) = staff(bin, &url, &dir, &http, "History", QUEUES, AGENTS).await?;

    // 2. Straight into the database, with the server stopped.
    let mut conn = Conn::open(backend, &url).await?;
    let queues = conn.ints("SELECT id FROM queues ORDER BY id").await?;
    let channel = *conn.ints("SELECT id FROM channels").await?.first().context("no channel")?;
    conn.exec(&format!(
        "INSERT INTO channels (kind, name, active, language, queue_id, credentials, created_at, updated_at) \
         SELECT kind, name || ' ' || k.n, active, language, queue_id, credentials, created_at, updated_at \
         FROM channels, (SELECT 2 AS n UNION ALL SELECT 3) k WHERE id = {channel}"
    ))
    .await?;
    let channels = conn.ints("SELECT id FROM channels ORDER BY id").await?;
    ensure!(
        queues.len() == QUEUES && channels.len() == CHANNELS,
        "expected {QUEUES} queues and {CHANNELS} channels"
    );
    let agent_ids: Vec<i64> = agents.iter().map(|a| a.id).collect();
    let end = Utc::now().duration_trunc(chrono::Duration::hours(1))?;
    let plan = seed::Plan {
        chats: cli.history_chats,
        messages: cli.history_messages,
        queues: &queues,
        channels: &channels,
        agents: &agent_ids,
        end,
    };
    let seeded = seed::seed(&mut conn, backend, &plan).await?;
    eprintln!(
        "bench: {name}: seeded {} chats, {} messages in {:.1} s (with ANALYZE)",
        seeded.chats,
        seeded.messages,
        seeded.elapsed.as_secs_f64()
    );
    conn.close().await;

    // 3. A fresh server on the seeded database, and the bench's own pool of 8 connections.
    let server = Server::serve(bin, &url, &dir).await?;
    let graphql_url = format!("{}/graphql", server.base());
    let pool = Pool::open(backend, &url, LEVELS[1] as u32).await?;
    let (from, to) = (end - chrono::Duration::days(30), end);
    let stats_filter = json!({ "created": { "from": from.to_rfc3339(), "to": to.to_rfc3339() } });
    let queue = queues[0];
    let page_filter = json!({ "queueIds": [global_id("Queue", queue)], "statuses": ["COMPLETED"] });

    // Both sides must answer the same: the chats counted, the deep page's first chat.
    let data = gql::post(&http, &graphql_url, &admin, body(STATS_QUERY, json!({ "filter": stats_filter })))
        .await
        .map_err(anyhow::Error::msg)?;
    let graphql_total: i64 = data["chatStats"]
        .as_array()
        .context("no chatStats")?
        .iter()
        .filter_map(|g| g["count"].as_i64())
        .sum();
    let (_, sql_total) = sql::stats(&pool, from, to).await.map_err(anyhow::Error::msg)?;
    ensure!(
        graphql_total == sql_total && sql_total > 0,
        "chatStats counted {graphql_total} chats, SQL {sql_total}"
    );
    let mut after: Option<String> = None;
    for _ in 1..DEEP_PAGE {
        let data = gql::post(
            &http,
            &graphql_url,
            &admin,
            body(PAGE_QUERY, json!({ "filter": page_filter, "after": after })),
        )
        .await
        .map_err(anyhow::Error::msg)?;
        after = data["chats"]["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        ensure!(after.is_some(), "the history ran out of pages before page {DEEP_PAGE}");
    }
    let deep_cursor = sql::cursor_at(&pool, queue, (DEEP_PAGE - 1) * PAGE).await?;
    let deep = gql::post(
        &http,
        &graphql_url,
        &admin,
        body(PAGE_QUERY, json!({ "filter": page_filter, "after": after })),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    let graphql_first = deep["chats"]["edges"][0]["node"]["id"].as_str().map(str::to_owned);
    let (sql_first, rows) = sql::page(&pool, queue, Some(deep_cursor)).await.map_err(anyhow::Error::msg)?;
    ensure!(
        rows == PAGE as usize && graphql_first == sql_first.map(|id| global_id("Chat", id)),
        "page {DEEP_PAGE}: GraphQL starts at {graphql_first:?}, SQL at {sql_first:?} ({rows} rows)"
    );
    eprintln!(
        "bench: {name}: {sql_total} chats in the 30 days; page {DEEP_PAGE} reached by following cursors"
    );

    // 4. Each workload and level: rounds alternating GraphQL and SQL.
    let mut rows = Vec::new();
    // Each "stats new" request starts its range this many milliseconds after `from`.
    let shapes = Arc::new(AtomicI64::new(1));
    for workload in WORKLOADS {
        let graphql_body = Arc::new(match workload {
            Workload::Stats | Workload::StatsCold => body(STATS_QUERY, json!({ "filter": stats_filter })),
            Workload::Page(1) => body(PAGE_QUERY, json!({ "filter": page_filter })),
            Workload::Page(_) => body(PAGE_QUERY, json!({ "filter": page_filter, "after": after })),
        });
        let cursor = (workload == Workload::Page(DEEP_PAGE)).then_some(deep_cursor);
        for clients in LEVELS {
            let mut graphql_side = Vec::new();
            let mut sql_side = Vec::new();
            for round in 0..cli.rounds.max(1) {
                let warm = round == 0;
                let (http, url, token, body, shapes) =
                    (http.clone(), graphql_url.clone(), admin.clone(), graphql_body.clone(), shapes.clone());
                graphql_side.push(
                    measure(server.pid(), clients, cli, warm, move |_, _| {
                        let (http, url, token) = (http.clone(), url.clone(), token.clone());
                        let body = if workload == Workload::StatsCold {
                            let shifted =
                                from + chrono::Duration::milliseconds(shapes.fetch_add(1, Ordering::Relaxed));
                            let filter =
                                json!({ "created": { "from": shifted.to_rfc3339(), "to": to.to_rfc3339() } });
                            Arc::new(self::body(STATS_QUERY, json!({ "filter": filter })))
                        } else {
                            body.clone()
                        };
                        async move {
                            let data = gql::post(&http, &url, &token, body.to_vec()).await?;
                            let found = if matches!(workload, Workload::Stats | Workload::StatsCold) {
                                data["chatStats"].as_array().map_or(0, Vec::len)
                            } else {
                                data["chats"]["edges"].as_array().map_or(0, Vec::len)
                            };
                            if found == 0 { Err(format!("an empty answer: {data}")) } else { Ok(()) }
                        }
                    })
                    .await,
                );
                let pool = pool.clone();
                sql_side.push(
                    measure(server.pid(), clients, cli, warm, move |_, _| {
                        let pool = pool.clone();
                        async move {
                            let found = match workload {
                                Workload::Stats | Workload::StatsCold => sql::stats(&pool, from, to).await?.0,
                                Workload::Page(_) => sql::page(&pool, queue, cursor).await?.1,
                            };
                            if found == 0 { Err("an empty answer".to_owned()) } else { Ok(()) }
                        }
                    })
                    .await,
                );
            }
            for (side, measured) in [(Side::Graphql, graphql_side), (Side::Sql, sql_side)] {
                let row = Row::merge(backend, workload, side, clients, measured);
                eprintln!(
                    "bench: {name} / {} {} / {clients} clients: {:.1}/s, p50 {:.1} ms, p99 {:.1} ms, {} errors",
                    workload.label(),
                    side.label(),
                    row.outcome.per_second(),
                    crate::millis(row.outcome.percentile(50.0)),
                    crate::millis(row.outcome.percentile(99.0)),
                    row.outcome.errors
                );
                for sample in &row.outcome.error_samples {
                    eprintln!("bench:   error: {sample}");
                }
                rows.push(row);
            }
        }
    }

    let memory = server.memory()?;
    server.stop();
    pool.close().await;
    scratch.finish(cli.keep_data);
    Ok(Report { backend, seeded, rows, memory, window: sql_total })
}

/// Through the API of a server started for it on `url`: a channel, the admin (its token is
/// returned), `queues` queues in all (the first one exists; the others are named `label n`)
/// and `agents` agents, signed in and ACTIVE. The server is stopped again.
pub(crate) async fn staff(
    bin: &Path,
    url: &str,
    dir: &Path,
    http: &reqwest::Client,
    label: &str,
    queues: usize,
    agents: usize,
) -> anyhow::Result<(String, Vec<gql::Agent>)> {
    let server = Server::start(bin, url, dir).await?;
    server.create_channel(http).await?;
    let admin = server.admin_token(http).await?;
    for i in 1..queues {
        let mutation = format!("mutation {{ createQueue(input: {{ name: \"{label} {i}\" }}) {{ id }} }}");
        server.graphql(http, Some(&admin), &mutation, json!({})).await.context("createQueue")?;
    }
    let agents = gql::create_agents(&server, http, &admin, agents).await?;
    server.stop();
    Ok((admin, agents))
}

/// One round: `op` on `clients` clients for `--duration` seconds (after `--warm-up` seconds
/// untimed when `warm`), with the CPU split (`pid`'s share as the server's).
pub(crate) async fn measure<F, Fut>(
    pid: u32,
    clients: usize,
    cli: &Cli,
    warm: bool,
    op: F,
) -> (Outcome, crate::procfs::CpuSplit)
where
    F: Fn(usize, usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let mut warm_up = Outcome::default();
    if warm && cli.warm_up > 0 {
        warm_up = drive::drive(clients, Stop::After(Duration::from_secs(cli.warm_up)), op.clone()).await;
    }
    let meter = CpuMeter::start(pid);
    let mut outcome = drive::drive(clients, Stop::After(Duration::from_secs(cli.duration)), op).await;
    let cpu = meter.split(outcome.elapsed);
    outcome.errors += warm_up.errors;
    outcome.error_samples.extend(warm_up.error_samples);
    (outcome, cpu)
}
