//! Contacts: the customers behind the chats, and who may read them.

use entity::contacts;
use entity::enums::Role;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::chats::readable_by_agent;
use super::error::DomainResult;
use super::ids::ContactId;
use super::sessions::Principal;

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
