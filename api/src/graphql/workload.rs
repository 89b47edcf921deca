//! Agent workload, live: the `agentWorkload` query and the rows `agentWorkloadChanged`
//! streams (the subscription is registered in `subscriptions`).
//!
//! For supervisors, administrators and analysts. Agents are refused (FORBIDDEN): their
//! colleagues' load is a supervisor's view; their own figures are on `me` (`openChats`,
//! `availability`).

use std::collections::{HashMap, HashSet};

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::enums::Role;
use futures_util::{Stream, StreamExt};

use super::context::{RoleGuard, db};
use super::error::{ResultExt, coded, from_domain};
use super::ids;
use super::types::agent::Agent;
use super::types::enums::{AgentStatus, Availability};
use super::types::queue::Queue;
use crate::domain::ids::{AgentId, QueueId};
use crate::domain::workload::{self, Scope, Workload};
use crate::events::EventKind;
use crate::graphql::loaders::load_many;

/// Who may read agents' workload.
pub const WORKLOAD_READERS: &[Role] = &[Role::Supervisor, Role::Admin, Role::Analyst];

/// One agent's workload as it stands now. Offers (TO_ALL_AGENTS) do not count toward the
/// load; chats directed to the agent and chats in progress do.
#[derive(Clone, Debug)]
pub struct AgentWorkload(pub Workload);

/// One agent's workload as it stands now. Offers (TO_ALL_AGENTS) do not count toward the
/// load; chats directed to the agent and chats in progress do.
#[Object]
impl AgentWorkload {
    /// The agent.
    async fn agent(&self) -> Agent {
        Agent::from(self.0.agent.clone())
    }

    /// The status routing sees: the chosen status while signed in, INACTIVE when signed out
    /// (as `Agent.status`).
    async fn status(&self) -> AgentStatus {
        self.0.status().into()
    }

    /// The status the agent chose (kept while they are signed out).
    async fn chosen_status(&self) -> AgentStatus {
        self.0.agent.status.into()
    }

    /// Whether the agent has a live session.
    async fn signed_in(&self) -> bool {
        self.0.signed_in
    }

    /// Whether the agent can be given new chats now: CHATS_EXCEEDED when `load` reaches
    /// `capacity`, else ACTIVE or INACTIVE as `status` (as `Agent.availability`).
    async fn availability(&self) -> Availability {
        self.0.availability.into()
    }

    /// Chats the agent owns that are IN_PROGRESS.
    async fn in_progress(&self) -> u64 {
        self.0.in_progress
    }

    /// WAITING chats directed to the agent (TO_AVAILABLE_AGENT) and not yet accepted.
    async fn directed(&self) -> u64 {
        self.0.directed
    }

    /// What capacity counts: `inProgress + directed` (offers are not counted).
    async fn load(&self) -> u64 {
        self.0.load()
    }

    /// The `SimultaneousChats` setting: how many chats (in progress + directed) an agent may
    /// hold; null when the setting is 0 (no limit).
    async fn capacity(&self) -> Option<u32> {
        self.0.capacity
    }

    /// The queues the agent serves, in creation order.
    async fn queues(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Queue>> {
        Ok(load_many(ctx, &self.0.queues).await?.into_iter().map(Queue::from).collect())
    }
}

/// A change of agents' workload, caused by one event.
#[derive(Clone, Debug)]
pub struct AgentWorkloadChange {
    event_id: i64,
    at: DateTime<Utc>,
    workloads: Vec<AgentWorkload>,
    removed: Vec<i64>,
}

/// A change of agents' workload, caused by one event.
#[Object]
impl AgentWorkloadChange {
    /// The event that caused it (pass it as `after` to resume after it).
    async fn event_id(&self) -> ID {
        ID(self.event_id.to_string())
    }

    /// When the event happened.
    async fn at(&self) -> DateTime<Utc> {
        self.at
    }

    /// The rows that changed, as they stand now (one for an event about an agent; every
    /// agent whose row changed after a settings change).
    async fn workloads(&self) -> &[AgentWorkload] {
        &self.workloads
    }

    /// Agents sent earlier on this stream who no longer belong to it (disabled, role changed
    /// to one that takes no chats, left the watched queue): drop their rows.
    async fn removed(&self) -> Vec<ID> {
        self.removed.iter().map(|id| ids::encode("Agent", *id)).collect()
    }
}

/// Workload queries.
#[derive(Default)]
pub struct WorkloadQuery;

#[Object]
impl WorkloadQuery {
    /// Agents' workload now (SUPERVISOR, ADMIN, ANALYST): one row per enabled agent with a
    /// role that takes chats (AGENT, SUPERVISOR, ADMIN), or per such member of `queueId`, in
    /// creation order. Keep it current with `agentWorkloadChanged`.
    #[graphql(guard = "RoleGuard::new(WORKLOAD_READERS)")]
    async fn agent_workload(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only the members of this queue (a `Queue` id); every agent when omitted.")]
        queue_id: Option<ID>,
    ) -> async_graphql::Result<Vec<AgentWorkload>> {
        let db = db(ctx)?;
        let queue = known_queue(db, queue_id).await?;
        let rows = workload::workloads(db, Scope { queue, agents: None }).await.gql()?;
        Ok(rows.into_iter().map(AgentWorkload).collect())
    }
}

/// The queue `id` names, NOT_FOUND when there is none.
async fn known_queue(
    db: &impl sea_orm::ConnectionTrait,
    id: Option<ID>,
) -> async_graphql::Result<Option<QueueId>> {
    let Some(id) = id else { return Ok(None) };
    let queue = QueueId(ids::decode(&id, "Queue")?);
    match crate::domain::queues::get(db, queue).await.gql()? {
        Some(_) => Ok(Some(queue)),
        None => Err(coded("NOT_FOUND", "queue not found")),
    }
}

/// The `agentWorkloadChanged` stream: for each event that may change workload rows, the rows
/// of the agents it concerns, recomputed now, less those equal to what this stream sent
/// last. Without `after`, the rows as they stand when the stream starts count as sent.
pub(super) async fn changes(
    ctx: &Context<'_>,
    queue_id: Option<ID>,
    after: Option<ID>,
) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<AgentWorkloadChange>> + use<>> {
    let db = super::subscriptions::stream_reads(ctx)?;
    let queue = known_queue(&db, queue_id).await?;
    let resumed = after.is_some();
    let events = super::subscriptions::workload_events(ctx, after).await?;
    // Read once the stream listens: a change after this arrives as an event.
    let mut sent: HashMap<i64, Workload> = HashMap::new();
    if !resumed {
        let rows = workload::workloads(&db, Scope { queue, agents: None }).await.gql()?;
        sent.extend(rows.into_iter().map(|row| (row.agent.id, row)));
    }
    Ok(async_stream::stream! {
        futures_util::pin_mut!(events);
        while let Some(item) = events.next().await {
            let event = match item {
                Ok(event) => event,
                Err(err) => {
                    yield Err(err);
                    return;
                }
            };
            // A settings change (capacity) concerns everyone; other events their agent.
            let concerned: Option<Vec<AgentId>> = if event.kind == EventKind::SettingsChanged.as_str() {
                None
            } else {
                match event.agent_id {
                    Some(agent) => Some(vec![AgentId(agent)]),
                    None => continue,
                }
            };
            let rows = match workload::workloads(&db, Scope { queue, agents: concerned.as_deref() }).await {
                Ok(rows) => rows,
                Err(err) => {
                    yield Err(from_domain(err));
                    return;
                }
            };
            let present: HashSet<i64> = rows.iter().map(|row| row.agent.id).collect();
            let mut changed = Vec::new();
            for row in rows {
                if sent.get(&row.agent.id) != Some(&row) {
                    sent.insert(row.agent.id, row.clone());
                    changed.push(AgentWorkload(row));
                }
            }
            let gone: Vec<i64> = match &concerned {
                Some(agents) => agents.iter().map(|a| a.0).filter(|id| !present.contains(id)).collect(),
                None => sent.keys().copied().filter(|id| !present.contains(id)).collect(),
            };
            let mut removed: Vec<i64> = gone.into_iter().filter(|id| sent.remove(id).is_some()).collect();
            removed.sort_unstable();
            if changed.is_empty() && removed.is_empty() {
                continue;
            }
            yield Ok(AgentWorkloadChange { event_id: event.id, at: event.created_at, workloads: changed, removed });
        }
    })
}
