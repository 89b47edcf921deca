//! Channels: connected provider accounts, with their write-only credentials.

use entity::channels;
use entity::enums::ChannelKind;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, NotSet, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionSession, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use tracing::instrument;

use super::error::{DomainError, DomainResult};
use super::ids::{ChannelId, QueueId};
use super::pagination::{Page, PageOf};

/// The secrets a channel needs to verify webhooks and send replies. Which fields are
/// required depends on the kind. Never returned by the API; `Debug` hides the values.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// Meta app secret: verifies `X-Hub-Signature-256` (WhatsApp, Messenger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_secret: Option<String>,
    /// Token Meta echoes in the GET verification handshake (WhatsApp, Messenger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_token: Option<String>,
    /// Access token for the send API (WhatsApp system-user token; Messenger page token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// WhatsApp phone-number id messages are sent from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<String>,
    /// Facebook page id (Messenger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_id: Option<String>,
    /// Telegram bot token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_token: Option<String>,
    /// Telegram webhook secret, checked against `X-Telegram-Bot-Api-Secret-Token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_token: Option<String>,
    /// Messenger: the id of our Meta app (the one whose secret signs the webhooks). A
    /// `pass_thread_control` is honoured only when it names this app as the new owner, and a
    /// `take_thread_control` only when it took the thread from this app. Optional; digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Messenger: the id of the chatbot's app (the handover protocol's primary receiver). A
    /// `take_thread_control` is honoured only when this app took the thread, and a
    /// `pass_thread_control` only when this app passed it. Optional; digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_app_id: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(***)")
    }
}

impl Credentials {
    /// Fields given in `other` replace ours.
    pub fn merged(mut self, other: Credentials) -> Self {
        macro_rules! take {
            ($($field:ident),*) => {$( if other.$field.is_some() { self.$field = other.$field; } )*};
        }
        take!(
            app_secret,
            verify_token,
            access_token,
            phone_number_id,
            page_id,
            bot_token,
            secret_token,
            app_id,
            bot_app_id
        );
        self
    }

    /// The names of the fields `kind` needs that are missing or blank.
    pub fn missing_for(&self, kind: ChannelKind) -> Vec<&'static str> {
        let present = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        let required: &[(&'static str, bool)] = match kind {
            ChannelKind::Whatsapp => &[
                ("appSecret", present(&self.app_secret)),
                ("verifyToken", present(&self.verify_token)),
                ("accessToken", present(&self.access_token)),
                ("phoneNumberId", present(&self.phone_number_id)),
            ],
            ChannelKind::Messenger => &[
                ("appSecret", present(&self.app_secret)),
                ("verifyToken", present(&self.verify_token)),
                ("accessToken", present(&self.access_token)),
                ("pageId", present(&self.page_id)),
            ],
            ChannelKind::Telegram => {
                &[("botToken", present(&self.bot_token)), ("secretToken", present(&self.secret_token))]
            }
        };
        required.iter().filter(|(_, ok)| !ok).map(|(name, _)| *name).collect()
    }

    /// Reads credentials stored on a channel row.
    pub fn of(row: &channels::Model) -> Self {
        serde_json::from_value(row.credentials.clone()).unwrap_or_default()
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("credentials serialise to JSON")
    }
}

/// A new channel.
#[derive(Clone, Debug)]
pub struct NewChannel {
    /// Which provider.
    pub kind: ChannelKind,
    /// Display name.
    pub name: String,
    /// Language of the channel (e.g. `en`), used to pick quick replies.
    pub language: Option<String>,
    /// Queue new chats go to.
    pub queue_id: QueueId,
    /// Whether webhooks are accepted and replies sent.
    pub active: bool,
    /// The provider secrets.
    pub credentials: Credentials,
}

/// Changes to a channel; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct ChannelChange {
    /// New name.
    pub name: Option<String>,
    /// `Some(None)` clears the language.
    pub language: Option<Option<String>>,
    /// New queue.
    pub queue_id: Option<QueueId>,
    /// Switch on or off.
    pub active: Option<bool>,
    /// Fields given replace the stored ones.
    pub credentials: Option<Credentials>,
}

fn valid_name(name: &str) -> DomainResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DomainError::invalid("channel name must be 1 to 100 characters"));
    }
    Ok(name.to_owned())
}

fn valid_language(language: Option<String>) -> DomainResult<Option<String>> {
    match language.map(|l| l.trim().to_lowercase()) {
        None => Ok(None),
        Some(l) if l.is_empty() => Ok(None),
        Some(l) if l.len() <= 16 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') => Ok(Some(l)),
        Some(_) => Err(DomainError::invalid("language must be a language tag such as en or pt-br")),
    }
}

/// Checks the credentials `kind` needs and the optional Messenger app ids; returns them with
/// blank app ids cleared (an empty `appId` given in an update removes the stored one).
fn check_credentials(kind: ChannelKind, mut credentials: Credentials) -> DomainResult<Credentials> {
    let missing = credentials.missing_for(kind);
    if !missing.is_empty() {
        return Err(DomainError::invalid(format!(
            "a {} channel needs credentials: {}",
            kind.as_str(),
            missing.join(", ")
        )));
    }
    for (name, field) in [("appId", &mut credentials.app_id), ("botAppId", &mut credentials.bot_app_id)] {
        let value = field.take().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        if let Some(id) = &value {
            if kind != ChannelKind::Messenger {
                return Err(DomainError::invalid(format!("{name} is a Messenger setting")));
            }
            if id.len() > 32 || !id.chars().all(|c| c.is_ascii_digit()) {
                return Err(DomainError::invalid(format!("{name} must be a Meta app id: 1 to 32 digits")));
            }
        }
        *field = value;
    }
    if credentials.app_id.is_some() && credentials.app_id == credentials.bot_app_id {
        return Err(DomainError::invalid("appId and botAppId must be different apps"));
    }
    Ok(credentials)
}

async fn require_queue(db: &impl ConnectionTrait, queue: QueueId) -> DomainResult<()> {
    super::queues::get(db, queue).await?.map(|_| ()).ok_or(DomainError::NotFound("queue"))
}

/// Creates a channel; every credential its kind needs must be given.
#[instrument(skip_all, fields(kind = new.kind.as_str()))]
pub async fn create(db: &impl TransactionTrait, new: NewChannel) -> DomainResult<channels::Model> {
    let name = valid_name(&new.name)?;
    let language = valid_language(new.language)?;
    let credentials = check_credentials(new.kind, new.credentials)?;
    let txn = crate::db::write(db).await?;
    require_queue(&txn, new.queue_id).await?;
    let now = crate::clock::now();
    let channel = channels::ActiveModel {
        id: NotSet,
        kind: Set(new.kind),
        name: Set(name),
        active: Set(new.active),
        language: Set(language),
        queue_id: Set(new.queue_id.0),
        credentials: Set(credentials.to_json()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(channel)
}

/// Applies changes to a channel; credentials given are merged into the stored ones.
#[instrument(skip_all, fields(channel_id = id.0))]
pub async fn update(
    db: &impl TransactionTrait,
    id: ChannelId,
    change: ChannelChange,
) -> DomainResult<channels::Model> {
    let name = change.name.as_deref().map(valid_name).transpose()?;
    let language = change.language.map(valid_language).transpose()?;
    let txn = crate::db::write(db).await?;
    let current = get(&txn, id).await?.ok_or(DomainError::NotFound("channel"))?;
    let kind = current.kind;
    let stored = Credentials::of(&current);
    let mut row: channels::ActiveModel = current.into();
    if let Some(name) = name {
        row.name = Set(name);
    }
    if let Some(language) = language {
        row.language = Set(language);
    }
    if let Some(queue) = change.queue_id {
        require_queue(&txn, queue).await?;
        row.queue_id = Set(queue.0);
    }
    if let Some(active) = change.active {
        row.active = Set(active);
    }
    if let Some(credentials) = change.credentials {
        let merged = check_credentials(kind, stored.merged(credentials))?;
        row.credentials = Set(merged.to_json());
    }
    row.updated_at = Set(crate::clock::now());
    let updated = row.update(&txn).await?;
    txn.commit().await?;
    Ok(updated)
}

/// One channel by id.
pub async fn get(db: &impl ConnectionTrait, id: ChannelId) -> DomainResult<Option<channels::Model>> {
    Ok(channels::Entity::find_by_id(id.0).one(db).await?)
}

/// Several channels by id; unknown ids are skipped.
pub async fn get_many(db: &impl ConnectionTrait, ids: &[ChannelId]) -> DomainResult<Vec<channels::Model>> {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    Ok(channels::Entity::find().filter(channels::Column::Id.is_in(ids)).all(db).await?)
}

/// Channels in id order, a page at a time.
pub async fn list(db: &impl ConnectionTrait, page: Page) -> DomainResult<PageOf<channels::Model>> {
    let mut query = channels::Entity::find().order_by_asc(channels::Column::Id);
    if let Some(after) = page.after {
        query = query.filter(channels::Column::Id.gt(after));
    }
    let rows = query.limit(page.limit + 1).all(db).await?;
    Ok(PageOf::from_overfetch(rows, page.limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telegram_needs_bot_and_secret_tokens() {
        let empty = Credentials::default();
        assert_eq!(empty.missing_for(ChannelKind::Telegram), vec!["botToken", "secretToken"]);
        let full = Credentials {
            bot_token: Some("1:abc".into()),
            secret_token: Some("s".into()),
            ..Credentials::default()
        };
        assert!(full.missing_for(ChannelKind::Telegram).is_empty());
    }

    #[test]
    fn app_ids_are_messenger_digits_and_blank_clears() {
        let messenger = Credentials {
            app_secret: Some("a".into()),
            verify_token: Some("v".into()),
            access_token: Some("t".into()),
            page_id: Some("1".into()),
            ..Default::default()
        };
        let with = |app: &str, bot: &str| Credentials {
            app_id: Some(app.into()),
            bot_app_id: Some(bot.into()),
            ..messenger.clone()
        };
        let ok =
            check_credentials(ChannelKind::Messenger, with(" 812345670123456 ", "598765432109876")).unwrap();
        assert_eq!(ok.app_id.as_deref(), Some("812345670123456"));
        assert_eq!(ok.bot_app_id.as_deref(), Some("598765432109876"));
        let cleared = check_credentials(ChannelKind::Messenger, with("", "598765432109876")).unwrap();
        assert_eq!(cleared.app_id, None);
        for bad in [with("81234x", "1"), with("1", "-5"), with(&"9".repeat(33), "1"), with("7", "7")] {
            assert!(check_credentials(ChannelKind::Messenger, bad).is_err());
        }
        let telegram = Credentials {
            bot_token: Some("1:abc".into()),
            secret_token: Some("s".into()),
            app_id: Some("1".into()),
            ..Credentials::default()
        };
        assert!(check_credentials(ChannelKind::Telegram, telegram).is_err());
    }

    #[test]
    fn merging_keeps_unchanged_fields_and_debug_hides_values() {
        let stored = Credentials {
            app_secret: Some("a".into()),
            verify_token: Some("v".into()),
            ..Default::default()
        };
        let merged = stored.merged(Credentials { verify_token: Some("w".into()), ..Default::default() });
        assert_eq!(merged.app_secret.as_deref(), Some("a"));
        assert_eq!(merged.verify_token.as_deref(), Some("w"));
        assert_eq!(format!("{merged:?}"), "Credentials(***)");
    }
}
