//! Starting chats (`initiateChat`, `canInitiateChat`) and WhatsApp message templates
//! (`messageTemplates`, `sendTemplate`, and their registration by admins).

use async_graphql::{Context, ID, InputObject, Object, SimpleObject, Upload};
use sea_orm::DatabaseConnection;

use super::context::{ADMINS, RoleGuard, STAFF, db, principal};
use super::error::{ResultExt, coded, codes};
use super::ids;
use super::messages::read_uploads;
use super::types::chat::Chat;
use super::types::message::Message;
use super::types::message_template::MessageTemplate;
use super::types::reachability::ChannelReachability;
use crate::domain::ids::{ChannelId, ChatId, ContactId};
use crate::domain::initiate::{self, Opening};
use crate::domain::message_templates::{self, MessageTemplateId, NewMessageTemplate};
use crate::jobs::JobContext;

/// A registered WhatsApp template and the values of its body parameters.
#[derive(InputObject)]
pub struct TemplateMessageInput {
    /// The template (`MessageTemplate.id`), registered for the chat's channel.
    pub template_id: ID,
    /// Its body parameters, in order (`{{1}}`, `{{2}}`...): exactly `parameterCount` of
    /// them, each 1 to 1024 characters without line breaks or tabs; a wrong number gives
    /// TEMPLATE_PARAMETERS.
    #[graphql(default)]
    pub parameters: Vec<String>,
}

/// `initiateChat` input: a contact, a channel, and either text (with optional files) or a
/// WhatsApp template.
#[derive(InputObject)]
pub struct InitiateChatInput {
    /// The contact to write to.
    pub contact_id: ID,
    /// The channel to write through.
    pub channel_id: ID,
    /// The first message's text (up to 4096 characters); optional when files are attached.
    pub text: Option<String>,
    /// Files, as for `sendMessage` (at most 5).
    pub files: Option<Vec<Upload>>,
    /// WhatsApp only, instead of text and files: open with a registered message template.
    /// The only way to start a WhatsApp chat outside the 24-hour window.
    pub template: Option<TemplateMessageInput>,
}

/// `sendTemplate` input.
#[derive(InputObject)]
pub struct SendTemplateInput {
    /// The WhatsApp chat to write in.
    pub chat_id: ID,
    /// The template (`MessageTemplate.id`), registered for the chat's channel.
    pub template_id: ID,
    /// Its body parameters, in order; exactly `parameterCount` of them.
    #[graphql(default)]
    pub parameters: Vec<String>,
}

/// `createMessageTemplate` input.
#[derive(InputObject)]
pub struct CreateMessageTemplateInput {
    /// The WhatsApp channel the template is approved for.
    pub channel_id: ID,
    /// Its name as approved in WhatsApp Manager (lower-case letters, digits, underscores).
    pub name: String,
    /// The language code it was approved in, e.g. `en_US` or `de`.
    pub language_code: String,
    /// The body text with `{{1}}`, `{{2}}`... placeholders, as approved (1 to 1024
    /// characters); sent messages are stored with the placeholders filled in.
    pub body_text: String,
    /// How many body parameters it takes; must match the placeholders. Omitted: counted from
    /// the body text.
    pub parameter_count: Option<i32>,
}

/// What `initiateChat` made.
#[derive(SimpleObject)]
pub struct InitiateChatPayload {
    /// The new chat: IN_PROGRESS, owned by the caller, in the channel's queue.
    pub chat: Chat,
    /// Its first message, PENDING until the delivery worker sends it.
    pub message: Message,
}

/// Queries about starting chats and templates.
#[derive(Default)]
pub struct InitiateQuery;

#[Object]
impl InitiateQuery {
    /// Whether `initiateChat` with text would be accepted now for this contact and channel,
    /// the reason when not, and when the 24-hour window closes (AGENT — for contacts they may
    /// read — SUPERVISOR, ADMIN). The same answer as the channel's entry in
    /// `Contact.reachability`. NOT_FOUND for a contact the caller may not read or an unknown
    /// channel.
    #[graphql(guard = "RoleGuard::new(STAFF)")]
    async fn can_initiate_chat(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact.")] contact_id: ID,
        #[graphql(desc = "The channel.")] channel_id: ID,
    ) -> async_graphql::Result<ChannelReachability> {
        let principal = principal(ctx)?;
        let contact = ContactId(ids::decode(&contact_id, "Contact")?);
        let channel = ChannelId(ids::decode(&channel_id, "Channel")?);
        let reach = initiate::can_initiate(db(ctx)?, principal, contact, channel).await.gql()?;
        Ok(ChannelReachability(reach))
    }

    /// The WhatsApp message templates registered for a channel, by name and language (AGENT,
    /// SUPERVISOR, ADMIN). Empty for a channel without any.
    #[graphql(guard = "RoleGuard::new(STAFF)")]
    async fn message_templates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The WhatsApp channel.")] channel_id: ID,
    ) -> async_graphql::Result<Vec<MessageTemplate>> {
        let channel = ChannelId(ids::decode(&channel_id, "Channel")?);
        let found = message_templates::of_channel(db(ctx)?, channel).await.gql()?;
        Ok(found.into_iter().map(MessageTemplate).collect())
    }
}

/// Starting chats, sending templates, registering templates.
#[derive(Default)]
pub struct InitiateMutation;

#[Object]
impl InitiateMutation {
    /// Starts a chat with a contact through a channel (AGENT — for contacts they may read —
    /// SUPERVISOR, ADMIN). Allowed only if the channel is active (else CHANNEL_INACTIVE), the
    /// contact has written through it at least once (NEVER_WROTE_ON_CHANNEL), the contact has
    /// no open chat on it (OPEN_CHAT_EXISTS, with that chat's id in `extensions.chatId`) and —
    /// on WhatsApp and Messenger — the contact's last message on it is under 24 hours old
    /// (OUTSIDE_MESSAGING_WINDOW; on WhatsApp open with `template` instead). An agent at
    /// capacity (`SimultaneousChats`) gets AT_CAPACITY. The chat is IN_PROGRESS, owned by the
    /// caller, in the channel's queue; its first message goes out through the outbox like a
    /// reply. On any refusal nothing is written or sent.
    #[graphql(guard = "RoleGuard::new(STAFF)")]
    async fn initiate_chat(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact, the channel and the first message.")] input: InitiateChatInput,
    ) -> async_graphql::Result<InitiateChatPayload> {
        let principal = principal(ctx)?;
        let contact = ContactId(ids::decode(&input.contact_id, "Contact")?);
        let channel = ChannelId(ids::decode(&input.channel_id, "Channel")?);
        let opening = match input.template {
            Some(template) => {
                if input.text.is_some() || input.files.as_ref().is_some_and(|files| !files.is_empty()) {
                    return Err(coded(
                        codes::BAD_USER_INPUT,
                        "give either a template or text and files, not both",
                    ));
                }
                let id = MessageTemplateId(ids::decode(&template.template_id, "MessageTemplate")?);
                Opening::Template { template: id, parameters: template.parameters }
            }
            None => Opening::Reply {
                text: input.text,
                files: read_uploads(ctx, input.files.unwrap_or_default())?,
            },
        };
        let jobs = ctx.data::<JobContext>()?;
        let db = ctx.data::<DatabaseConnection>()?;
        let (chat, message) =
            initiate::initiate(db, &jobs.files, principal, contact, channel, opening).await.gql()?;
        jobs.outbox_ready.notify_one();
        Ok(InitiateChatPayload { chat: Chat::from(chat), message: Message(message) })
    }

    /// Sends a registered WhatsApp message template in a chat, inside or outside the 24-hour
    /// window (the chat's owner or a supervisor, IN_PROGRESS chats, as for `sendMessage`).
    /// The stored message shows the body with the parameters filled in; it goes out as the
    /// Cloud API's template message. TEMPLATE_PARAMETERS for a wrong number of parameters;
    /// BAD_USER_INPUT for a template of another channel.
    #[graphql(guard = "RoleGuard::new(STAFF)")]
    async fn send_template(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The chat, the template and its parameters.")] input: SendTemplateInput,
    ) -> async_graphql::Result<Message> {
        let principal = principal(ctx)?;
        let chat = ChatId(ids::decode(&input.chat_id, "Chat")?);
        let template = MessageTemplateId(ids::decode(&input.template_id, "MessageTemplate")?);
        let jobs = ctx.data::<JobContext>()?;
        let db = ctx.data::<DatabaseConnection>()?;
        let message = message_templates::send(db, principal, chat, template, input.parameters).await.gql()?;
        jobs.outbox_ready.notify_one();
        Ok(Message(message))
    }

    /// Registers a WhatsApp message template approved by Meta for a WhatsApp channel (ADMIN).
    /// BAD_USER_INPUT for another kind of channel or placeholders that do not match the
    /// parameter count; CONFLICT when the name and language are already registered there.
    #[graphql(guard = "RoleGuard::new(ADMINS)")]
    async fn create_message_template(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The channel and the template as approved.")] input: CreateMessageTemplateInput,
    ) -> async_graphql::Result<MessageTemplate> {
        let new = NewMessageTemplate {
            channel: ChannelId(ids::decode(&input.channel_id, "Channel")?),
            name: input.name,
            language_code: input.language_code,
            body_text: input.body_text,
            parameter_count: input.parameter_count,
        };
        let created = message_templates::create(ctx.data::<DatabaseConnection>()?, new).await.gql()?;
        Ok(MessageTemplate(created))
    }

    /// Removes a registered message template (ADMIN). Messages already sent with it keep what
    /// they showed. Returns true.
    #[graphql(guard = "RoleGuard::new(ADMINS)")]
    async fn delete_message_template(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The template to remove.")] id: ID,
    ) -> async_graphql::Result<bool> {
        let id = MessageTemplateId(ids::decode(&id, "MessageTemplate")?);
        message_templates::delete(ctx.data::<DatabaseConnection>()?, id).await.gql()?;
        Ok(true)
    }
}
