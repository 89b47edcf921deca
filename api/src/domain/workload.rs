//! Agent workload, live: per agent the chosen status, whether they are signed in, the chats
//! they have in progress and directed to them, the availability derived from these (as
//! [`super::presence`] derives it), the `SimultaneousChats` capacity and their queues.
//!
//! Offers (TO_ALL_AGENTS) do not count toward an agent's load; directed and in-progress chats
//! do (DESIGN §1 "Analytics and history"). Every figure is read in a fixed number of grouped
//! statements, whatever the number of agents.

use std::collections::HashMap;

use entity::enums::{AgentStatus, ChatStatus, Role};
use entity::{agents, chats, queue_agents, sessions};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::error::DomainResult;
use super::ids::{AgentId, QueueId};
use super::presence::{self, Availability, Presence};
use super::settings;

/// The roles routing gives chats to: the agents a workload lists.
pub const CHAT_ROLES: [Role; 3] = [Role::Agent, Role::Supervisor, Role::Admin];

/// One agent's workload, as it stands now.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// The agent's row.
    pub agent: agents::Model,
    /// At least one session is live.
    pub signed_in: bool,
    /// Chats the agent owns that are IN_PROGRESS.
    pub in_progress: u64,
    /// WAITING chats directed to the agent (TO_AVAILABLE_AGENT), not yet accepted.
    pub directed: u64,
    /// Whether the agent can be given new chats now.
    pub availability: Availability,
    /// `SimultaneousChats`, or `None` when it is 0 (no limit).
    pub capacity: Option<u32>,
    /// The queues the agent serves, in id order.
    pub queues: Vec<QueueId>,
}

impl Workload {
    /// What capacity counts: in progress plus directed.
    pub fn load(&self) -> u64 {
        self.in_progress + self.directed
    }

    /// The status routing sees: the chosen one while signed in, INACTIVE otherwise.
    pub fn status(&self) -> AgentStatus {
        presence::effective_status(self.agent.status, self.signed_in)
    }
}

/// Which agents a workload covers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Scope<'a> {
    /// Only the members of this queue.
    pub queue: Option<QueueId>,
    /// Only these agents (those an event concerns).
    pub agents: Option<&'a [AgentId]>,
}

/// The workload of every enabled agent with a role that takes chats (AGENT, SUPERVISOR,
/// ADMIN), narrowed by `scope`, in agent id order. Six statements whatever the number of
/// agents: the agents, in-progress and directed counts grouped by agent, live sessions,
/// queue memberships, settings.
pub async fn workloads(db: &impl ConnectionTrait, scope: Scope<'_>) -> DomainResult<Vec<Workload>> {
    let mut query = agents::Entity::find()
        .filter(agents::Column::Enabled.eq(true))
        .filter(agents::Column::Role.is_in(CHAT_ROLES))
        .order_by_asc(agents::Column::Id);
    if let Some(queue) = scope.queue {
        let members = Query::select()
            .column(queue_agents::Column::AgentId)
            .from(queue_agents::Entity)
            .and_where(queue_agents::Column::QueueId.eq(queue.0))
            .to_owned();
        query = query.filter(agents::Column::Id.in_subquery(members));
    }
    if let Some(only) = scope.agents {
        if only.is_empty() {
            return Ok(Vec::new());
        }
        query = query.filter(agents::Column::Id.is_in(only.iter().map(|id| id.0)));
    }
    let rows = query.all(db).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let in_progress = grouped_counts(db, chats::Column::OwnerId, ChatStatus::InProgress, &ids).await?;
    let directed = grouped_counts(db, chats::Column::DirectedAgentId, ChatStatus::Waiting, &ids).await?;
    let online: Vec<i64> = sessions::Entity::find()
        .select_only()
        .column(sessions::Column::AgentId)
        .filter(sessions::Column::AgentId.is_in(ids.clone()))
        .filter(sessions::Column::EndedAt.is_null())
        .filter(sessions::Column::ExpiresAt.gt(crate::clock::system_now()))
        .group_by(sessions::Column::AgentId)
        .into_tuple()
        .all(db)
        .await?;
    let agent_ids: Vec<AgentId> = ids.iter().copied().map(AgentId).collect();
    let mut queues = super::queues::queues_of(db, &agent_ids).await?;
    let limits = settings::load(db).await?;
    let capacity = (limits.simultaneous_chats != 0).then_some(limits.simultaneous_chats);
    Ok(rows
        .into_iter()
        .map(|agent| {
            let in_progress = in_progress.get(&agent.id).copied().unwrap_or(0);
            let directed = directed.get(&agent.id).copied().unwrap_or(0);
            let signed_in = online.contains(&agent.id);
            let presence = Presence { signed_in, open_chats: in_progress + directed };
            Workload {
                availability: presence::availability(agent.status, presence, &limits),
                queues: queues.remove(&AgentId(agent.id)).unwrap_or_default(),
                agent,
                signed_in,
                in_progress,
                directed,
                capacity,
            }
        })
        .collect())
}

/// Chats in `status` counted by the agent in `column`, for the agents `ids`.
async fn grouped_counts(
    db: &impl ConnectionTrait,
    column: chats::Column,
    status: ChatStatus,
    ids: &[i64],
) -> DomainResult<HashMap<i64, u64>> {
    let counted: Vec<(Option<i64>, i64)> = chats::Entity::find()
        .select_only()
        .column(column)
        .column_as(chats::Column::Id.count(), "n")
        .filter(chats::Column::Status.eq(status))
        .filter(column.is_in(ids.iter().copied()))
        .group_by(column)
        .into_tuple()
        .all(db)
        .await?;
    Ok(counted.into_iter().filter_map(|(agent, n)| Some((agent?, u64::try_from(n).unwrap_or(0)))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_is_in_progress_plus_directed() {
        let now = crate::clock::now();
        let agent = agents::Model {
            id: 1,
            name: "A".into(),
            email: "a@example.com".into(),
            password_hash: String::new(),
            role: Role::Agent,
            status: AgentStatus::Active,
            enabled: true,
            last_accepted_at: None,
            created_at: now,
            updated_at: now,
        };
        let row = Workload {
            agent,
            signed_in: false,
            in_progress: 2,
            directed: 1,
            availability: Availability::Inactive,
            capacity: None,
            queues: Vec::new(),
        };
        assert_eq!(row.load(), 3);
        assert_eq!(row.status(), AgentStatus::Inactive, "signed out is INACTIVE for routing");
    }
}
