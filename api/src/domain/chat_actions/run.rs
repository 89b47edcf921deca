//! Running chat actions: which actions an agent may run on a chat, running one, and the
//! delivery state of webhook runs.
//!
//! Who may run an action: agents of the action's queue and supervisors (admins count as
//! supervisors), on a chat they may read (`chats::get_visible`) of the action's queue.
//! CREATE_CASE then follows `cases::create_from_chat` (the chat's owner, supervisors and
//! admins). A WEBHOOK run is one `chat_action_runs` row, PENDING, written in one transaction;
//! the action worker (`jobs::actions`) delivers it.

use entity::enums::{ChatActionKind, ChatActionRunStatus, Role};
use entity::{cases, chat_action_runs, chat_actions, chats};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, NotSet, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionSession, TransactionTrait,
};
use serde_json::json;
use tracing::instrument;

use super::{ChatActionId, get, of_queue, serves};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{ChatId, QueueId, global};
use crate::domain::sessions::Principal;

/// The `type` of a run's webhook payload.
pub const EVENT_TYPE: &str = "chat_action.run";
/// Most runs `runs_of_chat` answers (newest first).
pub const MAX_RUNS_LISTED: u64 = 100;

/// What running an action did.
#[derive(Debug)]
pub enum Ran {
    /// CREATE_CASE: the case raised.
    Case(cases::Model),
    /// WEBHOOK: the queued delivery.
    Webhook(chat_action_runs::Model),
}

fn may_run_actions(principal: &Principal) -> DomainResult<()> {
    if matches!(principal.role, Role::Agent | Role::Supervisor | Role::Admin) {
        Ok(())
    } else {
        Err(DomainError::Forbidden(format!("the {} role may not run chat actions", principal.role.as_str())))
    }
}

/// Whether the principal may run the actions of `queue`: supervisors and admins, and the
/// queue's agents.
async fn may_run_in(db: &impl ConnectionTrait, principal: &Principal, queue: QueueId) -> DomainResult<bool> {
    Ok(principal.is_supervisor() || serves(db, principal.agent_id, queue).await?)
}

/// The chat, if the principal may read it; NOT_FOUND otherwise (as `chat(id)` answers null).
async fn visible_chat(
    db: &impl ConnectionTrait,
    principal: &Principal,
    chat: ChatId,
) -> DomainResult<chats::Model> {
    crate::domain::chats::get_visible(db, principal, chat).await?.ok_or(DomainError::NotFound("chat"))
}

/// The actions the principal may run on a chat: those of the chat's queue, for its agents,
/// supervisors and admins; none for an agent outside the queue. A chat the caller may not
/// read: NOT_FOUND.
pub async fn for_chat(
    db: &impl ConnectionTrait,
    principal: &Principal,
    chat: ChatId,
) -> DomainResult<Vec<chat_actions::Model>> {
    may_run_actions(principal)?;
    let chat = visible_chat(db, principal, chat).await?;
    let queue = QueueId(chat.queue_id);
    if !may_run_in(db, principal, queue).await? {
        return Ok(Vec::new());
    }
    of_queue(db, queue).await
}

/// Runs an action on a chat. Refused, with nothing written: a chat the caller may not read
/// or an unknown (or deleted) action, NOT_FOUND; an action of another queue than the chat's,
/// ACTION_NOT_IN_QUEUE; an agent who does not serve the action's queue, FORBIDDEN.
#[instrument(skip(db, principal), fields(chat_id = chat_id.0, action_id = action_id.0, agent_id = principal.agent_id.0))]
pub async fn run(
    db: &impl TransactionTrait,
    principal: &Principal,
    chat_id: ChatId,
    action_id: ChatActionId,
) -> DomainResult<(chat_actions::Model, Ran)> {
    may_run_actions(principal)?;
    let txn = crate::db::write(db).await?;
    let chat = visible_chat(&txn, principal, chat_id).await?;
    let action = get(&txn, action_id).await?.ok_or(DomainError::NotFound("chat action"))?;
    if action.queue_id != chat.queue_id {
        return Err(DomainError::ActionNotInQueue);
    }
    if !may_run_in(&txn, principal, QueueId(action.queue_id)).await? {
        return Err(DomainError::Forbidden(
            "only the agents of the action's queue and supervisors may run it".into(),
        ));
    }
    match action.kind {
        ChatActionKind::CreateCase => {
            // `create_from_chat` is its own write transaction: ours has written nothing, and
            // on SQLite it holds the write lock the case needs, so it ends first.
            txn.rollback().await?;
            let case = crate::domain::cases::create_from_chat(db, principal, chat_id).await?;
            Ok((action, Ran::Case(case)))
        }
        ChatActionKind::Webhook => {
            let now = crate::clock::now();
            let body = json!({
                "type": EVENT_TYPE,
                "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "data": {
                    "chatId": global("Chat", chat.id),
                    "contactId": global("Contact", chat.contact_id),
                    "agentId": global("Agent", principal.agent_id.0),
                    "actionId": global("ChatAction", action.id),
                    "caption": action.caption,
                }
            });
            let run = chat_action_runs::ActiveModel {
                id: NotSet,
                action_id: Set(action.id),
                chat_id: Set(chat.id),
                agent_id: Set(principal.agent_id.0),
                idempotency_key: Set(format!("msg_{}", uuid::Uuid::new_v4().simple())),
                body: Set(body.to_string()),
                status: Set(ChatActionRunStatus::Pending),
                attempts: Set(0),
                next_attempt_at: Set(now),
                locked_until: Set(None),
                last_error: Set(None),
                delivered_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&txn)
            .await?;
            txn.commit().await?;
            Ok((action, Ran::Webhook(run)))
        }
    }
}

/// The webhook runs of a chat the principal may read (NOT_FOUND otherwise), newest first,
/// at most [`MAX_RUNS_LISTED`], each with its action (deleted ones included).
pub async fn runs_of_chat(
    db: &impl ConnectionTrait,
    principal: &Principal,
    chat: ChatId,
) -> DomainResult<Vec<(chat_action_runs::Model, chat_actions::Model)>> {
    let chat = visible_chat(db, principal, chat).await?;
    let rows = chat_action_runs::Entity::find()
        .find_also_related(chat_actions::Entity)
        .filter(chat_action_runs::Column::ChatId.eq(chat.id))
        .order_by_desc(chat_action_runs::Column::Id)
        .limit(MAX_RUNS_LISTED)
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(|(run, action)| action.map(|action| (run, action))).collect())
}
