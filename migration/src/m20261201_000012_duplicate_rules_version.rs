//! A version of the duplicate rules, so servers may keep the rules in memory and still never
//! search with stale ones (`api/src/domain/contacts/rules_cache.rs`).
//!
//! `duplicate_rules_version` holds one row whose `version` is a random text, replaced by a
//! trigger in the same transaction as every change to `duplicate_rules` (insert, update,
//! delete; on PostgreSQL also truncate), whoever makes it — the API, an operator's SQL, a later
//! migration. Each similar-contact search reads the version in the same statement, so it can
//! tell whether the rules it was built from are the ones stored. The version is random rather
//! than a counter because one process may talk to several databases (the tests do): a version
//! names one state of the rules of one database, not a position in a sequence.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

/// Creates `duplicate_rules_version` and the triggers that replace its version.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// SQLite triggers fire on one kind of change each.
const SQLITE_EVENTS: [(&str, &str); 3] = [("insert", "INSERT"), ("update", "UPDATE"), ("delete", "DELETE")];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DuplicateRulesVersion::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(DuplicateRulesVersion::Id)
                            .integer()
                            .not_null()
                            .primary_key()
                            .check(Expr::col(DuplicateRulesVersion::Id).eq(1)),
                    )
                    .col(ColumnDef::new(DuplicateRulesVersion::Version).text().not_null())
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        match db.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "INSERT INTO duplicate_rules_version (id, version) VALUES (1, gen_random_uuid()::text)",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE OR REPLACE FUNCTION duplicate_rules_changed() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN UPDATE duplicate_rules_version SET version = gen_random_uuid()::text; RETURN NULL; END $$",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER trg_duplicate_rules_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE \
                     ON duplicate_rules FOR EACH STATEMENT EXECUTE FUNCTION duplicate_rules_changed()",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "INSERT INTO duplicate_rules_version (id, version) VALUES (1, lower(hex(randomblob(16))))",
                )
                .await?;
                for (name, event) in SQLITE_EVENTS {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER trg_duplicate_rules_version_{name} AFTER {event} ON duplicate_rules \
                         BEGIN UPDATE duplicate_rules_version SET version = lower(hex(randomblob(16))); END"
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match db.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "DROP TRIGGER IF EXISTS trg_duplicate_rules_version ON duplicate_rules",
                )
                .await?;
                db.execute_unprepared("DROP FUNCTION IF EXISTS duplicate_rules_changed()").await?;
            }
            _ => {
                for (name, _) in SQLITE_EVENTS {
                    db.execute_unprepared(&format!(
                        "DROP TRIGGER IF EXISTS trg_duplicate_rules_version_{name}"
                    ))
                    .await?;
                }
            }
        }
        manager.drop_table(Table::drop().table(DuplicateRulesVersion::Table).if_exists().to_owned()).await
    }
}

/// `duplicate_rules_version` table and columns.
#[derive(DeriveIden)]
enum DuplicateRulesVersion {
    Table,
    Id,
    Version,
}
