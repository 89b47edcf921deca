//! The `Chat` type.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::chats;

use super::agent::Agent;
use super::channel::Channel;
use super::contact::Contact;
use super::enums::{ChatStatus, CompletionReason};
use super::message::Message;
use super::queue::Queue;
use crate::domain::chats as chat_rules;
use crate::domain::ids::{AgentId, ChannelId, ChatId, ContactId, QueueId};
use crate::graphql::error::ResultExt;
use crate::graphql::ids;
use crate::graphql::loaders::loader;
use crate::state::Limits;

/// A conversation with a contact on one channel, from arrival to completion.
#[derive(Clone, Debug)]
pub struct Chat(pub chats::Model);

#[Object]
impl Chat {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode("Chat", self.0.id)
    }

    /// Where the chat is in its life.
    async fn status(&self) -> ChatStatus {
        self.0.status.into()
    }

    /// Why the chat was completed, once it is.
    async fn completion_reason(&self) -> Option<CompletionReason> {
        self.0.completion_reason.map(Into::into)
    }

    /// The customer.
    async fn contact(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        Ok(loader(ctx)?.load_one(ContactId(self.0.contact_id)).await?.map(Contact))
    }

    /// The channel the customer writes through.
    async fn channel(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Channel>> {
        Ok(loader(ctx)?.load_one(ChannelId(self.0.channel_id)).await?.map(Channel))
    }

    /// The queue the chat belongs to.
    async fn queue(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Queue>> {
        Ok(loader(ctx)?.load_one(QueueId(self.0.queue_id)).await?.map(Queue))
    }

    /// The agent who accepted the chat.
    async fn owner(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Agent>> {
        match self.0.owner_id {
            Some(id) => Ok(loader(ctx)?.load_one(AgentId(id)).await?.map(Agent)),
            None => Ok(None),
        }
    }

    /// When the customer's first message arrived.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When an agent accepted the chat.
    async fn accepted_at(&self) -> Option<DateTime<Utc>> {
        self.0.accepted_at
    }

    /// When an agent first replied.
    async fn first_response_at(&self) -> Option<DateTime<Utc>> {
        self.0.first_response_at
    }

    /// When the chat was completed.
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }

    /// When the chat completes by itself unless the customer writes (set by agent replies).
    async fn close_deadline(&self) -> Option<DateTime<Utc>> {
        self.0.close_deadline
    }

    /// The chat's messages, oldest first.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1")]
    async fn messages(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Message>> {
        let limits = ctx.data::<Limits>()?;
        let page = ids::page(first, after.as_deref(), limits.max_page_size)?;
        let db = ctx.data::<sea_orm::DatabaseConnection>()?;
        let found = chat_rules::messages(db, ChatId(self.0.id), page).await.gql()?;
        Ok(crate::graphql::connection::build(page, found, |row| row.id, Message))
    }
}
