//! The `Channel` type. Credentials are write-only: no field returns them (the Messenger app
//! ids, which are not secrets, are shown to admins).

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::channels;

use super::enums::ChannelKind;
use super::lazy::Lazy;
use super::queue::Queue;
use crate::domain::channels::Credentials;
use crate::domain::ids::{ChannelId, QueueId};
use crate::graphql::ids;

/// One connected provider account: a WhatsApp number, a Facebook page or a Telegram bot.
/// Read only when a field other than `id` is asked for.
#[derive(Clone, Debug)]
pub struct Channel(pub Lazy<ChannelId, channels::Model>);

impl Channel {
    /// The channel with this id (a foreign key's value).
    pub fn of(id: ChannelId) -> Self {
        Self(Lazy::key(id))
    }
}

impl From<channels::Model> for Channel {
    fn from(row: channels::Model) -> Self {
        Self(Lazy::read(ChannelId(row.id), row))
    }
}

/// One connected provider account: a WhatsApp number, a Facebook page or a Telegram bot.
#[Object]
impl Channel {
    /// Global id: opaque, stable; fetch the object again with `node(id)`.
    pub async fn id(&self) -> ID {
        ids::encode("Channel", self.0.id().0)
    }

    /// Which provider.
    async fn kind(&self, ctx: &Context<'_>) -> async_graphql::Result<ChannelKind> {
        Ok(self.0.row(ctx).await?.kind.into())
    }

    /// Display name.
    async fn name(&self, ctx: &Context<'_>) -> async_graphql::Result<&str> {
        Ok(&self.0.row(ctx).await?.name)
    }

    /// Whether webhooks are accepted and replies sent.
    async fn active(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(self.0.row(ctx).await?.active)
    }

    /// Language of the channel (e.g. `en`); quick replies may be limited to it.
    async fn language(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        Ok(self.0.row(ctx).await?.language.as_deref())
    }

    /// The queue new chats from this channel go to.
    async fn queue(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Queue>> {
        Ok(Some(Queue::of(QueueId(self.0.row(ctx).await?.queue_id))))
    }

    /// Whether every credential this kind of channel needs is set (the values are never shown).
    async fn credentials_complete(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let row = self.0.row(ctx).await?;
        Ok(Credentials::of(row).missing_for(row.kind).is_empty())
    }

    /// The path to give the provider as the webhook URL, after this server's public address
    /// (e.g. `https://chat.example.com` + this). ADMIN only.
    #[graphql(guard = "crate::graphql::context::RoleGuard::new(crate::graphql::context::ADMINS)")]
    async fn webhook_path(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(crate::http::webhooks::path_for(self.0.row(ctx).await?))
    }

    /// Messenger: our Meta app's id, against which handover events are checked; null when not
    /// configured (see docs/chatbot.md). ADMIN only.
    #[graphql(guard = "crate::graphql::context::RoleGuard::new(crate::graphql::context::ADMINS)")]
    async fn app_id(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(Credentials::of(self.0.row(ctx).await?).app_id)
    }

    /// Messenger: the chatbot's app id (the handover protocol's primary receiver); null when
    /// not configured (see docs/chatbot.md). ADMIN only.
    #[graphql(guard = "crate::graphql::context::RoleGuard::new(crate::graphql::context::ADMINS)")]
    async fn bot_app_id(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(Credentials::of(self.0.row(ctx).await?).bot_app_id)
    }

    /// When the channel was created.
    async fn created_at(&self, ctx: &Context<'_>) -> async_graphql::Result<DateTime<Utc>> {
        Ok(self.0.row(ctx).await?.created_at)
    }
}

impl crate::graphql::plain::PlainFields for Channel {
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
        crate::graphql::plain::id_only(name, "Channel", self.0.id().0, out)
    }
}
