//! Writing cases: one raised from a chat, and changes to one, each in one transaction with
//! its event.

use std::collections::HashMap;

use entity::enums::{AuthorKind, CaseSource, CaseStatus, Direction, Role};
use entity::{agents, attachments, cases, contacts, messages};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, NotSet, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionSession, TransactionTrait,
};
use serde_json::json;
use tracing::instrument;

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{AgentId, ChatId, QueueId};
use crate::domain::sessions::Principal;
use crate::events::{self, EventKind, Subjects};

use super::reads::get_visible;
use super::{CaseId, MAX_DESCRIPTION_CHARS, MAX_SUBJECT_CHARS, may_move, number_of, subject_and_description};

/// Creates a case from a chat by the mapping in the module documentation, in one transaction
/// with its `CASE_CREATED` event (subjects: the chat, its queue and its owner; details:
/// `caseId`, `number`). The chat's owner, supervisors and admins may; a chat the caller may
/// not read is NotFound (as `chat(id)` answers), one they read but do not own Forbidden.
#[instrument(skip(db, principal), fields(chat_id = chat_id.0, agent_id = principal.agent_id.0))]
pub async fn create_from_chat(
    db: &impl TransactionTrait,
    principal: &Principal,
    chat_id: ChatId,
) -> DomainResult<cases::Model> {
    if !matches!(principal.role, Role::Agent | Role::Supervisor | Role::Admin) {
        return Err(DomainError::Forbidden(format!(
            "the {} role may not create cases",
            principal.role.as_str()
        )));
    }
    let txn = crate::db::write(db).await?;
    let chat = crate::domain::chats::get_visible(&txn, principal, chat_id)
        .await?
        .ok_or(DomainError::NotFound("chat"))?;
    if !principal.is_supervisor() && chat.owner_id != Some(principal.agent_id.0) {
        return Err(DomainError::Forbidden(
            "only the chat's owner, a supervisor or an admin may create a case from it".into(),
        ));
    }
    let (subject, description) = subject_and_description(&mapped_messages(&txn, chat.id).await?);
    let account = contacts::Entity::find_by_id(chat.contact_id).one(&txn).await?.and_then(|c| c.account_id);
    let now = crate::clock::now();
    // The number is derived from the id, known only after the insert: a placeholder that is
    // unique by construction holds the unique column until the update just below, inside
    // the same transaction, so no reader ever sees it.
    let inserted = cases::ActiveModel {
        id: NotSet,
        number: Set(format!("pending-{}", uuid::Uuid::new_v4().simple())),
        subject: Set(subject),
        description: Set(description),
        source: Set(CaseSource::Chat),
        registered_at: Set(now),
        status: Set(CaseStatus::New),
        contact_id: Set(Some(chat.contact_id)),
        account_id: Set(account),
        assignee_id: Set(chat.owner_id),
        chat_id: Set(Some(chat.id)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let number = number_of(inserted.id);
    let mut row: cases::ActiveModel = inserted.into();
    row.number = Set(number.clone());
    let case = row.update(&txn).await?;
    let subjects = Subjects {
        agent: chat.owner_id.map(AgentId),
        chat: Some(ChatId(chat.id)),
        queue: Some(QueueId(chat.queue_id)),
    };
    events::record(&txn, EventKind::CaseCreated, subjects, json!({ "caseId": case.id, "number": number }))
        .await?;
    txn.commit().await?;
    Ok(case)
}

/// The messages the mapping needs, in id order: every message up to and including the first
/// agent reply (all of them when there is none), each with its first attachment's file name
/// when it has no text.
async fn mapped_messages(
    db: &impl ConnectionTrait,
    chat: i64,
) -> DomainResult<Vec<(messages::Model, Option<String>)>> {
    let first_reply = messages::Entity::find()
        .select_only()
        .column(messages::Column::Id)
        .filter(messages::Column::ChatId.eq(chat))
        .filter(messages::Column::Direction.eq(Direction::Outgoing))
        .filter(messages::Column::AuthorKind.eq(AuthorKind::Agent))
        .order_by_asc(messages::Column::Id)
        .limit(1)
        .into_tuple::<i64>()
        .one(db)
        .await?;
    let mut query =
        messages::Entity::find().filter(messages::Column::ChatId.eq(chat)).order_by_asc(messages::Column::Id);
    if let Some(reply) = first_reply {
        query = query.filter(messages::Column::Id.lte(reply));
    }
    let rows = query.all(db).await?;
    let textless: Vec<i64> =
        rows.iter().filter(|m| m.text.as_deref().is_none_or(|t| t.trim().is_empty())).map(|m| m.id).collect();
    let mut files: HashMap<i64, String> = HashMap::new();
    if !textless.is_empty() {
        let found = attachments::Entity::find()
            .filter(attachments::Column::MessageId.is_in(textless))
            .filter(attachments::Column::FileName.is_not_null())
            .order_by_asc(attachments::Column::Id)
            .all(db)
            .await?;
        for attachment in found {
            if let Some(name) = attachment.file_name {
                files.entry(attachment.message_id).or_insert(name);
            }
        }
    }
    Ok(rows
        .into_iter()
        .map(|message| {
            let file = files.remove(&message.id);
            (message, file)
        })
        .collect())
}

/// Changes to a case; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct CaseChange {
    /// A later status (or the same one).
    pub status: Option<CaseStatus>,
    /// An enabled agent, supervisor or admin to assign it to.
    pub assignee: Option<AgentId>,
    /// A new subject (trimmed, 1 to [`MAX_SUBJECT_CHARS`] characters).
    pub subject: Option<String>,
    /// A new description (up to [`MAX_DESCRIPTION_CHARS`] characters; may be empty).
    pub description: Option<String>,
}

fn valid_subject(subject: &str) -> DomainResult<String> {
    let subject = subject.trim();
    if subject.is_empty() || subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(DomainError::invalid(format!("subject must be 1 to {MAX_SUBJECT_CHARS} characters")));
    }
    Ok(subject.to_owned())
}

fn valid_description(description: &str) -> DomainResult<String> {
    let description = description.trim();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(DomainError::invalid(format!(
            "description must be at most {MAX_DESCRIPTION_CHARS} characters"
        )));
    }
    Ok(description.to_owned())
}

/// Updates a case: its assignee, supervisors and admins may (analysts and bots never); a case
/// the caller may not read is NotFound, one they read but are not assigned Forbidden. The
/// status moves forward only (INVALID_STATE otherwise); the new assignee must be an existing
/// (NotFound), enabled agent, supervisor or admin (BAD_USER_INPUT otherwise).
#[instrument(skip(db, principal, change), fields(case_id = id.0, agent_id = principal.agent_id.0))]
pub async fn update(
    db: &impl TransactionTrait,
    principal: &Principal,
    id: CaseId,
    change: CaseChange,
) -> DomainResult<cases::Model> {
    if !matches!(principal.role, Role::Agent | Role::Supervisor | Role::Admin) {
        return Err(DomainError::Forbidden(format!(
            "the {} role may not change cases",
            principal.role.as_str()
        )));
    }
    let subject = change.subject.as_deref().map(valid_subject).transpose()?;
    let description = change.description.as_deref().map(valid_description).transpose()?;
    let txn = crate::db::write(db).await?;
    let current = get_visible(&txn, principal, id).await?.ok_or(DomainError::NotFound("case"))?;
    if !principal.is_supervisor() && current.assignee_id != Some(principal.agent_id.0) {
        return Err(DomainError::Forbidden(
            "only the case's assignee, a supervisor or an admin may change it".into(),
        ));
    }
    if let Some(status) = change.status
        && !may_move(current.status, status)
    {
        return Err(DomainError::InvalidState(format!(
            "a {} case cannot go back to {}; statuses move NEW → IN_PROGRESS → RESOLVED → CLOSED",
            current.status.as_str(),
            status.as_str()
        )));
    }
    if let Some(assignee) = change.assignee {
        let agent =
            agents::Entity::find_by_id(assignee.0).one(&txn).await?.ok_or(DomainError::NotFound("agent"))?;
        if !agent.enabled || !matches!(agent.role, Role::Agent | Role::Supervisor | Role::Admin) {
            return Err(DomainError::invalid(
                "a case can only be assigned to an enabled agent, supervisor or admin",
            ));
        }
    }
    let mut update = cases::Entity::update_many()
        .col_expr(cases::Column::UpdatedAt, Expr::value(crate::clock::now()))
        .filter(cases::Column::Id.eq(current.id))
        // Compare-and-set on the status read above: a concurrent move (say to CLOSED) that
        // committed first makes this touch nothing, so a status never goes backwards.
        .filter(cases::Column::Status.eq(current.status));
    if let Some(status) = change.status {
        update = update.col_expr(cases::Column::Status, Expr::value(status));
    }
    if let Some(assignee) = change.assignee {
        update = update.col_expr(cases::Column::AssigneeId, Expr::value(assignee.0));
    }
    if let Some(subject) = subject {
        update = update.col_expr(cases::Column::Subject, Expr::value(subject));
    }
    if let Some(description) = description {
        update = update.col_expr(cases::Column::Description, Expr::value(description));
    }
    if update.exec(&txn).await?.rows_affected == 0 {
        return Err(DomainError::Conflict("the case changed meanwhile; read it again and retry".into()));
    }
    let updated =
        cases::Entity::find_by_id(current.id).one(&txn).await?.ok_or(DomainError::NotFound("case"))?;
    txn.commit().await?;
    Ok(updated)
}
