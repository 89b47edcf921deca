//! `contacts`: Customers who write to Switchboard through a channel.

use sea_orm::entity::prelude::*;

/// A row of `contacts`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "contacts")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Avatar URL.
    #[sea_orm(column_type = "Text")]
    pub photo_url: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Mobile phone number.
    pub mobile_phone: Option<String>,
    /// Business phone number.
    pub business_phone: Option<String>,
    /// Home phone number.
    pub home_phone: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// Account the contact belongs to.
    pub account_id: Option<i64>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last update time.
    pub updated_at: DateTimeUtc,
    /// The contact this one was merged into; a merged contact is a tombstone.
    pub merged_into_id: Option<i64>,
    /// Version of the normalisation its `contact_keys` were made with (0: none yet).
    pub keys_version: i32,
}

/// Relations of `contacts`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// `account_id` → `accounts`.
    #[sea_orm(
        belongs_to = "super::accounts::Entity",
        from = "Column::AccountId",
        to = "super::accounts::Column::Id",
        on_delete = "SetNull",
        fk_name = "fk_contacts_account_id"
    )]
    Accounts,
    /// `contact_identities` rows whose `contact_id` points here.
    #[sea_orm(has_many = "super::contact_identities::Entity")]
    ContactIdentities,
    /// `contact_keys` rows whose `contact_id` points here.
    #[sea_orm(has_many = "super::contact_keys::Entity")]
    ContactKeys,
    /// `chats` rows whose `contact_id` points here.
    #[sea_orm(has_many = "super::chats::Entity")]
    Chats,
    /// `cases` rows whose `contact_id` points here.
    #[sea_orm(has_many = "super::cases::Entity")]
    Cases,
    /// `not_duplicate_pairs` rows whose `contact_a_id` points here.
    #[sea_orm(has_many = "super::not_duplicate_pairs::Entity", via_rel = "Relation::ContactA")]
    NotDuplicatePairsAsA,
    /// `not_duplicate_pairs` rows whose `contact_b_id` points here.
    #[sea_orm(has_many = "super::not_duplicate_pairs::Entity", via_rel = "Relation::ContactB")]
    NotDuplicatePairsAsB,
}

impl Related<super::accounts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Accounts.def()
    }
}

impl Related<super::contact_identities::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ContactIdentities.def()
    }
}

impl Related<super::chats::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Chats.def()
    }
}

impl Related<super::cases::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Cases.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
