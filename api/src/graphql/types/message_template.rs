//! The `MessageTemplate` type: a WhatsApp message template registered for a channel.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::message_templates;

use super::channel::Channel;
use crate::domain::ids::ChannelId;
use crate::graphql::ids;
use crate::graphql::loaders::loader;

/// A WhatsApp message template approved by Meta and registered for one WhatsApp channel.
/// Outside the 24-hour window a WhatsApp chat can be started (`initiateChat` with `template`)
/// or continued (`sendTemplate`) only with one of these.
#[derive(Clone, Debug)]
pub struct MessageTemplate(pub message_templates::Model);

/// A WhatsApp message template approved by Meta and registered for one WhatsApp channel.
/// Outside the 24-hour window a WhatsApp chat can be started (`initiateChat` with `template`)
/// or continued (`sendTemplate`) only with one of these.
#[Object]
impl MessageTemplate {
    /// Global id: opaque, stable; fetch the object again with `node(id)`.
    pub async fn id(&self) -> ID {
        ids::encode("MessageTemplate", self.0.id)
    }

    /// The WhatsApp channel it is registered for.
    async fn channel(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Channel>> {
        Ok(loader(ctx)?.load_one(ChannelId(self.0.channel_id)).await?.map(Channel::from))
    }

    /// The template's name, as approved in WhatsApp Manager.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The language code it was approved in (e.g. `en_US`).
    async fn language_code(&self) -> &str {
        &self.0.language_code
    }

    /// The body text with `{{1}}`, `{{2}}`... placeholders; the sent message is stored with
    /// them filled in.
    async fn body_text(&self) -> &str {
        &self.0.body_text
    }

    /// How many body parameters a send must give (`parameters` of `sendTemplate`).
    async fn parameter_count(&self) -> i32 {
        self.0.parameter_count
    }

    /// When it was registered.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
