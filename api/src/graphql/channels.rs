//! Listing channels, and their administration. Credentials go in, never out.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use sea_orm::DatabaseConnection;

use super::connection;
use super::context::{ADMINS, READERS, RoleGuard, db};
use super::error::ResultExt;
use super::ids;
use super::types::channel::Channel;
use super::types::enums::ChannelKind;
use crate::domain::channels::{self, ChannelChange, Credentials, NewChannel};
use crate::domain::ids::{ChannelId, QueueId};
use crate::state::Limits;

/// Provider secrets. WhatsApp needs appSecret, verifyToken, accessToken and phoneNumberId;
/// Messenger appSecret, verifyToken, accessToken (page token) and pageId (and, optionally,
/// appId and botAppId for the chatbot handover); Telegram botToken and secretToken.
/// Write-only, except the two app ids, which are not secrets (`Channel.appId`, ADMIN only).
#[derive(InputObject, Default)]
pub struct ChannelCredentialsInput {
    /// Meta app secret; verifies `X-Hub-Signature-256`.
    #[graphql(secret)]
    pub app_secret: Option<String>,
    /// Token for Meta's GET verification handshake.
    #[graphql(secret)]
    pub verify_token: Option<String>,
    /// Send-API access token (WhatsApp system-user token, Messenger page token).
    #[graphql(secret)]
    pub access_token: Option<String>,
    /// WhatsApp phone-number id.
    pub phone_number_id: Option<String>,
    /// Facebook page id.
    pub page_id: Option<String>,
    /// Telegram bot token.
    #[graphql(secret)]
    pub bot_token: Option<String>,
    /// Telegram webhook secret (`X-Telegram-Bot-Api-Secret-Token`).
    #[graphql(secret)]
    pub secret_token: Option<String>,
    /// Messenger, optional: our Meta app's id (digits). When set, a `pass_thread_control` is
    /// honoured only if it names this app as the new owner. An empty string clears it.
    pub app_id: Option<String>,
    /// Messenger, optional: the chatbot's app id (digits), the handover protocol's primary
    /// receiver. When set, only this app's `take_thread_control` is honoured (and its
    /// `pass_thread_control`, when the event names the passing app). An empty string clears it.
    pub bot_app_id: Option<String>,
}

impl From<ChannelCredentialsInput> for Credentials {
    fn from(input: ChannelCredentialsInput) -> Self {
        Self {
            app_secret: input.app_secret,
            verify_token: input.verify_token,
            access_token: input.access_token,
            phone_number_id: input.phone_number_id,
            page_id: input.page_id,
            bot_token: input.bot_token,
            secret_token: input.secret_token,
            app_id: input.app_id,
            bot_app_id: input.bot_app_id,
        }
    }
}

/// `createChannel` input.
#[derive(InputObject)]
pub struct CreateChannelInput {
    /// Which provider.
    pub kind: ChannelKind,
    /// Display name.
    pub name: String,
    /// Language tag such as `en`.
    pub language: Option<String>,
    /// Queue new chats go to.
    pub queue_id: ID,
    /// Whether webhooks are accepted; true when omitted.
    pub active: Option<bool>,
    /// The provider secrets.
    pub credentials: ChannelCredentialsInput,
}

/// `updateChannel` input; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateChannelInput {
    /// The channel to change.
    pub id: ID,
    /// New name.
    pub name: Option<String>,
    /// New language; null clears it.
    pub language: MaybeUndefined<String>,
    /// New queue.
    pub queue_id: Option<ID>,
    /// Switch on or off.
    pub active: Option<bool>,
    /// Secrets to replace; omitted ones are kept.
    pub credentials: Option<ChannelCredentialsInput>,
}

/// Channel queries.
#[derive(Default)]
pub struct ChannelsQuery;

#[Object]
impl ChannelsQuery {
    /// All channels, in creation order.
    #[graphql(
        guard = "RoleGuard::new(READERS)",
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn channels(
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
    ) -> async_graphql::Result<Connection<String, Channel>> {
        let page = ids::page(first, after.as_deref(), ctx.data::<Limits>()?.max_page_size)?;
        let found = channels::list(db(ctx)?, page).await.gql()?;
        Ok(connection::build(page, found, |row| row.id, Channel::from))
    }
}

/// Channel administration.
#[derive(Default)]
pub struct ChannelsMutation;

#[Object]
impl ChannelsMutation {
    /// Connects a channel (ADMIN).
    #[graphql(guard = "RoleGuard::new(ADMINS)")]
    async fn create_channel(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new channel and its provider credentials.")] input: CreateChannelInput,
    ) -> async_graphql::Result<Channel> {
        let new = NewChannel {
            kind: input.kind.into(),
            name: input.name,
            language: input.language,
            queue_id: QueueId(ids::decode(&input.queue_id, "Queue")?),
            active: input.active.unwrap_or(true),
            credentials: input.credentials.into(),
        };
        Ok(Channel::from(channels::create(ctx.data::<DatabaseConnection>()?, new).await.gql()?))
    }

    /// Changes a channel (ADMIN).
    #[graphql(guard = "RoleGuard::new(ADMINS)")]
    async fn update_channel(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The channel and the changes; omitted fields stay as they are.")]
        input: UpdateChannelInput,
    ) -> async_graphql::Result<Channel> {
        let id = ChannelId(ids::decode(&input.id, "Channel")?);
        let change = ChannelChange {
            name: input.name,
            language: match input.language {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(language) => Some(Some(language)),
            },
            queue_id: input.queue_id.as_ref().map(|id| ids::decode(id, "Queue").map(QueueId)).transpose()?,
            active: input.active,
            credentials: input.credentials.map(Into::into),
        };
        let updated = channels::update(ctx.data::<DatabaseConnection>()?, id, change).await.gql()?;
        // Webhooks on this instance see the change at once (domain/channel_cache.rs).
        ctx.data::<std::sync::Arc<crate::domain::channel_cache::ChannelCache>>()?.forget(id);
        Ok(Channel::from(updated))
    }
}
