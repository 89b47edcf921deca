//! Routing: offering or directing WAITING chats to the agents of their queue (DESIGN §1.1).
//!
//! `TO_ALL_AGENTS` offers a chat to every queue member who is signed in, ACTIVE and under
//! capacity; `TO_AVAILABLE_AGENT` directs it to one of them — fewest open chats (directed +
//! in progress), ties to whoever has gone longest without accepting. A chat nobody could take
//! keeps waiting and is routed again when someone frees up ([`route_for_agent`]).
//!
//! Capacity holds under bursts: routing locks the chat row and the chosen agent's row (on
//! PostgreSQL; SQLite write transactions are serialised already) and recounts before
//! directing, so concurrent routings on several instances never push an agent past the limit.

use std::collections::HashSet;

use chrono::Utc;
use entity::enums::{AgentStatus, AssignmentKind, ChatStatus, Role, RoutingRule};
use entity::{agents, assignments, chats, queue_agents, queues};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, NotSet,
    QueryFilter, QueryOrder, QuerySelect, Select, Set,
};
use tracing::instrument;

use super::error::DomainResult;
use super::ids::{AgentId, ChatId, QueueId};
use super::{presence, queues as queue_rules, settings};
use crate::events::{self, EventKind, Subjects};

/// What routing did with a chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Routed {
    /// Offered to these agents (newly; earlier offers stand).
    Offered(Vec<AgentId>),
    /// Directed to this agent.
    Directed(AgentId),
    /// Nobody could take it; it waits.
    Waiting,
    /// The chat is not waiting (accepted, completed) or already directed.
    Unchanged,
}

/// `SELECT … FOR UPDATE` on PostgreSQL; SQLite's immediate transactions already hold the
/// database's single write lock.
pub fn locked<E: EntityTrait>(db: &impl ConnectionTrait, select: Select<E>) -> Select<E> {
    if db.get_database_backend() == DatabaseBackend::Postgres { select.lock_exclusive() } else { select }
}

/// A queue member who could take a chat now.
struct Candidate {
    agent: agents::Model,
    open_chats: u64,
}

/// Queue members who are enabled, signed in, ACTIVE and under capacity.
async fn candidates(db: &impl ConnectionTrait, queue: QueueId) -> DomainResult<Vec<Candidate>> {
    let member_ids: Vec<i64> = queue_agents::Entity::find()
        .select_only()
        .column(queue_agents::Column::AgentId)
        .filter(queue_agents::Column::QueueId.eq(queue.0))
        .into_tuple()
        .all(db)
        .await?;
    let members = agents::Entity::find()
        .filter(agents::Column::Id.is_in(member_ids))
        .filter(agents::Column::Enabled.eq(true))
        .filter(agents::Column::Status.eq(AgentStatus::Active))
        .filter(agents::Column::Role.is_in([Role::Agent, Role::Supervisor, Role::Admin]))
        .all(db)
        .await?;
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

/// Routes one chat by its queue's rule, in one transaction.
#[instrument(skip(db), fields(chat_id = chat.0))]
pub async fn route_chat(db: &DatabaseConnection, chat: ChatId) -> DomainResult<Routed> {
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
    let now = Utc::now();
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

/// Writes an assignment row.
pub async fn record_assignment(
    db: &impl ConnectionTrait,
    chat: &chats::Model,
    agent: Option<AgentId>,
    kind: AssignmentKind,
    deadline: Option<chrono::DateTime<Utc>>,
) -> Result<assignments::Model, sea_orm::DbErr> {
    assignments::ActiveModel {
        id: NotSet,
        chat_id: Set(chat.id),
        agent_id: Set(agent.map(|a| a.0)),
        queue_id: Set(Some(chat.queue_id)),
        kind: Set(kind),
        outcome: Set(None),
        created_at: Set(Utc::now()),
        deadline: Set(deadline),
        ended_at: Set(None),
    }
    .insert(db)
    .await
}

/// Routes the waiting chats of a queue, oldest first.
pub async fn route_queue(db: &DatabaseConnection, queue: QueueId) -> DomainResult<()> {
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

/// Routes waiting chats of every queue the agent serves: call it when an agent may have
/// become free (went ACTIVE, signed in, completed or transferred a chat, joined a queue).
pub async fn route_for_agent(db: &DatabaseConnection, agent: AgentId) -> DomainResult<()> {
    let queues = queue_rules::queues_of(db, &[agent]).await?.remove(&agent).unwrap_or_default();
    for queue in queues {
        route_queue(db, queue).await?;
    }
    Ok(())
}

/// Runs a routing pass after a commit; failures are logged (the chats keep waiting and the
/// next trigger routes them).
pub async fn after_commit(db: &DatabaseConnection, agents: &[AgentId], chats: &[ChatId]) {
    for chat in chats {
        if let Err(err) = route_chat(db, *chat).await {
            tracing::error!(error = %err, chat_id = chat.0, "routing failed");
        }
    }
    for agent in agents {
        if let Err(err) = route_for_agent(db, *agent).await {
            tracing::error!(error = %err, agent_id = agent.0, "routing failed");
        }
    }
}

/// Withdraws what was offered or directed to an agent who stopped taking chats (went INACTIVE
/// or signed out): open offers end WITHDRAWN (their panels drop them), directed chats are
/// released without penalty. Returns the chats to route again after the commit.
pub async fn withdraw_from(db: &impl ConnectionTrait, agent: AgentId) -> Result<Vec<ChatId>, sea_orm::DbErr> {
    let open = assignments::Entity::find()
        .filter(assignments::Column::AgentId.eq(agent.0))
        .filter(assignments::Column::EndedAt.is_null())
        .filter(assignments::Column::Kind.is_in([AssignmentKind::Offer, AssignmentKind::Direction]))
        .all(db)
        .await?;
    let now = Utc::now();
    let mut reroute = Vec::new();
    for row in open {
        assignments::Entity::update_many()
            .col_expr(assignments::Column::Outcome, Expr::value(entity::enums::AssignmentOutcome::Withdrawn))
            .col_expr(assignments::Column::EndedAt, Expr::value(now))
            .filter(assignments::Column::Id.eq(row.id))
            .exec(db)
            .await?;
        if row.kind == AssignmentKind::Direction {
            let released = chats::Entity::update_many()
                .col_expr(chats::Column::DirectedAgentId, Expr::value(Option::<i64>::None))
                .col_expr(chats::Column::UpdatedAt, Expr::value(now))
                .filter(chats::Column::Id.eq(row.chat_id))
                .filter(chats::Column::Status.eq(ChatStatus::Waiting))
                .filter(chats::Column::DirectedAgentId.eq(agent.0))
                .exec(db)
                .await?;
            if released.rows_affected > 0 {
                reroute.push(ChatId(row.chat_id));
            }
        }
        let subjects = Subjects {
            agent: Some(agent),
            chat: Some(ChatId(row.chat_id)),
            queue: row.queue_id.map(QueueId),
        };
        events::record(db, EventKind::ChatTaken, subjects, serde_json::json!({ "reason": "WITHDRAWN" }))
            .await?;
    }
    Ok(reroute)
}
