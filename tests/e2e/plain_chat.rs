//! A chat read for the agent panel is answered plain (`graphql::plain`): its own fields, its
//! contact read with it, the ids of its channel, queue, owner and directed agent, and the
//! latest messages read with it. Each answer is the same text async-graphql gives for the
//! same selection in an inline fragment (which it keeps, and answers field by field).

use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::json;

use crate::lifecycle::{ACCEPT, customer_writes, offered_to, setup};
use crate::on_both_backends;
use crate::read_columns::accepted_chat;
use crate::support::{Backend, TestApp};

/// Every plain field of a chat, twice under one key and under aliases, in no particular order.
const CHAT: &str = "__typename id status completionReason createdAt acceptedAt firstResponseAt \
     completedAt closeDeadline queuedAt lastMessageAt s: status id \
     c: contact { __typename id name photoUrl email mobilePhone businessPhone homePhone jobTitle \
     createdAt updatedAt } channel { __typename id } queue { id __typename } owner { id } \
     directedAgent { id } \
     messages(last: 2) { __typename pageInfo { __typename hasPreviousPage hasNextPage startCursor endCursor } \
     edges { __typename cursor node { __typename id text direction } } nodes { id } } contact { name }";

/// `selection` of `chat(id: $id)`, named (the validation cache keys named operations by kinds).
fn read(selection: &str) -> String {
    format!("query PanelChat($id: ID!) {{ chat(id: $id) {{ {selection} }} }}")
}

on_both_backends!(a_panel_chat_answered_plain_is_byte_for_byte_what_async_graphql_answers);

async fn a_panel_chat_answered_plain_is_byte_for_byte_what_async_graphql_answers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let token = &s.agents[0].2;
    // In progress, three messages (one more than a page), a contact with every detail and a
    // photo stored here; completed; waiting, with a bare contact.
    let open = accepted_chat(&app, &s, 931, &["second", "third"]).await;
    let contact = app
        .ok(Some(&s.admin), "query($id: ID!) { chat(id: $id) { contact { id } } }", json!({ "id": open }))
        .await["chat"]["contact"]["id"]
        .clone();
    let details = json!({ "id": contact, "email": "ana@example.com", "mobilePhone": "+44 7700 900123",
        "businessPhone": "+44 20 7946 0000", "homePhone": "+44 20 7946 0001", "jobTitle": "Buyer \"B\"" });
    let update = "mutation($input: UpdateContactInput!) { updateContact(input: $input) { id } }";
    app.ok(Some(&s.admin), update, json!({ "input": details })).await;
    let row = api::graphql::ids::decode(&async_graphql::ID(contact.as_str().unwrap().to_owned()), "Contact");
    let stored = entity::contacts::Entity::find_by_id(row.unwrap()).one(&app.db).await.unwrap().unwrap();
    let mut photo: entity::contacts::ActiveModel = stored.into();
    photo.photo_url = Set(Some(format!("{}photo-key", api::jobs::enrich::STORED_PHOTO)));
    photo.update(&app.db).await.unwrap();
    let (done, _) = customer_writes(&app, &s, 932, 1).await;
    offered_to(&app, token, &done).await;
    app.ok(Some(token), ACCEPT, json!({ "id": done })).await;
    app.ok(Some(token), "mutation($id: ID!) { completeChat(chatId: $id) { status } }", json!({ "id": done }))
        .await;
    let (waiting, _) = customer_writes(&app, &s, 933, 1).await;

    for chat in [&open, &done, &waiting] {
        let variables = json!({ "id": chat });
        for selection in [CHAT, "id messages(last: 1) { edges { node { id } } } owner { id }", "queue { id }"]
        {
            let (direct, fragment) = (read(selection), read(&format!("... on Chat {{ {selection} }}")));
            let plain = crate::panel_read::raw(&app, &s.admin, &direct, "PanelChat", variables.clone()).await;
            let generic =
                crate::panel_read::raw(&app, &s.admin, &fragment, "PanelChat", variables.clone()).await;
            assert_eq!(plain, generic, "{selection}");
            assert!(!plain.contains("\"errors\"") && plain.contains("\"id\":\""), "{plain}");
        }
    }
    // The values are the rows' own: spot checks of the in-progress chat.
    let answer =
        crate::panel_read::raw(&app, &s.admin, &read(CHAT), "PanelChat", json!({ "id": open })).await;
    for part in [
        "\"status\":\"IN_PROGRESS\"",
        "\"jobTitle\":\"Buyer \\\"B\\\"\"",
        "/photo\"",
        "\"hasPreviousPage\":true",
        "\"text\":\"third\"",
        "\"owner\":{\"id\":\"",
        "\"directedAgent\":null",
        "\"completionReason\":null",
    ] {
        assert!(answer.contains(part), "{part} in {answer}");
    }
    // Messages asked otherwise than the read took them (another count, a cursor) are answered
    // by their own read, the same either way.
    let cursor = serde_json::from_str::<serde_json::Value>(&answer).unwrap()["data"]["chat"]["messages"]["edges"]
        [0]["cursor"]
        .clone();
    let variables = json!({ "id": open, "before": cursor });
    let other = "query PanelChat($id: ID!, $before: String) { chat(id: $id) { id \
         a: messages(last: 2, before: $before) { edges { node { text } } } b: messages(last: 1) { edges { node { text } } } } }";
    let answered = crate::panel_read::raw(&app, &s.admin, other, "PanelChat", variables).await;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&answered).unwrap()["data"],
        json!({ "chat": { "id": open, "a": { "edges": [{ "node": { "text": "hello" } }] },
            "b": { "edges": [{ "node": { "text": "third" } }] } } }),
        "{answered}"
    );
}
