//! The `Event` type streamed by subscriptions.

use crate::domain::chats;
use crate::graphql::context::{db, principal};
use crate::graphql::ids;
use std::sync::Arc;

use crate::events::Published;
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use super::agent::Agent;
use super::chat::Chat;
use super::message::Message;
use crate::domain::ids::AgentId;
use crate::graphql::error::{ResultExt, from_domain};
use crate::graphql::loaders::loader;

/// Something that happened, as recorded in the event log. `id` increases monotonically; pass
/// the last one you saw as `after` when you resubscribe to get what you missed.
#[derive(Clone, Debug)]
pub struct Event(pub Arc<Published>);

impl Event {
    /// The event's chat, if the caller may read it (`chats::may_see`, the rule of `chat(id)`).
    async fn readable_chat(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<entity::chats::Model>> {
        let db = db(ctx)?;
        let Some(chat) = self.0.chat(db).await.map_err(|e| from_domain(e.into()))? else { return Ok(None) };
        let visible = chats::may_see(db, principal(ctx)?, &chat).await.gql()?;
        Ok(visible.then_some(chat))
    }
}

#[Object]
impl Event {
    /// The event's id in the log (pass it as `after` to resume after it).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// What happened: CHAT_CREATED, CHAT_OFFERED, CHAT_DIRECTED, CHAT_ACCEPTED, CHAT_TAKEN
    /// (an offer to you ended: someone else accepted, it was completed or your time ran out),
    /// CHAT_TRANSFERRED, CHAT_COMPLETED, MESSAGE_RECEIVED, MESSAGE_SENT, MESSAGE_EDITED,
    /// MESSAGE_REACTION, DELIVERY_STATUS_CHANGED, AGENT_STATUS_CHANGED, SETTINGS_CHANGED,
    /// TEMPLATE_CHANGED.
    async fn kind(&self) -> &str {
        &self.0.kind
    }

    /// When it happened.
    async fn at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The id of the chat it concerns, if any: present even when `chat` is null because the
    /// caller may no longer read the chat (CHAT_TAKEN: drop it from the panel).
    async fn chat_id(&self) -> Option<ID> {
        self.0.chat_id.map(|id| ids::encode("Chat", id))
    }

    /// The chat it concerns, as it was just after the event (read once for every subscriber
    /// the event goes to), if the caller may read it as `chat(id)` would let them now;
    /// otherwise null.
    async fn chat(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Chat>> {
        Ok(self.readable_chat(ctx).await?.map(Chat::from))
    }

    /// The agent it concerns (the one offered, assigned, whose status changed...).
    async fn agent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Agent>> {
        match self.0.agent_id {
            Some(id) => Ok(loader(ctx)?.load_one(AgentId(id)).await?.map(Agent)),
            None => Ok(None),
        }
    }

    /// The message it concerns, for message and delivery events, read as `chat` is and
    /// null when `chat` would be.
    async fn message(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Message>> {
        if self.readable_chat(ctx).await?.is_none() {
            return Ok(None);
        }
        let row = self.0.message(db(ctx)?).await.map_err(crate::domain::DomainError::from).gql()?;
        Ok(row.map(Message))
    }

    /// Details, as JSON: for example `{"status": "INACTIVE", "reason": "ACCEPT_TIMEOUT"}` for
    /// a status change, `{"reason": "TAKEN_BY_OTHER"}` for CHAT_TAKEN.
    async fn details(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(self.0.payload.clone())
    }
}
