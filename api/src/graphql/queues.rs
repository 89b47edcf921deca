//! Listing queues, and their administration.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use sea_orm::DatabaseConnection;

use super::connection;
use super::context::{ADMINS, READERS, RoleGuard, db};
use super::error::ResultExt;
use super::ids;
use super::types::enums::RoutingRule;
use super::types::queue::Queue;
use crate::domain::ids::{AgentId, QueueId};
use crate::domain::queues::{self, NewQueue, QueueChange};
use crate::state::Limits;

/// `createQueue` input.
#[derive(InputObject)]
pub struct CreateQueueInput {
    /// Unique name.
    pub name: String,
    /// How new chats reach agents; TO_ALL_AGENTS when omitted.
    pub routing_rule: Option<RoutingRule>,
    /// Minutes after the last agent reply before a chat completes; omit or null for never.
    pub completion_timeout_minutes: Option<i64>,
    /// The agents serving the queue.
    #[graphql(default)]
    pub agent_ids: Vec<ID>,
}

/// `updateQueue` input; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateQueueInput {
    /// The queue to change.
    pub id: ID,
    /// New name.
    pub name: Option<String>,
    /// New routing rule.
    pub routing_rule: Option<RoutingRule>,
    /// New completion timeout in minutes; null clears it (never complete by time).
    pub completion_timeout_minutes: MaybeUndefined<i64>,
    /// Replaces the member list.
    pub agent_ids: Option<Vec<ID>>,
}

fn agent_ids(ids: &[ID]) -> async_graphql::Result<Vec<AgentId>> {
    ids.iter().map(|id| ids::decode(id, "Agent").map(AgentId)).collect()
}

/// Queue queries.
#[derive(Default)]
pub struct QueuesQuery;

#[Object]
impl QueuesQuery {
    /// All queues, in creation order.
    #[graphql(
        guard = "RoleGuard::new(READERS)",
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn queues(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "How many to return, from 0 to the server's page-size limit (default 20, limit 100 unless configured)."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Return the items after this cursor (a `pageInfo.endCursor` or an edge's `cursor`)."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Queue>> {
        let page = ids::page(first, after.as_deref(), ctx.data::<Limits>()?.max_page_size)?;
        let found = queues::list(db(ctx)?, page).await.gql()?;
        Ok(connection::build(page, found, |row| row.id, Queue::from))
    }
}

/// Queue administration.
#[derive(Default)]
pub struct QueuesMutation;

#[Object]
impl QueuesMutation {
    /// Creates a queue with its members (ADMIN).
    #[graphql(guard = "RoleGuard::new(ADMINS)")]
    async fn create_queue(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new queue.")] input: CreateQueueInput,
    ) -> async_graphql::Result<Queue> {
        let new = NewQueue {
            name: input.name,
            routing_rule: input.routing_rule.map_or(entity::enums::RoutingRule::ToAllAgents, Into::into),
            completion_timeout_minutes: input.completion_timeout_minutes,
            agent_ids: agent_ids(&input.agent_ids)?,
        };
        Ok(Queue::from(queues::create(ctx.data::<DatabaseConnection>()?, new).await.gql()?))
    }

    /// Changes a queue (ADMIN); `agentIds` replaces the members.
    #[graphql(guard = "RoleGuard::new(ADMINS)")]
    async fn update_queue(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The queue and the changes; omitted fields stay as they are.")]
        input: UpdateQueueInput,
    ) -> async_graphql::Result<Queue> {
        let id = QueueId(ids::decode(&input.id, "Queue")?);
        let change = QueueChange {
            name: input.name,
            routing_rule: input.routing_rule.map(Into::into),
            completion_timeout_minutes: match input.completion_timeout_minutes {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(minutes) => Some(Some(minutes)),
            },
            agent_ids: input.agent_ids.as_deref().map(agent_ids).transpose()?,
        };
        let db = ctx.data::<DatabaseConnection>()?;
        Ok(Queue::from(queues::update(db, id, change).await.gql()?.routed(db).await))
    }
}
