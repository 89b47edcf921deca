//! The `Assignment` type: one offer, direction, acceptance or transfer of a chat.

use async_graphql::{Context, Object};
use chrono::{DateTime, Utc};
use entity::assignments;

use super::agent::Agent;
use super::enums::{AssignmentKind, AssignmentOutcome};
use super::queue::Queue;
use crate::domain::ids::{AgentId, QueueId};
use crate::graphql::loaders::loader;

/// One step of a chat's routing: an offer, a direction, an acceptance or a transfer, with
/// its times and how it ended. Every figure of the history is computed from these records.
#[derive(Clone, Debug)]
pub struct Assignment(pub assignments::Model);

/// One step of a chat's routing: an offer, a direction, an acceptance or a transfer, with
/// its times and how it ended. Every figure of the history is computed from these records.
#[Object]
impl Assignment {
    /// What happened.
    async fn kind(&self) -> AssignmentKind {
        self.0.kind.into()
    }

    /// How it ended; null while it is open (an offer or direction waiting for an answer).
    async fn outcome(&self) -> Option<AssignmentOutcome> {
        self.0.outcome.map(Into::into)
    }

    /// The agent involved (for a transfer: the agent it went to, if any).
    async fn agent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Agent>> {
        match self.0.agent_id {
            Some(id) => Ok(loader(ctx)?.load_one(AgentId(id)).await?.map(Agent::from)),
            None => Ok(None),
        }
    }

    /// The queue involved (for a transfer: the queue the child chat went to).
    async fn queue(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Queue>> {
        match self.0.queue_id {
            Some(id) => Ok(loader(ctx)?.load_one(QueueId(id)).await?.map(Queue::from)),
            None => Ok(None),
        }
    }

    /// When it started.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When an offer or direction lapses unless accepted.
    async fn deadline(&self) -> Option<DateTime<Utc>> {
        self.0.deadline
    }

    /// When it ended.
    async fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.0.ended_at
    }
}
