//! Quick replies (reply templates) and drafts.

use entity::enums::Role;
use entity::{chats, events};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::{TestApp, fixture};

const CREATE: &str = "mutation($input: CreateReplyTemplateInput!) { createReplyTemplate(input: $input) { id name text language createdAt updatedAt } }";
const UPDATE: &str = "mutation($input: UpdateReplyTemplateInput!) { updateReplyTemplate(input: $input) { id name text language } }";
const DELETE: &str = "mutation($id: ID!) { deleteReplyTemplate(id: $id) }";
const SEARCH: &str = "query($search: String, $chatId: ID, $first: Int, $after: String) { replyTemplates(search: $search, chatId: $chatId, first: $first, after: $after) { edges { cursor node { id name text language } } pageInfo { hasNextPage endCursor } } }";
const SAVE_DRAFT: &str =
    "mutation($chatId: ID!, $text: String!) { saveDraft(chatId: $chatId, text: $text) { text updatedAt } }";
const READ_DRAFT: &str = "query($id: ID!) { chat(id: $id) { draft { text updatedAt } } }";

fn create_input(name: &str, text: &str, language: Option<&str>) -> Value {
    json!({ "input": { "name": name, "text": text, "language": language } })
}

async fn template_events(app: &TestApp) -> u64 {
    events::Entity::find().filter(events::Column::Kind.eq("TEMPLATE_CHANGED")).count(&app.db).await.unwrap()
}

/// The names the search finds, in order.
async fn names(app: &TestApp, token: &str, variables: Value) -> Vec<String> {
    let data = app.ok(Some(token), SEARCH, variables).await;
    data["replyTemplates"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Brings a Telegram customer's first message in and returns the new chat's global id.
async fn telegram_chat(app: &TestApp, path: &str) -> String {
    assert_eq!(app.webhook(path, &fixture("telegram/text_message.json")).await, 200);
    let chat = chats::Entity::find().order_by_desc(chats::Column::Id).one(&app.db).await.unwrap().unwrap();
    api::graphql::ids::encode("Chat", chat.id).0
}

async fn managers_create_update_and_delete_templates(app: TestApp) {
    let admin = app.admin().await;
    let (_, supervisor) = app.signed_in("sup@example.com", Role::Supervisor).await;

    let data =
        app.ok(Some(&admin), CREATE, create_input("  Greeting ", "Hello! How can I help?", None)).await;
    let greeting = data["createReplyTemplate"].clone();
    assert_eq!(greeting["name"], "Greeting", "names are trimmed");
    assert_eq!(greeting["language"], Value::Null);
    assert!(greeting["createdAt"].is_string() && greeting["updatedAt"].is_string());

    let data =
        app.ok(Some(&supervisor), CREATE, create_input("Refund", "We refund in 5 days", Some("EN"))).await;
    let refund = data["createReplyTemplate"].clone();
    assert_eq!(refund["language"], "en", "language tags are lower-cased");
    assert_eq!(app.count("reply_templates").await, 2);

    // Fetchable by global id, for those who may use templates (not analysts).
    let node = "query($id: ID!) { node(id: $id) { id ... on ReplyTemplate { name text } } }";
    let data = app.ok(Some(&supervisor), node, json!({ "id": greeting["id"] })).await;
    assert_eq!(data["node"]["id"], greeting["id"]);
    assert_eq!(data["node"]["name"], "Greeting");
    let (_, analyst) = app.signed_in("analyst@example.com", Role::Analyst).await;
    let body = app.gql(Some(&analyst), node, json!({ "id": greeting["id"] })).await;
    assert_eq!(body, json!({ "data": { "node": null } }), "not readable by analysts: null");

    // Update: omitted fields stay, null clears the language, "" does too.
    let data = app
        .ok(
            Some(&supervisor),
            UPDATE,
            json!({ "input": { "id": refund["id"], "text": "Refunds take 5 days" } }),
        )
        .await;
    assert_eq!(
        data["updateReplyTemplate"],
        json!({ "id": refund["id"], "name": "Refund", "text": "Refunds take 5 days", "language": "en" })
    );
    let data =
        app.ok(Some(&admin), UPDATE, json!({ "input": { "id": refund["id"], "language": null } })).await;
    assert_eq!(data["updateReplyTemplate"]["language"], Value::Null);
    let data = app
        .ok(
            Some(&admin),
            UPDATE,
            json!({ "input": { "id": refund["id"], "name": "Refunds", "language": "pt-br" } }),
        )
        .await;
    assert_eq!(data["updateReplyTemplate"]["name"], "Refunds");
    assert_eq!(data["updateReplyTemplate"]["language"], "pt-br");
    let data = app.ok(Some(&admin), UPDATE, json!({ "input": { "id": refund["id"], "language": "" } })).await;
    assert_eq!(data["updateReplyTemplate"]["language"], Value::Null);

    assert_eq!(
        app.ok(Some(&supervisor), DELETE, json!({ "id": greeting["id"] })).await["deleteReplyTemplate"],
        true
    );
    assert_eq!(app.count("reply_templates").await, 1);
    assert_eq!(template_events(&app).await, 7, "every change writes an event");

    // Unknown ids.
    assert_eq!(app.error_code(Some(&admin), DELETE, json!({ "id": greeting["id"] })).await, "NOT_FOUND");
    assert_eq!(
        app.error_code(Some(&admin), UPDATE, json!({ "input": { "id": greeting["id"], "name": "X" } })).await,
        "NOT_FOUND"
    );
    let chat_id = api::graphql::ids::encode("Chat", 1).0;
    assert_eq!(app.error_code(Some(&admin), DELETE, json!({ "id": chat_id })).await, "BAD_USER_INPUT");

    // Validation.
    let long_tag = "x".repeat(17);
    for bad in [
        create_input("", "text", None),
        create_input("   ", "text", None),
        create_input(&"n".repeat(101), "text", None),
        create_input("Name", "", None),
        create_input("Name", &"t".repeat(4097), None),
        create_input("Name", "text", Some("en_US")),
        create_input("Name", "text", Some(long_tag.as_str())),
    ] {
        assert_eq!(app.error_code(Some(&admin), CREATE, bad).await, "BAD_USER_INPUT");
    }
    for bad in [json!({ "name": "" }), json!({ "text": " " }), json!({ "language": "e s" })] {
        let mut input = bad.clone();
        input["id"] = refund["id"].clone();
        assert_eq!(app.error_code(Some(&admin), UPDATE, json!({ "input": input })).await, "BAD_USER_INPUT");
    }
    let longest = create_input(&"n".repeat(100), &"t".repeat(4096), Some("zh-hant"));
    app.ok(Some(&admin), CREATE, longest).await;
    assert_eq!(app.count("reply_templates").await, 2, "refused changes write nothing");
    assert_eq!(template_events(&app).await, 8);
}

async fn agents_and_analysts_may_not_manage_templates(app: TestApp) {
    let admin = app.admin().await;
    let (_, agent) = app.signed_in("agent@example.com", Role::Agent).await;
    let (_, analyst) = app.signed_in("analyst@example.com", Role::Analyst).await;
    let id =
        app.ok(Some(&admin), CREATE, create_input("Hi", "Hello", None)).await["createReplyTemplate"]["id"]
            .clone();
    let events_before = template_events(&app).await;

    for token in [&agent, &analyst] {
        assert_eq!(app.error_code(Some(token), CREATE, create_input("X", "Y", None)).await, "FORBIDDEN");
        let update = json!({ "input": { "id": id, "name": "Changed" } });
        assert_eq!(app.error_code(Some(token), UPDATE, update).await, "FORBIDDEN");
        assert_eq!(app.error_code(Some(token), DELETE, json!({ "id": id })).await, "FORBIDDEN");
    }
    assert_eq!(app.error_code(None, CREATE, create_input("X", "Y", None)).await, "UNAUTHENTICATED");
    assert_eq!(app.count("reply_templates").await, 1, "nothing was written");
    assert_eq!(template_events(&app).await, events_before);
    let data = app.ok(Some(&admin), SEARCH, json!({})).await;
    assert_eq!(data["replyTemplates"]["edges"][0]["node"]["name"], "Hi");

    // Agents search templates; analysts take no chats and do not.
    assert_eq!(names(&app, &agent, json!({})).await, vec!["Hi"]);
    assert_eq!(app.error_code(Some(&analyst), SEARCH, json!({})).await, "FORBIDDEN");
}

async fn templates_are_searched_and_paged(app: TestApp) {
    let admin = app.admin().await;
    let (_, agent) = app.signed_in("agent@example.com", Role::Agent).await;
    for (name, text) in [
        ("Refund policy", "Our policy is described on the website."),
        ("Shipping", "Parcels leave within a day; a refund takes 5 days."),
        ("Discount", "Use code SAVE10 for 10% off."),
        ("Greeting", "Hello, I am here to help."),
        ("Percent_sign", "Nothing special here."),
    ] {
        app.ok(Some(&admin), CREATE, create_input(name, text, None)).await;
    }

    assert_eq!(names(&app, &agent, json!({ "search": "REFUND" })).await, vec!["Refund policy", "Shipping"]);
    assert_eq!(names(&app, &agent, json!({ "search": "greet" })).await, vec!["Greeting"]);
    assert_eq!(names(&app, &agent, json!({ "search": "10%" })).await, vec!["Discount"]);
    assert_eq!(names(&app, &agent, json!({ "search": "%" })).await, vec!["Discount"], "% is literal");
    assert_eq!(names(&app, &agent, json!({ "search": "a_d" })).await, Vec::<String>::new(), "_ is literal");
    assert_eq!(names(&app, &agent, json!({ "search": "nt_s" })).await, vec!["Percent_sign"]);
    assert_eq!(names(&app, &agent, json!({ "search": "nothing matches" })).await, Vec::<String>::new());
    assert_eq!(names(&app, &agent, json!({ "search": "" })).await.len(), 5, "an empty search finds all");

    // Pagination with first/after.
    let mut seen = Vec::new();
    let mut after = Value::Null;
    let mut pages = 0;
    loop {
        let data = app.ok(Some(&agent), SEARCH, json!({ "first": 2, "after": after })).await;
        let connection = &data["replyTemplates"];
        seen.extend(
            connection["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["name"].as_str().unwrap().to_owned()),
        );
        pages += 1;
        if connection["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = connection["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, vec!["Refund policy", "Shipping", "Discount", "Greeting", "Percent_sign"]);
    let data = app.ok(Some(&agent), SEARCH, json!({ "search": "e", "first": 1 })).await;
    assert_eq!(data["replyTemplates"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(app.error_code(Some(&agent), SEARCH, json!({ "first": 101 })).await, "BAD_USER_INPUT");
    assert_eq!(app.error_code(Some(&agent), SEARCH, json!({ "after": "nope" })).await, "BAD_USER_INPUT");
}

async fn templates_follow_the_chat_language(app: TestApp) {
    let admin = app.admin().await;
    let (_, supervisor) = app.signed_in("sup@example.com", Role::Supervisor).await;
    let (_, agent) = app.signed_in("agent@example.com", Role::Agent).await;
    let channels = app.channels(&admin).await;
    let update = "mutation($input: UpdateChannelInput!) { updateChannel(input: $input) { language } }";
    let data =
        app.ok(Some(&admin), update, json!({ "input": { "id": channels.ids[2], "language": "es" } })).await;
    assert_eq!(data["updateChannel"]["language"], "es");
    let chat = telegram_chat(&app, &channels.telegram).await;

    for (name, language) in
        [("Hola", Some("es")), ("Hello", Some("en")), ("Anywhere", None), ("Adiós", Some("es"))]
    {
        app.ok(Some(&admin), CREATE, create_input(name, "text", language)).await;
    }
    assert_eq!(names(&app, &supervisor, json!({ "chatId": chat })).await, vec!["Hola", "Anywhere", "Adiós"]);
    assert_eq!(names(&app, &supervisor, json!({ "chatId": chat, "search": "ADI" })).await, vec!["Adiós"]);
    assert_eq!(names(&app, &supervisor, json!({})).await.len(), 4, "without a chat, every language");

    // A channel without a language offers every template.
    app.ok(Some(&admin), update, json!({ "input": { "id": channels.ids[2], "language": null } })).await;
    assert_eq!(names(&app, &supervisor, json!({ "chatId": chat })).await.len(), 4);

    // The chat must be readable: an agent does not see a waiting chat not directed to them.
    assert_eq!(app.error_code(Some(&agent), SEARCH, json!({ "chatId": chat })).await, "NOT_FOUND");
    let missing = api::graphql::ids::encode("Chat", 999_999).0;
    assert_eq!(app.error_code(Some(&supervisor), SEARCH, json!({ "chatId": missing })).await, "NOT_FOUND");
    assert_eq!(
        app.error_code(Some(&supervisor), SEARCH, json!({ "chatId": channels.ids[0] })).await,
        "BAD_USER_INPUT"
    );
}

async fn drafts_are_saved_replaced_and_cleared(app: TestApp) {
    let admin = app.admin().await;
    let (_, supervisor) = app.signed_in("sup@example.com", Role::Supervisor).await;
    let (_, agent) = app.signed_in("agent@example.com", Role::Agent).await;
    let (_, analyst) = app.signed_in("analyst@example.com", Role::Analyst).await;
    let channels = app.channels(&admin).await;
    let chat = telegram_chat(&app, &channels.telegram).await;

    let data = app.ok(Some(&supervisor), READ_DRAFT, json!({ "id": chat })).await;
    assert_eq!(data["chat"]["draft"], Value::Null);

    let data =
        app.ok(Some(&supervisor), SAVE_DRAFT, json!({ "chatId": chat, "text": "  Hi Dmitri, " })).await;
    assert_eq!(data["saveDraft"]["text"], "Hi Dmitri,", "drafts are trimmed");
    let data = app.ok(Some(&supervisor), READ_DRAFT, json!({ "id": chat })).await;
    assert_eq!(data["chat"]["draft"]["text"], "Hi Dmitri,");
    assert!(data["chat"]["draft"]["updatedAt"].is_string());

    let data = app
        .ok(Some(&supervisor), SAVE_DRAFT, json!({ "chatId": chat, "text": "Hi Dmitri, let me check" }))
        .await;
    assert_eq!(data["saveDraft"]["text"], "Hi Dmitri, let me check");
    assert_eq!(app.count("drafts").await, 1, "one draft per agent and chat");
    let data = app.ok(Some(&supervisor), READ_DRAFT, json!({ "id": chat })).await;
    assert_eq!(data["chat"]["draft"]["text"], "Hi Dmitri, let me check");

    // Drafts are per agent: the admin sees none of the supervisor's, and has their own.
    let data = app.ok(Some(&admin), READ_DRAFT, json!({ "id": chat })).await;
    assert_eq!(data["chat"]["draft"], Value::Null);
    app.ok(Some(&admin), SAVE_DRAFT, json!({ "chatId": chat, "text": "admin's" })).await;
    assert_eq!(app.count("drafts").await, 2);
    let data = app.ok(Some(&supervisor), READ_DRAFT, json!({ "id": chat })).await;
    assert_eq!(data["chat"]["draft"]["text"], "Hi Dmitri, let me check");

    // Listed chats get their drafts in one batch, each its own.
    let mut update: Value = serde_json::from_slice(&fixture("telegram/text_message.json")).unwrap();
    update["update_id"] = json!(update["update_id"].as_i64().unwrap() + 1);
    update["message"]["from"]["id"] = json!(424_242);
    update["message"]["chat"]["id"] = json!(424_242);
    assert_eq!(app.webhook(&channels.telegram, &serde_json::to_vec(&update).unwrap()).await, 200);
    let second = chats::Entity::find().order_by_desc(chats::Column::Id).one(&app.db).await.unwrap().unwrap();
    let second = api::graphql::ids::encode("Chat", second.id).0;
    assert_ne!(second, chat);
    app.ok(Some(&supervisor), SAVE_DRAFT, json!({ "chatId": second, "text": "the other one" })).await;
    let data =
        app.ok(Some(&supervisor), "{ chats { edges { node { id draft { text } } } } }", json!({})).await;
    let drafts: std::collections::HashMap<String, Value> = data["chats"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| (edge["node"]["id"].as_str().unwrap().to_owned(), edge["node"]["draft"]["text"].clone()))
        .collect();
    assert_eq!(drafts[&chat], "Hi Dmitri, let me check");
    assert_eq!(drafts[&second], "the other one");
    app.ok(Some(&supervisor), SAVE_DRAFT, json!({ "chatId": second, "text": "" })).await;

    // Too long is refused and changes nothing.
    let long = "x".repeat(4097);
    assert_eq!(
        app.error_code(Some(&supervisor), SAVE_DRAFT, json!({ "chatId": chat, "text": long })).await,
        "BAD_USER_INPUT"
    );
    let data = app.ok(Some(&supervisor), READ_DRAFT, json!({ "id": chat })).await;
    assert_eq!(data["chat"]["draft"]["text"], "Hi Dmitri, let me check");

    // Empty (after trimming) clears.
    let data = app.ok(Some(&supervisor), SAVE_DRAFT, json!({ "chatId": chat, "text": "  " })).await;
    assert_eq!(data["saveDraft"], Value::Null);
    let data = app.ok(Some(&supervisor), READ_DRAFT, json!({ "id": chat })).await;
    assert_eq!(data["chat"]["draft"], Value::Null);
    assert_eq!(app.count("drafts").await, 1, "only the admin's is left");
    let data = app.ok(Some(&supervisor), SAVE_DRAFT, json!({ "chatId": chat, "text": "" })).await;
    assert_eq!(data["saveDraft"], Value::Null, "clearing twice is fine");

    // An agent who may not read the chat, an unknown chat, an analyst.
    assert_eq!(
        app.error_code(Some(&agent), SAVE_DRAFT, json!({ "chatId": chat, "text": "sneaky" })).await,
        "NOT_FOUND"
    );
    let missing = api::graphql::ids::encode("Chat", 999_999).0;
    assert_eq!(
        app.error_code(Some(&supervisor), SAVE_DRAFT, json!({ "chatId": missing, "text": "x" })).await,
        "NOT_FOUND"
    );
    assert_eq!(
        app.error_code(Some(&analyst), SAVE_DRAFT, json!({ "chatId": chat, "text": "x" })).await,
        "FORBIDDEN"
    );
    let data = app.ok(Some(&analyst), READ_DRAFT, json!({ "id": chat })).await;
    assert_eq!(data["chat"]["draft"], Value::Null);
    assert_eq!(app.count("drafts").await, 1);
}

on_both_databases!(
    managers_create_update_and_delete_templates,
    agents_and_analysts_may_not_manage_templates,
    templates_are_searched_and_paged,
    templates_follow_the_chat_language,
    drafts_are_saved_replaced_and_cleared,
);
