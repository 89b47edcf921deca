//! The `Queue` type.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::queues;

use super::agent::Agent;
use super::enums::RoutingRule;
use crate::domain::ids::QueueId;
use crate::graphql::ids;
use crate::graphql::loaders::{MembersOf, load_many, loader};

/// A queue of chats served by a set of agents.
#[derive(Clone, Debug)]
pub struct Queue(pub queues::Model);

/// A queue of chats served by a set of agents.
#[Object]
impl Queue {
    /// Global id: opaque, stable; fetch the object again with `node(id)`.
    pub async fn id(&self) -> ID {
        ids::encode("Queue", self.0.id)
    }

    /// Unique name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// How new chats reach the queue's agents.
    async fn routing_rule(&self) -> RoutingRule {
        self.0.routing_rule.into()
    }

    /// Minutes after the last agent reply before an in-progress chat completes; null = never.
    async fn completion_timeout_minutes(&self) -> Option<i32> {
        self.0.completion_timeout_minutes
    }

    /// The agents serving the queue.
    async fn agents(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Agent>> {
        let members = loader(ctx)?.load_one(MembersOf(QueueId(self.0.id))).await?.unwrap_or_default();
        Ok(load_many(ctx, &members).await?.into_iter().map(Agent).collect())
    }

    /// When the queue was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
