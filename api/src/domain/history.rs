//! Chat history: filtering and ordering every chat a principal may read, a keyset page at a
//! time, and the per-chat figures analysts ask for (DESIGN §1 "Analytics and history";
//! definitions in docs/metrics.md).
//!
//! Pages are keysets on `(time, id)` in the chosen order — never OFFSET — so page 1,000 costs
//! what page 1 does; each order has its `(time, id)` index (migration 000007). Ordering by a
//! time lists only the chats that have it (completion time: completed chats).

use chrono::{DateTime, Utc};
use entity::enums::{ChatStatus, CompletionReason, Role};
use entity::{chats, messages};
use sea_orm::sea_query::{Expr, ExprTrait, IntoCondition};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    Select,
};

use super::chats::{literal_in, readable_by_agent, status_in};
use super::error::{DomainError, DomainResult};
use super::pagination::PageOf;
use super::sessions::Principal;

/// A half-open time range `[from, to)`; either bound may be open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Range {
    /// Inclusive lower bound.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound.
    pub to: Option<DateTime<Utc>>,
}

impl Range {
    /// Refuses an inverted range.
    pub fn check(&self, name: &str) -> DomainResult<()> {
        match (self.from, self.to) {
            (Some(from), Some(to)) if from >= to => {
                Err(DomainError::invalid(format!("{name}: `from` must be before `to`")))
            }
            _ => Ok(()),
        }
    }

    fn condition(&self, column: chats::Column) -> Condition {
        let mut condition = Condition::all();
        if let Some(from) = self.from {
            condition = condition.add(column.gte(from));
        }
        if let Some(to) = self.to {
            condition = condition.add(column.lt(to));
        }
        condition
    }
}

/// `chats.completion_reason` is one of `reasons`, as literals (see [`status_in`]).
fn reason_in(reasons: impl IntoIterator<Item = CompletionReason>) -> Expr {
    literal_in(chats::Column::CompletionReason, reasons.into_iter().map(|reason| reason.as_str()))
}

/// Which chats: every given part must hold (AND); an empty list means any.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Any of these statuses.
    pub statuses: Vec<ChatStatus>,
    /// In any of these queues.
    pub queues: Vec<i64>,
    /// On any of these channels.
    pub channels: Vec<i64>,
    /// Owned by any of these agents.
    pub owners: Vec<i64>,
    /// Of this contact.
    pub contact: Option<i64>,
    /// Created in this range.
    pub created: Range,
    /// Completed in this range (open chats are left out when it has a bound).
    pub completed: Range,
    /// Completed for any of these reasons.
    pub completion_reasons: Vec<CompletionReason>,
    /// Transferred away (completed TRANSFERRED), or not.
    pub transferred: Option<bool>,
    /// A chatbot conversation (BOT_PROCESSING, or completed by a bot handover or timeout), or not.
    pub bot_handled: Option<bool>,
}

/// Most values one filter list takes.
pub const MAX_LIST: usize = 100;

impl Filter {
    /// Refuses inverted ranges and oversized lists.
    pub fn check(&self) -> DomainResult<()> {
        self.created.check("created")?;
        self.completed.check("completed")?;
        let longest = [self.statuses.len(), self.queues.len(), self.channels.len(), self.owners.len()]
            .into_iter()
            .max()
            .unwrap_or(0);
        if longest > MAX_LIST {
            return Err(DomainError::invalid(format!("a filter list takes at most {MAX_LIST} values")));
        }
        Ok(())
    }

    /// The filter as a condition on `chats`, with the principal's read rule.
    pub fn condition(&self, principal: &Principal) -> DomainResult<Condition> {
        let mut all = Condition::all();
        match principal.role {
            Role::Supervisor | Role::Admin | Role::Analyst => {}
            Role::Agent => all = all.add(readable_by_agent(principal.agent_id)),
            Role::Bot => return Err(DomainError::Forbidden("bots do not read the history".into())),
        }
        if !self.statuses.is_empty() {
            all = all.add(status_in(self.statuses.iter().copied()));
        }
        if !self.queues.is_empty() {
            all = all.add(chats::Column::QueueId.is_in(self.queues.iter().copied()));
        }
        if !self.channels.is_empty() {
            all = all.add(chats::Column::ChannelId.is_in(self.channels.iter().copied()));
        }
        if !self.owners.is_empty() {
            all = all.add(chats::Column::OwnerId.is_in(self.owners.iter().copied()));
        }
        if let Some(contact) = self.contact {
            all = all.add(chats::Column::ContactId.eq(contact));
        }
        all = all.add(self.created.condition(chats::Column::CreatedAt));
        all = all.add(self.completed.condition(chats::Column::CompletedAt));
        if !self.completion_reasons.is_empty() {
            all = all.add(reason_in(self.completion_reasons.iter().copied()));
        }
        if let Some(transferred) = self.transferred {
            let is = reason_in([CompletionReason::Transferred]);
            all = all.add(if transferred {
                is.into_condition()
            } else {
                Condition::any().add(chats::Column::CompletionReason.is_null()).add(is.not())
            });
        }
        if let Some(bot) = self.bot_handled {
            let bot_reasons = || reason_in([CompletionReason::BotHandover, CompletionReason::BotTimeout]);
            let is_bot = Condition::any().add(status_in([ChatStatus::BotProcessing])).add(bot_reasons());
            // Spelled out rather than negated: `completion_reason` is NULL on open chats, and
            // NOT (… IN …) of NULL is NULL.
            let not_bot = Condition::all().add(status_in([ChatStatus::BotProcessing]).not()).add(
                Condition::any().add(chats::Column::CompletionReason.is_null()).add(bot_reasons().not()),
            );
            all = all.add(if bot { is_bot } else { not_bot });
        }
        Ok(all)
    }
}

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

/// One page of the chats `principal` may read that match `filter`, in `order`; with
/// `contacts`, each chat's contact read in the same statement (a panel's list shows the
/// customer's name on every row), else none.
pub async fn page(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: &Filter,
    order: Order,
    after: Option<Cursor>,
    limit: u64,
    contacts: bool,
) -> DomainResult<PageOf<super::chats::WithContact>> {
    let query = page_query(principal, filter, order, after, limit)?;
    let backend = db.get_database_backend();
    let rows = if contacts {
        let select = query.find_also_related(entity::contacts::Entity).build(backend);
        crate::db::rows::all_with::<chats::Entity, entity::contacts::Entity>(db, select).await?
    } else {
        let rows = crate::db::rows::all::<chats::Entity>(db, query.build(backend)).await?;
        rows.into_iter().map(|row| (row, None)).collect()
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
    use super::*;

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
            owner_id: None,
            directed_agent_id: None,
            parent_chat_id: None,
            status: ChatStatus::Completed,
            completion_reason: None,
            created_at: t0,
            accepted_at: accepted.map(at),
            first_response_at: responded.map(at),
            completed_at: completed.map(at),
            close_deadline: None,
            last_message_at: None,
            updated_at: t0,
            queued_at: queued.then_some(t0),
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
