//! The physical-limit baseline of the `limit` suite (issue 15, item 1): the agent-panel read
//! and the waiting list through a minimal HTTP handler — axum, a plain driver, statements
//! prepared once per connection, serde — answering the same JSON as the server's GraphQL
//! reads, so the bench can time both side by side on one database. The `webhooks` suite
//! times ingestion against it too (`ingest.rs`: the same writes for a signed WhatsApp text
//! message).
//!
//! PostgreSQL goes through tokio-postgres: `--connections` connections opened at start, each
//! with its statements prepared, taken round-robin per request; the panel read's two
//! independent statements are sent together on one connection (pipelined: one round trip).
//! SQLite goes through an sqlx pool opened as the server opens its own (WAL), statements in
//! sequence (there is no round trip to save).
//!
//! Run by the bench (`bench --suite limit`), not by hand: it prints `listening on ADDR` once
//! ready and exits when its standard input closes (so it never outlives the bench), or when
//! killed (SIGTERM's default action).

mod ingest;

use std::io::Read;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use clap::Parser;
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(about = "Minimal HTTP handler for the panel read and the waiting list (the bench's baseline)")]
struct Options {
    /// `postgres://…` or `sqlite://…`: the database the server under test uses.
    #[arg(long)]
    database_url: String,
    /// Address to listen on; port 0 picks a free one (printed on stdout).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Database connections opened at start.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Ingestion: the row id of the WhatsApp channel webhooks arrive on (`/webhooks/…`
    /// answers 404 without it).
    #[arg(long)]
    channel_id: Option<i64>,
    /// Ingestion: that channel's queue.
    #[arg(long, default_value_t = 0)]
    queue_id: i64,
    /// Ingestion: the app secret webhooks are signed with.
    #[arg(long, default_value = "")]
    app_secret: String,
}

/// What every handler shares: the database, and the channel webhooks arrive on.
#[derive(Clone)]
struct Shared {
    db: Arc<Db>,
    channel: Option<ingest::Channel>,
}

/// The chat with its contact: only the columns the answer needs.
const CHAT: &str = "SELECT c.id, c.status, c.created_at, c.queue_id, c.owner_id, ct.id, ct.name, ct.mobile_phone \
     FROM chats c JOIN contacts ct ON ct.id = c.contact_id WHERE c.id = $1";
/// The chat's latest 20 messages, newest first, and one more to tell whether older ones exist.
const MESSAGES: &str =
    "SELECT id, direction, text, created_at FROM messages WHERE chat_id = $1 ORDER BY id DESC LIMIT 21";
/// The first 50 waiting chats of a queue, oldest first, and one more for `hasNextPage`.
const WAITING: &str = "SELECT c.id, c.status, c.created_at, ct.name FROM chats c \
     JOIN contacts ct ON ct.id = c.contact_id WHERE c.queue_id = $1 AND c.status = 'WAITING' \
     ORDER BY c.created_at, c.id LIMIT 51";
/// Messages per panel page, and chats per waiting-list page.
const MESSAGE_PAGE: usize = 20;
const WAITING_PAGE: usize = 50;

/// A row of [`CHAT`]: id, status, created, queue, owner, contact id, name and mobile phone.
type ChatRow = (i64, String, DateTime<Utc>, i64, Option<i64>, i64, String, Option<String>);
/// A row of [`MESSAGES`]: id, direction, text, created.
type MessageRow = (i64, String, Option<String>, DateTime<Utc>);
/// A row of [`WAITING`]: id, status, created, contact name.
type WaitingRow = (i64, String, DateTime<Utc>, String);

/// One PostgreSQL connection with its prepared statements.
struct PgConn {
    client: tokio_postgres::Client,
    chat: tokio_postgres::Statement,
    messages: tokio_postgres::Statement,
    waiting: tokio_postgres::Statement,
    /// A new customer's rows ([`ingest::NEW_POSTGRES`]).
    new_customer: tokio_postgres::Statement,
    /// A returning customer's message ([`ingest::EXISTING_POSTGRES`]).
    returning: tokio_postgres::Statement,
}

/// The database side.
enum Db {
    /// Connections taken in turn.
    Postgres { conns: Vec<PgConn>, next: AtomicUsize },
    /// A pool.
    Sqlite(SqlitePool),
}

impl Db {
    async fn open(url: &str, connections: usize) -> anyhow::Result<Self> {
        let connections = connections.max(1);
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .with_context(|| format!("not a SQLite URL: {url}"))?
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(connections as u32)
                .min_connections(connections as u32)
                .connect_with(options)
                .await?;
            return Ok(Self::Sqlite(pool));
        }
        let mut conns = Vec::with_capacity(connections);
        for _ in 0..connections {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .context("cannot connect to PostgreSQL")?;
            tokio::spawn(async move {
                if let Err(err) = connection.await {
                    eprintln!("baseline: PostgreSQL connection closed: {err}");
                }
            });
            let chat = client.prepare(CHAT).await?;
            let messages = client.prepare(MESSAGES).await?;
            let waiting = client.prepare(WAITING).await?;
            let new_customer = client.prepare(ingest::NEW_POSTGRES).await?;
            let returning = client.prepare(ingest::EXISTING_POSTGRES).await?;
            conns.push(PgConn { client, chat, messages, waiting, new_customer, returning });
        }
        Ok(Self::Postgres { conns, next: AtomicUsize::new(0) })
    }

    /// Chat `chat` with its contact, and its latest messages (newest first).
    async fn panel(&self, chat: i64) -> anyhow::Result<(Option<ChatRow>, Vec<MessageRow>)> {
        match self {
            Self::Postgres { conns, next } => {
                let conn = &conns[next.fetch_add(1, Ordering::Relaxed) % conns.len()];
                // Polled together, the two statements go out in one write: one round trip.
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&chat];
                let (found, messages) = tokio::try_join!(
                    conn.client.query_opt(&conn.chat, &params),
                    conn.client.query(&conn.messages, &params),
                )?;
                let found = found
                    .map(|r| -> Result<ChatRow, tokio_postgres::Error> {
                        Ok((
                            r.try_get(0)?,
                            r.try_get(1)?,
                            r.try_get(2)?,
                            r.try_get(3)?,
                            r.try_get(4)?,
                            r.try_get(5)?,
                            r.try_get(6)?,
                            r.try_get(7)?,
                        ))
                    })
                    .transpose()?;
                let messages = messages
                    .iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
                    .collect::<Result<_, tokio_postgres::Error>>()?;
                Ok((found, messages))
            }
            Self::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                let found = sqlx::query_as(CHAT).bind(chat).fetch_optional(&mut *conn).await?;
                let messages = sqlx::query_as(MESSAGES).bind(chat).fetch_all(&mut *conn).await?;
                Ok((found, messages))
            }
        }
    }

    /// The first waiting chats of queue `queue`, oldest first.
    async fn waiting(&self, queue: i64) -> anyhow::Result<Vec<WaitingRow>> {
        match self {
            Self::Postgres { conns, next } => {
                let conn = &conns[next.fetch_add(1, Ordering::Relaxed) % conns.len()];
                let rows = conn.client.query(&conn.waiting, &[&queue]).await?;
                let rows = rows
                    .iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
                    .collect::<Result<_, tokio_postgres::Error>>()?;
                Ok(rows)
            }
            Self::Sqlite(pool) => Ok(sqlx::query_as(WAITING).bind(queue).fetch_all(pool).await?),
        }
    }
}

/// The opaque global id of row `id` of `type_name`, as the server encodes it.
fn global_id(type_name: &str, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{type_name}:{id}"))
}

/// `{ "data": … }`, as a GraphQL answer without errors.
#[derive(Serialize)]
struct Data<T> {
    data: T,
}

/// An object with only its id.
#[derive(Serialize)]
struct Id {
    id: String,
}

/// A connection edge.
#[derive(Serialize)]
struct Edge<T> {
    node: T,
}

#[derive(Serialize)]
struct PanelData {
    chat: PanelChat,
}

/// The chat, its fields in the query's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PanelChat {
    id: String,
    status: String,
    created_at: String,
    contact: PanelContact,
    queue: Id,
    owner: Option<Id>,
    messages: Messages,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PanelContact {
    id: String,
    name: String,
    mobile_phone: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Messages {
    page_info: PreviousPage,
    edges: Vec<Edge<MessageNode>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PreviousPage {
    has_previous_page: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MessageNode {
    id: String,
    direction: String,
    text: Option<String>,
    created_at: String,
}

#[derive(Serialize)]
struct WaitingData {
    chats: WaitingChats,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WaitingChats {
    page_info: NextPage,
    edges: Vec<Edge<WaitingNode>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NextPage {
    has_next_page: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WaitingNode {
    id: String,
    status: String,
    created_at: String,
    contact: Name,
}

#[derive(Serialize)]
struct Name {
    name: String,
}

/// `/panel`'s body: who reads, and which chat.
#[derive(Deserialize)]
struct PanelInput {
    agent: i64,
    chat: i64,
}

/// `/waiting`'s body.
#[derive(Deserialize)]
struct WaitingInput {
    queue: i64,
}

/// A failed request: logged, answered 500 without detail.
struct Failure(anyhow::Error);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        eprintln!("baseline: {:#}", self.0);
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(err: E) -> Self {
        Self(err.into())
    }
}

/// The agent-panel read; 404 unless `agent` owns the chat (the server checks visibility).
async fn panel(State(shared): State<Shared>, Json(input): Json<PanelInput>) -> Result<Response, Failure> {
    let (found, mut rows) = shared.db.panel(input.chat).await?;
    let Some((id, status, created, queue, owner, contact, name, phone)) = found else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    if owner != Some(input.agent) {
        return Ok(StatusCode::NOT_FOUND.into_response());
    }
    let has_previous_page = rows.len() > MESSAGE_PAGE;
    rows.truncate(MESSAGE_PAGE);
    let edges = rows
        .into_iter()
        .rev()
        .map(|(id, direction, text, created)| Edge {
            node: MessageNode {
                id: global_id("Message", id),
                direction,
                text,
                created_at: created.to_rfc3339(),
            },
        })
        .collect();
    let chat = PanelChat {
        id: global_id("Chat", id),
        status,
        created_at: created.to_rfc3339(),
        contact: PanelContact { id: global_id("Contact", contact), name, mobile_phone: phone },
        queue: Id { id: global_id("Queue", queue) },
        owner: owner.map(|owner| Id { id: global_id("Agent", owner) }),
        messages: Messages { page_info: PreviousPage { has_previous_page }, edges },
    };
    Ok(Json(Data { data: PanelData { chat } }).into_response())
}

/// The waiting list of one queue.
async fn waiting(State(shared): State<Shared>, Json(input): Json<WaitingInput>) -> Result<Response, Failure> {
    let mut rows = shared.db.waiting(input.queue).await?;
    let has_next_page = rows.len() > WAITING_PAGE;
    rows.truncate(WAITING_PAGE);
    let edges = rows
        .into_iter()
        .map(|(id, status, created, name)| Edge {
            node: WaitingNode {
                id: global_id("Chat", id),
                status,
                created_at: created.to_rfc3339(),
                contact: Name { name },
            },
        })
        .collect();
    let chats = WaitingChats { page_info: NextPage { has_next_page }, edges };
    Ok(Json(Data { data: WaitingData { chats } }).into_response())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let db = Arc::new(Db::open(&options.database_url, options.connections).await?);
    let channel = options.channel_id.map(|id| ingest::Channel {
        id,
        queue: options.queue_id,
        secret: options.app_secret.clone(),
    });
    let app = Router::new()
        .route("/panel", post(panel))
        .route("/waiting", post(waiting))
        .route("/webhooks/{scenario}", post(ingest::receive))
        .with_state(Shared { db, channel });
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("cannot listen on {}", options.listen))?;
    // The bench reads this line to learn the port; stdout is line-buffered, so it goes now.
    println!("listening on {}", listener.local_addr()?);

    // Standard input is the bench's pipe: when it closes (the bench ended, however), stop.
    let (closed, stdin_closed) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut sink = [0u8; 256];
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        // The receiver is gone only when the server already stopped.
        let _ = closed.send(());
    });
    tokio::select! {
        served = axum::serve(listener, app) => served.context("the HTTP server failed")?,
        _ = stdin_closed => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_match_the_servers_encoding() {
        // base64url("Chat:42") without padding, as api/src/graphql/ids.rs encodes it.
        assert_eq!(global_id("Chat", 42), "Q2hhdDo0Mg");
    }

    #[test]
    fn times_are_written_as_the_server_writes_them() {
        // async-graphql writes `DateTime<Utc>` with `to_rfc3339`.
        let at: DateTime<Utc> = "2026-12-01T10:00:00.250Z".parse().unwrap();
        assert_eq!(at.to_rfc3339(), "2026-12-01T10:00:00.250+00:00");
    }
}
