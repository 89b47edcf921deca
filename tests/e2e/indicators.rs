//! The Chats-section indicators, the processing rate and the case dynamics (issue 13, items 4
//! and 6): what needs no chosen time — bad input, who may read them, and the analytics
//! statement timeout. Their figures, computed by hand over a dataset lived on the server's
//! clock, are in tests/clocked/indicators.rs.

use entity::enums::Role;
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::json;

use crate::lifecycle::{customer_writes, setup};
use crate::on_both_backends;
use crate::support::{Backend, TestApp};

const INDICATORS: &str = "query($filter: ChatFilter) { chatIndicators(filter: $filter) {
  count waiting inProgress averageFirstResponseTime respondedCount averageDuration completedCount } }";
const RATE: &str = "query($period: TimeRangeInput!, $bucket: TimeBucket!, $tz: String, $filter: ChatFilter) {
  processingRate(period: $period, bucket: $bucket, timeZone: $tz, filter: $filter) {
    bucketStart bucketEnd created completed } }";
const DYNAMICS: &str =
    "query($period: TimeRangeInput!, $bucket: TimeBucket!, $tz: String, $filter: CasesFilter) {
  caseDynamics(period: $period, bucket: $bucket, timeZone: $tz, filter: $filter) {
    bucketStart bucketEnd created byStatus { status count } } }";

/// Bad input gets a clear code before anything is read; agents are refused (these figures are
/// over every chat).
async fn indicators_refuse_bad_input_and_agents(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let agent = s.agents[0].2.clone();
    let (_, analyst) = app.signed_in("ann@example.com", Role::Analyst).await;
    let month = json!({ "from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z" });
    for (vars, code) in [
        (json!({ "period": {}, "bucket": "DAY" }), "BAD_USER_INPUT"),
        (json!({ "period": { "from": "2026-10-24T00:00:00Z" }, "bucket": "DAY" }), "BAD_USER_INPUT"),
        (json!({ "period": { "to": "2026-10-24T00:00:00Z" }, "bucket": "DAY" }), "BAD_USER_INPUT"),
        (
            json!({ "period": { "from": "2026-10-25T00:00:00Z", "to": "2026-10-24T00:00:00Z" }, "bucket": "DAY" }),
            "BAD_USER_INPUT",
        ),
        (json!({ "period": month, "bucket": "DAY", "tz": "Mars/Olympus_Mons" }), "BAD_USER_INPUT"),
        (
            json!({ "period": month, "bucket": "DAY",
                    "filter": { "created": { "from": "2026-10-25T00:00:00Z", "to": "2026-10-24T00:00:00Z" } } }),
            "BAD_USER_INPUT",
        ),
        (
            json!({ "period": { "from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z" }, "bucket": "HOUR" }),
            "TOO_MANY_GROUPS",
        ),
    ] {
        assert_eq!(app.error_code(Some(&analyst), RATE, vars.clone()).await, code, "{vars}");
    }
    assert_eq!(
        app.error_code(Some(&analyst), INDICATORS, json!({ "filter": { "completed": { "from": "2026-10-25T00:00:00Z", "to": "2026-10-25T00:00:00Z" } } })).await,
        "BAD_USER_INPUT"
    );
    let months = json!({ "from": "2026-10-01T00:00:00Z", "to": "2026-12-01T00:00:00Z" });
    for (vars, code) in [
        (json!({ "period": { "from": "2026-10-24T00:00:00Z" }, "bucket": "DAY" }), "BAD_USER_INPUT"),
        (
            json!({ "period": { "from": "2026-10-25T00:00:00Z", "to": "2026-10-25T00:00:00Z" }, "bucket": "DAY" }),
            "BAD_USER_INPUT",
        ),
        (json!({ "period": months, "bucket": "DAY", "tz": "Nowhere/Special" }), "BAD_USER_INPUT"),
        (json!({ "period": months, "bucket": "DAY", "filter": { "assigneeId": "x" } }), "BAD_USER_INPUT"),
        (
            json!({ "period": { "from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z" }, "bucket": "DAY" }),
            "TOO_MANY_GROUPS",
        ),
    ] {
        assert_eq!(app.error_code(Some(&analyst), DYNAMICS, vars.clone()).await, code, "{vars}");
    }
    // Agents are refused: these figures are over every chat.
    assert_eq!(app.error_code(Some(&agent), INDICATORS, json!({})).await, "FORBIDDEN");
    assert_eq!(
        app.error_code(Some(&agent), RATE, json!({ "period": month, "bucket": "DAY" })).await,
        "FORBIDDEN"
    );
    assert_eq!(
        app.error_code(Some(&agent), DYNAMICS, json!({ "period": months, "bucket": "DAY" })).await,
        "FORBIDDEN"
    );
}

/// The three reads run under the analytics statement timeout (as `chats` does, see reads.rs):
/// on PostgreSQL a read waiting on a lock is cancelled by `statement_timeout`; on SQLite a
/// read of 100,000 rows takes longer than 1 ms.
async fn indicator_reads_time_out(backend: Backend) {
    let limit_ms = if backend == Backend::Postgres { 300 } else { 1 };
    let app = TestApp::spawn_with(backend, |config| config.analytics_statement_timeout_ms = limit_ms).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let (_, analyst) = app.signed_in("ann@example.com", Role::Analyst).await;
    let (chat, _) = customer_writes(&app, &s, 9600, 1).await;
    app.ok(
        Some(&s.admin),
        "mutation($id: ID!) { createCaseFromChat(chatId: $id) { id } }",
        json!({ "id": chat }),
    )
    .await;
    let now = chrono::Utc::now();
    let period = json!({ "from": now - chrono::Duration::days(1), "to": now + chrono::Duration::days(1) });
    let reads = [
        (INDICATORS, json!({})),
        (RATE, json!({ "period": period, "bucket": "HOUR" })),
        (DYNAMICS, json!({ "period": period, "bucket": "HOUR" })),
    ];
    let lock = if backend == Backend::Postgres {
        let lock = app.db.begin().await.unwrap();
        lock.execute_unprepared("LOCK TABLE chats, cases IN ACCESS EXCLUSIVE MODE").await.unwrap();
        Some(lock)
    } else {
        let seed = |insert: &str, select: &str| {
            format!(
                "{insert} WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) \
                 SELECT {select} FROM n, (SELECT * FROM chats ORDER BY id LIMIT 1) AS c"
            )
        };
        for sql in [
            seed(
                "INSERT INTO chats (contact_id, channel_id, queue_id, status, created_at, updated_at)",
                "c.contact_id, c.channel_id, c.queue_id, 'COMPLETED', c.created_at, c.updated_at",
            ),
            seed(
                "INSERT INTO cases (number, subject, description, source, registered_at, status, created_at, updated_at)",
                "'seed-' || i, 's', 'd', 'CHAT', c.created_at, 'NEW', c.created_at, c.updated_at",
            ),
        ] {
            app.db.execute_unprepared(&sql).await.unwrap();
        }
        None
    };
    for (query, vars) in &reads {
        // (A generous hang detector: without the timeout a read would wait for the lock.)
        let answer = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            app.gql(Some(&analyst), query, vars.clone()),
        )
        .await
        .expect("the read is cancelled, not left waiting");
        assert_eq!(answer["errors"][0]["extensions"]["code"], "QUERY_TIMEOUT", "{query}: {answer}");
    }
    if let Some(lock) = lock {
        lock.rollback().await.unwrap();
        // Within the limit, the same reads are answered.
        for (query, vars) in reads {
            app.ok(Some(&analyst), query, vars).await;
        }
    }
}

on_both_backends!(indicators_refuse_bad_input_and_agents, indicator_reads_time_out);
