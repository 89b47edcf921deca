//! The agent panel: my chats, accepting, completing and transferring.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use sea_orm::DatabaseConnection;

use super::context::{RoleGuard, STAFF, db, principal};
use super::error::{ResultExt, coded, codes};
use super::ids;
use super::types::agent::Agent;
use super::types::chat::Chat;
use super::types::queue::Queue;
use crate::domain::chats;
use crate::domain::ids::{AgentId, ChatId, QueueId};
use crate::domain::lifecycle::{self, TransferTarget};

/// The signed-in agent's chats.
#[derive(SimpleObject)]
pub struct MyChats {
    /// Chats I have in progress, oldest accepted first.
    pub active: Vec<Chat>,
    /// Waiting chats offered or directed to me, oldest first.
    pub new: Vec<Chat>,
}

/// Where a chat may be transferred.
#[derive(SimpleObject)]
pub struct TransferTargets {
    /// Agents other than the owner who are not CHATS_EXCEEDED (their `availability` says
    /// ACTIVE or INACTIVE).
    pub agents: Vec<Agent>,
    /// Queues with at least one agent other than the owner.
    pub queues: Vec<Queue>,
}

/// `transferChat` input: exactly one of `toAgentId` and `toQueueId`.
#[derive(InputObject)]
pub struct TransferChatInput {
    /// The chat to transfer (IN_PROGRESS).
    pub chat_id: ID,
    /// An agent to hand the chat to directly.
    pub to_agent_id: Option<ID>,
    /// A queue to route the chat through.
    pub to_queue_id: Option<ID>,
}

/// Agent panel queries.
#[derive(Default)]
pub struct LifecycleQuery;

#[Object]
impl LifecycleQuery {
    /// My chats: `active` (in progress, mine) and `new` (waiting, offered or directed to me).
    #[graphql(guard = "RoleGuard::new(STAFF)")]
    async fn my_chats(&self, ctx: &Context<'_>) -> async_graphql::Result<MyChats> {
        let me = principal(ctx)?.agent_id;
        let lists = chats::my_chats(db(ctx)?, me).await.gql()?;
        Ok(MyChats {
            active: lists.active.into_iter().map(Chat::from).collect(),
            new: lists.new.into_iter().map(Chat::from).collect(),
        })
    }

    /// Agents and queues the chat may be transferred to.
    #[graphql(guard = "RoleGuard::new(STAFF)")]
    async fn transfer_targets(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The chat to transfer (a `Chat` id).")] chat_id: ID,
    ) -> async_graphql::Result<TransferTargets> {
        let chat = ChatId(ids::decode(&chat_id, "Chat")?);
        let (agents, queues) = lifecycle::transfer_targets(db(ctx)?, principal(ctx)?, chat).await.gql()?;
        Ok(TransferTargets {
            agents: agents.into_iter().map(Agent::from).collect(),
            queues: queues.into_iter().map(Queue::from).collect(),
        })
    }
}

/// Agent panel mutations.
#[derive(Default)]
pub struct LifecycleMutation;

#[Object]
impl LifecycleMutation {
    /// Accepts a waiting chat offered or directed to me (a supervisor may accept any): it
    /// becomes IN_PROGRESS with me as owner. When someone else was quicker: ALREADY_ACCEPTED.
    #[graphql(guard = "RoleGuard::new(STAFF)")]
    async fn accept_chat(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The chat offered or directed to you (a `Chat` id).")] chat_id: ID,
    ) -> async_graphql::Result<Chat> {
        let chat = ChatId(ids::decode(&chat_id, "Chat")?);
        let accepted =
            lifecycle::accept(ctx.data::<DatabaseConnection>()?, principal(ctx)?, chat).await.gql()?;
        Ok(Chat::from(accepted))
    }

    /// Completes a chat (its owner, or a supervisor). A later customer message opens a new chat.
    #[graphql(guard = "RoleGuard::new(STAFF)")]
    async fn complete_chat(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The chat to complete (a `Chat` id).")] chat_id: ID,
    ) -> async_graphql::Result<Chat> {
        let chat = ChatId(ids::decode(&chat_id, "Chat")?);
        let db = ctx.data::<DatabaseConnection>()?;
        let done = lifecycle::complete(db, principal(ctx)?, chat).await.gql()?.routed(db).await;
        Ok(Chat::from(done))
    }

    /// Transfers a chat to an agent or a queue and returns the child chat that continues it
    /// (its `parent` is this chat). Targets that may not take it: TARGET_UNAVAILABLE.
    #[graphql(guard = "RoleGuard::new(STAFF)")]
    async fn transfer_chat(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The chat and where it goes: one agent or one queue.")] input: TransferChatInput,
    ) -> async_graphql::Result<Chat> {
        let chat = ChatId(ids::decode(&input.chat_id, "Chat")?);
        let target = match (&input.to_agent_id, &input.to_queue_id) {
            (Some(agent), None) => TransferTarget::Agent(AgentId(ids::decode(agent, "Agent")?)),
            (None, Some(queue)) => TransferTarget::Queue(QueueId(ids::decode(queue, "Queue")?)),
            _ => return Err(coded(codes::BAD_USER_INPUT, "give exactly one of toAgentId and toQueueId")),
        };
        let db = ctx.data::<DatabaseConnection>()?;
        let child = lifecycle::transfer(db, principal(ctx)?, chat, target).await.gql()?.routed(db).await;
        Ok(Chat::from(child))
    }
}
