//! Capacity at accept time: a chat directed to an agent already counts toward their
//! `SimultaneousChats`, so accepting it never fails for capacity; an offered one does when
//! the agent is full (issue 10, item 6).

use entity::chats;
use sea_orm::EntityTrait;
use serde_json::json;

use crate::lifecycle::{ACCEPT, customer_writes, offered_to, setup};
use crate::on_both_backends;
use crate::support::{Backend, TestApp, eventually};

const SET_CAPACITY: &str =
    "mutation($n: Int!) { updateSettings(input: { simultaneousChats: $n }) { simultaneousChats } }";

async fn a_directed_chat_is_accepted_in_the_last_free_slot(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_AVAILABLE_AGENT", 1).await;
    app.ok(Some(&s.admin), SET_CAPACITY, json!({ "n": 2 })).await;
    let (_, agent_row, token) = s.agents[0].clone();
    for customer in [2001, 2002] {
        let (chat, row) = customer_writes(&app, &s, customer, 1).await;
        eventually("the chat to be directed to the agent", || async {
            let chat = chats::Entity::find_by_id(row).one(&app.db).await.unwrap().unwrap();
            (chat.directed_agent_id == Some(agent_row)).then_some(())
        })
        .await;
        // The second is the last free slot: one in progress plus this directed one is 2.
        let data = app.ok(Some(&token), ACCEPT, json!({ "id": chat })).await;
        assert_eq!(data["acceptChat"]["status"], "IN_PROGRESS");
    }
    let agents =
        app.ok(Some(&s.admin), "{ agents { edges { node { email availability } } } }", json!({})).await;
    let me = agents["agents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["email"] == "agent0@example.com")
        .unwrap()
        .clone();
    assert_eq!(me["node"]["availability"], "CHATS_EXCEEDED");
}

async fn an_offered_chat_is_refused_when_full(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    app.ok(Some(&s.admin), SET_CAPACITY, json!({ "n": 1 })).await;
    let token = s.agents[0].2.clone();
    let (first, _) = customer_writes(&app, &s, 2101, 1).await;
    offered_to(&app, &token, &first).await;
    let (second, _) = customer_writes(&app, &s, 2102, 1).await;
    offered_to(&app, &token, &second).await;
    app.ok(Some(&token), ACCEPT, json!({ "id": first })).await;
    let code = app.error_code(Some(&token), ACCEPT, json!({ "id": second })).await;
    assert!(code == "INVALID_STATE" || code == "FORBIDDEN", "a full agent cannot accept an offer: {code}");
}

on_both_backends!(a_directed_chat_is_accepted_in_the_last_free_slot, an_offered_chat_is_refused_when_full);
