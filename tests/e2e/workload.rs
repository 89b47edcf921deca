//! Agent workload, live: the `agentWorkload` figures per agent through offers, directions,
//! acceptance, completion, a capacity change and sign-out; `agentWorkloadChanged` sending the
//! new rows; who may read them.

use entity::enums::Role;
use entity::events;
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{Value, json};

use crate::lifecycle::{ACCEPT, Setup, customer_writes, offered_to, setup};
use crate::on_both_backends;
use crate::subscriptions::{event, refusal, subscribe};
use crate::support::{Backend, TestApp, eventually};

const WORKLOAD: &str = "query($q: ID) { agentWorkload(queueId: $q) { agent { id email } status chosenStatus signedIn availability inProgress directed load capacity queues { id } } }";
const CHANGED: &str = "subscription($q: ID, $after: ID) { agentWorkloadChanged(queueId: $q, after: $after) { eventId at removed workloads { agent { id } status signedIn availability inProgress directed load capacity } } }";
const COMPLETE: &str = "mutation($id: ID!) { completeChat(chatId: $id) { status } }";
const CAPACITY: &str =
    "mutation($n: Int!) { updateSettings(input: { simultaneousChats: $n }) { simultaneousChats } }";
const TRANSFER: &str = "mutation($input: TransferChatInput!) { transferChat(input: $input) { id } }";
const RULE: &str = "mutation($input: UpdateQueueInput!) { updateQueue(input: $input) { id } }";

/// Every row of `agentWorkload`, by agent id.
async fn rows(app: &TestApp, token: &str, queue: Option<&str>) -> Vec<Value> {
    app.ok(Some(token), WORKLOAD, json!({ "q": queue })).await["agentWorkload"].as_array().unwrap().clone()
}

/// The row of agent `id`.
async fn row_of(app: &TestApp, token: &str, id: &str) -> Value {
    rows(app, token, None)
        .await
        .into_iter()
        .find(|row| row["agent"]["id"] == id)
        .unwrap_or_else(|| panic!("no workload row for {id}"))
}

/// (inProgress, directed, load) of a row.
fn figures(row: &Value) -> (i64, i64, i64) {
    (row["inProgress"].as_i64().unwrap(), row["directed"].as_i64().unwrap(), row["load"].as_i64().unwrap())
}

/// Waits until agent `id`'s row satisfies `check`, and returns it.
async fn row_when(app: &TestApp, token: &str, id: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let check = &check;
    eventually(what, move || async move {
        let row = row_of(app, token, id).await;
        check(&row).then_some(row)
    })
    .await
}

async fn figures_follow_offers_directions_acceptance_and_completion(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s: Setup = setup(&app, "TO_ALL_AGENTS", 2).await;
    let (_, supervisor) = app.signed_in("sup@example.com", Role::Supervisor).await;
    let (a, b) = (s.agents[0].0.as_str(), s.agents[1].0.as_str());

    let start = row_of(&app, &supervisor, a).await;
    assert_eq!(figures(&start), (0, 0, 0));
    assert_eq!(start["status"], "ACTIVE");
    assert_eq!(start["availability"], "ACTIVE");
    assert_eq!(start["signedIn"], true);
    assert_eq!(start["capacity"], 5, "the default SimultaneousChats");
    assert_eq!(start["queues"], json!([{ "id": s.queue }]));

    // An offer (TO_ALL_AGENTS) is not load.
    let (first, _) = customer_writes(&app, &s, 2001, 1).await;
    offered_to(&app, &s.agents[0].2, &first).await;
    offered_to(&app, &s.agents[1].2, &first).await;
    assert_eq!(figures(&row_of(&app, &supervisor, a).await), (0, 0, 0), "offers do not count");
    assert_eq!(figures(&row_of(&app, &supervisor, b).await), (0, 0, 0), "offers do not count");

    // Accepting makes it in progress.
    app.ok(Some(&s.agents[0].2), ACCEPT, json!({ "id": first })).await;
    assert_eq!(figures(&row_of(&app, &supervisor, a).await), (1, 0, 1));
    assert_eq!(figures(&row_of(&app, &supervisor, b).await), (0, 0, 0));

    // A direction (TO_AVAILABLE_AGENT) is load: it goes to B, who has fewer chats.
    app.ok(Some(&s.admin), RULE, json!({ "input": { "id": s.queue, "routingRule": "TO_AVAILABLE_AGENT" } }))
        .await;
    let (second, _) = customer_writes(&app, &s, 2002, 1).await;
    let directed = row_when(&app, &supervisor, b, "a direction to B", |r| r["directed"] == 1).await;
    assert_eq!(figures(&directed), (0, 1, 1));
    app.ok(Some(&s.agents[1].2), ACCEPT, json!({ "id": second })).await;
    assert_eq!(figures(&row_of(&app, &supervisor, b).await), (1, 0, 1));

    // Capacity: at 1 both are CHATS_EXCEEDED; 0 means no limit (null).
    app.ok(Some(&s.admin), CAPACITY, json!({ "n": 1 })).await;
    let full = row_of(&app, &supervisor, a).await;
    assert_eq!((full["capacity"].clone(), full["availability"].clone()), (json!(1), json!("CHATS_EXCEEDED")));
    assert_eq!(row_of(&app, &supervisor, b).await["availability"], "CHATS_EXCEEDED");
    app.ok(Some(&s.admin), CAPACITY, json!({ "n": 0 })).await;
    let unlimited = row_of(&app, &supervisor, a).await;
    assert_eq!(
        (unlimited["capacity"].clone(), unlimited["availability"].clone()),
        (Value::Null, json!("ACTIVE"))
    );

    // A transfer moves the load to the new owner; completion frees the slot.
    let child = app
        .ok(Some(&s.agents[0].2), TRANSFER, json!({ "input": { "chatId": first, "toAgentId": b } }))
        .await["transferChat"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(figures(&row_of(&app, &supervisor, a).await), (0, 0, 0));
    assert_eq!(figures(&row_of(&app, &supervisor, b).await), (2, 0, 2));
    app.ok(Some(&s.agents[1].2), COMPLETE, json!({ "id": child })).await;
    assert_eq!(figures(&row_of(&app, &supervisor, b).await), (1, 0, 1));

    // Signing out: INACTIVE for routing, chosen status kept, chats kept.
    app.ok(Some(&s.agents[1].2), "mutation { logout }", json!({})).await;
    let away = row_of(&app, &supervisor, b).await;
    assert_eq!(away["signedIn"], false);
    assert_eq!(away["status"], "INACTIVE");
    assert_eq!(away["chosenStatus"], "ACTIVE");
    assert_eq!(away["availability"], "INACTIVE");
    assert_eq!(figures(&away), (1, 0, 1), "an agent keeps their chats when signing out");

    // Every enabled agent who takes chats, or only a queue's members; analysts read it too.
    let everyone: Vec<Value> =
        rows(&app, &supervisor, None).await.iter().map(|r| r["agent"]["email"].clone()).collect();
    assert_eq!(
        everyone,
        json!(["admin@example.com", "agent0@example.com", "agent1@example.com", "sup@example.com"])
            .as_array()
            .unwrap()
            .clone()
    );
    let (_, analyst) = app.signed_in("ann@example.com", Role::Analyst).await;
    let members: Vec<Value> =
        rows(&app, &analyst, Some(&s.queue)).await.iter().map(|r| r["agent"]["id"].clone()).collect();
    assert_eq!(members, vec![json!(a), json!(b)]);
    let unknown = api::graphql::ids::encode("Queue", 999_999).0;
    assert_eq!(app.error_code(Some(&supervisor), WORKLOAD, json!({ "q": unknown })).await, "NOT_FOUND");
}

/// The newest event id: subscribing after it replays what happens from now on, so the test
/// needs no wait for the subscription to register.
async fn newest_event(app: &TestApp) -> String {
    let newest = events::Entity::find().order_by_desc(events::Column::Id).one(&app.db).await.unwrap();
    newest.map_or(0, |e| e.id).to_string()
}

/// The next change on the socket.
async fn change(socket: &mut crate::websocket::Socket) -> Value {
    let payload = event(socket).await;
    assert!(payload["errors"].is_null(), "{payload:#}");
    payload["data"]["agentWorkloadChanged"].clone()
}

/// The only row of a change, which must be agent `id`'s.
fn only_row<'a>(change: &'a Value, id: &str) -> &'a Value {
    let rows = change["workloads"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{change:#}");
    assert_eq!(rows[0]["agent"]["id"], id, "{change:#}");
    &rows[0]
}

async fn the_subscription_sends_the_new_rows(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_AVAILABLE_AGENT", 1).await;
    let (_, supervisor) = app.signed_in("sup@example.com", Role::Supervisor).await;
    let a = s.agents[0].0.as_str();
    let after = newest_event(&app).await;
    let mut socket = subscribe(&app, &supervisor, CHANGED, json!({ "q": s.queue, "after": after })).await;

    let (chat, _) = customer_writes(&app, &s, 2101, 1).await;
    let directed = change(&mut socket).await;
    assert_eq!(figures(only_row(&directed, a)), (0, 1, 1), "{directed:#}");
    assert!(directed["eventId"].as_str().unwrap().parse::<i64>().unwrap() > after.parse::<i64>().unwrap());

    app.ok(Some(&s.agents[0].2), ACCEPT, json!({ "id": chat })).await;
    let accepted = change(&mut socket).await;
    assert_eq!(figures(only_row(&accepted, a)), (1, 0, 1), "{accepted:#}");

    app.ok(Some(&s.agents[0].2), COMPLETE, json!({ "id": chat })).await;
    let completed = change(&mut socket).await;
    let row = only_row(&completed, a);
    assert_eq!(figures(row), (0, 0, 0), "{completed:#}");
    assert_eq!(row["availability"], "ACTIVE");

    // A capacity change concerns every agent of the queue.
    app.ok(Some(&s.admin), CAPACITY, json!({ "n": 0 })).await;
    let settings = change(&mut socket).await;
    assert_eq!(only_row(&settings, a)["capacity"], Value::Null, "{settings:#}");

    // Status: chosen INACTIVE.
    app.ok(Some(&s.agents[0].2), "mutation { setMyStatus(status: INACTIVE) { status } }", json!({})).await;
    let inactive = change(&mut socket).await;
    assert_eq!(only_row(&inactive, a)["availability"], "INACTIVE", "{inactive:#}");

    // Leaving the watched queue removes the agent from the stream.
    app.ok(Some(&s.admin), RULE, json!({ "input": { "id": s.queue, "agentIds": [] } })).await;
    let left = change(&mut socket).await;
    assert_eq!(left["removed"], json!([a]), "{left:#}");
    assert_eq!(left["workloads"], json!([]));

    // Resuming after the accept replays the completion and what followed, as rows now.
    let resume_after = accepted["eventId"].as_str().unwrap();
    let mut resumed = subscribe(&app, &supervisor, CHANGED, json!({ "after": resume_after })).await;
    let replayed = change(&mut resumed).await;
    let row = only_row(&replayed, a);
    assert_eq!((figures(row), row["availability"].clone()), ((0, 0, 0), json!("INACTIVE")), "{replayed:#}");
    assert!(
        replayed["eventId"].as_str().unwrap().parse::<i64>().unwrap() > resume_after.parse::<i64>().unwrap()
    );
}

async fn unchanged_rows_are_not_sent_again(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 2).await;
    let (_, supervisor) = app.signed_in("sup@example.com", Role::Supervisor).await;
    let (a, b) = (s.agents[0].0.as_str(), s.agents[1].0.as_str());
    let after = newest_event(&app).await;
    let mut socket = subscribe(&app, &supervisor, CHANGED, json!({ "q": s.queue, "after": after })).await;

    // A takes the first chat: A's row, then B's (the offer B lost: B's first row on this stream).
    let (first, _) = customer_writes(&app, &s, 2201, 1).await;
    offered_to(&app, &s.agents[0].2, &first).await;
    app.ok(Some(&s.agents[0].2), ACCEPT, json!({ "id": first })).await;
    assert_eq!(figures(only_row(&change(&mut socket).await, a)), (1, 0, 1));
    assert_eq!(figures(only_row(&change(&mut socket).await, b)), (0, 0, 0));

    // B takes the second: B's row. A lost an offer, which changes nothing in A's row, so the
    // next message is A's completion.
    let (second, _) = customer_writes(&app, &s, 2202, 1).await;
    offered_to(&app, &s.agents[1].2, &second).await;
    app.ok(Some(&s.agents[1].2), ACCEPT, json!({ "id": second })).await;
    assert_eq!(figures(only_row(&change(&mut socket).await, b)), (1, 0, 1));
    app.ok(Some(&s.agents[0].2), COMPLETE, json!({ "id": first })).await;
    let completed = change(&mut socket).await;
    assert_eq!(figures(only_row(&completed, a)), (0, 0, 0), "{completed:#}");
}

async fn who_may_read_workload(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let agent = &s.agents[0].2;
    assert_eq!(app.error_code(Some(agent), WORKLOAD, json!({})).await, "FORBIDDEN");
    let mut refused = subscribe(&app, agent, CHANGED, json!({})).await;
    assert_eq!(refusal(&mut refused).await, "FORBIDDEN");
    for role in [Role::Supervisor, Role::Analyst] {
        let (_, token) = app.signed_in(&format!("{role:?}@example.com").to_lowercase(), role).await;
        assert_eq!(rows(&app, &token, Some(&s.queue)).await.len(), 1, "{role:?}");
    }
    assert_eq!(rows(&app, &s.admin, None).await.len(), 3, "the admin, the agent and the supervisor");
    assert_eq!(app.error_code(None, WORKLOAD, json!({})).await, "UNAUTHENTICATED");
}

on_both_backends!(
    figures_follow_offers_directions_acceptance_and_completion,
    the_subscription_sends_the_new_rows,
    unchanged_rows_are_not_sent_again,
    who_may_read_workload,
);
