//! Reading chats, their messages and contacts, with who may see what.

use entity::enums::ChatStatus;
use entity::{chats, contacts, messages};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, Iterable, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Statement, Values,
};

use crate::db::rows::{self, Columns};
use crate::db::shape::Shape;

use super::error::DomainResult;
use super::ids::{AgentId, ChatId, ContactId};
use super::pagination::{Page, PageOf};
use super::sessions::Principal;
use entity::enums::Role;

/// Whether `principal` may read `chat`: supervisors, admins and analysts read every chat; an
/// agent reads the chats they own or that are directed to them.
pub fn may_read(principal: &Principal, chat: &chats::Model) -> bool {
    match principal.role {
        Role::Supervisor | Role::Admin | Role::Analyst => true,
        Role::Agent => {
            let me = Some(principal.agent_id.0);
            chat.owner_id == me || chat.directed_agent_id == me
        }
        Role::Bot => false,
    }
}

/// One chat by id, if the principal may read it: by [`may_read`], or as an agent the waiting
/// chat is currently offered to.
pub async fn get_visible(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: ChatId,
) -> DomainResult<Option<chats::Model>> {
    let Some(chat) = chats::Entity::find_by_id(id.0).one(db).await? else { return Ok(None) };
    Ok(may_see(db, principal, &chat).await?.then_some(chat))
}

/// [`get_visible`] with the chat's contact, read in the same statement.
pub async fn get_visible_with_contact(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: ChatId,
) -> DomainResult<Option<WithContact>> {
    static CHAT_WITH_CONTACT: Shape = Shape::new();
    let backend = db.get_database_backend();
    let select = CHAT_WITH_CONTACT.statement(backend, Values(vec![id.0.into()]), || {
        chats::Entity::find_by_id(id.0).find_also_related(contacts::Entity).build(backend)
    })?;
    let found = rows::all_with::<chats::Entity, contacts::Entity>(db, select).await?.pop();
    let Some((chat, contact)) = found else { return Ok(None) };
    Ok(may_see(db, principal, &chat).await?.then_some((chat, contact)))
}

/// A chat with its contact and its latest messages (a page, oldest first), as the agent
/// panel opens it.
pub type WithLatest = (WithContact, PageOf<messages::Model>);

/// [`get_visible_with_contact`] and [`latest_messages`] (`limit` of them, no cursor) in one
/// statement on PostgreSQL (one round trip instead of two: a union of the chat's row and its
/// messages' rows, see [`with_latest_sql`]); two statements on SQLite, which
/// has no round trips to save. Messages of a chat the principal may not see are dropped with
/// it. On PostgreSQL the messages' columns are those `messages` names (their key always);
/// the models' other fields hold placeholders (`rows::ByColumns`).
pub async fn get_visible_with_latest(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: ChatId,
    limit: u64,
    messages: &Columns<messages::Column>,
) -> DomainResult<Option<WithLatest>> {
    let backend = db.get_database_backend();
    if backend != DbBackend::Postgres {
        let Some(found) = get_visible_with_contact(db, principal, id).await? else { return Ok(None) };
        let page = latest_messages(db, id, None, limit).await?;
        return Ok(Some((found, page)));
    }
    let read = messages.read(&[messages::Column::Id]);
    let rows = db.query_all_raw(with_latest_statement_of(id, limit, &read)).await?;
    use rows::{ByColumns, ByIndex};
    let contact_at = chats::Column::iter().count();
    let message_at = contact_at + contacts::Column::iter().count();
    // The chat's row is the one whose chat key is set; the others are its messages.
    let mut found = None;
    let mut messages = Vec::with_capacity(rows.len());
    for row in &rows {
        if !rows::is_null(row, 0)? {
            let chat = chats::Model::decode(row, 0)?;
            let contact = if rows::is_null(row, contact_at)? {
                None
            } else {
                Some(contacts::Model::decode(row, contact_at)?)
            };
            found = Some((chat, contact));
        } else {
            messages.push(messages::Model::decode_columns(row, message_at, read.iter().copied())?);
        }
    }
    let Some((chat, contact)) = found else { return Ok(None) };
    if !may_see(db, principal, &chat).await? {
        return Ok(None);
    }
    // Newest first, as the statement reads them (a union's order is not promised).
    messages.sort_unstable_by_key(|message| std::cmp::Reverse(message.id));
    let mut page = PageOf::from_overfetch(messages, limit);
    page.items.reverse();
    Ok(Some(((chat, contact), page)))
}

/// The statement of [`get_visible_with_latest`] on PostgreSQL (`limit` + 1 messages, to
/// tell whether older ones exist), every column of the messages. Public so that its query
/// plan can be checked.
pub fn with_latest_statement(id: ChatId, limit: u64) -> Statement {
    with_latest_statement_of(id, limit, &messages::Column::iter().collect::<Vec<_>>())
}

/// [`with_latest_statement`] with the messages' columns `read`, in that order. Its SQL is
/// built once per set of columns (a front end asks for a few).
fn with_latest_statement_of(id: ChatId, limit: u64, read: &[messages::Column]) -> Statement {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static BUILT: OnceLock<Mutex<HashMap<Vec<usize>, String>>> = OnceLock::new();
    let key: Vec<usize> = read.iter().map(|column| *column as usize).collect();
    let sql = {
        let mut built = BUILT.get_or_init(Mutex::default).lock().expect("statement cache lock");
        // At most one entry per set of the messages' 13 columns a selection names; in practice
        // a handful. Bounded anyway.
        if built.len() >= 256 {
            built.clear();
        }
        built.entry(key).or_insert_with(|| with_latest_sql(read)).clone()
    };
    let values = Values(vec![id.0.into(), (limit + 1).into()]);
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// The SQL of [`get_visible_with_latest`] on PostgreSQL: a row with every column of the chat
/// and of its contact, in their entities' orders, and the message columns `read` NULL; then
/// one row per message, newest first, with the chat's and contact's columns NULL and the
/// message columns `read` (decoded by position). No rows when the chat does not exist.
///
/// A union of two index look-ups: PostgreSQL runs it as cheaply as the two statements sent
/// apart (pgbench on the limit suite's data: ~1.5× the rate of the lateral join it replaced,
/// which numbered every message with a window function and evaluated a first-row-only `CASE`
/// for 30 columns on each row). A NULL is sent as its length alone.
fn with_latest_sql(read: &[messages::Column]) -> String {
    use sea_orm::IdenStatic;
    let columns = |alias: &str, names: &mut dyn Iterator<Item = &'static str>| {
        names.map(|name| format!("{alias}.\"{name}\"")).collect::<Vec<_>>().join(", ")
    };
    let nulls = |count: usize| vec!["NULL"; count].join(", ");
    let chat_columns = chats::Column::iter().count() + contacts::Column::iter().count();
    format!(
        "(SELECT {}, {}, {} FROM chats c LEFT JOIN contacts ct ON ct.id = c.contact_id WHERE c.id = $1) \
         UNION ALL (SELECT {}, {} FROM messages m WHERE m.chat_id = $1 ORDER BY m.id DESC LIMIT $2)",
        columns("c", &mut chats::Column::iter().map(|c| c.as_str())),
        columns("ct", &mut contacts::Column::iter().map(|c| c.as_str())),
        nulls(read.len()),
        nulls(chat_columns),
        columns("m", &mut read.iter().map(|c| c.as_str())),
    )
}

/// [`may_read`], or an agent with an open offer of the waiting chat: the rule `chat(id)`
/// and everything that hands out a chat (events, contacts) follow.
pub async fn may_see(
    db: &impl ConnectionTrait,
    principal: &Principal,
    chat: &chats::Model,
) -> DomainResult<bool> {
    if may_read(principal, chat) {
        return Ok(true);
    }
    if principal.role != Role::Agent || chat.status != ChatStatus::Waiting {
        return Ok(false);
    }
    let offered = entity::assignments::Entity::find()
        .filter(entity::assignments::Column::ChatId.eq(chat.id))
        .filter(entity::assignments::Column::AgentId.eq(principal.agent_id.0))
        .filter(entity::assignments::Column::EndedAt.is_null())
        .one(db)
        .await?
        .is_some();
    Ok(offered)
}

/// The chats an agent may read, as a condition on `chats` — the same rule as
/// [`may_read`] plus the open offers [`get_visible`] allows: owned, directed to them, or
/// waiting with an open offer to them.
pub fn readable_by_agent(me: AgentId) -> Condition {
    let open_offers = sea_orm::sea_query::Query::select()
        .column(entity::assignments::Column::ChatId)
        .from(entity::assignments::Entity)
        .and_where(entity::assignments::Column::AgentId.eq(me.0))
        .and_where(entity::assignments::Column::EndedAt.is_null())
        .to_owned();
    Condition::any().add(chats::Column::OwnerId.eq(me.0)).add(chats::Column::DirectedAgentId.eq(me.0)).add(
        Condition::all()
            .add(status_in([ChatStatus::Waiting]))
            .add(chats::Column::Id.in_subquery(open_offers)),
    )
}

/// `chats.status` is one of `statuses`, written into the statement as literals rather than
/// bound. A status is one of a few values of very different frequencies (WAITING a handful of
/// rows, COMPLETED nearly all), and a prepared statement's generic plan cannot see a bound
/// value: PostgreSQL then re-planned a waiting list on every run (half its cost) because the
/// generic plan, estimating an average status, read the status index and filtered by queue.
/// With the literal the generic plan searches the queue's waiting chats and is kept.
pub fn status_in(statuses: impl IntoIterator<Item = ChatStatus>) -> Expr {
    literal_in(chats::Column::Status, statuses.into_iter().map(|status| status.as_str()))
}

/// `column IN (values)` on `chats`, the values written as literals (see [`status_in`]): only
/// for the fixed strings of an enum, never for input.
pub fn literal_in(column: chats::Column, values: impl IntoIterator<Item = &'static str>) -> Expr {
    Expr::col((chats::Entity, column)).is_in(values.into_iter().map(|value| Expr::Constant(value.into())))
}

/// A hand-written SQL condition with `?` placeholders, whatever the backend (sea-query reads
/// `?` on SQLite but `$1, $2, ...` on PostgreSQL).
fn custom_condition<const N: usize>(backend: DbBackend, sql: &str, values: [i64; N]) -> Expr {
    let sql = match backend {
        DbBackend::Postgres => {
            let mut numbered = String::with_capacity(sql.len() + 2 * N);
            for (n, part) in sql.split('?').enumerate() {
                if n > 0 {
                    numbered.push_str(&format!("${n}"));
                }
                numbered.push_str(part);
            }
            numbered
        }
        _ => sql.to_owned(),
    };
    Expr::cust_with_values(sql, values)
}

/// A chat with its contact (the contact is `None` only if the row vanished meanwhile).
pub type WithContact = (chats::Model, Option<contacts::Model>);

/// The agent panel's lists, each with the chats' contacts.
#[derive(Debug, Default)]
pub struct MyChats {
    /// In progress and owned by the agent, oldest accepted first.
    pub active: Vec<WithContact>,
    /// Waiting and offered or directed to the agent, oldest first.
    pub new: Vec<WithContact>,
}

/// The agent panel: the chats `me` has in progress and the waiting chats offered or directed
/// to them, with their contacts, in one statement. Every branch is an index look-up (the open
/// offers through the partial index on open assignments), so the cost does not grow with the
/// agent's history or the number of chats waiting elsewhere.
pub async fn my_chats(db: &impl ConnectionTrait, me: AgentId) -> DomainResult<MyChats> {
    // Statuses are literals, not parameters, so PostgreSQL keeps one cached plan. The outer
    // query has no filter of its own, so it is driven by the few ids the branches find.
    let select = my_chats_statement(db.get_database_backend(), me)?;
    let mut lists = MyChats::default();
    for (chat, contact) in rows::all_with::<chats::Entity, contacts::Entity>(db, select).await? {
        match chat.status {
            ChatStatus::InProgress if chat.owner_id == Some(me.0) => lists.active.push((chat, contact)),
            ChatStatus::Waiting => lists.new.push((chat, contact)),
            // An offer is closed in the transaction that takes the chat out of WAITING.
            _ => {}
        }
    }
    lists.active.sort_by_key(|(a, _)| (a.accepted_at, a.id));
    lists.new.sort_by_key(|(a, _)| (a.created_at, a.id));
    Ok(lists)
}

/// The statement of [`my_chats`]: `me`'s chats in progress, directed to them or offered to
/// them, each with its contact. Public so that its query plan can be checked.
pub fn my_chats_statement(backend: DbBackend, me: AgentId) -> DomainResult<Statement> {
    static MY_CHATS: Shape = Shape::new();
    Ok(MY_CHATS.statement(backend, Values(vec![me.0.into(); 3]), || {
        let mine = custom_condition(
            backend,
            "chats.id IN ( \
               SELECT id FROM chats WHERE owner_id = ? AND status = 'IN_PROGRESS' \
               UNION ALL SELECT id FROM chats WHERE directed_agent_id = ? AND status = 'WAITING' \
               UNION ALL SELECT chat_id FROM assignments \
                 WHERE agent_id = ? AND kind = 'OFFER' AND ended_at IS NULL)",
            [me.0, me.0, me.0],
        );
        chats::Entity::find().find_also_related(contacts::Entity).filter(mine).build(backend)
    })?)
}

/// The chats a principal may read, newest id last, optionally of one status.
pub async fn list_visible(
    db: &impl ConnectionTrait,
    principal: &Principal,
    status: Option<ChatStatus>,
    page: Page,
) -> DomainResult<PageOf<chats::Model>> {
    let mut query = chats::Entity::find().order_by_asc(chats::Column::Id);
    match principal.role {
        Role::Supervisor | Role::Admin | Role::Analyst => {}
        Role::Agent => {
            let me = principal.agent_id.0;
            query = query.filter(
                Condition::any()
                    .add(chats::Column::OwnerId.eq(me))
                    .add(chats::Column::DirectedAgentId.eq(me)),
            );
        }
        Role::Bot => return Ok(PageOf { items: Vec::new(), has_next: false }),
    }
    if let Some(status) = status {
        query = query.filter(chats::Column::Status.eq(status));
    }
    if let Some(after) = page.after {
        query = query.filter(chats::Column::Id.gt(after));
    }
    let rows = query.limit(page.limit + 1).all(db).await?;
    Ok(PageOf::from_overfetch(rows, page.limit))
}

/// A chat's messages in the order they were written, a page at a time.
pub async fn messages(
    db: &impl ConnectionTrait,
    chat: ChatId,
    page: Page,
) -> DomainResult<PageOf<messages::Model>> {
    let mut query = messages::Entity::find()
        .filter(messages::Column::ChatId.eq(chat.0))
        .order_by_asc(messages::Column::Id);
    if let Some(after) = page.after {
        query = query.filter(messages::Column::Id.gt(after));
    }
    let select = query.limit(page.limit + 1).build(db.get_database_backend());
    let rows = rows::all::<messages::Entity>(db, select).await?;
    Ok(PageOf::from_overfetch(rows, page.limit))
}

/// The newest `limit` messages before `before` (exclusive), oldest first; `has_next` here
/// means older messages exist.
pub async fn latest_messages(
    db: &impl ConnectionTrait,
    chat: ChatId,
    before: Option<i64>,
    limit: u64,
) -> DomainResult<PageOf<messages::Model>> {
    static LATEST: Shape = Shape::new();
    static LATEST_BEFORE: Shape = Shape::new();
    let backend = db.get_database_backend();
    let (shape, values) = match before {
        None => (&LATEST, vec![chat.0.into(), (limit + 1).into()]),
        Some(before) => (&LATEST_BEFORE, vec![chat.0.into(), before.into(), (limit + 1).into()]),
    };
    let select = shape.statement(backend, Values(values), || {
        let mut query = messages::Entity::find()
            .filter(messages::Column::ChatId.eq(chat.0))
            .order_by_desc(messages::Column::Id);
        if let Some(before) = before {
            query = query.filter(messages::Column::Id.lt(before));
        }
        query.limit(limit + 1).build(backend)
    })?;
    let rows = rows::all::<messages::Entity>(db, select).await?;
    let mut page = PageOf::from_overfetch(rows, limit);
    page.items.reverse();
    Ok(page)
}

/// Several contacts by id; unknown ids are skipped.
pub async fn contacts(db: &impl ConnectionTrait, ids: &[ContactId]) -> DomainResult<Vec<contacts::Model>> {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    Ok(contacts::Entity::find().filter(contacts::Column::Id.is_in(ids)).all(db).await?)
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{PostgresQueryBuilder, Query, SqliteQueryBuilder};

    use super::*;

    #[test]
    fn custom_conditions_number_placeholders_on_postgres() {
        let query = |backend| {
            Query::select().expr(custom_condition(backend, "a = ? AND b IN (?, ?)", [1, 2, 3])).to_owned()
        };
        let (pg, values) = query(DbBackend::Postgres).build(PostgresQueryBuilder);
        assert_eq!(pg, "SELECT a = $1 AND b IN ($2, $3)");
        assert_eq!(values.0.len(), 3);
        let (lite, values) = query(DbBackend::Sqlite).build(SqliteQueryBuilder);
        assert_eq!(lite, "SELECT a = ? AND b IN (?, ?)");
        assert_eq!(values.0.len(), 3);
    }
}
