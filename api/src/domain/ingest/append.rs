//! A message for a chat that is already open, stored in one statement on PostgreSQL.
//!
//! Most webhook messages come from customers whose chat is open. The general path
//! ([`super::try_store_message`]) spends eight round trips on them (begin; the duplicate
//! check; the identity; the open chat, locked; the message; the chat's update; the event and
//! its NOTIFY; commit), and at the limit ingestion is bound by those statements, not by the
//! work in them (docs/benchmarks.md). Here the same reads and writes are one statement of
//! data-modifying CTEs, which PostgreSQL runs as one transaction: the open chat is locked
//! (`FOR UPDATE`, as [`super::open_chat`] does, so a time limit completing it at the same
//! moment either waits for this message or makes this find no open chat), and nothing is
//! written unless the message is new and the chat open.
//!
//! Anything else — an unknown customer, no open chat, a bot chat (whose deadline comes from
//! its queue's settings), attachments — answers `None` having written nothing,
//! and the general path stores the message.

use entity::channels;
use entity::enums::{AuthorKind, DeliveryStatus, Direction};
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement};

use super::{Outcome, Stored};
use crate::channels::InboundMessage;
use crate::domain::ids::{ChatId, ContactId, MessageId, QueueId};
use crate::events::{EventKind, NOTIFY_CHANNEL};

/// Whether [`to_open_chat`] can store `message` at all: on PostgreSQL, without attachments
/// (their rows and downloads belong to the general path).
pub(super) fn applies(db: &impl ConnectionTrait, message: &InboundMessage) -> bool {
    db.get_database_backend() == DatabaseBackend::Postgres && message.attachments.is_empty()
}

/// `$1` channel, `$2` provider message id, `$3` channel kind, `$4` customer's external id,
/// `$5` direction, `$6` author kind, `$7` message kind, `$8` text, `$9` delivery status,
/// `$10` the server's clock ([`crate::clock::now`]) before the statement, `$11` whether that
/// clock runs, `$12` whether the message clears the close deadline, `$13` the event's kind,
/// `$14` the NOTIFY channel. The statuses are literals (see `domain::chats::status_in`).
///
/// The message's time is taken once the chat is locked, as the general path takes it: `$10`
/// plus the time the statement waited (on the database's clock, so the two clocks' skew never
/// enters), and never before the chat's last message (`$10` was read before the statement got
/// a connection, which may have been after a message read later got its own). So the messages
/// of one chat get their times in the order they are stored, and the chat's last message time
/// is the last one's. A frozen clock gives exactly `$10`.
const APPEND: &str = r#"
WITH duplicate AS (
    SELECT id FROM messages WHERE channel_id = $1 AND provider_message_id = $2
), chat AS (
    SELECT c.id, c.queue_id, c.owner_id, c.contact_id, c.status, c.last_message_at
    FROM contact_identities i
    JOIN chats c ON c.contact_id = i.contact_id
    WHERE i.channel_kind = $3 AND i.external_id = $4 AND c.channel_id = $1 AND c.status <> 'COMPLETED'
    ORDER BY c.id
    LIMIT 1
    FOR UPDATE OF c
), message AS (
    INSERT INTO messages (chat_id, channel_id, direction, author_kind, kind, text, provider_message_id,
                          delivery_status, created_at)
    SELECT chat.id, $1, $5::text, $6::text, $7::text, $8::text, $2, $9::text,
           CASE WHEN $11
                THEN GREATEST($10 + (clock_timestamp() - statement_timestamp()), chat.last_message_at)
                ELSE $10 END
    FROM chat
    WHERE chat.status <> 'BOT_PROCESSING' AND NOT EXISTS (SELECT 1 FROM duplicate)
    RETURNING id, chat_id, created_at
), touched AS (
    UPDATE chats
    SET last_message_at = message.created_at, updated_at = message.created_at,
        close_deadline = CASE WHEN $12 THEN NULL ELSE chats.close_deadline END
    FROM message
    WHERE chats.id = message.chat_id
    RETURNING chats.id
), event AS (
    INSERT INTO events (kind, chat_id, agent_id, queue_id, payload, created_at)
    SELECT $13::text, chat.id, chat.owner_id, chat.queue_id,
           jsonb_build_object('messageId', message.id, 'direction', $5::text, 'kind', $7::text),
           message.created_at
    FROM message JOIN chat ON chat.id = message.chat_id
    RETURNING id
)
SELECT EXISTS (SELECT 1 FROM duplicate) AS duplicate,
       message.id AS message_id, chat.id AS chat_id, chat.queue_id, chat.contact_id,
       CASE WHEN event.id IS NOT NULL THEN pg_notify($14, event.id::text) IS NULL END AS notified
FROM (VALUES (1)) AS one (x)
LEFT JOIN message ON true
LEFT JOIN chat ON true
LEFT JOIN event ON true
"#;

/// Stores `message` in its customer's open agent chat on `channel`, moving the chat's last
/// message time (and, for a customer's message, clearing its close deadline) and recording
/// MESSAGE_RECEIVED, all in one statement; what the general path would do for such a message.
/// `None`, having written nothing, when the message is for anything else. Call only where
/// [`applies`].
pub(super) async fn to_open_chat(
    db: &impl ConnectionTrait,
    channel: &channels::Model,
    message: &InboundMessage,
) -> Result<Option<Outcome>, DbErr> {
    let outgoing = message.direction == Direction::Outgoing;
    let values: [sea_orm::Value; 14] = [
        channel.id.into(),
        message.provider_message_id.clone().into(),
        channel.kind.as_str().into(),
        message.customer.external_id.clone().into(),
        message.direction.as_str().into(),
        message.author_kind.as_str().into(),
        message.kind.as_str().into(),
        message.text.clone().into(),
        outgoing.then_some(DeliveryStatus::Sent.as_str()).into(),
        crate::clock::now().into(),
        (!crate::clock::frozen()).into(),
        (message.author_kind == AuthorKind::Contact).into(),
        EventKind::MessageReceived.as_str().into(),
        NOTIFY_CHANNEL.into(),
    ];
    let statement = Statement::from_sql_and_values(DatabaseBackend::Postgres, APPEND, values);
    let row = db.query_one_raw(statement).await?.ok_or(DbErr::RecordNotFound("append".into()))?;
    if row.try_get::<bool>("", "duplicate")? {
        return Ok(Some(Outcome::Duplicate));
    }
    let Some(id) = row.try_get::<Option<i64>>("", "message_id")? else {
        return Ok(None);
    };
    Ok(Some(Outcome::Appended(Stored {
        message: MessageId(id),
        chat: ChatId(row.try_get("", "chat_id")?),
        queue: QueueId(row.try_get("", "queue_id")?),
        contact: ContactId(row.try_get("", "contact_id")?),
        new_contact: false,
        new_waiting_chat: false,
        pending_attachments: Vec::new(),
    })))
}

#[cfg(test)]
mod tests {
    use entity::enums::ChatStatus;

    use super::*;

    /// The chat statuses the statement writes as literals are the enum's stored strings.
    #[test]
    fn the_statement_names_statuses_as_stored() {
        for status in [ChatStatus::Completed, ChatStatus::BotProcessing] {
            assert!(APPEND.contains(&format!("'{}'", status.as_str())), "{status:?}");
        }
    }
}
