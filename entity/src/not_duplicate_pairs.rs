//! `not_duplicate_pairs`: Contact pairs marked as not duplicates (always `contact_a_id < contact_b_id`).

use sea_orm::entity::prelude::*;

/// A row of `not_duplicate_pairs`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "not_duplicate_pairs")]
pub struct Model {
    /// Contact with the smaller id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub contact_a_id: i64,
    /// Contact with the larger id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub contact_b_id: i64,
    /// When the pair was marked.
    pub created_at: DateTimeUtc,
}

/// Relations of `not_duplicate_pairs`.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// `contact_a_id` → `contacts`.
    #[sea_orm(
        belongs_to = "super::contacts::Entity",
        from = "Column::ContactAId",
        to = "super::contacts::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_not_duplicate_pairs_contact_a_id"
    )]
    ContactA,
    /// `contact_b_id` → `contacts`.
    #[sea_orm(
        belongs_to = "super::contacts::Entity",
        from = "Column::ContactBId",
        to = "super::contacts::Column::Id",
        on_delete = "Cascade",
        fk_name = "fk_not_duplicate_pairs_contact_b_id"
    )]
    ContactB,
}

impl ActiveModelBehavior for ActiveModel {}
