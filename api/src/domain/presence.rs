//! Agent presence: the status an agent chose, whether they are signed in, and the
//! availability derived from both and from their workload.

use std::collections::HashMap;

use entity::enums::{AgentStatus, ChatStatus};
use entity::{chats, sessions};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::error::DomainResult;
use super::ids::AgentId;
use super::settings::Settings;

/// Whether an agent can be given new chats now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Availability {
    /// Signed in, chose ACTIVE, under capacity: receives new chats.
    Active,
    /// Chose INACTIVE or is signed out: keeps their chats, receives no new ones.
    Inactive,
    /// Holds as many chats as `SimultaneousChats` allows.
    ChatsExceeded,
}

/// What is known about an agent beyond their row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Presence {
    /// At least one session is live.
    pub signed_in: bool,
    /// Chats directed to the agent plus chats they have in progress.
    pub open_chats: u64,
}

/// The status routing sees: the chosen one while signed in, INACTIVE otherwise.
pub fn effective_status(chosen: AgentStatus, signed_in: bool) -> AgentStatus {
    if signed_in { chosen } else { AgentStatus::Inactive }
}

/// Availability from the chosen status, presence and settings. Capacity wins: an agent at
/// capacity shows CHATS_EXCEEDED whatever their status.
pub fn availability(chosen: AgentStatus, presence: Presence, settings: &Settings) -> Availability {
    if settings.at_capacity(presence.open_chats) {
        Availability::ChatsExceeded
    } else if effective_status(chosen, presence.signed_in) == AgentStatus::Active {
        Availability::Active
    } else {
        Availability::Inactive
    }
}

/// Presence of many agents in three grouped queries (no per-agent round trips).
pub async fn presences(
    db: &impl ConnectionTrait,
    agents: &[AgentId],
) -> DomainResult<HashMap<AgentId, Presence>> {
    let ids: Vec<i64> = agents.iter().map(|id| id.0).collect();
    let mut out: HashMap<AgentId, Presence> = agents.iter().map(|id| (*id, Presence::default())).collect();
    if ids.is_empty() {
        return Ok(out);
    }
    let in_progress: Vec<(Option<i64>, i64)> = chats::Entity::find()
        .select_only()
        .column(chats::Column::OwnerId)
        .column_as(chats::Column::Id.count(), "n")
        .filter(chats::Column::Status.eq(ChatStatus::InProgress))
        .filter(chats::Column::OwnerId.is_in(ids.clone()))
        .group_by(chats::Column::OwnerId)
        .into_tuple()
        .all(db)
        .await?;
    let directed: Vec<(Option<i64>, i64)> = chats::Entity::find()
        .select_only()
        .column(chats::Column::DirectedAgentId)
        .column_as(chats::Column::Id.count(), "n")
        .filter(chats::Column::Status.eq(ChatStatus::Waiting))
        .filter(chats::Column::DirectedAgentId.is_in(ids.clone()))
        .group_by(chats::Column::DirectedAgentId)
        .into_tuple()
        .all(db)
        .await?;
    for (agent, n) in in_progress.into_iter().chain(directed) {
        if let Some(p) = agent.and_then(|id| out.get_mut(&AgentId(id))) {
            p.open_chats += u64::try_from(n).unwrap_or(0);
        }
    }
    let online: Vec<i64> = sessions::Entity::find()
        .select_only()
        .column(sessions::Column::AgentId)
        .filter(sessions::Column::AgentId.is_in(ids))
        .filter(sessions::Column::EndedAt.is_null())
        .filter(sessions::Column::ExpiresAt.gt(crate::clock::system_now()))
        .group_by(sessions::Column::AgentId)
        .into_tuple()
        .all(db)
        .await?;
    for id in online {
        if let Some(p) = out.get_mut(&AgentId(id)) {
            p.signed_in = true;
        }
    }
    Ok(out)
}

/// Whether the agent has a live session.
pub async fn is_signed_in(db: &impl ConnectionTrait, agent: AgentId) -> DomainResult<bool> {
    let live = sessions::Entity::find()
        .select_only()
        .column_as(Expr::val(1), "one")
        .filter(sessions::Column::AgentId.eq(agent.0))
        .filter(sessions::Column::EndedAt.is_null())
        .filter(sessions::Column::ExpiresAt.gt(crate::clock::system_now()))
        .limit(1)
        .into_tuple::<i32>()
        .one(db)
        .await?;
    Ok(live.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_wins_over_status() {
        let settings = Settings { simultaneous_chats: 1, ..Settings::default() };
        let busy = Presence { signed_in: true, open_chats: 1 };
        assert_eq!(availability(AgentStatus::Active, busy, &settings), Availability::ChatsExceeded);
        assert_eq!(availability(AgentStatus::Inactive, busy, &settings), Availability::ChatsExceeded);
    }

    #[test]
    fn signed_out_agents_are_inactive() {
        let settings = Settings::default();
        let away = Presence { signed_in: false, open_chats: 0 };
        assert_eq!(availability(AgentStatus::Active, away, &settings), Availability::Inactive);
        let here = Presence { signed_in: true, open_chats: 0 };
        assert_eq!(availability(AgentStatus::Active, here, &settings), Availability::Active);
    }
}
