//! Transfers: a chat handed to another agent or queue, as a child chat.

use entity::enums::{AssignmentKind, AssignmentOutcome, ChatStatus, CompletionReason, Role};
use entity::{agents, assignments, channels, chats, queue_agents};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use tracing::instrument;

use crate::db::locked;
use crate::domain::assignments::record_assignment;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{AgentId, ChatId, QueueId};
use crate::domain::reroute::{AfterCommit, Reroute};
use crate::domain::sessions::Principal;
use crate::domain::{ingest, presence, settings};
use crate::events::{self, EventKind, Subjects};

use super::{finish, has_room};

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
    let chat = crate::domain::chats::get_visible(&txn, principal, chat_id)
        .await?
        .ok_or(DomainError::NotFound("chat"))?;
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
            crate::domain::queues::get(&txn, queue).await?.ok_or(DomainError::NotFound("queue"))?;
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
        crate::domain::ids::ContactId(chat.contact_id),
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
    let chat = crate::domain::chats::get_visible(db, principal, chat_id)
        .await?
        .ok_or(DomainError::NotFound("chat"))?;
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
