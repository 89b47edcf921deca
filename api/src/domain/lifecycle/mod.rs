//! The chat lifecycle after routing: accept, complete, transfer, and the time limits.

use entity::enums::{AssignmentKind, AssignmentOutcome, ChatStatus, CompletionReason, Role};
use entity::{agents, assignments, chats};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use tracing::instrument;

use super::assignments::record_assignment;
use super::error::{DomainError, DomainResult};
use super::ids::{AgentId, ChatId, QueueId};
use super::reroute::{AfterCommit, Reroute};
use super::sessions::Principal;
use super::{ingest, presence, settings};
use crate::events::{self, EventKind, Subjects};

mod deadlines;
mod transfer;

pub use deadlines::{due, expire, lapse};
pub use transfer::{TransferTarget, transfer, transfer_targets};

/// Closes the open assignments of a chat: `agent`'s get `mine`, everyone else's `others`.
/// Returns the agents whose open offer was closed as `others` (so their panels drop it).
async fn close_assignments(
    db: &impl ConnectionTrait,
    chat: i64,
    agent: Option<AgentId>,
    mine: AssignmentOutcome,
    others: AssignmentOutcome,
) -> Result<Vec<AgentId>, sea_orm::DbErr> {
    let open = assignments::Entity::find()
        .filter(assignments::Column::ChatId.eq(chat))
        .filter(assignments::Column::EndedAt.is_null())
        .all(db)
        .await?;
    let now = crate::clock::now();
    let mut dropped = Vec::new();
    for row in open {
        let is_mine = agent.is_some_and(|a| row.agent_id == Some(a.0));
        let outcome = if is_mine { mine } else { others };
        assignments::Entity::update_many()
            .col_expr(assignments::Column::Outcome, Expr::value(outcome))
            .col_expr(assignments::Column::EndedAt, Expr::value(now))
            .filter(assignments::Column::Id.eq(row.id))
            .exec(db)
            .await?;
        if !is_mine && let Some(other) = row.agent_id {
            dropped.push(AgentId(other));
        }
    }
    Ok(dropped)
}

async fn tell_dropped(
    db: &impl ConnectionTrait,
    chat: &chats::Model,
    dropped: &[AgentId],
    why: &str,
) -> Result<(), sea_orm::DbErr> {
    for agent in dropped {
        let subjects = Subjects {
            agent: Some(*agent),
            chat: Some(ChatId(chat.id)),
            queue: Some(QueueId(chat.queue_id)),
        };
        events::record(db, EventKind::ChatTaken, subjects, serde_json::json!({ "reason": why })).await?;
    }
    Ok(())
}

/// Whether an agent with `open` chats may take one more.
pub(crate) async fn has_room(db: &impl ConnectionTrait, agent: AgentId) -> DomainResult<bool> {
    let limits = settings::load(db).await?;
    let open = presence::presences(db, &[agent]).await?.get(&agent).copied().unwrap_or_default();
    Ok(!limits.at_capacity(open.open_chats))
}

/// Accepts a WAITING chat: only an agent it was offered or directed to, or a supervisor.
/// Two agents accepting at once: the chat row is updated only while still WAITING, so exactly
/// one wins and the other gets ALREADY_ACCEPTED.
#[instrument(skip(db, principal), fields(chat_id = chat_id.0, agent_id = principal.agent_id.0))]
pub async fn accept(
    db: &DatabaseConnection,
    principal: &Principal,
    chat_id: ChatId,
) -> DomainResult<chats::Model> {
    let me = principal.agent_id;
    let txn = crate::db::write(db).await?;
    let chat = chats::Entity::find_by_id(chat_id.0).one(&txn).await?.ok_or(DomainError::NotFound("chat"))?;
    // Offered or directed to me and not lapsed. An offer closed because someone else took the
    // chat still counts, so a loser of a race hears ALREADY_ACCEPTED, not FORBIDDEN.
    let offered = assignments::Entity::find()
        .filter(assignments::Column::ChatId.eq(chat.id))
        .filter(assignments::Column::AgentId.eq(me.0))
        .filter(assignments::Column::Kind.is_in([AssignmentKind::Offer, AssignmentKind::Direction]))
        .filter(
            sea_orm::Condition::any()
                .add(assignments::Column::EndedAt.is_null())
                .add(assignments::Column::Outcome.eq(AssignmentOutcome::TakenByOther)),
        )
        .count(&txn)
        .await?
        > 0;
    if !offered && !principal.is_supervisor() {
        return Err(DomainError::Forbidden("this chat was not offered to you".into()));
    }
    match chat.status {
        ChatStatus::Waiting => {}
        ChatStatus::InProgress => return Err(DomainError::AlreadyAccepted),
        other => {
            return Err(DomainError::InvalidState(format!("a {} chat cannot be accepted", other.as_str())));
        }
    }
    // A chat directed to me already counts toward my capacity (directed + in progress), so
    // accepting it never needs room; an offered one does.
    let directed_to_me = chat.directed_agent_id == Some(me.0);
    if principal.role == Role::Agent && !directed_to_me && !has_room(&txn, me).await? {
        return Err(DomainError::InvalidState(
            "you hold as many chats as SimultaneousChats allows; complete one first".into(),
        ));
    }
    let now = crate::clock::now();
    // Compare-and-set: the row changes only if it is still WAITING. A concurrent accept that
    // committed first makes this update touch nothing.
    let updated = chats::Entity::update_many()
        .col_expr(chats::Column::Status, Expr::value(ChatStatus::InProgress))
        .col_expr(chats::Column::OwnerId, Expr::value(me.0))
        .col_expr(chats::Column::DirectedAgentId, Expr::value(Option::<i64>::None))
        .col_expr(chats::Column::AcceptedAt, Expr::value(now))
        .col_expr(chats::Column::UpdatedAt, Expr::value(now))
        .filter(chats::Column::Id.eq(chat.id))
        .filter(chats::Column::Status.eq(ChatStatus::Waiting))
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(DomainError::AlreadyAccepted);
    }
    agents::Entity::update_many()
        .col_expr(agents::Column::LastAcceptedAt, Expr::value(now))
        .filter(agents::Column::Id.eq(me.0))
        .exec(&txn)
        .await?;
    let dropped = close_assignments(
        &txn,
        chat.id,
        Some(me),
        AssignmentOutcome::Accepted,
        AssignmentOutcome::TakenByOther,
    )
    .await?;
    let mut acceptance = record_assignment(&txn, &chat, Some(me), AssignmentKind::Acceptance, None).await?;
    acceptance.outcome = Some(AssignmentOutcome::Accepted);
    assignments::Entity::update_many()
        .col_expr(assignments::Column::Outcome, Expr::value(AssignmentOutcome::Accepted))
        .col_expr(assignments::Column::EndedAt, Expr::value(now))
        .filter(assignments::Column::Id.eq(acceptance.id))
        .exec(&txn)
        .await?;
    let subjects = Subjects { agent: Some(me), chat: Some(chat_id), queue: Some(QueueId(chat.queue_id)) };
    events::record(&txn, EventKind::ChatAccepted, subjects, serde_json::json!({ "agentId": me.0 })).await?;
    tell_dropped(&txn, &chat, &dropped, "TAKEN_BY_OTHER").await?;
    let accepted =
        chats::Entity::find_by_id(chat.id).one(&txn).await?.ok_or(DomainError::NotFound("chat"))?;
    txn.commit().await?;
    Ok(accepted)
}

/// Completes a chat: the owner (IN_PROGRESS) or a supervisor (any open chat). Frees the owner,
/// so waiting chats are routed again.
#[instrument(skip(db, principal), fields(chat_id = chat_id.0, agent_id = principal.agent_id.0))]
pub async fn complete(
    db: &DatabaseConnection,
    principal: &Principal,
    chat_id: ChatId,
) -> DomainResult<AfterCommit<chats::Model>> {
    let txn = crate::db::write(db).await?;
    let chat =
        super::chats::get_visible(&txn, principal, chat_id).await?.ok_or(DomainError::NotFound("chat"))?;
    let is_owner = chat.owner_id == Some(principal.agent_id.0);
    if !is_owner && !principal.is_supervisor() {
        return Err(DomainError::Forbidden("only the chat's owner or a supervisor may complete it".into()));
    }
    if chat.status == ChatStatus::Completed {
        return Err(DomainError::InvalidState("the chat is already completed".into()));
    }
    let reason = if is_owner { CompletionReason::Agent } else { CompletionReason::Supervisor };
    finish(&txn, &chat, reason).await?;
    let done = chats::Entity::find_by_id(chat.id).one(&txn).await?.ok_or(DomainError::NotFound("chat"))?;
    txn.commit().await?;
    Ok(AfterCommit::new(done, Reroute::agents(chat.owner_id.map(AgentId))))
}

/// Completes a chat row (compare-and-set on "not completed") and closes its assignments, in
/// the caller's transaction.
pub(super) async fn finish(
    db: &impl ConnectionTrait,
    chat: &chats::Model,
    reason: CompletionReason,
) -> DomainResult<()> {
    let open = chats::Entity::find_by_id(chat.id)
        .filter(chats::Column::Status.ne(ChatStatus::Completed))
        .one(db)
        .await?
        .ok_or_else(|| DomainError::InvalidState("the chat is already completed".into()))?;
    let dropped =
        close_assignments(db, chat.id, None, AssignmentOutcome::Completed, AssignmentOutcome::Withdrawn)
            .await?;
    ingest::complete(db, &open, reason).await?;
    tell_dropped(db, chat, &dropped, "COMPLETED").await?;
    // A transfer goes on in the child chat, and the chatbot holds the thread already when it
    // took it back or its own chat timed out; any other end hands a chatbot's thread back.
    let bot_holds_it = matches!(reason, CompletionReason::BotTookBack | CompletionReason::BotTimeout);
    if reason != CompletionReason::Transferred && !bot_holds_it {
        super::messages::queue_hand_back(db, &open).await?;
    }
    Ok(())
}
