//! Chat history (issue 13, items 1 and 2): filters, orders, keyset pages that stay whole while
//! chats arrive, `totalCount`, the per-chat figures and who reads what.

use entity::enums::Role;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::lifecycle::{ACCEPT, customer_writes, offered_to, setup};
use crate::on_both_backends;
use crate::support::{Backend, TestApp};

const HISTORY: &str = "query($filter: ChatFilter, $order: ChatOrder, $first: Int, $after: String) {
  chats(filter: $filter, orderBy: $order, first: $first, after: $after) {
    totalCount
    edges { cursor node { id status } }
    pageInfo { hasNextPage endCursor }
  }
}";
const SEND: &str = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }";
const COMPLETE: &str = "mutation($id: ID!) { completeChat(chatId: $id) { status } }";

fn row(id: &str) -> i64 {
    api::graphql::ids::decode(&async_graphql::ID(id.to_owned()), "Chat").unwrap()
}

/// Sets a chat's times (seconds after 2026-03-01T10:00:00Z; None leaves a time as it is).
async fn set_times(app: &TestApp, chat: &str, times: &[(&str, i64)]) {
    for (column, seconds) in times {
        let at =
            chrono::DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z").unwrap().with_timezone(&chrono::Utc)
                + chrono::Duration::seconds(*seconds);
        let sql = format!("UPDATE chats SET {column} = $1 WHERE id = $2");
        let sql = match app.db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => sql,
            _ => sql.replace("$1", "?").replace("$2", "?"),
        };
        app.db
            .execute_raw(Statement::from_sql_and_values(
                app.db.get_database_backend(),
                sql,
                [at.into(), row(chat).into()],
            ))
            .await
            .unwrap();
    }
}

fn ids(data: &Value) -> Vec<String> {
    data["chats"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Every page of a query, `first` at a time.
async fn all_pages(app: &TestApp, token: &str, filter: Value, order: Value, first: i64) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = app
            .ok(
                Some(token),
                HISTORY,
                json!({ "filter": filter, "order": order, "first": first, "after": after }),
            )
            .await;
        seen.extend(ids(&data));
        if data["chats"]["pageInfo"]["hasNextPage"] != true {
            return seen;
        }
        after = data["chats"]["pageInfo"]["endCursor"].clone();
    }
}

async fn history_filters_orders_and_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let admin = s.admin.clone();
    let agent = s.agents[0].2.clone();
    let (_, analyst) = app.signed_in("ann@example.com", Role::Analyst).await;
    // Six customers; chat i created at i hours.
    let mut chats = Vec::new();
    for i in 0..6 {
        let (chat, _) = customer_writes(&app, &s, 9100 + i, 1).await;
        chats.push(chat);
    }
    // The agent takes 0, 1 and 2, answers 0 and 1 and completes 0 and 1.
    for chat in &chats[..3] {
        offered_to(&app, &agent, chat).await;
        app.ok(Some(&agent), ACCEPT, json!({ "id": chat })).await;
    }
    for chat in &chats[..2] {
        app.ok(Some(&agent), SEND, json!({ "input": { "chatId": chat, "text": "hello" } })).await;
        app.ok(Some(&agent), COMPLETE, json!({ "id": chat })).await;
    }
    for (i, chat) in chats.iter().enumerate() {
        let i = i as i64;
        set_times(&app, chat, &[("created_at", i * 3600), ("queued_at", i * 3600)]).await;
    }
    set_times(&app, &chats[0], &[("accepted_at", 30), ("first_response_at", 90), ("completed_at", 600)])
        .await;
    set_times(
        &app,
        &chats[1],
        &[("accepted_at", 3600 + 60), ("first_response_at", 3600 + 300), ("completed_at", 3600 + 300)],
    )
    .await;

    // Filters.
    let completed = json!({ "statuses": ["COMPLETED"] });
    let data = app.ok(Some(&analyst), HISTORY, json!({ "filter": completed })).await;
    assert_eq!(ids(&data), [chats[0].clone(), chats[1].clone()]);
    assert_eq!(data["chats"]["totalCount"], 2);
    let window = json!({ "created": { "from": "2026-03-01T11:00:00Z", "to": "2026-03-01T14:00:00Z" } });
    assert_eq!(
        ids(&app.ok(Some(&analyst), HISTORY, json!({ "filter": window })).await),
        chats[1..4].to_vec(),
        "[from, to)"
    );
    let both =
        json!({ "statuses": ["WAITING", "IN_PROGRESS"], "created": { "from": "2026-03-01T12:00:00Z" } });
    assert_eq!(
        ids(&app.ok(Some(&analyst), HISTORY, json!({ "filter": both })).await),
        chats[2..].to_vec(),
        "AND"
    );
    let not_transferred = json!({ "transferred": false, "botHandled": false, "queueIds": [s.queue] });
    assert_eq!(
        app.ok(Some(&analyst), HISTORY, json!({ "filter": not_transferred })).await["chats"]["totalCount"],
        6
    );

    // Orders: completion, newest first (only completed chats have one).
    let by_completion = json!({ "field": "COMPLETED_AT", "direction": "DESC" });
    let data = app.ok(Some(&analyst), HISTORY, json!({ "order": by_completion })).await;
    assert_eq!(ids(&data), [chats[1].clone(), chats[0].clone()]);
    assert_eq!(data["chats"]["totalCount"], 2);
    // Creation, newest first, a page of two at a time: every chat once.
    let newest = json!({ "field": "CREATED_AT", "direction": "DESC" });
    let mut expected: Vec<String> = chats.clone();
    expected.reverse();
    assert_eq!(all_pages(&app, &analyst, json!({}), newest.clone(), 2).await, expected);

    // Pages stay whole while chats arrive: a chat created between two pages (newer than every
    // other) shows at the end of an oldest-first walk and never repeats one.
    let first = app.ok(Some(&analyst), HISTORY, json!({ "first": 3 })).await;
    assert_eq!(ids(&first), chats[..3].to_vec());
    let (late, _) = customer_writes(&app, &s, 9199, 1).await;
    let mut rest = Vec::new();
    let mut after = first["chats"]["pageInfo"]["endCursor"].clone();
    loop {
        let data = app.ok(Some(&analyst), HISTORY, json!({ "first": 2, "after": after })).await;
        rest.extend(ids(&data));
        if data["chats"]["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = data["chats"]["pageInfo"]["endCursor"].clone();
    }
    let mut tail = chats[3..].to_vec();
    tail.push(late.clone());
    assert_eq!(rest, tail);

    // The figures of a chat, by the definitions.
    let figures = app
        .ok(
            Some(&analyst),
            "query($id: ID!) { chat(id: $id) { timeToAccept firstResponseTime duration handlingTime messageCount queuedAt lastMessageAt
               assignments { kind outcome agent { email } }
               messages { nodes { direction author { email } } } } }",
            json!({ "id": chats[0] }),
        )
        .await;
    let chat = &figures["chat"];
    assert_eq!(chat["timeToAccept"], 30.0);
    assert_eq!(chat["firstResponseTime"], 90.0);
    assert_eq!(chat["duration"], 600.0);
    assert_eq!(chat["handlingTime"], 570.0);
    assert_eq!(chat["messageCount"], 2);
    assert!(chat["lastMessageAt"].is_string());
    let kinds: Vec<&str> =
        chat["assignments"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["OFFER", "ACCEPTANCE"]);
    assert_eq!(chat["assignments"][1]["outcome"], "ACCEPTED");
    assert_eq!(chat["assignments"][0]["outcome"], "ACCEPTED");
    let messages = chat["messages"]["nodes"].as_array().unwrap();
    assert_eq!(messages[0]["author"], Value::Null, "the customer's message has no agent");
    assert_eq!(messages[1]["author"]["email"], "agent0@example.com");
    // An open chat has no duration, not "until now".
    let open = app
        .ok(
            Some(&analyst),
            "query($id: ID!) { chat(id: $id) { duration handlingTime timeToAccept } }",
            json!({ "id": chats[2] }),
        )
        .await;
    assert_eq!(open["chat"]["duration"], Value::Null);
    assert_eq!(open["chat"]["handlingTime"], Value::Null);

    // Who reads what: an agent only their chats (and offers), analysts and admins all.
    let mine = all_pages(&app, &agent, json!({}), json!({}), 2).await;
    assert!(mine.contains(&chats[0]) && mine.contains(&chats[2]), "{mine:?}");
    let (_, outsider) = app.signed_in("outsider@example.com", Role::Agent).await;
    assert_eq!(app.ok(Some(&outsider), HISTORY, json!({})).await["chats"]["totalCount"], 0);
    assert_eq!(app.ok(Some(&admin), HISTORY, json!({})).await["chats"]["totalCount"], 7);

    // Bad input.
    let inverted =
        json!({ "filter": { "created": { "from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z" } } });
    assert_eq!(app.error_code(Some(&analyst), HISTORY, inverted).await, "BAD_USER_INPUT");
    // Page limits (a small selection, so the cost limit is not what refuses it).
    const IDS: &str = "query($first: Int) { chats(first: $first) { nodes { id } } }";
    assert_eq!(app.error_code(Some(&analyst), IDS, json!({ "first": 1001 })).await, "BAD_USER_INPUT");
    assert_eq!(
        app.error_code(Some(&agent), HISTORY, json!({ "first": 101 })).await,
        "BAD_USER_INPUT",
        "agents page like before"
    );
    let cursor = first["chats"]["pageInfo"]["endCursor"].clone();
    assert_eq!(
        app.error_code(Some(&analyst), HISTORY, json!({ "after": cursor, "order": newest })).await,
        "BAD_USER_INPUT",
        "a cursor only works in its own order"
    );
    // Analysts may ask for big pages.
    let big = app.ok(Some(&analyst), IDS, json!({ "first": 1000 })).await;
    assert_eq!(big["chats"]["nodes"].as_array().unwrap().len(), 7);
}

const STATS: &str = "query($filter: ChatFilter, $by: [ChatGroupBy!], $tz: String) {
  chatStats(filter: $filter, groupBy: $by, timeZone: $tz) {
    bucketStart bucketEnd status agent { email } count
    timeToAccept { count average median p90 }
    firstResponseTime { count average median p90 }
    duration { count average median p90 }
    handlingTime { count average median p90 }
  }
}";

/// Sets a chat's times to these instants (RFC 3339), by column.
async fn set_instants(app: &TestApp, chat: &str, times: &[(&str, &str)]) {
    let base = chrono::DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z").unwrap();
    let seconds: Vec<(&str, i64)> = times
        .iter()
        .map(|(column, at)| {
            (*column, (chrono::DateTime::parse_from_rfc3339(at).unwrap() - base).num_seconds())
        })
        .collect();
    set_times(app, chat, &seconds).await;
}

async fn chat_stats_by_hand(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let agent = s.agents[0].2.clone();
    let (_, analyst) = app.signed_in("ann@example.com", Role::Analyst).await;
    let mut chats = Vec::new();
    for i in 0..4 {
        let (chat, _) = customer_writes(&app, &s, 9300 + i, 1).await;
        chats.push(chat);
    }
    for chat in &chats[..2] {
        offered_to(&app, &agent, chat).await;
        app.ok(Some(&agent), ACCEPT, json!({ "id": chat })).await;
        app.ok(Some(&agent), SEND, json!({ "input": { "chatId": chat, "text": "hi" } })).await;
        app.ok(Some(&agent), COMPLETE, json!({ "id": chat })).await;
    }
    // Berlin moves from 02:00 to 03:00 on 2026-03-29: that day runs 23:00Z on the 28th to
    // 22:00Z on the 29th.
    let at = |t: &str| format!("2026-03-{t}Z");
    set_instants(
        &app,
        &chats[0],
        &[
            ("created_at", &at("28T22:30:00")),
            ("queued_at", &at("28T22:30:00")),
            ("accepted_at", &at("28T22:31:00")),
            ("first_response_at", &at("28T22:32:00")),
            ("completed_at", &at("28T22:40:00")),
        ],
    )
    .await;
    set_instants(
        &app,
        &chats[1],
        &[
            ("created_at", &at("29T12:00:00")),
            ("queued_at", &at("29T12:00:00")),
            ("accepted_at", &at("29T12:00:30")),
            ("first_response_at", &at("29T12:01:30")),
            ("completed_at", &at("29T12:05:00")),
        ],
    )
    .await;
    set_instants(&app, &chats[2], &[("created_at", &at("29T21:30:00")), ("queued_at", &at("29T21:30:00"))])
        .await;
    set_instants(&app, &chats[3], &[("created_at", &at("29T22:30:00")), ("queued_at", &at("29T22:30:00"))])
        .await;
    let range = json!({ "created": { "from": "2026-03-28T00:00:00Z", "to": "2026-03-31T00:00:00Z" } });

    // Everything in one group: figures computed by hand.
    let all = app.ok(Some(&analyst), STATS, json!({ "filter": range })).await;
    let group = &all["chatStats"][0];
    assert_eq!(group["count"], 4);
    assert_eq!(group["timeToAccept"], json!({ "count": 2, "average": 45.0, "median": 45.0, "p90": 57.0 }));
    assert_eq!(
        group["firstResponseTime"],
        json!({ "count": 2, "average": 105.0, "median": 105.0, "p90": 117.0 })
    );
    assert_eq!(group["duration"], json!({ "count": 2, "average": 450.0, "median": 450.0, "p90": 570.0 }));
    assert_eq!(group["handlingTime"], json!({ "count": 2, "average": 405.0, "median": 405.0, "p90": 513.0 }));

    // Days in Berlin, across the DST change.
    let days =
        app.ok(Some(&analyst), STATS, json!({ "filter": range, "by": ["DAY"], "tz": "Europe/Berlin" })).await;
    let days: Vec<(String, String, i64)> = days["chatStats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["bucketStart"].as_str().unwrap().to_owned(),
                g["bucketEnd"].as_str().unwrap().to_owned(),
                g["count"].as_i64().unwrap(),
            )
        })
        .collect();
    let instant = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap();
    let expected = [
        ("2026-03-27T23:00:00Z", "2026-03-28T23:00:00Z", 1),
        ("2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z", 2),
        ("2026-03-29T22:00:00Z", "2026-03-30T22:00:00Z", 1),
    ];
    assert_eq!(days.len(), 3, "{days:?}");
    for ((start, end, n), (want_start, want_end, want_n)) in days.iter().zip(expected) {
        assert_eq!(instant(start), instant(want_start));
        assert_eq!(instant(end), instant(want_end));
        assert_eq!(*n, want_n);
    }
    // The same chats in UTC days: 1 on the 28th, 3 on the 29th.
    let utc = app.ok(Some(&analyst), STATS, json!({ "filter": range, "by": ["DAY"] })).await;
    let counts: Vec<i64> =
        utc["chatStats"].as_array().unwrap().iter().map(|g| g["count"].as_i64().unwrap()).collect();
    assert_eq!(counts, [1, 3]);
    // By status and by agent.
    let by_status = app.ok(Some(&analyst), STATS, json!({ "filter": range, "by": ["STATUS"] })).await;
    let statuses: Vec<(&str, i64)> = by_status["chatStats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["status"].as_str().unwrap(), g["count"].as_i64().unwrap()))
        .collect();
    assert_eq!(statuses, [("COMPLETED", 2), ("WAITING", 2)]);
    let by_agent = app.ok(Some(&analyst), STATS, json!({ "filter": range, "by": ["AGENT"] })).await;
    let agents: Vec<(Value, i64)> = by_agent["chatStats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["agent"]["email"].clone(), g["count"].as_i64().unwrap()))
        .collect();
    assert!(
        agents.contains(&(json!("agent0@example.com"), 2)) && agents.contains(&(Value::Null, 2)),
        "{agents:?}"
    );

    // Bad input, refused before anything slow runs.
    for (vars, code) in [
        (json!({ "by": ["DAY"] }), "BAD_USER_INPUT"),
        (json!({ "filter": range, "by": ["DAY", "HOUR"] }), "BAD_USER_INPUT"),
        (json!({ "filter": range, "tz": "Mars/Olympus_Mons" }), "BAD_USER_INPUT"),
        (
            json!({ "filter": { "created": { "from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z" } }, "by": ["HOUR"] }),
            "TOO_MANY_GROUPS",
        ),
    ] {
        assert_eq!(app.error_code(Some(&analyst), STATS, vars.clone()).await, code, "{vars}");
    }
    assert_eq!(app.error_code(Some(&agent), STATS, json!({})).await, "FORBIDDEN");
}

on_both_backends!(history_filters_orders_and_pages, chat_stats_by_hand);
