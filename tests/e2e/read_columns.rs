//! Reads take only the columns a selection of plain fields needs (issue 15): history pages
//! (item 3) and the panel's latest messages (item 2). Every such field answers what a full
//! read answers.

use serde_json::{Value, json};

use crate::lifecycle::{ACCEPT, customer_writes, offered_to, setup, telegram};
use crate::on_both_backends;
use crate::support::{Backend, TestApp};

/// Every plain field of `Chat` and of its `Contact` (`PLAIN_CHAT`, `PLAIN_CONTACT` in
/// api/src/graphql/history.rs): the page reads only their columns.
const PLAIN: &str = "__typename id status completionReason createdAt acceptedAt firstResponseAt completedAt \
     closeDeadline queuedAt lastMessageAt contact { __typename id name photoUrl email mobilePhone \
     businessPhone homePhone jobTitle createdAt updatedAt }";

fn page(node: &str) -> String {
    format!("{{ chats(first: 10) {{ edges {{ cursor node {{ {node} }} }} }} }}")
}

/// The answer's edges with only the keys of `plain` in each node and its contact.
fn only_plain(data: &Value, plain: &Value) -> Vec<Value> {
    let keep = |object: &Value, like: &Value| -> Value {
        let like = like.as_object().unwrap();
        let object = object.as_object().unwrap();
        Value::Object(
            object
                .iter()
                .filter(|(key, _)| like.contains_key(*key))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    };
    let like = &plain["chats"]["edges"][0]["node"];
    data["chats"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| {
            let mut node = keep(&edge["node"], like);
            node["contact"] = keep(&edge["node"]["contact"], &like["contact"]);
            json!({ "cursor": edge["cursor"], "node": node })
        })
        .collect()
}

on_both_backends!(a_page_of_plain_fields_answers_what_a_full_read_answers);

async fn a_page_of_plain_fields_answers_what_a_full_read_answers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let token = &s.agents[0].2;
    // One chat completed, one in progress, one waiting; a contact with every detail set.
    let (done, _) = customer_writes(&app, &s, 901, 1).await;
    offered_to(&app, token, &done).await;
    app.ok(Some(token), ACCEPT, json!({ "id": done })).await;
    app.ok(Some(token), "mutation($id: ID!) { completeChat(chatId: $id) { status } }", json!({ "id": done }))
        .await;
    let (open, _) = customer_writes(&app, &s, 902, 1).await;
    offered_to(&app, token, &open).await;
    app.ok(Some(token), ACCEPT, json!({ "id": open })).await;
    let contact = app
        .ok(Some(&s.admin), "query($id: ID!) { chat(id: $id) { contact { id } } }", json!({ "id": open }))
        .await["chat"]["contact"]["id"]
        .clone();
    let details = json!({ "id": contact, "email": "ana@example.com", "mobilePhone": "+44 7700 900123",
        "businessPhone": "+44 20 7946 0000", "homePhone": "+44 20 7946 0001", "jobTitle": "Buyer" });
    let update = "mutation($input: UpdateContactInput!) { updateContact(input: $input) { id } }";
    app.ok(Some(&s.admin), update, json!({ "input": details })).await;
    customer_writes(&app, &s, 903, 1).await;

    let plain = app.ok(Some(&s.admin), &page(PLAIN), json!({})).await;
    // A field that is not plain (its resolver reads more of the row, or another table) makes
    // the page read every column of the chat and of the contact.
    let full_node =
        PLAIN.replacen("contact {", "messageCount timeToAccept contact { identities { externalId } ", 1);
    let full = app.ok(Some(&s.admin), &page(&full_node), json!({})).await;
    assert_eq!(only_plain(&plain, &plain), only_plain(&full, &plain), "plain: {plain}\nfull: {full}");
    let nodes: Vec<&Value> =
        plain["chats"]["edges"].as_array().unwrap().iter().map(|edge| &edge["node"]).collect();
    assert_eq!(nodes.len(), 3, "{plain}");
    // The read fields are the chats' and contacts' own values, not placeholders.
    assert!(
        nodes.iter().all(|node| node["__typename"] == "Chat" && node["contact"]["__typename"] == "Contact")
    );
    assert!(nodes.iter().any(|node| node["status"] == "COMPLETED"
        && node["completedAt"].is_string()
        && node["completionReason"].is_string()));
    assert!(nodes.iter().any(|node| node["status"] == "IN_PROGRESS" && node["acceptedAt"].is_string()));
    assert!(nodes.iter().any(|node| node["status"] == "WAITING" && node["queuedAt"].is_string()));
    assert!(nodes.iter().all(|node| node["lastMessageAt"].is_string() && node["createdAt"].is_string()));
    let detailed = nodes.iter().find(|node| node["contact"]["id"] == contact).expect("the updated contact");
    for (field, value) in [("email", "ana@example.com"), ("jobTitle", "Buyer"), ("name", "Customer 902")] {
        assert_eq!(detailed["contact"][field], value, "{plain}");
    }
    assert!(detailed["contact"]["updatedAt"].is_string() && detailed["contact"]["createdAt"].is_string());

    // Through `nodes` and a fragment, with aliases, the same values.
    let fragment = "{ chats(first: 10) { nodes { ...Row } } } \
         fragment Row on Chat { key: id state: status contact { who: name } }";
    let via = app.ok(Some(&s.admin), fragment, json!({})).await;
    let rows = via["chats"]["nodes"].as_array().unwrap();
    for (row, node) in rows.iter().zip(&nodes) {
        assert_eq!(
            row,
            &json!({ "key": node["id"], "state": node["status"], "contact": { "who": node["contact"]["name"] } })
        );
    }
    // The cursor of a plain page continues the list as a full page's does.
    let cursor = &plain["chats"]["edges"][0]["cursor"];
    let next = app
        .ok(
            Some(&s.admin),
            "query($after: String) { chats(first: 1, after: $after) { edges { node { id } } } }",
            json!({ "after": cursor }),
        )
        .await;
    assert_eq!(next["chats"]["edges"][0]["node"]["id"], nodes[1]["id"], "{next} {plain}");
}

/// Every plain field of `Message` (`PLAIN_MESSAGE` in api/src/graphql/page_columns.rs).
const PLAIN_MESSAGE: &str =
    "__typename id direction authorKind kind text deliveryStatus deliveryError editedAt createdAt";

fn panel(node: &str) -> String {
    format!(
        "query($id: ID!) {{ chat(id: $id) {{ id messages(last: 20) {{ pageInfo {{ hasPreviousPage }} \
         edges {{ cursor node {{ {node} }} }} }} }} }}"
    )
}

/// A chat Telegram user `user` opened with "hello" and then wrote `more` in, accepted by the
/// setup's first agent.
pub(crate) async fn accepted_chat(
    app: &TestApp,
    s: &crate::lifecycle::Setup,
    user: i64,
    more: &[&str],
) -> String {
    let token = &s.agents[0].2;
    let (chat, _) = customer_writes(app, s, user, 1).await;
    for (n, text) in (2..).zip(more) {
        assert_eq!(app.webhook(&s.telegram, &telegram(user, n, text)).await, 200);
    }
    offered_to(app, token, &chat).await;
    app.ok(Some(token), ACCEPT, json!({ "id": chat })).await;
    chat
}

on_both_backends!(the_panels_latest_messages_of_plain_fields_answer_what_a_full_read_answers);

async fn the_panels_latest_messages_of_plain_fields_answer_what_a_full_read_answers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let token = &s.agents[0].2;
    let chat = accepted_chat(&app, &s, 911, &["second", "third"]).await;
    let variables = json!({ "id": chat });
    let plain = app.ok(Some(token), &panel(PLAIN_MESSAGE), variables.clone()).await;
    // `author` is not plain (it reads the author's key): every column is read.
    let full = app.ok(Some(token), &panel(&format!("{PLAIN_MESSAGE} author {{ id }}")), variables).await;
    let strip = |data: &Value| {
        let mut data = data.clone();
        for edge in data["chat"]["messages"]["edges"].as_array_mut().unwrap() {
            edge["node"].as_object_mut().unwrap().remove("author");
        }
        data
    };
    assert_eq!(plain, strip(&full), "plain: {plain}\nfull: {full}");
    let edges = plain["chat"]["messages"]["edges"].as_array().unwrap();
    let texts: Vec<&str> = edges.iter().filter_map(|edge| edge["node"]["text"].as_str()).collect();
    assert_eq!(texts, ["hello", "second", "third"], "{plain}");
    for edge in edges {
        let node = &edge["node"];
        assert_eq!(
            (&node["__typename"], &node["direction"], &node["kind"]),
            (&json!("Message"), &json!("INCOMING"), &json!("TEXT"))
        );
        assert_eq!(node["authorKind"], "CONTACT");
        assert!(
            node["createdAt"].is_string() && node["id"].is_string() && edge["cursor"].is_string(),
            "{plain}"
        );
    }
    assert_eq!(plain["chat"]["messages"]["pageInfo"]["hasPreviousPage"], false);
}

/// `PanelPlain`: the chat's latest messages with the node selection `node`.
fn named_panel(node: &str) -> String {
    format!(
        "query PanelPlain($id: ID!) {{ chat(id: $id) {{ id messages(last: 20) {{ \
         edges {{ node {{ {node} }} }} }} }} }}"
    )
}

on_both_backends!(messages_of_plain_fields_answer_byte_for_byte_what_async_graphql_answers);

/// A selection of plain `Message` fields is answered without async-graphql's per-field
/// futures (`graphql::plain`); the same selection in an inline fragment goes through
/// async-graphql. Both answers are the same text — values, nulls, aliases, repeated fields and
/// the selection's order — for messages with every plain column set and with them null.
async fn messages_of_plain_fields_answer_byte_for_byte_what_async_graphql_answers(backend: Backend) {
    use entity::enums::DeliveryStatus;
    use entity::messages;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, QueryOrder};

    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let token = &s.agents[0].2;
    let chat = accepted_chat(&app, &s, 921, &["second"]).await;
    // The newest message with every nullable plain column set.
    let newest =
        messages::Entity::find().order_by_desc(messages::Column::Id).one(&app.db).await.unwrap().unwrap();
    let mut set: messages::ActiveModel = newest.into();
    set.delivery_status = Set(Some(DeliveryStatus::Failed));
    set.delivery_error = Set(Some("provider said \"no\" \u{1F4A5}".into()));
    set.edited_at = Set(Some(chrono::Utc::now()));
    set.update(&app.db).await.unwrap();

    let variables = json!({ "id": chat });
    for selection in [
        PLAIN_MESSAGE.to_owned(),
        "createdAt t: text id d: direction text kind t2: text __typename id".to_owned(),
        "editedAt deliveryError deliveryStatus authorKind".to_owned(),
    ] {
        // async-graphql drops `@include(if: true)` before execution; a fragment it keeps.
        let through_async_graphql = format!("... on Message {{ {selection} }}");
        let plain =
            crate::panel_read::raw(&app, token, &named_panel(&selection), "PanelPlain", variables.clone())
                .await;
        let generic = crate::panel_read::raw(
            &app,
            token,
            &named_panel(&through_async_graphql),
            "PanelPlain",
            variables.clone(),
        )
        .await;
        assert_eq!(plain, generic, "{selection}");
        assert!(!plain.contains("\"errors\""), "{plain}");
    }
    // The connection around them: edges, nodes, page info, type names, aliases; the generic
    // side has the connection's and each node's selection in fragments.
    let connection = |node: &str, nodes: &str| {
        format!(
            "query PanelPlain($id: ID!) {{ chat(id: $id) {{ id messages(last: 20) {{ __typename \
             pageInfo {{ hasPreviousPage hasNextPage startCursor endCursor __typename }} \
             e: edges {{ cursor __typename node {{ {node} }} }} nodes {{ {nodes} }} \
             p: pageInfo {{ endCursor }} p: pageInfo {{ hasNextPage }} }} }} }}"
        )
    };
    let generic = connection("... on Message { id t: text createdAt }", "... on Message { __typename kind }")
        .replace("messages(last: 20) {", "messages(last: 20) { ... on MessageConnection {")
        .replace("} } } }", "} } } } }");
    let plain = crate::panel_read::raw(
        &app,
        token,
        &connection("id t: text createdAt", "__typename kind"),
        "PanelPlain",
        variables.clone(),
    )
    .await;
    let through = crate::panel_read::raw(&app, token, &generic, "PanelPlain", variables.clone()).await;

    assert_eq!(plain, through, "{generic}");
    assert!(plain.contains("\"startCursor\":\"") && !plain.contains("\"errors\""), "{plain}");
    assert!(plain.contains("\"p\":{\"endCursor\":\"") && plain.contains("\"hasNextPage\":false}"), "{plain}");
    let all = crate::panel_read::raw(&app, token, &named_panel(PLAIN_MESSAGE), "PanelPlain", variables).await;
    assert!(
        all.contains("\"deliveryStatus\":\"FAILED\"") && all.contains("\"deliveryStatus\":null"),
        "{all}"
    );
    assert!(all.contains(r#""deliveryError":"provider said \"no\" 💥""#), "{all}");
}
