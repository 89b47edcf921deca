//! Seeding a history in SQL: contacts, chats and messages spread evenly over `DAYS` days,
//! with the server stopped, in one transaction.
//!
//! Chat `n` (from 1) is created at `start + n × DAYS days / chats`, in queue `n % queues`, on
//! channel `(n / 7) % channels`, owned by agent `(31 n) % agents`, with times that vary by
//! chat (hashes of `n`): time to accept 2 s to 4 min (and 15 min more for one chat in 17),
//! first response 5 s to 3 min after the accept, duration 1 to 41 min past the first
//! response. Most chats are COMPLETED (reason AGENT); one in twenty is a chatbot conversation
//! (never queued, no owner, BOT_TIMEOUT), one in twenty waited and was never accepted
//! (TIMEOUT), one in twenty was transferred (TRANSFERRED). Chats of the last day are open:
//! 40 % IN_PROGRESS, 30 % WAITING, the rest COMPLETED. Every chat has `messages` messages,
//! the customer's and (when owned) the owner's in turn, spread over its duration.
//!
//! The contacts are stamped with the current search-key version but given no keys: this suite
//! never searches them, and the server would otherwise re-key all of them before it starts.

use std::time::{Duration, Instant};

use anyhow::ensure;
use api::domain::contacts::normalize;
use chrono::{DateTime, Utc};

use crate::Backend;
use crate::panel::sql::Conn;

/// Days the history spans.
pub const DAYS: i64 = 60;

/// What to seed, and into what.
pub struct Plan<'a> {
    /// Chats.
    pub chats: u64,
    /// Messages per chat.
    pub messages: u64,
    /// Queue ids.
    pub queues: &'a [i64],
    /// Channel ids.
    pub channels: &'a [i64],
    /// Agent ids (owners).
    pub agents: &'a [i64],
    /// When the history ends (the newest chat was created just before).
    pub end: DateTime<Utc>,
}

/// What was seeded.
#[derive(Clone, Copy, Debug, Default)]
pub struct Seeded {
    /// Chats inserted.
    pub chats: u64,
    /// Messages inserted.
    pub messages: u64,
    /// Wall time of the inserts and ANALYZE.
    pub elapsed: Duration,
}

/// `values` as a VALUES list `(index, value)`.
fn roster(values: &[i64]) -> String {
    values.iter().enumerate().map(|(i, v)| format!("({i}, {v})")).collect::<Vec<_>>().join(", ")
}

/// Seeds `plan`; the chats' ids are consecutive after those already there.
pub async fn seed(conn: &mut Conn, backend: Backend, plan: &Plan<'_>) -> anyhow::Result<Seeded> {
    ensure!(
        !plan.queues.is_empty() && !plan.channels.is_empty() && !plan.agents.is_empty(),
        "nothing to seed into"
    );
    let started = Instant::now();
    let n = plan.chats;
    let start = plan.end - chrono::Duration::days(DAYS);
    let start = start.format("%Y-%m-%dT%H:%M:%S+00:00").to_string();
    // `seconds` (SQL) after `from` (SQL), as the backend stores times.
    let at = |from: &str, seconds: &str| match backend {
        Backend::Postgres => format!("({from}::timestamptz + ({seconds}) * interval '1 second')"),
        Backend::Sqlite => {
            format!("strftime('%Y-%m-%dT%H:%M:%f+00:00', {from}, '+' || ({seconds}) || ' seconds')")
        }
    };
    let series = |name: &str, count: u64| match backend {
        // BIGINT: `n` is multiplied by large constants below.
        Backend::Postgres => format!("{name}(n) AS (SELECT generate_series(1::bigint, {count}))"),
        Backend::Sqlite => {
            format!("{name}(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM {name} WHERE n < {count})")
        }
    };
    let (begin, bigint) = match backend {
        Backend::Postgres => ("BEGIN", "BIGINT"),
        Backend::Sqlite => ("BEGIN IMMEDIATE", "INTEGER"),
    };
    conn.exec(begin).await?;
    conn.exec("DROP TABLE IF EXISTS seed_history").await?;
    conn.exec(&format!(
        "CREATE TEMP TABLE seed_history (n {bigint} PRIMARY KEY, queue_id {bigint}, channel_id {bigint}, \
         agent_id {bigint}, kind TEXT, created_s {bigint}, tta {bigint}, frt {bigint}, dur {bigint})"
    ))
    .await?;
    let open_from = n - n / DAYS as u64;
    let planned = conn
        .exec(&format!(
            "WITH RECURSIVE {series}, q(i, id) AS (VALUES {queues}), ch(i, id) AS (VALUES {channels}), \
               a(i, id) AS (VALUES {agents}) \
             INSERT INTO seed_history (n, queue_id, channel_id, agent_id, kind, created_s, tta, frt, dur) \
             SELECT s.n, q.id, ch.id, a.id, \
               CASE WHEN s.n > {open_from} THEN \
                   CASE WHEN (s.n * 7) % 10 < 4 THEN 'IN_PROGRESS' WHEN (s.n * 7) % 10 < 7 THEN 'WAITING' ELSE 'AGENT' END \
                 WHEN (s.n * 13) % 20 = 0 THEN 'BOT' WHEN (s.n * 13) % 20 = 1 THEN 'ABANDONED' \
                 WHEN (s.n * 13) % 20 = 2 THEN 'TRANSFERRED' ELSE 'AGENT' END, \
               (s.n * {span}) / {n}, \
               2 + (s.n * 7919) % 240 + CASE WHEN s.n % 17 = 0 THEN 900 ELSE 0 END, \
               5 + (s.n * 104729) % 180, 60 + (s.n * 1299709) % 2400 \
             FROM s JOIN q ON q.i = s.n % {nq} JOIN ch ON ch.i = (s.n / 7) % {nc} \
               JOIN a ON a.i = (s.n * 31) % {na}",
            series = series("s", n),
            queues = roster(plan.queues),
            channels = roster(plan.channels),
            agents = roster(plan.agents),
            span = DAYS * 86_400,
            nq = plan.queues.len(),
            nc = plan.channels.len(),
            na = plan.agents.len(),
        ))
        .await?;
    ensure!(planned == n, "planned {planned} chats, expected {n}");

    let created = at(&format!("'{start}'"), "p.created_s");
    let contacts_before = max_id(conn, "contacts").await?;
    conn.exec(&format!(
        "INSERT INTO contacts (name, email, mobile_phone, created_at, updated_at, keys_version) \
         SELECT 'History customer ' || p.n, 'history.' || p.n || '@example.com', '+1666' || (10000000 + p.n), \
           {created}, {created}, {version} FROM seed_history p ORDER BY p.n",
        version = normalize::VERSION,
    ))
    .await?;
    let chats_before = max_id(conn, "chats").await?;
    // Which times a kind of chat has.
    let queued = "p.kind <> 'BOT'";
    let accepted = "p.kind IN ('IN_PROGRESS', 'AGENT', 'TRANSFERRED')";
    let completed = "p.kind NOT IN ('IN_PROGRESS', 'WAITING')";
    let inserted = conn
        .exec(&format!(
            "INSERT INTO chats (contact_id, channel_id, queue_id, owner_id, directed_agent_id, parent_chat_id, \
               status, completion_reason, created_at, accepted_at, first_response_at, completed_at, \
               close_deadline, last_message_at, updated_at, queued_at) \
             SELECT {contacts_before} + p.n, p.channel_id, p.queue_id, CASE WHEN {accepted} THEN p.agent_id END, \
               NULL, NULL, \
               CASE p.kind WHEN 'IN_PROGRESS' THEN 'IN_PROGRESS' WHEN 'WAITING' THEN 'WAITING' ELSE 'COMPLETED' END, \
               CASE p.kind WHEN 'BOT' THEN 'BOT_TIMEOUT' WHEN 'ABANDONED' THEN 'TIMEOUT' \
                 WHEN 'TRANSFERRED' THEN 'TRANSFERRED' WHEN 'AGENT' THEN 'AGENT' END, \
               {created}, CASE WHEN {accepted} THEN {accept_at} END, CASE WHEN {accepted} THEN {answer_at} END, \
               CASE WHEN {completed} THEN {complete_at} END, NULL, {last_at}, {last_at}, \
               CASE WHEN {queued} THEN {created} END \
             FROM seed_history p ORDER BY p.n",
            accept_at = at(&format!("'{start}'"), "p.created_s + p.tta"),
            answer_at = at(&format!("'{start}'"), "p.created_s + p.tta + p.frt"),
            complete_at = at(&format!("'{start}'"), "p.created_s + p.tta + p.frt + p.dur"),
            last_at = at(&format!("'{start}'"), &format!("p.created_s + (p.tta + p.frt + p.dur) * {} / {}", plan.messages.max(1) - 1, plan.messages.max(1))),
        ))
        .await?;
    ensure!(inserted == n, "inserted {inserted} chats, expected {n}");

    // Message k (from 1) at k-1 tenths of the chat's length; odd ones from the customer, even
    // ones from the owner (all from the customer while nobody owns the chat).
    let incoming = "(k.n % 2 = 1 OR c.owner_id IS NULL)";
    let messages = conn
        .exec(&format!(
            "WITH RECURSIVE {series} \
             INSERT INTO messages (chat_id, channel_id, direction, author_kind, author_agent_id, kind, text, \
               provider_message_id, delivery_status, created_at) \
             SELECT c.id, c.channel_id, CASE WHEN {incoming} THEN 'INCOMING' ELSE 'OUTGOING' END, \
               CASE WHEN {incoming} THEN 'CONTACT' ELSE 'AGENT' END, CASE WHEN {incoming} THEN NULL ELSE c.owner_id END, \
               'TEXT', CASE WHEN {incoming} THEN 'Hello, about my order #' || c.id || ', message ' || k.n \
                 ELSE 'Thanks! Order #' || c.id || ' ships tomorrow.' END, \
               'wamid.history.' || c.id || '.' || k.n, CASE WHEN {incoming} THEN NULL ELSE 'READ' END, \
               {message_at} \
             FROM seed_history p JOIN chats c ON c.id = {chats_before} + p.n JOIN k ON k.n <= {per_chat} \
             ORDER BY c.id, k.n",
            series = series("k", plan.messages.max(1)),
            per_chat = plan.messages,
            message_at = at(&format!("'{start}'"), &format!("p.created_s + (p.tta + p.frt + p.dur) * (k.n - 1) / {}", plan.messages.max(1))),
        ))
        .await?;
    conn.exec("DROP TABLE seed_history").await?;
    conn.exec("COMMIT").await?;
    crate::panel::seed::analyze(conn, backend).await?;
    Ok(Seeded { chats: inserted, messages, elapsed: started.elapsed() })
}

/// The largest id in `table` (0 when empty).
async fn max_id(conn: &mut Conn, table: &str) -> anyhow::Result<i64> {
    Ok(conn.ints(&format!("SELECT COALESCE(MAX(id), 0) FROM {table}")).await?.first().copied().unwrap_or(0))
}
