//! Who may read what: contacts and the chats events hand out follow the rule of `chat(id)`
//! (issue 10, items 2 and 3).

use entity::chats;
use entity::enums::Role;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::lifecycle::{ACCEPT, app_database_url, customer_writes, offered_to, setup, telegram};
use crate::on_both_backends;
use crate::subscriptions::{event, refusal, subscribe};
use crate::support::{Backend, TestApp, eventually};

const CONTACT: &str = "query($id: ID!) { contact(id: $id) { id name } }";
const NODE: &str = "query($id: ID!) { node(id: $id) { id ... on Contact { name } } }";
const COMPLETE: &str = "mutation($id: ID!) { completeChat(chatId: $id) { status } }";

async fn contact_of(app: &TestApp, token: &str, chat: &str) -> String {
    let data = app
        .ok(Some(token), "query($id: ID!) { chat(id: $id) { contact { id } } }", json!({ "id": chat }))
        .await;
    data["chat"]["contact"]["id"].as_str().unwrap().to_owned()
}

async fn reads_contact(app: &TestApp, token: &str, contact: &str) -> bool {
    let body = app.gql(Some(token), CONTACT, json!({ "id": contact })).await;
    let by_node = app.gql(Some(token), NODE, json!({ "id": contact })).await;
    match (body["data"]["contact"]["id"].as_str(), by_node["data"]["node"]["id"].as_str()) {
        (Some(_), Some(_)) => true,
        (None, None) => {
            // As Relay expects: null, not an error, for an object the caller may not read.
            assert_eq!(body, json!({ "data": { "contact": null } }), "{body:#}");
            assert_eq!(by_node, json!({ "data": { "node": null } }), "{by_node:#}");
            false
        }
        _ => panic!("contact(id) and node(id) disagree: {body:#} {by_node:#}"),
    }
}

async fn agents_read_only_the_contacts_of_their_chats(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 2).await;
    let (a, b) = (s.agents[0].2.clone(), s.agents[1].2.clone());
    let (_, outsider) = app.signed_in("outsider@example.com", Role::Agent).await;
    let (_, analyst) = app.signed_in("ann@example.com", Role::Analyst).await;
    let (_, supervisor) = app.signed_in("sue@example.com", Role::Supervisor).await;
    let (chat, _) = customer_writes(&app, &s, 4001, 1).await;
    offered_to(&app, &a, &chat).await;
    offered_to(&app, &b, &chat).await;
    let contact = contact_of(&app, &a, &chat).await;

    // Offered to a and b: both read the customer; an agent outside the queue does not.
    assert!(reads_contact(&app, &a, &contact).await);
    assert!(reads_contact(&app, &b, &contact).await);
    assert!(!reads_contact(&app, &outsider, &contact).await);
    // Counting ids finds nothing either.
    for n in 1..=5 {
        let guessed = api::graphql::ids::encode("Contact", n).0;
        assert!(!reads_contact(&app, &outsider, &guessed).await, "Contact:{n}");
    }
    // The photo route follows the same rule.
    let photo = app
        .http
        .get(format!("{}/files/contacts/{contact}/photo", app.base))
        .bearer_auth(&outsider)
        .send()
        .await
        .unwrap();
    assert_eq!(photo.status(), 404);

    // a accepts: a keeps reading it, b's offer is gone and so is b's access.
    app.ok(Some(&a), ACCEPT, json!({ "id": chat })).await;
    assert!(reads_contact(&app, &a, &contact).await);
    assert!(!reads_contact(&app, &b, &contact).await);
    // Completed, it stays on a's history; staff and analysts read every contact.
    app.ok(Some(&a), COMPLETE, json!({ "id": chat })).await;
    assert!(reads_contact(&app, &a, &contact).await);
    assert!(reads_contact(&app, &analyst, &contact).await);
    assert!(reads_contact(&app, &supervisor, &contact).await);
    assert!(reads_contact(&app, &s.admin, &contact).await);
}

const QUEUE_EVENTS: &str = "subscription($q: ID!, $after: ID) { queueChatEvents(queueId: $q, after: $after) { id kind chatId chat { id contact { name } } } }";
const MY_EVENTS: &str = "subscription($after: ID) { myChatEvents(after: $after) { kind chatId chat { id contact { name } } message { text } } }";

/// The newest event id: subscribing after it misses nothing that happens next, however long
/// the subscription takes to register.
async fn newest_event(app: &TestApp) -> String {
    use sea_orm::{QueryOrder, QuerySelect};
    let newest: Option<i64> = entity::events::Entity::find()
        .select_only()
        .column(entity::events::Column::Id)
        .order_by_desc(entity::events::Column::Id)
        .into_tuple()
        .one(&app.db)
        .await
        .unwrap();
    newest.unwrap_or(0).to_string()
}

fn data(payload: &Value, field: &str) -> Value {
    assert!(payload.get("errors").is_none(), "{payload:#}");
    payload["data"][field].clone()
}

async fn events_hand_out_only_chats_the_agent_may_read(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 2).await;
    let (a, d) = (s.agents[0].2.clone(), s.agents[1].2.clone());
    // d is in the queue but INACTIVE: never offered anything.
    app.ok(Some(&d), "mutation { setMyStatus(status: INACTIVE) { status } }", json!({})).await;
    let (first, _) = customer_writes(&app, &s, 4101, 1).await;
    offered_to(&app, &a, &first).await;
    app.ok(Some(&a), ACCEPT, json!({ "id": first })).await;
    let (second, _) = customer_writes(&app, &s, 4102, 1).await;
    offered_to(&app, &a, &second).await;
    app.ok(Some(&a), ACCEPT, json!({ "id": second })).await;
    app.ok(Some(&a), COMPLETE, json!({ "id": second })).await;

    // d replays the queue from the start, then stays live while a's chat completes.
    let mut watch = subscribe(&app, &d, QUEUE_EVENTS, json!({ "q": s.queue, "after": "0" })).await;
    app.ok(Some(&a), COMPLETE, json!({ "id": first })).await;
    // Then a chat d may read: a goes INACTIVE, d ACTIVE, and the queue directs to d.
    app.ok(Some(&a), "mutation { setMyStatus(status: INACTIVE) { status } }", json!({})).await;
    app.ok(Some(&d), "mutation { setMyStatus(status: ACTIVE) { status } }", json!({})).await;
    app.ok(
        Some(&s.admin),
        "mutation($input: UpdateQueueInput!) { updateQueue(input: $input) { id } }",
        json!({ "input": { "id": s.queue, "routingRule": "TO_AVAILABLE_AGENT" } }),
    )
    .await;
    let (third, third_row) = customer_writes(&app, &s, 4103, 1).await;
    eventually("the chat to be directed to d", || async {
        let chat = chats::Entity::find_by_id(third_row).one(&app.db).await.unwrap().unwrap();
        (chat.directed_agent_id == Some(s.agents[1].1)).then_some(())
    })
    .await;
    // Events are delivered in order: d's first is about the chat directed to d, so nothing
    // about a's chats came before it, replayed or live.
    let seen = data(&event(&mut watch).await, "queueChatEvents");
    assert_eq!(seen["chatId"], third, "{seen:#}");
    assert_eq!(seen["chat"]["id"], third);
    assert_eq!(seen["chat"]["contact"]["name"], "Customer 4103");

    // A supervisor sees the whole queue, replays included.
    let (_, supervisor) = app.signed_in("sue@example.com", Role::Supervisor).await;
    let mut all = subscribe(&app, &supervisor, QUEUE_EVENTS, json!({ "q": s.queue, "after": "0" })).await;
    let created = data(&event(&mut all).await, "queueChatEvents");
    assert_eq!(created["kind"], "CHAT_CREATED");
    assert_eq!(created["chat"]["id"], first);
}

async fn a_taken_offer_hides_the_chat_in_events(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 2).await;
    let (a, b) = (s.agents[0].2.clone(), s.agents[1].2.clone());
    let mut b_events = subscribe(&app, &b, MY_EVENTS, json!({ "after": newest_event(&app).await })).await;
    let (chat, _) = customer_writes(&app, &s, 4201, 1).await;
    let offer = data(&event(&mut b_events).await, "myChatEvents");
    assert_eq!(offer["kind"], "CHAT_OFFERED");
    assert_eq!(offer["chat"]["contact"]["name"], "Customer 4201", "an offered chat is readable");
    offered_to(&app, &a, &chat).await;
    app.ok(Some(&a), ACCEPT, json!({ "id": chat })).await;
    let taken = data(&event(&mut b_events).await, "myChatEvents");
    assert_eq!(taken["kind"], "CHAT_TAKEN");
    assert_eq!(taken["chatId"], chat, "the id says which chat to drop");
    assert!(taken["chat"].is_null(), "the chat is a's now: {taken:#}");
}

async fn access_changes_end_open_subscriptions_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 2).await;
    let (a_id, a) = (s.agents[0].0.clone(), s.agents[0].2.clone());
    let d = s.agents[1].2.clone();
    let (sue_id, sue) = app.signed_in("sue@example.com", Role::Supervisor).await;
    // PostgreSQL: the subscribers are on a second instance; the changes are made on the first.
    let second = match backend {
        Backend::Postgres => Some(TestApp::start(app_database_url(&app).await, None, |_| {}).await),
        Backend::Sqlite => None,
    };
    let watched = second.as_ref().unwrap_or(&app);
    let (chat, _) = customer_writes(&app, &s, 4301, 1).await;
    offered_to(&app, &a, &chat).await;
    app.ok(Some(&a), ACCEPT, json!({ "id": chat })).await;
    let after = newest_event(&app).await;
    let mut mine = subscribe(watched, &a, MY_EVENTS, json!({ "after": after })).await;
    let mut queue_of_d = subscribe(watched, &d, QUEUE_EVENTS, json!({ "q": s.queue, "after": after })).await;
    let mut queue_of_sue =
        subscribe(watched, &sue, QUEUE_EVENTS, json!({ "q": s.queue, "after": after })).await;

    // a signs out, then the customer writes: a's stream ends instead of carrying the message
    // (the periodic re-check is 15 s away; the `next` helper gives up after 10).
    app.ok(Some(&a), "mutation { logout }", json!({})).await;
    assert_eq!(app.webhook(&s.telegram, &telegram(4301, 2, "still there?")).await, 200);
    assert_eq!(refusal(&mut mine).await, "UNAUTHENTICATED");

    // d leaves the queue: d's queue stream ends.
    app.ok(
        Some(&s.admin),
        "mutation($input: UpdateQueueInput!) { updateQueue(input: $input) { id } }",
        json!({ "input": { "id": s.queue, "agentIds": [a_id] } }),
    )
    .await;
    assert_eq!(refusal(&mut queue_of_d).await, "FORBIDDEN");

    // The supervisor becomes an agent (of no queue): their queue stream ends too.
    app.ok(
        Some(&s.admin),
        "mutation($input: UpdateAgentInput!) { updateAgent(input: $input) { role } }",
        json!({ "input": { "id": sue_id, "role": "AGENT" } }),
    )
    .await;
    assert_eq!(refusal(&mut queue_of_sue).await, "FORBIDDEN");
}

on_both_backends!(
    access_changes_end_open_subscriptions_at_once,
    agents_read_only_the_contacts_of_their_chats,
    events_hand_out_only_chats_the_agent_may_read,
    a_taken_offer_hides_the_chat_in_events,
);
