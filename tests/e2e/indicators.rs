//! The Chats-section indicators, the processing rate and the case dynamics (issue 13, items 4
//! and 6): figures computed by hand over chats and cases whose times are set in the test,
//! buckets across Berlin's autumn DST change (2026-10-25 has 25 hours), bad input and who may
//! read them.

use entity::enums::Role;
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde_json::{Value, json};

use crate::lifecycle::{ACCEPT, customer_writes, offered_to, setup};
use crate::on_both_backends;
use crate::support::{Backend, TestApp};

const SEND: &str = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }";
const COMPLETE: &str = "mutation($id: ID!) { completeChat(chatId: $id) { status } }";
const INDICATORS: &str = "query($filter: ChatFilter) { chatIndicators(filter: $filter) {
  count waiting inProgress averageFirstResponseTime respondedCount averageDuration completedCount } }";
const RATE: &str = "query($period: TimeRangeInput!, $bucket: TimeBucket!, $tz: String, $filter: ChatFilter) {
  processingRate(period: $period, bucket: $bucket, timeZone: $tz, filter: $filter) {
    bucketStart bucketEnd created completed } }";
const DYNAMICS: &str =
    "query($period: TimeRangeInput!, $bucket: TimeBucket!, $tz: String, $filter: CasesFilter) {
  caseDynamics(period: $period, bucket: $bucket, timeZone: $tz, filter: $filter) {
    bucketStart bucketEnd created byStatus { status count } } }";

/// Sets a row's times to these instants (RFC 3339), by column.
async fn set_instants(app: &TestApp, table: &str, id: i64, times: &[(&str, &str)]) {
    for (column, at) in times {
        let at = chrono::DateTime::parse_from_rfc3339(at).unwrap().with_timezone(&chrono::Utc);
        let sql = format!("UPDATE {table} SET {column} = $1 WHERE id = $2");
        let sql = match app.db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => sql,
            _ => sql.replace("$1", "?").replace("$2", "?"),
        };
        let backend = app.db.get_database_backend();
        app.db
            .execute_raw(Statement::from_sql_and_values(backend, sql, [at.into(), id.into()]))
            .await
            .unwrap();
    }
}

fn instant(text: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(text).unwrap()
}

/// The buckets of an answer as (start, end, the counts named), compared as instants.
fn buckets(list: &Value, counts: &[&str]) -> Vec<(chrono::DateTime<chrono::FixedOffset>, i64, Vec<i64>)> {
    let list = list.as_array().unwrap();
    // Buckets are contiguous: each starts where the one before ended.
    for pair in list.windows(2) {
        assert_eq!(
            instant(pair[0]["bucketEnd"].as_str().unwrap()),
            instant(pair[1]["bucketStart"].as_str().unwrap())
        );
    }
    list.iter()
        .map(|b| {
            let start = instant(b["bucketStart"].as_str().unwrap());
            let minutes = (instant(b["bucketEnd"].as_str().unwrap()) - start).num_minutes();
            (start, minutes, counts.iter().map(|name| b[*name].as_i64().unwrap()).collect())
        })
        .collect()
}

/// `(start, length in minutes, counts)` as `buckets` gives them.
fn want(rows: &[(&str, i64, &[i64])]) -> Vec<(chrono::DateTime<chrono::FixedOffset>, i64, Vec<i64>)> {
    rows.iter().map(|(start, hours, counts)| (instant(start), hours * 60, counts.to_vec())).collect()
}

async fn chat_indicators_and_processing_rate_by_hand(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let agent = s.agents[0].2.clone();
    let (_, analyst) = app.signed_in("ann@example.com", Role::Analyst).await;
    let (_, supervisor) = app.signed_in("sue@example.com", Role::Supervisor).await;
    // Six chats: a, b answered and completed; c answered, in progress; d, e waiting; f
    // accepted and completed without an answer, created days before the others.
    let mut chats = Vec::new();
    for i in 0..6 {
        chats.push(customer_writes(&app, &s, 9400 + i, 1).await);
    }
    let [a, b, c, d, e, f] = [0, 1, 2, 3, 4, 5].map(|i| chats[i].clone());
    for (chat, answer, complete) in [(&a, true, true), (&b, true, true), (&f, false, true), (&c, true, false)]
    {
        offered_to(&app, &agent, &chat.0).await;
        app.ok(Some(&agent), ACCEPT, json!({ "id": chat.0 })).await;
        if answer {
            app.ok(Some(&agent), SEND, json!({ "input": { "chatId": chat.0, "text": "hi" } })).await;
        }
        if complete {
            app.ok(Some(&agent), COMPLETE, json!({ "id": chat.0 })).await;
        }
    }
    let times: [(i64, &[(&str, &str)]); 6] = [
        // First response 60 s, duration 3600 s; created on the 24th in Berlin (23:30 CEST),
        // completed on the 25th (00:30 CEST).
        (
            a.1,
            &[
                ("created_at", "2026-10-24T21:30:00Z"),
                ("queued_at", "2026-10-24T21:30:00Z"),
                ("accepted_at", "2026-10-24T21:30:30Z"),
                ("first_response_at", "2026-10-24T21:31:00Z"),
                ("completed_at", "2026-10-24T22:30:00Z"),
            ],
        ),
        // 120 s, 1200 s.
        (
            b.1,
            &[
                ("created_at", "2026-10-25T12:00:00Z"),
                ("queued_at", "2026-10-25T12:00:00Z"),
                ("accepted_at", "2026-10-25T12:01:00Z"),
                ("first_response_at", "2026-10-25T12:02:00Z"),
                ("completed_at", "2026-10-25T12:20:00Z"),
            ],
        ),
        // 30 s, open: no duration. 23:30 CET on the 25th in Berlin.
        (
            c.1,
            &[
                ("created_at", "2026-10-25T22:30:00Z"),
                ("queued_at", "2026-10-25T22:30:00Z"),
                ("accepted_at", "2026-10-25T22:30:10Z"),
                ("first_response_at", "2026-10-25T22:30:30Z"),
            ],
        ),
        // 00:30 CET on the 26th in Berlin, still the 25th in UTC.
        (d.1, &[("created_at", "2026-10-25T23:30:00Z"), ("queued_at", "2026-10-25T23:30:00Z")]),
        (e.1, &[("created_at", "2026-10-26T08:00:00Z"), ("queued_at", "2026-10-26T08:00:00Z")]),
        // No response; duration five days, 432000 s.
        (
            f.1,
            &[
                ("created_at", "2026-10-20T10:00:00Z"),
                ("queued_at", "2026-10-20T10:00:00Z"),
                ("accepted_at", "2026-10-20T10:05:00Z"),
                ("completed_at", "2026-10-25T10:00:00Z"),
            ],
        ),
    ];
    for (chat, columns) in times {
        set_instants(&app, "chats", chat, columns).await;
    }

    // The indicators, by hand.
    let indicators = |filter: Value| {
        let (app, analyst) = (&app, &analyst);
        async move {
            app.ok(Some(analyst), INDICATORS, json!({ "filter": filter })).await["chatIndicators"].clone()
        }
    };
    assert_eq!(
        indicators(Value::Null).await,
        json!({ "count": 6, "waiting": 2, "inProgress": 1,
                "averageFirstResponseTime": 70.0, "respondedCount": 3,
                "averageDuration": 145600.0, "completedCount": 3 }),
        "(60 + 120 + 30) / 3 and (3600 + 1200 + 432000) / 3"
    );
    let week = json!({ "created": { "from": "2026-10-24T00:00:00Z", "to": "2026-10-27T00:00:00Z" } });
    assert_eq!(
        indicators(week).await,
        json!({ "count": 5, "waiting": 2, "inProgress": 1,
                "averageFirstResponseTime": 70.0, "respondedCount": 3,
                "averageDuration": 2400.0, "completedCount": 2 }),
        "f, created on the 20th, is left out"
    );
    assert_eq!(
        indicators(json!({ "statuses": ["WAITING", "IN_PROGRESS"] })).await,
        json!({ "count": 3, "waiting": 2, "inProgress": 1,
                "averageFirstResponseTime": 30.0, "respondedCount": 1,
                "averageDuration": null, "completedCount": 0 }),
        "open chats have no duration, never 'until now'"
    );
    assert_eq!(
        indicators(json!({ "statuses": ["COMPLETED"] })).await,
        json!({ "count": 3, "waiting": 0, "inProgress": 0,
                "averageFirstResponseTime": 90.0, "respondedCount": 2,
                "averageDuration": 145600.0, "completedCount": 3 })
    );
    // The figures agree with the chats' own fields.
    let fields = app
        .ok(
            Some(&analyst),
            "query($id: ID!) { chat(id: $id) { firstResponseTime duration } }",
            json!({ "id": a.0 }),
        )
        .await;
    assert_eq!(fields["chat"], json!({ "firstResponseTime": 60.0, "duration": 3600.0 }));

    // The README's example runs as written (with a real queue id).
    let readme = std::fs::read_to_string(format!("{}/README.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let example = readme
        .split("```graphql")
        .filter_map(|block| block.split_once("```").map(|(text, _)| text))
        .find(|text| text.contains("chatIndicators("))
        .expect("README shows chatIndicators");
    let answer = app.ok(Some(&analyst), &example.replace("<queue id>", &s.queue), json!({})).await;
    assert_eq!(answer["chatIndicators"]["waiting"], 2);
    assert_eq!(answer["processingRate"].as_array().unwrap().len(), 14);

    // The processing rate, days in Berlin: the 25th has 25 hours; an empty day at the end.
    let rate = |vars: Value| {
        let (app, analyst) = (&app, &analyst);
        async move {
            buckets(&app.ok(Some(analyst), RATE, vars).await["processingRate"], &["created", "completed"])
        }
    };
    let berlin_days = json!({ "from": "2026-10-23T22:00:00Z", "to": "2026-10-27T23:00:00Z" });
    assert_eq!(
        rate(json!({ "period": berlin_days, "bucket": "DAY", "tz": "Europe/Berlin" })).await,
        want(&[
            ("2026-10-23T22:00:00Z", 24, &[1, 0]),
            ("2026-10-24T22:00:00Z", 25, &[2, 3]),
            ("2026-10-25T23:00:00Z", 24, &[2, 0]),
            ("2026-10-26T23:00:00Z", 24, &[0, 0]),
        ])
    );
    // The same chats in UTC days.
    let utc_days = json!({ "from": "2026-10-24T00:00:00Z", "to": "2026-10-28T00:00:00Z" });
    assert_eq!(
        rate(json!({ "period": utc_days, "bucket": "DAY" })).await,
        want(&[
            ("2026-10-24T00:00:00Z", 24, &[1, 1]),
            ("2026-10-25T00:00:00Z", 24, &[3, 2]),
            ("2026-10-26T00:00:00Z", 24, &[1, 0]),
            ("2026-10-27T00:00:00Z", 24, &[0, 0]),
        ])
    );
    // Weeks from Monday in Berlin: the first has 7 days and an hour.
    let weeks = json!({ "from": "2026-10-18T22:00:00Z", "to": "2026-11-01T23:00:00Z" });
    assert_eq!(
        rate(json!({ "period": weeks, "bucket": "WEEK", "tz": "Europe/Berlin" })).await,
        want(&[("2026-10-18T22:00:00Z", 169, &[4, 3]), ("2026-10-25T23:00:00Z", 168, &[2, 0])])
    );
    // A period off the day boundaries: the first and last buckets are cut to it.
    let cut = json!({ "from": "2026-10-24T12:00:00Z", "to": "2026-10-25T12:10:00Z" });
    let answer =
        app.ok(Some(&analyst), RATE, json!({ "period": cut, "bucket": "DAY", "tz": "Europe/Berlin" })).await;
    let list = answer["processingRate"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(instant(list[0]["bucketStart"].as_str().unwrap()), instant("2026-10-24T12:00:00Z"));
    assert_eq!(instant(list[0]["bucketEnd"].as_str().unwrap()), instant("2026-10-24T22:00:00Z"));
    assert_eq!(instant(list[1]["bucketEnd"].as_str().unwrap()), instant("2026-10-25T12:10:00Z"));
    assert_eq!((&list[0]["created"], &list[0]["completed"]), (&json!(1), &json!(0)));
    assert_eq!(
        (&list[1]["created"], &list[1]["completed"]),
        (&json!(1), &json!(2)),
        "b created; a and f completed"
    );
    // Berlin's repeated hour (02:00 CEST, then 02:00 CET) is two buckets.
    let night = json!({ "from": "2026-10-25T00:00:00Z", "to": "2026-10-25T02:00:00Z" });
    assert_eq!(
        rate(json!({ "period": night, "bucket": "HOUR", "tz": "Europe/Berlin" })).await,
        want(&[("2026-10-25T00:00:00Z", 1, &[0, 0]), ("2026-10-25T01:00:00Z", 1, &[0, 0])])
    );
    // The filter applies to both counts.
    assert_eq!(
        rate(json!({ "period": berlin_days, "bucket": "DAY", "tz": "Europe/Berlin",
                     "filter": { "statuses": ["COMPLETED"] } }))
        .await,
        want(&[
            ("2026-10-23T22:00:00Z", 24, &[1, 0]),
            ("2026-10-24T22:00:00Z", 25, &[1, 3]),
            ("2026-10-25T23:00:00Z", 24, &[0, 0]),
            ("2026-10-26T23:00:00Z", 24, &[0, 0]),
        ])
    );
    let month = json!({ "from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z" });
    let supervisor_sees = app
        .ok(Some(&supervisor), RATE, json!({ "period": month, "bucket": "MONTH" }))
        .await["processingRate"]
        .clone();
    assert_eq!((&supervisor_sees[0]["created"], &supervisor_sees[0]["completed"]), (&json!(6), &json!(3)));

    // Bad input: clear codes, before anything is read.
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
    // Agents are refused: these figures are over every chat.
    assert_eq!(app.error_code(Some(&agent), INDICATORS, json!({})).await, "FORBIDDEN");
    assert_eq!(
        app.error_code(Some(&agent), RATE, json!({ "period": month, "bucket": "DAY" })).await,
        "FORBIDDEN"
    );
}

async fn case_dynamics_by_hand(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let agent = s.agents[0].2.clone();
    let (_, analyst) = app.signed_in("ann@example.com", Role::Analyst).await;
    let (chat, _) = customer_writes(&app, &s, 9500, 1).await;
    let create = "mutation($id: ID!) { createCaseFromChat(chatId: $id) { id } }";
    let update = "mutation($input: UpdateCaseInput!) { updateCase(input: $input) { status } }";
    // (registered at, status): Berlin days 24th, 25th (02:30 CEST), 25th (23:30 CET), 26th
    // (00:30 CET), and one after the period.
    let cases = [
        ("2026-10-24T21:30:00Z", None),
        ("2026-10-25T00:30:00Z", Some("IN_PROGRESS")),
        ("2026-10-25T22:30:00Z", Some("CLOSED")),
        ("2026-10-25T23:30:00Z", Some("RESOLVED")),
        ("2026-10-30T12:00:00Z", None),
    ];
    for (registered, status) in cases {
        let id = app.ok(Some(&s.admin), create, json!({ "id": chat })).await["createCaseFromChat"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        if let Some(status) = status {
            app.ok(Some(&s.admin), update, json!({ "input": { "id": id, "status": status } })).await;
        }
        let row = api::graphql::ids::decode(&async_graphql::ID(id), "Case").unwrap();
        set_instants(&app, "cases", row, &[("registered_at", registered)]).await;
    }
    let dynamics = |vars: Value| {
        let (app, analyst) = (&app, &analyst);
        async move {
            let answer = app.ok(Some(analyst), DYNAMICS, vars).await["caseDynamics"].clone();
            for bucket in answer.as_array().unwrap() {
                let statuses: Vec<&str> = bucket["byStatus"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s["status"].as_str().unwrap())
                    .collect();
                assert_eq!(statuses, ["NEW", "IN_PROGRESS", "RESOLVED", "CLOSED"], "every status, in order");
            }
            let flat: Vec<Value> = answer
                .as_array()
                .unwrap()
                .iter()
                .map(|b| {
                    let mut b = b.clone();
                    for (i, s) in b["byStatus"].clone().as_array().unwrap().iter().enumerate() {
                        b[format!("s{i}")] = s["count"].clone();
                    }
                    b
                })
                .collect();
            buckets(&Value::Array(flat), &["created", "s0", "s1", "s2", "s3"])
        }
    };
    let berlin_days = json!({ "from": "2026-10-23T22:00:00Z", "to": "2026-10-26T23:00:00Z" });
    assert_eq!(
        dynamics(json!({ "period": berlin_days, "bucket": "DAY", "tz": "Europe/Berlin" })).await,
        want(&[
            ("2026-10-23T22:00:00Z", 24, &[1, 1, 0, 0, 0]),
            ("2026-10-24T22:00:00Z", 25, &[2, 0, 1, 0, 1]),
            ("2026-10-25T23:00:00Z", 24, &[1, 0, 0, 1, 0]),
        ])
    );
    let utc_days = json!({ "from": "2026-10-24T00:00:00Z", "to": "2026-10-27T00:00:00Z" });
    assert_eq!(
        dynamics(json!({ "period": utc_days, "bucket": "DAY" })).await,
        want(&[
            ("2026-10-24T00:00:00Z", 24, &[1, 1, 0, 0, 0]),
            ("2026-10-25T00:00:00Z", 24, &[3, 0, 1, 1, 1]),
            ("2026-10-26T00:00:00Z", 24, &[0, 0, 0, 0, 0]),
        ])
    );
    assert_eq!(
        dynamics(json!({ "period": berlin_days, "bucket": "DAY", "tz": "Europe/Berlin",
                         "filter": { "status": "CLOSED" } }))
        .await,
        want(&[
            ("2026-10-23T22:00:00Z", 24, &[0, 0, 0, 0, 0]),
            ("2026-10-24T22:00:00Z", 25, &[1, 0, 0, 0, 1]),
            ("2026-10-25T23:00:00Z", 24, &[0, 0, 0, 0, 0]),
        ])
    );
    let months = json!({ "from": "2026-10-01T00:00:00Z", "to": "2026-12-01T00:00:00Z" });
    assert_eq!(
        dynamics(json!({ "period": months, "bucket": "MONTH" })).await,
        want(&[
            ("2026-10-01T00:00:00Z", 31 * 24, &[5, 2, 1, 1, 1]),
            ("2026-11-01T00:00:00Z", 30 * 24, &[0, 0, 0, 0, 0])
        ])
    );

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

on_both_backends!(
    chat_indicators_and_processing_rate_by_hand,
    case_dynamics_by_hand,
    indicator_reads_time_out
);
