//! Bulk seeding in SQL, not through the API: contacts, chats, assignments and messages
//! inserted with `INSERT ... SELECT` over a number series (`generate_series` on PostgreSQL, a
//! recursive CTE on SQLite), in one transaction.

use std::time::{Duration, Instant};

use anyhow::ensure;

use super::sql::Conn;
use crate::Backend;

/// Messages in each chat in progress (more than the panel's 20, so `messages(last: 20)` reads
/// a full page).
pub const IN_PROGRESS_MESSAGES: u64 = 30;
/// The text timestamps look like on SQLite: RFC 3339, like the server writes them.
const SQLITE_TIME: &str = "'%Y-%m-%dT%H:%M:%f+00:00'";

/// What to seed. Chat `n` (from 1) belongs to agent `n % agents` while COMPLETED; the open
/// chats come last, block by block: each agent gets `in_progress`, then `directed`, then
/// `offered` chats.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// COMPLETED chats (owned, with an ACCEPTANCE assignment).
    pub completed: u64,
    /// IN_PROGRESS chats per agent (owned, with an ACCEPTANCE assignment).
    pub in_progress: u64,
    /// WAITING chats per agent directed to them (with an open DIRECTION assignment).
    pub directed: u64,
    /// WAITING chats per agent offered to them (with an open OFFER assignment).
    pub offered: u64,
    /// Messages per COMPLETED chat.
    pub completed_messages: u64,
    /// Messages per WAITING chat (all from the customer).
    pub waiting_messages: u64,
    /// Whether COMPLETED chats get their ACCEPTANCE assignment (the agents' history).
    pub history: bool,
}

impl Layout {
    /// Chats in all, for `agents` agents.
    pub fn chats(&self, agents: u64) -> u64 {
        self.completed + agents * (self.in_progress + self.directed + self.offered)
    }
}

/// What was seeded.
#[derive(Clone, Copy, Debug, Default)]
pub struct Seeded {
    /// Rows inserted per table.
    pub contacts: u64,
    /// Chats inserted.
    pub chats: u64,
    /// Messages inserted.
    pub messages: u64,
    /// Assignments inserted.
    pub assignments: u64,
    /// Id of the first chat inserted (they are consecutive).
    pub first_chat: i64,
    /// Wall time of the inserts (and of ANALYZE, when that follows).
    pub elapsed: Duration,
}

/// SQL that differs between the backends.
struct Dialect(Backend);

impl Dialect {
    /// A CTE `name(n)` of the integers 1..=count.
    fn series(&self, name: &str, count: u64) -> String {
        match self.0 {
            Backend::Postgres => format!("{name}(n) AS (SELECT generate_series(1, {count}))"),
            Backend::Sqlite => {
                format!("{name}(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM {name} WHERE n < {count})")
            }
        }
    }

    /// The time `minutes` (an SQL expression) before now.
    fn ago(&self, minutes: &str) -> String {
        match self.0 {
            Backend::Postgres => format!("(now() - ({minutes}) * interval '1 minute')"),
            Backend::Sqlite => format!("strftime({SQLITE_TIME}, 'now', '-' || ({minutes}) || ' minutes')"),
        }
    }

    /// `time` (an SQL expression) plus `minutes` (another).
    fn plus(&self, time: &str, minutes: &str) -> String {
        match self.0 {
            Backend::Postgres => format!("({time} + ({minutes}) * interval '1 minute')"),
            Backend::Sqlite => format!("strftime({SQLITE_TIME}, {time}, '+' || ({minutes}) || ' minutes')"),
        }
    }

    /// 30 days from now.
    fn next_month(&self) -> String {
        match self.0 {
            Backend::Postgres => "(now() + interval '30 days')".to_owned(),
            Backend::Sqlite => format!("strftime({SQLITE_TIME}, 'now', '+30 days')"),
        }
    }

    fn begin(&self) -> &'static str {
        match self.0 {
            Backend::Postgres => "BEGIN",
            // Take the write lock up front, as the server does.
            Backend::Sqlite => "BEGIN IMMEDIATE",
        }
    }
}

/// Seeds `layout` for `agents` (agent ids; chat `n` of an agent block goes to `agents[i]`) in
/// queue `queue` and channel `channel`, in one transaction. `tag` tells the contacts of one
/// seeding from another's.
pub async fn seed(
    conn: &mut Conn,
    backend: Backend,
    agents: &[i64],
    (queue, channel): (i64, i64),
    layout: &Layout,
    tag: &str,
) -> anyhow::Result<Seeded> {
    ensure!(!agents.is_empty(), "no agents to seed chats for");
    let started = Instant::now();
    let sql = Dialect(backend);
    let a = agents.len() as u64;
    let total = layout.chats(a);
    let done = layout.completed;
    let open_per_agent = layout.in_progress + layout.directed + layout.offered;
    let roster: Vec<String> = agents.iter().enumerate().map(|(i, id)| format!("({i}, {id})")).collect();

    conn.exec(sql.begin()).await?;
    conn.exec("DROP TABLE IF EXISTS seed_plan").await?;
    conn.exec(
        "CREATE TEMP TABLE seed_plan (n INTEGER PRIMARY KEY, agent_id BIGINT NOT NULL, state TEXT NOT NULL)",
    )
    .await?;
    // Which agent and state chat n gets.
    let planned = conn
        .exec(&format!(
            "WITH RECURSIVE {series}, roster(idx, id) AS (VALUES {roster}) \
             INSERT INTO seed_plan (n, agent_id, state) \
             SELECT s.n, r.id, CASE WHEN s.n <= {done} THEN 'COMPLETED' \
               WHEN (s.n - {done} - 1) / {a} < {p} THEN 'IN_PROGRESS' \
               WHEN (s.n - {done} - 1) / {a} < {pd} THEN 'DIRECTED' ELSE 'OFFERED' END \
             FROM s JOIN roster r ON r.idx = CASE WHEN s.n <= {done} THEN s.n % {a} ELSE (s.n - {done} - 1) % {a} END",
            series = sql.series("s", total),
            roster = roster.join(", "),
            p = layout.in_progress,
            pd = layout.in_progress + layout.directed,
        ))
        .await?;
    ensure!(planned == total, "planned {planned} chats, expected {total}");

    // Chat n was created n minutes after chat n-1; the newest an hour ago.
    let created = sql.ago(&format!("({total} - n) + 60"));
    let contact_base = next_id(conn, "contacts").await?;
    let contacts = conn
        .exec(&format!(
            "INSERT INTO contacts (name, email, mobile_phone, created_at, updated_at) \
             SELECT 'Customer {tag}-' || n, 'customer.{tag}.' || n || '@example.com', '+1555' || (10000000 + n), \
               {created}, {created} FROM seed_plan ORDER BY n"
        ))
        .await?;
    check_consecutive(conn, "contacts", contact_base, total).await?;

    let messages_of = format!(
        "CASE p.state WHEN 'COMPLETED' THEN {} WHEN 'IN_PROGRESS' THEN {IN_PROGRESS_MESSAGES} ELSE {} END",
        layout.completed_messages, layout.waiting_messages
    );
    let chat_base = next_id(conn, "chats").await?;
    let owned = "p.state IN ('COMPLETED', 'IN_PROGRESS')";
    let chats = conn
        .exec(&format!(
            "INSERT INTO chats (contact_id, channel_id, queue_id, owner_id, directed_agent_id, parent_chat_id, \
               status, completion_reason, created_at, accepted_at, first_response_at, completed_at, \
               close_deadline, last_message_at, updated_at) \
             SELECT {contact_base} + p.n, {channel}, {queue}, \
               CASE WHEN {owned} THEN p.agent_id END, CASE WHEN p.state = 'DIRECTED' THEN p.agent_id END, NULL, \
               CASE p.state WHEN 'COMPLETED' THEN 'COMPLETED' WHEN 'IN_PROGRESS' THEN 'IN_PROGRESS' ELSE 'WAITING' END, \
               CASE WHEN p.state = 'COMPLETED' THEN 'AGENT' END, \
               p.created, CASE WHEN {owned} THEN {accepted} END, CASE WHEN {owned} THEN {answered} END, \
               CASE WHEN p.state = 'COMPLETED' THEN {completed} END, NULL, {last}, \
               CASE WHEN p.state = 'COMPLETED' THEN {completed} ELSE {last} END \
             FROM (SELECT n, agent_id, state, {created} AS created FROM seed_plan) p ORDER BY p.n",
            accepted = sql.plus("p.created", "1"),
            answered = sql.plus("p.created", "2"),
            completed = sql.plus("p.created", &format!("{messages_of} + 5")),
            last = sql.plus("p.created", &format!("{messages_of} - 1")),
        ))
        .await?;
    check_consecutive(conn, "chats", chat_base, total).await?;

    let assignments = conn
        .exec(&format!(
            "INSERT INTO assignments (chat_id, agent_id, queue_id, kind, outcome, created_at, deadline, ended_at) \
             SELECT c.id, p.agent_id, c.queue_id, \
               CASE p.state WHEN 'OFFERED' THEN 'OFFER' WHEN 'DIRECTED' THEN 'DIRECTION' ELSE 'ACCEPTANCE' END, \
               CASE WHEN {owned} THEN 'ACCEPTED' END, COALESCE(c.accepted_at, c.created_at), \
               CASE WHEN {owned} THEN NULL ELSE {deadline} END, c.accepted_at \
             FROM seed_plan p JOIN chats c ON c.id = {chat_base} + p.n {only_open} ORDER BY p.n",
            deadline = sql.next_month(),
            only_open = if layout.history { "" } else { "WHERE p.state <> 'COMPLETED'" },
        ))
        .await?;

    // Odd messages come from the customer, even ones are the owner's replies (all from the
    // customer while nobody owns the chat), one minute apart.
    let incoming = "(k.n % 2 = 1 OR c.owner_id IS NULL)";
    let most = layout.completed_messages.max(IN_PROGRESS_MESSAGES).max(layout.waiting_messages);
    let messages = conn
        .exec(&format!(
            "WITH RECURSIVE {series} \
             INSERT INTO messages (chat_id, channel_id, direction, author_kind, author_agent_id, kind, text, \
               provider_message_id, delivery_status, created_at) \
             SELECT c.id, c.channel_id, \
               CASE WHEN {incoming} THEN 'INCOMING' ELSE 'OUTGOING' END, \
               CASE WHEN {incoming} THEN 'CONTACT' ELSE 'AGENT' END, \
               CASE WHEN {incoming} THEN NULL ELSE c.owner_id END, 'TEXT', \
               CASE WHEN {incoming} THEN 'Hello, this is message ' || k.n || ' about order #' || c.id || '. When will it arrive?' \
                 ELSE 'Thanks for waiting! Order #' || c.id || ' ships tomorrow; anything else I can do?' END, \
               'wamid.seed.' || c.id || '.' || k.n, CASE WHEN {incoming} THEN NULL ELSE 'READ' END, \
               {at} \
             FROM seed_plan p JOIN chats c ON c.id = {chat_base} + p.n JOIN k ON k.n <= {messages_of} \
             ORDER BY c.id, k.n",
            series = sql.series("k", most),
            at = sql.plus("c.created_at", "k.n - 1"),
        ))
        .await?;
    conn.exec("DROP TABLE seed_plan").await?;
    conn.exec("COMMIT").await?;
    ensure!(
        total == layout.completed + a * open_per_agent,
        "internal: the layout's chat count does not add up"
    );
    Ok(Seeded {
        contacts,
        chats,
        messages,
        assignments,
        first_chat: chat_base + 1,
        elapsed: started.elapsed(),
    })
}

/// Refreshes the planner's statistics after a bulk load: `VACUUM ANALYZE` on PostgreSQL (which
/// also sets the visibility map, as autovacuum would on a live database); `ANALYZE` and a WAL
/// checkpoint on SQLite.
pub async fn analyze(conn: &mut Conn, backend: Backend) -> anyhow::Result<()> {
    match backend {
        Backend::Postgres => conn.exec("VACUUM ANALYZE").await?,
        Backend::Sqlite => conn.exec("ANALYZE; PRAGMA wal_checkpoint(TRUNCATE)").await?,
    };
    Ok(())
}

/// The largest id in `table` so far (0 when empty).
async fn next_id(conn: &mut Conn, table: &str) -> anyhow::Result<i64> {
    let max = conn.ints(&format!("SELECT COALESCE(MAX(id), 0) FROM {table}")).await?;
    Ok(max.first().copied().unwrap_or(0))
}

/// The rows just inserted into `table` must have the ids `base + 1 ..= base + count` (the
/// later inserts join on that).
async fn check_consecutive(conn: &mut Conn, table: &str, base: i64, count: u64) -> anyhow::Result<()> {
    let found =
        conn.pairs(&format!("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM {table} WHERE id > {base}")).await?;
    let (rows, max) = found.first().copied().unwrap_or_default();
    ensure!(
        rows == count as i64 && max == base + count as i64,
        "{table}: expected ids {}..={} after the bulk insert, found {rows} rows up to {max}",
        base + 1,
        base + count as i64
    );
    Ok(())
}
