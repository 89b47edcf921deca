//! Drafts: the reply an agent is writing in a chat, kept until they send it or clear it. One
//! per agent and chat. Sending a message clears the sender's draft (see `messages::send`).

use entity::drafts;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionSession, TransactionTrait,
};
use tracing::instrument;

use super::chats;
use super::error::{DomainError, DomainResult};
use super::ids::{AgentId, ChatId};
use super::sessions::Principal;

/// Longest draft, in characters (the same as a reply).
pub const MAX_DRAFT_CHARS: usize = 4096;

/// Saves the caller's draft in a chat they may read, replacing the one before. The text is
/// trimmed; an empty text deletes the draft and returns `None`.
#[instrument(skip_all, fields(chat_id = chat_id.0, agent_id = principal.agent_id.0))]
pub async fn save(
    db: &impl TransactionTrait,
    principal: &Principal,
    chat_id: ChatId,
    text: &str,
) -> DomainResult<Option<drafts::Model>> {
    let text = text.trim();
    if text.chars().count() > MAX_DRAFT_CHARS {
        return Err(DomainError::invalid(format!("a draft may have at most {MAX_DRAFT_CHARS} characters")));
    }
    let txn = crate::db::write(db).await?;
    chats::get_visible(&txn, principal, chat_id).await?.ok_or(DomainError::NotFound("chat"))?;
    let agent_id = principal.agent_id.0;
    if text.is_empty() {
        drafts::Entity::delete_many()
            .filter(drafts::Column::ChatId.eq(chat_id.0))
            .filter(drafts::Column::AgentId.eq(agent_id))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        return Ok(None);
    }
    let row = drafts::ActiveModel {
        chat_id: Set(chat_id.0),
        agent_id: Set(agent_id),
        text: Set(text.to_owned()),
        updated_at: Set(crate::clock::now()),
    };
    drafts::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([drafts::Column::ChatId, drafts::Column::AgentId])
                .update_columns([drafts::Column::Text, drafts::Column::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    let saved = get(&txn, principal.agent_id, chat_id).await?;
    txn.commit().await?;
    Ok(saved)
}

/// An agent's draft in a chat, if they have one.
pub async fn get(
    db: &impl ConnectionTrait,
    agent: AgentId,
    chat: ChatId,
) -> DomainResult<Option<drafts::Model>> {
    Ok(drafts::Entity::find_by_id((chat.0, agent.0)).one(db).await?)
}

/// Several drafts by (chat, agent); pairs without a draft are skipped.
pub async fn get_many(
    db: &impl ConnectionTrait,
    keys: &[(ChatId, AgentId)],
) -> DomainResult<Vec<drafts::Model>> {
    let chats: Vec<i64> = keys.iter().map(|(chat, _)| chat.0).collect();
    let agents: Vec<i64> = keys.iter().map(|(_, agent)| agent.0).collect();
    let rows = drafts::Entity::find()
        .filter(drafts::Column::ChatId.is_in(chats))
        .filter(drafts::Column::AgentId.is_in(agents))
        .all(db)
        .await?;
    // The two IN lists also match crossed pairs; keep only the ones asked for.
    Ok(rows.into_iter().filter(|row| keys.contains(&(ChatId(row.chat_id), AgentId(row.agent_id)))).collect())
}
