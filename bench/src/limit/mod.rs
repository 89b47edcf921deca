//! The `limit` suite (issue 15, item 1): how far the GraphQL server is from the physical
//! limit. Over the history dataset (300,000 chats and 3,000,000 messages by default), the
//! agent-panel read and the waiting list go through the server's GraphQL and through the
//! baseline handler (`src/bin/baseline/main.rs`: axum and a plain driver, the same reads and the
//! same JSON answers), both processes running on the same database, in alternating rounds of
//! the same run, at 1 and 32 clients.

mod answers;
pub(crate) mod baseline;
mod report;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, ensure};
use chrono::{DurationRound, Utc};

use crate::history::{self, seed};
use crate::panel::graphql as gql;
use crate::panel::sql::Conn;
use crate::scratch::{Scratch, http_client};
use crate::server::Server;
use crate::{Backend, Cli};
use answers::{check_panel, check_waiting, request, same};
use baseline::Baseline;
use report::{Report, Row, Side, Workload};

/// Queues the chats are spread over, and agents (each client reads as its own agent).
const QUEUES: usize = 4;
const AGENTS: usize = 32;
/// Concurrent clients of the latency and the throughput measurements.
pub(crate) const LEVELS: [usize; 2] = [1, 32];
/// Chats per waiting-list page.
const WAITING_PAGE: i64 = 50;

/// An agent with chats in progress: it reads them in turn.
struct Reader {
    id: i64,
    token: String,
    chats: Vec<i64>,
}

/// Runs the suite on each backend and prints the report; true when every backend ran and no
/// operation failed.
pub async fn run(cli: &Cli, bin: &Path, backends: &[Backend]) -> bool {
    eprintln!(
        "bench: limit: {} chats x {} messages; {} rounds of {} s per side and level after {} s warm-up",
        cli.history_chats, cli.history_messages, cli.rounds, cli.duration, cli.warm_up
    );
    let header = vec![
        "limit suite: GraphQL against the physical-limit baseline (axum + plain driver), same run".to_owned(),
        format!("commit: {}", commit()),
        format!("command: {}", command_line(std::env::args())),
        format!("server: its default pool; baseline: {} connections", cli.baseline_connections),
    ];
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
    report::print(&header, &reports);
    !failed && reports.iter().all(|r| r.rows.iter().all(|row| row.outcome.errors == 0))
}

/// `--baseline-bin`, or `baseline` beside the running bench binary.
pub(crate) fn baseline_bin(cli: &Cli) -> anyhow::Result<PathBuf> {
    match &cli.baseline_bin {
        Some(bin) => Ok(bin.clone()),
        None => Ok(std::env::current_exe().context("where is the bench binary?")?.with_file_name("baseline")),
    }
}

/// Fresh database, seeding, the server and the baseline; every measurement on `backend`.
async fn bench_backend(cli: &Cli, bin: &Path, backend: Backend) -> anyhow::Result<Report> {
    let name = backend.name();
    let scratch = Scratch::new(cli, backend, "limit")?;
    let (url, dir) = (scratch.url().to_owned(), scratch.dir().to_owned());
    let http = http_client(Duration::from_secs(60))?;

    // 1. Through the API: admin, queues, a channel, agents.
    let (admin, agents) = history::staff(bin, &url, &dir, &http, "Limit", QUEUES, AGENTS).await?;

    // 2. The history dataset, straight into the database with the server stopped.
    let mut conn = Conn::open(backend, &url).await?;
    let queues = conn.ints("SELECT id FROM queues ORDER BY id").await?;
    let channels = conn.ints("SELECT id FROM channels ORDER BY id").await?;
    let agent_ids: Vec<i64> = agents.iter().map(|a| a.id).collect();
    let plan = seed::Plan {
        chats: cli.history_chats,
        messages: cli.history_messages,
        queues: &queues,
        channels: &channels,
        agents: &agent_ids,
        end: Utc::now().duration_trunc(chrono::Duration::hours(1))?,
    };
    let seeded = seed::seed(&mut conn, backend, &plan).await?;
    eprintln!(
        "bench: {name}: seeded {} chats, {} messages in {:.1} s (with ANALYZE)",
        seeded.chats,
        seeded.messages,
        seeded.elapsed.as_secs_f64()
    );

    // 3. The server and the baseline on the seeded database.
    let server = Server::serve(bin, &url, &dir).await?;
    let baseline = Baseline::start(&baseline_bin(cli)?, &url, cli.baseline_connections, &[], &dir).await?;
    // Read once both run: what each client reads, and how long each waiting list is.
    let owned = conn
        .pairs("SELECT owner_id, id FROM chats WHERE status = 'IN_PROGRESS' AND owner_id IS NOT NULL ORDER BY owner_id, id")
        .await?;
    let waiting = conn
        .pairs("SELECT queue_id, COUNT(*) FROM chats WHERE status = 'WAITING' GROUP BY queue_id ORDER BY queue_id")
        .await?;
    conn.close().await;
    let readers: Vec<Reader> = agents
        .iter()
        .map(|a| Reader {
            id: a.id,
            token: a.token.clone(),
            chats: owned.iter().filter(|(owner, _)| *owner == a.id).map(|(_, chat)| *chat).collect(),
        })
        .filter(|r| !r.chats.is_empty())
        .collect();
    let queues: Vec<(i64, usize)> =
        waiting.iter().map(|&(queue, count)| (queue, count.min(WAITING_PAGE) as usize)).collect();
    ensure!(!readers.is_empty(), "no agent has a chat in progress: seed more chats (--history-chats)");
    ensure!(!queues.is_empty(), "no chat is waiting: seed more chats (--history-chats)");
    if readers.len() < AGENTS {
        eprintln!(
            "bench: {name}: only {} of {AGENTS} agents have chats in progress; clients share them",
            readers.len()
        );
    }

    // Both sides must give the same answer, and the baseline must refuse a reader who does
    // not own the chat (as the server does).
    let graphql_url = format!("{}/graphql", server.base());
    let sides = [(Side::Graphql, graphql_url.as_str()), (Side::Baseline, baseline.base())];
    let reader = &readers[0];
    let chat = reader.chats[0];
    let mut answers = Vec::new();
    for (side, base) in sides {
        let (url, body) = request(side, base, Workload::Panel, reader.id, chat);
        answers.push(gql::post(&http, &url, &reader.token, body).await.map_err(anyhow::Error::msg)?);
    }
    same(&answers[0], &answers[1]).with_context(|| format!("the panel read of chat {chat}"))?;
    check_panel(&answers[0], chat).map_err(anyhow::Error::msg)?;
    if let Some(other) = readers.get(1) {
        let (url, body) = request(Side::Baseline, baseline.base(), Workload::Panel, other.id, chat);
        ensure!(
            gql::post(&http, &url, &other.token, body).await.is_err(),
            "the baseline answered agent {} the chat {chat} of agent {}",
            other.id,
            reader.id
        );
    }
    let (queue, expected) = queues[0];
    let mut answers = Vec::new();
    for (side, base) in sides {
        let (url, body) = request(side, base, Workload::Waiting, 0, queue);
        answers.push(gql::post(&http, &url, &admin, body).await.map_err(anyhow::Error::msg)?);
    }
    same(&answers[0], &answers[1]).with_context(|| format!("the waiting list of queue {queue}"))?;
    check_waiting(&answers[0], expected).map_err(anyhow::Error::msg)?;
    eprintln!(
        "bench: {name}: both sides answer the same; panel: {} chats of {} agents, waiting lists: {} queues",
        readers.iter().map(|r| r.chats.len()).sum::<usize>(),
        readers.len(),
        queues.len()
    );

    // 4. Each workload and level: rounds alternating GraphQL and the baseline.
    let (readers, queues, admin) = (Arc::new(readers), Arc::new(queues), Arc::new(admin));
    let mut rows = Vec::new();
    for workload in [Workload::Panel, Workload::Waiting] {
        for clients in LEVELS {
            let mut measured = [Vec::new(), Vec::new()];
            for round in 0..cli.rounds.max(1) {
                for (i, (side, base)) in sides.into_iter().enumerate() {
                    let pid = if side == Side::Graphql { server.pid() } else { baseline.pid() };
                    let (http, base, readers, queues, admin) =
                        (http.clone(), base.to_owned(), readers.clone(), queues.clone(), admin.clone());
                    let op = move |client: usize, n: usize| {
                        let (http, readers, queues, admin) =
                            (http.clone(), readers.clone(), queues.clone(), admin.clone());
                        let base = base.clone();
                        async move {
                            match workload {
                                Workload::Panel => {
                                    let reader = &readers[client % readers.len()];
                                    let chat = reader.chats[n % reader.chats.len()];
                                    let (url, body) = request(side, &base, workload, reader.id, chat);
                                    check_panel(&gql::post(&http, &url, &reader.token, body).await?, chat)
                                }
                                Workload::Waiting => {
                                    let (queue, expected) = queues[(client + n) % queues.len()];
                                    let (url, body) = request(side, &base, workload, 0, queue);
                                    check_waiting(&gql::post(&http, &url, &admin, body).await?, expected)
                                }
                            }
                        }
                    };
                    measured[i].push(history::measure(pid, clients, cli, round == 0, op).await);
                }
            }
            for (side, rounds) in [Side::Graphql, Side::Baseline].into_iter().zip(measured) {
                let (outcome, cpu) = history::report::merge(rounds);
                eprintln!(
                    "bench: {name} / {} {} / {}: {:.1}/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
                    workload.label(),
                    side.label(),
                    report::clients_label(clients),
                    outcome.per_second(),
                    crate::millis(outcome.percentile(50.0)),
                    crate::millis(outcome.percentile(99.0)),
                    outcome.errors
                );
                for sample in &outcome.error_samples {
                    eprintln!("bench:   error: {sample}");
                }
                rows.push(Row { backend, workload, side, clients, outcome, cpu });
            }
        }
    }

    let memory = server.memory()?;
    drop(baseline);
    server.stop();
    scratch.finish(cli.keep_data);
    let chats = readers.iter().map(|r| r.chats.len()).sum();
    Ok(Report { backend, seeded, rows, memory, readers: readers.len(), chats, queues: queues.len() })
}

/// `git rev-parse --short HEAD` of the bench's checkout, marked when it has uncommitted
/// changes.
fn commit() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(env!("CARGO_MANIFEST_DIR"))
            .args(args)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(head) => match git(&["status", "--porcelain", "--untracked-files=no"]) {
            Some(changes) if !changes.is_empty() => format!("{head} (with uncommitted changes)"),
            _ => head,
        },
        None => "unknown (git not available)".to_owned(),
    }
}

/// The command line as a shell would take it back, with a `--postgres-url` value hidden (it
/// may hold a password).
fn command_line(args: impl IntoIterator<Item = String>) -> String {
    let mut out = Vec::new();
    let mut hide = false;
    for arg in args {
        let arg = if hide {
            "…".to_owned()
        } else if let Some(value) = arg.strip_prefix("--postgres-url=") {
            format!("--postgres-url={}", if value.is_empty() { "" } else { "…" })
        } else {
            arg
        };
        hide = arg == "--postgres-url";
        let plain =
            !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%…".contains(c));
        out.push(if plain { arg } else { format!("'{}'", arg.replace('\'', "'\\''")) });
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_hides_the_database_url() {
        let args = ["bench", "--suite", "limit", "--postgres-url", "postgres://u:secret@h/db", "--x=a b"];
        assert_eq!(command_line(args.map(str::to_owned)), "bench --suite limit --postgres-url … '--x=a b'");
        assert_eq!(command_line(["--postgres-url=postgres://u:p@h".to_owned()]), "--postgres-url=…");
    }
}
