//! The chat lifecycle after routing: accept, complete, transfer, and the time limits.

use entity::enums::{AgentStatus, AssignmentKind, AssignmentOutcome, ChatStatus, CompletionReason, Role};
use entity::{agents, assignments, channels, chats, queue_agents};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use tracing::instrument;

use super::assignments::record_assignment;
use super::error::{DomainError, DomainResult};
use super::ids::{AgentId, ChatId, QueueId};
use super::reroute::{AfterCommit, Reroute};
use super::sessions::Principal;
use super::{ingest, presence, settings};
use crate::db::locked;
use crate::events::{self, EventKind, Subjects};

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

/// Where a chat is transferred to.
#[derive(Clone, Copy, Debug)]
pub enum TransferTarget {
    /// An agent, who owns the child chat at once.
    Agent(AgentId),
    /// A queue, whose rule routes the child chat.
    Queue(QueueId),
}

/// Transfers an IN_PROGRESS chat (owner or supervisor). The chat completes (TRANSFERRED) and
/// a child chat opens: IN_PROGRESS for an agent, WAITING (and routed) in a queue. Allowed
/// targets: an agent other than me who is not CHATS_EXCEEDED; a queue with at least one agent
/// other than me. Refused targets: TARGET_UNAVAILABLE, nothing changed.
#[instrument(skip(db, principal), fields(chat_id = chat_id.0, agent_id = principal.agent_id.0))]
pub async fn transfer(
    db: &DatabaseConnection,
    principal: &Principal,
    chat_id: ChatId,
    target: TransferTarget,
) -> DomainResult<AfterCommit<chats::Model>> {
    let me = principal.agent_id;
    let txn = crate::db::write(db).await?;
    let chat =
        super::chats::get_visible(&txn, principal, chat_id).await?.ok_or(DomainError::NotFound("chat"))?;
    if chat.owner_id != Some(me.0) && !principal.is_supervisor() {
        return Err(DomainError::Forbidden("only the chat's owner or a supervisor may transfer it".into()));
    }
    if chat.status != ChatStatus::InProgress {
        return Err(DomainError::InvalidState(format!(
            "only IN_PROGRESS chats can be transferred; this one is {}",
            chat.status.as_str()
        )));
    }
    let channel = channels::Entity::find_by_id(chat.channel_id)
        .one(&txn)
        .await?
        .ok_or(DomainError::NotFound("channel"))?;
    let unavailable = |why: &str| DomainError::TargetUnavailable(why.to_owned());
    let now = crate::clock::now();
    let child_status;
    let mut child_queue = chat.queue_id;
    let mut child_owner = None;
    match target {
        TransferTarget::Agent(agent) => {
            if agent == me || Some(agent.0) == chat.owner_id {
                return Err(unavailable("a chat cannot be transferred to its own owner"));
            }
            let target_row = locked(&txn, agents::Entity::find_by_id(agent.0))
                .one(&txn)
                .await?
                .ok_or(DomainError::NotFound("agent"))?;
            if !target_row.enabled || !matches!(target_row.role, Role::Agent | Role::Supervisor | Role::Admin)
            {
                return Err(unavailable("that agent cannot take chats"));
            }
            if !has_room(&txn, agent).await? {
                return Err(unavailable("that agent is at capacity (CHATS_EXCEEDED)"));
            }
            child_status = ChatStatus::InProgress;
            child_owner = Some(agent);
        }
        TransferTarget::Queue(queue) => {
            super::queues::get(&txn, queue).await?.ok_or(DomainError::NotFound("queue"))?;
            let others = queue_agents::Entity::find()
                .filter(queue_agents::Column::QueueId.eq(queue.0))
                .filter(queue_agents::Column::AgentId.ne(me.0))
                .count(&txn)
                .await?;
            if others == 0 {
                return Err(unavailable("that queue has no agent besides you"));
            }
            child_status = ChatStatus::Waiting;
            child_queue = queue.0;
        }
    }
    finish(&txn, &chat, CompletionReason::Transferred).await?;
    let mut transfer = record_assignment(&txn, &chat, child_owner, AssignmentKind::Transfer, None).await?;
    transfer.outcome = Some(AssignmentOutcome::Transferred);
    assignments::Entity::update_many()
        .col_expr(assignments::Column::Outcome, Expr::value(AssignmentOutcome::Transferred))
        .col_expr(assignments::Column::QueueId, Expr::value(child_queue))
        .col_expr(assignments::Column::EndedAt, Expr::value(now))
        .filter(assignments::Column::Id.eq(transfer.id))
        .exec(&txn)
        .await?;
    let mut routed_channel = channel.clone();
    routed_channel.queue_id = child_queue;
    let child = ingest::create_chat(
        &txn,
        super::ids::ContactId(chat.contact_id),
        &routed_channel,
        child_status,
        Some(chat_id),
    )
    .await?;
    if let Some(owner) = child_owner {
        chats::Entity::update_many()
            .col_expr(chats::Column::OwnerId, Expr::value(owner.0))
            .col_expr(chats::Column::AcceptedAt, Expr::value(now))
            .col_expr(chats::Column::LastMessageAt, Expr::value(chat.last_message_at))
            .filter(chats::Column::Id.eq(child.id))
            .exec(&txn)
            .await?;
    }
    let subjects =
        Subjects { agent: child_owner, chat: Some(ChatId(child.id)), queue: Some(QueueId(child_queue)) };
    let payload = serde_json::json!({ "fromChatId": chat.id, "fromAgentId": chat.owner_id, "toAgentId": child_owner.map(|a| a.0), "toQueueId": child_queue });
    events::record(&txn, EventKind::ChatTransferred, subjects, payload).await?;
    let child = chats::Entity::find_by_id(child.id).one(&txn).await?.ok_or(DomainError::NotFound("chat"))?;
    txn.commit().await?;
    let waiting = (child.status == ChatStatus::Waiting).then_some(ChatId(child.id));
    let reroute = Reroute::chats(waiting).and(Reroute::agents(chat.owner_id.map(AgentId)));
    Ok(AfterCommit::new(child, reroute))
}

/// Who and where a chat could be transferred to, by the rules of [`transfer`].
pub async fn transfer_targets(
    db: &impl ConnectionTrait,
    principal: &Principal,
    chat_id: ChatId,
) -> DomainResult<(Vec<agents::Model>, Vec<entity::queues::Model>)> {
    let chat =
        super::chats::get_visible(db, principal, chat_id).await?.ok_or(DomainError::NotFound("chat"))?;
    let me = principal.agent_id.0;
    let owner = chat.owner_id.unwrap_or(me);
    let staff = agents::Entity::find()
        .filter(agents::Column::Enabled.eq(true))
        .filter(agents::Column::Role.is_in([Role::Agent, Role::Supervisor, Role::Admin]))
        .filter(agents::Column::Id.ne(owner))
        .order_by_asc(agents::Column::Name)
        .all(db)
        .await?;
    let ids: Vec<AgentId> = staff.iter().map(|a| AgentId(a.id)).collect();
    let presences = presence::presences(db, &ids).await?;
    let limits = settings::load(db).await?;
    let agents = staff
        .into_iter()
        .filter(|a| {
            !limits.at_capacity(presences.get(&AgentId(a.id)).copied().unwrap_or_default().open_chats)
        })
        .collect();
    let members =
        queue_agents::Entity::find().filter(queue_agents::Column::AgentId.ne(owner)).all(db).await?;
    let queue_ids: std::collections::HashSet<i64> = members.into_iter().map(|m| m.queue_id).collect();
    let queues = entity::queues::Entity::find()
        .filter(entity::queues::Column::Id.is_in(queue_ids))
        .order_by_asc(entity::queues::Column::Name)
        .all(db)
        .await?;
    Ok((agents, queues))
}

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
        super::sessions::record_status(&txn, agent, AgentStatus::Inactive, "ACCEPT_TIMEOUT").await?;
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
