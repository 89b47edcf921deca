//! Ingestion: turning normalised webhook events into contacts, chats, messages and delivery
//! statuses. Each event is its own transaction, so one bad event never loses the others.

use chrono::Utc;
use entity::enums::{AttachmentStatus, AuthorKind, ChatStatus, CompletionReason, DeliveryStatus, Direction};
use entity::{attachments, channels, chats, contact_identities, message_edits, message_reactions, messages};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, NotSet, QueryFilter,
    QueryOrder, Set, SqlErr,
};
use tracing::instrument;

use super::error::DomainResult;
use super::ids::{AgentId, ChannelId, ChatId, ContactId, MessageId, QueueId};
use super::reroute::AfterCommit;
use crate::channels::{InboundEvent, InboundMessage, MessageEdit, Reaction, StatusTarget, StatusUpdate};
use crate::events::{self, EventKind, Subjects};

/// What one stored message led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// The new message.
    pub message: MessageId,
    /// Its chat.
    pub chat: ChatId,
    /// The chat's queue.
    pub queue: QueueId,
    /// The contact.
    pub contact: ContactId,
    /// The contact was created by this message.
    pub new_contact: bool,
    /// The chat was opened by this message, WAITING to be routed.
    pub new_waiting_chat: bool,
    /// Attachments waiting to be downloaded.
    pub pending_attachments: Vec<i64>,
}

/// The outcome of one webhook.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Messages stored.
    pub stored: Vec<Stored>,
    /// Messages already stored before (redelivered webhooks).
    pub duplicates: usize,
    /// Messages whose delivery status moved.
    pub statuses: usize,
    /// Events ignored or referring to unknown messages (handovers for other apps among them).
    pub ignored: usize,
    /// Agent chats completed because the chatbot took the thread back.
    pub taken_back: usize,
    /// Agents those chats freed.
    pub freed_agents: Vec<AgentId>,
}

impl Report {
    /// Chats opened WAITING by this webhook: the routing hook (issue 4) routes each of them.
    pub fn new_waiting_chats(&self) -> impl Iterator<Item = ChatId> + '_ {
        self.stored.iter().filter(|s| s.new_waiting_chat).map(|s| s.chat)
    }

    /// What this webhook's commits left to route: the chats it opened WAITING, and the agents
    /// freed by the chatbot taking threads back.
    fn reroute(&self) -> super::reroute::Reroute {
        use super::reroute::Reroute;
        Reroute::chats(self.new_waiting_chats()).and(Reroute::agents(self.freed_agents.iter().copied()))
    }

    /// Counts a message stored now, or (`None`) one stored before.
    fn add(&mut self, stored: Option<Stored>) {
        match stored {
            Some(stored) => self.stored.push(stored),
            None => self.duplicates += 1,
        }
    }
}

fn is_unique_violation(err: &sea_orm::DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Applies every event of one webhook for `channel`. Events are independent: each is one
/// transaction. A database failure stops and is returned (the provider will redeliver, and
/// what was stored is recognised as a duplicate).
///
/// `reads`: read-only connections beside `db`'s single writer (SQLite), if any. Through them,
/// a customer Switchboard does not know yet is searched for similar contacts before the
/// ingesting transaction begins, so the search never holds the write lock that every other
/// webhook waits for.
#[instrument(skip_all, fields(channel_id = channel.id, events = events.len()))]
pub async fn ingest(
    db: &DatabaseConnection,
    reads: Option<&DatabaseConnection>,
    channel: &channels::Model,
    events: Vec<InboundEvent>,
) -> DomainResult<AfterCommit<Report>> {
    let mut report = Report::default();
    for event in events {
        match event {
            InboundEvent::Message(message) => report.add(store_message(db, reads, channel, &message).await?),
            InboundEvent::EchoOf(ours, message) => {
                // Ours is stored already, whether or not its send has recorded the provider's
                // id yet (the echo can overtake the Send API's answer).
                let stored = if sent_by_us(db, channel, ours).await? {
                    None
                } else {
                    store_message(db, reads, channel, &message).await?
                };
                report.add(stored);
            }
            InboundEvent::Status(update) => match apply_status(db, channel, &update).await? {
                0 => report.ignored += 1,
                n => report.statuses += n,
            },
            InboundEvent::Edit(edit) => {
                if !apply_edit(db, channel, &edit).await? {
                    report.ignored += 1;
                }
            }
            InboundEvent::Reaction(reaction) => {
                if !apply_reaction(db, channel, &reaction).await? {
                    report.ignored += 1;
                }
            }
            InboundEvent::Handover(handover) => match super::chatbot::apply(db, channel, &handover).await? {
                super::chatbot::Applied::PassedToUs(stored) => report.stored.push(stored),
                super::chatbot::Applied::TakenBack { freed } => {
                    report.taken_back += 1;
                    report.freed_agents.extend(freed);
                }
                super::chatbot::Applied::Ignored => report.ignored += 1,
            },
            InboundEvent::Ignored(reason) => {
                tracing::debug!(%reason, "webhook event ignored");
                report.ignored += 1;
            }
        }
    }
    let reroute = report.reroute();
    Ok(AfterCommit::new(report, reroute))
}

/// Stores one message; `None` when it was stored before. Races between concurrent webhooks
/// (the same message twice, or two first messages of a new contact) end in a unique violation;
/// the transaction is rolled back and retried, and the retry sees the other's rows.
async fn store_message(
    db: &DatabaseConnection,
    reads: Option<&DatabaseConnection>,
    channel: &channels::Model,
    message: &InboundMessage,
) -> DomainResult<Option<Stored>> {
    let searched = match reads {
        Some(reads) => similar_to_newcomer(reads, channel, message).await?,
        None => None,
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        match try_store_message(db, channel, message, searched).await {
            Err(err) if attempt < 4 && is_unique_violation(&err) => continue,
            Err(err) => return Err(err.into()),
            Ok(result) => return Ok(result),
        }
    }
}

/// How many similar contacts the rules find for the customer of `message`, when `channel`'s
/// kind does not know them yet (their first message creates a contact, which has no "not
/// duplicates" pairs); `None` for a known customer. Read before the ingesting transaction:
/// if the customer became known in between, the transaction searches again itself.
async fn similar_to_newcomer(
    reads: &DatabaseConnection,
    channel: &channels::Model,
    message: &InboundMessage,
) -> Result<Option<usize>, sea_orm::DbErr> {
    use super::contacts::{identities, similar};
    if identities::find(reads, channel.kind, &message.customer.external_id).await?.is_some() {
        return Ok(None);
    }
    let newcomer = identities::new_contact(channel, &message.customer);
    Ok(Some(similar::find_for_newcomer(reads, &newcomer, similar::LIMIT).await?.len()))
}

/// Whether `id` is an outgoing message of `channel` that Switchboard stored and sends.
async fn sent_by_us(
    db: &DatabaseConnection,
    channel: &channels::Model,
    id: MessageId,
) -> Result<bool, sea_orm::DbErr> {
    let found = messages::Entity::find_by_id(id.0)
        .filter(messages::Column::ChannelId.eq(channel.id))
        .filter(messages::Column::Direction.eq(Direction::Outgoing))
        .one(db)
        .await?;
    Ok(found.is_some())
}

async fn find_message(
    db: &impl ConnectionTrait,
    channel: ChannelId,
    provider_id: &str,
) -> Result<Option<messages::Model>, sea_orm::DbErr> {
    messages::Entity::find()
        .filter(messages::Column::ChannelId.eq(channel.0))
        .filter(messages::Column::ProviderMessageId.eq(provider_id))
        .one(db)
        .await
}

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
    use super::contacts::similar as search;
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

/// `searched`: the similar-contact count of the customer if they are new (see
/// [`similar_to_newcomer`]).
async fn try_store_message(
    db: &DatabaseConnection,
    channel: &channels::Model,
    message: &InboundMessage,
    searched: Option<usize>,
) -> Result<Option<Stored>, sea_orm::DbErr> {
    let txn = crate::db::write(db).await?;
    if find_message(&txn, ChannelId(channel.id), &message.provider_message_id).await?.is_some() {
        return Ok(None);
    }
    let (contact, new_contact) =
        super::contacts::identities::resolve(&txn, channel, &message.customer).await?;
    let (chat, new_chat) = match open_chat(&txn, ContactId(contact.id), ChannelId(channel.id)).await? {
        Some(chat) => (chat, false),
        None => {
            // Messages arriving while a chatbot owns the thread belong to a bot chat: stored,
            // never routed.
            let status = if message.standby { ChatStatus::BotProcessing } else { ChatStatus::Waiting };
            let similar = match searched {
                Some(count) if new_contact => Similar::Counted(count),
                _ => Similar::of(new_contact),
            };
            (create_chat_for(&txn, &contact, channel, status, None, similar).await?, true)
        }
    };
    let now = crate::clock::now();
    let outgoing = message.direction == Direction::Outgoing;
    let stored = messages::ActiveModel {
        id: NotSet,
        chat_id: Set(chat.id),
        channel_id: Set(channel.id),
        direction: Set(message.direction),
        author_kind: Set(message.author_kind),
        author_agent_id: Set(None),
        kind: Set(message.kind),
        text: Set(message.text.clone()),
        provider_message_id: Set(Some(message.provider_message_id.clone())),
        delivery_status: Set(outgoing.then_some(DeliveryStatus::Sent)),
        delivery_error: Set(None),
        edited_at: Set(None),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let mut pending = Vec::new();
    for attachment in &message.attachments {
        let row = attachments::ActiveModel {
            id: NotSet,
            message_id: Set(stored.id),
            file_name: Set(attachment.file_name.clone()),
            content_type: Set(attachment.content_type.clone()),
            size_bytes: Set(attachment.size_bytes),
            storage_key: Set(None),
            provider_file_id: Set(Some(crate::jobs::media::encode_source(&attachment.source))),
            status: Set(AttachmentStatus::Pending),
            error: Set(None),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        pending.push(row.id);
    }
    // A bot chat closes its time limit after its last message, whoever wrote it (the customer,
    // the chatbot's echo, Meta's inbox). In an agent chat a customer message clears the close
    // deadline: the chat waits for the agent again.
    let mut update = chats::Entity::update_many()
        .col_expr(chats::Column::LastMessageAt, Expr::value(now))
        .col_expr(chats::Column::UpdatedAt, Expr::value(now))
        .filter(chats::Column::Id.eq(chat.id));
    if chat.status == ChatStatus::BotProcessing {
        let deadline = super::chatbot::bot_deadline(&txn, chat.queue_id, now).await?;
        update = update.col_expr(chats::Column::CloseDeadline, Expr::value(Some(deadline)));
    } else if message.author_kind == AuthorKind::Contact {
        update =
            update.col_expr(chats::Column::CloseDeadline, Expr::value(Option::<chrono::DateTime<Utc>>::None));
    }
    update.exec(&txn).await?;
    let subjects = Subjects {
        chat: Some(ChatId(chat.id)),
        queue: Some(QueueId(chat.queue_id)),
        agent: chat.owner_id.map(super::ids::AgentId),
    };
    let payload = serde_json::json!({
        "messageId": stored.id,
        "direction": message.direction.as_str(),
        "kind": message.kind.as_str(),
    });
    events::record(&txn, EventKind::MessageReceived, subjects, payload).await?;
    txn.commit().await?;
    Ok(Some(Stored {
        message: MessageId(stored.id),
        chat: ChatId(chat.id),
        queue: QueueId(chat.queue_id),
        contact: ContactId(contact.id),
        new_contact,
        new_waiting_chat: new_chat && chat.status == ChatStatus::Waiting,
        pending_attachments: pending,
    }))
}

/// Where a delivery status ranks; statuses only move up, and FAILED is final.
fn rank(status: Option<DeliveryStatus>) -> u8 {
    match status {
        None | Some(DeliveryStatus::Pending) => 0,
        Some(DeliveryStatus::Sent) => 1,
        Some(DeliveryStatus::Delivered) => 2,
        Some(DeliveryStatus::Read) => 3,
        Some(DeliveryStatus::Failed) => 4,
    }
}

/// Whether `current` may move to `next`: forward only; FAILED only from PENDING or SENT, and
/// nothing leaves FAILED.
pub fn moves_forward(current: Option<DeliveryStatus>, next: DeliveryStatus) -> bool {
    match (current, next) {
        (Some(DeliveryStatus::Failed), _) => false,
        (_, DeliveryStatus::Failed) => rank(current) <= 1,
        _ => rank(Some(next)) > rank(current),
    }
}

/// Moves delivery statuses forward; returns how many messages moved.
async fn apply_status(
    db: &DatabaseConnection,
    channel: &channels::Model,
    update: &StatusUpdate,
) -> DomainResult<usize> {
    let txn = crate::db::write(db).await?;
    let candidates: Vec<messages::Model> = match &update.target {
        StatusTarget::Message(provider_id) => {
            find_message(&txn, ChannelId(channel.id), provider_id).await?.into_iter().collect()
        }
        StatusTarget::Watermark { customer, up_to } => {
            let identity = contact_identities::Entity::find()
                .filter(contact_identities::Column::ChannelKind.eq(channel.kind))
                .filter(contact_identities::Column::ExternalId.eq(customer.as_str()))
                .one(&txn)
                .await?;
            let Some(identity) = identity else { return Ok(0) };
            let chat_ids: Vec<i64> = chats::Entity::find()
                .filter(chats::Column::ContactId.eq(identity.contact_id))
                .filter(chats::Column::ChannelId.eq(channel.id))
                .all(&txn)
                .await?
                .into_iter()
                .map(|c| c.id)
                .collect();
            messages::Entity::find()
                .filter(messages::Column::ChatId.is_in(chat_ids))
                .filter(messages::Column::Direction.eq(Direction::Outgoing))
                .filter(messages::Column::CreatedAt.lte(*up_to))
                .filter(
                    messages::Column::DeliveryStatus.is_in([DeliveryStatus::Sent, DeliveryStatus::Delivered]),
                )
                .order_by_asc(messages::Column::Id)
                .all(&txn)
                .await?
        }
    };
    let mut moved = 0;
    for message in candidates {
        if message.direction != Direction::Outgoing || !moves_forward(message.delivery_status, update.status)
        {
            continue;
        }
        let mut row: messages::ActiveModel = message.clone().into();
        row.delivery_status = Set(Some(update.status));
        if update.status == DeliveryStatus::Failed {
            row.delivery_error = Set(update.error.clone());
        }
        row.update(&txn).await?;
        let chat = chats::Entity::find_by_id(message.chat_id).one(&txn).await?;
        let subjects = Subjects {
            chat: Some(ChatId(message.chat_id)),
            agent: chat.and_then(|c| c.owner_id).map(super::ids::AgentId),
            ..Default::default()
        };
        let payload = serde_json::json!({ "messageId": message.id, "status": update.status.as_str(), "error": update.error });
        events::record(&txn, EventKind::DeliveryStatusChanged, subjects, payload).await?;
        moved += 1;
    }
    txn.commit().await?;
    Ok(moved)
}

/// Stores an edit, keeping the original in `message_edits`; false when the message is unknown
/// or the same edit was applied already.
async fn apply_edit(
    db: &DatabaseConnection,
    channel: &channels::Model,
    edit: &MessageEdit,
) -> DomainResult<bool> {
    let txn = crate::db::write(db).await?;
    let Some(message) = find_message(&txn, ChannelId(channel.id), &edit.provider_message_id).await? else {
        return Ok(false);
    };
    if message.edited_at.is_some_and(|at| at >= edit.edited_at) {
        return Ok(false);
    }
    message_edits::ActiveModel {
        id: NotSet,
        message_id: Set(message.id),
        previous_text: Set(message.text.clone()),
        text: Set(edit.text.clone()),
        edited_at: Set(edit.edited_at),
    }
    .insert(&txn)
    .await?;
    let chat_id = message.chat_id;
    let mut row: messages::ActiveModel = message.into();
    row.text = Set(edit.text.clone());
    row.edited_at = Set(Some(edit.edited_at));
    let updated = row.update(&txn).await?;
    let subjects = Subjects { chat: Some(ChatId(chat_id)), ..Default::default() };
    events::record(&txn, EventKind::MessageEdited, subjects, serde_json::json!({ "messageId": updated.id }))
        .await?;
    txn.commit().await?;
    Ok(true)
}

/// Records (or, with no emoji, removes) a customer's reaction; false when the message is unknown.
async fn apply_reaction(
    db: &DatabaseConnection,
    channel: &channels::Model,
    reaction: &Reaction,
) -> DomainResult<bool> {
    let txn = crate::db::write(db).await?;
    let Some(message) = find_message(&txn, ChannelId(channel.id), &reaction.provider_message_id).await?
    else {
        return Ok(false);
    };
    // One reaction per customer and message: a new one replaces the old.
    message_reactions::Entity::delete_many()
        .filter(message_reactions::Column::MessageId.eq(message.id))
        .filter(message_reactions::Column::AuthorKind.eq(AuthorKind::Contact))
        .exec(&txn)
        .await?;
    if let Some(emoji) = &reaction.emoji {
        message_reactions::ActiveModel {
            id: NotSet,
            message_id: Set(message.id),
            reaction: Set(emoji.clone()),
            author_kind: Set(AuthorKind::Contact),
            created_at: Set(reaction.at),
        }
        .insert(&txn)
        .await?;
    }
    let subjects = Subjects { chat: Some(ChatId(message.chat_id)), ..Default::default() };
    let payload = serde_json::json!({ "messageId": message.id, "reaction": reaction.emoji });
    events::record(&txn, EventKind::MessageReaction, subjects, payload).await?;
    txn.commit().await?;
    Ok(true)
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
        agent: chat.owner_id.map(super::ids::AgentId),
    };
    events::record(db, EventKind::ChatCompleted, subjects, serde_json::json!({ "reason": reason.as_str() }))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_only_move_forward() {
        use DeliveryStatus::*;
        assert!(moves_forward(Some(Sent), Delivered));
        assert!(moves_forward(Some(Delivered), Read));
        assert!(!moves_forward(Some(Read), Delivered), "read wins over a late delivered");
        assert!(!moves_forward(Some(Delivered), Delivered), "a repeat changes nothing");
        assert!(moves_forward(Some(Sent), Failed));
        assert!(!moves_forward(Some(Read), Failed));
        assert!(!moves_forward(Some(Failed), Read), "failed is final");
        assert!(moves_forward(Some(Pending), Sent));
    }
}
