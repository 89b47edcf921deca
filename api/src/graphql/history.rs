//! Chat history: `chats(filter, orderBy, first, after)` with `totalCount`.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, ID, InputObject, Object};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use entity::enums::Role;

use super::context::{READERS, RoleGuard, analytics_db, principal};
use super::error::{ResultExt, coded, codes};
use super::ids;
use super::page_columns::reads_of;
use super::types::chat::{Chat, ChatConnection, ChatCount};
use super::types::enums::{ChatStatus, CompletionReason};
use crate::domain::history::{self, Cursor, Filter, Order, OrderField, Range};
use crate::domain::reads;
use crate::domain::sessions::Principal;
use crate::state::Limits;

/// A time range: from (inclusive) to (exclusive); either may be left open.
#[derive(InputObject, Clone, Copy, Default)]
pub struct TimeRangeInput {
    /// From this time, inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Up to this time, exclusive.
    pub to: Option<DateTime<Utc>>,
}

impl From<TimeRangeInput> for Range {
    fn from(range: TimeRangeInput) -> Self {
        Self { from: range.from, to: range.to }
    }
}

/// Which chats: every field given must hold (AND); a list matches any of its values.
#[derive(InputObject, Default)]
pub struct ChatFilter {
    /// Any of these statuses.
    pub statuses: Option<Vec<ChatStatus>>,
    /// In any of these queues (`Queue` ids).
    pub queue_ids: Option<Vec<ID>>,
    /// On any of these channels (`Channel` ids).
    pub channel_ids: Option<Vec<ID>>,
    /// Owned (accepted) by any of these agents (`Agent` ids).
    pub owner_ids: Option<Vec<ID>>,
    /// Of this contact.
    pub contact_id: Option<ID>,
    /// Created in this range.
    pub created: Option<TimeRangeInput>,
    /// Completed in this range (open chats are left out when a bound is given).
    pub completed: Option<TimeRangeInput>,
    /// Completed for any of these reasons.
    pub completion_reasons: Option<Vec<CompletionReason>>,
    /// Only chats transferred away (true) or only the others (false).
    pub transferred: Option<bool>,
    /// Only chatbot conversations (true: BOT_PROCESSING, or ended by a bot handover or
    /// timeout) or only the others (false).
    pub bot_handled: Option<bool>,
}

fn row_ids(values: Option<Vec<ID>>, type_name: &str) -> async_graphql::Result<Vec<i64>> {
    values.unwrap_or_default().iter().map(|id| ids::decode(id, type_name)).collect()
}

impl ChatFilter {
    /// The domain filter.
    pub fn into_domain(self) -> async_graphql::Result<Filter> {
        Ok(Filter {
            statuses: self.statuses.unwrap_or_default().into_iter().map(Into::into).collect(),
            queues: row_ids(self.queue_ids, "Queue")?,
            channels: row_ids(self.channel_ids, "Channel")?,
            owners: row_ids(self.owner_ids, "Agent")?,
            contact: self.contact_id.map(|id| ids::decode(&id, "Contact")).transpose()?,
            created: self.created.unwrap_or_default().into(),
            completed: self.completed.unwrap_or_default().into(),
            completion_reasons: self
                .completion_reasons
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            transferred: self.transferred,
            bot_handled: self.bot_handled,
        })
    }
}

/// The time chats are ordered by.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq, Default)]
pub enum ChatOrderField {
    /// When the chat was created.
    #[default]
    CreatedAt,
    /// When it was completed (lists completed chats only).
    CompletedAt,
    /// When its last message was written (lists chats with a message only).
    LastMessageAt,
}

/// A direction.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq, Default)]
pub enum OrderDirection {
    /// Oldest first.
    #[default]
    Asc,
    /// Newest first.
    Desc,
}

/// How chats are ordered; ties by id in the same direction.
#[derive(InputObject, Clone, Copy, Default)]
pub struct ChatOrder {
    /// The time.
    #[graphql(default)]
    pub field: ChatOrderField,
    /// The direction.
    #[graphql(default)]
    pub direction: OrderDirection,
}

impl From<ChatOrder> for Order {
    fn from(order: ChatOrder) -> Self {
        let field = match order.field {
            ChatOrderField::CreatedAt => OrderField::CreatedAt,
            ChatOrderField::CompletedAt => OrderField::CompletedAt,
            ChatOrderField::LastMessageAt => OrderField::LastMessageAt,
        };
        Self { field, descending: order.direction == OrderDirection::Desc }
    }
}

/// The order's tag in a cursor: a cursor is valid only with the order it came from.
fn tag(order: Order) -> String {
    let field = match order.field {
        OrderField::CreatedAt => "c",
        OrderField::CompletedAt => "d",
        OrderField::LastMessageAt => "m",
    };
    format!("{field}{}", if order.descending { "-" } else { "+" })
}

/// The cursor of `chat` in `order`. Its time is exact to the nanosecond, `seconds.nanos`:
/// SQLite keeps what the clock gave, and a cursor rounded to the microsecond sorted before its
/// own chat, so the next page began with it again. (Cursors of earlier versions hold whole
/// microseconds without a point; they still parse.)
pub fn cursor(order: Order, chat: &entity::chats::Model) -> String {
    let (seconds, nanos) =
        order.field.of(chat).map_or((0, 0), |at| (at.timestamp(), at.timestamp_subsec_nanos()));
    URL_SAFE_NO_PAD.encode(format!("history:{}:{seconds}.{nanos:09}:{}", tag(order), chat.id))
}

fn parse_cursor(order: Order, text: &str) -> async_graphql::Result<Cursor> {
    let bad = || coded(codes::BAD_USER_INPUT, "`after` is not a cursor of this list in this order");
    let decoded = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let mut parts = decoded.strip_prefix("history:").ok_or_else(bad)?.split(':');
    let (Some(found), Some(at), Some(id), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if found != tag(order) {
        return Err(bad());
    }
    let at = match at.split_once('.') {
        Some((seconds, nanos)) if nanos.len() == 9 => {
            DateTime::from_timestamp(seconds.parse().map_err(|_| bad())?, nanos.parse().map_err(|_| bad())?)
        }
        Some(_) => None,
        None => DateTime::from_timestamp_micros(at.parse().map_err(|_| bad())?),
    }
    .ok_or_else(bad)?;
    Ok(Cursor { at, id: id.parse().map_err(|_| bad())? })
}

/// How many chats of the history match (`ChatConnection.totalCount`): on the replica, under
/// the analytics timeout, as the page itself.
pub async fn total_count(
    ctx: &Context<'_>,
    principal: &Principal,
    filter: &Filter,
    order: Order,
) -> async_graphql::Result<u64> {
    let analytics = analytics_db(ctx)?;
    reads::timed(&analytics, history::count(analytics.db(), principal, filter, order)).await.gql()
}

/// History queries.
#[derive(Default)]
pub struct HistoryQuery;

#[Object]
impl HistoryQuery {
    /// The chat history: every chat the caller may read (all of them for supervisors, admins
    /// and analysts; for an agent the chats they own and those offered or directed to them)
    /// that matches `filter`, in `orderBy` (default: creation, oldest first). Pages are
    /// keysets: a deep page is as fast as the first. `totalCount` counts every match (asked
    /// for only when selected). Supervisors, admins and analysts may ask for pages up to the
    /// history page limit (1,000 unless configured); agents up to the page-size limit. A history
    /// read: it may run on the server's read replica, so a chat created or changed a moment ago
    /// may show a moment later (use `chat(id)` or `myChats` for what was just done); a read
    /// running longer than the analytics statement timeout fails with QUERY_TIMEOUT.
    #[graphql(
        guard = "RoleGuard::new(READERS)",
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn chats(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which chats (every field given must hold).")] filter: Option<ChatFilter>,
        #[graphql(desc = "The order (default: created, ascending).")] order_by: Option<ChatOrder>,
        #[graphql(
            desc = "Only chats in this status (kept for older clients; use `filter.statuses`).",
            deprecation = "use filter: { statuses: [...] }"
        )]
        status: Option<ChatStatus>,
        #[graphql(
            desc = "How many to return, from 0 to the page limit (default 20; 1,000 for supervisors, admins and analysts, 100 for agents, unless configured)."
        )]
        first: Option<i32>,
        #[graphql(desc = "Return the chats after this cursor (from this list, in this order).")]
        after: Option<String>,
    ) -> async_graphql::Result<ChatConnection> {
        let principal = principal(ctx)?;
        let limits = ctx.data::<Limits>()?;
        let max = match principal.role {
            Role::Supervisor | Role::Admin | Role::Analyst => limits.max_history_page_size,
            _ => limits.max_page_size,
        };
        let limit = ids::page(first, None, max)?.limit;
        let order: Order = order_by.unwrap_or_default().into();
        let after = after.as_deref().map(|text| parse_cursor(order, text)).transpose()?;
        let mut filter = filter.unwrap_or_default().into_domain()?;
        filter.statuses.extend(status.map(entity::enums::ChatStatus::from));
        let analytics = analytics_db(ctx)?;
        // Contacts asked for are read with the chats, in the same statement; a selection of
        // plain fields reads only their columns.
        let reads = reads_of(ctx.field());
        let read = history::page(analytics.db(), principal, &filter, order, after, limit, &reads);
        let found = reads::timed(&analytics, read).await.gql()?;
        let count = ChatCount::History { filter: Box::new(filter), order, principal: principal.clone() };
        let mut connection = Connection::with_additional_fields(after.is_some(), found.has_next, count);
        connection.edges.extend(
            found
                .items
                .into_iter()
                .map(|(row, contact)| Edge::new(cursor(order, &row), Chat(row, contact, None))),
        );
        Ok(connection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_belong_to_their_order() {
        let order = Order { field: OrderField::CompletedAt, descending: true };
        let now = DateTime::from_timestamp_micros(1_772_000_000_123_456).unwrap();
        let chat = entity::chats::Model {
            id: 42,
            status: entity::enums::ChatStatus::Completed,
            created_at: now,
            completed_at: Some(now),
            updated_at: now,
            ..crate::db::rows::ByColumns::placeholder()
        };
        let text = cursor(order, &chat);
        assert_eq!(parse_cursor(order, &text).unwrap(), Cursor { at: now, id: 42 });
        // To the nanosecond (SQLite keeps them), and before the epoch too.
        for at in [now + chrono::Duration::nanoseconds(789), DateTime::from_timestamp(-5, 1).unwrap()] {
            let chat = entity::chats::Model { completed_at: Some(at), ..chat.clone() };
            assert_eq!(parse_cursor(order, &cursor(order, &chat)).unwrap(), Cursor { at, id: 42 });
        }
        // A cursor of an earlier version (whole microseconds) still parses.
        let micros = URL_SAFE_NO_PAD.encode(format!("history:d-:{}:42", now.timestamp_micros()));
        assert_eq!(parse_cursor(order, &micros).unwrap(), Cursor { at: now, id: 42 });
        let short = URL_SAFE_NO_PAD.encode("history:d-:17.5:42");
        assert!(parse_cursor(order, &short).is_err(), "nanoseconds are nine digits");
        assert!(parse_cursor(Order::default(), &text).is_err(), "another order refuses it");
        assert!(parse_cursor(order, "bm9wZQ").is_err());
        assert!(parse_cursor(order, &ids::cursor(42)).is_err());
    }
}
