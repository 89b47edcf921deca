//! The statement timeout of history and analytics reads: a read running longer is answered
//! QUERY_TIMEOUT, and the server stays healthy.

use std::time::Duration;

use entity::enums::Role;
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, TestApp, eventually, fixture};

/// Chats of the history seeded on SQLite, so that one page of all of them takes far longer
/// than the 1 ms limit (reading and decoding 100,000 rows: tens of milliseconds at least).
const SEEDED: i64 = 100_000;

async fn chats_read_timeout(backend: Backend) {
    let limit_ms = if backend == Backend::Postgres { 300 } else { 1 };
    let app = TestApp::spawn_with(backend, |config| {
        config.analytics_statement_timeout_ms = limit_ms;
        config.max_page_size = 200_000;
        config.max_history_page_size = 200_000;
        config.max_query_complexity = 1_000_000;
    })
    .await;
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    let (_, analyst) = app.signed_in("ann@example.com", Role::Analyst).await;
    assert_eq!(app.webhook(&ch.whatsapp, &fixture("whatsapp/text_message.json")).await, 200);
    eventually("the chat", || async { (app.count("chats").await == 1).then_some(()) }).await;
    let me = "{ me { email } }";
    let page = "{ chats(first: 150000) { edges { node { id } } } }";

    let code = if backend == Backend::Postgres {
        // A statement that waits on a lock runs as long as the lock is held: an ACCESS
        // EXCLUSIVE lock on `chats` makes the history read wait until PostgreSQL's
        // statement_timeout cancels it (SQLSTATE 57014).
        let lock = app.db.begin().await.unwrap();
        lock.execute_unprepared("LOCK TABLE chats IN ACCESS EXCLUSIVE MODE").await.unwrap();
        // (A generous hang detector: without the timeout the read would wait for the lock.)
        let refused = tokio::time::timeout(Duration::from_secs(30), app.gql(Some(&analyst), page, json!({})))
            .await
            .expect("the read is cancelled, not left waiting for the lock");
        // Other reads are not limited by it.
        assert_eq!(app.ok(Some(&analyst), me, json!({})).await["me"]["email"], "ann@example.com");
        lock.rollback().await.unwrap();
        refused
    } else {
        // SQLite has no lock that stops a reader (WAL): the read is long by its size.
        app.db
            .execute_unprepared(&format!(
                "INSERT INTO chats (contact_id, channel_id, queue_id, status, created_at, updated_at) \
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {SEEDED}) \
                 SELECT c.contact_id, c.channel_id, c.queue_id, 'COMPLETED', c.created_at, c.updated_at \
                 FROM n, (SELECT * FROM chats ORDER BY id LIMIT 1) AS c"
            ))
            .await
            .unwrap();
        app.gql(Some(&analyst), page, json!({})).await
    };
    let error = &code["errors"][0];
    assert_eq!(error["extensions"]["code"], "QUERY_TIMEOUT", "{code}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains(&format!("{limit_ms} ms")), "{message}");

    // The server is healthy: other reads and writes work, and so do history reads that fit.
    assert_eq!(app.ok(Some(&analyst), me, json!({})).await["me"]["email"], "ann@example.com");
    let ready = app.http.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    if backend == Backend::Postgres {
        let data = app.ok(Some(&analyst), page, json!({})).await;
        assert_eq!(data["chats"]["edges"].as_array().unwrap().len(), 1);
    }
}

on_both_backends!(chats_read_timeout);
