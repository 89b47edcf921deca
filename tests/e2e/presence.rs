//! Agent status, sign-in state and the derived availability.

use chrono::Utc;
use entity::enums::{ChannelKind, ChatStatus, Role, RoutingRule};
use entity::{channels, chats, contacts, events, queues};
use sea_orm::{ActiveModelTrait, EntityTrait, NotSet, QueryOrder, Set};
use serde_json::json;

use crate::on_both_databases;
use crate::support::TestApp;

const AGENT: &str = "query($id: ID!) { node(id: $id) { ... on Agent { status chosenStatus signedIn availability openChats } } }";

async fn status_is_restored_after_signing_in_again(app: TestApp) {
    let admin = app.admin().await;
    let (id, token) = app.signed_in("ann@example.com", Role::Agent).await;
    // New agents start INACTIVE.
    assert_eq!(agent(&app, &admin, &id).await["chosenStatus"], "INACTIVE");

    let set = "mutation($s: AgentStatus!) { setMyStatus(status: $s) { status availability } }";
    let data = app.ok(Some(&token), set, json!({ "s": "ACTIVE" })).await;
    assert_eq!(data["setMyStatus"], json!({ "status": "ACTIVE", "availability": "ACTIVE" }));

    app.ok(Some(&token), "mutation { logout }", json!({})).await;
    let away = agent(&app, &admin, &id).await;
    assert_eq!(away["status"], "INACTIVE", "signed-out agents are INACTIVE for routing");
    assert_eq!(away["chosenStatus"], "ACTIVE", "the chosen status is kept");
    assert_eq!(away["signedIn"], false);
    assert_eq!(away["availability"], "INACTIVE");

    let token = app.login("ann@example.com").await;
    let back = app.ok(Some(&token), "{ me { status availability signedIn } }", json!({})).await;
    assert_eq!(back["me"], json!({ "status": "ACTIVE", "availability": "ACTIVE", "signedIn": true }));

    // Each effective change was logged as an event, in order.
    let kinds: Vec<(String, String)> = events::Entity::find()
        .order_by_asc(events::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "AGENT_STATUS_CHANGED")
        .map(|e| {
            (
                e.payload["status"].as_str().unwrap().to_owned(),
                e.payload["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [("ACTIVE", "CHOSEN"), ("INACTIVE", "SIGNED_OUT"), ("ACTIVE", "SIGNED_IN")];
    assert_eq!(kinds, expected.map(|(a, b)| (a.to_owned(), b.to_owned())));
}

async fn agent(app: &TestApp, token: &str, id: &str) -> serde_json::Value {
    app.ok(Some(token), AGENT, json!({ "id": id })).await["node"].clone()
}

/// Puts `count` chats in progress for the agent with row id `agent`.
async fn give_chats(app: &TestApp, agent: i64, count: usize) {
    let now = Utc::now();
    let queue = queues::ActiveModel {
        id: NotSet,
        name: Set(format!("q-{agent}")),
        routing_rule: Set(RoutingRule::ToAllAgents),
        completion_timeout_minutes: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&app.db)
    .await
    .unwrap();
    let channel = channels::ActiveModel {
        id: NotSet,
        kind: Set(ChannelKind::Telegram),
        name: Set("bot".into()),
        active: Set(true),
        language: Set(None),
        queue_id: Set(queue.id),
        credentials: Set(json!({})),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&app.db)
    .await
    .unwrap();
    for n in 0..count {
        let contact = contacts::ActiveModel {
            id: NotSet,
            name: Set(format!("Customer {n}")),
            photo_url: Set(None),
            email: Set(None),
            mobile_phone: Set(None),
            business_phone: Set(None),
            home_phone: Set(None),
            job_title: Set(None),
            account_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            merged_into_id: Set(None),
            keys_version: Set(0),
        }
        .insert(&app.db)
        .await
        .unwrap();
        chats::ActiveModel {
            id: NotSet,
            contact_id: Set(contact.id),
            channel_id: Set(channel.id),
            queue_id: Set(queue.id),
            owner_id: Set(Some(agent)),
            directed_agent_id: Set(None),
            parent_chat_id: Set(None),
            status: Set(ChatStatus::InProgress),
            completion_reason: Set(None),
            created_at: Set(now),
            accepted_at: Set(Some(now)),
            first_response_at: Set(None),
            completed_at: Set(None),
            close_deadline: Set(None),
            last_message_at: Set(Some(now)),
            updated_at: Set(now),
            queued_at: Set(None),
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
}

async fn chats_exceeded_follows_the_setting(app: TestApp) {
    let admin = app.admin().await;
    let (id, token) = app.signed_in("ann@example.com", Role::Agent).await;
    app.ok(Some(&token), "mutation { setMyStatus(status: ACTIVE) { status } }", json!({})).await;
    let row = api::graphql::ids::decode(&async_graphql::ID(id.clone()), "Agent").unwrap();
    give_chats(&app, row, 2).await;

    let set = "mutation($n: Int!) { updateSettings(input: { simultaneousChats: $n }) { simultaneousChats } }";
    // Default: 5, so two chats leave room.
    let node = agent(&app, &admin, &id).await;
    assert_eq!((node["availability"].as_str(), node["openChats"].as_i64()), (Some("ACTIVE"), Some(2)));

    app.ok(Some(&admin), set, json!({ "n": 2 })).await;
    assert_eq!(agent(&app, &admin, &id).await["availability"], "CHATS_EXCEEDED");
    assert_eq!(agent(&app, &admin, &id).await["status"], "ACTIVE", "status and availability are separate");

    app.ok(Some(&admin), set, json!({ "n": 3 })).await;
    assert_eq!(agent(&app, &admin, &id).await["availability"], "ACTIVE");

    app.ok(Some(&admin), set, json!({ "n": 1 })).await;
    assert_eq!(agent(&app, &admin, &id).await["availability"], "CHATS_EXCEEDED");

    // 0 means no limit.
    app.ok(Some(&admin), set, json!({ "n": 0 })).await;
    assert_eq!(agent(&app, &admin, &id).await["availability"], "ACTIVE");

    // The agent list computes the same in one batch.
    app.ok(Some(&admin), set, json!({ "n": 2 })).await;
    let list = app.ok(Some(&token), "{ agents { edges { node { email availability } } } }", json!({})).await;
    let edges = list["agents"]["edges"].as_array().unwrap();
    let ann = edges.iter().find(|e| e["node"]["email"] == "ann@example.com").unwrap();
    assert_eq!(ann["node"]["availability"], "CHATS_EXCEEDED");
}

on_both_databases!(status_is_restored_after_signing_in_again, chats_exceeded_follows_the_setting);
