//! Chat actions (DESIGN §1 "Cases and chat actions"): configured per queue by admins, run by
//! the queue's agents (and supervisors) on the queue's chats.
//!
//! Two kinds: `CREATE_CASE` raises a case from the chat (the rules of `cases::create_from_chat`),
//! `WEBHOOK` posts the chat, contact, agent and action to the admin's URL, signed the Standard
//! Webhooks way ([`webhook`]) and delivered by the action worker (`jobs::actions`) from the
//! `chat_action_runs` table, with retries. The secret is write-only: stored for signing,
//! never answered, never logged (the row's `Debug` hides it).

pub mod run;
pub mod webhook;

use entity::chat_actions;
use entity::enums::ChatActionKind;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, NotSet, QueryFilter, QueryOrder, Set,
    TransactionSession, TransactionTrait,
};
use tracing::instrument;

use super::error::{DomainError, DomainResult};
use super::ids::{AgentId, QueueId};

/// A chat action's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChatActionId(pub i64);

/// Longest caption, in characters.
pub const MAX_CAPTION_CHARS: usize = 100;

/// A new action.
#[derive(Clone)]
pub struct NewChatAction {
    /// The queue whose chats offer it.
    pub queue_id: QueueId,
    /// The label agents see.
    pub caption: String,
    /// What it does.
    pub kind: ChatActionKind,
    /// WEBHOOK: where runs are posted (required).
    pub url: Option<String>,
    /// WEBHOOK: the signing secret; generated when absent.
    pub secret: Option<String>,
}

/// Changes to an action; `None` leaves a field as it is.
#[derive(Clone, Default)]
pub struct ChatActionChange {
    /// A new caption.
    pub caption: Option<String>,
    /// WEBHOOK: a new URL.
    pub url: Option<String>,
    /// WEBHOOK: a new secret (rotation).
    pub secret: Option<String>,
}

/// A created action, and the secret generated for it (the only time it is shown).
pub struct Created {
    /// The action.
    pub action: chat_actions::Model,
    /// The secret generated because none was given; `None` when the admin gave one (or for
    /// CREATE_CASE).
    pub generated_secret: Option<String>,
}

fn valid_caption(caption: &str) -> DomainResult<String> {
    let caption = caption.trim();
    if caption.is_empty() || caption.chars().count() > MAX_CAPTION_CHARS {
        return Err(DomainError::invalid(format!("caption must be 1 to {MAX_CAPTION_CHARS} characters")));
    }
    Ok(caption.to_owned())
}

fn no_webhook_fields(url: &Option<String>, secret: &Option<String>) -> DomainResult<()> {
    if url.is_some() || secret.is_some() {
        return Err(DomainError::invalid("a CREATE_CASE action has no url or secret"));
    }
    Ok(())
}

/// Creates an action on an existing queue (NOT_FOUND otherwise). A WEBHOOK needs an http(s)
/// URL with a host (INVALID_URL otherwise); a secret given must be a Standard Webhooks
/// secret (BAD_USER_INPUT), and one is generated when none is given.
#[instrument(skip_all, fields(queue_id = new.queue_id.0, kind = new.kind.as_str()))]
pub async fn create(db: &impl TransactionTrait, new: NewChatAction) -> DomainResult<Created> {
    let caption = valid_caption(&new.caption)?;
    let (url, secret, generated_secret) = match new.kind {
        ChatActionKind::CreateCase => {
            no_webhook_fields(&new.url, &new.secret)?;
            (None, None, None)
        }
        ChatActionKind::Webhook => {
            let url = webhook::valid_url(new.url.as_deref().unwrap_or_default())?;
            match new.secret.as_deref() {
                Some(given) => (Some(url), Some(webhook::valid_secret(given)?), None),
                None => {
                    let generated = webhook::generate_secret();
                    (Some(url), Some(generated.clone()), Some(generated))
                }
            }
        }
    };
    let txn = crate::db::write(db).await?;
    super::queues::get(&txn, new.queue_id).await?.ok_or(DomainError::NotFound("queue"))?;
    let now = crate::clock::now();
    let action = chat_actions::ActiveModel {
        id: NotSet,
        queue_id: Set(new.queue_id.0),
        caption: Set(caption),
        kind: Set(new.kind),
        url: Set(url),
        secret: Set(secret),
        deleted_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(Created { action, generated_secret })
}

/// Changes an action (NOT_FOUND for an unknown or deleted one), by the rules of [`create`];
/// a url or secret on a CREATE_CASE action is BAD_USER_INPUT.
#[instrument(skip_all, fields(action_id = id.0))]
pub async fn update(
    db: &impl TransactionTrait,
    id: ChatActionId,
    change: ChatActionChange,
) -> DomainResult<chat_actions::Model> {
    let caption = change.caption.as_deref().map(valid_caption).transpose()?;
    let url = change.url.as_deref().map(webhook::valid_url).transpose()?;
    let secret = change.secret.as_deref().map(webhook::valid_secret).transpose()?;
    let txn = crate::db::write(db).await?;
    let current = get(&txn, id).await?.ok_or(DomainError::NotFound("chat action"))?;
    if current.kind == ChatActionKind::CreateCase {
        no_webhook_fields(&url, &secret)?;
    }
    let mut row: chat_actions::ActiveModel = current.into();
    if let Some(caption) = caption {
        row.caption = Set(caption);
    }
    if let Some(url) = url {
        row.url = Set(Some(url));
    }
    if let Some(secret) = secret {
        row.secret = Set(Some(secret));
    }
    row.updated_at = Set(crate::clock::now());
    let updated = row.update(&txn).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Deletes an action (NOT_FOUND for an unknown or deleted one): no chat offers it any more
/// and it cannot be run; its row stays for the runs that name it, and deliveries still
/// pending fail ("the action was deleted").
#[instrument(skip_all, fields(action_id = id.0))]
pub async fn delete(db: &impl TransactionTrait, id: ChatActionId) -> DomainResult<()> {
    let txn = crate::db::write(db).await?;
    let current = get(&txn, id).await?.ok_or(DomainError::NotFound("chat action"))?;
    let now = crate::clock::now();
    let mut row: chat_actions::ActiveModel = current.into();
    row.deleted_at = Set(Some(now));
    row.updated_at = Set(now);
    row.update(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// One action that is not deleted.
pub async fn get(db: &impl ConnectionTrait, id: ChatActionId) -> DomainResult<Option<chat_actions::Model>> {
    Ok(chat_actions::Entity::find_by_id(id.0)
        .filter(chat_actions::Column::DeletedAt.is_null())
        .one(db)
        .await?)
}

/// The actions of a queue that are not deleted, in creation order.
pub async fn of_queue(db: &impl ConnectionTrait, queue: QueueId) -> DomainResult<Vec<chat_actions::Model>> {
    Ok(chat_actions::Entity::find()
        .filter(chat_actions::Column::QueueId.eq(queue.0))
        .filter(chat_actions::Column::DeletedAt.is_null())
        .order_by_asc(chat_actions::Column::Id)
        .all(db)
        .await?)
}

/// Whether `agent` serves `queue`.
pub async fn serves(db: &impl ConnectionTrait, agent: AgentId, queue: QueueId) -> DomainResult<bool> {
    Ok(entity::queue_agents::Entity::find_by_id((queue.0, agent.0)).one(db).await?.is_some())
}
