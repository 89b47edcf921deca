//! Assignment rows — offers, directions, acceptances, transfers — written by routing and the
//! chat lifecycle, and withdrawn when an agent stops taking chats.

use chrono::Utc;
use entity::enums::{AssignmentKind, ChatStatus};
use entity::{assignments, chats};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, NotSet, QueryFilter, Set};

use super::ids::{AgentId, ChatId, QueueId};
use super::reroute::Reroute;
use crate::events::{self, EventKind, Subjects};

/// Writes an assignment row.
pub async fn record_assignment(
    db: &impl ConnectionTrait,
    chat: &chats::Model,
    agent: Option<AgentId>,
    kind: AssignmentKind,
    deadline: Option<chrono::DateTime<Utc>>,
) -> Result<assignments::Model, sea_orm::DbErr> {
    assignments::ActiveModel {
        id: NotSet,
        chat_id: Set(chat.id),
        agent_id: Set(agent.map(|a| a.0)),
        queue_id: Set(Some(chat.queue_id)),
        kind: Set(kind),
        outcome: Set(None),
        created_at: Set(crate::clock::now()),
        deadline: Set(deadline),
        ended_at: Set(None),
    }
    .insert(db)
    .await
}

/// Withdraws what was offered or directed to an agent who stopped taking chats (went INACTIVE
/// or signed out): open offers end WITHDRAWN (their panels drop them), directed chats are
/// released without penalty. Returns the released chats, to route again after the commit.
pub async fn withdraw_from(db: &impl ConnectionTrait, agent: AgentId) -> Result<Reroute, sea_orm::DbErr> {
    let open = assignments::Entity::find()
        .filter(assignments::Column::AgentId.eq(agent.0))
        .filter(assignments::Column::EndedAt.is_null())
        .filter(assignments::Column::Kind.is_in([AssignmentKind::Offer, AssignmentKind::Direction]))
        .all(db)
        .await?;
    let now = crate::clock::now();
    let mut released_chats = Vec::new();
    for row in open {
        assignments::Entity::update_many()
            .col_expr(assignments::Column::Outcome, Expr::value(entity::enums::AssignmentOutcome::Withdrawn))
            .col_expr(assignments::Column::EndedAt, Expr::value(now))
            .filter(assignments::Column::Id.eq(row.id))
            .exec(db)
            .await?;
        if row.kind == AssignmentKind::Direction {
            let released = chats::Entity::update_many()
                .col_expr(chats::Column::DirectedAgentId, Expr::value(Option::<i64>::None))
                .col_expr(chats::Column::UpdatedAt, Expr::value(now))
                .filter(chats::Column::Id.eq(row.chat_id))
                .filter(chats::Column::Status.eq(ChatStatus::Waiting))
                .filter(chats::Column::DirectedAgentId.eq(agent.0))
                .exec(db)
                .await?;
            if released.rows_affected > 0 {
                released_chats.push(ChatId(row.chat_id));
            }
        }
        let subjects = Subjects {
            agent: Some(agent),
            chat: Some(ChatId(row.chat_id)),
            queue: row.queue_id.map(QueueId),
        };
        events::record(db, EventKind::ChatTaken, subjects, serde_json::json!({ "reason": "WITHDRAWN" }))
            .await?;
    }
    Ok(Reroute::chats(released_chats))
}
