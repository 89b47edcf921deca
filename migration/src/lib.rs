//! SeaORM migrations for Switchboard: the only way the schema changes (append-only).

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_create_domain;
mod m20261124_000002_open_chat_unique;
mod m20261124_000003_panel_indexes;
mod m20261130_000004_persisted_queries;
mod m20261130_000005_contact_keys;
mod m20261130_000006_cases;
mod m20261130_000007_history;
mod m20261201_000008_history_plans;
mod m20261201_000009_initiate;
mod m20261201_000010_chat_actions;
mod m20261201_000011_bot_rules;
mod m20261201_000012_duplicate_rules_version;
mod m20261201_000013_waiting_index;

/// Runs every migration of the crate, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_create_domain::Migration),
            Box::new(m20261124_000002_open_chat_unique::Migration),
            Box::new(m20261124_000003_panel_indexes::Migration),
            Box::new(m20261130_000004_persisted_queries::Migration),
            Box::new(m20261130_000005_contact_keys::Migration),
            Box::new(m20261130_000006_cases::Migration),
            Box::new(m20261130_000007_history::Migration),
            Box::new(m20261201_000008_history_plans::Migration),
            Box::new(m20261201_000009_initiate::Migration),
            Box::new(m20261201_000010_chat_actions::Migration),
            Box::new(m20261201_000011_bot_rules::Migration),
            Box::new(m20261201_000012_duplicate_rules_version::Migration),
            Box::new(m20261201_000013_waiting_index::Migration),
        ]
    }
}
