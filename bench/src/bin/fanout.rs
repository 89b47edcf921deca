//! Subscription fan-out benchmark: N WebSocket subscribers with `myChatEvents` open on one
//! server; measures server memory per idle subscriber, and commit-to-client latency and
//! deliveries per second while events flow.
//!
//! Run: `cargo build --release && scripts/with-postgres.sh cargo run --release -p bench --bin fanout`.

#[allow(dead_code)]
#[path = "../postgres.rs"]
mod postgres;
#[allow(dead_code)]
#[path = "../procfs.rs"]
mod procfs;
#[allow(dead_code)]
#[path = "../server.rs"]
mod server;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(about = "Subscription fan-out benchmark for Switchboard")]
struct Options {
    /// Databases to run against.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
    /// Connected subscribers (one WebSocket each, all `myChatEvents`).
    #[arg(long, default_value_t = 10_000)]
    subscribers: usize,
    /// Events to publish while everyone listens (each goes to every subscriber).
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

/// What one backend run measured.
struct Outcome {
    backend: String,
    subscribers: usize,
    connect_secs: f64,
    idle_kib_per_subscriber: f64,
    deliveries: usize,
    expected: usize,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    peak_mib: f64,
}

async fn graphql(
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    query: &str,
    vars: Value,
) -> anyhow::Result<Value> {
    let mut request =
        client.post(format!("{base}/graphql")).json(&json!({ "query": query, "variables": vars }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let body: Value = request.send().await?.json().await?;
    if let Some(errors) = body.get("errors") {
        bail!("GraphQL error: {errors}");
    }
    Ok(body["data"].clone())
}

async fn login(client: &reqwest::Client, base: &str, email: &str, password: &str) -> anyhow::Result<String> {
    let data = graphql(
        client,
        base,
        None,
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
        json!({ "e": email, "p": password }),
    )
    .await?;
    Ok(data["login"]["token"].as_str().context("no token")?.to_owned())
}

/// Opens one subscriber and returns once the subscription is registered; latencies (ms) of
/// every event it then receives are pushed into `sink`.
async fn subscriber(port: u16, token: Arc<String>, sink: Arc<Mutex<Vec<f64>>>) -> anyhow::Result<()> {
    let mut request = format!("ws://127.0.0.1:{port}/graphql/ws").into_client_request()?;
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    if std::env::var_os("FANOUT_SOCKET_ONLY").is_some() {
        tokio::spawn(async move { while let Some(Ok(_)) = socket.next().await {} });
        return Ok(());
    }
    let init =
        json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    socket.send(Message::Text(init.to_string().into())).await?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) if text.contains("connection_ack") => break,
            Some(Ok(_)) => continue,
            other => bail!("no connection_ack: {other:?}"),
        }
    }
    if std::env::var_os("FANOUT_CONNECT_ONLY").is_none() {
        let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { myChatEvents { id at } }" } });
        socket.send(Message::Text(subscribe.to_string().into())).await?;
    }
    tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            let Message::Text(text) = message else { continue };
            let Ok(value) = serde_json::from_str::<Value>(&text) else { continue };
            let Some(at) = value["payload"]["data"]["myChatEvents"]["at"].as_str() else { continue };
            if let Ok(at) = chrono::DateTime::parse_from_rfc3339(at) {
                let latency = chrono::Utc::now().signed_duration_since(at).num_microseconds().unwrap_or(0)
                    as f64
                    / 1000.0;
                sink.lock().await.push(latency);
            }
        }
    });
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

async fn run(options: &Options, backend: &str) -> anyhow::Result<Outcome> {
    let dir = server::WorkDir::new(&format!("fanout-{backend}"))?;
    let database = match backend {
        "postgres" => {
            let url = options
                .postgres_url
                .as_deref()
                .context("PostgreSQL needs --postgres-url or TEST_DATABASE_URL")?;
            Some(postgres::Database::create(url)?)
        }
        _ => None,
    };
    let url = match &database {
        Some(db) => db.url().to_owned(),
        None => format!("sqlite://{}/bench.db?mode=rwc", dir.path().display()),
    };
    let server = server::Server::start(&options.server_bin, &url, dir.path()).await?;
    let base = server.base().to_owned();
    let port: u16 = base.rsplit(':').next().context("port")?.parse()?;
    let client = reqwest::Client::new();
    let admin = login(&client, &base, "bench@example.com", "bench-password").await?;
    graphql(
        &client,
        &base,
        Some(&admin),
        "mutation { createAgent(input: { name: \"Fan\", email: \"fan@example.com\", password: \"fan-password\", role: AGENT }) { id } }",
        json!({}),
    )
    .await?;
    let token = Arc::new(login(&client, &base, "fan@example.com", "fan-password").await?);
    let before = server.memory()?;

    let latencies = Arc::new(Mutex::new(Vec::with_capacity(options.subscribers * options.events)));
    let started = Instant::now();
    for chunk in (0..options.subscribers).collect::<Vec<_>>().chunks(250) {
        let joins = chunk.iter().map(|_| subscriber(port, token.clone(), latencies.clone()));
        for result in futures_util::future::join_all(joins).await {
            result?;
        }
    }
    let connect_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = server.memory()?;
    let idle_kib = (idle.current_kib as f64 - before.current_kib as f64) / options.subscribers as f64;

    let interval = Duration::from_secs_f64(1.0 / options.rate);
    let flow_started = Instant::now();
    for n in 0..options.events {
        let status = if n % 2 == 0 { "ACTIVE" } else { "INACTIVE" };
        graphql(
            &client,
            &base,
            Some(&token),
            "mutation($s: AgentStatus!) { setMyStatus(status: $s) { status } }",
            json!({ "s": status }),
        )
        .await?;
        tokio::time::sleep(interval).await;
    }
    let expected = options.subscribers * options.events;
    let deadline = Instant::now() + Duration::from_secs(60);
    while latencies.lock().await.len() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = flow_started.elapsed().as_secs_f64();
    let peak = server.memory()?;
    let mut sorted = latencies.lock().await.clone();
    sorted.sort_by(f64::total_cmp);
    server.stop();
    drop(database);
    Ok(Outcome {
        backend: backend.to_owned(),
        subscribers: options.subscribers,
        connect_secs,
        idle_kib_per_subscriber: idle_kib,
        deliveries: sorted.len(),
        expected,
        per_second: sorted.len() as f64 / elapsed,
        p50_ms: percentile(&sorted, 50.0),
        p99_ms: percentile(&sorted, 99.0),
        peak_mib: peak.peak_kib as f64 / 1024.0,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let mut outcomes = Vec::new();
    for backend in &options.backends {
        if backend == "postgres" && options.postgres_url.is_none() {
            eprintln!("fanout: NOTE: PostgreSQL skipped (no --postgres-url or TEST_DATABASE_URL)");
            continue;
        }
        eprintln!("fanout: {backend}: connecting {} subscribers", options.subscribers);
        outcomes.push(run(&options, backend).await.with_context(|| format!("{backend} run failed"))?);
    }
    println!(
        "backend   subscribers  connect s  idle KiB/sub  deliveries/expected  deliveries/s  p50 ms  p99 ms  peak RSS MiB"
    );
    for o in &outcomes {
        println!(
            "{:<9} {:>11} {:>10.1} {:>13.1} {:>12}/{:<8} {:>12.0} {:>7.1} {:>7.1} {:>13.1}",
            o.backend,
            o.subscribers,
            o.connect_secs,
            o.idle_kib_per_subscriber,
            o.deliveries,
            o.expected,
            o.per_second,
            o.p50_ms,
            o.p99_ms,
            o.peak_mib
        );
    }
    for o in &outcomes {
        let met = |ok: bool| if ok { "met" } else { "MISSED" };
        println!(
            "targets {}: p99 {:.1} ms < 100 ms: {}; {:.1} KiB/idle subscriber <= 30: {}; all delivered: {}",
            o.backend,
            o.p99_ms,
            met(o.p99_ms < 100.0),
            o.idle_kib_per_subscriber,
            met(o.idle_kib_per_subscriber <= 30.0),
            met(o.deliveries == o.expected)
        );
    }
    Ok(())
}
