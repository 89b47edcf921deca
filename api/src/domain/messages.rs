//! Replies: an agent's message is stored with an outbox row in one transaction; the delivery
//! worker sends it.

use entity::enums::{
    AttachmentStatus, AuthorKind, ChatStatus, CompletionReason, DeliveryStatus, Direction, MessageKind,
    OutboxStatus,
};
use entity::{attachments, chats, drafts, messages, outbox, queues};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, NotSet, QueryFilter, Set,
};
use tracing::instrument;

use super::error::{DomainError, DomainResult};
use super::ids::{AgentId, ChatId, QueueId};
use super::sessions::Principal;
use crate::events::{self, EventKind, Subjects};
use crate::files::FileStore;

/// Longest reply text accepted (Telegram's limit; WhatsApp and Messenger allow more).
pub const MAX_TEXT: usize = 4096;

/// A file an agent attaches to a reply.
#[derive(Clone, Debug)]
pub struct NewFile {
    /// File name shown to the customer.
    pub file_name: String,
    /// MIME type.
    pub content_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

fn kind_of(content_type: &str) -> MessageKind {
    match content_type.split('/').next() {
        Some("image") => MessageKind::Image,
        Some("audio") => MessageKind::Audio,
        Some("video") => MessageKind::Video,
        _ => MessageKind::Document,
    }
}

/// What an outgoing message carries, ready to be queued by [`queue`].
#[derive(Debug)]
pub enum Outgoing {
    /// A reply: text and files already in storage (see [`check_reply`] and [`store`]).
    Reply {
        /// The text.
        text: Option<String>,
        /// The files with their storage keys.
        files: Vec<(NewFile, String)>,
    },
    /// A WhatsApp template message; its rendered body is the stored text.
    Template(super::message_templates::Rendered),
}

/// Checks a reply's text and files before anything is stored: some text or a file, the text
/// within [`MAX_TEXT`], each file within the store's limits. Returns the trimmed text.
pub fn check_reply(
    files: &FileStore,
    text: Option<String>,
    uploads: &[NewFile],
) -> DomainResult<Option<String>> {
    let text = text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    if text.is_none() && uploads.is_empty() {
        return Err(DomainError::invalid("a reply needs text or at least one file"));
    }
    if text.as_ref().is_some_and(|t| t.chars().count() > MAX_TEXT) {
        return Err(DomainError::invalid(format!("text is longer than {MAX_TEXT} characters")));
    }
    for file in uploads {
        files
            .check(&file.content_type, file.bytes.len() as u64)
            .map_err(|refusal| DomainError::invalid(format!("{}: {refusal}", file.file_name)))?;
    }
    Ok(text)
}

/// Puts a reply's files in storage, before its transaction: a failed transaction then leaves
/// unreferenced files, never references to missing ones.
pub async fn store(files: &FileStore, uploads: Vec<NewFile>) -> DomainResult<Vec<(NewFile, String)>> {
    let mut stored = Vec::with_capacity(uploads.len());
    for file in uploads {
        let key = files.put(&file.bytes).await.map_err(|err| {
            tracing::error!(error = %err, "cannot store an uploaded file");
            DomainError::Database(sea_orm::DbErr::Custom("file storage failed".into()))
        })?;
        stored.push((file, key));
    }
    Ok(stored)
}

/// Queues a reply in a chat. Only the chat's owner (or a supervisor) may reply, and only while
/// the chat is IN_PROGRESS; on WhatsApp only inside the 24-hour window (OUTSIDE_MESSAGING_WINDOW
/// up front otherwise: send a template with `message_templates::send`). The first agent reply
/// stamps the first-response time; each reply sets the close deadline when the queue has a
/// completion timeout; the agent's draft is cleared.
#[instrument(skip_all, fields(chat_id = chat_id.0, agent_id = principal.agent_id.0))]
pub async fn send(
    db: &DatabaseConnection,
    files: &FileStore,
    principal: &Principal,
    chat_id: ChatId,
    text: Option<String>,
    uploads: Vec<NewFile>,
) -> DomainResult<messages::Model> {
    let text = check_reply(files, text, &uploads)?;
    let chat =
        super::chats::get_visible(db, principal, chat_id).await?.ok_or(DomainError::NotFound("chat"))?;
    check_can_reply(principal, &chat)?;
    let stored = store(files, uploads).await?;

    let txn = crate::db::write(db).await?;
    // Re-read inside the transaction: the chat may have been completed or transferred since.
    let chat = chats::Entity::find_by_id(chat_id.0).one(&txn).await?.ok_or(DomainError::NotFound("chat"))?;
    check_can_reply(principal, &chat)?;
    // WhatsApp refuses free-form messages outside the window (and says so only after the
    // send): refuse up front. Messenger's refusal still comes from the provider, as before.
    let channel = entity::channels::Entity::find_by_id(chat.channel_id)
        .one(&txn)
        .await?
        .ok_or(DomainError::NotFound("channel"))?;
    if channel.kind == entity::enums::ChannelKind::Whatsapp
        && let Some(refusal) =
            super::initiate::window_refusal(&txn, super::ids::ContactId(chat.contact_id), &channel).await?
    {
        return Err(DomainError::NotReachable(refusal));
    }
    let message = queue(&txn, principal, &chat, Outgoing::Reply { text, files: stored }).await?;
    txn.commit().await?;
    Ok(message)
}

/// Writes an outgoing agent message in `chat`, in the caller's transaction: the message, its
/// attachments (or the template it is sent as), its outbox row, the chat's times (last
/// message, close deadline, first response), the agent's draft cleared, MESSAGE_SENT. The
/// caller checks who may write and when.
pub async fn queue(
    txn: &impl ConnectionTrait,
    principal: &Principal,
    chat: &chats::Model,
    outgoing: Outgoing,
) -> DomainResult<messages::Model> {
    let now = crate::clock::now();
    let (text, stored, template) = match outgoing {
        Outgoing::Reply { text, files } => (text, files, None),
        Outgoing::Template(rendered) => (Some(rendered.text.clone()), Vec::new(), Some(rendered)),
    };
    let kind = stored.first().map_or(MessageKind::Text, |(file, _)| kind_of(&file.content_type));
    let message = messages::ActiveModel {
        id: NotSet,
        chat_id: Set(chat.id),
        channel_id: Set(chat.channel_id),
        direction: Set(Direction::Outgoing),
        author_kind: Set(AuthorKind::Agent),
        author_agent_id: Set(Some(principal.agent_id.0)),
        kind: Set(kind),
        text: Set(text),
        provider_message_id: Set(None),
        delivery_status: Set(Some(DeliveryStatus::Pending)),
        delivery_error: Set(None),
        edited_at: Set(None),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    for (file, key) in stored {
        attachments::ActiveModel {
            id: NotSet,
            message_id: Set(message.id),
            size_bytes: Set(Some(file.bytes.len() as i64)),
            file_name: Set(Some(file.file_name)),
            content_type: Set(Some(file.content_type)),
            storage_key: Set(Some(key)),
            provider_file_id: Set(None),
            status: Set(AttachmentStatus::Stored),
            error: Set(None),
            created_at: Set(now),
        }
        .insert(txn)
        .await?;
    }
    if let Some(rendered) = template {
        super::message_templates::record_send(txn, &message, &rendered).await?;
    }
    enqueue(txn, &message).await?;
    let timeout =
        queues::Entity::find_by_id(chat.queue_id).one(txn).await?.and_then(|q| q.completion_timeout_minutes);
    let mut update = chats::Entity::update_many()
        .col_expr(chats::Column::LastMessageAt, Expr::value(now))
        .col_expr(chats::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            chats::Column::CloseDeadline,
            Expr::value(timeout.map(|minutes| now + chrono::Duration::minutes(i64::from(minutes)))),
        )
        .filter(chats::Column::Id.eq(chat.id));
    if chat.first_response_at.is_none() {
        update = update.col_expr(chats::Column::FirstResponseAt, Expr::value(now));
    }
    update.exec(txn).await?;
    drafts::Entity::delete_many()
        .filter(drafts::Column::ChatId.eq(chat.id))
        .filter(drafts::Column::AgentId.eq(principal.agent_id.0))
        .exec(txn)
        .await?;
    record_sent(txn, chat, &message).await?;
    Ok(message)
}

/// The notice stored with a hand-back; it also goes to the chatbot as the handover's metadata.
pub const HAND_BACK_TEXT: &str = "The conversation was handed back to the chatbot.";

/// Messenger's pre-process mode: `chat` has just completed, and its conversation came from a
/// chatbot's handover (its parent, or the chat a transfer chain started from, was completed
/// BOT_HANDOVER). Queues the hand-back of the thread to the chatbot, in the caller's
/// transaction: a SYSTEM message in the chat with an outbox row, which the delivery worker
/// turns into `pass_thread_control` (retried like any reply). Returns it, or `None` when
/// the conversation did not come from a chatbot.
pub async fn queue_hand_back(
    db: &impl ConnectionTrait,
    chat: &chats::Model,
) -> DomainResult<Option<messages::Model>> {
    if !came_from_a_chatbot(db, chat).await? {
        return Ok(None);
    }
    let message = messages::ActiveModel {
        id: NotSet,
        chat_id: Set(chat.id),
        channel_id: Set(chat.channel_id),
        direction: Set(Direction::Outgoing),
        author_kind: Set(AuthorKind::System),
        author_agent_id: Set(None),
        kind: Set(MessageKind::Text),
        text: Set(Some(HAND_BACK_TEXT.to_owned())),
        provider_message_id: Set(None),
        delivery_status: Set(Some(DeliveryStatus::Pending)),
        delivery_error: Set(None),
        edited_at: Set(None),
        created_at: Set(crate::clock::now()),
    }
    .insert(db)
    .await?;
    enqueue(db, &message).await?;
    record_sent(db, chat, &message).await?;
    Ok(Some(message))
}

/// Longest parent chain followed (transfers of transfers).
const MAX_CHAIN: usize = 64;

/// Whether the chats `chat` continues (through transfers) start at a chatbot's handover.
async fn came_from_a_chatbot(db: &impl ConnectionTrait, chat: &chats::Model) -> DomainResult<bool> {
    let mut parent = chat.parent_chat_id;
    for _ in 0..MAX_CHAIN {
        let Some(id) = parent else { return Ok(false) };
        let Some(row) = chats::Entity::find_by_id(id).one(db).await? else { return Ok(false) };
        match row.completion_reason {
            Some(CompletionReason::BotHandover) => return Ok(true),
            Some(CompletionReason::Transferred) => parent = row.parent_chat_id,
            _ => return Ok(false),
        }
    }
    Ok(false)
}

/// The outbox row that has the delivery worker send `message`.
async fn enqueue(db: &impl ConnectionTrait, message: &messages::Model) -> Result<(), sea_orm::DbErr> {
    let now = crate::clock::now();
    outbox::ActiveModel {
        id: NotSet,
        message_id: Set(message.id),
        channel_id: Set(message.channel_id),
        status: Set(OutboxStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The MESSAGE_SENT event of an outgoing message queued in `chat`.
async fn record_sent(
    db: &impl ConnectionTrait,
    chat: &chats::Model,
    message: &messages::Model,
) -> Result<(), sea_orm::DbErr> {
    let subjects = Subjects {
        chat: Some(ChatId(chat.id)),
        queue: Some(QueueId(chat.queue_id)),
        agent: chat.owner_id.map(AgentId),
    };
    events::record(db, EventKind::MessageSent, subjects, serde_json::json!({ "messageId": message.id }))
        .await?;
    Ok(())
}

/// Only the chat's owner (or a supervisor) may write in it, and only while it is IN_PROGRESS.
pub fn check_can_reply(principal: &Principal, chat: &chats::Model) -> DomainResult<()> {
    if chat.owner_id != Some(principal.agent_id.0) && !principal.is_supervisor() {
        return Err(DomainError::Forbidden("only the chat's owner or a supervisor may reply".into()));
    }
    if chat.status != ChatStatus::InProgress {
        return Err(DomainError::InvalidState(format!(
            "replies need an IN_PROGRESS chat; this one is {}",
            chat.status.as_str()
        )));
    }
    Ok(())
}
