//! Chat actions: a webhook delivered exactly once after its receiver (wiremock) failed twice,
//! every attempt signed the documented way with the same `webhook-id`, a receiver that never
//! answers 2xx ending FAILED; CREATE_CASE through `runChatAction`; who may list and run which
//! action (`ACTION_NOT_IN_QUEUE`, `FORBIDDEN`, `NOT_FOUND`); URL and secret validation, and
//! the secret never readable.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use entity::enums::Role;
use entity::{chat_action_runs, chat_actions, chats};
use hmac::{Hmac, Mac};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use sha2::Sha256;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::lifecycle::{ACCEPT, Setup, customer_writes, offered_to, setup};
use crate::on_both_databases;
use crate::support::{TestApp, eventually};

const CREATE: &str = "mutation($input: CreateChatActionInput!) { createChatAction(input: $input) { action { id caption kind url deleted queue { id } } generatedSecret } }";
const UPDATE: &str =
    "mutation($input: UpdateChatActionInput!) { updateChatAction(input: $input) { id caption url } }";
const DELETE: &str = "mutation($id: ID!) { deleteChatAction(id: $id) }";
const LIST: &str = "query($id: ID!) { chatActions(chatId: $id) { id caption kind } }";
const OF_QUEUE: &str = "query($id: ID!) { queueChatActions(queueId: $id) { id caption kind url } }";
const RUN: &str = "mutation($chat: ID!, $action: ID!) { runChatAction(chatId: $chat, actionId: $action) { action { id caption } case { id subject chat { id } } run { id webhookId state attempts lastError deliveredAt chat { id } agent { email } action { id } } } }";
const RUNS: &str = "query($id: ID!) { chatActionRuns(chatId: $id) { id webhookId state attempts lastError deliveredAt action { id caption } } }";

fn gid(type_name: &str, row: i64) -> String {
    api::graphql::ids::encode(type_name, row).0
}

/// Creates an action as the admin; returns (action id, generated secret).
async fn create(app: &TestApp, admin: &str, input: Value) -> (String, Option<String>) {
    let data = app.ok(Some(admin), CREATE, json!({ "input": input })).await;
    let payload = &data["createChatAction"];
    (
        payload["action"]["id"].as_str().unwrap().to_owned(),
        payload["generatedSecret"].as_str().map(str::to_owned),
    )
}

/// A chat from customer `user`, accepted by agent `i` of the setup; (global id, row id).
async fn accepted(app: &TestApp, s: &Setup, i: usize, user: i64) -> (String, i64) {
    let (chat, row) = customer_writes(app, s, user, 1).await;
    offered_to(app, &s.agents[i].2, &chat).await;
    app.ok(Some(&s.agents[i].2), ACCEPT, json!({ "id": chat })).await;
    (chat, row)
}

/// The signature the documentation tells receivers to compute.
fn expected_signature(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> String {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").expect("a whsec_ secret")).expect("base64");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

async fn webhook_is_delivered_once_after_two_failures_signed_with_one_id(app: TestApp) {
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let (chat, chat_row) = accepted(&app, &s, 0, 901).await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(500).set_body_string("receiver is down"))
        .up_to_n_times(2)
        .with_priority(1)
        .expect(2)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(204))
        .with_priority(2)
        .expect(1)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .and(path("/down"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&receiver)
        .await;
    let input = json!({ "queueId": s.queue, "caption": "Notify CRM", "kind": "WEBHOOK", "url": format!("{}/hook", receiver.uri()) });
    let (action, secret) = create(&app, &s.admin, input).await;
    let secret = secret.expect("a secret is generated when none is given");
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(STANDARD.decode(&secret["whsec_".len()..]).unwrap().len(), 32);
    let listed = app.ok(Some(&s.agents[0].2), LIST, json!({ "id": chat })).await;
    assert_eq!(listed["chatActions"], json!([{ "id": action, "caption": "Notify CRM", "kind": "WEBHOOK" }]));

    let ran =
        app.ok(Some(&s.agents[0].2), RUN, json!({ "chat": chat, "action": action })).await["runChatAction"]
            .clone();
    assert_eq!(ran["case"], Value::Null);
    assert_eq!(ran["action"]["id"], action.as_str());
    let run = &ran["run"];
    assert_eq!(run["chat"]["id"], chat.as_str());
    assert_eq!(run["agent"]["email"], "agent0@example.com");
    assert_eq!(run["action"]["id"], action.as_str());
    let webhook_id = run["webhookId"].as_str().unwrap().to_owned();

    let delivered = eventually("the webhook to be delivered", || async {
        let runs = app.ok(Some(&s.agents[0].2), RUNS, json!({ "id": chat })).await;
        let run = runs["chatActionRuns"][0].clone();
        (run["state"] == "DELIVERED").then_some(run)
    })
    .await;
    assert_eq!(delivered["attempts"], 3, "{delivered:#}");
    assert_eq!(delivered["lastError"], Value::Null);
    assert!(delivered["deliveredAt"].is_string());
    assert_eq!(delivered["webhookId"], webhook_id.as_str());

    // Three attempts reached the receiver, one of them answered 2xx; each carries the same
    // webhook-id and body and a signature the documented algorithm reproduces.
    receiver.verify().await;
    let requests = receiver.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    let contact = chats::Entity::find_by_id(chat_row).one(&app.db).await.unwrap().unwrap().contact_id;
    for request in &requests {
        let header = |name: &str| request.headers.get(name).unwrap().to_str().unwrap().to_owned();
        assert_eq!(header("webhook-id"), webhook_id);
        assert_eq!(header("content-type"), "application/json");
        let timestamp = header("webhook-timestamp");
        let seconds: i64 = timestamp.parse().unwrap();
        assert!((chrono::Utc::now().timestamp() - seconds).abs() < 60, "unix seconds, now");
        assert_eq!(
            header("webhook-signature"),
            expected_signature(&secret, &webhook_id, &timestamp, &request.body)
        );
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["type"], "chat_action.run");
        assert!(body["timestamp"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().is_ok());
        assert_eq!(
            body["data"],
            json!({ "chatId": chat, "contactId": gid("Contact", contact), "agentId": s.agents[0].0,
                    "actionId": action, "caption": "Notify CRM" })
        );
    }
    assert_eq!(requests[0].body, requests[2].body, "the body is fixed at the run");
    // A signature made with another secret does not verify.
    let other = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let last = &requests[2];
    let forged = expected_signature(
        other,
        &webhook_id,
        last.headers.get("webhook-timestamp").unwrap().to_str().unwrap(),
        &last.body,
    );
    assert_ne!(last.headers.get("webhook-signature").unwrap().to_str().unwrap(), forged);

    // A receiver that never answers 2xx: retried up to the limit (8 attempts), then FAILED.
    let input = json!({ "queueId": s.queue, "caption": "Broken", "kind": "WEBHOOK", "url": format!("{}/down", receiver.uri()) });
    let (broken, _) = create(&app, &s.admin, input).await;
    app.ok(Some(&s.agents[0].2), RUN, json!({ "chat": chat, "action": broken })).await;
    let failed = eventually("the broken webhook to fail", || async {
        let runs = app.ok(Some(&s.agents[0].2), RUNS, json!({ "id": chat })).await;
        let run = runs["chatActionRuns"][0].clone();
        (run["state"] == "FAILED").then_some(run)
    })
    .await;
    assert_eq!(failed["attempts"], 8);
    assert_eq!(failed["action"]["caption"], "Broken");
    assert!(
        failed["lastError"].as_str().unwrap().starts_with("gave up after 8 attempts: HTTP 503"),
        "{failed:#}"
    );
    assert_eq!(failed["deliveredAt"], Value::Null);
    assert_eq!(app.count("chat_action_runs").await, 2);
}

async fn actions_are_listed_and_run_only_within_their_queue(app: TestApp) {
    let s = setup(&app, "TO_ALL_AGENTS", 2).await;
    let (_, supervisor) = app.signed_in("sup@example.com", Role::Supervisor).await;
    let (_, analyst) = app.signed_in("analyst@example.com", Role::Analyst).await;
    let (outsider_id, outsider) = app.signed_in("outsider@example.com", Role::Agent).await;
    let other_queue = app
        .ok(
            Some(&s.admin),
            "mutation($input: CreateQueueInput!) { createQueue(input: $input) { id } }",
            json!({ "input": { "name": "Billing", "agentIds": [outsider_id] } }),
        )
        .await["createQueue"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (case_action, none) = create(
        &app,
        &s.admin,
        json!({ "queueId": s.queue, "caption": "Create case", "kind": "CREATE_CASE" }),
    )
    .await;
    assert_eq!(none, None, "CREATE_CASE has no secret");
    let (billing_action, _) = create(
        &app,
        &s.admin,
        json!({ "queueId": other_queue, "caption": "Refund", "kind": "WEBHOOK", "url": "https://billing.example.com/hook" }),
    )
    .await;
    let (chat, _) = accepted(&app, &s, 0, 902).await;
    let owner = &s.agents[0].2;

    // chatActions lists the chat's queue's actions only.
    let listed = app.ok(Some(owner), LIST, json!({ "id": chat })).await;
    assert_eq!(
        listed["chatActions"],
        json!([{ "id": case_action, "caption": "Create case", "kind": "CREATE_CASE" }])
    );
    let listed = app.ok(Some(&supervisor), LIST, json!({ "id": chat })).await;
    assert_eq!(listed["chatActions"].as_array().unwrap().len(), 1);

    // An action of another queue; an agent who cannot read the chat; an unknown or deleted
    // action; an analyst: refused, nothing written.
    let run = |action: &str| json!({ "chat": chat, "action": action });
    assert_eq!(app.error_code(Some(owner), RUN, run(&billing_action)).await, "ACTION_NOT_IN_QUEUE");
    assert_eq!(app.error_code(Some(&outsider), RUN, run(&case_action)).await, "NOT_FOUND");
    assert_eq!(app.error_code(Some(&outsider), LIST, json!({ "id": chat })).await, "NOT_FOUND");
    assert_eq!(app.error_code(Some(owner), RUN, run(&gid("ChatAction", 999_999))).await, "NOT_FOUND");
    assert_eq!(app.error_code(Some(owner), RUN, run(&gid("Chat", 1))).await, "BAD_USER_INPUT");
    assert_eq!(app.error_code(Some(&analyst), RUN, run(&case_action)).await, "FORBIDDEN");
    assert_eq!(app.count("cases").await, 0);
    assert_eq!(app.count("chat_action_runs").await, 0);

    // The owner leaves the queue: they still read their chat, but its actions are no longer
    // theirs to list or run.
    app.ok(
        Some(&s.admin),
        "mutation($input: UpdateQueueInput!) { updateQueue(input: $input) { id } }",
        json!({ "input": { "id": s.queue, "agentIds": [s.agents[1].0] } }),
    )
    .await;
    assert_eq!(app.ok(Some(owner), LIST, json!({ "id": chat })).await["chatActions"], json!([]));
    assert_eq!(app.error_code(Some(owner), RUN, run(&case_action)).await, "FORBIDDEN");
    assert_eq!(app.count("cases").await, 0);

    // A supervisor, in no queue, runs it: CREATE_CASE raises the case from the chat.
    let ran = app.ok(Some(&supervisor), RUN, run(&case_action)).await["runChatAction"].clone();
    assert_eq!(ran["run"], Value::Null);
    assert_eq!(ran["case"]["subject"], "hello");
    assert_eq!(ran["case"]["chat"]["id"], chat.as_str());
    assert_eq!(app.count("cases").await, 1);

    // A deleted action is neither listed nor run.
    assert_eq!(app.ok(Some(&s.admin), DELETE, json!({ "id": case_action })).await["deleteChatAction"], true);
    assert_eq!(app.ok(Some(&supervisor), LIST, json!({ "id": chat })).await["chatActions"], json!([]));
    assert_eq!(app.error_code(Some(&supervisor), RUN, run(&case_action)).await, "NOT_FOUND");
    assert_eq!(app.error_code(Some(&s.admin), DELETE, json!({ "id": case_action })).await, "NOT_FOUND");
}

async fn create_case_action_raises_the_case_for_the_chats_owner(app: TestApp) {
    let s = setup(&app, "TO_ALL_AGENTS", 2).await;
    let (action, _) = create(
        &app,
        &s.admin,
        json!({ "queueId": s.queue, "caption": "Create case", "kind": "CREATE_CASE" }),
    )
    .await;
    let (chat, chat_row) = accepted(&app, &s, 0, 903).await;
    let ran =
        app.ok(Some(&s.agents[0].2), RUN, json!({ "chat": chat, "action": action })).await["runChatAction"]
            .clone();
    assert_eq!(ran["action"]["caption"], "Create case");
    assert_eq!(ran["case"]["subject"], "hello");
    let case_row =
        api::graphql::ids::decode(&async_graphql::ID(ran["case"]["id"].as_str().unwrap().to_owned()), "Case")
            .unwrap();
    let case = entity::cases::Entity::find_by_id(case_row).one(&app.db).await.unwrap().unwrap();
    assert_eq!(case.chat_id, Some(chat_row));
    assert_eq!(case.assignee_id, Some(s.agents[0].1));
    // The other agent of the queue may list the action but, not owning the chat, cannot read
    // it: NOT_FOUND, as for createCaseFromChat.
    assert_eq!(
        app.error_code(Some(&s.agents[1].2), RUN, json!({ "chat": chat, "action": action })).await,
        "NOT_FOUND"
    );
    assert_eq!(app.count("cases").await, 1);
}

async fn action_urls_and_secrets_are_checked_and_secrets_are_write_only(app: TestApp) {
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let (_, supervisor) = app.signed_in("sup@example.com", Role::Supervisor).await;
    let webhook = |url: Value| json!({ "input": { "queueId": s.queue, "caption": "Hook", "kind": "WEBHOOK", "url": url } });
    for bad in [
        json!("ftp://example.com/hook"),
        json!("example.com/hook"),
        json!("https://"),
        json!("http://:80/x"),
        json!("not a url"),
        Value::Null,
    ] {
        assert_eq!(
            app.error_code(Some(&s.admin), CREATE, webhook(bad.clone())).await,
            "INVALID_URL",
            "{bad}"
        );
    }
    let with = |extra: Value| {
        let mut input = json!({ "queueId": s.queue, "caption": "Hook", "kind": "WEBHOOK", "url": "https://crm.example.com/hook" });
        input.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({ "input": input })
    };
    assert_eq!(
        app.error_code(Some(&s.admin), CREATE, with(json!({ "secret": "whsec_c2hvcnQ=" }))).await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        app.error_code(Some(&s.admin), CREATE, with(json!({ "secret": "plain-text" }))).await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        app.error_code(Some(&s.admin), CREATE, with(json!({ "caption": "  " }))).await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        app.error_code(Some(&s.admin), CREATE, with(json!({ "kind": "CREATE_CASE" }))).await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        app.error_code(Some(&s.admin), CREATE, with(json!({ "queueId": gid("Queue", 999_999) }))).await,
        "NOT_FOUND"
    );
    assert_eq!(app.error_code(Some(&supervisor), CREATE, with(json!({}))).await, "FORBIDDEN");
    assert_eq!(app.count("chat_actions").await, 0, "nothing half-written");

    // A given secret is kept, and never answered.
    let given = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let (action, generated) = create(&app, &s.admin, with(json!({ "secret": given }))["input"].clone()).await;
    assert_eq!(generated, None);
    let row = api::graphql::ids::decode(&async_graphql::ID(action.clone()), "ChatAction").unwrap();
    assert_eq!(
        chat_actions::Entity::find_by_id(row).one(&app.db).await.unwrap().unwrap().secret.as_deref(),
        Some(given)
    );
    let listed = app.gql(Some(&s.admin), OF_QUEUE, json!({ "id": s.queue })).await;
    assert!(!listed.to_string().contains(&given["whsec_".len()..]), "{listed:#}");
    assert_eq!(listed["data"]["queueChatActions"][0]["url"], "https://crm.example.com/hook");
    let asked = app
        .gql(
            Some(&s.admin),
            "query($id: ID!) { queueChatActions(queueId: $id) { secret } }",
            json!({ "id": s.queue }),
        )
        .await;
    assert_eq!(asked["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    let fields =
        app.ok(Some(&s.admin), "{ __type(name: \"ChatAction\") { fields { name } } }", json!({})).await;
    assert!(!fields.to_string().to_lowercase().contains("secret"), "{fields:#}");
    // Agents see no URL.
    let (chat, _) = accepted(&app, &s, 0, 904).await;
    let agent_view = app
        .ok(
            Some(&s.agents[0].2),
            "query($id: ID!) { chatActions(chatId: $id) { url } }",
            json!({ "id": chat }),
        )
        .await;
    assert_eq!(agent_view["chatActions"], json!([{ "url": null }]));

    // Updates follow the same rules; a refused update changes nothing.
    let update = |input: Value| json!({ "input": input });
    assert_eq!(
        app.error_code(Some(&s.admin), UPDATE, update(json!({ "id": action, "url": "javascript:alert(1)" })))
            .await,
        "INVALID_URL"
    );
    assert_eq!(
        app.error_code(
            Some(&s.admin),
            UPDATE,
            update(json!({ "id": action, "caption": "New", "secret": "whsec_" }))
        )
        .await,
        "BAD_USER_INPUT"
    );
    let kept = chat_actions::Entity::find_by_id(row).one(&app.db).await.unwrap().unwrap();
    assert_eq!((kept.caption.as_str(), kept.url.as_deref()), ("Hook", Some("https://crm.example.com/hook")));
    let rotated = "whsec_dGhpcnR5LXR3by1ieXRlcy1vZi1yYW5kb20tc2VjcmV0ISE=";
    let data = app.ok(Some(&s.admin), UPDATE, update(json!({ "id": action, "caption": "CRM", "url": "http://10.0.0.5:8080/in", "secret": rotated }))).await;
    assert_eq!(
        data["updateChatAction"],
        json!({ "id": action, "caption": "CRM", "url": "http://10.0.0.5:8080/in" })
    );
    assert_eq!(
        chat_actions::Entity::find_by_id(row).one(&app.db).await.unwrap().unwrap().secret.as_deref(),
        Some(rotated)
    );
    let (case_action, _) = create(
        &app,
        &s.admin,
        json!({ "queueId": s.queue, "caption": "Create case", "kind": "CREATE_CASE" }),
    )
    .await;
    assert_eq!(
        app.error_code(
            Some(&s.admin),
            UPDATE,
            update(json!({ "id": case_action, "url": "https://x.example.com" }))
        )
        .await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        app.error_code(
            Some(&s.admin),
            UPDATE,
            update(json!({ "id": gid("ChatAction", 999_999), "caption": "x" }))
        )
        .await,
        "NOT_FOUND"
    );
    assert_eq!(chat_action_runs::Entity::find().all(&app.db).await.unwrap().len(), 0);
}

on_both_databases!(
    webhook_is_delivered_once_after_two_failures_signed_with_one_id,
    actions_are_listed_and_run_only_within_their_queue,
    create_case_action_raises_the_case_for_the_chats_owner,
    action_urls_and_secrets_are_checked_and_secrets_are_write_only,
);
