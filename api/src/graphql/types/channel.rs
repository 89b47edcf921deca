//! The `Channel` type. Credentials are write-only: no field returns them (the Messenger app
//! ids, which are not secrets, are shown to admins).

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::channels;

use super::enums::ChannelKind;
use super::queue::Queue;
use crate::domain::channels::Credentials;
use crate::domain::ids::QueueId;
use crate::graphql::ids;
use crate::graphql::loaders::loader;

/// One connected provider account: a WhatsApp number, a Facebook page or a Telegram bot.
#[derive(Clone, Debug)]
pub struct Channel(pub channels::Model);

/// One connected provider account: a WhatsApp number, a Facebook page or a Telegram bot.
#[Object]
impl Channel {
    /// Global id: opaque, stable; fetch the object again with `node(id)`.
    pub async fn id(&self) -> ID {
        ids::encode("Channel", self.0.id)
    }

    /// Which provider.
    async fn kind(&self) -> ChannelKind {
        self.0.kind.into()
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Whether webhooks are accepted and replies sent.
    async fn active(&self) -> bool {
        self.0.active
    }

    /// Language of the channel (e.g. `en`); quick replies may be limited to it.
    async fn language(&self) -> Option<&str> {
        self.0.language.as_deref()
    }

    /// The queue new chats from this channel go to.
    async fn queue(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Queue>> {
        Ok(loader(ctx)?.load_one(QueueId(self.0.queue_id)).await?.map(Queue))
    }

    /// Whether every credential this kind of channel needs is set (the values are never shown).
    async fn credentials_complete(&self) -> bool {
        Credentials::of(&self.0).missing_for(self.0.kind).is_empty()
    }

    /// The path to give the provider as the webhook URL, after this server's public address
    /// (e.g. `https://chat.example.com` + this). ADMIN only.
    #[graphql(guard = "crate::graphql::context::RoleGuard::new(crate::graphql::context::ADMINS)")]
    async fn webhook_path(&self) -> String {
        crate::http::webhooks::path_for(&self.0)
    }

    /// Messenger: our Meta app's id, against which handover events are checked; null when not
    /// configured (see docs/chatbot.md). ADMIN only.
    #[graphql(guard = "crate::graphql::context::RoleGuard::new(crate::graphql::context::ADMINS)")]
    async fn app_id(&self) -> Option<String> {
        Credentials::of(&self.0).app_id
    }

    /// Messenger: the chatbot's app id (the handover protocol's primary receiver); null when
    /// not configured (see docs/chatbot.md). ADMIN only.
    #[graphql(guard = "crate::graphql::context::RoleGuard::new(crate::graphql::context::ADMINS)")]
    async fn bot_app_id(&self) -> Option<String> {
        Credentials::of(&self.0).bot_app_id
    }

    /// When the channel was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
