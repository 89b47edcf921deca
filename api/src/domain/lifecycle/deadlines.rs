//! The time limits: a directed chat whose agent let the accept deadline pass, a chat whose
//! close deadline passed, and which of them are due.

use entity::enums::{AgentStatus, AssignmentKind, AssignmentOutcome, ChatStatus, CompletionReason};
use entity::{agents, assignments, chats};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use tracing::instrument;

use crate::db::locked;
use crate::domain::error::DomainResult;
use crate::domain::ids::{AgentId, ChatId};
use crate::domain::reroute::{AfterCommit, Reroute};

use super::{finish, tell_dropped};

/// Accept timeout: a directed chat whose agent let the deadline pass moves to the next agent,
/// and the lapsing agent is switched to INACTIVE (and told). Returns whether it acted (each
/// lapse is handled once, even with several instances).
#[instrument(skip(db))]
pub async fn lapse(db: &DatabaseConnection, assignment_id: i64) -> DomainResult<AfterCommit<bool>> {
    let txn = crate::db::write(db).await?;
    let now = crate::clock::now();
    let Some(row) = locked(&txn, assignments::Entity::find_by_id(assignment_id)).one(&txn).await? else {
        return Ok(AfterCommit::nothing(false));
    };
    if row.ended_at.is_some() || row.deadline.is_none_or(|d| d > now) {
        return Ok(AfterCommit::nothing(false));
    }
    let Some(agent) = row.agent_id.map(AgentId) else { return Ok(AfterCommit::nothing(false)) };
    let closed = assignments::Entity::update_many()
        .col_expr(assignments::Column::Outcome, Expr::value(AssignmentOutcome::Lapsed))
        .col_expr(assignments::Column::EndedAt, Expr::value(now))
        .filter(assignments::Column::Id.eq(row.id))
        .filter(assignments::Column::EndedAt.is_null())
        .exec(&txn)
        .await?;
    if closed.rows_affected == 0 {
        return Ok(AfterCommit::nothing(false));
    }
    let undirected = chats::Entity::update_many()
        .col_expr(chats::Column::DirectedAgentId, Expr::value(Option::<i64>::None))
        .col_expr(chats::Column::UpdatedAt, Expr::value(now))
        .filter(chats::Column::Id.eq(row.chat_id))
        .filter(chats::Column::Status.eq(ChatStatus::Waiting))
        .filter(chats::Column::DirectedAgentId.eq(agent.0))
        .exec(&txn)
        .await?;
    let chat = chats::Entity::find_by_id(row.chat_id).one(&txn).await?;
    if undirected.rows_affected > 0 {
        agents::Entity::update_many()
            .col_expr(agents::Column::Status, Expr::value(AgentStatus::Inactive))
            .col_expr(agents::Column::UpdatedAt, Expr::value(now))
            .filter(agents::Column::Id.eq(agent.0))
            .exec(&txn)
            .await?;
        crate::domain::sessions::record_status(&txn, agent, AgentStatus::Inactive, "ACCEPT_TIMEOUT").await?;
        if let Some(chat) = &chat {
            tell_dropped(&txn, chat, &[agent], "ACCEPT_TIMEOUT").await?;
        }
    }
    txn.commit().await?;
    let released = (undirected.rows_affected > 0).then_some(ChatId(row.chat_id));
    Ok(AfterCommit::new(true, Reroute::chats(released)))
}

/// Completion timeout: an IN_PROGRESS chat whose close deadline passed is completed (TIMEOUT),
/// a BOT_PROCESSING one (BOT_TIMEOUT; its deadline follows its last message, see
/// `chatbot::bot_deadline`). WAITING chats are never closed by time. Returns whether it acted
/// (once per chat).
#[instrument(skip(db))]
pub async fn expire(db: &DatabaseConnection, chat_id: ChatId) -> DomainResult<AfterCommit<bool>> {
    let txn = crate::db::write(db).await?;
    let now = crate::clock::now();
    let Some(chat) = locked(&txn, chats::Entity::find_by_id(chat_id.0)).one(&txn).await? else {
        return Ok(AfterCommit::nothing(false));
    };
    let reason = match chat.status {
        ChatStatus::InProgress => CompletionReason::Timeout,
        ChatStatus::BotProcessing => CompletionReason::BotTimeout,
        _ => return Ok(AfterCommit::nothing(false)),
    };
    if chat.close_deadline.is_none_or(|d| d > now) {
        return Ok(AfterCommit::nothing(false));
    }
    finish(&txn, &chat, reason).await?;
    txn.commit().await?;
    Ok(AfterCommit::new(true, Reroute::agents(chat.owner_id.map(AgentId))))
}

/// Lapsed directions and expired chats, oldest first (ids only; each is re-checked under lock).
pub async fn due(db: &impl ConnectionTrait, limit: u64) -> DomainResult<(Vec<i64>, Vec<ChatId>)> {
    use sea_orm::QuerySelect;
    let now = crate::clock::now();
    let lapsed: Vec<i64> = assignments::Entity::find()
        .select_only()
        .column(assignments::Column::Id)
        .filter(assignments::Column::Kind.eq(AssignmentKind::Direction))
        .filter(assignments::Column::EndedAt.is_null())
        .filter(assignments::Column::Deadline.lte(now))
        .order_by_asc(assignments::Column::Deadline)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    let expired: Vec<i64> = chats::Entity::find()
        .select_only()
        .column(chats::Column::Id)
        .filter(chats::Column::Status.is_in([ChatStatus::InProgress, ChatStatus::BotProcessing]))
        .filter(chats::Column::CloseDeadline.lte(now))
        .order_by_asc(chats::Column::CloseDeadline)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    Ok((lapsed, expired.into_iter().map(ChatId).collect()))
}
