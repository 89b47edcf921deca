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

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Context, ID, Subscription};
use entity::events;
use futures_util::Stream;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::context::{READERS, RoleGuard, STAFF, principal};
use super::detached;
use super::error::{ResultExt, coded, codes};
use super::ids;
use super::types::event::Event;
use crate::domain::ids::{ChatId, QueueId};
use crate::domain::sessions::Principal;
use crate::events::Published;
use crate::events::bus::EventBus;
use crate::events::topics::{RecvError, Topic};

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

fn parse_after(after: Option<ID>) -> async_graphql::Result<Option<i64>> {
    after
        .map(|id| id.parse::<i64>().map_err(|_| coded(codes::BAD_USER_INPUT, "after must be an event id")))
        .transpose()
}

/// Refuses an `after` older than what the log still holds.
async fn check_retained(db: &DatabaseConnection, after: i64) -> async_graphql::Result<()> {
    let purged = crate::domain::settings::events_purged_through(db).await.gql()?;
    if after < purged {
        return Err(coded(
            "EVENTS_EXPIRED",
            format!(
                "events up to {purged} are no longer kept; refetch with queries and subscribe without `after`"
            ),
        ));
    }
    Ok(())
}

/// A per-event authorization check (true: deliver).
type Recheck = Box<dyn Fn(Arc<Published>) -> futures_util::future::BoxFuture<'static, bool> + Send + Sync>;

/// What a subscription needs beyond a live session and an unchanged role, checked again
/// whenever the subscriber's access changes (for a queue: still one of its agents). Given the
/// principal as their session stands now; an error ends the stream.
type Reauthorize = Box<
    dyn Fn(Principal) -> futures_util::future::BoxFuture<'static, async_graphql::Result<()>> + Send + Sync,
>;

/// Whether an event changes the subscriber's access: sign-out, disabling, password, role or
/// queue membership (ACCESS_CHANGED, recorded in the changing transaction and published on
/// every instance).
fn changes_access_of(event: &events::Model, me: &Principal) -> bool {
    event.kind == crate::events::EventKind::AccessChanged.as_str() && event.agent_id == Some(me.agent_id.0)
}

/// Re-checks a subscriber's access: the session must still work, the role be the one the
/// stream was opened with, and `reauthorize` pass. The error that ends the stream otherwise.
async fn still_allowed(
    db: &DatabaseConnection,
    principal: &Principal,
    reauthorize: Option<&Reauthorize>,
) -> Result<(), async_graphql::Error> {
    match crate::domain::sessions::current(db, principal).await {
        Ok(None) => Err(coded(codes::UNAUTHENTICATED, "the session has ended; sign in again")),
        Ok(Some(now)) if now.role != principal.role => {
            Err(coded(codes::FORBIDDEN, "your role changed; subscribe again"))
        }
        Ok(Some(now)) => match reauthorize {
            Some(reauthorize) => reauthorize(now).await,
            None => Ok(()),
        },
        Err(err) => {
            tracing::error!(error = %err, "cannot re-check a subscriber's access");
            Err(coded(codes::INTERNAL, "could not re-check your access; resubscribe"))
        }
    }
}

/// Completes when an ACCESS_CHANGED event about `me` arrives on `access` (or events were
/// dropped there, which may have hidden one); never when there is no such subscriber.
async fn next_access_change(
    access: Option<&mut crate::events::topics::Subscriber>,
    me: &Principal,
) -> async_graphql::Result<()> {
    let Some(access) = access else { return std::future::pending().await };
    loop {
        match access.recv().await {
            Ok(event) if changes_access_of(&event, me) => return Ok(()),
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => return Ok(()),
            Err(RecvError::Closed) => return std::future::pending().await,
        }
    }
}

/// Delivers only events whose chat the caller may read when the event reaches them.
fn readable_chats_only(ctx: &Context<'_>) -> async_graphql::Result<Recheck> {
    let me = principal(ctx)?.clone();
    let db = stream_reads(ctx)?;
    Ok(Box::new(move |event: Arc<Published>| {
        let (db, me) = (db.clone(), me.clone());
        Box::pin(async move {
            match event.chat(&db).await {
                Ok(Some(chat)) => {
                    crate::domain::chats::may_see(&db, &me, &chat).await.unwrap_or_else(|err| {
                        tracing::error!(error = %err, "cannot check an event's chat");
                        false
                    })
                }
                Ok(None) => false,
                Err(err) => {
                    tracing::error!(error = %err, "cannot read an event's chat");
                    false
                }
            }
        }) as futures_util::future::BoxFuture<'static, bool>
    }))
}

/// The stream: replay after `after` from the log, then live events from the bus.
/// Handed to the group running it when there is one (see `super::detached`).
async fn stream(
    ctx: &Context<'_>,
    filter: Filter,
    after: Option<ID>,
    recheck: Option<Recheck>,
    reauthorize: Option<Reauthorize>,
) -> async_graphql::Result<EventStream> {
    // An execution for one event never sets a live stream up, even for a resolver that does
    // not look for its event first (it would then run its own set-up per event, but answer
    // the one event and end): the group's loop waits for each execution to end.
    if let Some(one) = detached::one_event(ctx) {
        return Ok(one);
    }
    // Boxed while it starts: its database reads would otherwise stay in the state async-graphql
    // keeps for the stream's whole life (measured with heaptrack; see docs/benchmarks.md).
    let published = Box::pin(published(ctx, filter, after, recheck, reauthorize)).await?;
    Ok(detached::hand_over_or_run(ctx, futures_util::StreamExt::boxed(published)))
}

/// What the `Event` subscriptions answer.
type EventStream = futures_util::stream::BoxStream<'static, async_graphql::Result<Event>>;

/// The events that change agents' workload rows, with the resume, overflow and access
/// re-checks of every stream (for `super::workload`).
pub(super) async fn workload_events(
    ctx: &Context<'_>,
    after: Option<ID>,
) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Arc<Published>>> + use<>> {
    // Boxed while it starts, as in [`stream`].
    Box::pin(published(ctx, Filter::Workload, after, None, None)).await
}

/// [`stream`]'s events as published.
async fn published(
    ctx: &Context<'_>,
    filter: Filter,
    after: Option<ID>,
    recheck: Option<Recheck>,
    reauthorize: Option<Reauthorize>,
) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Arc<Published>>> + use<>> {
    let principal: Principal = principal(ctx)?.clone();
    let db = stream_reads(ctx)?;
    let bus = ctx.data::<EventBus>()?.clone();
    let config = *ctx.data::<StreamConfig>()?;
    let metrics = ctx.data::<crate::jobs::JobContext>()?.metrics.clone();
    let shared = ctx.data_opt::<SharedStream>().cloned();
    let after = parse_after(after)?;
    if let Some(after) = after {
        check_retained(&db, after).await?;
    }
    // Subscribe before reading the log, so nothing committed in between is missed; ids
    // already replayed are skipped when they come through the bus.
    let mut live = bus.subscribe(filter.topic());
    // Access changes arrive as events about the subscriber; a stream that does not follow
    // its own agent listens for them beside its topic.
    let mut access = (filter.topic() != Topic::Agent(principal.agent_id.0))
        .then(|| bus.subscribe(Topic::Agent(principal.agent_id.0)));
    // Checked once the bus is listening: a change committed before this is seen here, one
    // committed after arrives as an event.
    still_allowed(&db, &principal, reauthorize.as_ref()).await?;
    // Without `after`, the stream starts at the newest committed event: older ones the bus
    // has not published yet must not leak in.
    let start = match after {
        Some(after) => after,
        None => crate::events::bus::newest(&db).await.map_err(|e| super::error::from_domain(e.into()))?,
    };
    // The stream's state is what an idle subscriber costs: the futures that read the
    // database are boxed, so they take memory only while they run.
    Ok(async_stream::stream! {
        let _active = match &shared {
            None => Some(metrics.subscription_started()),
            Some(shared) => {
                (shared.live)();
                None
            }
        };
        // Boxed, like every database read of the stream (above).
        let allowed = || Box::pin(still_allowed(&db, &principal, reauthorize.as_ref()));
        let mut last = start;
        if after.is_some() {
            loop {
                let page = Box::pin(
                    filter
                        .apply(events::Entity::find().filter(events::Column::Id.gt(last)))
                        .order_by_asc(events::Column::Id)
                        .limit(500)
                        .all(&db),
                )
                .await;
                match page {
                    Ok(rows) if rows.is_empty() => break,
                    Ok(rows) => {
                        // The replay reads only the stream's kinds, not the ACCESS_CHANGED events
                        // among them: access is checked again for every page read, so a change
                        // committed while the log was replayed ends the stream before the page
                        // goes out (one committed after it arrives live).
                        if let Err(err) = allowed().await {
                            yield Err(err);
                            return;
                        }
                        for row in rows {
                            last = row.id;
                            let row = Arc::new(Published::new(row));
                            if let Some(recheck) = &recheck && !recheck(row.clone()).await {
                                continue;
                            }
                            SharedStream::yielding(shared.as_ref(), &row);
                            yield Ok(row);
                        }
                    }
                    Err(err) => {
                        // Logged and coded in one place (DATABASE_UNAVAILABLE in an outage):
                        // the client resubscribes with the last id it received.
                        yield Err(super::error::from_domain(err.into()));
                        return;
                    }
                }
            }
        }
        let mut check = tokio::time::interval(config.session_check);
        check.tick().await;
        loop {
            tokio::select! {
                // An access change published before a live event is seen before it.
                biased;
                changed = next_access_change(access.as_mut(), &principal) => {
                    if let Err(err) = changed {
                        yield Err(err);
                        return;
                    }
                    if let Err(err) = allowed().await {
                        yield Err(err);
                        return;
                    }
                }
                received = live.recv() => match received {
                    Ok(event) => {
                        if changes_access_of(&event, &principal)
                            && let Err(err) = allowed().await
                        {
                            yield Err(err);
                            return;
                        }
                        if event.id <= last || !filter.matches(&event) {
                            continue;
                        }
                        last = event.id;
                        if let Some(recheck) = &recheck && !recheck(event.clone()).await {
                            continue;
                        }
                        SharedStream::yielding(shared.as_ref(), &event);
                        yield Ok(event);
                    }
                    Err(RecvError::Lagged(missed)) => {
                        yield Err(coded(
                            "SUBSCRIPTION_OVERFLOW",
                            format!("this subscriber fell {missed} events behind; resubscribe with after: \"{last}\""),
                        ));
                        return;
                    }
                    Err(RecvError::Closed) => return,
                },
                _ = check.tick() => {
                    // Expiry has no event; access changes missed on the way are caught here too.
                    if let Err(err) = allowed().await {
                        yield Err(err);
                        return;
                    }
                }
            }
        }
    })
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
