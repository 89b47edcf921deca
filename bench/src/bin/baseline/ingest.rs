//! Ingestion's physical-limit baseline (issue 15, item 4): a signed WhatsApp text message
//! through a minimal handler. The signature is checked (HMAC-SHA256 of the body with the
//! channel's app secret), the JSON parsed by serde into the few fields used, and the rows the
//! server writes for such a message are written in one statement (PostgreSQL, prepared once
//! per connection) or one transaction (SQLite):
//!
//! - `POST /webhooks/new`: a new customer — contact, identity, keys (the name, its words, the
//!   phone), a WAITING chat in the channel's queue, the message, CHAT_CREATED and
//!   MESSAGE_RECEIVED.
//! - `POST /webhooks/existing`: a returning customer — the message appended to their open chat
//!   (locked), the chat's last message time, MESSAGE_RECEIVED.
//!
//! Left out, which the server does: the similar-contact search, routing the new chat, the
//! NOTIFY that tells other instances, telling a new customer from a returning one (each route
//! knows which it gets), redeliveries (the unique index refuses a twin: 500 here), the other
//! providers and event kinds.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::{Db, Failure, Shared};

/// A new customer's rows: `$1` name, `$2` phone, `$3` now, `$4` WhatsApp id, `$5` key fields,
/// `$6` key values, `$7` channel, `$8` queue, `$9` text, `$10` provider message id.
pub const NEW_POSTGRES: &str = r#"
WITH contact AS (
    INSERT INTO contacts (name, mobile_phone, created_at, updated_at, keys_version)
    VALUES ($1, $2, $3, $3, 1) RETURNING id
), identity AS (
    INSERT INTO contact_identities (contact_id, channel_kind, external_id, created_at)
    SELECT id, 'WHATSAPP', $4, $3 FROM contact
), contact_keys AS (
    INSERT INTO contact_keys (field, value, contact_id)
    SELECT k.field, k.value, contact.id FROM contact, unnest($5::text[], $6::text[]) AS k (field, value)
), chat AS (
    INSERT INTO chats (contact_id, channel_id, queue_id, status, created_at, updated_at, queued_at, last_message_at)
    SELECT id, $7, $8, 'WAITING', $3, $3, $3, $3 FROM contact RETURNING id, queue_id, contact_id
), message AS (
    INSERT INTO messages (chat_id, channel_id, direction, author_kind, kind, text, provider_message_id, created_at)
    SELECT id, $7, 'INCOMING', 'CONTACT', 'TEXT', $9, $10, $3 FROM chat RETURNING id
)
INSERT INTO events (kind, chat_id, queue_id, payload, created_at)
SELECT e.kind, chat.id, chat.queue_id, e.payload, $3
FROM chat, message, LATERAL (VALUES
    (1, 'CHAT_CREATED', jsonb_build_object('status', 'WAITING', 'contactId', chat.contact_id)),
    (2, 'MESSAGE_RECEIVED', jsonb_build_object('messageId', message.id, 'direction', 'INCOMING', 'kind', 'TEXT'))
) AS e (n, kind, payload)
ORDER BY e.n
"#;

/// A returning customer's message: `$1` WhatsApp id, `$2` channel, `$3` text, `$4` provider
/// message id, `$5` now. Answers the message's id (no row: no open chat).
pub const EXISTING_POSTGRES: &str = r#"
WITH chat AS (
    SELECT c.id, c.queue_id, c.owner_id
    FROM contact_identities i JOIN chats c ON c.contact_id = i.contact_id
    WHERE i.channel_kind = 'WHATSAPP' AND i.external_id = $1 AND c.channel_id = $2 AND c.status <> 'COMPLETED'
    LIMIT 1
    FOR UPDATE OF c
), message AS (
    INSERT INTO messages (chat_id, channel_id, direction, author_kind, kind, text, provider_message_id, created_at)
    SELECT id, $2, 'INCOMING', 'CONTACT', 'TEXT', $3, $4, $5 FROM chat RETURNING id, chat_id
), touched AS (
    UPDATE chats SET last_message_at = $5, updated_at = $5, close_deadline = NULL
    FROM message WHERE chats.id = message.chat_id
), event AS (
    INSERT INTO events (kind, chat_id, agent_id, queue_id, payload, created_at)
    SELECT 'MESSAGE_RECEIVED', chat.id, chat.owner_id, chat.queue_id,
           jsonb_build_object('messageId', message.id, 'direction', 'INCOMING', 'kind', 'TEXT'), $5
    FROM message JOIN chat ON chat.id = message.chat_id
)
SELECT id FROM message
"#;

/// The same writes on SQLite, statement by statement in one transaction. A new customer:
/// `?1` name, `?2` phone, `?3` now (then the identity, keys, chat, message and events below).
const NEW_SQLITE_CONTACT: &str = "INSERT INTO contacts (name, mobile_phone, created_at, updated_at, keys_version) VALUES (?1, ?2, ?3, ?3, 1)";
/// `?1` contact, `?2` WhatsApp id, `?3` now.
const NEW_SQLITE_IDENTITY: &str = "INSERT INTO contact_identities (contact_id, channel_kind, external_id, created_at) VALUES (?1, 'WHATSAPP', ?2, ?3)";
/// `?1` field, `?2` value, `?3` contact.
const NEW_SQLITE_KEY: &str = "INSERT INTO contact_keys (field, value, contact_id) VALUES (?1, ?2, ?3)";
/// `?1` contact, `?2` channel, `?3` queue, `?4` now.
const NEW_SQLITE_CHAT: &str = "INSERT INTO chats (contact_id, channel_id, queue_id, status, created_at, updated_at, \
     queued_at, last_message_at) VALUES (?1, ?2, ?3, 'WAITING', ?4, ?4, ?4, ?4)";
/// `?1` chat, `?2` channel, `?3` text, `?4` provider message id, `?5` now.
const SQLITE_MESSAGE: &str = "INSERT INTO messages (chat_id, channel_id, direction, author_kind, kind, text, \
     provider_message_id, created_at) VALUES (?1, ?2, 'INCOMING', 'CONTACT', 'TEXT', ?3, ?4, ?5)";
/// `?1` kind, `?2` chat, `?3` agent, `?4` queue, `?5` payload, `?6` now.
const SQLITE_EVENT: &str = "INSERT INTO events (kind, chat_id, agent_id, queue_id, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
/// A returning customer's open chat: `?1` WhatsApp id, `?2` channel.
const SQLITE_OPEN_CHAT: &str = "SELECT c.id, c.queue_id, c.owner_id FROM contact_identities i \
     JOIN chats c ON c.contact_id = i.contact_id \
     WHERE i.channel_kind = 'WHATSAPP' AND i.external_id = ?1 AND c.channel_id = ?2 AND c.status <> 'COMPLETED' LIMIT 1";
/// `?1` now, `?2` chat.
const SQLITE_TOUCH: &str =
    "UPDATE chats SET last_message_at = ?1, updated_at = ?1, close_deadline = NULL WHERE id = ?2";

/// SQLite transactions take the write lock at once, as the server's do: one that reads first
/// and writes later fails (busy) when another process wrote in between.
const BEGIN_IMMEDIATE: &str = "BEGIN IMMEDIATE";

/// The channel the messages arrive on.
#[derive(Clone, Debug)]
pub struct Channel {
    /// Its row id.
    pub id: i64,
    /// Its queue.
    pub queue: i64,
    /// The app secret webhooks are signed with.
    pub secret: String,
}

/// What a WhatsApp webhook carries that the baseline uses.
#[derive(Deserialize)]
struct Webhook {
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    value: Value,
}

#[derive(Deserialize)]
struct Value {
    #[serde(default)]
    contacts: Vec<Contact>,
    #[serde(default)]
    messages: Vec<Message>,
}

#[derive(Deserialize)]
struct Contact {
    profile: Profile,
    wa_id: String,
}

#[derive(Deserialize)]
struct Profile {
    name: String,
}

#[derive(Deserialize)]
struct Message {
    id: String,
    text: Option<Text>,
}

#[derive(Deserialize)]
struct Text {
    body: String,
}

/// One inbound text message.
struct Inbound {
    name: String,
    wa_id: String,
    id: String,
    text: String,
}

/// Whether `signature` (`sha256=<hex>`) is the HMAC-SHA256 of `body` with `secret`.
fn signed(secret: &str, body: &[u8], signature: Option<&str>) -> bool {
    let Some(hex) = signature.and_then(|s| s.strip_prefix("sha256=")) else { return false };
    let Ok(expected) = hex::decode(hex) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return false };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The first message of a webhook, with its sender.
fn inbound(body: &[u8]) -> Option<Inbound> {
    let webhook: Webhook = serde_json::from_slice(body).ok()?;
    let mut value = webhook.entry.into_iter().next()?.changes.into_iter().next()?.value;
    let contact = value.contacts.pop()?;
    let message = value.messages.pop()?;
    Some(Inbound {
        name: contact.profile.name,
        wa_id: contact.wa_id,
        id: message.id,
        text: message.text.map(|t| t.body).unwrap_or_default(),
    })
}

/// A contact's keys: the name with its words sorted, each word, the phone.
fn keys(name: &str, phone: &str) -> (Vec<String>, Vec<String>) {
    let mut words: Vec<String> = name.split_whitespace().map(str::to_lowercase).collect();
    words.sort();
    words.dedup();
    let mut fields = vec!["NAME".to_owned()];
    let mut values = vec![words.join(" ")];
    for word in words {
        fields.push("NAME_WORD".to_owned());
        values.push(word);
    }
    fields.push("MOBILE_PHONE".to_owned());
    values.push(phone.to_owned());
    (fields, values)
}

/// `POST /webhooks/{new|existing}`.
pub async fn receive(
    State(shared): State<Shared>,
    Path(scenario): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let Some(channel) = &shared.channel else {
        return Ok((StatusCode::NOT_FOUND, "no channel given").into_response());
    };
    let signature = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok());
    if !signed(&channel.secret, &body, signature) {
        return Ok((StatusCode::UNAUTHORIZED, "bad signature").into_response());
    }
    let Some(message) = inbound(&body) else {
        return Ok((StatusCode::BAD_REQUEST, "not a text message").into_response());
    };
    let now = Utc::now();
    let stored = match scenario.as_str() {
        "new" => store_new(&shared.db, channel, &message, now).await?,
        "existing" => store_existing(&shared.db, channel, &message, now).await?,
        _ => return Ok(StatusCode::NOT_FOUND.into_response()),
    };
    Ok(if stored {
        (StatusCode::OK, "EVENT_RECEIVED").into_response()
    } else {
        StatusCode::CONFLICT.into_response()
    })
}

/// A new customer's rows; true when written.
async fn store_new(db: &Db, channel: &Channel, m: &Inbound, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let phone = format!("+{}", m.wa_id);
    let (fields, values) = keys(&m.name, &phone);
    match db {
        Db::Postgres { conns, next } => {
            let conn = &conns[next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % conns.len()];
            let written = conn
                .client
                .execute(
                    &conn.new_customer,
                    &[
                        &m.name,
                        &phone,
                        &now,
                        &m.wa_id,
                        &fields,
                        &values,
                        &channel.id,
                        &channel.queue,
                        &m.text,
                        &m.id,
                    ],
                )
                .await?;
            Ok(written == 2)
        }
        Db::Sqlite(pool) => {
            let mut txn = pool.begin_with(BEGIN_IMMEDIATE).await?;
            let contact = sqlx::query(NEW_SQLITE_CONTACT)
                .bind(&m.name)
                .bind(&phone)
                .bind(now)
                .execute(&mut *txn)
                .await?
                .last_insert_rowid();
            sqlx::query(NEW_SQLITE_IDENTITY)
                .bind(contact)
                .bind(&m.wa_id)
                .bind(now)
                .execute(&mut *txn)
                .await?;
            for (field, value) in fields.iter().zip(&values) {
                sqlx::query(NEW_SQLITE_KEY).bind(field).bind(value).bind(contact).execute(&mut *txn).await?;
            }
            let chat = sqlx::query(NEW_SQLITE_CHAT)
                .bind(contact)
                .bind(channel.id)
                .bind(channel.queue)
                .bind(now)
                .execute(&mut *txn)
                .await?
                .last_insert_rowid();
            let message = insert_message(&mut txn, chat, channel, m, now).await?;
            let created = serde_json::json!({ "status": "WAITING", "contactId": contact }).to_string();
            insert_event(&mut txn, "CHAT_CREATED", chat, None, channel.queue, created, now).await?;
            let received = received(message);
            insert_event(&mut txn, "MESSAGE_RECEIVED", chat, None, channel.queue, received, now).await?;
            txn.commit().await?;
            Ok(true)
        }
    }
}

/// A returning customer's message; true when their open chat was found.
async fn store_existing(db: &Db, channel: &Channel, m: &Inbound, now: DateTime<Utc>) -> anyhow::Result<bool> {
    match db {
        Db::Postgres { conns, next } => {
            let conn = &conns[next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % conns.len()];
            let row = conn
                .client
                .query_opt(&conn.returning, &[&m.wa_id, &channel.id, &m.text, &m.id, &now])
                .await?;
            Ok(row.is_some())
        }
        Db::Sqlite(pool) => {
            let mut txn = pool.begin_with(BEGIN_IMMEDIATE).await?;
            let chat: Option<(i64, i64, Option<i64>)> = sqlx::query_as(SQLITE_OPEN_CHAT)
                .bind(&m.wa_id)
                .bind(channel.id)
                .fetch_optional(&mut *txn)
                .await?;
            let Some((chat, queue, owner)) = chat else { return Ok(false) };
            let message = insert_message(&mut txn, chat, channel, m, now).await?;
            sqlx::query(SQLITE_TOUCH).bind(now).bind(chat).execute(&mut *txn).await?;
            insert_event(&mut txn, "MESSAGE_RECEIVED", chat, owner, queue, received(message), now).await?;
            txn.commit().await?;
            Ok(true)
        }
    }
}

/// MESSAGE_RECEIVED's payload.
fn received(message: i64) -> String {
    serde_json::json!({ "messageId": message, "direction": "INCOMING", "kind": "TEXT" }).to_string()
}

type Txn<'a> = sqlx::Transaction<'a, sqlx::Sqlite>;

async fn insert_message(
    txn: &mut Txn<'_>,
    chat: i64,
    channel: &Channel,
    m: &Inbound,
    now: DateTime<Utc>,
) -> anyhow::Result<i64> {
    let done = sqlx::query(SQLITE_MESSAGE)
        .bind(chat)
        .bind(channel.id)
        .bind(&m.text)
        .bind(&m.id)
        .bind(now)
        .execute(&mut **txn)
        .await?;
    Ok(done.last_insert_rowid())
}

async fn insert_event(
    txn: &mut Txn<'_>,
    kind: &str,
    chat: i64,
    agent: Option<i64>,
    queue: i64,
    payload: String,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(SQLITE_EVENT)
        .bind(kind)
        .bind(chat)
        .bind(agent)
        .bind(queue)
        .bind(payload)
        .bind(now)
        .execute(&mut **txn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_body_is_recognised() {
        let body = b"{}";
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s").unwrap();
        mac.update(body);
        let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert!(signed("s", body, Some(&good)));
        assert!(!signed("other", body, Some(&good)));
        assert!(!signed("s", body, None));
    }

    #[test]
    fn keys_cover_the_name_its_words_and_the_phone() {
        let (fields, values) = keys("New Customer 7", "+1555");
        assert_eq!(fields, ["NAME", "NAME_WORD", "NAME_WORD", "NAME_WORD", "MOBILE_PHONE"]);
        assert_eq!(values, ["7 customer new", "7", "customer", "new", "+1555"]);
    }
}
