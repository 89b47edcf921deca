//! The `Agent` type.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::agents;

use super::enums::{AgentStatus, Availability, Role};
use super::queue::Queue;
use crate::domain::ids::AgentId;
use crate::domain::presence::{self, Presence};
use crate::graphql::ids;
use crate::graphql::loaders::{CurrentSettings, PresenceOf, QueuesOf, load_many, loader};

/// A person (or bot) who signs in: agent, supervisor, administrator, analyst or bot.
#[derive(Clone, Debug)]
pub struct Agent(pub agents::Model);

impl Agent {
    async fn presence(&self, ctx: &Context<'_>) -> async_graphql::Result<Presence> {
        Ok(loader(ctx)?.load_one(PresenceOf(AgentId(self.0.id))).await?.unwrap_or_default())
    }
}

/// A person (or bot) who signs in: agent, supervisor, administrator, analyst or bot.
#[Object]
impl Agent {
    /// Global id: opaque, stable; fetch the object again with `node(id)`.
    pub async fn id(&self) -> ID {
        ids::encode("Agent", self.0.id)
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Sign-in email.
    async fn email(&self) -> &str {
        &self.0.email
    }

    /// What the agent may do.
    async fn role(&self) -> Role {
        self.0.role.into()
    }

    /// The status routing sees: the chosen status while signed in, INACTIVE when signed out.
    async fn status(&self, ctx: &Context<'_>) -> async_graphql::Result<AgentStatus> {
        let signed_in = self.presence(ctx).await?.signed_in;
        Ok(presence::effective_status(self.0.status, signed_in).into())
    }

    /// The status the agent chose; restored when they sign in again.
    async fn chosen_status(&self) -> AgentStatus {
        self.0.status.into()
    }

    /// Whether the agent has a live session.
    async fn signed_in(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(self.presence(ctx).await?.signed_in)
    }

    /// Whether the agent can be given new chats now: CHATS_EXCEEDED when at the
    /// `SimultaneousChats` capacity, else ACTIVE or INACTIVE as `status`.
    async fn availability(&self, ctx: &Context<'_>) -> async_graphql::Result<Availability> {
        let presence = self.presence(ctx).await?;
        let settings = loader(ctx)?.load_one(CurrentSettings).await?.unwrap_or_default();
        Ok(presence::availability(self.0.status, presence, &settings).into())
    }

    /// Chats directed to the agent plus chats they have in progress (what capacity counts).
    async fn open_chats(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        Ok(self.presence(ctx).await?.open_chats)
    }

    /// Whether the agent may sign in.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }

    /// When the agent last accepted a chat.
    async fn last_accepted_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_accepted_at
    }

    /// The queues the agent serves.
    async fn queues(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Queue>> {
        let queue_ids = loader(ctx)?.load_one(QueuesOf(AgentId(self.0.id))).await?.unwrap_or_default();
        Ok(load_many(ctx, &queue_ids).await?.into_iter().map(Queue).collect())
    }

    /// When the agent was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
