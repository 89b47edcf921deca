//! The `Agent` type.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::agents;

use super::enums::{AgentStatus, Availability, Role};
use super::lazy::Lazy;
use super::queue::Queue;
use crate::domain::agents::Profile;
use crate::domain::ids::AgentId;
use crate::domain::presence::{self, Presence};
use crate::graphql::ids;
use crate::graphql::loaders::{CurrentSettings, PresenceOf, QueuesOf, loader};

/// A person (or bot) who signs in: agent, supervisor, administrator, analyst or bot; read
/// (never with the password hash) only when a field other than `id` is asked for.
#[derive(Clone, Debug)]
pub struct Agent(pub Lazy<AgentId, Profile>);

impl Agent {
    /// The agent with this id (a foreign key's value).
    pub fn of(id: AgentId) -> Self {
        Self(Lazy::key(id))
    }

    async fn presence(&self, ctx: &Context<'_>) -> async_graphql::Result<Presence> {
        Ok(loader(ctx)?.load_one(PresenceOf(self.0.id())).await?.unwrap_or_default())
    }

    async fn row(&self, ctx: &Context<'_>) -> async_graphql::Result<&Profile> {
        self.0.row(ctx).await
    }
}

impl From<Profile> for Agent {
    fn from(row: Profile) -> Self {
        Self(Lazy::read(AgentId(row.id), row))
    }
}

impl From<agents::Model> for Agent {
    fn from(row: agents::Model) -> Self {
        Profile::from(row).into()
    }
}

/// A person (or bot) who signs in: agent, supervisor, administrator, analyst or bot.
#[Object]
impl Agent {
    /// Global id: opaque, stable; fetch the object again with `node(id)`.
    pub async fn id(&self) -> ID {
        ids::encode("Agent", self.0.id().0)
    }

    /// Display name.
    async fn name(&self, ctx: &Context<'_>) -> async_graphql::Result<&str> {
        Ok(&self.row(ctx).await?.name)
    }

    /// Sign-in email.
    async fn email(&self, ctx: &Context<'_>) -> async_graphql::Result<&str> {
        Ok(&self.row(ctx).await?.email)
    }

    /// What the agent may do.
    async fn role(&self, ctx: &Context<'_>) -> async_graphql::Result<Role> {
        Ok(self.row(ctx).await?.role.into())
    }

    /// The status routing sees: the chosen status while signed in, INACTIVE when signed out.
    async fn status(&self, ctx: &Context<'_>) -> async_graphql::Result<AgentStatus> {
        let signed_in = self.presence(ctx).await?.signed_in;
        Ok(presence::effective_status(self.row(ctx).await?.status, signed_in).into())
    }

    /// The status the agent chose; restored when they sign in again.
    async fn chosen_status(&self, ctx: &Context<'_>) -> async_graphql::Result<AgentStatus> {
        Ok(self.row(ctx).await?.status.into())
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
        Ok(presence::availability(self.row(ctx).await?.status, presence, &settings).into())
    }

    /// Chats directed to the agent plus chats they have in progress (what capacity counts).
    async fn open_chats(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        Ok(self.presence(ctx).await?.open_chats)
    }

    /// Whether the agent may sign in.
    async fn enabled(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(self.row(ctx).await?.enabled)
    }

    /// When the agent last accepted a chat.
    async fn last_accepted_at(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<DateTime<Utc>>> {
        Ok(self.row(ctx).await?.last_accepted_at)
    }

    /// The queues the agent serves.
    async fn queues(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Queue>> {
        let queue_ids = loader(ctx)?.load_one(QueuesOf(self.0.id())).await?.unwrap_or_default();
        Ok(queue_ids.into_iter().map(Queue::of).collect())
    }

    /// When the agent was created.
    async fn created_at(&self, ctx: &Context<'_>) -> async_graphql::Result<DateTime<Utc>> {
        Ok(self.row(ctx).await?.created_at)
    }
}

impl crate::graphql::plain::PlainFields for Agent {
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
        crate::graphql::plain::id_only(name, "Agent", self.0.id().0, out)
    }
}
