//! PostgreSQL's query connections (`db::queries`): kept outside sqlx's pool, handed back
//! without a check, yet never handed out broken.

use api::db::QueryConnections;
use sea_orm::sqlx::{self, AssertSqlSafe};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::json;

use crate::operations::{sample, scrape};
use crate::support::{Backend, TestApp, eventually, fresh_database};

/// Backends of this database that are query connections.
async fn query_backends(db: &DatabaseConnection) -> i64 {
    let sql = format!(
        "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = '{}'",
        api::db::queries::APPLICATION_NAME
    );
    let row = db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql)).await.unwrap().unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_connection_terminated_while_idle_fails_no_query() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let admin = app.admin().await;
    let read = || app.ok(Some(&admin), "{ queues { nodes { id name } } }", json!({}));
    for _ in 0..3 {
        read().await;
    }
    assert!(query_backends(&app.db).await >= 1, "queries run on the query connections");
    let metrics = scrape(&app).await;
    let idle = sample(&metrics, r#"switchboard_db_connections{pool="queries",state="idle"}"#);
    assert!(idle.is_some_and(|idle| idle >= 1.0), "an idle query connection in /metrics: {idle:?}");
    // History reads take the analytics connections, one per statement.
    app.ok(Some(&admin), "{ chats(first: 5) { edges { node { id } } } }", json!({})).await;
    let metrics = scrape(&app).await;
    let idle = sample(&metrics, r#"switchboard_db_connections{pool="analytics",state="idle"}"#);
    assert!(idle.is_some_and(|idle| idle >= 1.0), "an idle analytics connection in /metrics: {idle:?}");

    // An administrator (or a restart) ends every query connection while it idles.
    let terminate = format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() \
         AND application_name = '{}'",
        api::db::queries::APPLICATION_NAME
    );
    app.db.execute_unprepared(&terminate).await.unwrap();
    eventually("the query connections to be gone", || async {
        (query_backends(&app.db).await == 0).then_some(())
    })
    .await;

    // The next queries find the dead connection, replace it and answer; none fails.
    for _ in 0..3 {
        read().await;
    }
    assert!(query_backends(&app.db).await >= 1, "a new query connection was opened");
}

/// A statement that waits for the advisory lock [`BLOCKER`] holds (released with the
/// statement).
fn blocked() -> Statement {
    Statement::from_string(DbBackend::Postgres, "SELECT pg_advisory_xact_lock(4242)::text AS locked")
}

/// Takes the advisory lock [`blocked`] waits for, until its transaction ends.
const BLOCKER: &str = "SELECT pg_advisory_xact_lock(4242)";

fn number(n: i64) -> Statement {
    Statement::from_string(DbBackend::Postgres, format!("SELECT {n}::int8 AS n"))
}

/// Backends of this database named `name` that wait for a lock.
async fn waiting_for_a_lock(db: &DatabaseConnection, name: &str) -> i64 {
    let sql = format!(
        "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
         AND application_name = '{name}' AND wait_event_type = 'Lock'"
    );
    let row = db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql)).await.unwrap().unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_left_mid_statement_answers_its_next_statement_rightly() {
    use sea_orm::TransactionTrait;
    let (url, _) = fresh_database(Backend::Postgres).await;
    let pool = api::db::connect(&url, 2).await.unwrap();
    let queries =
        QueryConnections::for_pool(&pool, 1, "switchboard-test").expect("query connections on PostgreSQL");
    let blocker = pool.begin().await.unwrap();
    blocker.execute_unprepared(BLOCKER).await.unwrap();
    {
        // A request dropped while its statement runs (its client went away): the statement
        // waits for the lock until the request is dropped.
        let mut conn = queries.acquire().await.unwrap();
        let statement = conn.run(blocked(), |conn, stmt| {
            Box::pin(async move {
                sqlx::query(AssertSqlSafe(stmt.sql)).fetch_all(conn).await.map(|rows| rows.len())
            })
        });
        let started = eventually("the statement to wait for the lock", || async {
            (waiting_for_a_lock(&pool, "switchboard-test").await == 1).then_some(())
        });
        tokio::select! {
            _ = statement => panic!("the statement ran though the lock is held"),
            () = started => {}
        }
    }
    // It is drained apart, not handed to the next request while its statement runs on.
    assert_eq!(queries.size_and_idle(), (1, 0), "the connection is draining");
    blocker.commit().await.unwrap();
    eventually("the drained connection to be back", || async {
        (queries.size_and_idle() == (1, 1)).then_some(())
    })
    .await;

    // The same connection: the unfinished statement's answer was drained, not taken for this
    // statement's.
    let mut conn = queries.acquire().await.unwrap();
    let n = conn
        .run(number(2), |conn, stmt| {
            Box::pin(
                async move { sqlx::query_scalar::<_, i64>(AssertSqlSafe(stmt.sql)).fetch_one(conn).await },
            )
        })
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(queries.size_and_idle(), (1, 0));

    // No more connections than allowed: the next request waits, then gives up as the pool does.
    let waited = queries.acquire().await.err().expect("no second connection");
    assert!(api::db::unavailable(&waited), "{waited:?}");
    drop(conn);
    assert!(queries.acquire().await.is_ok(), "the connection is free again");
}
