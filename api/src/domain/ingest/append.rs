//! A message for a chat that is already open, stored in one round trip.
//!
//! Most webhook messages come from customers whose chat is open. The general path
//! ([`super::general::try_store_message`]) spends eight round trips on them (begin; the duplicate
//! check; the identity; the open chat, locked; the message; the chat's update; the event;
//! commit), and at the limit ingestion is bound by those round trips, not by the work in them
//! (docs/benchmarks.md): on PostgreSQL each is a statement sent and answered, on SQLite a hop
//! to the driver's worker thread and back.
//!
//! - **PostgreSQL** ([`in_one_statement`]): the same reads and writes as one statement of
//!   data-modifying CTEs, which runs as one transaction of its own: the open chat is locked
//!   (`FOR UPDATE`, as [`super::open_chat`] does, so a time limit completing it at the same
//!   moment either waits for this message or makes this find no open chat), and nothing is
//!   written unless the message is new and the chat open.
//! - **SQLite** ([`in_one_script`]): inside the general path's write transaction (which holds
//!   the database's write lock), a script of four statements the driver runs in one hop, each
//!   writing only if the one before it did.
//!
//! Anything else — an unknown customer, no open chat, a bot chat (whose deadline comes from
//! its queue's settings), attachments — writes nothing here, and the general path stores the
//! message.

use entity::channels;
use entity::enums::{AuthorKind, DeliveryStatus, Direction};
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement};

use super::{Outcome, Stored};
use crate::channels::InboundMessage;
use crate::domain::ids::{ChatId, ContactId, MessageId, QueueId};
use crate::events::{EventKind, NOTIFY_CHANNEL};

/// Whether a message may be appended here at all: one without attachments (their rows and
/// downloads belong to the general path).
pub(super) fn applies(message: &InboundMessage) -> bool {
    message.attachments.is_empty()
}

/// The first nine values of both statements (and of `newcomer.rs`'s): channel, provider message id, channel kind,
/// customer's external id, direction, author kind, message kind, text, delivery status.
pub(super) fn message_values(channel: &channels::Model, message: &InboundMessage) -> [sea_orm::Value; 9] {
    let outgoing = message.direction == Direction::Outgoing;
    [
        channel.id.into(),
        message.provider_message_id.clone().into(),
        channel.kind.as_str().into(),
        message.customer.external_id.clone().into(),
        message.direction.as_str().into(),
        message.author_kind.as_str().into(),
        message.kind.as_str().into(),
        message.text.clone().into(),
        outgoing.then_some(DeliveryStatus::Sent.as_str()).into(),
    ]
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
const POSTGRES: &str = r#"
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
), event AS (
    INSERT INTO events (kind, chat_id, agent_id, queue_id, payload, created_at)
    SELECT $13::text, chat.id, chat.owner_id, chat.queue_id,
           jsonb_build_object('messageId', message.id, 'direction', $5::text, 'kind', $7::text),
           message.created_at
    FROM message JOIN chat ON chat.id = message.chat_id
    RETURNING id
)
SELECT EXISTS (SELECT 1 FROM duplicate) AS duplicate,
       EXISTS (SELECT 1 FROM contact_identities WHERE channel_kind = $3 AND external_id = $4) AS known,
       message.id AS message_id, chat.id AS chat_id, chat.queue_id, chat.contact_id,
       CASE WHEN event.id IS NOT NULL THEN pg_notify($14, event.id::text) IS NULL END AS notified
FROM (VALUES (1)) AS one (x)
LEFT JOIN message ON true
LEFT JOIN chat ON true
LEFT JOIN event ON true
"#;

/// On PostgreSQL: stores `message` in its customer's open agent chat on `channel`, moving the
/// chat's last message time (and, for a customer's message, clearing its close deadline) and
/// recording MESSAGE_RECEIVED, all in one statement; what the general path would do for such
/// a message. [`Scripted::New`], having written nothing, when the message is for anything
/// else. Call only where [`applies`].
pub(super) async fn in_one_statement(
    db: &impl ConnectionTrait,
    channel: &channels::Model,
    message: &InboundMessage,
) -> Result<Scripted, DbErr> {
    let values = message_values(channel, message).into_iter().chain([
        crate::clock::now().into(),
        (!crate::clock::frozen()).into(),
        (message.author_kind == AuthorKind::Contact).into(),
        EventKind::MessageReceived.as_str().into(),
        NOTIFY_CHANNEL.into(),
    ]);
    let statement = Statement::from_sql_and_values(DatabaseBackend::Postgres, POSTGRES, values);
    let row = db.query_one_raw(statement).await?.ok_or(DbErr::RecordNotFound("append".into()))?;
    if row.try_get::<bool>("", "duplicate")? {
        return Ok(Scripted::Done(Outcome::Duplicate));
    }
    match row.try_get::<Option<i64>>("", "message_id")? {
        Some(id) => appended(&row, id).map(Scripted::Done),
        None => Ok(Scripted::New { known: row.try_get("", "known")? }),
    }
}

/// The message appended, from the answer's `chat_id`, `queue_id` and `contact_id`.
fn appended(row: &sea_orm::QueryResult, message: i64) -> Result<Outcome, DbErr> {
    Ok(Outcome::Appended(Stored {
        message: MessageId(message),
        chat: ChatId(row.try_get("", "chat_id")?),
        queue: QueueId(row.try_get("", "queue_id")?),
        contact: ContactId(row.try_get("", "contact_id")?),
        new_contact: false,
        new_waiting_chat: false,
        pending_attachments: Vec::new(),
    }))
}

/// `?1` channel, `?2` provider message id, `?3` channel kind, `?4` customer's external id,
/// `?5` direction, `?6` author kind, `?7` message kind, `?8` text, `?9` delivery status,
/// `?10` now (read inside the write transaction, so after any earlier message of the chat).
///
/// Each statement writes only if the one before it changed a row (`changes()`), and finds
/// the message through `last_insert_rowid()` (an UPDATE leaves it alone): the message if new
/// and for an open agent chat, then its chat, then its event; the last statement answers.
/// Numbered parameters bind by number in every statement of a script, but a statement must
/// use each number up to its highest (sqlx counts the gaps), hence `?1`–`?10` in the first
/// and `?1`–`?2` or `?1`–`?4` in the others. The kinds and statuses are literals.
const SQLITE: &str = r#"
INSERT INTO messages (chat_id, channel_id, direction, author_kind, kind, text, provider_message_id,
                      delivery_status, created_at)
SELECT chat.id, ?1, ?5, ?6, ?7, ?8, ?2, ?9, ?10
FROM (
    SELECT c.id, c.status
    FROM contact_identities i
    JOIN chats c ON c.contact_id = i.contact_id
    WHERE i.channel_kind = ?3 AND i.external_id = ?4 AND c.channel_id = ?1 AND c.status <> 'COMPLETED'
    ORDER BY c.id
    LIMIT 1
) AS chat
WHERE chat.status <> 'BOT_PROCESSING'
  AND NOT EXISTS (SELECT 1 FROM messages WHERE channel_id = ?1 AND provider_message_id = ?2);
UPDATE chats
SET last_message_at = m.created_at, updated_at = m.created_at,
    close_deadline = CASE WHEN m.author_kind = 'CONTACT' THEN NULL ELSE chats.close_deadline END
FROM (
    SELECT chat_id, created_at, author_kind FROM messages
    WHERE id = last_insert_rowid() AND channel_id = ?1 AND provider_message_id = ?2
) AS m
WHERE changes() = 1 AND chats.id = m.chat_id;
INSERT INTO events (kind, chat_id, agent_id, queue_id, payload, created_at)
SELECT 'MESSAGE_RECEIVED', c.id, c.owner_id, c.queue_id,
       json_object('messageId', m.id, 'direction', m.direction, 'kind', m.kind), m.created_at
FROM messages m JOIN chats c ON c.id = m.chat_id
WHERE changes() = 1 AND m.id = last_insert_rowid() AND m.channel_id = ?1 AND m.provider_message_id = ?2;
SELECT changes() = 1 AS appended, m.id AS message_id, m.chat_id, c.queue_id, c.contact_id,
       EXISTS (SELECT 1 FROM contact_identities WHERE channel_kind = ?3 AND external_id = ?4) AS known
FROM (SELECT 1) AS one
LEFT JOIN messages m ON m.channel_id = ?1 AND m.provider_message_id = ?2
LEFT JOIN chats c ON c.id = m.chat_id
"#;

/// What a message's script or statement ([`in_one_script`], [`in_one_statement`], and their
/// counterparts for newcomers in `newcomer.rs`) found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Scripted {
    /// Stored, or stored before.
    Done(Outcome),
    /// Not stored before, and written nothing: the general path stores it without checking
    /// for a duplicate again. `known`: whether the customer's identity existed.
    New {
        /// The customer's identity existed.
        known: bool,
    },
}

/// On SQLite, inside `txn` (the general path's write transaction): what [`in_one_statement`]
/// does on PostgreSQL, in one hop to the driver's worker thread. Call only where [`applies`].
pub(super) async fn in_one_script(
    txn: &impl ConnectionTrait,
    channel: &channels::Model,
    message: &InboundMessage,
) -> Result<Scripted, DbErr> {
    let values = message_values(channel, message).into_iter().chain([crate::clock::now().into()]);
    let statement = Statement::from_sql_and_values(DatabaseBackend::Sqlite, SQLITE, values);
    let rows = txn.query_all_raw(statement).await?;
    let row = rows.last().ok_or(DbErr::RecordNotFound("append".into()))?;
    match (row.try_get::<bool>("", "appended")?, row.try_get::<Option<i64>>("", "message_id")?) {
        (true, Some(id)) => appended(row, id).map(Scripted::Done),
        (false, Some(_)) => Ok(Scripted::Done(Outcome::Duplicate)),
        (_, None) => Ok(Scripted::New { known: row.try_get("", "known")? }),
    }
}

#[cfg(test)]
mod tests {
    use entity::enums::ChatStatus;

    use super::*;

    /// The statuses and kinds the statements write as literals are the enums' stored strings.
    #[test]
    fn the_statements_name_statuses_and_kinds_as_stored() {
        for statement in [POSTGRES, SQLITE] {
            for status in [ChatStatus::Completed, ChatStatus::BotProcessing] {
                assert!(statement.contains(&format!("'{}'", status.as_str())), "{status:?}");
            }
        }
        assert!(SQLITE.contains(&format!("'{}'", EventKind::MessageReceived.as_str())));
        assert!(SQLITE.contains(&format!("= '{}'", AuthorKind::Contact.as_str())));
    }

    /// Every statement of the SQLite script uses each parameter number up to its highest: sqlx
    /// counts a gap as a positional parameter and stops binding past the values given.
    #[test]
    fn the_script_numbers_its_parameters_without_gaps() {
        for statement in SQLITE.split(';') {
            let used: std::collections::BTreeSet<usize> = statement
                .split('?')
                .skip(1)
                .map(|rest| {
                    rest.chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
                })
                .collect();
            let highest = used.iter().max().copied().unwrap_or(0);
            assert_eq!(used, (1..=highest).collect(), "{statement}");
        }
    }
}
