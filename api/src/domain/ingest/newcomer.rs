//! A new customer's first message, stored in one round trip.
//!
//! The general path ([`super::general::try_store_message`]) spends some fifteen round trips on a
//! customer Switchboard does not know yet: begin; the identity looked up; the contact, its
//! keys and its identity inserted; the similar-contact search; the chat; CHAT_CREATED; the
//! message; the chat's last message time; MESSAGE_RECEIVED; commit. At the limit those round
//! trips, not the work in them, bound ingestion (docs/benchmarks.md), as they did for
//! returning customers before [`super::append`].
//!
//! Here the similar-contact search runs first, outside any transaction (a newcomer has no
//! "not duplicates" marks to look at, and the contact it would find itself is not stored yet),
//! and then every row goes in at once:
//! - **PostgreSQL** ([`in_one_statement`]): one statement of data-modifying CTEs, its own
//!   transaction.
//! - **SQLite** ([`in_one_script`]): a script of statements the driver runs in one hop, inside
//!   the write transaction of the batch it joined ([`super::Batcher`]).
//!
//! Both write nothing when the customer's identity exists by then (a twin first message got
//! there first, or a customer this instance had not seen stored, see [`super::known`]) or the
//! message is stored already; the caller then tries the append, then the general path.
//! A message from a customer who is new and writes through a chatbot's thread (a bot chat,
//! whose deadline comes from its queue's settings) or with attachments takes the general path.

use entity::{channels, contacts};
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement};

use super::append::{self, Scripted};
use super::{Outcome, Stored};
use crate::channels::InboundMessage;
use crate::domain::contacts::{identities, keys, rules_cache, similar};
use crate::domain::ids::{ChatId, ContactId, MessageId, QueueId};
use crate::events::NOTIFY_CHANNEL;

/// Whether a new customer's message may be stored here: one without attachments, for an agent
/// chat (not on a chatbot's thread).
pub(super) fn applies(message: &InboundMessage) -> bool {
    message.attachments.is_empty() && !message.standby
}

/// A customer Switchboard does not know yet, ready to be stored: the contact their first
/// message creates, its keys, and how many similar contacts the rules found for it (SQLite;
/// PostgreSQL counts them in the statement that stores them).
#[derive(Clone, Debug)]
pub(super) struct Newcomer {
    contact: contacts::Model,
    /// The contact's keys.
    keys: keys::Keys,
    /// The same keys, a JSON array of `[field, value]` pairs.
    keys_json: String,
    similar: usize,
}

impl Newcomer {
    /// The newcomer writing `message` on `channel`, with the similar-contact search run on
    /// `reads` (read-only connections on SQLite; the pool itself on PostgreSQL).
    pub(super) async fn search(
        reads: &impl ConnectionTrait,
        channel: &channels::Model,
        message: &InboundMessage,
    ) -> Result<Self, DbErr> {
        let mut newcomer = Self::of(channel, message)?;
        newcomer.similar = similar::find_for_newcomer(reads, &newcomer.contact, similar::LIMIT).await?.len();
        Ok(newcomer)
    }

    /// The newcomer writing `message` on `channel`, not searched (PostgreSQL's statement
    /// counts their similar contacts itself).
    fn of(channel: &channels::Model, message: &InboundMessage) -> Result<Self, DbErr> {
        let contact = identities::new_contact(channel, &message.customer);
        let keys = keys::of(&contact);
        let pairs: Vec<[&str; 2]> =
            keys.iter().map(|(field, value)| [field.as_str(), value.as_str()]).collect();
        let keys_json = serde_json::to_string(&pairs).map_err(|err| DbErr::Custom(err.to_string()))?;
        Ok(Self { contact, keys, keys_json, similar: 0 })
    }

    /// How many similar contacts the search found.
    pub(super) fn similar(&self) -> usize {
        self.similar
    }
}

/// The values of both statements, in order: `1`–`9` those of [`super::append`]'s statements
/// (channel, provider message id, channel kind, customer's external id, direction, author
/// kind, message kind, text, delivery status), `10` now, `11` the channel's queue, `12` the
/// contact's keys (JSON), `13` `similar` (SQLite: the similar contacts found; PostgreSQL: the
/// version of the duplicate rules its statement counts them by), `14` name, `15` photo, `16`
/// e-mail, `17` mobile phone, `18` business phone, `19` home phone, `20` job title, `21` keys
/// version.
fn values(
    channel: &channels::Model,
    message: &InboundMessage,
    newcomer: &Newcomer,
    similar: sea_orm::Value,
) -> Vec<sea_orm::Value> {
    let contact = &newcomer.contact;
    append::message_values(channel, message)
        .into_iter()
        .chain([
            contact.created_at.into(),
            channel.queue_id.into(),
            newcomer.keys_json.clone().into(),
            similar,
            contact.name.clone().into(),
            contact.photo_url.clone().into(),
            contact.email.clone().into(),
            contact.mobile_phone.clone().into(),
            contact.business_phone.clone().into(),
            contact.home_phone.clone().into(),
            contact.job_title.clone().into(),
            contact.keys_version.into(),
        ])
        .collect()
}

/// With [`values`] as `$1`–`$21` (but `$13`: the version of the duplicate rules the count was
/// built from), `$22` the NOTIFY channel, and from `$23` the values of the similar-contact
/// count, which stands in for `{SIMILAR}` (see [`similar::newcomer_count_postgres`]). Nothing
/// is written when the identity exists, the message is stored, or the rules stored are no
/// longer those the count was built from (the answer's `rules_version` says which are): the
/// contact's insert selects no row, and every other insert selects from the one before it.
/// The two events go in one insert, CHAT_CREATED first (subscribers see them in id order). The
/// statuses and kinds are literals. No CTE is named after a table: the count reads the tables.
const POSTGRES: &str = r#"
WITH contact AS (
    INSERT INTO contacts (name, photo_url, email, mobile_phone, business_phone, home_phone, job_title,
                          created_at, updated_at, keys_version)
    SELECT $14, $15, $16, $17, $18, $19, $20, $10, $10, $21
    WHERE NOT EXISTS (SELECT 1 FROM contact_identities WHERE channel_kind = $3 AND external_id = $4)
      AND NOT EXISTS (SELECT 1 FROM messages WHERE channel_id = $1 AND provider_message_id = $2)
      AND (SELECT version FROM duplicate_rules_version) = $13::text
    RETURNING id
), identity AS (
    INSERT INTO contact_identities (contact_id, channel_kind, external_id, created_at)
    SELECT id, $3, $4, $10 FROM contact
), new_keys AS (
    INSERT INTO contact_keys (field, value, contact_id)
    SELECT pair ->> 0, pair ->> 1, contact.id FROM contact, jsonb_array_elements($12::jsonb) AS k (pair)
), chat AS (
    INSERT INTO chats (contact_id, channel_id, queue_id, status, created_at, updated_at, queued_at,
                       last_message_at)
    SELECT id, $1, $11, 'WAITING', $10, $10, $10, $10 FROM contact
    RETURNING id, queue_id, contact_id
), message AS (
    INSERT INTO messages (chat_id, channel_id, direction, author_kind, kind, text, provider_message_id,
                          delivery_status, created_at)
    SELECT id, $1, $5::text, $6::text, $7::text, $8::text, $2, $9::text, $10 FROM chat
    RETURNING id
), event AS (
    INSERT INTO events (kind, chat_id, queue_id, payload, created_at)
    SELECT e.kind, chat.id, chat.queue_id, e.payload, $10
    FROM chat, message, LATERAL (VALUES
        (1, 'CHAT_CREATED', jsonb_build_object('status', 'WAITING', 'contactId', chat.contact_id,
                                               'parentChatId', NULL, 'similarContacts', {SIMILAR})),
        (2, 'MESSAGE_RECEIVED', jsonb_build_object('messageId', message.id, 'direction', $5::text,
                                                   'kind', $7::text))
    ) AS e (n, kind, payload)
    ORDER BY e.n
    RETURNING id
)
SELECT EXISTS (SELECT 1 FROM messages WHERE channel_id = $1 AND provider_message_id = $2) AS duplicate,
       message.id AS message_id, chat.id AS chat_id, chat.queue_id, chat.contact_id,
       (SELECT pg_notify($22, max(id)::text) IS NULL FROM event) AS notified,
       (SELECT version FROM duplicate_rules_version) AS rules_version
FROM (VALUES (1)) AS one (x)
LEFT JOIN chat ON true
LEFT JOIN message ON true
"#;

/// Statements tried with rules read again after the stored ones changed under the previous
/// try, before the general path takes the message (it searches in its own transaction).
const ATTEMPTS: usize = 3;

/// On PostgreSQL: stores the customer writing `message` as a newcomer (not searched: the
/// statement counts their similar contacts itself), their chat (WAITING, in the channel's
/// queue) and `message`, with CHAT_CREATED and MESSAGE_RECEIVED, in one statement. The count
/// is built from the remembered duplicate rules and written only if they are still the stored
/// ones; otherwise the rules are read again and the statement tried again. Call only where
/// [`applies`].
pub(super) async fn in_one_statement(
    db: &impl ConnectionTrait,
    channel: &channels::Model,
    message: &InboundMessage,
) -> Result<Scripted, DbErr> {
    let newcomer = &Newcomer::of(channel, message)?;
    let mut rules = match rules_cache::remembered() {
        Some(rules) => rules,
        None => rules_cache::read(db, None).await?,
    };
    for _ in 0..ATTEMPTS {
        let mut values = values(channel, message, newcomer, rules.version.clone().into());
        values.push(NOTIFY_CHANNEL.into());
        let count = similar::newcomer_count_postgres(
            &newcomer.contact,
            &newcomer.keys,
            &rules.rules,
            values.len() + 1,
        );
        let sql = match count {
            Some((count, count_values)) => {
                values.extend(count_values);
                POSTGRES.replace("{SIMILAR}", &format!("COALESCE(({count}), 0)"))
            }
            None => POSTGRES.replace("{SIMILAR}", "0"),
        };
        let statement = Statement::from_sql_and_values(DatabaseBackend::Postgres, sql, values);
        let row = db.query_one_raw(statement).await?.ok_or(DbErr::RecordNotFound("newcomer".into()))?;
        let stored: String = row.try_get("", "rules_version")?;
        if stored == rules.version {
            rules_cache::remember(rules);
            return answer(&row, row.try_get::<Option<i64>>("", "message_id")?.is_some());
        }
        if row.try_get::<bool>("", "duplicate")? {
            return Ok(Scripted::Done(Outcome::Duplicate));
        }
        // The rules changed since they were read: read them under the version this saw.
        rules = rules_cache::read(db, Some(stored)).await?;
    }
    Ok(Scripted::New { known: false })
}

/// What the answer row says: welcomed (`created`), stored before, or neither (the customer
/// is known by now: nothing written).
fn answer(row: &sea_orm::QueryResult, created: bool) -> Result<Scripted, DbErr> {
    if created {
        let message = row.try_get::<i64>("", "message_id")?;
        return Ok(Scripted::Done(Outcome::Created(Stored {
            message: MessageId(message),
            chat: ChatId(row.try_get("", "chat_id")?),
            queue: QueueId(row.try_get("", "queue_id")?),
            contact: ContactId(row.try_get("", "contact_id")?),
            new_contact: true,
            new_waiting_chat: true,
            pending_attachments: Vec::new(),
        })));
    }
    if row.try_get::<bool>("", "duplicate")? {
        return Ok(Scripted::Done(Outcome::Duplicate));
    }
    Ok(Scripted::New { known: true })
}

/// The values of [`values`] named, put at the head of every statement of the SQLite script:
/// sqlx binds a script's numbered parameters in every statement, but a statement must use
/// each number up to its highest (it counts the gaps), so each uses all of them, here.
const SQLITE_VALUES: &str = "WITH v AS (SELECT ?1 AS channel_id, ?2 AS provider_message_id, \
     ?3 AS channel_kind, ?4 AS external_id, ?5 AS direction, ?6 AS author_kind, ?7 AS kind, \
     ?8 AS text, ?9 AS delivery_status, ?10 AS now, ?11 AS queue_id, ?12 AS keys, \
     ?13 AS similar, ?14 AS name, ?15 AS photo_url, ?16 AS email, ?17 AS mobile_phone, \
     ?18 AS business_phone, ?19 AS home_phone, ?20 AS job_title, ?21 AS keys_version)";

/// The statements of the SQLite script after [`SQLITE_VALUES`]. Each writes only if the one
/// before it wrote (`changes()`, the rows of the last statement completed), finding that row
/// through `last_insert_rowid()` while one row goes in, through the message's unique
/// provider id after: the contact (unless the identity exists or the message is stored), its
/// identity, the chat, the message, both events (CHAT_CREATED first). The answer comes next
/// (a `SELECT` leaves `changes()` alone: 2 after the events), then the keys, whose count
/// varies.
const SQLITE: [&str; 7] = [
    r#"INSERT INTO contacts (name, photo_url, email, mobile_phone, business_phone, home_phone, job_title,
                          created_at, updated_at, keys_version)
SELECT name, photo_url, email, mobile_phone, business_phone, home_phone, job_title, now, now, keys_version
FROM v
WHERE NOT EXISTS (SELECT 1 FROM contact_identities i
                  WHERE i.channel_kind = v.channel_kind AND i.external_id = v.external_id)
  AND NOT EXISTS (SELECT 1 FROM messages m
                  WHERE m.channel_id = v.channel_id AND m.provider_message_id = v.provider_message_id)"#,
    r#"INSERT INTO contact_identities (contact_id, channel_kind, external_id, created_at)
SELECT last_insert_rowid(), channel_kind, external_id, now FROM v WHERE changes() = 1"#,
    r#"INSERT INTO chats (contact_id, channel_id, queue_id, status, created_at, updated_at, queued_at,
                       last_message_at)
SELECT i.contact_id, v.channel_id, v.queue_id, 'WAITING', v.now, v.now, v.now, v.now
FROM v JOIN contact_identities i ON i.id = last_insert_rowid()
WHERE changes() = 1"#,
    r#"INSERT INTO messages (chat_id, channel_id, direction, author_kind, kind, text, provider_message_id,
                          delivery_status, created_at)
SELECT last_insert_rowid(), channel_id, direction, author_kind, kind, text, provider_message_id,
       delivery_status, now
FROM v WHERE changes() = 1"#,
    r#"INSERT INTO events (kind, chat_id, queue_id, payload, created_at)
SELECT k.kind, c.id, c.queue_id,
       CASE k.n
           WHEN 1 THEN json_object('status', 'WAITING', 'contactId', c.contact_id, 'parentChatId', NULL,
                                   'similarContacts', v.similar)
           ELSE json_object('messageId', m.id, 'direction', m.direction, 'kind', m.kind)
       END,
       v.now
FROM v
JOIN messages m ON m.channel_id = v.channel_id AND m.provider_message_id = v.provider_message_id
JOIN chats c ON c.id = m.chat_id
JOIN (SELECT 1 AS n, 'CHAT_CREATED' AS kind UNION ALL SELECT 2, 'MESSAGE_RECEIVED') AS k
WHERE changes() = 1
ORDER BY k.n"#,
    r#"SELECT changes() = 2 AS created, m.id AS message_id, m.chat_id, c.queue_id, c.contact_id,
       m.id IS NOT NULL AS duplicate
FROM v
LEFT JOIN messages m ON m.channel_id = v.channel_id AND m.provider_message_id = v.provider_message_id
LEFT JOIN chats c ON c.id = m.chat_id"#,
    r#"INSERT INTO contact_keys (field, value, contact_id)
SELECT json_extract(k.value, '$[0]'), json_extract(k.value, '$[1]'), c.contact_id
FROM v
JOIN messages m ON m.channel_id = v.channel_id AND m.provider_message_id = v.provider_message_id
JOIN chats c ON c.id = m.chat_id
JOIN json_each(v.keys) AS k
WHERE changes() = 2"#,
];

/// The SQLite script: each statement of [`SQLITE`] after [`SQLITE_VALUES`].
fn sqlite_script() -> &'static str {
    static SCRIPT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        SQLITE.iter().map(|statement| format!("{SQLITE_VALUES}\n{statement};\n")).collect()
    });
    &SCRIPT
}

/// On SQLite, inside `txn` (a write transaction): what [`in_one_statement`] does on
/// PostgreSQL, in one hop to the driver's worker thread. Call only where [`applies`].
pub(super) async fn in_one_script(
    txn: &impl ConnectionTrait,
    channel: &channels::Model,
    message: &InboundMessage,
    newcomer: &Newcomer,
) -> Result<Scripted, DbErr> {
    let values = values(channel, message, newcomer, (newcomer.similar as i64).into());
    let statement = Statement::from_sql_and_values(DatabaseBackend::Sqlite, sqlite_script(), values);
    let rows = txn.query_all_raw(statement).await?;
    let row = rows.last().ok_or(DbErr::RecordNotFound("newcomer".into()))?;
    answer(row, row.try_get::<bool>("", "created")?)
}

#[cfg(test)]
mod tests {
    use entity::enums::ChatStatus;

    use super::*;
    use crate::events::EventKind;

    /// The statuses and kinds the statements write as literals are the enums' stored strings.
    #[test]
    fn the_statements_name_statuses_and_kinds_as_stored() {
        let sqlite = SQLITE.concat();
        for statement in [POSTGRES, sqlite.as_str()] {
            assert!(statement.contains(&format!("'{}'", ChatStatus::Waiting.as_str())));
            for kind in [EventKind::ChatCreated, EventKind::MessageReceived] {
                assert!(statement.contains(&format!("'{}'", kind.as_str())), "{kind:?}");
            }
        }
    }

    /// The similar-contact count in the PostgreSQL statement reads `contact_keys` and
    /// `contacts`: a CTE of the same name would stand in for the table (and fail the count).
    #[test]
    fn no_cte_is_named_after_a_table_the_count_reads() {
        for table in ["contact_keys", "contacts", "contact_identities", "chats", "messages", "events"] {
            assert!(!POSTGRES.contains(&format!("{table} AS (")), "{table}");
        }
        assert!(POSTGRES.contains("{SIMILAR}"), "the count's place");
    }

    /// No statement of the SQLite script numbers a parameter itself: they all read [`SQLITE_VALUES`].
    #[test]
    fn the_script_takes_its_values_from_one_place() {
        assert!(SQLITE.iter().all(|statement| !statement.contains('?')));
        let numbered = SQLITE_VALUES.matches('?').count();
        assert_eq!(numbered, 21, "one per value");
    }
}
