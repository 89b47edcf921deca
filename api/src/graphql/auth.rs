//! Sign-in, sign-out, `me` and the status an agent chooses.

use std::sync::Arc;

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use super::context::{ANYONE, RoleGuard, STAFF, db, principal};
use super::error::ResultExt;
use super::sign_in_limits::ClientAddr;
use super::types::agent::Agent;
use super::types::enums::AgentStatus;
use crate::domain::session_cache::SessionCache;
use crate::domain::sessions::LoginAttempt;
use crate::domain::{agents, sessions};
use crate::state::SignInConfig;

/// A successful sign-in.
#[derive(SimpleObject)]
pub struct LoginPayload {
    /// Send as `Authorization: Bearer <token>` (HTTP) or `{"Authorization": "Bearer <token>"}`
    /// in the WebSocket `connection_init` payload.
    pub token: String,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
    /// The agent signed in.
    pub agent: Agent,
}

/// Queries about the caller.
#[derive(Default)]
pub struct AuthQuery;

#[Object]
impl AuthQuery {
    /// The signed-in agent.
    #[graphql(guard = "RoleGuard::new(ANYONE)")]
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Agent> {
        let principal = principal(ctx)?;
        let db = db(ctx)?;
        let agent = agents::get(db, principal.agent_id).await.gql()?;
        agent.map(Agent::from).ok_or_else(|| super::error::coded("NOT_FOUND", "agent not found"))
    }
}

/// Sign-in and status mutations.
#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Signs in with email and password. Restores the status the agent chose before they last
    /// signed out. Wrong email and wrong password give the same INVALID_CREDENTIALS error.
    /// After several failures for one account or from one address, sign-in is refused for a
    /// while with TOO_MANY_ATTEMPTS (`extensions.retryAfterSeconds` says how long); when the
    /// server is busy checking passwords it answers TRY_AGAIN. A request may sign in once
    /// (TOO_MANY_LOGINS otherwise).
    async fn login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Sign-in email (case does not matter).")] email: String,
        #[graphql(desc = "Password.", secret)] password: String,
    ) -> async_graphql::Result<LoginPayload> {
        let db = ctx.data::<DatabaseConnection>()?;
        let config = ctx.data::<SignInConfig>()?;
        let client = ctx.data_opt::<ClientAddr>().and_then(|client| client.0);
        let attempt = LoginAttempt { email: &email, password: &password, client };
        let signed_in =
            sessions::login(db, &config.keys, &config.hashing, &config.throttle, attempt, config.token_ttl)
                .await
                .gql()?
                .routed(db)
                .await;
        Ok(LoginPayload {
            token: signed_in.token,
            expires_at: signed_in.expires_at,
            agent: Agent::from(signed_in.agent),
        })
    }

    /// Ends the caller's session: its token stops working at once. The agent stops receiving
    /// chats (their chosen status is kept for the next sign-in).
    #[graphql(guard = "RoleGuard::new(ANYONE)")]
    async fn logout(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let principal = principal(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        sessions::logout(db, principal).await.gql()?.routed(db).await;
        ctx.data::<Arc<SessionCache>>()?.forget_agent(principal.agent_id);
        Ok(true)
    }

    /// Sets the caller's status: ACTIVE to receive new chats, INACTIVE to stop.
    #[graphql(guard = "RoleGuard::new(STAFF)")]
    async fn set_my_status(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The status to take.")] status: AgentStatus,
    ) -> async_graphql::Result<Agent> {
        let principal = principal(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let agent = agents::set_status(db, principal.agent_id, status.into()).await.gql()?.routed(db).await;
        Ok(Agent::from(agent))
    }
}
