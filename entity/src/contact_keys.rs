//! `contact_keys`: A contact's normalised values (name, name words, e-mail, phones), indexed
//! for similar-contact and contact search.

use sea_orm::entity::prelude::*;

/// A row of `contact_keys`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contact_keys")]
pub struct Model {
    /// Which value: `NAME`, `NAME_WORD`, `EMAIL`, `MOBILE_PHONE`, `BUSINESS_PHONE`, `HOME_PHONE`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub field: String,
    /// The normalised value.
    #[sea_orm(primary_key, auto_increment = false)]
    pub value: String,
    /// The contact.
    #[sea_orm(primary_key, auto_increment = false)]
    pub contact_id: i64,
}

/// Relations of `contact_keys`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// `contact_id` → `contacts`.
    #[sea_orm(
        belongs_to = "super::contacts::Entity",
        from = "Column::ContactId",
        to = "super::contacts::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_contact_keys_contact_id"
    )]
    Contacts,
}

impl Related<super::contacts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Contacts.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
