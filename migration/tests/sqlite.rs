//! Runs the migrations up, down and up again on SQLite (and on PostgreSQL when
//! `MIGRATION_TEST_PG_URL` is set).

use migration::{Migrator, MigratorTrait};
use sea_orm_migration::sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

/// Applies every migration, rolls them all back, then applies them again.
async fn up_down_up(db: &DatabaseConnection) {
    Migrator::up(db, None).await.expect("first up");
    assert!(Migrator::get_pending_migrations(db).await.expect("pending").is_empty());
    Migrator::down(db, None).await.expect("down");
    Migrator::up(db, None).await.expect("second up");
}

/// Counts the rows a scalar `SELECT count(*)` returns.
async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("query")
        .expect("row");
    row.try_get_by_index::<i64>(0).expect("count")
}

#[tokio::test]
async fn sqlite_up_down_up() {
    let db = Database::connect("sqlite::memory:").await.expect("connect");
    up_down_up(&db).await;

    // 29 domain tables plus seaql_migrations.
    let tables = count(
        &db,
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> 'seaql_migrations'",
    )
    .await;
    assert_eq!(tables, 29);

    let indexes = count(
        &db,
        "SELECT count(*) FROM sqlite_master WHERE type = 'index' \
         AND (name LIKE 'idx_%' OR name LIKE 'uq_%')",
    )
    .await;
    assert_eq!(indexes, 53);

    let fks = count(
        &db,
        "SELECT count(*) FROM sqlite_master m, pragma_foreign_key_list(m.name) f \
         WHERE m.type = 'table'",
    )
    .await;
    assert_eq!(fks, 39);
}

#[tokio::test]
async fn postgres_up_down_up() {
    // Never skipped: scripts/test.sh provides the database, and a missing one is a failure.
    let url = std::env::var("MIGRATION_TEST_PG_URL")
        .expect("MIGRATION_TEST_PG_URL is not set: run scripts/test.sh, which starts PostgreSQL");
    let db = Database::connect(&url).await.expect("connect");
    Migrator::fresh(&db).await.expect("fresh");
    up_down_up(&db).await;

    let tables = count(
        &db,
        "SELECT count(*) FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_name <> 'seaql_migrations'",
    )
    .await;
    assert_eq!(tables, 29);

    let indexes = count(
        &db,
        "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() \
         AND (indexname LIKE 'idx\\_%' OR indexname LIKE 'uq\\_%')",
    )
    .await;
    assert_eq!(indexes, 53);

    let fks = count(
        &db,
        "SELECT count(*) FROM information_schema.table_constraints \
         WHERE table_schema = current_schema() AND constraint_type = 'FOREIGN KEY' \
         AND constraint_name LIKE 'fk\\_%'",
    )
    .await;
    assert_eq!(fks, 39);
}
