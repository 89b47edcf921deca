//! The read replica (PostgreSQL only): history reads are answered by a real streaming standby
//! of the test cluster (started by scripts/with-postgres.sh), and keep being answered while
//! it lags.

use entity::chats;
use entity::enums::Role;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, QueryOrder, Statement};
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, eventually, eventually_within, fixture, fresh_database};

/// The standby's URL of the `postgres` database, as scripts/with-postgres.sh exports it.
fn standby_admin_url() -> String {
    std::env::var("TEST_READ_DATABASE_URL").expect(
        "TEST_READ_DATABASE_URL is not set: the replica test needs a streaming standby of \
         TEST_DATABASE_URL's cluster. Run scripts/test.sh or scripts/with-postgres.sh, which start one.",
    )
}

/// `database_url`'s database on the standby (the standby replicates every database).
fn on_standby(database_url: &str) -> String {
    let admin = standby_admin_url();
    let (base, _) = admin.rsplit_once('/').expect("a database URL");
    let (_, name) = database_url.rsplit_once('/').expect("a database URL");
    format!("{base}/{name}")
}

async fn text(db: &DatabaseConnection, sql: &str) -> String {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql.to_owned()))
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .expect("one row");
    row.try_get::<String>("", "v").unwrap()
}

/// Waits until the standby has replayed everything the primary had written when called.
async fn caught_up(primary: &DatabaseConnection, standby: &DatabaseConnection) {
    let lsn = text(primary, "SELECT pg_current_wal_lsn()::text AS v").await;
    let sql = format!("SELECT (pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn)::text AS v");
    eventually("the standby to replay the primary's writes", || async {
        (text(standby, &sql).await == "true").then_some(())
    })
    .await;
}

/// The ids the history list answers, in its order.
async fn history(app: &TestApp, token: &str) -> Vec<String> {
    let data = app.ok(Some(token), "{ chats(first: 50) { edges { node { id } } } }", json!({})).await;
    data["chats"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The chats on the primary, as global ids, oldest first.
async fn chats_on_primary(app: &TestApp) -> Vec<String> {
    let rows = chats::Entity::find().order_by_asc(chats::Column::Id).all(&app.db).await.unwrap();
    rows.iter().map(|chat| api::graphql::ids::encode("Chat", chat.id).0).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_postgres_answers_the_chats_history_and_keeps_answering_while_it_lags() {
    let primary_admin =
        sea_orm::Database::connect(std::env::var("TEST_DATABASE_URL").unwrap()).await.unwrap();
    let standby_admin = sea_orm::Database::connect(standby_admin_url()).await.unwrap();
    assert_eq!(text(&standby_admin, "SELECT pg_is_in_recovery()::text AS v").await, "true", "a standby");

    // A fresh database on the primary; the server connects to its copy on the standby once
    // the standby has replayed its creation.
    let (url, _) = fresh_database(Backend::Postgres).await;
    caught_up(&primary_admin, &standby_admin).await;
    let read_url = on_standby(&url);
    let app = TestApp::start(url, None, |config| config.read_database_url = Some(read_url)).await;
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    let (_, analyst) = app.signed_in("ann@example.com", Role::Analyst).await;

    assert_eq!(app.webhook(&ch.whatsapp, &fixture("whatsapp/text_message.json")).await, 200);
    let first = eventually("the first chat", || async {
        let all = chats_on_primary(&app).await;
        (all.len() == 1).then(|| all[0].clone())
    })
    .await;
    caught_up(&primary_admin, &standby_admin).await;
    // Replayed is not always visible yet to the standby's next query (this assertion failed
    // once in an earlier session's CI and again at ce4e868): wait for the answer rather than
    // for the LSN alone.
    eventually("the standby's history to show the first chat", || async {
        (history(&app, &analyst).await == [first.clone()]).then_some(())
    })
    .await;

    // The standby stops replaying: it lags behind the primary from now on.
    standby_admin.execute_unprepared("SELECT pg_wal_replay_pause()").await.unwrap();
    eventually("replay to pause", || async {
        (text(&standby_admin, "SELECT pg_get_wal_replay_pause_state()::text AS v").await == "paused")
            .then_some(())
    })
    .await;

    assert_eq!(app.webhook(&ch.telegram, &fixture("telegram/text_message.json")).await, 200);
    let second = eventually("the second chat", || async {
        let all = chats_on_primary(&app).await;
        (all.len() == 2).then(|| all[1].clone())
    })
    .await;
    // `chat(id)` reads the primary: the new chat is there at once.
    let one =
        app.ok(Some(&analyst), "query($id: ID!) { chat(id: $id) { id } }", json!({ "id": second })).await;
    assert_eq!(one["chat"]["id"], Value::String(second.clone()));
    // The history is answered by the standby: still without it, and still answering.
    assert_eq!(history(&app, &analyst).await, vec![first.clone()]);
    assert_eq!(history(&app, &analyst).await, vec![first.clone()], "the lagging standby keeps answering");

    // Replay resumes: the history catches up.
    standby_admin.execute_unprepared("SELECT pg_wal_replay_resume()").await.unwrap();
    eventually_within(std::time::Duration::from_secs(30), "the history to show the second chat", || async {
        (history(&app, &analyst).await == [first.clone(), second.clone()]).then_some(())
    })
    .await;
}
