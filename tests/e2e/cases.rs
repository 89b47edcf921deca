//! Accounts and cases: the exact "Create case" mapping from a real chat (signed webhooks, an
//! agent accepting and replying), the CASE_CREATED event on the chat's streams, who may read,
//! create and change cases, the status order, and the case list's filters and pages.

use entity::enums::Role;
use entity::{cases, chats, contacts, events};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::lifecycle::{ACCEPT, Setup, offered_to, setup, telegram};
use crate::on_both_backends;
use crate::subscriptions::{event, subscribe};
use crate::support::{Backend, TestApp};
use crate::websocket::Socket;

const CASE_FIELDS: &str = "id number subject description source status registeredAt createdAt updatedAt \
     contact { id name } account { id name } assignee { id email } chat { id }";
const SEND: &str = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }";
const UPDATE: &str = "mutation($input: UpdateCaseInput!) { updateCase(input: $input) { id status subject description assignee { email } } }";
const CREATE_ACCOUNT: &str = "mutation($name: String!) { createAccount(input: { name: $name }) { id name } }";

fn create_case() -> String {
    format!("mutation($id: ID!) {{ createCaseFromChat(chatId: $id) {{ {CASE_FIELDS} }} }}")
}

fn gid(type_name: &str, row: i64) -> String {
    api::graphql::ids::encode(type_name, row).0
}

fn row_of(id: &Value, type_name: &str) -> i64 {
    api::graphql::ids::decode(&async_graphql::ID(id.as_str().unwrap().to_owned()), type_name).unwrap()
}

/// The customer `user` writes `text` as their message number `n`; returns the chat's row id.
async fn customer(app: &TestApp, s: &Setup, user: i64, n: i64, text: &str) -> i64 {
    assert_eq!(app.webhook(&s.telegram, &telegram(user, n, text)).await, 200);
    chats::Entity::find().order_by_desc(chats::Column::Id).one(&app.db).await.unwrap().unwrap().id
}

/// A chat from customer `user` with `texts` written first, accepted by agent `i`.
async fn accepted_chat(app: &TestApp, s: &Setup, i: usize, user: i64, texts: &[&str]) -> (String, i64) {
    let mut row = 0;
    for (n, text) in texts.iter().enumerate() {
        row = customer(app, s, user, n as i64 + 1, text).await;
    }
    let chat = gid("Chat", row);
    offered_to(app, &s.agents[i].2, &chat).await;
    app.ok(Some(&s.agents[i].2), ACCEPT, json!({ "id": chat })).await;
    (chat, row)
}

/// The id of the newest event so far (to replay a stream from just after it).
async fn last_event(app: &TestApp) -> String {
    let newest = events::Entity::find().order_by_desc(events::Column::Id).one(&app.db).await.unwrap();
    newest.map_or(0, |e| e.id).to_string()
}

/// Reads a stream until an event of `kind` arrives (other kinds, such as delivery failures of
/// the replies, may come first) and returns that event.
async fn next_of_kind(socket: &mut Socket, field: &str, kind: &str) -> Value {
    for _ in 0..50 {
        let payload = event(socket).await;
        let data = payload["data"][field].clone();
        assert!(data.is_object(), "{payload:#}");
        if data["kind"] == kind {
            return data;
        }
    }
    panic!("no {kind} event on {field}");
}

async fn case_from_chat_maps_the_chat_exactly(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 2).await;
    let (_, supervisor) = app.signed_in("sup@example.com", Role::Supervisor).await;
    let owner = &s.agents[0].2;
    // Three customer messages before the first reply, a fourth after it.
    let (chat, chat_row) =
        accepted_chat(&app, &s, 0, 801, &["My order is late", "It was due Monday", "Order 1234"]).await;
    app.ok(Some(owner), SEND, json!({ "input": { "chatId": chat, "text": "Looking into it" } })).await;
    customer(&app, &s, 801, 4, "Any news?").await;
    let messages = app
        .ok(
            Some(owner),
            "query($id: ID!) { chat(id: $id) { messages { edges { node { text } } } } }",
            json!({ "id": chat }),
        )
        .await;
    assert_eq!(messages["chat"]["messages"]["edges"].as_array().unwrap().len(), 5, "{messages:#}");

    // The contact belongs to an account (the link is `updateContact`'s job; set here in SQL).
    let account =
        app.ok(Some(&supervisor), CREATE_ACCOUNT, json!({ "name": "Acme Corp" })).await["createAccount"]
            .clone();
    let contact_row = chats::Entity::find_by_id(chat_row).one(&app.db).await.unwrap().unwrap().contact_id;
    contacts::Entity::update_many()
        .col_expr(contacts::Column::AccountId, Expr::value(row_of(&account["id"], "Account")))
        .filter(contacts::Column::Id.eq(contact_row))
        .exec(&app.db)
        .await
        .unwrap();

    // The owner's panel, the chat's stream and the queue's stream, replayed from now on.
    let after = last_event(&app).await;
    let mut mine = subscribe(
        &app,
        owner,
        "subscription($after: ID) { myChatEvents(after: $after) { kind chat { id } details } }",
        json!({ "after": after }),
    )
    .await;
    let mut in_chat = subscribe(
        &app,
        owner,
        "subscription($id: ID!, $after: ID) { chatMessages(chatId: $id, after: $after) { kind chat { id } details } }",
        json!({ "id": chat, "after": after }),
    )
    .await;
    let mut queue = subscribe(
        &app,
        &supervisor,
        "subscription($q: ID!, $after: ID) { queueChatEvents(queueId: $q, after: $after) { kind chat { id } details } }",
        json!({ "q": s.queue, "after": after }),
    )
    .await;

    let case = app.ok(Some(owner), &create_case(), json!({ "id": chat })).await["createCaseFromChat"].clone();
    assert_eq!(case["subject"], "My order is late");
    assert_eq!(case["description"], "My order is late\nIt was due Monday\nOrder 1234");
    assert_eq!(case["source"], "CHAT");
    assert_eq!(case["status"], "NEW");
    assert_eq!(case["contact"]["id"], gid("Contact", contact_row).as_str());
    assert_eq!(case["account"], account);
    assert_eq!(case["assignee"]["email"], "agent0@example.com");
    assert_eq!(case["chat"]["id"], chat.as_str());
    let registered: chrono::DateTime<chrono::Utc> = case["registeredAt"].as_str().unwrap().parse().unwrap();
    assert!((chrono::Utc::now() - registered).num_seconds().abs() < 60, "registered now");
    let case_row = row_of(&case["id"], "Case");
    assert_eq!(case["number"], format!("CS-{case_row:06}"));

    // CASE_CREATED reaches the owner's panel, the chat's stream and the queue's watchers.
    for (socket, field) in
        [(&mut mine, "myChatEvents"), (&mut in_chat, "chatMessages"), (&mut queue, "queueChatEvents")]
    {
        let created = next_of_kind(socket, field, "CASE_CREATED").await;
        assert_eq!(created["chat"]["id"], chat.as_str());
        assert_eq!(created["details"], json!({ "caseId": case["id"], "number": case["number"] }), "{field}");
    }

    // The chat, the contact and the account list it; node(id) finds it.
    let listed = app
        .ok(
            Some(owner),
            "query($chat: ID!, $contact: ID!, $account: ID!, $case: ID!) { \
               chat(id: $chat) { cases { id number } } \
               contact(id: $contact) { account { name } cases { id } } \
               node(id: $account) { ... on Account { name contacts { edges { node { id } } } cases { edges { node { id } } } } } \
               case: node(id: $case) { ... on Case { number } } }",
            json!({ "chat": chat, "contact": gid("Contact", contact_row), "account": account["id"], "case": case["id"] }),
        )
        .await;
    assert_eq!(listed["chat"]["cases"], json!([{ "id": case["id"], "number": case["number"] }]));
    assert_eq!(listed["contact"]["account"]["name"], "Acme Corp");
    assert_eq!(listed["contact"]["cases"], json!([{ "id": case["id"] }]));
    assert_eq!(listed["node"]["contacts"]["edges"][0]["node"]["id"], gid("Contact", contact_row).as_str());
    assert_eq!(listed["node"]["cases"]["edges"][0]["node"]["id"], case["id"]);
    assert_eq!(listed["case"]["number"], case["number"]);

    // A supervisor may raise another from the same chat: a new number, the owner still assignee.
    let again =
        app.ok(Some(&supervisor), &create_case(), json!({ "id": chat })).await["createCaseFromChat"].clone();
    assert_ne!(again["number"], case["number"]);
    assert_eq!(again["assignee"]["email"], "agent0@example.com");
    let chat_cases = app
        .ok(Some(owner), "query($id: ID!) { chat(id: $id) { cases { id } } }", json!({ "id": chat }))
        .await;
    assert_eq!(
        chat_cases["chat"]["cases"],
        json!([{ "id": again["id"] }, { "id": case["id"] }]),
        "newest first"
    );
}

async fn a_chat_without_a_reply_gives_every_customer_message(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let (chat, _) =
        accepted_chat(&app, &s, 0, 811, &["  Hello\nI need help with   my bill  ", "Are you there?"]).await;
    let case =
        app.ok(Some(&s.agents[0].2), &create_case(), json!({ "id": chat })).await["createCaseFromChat"]
            .clone();
    // The subject is one line; the description keeps each message as written (trimmed).
    assert_eq!(case["subject"], "Hello I need help with my bill");
    assert_eq!(case["description"], "Hello\nI need help with   my bill\nAre you there?");
    assert_eq!(case["account"], Value::Null, "a contact without an account gives a case without one");
}

async fn case_numbers_are_unique_under_concurrent_creation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let (chat, _) = accepted_chat(&app, &s, 0, 821, &["Broken screen"]).await;
    let query = create_case();
    let calls = (0..6).map(|_| app.ok(Some(&s.agents[0].2), &query, json!({ "id": chat })));
    let created = futures_util::future::join_all(calls).await;
    let mut numbers: Vec<String> =
        created.iter().map(|d| d["createCaseFromChat"]["number"].as_str().unwrap().to_owned()).collect();
    for data in &created {
        let row = row_of(&data["createCaseFromChat"]["id"], "Case");
        assert_eq!(data["createCaseFromChat"]["number"], format!("CS-{row:06}"));
    }
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 6, "every case has its own number");
    let events =
        events::Entity::find().filter(events::Column::Kind.eq("CASE_CREATED")).all(&app.db).await.unwrap();
    assert_eq!(events.len(), 6, "one CASE_CREATED per case");
}

async fn who_may_create_and_read_cases(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 2).await;
    let (_, supervisor) = app.signed_in("sup@example.com", Role::Supervisor).await;
    let (_, analyst) = app.signed_in("ana@example.com", Role::Analyst).await;
    let (owner, other) = (&s.agents[0].2, &s.agents[1].2);
    let (chat, _) = accepted_chat(&app, &s, 0, 831, &["Refund please"]).await;
    let query = create_case();

    // Another agent cannot read the chat: NOT_FOUND, as chat(id) answers, and nothing is written.
    assert_eq!(app.error_code(Some(other), &query, json!({ "id": chat })).await, "NOT_FOUND");
    // Analysts read but never create.
    assert_eq!(app.error_code(Some(&analyst), &query, json!({ "id": chat })).await, "FORBIDDEN");
    // Bad ids: the wrong type is BAD_USER_INPUT, an unknown chat NOT_FOUND.
    assert_eq!(app.error_code(Some(owner), &query, json!({ "id": s.agents[0].0 })).await, "BAD_USER_INPUT");
    assert_eq!(app.error_code(Some(owner), &query, json!({ "id": gid("Chat", 999_999) })).await, "NOT_FOUND");
    assert_eq!(app.count("cases").await, 0);
    let events =
        events::Entity::find().filter(events::Column::Kind.eq("CASE_CREATED")).all(&app.db).await.unwrap();
    assert!(events.is_empty(), "no event for a refused creation");

    // A waiting chat offered to an agent is readable by them, but only its owner (or a
    // supervisor) raises cases: FORBIDDEN.
    let waiting = gid("Chat", customer(&app, &s, 832, 1, "Hi").await);
    offered_to(&app, other, &waiting).await;
    assert_eq!(app.error_code(Some(other), &query, json!({ "id": waiting })).await, "FORBIDDEN");
    // A supervisor creates one from it: no owner yet, so no assignee.
    let unowned =
        app.ok(Some(&supervisor), &query, json!({ "id": waiting })).await["createCaseFromChat"].clone();
    assert_eq!(unowned["assignee"], Value::Null);

    let case = app.ok(Some(owner), &query, json!({ "id": chat })).await["createCaseFromChat"].clone();
    let list = "query($f: CasesFilter) { cases(filter: $f) { edges { node { id } } } }";
    let ids = |data: &Value| -> Vec<String> {
        data["cases"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
            .collect()
    };
    // Analysts and supervisors read every case.
    for token in [&analyst, &supervisor] {
        let all = ids(&app.ok(Some(token), list, json!({})).await);
        assert_eq!(
            all,
            vec![case["id"].as_str().unwrap().to_owned(), unowned["id"].as_str().unwrap().to_owned()]
        );
    }
    // The owner reads theirs; the other agent only the one of the chat still offered to them.
    assert!(
        ids(&app.ok(Some(owner), list, json!({})).await).contains(&case["id"].as_str().unwrap().to_owned())
    );
    assert_eq!(
        ids(&app.ok(Some(other), list, json!({})).await),
        vec![unowned["id"].as_str().unwrap().to_owned()]
    );
    let node = "query($id: ID!) { node(id: $id) { id } }";
    assert_eq!(app.ok(Some(other), node, json!({ "id": case["id"] })).await["node"], Value::Null);
    assert_eq!(app.ok(Some(&analyst), node, json!({ "id": case["id"] })).await["node"]["id"], case["id"]);
    // Readers of every chat get the case's chat and contact (in one batch per list).
    let links = "query { cases { nodes { chat { id } contact { id } } } }";
    let listed = app.ok(Some(&analyst), links, json!({})).await;
    assert_eq!(listed["cases"]["nodes"][0]["chat"]["id"], chat.as_str());
    assert_eq!(listed["cases"]["nodes"][1]["chat"]["id"], waiting.as_str());
    assert!(listed["cases"]["nodes"][0]["contact"]["id"].is_string());

    // Changing: a case the caller may not read is NOT_FOUND; analysts never write.
    let input = json!({ "input": { "id": case["id"], "status": "IN_PROGRESS" } });
    assert_eq!(app.error_code(Some(other), UPDATE, input.clone()).await, "NOT_FOUND");
    assert_eq!(app.error_code(Some(&analyst), UPDATE, input.clone()).await, "FORBIDDEN");
    assert_eq!(
        app.error_code(Some(owner), UPDATE, json!({ "input": { "id": chat } })).await,
        "BAD_USER_INPUT",
        "a chat id is not a case id"
    );
    assert_eq!(
        app.error_code(Some(owner), UPDATE, json!({ "input": { "id": gid("Case", 999_999) } })).await,
        "NOT_FOUND"
    );
}

async fn update_case_moves_forward_only_and_checks_the_assignee(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 2).await;
    let (_, supervisor) = app.signed_in("sup@example.com", Role::Supervisor).await;
    let (analyst_id, _) = app.signed_in("ana@example.com", Role::Analyst).await;
    let (owner, other) = (&s.agents[0].2, &s.agents[1].2);
    let (chat, _) = accepted_chat(&app, &s, 0, 841, &["Lost parcel"]).await;
    let case = app.ok(Some(owner), &create_case(), json!({ "id": chat })).await["createCaseFromChat"].clone();
    let id = case["id"].clone();
    let update = |token: &str, input: Value| {
        let mut input = input;
        input["id"] = id.clone();
        (token.to_owned(), json!({ "input": input }))
    };

    // The assignee works it forward; skipping a step is allowed, going back is not.
    let (t, v) = update(
        owner,
        json!({ "status": "IN_PROGRESS", "subject": "  Lost parcel #77 ", "description": "Tracking 77" }),
    );
    let data = app.ok(Some(&t), UPDATE, v).await;
    assert_eq!(
        data["updateCase"],
        json!({ "id": id, "status": "IN_PROGRESS", "subject": "Lost parcel #77", "description": "Tracking 77", "assignee": { "email": "agent0@example.com" } })
    );
    let (t, v) = update(owner, json!({ "status": "RESOLVED" }));
    assert_eq!(app.ok(Some(&t), UPDATE, v).await["updateCase"]["status"], "RESOLVED");
    let (t, v) = update(owner, json!({ "status": "NEW" }));
    assert_eq!(app.error_code(Some(&t), UPDATE, v).await, "INVALID_STATE");
    let row = cases::Entity::find_by_id(row_of(&id, "Case")).one(&app.db).await.unwrap().unwrap();
    assert_eq!(row.status, entity::enums::CaseStatus::Resolved, "a refused move changes nothing");

    // Bad input changes nothing either.
    for (input, code) in [
        (json!({ "subject": "   " }), "BAD_USER_INPUT"),
        (json!({ "assigneeId": gid("Agent", 999_999) }), "NOT_FOUND"),
        (json!({ "assigneeId": analyst_id }), "BAD_USER_INPUT"),
        (json!({ "assigneeId": chat }), "BAD_USER_INPUT"),
    ] {
        let (t, v) = update(owner, input.clone());
        assert_eq!(app.error_code(Some(&t), UPDATE, v).await, code, "{input}");
    }
    entity::agents::Entity::update_many()
        .col_expr(entity::agents::Column::Enabled, Expr::value(false))
        .filter(entity::agents::Column::Email.eq("agent1@example.com"))
        .exec(&app.db)
        .await
        .unwrap();
    let (t, v) = update(&supervisor, json!({ "assigneeId": s.agents[1].0 }));
    assert_eq!(app.error_code(Some(&t), UPDATE, v).await, "BAD_USER_INPUT", "a disabled agent");
    entity::agents::Entity::update_many()
        .col_expr(entity::agents::Column::Enabled, Expr::value(true))
        .filter(entity::agents::Column::Email.eq("agent1@example.com"))
        .exec(&app.db)
        .await
        .unwrap();
    let after = cases::Entity::find_by_id(row_of(&id, "Case")).one(&app.db).await.unwrap().unwrap();
    assert_eq!((after.subject.as_str(), after.assignee_id), ("Lost parcel #77", Some(s.agents[0].1)));

    // A supervisor hands it to the other agent, who may now change it; the chat's owner
    // still reads it (their chat) but is no longer its assignee.
    let (t, v) = update(&supervisor, json!({ "assigneeId": s.agents[1].0 }));
    assert_eq!(app.ok(Some(&t), UPDATE, v).await["updateCase"]["assignee"]["email"], "agent1@example.com");
    let (t, v) = update(owner, json!({ "status": "CLOSED" }));
    assert_eq!(app.error_code(Some(&t), UPDATE, v).await, "FORBIDDEN");
    let (t, v) = update(other, json!({ "status": "CLOSED" }));
    assert_eq!(app.ok(Some(&t), UPDATE, v).await["updateCase"]["status"], "CLOSED");
    // The new assignee reads the case but not the chat or the contact they have no access to.
    let seen = app
        .ok(
            Some(other),
            "query($id: ID!) { node(id: $id) { ... on Case { number chat { id } contact { id } } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(seen["node"], json!({ "number": case["number"], "chat": null, "contact": null }));
}

async fn the_case_list_filters_and_pages_newest_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 2).await;
    let (_, supervisor) = app.signed_in("sup@example.com", Role::Supervisor).await;
    let (first_chat, first_row) = accepted_chat(&app, &s, 0, 851, &["First"]).await;
    let (second_chat, _) = accepted_chat(&app, &s, 1, 852, &["Second"]).await;
    let account =
        app.ok(Some(&supervisor), CREATE_ACCOUNT, json!({ "name": "Initech" })).await["createAccount"]
            .clone();
    let contact_row = chats::Entity::find_by_id(first_row).one(&app.db).await.unwrap().unwrap().contact_id;
    contacts::Entity::update_many()
        .col_expr(contacts::Column::AccountId, Expr::value(row_of(&account["id"], "Account")))
        .filter(contacts::Column::Id.eq(contact_row))
        .exec(&app.db)
        .await
        .unwrap();
    let query = create_case();
    let mut made = Vec::new();
    for (token, chat) in
        [(&s.agents[0].2, &first_chat), (&s.agents[1].2, &second_chat), (&s.agents[0].2, &first_chat)]
    {
        made.push(
            app.ok(Some(token), &query, json!({ "id": chat })).await["createCaseFromChat"]["id"].clone(),
        );
    }
    app.ok(Some(&s.agents[1].2), UPDATE, json!({ "input": { "id": made[1], "status": "IN_PROGRESS" } }))
        .await;

    let list = "query($f: CasesFilter, $first: Int, $after: String) { cases(filter: $f, first: $first, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }";
    let ids = |data: &Value| -> Vec<Value> {
        data["cases"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].clone()).collect()
    };
    let filtered = |filter: Value| {
        let supervisor = supervisor.clone();
        let app = &app;
        async move { ids(&app.ok(Some(&supervisor), list, json!({ "f": filter })).await) }
    };
    assert_eq!(filtered(json!({})).await, vec![made[2].clone(), made[1].clone(), made[0].clone()]);
    assert_eq!(filtered(json!({ "status": "IN_PROGRESS" })).await, vec![made[1].clone()]);
    assert_eq!(
        filtered(json!({ "status": "NEW", "assigneeId": s.agents[0].0 })).await,
        vec![made[2].clone(), made[0].clone()]
    );
    assert_eq!(
        filtered(json!({ "contactId": gid("Contact", contact_row) })).await,
        vec![made[2].clone(), made[0].clone()]
    );
    assert_eq!(filtered(json!({ "accountId": account["id"] })).await, vec![made[2].clone(), made[0].clone()]);
    let now = chrono::Utc::now();
    let hour = chrono::Duration::hours(1);
    assert_eq!(filtered(json!({ "registeredFrom": (now + hour).to_rfc3339() })).await, Vec::<Value>::new());
    assert_eq!(
        filtered(
            json!({ "registeredFrom": (now - hour).to_rfc3339(), "registeredTo": (now + hour).to_rfc3339() })
        )
        .await
        .len(),
        3
    );
    assert_eq!(filtered(json!({ "registeredTo": (now - hour).to_rfc3339() })).await, Vec::<Value>::new());
    assert_eq!(
        app.error_code(Some(&supervisor), list, json!({ "f": { "accountId": s.agents[0].0 } })).await,
        "BAD_USER_INPUT"
    );

    // Pages: newest first, the cursor continues with older ones.
    let page = app.ok(Some(&supervisor), list, json!({ "first": 2 })).await;
    assert_eq!(ids(&page), vec![made[2].clone(), made[1].clone()]);
    assert_eq!(page["cases"]["pageInfo"]["hasNextPage"], true);
    let rest = app
        .ok(Some(&supervisor), list, json!({ "first": 2, "after": page["cases"]["pageInfo"]["endCursor"] }))
        .await;
    assert_eq!(ids(&rest), vec![made[0].clone()]);
    assert_eq!(rest["cases"]["pageInfo"]["hasNextPage"], false);

    // An agent's list holds only what they may read, whatever the filter.
    let theirs = app.ok(Some(&s.agents[1].2), list, json!({ "f": { "accountId": account["id"] } })).await;
    assert_eq!(ids(&theirs), Vec::<Value>::new());
    let theirs = app.ok(Some(&s.agents[1].2), list, json!({})).await;
    assert_eq!(ids(&theirs), vec![made[1].clone()]);
}

async fn accounts_are_created_searched_and_renamed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let (_, supervisor) = app.signed_in("sup@example.com", Role::Supervisor).await;
    let (_, agent) = app.signed_in("agent@example.com", Role::Agent).await;
    let (_, analyst) = app.signed_in("ana@example.com", Role::Analyst).await;
    let mut made = Vec::new();
    for (token, name) in [(&supervisor, "  Acme Corp "), (&admin, "Globex"), (&supervisor, "acme labs 100%")]
    {
        made.push(
            app.ok(Some(token), CREATE_ACCOUNT, json!({ "name": name })).await["createAccount"].clone(),
        );
    }
    assert_eq!(made[0]["name"], "Acme Corp", "names are trimmed");
    for token in [&agent, &analyst] {
        assert_eq!(app.error_code(Some(token), CREATE_ACCOUNT, json!({ "name": "Nope" })).await, "FORBIDDEN");
    }
    assert_eq!(
        app.error_code(Some(&supervisor), CREATE_ACCOUNT, json!({ "name": "  " })).await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        app.error_code(Some(&supervisor), CREATE_ACCOUNT, json!({ "name": "x".repeat(201) })).await,
        "BAD_USER_INPUT"
    );
    assert_eq!(app.count("accounts").await, 3);

    let search = "query($s: String, $first: Int, $after: String) { accounts(search: $s, first: $first, after: $after) { edges { node { name } } pageInfo { hasNextPage endCursor } } }";
    let names = |data: &Value| -> Vec<String> {
        data["accounts"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    for token in [&agent, &analyst, &supervisor] {
        assert_eq!(
            names(&app.ok(Some(token), search, json!({ "s": "ACME" })).await),
            ["Acme Corp", "acme labs 100%"]
        );
    }
    assert_eq!(
        names(&app.ok(Some(&agent), search, json!({ "s": "0%" })).await),
        ["acme labs 100%"],
        "taken literally"
    );
    assert_eq!(names(&app.ok(Some(&agent), search, json!({ "s": "_" })).await), Vec::<String>::new());
    let page = app.ok(Some(&agent), search, json!({ "first": 2 })).await;
    assert_eq!(names(&page), ["Acme Corp", "Globex"]);
    let rest = app
        .ok(Some(&agent), search, json!({ "first": 2, "after": page["accounts"]["pageInfo"]["endCursor"] }))
        .await;
    assert_eq!(names(&rest), ["acme labs 100%"]);

    let rename = "mutation($input: UpdateAccountInput!) { updateAccount(input: $input) { id name } }";
    let renamed = app
        .ok(Some(&admin), rename, json!({ "input": { "id": made[1]["id"], "name": "Globex Corporation" } }))
        .await;
    assert_eq!(renamed["updateAccount"]["name"], "Globex Corporation");
    let node = app
        .ok(
            Some(&analyst),
            "query($id: ID!) { node(id: $id) { ... on Account { name } } }",
            json!({ "id": made[1]["id"] }),
        )
        .await;
    assert_eq!(node["node"]["name"], "Globex Corporation");
    for (input, code) in [
        (json!({ "id": made[1]["id"], "name": "" }), "BAD_USER_INPUT"),
        (json!({ "id": gid("Account", 999_999), "name": "Ghost" }), "NOT_FOUND"),
        (json!({ "id": gid("Contact", 1), "name": "Wrong type" }), "BAD_USER_INPUT"),
    ] {
        assert_eq!(
            app.error_code(Some(&supervisor), rename, json!({ "input": input })).await,
            code,
            "{input}"
        );
    }
    assert_eq!(
        app.error_code(Some(&agent), rename, json!({ "input": { "id": made[1]["id"], "name": "Mine" } }))
            .await,
        "FORBIDDEN"
    );
}

on_both_backends!(
    case_from_chat_maps_the_chat_exactly,
    a_chat_without_a_reply_gives_every_customer_message,
    case_numbers_are_unique_under_concurrent_creation,
    who_may_create_and_read_cases,
    update_case_moves_forward_only_and_checks_the_assignee,
    the_case_list_filters_and_pages_newest_first,
    accounts_are_created_searched_and_renamed,
);
