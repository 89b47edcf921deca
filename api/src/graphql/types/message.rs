//! The `Message` type.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::messages;

use super::attachment::Attachment;
use super::enums::{AuthorKind, DeliveryStatus, Direction, MessageKind};
use crate::domain::ids::MessageId;
use crate::graphql::ids;
use crate::graphql::loaders::{AttachmentsOf, loader};

/// One message in a chat, from the customer or to them.
#[derive(Clone, Debug)]
pub struct Message(pub messages::Model);

/// One message in a chat, from the customer or to them.
#[Object]
impl Message {
    /// Global id: opaque, stable; fetch the object again with `node(id)`.
    pub async fn id(&self) -> ID {
        ids::encode("Message", self.0.id)
    }

    /// From the customer or to them.
    async fn direction(&self) -> Direction {
        self.0.direction.into()
    }

    /// Who wrote it.
    async fn author_kind(&self) -> AuthorKind {
        self.0.author_kind.into()
    }

    /// The agent who sent an outgoing message; null for the customer's, bots' and system
    /// messages.
    async fn author(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<super::agent::Agent>> {
        match self.0.author_agent_id {
            Some(id) => Ok(loader(ctx)?
                .load_one(crate::domain::ids::AgentId(id))
                .await?
                .map(super::agent::Agent::from)),
            None => Ok(None),
        }
    }

    /// What it carries.
    async fn kind(&self) -> MessageKind {
        self.0.kind.into()
    }

    /// The text, or the caption of a file.
    async fn text(&self) -> Option<&str> {
        self.0.text.as_deref()
    }

    /// Delivery of an outgoing message; null for incoming ones.
    async fn delivery_status(&self) -> Option<DeliveryStatus> {
        self.0.delivery_status.map(Into::into)
    }

    /// Why delivery failed, as the provider said.
    async fn delivery_error(&self) -> Option<&str> {
        self.0.delivery_error.as_deref()
    }

    /// Files sent with the message.
    async fn attachments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Attachment>> {
        let rows = loader(ctx)?.load_one(AttachmentsOf(MessageId(self.0.id))).await?.unwrap_or_default();
        Ok(rows.into_iter().map(Attachment).collect())
    }

    /// When the customer edited the message (the original text is kept in the history).
    async fn edited_at(&self) -> Option<DateTime<Utc>> {
        self.0.edited_at
    }

    /// When the message was written.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

impl crate::graphql::plain::PlainFields for Message {
    /// The fields `page_columns` lists as plain for `Message`, as their resolvers above answer
    /// them (checked against them in `tests/e2e/read_columns.rs`).
    fn plain_field(
        &self,
        name: &str,
        _: &async_graphql::parser::types::SelectionSet,
    ) -> Option<async_graphql::Value> {
        use async_graphql::{InputType, Value};
        let text =
            |text: &Option<String>| text.as_ref().map_or(Value::Null, |text| Value::String(text.clone()));
        Some(match name {
            "id" => ids::encode("Message", self.0.id).to_value(),
            "direction" => Direction::from(self.0.direction).to_value(),
            "authorKind" => AuthorKind::from(self.0.author_kind).to_value(),
            "kind" => MessageKind::from(self.0.kind).to_value(),
            "text" => text(&self.0.text),
            "deliveryStatus" => self.0.delivery_status.map(DeliveryStatus::from).to_value(),
            "deliveryError" => text(&self.0.delivery_error),
            "editedAt" => self.0.edited_at.to_value(),
            "createdAt" => self.0.created_at.to_value(),
            _ => return None,
        })
    }
}
