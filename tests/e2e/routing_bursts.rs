//! New chats arriving at once are routed off the webhooks' requests by merged runs
//! (`domain::routing::BackgroundRouting`): every chat of a burst is routed, by the queue's
//! rule, as if each had come alone; a burst nobody can take waits, and is routed when an agent
//! becomes able to take chats.

use std::collections::HashMap;

use entity::chats;
use entity::enums::ChatStatus;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::lifecycle::{setup, telegram};
use crate::on_both_backends;
use crate::support::{Backend, TestApp, eventually};

const BURST: i64 = 24;

/// `BURST` new customers write at once.
async fn burst(app: &TestApp, channel: &str, first_customer: i64) {
    let bodies: Vec<Vec<u8>> =
        (0..BURST).map(|i| telegram(first_customer + i, 1, &format!("hello from {i}"))).collect();
    let answers = futures_util::future::join_all(bodies.iter().map(|body| app.webhook(channel, body))).await;
    assert!(answers.iter().all(|status| *status == 200), "{answers:?}");
}

/// How many of the waiting chats are directed to each agent (row id), and how many to nobody.
async fn directed(app: &TestApp) -> (HashMap<i64, usize>, usize) {
    let waiting = chats::Entity::find()
        .filter(chats::Column::Status.eq(ChatStatus::Waiting))
        .all(&app.db)
        .await
        .unwrap();
    let mut by_agent = HashMap::new();
    let mut nobody = 0;
    for chat in waiting {
        match chat.directed_agent_id {
            Some(agent) => *by_agent.entry(agent).or_insert(0) += 1,
            None => nobody += 1,
        }
    }
    (by_agent, nobody)
}

async fn every_chat_of_a_burst_is_directed_by_the_queue_rule(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_AVAILABLE_AGENT", 2).await;
    app.ok(
        Some(&s.admin),
        "mutation { updateSettings(input: { simultaneousChats: 20 }) { simultaneousChats } }",
        json!({}),
    )
    .await;
    burst(&app, &s.telegram, 7000).await;
    assert_eq!(app.count("chats").await, BURST);
    let (by_agent, _) = eventually("every chat of the burst to be directed", || async {
        let (by_agent, nobody) = directed(&app).await;
        (nobody == 0 && by_agent.values().sum::<usize>() == BURST as usize).then_some((by_agent, nobody))
    })
    .await;
    // Fewest open chats first: the burst is split evenly, as one chat at a time would be.
    let counts: Vec<usize> =
        s.agents.iter().map(|(_, row, _)| by_agent.get(row).copied().unwrap_or(0)).collect();
    assert_eq!(counts, [BURST as usize / 2; 2], "{by_agent:?}");
}

async fn a_burst_nobody_can_take_waits_until_an_agent_is_active(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let token = s.agents[0].2.clone();
    app.ok(Some(&token), "mutation { setMyStatus(status: INACTIVE) { status } }", json!({})).await;
    burst(&app, &s.telegram, 7100).await;
    assert_eq!(app.count("chats").await, BURST);
    app.ok(Some(&token), "mutation { setMyStatus(status: ACTIVE) { status } }", json!({})).await;
    eventually("every waiting chat to be offered", || async {
        (crate::scenario::new_chats(&app, &token).await.len() == BURST as usize).then_some(())
    })
    .await;
}

on_both_backends!(
    every_chat_of_a_burst_is_directed_by_the_queue_rule,
    a_burst_nobody_can_take_waits_until_an_agent_is_active
);
