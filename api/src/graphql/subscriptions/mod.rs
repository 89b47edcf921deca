//! Subscriptions: live streams of the event log, with resume.
//!
//! Every subscription takes `after` (an event id): events after it are replayed from the log,
//! then the stream continues live with no gap and no duplicate. Events are kept for
//! `SWITCHBOARD_EVENT_RETENTION_HOURS`; asking for an older id gives EVENTS_EXPIRED (refetch
//! with queries, then subscribe without `after`). A subscriber that falls more than
//! `SWITCHBOARD_SUBSCRIPTION_BUFFER` events behind gets SUBSCRIPTION_OVERFLOW (with the last
//! id it received in the message) and the stream ends; it resubscribes with `after`. The
//! session is re-checked periodically: signing out or expiry ends the stream with
//! UNAUTHENTICATED.

//!
//! Here: the subscription root and what decides which events a stream carries; the stream
//! itself (replay, live events, overflow) in `stream`, the access re-checks in `access`.

mod access;
mod stream;

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Context, ID, Subscription};
use entity::events;
use futures_util::Stream;
use sea_orm::{ColumnTrait, DatabaseConnection, QueryFilter};

use super::context::{READERS, RoleGuard, STAFF, principal};
use super::detached;
use super::error::{ResultExt, coded, codes};
use super::ids;
use crate::domain::ids::{ChatId, QueueId};
use crate::domain::sessions::Principal;
use crate::events::Published;
use crate::events::topics::Topic;

use access::{Reauthorize, readable_chats_only};
pub(super) use stream::workload_events;
use stream::{EventStream, stream};

/// Events an agent's panel needs about their own work.
const MY_KINDS: &[&str] = &[
    "CHAT_OFFERED",
    "CHAT_DIRECTED",
    "CHAT_ACCEPTED",
    "CHAT_TAKEN",
    "CHAT_TRANSFERRED",
    "CHAT_COMPLETED",
    "MESSAGE_RECEIVED",
    "MESSAGE_SENT",
    "DELIVERY_STATUS_CHANGED",
    "AGENT_STATUS_CHANGED",
    "CONTACT_UPDATED",
    "CONTACTS_MERGED",
    "CASE_CREATED",
];
/// Chats entering and leaving a queue's waiting list.
const QUEUE_KINDS: &[&str] = &[
    "CHAT_CREATED",
    "CHAT_DIRECTED",
    "CHAT_ACCEPTED",
    "CHAT_COMPLETED",
    "CHAT_TRANSFERRED",
    "CONTACT_UPDATED",
    "CONTACTS_MERGED",
    "CASE_CREATED",
];
/// Messages and their delivery in one chat.
const CHAT_KINDS: &[&str] = &[
    "MESSAGE_RECEIVED",
    "MESSAGE_SENT",
    "MESSAGE_EDITED",
    "MESSAGE_REACTION",
    "DELIVERY_STATUS_CHANGED",
    "CONTACT_UPDATED",
    "CONTACTS_MERGED",
    "CASE_CREATED",
];
/// Agents' availability.
const STATUS_KINDS: &[&str] = &["AGENT_STATUS_CHANGED"];
/// What changes an agent's workload row (see `super::workload`): their status, sign-in and
/// access (ACCESS_CHANGED: signed out, disabled, role or queues changed), chats directed to,
/// accepted by, taken from, transferred to or completed by them, and the capacity setting.
const WORKLOAD_KINDS: &[&str] = &[
    "AGENT_STATUS_CHANGED",
    "SETTINGS_CHANGED",
    "CHAT_DIRECTED",
    "CHAT_ACCEPTED",
    "CHAT_TAKEN",
    "CHAT_TRANSFERRED",
    "CHAT_COMPLETED",
    "ACCESS_CHANGED",
];

/// Settings of the subscription streams.
#[derive(Clone, Copy, Debug)]
pub struct StreamConfig {
    /// How often a stream re-checks that its session is still live.
    pub session_check: Duration,
}

/// In a request's data when the stream runs for a group of subscribers (see
/// `http::ws::shared`): the stream stores the id of each event before it yields it, and
/// says when it is live; the transport counts the subscribers instead of the stream.
#[derive(Clone)]
pub struct SharedStream {
    /// The id of the event last yielded.
    pub cursor: Arc<std::sync::atomic::AtomicI64>,
    /// Called once the stream listens on the bus and has read where it starts (when a
    /// stream of its own would count itself in `switchboard_subscriptions_active`).
    pub live: Arc<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for SharedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedStream").field("cursor", &self.cursor).finish_non_exhaustive()
    }
}

impl SharedStream {
    fn yielding(shared: Option<&Self>, event: &Published) {
        if let Some(shared) = shared {
            shared.cursor.store(event.id, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// In a WebSocket connection's data on SQLite: the read-only pool (see
/// `db::connect_readers`), which streams read the log, check sessions and re-check each
/// event's chat through, so the checks of a reconnect storm (two reads per subscription) and
/// of busy streams run side by side instead of queueing on the single writer connection.
#[derive(Clone, Debug)]
pub struct StreamReads(pub DatabaseConnection);

/// The connection a stream reads through: [`StreamReads`] when the connection has one, else
/// the schema's.
pub(super) fn stream_reads(ctx: &Context<'_>) -> async_graphql::Result<DatabaseConnection> {
    match ctx.data_opt::<StreamReads>() {
        Some(reads) => Ok(reads.0.clone()),
        None => Ok(ctx.data::<DatabaseConnection>()?.clone()),
    }
}

/// Which events a stream carries.
#[derive(Clone, Debug)]
enum Filter {
    Agent(i64),
    Queue(i64),
    Chat(i64),
    Statuses,
    Workload,
}

impl Filter {
    fn kinds(&self) -> &'static [&'static str] {
        match self {
            Self::Agent(_) => MY_KINDS,
            Self::Queue(_) => QUEUE_KINDS,
            Self::Chat(_) => CHAT_KINDS,
            Self::Statuses => STATUS_KINDS,
            Self::Workload => WORKLOAD_KINDS,
        }
    }

    /// The subject the bus hands this stream events about.
    fn topic(&self) -> Topic {
        match self {
            Self::Agent(id) => Topic::Agent(*id),
            Self::Queue(id) => Topic::Queue(*id),
            Self::Chat(id) => Topic::Chat(*id),
            Self::Statuses | Self::Workload => Topic::All,
        }
    }

    fn matches(&self, event: &events::Model) -> bool {
        self.topic().covers(event) && self.kinds().contains(&event.kind.as_str())
    }

    fn apply(&self, query: sea_orm::Select<events::Entity>) -> sea_orm::Select<events::Entity> {
        let query = query.filter(events::Column::Kind.is_in(self.kinds().iter().copied()));
        match self {
            Self::Agent(id) => query.filter(events::Column::AgentId.eq(*id)),
            Self::Queue(id) => query.filter(events::Column::QueueId.eq(*id)),
            Self::Chat(id) => query.filter(events::Column::ChatId.eq(*id)),
            Self::Statuses | Self::Workload => query,
        }
    }
}

/// Every subscription.
#[derive(Default)]
pub struct Subscription;

/// Live event streams over WebSocket (graphql-transport-ws). Every stream yields `Event`s
/// with increasing ids; pass the last id you saw as `after` when you resubscribe to be sent
/// what you missed first.
#[Subscription]
impl Subscription {
    /// The signed-in agent's events: chats offered, directed, assigned or transferred to me;
    /// an offered chat taken by someone else (CHAT_TAKEN: drop it from the panel); new
    /// messages and delivery changes in chats I own; my chats completed (also by a time
    /// limit); my status changed (also by the system, after an accept timeout).
    #[graphql(guard = "RoleGuard::new(STAFF)")]
    async fn my_chat_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Replay events after this id first (resume after a disconnect).")] after: Option<ID>,
    ) -> async_graphql::Result<EventStream> {
        if let Some(one) = detached::one_event(ctx) {
            return Ok(one);
        }
        let me = principal(ctx)?.agent_id.0;
        stream(ctx, Filter::Agent(me), after, None, None).await
    }

    /// Chats entering and leaving a queue's waiting list (CHAT_CREATED, CHAT_DIRECTED,
    /// CHAT_ACCEPTED, CHAT_COMPLETED, CHAT_TRANSFERRED), for supervisors and admins (every
    /// chat of the queue) and the queue's agents (only chats they may read when the event
    /// reaches them: offered or directed to them, or theirs; checked per event, replays
    /// included). An agent's own work comes through `myChatEvents`.
    #[graphql(guard = "RoleGuard::new(STAFF)")]
    async fn queue_chat_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The queue to watch (a `Queue` id).")] queue_id: ID,
        #[graphql(desc = "Replay events after this id first.")] after: Option<ID>,
    ) -> async_graphql::Result<EventStream> {
        if let Some(one) = detached::one_event(ctx) {
            return Ok(one);
        }
        let queue = QueueId(ids::decode(&queue_id, "Queue")?);
        let me = principal(ctx)?;
        let db = stream_reads(ctx)?;
        if me.is_supervisor() {
            return stream(ctx, Filter::Queue(queue.0), after, None, None).await;
        }
        let member = move |db: DatabaseConnection, me: Principal| async move {
            let members = crate::domain::queues::members_of(&db, &[queue]).await.gql()?;
            if members.get(&queue).is_some_and(|m| m.contains(&me.agent_id)) {
                Ok(())
            } else {
                Err(coded(codes::FORBIDDEN, "only supervisors and the queue's agents may watch it"))
            }
        };
        // `stream` checks membership once it listens, and again on every access change.
        let reauthorize: Reauthorize = Box::new(move |now| Box::pin(member(db.clone(), now)));
        stream(ctx, Filter::Queue(queue.0), after, Some(readable_chats_only(ctx)?), Some(reauthorize)).await
    }

    /// Messages and delivery-status changes in one chat, for whoever may read it (re-checked
    /// for every event, so a transferred-away agent stops receiving).
    #[graphql(guard = "RoleGuard::new(READERS)")]
    async fn chat_messages(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The chat to watch (a `Chat` id).")] chat_id: ID,
        #[graphql(desc = "Replay events after this id first.")] after: Option<ID>,
    ) -> async_graphql::Result<EventStream> {
        if let Some(one) = detached::one_event(ctx) {
            return Ok(one);
        }
        let chat = ChatId(ids::decode(&chat_id, "Chat")?);
        let me = principal(ctx)?.clone();
        let db = stream_reads(ctx)?;
        if crate::domain::chats::get_visible(&db, &me, chat).await.gql()?.is_none() {
            return Err(coded("NOT_FOUND", "chat not found"));
        }
        let recheck = Box::new(move |_event: Arc<Published>| {
            let (db, me) = (db.clone(), me.clone());
            Box::pin(async move {
                crate::domain::chats::get_visible(&db, &me, chat).await.map(|c| c.is_some()).unwrap_or(false)
            }) as futures_util::future::BoxFuture<'static, bool>
        });
        stream(ctx, Filter::Chat(chat.0), after, Some(recheck), None).await
    }

    /// Agents' availability changes (sign-in and sign-out, chosen status, accept timeouts),
    /// for supervisors and transfer lists.
    #[graphql(guard = "RoleGuard::new(READERS)")]
    async fn agent_status_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Replay events after this id first.")] after: Option<ID>,
    ) -> async_graphql::Result<EventStream> {
        if let Some(one) = detached::one_event(ctx) {
            return Ok(one);
        }
        stream(ctx, Filter::Statuses, after, None, None).await
    }

    /// Agents' workload rows, kept current (SUPERVISOR, ADMIN, ANALYST): each message names
    /// the event that caused it and carries the rows that changed: the event's agent after
    /// AGENT_STATUS_CHANGED (status chosen, sign-in, sign-out, accept timeout), CHAT_DIRECTED,
    /// CHAT_ACCEPTED, CHAT_TAKEN (a direction withdrawn or lapsed), CHAT_TRANSFERRED (to an
    /// agent: the new owner), CHAT_COMPLETED (the owner; also the old owner of a transferred
    /// chat), an access change (signed out, disabled, role or queue membership changed);
    /// every agent after SETTINGS_CHANGED (capacity). Rows equal to the last ones sent on the
    /// stream are left out. Fetch `agentWorkload` first, then subscribe; with `after`, the
    /// events missed are replayed and each carries its agents' rows as they stand now.
    #[graphql(guard = "RoleGuard::new(super::workload::WORKLOAD_READERS)")]
    async fn agent_workload_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only the members of this queue (a `Queue` id); every agent when omitted.")]
        queue_id: Option<ID>,
        #[graphql(desc = "Replay events after this id first.")] after: Option<ID>,
    ) -> async_graphql::Result<
        impl Stream<Item = async_graphql::Result<super::workload::AgentWorkloadChange>> + use<>,
    > {
        super::workload::changes(ctx, queue_id, after).await
    }
}
