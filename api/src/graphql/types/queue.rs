//! The `Queue` type.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::queues;

use super::agent::Agent;
use super::enums::RoutingRule;
use super::lazy::Lazy;
use crate::domain::ids::QueueId;
use crate::graphql::ids;
use crate::graphql::loaders::{MembersOf, loader};

/// A queue of chats served by a set of agents; read only when a field other than `id` is
/// asked for.
#[derive(Clone, Debug)]
pub struct Queue(pub Lazy<QueueId, queues::Model>);

impl Queue {
    /// The queue with this id (a foreign key's value).
    pub fn of(id: QueueId) -> Self {
        Self(Lazy::key(id))
    }
}

impl From<queues::Model> for Queue {
    fn from(row: queues::Model) -> Self {
        Self(Lazy::read(QueueId(row.id), row))
    }
}

/// A queue of chats served by a set of agents.
#[Object]
impl Queue {
    /// Global id: opaque, stable; fetch the object again with `node(id)`.
    pub async fn id(&self) -> ID {
        ids::encode("Queue", self.0.id().0)
    }

    /// Unique name.
    async fn name(&self, ctx: &Context<'_>) -> async_graphql::Result<&str> {
        Ok(&self.0.row(ctx).await?.name)
    }

    /// How new chats reach the queue's agents.
    async fn routing_rule(&self, ctx: &Context<'_>) -> async_graphql::Result<RoutingRule> {
        Ok(self.0.row(ctx).await?.routing_rule.into())
    }

    /// Minutes after the last agent reply before an in-progress chat completes; null = never.
    async fn completion_timeout_minutes(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<i32>> {
        Ok(self.0.row(ctx).await?.completion_timeout_minutes)
    }

    /// The agents serving the queue.
    async fn agents(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Agent>> {
        let members = loader(ctx)?.load_one(MembersOf(self.0.id())).await?.unwrap_or_default();
        Ok(members.into_iter().map(Agent::of).collect())
    }

    /// When the queue was created.
    async fn created_at(&self, ctx: &Context<'_>) -> async_graphql::Result<DateTime<Utc>> {
        Ok(self.0.row(ctx).await?.created_at)
    }
}

impl crate::graphql::plain::PlainFields for Queue {
    fn typename(&self) -> std::borrow::Cow<'static, str> {
        <Self as async_graphql::OutputType>::type_name()
    }

    /// `id`, known without reading the row.
    fn plain_field(
        &self,
        name: &str,
        _: &async_graphql::parser::types::SelectionSet,
        out: &mut dyn crate::graphql::plain::Out,
    ) -> bool {
        crate::graphql::plain::id_only(name, "Queue", self.0.id().0, out)
    }
}
