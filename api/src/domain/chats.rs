//! Reading chats, their messages and contacts, with who may see what.

use entity::enums::ChatStatus;
use entity::{chats, contacts, messages};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::error::DomainResult;
use super::ids::{ChatId, ContactId};
use super::pagination::{Page, PageOf};
use super::sessions::Principal;
use entity::enums::Role;

/// Whether `principal` may read `chat`: supervisors, admins and analysts read every chat; an
/// agent reads the chats they own or that are directed to them.
pub fn may_read(principal: &Principal, chat: &chats::Model) -> bool {
    match principal.role {
        Role::Supervisor | Role::Admin | Role::Analyst => true,
        Role::Agent => {
            let me = Some(principal.agent_id.0);
            chat.owner_id == me || chat.directed_agent_id == me
        }
        Role::Bot => false,
    }
}

/// One chat by id, if the principal may read it: by [`may_read`], or as an agent the waiting
/// chat is currently offered to.
pub async fn get_visible(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: ChatId,
) -> DomainResult<Option<chats::Model>> {
    let Some(chat) = chats::Entity::find_by_id(id.0).one(db).await? else { return Ok(None) };
    if may_read(principal, &chat) {
        return Ok(Some(chat));
    }
    if principal.role != Role::Agent || chat.status != ChatStatus::Waiting {
        return Ok(None);
    }
    let offered = entity::assignments::Entity::find()
        .filter(entity::assignments::Column::ChatId.eq(chat.id))
        .filter(entity::assignments::Column::AgentId.eq(principal.agent_id.0))
        .filter(entity::assignments::Column::EndedAt.is_null())
        .one(db)
        .await?
        .is_some();
    Ok(offered.then_some(chat))
}

/// The chats a principal may read, newest id last, optionally of one status.
pub async fn list_visible(
    db: &impl ConnectionTrait,
    principal: &Principal,
    status: Option<ChatStatus>,
    page: Page,
) -> DomainResult<PageOf<chats::Model>> {
    let mut query = chats::Entity::find().order_by_asc(chats::Column::Id);
    match principal.role {
        Role::Supervisor | Role::Admin | Role::Analyst => {}
        Role::Agent => {
            let me = principal.agent_id.0;
            query = query.filter(
                Condition::any()
                    .add(chats::Column::OwnerId.eq(me))
                    .add(chats::Column::DirectedAgentId.eq(me)),
            );
        }
        Role::Bot => return Ok(PageOf { items: Vec::new(), has_next: false }),
    }
    if let Some(status) = status {
        query = query.filter(chats::Column::Status.eq(status));
    }
    if let Some(after) = page.after {
        query = query.filter(chats::Column::Id.gt(after));
    }
    let rows = query.limit(page.limit + 1).all(db).await?;
    Ok(PageOf::from_overfetch(rows, page.limit))
}

/// A chat's messages in the order they were written, a page at a time.
pub async fn messages(
    db: &impl ConnectionTrait,
    chat: ChatId,
    page: Page,
) -> DomainResult<PageOf<messages::Model>> {
    let mut query = messages::Entity::find()
        .filter(messages::Column::ChatId.eq(chat.0))
        .order_by_asc(messages::Column::Id);
    if let Some(after) = page.after {
        query = query.filter(messages::Column::Id.gt(after));
    }
    let rows = query.limit(page.limit + 1).all(db).await?;
    Ok(PageOf::from_overfetch(rows, page.limit))
}

/// The newest `limit` messages before `before` (exclusive), oldest first; `has_next` here
/// means older messages exist.
pub async fn latest_messages(
    db: &impl ConnectionTrait,
    chat: ChatId,
    before: Option<i64>,
    limit: u64,
) -> DomainResult<PageOf<messages::Model>> {
    let mut query = messages::Entity::find()
        .filter(messages::Column::ChatId.eq(chat.0))
        .order_by_desc(messages::Column::Id);
    if let Some(before) = before {
        query = query.filter(messages::Column::Id.lt(before));
    }
    let rows = query.limit(limit + 1).all(db).await?;
    let mut page = PageOf::from_overfetch(rows, limit);
    page.items.reverse();
    Ok(page)
}

/// Several contacts by id; unknown ids are skipped.
pub async fn contacts(db: &impl ConnectionTrait, ids: &[ContactId]) -> DomainResult<Vec<contacts::Model>> {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    Ok(contacts::Entity::find().filter(contacts::Column::Id.is_in(ids)).all(db).await?)
}
