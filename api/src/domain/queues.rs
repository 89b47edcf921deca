//! Queues: their routing rule, completion timeout and members.

use std::collections::HashMap;

use entity::enums::RoutingRule;
use entity::{queue_agents, queues};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, NotSet, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionSession, TransactionTrait,
};
use tracing::instrument;

use super::error::{DomainError, DomainResult, classify};
use super::ids::{AgentId, QueueId};
use super::pagination::{Page, PageOf};
use super::reroute::{AfterCommit, Reroute};

const NAME_TAKEN: &str = "a queue with this name already exists";

/// A new queue.
#[derive(Clone, Debug)]
pub struct NewQueue {
    /// Unique name.
    pub name: String,
    /// How new chats reach agents.
    pub routing_rule: RoutingRule,
    /// Minutes after the last agent reply before a chat completes; `None` = never.
    pub completion_timeout_minutes: Option<i64>,
    /// The agents serving the queue.
    pub agent_ids: Vec<AgentId>,
}

/// Changes to a queue; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct QueueChange {
    /// New name.
    pub name: Option<String>,
    /// New routing rule.
    pub routing_rule: Option<RoutingRule>,
    /// `Some(None)` clears the timeout.
    pub completion_timeout_minutes: Option<Option<i64>>,
    /// Replaces the member list.
    pub agent_ids: Option<Vec<AgentId>>,
}

fn valid_name(name: &str) -> DomainResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DomainError::invalid("queue name must be 1 to 100 characters"));
    }
    Ok(name.to_owned())
}

fn valid_timeout(minutes: Option<i64>) -> DomainResult<Option<i32>> {
    match minutes {
        None => Ok(None),
        Some(m) if (1..=525_600).contains(&m) => Ok(Some(m as i32)),
        Some(m) => Err(DomainError::invalid(format!(
            "completionTimeoutMinutes must be between 1 and 525600, or null for never (got {m})"
        ))),
    }
}

/// Creates a queue with its members, in one transaction.
#[instrument(skip_all)]
pub async fn create(db: &impl TransactionTrait, new: NewQueue) -> DomainResult<queues::Model> {
    let name = valid_name(&new.name)?;
    let timeout = valid_timeout(new.completion_timeout_minutes)?;
    let txn = crate::db::write(db).await?;
    let now = crate::clock::now();
    let queue = queues::ActiveModel {
        id: NotSet,
        name: Set(name),
        routing_rule: Set(new.routing_rule),
        completion_timeout_minutes: Set(timeout),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|err| classify(err, NAME_TAKEN))?;
    set_members(&txn, QueueId(queue.id), &new.agent_ids).await?;
    txn.commit().await?;
    Ok(queue)
}

/// Applies changes to a queue, in one transaction.
#[instrument(skip_all, fields(queue_id = id.0))]
pub async fn update(
    db: &sea_orm::DatabaseConnection,
    id: QueueId,
    change: QueueChange,
) -> DomainResult<AfterCommit<queues::Model>> {
    let name = change.name.as_deref().map(valid_name).transpose()?;
    let timeout = change.completion_timeout_minutes.map(valid_timeout).transpose()?;
    let txn = crate::db::write(db).await?;
    let current = get(&txn, id).await?.ok_or(DomainError::NotFound("queue"))?;
    let mut row: queues::ActiveModel = current.into();
    if let Some(name) = name {
        row.name = Set(name);
    }
    if let Some(rule) = change.routing_rule {
        row.routing_rule = Set(rule);
    }
    if let Some(timeout) = timeout {
        row.completion_timeout_minutes = Set(timeout);
    }
    row.updated_at = Set(crate::clock::now());
    let updated = row.update(&txn).await.map_err(|err| classify(err, NAME_TAKEN))?;
    if let Some(agent_ids) = &change.agent_ids {
        set_members(&txn, id, agent_ids).await?;
    }
    txn.commit().await?;
    // New members or a new rule may take the chats that were waiting.
    Ok(AfterCommit::new(updated, Reroute::queue(id)))
}

/// Replaces a queue's members. Unknown agents are refused.
async fn set_members(db: &impl ConnectionTrait, queue: QueueId, agents: &[AgentId]) -> DomainResult<()> {
    let mut wanted: Vec<i64> = agents.iter().map(|id| id.0).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let known = super::agents::get_many(db, agents).await?;
    if known.len() != wanted.len() {
        return Err(DomainError::NotFound("agent"));
    }
    // Agents who leave the queue lose what membership gave them (watching the queue): their
    // open subscriptions re-check their access when this event reaches them.
    let current = members_of(db, &[queue]).await?.remove(&queue).unwrap_or_default();
    for gone in current.iter().filter(|agent| wanted.binary_search(&agent.0).is_err()) {
        super::sessions::record_access_changed(db, *gone, "LEFT_QUEUE").await?;
    }
    queue_agents::Entity::delete_many().filter(queue_agents::Column::QueueId.eq(queue.0)).exec(db).await?;
    if wanted.is_empty() {
        return Ok(());
    }
    let now = crate::clock::now();
    let rows = wanted.into_iter().map(|agent_id| queue_agents::ActiveModel {
        queue_id: Set(queue.0),
        agent_id: Set(agent_id),
        created_at: Set(now),
    });
    queue_agents::Entity::insert_many(rows).exec(db).await?;
    Ok(())
}

/// One queue by id.
pub async fn get(db: &impl ConnectionTrait, id: QueueId) -> DomainResult<Option<queues::Model>> {
    Ok(queues::Entity::find_by_id(id.0).one(db).await?)
}

/// Several queues by id; unknown ids are skipped.
pub async fn get_many(db: &impl ConnectionTrait, ids: &[QueueId]) -> DomainResult<Vec<queues::Model>> {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    Ok(queues::Entity::find().filter(queues::Column::Id.is_in(ids)).all(db).await?)
}

/// Queues in id order, a page at a time.
pub async fn list(db: &impl ConnectionTrait, page: Page) -> DomainResult<PageOf<queues::Model>> {
    let mut query = queues::Entity::find().order_by_asc(queues::Column::Id);
    if let Some(after) = page.after {
        query = query.filter(queues::Column::Id.gt(after));
    }
    let rows = query.limit(page.limit + 1).all(db).await?;
    Ok(PageOf::from_overfetch(rows, page.limit))
}

/// Members of several queues, by queue, in agent id order.
pub async fn members_of(
    db: &impl ConnectionTrait,
    queues: &[QueueId],
) -> DomainResult<HashMap<QueueId, Vec<AgentId>>> {
    let ids: Vec<i64> = queues.iter().map(|id| id.0).collect();
    let rows = queue_agents::Entity::find()
        .filter(queue_agents::Column::QueueId.is_in(ids))
        .order_by_asc(queue_agents::Column::AgentId)
        .all(db)
        .await?;
    let mut out: HashMap<QueueId, Vec<AgentId>> = queues.iter().map(|id| (*id, Vec::new())).collect();
    for row in rows {
        out.entry(QueueId(row.queue_id)).or_default().push(AgentId(row.agent_id));
    }
    Ok(out)
}

/// Queues of several agents, by agent, in queue id order.
pub async fn queues_of(
    db: &impl ConnectionTrait,
    agents: &[AgentId],
) -> DomainResult<HashMap<AgentId, Vec<QueueId>>> {
    let mut out: HashMap<AgentId, Vec<QueueId>> = agents.iter().map(|id| (*id, Vec::new())).collect();
    if agents.is_empty() {
        return Ok(out);
    }
    let ids: Vec<i64> = agents.iter().map(|id| id.0).collect();
    let rows: Vec<(i64, i64)> = queue_agents::Entity::find()
        .select_only()
        .column(queue_agents::Column::AgentId)
        .column(queue_agents::Column::QueueId)
        .filter(queue_agents::Column::AgentId.is_in(ids))
        .order_by_asc(queue_agents::Column::QueueId)
        .into_tuple()
        .all(db)
        .await?;
    for (agent, queue) in rows {
        out.entry(AgentId(agent)).or_default().push(QueueId(queue));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_must_be_positive() {
        assert!(valid_timeout(Some(-5)).is_err());
        assert!(valid_timeout(Some(0)).is_err());
        assert_eq!(valid_timeout(Some(30)).unwrap(), Some(30));
        assert_eq!(valid_timeout(None).unwrap(), None);
    }
}
