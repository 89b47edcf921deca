//! `cases`: Customer cases (tickets), optionally raised from a chat.

use crate::enums::{CaseSource, CaseStatus};
use sea_orm::entity::prelude::*;

/// A row of `cases`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "cases")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Unique human-readable number, e.g. `CS-000042`.
    #[sea_orm(unique)]
    pub number: String,
    /// Subject.
    pub subject: String,
    /// Description.
    #[sea_orm(column_type = "Text")]
    pub description: String,
    /// Where the case was raised.
    pub source: CaseSource,
    /// When the case was registered.
    pub registered_at: DateTimeUtc,
    /// Life-cycle state.
    pub status: CaseStatus,
    /// Contact concerned.
    pub contact_id: Option<i64>,
    /// Account concerned.
    pub account_id: Option<i64>,
    /// Agent in charge.
    pub assignee_id: Option<i64>,
    /// Chat the case was raised from.
    pub chat_id: Option<i64>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last update time.
    pub updated_at: DateTimeUtc,
}

/// Relations of `cases`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// `contact_id` → `contacts`.
    #[sea_orm(
        belongs_to = "super::contacts::Entity",
        from = "Column::ContactId",
        to = "super::contacts::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_cases_contact_id"
    )]
    Contacts,
    /// `account_id` → `accounts`.
    #[sea_orm(
        belongs_to = "super::accounts::Entity",
        from = "Column::AccountId",
        to = "super::accounts::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_cases_account_id"
    )]
    Accounts,
    /// `assignee_id` → `agents`.
    #[sea_orm(
        belongs_to = "super::agents::Entity",
        from = "Column::AssigneeId",
        to = "super::agents::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_cases_assignee_id"
    )]
    Agents,
    /// `chat_id` → `chats`.
    #[sea_orm(
        belongs_to = "super::chats::Entity",
        from = "Column::ChatId",
        to = "super::chats::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_cases_chat_id"
    )]
    Chats,
}

impl Related<super::contacts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Contacts.def()
    }
}

impl Related<super::accounts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Accounts.def()
    }
}

impl Related<super::agents::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Agents.def()
    }
}

impl Related<super::chats::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Chats.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
