//! Starting a chat with a contact (`initiateChat`), and whether one can be started now
//! (`Contact.reachability`, `canInitiateChat`).
//!
//! A chat may be started on a channel only if the channel is active, the contact has written
//! through it at least once, the contact has no open chat on it, and — on WhatsApp and
//! Messenger — the contact's last incoming message on it is under 24 hours old (the
//! providers' customer-service window; Telegram has none). On WhatsApp a registered message
//! template may be sent outside the window (see `message_templates`). The window is computed
//! from the stored incoming messages, so a customer's answer reopens it.

use chrono::{DateTime, Duration, Utc};
use entity::enums::{AuthorKind, ChannelKind, ChatStatus, Direction, Role};
use entity::{channels, chats, messages};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use tracing::instrument;

use super::error::{DomainError, DomainResult};
use super::ids::{ChannelId, ChatId, ContactId, QueueId};
use super::message_templates::{self, MessageTemplateId};
use super::messages::{self as replies, NewFile, Outgoing};
use super::sessions::Principal;
use crate::events::{self, EventKind, Subjects};
use crate::files::FileStore;

/// How long after the customer's last message WhatsApp and Messenger accept free-form
/// messages.
pub const WINDOW: Duration = Duration::hours(24);

/// Whether the provider limits free-form messages to a window after the customer's last
/// message: WhatsApp and Messenger do, Telegram does not.
pub fn has_window(kind: ChannelKind) -> bool {
    matches!(kind, ChannelKind::Whatsapp | ChannelKind::Messenger)
}

/// When the window opened by a message received at `last_incoming` closes; `None` for a
/// provider without a window.
pub fn window_closes_at(kind: ChannelKind, last_incoming: DateTime<Utc>) -> Option<DateTime<Utc>> {
    has_window(kind).then(|| last_incoming + WINDOW)
}

/// Why a chat cannot be started with a contact on a channel now. Each has its own error code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The channel is switched off.
    ChannelInactive,
    /// The contact never wrote through this channel.
    NeverWrote,
    /// The contact already has this open (not completed) chat on the channel.
    OpenChat(i64),
    /// WhatsApp or Messenger: the contact's last message is 24 hours old or older.
    OutsideWindow {
        /// When the window closed.
        closed_at: DateTime<Utc>,
    },
}

impl Refusal {
    /// The stable code, the same in errors and in `reachability`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ChannelInactive => "CHANNEL_INACTIVE",
            Self::NeverWrote => "NEVER_WROTE_ON_CHANNEL",
            Self::OpenChat(_) => "OPEN_CHAT_EXISTS",
            Self::OutsideWindow { .. } => "OUTSIDE_MESSAGING_WINDOW",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ChannelInactive => f.write_str("the channel is inactive"),
            Self::NeverWrote => f.write_str("the contact has never written through this channel"),
            Self::OpenChat(_) => f.write_str(
                "the contact already has an open chat on this channel (extensions.chatId); use it",
            ),
            Self::OutsideWindow { closed_at } => write!(
                f,
                "the contact's last message on this channel is 24 hours old or older (the window closed at {}); \
                 on WhatsApp send a message template instead",
                closed_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        }
    }
}

/// Whether a chat can be started with a contact on one channel now, and why not.
#[derive(Clone, Debug)]
pub struct Reach {
    /// The channel.
    pub channel: channels::Model,
    /// When the contact's last incoming message on the channel was received.
    pub last_incoming_at: Option<DateTime<Utc>>,
    /// When the window closes (or closed); `None` for Telegram or a contact who never wrote.
    pub window_closes_at: Option<DateTime<Utc>>,
    /// The contact's open chat on the channel.
    pub open_chat: Option<i64>,
    /// The first condition that fails, in the order: channel inactive, never wrote, open chat,
    /// outside the window. `None`: a chat can be started.
    pub refusal: Option<Refusal>,
}

impl Reach {
    /// Whether the only thing in the way is the window on a WhatsApp channel, so a chat can
    /// still be started with a message template.
    pub fn template_only(&self) -> bool {
        self.channel.kind == ChannelKind::Whatsapp
            && matches!(self.refusal, Some(Refusal::OutsideWindow { .. }))
    }
}

/// When the contact's latest incoming message (written by the contact, not a bot's or an
/// agent's echo) on the channel was received.
pub async fn last_incoming(
    db: &impl ConnectionTrait,
    contact: ContactId,
    channel: ChannelId,
) -> Result<Option<DateTime<Utc>>, sea_orm::DbErr> {
    messages::Entity::find()
        .select_only()
        .column(messages::Column::CreatedAt)
        .inner_join(chats::Entity)
        // The contact's chats on the channel (an index look-up), then their messages.
        .filter(chats::Column::ContactId.eq(contact.0))
        .filter(chats::Column::ChannelId.eq(channel.0))
        .filter(messages::Column::ChannelId.eq(channel.0))
        .filter(messages::Column::Direction.eq(Direction::Incoming))
        .filter(messages::Column::AuthorKind.eq(AuthorKind::Contact))
        .order_by_desc(messages::Column::CreatedAt)
        .limit(1)
        .into_tuple::<DateTime<Utc>>()
        .one(db)
        .await
}

/// The window refusal for a message to `contact` on `channel` now, if its window is closed.
/// A contact with no incoming message is not refused here (the provider decides).
pub async fn window_refusal(
    db: &impl ConnectionTrait,
    contact: ContactId,
    channel: &channels::Model,
) -> Result<Option<Refusal>, sea_orm::DbErr> {
    if !has_window(channel.kind) {
        return Ok(None);
    }
    let Some(last) = last_incoming(db, contact, ChannelId(channel.id)).await? else { return Ok(None) };
    let closes = last + WINDOW;
    Ok((crate::clock::now() >= closes).then_some(Refusal::OutsideWindow { closed_at: closes }))
}

/// Whether a chat can be started with `contact` on `channel` now.
pub async fn reach(
    db: &impl ConnectionTrait,
    contact: ContactId,
    channel: channels::Model,
) -> DomainResult<Reach> {
    let last = last_incoming(db, contact, ChannelId(channel.id)).await?;
    let open = super::ingest::open_chat(db, contact, ChannelId(channel.id)).await?.map(|chat| chat.id);
    let closes = last.and_then(|last| window_closes_at(channel.kind, last));
    let refusal = if !channel.active {
        Some(Refusal::ChannelInactive)
    } else if last.is_none() {
        Some(Refusal::NeverWrote)
    } else if let Some(open) = open {
        Some(Refusal::OpenChat(open))
    } else {
        closes
            .filter(|closes| crate::clock::now() >= *closes)
            .map(|closed_at| Refusal::OutsideWindow { closed_at })
    };
    Ok(Reach { channel, last_incoming_at: last, window_closes_at: closes, open_chat: open, refusal })
}

/// [`reach`] for every channel of a kind the contact has an identity on, by channel id.
pub async fn reachability(db: &impl ConnectionTrait, contact: ContactId) -> DomainResult<Vec<Reach>> {
    let kinds: Vec<ChannelKind> = entity::contact_identities::Entity::find()
        .filter(entity::contact_identities::Column::ContactId.eq(contact.0))
        .all(db)
        .await?
        .into_iter()
        .map(|identity| identity.channel_kind)
        .collect();
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    let channels = channels::Entity::find()
        .filter(channels::Column::Kind.is_in(kinds))
        .order_by_asc(channels::Column::Id)
        .all(db)
        .await?;
    let mut reaches = Vec::with_capacity(channels.len());
    for channel in channels {
        reaches.push(reach(db, contact, channel).await?);
    }
    Ok(reaches)
}

/// `canInitiateChat`: [`reach`] for a contact the principal may read (NOT_FOUND otherwise)
/// and a channel.
pub async fn can_initiate(
    db: &impl ConnectionTrait,
    principal: &Principal,
    contact: ContactId,
    channel: ChannelId,
) -> DomainResult<Reach> {
    super::contacts::get_visible(db, principal, contact).await?.ok_or(DomainError::NotFound("contact"))?;
    let channel =
        channels::Entity::find_by_id(channel.0).one(db).await?.ok_or(DomainError::NotFound("channel"))?;
    reach(db, contact, channel).await
}

/// What a started chat opens with.
#[derive(Clone, Debug)]
pub enum Opening {
    /// Free text and files, as a reply (inside the window, or on Telegram).
    Reply {
        /// The text.
        text: Option<String>,
        /// Files.
        files: Vec<NewFile>,
    },
    /// A WhatsApp message template (allowed outside the window).
    Template {
        /// The registered template.
        template: MessageTemplateId,
        /// Its body parameters, in order.
        parameters: Vec<String>,
    },
}

/// Starts a chat: a new IN_PROGRESS chat on `channel`, owned by the caller and in the
/// channel's queue, whose first message goes out through the outbox like a reply. Refused
/// with the failed condition's code (see [`Refusal`]), AT_CAPACITY when the caller (an agent)
/// holds as many chats as `SimultaneousChats` allows, TEMPLATE_PARAMETERS for a template with
/// the wrong number of parameters. One transaction: on any refusal nothing is written or sent.
#[instrument(skip_all, fields(contact_id = contact.0, channel_id = channel_id.0, agent_id = principal.agent_id.0))]
pub async fn initiate(
    db: &DatabaseConnection,
    files: &FileStore,
    principal: &Principal,
    contact: ContactId,
    channel_id: ChannelId,
    opening: Opening,
) -> DomainResult<(chats::Model, messages::Model)> {
    // Bad input first, then who may do it, then the conditions.
    let checked = match &opening {
        Opening::Reply { text, files: uploads } => Some(replies::check_reply(files, text.clone(), uploads)?),
        Opening::Template { parameters, .. } => {
            message_templates::check_parameter_values(parameters)?;
            None
        }
    };
    let contact_row = super::contacts::get_for_change(db, principal, contact).await?;
    let outgoing = match opening {
        Opening::Reply { files: uploads, .. } => {
            Outgoing::Reply { text: checked.flatten(), files: replies::store(files, uploads).await? }
        }
        Opening::Template { template, parameters } => {
            let template = message_templates::get(db, template)
                .await?
                .ok_or(DomainError::NotFound("message template"))?;
            if template.channel_id != channel_id.0 {
                return Err(DomainError::invalid("the template is not registered for this channel"));
            }
            Outgoing::Template(message_templates::render(template, parameters)?)
        }
    };

    let txn = crate::db::write(db).await?;
    let channel = channels::Entity::find_by_id(channel_id.0)
        .one(&txn)
        .await?
        .ok_or(DomainError::NotFound("channel"))?;
    let reach = reach(&txn, contact, channel).await?;
    // A template may go where only the window is in the way; nothing else may.
    let by_template = reach.template_only() && matches!(outgoing, Outgoing::Template(_));
    if let Some(refusal) = &reach.refusal
        && !by_template
    {
        return Err(DomainError::NotReachable(refusal.clone()));
    }
    let me = principal.agent_id;
    if principal.role == Role::Agent && !super::lifecycle::has_room(&txn, me).await? {
        return Err(DomainError::AtCapacity);
    }
    let created = super::ingest::create_chat_for(
        &txn,
        &contact_row,
        &reach.channel,
        ChatStatus::InProgress,
        None,
        super::ingest::Similar::Search,
    )
    .await;
    let chat = match created {
        Ok(chat) => chat,
        Err(err) => {
            // The unique index on open chats: a chat opened meanwhile (the customer wrote, or
            // another initiate committed first). Name it, as if it had been there before.
            let err = super::error::classify(err, "the contact has just got an open chat on this channel");
            if matches!(err, DomainError::Conflict(_)) {
                drop(txn);
                if let Some(open) = super::ingest::open_chat(db, contact, channel_id).await? {
                    return Err(DomainError::NotReachable(Refusal::OpenChat(open.id)));
                }
            }
            return Err(err);
        }
    };
    let now = crate::clock::now();
    chats::Entity::update_many()
        .col_expr(chats::Column::OwnerId, Expr::value(me.0))
        .col_expr(chats::Column::AcceptedAt, Expr::value(now))
        .filter(chats::Column::Id.eq(chat.id))
        .exec(&txn)
        .await?;
    let chat = chats::Entity::find_by_id(chat.id).one(&txn).await?.ok_or(DomainError::NotFound("chat"))?;
    let subjects =
        Subjects { agent: Some(me), chat: Some(ChatId(chat.id)), queue: Some(QueueId(chat.queue_id)) };
    events::record(
        &txn,
        EventKind::ChatAccepted,
        subjects,
        serde_json::json!({ "agentId": me.0, "initiated": true }),
    )
    .await?;
    let message = replies::queue(&txn, principal, &chat, outgoing).await?;
    let chat = chats::Entity::find_by_id(chat.id).one(&txn).await?.ok_or(DomainError::NotFound("chat"))?;
    txn.commit().await?;
    Ok((chat, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_24_hours_on_meta_channels_only() {
        let at = DateTime::parse_from_rfc3339("2026-06-01T09:00:00Z").unwrap().to_utc();
        assert_eq!(window_closes_at(ChannelKind::Whatsapp, at), Some(at + Duration::hours(24)));
        assert_eq!(window_closes_at(ChannelKind::Messenger, at), Some(at + Duration::hours(24)));
        assert_eq!(window_closes_at(ChannelKind::Telegram, at), None);
    }

    #[test]
    fn refusals_have_stable_codes() {
        let closed_at = DateTime::parse_from_rfc3339("2026-06-01T09:00:00Z").unwrap().to_utc();
        let codes: Vec<&str> = [
            Refusal::ChannelInactive,
            Refusal::NeverWrote,
            Refusal::OpenChat(7),
            Refusal::OutsideWindow { closed_at },
        ]
        .iter()
        .map(Refusal::code)
        .collect();
        assert_eq!(
            codes,
            ["CHANNEL_INACTIVE", "NEVER_WROTE_ON_CHANNEL", "OPEN_CHAT_EXISTS", "OUTSIDE_MESSAGING_WINDOW"]
        );
    }
}
