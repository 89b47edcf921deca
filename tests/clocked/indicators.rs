//! The Chats-section indicators, the processing rate and the case dynamics (issue 13, items 4
//! and 6): figures computed by hand over chats and cases whose times are set through the
//! server's clock (chats arrive through real webhooks and are accepted, answered and completed
//! through the API at chosen instants; cases are registered with `createCaseFromChat` at chosen
//! instants), with buckets across Berlin's autumn DST change (2026-10-25 has 25 hours). Bad
//! input, who may read them and the statement timeout need no chosen time: tests/e2e/indicators.rs.

use api::clock;
use chrono::{DateTime, Duration, Utc};
use entity::enums::Role;
use serde_json::{Value, json};

use crate::clocked;
use crate::lives::{Life, instant};
use crate::scenario::{customer_writes, setup};
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

/// The buckets of an answer as (start, length in minutes, the counts named), compared as
/// instants.
fn buckets(list: &Value, counts: &[&str]) -> Vec<(DateTime<Utc>, i64, Vec<i64>)> {
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

/// `(start, length in hours, counts)`, as `buckets` gives them.
fn want(rows: &[(&str, i64, &[i64])]) -> Vec<(DateTime<Utc>, i64, Vec<i64>)> {
    rows.iter().map(|(start, hours, counts)| (instant(start), hours * 60, counts.to_vec())).collect()
}

async fn chat_indicators_and_processing_rate_by_hand(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let agent = s.agents[0].2.clone();
    let (_, analyst) = app.signed_in("ann@example.com", Role::Analyst).await;
    let (_, supervisor) = app.signed_in("sue@example.com", Role::Supervisor).await;
    // Chat a is completed 59 minutes after its answer and c stays open for days of the clock:
    // without the queue's completion timeout, neither is completed (TIMEOUT) by the server.
    app.ok(
        Some(&s.admin),
        "mutation($input: UpdateQueueInput!) { updateQueue(input: $input) { id } }",
        json!({ "input": { "id": s.queue, "completionTimeoutMinutes": null } }),
    )
    .await;
    // Six chats, lived in the order of their creation: f accepted and completed without an
    // answer, created days before the others; a, b answered and completed; c answered, in
    // progress; d, e waiting.
    let at = |t: &str| instant(&format!("2026-10-{t}Z"));
    let lives = [
        // f: no response; accepted after 300 s; duration five days, 432000 s.
        Life {
            accepted: Some(at("20T10:05:00")),
            completed: Some(at("25T10:00:00")),
            ..Life::waiting(at("20T10:00:00"))
        },
        // a: first response 60 s, duration 3600 s; created on the 24th in Berlin (23:30
        // CEST), completed on the 25th (00:30 CEST).
        Life::done(at("24T21:30:00"), 30, 60, 3600),
        // b: 120 s, 1200 s.
        Life::done(at("25T12:00:00"), 60, 120, 1200),
        // c: 30 s, open: no duration. 23:30 CET on the 25th in Berlin.
        Life {
            accepted: Some(at("25T22:30:10")),
            answered: Some(at("25T22:30:30")),
            ..Life::waiting(at("25T22:30:00"))
        },
        // d: 00:30 CET on the 26th in Berlin, still the 25th in UTC.
        Life::waiting(at("25T23:30:00")),
        // e.
        Life::waiting(at("26T08:00:00")),
    ];
    let mut chats = Vec::new();
    for (i, life) in (0..).zip(&lives) {
        chats.push(life.live(&app, &s, &agent, 9400 + i).await);
    }
    let a = chats[1].clone();

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
            json!({ "id": a }),
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
}

async fn case_dynamics_by_hand(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let (_, analyst) = app.signed_in("ann@example.com", Role::Analyst).await;
    let (chat, _) = customer_writes(&app, &s, 9500, 1).await;
    let create = "mutation($id: ID!) { createCaseFromChat(chatId: $id) { id registeredAt } }";
    let update = "mutation($input: UpdateCaseInput!) { updateCase(input: $input) { status } }";
    // (registered at, status): Berlin days 24th, 25th (02:30 CEST), 25th (23:30 CET), 26th
    // (00:30 CET), and one after the period. Each is registered with the clock at its instant
    // and its status changed a minute later.
    let cases = [
        ("2026-10-24T21:30:00Z", None),
        ("2026-10-25T00:30:00Z", Some("IN_PROGRESS")),
        ("2026-10-25T22:30:00Z", Some("CLOSED")),
        ("2026-10-25T23:30:00Z", Some("RESOLVED")),
        ("2026-10-30T12:00:00Z", None),
    ];
    for (registered, status) in cases {
        clock::freeze(instant(registered));
        let made = app.ok(Some(&s.admin), create, json!({ "id": chat })).await["createCaseFromChat"].clone();
        assert_eq!(instant(made["registeredAt"].as_str().unwrap()), instant(registered), "the clock's time");
        if let Some(status) = status {
            clock::advance(Duration::minutes(1));
            app.ok(Some(&s.admin), update, json!({ "input": { "id": made["id"], "status": status } })).await;
        }
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
}

clocked!(chat_indicators_and_processing_rate_by_hand, case_dynamics_by_hand);
