//! Chat history: filtering and ordering every chat a principal may read, a keyset page at a
//! time, and the per-chat figures analysts ask for (DESIGN §1 "Analytics and history";
//! definitions in docs/metrics.md).
//!
//! Pages are keysets on `(time, id)` in the chosen order — never OFFSET — so page 1,000 costs
//! what page 1 does; each order has its `(time, id)` index (migration 000007). Ordering by a
//! time lists only the chats that have it (completion time: completed chats).

use chrono::{DateTime, Utc};
use entity::{chats, messages};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    RelationTrait, Select,
};

use super::error::DomainResult;
use super::pagination::PageOf;
use super::sessions::Principal;
use crate::db::rows::Columns;

mod filter;

pub use filter::{Filter, MAX_LIST, Range};

/// The time a history page is ordered by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderField {
    /// Creation.
    CreatedAt,
    /// Completion (completed chats only).
    CompletedAt,
    /// The last message (chats with a message only).
    LastMessageAt,
}

impl OrderField {
    fn column(self) -> chats::Column {
        match self {
            Self::CreatedAt => chats::Column::CreatedAt,
            Self::CompletedAt => chats::Column::CompletedAt,
            Self::LastMessageAt => chats::Column::LastMessageAt,
        }
    }

    /// The chat's value of this time.
    pub fn of(self, chat: &chats::Model) -> Option<DateTime<Utc>> {
        match self {
            Self::CreatedAt => Some(chat.created_at),
            Self::CompletedAt => chat.completed_at,
            Self::LastMessageAt => chat.last_message_at,
        }
    }
}

/// A history order: a time, either direction; ties by id in the same direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Order {
    /// The time.
    pub field: OrderField,
    /// Newest first.
    pub descending: bool,
}

impl Default for Order {
    fn default() -> Self {
        Self { field: OrderField::CreatedAt, descending: false }
    }
}

/// Where a page starts: after the chat with this time and id, in the page's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The order's time of the last chat seen.
    pub at: DateTime<Utc>,
    /// Its id.
    pub id: i64,
}

/// The statement of one history page: the chats `principal` may read that match `filter`, in
/// `order`, after `after`, `limit + 1` of them (one more tells whether a next page exists).
/// [`page`] runs exactly this; it is public so that its query plan can be checked
/// (tests/e2e/plans.rs, docs/metrics.md "Indexes behind history and analytics").
pub fn page_query(
    principal: &Principal,
    filter: &Filter,
    order: Order,
    after: Option<Cursor>,
    limit: u64,
) -> DomainResult<Select<chats::Entity>> {
    filter.check()?;
    let column = order.field.column();
    let mut query = chats::Entity::find().filter(filter.condition(principal)?);
    if order.field != OrderField::CreatedAt {
        query = query.filter(column.is_not_null());
    }
    if let Some(cursor) = after {
        let keys = Expr::tuple([Expr::col(column), Expr::col(chats::Column::Id)]);
        let at = Expr::tuple([Expr::value(cursor.at), Expr::value(cursor.id)]);
        query = query.filter(if order.descending { keys.lt(at) } else { keys.gt(at) });
    }
    query = if order.descending {
        query.order_by_desc(column).order_by_desc(chats::Column::Id)
    } else {
        query.order_by_asc(column).order_by_asc(chats::Column::Id)
    };
    Ok(query.limit(limit + 1))
}

/// What a history page reads of each chat, and of its contact (`None`: not the contact).
#[derive(Clone, Debug)]
pub struct Reads {
    /// The chat's columns.
    pub chat: Columns<chats::Column>,
    /// The contact's, read in the same statement.
    pub contact: Option<Columns<entity::contacts::Column>>,
}

impl Reads {
    /// Every column of the chat, and of its contact when `contact`.
    pub fn all(contact: bool) -> Self {
        Self { chat: Columns::All, contact: contact.then_some(Columns::All) }
    }
}

/// One page of the chats `principal` may read that match `filter`, in `order`, with the
/// columns `reads` asks for: each chat's contact is read in the same statement when asked for
/// (a panel's list shows the customer's name on every row), and a list that shows a few fields
/// reads only their columns (a waiting list reads five of thirty).
pub async fn page(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: &Filter,
    order: Order,
    after: Option<Cursor>,
    limit: u64,
    reads: &Reads,
) -> DomainResult<PageOf<super::chats::WithContact>> {
    use entity::contacts;
    let query = page_query(principal, filter, order, after, limit)?;
    let backend = db.get_database_backend();
    let rows = match reads {
        Reads { chat: Columns::All, contact: None } => {
            let rows = crate::db::rows::all::<chats::Entity>(db, query.build(backend)).await?;
            rows.into_iter().map(|row| (row, None)).collect()
        }
        Reads { chat: Columns::All, contact: Some(Columns::All) } => {
            let select = query.find_also_related(contacts::Entity).build(backend);
            crate::db::rows::all_with::<chats::Entity, contacts::Entity>(db, select).await?
        }
        Reads { chat, contact } => {
            // The key and the order's time make the cursor; the contact's key tells it was found.
            let chat = chat.read(&[chats::Column::Id, order.field.column()]);
            let contact = contact.as_ref().map(|contact| contact.read(&[contacts::Column::Id]));
            let mut query = query.select_only().columns(chat.iter().copied());
            if let Some(columns) = &contact {
                query = query
                    .join(JoinType::LeftJoin, chats::Relation::Contacts.def())
                    .columns(columns.iter().copied());
            }
            let select = query.build(backend);
            crate::db::rows::some_with::<chats::Entity, contacts::Entity>(
                db,
                select,
                &chat,
                contact.as_deref(),
            )
            .await?
        }
    };
    Ok(PageOf::from_overfetch(rows, limit))
}

/// The statement of [`count`]: one row, the number of matching chats (as `n`). Public so that
/// its query plan can be checked, like [`page_query`].
pub fn count_query(
    principal: &Principal,
    filter: &Filter,
    order: Order,
) -> DomainResult<Select<chats::Entity>> {
    filter.check()?;
    let mut query = chats::Entity::find()
        .select_only()
        .column_as(Expr::cust("COUNT(*)"), "n")
        .filter(filter.condition(principal)?);
    if order.field != OrderField::CreatedAt {
        query = query.filter(order.field.column().is_not_null());
    }
    Ok(query)
}

/// How many chats `principal` may read match `filter` (in any order).
pub async fn count(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: &Filter,
    order: Order,
) -> DomainResult<u64> {
    let n: Option<i64> = count_query(principal, filter, order)?.into_tuple().one(db).await?;
    Ok(u64::try_from(n.unwrap_or(0)).unwrap_or(0))
}

/// Messages per chat, for the chats given (chats without messages are left out).
pub async fn message_counts(db: &impl ConnectionTrait, chats: &[i64]) -> DomainResult<Vec<(i64, i64)>> {
    Ok(messages::Entity::find()
        .select_only()
        .column(messages::Column::ChatId)
        .column_as(messages::Column::Id.count(), "n")
        .filter(messages::Column::ChatId.is_in(chats.iter().copied()))
        .group_by(messages::Column::ChatId)
        .into_tuple()
        .all(db)
        .await?)
}

/// The assignments of the chats given, oldest first.
pub async fn assignments_of(
    db: &impl ConnectionTrait,
    chats: &[i64],
) -> DomainResult<Vec<entity::assignments::Model>> {
    use entity::assignments;
    Ok(assignments::Entity::find()
        .filter(assignments::Column::ChatId.is_in(chats.iter().copied()))
        .order_by_asc(assignments::Column::Id)
        .all(db)
        .await?)
}

/// Seconds from `from` to `to`, when both exist.
fn seconds(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Option<f64> {
    Some((to? - from?).num_milliseconds() as f64 / 1000.0)
}

/// Time to accept: entered the queue → accepted; only for chats that waited and were
/// accepted.
pub fn time_to_accept(chat: &chats::Model) -> Option<f64> {
    seconds(chat.queued_at, chat.accepted_at)
}

/// First response time: created → the first agent message in this chat (bot and system
/// messages never count; a child chat has its own).
pub fn first_response_time(chat: &chats::Model) -> Option<f64> {
    seconds(Some(chat.created_at), chat.first_response_at)
}

/// Chat duration: created → completed; null while open.
pub fn duration(chat: &chats::Model) -> Option<f64> {
    seconds(Some(chat.created_at), chat.completed_at)
}

/// Handling time: accepted → completed; for a chat that never waited, created → completed;
/// null while open, and for a chat that waited and was never accepted.
pub fn handling_time(chat: &chats::Model) -> Option<f64> {
    let start = match (chat.accepted_at, chat.queued_at) {
        (Some(accepted), _) => accepted,
        (None, None) => chat.created_at,
        (None, Some(_)) => return None,
    };
    seconds(Some(start), chat.completed_at)
}

#[cfg(test)]
mod tests {
    use entity::enums::ChatStatus;

    use super::*;
    use crate::db::rows::ByColumns;

    fn chat(
        queued: bool,
        accepted: Option<i64>,
        responded: Option<i64>,
        completed: Option<i64>,
    ) -> chats::Model {
        let t0 = DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z").unwrap().with_timezone(&Utc);
        let at = |s: i64| t0 + chrono::Duration::seconds(s);
        chats::Model {
            id: 1,
            contact_id: 1,
            channel_id: 1,
            queue_id: 1,
            status: ChatStatus::Completed,
            created_at: t0,
            accepted_at: accepted.map(at),
            first_response_at: responded.map(at),
            completed_at: completed.map(at),
            updated_at: t0,
            queued_at: queued.then_some(t0),
            ..ByColumns::placeholder()
        }
    }

    #[test]
    fn durations_follow_the_definitions() {
        let waited = chat(true, Some(30), Some(90), Some(600));
        assert_eq!(time_to_accept(&waited), Some(30.0));
        assert_eq!(first_response_time(&waited), Some(90.0));
        assert_eq!(duration(&waited), Some(600.0));
        assert_eq!(handling_time(&waited), Some(570.0));
        let direct = chat(false, Some(0), Some(20), Some(300));
        assert_eq!(time_to_accept(&direct), None, "never waited: no time to accept");
        assert_eq!(handling_time(&direct), Some(300.0), "from its creation");
        let abandoned = chat(true, None, None, Some(100));
        assert_eq!(time_to_accept(&abandoned), None);
        assert_eq!(handling_time(&abandoned), None);
        assert_eq!(duration(&abandoned), Some(100.0));
        let open = chat(true, Some(5), None, None);
        assert_eq!(duration(&open), None, "open chats have no duration, not 'until now'");
        assert_eq!(handling_time(&open), None);
    }
}
