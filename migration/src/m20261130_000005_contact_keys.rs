//! Contacts as the customer record: a home phone, merges, and normalised match keys.
//!
//! Similar-contact search and contact search must not scan `contacts`: every contact's
//! normalised name, name words, e-mail and phones are kept in `contact_keys`, indexed by
//! `(field, value)`, and written in the same transaction as the contact. The normalisation
//! lives in the server (`domain/contacts/normalize.rs`); `contacts.keys_version` says which
//! version of it a contact's keys were made with, so the server re-keys older rows at start
//! (the rows created before this migration have version 0).
//!
//! A merged contact is kept as a tombstone pointing at the contact it was merged into
//! (`merged_into_id`), so stale ids get a clear answer instead of NOT_FOUND.
//!
//! The six default duplicate rules of DESIGN §1 are seeded here.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_integer_null, integer, string, string_null};

/// Adds `contacts.home_phone`, `contacts.merged_into_id`, `contacts.keys_version`, the
/// `contact_keys` table and the default duplicate rules.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// The default rules: (name, fields). Field names are `domain::contacts::rules::Field`'s.
const DEFAULT_RULES: [(&str, &str); 6] = [
    ("Full name and any phone", r#"["NAME","ANY_PHONE"]"#),
    ("Full name and email", r#"["NAME","EMAIL"]"#),
    ("Mobile phone", r#"["MOBILE_PHONE"]"#),
    ("Business phone", r#"["BUSINESS_PHONE"]"#),
    ("Email", r#"["EMAIL"]"#),
    ("Full name in either word order", r#"["NAME"]"#),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        for column in [
            string_null(Contacts::HomePhone),
            big_integer_null(Contacts::MergedIntoId),
            integer(Contacts::KeysVersion).default(0).to_owned(),
        ] {
            manager.alter_table(Table::alter().table(Contacts::Table).add_column(column).to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(ContactKeys::Table)
                    .if_not_exists()
                    .col(string(ContactKeys::Field))
                    .col(string(ContactKeys::Value))
                    .col(big_integer(ContactKeys::ContactId))
                    .primary_key(
                        Index::create()
                            .col(ContactKeys::Field)
                            .col(ContactKeys::Value)
                            .col(ContactKeys::ContactId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_contact_keys_contact_id")
                            .from(ContactKeys::Table, ContactKeys::ContactId)
                            .to(Contacts::Table, Contacts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_contact_keys_contact_id")
                    .table(ContactKeys::Table)
                    .col(ContactKeys::ContactId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        // Contact lists are ordered by name, then id.
        manager
            .create_index(
                Index::create()
                    .name("idx_contacts_name_id")
                    .table(Contacts::Table)
                    .col(Contacts::Name)
                    .col(Contacts::Id)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        // The rules' fields are constants (no quotes in them), written as SQL literals: text on
        // SQLite, cast to `jsonb` on PostgreSQL.
        let postgres =
            manager.get_database_backend() == sea_orm_migration::sea_orm::DatabaseBackend::Postgres;
        for (name, fields) in DEFAULT_RULES {
            let insert = Query::insert()
                .into_table(DuplicateRules::Table)
                .columns([
                    DuplicateRules::Name,
                    DuplicateRules::Fields,
                    DuplicateRules::Enabled,
                    DuplicateRules::CreatedAt,
                ])
                .values_panic([
                    name.into(),
                    if postgres {
                        Expr::cust(format!("CAST('{fields}' AS jsonb)"))
                    } else {
                        Expr::cust(format!("'{fields}'"))
                    }
                    .into(),
                    true.into(),
                    Expr::current_timestamp().into(),
                ])
                .on_conflict(OnConflict::column(DuplicateRules::Name).do_nothing().to_owned())
                .to_owned();
            manager.exec_stmt(insert).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ContactKeys::Table).to_owned()).await?;
        manager
            .drop_index(Index::drop().name("idx_contacts_name_id").table(Contacts::Table).to_owned())
            .await?;
        for column in [Contacts::KeysVersion, Contacts::MergedIntoId, Contacts::HomePhone] {
            manager.alter_table(Table::alter().table(Contacts::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}

/// `contacts` table and the columns added here.
#[derive(DeriveIden)]
enum Contacts {
    Table,
    Id,
    Name,
    HomePhone,
    MergedIntoId,
    KeysVersion,
}

/// `contact_keys` table and columns.
#[derive(DeriveIden)]
enum ContactKeys {
    Table,
    Field,
    Value,
    ContactId,
}

/// `duplicate_rules` table and columns.
#[derive(DeriveIden)]
enum DuplicateRules {
    Table,
    Name,
    Fields,
    Enabled,
    CreatedAt,
}
