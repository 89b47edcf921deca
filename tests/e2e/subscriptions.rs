//! Subscriptions over a real WebSocket client: the right events to the right agents, resume,
//! sign-out, overflow, and two server instances.

use entity::enums::Role;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Backend, TestApp};
use crate::websocket::{Socket, connect, next, send};

const MY_EVENTS: &str = "subscription($after: ID) { myChatEvents(after: $after) { id kind at agent { id email } chat { id status } message { id } details } }";

/// A Telegram private message from customer `user`.
fn telegram(user: i64, message: i64) -> Vec<u8> {
    json!({ "update_id": user * 1000 + message, "message": {
        "message_id": message, "date": 1773134000,
        "from": { "id": user, "is_bot": false, "first_name": "Customer" },
        "chat": { "id": user, "type": "private", "first_name": "Customer" },
        "text": "hello" } })
    .to_string()
    .into_bytes()
}

pub(crate) async fn subscribe(app: &TestApp, token: &str, query: &str, variables: Value) -> Socket {
    let mut socket = connect(app, "graphql-transport-ws").await;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }),
    )
    .await;
    assert_eq!(next(&mut socket).await.unwrap().unwrap()["type"], "connection_ack");
    send(
        &mut socket,
        json!({ "id": "s", "type": "subscribe", "payload": { "query": query, "variables": variables } }),
    )
    .await;
    socket
}

/// The next event's payload (or the error's), panicking on anything else.
pub(crate) async fn event(socket: &mut Socket) -> Value {
    let message = next(socket).await.expect("the socket stays open").expect("no close frame");
    assert_eq!(message["type"], "next", "{message}");
    message["payload"].clone()
}

/// The code of a refused subscription (an `error` message, or a `next` with errors).
pub(crate) async fn refusal(socket: &mut Socket) -> String {
    let answer = next(socket).await.unwrap().unwrap();
    let errors = if answer["type"] == "error" {
        answer["payload"].clone()
    } else {
        answer["payload"]["errors"].clone()
    };
    errors[0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {answer}")).to_owned()
}

async fn kind(socket: &mut Socket) -> (String, Value) {
    let payload = event(socket).await;
    let data = payload["data"]["myChatEvents"].clone();
    (data["kind"].as_str().unwrap_or_default().to_owned(), data)
}

/// Two ACTIVE agents in a TO_ALL_AGENTS queue with a Telegram channel; an outsider.
async fn setup(app: &TestApp) -> (String, String, String, String, String) {
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    let queue = app.ok(Some(&admin), "{ queues { edges { node { id } } } }", json!({})).await["queues"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (a_id, a) = app.signed_in("a@example.com", Role::Agent).await;
    let (b_id, b) = app.signed_in("b@example.com", Role::Agent).await;
    let (_, outsider) = app.signed_in("c@example.com", Role::Agent).await;
    app.ok(
        Some(&admin),
        "mutation($input: UpdateQueueInput!) { updateQueue(input: $input) { id } }",
        json!({ "input": { "id": queue, "agentIds": [a_id, b_id] } }),
    )
    .await;
    for token in [&a, &b] {
        app.ok(Some(token), "mutation { setMyStatus(status: ACTIVE) { status } }", json!({})).await;
    }
    (ch.telegram, queue, a, b, outsider)
}

async fn inbound_messages_reach_the_right_agents(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (telegram_path, queue, a, b, outsider) = setup(&app).await;
    let (_, supervisor) = app.signed_in("sam@example.com", Role::Supervisor).await;
    let mut sa = subscribe(&app, &a, MY_EVENTS, json!({})).await;
    let mut sb = subscribe(&app, &b, MY_EVENTS, json!({})).await;
    let mut sc = subscribe(&app, &outsider, MY_EVENTS, json!({})).await;
    let mut queue_watch = subscribe(
        &app,
        &supervisor,
        "subscription($q: ID!) { queueChatEvents(queueId: $q) { kind chat { id } } }",
        json!({ "q": queue }),
    )
    .await;
    // Give the subscriptions a moment to register before the webhook.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(app.webhook(&telegram_path, &telegram(77, 1)).await, 200);

    let (kind_a, offer_a) = kind(&mut sa).await;
    let (kind_b, offer_b) = kind(&mut sb).await;
    assert_eq!((kind_a.as_str(), kind_b.as_str()), ("CHAT_OFFERED", "CHAT_OFFERED"));
    assert_eq!(offer_a["chat"]["status"], "WAITING");
    assert_eq!(offer_a["agent"]["email"], "a@example.com");
    // `details` names objects by their global ids, as `id` fields do.
    assert_eq!(offer_a["details"]["agentId"], offer_a["agent"]["id"], "{offer_a:#}");
    assert_eq!(offer_a["chat"]["id"], offer_b["chat"]["id"]);
    let chat = offer_a["chat"]["id"].as_str().unwrap().to_owned();
    let created = event(&mut queue_watch).await;
    assert_eq!(created["data"]["queueChatEvents"]["kind"], "CHAT_CREATED");

    // A accepts: A hears CHAT_ACCEPTED, B hears the offer was taken.
    app.ok(Some(&a), "mutation($id: ID!) { acceptChat(chatId: $id) { id } }", json!({ "id": chat })).await;
    assert_eq!(kind(&mut sa).await.0, "CHAT_ACCEPTED");
    let (taken, data) = kind(&mut sb).await;
    assert_eq!(taken, "CHAT_TAKEN");
    assert_eq!(data["details"]["reason"], "TAKEN_BY_OTHER");
    assert_eq!(event(&mut queue_watch).await["data"]["queueChatEvents"]["kind"], "CHAT_ACCEPTED");

    // A new message in A's chat reaches A only.
    assert_eq!(app.webhook(&telegram_path, &telegram(77, 2)).await, 200);
    let (received, data) = kind(&mut sa).await;
    assert_eq!(received, "MESSAGE_RECEIVED");
    assert!(data["message"]["id"].is_string(), "{data:#}");
    assert_eq!(data["details"]["messageId"], data["message"]["id"], "{data:#}");
    let by_node = app
        .ok(
            Some(&a),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": data["details"]["messageId"] }),
        )
        .await;
    assert_eq!(by_node["node"]["id"], data["message"]["id"]);

    // The outsider heard none of it: their first event is their own.
    app.ok(Some(&outsider), "mutation { setMyStatus(status: ACTIVE) { status } }", json!({})).await;
    let (own, data) = kind(&mut sc).await;
    assert_eq!(own, "AGENT_STATUS_CHANGED");
    assert_eq!(data["agent"]["email"], "c@example.com");
    // Nor did B hear about A's message.
    app.ok(Some(&b), "mutation { setMyStatus(status: INACTIVE) { status } }", json!({})).await;
    assert_eq!(kind(&mut sb).await.0, "AGENT_STATUS_CHANGED");

    // Queue watching is for supervisors and the queue's agents.
    let mut refused = subscribe(
        &app,
        &outsider,
        "subscription($q: ID!) { queueChatEvents(queueId: $q) { kind } }",
        json!({ "q": queue }),
    )
    .await;
    assert_eq!(refusal(&mut refused).await, "FORBIDDEN");
}

async fn resume_replays_exactly_what_was_missed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, _, a, _, _) = setup(&app).await;
    let mut socket = subscribe(&app, &a, MY_EVENTS, json!({})).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let toggle = |status: &'static str| {
        let token = a.clone();
        let app = &app;
        async move {
            app.ok(
                Some(&token),
                "mutation($s: AgentStatus!) { setMyStatus(status: $s) { status } }",
                json!({ "s": status }),
            )
            .await;
        }
    };
    toggle("INACTIVE").await;
    let (_, first) = kind(&mut socket).await;
    let seen = first["id"].as_str().unwrap().to_owned();
    drop(socket);

    // Missed while disconnected.
    toggle("ACTIVE").await;
    toggle("INACTIVE").await;
    let mut socket = subscribe(&app, &a, MY_EVENTS, json!({ "after": seen })).await;
    let (_, one) = kind(&mut socket).await;
    let (_, two) = kind(&mut socket).await;
    assert_eq!(one["details"]["status"], "ACTIVE");
    assert_eq!(two["details"]["status"], "INACTIVE");
    let ids: Vec<i64> = [&seen, one["id"].as_str().unwrap(), two["id"].as_str().unwrap()]
        .iter()
        .map(|i| i.parse().unwrap())
        .collect();
    assert!(ids[0] < ids[1] && ids[1] < ids[2]);
    // Then live, with nothing repeated in between.
    toggle("ACTIVE").await;
    let (_, live) = kind(&mut socket).await;
    assert_eq!(live["details"]["status"], "ACTIVE");
    assert!(live["id"].as_str().unwrap().parse::<i64>().unwrap() > ids[2]);

    // An id older than the log keeps: EVENTS_EXPIRED.
    use sea_orm::{ActiveModelTrait, Set};
    entity::settings::ActiveModel {
        key: Set("EventsPurgedThrough".into()),
        value: Set(json!(ids[1])),
        updated_at: Set(chrono::Utc::now()),
    }
    .insert(&app.db)
    .await
    .unwrap();
    let mut expired = subscribe(&app, &a, MY_EVENTS, json!({ "after": seen })).await;
    assert_eq!(refusal(&mut expired).await, "EVENTS_EXPIRED");
}

async fn signing_out_ends_the_subscription(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.session_check_seconds = 1).await;
    let (_, _, a, _, _) = setup(&app).await;
    let mut socket = subscribe(&app, &a, MY_EVENTS, json!({})).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    app.ok(Some(&a), "mutation { logout }", json!({})).await;
    // The logout itself is an event (signed out), then the periodic check ends the stream.
    loop {
        let payload = event(&mut socket).await;
        if let Some(code) = payload["errors"][0]["extensions"]["code"].as_str() {
            assert_eq!(code, "UNAUTHENTICATED");
            break;
        }
    }
    assert_eq!(next(&mut socket).await.unwrap().unwrap()["type"], "complete");
}

async fn a_subscriber_that_falls_behind_is_told(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.subscription_buffer = 8).await;
    let (_, _, a, _, _) = setup(&app).await;
    let agent = entity::agents::Entity::find()
        .filter(entity::agents::Column::Email.eq("a@example.com"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut socket = subscribe(&app, &a, MY_EVENTS, json!({})).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // A burst larger than the buffer, committed at once.
    let txn = sea_orm::TransactionTrait::begin(&app.db).await.unwrap();
    for n in 0..100 {
        let subjects =
            api::events::Subjects { agent: Some(api::domain::ids::AgentId(agent.id)), ..Default::default() };
        api::events::record(
            &txn,
            api::events::EventKind::AgentStatusChanged,
            subjects,
            json!({ "status": "ACTIVE", "reason": format!("burst {n}") }),
        )
        .await
        .unwrap();
    }
    txn.commit().await.unwrap();
    let (code, message) = loop {
        let payload = event(&mut socket).await;
        if let Some(code) = payload["errors"][0]["extensions"]["code"].as_str() {
            break (code.to_owned(), payload["errors"][0]["message"].as_str().unwrap().to_owned());
        }
    };
    assert_eq!(code, "SUBSCRIPTION_OVERFLOW");
    assert!(message.contains("after"), "{message}");
    assert_eq!(next(&mut socket).await.unwrap().unwrap()["type"], "complete");
    // Resubscribing from the start of the burst replays all of it from the log.
    let first = entity::events::Entity::find()
        .filter(entity::events::Column::AgentId.eq(agent.id))
        .order_by_asc(entity::events::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    let before_burst = first.iter().find(|e| e.payload["reason"] == "burst 0").unwrap().id - 1;
    let mut socket = subscribe(&app, &a, MY_EVENTS, json!({ "after": before_burst.to_string() })).await;
    for n in 0..100 {
        let (_, data) = kind(&mut socket).await;
        assert_eq!(data["details"]["reason"], format!("burst {n}"));
    }
}

/// A second server as its own OS process (the `switchboard` binary) on the same database;
/// returns the process and its base URL.
async fn second_process(url: &str) -> (tokio::process::Child, String) {
    use tokio::io::AsyncBufReadExt;
    let files = std::env::temp_dir().join(format!("sb_files_{}", uuid::Uuid::new_v4().simple()));
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .env("DATABASE_URL", url)
        .env("BIND", "127.0.0.1:0")
        .env("JWT_SECRET", crate::support::JWT_SECRET)
        .env("SWITCHBOARD_FILES_DIR", files)
        .env("SWITCHBOARD_TELEGRAM_API_BASE", "http://127.0.0.1:9")
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the second instance");
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let base = loop {
        let line = lines.next_line().await.unwrap().expect("the second instance prints where it listens");
        if let Some(rest) = line.strip_prefix("Switchboard is listening on ") {
            break rest.split('/').take(3).collect::<Vec<_>>().join("/");
        }
    };
    // Keep draining its stderr so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, base)
}

async fn another_process_delivers_in_order(backend: Backend) {
    // The webhook arrives at instance A (this process); the agent listens on instance B, a
    // separate `switchboard` process on the same PostgreSQL database.
    let a_app = TestApp::spawn(backend).await;
    let (telegram_path, _, a, _, _) = setup(&a_app).await;
    let url = crate::lifecycle::app_database_url(&a_app).await;
    let (_process, base) = second_process(&url).await;
    let port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
    let mut request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        format!("ws://127.0.0.1:{port}/graphql/ws"),
    )
    .unwrap();
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {a}") } }),
    )
    .await;
    assert_eq!(next(&mut socket).await.unwrap().unwrap()["type"], "connection_ack");
    send(
        &mut socket,
        json!({ "id": "s", "type": "subscribe", "payload": { "query": MY_EVENTS, "variables": {} } }),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    for user in 0..5 {
        assert_eq!(a_app.webhook(&telegram_path, &telegram(900 + user, 1)).await, 200);
    }
    let mut last = 0;
    let mut offers = Vec::new();
    while offers.len() < 5 {
        let (kind, data) = kind(&mut socket).await;
        let id: i64 = data["id"].as_str().unwrap().parse().unwrap();
        assert!(id > last, "events arrive in order");
        last = id;
        if kind == "CHAT_OFFERED" {
            offers.push(data["chat"]["id"].as_str().unwrap().to_owned());
        }
    }
    offers.dedup();
    assert_eq!(offers.len(), 5, "one offer per new chat, none repeated");
}

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

on_both_backends!(
    inbound_messages_reach_the_right_agents,
    resume_replays_exactly_what_was_missed,
    signing_out_ends_the_subscription,
    a_subscriber_that_falls_behind_is_told,
);

mod two_instances {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::another_process_delivers_in_order(crate::support::Backend::Postgres).await;
    }
}
