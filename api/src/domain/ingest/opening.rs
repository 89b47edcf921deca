//! Opening and completing chats, with their events: shared by ingestion, the chatbot
//! handover, the lifecycle and agent-initiated chats.

use entity::enums::{ChatStatus, CompletionReason};
use entity::{channels, chats};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, NotSet, QueryFilter, Set};

use crate::domain::ids::{AgentId, ChannelId, ChatId, ContactId, QueueId};
use crate::events::{self, EventKind, Subjects};

/// The contact's open chat on the channel, locked for the caller's write transaction (on
/// PostgreSQL; SQLite's write transactions hold the database lock): a time limit completing
/// it at the same moment waits, and then sees the message that moved its deadline, or this
/// finds no open chat.
pub async fn open_chat(
    db: &impl ConnectionTrait,
    contact: ContactId,
    channel: ChannelId,
) -> Result<Option<chats::Model>, sea_orm::DbErr> {
    let query = chats::Entity::find()
        .filter(chats::Column::ContactId.eq(contact.0))
        .filter(chats::Column::ChannelId.eq(channel.0))
        .filter(chats::Column::Status.ne(ChatStatus::Completed));
    crate::db::locked(db, query).one(db).await
}

/// Opens a chat and records it.
pub async fn create_chat(
    db: &impl ConnectionTrait,
    contact: ContactId,
    channel: &channels::Model,
    status: ChatStatus,
    parent: Option<ChatId>,
) -> Result<chats::Model, sea_orm::DbErr> {
    let contact = entity::contacts::Entity::find_by_id(contact.0)
        .one(db)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound(format!("contact {contact}")))?;
    create_chat_for(db, &contact, channel, status, parent, Similar::Search).await
}

/// What [`create_chat_for`] knows of the similar contacts of the chat's contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Similar {
    /// Search them: a contact stored before this transaction.
    Search,
    /// Search them for a contact created in this transaction, which nobody can have marked
    /// "not duplicates" of anyone yet (the search skips that part).
    SearchNewcomer,
    /// The caller searched already, before the transaction (a newcomer, on SQLite): this many.
    Counted(usize),
}

impl Similar {
    /// For a contact `resolve`d in this transaction: a newcomer when it was created there.
    pub fn of(new_contact: bool) -> Self {
        if new_contact { Self::SearchNewcomer } else { Self::Search }
    }
}

/// Opens a chat for `contact` and records it. The similar-contact search runs here, when a
/// chat starts: CHAT_CREATED says how many similar contacts the rules found
/// (`similarContacts`), so the panel can show it at once. `similar`: whether the contact is a
/// newcomer, or the count when the caller searched already.
pub async fn create_chat_for(
    db: &impl ConnectionTrait,
    contact: &entity::contacts::Model,
    channel: &channels::Model,
    status: ChatStatus,
    parent: Option<ChatId>,
    similar: Similar,
) -> Result<chats::Model, sea_orm::DbErr> {
    let now = crate::clock::now();
    let chat = chats::ActiveModel {
        id: NotSet,
        contact_id: Set(contact.id),
        channel_id: Set(channel.id),
        queue_id: Set(channel.queue_id),
        owner_id: Set(None),
        directed_agent_id: Set(None),
        parent_chat_id: Set(parent.map(|p| p.0)),
        status: Set(status),
        completion_reason: Set(None),
        created_at: Set(now),
        accepted_at: Set(None),
        first_response_at: Set(None),
        completed_at: Set(None),
        close_deadline: Set(None),
        last_message_at: Set(None),
        updated_at: Set(now),
        queued_at: Set((status == ChatStatus::Waiting).then_some(now)),
    }
    .insert(db)
    .await?;
    use crate::domain::contacts::similar as search;
    let similar = match similar {
        Similar::Counted(count) => count,
        Similar::Search => search::find(db, contact, search::LIMIT).await?.len(),
        Similar::SearchNewcomer => search::find_for_newcomer(db, contact, search::LIMIT).await?.len(),
    };
    let subjects =
        Subjects { chat: Some(ChatId(chat.id)), queue: Some(QueueId(chat.queue_id)), ..Default::default() };
    let payload = serde_json::json!({
        "status": status.as_str(),
        "contactId": contact.id,
        "parentChatId": parent.map(|p| p.0),
        "similarContacts": similar,
    });
    events::record(db, EventKind::ChatCreated, subjects, payload).await?;
    Ok(chat)
}

/// Completes a chat with a reason and records it.
pub async fn complete(
    db: &impl ConnectionTrait,
    chat: &chats::Model,
    reason: CompletionReason,
) -> Result<(), sea_orm::DbErr> {
    let now = crate::clock::now();
    // A chat completed by its time limit is completed at its deadline, not when the worker
    // noticed (docs/metrics.md).
    let completed_at = match (reason, chat.close_deadline) {
        (CompletionReason::Timeout | CompletionReason::BotTimeout, Some(deadline)) if deadline < now => {
            deadline
        }
        _ => now,
    };
    let mut row: chats::ActiveModel = chat.clone().into();
    row.status = Set(ChatStatus::Completed);
    row.completion_reason = Set(Some(reason));
    row.completed_at = Set(Some(completed_at));
    row.close_deadline = Set(None);
    row.directed_agent_id = Set(None);
    row.updated_at = Set(now);
    row.update(db).await?;
    let subjects = Subjects {
        chat: Some(ChatId(chat.id)),
        queue: Some(QueueId(chat.queue_id)),
        agent: chat.owner_id.map(AgentId),
    };
    events::record(db, EventKind::ChatCompleted, subjects, serde_json::json!({ "reason": reason.as_str() }))
        .await?;
    Ok(())
}
