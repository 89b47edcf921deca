//! Listing agents, and their administration.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object};
use sea_orm::DatabaseConnection;

use super::connection;
use super::context::{ADMINS, READERS, RoleGuard, db};
use super::error::ResultExt;
use super::ids;
use super::types::agent::Agent;
use super::types::enums::Role;
use crate::domain::agents::{self, AgentChange, NewAgent};
use crate::domain::ids::AgentId;
use crate::state::{Limits, SignInConfig};

/// `createAgent` input.
#[derive(InputObject)]
pub struct CreateAgentInput {
    /// Display name.
    pub name: String,
    /// Sign-in email, unique.
    pub email: String,
    /// Initial password, at least 8 characters.
    #[graphql(secret)]
    pub password: String,
    /// What the agent may do.
    pub role: Role,
}

/// `updateAgent` input; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateAgentInput {
    /// The agent to change.
    pub id: ID,
    /// New display name.
    pub name: Option<String>,
    /// New sign-in email.
    pub email: Option<String>,
    /// New password; signs the agent out everywhere.
    #[graphql(secret)]
    pub password: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// False disables the agent and signs them out everywhere.
    pub enabled: Option<bool>,
}

/// Agent queries.
#[derive(Default)]
pub struct AgentsQuery;

#[Object]
impl AgentsQuery {
    /// All agents, in creation order.
    #[graphql(
        guard = "RoleGuard::new(READERS)",
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn agents(
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
    ) -> async_graphql::Result<Connection<String, Agent>> {
        let page = ids::page(first, after.as_deref(), ctx.data::<Limits>()?.max_page_size)?;
        let found = agents::list(db(ctx)?, page).await.gql()?;
        Ok(connection::build(page, found, |row| row.id, Agent::from))
    }
}

/// Agent administration.
#[derive(Default)]
pub struct AgentsMutation;

#[Object]
impl AgentsMutation {
    /// Creates an agent (ADMIN). New agents start INACTIVE.
    #[graphql(guard = "RoleGuard::new(ADMINS)")]
    async fn create_agent(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new agent.")] input: CreateAgentInput,
    ) -> async_graphql::Result<Agent> {
        let new = NewAgent {
            name: input.name,
            email: input.email,
            password: input.password,
            role: input.role.into(),
        };
        let hashing = &ctx.data::<SignInConfig>()?.hashing;
        Ok(Agent::from(agents::create(ctx.data::<DatabaseConnection>()?, hashing, new).await.gql()?))
    }

    /// Changes an agent (ADMIN).
    #[graphql(guard = "RoleGuard::new(ADMINS)")]
    async fn update_agent(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The agent and the changes; omitted fields stay as they are.")]
        input: UpdateAgentInput,
    ) -> async_graphql::Result<Agent> {
        let id = AgentId(ids::decode(&input.id, "Agent")?);
        let change = AgentChange {
            name: input.name,
            email: input.email,
            password: input.password,
            role: input.role.map(Into::into),
            enabled: input.enabled,
        };
        let hashing = &ctx.data::<SignInConfig>()?.hashing;
        let updated = agents::update(ctx.data::<DatabaseConnection>()?, hashing, id, change).await.gql()?;
        // Sessions ended or a role changed: stop reusing this agent's session checks here at
        // once (other instances follow through the ACCESS_CHANGED event).
        ctx.data::<std::sync::Arc<crate::domain::session_cache::SessionCache>>()?.forget_agent(id);
        Ok(Agent::from(updated))
    }
}
