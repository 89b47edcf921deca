//! graphql-transport-ws served by Switchboard itself: subscribers of one session asking the
//! same share one stream; the protocol's errors close the socket with the protocol's codes.

use entity::enums::Role;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::on_both_databases;
use crate::operations::{sample, scrape};
use crate::subscriptions::{event, subscribe};
use crate::support::{TestApp, eventually};
use crate::websocket::{Socket, connect, next, send};

const STATUS_EVENTS: &str = "subscription { myChatEvents { id kind } }";

/// (subscriptions, streams) as `/metrics` counts them.
async fn counts(app: &TestApp) -> (Option<f64>, Option<f64>) {
    let text = scrape(app).await;
    (sample(&text, "switchboard_subscriptions_active"), sample(&text, "switchboard_subscription_streams"))
}

async fn wait_for_counts(app: &TestApp, subscriptions: f64, streams: f64) {
    eventually(&format!("{subscriptions} subscriptions on {streams} streams"), || async {
        (counts(app).await == (Some(subscriptions), Some(streams))).then_some(())
    })
    .await;
}

/// The next text frame as it came, pings and pongs included (`next` skips them).
async fn raw(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .expect("the server answers within 10 s")
            .expect("the socket stays open")
            .expect("no error");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

/// Sets the caller's status; the id of the event it committed comes to their subscribers.
async fn toggle(app: &TestApp, token: &str, status: &str) {
    app.ok(
        Some(token),
        "mutation($s: AgentStatus!) { setMyStatus(status: $s) { id } }",
        json!({ "s": status }),
    )
    .await;
}

/// The next AGENT_STATUS_CHANGED event's id on `socket`.
async fn status_event(socket: &mut Socket) -> String {
    loop {
        let payload = event(socket).await;
        let data = &payload["data"]["myChatEvents"];
        assert!(payload["errors"].is_null(), "{payload}");
        if data["kind"] == "AGENT_STATUS_CHANGED" {
            return data["id"].as_str().unwrap().to_owned();
        }
    }
}

async fn subscribers_asking_the_same_share_one_stream(app: TestApp) {
    let (_, ann) = app.signed_in("ann@example.com", Role::Agent).await;
    let ann_again = app.login("ann@example.com").await;
    let (_, bob) = app.signed_in("bob@example.com", Role::Agent).await;
    // Two connections of one session with the same subscription: one stream.
    let mut first = subscribe(&app, &ann, STATUS_EVENTS, json!({})).await;
    let mut second = subscribe(&app, &ann, STATUS_EVENTS, json!({})).await;
    wait_for_counts(&app, 2.0, 1.0).await;
    // Another session of the same agent, another agent, and a replay from `after`: each its own.
    let mut other_session = subscribe(&app, &ann_again, STATUS_EVENTS, json!({})).await;
    let _bob = subscribe(&app, &bob, STATUS_EVENTS, json!({})).await;
    let mut replaying = subscribe(
        &app,
        &ann,
        "subscription($after: ID) { myChatEvents(after: $after) { id kind } }",
        json!({ "after": "0" }),
    )
    .await;
    wait_for_counts(&app, 5.0, 4.0).await;

    toggle(&app, &ann, "ACTIVE").await;
    let id = status_event(&mut first).await;
    assert_eq!(status_event(&mut second).await, id);
    assert_eq!(status_event(&mut other_session).await, id);
    // The replay starts at the log's beginning: ann's sign-ins come first.
    loop {
        if status_event(&mut replaying).await == id {
            break;
        }
    }

    // The first leaves; the stream goes on for the second.
    send(&mut first, json!({ "id": "s", "type": "complete" })).await;
    wait_for_counts(&app, 4.0, 4.0).await;
    toggle(&app, &ann, "INACTIVE").await;
    let id = status_event(&mut second).await;
    assert_eq!(status_event(&mut other_session).await, id);
    // Nothing came for the completed subscription: a pong is the first's next frame.
    send(&mut first, json!({ "type": "ping" })).await;
    assert_eq!(raw(&mut first).await, json!({ "type": "pong" }));

    // The last subscriber of a stream leaving ends it.
    drop(second);
    wait_for_counts(&app, 3.0, 3.0).await;
    // The same subscription again starts a new stream.
    let mut again = subscribe(&app, &ann, STATUS_EVENTS, json!({})).await;
    wait_for_counts(&app, 4.0, 4.0).await;
    toggle(&app, &ann, "ACTIVE").await;
    let id = status_event(&mut again).await;
    assert_eq!(status_event(&mut other_session).await, id);
}

/// Queries over the socket, and the end of a shared stream reaching every subscriber.
async fn a_shared_stream_that_ends_completes_every_subscriber(app: TestApp) {
    let (_, ann) = app.signed_in("ann@example.com", Role::Agent).await;
    let mut first = subscribe(&app, &ann, STATUS_EVENTS, json!({})).await;
    let mut second = subscribe(&app, &ann, STATUS_EVENTS, json!({})).await;
    wait_for_counts(&app, 2.0, 1.0).await;
    // A query on the same socket runs beside the subscription, then completes.
    send(&mut first, json!({ "id": "q", "type": "subscribe", "payload": { "query": "{ me { email } }" } }))
        .await;
    let answer = next(&mut first).await.unwrap().unwrap();
    assert_eq!((answer["id"].as_str(), answer["type"].as_str()), (Some("q"), Some("next")));
    assert_eq!(answer["payload"]["data"]["me"]["email"], "ann@example.com");
    assert_eq!(next(&mut first).await.unwrap().unwrap(), json!({ "id": "q", "type": "complete" }));
    // Signing out ends the session the stream runs for: both subscribers are told and
    // completed.
    app.ok(Some(&ann), "mutation { logout }", json!({})).await;
    for socket in [&mut first, &mut second] {
        loop {
            let message = next(socket).await.unwrap().unwrap();
            if message["type"] == "complete" {
                assert_eq!(message["id"], "s");
                break;
            }
            let code = &message["payload"]["errors"][0]["extensions"]["code"];
            if !code.is_null() {
                assert_eq!(code, "UNAUTHENTICATED", "{message}");
            }
        }
    }
    wait_for_counts(&app, 0.0, 0.0).await;
    // The id is free again: reusing it is no duplicate (the token no longer works, though).
    send(&mut first, json!({ "id": "s", "type": "subscribe", "payload": { "query": "{ me { email } }" } }))
        .await;
    assert_eq!(next(&mut first).await.unwrap().unwrap()["type"], "next");
}

/// The close code the server ends `socket` with.
async fn closed_with(socket: &mut Socket) -> u16 {
    match next(socket).await {
        Some(Err((code, _))) => code,
        other => panic!("expected a close, got {other:?}"),
    }
}

async fn init(socket: &mut Socket, token: &str) {
    send(
        socket,
        json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }),
    )
    .await;
    assert_eq!(next(socket).await.unwrap().unwrap()["type"], "connection_ack");
}

async fn protocol_errors_close_with_the_protocols_codes(app: TestApp) {
    let (_, ann) = app.signed_in("ann@example.com", Role::Agent).await;
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": STATUS_EVENTS } });

    let mut socket = connect(&app, "graphql-transport-ws").await;
    send(&mut socket, subscribe.clone()).await;
    assert_eq!(closed_with(&mut socket).await, 4401, "subscribe before connection_init");

    let mut socket = connect(&app, "graphql-transport-ws").await;
    init(&mut socket, &ann).await;
    send(&mut socket, json!({ "type": "connection_init", "payload": {} })).await;
    assert_eq!(closed_with(&mut socket).await, 4429, "a second connection_init");

    let mut socket = connect(&app, "graphql-transport-ws").await;
    init(&mut socket, &ann).await;
    send(&mut socket, subscribe.clone()).await;
    send(&mut socket, subscribe.clone()).await;
    assert_eq!(closed_with(&mut socket).await, 4409, "an id already running");

    let mut socket = connect(&app, "graphql-transport-ws").await;
    socket.send(Message::Text("{\"type\": \"hello\"}".into())).await.unwrap();
    assert_eq!(closed_with(&mut socket).await, 4400, "not a message of the protocol");

    let mut socket = connect(&app, "graphql-transport-ws").await;
    init(&mut socket, &ann).await;
    send(&mut socket, json!({ "type": "ping", "payload": { "n": 1 } })).await;
    assert_eq!(raw(&mut socket).await, json!({ "type": "pong" }));

    // No connection_init within 10 s.
    let mut socket = connect(&app, "graphql-transport-ws").await;
    let closed = tokio::time::timeout(std::time::Duration::from_secs(15), socket.next())
        .await
        .expect("closed within 15 s")
        .expect("a close frame")
        .expect("no error");
    let Message::Close(Some(frame)) = closed else { panic!("expected a close, got {closed:?}") };
    assert_eq!(u16::from(frame.code), 4408);
}

/// Streams run by their group, as `/metrics` counts them.
async fn detached(app: &TestApp) -> Option<f64> {
    sample(&scrape(app).await, "switchboard_subscription_streams_detached")
}

async fn wait_for_detached(app: &TestApp, streams: f64) {
    eventually(&format!("{streams} detached streams"), || async {
        (detached(app).await == Some(streams)).then_some(())
    })
    .await;
}

/// A subscription of one root field is run by its group, each event executed on its own
/// (graphql/detached.rs); `agentWorkloadChanged`, which keeps the rows it sent, is not.
async fn one_root_field_subscriptions_run_detached(app: TestApp) {
    let (_, ann) = app.signed_in("ann@example.com", Role::Agent).await;
    let (_, sue) = app.signed_in("sue@example.com", Role::Supervisor).await;
    let mut mine = subscribe(&app, &ann, STATUS_EVENTS, json!({})).await;
    let _workload =
        subscribe(&app, &sue, "subscription { agentWorkloadChanged { eventId } }", json!({})).await;
    wait_for_counts(&app, 2.0, 2.0).await;
    wait_for_detached(&app, 1.0).await;
    // Each event reaches the subscriber, in order, executed with the selection asked for.
    toggle(&app, &ann, "ACTIVE").await;
    let first = status_event(&mut mine).await;
    toggle(&app, &ann, "INACTIVE").await;
    let second = status_event(&mut mine).await;
    assert!(first.parse::<i64>().unwrap() < second.parse::<i64>().unwrap(), "{first} then {second}");
    // A replay is run by its group too: from the log, then live.
    let mut replay = subscribe(
        &app,
        &ann,
        "subscription($after: ID) { myChatEvents(after: $after) { id kind } }",
        json!({ "after": first }),
    )
    .await;
    assert_eq!(status_event(&mut replay).await, second);
    wait_for_detached(&app, 2.0).await;
    toggle(&app, &ann, "ACTIVE").await;
    let third = status_event(&mut mine).await;
    assert_eq!(status_event(&mut replay).await, third);
    drop((mine, replay));
    wait_for_detached(&app, 0.0).await;
}

on_both_databases!(
    one_root_field_subscriptions_run_detached,
    subscribers_asking_the_same_share_one_stream,
    a_shared_stream_that_ends_completes_every_subscriber,
    protocol_errors_close_with_the_protocols_codes,
);

/// Every commit announces its events — PostgreSQL `NOTIFY`, on SQLite the single writer's
/// release (`db::connect_announcing_writes`) — so the event bus never waits for its poll, a
/// safety net only. With that poll an hour apart, each event still reaches its subscriber.
async fn events_are_announced_not_waited_for(backend: crate::support::Backend) {
    let app = TestApp::spawn_with(backend, |config| config.event_poll_ms = 3_600_000).await;
    let (_, ann) = app.signed_in("ann@example.com", Role::Agent).await;
    let mut socket = subscribe(&app, &ann, STATUS_EVENTS, json!({})).await;
    wait_for_counts(&app, 1.0, 1.0).await;
    for status in ["ACTIVE", "INACTIVE", "ACTIVE"] {
        toggle(&app, &ann, status).await;
        status_event(&mut socket).await;
    }
}

crate::on_both_backends!(events_are_announced_not_waited_for);
