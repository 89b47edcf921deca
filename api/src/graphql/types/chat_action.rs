//! The `ChatAction` and `ChatActionRun` types and their enums.

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};
use entity::{chat_action_runs, chat_actions};

use super::agent::Agent;
use super::case::ChatOfCase;
use super::chat::Chat;
use super::queue::Queue;
use crate::domain::ids::{AgentId, ChatId, QueueId};
use crate::graphql::context::principal;
use crate::graphql::ids;
use crate::graphql::loaders::loader;

/// What a chat action does.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::ChatActionKind")]
pub enum ChatActionKind {
    /// Raises a case from the chat (the rules of `createCaseFromChat`).
    CreateCase,
    /// Posts the chat, contact, agent and action to the action's URL, signed the Standard
    /// Webhooks way (docs/chat-actions.md), with retries.
    Webhook,
}

/// Where a webhook run's delivery is.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::ChatActionRunStatus")]
pub enum ChatActionRunState {
    /// Waiting for its first or next attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up: every attempt failed, or the action was deleted meanwhile.
    Failed,
}

/// An action agents may run on the chats of a queue: CREATE_CASE or a signed WEBHOOK.
#[derive(Clone)]
pub struct ChatAction(pub chat_actions::Model);

/// An action agents may run on the chats of a queue: CREATE_CASE or a signed WEBHOOK. Its
/// secret is write-only: no field answers it.
#[Object]
impl ChatAction {
    /// Global id: opaque, stable.
    pub async fn id(&self) -> ID {
        ids::encode("ChatAction", self.0.id)
    }

    /// The label agents see.
    async fn caption(&self) -> &str {
        &self.0.caption
    }

    /// What the action does.
    async fn kind(&self) -> ChatActionKind {
        self.0.kind.into()
    }

    /// The queue whose chats offer the action (and whose agents may run it).
    async fn queue(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Queue>> {
        Ok(loader(ctx)?.load_one(QueueId(self.0.queue_id)).await?.map(Queue::from))
    }

    /// WEBHOOK: where runs are posted. Shown to supervisors and admins only (a URL may carry
    /// a token); null for others and for CREATE_CASE.
    async fn url(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        Ok(if principal(ctx)?.is_supervisor() { self.0.url.as_deref() } else { None })
    }

    /// Whether the action was deleted (only runs made before show deleted actions).
    async fn deleted(&self) -> bool {
        self.0.deleted_at.is_some()
    }

    /// When the action was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When the action was last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One run of a WEBHOOK action on a chat, and where its delivery is.
pub struct ChatActionRun(pub chat_action_runs::Model, pub chat_actions::Model);

/// One run of a WEBHOOK action on a chat, and where its delivery is.
#[Object]
impl ChatActionRun {
    /// Global id: opaque, stable.
    pub async fn id(&self) -> ID {
        ids::encode("ChatActionRun", self.0.id)
    }

    /// The action run.
    async fn action(&self) -> ChatAction {
        ChatAction(self.1.clone())
    }

    /// The chat it was run on.
    async fn chat(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Chat>> {
        // Runs are only reachable through a chat the caller may read (`chatActionRuns`,
        // `runChatAction`), so the chat is loaded without a read rule.
        Ok(loader(ctx)?.load_one(ChatOfCase(ChatId(self.0.chat_id))).await?.map(Chat::from))
    }

    /// Who ran it.
    async fn agent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Agent>> {
        Ok(loader(ctx)?.load_one(AgentId(self.0.agent_id)).await?.map(Agent::from))
    }

    /// The `webhook-id` header of every attempt (the same on retries): receivers skip ids
    /// they have already processed.
    async fn webhook_id(&self) -> &str {
        &self.0.idempotency_key
    }

    /// Where the delivery is.
    async fn state(&self) -> ChatActionRunState {
        self.0.status.into()
    }

    /// Attempts made so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    /// Why the last attempt failed (the receiver's status and the start of its answer, or
    /// the network error); null once delivered.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    /// When the receiver answered 2xx.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }

    /// When the action was run.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
