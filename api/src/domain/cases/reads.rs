//! Reading cases: who sees which, filtered lists, the cases of chats and of contacts.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::enums::{CaseStatus, Role};
use entity::{cases, chats};
use sea_orm::sea_query::{Expr, ExprTrait, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};

use crate::domain::accounts::AccountId;
use crate::domain::chats::readable_by_agent;
use crate::domain::error::DomainResult;
use crate::domain::ids::{AgentId, ChatId, ContactId};
use crate::domain::pagination::{Page, PageOf};
use crate::domain::sessions::Principal;

use super::CaseId;

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
