//! Group commit of inbound messages (docs/ingestion.md): webhooks arriving together share a
//! transaction, each message in a savepoint of its own. Every webhook answered 200 is stored
//! exactly once, a new customer writing several messages at once ends with one contact and one
//! chat, and a message that fails gets 5xx alone while the rest of its batch is stored.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use tokio::task::JoinSet;

use crate::on_both_backends;
use crate::support::{Backend, TestApp, fresh_database};

/// A Telegram text message from customer `user` (a private chat), with its own message id.
fn telegram(user: i64, message_id: i64, text: &str) -> Vec<u8> {
    let person =
        json!({ "id": user, "is_bot": false, "first_name": "Customer", "last_name": user.to_string() });
    json!({ "update_id": user * 1000 + message_id, "message": {
        "message_id": message_id, "date": 1773134000, "from": person,
        "chat": { "id": user, "type": "private", "first_name": "Customer" }, "text": text } })
    .to_string()
    .into_bytes()
}

/// POSTs every body at once; the status each got, in order.
async fn all_at_once(app: &TestApp, path: &str, bodies: Vec<Vec<u8>>) -> Vec<u16> {
    let mut posts = JoinSet::new();
    for (n, body) in bodies.into_iter().enumerate() {
        let (http, url) = (app.http.clone(), format!("{}{path}", app.base));
        posts.spawn(async move {
            let response = http
                .post(url)
                .header("x-telegram-bot-api-secret-token", crate::support::TELEGRAM_SECRET)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            (n, response.status().as_u16())
        });
    }
    let mut statuses = posts.join_all().await;
    statuses.sort();
    statuses.into_iter().map(|(_, status)| status).collect()
}

/// A number from one row of `sql` (its column `n`).
async fn number(db: &impl ConnectionTrait, sql: &str) -> i64 {
    let statement = Statement::from_string(db.get_database_backend(), sql.to_owned());
    db.query_one_raw(statement).await.unwrap().unwrap().try_get::<i64>("", "n").unwrap()
}

/// Group-commit batches so far, and the jobs they held (`/metrics`).
async fn batches(app: &TestApp) -> (f64, f64) {
    let text = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    let sample = |series: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (sample("switchboard_group_commit_batch_size_count"), sample("switchboard_group_commit_batch_size_sum"))
}

/// 68 webhooks at once from 16 customers (8 known, 8 new; each sends 4 messages at once, and
/// 4 of the messages are redelivered at the same moment): all answered 200, every message
/// stored exactly once, every customer with one contact and one chat, every event recorded.
async fn concurrent_webhooks_are_each_stored_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    let customers: Vec<i64> = (8101..=8116).collect();
    for &known in &customers[..8] {
        assert_eq!(app.webhook(&ch.telegram, &telegram(known, 1, "hello")).await, 200);
    }
    let mut bodies = Vec::new();
    for message_id in 2..=5 {
        for &user in &customers {
            bodies.push(telegram(user, message_id, &format!("message {message_id} of {user}")));
        }
    }
    for &user in &customers[6..10] {
        bodies.push(telegram(user, 2, &format!("message 2 of {user}")));
    }
    let statuses = all_at_once(&app, &ch.telegram, bodies).await;
    assert!(statuses.iter().all(|&status| status == 200), "{statuses:?}");

    assert_eq!(app.count("messages").await, 8 + 64);
    assert_eq!(number(&app.db, "SELECT COUNT(DISTINCT provider_message_id) AS n FROM messages").await, 72);
    assert_eq!(app.count("contacts").await, 16);
    assert_eq!(app.count("contact_identities").await, 16);
    assert_eq!(app.count("chats").await, 16, "one chat per customer");
    let per_chat =
        "SELECT COUNT(*) AS n FROM (SELECT chat_id FROM messages GROUP BY chat_id HAVING COUNT(*) = 5) AS t";
    assert_eq!(number(&app.db, per_chat).await, 8, "the known customers' chats have all 5 messages");
    let received = "SELECT COUNT(*) AS n FROM events WHERE kind = 'MESSAGE_RECEIVED'";
    assert_eq!(number(&app.db, received).await, 72);
    let created = "SELECT COUNT(*) AS n FROM events WHERE kind = 'CHAT_CREATED'";
    assert_eq!(number(&app.db, created).await, 16);

    let (count, jobs) = batches(&app).await;
    eprintln!("group commit ({backend:?}): {jobs} jobs in {count} batches");
    assert_eq!(jobs, 8.0 + 68.0, "every message went through the writer, redeliveries too");
    assert!(count < jobs, "messages arriving together were committed together");
}

/// A message whose insert fails (a trigger the test installs raises for its text) gets 503,
/// while the webhooks in flight beside it get 200 and are stored; nothing of the failed
/// message stays (not even the contact it created).
async fn a_failing_message_does_not_sink_its_batch(backend: Backend) {
    let (url, sqlite_dir) = fresh_database(backend).await;
    let app = TestApp::start(url.clone(), sqlite_dir, |_| {}).await;
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    let own = sea_orm::Database::connect(&url).await.expect("the test's own connection");
    match backend {
        Backend::Sqlite => {
            own.execute_unprepared(
                "CREATE TRIGGER poison BEFORE INSERT ON messages WHEN NEW.text = 'poison' \
                 BEGIN SELECT RAISE(ABORT, 'poisoned message'); END",
            )
            .await
            .unwrap();
        }
        Backend::Postgres => {
            own.execute_unprepared(
                "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF NEW.text = 'poison' THEN RAISE EXCEPTION 'poisoned message'; END IF; \
                 RETURN NEW; END $$",
            )
            .await
            .unwrap();
            own.execute_unprepared(
                "CREATE TRIGGER poison BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION poison()",
            )
            .await
            .unwrap();
        }
    }
    own.close().await.unwrap();

    // 8 customers: 8201 only sends poison (a new customer whose contact must not stay),
    // 8202 sends poison among good messages; the rest send good ones.
    let mut bodies = Vec::new();
    let mut poisoned = Vec::new();
    for user in 8201..=8208 {
        for message_id in 1..=4 {
            let poison = user == 8201 || (user == 8202 && message_id == 2);
            if poison {
                poisoned.push(bodies.len());
            }
            bodies.push(telegram(user, message_id, if poison { "poison" } else { "fine" }));
        }
    }
    let statuses = all_at_once(&app, &ch.telegram, bodies).await;
    for (n, status) in statuses.iter().enumerate() {
        let expected = if poisoned.contains(&n) { 503 } else { 200 };
        assert_eq!(*status, expected, "webhook {n}: {statuses:?}");
    }
    assert_eq!(app.count("messages").await, 32 - 5);
    assert_eq!(number(&app.db, "SELECT COUNT(*) AS n FROM messages WHERE text = 'poison'").await, 0);
    assert_eq!(app.count("contacts").await, 7, "the customer whose only messages failed has no contact");
    assert_eq!(app.count("chats").await, 7);
    let (count, jobs) = batches(&app).await;
    eprintln!("group commit with failures ({backend:?}): {jobs} jobs in {count} batches");
    assert_eq!(jobs, 32.0);

    // The provider redelivers: once the cause is gone, the message is stored.
    let own = sea_orm::Database::connect(&url).await.unwrap();
    let drop = match backend {
        Backend::Sqlite => "DROP TRIGGER poison",
        Backend::Postgres => "DROP TRIGGER poison ON messages",
    };
    own.execute_unprepared(drop).await.unwrap();
    own.close().await.unwrap();
    assert_eq!(app.webhook(&ch.telegram, &telegram(8202, 2, "poison")).await, 200);
    assert_eq!(app.count("messages").await, 32 - 4);
}

on_both_backends!(concurrent_webhooks_are_each_stored_once, a_failing_message_does_not_sink_its_batch);
