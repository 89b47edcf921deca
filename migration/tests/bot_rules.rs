//! Migration 000011 dates the bot chats opened before bot chats had a time limit: the queue's
//! completion timeout (60 minutes without one) after their last message, or their creation.

use migration::{Migrator, MigratorTrait};
use sea_orm_migration::sea_orm::{ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, Statement};

const AT: &str = "'2026-06-01T09:00:00+00:00'";

async fn run(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql).await.unwrap_or_else(|err| panic!("{sql}: {err}"));
}

/// The chat's close deadline as text (SQLite stores it so; PostgreSQL shows it in UTC).
async fn deadline(db: &DatabaseConnection, chat: i64) -> Option<String> {
    let sql = match db.get_database_backend() {
        DatabaseBackend::Postgres => format!(
            "SELECT to_char(close_deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"+00:00\"') \
             FROM chats WHERE id = {chat}"
        ),
        _ => format!("SELECT close_deadline FROM chats WHERE id = {chat}"),
    };
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("query")
        .expect("row");
    row.try_get_by_index::<Option<String>>(0).expect("close_deadline")
}

/// How many migrations come before 000011 (later ones run after it in the test, harmlessly).
fn before_this() -> u32 {
    let position = Migrator::migrations()
        .iter()
        .position(|migration| migration.name() == "m20261201_000011_bot_rules")
        .expect("migration 000011");
    u32::try_from(position).unwrap()
}

#[tokio::test]
async fn sqlite_undated_bot_chats_get_their_deadline() {
    let db = Database::connect("sqlite::memory:").await.expect("connect");
    let before_this = before_this();
    Migrator::up(&db, Some(before_this)).await.expect("up to the one before");
    undated_bot_chats_get_their_deadline(&db, "2026-06-01T09:30:00+00:00").await;
}

#[tokio::test]
async fn postgres_undated_bot_chats_get_their_deadline() {
    let url = std::env::var("MIGRATION_TEST_PG_URL")
        .expect("MIGRATION_TEST_PG_URL is not set: run scripts/test.sh, which starts PostgreSQL");
    // A database of its own: the other migration test resets the shared one.
    let admin = Database::connect(&url).await.expect("connect");
    run(&admin, "DROP DATABASE IF EXISTS migration_bot_rules").await;
    run(&admin, "CREATE DATABASE migration_bot_rules").await;
    let own = match url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/migration_bot_rules"),
        None => panic!("MIGRATION_TEST_PG_URL has no database name"),
    };
    let db = Database::connect(&own).await.expect("connect");
    let before_this = before_this();
    Migrator::up(&db, Some(before_this)).await.expect("up to the one before");
    undated_bot_chats_get_their_deadline(&db, "2026-06-01T09:30:00.000+00:00").await;
}

/// `dated`: how the backend shows the deadline chat 4 had already.
async fn undated_bot_chats_get_their_deadline(db: &DatabaseConnection, dated: &str) {
    run(
        db,
        &format!(
            "INSERT INTO queues (id, name, routing_rule, completion_timeout_minutes, created_at, updated_at) \
             VALUES (1, 'No timeout', 'TO_ALL_AGENTS', NULL, {AT}, {AT}), \
                    (2, 'Fifteen', 'TO_ALL_AGENTS', 15, {AT}, {AT})"
        ),
    )
    .await;
    run(
        db,
        &format!(
            "INSERT INTO channels (id, kind, name, queue_id, credentials, created_at, updated_at) \
             VALUES (1, 'MESSENGER', 'Page', 1, '{{}}', {AT}, {AT})"
        ),
    )
    .await;
    for contact in 1..=4 {
        run(
            db,
            &format!(
                "INSERT INTO contacts (id, name, created_at, updated_at) VALUES ({contact}, 'C', {AT}, {AT})"
            ),
        )
        .await;
    }
    // (id, queue, status, last message, close deadline)
    for (id, queue, status, last, close) in [
        (1, 1, "BOT_PROCESSING", "'2026-06-01T09:10:00+00:00'", "NULL"),
        (2, 2, "BOT_PROCESSING", "NULL", "NULL"),
        (3, 1, "IN_PROGRESS", "'2026-06-01T09:10:00+00:00'", "NULL"),
        (4, 1, "BOT_PROCESSING", "'2026-06-01T09:10:00+00:00'", "'2026-06-01T09:30:00+00:00'"),
    ] {
        run(
            db,
            &format!(
                "INSERT INTO chats (id, contact_id, channel_id, queue_id, status, created_at, updated_at, \
                 last_message_at, close_deadline) \
                 VALUES ({id}, {id}, 1, {queue}, '{status}', {AT}, {AT}, {last}, {close})"
            ),
        )
        .await;
    }
    Migrator::up(db, None).await.expect("up");
    assert_eq!(deadline(db, 1).await.as_deref(), Some("2026-06-01T10:10:00.000+00:00"), "60 minutes");
    assert_eq!(deadline(db, 2).await.as_deref(), Some("2026-06-01T09:15:00.000+00:00"), "the queue's 15");
    assert_eq!(deadline(db, 3).await, None, "agent chats are not touched");
    assert_eq!(deadline(db, 4).await.as_deref(), Some(dated), "dated already");
}
