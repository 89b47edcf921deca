//! `contact_identities`: A contact's identity on one channel kind (e.g. a WhatsApp number).

use crate::enums::ChannelKind;
use sea_orm::entity::prelude::*;

/// A row of `contact_identities`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "contact_identities")]
pub struct Model {
    /// Primary key.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Contact this identity belongs to.
    pub contact_id: i64,
    /// Provider of the identity.
    pub channel_kind: ChannelKind,
    /// Provider-side id of the contact (unique per channel kind).
    pub external_id: String,
    /// Creation time.
    pub created_at: DateTimeUtc,
}

/// Relations of `contact_identities`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// `contact_id` → `contacts`.
    #[sea_orm(
        belongs_to = "super::contacts::Entity",
        from = "Column::ContactId",
        to = "super::contacts::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_contact_identities_contact_id"
    )]
    Contacts,
}

impl Related<super::contacts::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Contacts.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
