//! Contacts: the customers behind the chats — who they are on each channel, who may read
//! them, how they are found, compared, changed and merged. Every rule about contacts lives
//! here or in the modules beside it:
//!
//! - `identities`: the contact behind a channel identity, created on first contact, and the
//!   provider's profile filling in what is missing (enrichment);
//! - `normalize` and `keys`: values as compared, kept indexed in `contact_keys`;
//! - `search`: `contacts(search)` by name, phone or e-mail;
//! - `rules`, `rules_cache` and `similar`: duplicate rules (kept in memory, never stale) and
//!   similar contacts;
//! - `update`, `merge`: changing and merging contacts, with their events.

pub mod identities;
pub mod keys;
pub mod merge;
pub mod normalize;
pub mod rules;
pub mod rules_cache;
pub mod search;
pub mod similar;
pub mod update;

use entity::enums::{ChatStatus, Role};
use entity::{chats, contacts};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::chats::readable_by_agent;
use super::error::{DomainError, DomainResult};
use super::ids::{AgentId, ChatId, ContactId, QueueId};
use super::pagination::{Page, PageOf};
use super::sessions::Principal;
use crate::events::{self, EventKind, Subjects};

/// Whether `principal` may read the contact: supervisors, admins and analysts read every
/// contact; an agent reads a contact only while they may read one of its chats (owned,
/// directed to them, or offered to them while it waits — the rule of `chats::get_visible`).
pub async fn may_read(db: &impl ConnectionTrait, principal: &Principal, id: ContactId) -> DomainResult<bool> {
    match principal.role {
        Role::Supervisor | Role::Admin | Role::Analyst => Ok(true),
        Role::Bot => Ok(false),
        Role::Agent => {
            let chat = entity::chats::Entity::find()
                .select_only()
                .column(entity::chats::Column::Id)
                .filter(entity::chats::Column::ContactId.eq(id.0))
                .filter(readable_by_agent(principal.agent_id))
                .limit(1)
                .into_tuple::<i64>()
                .one(db)
                .await?;
            Ok(chat.is_some())
        }
    }
}

/// One contact by id, if the principal may read it (see [`may_read`]).
pub async fn get_visible(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: ContactId,
) -> DomainResult<Option<contacts::Model>> {
    if !may_read(db, principal, id).await? {
        return Ok(None);
    }
    Ok(contacts::Entity::find_by_id(id.0).one(db).await?)
}

/// One contact by id for a change: NOT_FOUND when unknown or unreadable, MERGE_CONFLICT-style
/// `Merged` when it was merged into another.
pub async fn get_for_change(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: ContactId,
) -> DomainResult<contacts::Model> {
    let contact = get_visible(db, principal, id).await?.ok_or(DomainError::NotFound("contact"))?;
    if let Some(into) = contact.merged_into_id {
        return Err(DomainError::ContactMerged { contact: id.0, into });
    }
    Ok(contact)
}

/// The contact's timeline: every chat on every channel, completed ones included, newest
/// first; `page.after` is the id of the last chat of the previous page.
pub async fn timeline(
    db: &impl ConnectionTrait,
    id: ContactId,
    page: Page,
) -> DomainResult<PageOf<chats::Model>> {
    let rows = timeline_query(id, page).all(db).await?;
    Ok(PageOf::from_overfetch(rows, page.limit))
}

/// The statement of [`timeline`] (one row more than the page, to know whether more follow).
/// Public so that its query plan can be checked.
pub fn timeline_query(id: ContactId, page: Page) -> sea_orm::Select<chats::Entity> {
    let mut query =
        chats::Entity::find().filter(chats::Column::ContactId.eq(id.0)).order_by_desc(chats::Column::Id);
    if let Some(after) = page.after {
        query = query.filter(chats::Column::Id.lt(after));
    }
    query.limit(page.limit + 1)
}

/// How many chats the contact's timeline holds.
pub async fn timeline_count(db: &impl ConnectionTrait, id: ContactId) -> DomainResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(chats::Entity::find().filter(chats::Column::ContactId.eq(id.0)).count(db).await?)
}

/// Records `kind` on every open chat of `contacts` (each with its queue and owner, so the
/// chat, queue and agent streams showing it hear of it); returns how many were recorded.
pub async fn record_on_open_chats(
    db: &impl ConnectionTrait,
    kind: EventKind,
    contacts: &[i64],
    payload: serde_json::Value,
) -> Result<usize, sea_orm::DbErr> {
    let open = chats::Entity::find()
        .filter(chats::Column::ContactId.is_in(contacts.iter().copied()))
        .filter(chats::Column::Status.ne(ChatStatus::Completed))
        .order_by_asc(chats::Column::Id)
        .all(db)
        .await?;
    for chat in &open {
        let subjects = Subjects {
            chat: Some(ChatId(chat.id)),
            queue: Some(QueueId(chat.queue_id)),
            agent: chat.owner_id.or(chat.directed_agent_id).map(AgentId),
        };
        events::record(db, kind, subjects, payload.clone()).await?;
    }
    Ok(open.len())
}
