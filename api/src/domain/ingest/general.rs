//! The general path: one transaction that finds or creates the contact and the chat, then
//! stores the message, its attachments, the chat's timestamps and the event. Every message the
//! one-round-trip paths leave (`append.rs`, `newcomer.rs`) comes here: a known customer
//! without an open agent chat, a bot chat, attachments, a twin first message.

use chrono::Utc;
use entity::enums::{AttachmentStatus, AuthorKind, ChatStatus, DeliveryStatus, Direction};
use entity::{attachments, channels, chats, messages};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, NotSet, QueryFilter, Set};

use super::{Outcome, Similar, Stored, append, create_chat_for, find_message, newcomer, open_chat};
use crate::channels::InboundMessage;
use crate::domain::ids::{ChannelId, ChatId, ContactId, MessageId, QueueId};
use crate::events::{self, EventKind, Subjects};

/// Which one-round-trip paths [`try_store_message`] may take before its transaction.
#[derive(Clone, Copy, Debug)]
pub(super) struct Tries<'a> {
    /// The append ([`super::append`]) is still to try.
    pub appending: bool,
    /// PostgreSQL: the new customer's statement ([`super::newcomer`]) goes before the append
    /// (the customer was not seen stored here).
    pub welcoming: bool,
    /// Where tries that wrote nothing are counted.
    pub known: &'a super::KnownCustomers,
}

/// A message for an open agent chat goes in one round trip ([`super::append`]) unless
/// `tries.appending` is false (tried already), and on PostgreSQL so does a new customer's first
/// message ([`super::newcomer`]), tried first when `tries.welcoming`; otherwise one transaction
/// finds or creates the contact and chat. `searched`: the similar-contact count of the customer
/// if they are new (see [`super::similar_to_newcomer`]).
pub(super) async fn try_store_message(
    db: &DatabaseConnection,
    channel: &channels::Model,
    message: &InboundMessage,
    searched: Option<usize>,
    tries: Tries<'_>,
) -> Result<Outcome, sea_orm::DbErr> {
    let Tries { appending, welcoming, known } = tries;
    let postgres = db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    // Whether the message was found not stored yet, just now. The general path then skips its
    // own duplicate check: a twin stored since fails this transaction's insert on the unique
    // index, and the retry finds it.
    let mut known_new = false;
    if postgres && appending {
        if welcoming {
            match newcomer::in_one_statement(db, channel, message).await? {
                append::Scripted::Done(outcome) => return Ok(outcome),
                append::Scripted::New { known: true } => known.missed_welcome(),
                // The rules kept changing under it: the append, then this transaction.
                append::Scripted::New { known: false } => {}
            }
        }
        match append::in_one_statement(db, channel, message).await? {
            append::Scripted::Done(outcome) => return Ok(outcome),
            append::Scripted::New { known: customer_known } => {
                known_new = true;
                if !customer_known {
                    known.missed_append();
                }
                // Known by now, if nothing was written: a twin first message got there first.
                if !customer_known
                    && !welcoming
                    && newcomer::applies(message)
                    && let append::Scripted::Done(outcome) =
                        newcomer::in_one_statement(db, channel, message).await?
                {
                    return Ok(outcome);
                }
            }
        }
    }
    let txn = crate::db::write(db).await?;
    if !postgres && appending {
        match append::in_one_script(&txn, channel, message).await? {
            append::Scripted::Done(outcome) => {
                txn.commit().await?;
                return Ok(outcome);
            }
            append::Scripted::New { .. } => known_new = true,
        }
    }
    if !known_new && find_message(&txn, ChannelId(channel.id), &message.provider_message_id).await?.is_some()
    {
        return Ok(Outcome::Duplicate);
    }
    let (contact, new_contact) =
        crate::domain::contacts::identities::resolve(&txn, channel, &message.customer).await?;
    // A contact created in this transaction has no chats yet.
    let open = if new_contact {
        None
    } else {
        open_chat(&txn, ContactId(contact.id), ChannelId(channel.id)).await?
    };
    let (chat, new_chat) = match open {
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
        let deadline = crate::domain::chatbot::bot_deadline(&txn, chat.queue_id, now).await?;
        update = update.col_expr(chats::Column::CloseDeadline, Expr::value(Some(deadline)));
    } else if message.author_kind == AuthorKind::Contact {
        update =
            update.col_expr(chats::Column::CloseDeadline, Expr::value(Option::<chrono::DateTime<Utc>>::None));
    }
    update.exec(&txn).await?;
    let subjects = Subjects {
        chat: Some(ChatId(chat.id)),
        queue: Some(QueueId(chat.queue_id)),
        agent: chat.owner_id.map(crate::domain::ids::AgentId),
    };
    let payload = serde_json::json!({
        "messageId": stored.id,
        "direction": message.direction.as_str(),
        "kind": message.kind.as_str(),
    });
    events::record(&txn, EventKind::MessageReceived, subjects, payload).await?;
    txn.commit().await?;
    Ok(Outcome::Stored(Stored {
        message: MessageId(stored.id),
        chat: ChatId(chat.id),
        queue: QueueId(chat.queue_id),
        contact: ContactId(contact.id),
        new_contact,
        new_waiting_chat: new_chat && chat.status == ChatStatus::Waiting,
        pending_attachments: pending,
    }))
}
