//! Administration of agents, queues, channels and settings, and the role guards around it.

use entity::enums::Role;
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::TestApp;

const CREATE_AGENT: &str = "mutation($input: CreateAgentInput!) { createAgent(input: $input) { id name email role chosenStatus enabled } }";
const CREATE_QUEUE: &str = "mutation($input: CreateQueueInput!) { createQueue(input: $input) { id name routingRule completionTimeoutMinutes agents { email } } }";
const CREATE_CHANNEL: &str = "mutation($input: CreateChannelInput!) { createChannel(input: $input) { id kind name active language credentialsComplete queue { name } } }";

fn agent_input(email: &str) -> Value {
    json!({ "input": { "name": "Bob", "email": email, "password": "long enough", "role": "AGENT" } })
}

async fn admins_manage_agents(app: TestApp) {
    let admin = app.admin().await;
    let data = app.ok(Some(&admin), CREATE_AGENT, agent_input("Bob@Example.com")).await;
    let bob = &data["createAgent"];
    assert_eq!(bob["email"], "bob@example.com");
    assert_eq!(bob["chosenStatus"], "INACTIVE");
    assert_eq!(bob["role"], "AGENT");

    assert_eq!(app.error_code(Some(&admin), CREATE_AGENT, agent_input("bob@example.com")).await, "CONFLICT");
    let short =
        json!({ "input": { "name": "X", "email": "x@example.com", "password": "short", "role": "AGENT" } });
    assert_eq!(app.error_code(Some(&admin), CREATE_AGENT, short).await, "BAD_USER_INPUT");
    assert_eq!(app.count("agents").await, 2, "refused creations write nothing");

    let update = "mutation($input: UpdateAgentInput!) { updateAgent(input: $input) { name role } }";
    let data = app
        .ok(
            Some(&admin),
            update,
            json!({ "input": { "id": bob["id"], "name": "Robert", "role": "SUPERVISOR" } }),
        )
        .await;
    assert_eq!(data["updateAgent"], json!({ "name": "Robert", "role": "SUPERVISOR" }));
    let missing = api::graphql::ids::encode("Agent", 999_999).0;
    assert_eq!(
        app.error_code(Some(&admin), update, json!({ "input": { "id": missing, "name": "Z" } })).await,
        "NOT_FOUND"
    );

    // Pagination over agents.
    for n in 0..3 {
        app.ok(Some(&admin), CREATE_AGENT, agent_input(&format!("p{n}@example.com"))).await;
    }
    let page = "query($after: String) { agents(first: 2, after: $after) { edges { cursor node { email } } pageInfo { hasNextPage endCursor } } }";
    let mut emails = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = app.ok(Some(&admin), page, json!({ "after": after })).await;
        let edges = data["agents"]["edges"].as_array().unwrap().clone();
        emails.extend(edges.iter().map(|e| e["node"]["email"].as_str().unwrap().to_owned()));
        if data["agents"]["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = data["agents"]["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(
        emails,
        ["admin@example.com", "bob@example.com", "p0@example.com", "p1@example.com", "p2@example.com"]
    );
}

async fn admins_manage_queues_and_channels(app: TestApp) {
    let admin = app.admin().await;
    let ann = app.create_agent("ann@example.com", Role::Agent).await;
    let bob = app.create_agent("bob@example.com", Role::Agent).await;

    let data = app
        .ok(
            Some(&admin),
            CREATE_QUEUE,
            json!({ "input": { "name": "Support", "routingRule": "TO_AVAILABLE_AGENT", "completionTimeoutMinutes": 30, "agentIds": [ann] } }),
        )
        .await;
    let queue = data["createQueue"].clone();
    assert_eq!(queue["routingRule"], "TO_AVAILABLE_AGENT");
    assert_eq!(queue["agents"], json!([{ "email": "ann@example.com" }]));

    let negative = json!({ "input": { "name": "Bad", "completionTimeoutMinutes": -5 } });
    assert_eq!(app.error_code(Some(&admin), CREATE_QUEUE, negative).await, "BAD_USER_INPUT");
    let duplicate = json!({ "input": { "name": "Support" } });
    assert_eq!(app.error_code(Some(&admin), CREATE_QUEUE, duplicate).await, "CONFLICT");
    let unknown_agent =
        json!({ "input": { "name": "Other", "agentIds": [api::graphql::ids::encode("Agent", 424_242).0] } });
    assert_eq!(app.error_code(Some(&admin), CREATE_QUEUE, unknown_agent).await, "NOT_FOUND");
    assert_eq!(app.count("queues").await, 1, "refused queues write nothing");

    let update = "mutation($input: UpdateQueueInput!) { updateQueue(input: $input) { completionTimeoutMinutes agents { email } } }";
    let data = app
        .ok(Some(&admin), update, json!({ "input": { "id": queue["id"], "completionTimeoutMinutes": null, "agentIds": [bob, ann] } }))
        .await;
    assert_eq!(data["updateQueue"]["completionTimeoutMinutes"], Value::Null);
    assert_eq!(
        data["updateQueue"]["agents"],
        json!([{ "email": "ann@example.com" }, { "email": "bob@example.com" }])
    );
    let me = app.login("bob@example.com").await;
    let mine = app.ok(Some(&me), "{ me { queues { name } } }", json!({})).await;
    assert_eq!(mine["me"]["queues"], json!([{ "name": "Support" }]));

    let channel = json!({ "input": {
        "kind": "TELEGRAM", "name": "Bot", "language": "EN", "queueId": queue["id"],
        "credentials": { "botToken": "123:secret-bot-token", "secretToken": "hook-secret" } } });
    let data = app.ok(Some(&admin), CREATE_CHANNEL, channel).await;
    let created = &data["createChannel"];
    assert_eq!(created["language"], "en");
    assert_eq!(created["credentialsComplete"], true);
    assert_eq!(created["queue"]["name"], "Support");

    let incomplete = json!({ "input": { "kind": "WHATSAPP", "name": "WA", "queueId": queue["id"], "credentials": { "appSecret": "x" } } });
    let body = app.gql(Some(&admin), CREATE_CHANNEL, incomplete).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("phoneNumberId"));

    let update = "mutation($input: UpdateChannelInput!) { updateChannel(input: $input) { active credentialsComplete } }";
    let data = app
        .ok(Some(&admin), update, json!({ "input": { "id": created["id"], "active": false, "credentials": { "secretToken": "rotated" } } }))
        .await;
    assert_eq!(data["updateChannel"], json!({ "active": false, "credentialsComplete": true }));

    // Credentials are write-only: no query returns them, whoever asks.
    let listing = app.gql(Some(&admin), "{ channels { edges { node { credentials } } } }", json!({})).await;
    assert_eq!(listing["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    let everything = app
        .gql(
            Some(&admin),
            "{ channels { edges { node { id kind name active language credentialsComplete } } } }",
            json!({}),
        )
        .await;
    let text = everything.to_string();
    assert!(!text.contains("secret-bot-token") && !text.contains("rotated"));
    let sdl = api::graphql::sdl();
    let channel_type = sdl.split("type Channel ").nth(1).and_then(|rest| rest.split('}').next()).unwrap();
    for secret in ["appSecret", "verifyToken", "accessToken", "botToken", "secretToken", "credentials:"] {
        assert!(!channel_type.contains(secret), "type Channel must not expose {secret}");
    }
}

async fn settings_are_typed_and_validated(app: TestApp) {
    let admin = app.admin().await;
    let read = "{ settings { simultaneousChats acceptChatTimeoutSeconds } }";
    assert_eq!(
        app.ok(Some(&admin), read, json!({})).await["settings"],
        json!({ "simultaneousChats": 5, "acceptChatTimeoutSeconds": 300 })
    );
    let update = "mutation($input: UpdateSettingsInput!) { updateSettings(input: $input) { simultaneousChats acceptChatTimeoutSeconds } }";
    let data = app
        .ok(
            Some(&admin),
            update,
            json!({ "input": { "simultaneousChats": 3, "acceptChatTimeoutSeconds": 60 } }),
        )
        .await;
    assert_eq!(data["updateSettings"], json!({ "simultaneousChats": 3, "acceptChatTimeoutSeconds": 60 }));
    // One bad value refuses the whole change.
    let bad = json!({ "input": { "simultaneousChats": 4, "acceptChatTimeoutSeconds": -1 } });
    assert_eq!(app.error_code(Some(&admin), update, bad).await, "BAD_USER_INPUT");
    assert_eq!(
        app.error_code(Some(&admin), update, json!({ "input": { "simultaneousChats": -1 } })).await,
        "BAD_USER_INPUT"
    );
    assert_eq!(
        app.ok(Some(&admin), read, json!({})).await["settings"],
        json!({ "simultaneousChats": 3, "acceptChatTimeoutSeconds": 60 })
    );
    let wrong_type =
        app.error_code(Some(&admin), update, json!({ "input": { "simultaneousChats": "five" } })).await;
    assert_eq!(wrong_type, "GRAPHQL_VALIDATION_FAILED");
}

async fn roles_are_enforced(app: TestApp) {
    let (_, agent) = app.signed_in("ann@example.com", Role::Agent).await;
    let (_, analyst) = app.signed_in("nina@example.com", Role::Analyst).await;
    let (_, supervisor) = app.signed_in("sam@example.com", Role::Supervisor).await;
    let (_, bot) = app.signed_in("bot@example.com", Role::Bot).await;
    let before = app.count("agents").await;
    for token in [&agent, &analyst, &supervisor, &bot] {
        assert_eq!(
            app.error_code(Some(token), CREATE_AGENT, agent_input("x@example.com")).await,
            "FORBIDDEN"
        );
        let settings = "mutation { updateSettings(input: { simultaneousChats: 1 }) { simultaneousChats } }";
        assert_eq!(app.error_code(Some(token), settings, json!({})).await, "FORBIDDEN");
    }
    assert_eq!(app.error_code(None, CREATE_AGENT, agent_input("x@example.com")).await, "UNAUTHENTICATED");
    assert_eq!(app.count("agents").await, before, "nothing was written");
    // Analysts read but do not take chats; bots see no directory.
    assert_eq!(
        app.error_code(Some(&analyst), "mutation { setMyStatus(status: ACTIVE) { status } }", json!({}))
            .await,
        "FORBIDDEN"
    );
    assert_eq!(
        app.error_code(Some(&bot), "{ agents { edges { node { id } } } }", json!({})).await,
        "FORBIDDEN"
    );
    app.ok(Some(&analyst), "{ agents { edges { node { id } } } settings { simultaneousChats } }", json!({}))
        .await;
    app.ok(Some(&supervisor), "mutation { setMyStatus(status: ACTIVE) { status } }", json!({})).await;
}

on_both_databases!(
    admins_manage_agents,
    admins_manage_queues_and_channels,
    settings_are_typed_and_validated,
    roles_are_enforced,
);
