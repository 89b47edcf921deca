//! Cases: customer issues with a number, raised from a chat ("Create case", DESIGN §1 Chat
//! actions) and worked through NEW → IN_PROGRESS → RESOLVED → CLOSED.
//!
//! The mapping from a chat is exact: subject = the text of the chat's first message (its own
//! messages, not a transfer parent's); description = the customer's (incoming) messages that
//! arrived before the first agent reply, one per line, or all of them when nobody has replied
//! yet; source CHAT, registered now, status NEW, the chat's contact, that contact's account,
//! the chat's owner as assignee, and the chat itself.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::enums::{AuthorKind, CaseSource, CaseStatus, Direction, Role};
use entity::{agents, attachments, cases, chats, contacts, messages};
use sea_orm::sea_query::{Expr, ExprTrait, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, NotSet, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set, TransactionSession, TransactionTrait,
};
use serde_json::json;
use tracing::instrument;

use super::accounts::AccountId;
use super::chats::readable_by_agent;
use super::error::{DomainError, DomainResult};
use super::ids::{AgentId, ChatId, ContactId, QueueId};
use super::pagination::{Page, PageOf};
use super::sessions::Principal;
use crate::events::{self, EventKind, Subjects};

/// A case's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseId(pub i64);

impl std::fmt::Display for CaseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Longest subject, in characters. A longer first message is cut (ending in `…`); its whole
/// text stays in the description when the customer wrote it.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Longest description, in characters (a case from a very long conversation is cut, ending in `…`).
pub const MAX_DESCRIPTION_CHARS: usize = 20_000;
/// The line a message without text or file name stands for (an image without a caption
/// whose file name the provider did not give, a location...).
pub const NO_TEXT: &str = "(no text)";

/// The human-readable number of the case with row id `id`: `CS-` and at least six digits.
/// Derived from the id, which the database hands out uniquely, so two cases created at the
/// same moment never share a number.
pub fn number_of(id: i64) -> String {
    format!("CS-{id:06}")
}

/// The position of a status in the life cycle; a case only moves to a later one.
fn rank(status: CaseStatus) -> u8 {
    match status {
        CaseStatus::New => 0,
        CaseStatus::InProgress => 1,
        CaseStatus::Resolved => 2,
        CaseStatus::Closed => 3,
    }
}

/// Whether a case may go from `from` to `to`: forward only (steps may be skipped, e.g. NEW →
/// RESOLVED), or staying where it is.
pub fn may_move(from: CaseStatus, to: CaseStatus) -> bool {
    rank(to) >= rank(from)
}

/// `text` cut to `max` characters, the last one being `…` when anything was cut.
fn capped(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// What one message contributes to a case: its trimmed text, else its first file's name,
/// else [`NO_TEXT`].
fn line_of(message: &messages::Model, file_name: Option<&str>) -> String {
    let text = message.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let file = file_name.map(str::trim).filter(|f| !f.is_empty());
    text.or(file).unwrap_or(NO_TEXT).to_owned()
}

/// Whether a message is an agent's reply: outgoing and written by an agent (on this server,
/// or in the provider's own inbox). Bot echoes and system notices are not replies.
fn is_agent_reply(message: &messages::Model) -> bool {
    message.direction == Direction::Outgoing && message.author_kind == AuthorKind::Agent
}

/// The subject and description of a case from a chat's messages (in id order, each with its
/// first attachment's file name), by the mapping in the module documentation. The subject
/// is the first message's line with runs of white space (line breaks included) made one
/// space, cut to [`MAX_SUBJECT_CHARS`]; a chat without messages gives [`NO_TEXT`].
pub fn subject_and_description(messages: &[(messages::Model, Option<String>)]) -> (String, String) {
    let subject = match messages.first() {
        Some((first, file)) => {
            let line = line_of(first, file.as_deref());
            capped(&line.split_whitespace().collect::<Vec<_>>().join(" "), MAX_SUBJECT_CHARS)
        }
        None => NO_TEXT.to_owned(),
    };
    let description = messages
        .iter()
        .take_while(|(message, _)| !is_agent_reply(message))
        .filter(|(message, _)| message.direction == Direction::Incoming)
        .map(|(message, file)| line_of(message, file.as_deref()))
        .collect::<Vec<_>>()
        .join("\n");
    (subject, capped(&description, MAX_DESCRIPTION_CHARS))
}

/// Whose cases a reader sees: everyone's (supervisors, admins, analysts), an agent's own
/// share, or none (bots).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reader {
    /// Every case.
    Everyone,
    /// The cases an agent may read: assigned to them, or of a chat or contact they may read.
    Agent(AgentId),
    /// No case.
    Nobody,
}

impl Reader {
    /// The reader a principal is.
    pub fn of(principal: &Principal) -> Self {
        match principal.role {
            Role::Supervisor | Role::Admin | Role::Analyst => Self::Everyone,
            Role::Agent => Self::Agent(principal.agent_id),
            Role::Bot => Self::Nobody,
        }
    }

    /// The reader's rule as a condition on `cases`.
    pub fn condition(self) -> Condition {
        match self {
            Self::Everyone => Condition::all(),
            Self::Agent(me) => {
                let readable = |column: chats::Column| -> SelectStatement {
                    chats::Entity::find()
                        .select_only()
                        .column(column)
                        .filter(readable_by_agent(me))
                        .into_query()
                };
                Condition::any()
                    .add(cases::Column::AssigneeId.eq(me.0))
                    .add(cases::Column::ChatId.in_subquery(readable(chats::Column::Id)))
                    .add(cases::Column::ContactId.in_subquery(readable(chats::Column::ContactId)))
            }
            // `1 = 0`: a condition no row meets.
            Self::Nobody => Condition::all().add(ExprTrait::eq(Expr::val(1), 0)),
        }
    }
}

/// One case by id, if the principal may read it.
pub async fn get_visible(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: CaseId,
) -> DomainResult<Option<cases::Model>> {
    Ok(cases::Entity::find_by_id(id.0).filter(Reader::of(principal).condition()).one(db).await?)
}

/// What `cases(filter:)` narrows by; every field given must hold.
#[derive(Clone, Debug, Default)]
pub struct CaseFilter {
    /// In this status.
    pub status: Option<CaseStatus>,
    /// Assigned to this agent.
    pub assignee: Option<AgentId>,
    /// About this contact.
    pub contact: Option<ContactId>,
    /// About this account.
    pub account: Option<AccountId>,
    /// Registered at or after this time.
    pub registered_from: Option<DateTime<Utc>>,
    /// Registered before this time.
    pub registered_to: Option<DateTime<Utc>>,
}

impl CaseFilter {
    /// The filter as a condition on `cases` (every given field must hold).
    pub fn condition(&self) -> Condition {
        let mut all = Condition::all();
        if let Some(status) = self.status {
            all = all.add(cases::Column::Status.eq(status));
        }
        if let Some(assignee) = self.assignee {
            all = all.add(cases::Column::AssigneeId.eq(assignee.0));
        }
        if let Some(contact) = self.contact {
            all = all.add(cases::Column::ContactId.eq(contact.0));
        }
        if let Some(account) = self.account {
            all = all.add(cases::Column::AccountId.eq(account.0));
        }
        if let Some(from) = self.registered_from {
            all = all.add(cases::Column::RegisteredAt.gte(from));
        }
        if let Some(to) = self.registered_to {
            all = all.add(cases::Column::RegisteredAt.lt(to));
        }
        all
    }
}

/// The cases the principal may read that pass `filter`, newest first (by id, descending),
/// a page at a time: `page.after` is the id of the last case of the previous page.
pub async fn list(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: &CaseFilter,
    page: Page,
) -> DomainResult<PageOf<cases::Model>> {
    let mut query =
        cases::Entity::find().filter(Reader::of(principal).condition()).filter(filter.condition());
    if let Some(after) = page.after {
        query = query.filter(cases::Column::Id.lt(after));
    }
    let rows = query.order_by_desc(cases::Column::Id).limit(page.limit + 1).all(db).await?;
    Ok(PageOf::from_overfetch(rows, page.limit))
}

/// Several chats by id (the chats cases were raised from); unknown ids are skipped. No read
/// rule: for readers who read every chat.
pub async fn chats(db: &impl ConnectionTrait, ids: &[ChatId]) -> DomainResult<Vec<chats::Model>> {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    Ok(chats::Entity::find().filter(chats::Column::Id.is_in(ids)).all(db).await?)
}

/// The cases of several chats that `reader` may read, newest first within each chat.
pub async fn of_chats(
    db: &impl ConnectionTrait,
    reader: Reader,
    chats: &[ChatId],
) -> DomainResult<HashMap<ChatId, Vec<cases::Model>>> {
    let ids: Vec<i64> = chats.iter().map(|id| id.0).collect();
    let rows = cases::Entity::find()
        .filter(cases::Column::ChatId.is_in(ids))
        .filter(reader.condition())
        .order_by_desc(cases::Column::Id)
        .all(db)
        .await?;
    let mut out: HashMap<ChatId, Vec<cases::Model>> = chats.iter().map(|id| (*id, Vec::new())).collect();
    for row in rows {
        if let Some(chat) = row.chat_id {
            out.entry(ChatId(chat)).or_default().push(row);
        }
    }
    Ok(out)
}

/// The cases of several contacts that `reader` may read, newest first within each contact.
pub async fn of_contacts(
    db: &impl ConnectionTrait,
    reader: Reader,
    contacts: &[ContactId],
) -> DomainResult<HashMap<ContactId, Vec<cases::Model>>> {
    let ids: Vec<i64> = contacts.iter().map(|id| id.0).collect();
    let rows = cases::Entity::find()
        .filter(cases::Column::ContactId.is_in(ids))
        .filter(reader.condition())
        .order_by_desc(cases::Column::Id)
        .all(db)
        .await?;
    let mut out: HashMap<ContactId, Vec<cases::Model>> =
        contacts.iter().map(|id| (*id, Vec::new())).collect();
    for row in rows {
        if let Some(contact) = row.contact_id {
            out.entry(ContactId(contact)).or_default().push(row);
        }
    }
    Ok(out)
}

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
    let chat =
        super::chats::get_visible(&txn, principal, chat_id).await?.ok_or(DomainError::NotFound("chat"))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: i64, direction: Direction, author: AuthorKind, text: Option<&str>) -> messages::Model {
        messages::Model {
            id,
            chat_id: 1,
            channel_id: 1,
            direction,
            author_kind: author,
            author_agent_id: None,
            kind: entity::enums::MessageKind::Text,
            text: text.map(str::to_owned),
            provider_message_id: None,
            delivery_status: None,
            delivery_error: None,
            edited_at: None,
            created_at: crate::clock::now(),
        }
    }

    fn incoming(id: i64, text: &str) -> (messages::Model, Option<String>) {
        (message(id, Direction::Incoming, AuthorKind::Contact, Some(text)), None)
    }

    #[test]
    fn description_stops_at_the_first_agent_reply() {
        let chat = vec![
            incoming(1, "My order is late"),
            incoming(2, "It was due Monday"),
            (message(3, Direction::Outgoing, AuthorKind::Bot, Some("bot says hi")), None),
            incoming(4, "Order 1234"),
            (message(5, Direction::Outgoing, AuthorKind::Agent, Some("Looking into it")), None),
            incoming(6, "Thanks"),
        ];
        let (subject, description) = subject_and_description(&chat);
        assert_eq!(subject, "My order is late");
        assert_eq!(description, "My order is late\nIt was due Monday\nOrder 1234");
        // No reply yet: every incoming message.
        let (_, so_far) = subject_and_description(&chat[..2]);
        assert_eq!(so_far, "My order is late\nIt was due Monday");
    }

    #[test]
    fn subjects_are_one_line_and_capped_and_textless_messages_have_a_fallback() {
        let long = "word ".repeat(100);
        let (subject, description) =
            subject_and_description(&[incoming(1, &format!("  Line one\n\n{long}"))]);
        assert_eq!(subject.chars().count(), MAX_SUBJECT_CHARS);
        assert!(subject.starts_with("Line one word") && subject.ends_with('…'));
        assert!(description.starts_with("Line one\n\nword"), "the full text stays in the description");
        let photo =
            (message(1, Direction::Incoming, AuthorKind::Contact, None), Some("receipt.jpg".to_owned()));
        let blank = (message(2, Direction::Incoming, AuthorKind::Contact, Some("  ")), None);
        let (subject, description) = subject_and_description(&[photo, blank]);
        assert_eq!(subject, "receipt.jpg");
        assert_eq!(description, format!("receipt.jpg\n{NO_TEXT}"));
        assert_eq!(subject_and_description(&[]), (NO_TEXT.to_owned(), String::new()));
    }

    #[test]
    fn statuses_move_forward_only() {
        use CaseStatus::*;
        assert!(may_move(New, InProgress) && may_move(InProgress, Resolved) && may_move(Resolved, Closed));
        assert!(may_move(New, Closed), "forward steps may be skipped");
        assert!(may_move(Resolved, Resolved));
        assert!(!may_move(Closed, Resolved) && !may_move(InProgress, New));
    }

    #[test]
    fn numbers_come_from_ids() {
        assert_eq!(number_of(42), "CS-000042");
        assert_eq!(number_of(1_234_567), "CS-1234567");
    }
}
