//! Time limits driven by the clock: the accept timeout and the completion timeout fire once the
//! clock passes them, not before, and the times they record are the clock's.

use api::clock;
use chrono::{DateTime, Duration, Utc};
use entity::enums::{AssignmentKind, AssignmentOutcome, ChatStatus, CompletionReason};
use entity::{assignments, chats};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::clocked;
use crate::scenario::{ACCEPT, customer_writes, new_chats, offered_to, setup};
use crate::support::{Backend, TestApp, eventually};

const SEND: &str = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }";

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-06-01T09:00:00Z").unwrap().to_utc()
}

async fn chat(app: &TestApp, id: i64) -> chats::Model {
    chats::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap()
}

/// A directed chat moves on when the clock passes its accept deadline (300 s by default).
async fn accept_timeout_fires_when_the_clock_passes_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_AVAILABLE_AGENT", 2).await;
    clock::freeze(start());
    let (chat_id, row) = customer_writes(&app, &s, 801, 1).await;
    let first =
        eventually("the chat to be directed", || async { chat(&app, row).await.directed_agent_id }).await;
    let (lapsing, other) = if first == s.agents[0].1 { (0, 1) } else { (1, 0) };
    let direction = assignments::Entity::find()
        .filter(assignments::Column::ChatId.eq(row))
        .filter(assignments::Column::Kind.eq(AssignmentKind::Direction))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(direction.deadline, Some(start() + Duration::seconds(300)), "a deadline on the clock");

    clock::advance(Duration::seconds(301));
    offered_to(&app, &s.agents[other].2, &chat_id).await;
    assert!(new_chats(&app, &s.agents[lapsing].2).await.is_empty());
    let lapsed = assignments::Entity::find_by_id(direction.id).one(&app.db).await.unwrap().unwrap();
    assert_eq!(lapsed.outcome, Some(AssignmentOutcome::Lapsed));
    assert_eq!(lapsed.ended_at, Some(start() + Duration::seconds(301)), "lapsed at the clock's time");
    let me = app.ok(Some(&s.agents[lapsing].2), "{ me { status } }", json!({})).await;
    assert_eq!(me["me"]["status"], "INACTIVE");
}

/// An answered chat completes (TIMEOUT) once the clock passes its close deadline (the queue's
/// 30 minutes after the agent's last message), at that deadline; a later deadline waits.
async fn completion_timeout_fires_when_the_clock_passes_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let token = s.agents[0].2.clone();
    clock::freeze(start());
    let mut rows = Vec::new();
    for (customer, answered_after) in [(901, 0), (902, 10)] {
        let (chat_id, row) = customer_writes(&app, &s, customer, 1).await;
        offered_to(&app, &token, &chat_id).await;
        app.ok(Some(&token), ACCEPT, json!({ "id": chat_id })).await;
        clock::freeze(start() + Duration::minutes(answered_after));
        app.ok(Some(&token), SEND, json!({ "input": { "chatId": chat_id, "text": "Anything else?" } })).await;
        assert_eq!(
            chat(&app, row).await.close_deadline,
            Some(start() + Duration::minutes(answered_after + 30)),
            "a deadline on the clock"
        );
        rows.push(row);
    }

    // Past the first deadline only: the first chat completes at its deadline. The clock stands
    // still, so the second one cannot be due on any later poll either.
    clock::freeze(start() + Duration::minutes(35));
    let done = eventually("the first chat to time out", || async {
        let row = chat(&app, rows[0]).await;
        (row.status == ChatStatus::Completed).then_some(row)
    })
    .await;
    assert_eq!(done.completion_reason, Some(CompletionReason::Timeout));
    assert_eq!(done.completed_at, Some(start() + Duration::minutes(30)));
    assert_eq!(chat(&app, rows[1]).await.status, ChatStatus::InProgress);

    clock::advance(Duration::minutes(6));
    let done = eventually("the second chat to time out", || async {
        let row = chat(&app, rows[1]).await;
        (row.status == ChatStatus::Completed).then_some(row)
    })
    .await;
    assert_eq!(done.completed_at, Some(start() + Duration::minutes(40)));
}

clocked!(accept_timeout_fires_when_the_clock_passes_it, completion_timeout_fires_when_the_clock_passes_it);
