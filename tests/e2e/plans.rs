//! Query plans of the history and analytics reads (issue 13, item 9): over a long seeded
//! history (40,000 chats over 14 months, mostly completed), the statements the domain builds
//! for each common filter and order read chats through an index — no full scan of `chats` —
//! on SQLite (`EXPLAIN QUERY PLAN`) and PostgreSQL (`EXPLAIN (FORMAT JSON)`). Plans are
//! checked, never times. The indexes and the plans before and after are in docs/metrics.md
//! ("Indexes behind history and analytics").

use api::domain::history::{self, Cursor, Filter, Order, OrderField, Range};
use api::domain::ids::{AgentId, ContactId};
use api::domain::sessions::Principal;
use chrono::{DateTime, Duration, Utc};
use entity::enums::{ChatStatus, CompletionReason, Role};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter, QueryTrait, Statement,
};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Backend, TestApp};

/// Chats seeded: one every 15 minutes from [`START`]; the last [`OPEN`] are still open.
const CHATS: i64 = 40_000;
/// Open chats (WAITING, IN_PROGRESS, BOT_PROCESSING), the newest ones.
const OPEN: i64 = 400;
/// Seconds between two chats.
const EVERY: i64 = 900;
/// 2025-01-01T00:00:00Z, the first chat's creation (seconds since the epoch).
const START: i64 = 1_735_689_600;
/// Queues, channels (two per queue), agents and contacts seeded; their ids start at 1000.
const QUEUES: i64 = 8;
const AGENTS: i64 = 40;
const CONTACTS: i64 = 10_000;

on_both_backends!(history_and_analytics_read_chats_through_indexes);

/// A history page to plan: what it is, who asks, the filter, the order, the cursor, and
/// whether its plan may sort the matches ([`MAY_SORT`]) or must read them in order.
type Page<'a> = (&'a str, &'a Principal, Filter, Order, Option<Cursor>, bool);

/// A page that must be read in its order, never sorted (its filter matches most chats).
const IN_ORDER: bool = false;
/// A page whose filter bounds its matches to a small part of the history: sorting them is
/// fine.
const MAY_SORT: bool = true;

/// The time of chat `n`'s creation plus `seconds`, as the backend stores times.
fn at(backend: DatabaseBackend, seconds: &str) -> String {
    match backend {
        DatabaseBackend::Postgres => format!("to_timestamp({seconds})"),
        _ => format!("strftime('%Y-%m-%dT%H:%M:%f+00:00', {seconds}, 'unixepoch')"),
    }
}

/// Seeds the queues, channels, agents, contacts and chats in five statements, then ANALYZE.
async fn seed(db: &DatabaseConnection) {
    let backend = db.get_database_backend();
    let series = |count: i64| match backend {
        DatabaseBackend::Postgres => format!("WITH s(n) AS (SELECT generate_series(1, {count}))"),
        _ => format!("WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {count})"),
    };
    let now = at(backend, &START.to_string());
    let run = |sql: String| async move {
        db.execute_unprepared(&sql).await.unwrap_or_else(|err| panic!("{sql}: {err}"));
    };
    run(format!(
        "{} INSERT INTO queues (id, name, routing_rule, created_at, updated_at) \
         SELECT 999 + n, 'Queue ' || n, 'TO_ALL_AGENTS', {now}, {now} FROM s",
        series(QUEUES)
    ))
    .await;
    run(format!(
        "{} INSERT INTO channels (id, kind, name, active, queue_id, credentials, created_at, updated_at) \
         SELECT 999 + n, 'WHATSAPP', 'Channel ' || n, true, 1000 + (n - 1) / 2, '{{}}', {now}, {now} FROM s",
        series(2 * QUEUES)
    ))
    .await;
    run(format!(
        "{} INSERT INTO agents (id, name, email, password_hash, role, status, enabled, created_at, updated_at) \
         SELECT 999 + n, 'Agent ' || n, 'agent' || n || '@plans.test', 'x', 'AGENT', 'ACTIVE', true, {now}, {now} \
         FROM s",
        series(AGENTS)
    ))
    .await;
    run(format!(
        "{} INSERT INTO contacts (id, name, created_at, updated_at) SELECT 999 + n, 'Customer ' || n, {now}, {now} \
         FROM s",
        series(CONTACTS)
    ))
    .await;
    // Chat n: queue n % 8, one of the queue's two channels, agent n % 40, contact n % 10,000;
    // completed by its agent (1 in 20 transferred, 1 in 20 a bot conversation handed over, 1 in
    // 20 timed out, 1 in 20 by a supervisor) 10 to 40 minutes after its creation; the newest
    // 400 open (a quarter WAITING, a quarter with a bot, half IN_PROGRESS).
    let created = format!("{START} + n * {EVERY}");
    let completed = format!("{created} + 600 + (n % 7) * 300");
    run(format!(
        "{series} INSERT INTO chats (id, contact_id, channel_id, queue_id, owner_id, status, completion_reason, \
           created_at, queued_at, accepted_at, first_response_at, completed_at, last_message_at, updated_at) \
         SELECT n, 1000 + n % {CONTACTS}, 1000 + (n % {QUEUES}) * 2 + (n / {QUEUES}) % 2, 1000 + n % {QUEUES}, \
           CASE WHEN bot = 0 AND st <> 'WAITING' THEN 1000 + n % {AGENTS} END, st, \
           CASE WHEN st = 'COMPLETED' THEN reason END, {created_at}, \
           CASE WHEN bot = 0 THEN {created_at} END, CASE WHEN bot = 0 AND st <> 'WAITING' THEN {accepted} END, \
           CASE WHEN bot = 0 AND st <> 'WAITING' THEN {responded} END, \
           CASE WHEN st = 'COMPLETED' THEN {completed_at} END, \
           CASE WHEN st = 'COMPLETED' THEN {last} ELSE {responded} END, \
           CASE WHEN st = 'COMPLETED' THEN {completed_at} ELSE {created_at} END \
         FROM (SELECT n, \
             CASE WHEN n <= {closed} THEN 'COMPLETED' \
               ELSE CASE n % 4 WHEN 0 THEN 'WAITING' WHEN 1 THEN 'BOT_PROCESSING' ELSE 'IN_PROGRESS' END END AS st, \
             CASE n % 20 WHEN 0 THEN 'TRANSFERRED' WHEN 1 THEN 'BOT_HANDOVER' WHEN 2 THEN 'TIMEOUT' \
               WHEN 3 THEN 'SUPERVISOR' ELSE 'AGENT' END AS reason, \
             CASE WHEN (n <= {closed} AND n % 20 = 1) OR (n > {closed} AND n % 4 = 1) THEN 1 ELSE 0 END AS bot \
           FROM s) p",
        series = series(CHATS),
        closed = CHATS - OPEN,
        created_at = at(backend, &created),
        accepted = at(backend, &format!("{created} + 60")),
        responded = at(backend, &format!("{created} + 120")),
        completed_at = at(backend, &completed),
        last = at(backend, &format!("{completed} - 60")),
    ))
    .await;
    // Four messages per chat (the panel's read takes a chat's latest ones).
    run("INSERT INTO messages (chat_id, channel_id, direction, author_kind, kind, text, created_at) \
         SELECT c.id, c.channel_id, 'INCOMING', 'CONTACT', 'TEXT', 'message ' || k.n, c.created_at \
         FROM chats c, (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k"
        .to_owned())
    .await;
    // Every chat that waited was offered to its agent: an ended offer per chat that was
    // accepted or timed out, an open one per WAITING chat (what myChats' `new` list reads).
    run(format!(
        "INSERT INTO assignments (chat_id, agent_id, queue_id, kind, outcome, created_at, ended_at) \
         SELECT id, 1000 + id % {AGENTS}, queue_id, 'OFFER', \
           CASE WHEN status = 'WAITING' THEN NULL ELSE 'ACCEPTED' END, created_at, \
           CASE WHEN status = 'WAITING' THEN NULL ELSE accepted_at END \
         FROM chats WHERE queued_at IS NOT NULL"
    ))
    .await;
    match backend {
        DatabaseBackend::Postgres => run("VACUUM ANALYZE".into()).await,
        _ => run("ANALYZE".into()).await,
    }
}

/// The creation time of chat `n`.
fn created(n: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(START + n * EVERY, 0).unwrap()
}

/// The last `days` days of the history.
fn last_days(days: i64) -> Range {
    let to = created(CHATS) + Duration::minutes(1);
    Range { from: Some(to - Duration::days(days)), to: Some(to) }
}

fn order(field: OrderField, descending: bool) -> Order {
    Order { field, descending }
}

/// How a plan may read `chats`.
#[derive(Clone, Copy, Debug)]
enum Bound {
    /// A page: an index search, or a scan of the order's own index (read in order and
    /// stopped by the LIMIT); sorting the matches only when `sorts` (the filter bounds them to
    /// a small part of the history: a contact's, an agent's or a queue's chats, a time range,
    /// the open chats). Otherwise every page would read and sort most of the table.
    Page { field: OrderField, sorts: bool },
    /// A count or an aggregate: only index searches (every row read matches an index
    /// condition), never a scan.
    Searched,
}

/// The index names that give `field`'s order, ties by id (on SQLite an index on one column
/// ends with the rowid, the id).
fn order_indexes(field: OrderField) -> &'static [&'static str] {
    match field {
        OrderField::CreatedAt => &["idx_chats_created_at_id"],
        OrderField::CompletedAt => &["idx_chats_completed_at_id"],
        OrderField::LastMessageAt => &["idx_chats_last_message_at_id"],
    }
}

/// The plan of `statement` as text lines (for the report), and whether it reads `chats` as
/// `bound` allows (the offending lines otherwise).
async fn check(db: &DatabaseConnection, statement: &Statement, bound: Bound) -> (Vec<String>, Vec<String>) {
    let backend = db.get_database_backend();
    let values = statement.values.clone().map(|v| v.0).unwrap_or_default();
    let explain = |prefix: &str| {
        Statement::from_sql_and_values(backend, format!("{prefix} {}", statement.sql), values.clone())
    };
    let mut bad = Vec::new();
    let lines: Vec<String> = match backend {
        DatabaseBackend::Postgres => {
            let text = db.query_all_raw(explain("EXPLAIN (COSTS OFF)")).await.expect("EXPLAIN");
            let lines = text.iter().map(|row| row.try_get::<String>("", "QUERY PLAN").unwrap()).collect();
            let row = db.query_one_raw(explain("EXPLAIN (FORMAT JSON)")).await.expect("EXPLAIN").unwrap();
            let plan: Value = row.try_get("", "QUERY PLAN").unwrap();
            let mut nodes = vec![plan[0]["Plan"].clone()];
            while let Some(node) = nodes.pop() {
                if let Some(children) = node["Plans"].as_array() {
                    nodes.extend(children.iter().cloned());
                }
                let sort = matches!(node["Node Type"].as_str(), Some("Sort" | "Incremental Sort"));
                if sort && matches!(bound, Bound::Page { sorts: false, .. }) {
                    bad.push(format!("{} of the matches", node["Node Type"]));
                }
                if node["Relation Name"] == "assignments" && node["Node Type"] == "Seq Scan" {
                    bad.push("Seq Scan on assignments".into());
                }
                if node["Relation Name"] != "chats" {
                    continue;
                }
                let kind = node["Node Type"].as_str().unwrap_or_default();
                let index = node["Index Name"].as_str().unwrap_or_default();
                let searched = node.get("Index Cond").is_some();
                let ok = match kind {
                    "Seq Scan" => false,
                    "Index Scan" | "Index Only Scan" => {
                        searched
                            || matches!(bound, Bound::Page { field, .. } if order_indexes(field).contains(&index))
                    }
                    // Its Bitmap Index Scans are searches (they always have an Index Cond).
                    "Bitmap Heap Scan" => true,
                    _ => true,
                };
                if !ok {
                    bad.push(format!("{kind} on chats {index}"));
                }
            }
            lines
        }
        _ => {
            let rows = db.query_all_raw(explain("EXPLAIN QUERY PLAN")).await.expect("EXPLAIN QUERY PLAN");
            let lines: Vec<String> =
                rows.iter().map(|row| row.try_get::<String>("", "detail").unwrap()).collect();
            let sorted = lines.iter().any(|line| line.contains("TEMP B-TREE FOR ORDER BY"));
            if sorted && matches!(bound, Bound::Page { sorts: false, .. }) {
                bad.push("USE TEMP B-TREE FOR ORDER BY (a sort of the matches)".into());
            }
            bad.extend(lines.iter().filter(|line| line.starts_with("SCAN assignments")).cloned());
            for line in &lines {
                let Some(rest) = line.strip_prefix("SCAN chats") else { continue };
                let index = rest.rsplit(' ').next().unwrap_or_default();
                let ok = matches!(bound, Bound::Page { field, .. }
                    if rest.contains("INDEX") && !sorted && order_indexes(field).contains(&index));
                if !ok {
                    bad.push(line.clone());
                }
            }
            lines
        }
    };
    (lines, bad)
}

async fn history_and_analytics_read_chats_through_indexes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed(&app.db).await;
    let analyst = Principal { agent_id: AgentId(1000), role: Role::Analyst, session_id: String::new() };
    let agent = Principal { agent_id: AgentId(1007), role: Role::Agent, session_id: String::new() };
    let any = Filter::default;
    let statuses = |status| Filter { statuses: vec![status], ..any() };
    let desc = |field| order(field, true);
    let asc = |field| order(field, false);
    use OrderField::{CompletedAt, CreatedAt, LastMessageAt};
    // A deep page: after the 30,000th chat, newest first.
    let deep = Some(Cursor { at: created(10_000), id: 10_000 });

    // (what, who, filter, order, cursor, may sort its matches): the history lists analysts and
    // supervisors ask for.
    let pages: Vec<Page> = vec![
        ("everything, newest first", &analyst, any(), desc(CreatedAt), None, IN_ORDER),
        ("everything, oldest first, deep page", &analyst, any(), asc(CreatedAt), deep, IN_ORDER),
        ("everything, newest first, deep page", &analyst, any(), desc(CreatedAt), deep, IN_ORDER),
        ("everything by completion, newest first", &analyst, any(), desc(CompletedAt), None, IN_ORDER),
        ("everything by last message, newest first", &analyst, any(), desc(LastMessageAt), None, IN_ORDER),
        (
            "completed, newest first",
            &analyst,
            statuses(ChatStatus::Completed),
            desc(CreatedAt),
            None,
            IN_ORDER,
        ),
        (
            "completed, newest first, deep page",
            &analyst,
            statuses(ChatStatus::Completed),
            desc(CreatedAt),
            deep,
            IN_ORDER,
        ),
        ("waiting, oldest first", &analyst, statuses(ChatStatus::Waiting), asc(CreatedAt), None, MAY_SORT),
        // The supervisors' waiting lists (issue 15): one queue, and two.
        (
            "waiting in one queue, oldest first",
            &analyst,
            Filter { statuses: vec![ChatStatus::Waiting], queues: vec![1003], ..any() },
            asc(CreatedAt),
            None,
            MAY_SORT,
        ),
        (
            "waiting in two queues, oldest first",
            &analyst,
            Filter { statuses: vec![ChatStatus::Waiting], queues: vec![1003, 1004], ..any() },
            asc(CreatedAt),
            None,
            MAY_SORT,
        ),
        (
            "one channel, newest first",
            &analyst,
            Filter { channels: vec![1005], ..any() },
            desc(CreatedAt),
            None,
            IN_ORDER,
        ),
        (
            "transferred, newest first",
            &analyst,
            Filter { transferred: Some(true), ..any() },
            desc(CreatedAt),
            None,
            IN_ORDER,
        ),
        (
            "bot conversations, newest first",
            &analyst,
            Filter { bot_handled: Some(true), ..any() },
            desc(CreatedAt),
            None,
            IN_ORDER,
        ),
        (
            "one queue, newest first",
            &analyst,
            Filter { queues: vec![1003], ..any() },
            desc(CreatedAt),
            None,
            MAY_SORT,
        ),
        (
            "one queue, newest first, deep page",
            &analyst,
            Filter { queues: vec![1003], ..any() },
            desc(CreatedAt),
            deep,
            MAY_SORT,
        ),
        (
            "one queue, completed in the last 30 days, by completion",
            &analyst,
            Filter {
                queues: vec![1003],
                statuses: vec![ChatStatus::Completed],
                completed: last_days(30),
                ..any()
            },
            desc(CompletedAt),
            None,
            MAY_SORT,
        ),
        (
            "one agent's chats, newest first",
            &analyst,
            Filter { owners: vec![1011], ..any() },
            desc(CreatedAt),
            None,
            MAY_SORT,
        ),
        (
            "one agent's chats, newest first, deep page",
            &analyst,
            Filter { owners: vec![1011], ..any() },
            desc(CreatedAt),
            Some(Cursor { at: created(20_000), id: 20_000 }),
            MAY_SORT,
        ),
        (
            "one agent, completed in the last 7 days, by completion",
            &analyst,
            Filter { owners: vec![1011], completed: last_days(7), ..any() },
            desc(CompletedAt),
            None,
            MAY_SORT,
        ),
        (
            "one contact, newest first",
            &analyst,
            Filter { contact: Some(1234), ..any() },
            desc(CreatedAt),
            None,
            MAY_SORT,
        ),
        (
            "created in the last 30 days, oldest first",
            &analyst,
            Filter { created: last_days(30), ..any() },
            asc(CreatedAt),
            None,
            MAY_SORT,
        ),
        (
            "created in the last 30 days, by last message",
            &analyst,
            Filter { created: last_days(30), ..any() },
            desc(LastMessageAt),
            None,
            MAY_SORT,
        ),
        (
            "completed in the last day, oldest first",
            &analyst,
            Filter { completed: last_days(1), ..any() },
            asc(CompletedAt),
            None,
            MAY_SORT,
        ),
        (
            "timed out in the last 30 days, newest first",
            &analyst,
            Filter { completion_reasons: vec![CompletionReason::Timeout], created: last_days(30), ..any() },
            desc(CreatedAt),
            None,
            MAY_SORT,
        ),
        ("an agent's own history, newest first", &agent, any(), desc(CreatedAt), None, MAY_SORT),
    ];
    // (what, filter, order): `totalCount` and the chatStats filters, over a bounded set.
    let counts: Vec<(&str, Filter, Order)> = vec![
        ("created in the last 30 days", Filter { created: last_days(30), ..any() }, asc(CreatedAt)),
        ("completed in the last 30 days", Filter { completed: last_days(30), ..any() }, asc(CompletedAt)),
        (
            "one queue, created in the last 30 days",
            Filter { queues: vec![1003], created: last_days(30), ..any() },
            asc(CreatedAt),
        ),
        ("one agent's chats", Filter { owners: vec![1011], ..any() }, asc(CreatedAt)),
        ("one contact's chats", Filter { contact: Some(1234), ..any() }, asc(CreatedAt)),
        ("one queue's chats", Filter { queues: vec![1003], ..any() }, asc(CreatedAt)),
        ("one channel's chats", Filter { channels: vec![1005], ..any() }, asc(CreatedAt)),
        (
            "open chats",
            Filter { statuses: vec![ChatStatus::Waiting, ChatStatus::InProgress], ..any() },
            asc(CreatedAt),
        ),
        (
            "transferred in the last 30 days",
            Filter { transferred: Some(true), created: last_days(30), ..any() },
            asc(CreatedAt),
        ),
    ];

    let db = &app.db;
    let mut failures = Vec::new();
    let mut report = |what: String, lines: Vec<String>, bad: Vec<String>| {
        println!("== {what}\n   {}", lines.join("\n   "));
        if !bad.is_empty() {
            failures.push(format!("{what}: {}", bad.join("; ")));
        }
    };
    for (what, who, filter, order, after, sorts) in &pages {
        let statement = history::page_query(who, filter, *order, *after, 100)
            .expect("a valid page")
            .build(db.get_database_backend());
        let (lines, bad) = check(db, &statement, Bound::Page { field: order.field, sorts: *sorts }).await;
        report(format!("page: {what}"), lines, bad);
    }
    for (what, filter, order) in &counts {
        let statement = history::count_query(&analyst, filter, *order)
            .expect("a valid count")
            .build(db.get_database_backend());
        let (lines, bad) = check(db, &statement, Bound::Searched).await;
        report(format!("totalCount: {what}"), lines, bad);
        // chatStats reads the chats the same filter selects (api/src/domain/analytics.rs).
        let statement = entity::chats::Entity::find()
            .filter(filter.condition(&analyst).expect("a valid filter"))
            .build(db.get_database_backend());
        let (lines, bad) = check(db, &statement, Bound::Searched).await;
        report(format!("chatStats rows: {what}"), lines, bad);
    }
    // The chatStats cache's snapshot (docs/metrics.md, "The result cache"), for a part read up
    // to the 39,000th chat: through indexes, and on PostgreSQL in its generic plan too (the
    // plan a prepared statement gets after five runs, which cannot see the bound id; a first
    // version's generic plan scanned chats).
    let backend = db.get_database_backend();
    let snapshot = api::domain::analytics::snapshot_statement(backend, 39_000, created(38_000));
    let (lines, bad) = check(db, &snapshot, Bound::Searched).await;
    report("chatStats cache snapshot".into(), lines, bad);
    if backend == DatabaseBackend::Postgres {
        let (lines, bad) = generic_plan(db, &snapshot).await;
        report("chatStats cache snapshot, generic plan".into(), lines, bad);
    }
    // The lists the panel and supervisors use (issue 15, item 3): the waiting lists with each
    // chat's contact read in the same statement (as `chats` does when `contact` is asked for),
    // an agent's own lists (`myChats`: chats in progress, directed and offered, one statement)
    // and a contact's chats (its timeline), first page and a deep one.
    for (what, filter) in [
        ("waiting in one queue", Filter { statuses: vec![ChatStatus::Waiting], queues: vec![1003], ..any() }),
        (
            "waiting in two queues",
            Filter { statuses: vec![ChatStatus::Waiting], queues: vec![1003, 1004], ..any() },
        ),
        ("waiting in every queue", statuses(ChatStatus::Waiting)),
    ] {
        let statement = history::page_query(&analyst, &filter, asc(CreatedAt), None, 50)
            .expect("a valid page")
            .find_also_related(entity::contacts::Entity)
            .build(backend);
        let (lines, bad) = check(db, &statement, Bound::Page { field: CreatedAt, sorts: MAY_SORT }).await;
        report(format!("page with contacts: {what}, oldest first"), lines, bad);
        // Its generic plan (what a prepared statement keeps after five runs) searches the
        // queue too: with the status bound rather than written, it read every waiting chat
        // through the status index, so PostgreSQL re-planned the statement on every run.
        if backend == DatabaseBackend::Postgres && filter.queues.len() == 1 {
            let (lines, mut bad) = generic_plan(db, &statement).await;
            if !lines.iter().any(|line| line.contains("Index Cond") && line.contains("queue_id")) {
                bad.push("the generic plan does not search by queue".into());
            }
            report(format!("page with contacts: {what}, generic plan"), lines, bad);
        }
    }
    for agent in [1007, 1011] {
        let statement = api::domain::chats::my_chats_statement(backend, AgentId(agent)).expect("a statement");
        let (lines, bad) = check(db, &statement, Bound::Searched).await;
        report(format!("myChats of agent {agent}"), lines, bad);
    }
    for after in [None, Some(20_000)] {
        let page = api::domain::pagination::Page { after, limit: 20 };
        let statement = api::domain::contacts::timeline_query(ContactId(1234), page).build(backend);
        let (lines, bad) = check(db, &statement, Bound::Searched).await;
        report(format!("a contact's chats after {after:?}"), lines, bad);
    }
    // The agent panel's read of one chat on PostgreSQL: the chat by its key, its contact, and
    // its latest messages through the messages' (chat, id) index, read newest first.
    if backend == DatabaseBackend::Postgres {
        let statement = api::domain::chats::with_latest_statement(api::domain::ids::ChatId(39_990), 20);
        let (lines, bad) = check(db, &statement, Bound::Searched).await;
        let messages_by_index = lines.iter().any(|line| line.contains("idx_messages_chat_id_id"));
        let scanned = lines.iter().filter(|line| line.contains("Seq Scan on messages")).cloned();
        let mut bad: Vec<String> = bad.into_iter().chain(scanned).collect();
        if !messages_by_index {
            bad.push("the messages are not read through idx_messages_chat_id_id".into());
        }
        report("chat(id) with its latest messages".into(), lines, bad);
    }
    assert!(failures.is_empty(), "plans that scan chats:\n{}", failures.join("\n"));

    // The same statements answer over HTTP: completed chats by completion, newest first.
    let (_, token) = app.signed_in("analyst@plans.test", Role::Analyst).await;
    let query = "query($filter: ChatFilter, $order: ChatOrder) {
      chats(filter: $filter, orderBy: $order, first: 3) { totalCount edges { node { status } } } }";
    let variables = json!({ "filter": { "statuses": ["COMPLETED"] }, "order": { "field": "COMPLETED_AT", "direction": "DESC" } });
    let data = app.ok(Some(&token), query, variables).await;
    assert_eq!(data["chats"]["totalCount"], CHATS - OPEN);
    assert_eq!(data["chats"]["edges"].as_array().map(Vec::len), Some(3));
}

/// PostgreSQL's generic plan of `statement` (prepared, `plan_cache_mode = force_generic_plan`,
/// executed with its values as literals) as text lines, and any sequential scan of `chats` in it.
async fn generic_plan(db: &DatabaseConnection, statement: &Statement) -> (Vec<String>, Vec<String>) {
    use sea_orm::TransactionTrait;
    let txn = db.begin().await.expect("a transaction");
    let run = |sql: String| Statement::from_string(DatabaseBackend::Postgres, sql);
    txn.execute_raw(run("SET LOCAL plan_cache_mode = force_generic_plan".into())).await.expect("SET");
    txn.execute_raw(run(format!("PREPARE checked AS {}", statement.sql))).await.expect("PREPARE");
    let literals: Vec<String> = statement
        .values
        .clone()
        .map(|v| v.0)
        .unwrap_or_default()
        .iter()
        .map(|value| match value {
            sea_orm::Value::BigInt(Some(n)) => n.to_string(),
            sea_orm::Value::BigUnsigned(Some(n)) => n.to_string(),
            sea_orm::Value::ChronoDateTimeUtc(Some(at)) => format!("'{}'::timestamptz", at.to_rfc3339()),
            other => panic!("a value these statements do not bind: {other:?}"),
        })
        .collect();
    let execute = format!("EXECUTE checked({})", literals.join(", "));
    let rows = txn.query_all_raw(run(format!("EXPLAIN (COSTS OFF) {execute}"))).await.expect("EXPLAIN");
    let lines: Vec<String> =
        rows.iter().map(|row| row.try_get::<String>("", "QUERY PLAN").unwrap()).collect();
    // A prepared statement outlives the transaction: the pooled connection may check the next.
    txn.execute_raw(run("DEALLOCATE checked".into())).await.expect("DEALLOCATE");
    txn.rollback().await.expect("rollback");
    let bad = lines.iter().filter(|line| line.contains("Seq Scan on chats")).cloned().collect();
    (lines, bad)
}
