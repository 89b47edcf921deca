//! Chat history (issue 13, items 1 and 2): filters, orders, keyset pages that stay whole while
//! chats arrive, `totalCount`, the per-chat figures and who reads what; and `chatStats`
//! (item 3). Every time in the dataset is set through the server's clock: chats arrive through
//! real webhooks and are accepted, answered and completed through the API at chosen instants,
//! so the expected figures are computed by hand.

use api::clock;
use chrono::{DateTime, Duration, Utc};
use entity::enums::Role;
use serde_json::{Value, json};

use crate::clocked;
use crate::lives::{Life, instant};
use crate::scenario::{customer_writes, setup};
use crate::support::{Backend, TestApp};

const HISTORY: &str = "query($filter: ChatFilter, $order: ChatOrder, $first: Int, $after: String) {
  chats(filter: $filter, orderBy: $order, first: $first, after: $after) {
    totalCount
    edges { cursor node { id status } }
    pageInfo { hasNextPage endCursor }
  }
}";

/// 2026-03-01T10:00:00Z plus `seconds`.
fn base(seconds: i64) -> DateTime<Utc> {
    instant("2026-03-01T10:00:00Z") + Duration::seconds(seconds)
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
    // Six customers; chat i created at i hours. The agent accepts, answers and completes 0
    // (at 30 s, 90 s, 600 s) and 1 (at 60 s, 300 s, 300 s), and accepts 2.
    let mut lives = vec![Life::done(base(0), 30, 90, 600), Life::done(base(3600), 60, 300, 300)];
    lives.push(Life { accepted: Some(base(2 * 3600 + 10)), ..Life::waiting(base(2 * 3600)) });
    lives.extend((3..6).map(|i| Life::waiting(base(i * 3600))));
    let mut chats = Vec::new();
    for (i, life) in (0..).zip(&lives) {
        chats.push(life.live(&app, &s, &agent, 9100 + i).await);
    }

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
    clock::freeze(base(6 * 3600));
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

async fn chat_stats_by_hand(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let agent = s.agents[0].2.clone();
    let (_, analyst) = app.signed_in("ann@example.com", Role::Analyst).await;
    // Berlin moves from 02:00 to 03:00 on 2026-03-29: that day runs 23:00Z on the 28th to
    // 22:00Z on the 29th. Two chats are accepted, answered and completed; two wait.
    let at = |t: &str| instant(&format!("2026-03-{t}Z"));
    let lives = [
        Life::done(at("28T22:30:00"), 60, 120, 600),
        Life::done(at("29T12:00:00"), 30, 90, 300),
        Life::waiting(at("29T21:30:00")),
        Life::waiting(at("29T22:30:00")),
    ];
    let mut chats = Vec::new();
    for (i, life) in (0..).zip(&lives) {
        chats.push(life.live(&app, &s, &agent, 9300 + i).await);
    }
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

clocked!(history_filters_orders_and_pages, chat_stats_by_hand);
