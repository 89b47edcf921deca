//! Routing: offering or directing WAITING chats to the agents of their queue (DESIGN §1.1).
//!
//! `TO_ALL_AGENTS` offers a chat to every queue member who is signed in, ACTIVE and under
//! capacity; `TO_AVAILABLE_AGENT` directs it to one of them — fewest open chats (directed +
//! in progress), ties to whoever has gone longest without accepting. A chat nobody could take
//! keeps waiting and is routed again when someone frees up.
//!
//! Routing runs from one place, [`after_commit`]: writes that free or fill a capacity slot
//! return what to route ([`Reroute`], inside an [`AfterCommit`]) and their callers take the
//! result through [`AfterCommit::routed`], which runs it.
//!
//! Capacity holds under bursts: routing locks the chat row and the chosen agent's row (on
//! PostgreSQL; SQLite write transactions are serialised already) and recounts before
//! directing, so concurrent routings on several instances never push an agent past the limit.

use std::collections::HashSet;

use entity::enums::{AgentStatus, AssignmentKind, ChatStatus, Role, RoutingRule};
use entity::{agents, assignments, chats, queue_agents, queues};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
};
use tracing::instrument;

mod background;

pub use background::BackgroundRouting;

use super::assignments::record_assignment;
use super::error::DomainResult;
use super::ids::{AgentId, ChatId, QueueId};
use super::reroute::{AfterCommit, Reroute};
use super::{presence, queues as queue_rules, settings};
use crate::db::locked;
use crate::events::{self, EventKind, Subjects};

/// What routing did with a chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Routed {
    /// Offered to these agents (newly; earlier offers stand).
    Offered(Vec<AgentId>),
    /// Directed to this agent.
    Directed(AgentId),
    /// Nobody could take it; it waits. (A chat whose queue has nobody who takes chats at all
    /// is not routed: its look, before any transaction, leaves it waiting.)
    Waiting,
    /// The chat is not waiting (accepted, completed) or already directed.
    Unchanged,
}

/// A queue member who could take a chat now.
struct Candidate {
    agent: agents::Model,
    open_chats: u64,
}

/// The agents who take chats from queues: enabled, ACTIVE, in a role that takes chats.
fn takes_chats(query: sea_orm::Select<agents::Entity>) -> sea_orm::Select<agents::Entity> {
    query
        .filter(agents::Column::Enabled.eq(true))
        .filter(agents::Column::Status.eq(AgentStatus::Active))
        .filter(agents::Column::Role.is_in([Role::Agent, Role::Supervisor, Role::Admin]))
}

/// Queue members who are enabled, signed in, ACTIVE and under capacity.
async fn candidates(db: &impl ConnectionTrait, queue: QueueId) -> DomainResult<Vec<Candidate>> {
    let members = takes_chats(agents::Entity::find().inner_join(queue_agents::Entity))
        .filter(queue_agents::Column::QueueId.eq(queue.0))
        .all(db)
        .await?;
    if members.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<AgentId> = members.iter().map(|a| AgentId(a.id)).collect();
    let presences = presence::presences(db, &ids).await?;
    let limits = settings::load(db).await?;
    Ok(members
        .into_iter()
        .filter_map(|agent| {
            let p = presences.get(&AgentId(agent.id)).copied().unwrap_or_default();
            (p.signed_in && !limits.at_capacity(p.open_chats))
                .then_some(Candidate { agent, open_chats: p.open_chats })
        })
        .collect())
}

/// The queues that have a member who takes chats (enabled, ACTIVE), as a subquery.
fn queues_with_takers() -> sea_orm::sea_query::SelectStatement {
    takes_chats(agents::Entity::find().inner_join(queue_agents::Entity))
        .select_only()
        .column(queue_agents::Column::QueueId)
        .into_query()
}

/// Chats are looked at this many to a statement.
const LOOKED_AT_ONCE: usize = 500;

/// Which of `chats` are in a queue with a member who takes chats, read in one statement per
/// [`LOOKED_AT_ONCE`] chats before any routing transaction. A chat whose queue has nobody
/// has nothing to route to, and routing skips its transaction, which on SQLite would hold
/// the single writer for all its reads: a member who becomes able to take chats after the
/// look routes the queue's waiting chats when that change commits (`Reroute::agents`,
/// `Reroute::queue`), and the chats looked at had committed before the look.
async fn chats_someone_could_take(
    db: &impl ConnectionTrait,
    chats: &[ChatId],
) -> DomainResult<HashSet<ChatId>> {
    let mut takeable = HashSet::new();
    for part in chats.chunks(LOOKED_AT_ONCE) {
        let found: Vec<i64> = chats::Entity::find()
            .select_only()
            .column(chats::Column::Id)
            .filter(chats::Column::Id.is_in(part.iter().map(|chat| chat.0)))
            .filter(chats::Column::QueueId.in_subquery(queues_with_takers()))
            .into_tuple()
            .all(db)
            .await?;
        takeable.extend(found.into_iter().map(ChatId));
    }
    Ok(takeable)
}

/// Whether `queue` has a member who takes chats: [`chats_someone_could_take`] for a queue.
async fn someone_takes_chats(db: &impl ConnectionTrait, queue: QueueId) -> DomainResult<bool> {
    let member: Option<i64> = takes_chats(agents::Entity::find().inner_join(queue_agents::Entity))
        .select_only()
        .column(agents::Column::Id)
        .filter(queue_agents::Column::QueueId.eq(queue.0))
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    Ok(member.is_some())
}

/// Routes one chat by its queue's rule, in one transaction. Called for a chat looked at
/// first ([`chats_someone_could_take`], [`someone_takes_chats`]).
#[instrument(skip(db), fields(chat_id = chat.0))]
async fn route_chat(db: &DatabaseConnection, chat: ChatId) -> DomainResult<Routed> {
    let txn = crate::db::write(db).await?;
    let Some(row) = locked(&txn, chats::Entity::find_by_id(chat.0)).one(&txn).await? else {
        return Ok(Routed::Unchanged);
    };
    if row.status != ChatStatus::Waiting || row.directed_agent_id.is_some() {
        return Ok(Routed::Unchanged);
    }
    let Some(queue) = queues::Entity::find_by_id(row.queue_id).one(&txn).await? else {
        return Ok(Routed::Unchanged);
    };
    let mut candidates = candidates(&txn, QueueId(queue.id)).await?;
    let now = crate::clock::now();
    let routed = match queue.routing_rule {
        RoutingRule::ToAllAgents => {
            let offered: HashSet<i64> = assignments::Entity::find()
                .filter(assignments::Column::ChatId.eq(row.id))
                .filter(assignments::Column::Kind.eq(AssignmentKind::Offer))
                .filter(assignments::Column::EndedAt.is_null())
                .all(&txn)
                .await?
                .into_iter()
                .filter_map(|a| a.agent_id)
                .collect();
            let mut new = Vec::new();
            for candidate in candidates.iter().filter(|c| !offered.contains(&c.agent.id)) {
                let agent = AgentId(candidate.agent.id);
                record_assignment(&txn, &row, Some(agent), AssignmentKind::Offer, None).await?;
                let subjects =
                    Subjects { agent: Some(agent), chat: Some(chat), queue: Some(QueueId(row.queue_id)) };
                events::record(
                    &txn,
                    EventKind::ChatOffered,
                    subjects,
                    serde_json::json!({ "agentId": agent.0 }),
                )
                .await?;
                new.push(agent);
            }
            if new.is_empty() && offered.is_empty() { Routed::Waiting } else { Routed::Offered(new) }
        }
        RoutingRule::ToAvailableAgent => {
            // Fewest open chats first; ties to whoever has waited longest since accepting
            // (never accepted counts as longest), then by id for a stable order.
            candidates.sort_by(|a, b| {
                a.open_chats
                    .cmp(&b.open_chats)
                    .then_with(|| match (a.agent.last_accepted_at, b.agent.last_accepted_at) {
                        (None, None) => std::cmp::Ordering::Equal,
                        (None, Some(_)) => std::cmp::Ordering::Less,
                        (Some(_), None) => std::cmp::Ordering::Greater,
                        (Some(x), Some(y)) => x.cmp(&y),
                    })
                    .then_with(|| a.agent.id.cmp(&b.agent.id))
            });
            let limits = settings::load(&txn).await?;
            let mut routed = Routed::Waiting;
            for candidate in candidates {
                let agent = AgentId(candidate.agent.id);
                // Lock the agent, then recount: another transaction may have just given them a chat.
                locked(&txn, agents::Entity::find_by_id(agent.0)).one(&txn).await?;
                let open =
                    presence::presences(&txn, &[agent]).await?.get(&agent).copied().unwrap_or_default();
                if limits.at_capacity(open.open_chats) {
                    continue;
                }
                let deadline = now + chrono::Duration::seconds(i64::from(limits.accept_chat_timeout_seconds));
                chats::Entity::update_many()
                    .col_expr(chats::Column::DirectedAgentId, Expr::value(agent.0))
                    .col_expr(chats::Column::UpdatedAt, Expr::value(now))
                    .filter(chats::Column::Id.eq(row.id))
                    .exec(&txn)
                    .await?;
                record_assignment(&txn, &row, Some(agent), AssignmentKind::Direction, Some(deadline)).await?;
                let subjects =
                    Subjects { agent: Some(agent), chat: Some(chat), queue: Some(QueueId(row.queue_id)) };
                let payload = serde_json::json!({ "agentId": agent.0, "deadline": deadline });
                events::record(&txn, EventKind::ChatDirected, subjects, payload).await?;
                routed = Routed::Directed(agent);
                break;
            }
            routed
        }
    };
    txn.commit().await?;
    Ok(routed)
}

/// Routes the waiting chats of a queue, oldest first, if anyone in it takes chats.
async fn route_queue(
    db: &DatabaseConnection,
    reads: Option<&DatabaseConnection>,
    queue: QueueId,
) -> DomainResult<()> {
    if !someone_takes_chats(reads.unwrap_or(db), queue).await? {
        return Ok(());
    }
    let waiting: Vec<i64> = chats::Entity::find()
        .select_only()
        .column(chats::Column::Id)
        .filter(chats::Column::QueueId.eq(queue.0))
        .filter(chats::Column::Status.eq(ChatStatus::Waiting))
        .filter(chats::Column::DirectedAgentId.is_null())
        .order_by_asc(chats::Column::CreatedAt)
        .order_by_asc(chats::Column::Id)
        .limit(200)
        .into_tuple()
        .all(db)
        .await?;
    for chat in waiting {
        route_chat(db, ChatId(chat)).await?;
    }
    Ok(())
}

/// The queues to route for `reroute`'s agents, queues and "every queue", each once, in order.
async fn queues_to_route(db: &DatabaseConnection, reroute: &Reroute) -> DomainResult<Vec<QueueId>> {
    let mut wanted = Vec::new();
    let mut by_agent = queue_rules::queues_of(db, reroute.agent_ids()).await?;
    for agent in reroute.agent_ids() {
        wanted.extend(by_agent.remove(agent).unwrap_or_default());
    }
    wanted.extend_from_slice(reroute.queue_ids());
    if reroute.is_every_queue() {
        let all: Vec<i64> = queues::Entity::find()
            .select_only()
            .column(queues::Column::Id)
            .order_by_asc(queues::Column::Id)
            .into_tuple()
            .all(db)
            .await?;
        wanted.extend(all.into_iter().map(QueueId));
    }
    let mut seen = HashSet::new();
    wanted.retain(|queue| seen.insert(*queue));
    Ok(wanted)
}

/// The after-commit step, the one place routing runs from: routes the chats a write opened or
/// released, then the waiting chats of the queues it may have freed someone in. Failures are
/// logged, not returned (the write has committed; the chats keep waiting and the next trigger
/// routes them). `reads`: read-only connections beside `db` (SQLite's single writer), where
/// routing looks whether anyone could take a chat at all before it takes the writer. The
/// chats are looked at together, in one statement.
pub async fn after_commit(db: &DatabaseConnection, reads: Option<&DatabaseConnection>, reroute: Reroute) {
    let mut seen = HashSet::new();
    let chats: Vec<ChatId> = reroute.chat_ids().iter().copied().filter(|chat| seen.insert(*chat)).collect();
    match chats_someone_could_take(reads.unwrap_or(db), &chats).await {
        Ok(takeable) => {
            for chat in chats.into_iter().filter(|chat| takeable.contains(chat)) {
                if let Err(err) = route_chat(db, chat).await {
                    tracing::error!(error = %err, chat_id = chat.0, "routing failed");
                }
            }
        }
        Err(err) => {
            tracing::error!(error = %err, chats = chats.len(), "routing failed: the chats could not be looked at")
        }
    }
    let queues = match queues_to_route(db, &reroute).await {
        Ok(queues) => queues,
        Err(err) => {
            tracing::error!(error = %err, "routing failed: the queues to route could not be read");
            return;
        }
    };
    for queue in queues {
        if let Err(err) = route_queue(db, reads, queue).await {
            tracing::error!(error = %err, queue_id = queue.0, "routing failed");
        }
    }
}

impl<T> AfterCommit<T> {
    /// Runs the write's re-routing ([`after_commit`]) and gives its result: the only way to
    /// take the result, so no caller can skip the routing.
    pub async fn routed(self, db: &DatabaseConnection) -> T {
        let (value, reroute) = self.take_for_routing();
        if !reroute.is_empty() {
            after_commit(db, None, reroute).await;
        }
        value
    }
}
