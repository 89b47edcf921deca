//! The chat lifecycle: routing, accept, complete, transfer, time limits — through the API,
//! with chats arriving as real signed webhooks.

use chrono::Utc;
use entity::enums::{AssignmentKind, AssignmentOutcome, ChatStatus, CompletionReason, Role};
use entity::{agents, assignments, chats};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::{Backend, TestApp, eventually};

// The steps most chat tests start with live in scenario.rs (shared with the clocked tests);
// the other tests import them from here.
pub(crate) use crate::scenario::{
    ACCEPT, MY_CHATS, Setup, customer_writes, new_chats, offered_to, setup, telegram,
};

const COMPLETE: &str = "mutation($id: ID!) { completeChat(chatId: $id) { status completionReason } }";
const TRANSFER: &str = "mutation($input: TransferChatInput!) { transferChat(input: $input) { id status owner { email } queue { name } parent { id status messages { edges { node { text } } } } } }";

async fn to_all_agents_offer_and_accept(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 2).await;
    let (_, absent_token) = app.signed_in("absent@example.com", Role::Agent).await;
    let (chat, chat_row) = customer_writes(&app, &s, 501, 1).await;
    offered_to(&app, &s.agents[0].2, &chat).await;
    offered_to(&app, &s.agents[1].2, &chat).await;

    let data = app.ok(Some(&s.agents[0].2), ACCEPT, json!({ "id": chat })).await;
    assert_eq!(data["acceptChat"]["status"], "IN_PROGRESS");
    assert_eq!(data["acceptChat"]["owner"]["email"], "agent0@example.com");
    assert!(new_chats(&app, &s.agents[1].2).await.is_empty(), "taken chats leave the others' lists");
    assert_eq!(app.error_code(Some(&s.agents[1].2), ACCEPT, json!({ "id": chat })).await, "ALREADY_ACCEPTED");
    assert_eq!(app.error_code(Some(&absent_token), ACCEPT, json!({ "id": chat })).await, "FORBIDDEN");
    let mine = app.ok(Some(&s.agents[0].2), MY_CHATS, json!({})).await;
    assert_eq!(mine["myChats"]["active"][0]["id"], chat.as_str());

    let rows = assignments::Entity::find()
        .filter(assignments::Column::ChatId.eq(chat_row))
        .order_by_asc(assignments::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    let summary: Vec<(AssignmentKind, Option<i64>, Option<AssignmentOutcome>)> =
        rows.iter().map(|r| (r.kind, r.agent_id, r.outcome)).collect();
    let (a, b) = (s.agents[0].1, s.agents[1].1);
    assert!(summary.contains(&(AssignmentKind::Offer, Some(a), Some(AssignmentOutcome::Accepted))));
    assert!(summary.contains(&(AssignmentKind::Offer, Some(b), Some(AssignmentOutcome::TakenByOther))));
    assert!(summary.contains(&(AssignmentKind::Acceptance, Some(a), Some(AssignmentOutcome::Accepted))));
    assert!(rows.iter().all(|r| r.ended_at.is_some()));
    let accepter = agents::Entity::find_by_id(a).one(&app.db).await.unwrap().unwrap();
    assert!(accepter.last_accepted_at.is_some());

    // The panel reads the latest messages, newest last.
    let data = app
        .ok(Some(&s.agents[0].2), "query($id: ID!) { chat(id: $id) { messages(last: 20) { edges { node { text } } pageInfo { hasPreviousPage } } } }", json!({ "id": chat }))
        .await;
    assert_eq!(data["chat"]["messages"]["edges"][0]["node"]["text"], "hello");

    // Completing twice is refused; a later message opens a new chat.
    let done = app.ok(Some(&s.agents[0].2), COMPLETE, json!({ "id": chat })).await;
    assert_eq!(done["completeChat"], json!({ "status": "COMPLETED", "completionReason": "AGENT" }));
    assert_eq!(app.error_code(Some(&s.agents[0].2), COMPLETE, json!({ "id": chat })).await, "INVALID_STATE");
    let (again, _) = customer_writes(&app, &s, 501, 2).await;
    assert_ne!(again, chat);
}

async fn to_available_agent_breaks_ties_by_last_accept(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_AVAILABLE_AGENT", 3).await;
    let now = Utc::now();
    for (i, minutes) in [(0, 1), (1, 60), (2, 10)] {
        let mut agent: agents::ActiveModel =
            agents::Entity::find_by_id(s.agents[i].1).one(&app.db).await.unwrap().unwrap().into();
        agent.last_accepted_at = Set(Some(now - chrono::Duration::minutes(minutes)));
        agent.update(&app.db).await.unwrap();
    }
    let directed = |chat_row: i64| {
        let db = app.db.clone();
        async move {
            eventually("the chat to be directed", || async {
                chats::Entity::find_by_id(chat_row).one(&db).await.unwrap().unwrap().directed_agent_id
            })
            .await
        }
    };
    // All have no chats: agent1 waited longest since accepting.
    let (first, first_row) = customer_writes(&app, &s, 601, 1).await;
    assert_eq!(directed(first_row).await, s.agents[1].1);
    assert_eq!(new_chats(&app, &s.agents[1].2).await, vec![first.clone()]);
    assert!(new_chats(&app, &s.agents[0].2).await.is_empty(), "directed chats are not offered to others");
    // agent1 now holds one (directed counts); of the two with none, agent2 waited longer.
    let (_, second_row) = customer_writes(&app, &s, 602, 1).await;
    assert_eq!(directed(second_row).await, s.agents[2].1);
    let (_, third_row) = customer_writes(&app, &s, 603, 1).await;
    assert_eq!(directed(third_row).await, s.agents[0].1);
    let data = app.ok(Some(&s.agents[1].2), ACCEPT, json!({ "id": first })).await;
    assert_eq!(data["acceptChat"]["status"], "IN_PROGRESS");
    let kinds: Vec<AssignmentKind> = assignments::Entity::find()
        .filter(assignments::Column::ChatId.eq(first_row))
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|a| a.kind)
        .collect();
    assert!(kinds.contains(&AssignmentKind::Direction) && kinds.contains(&AssignmentKind::Acceptance));
}

async fn waiting_chats_are_routed_when_an_agent_frees_up(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    app.ok(
        Some(&s.admin),
        "mutation { updateSettings(input: { simultaneousChats: 1 }) { simultaneousChats } }",
        json!({}),
    )
    .await;
    let token = s.agents[0].2.clone();
    let (first, _) = customer_writes(&app, &s, 701, 1).await;
    offered_to(&app, &token, &first).await;
    app.ok(Some(&token), ACCEPT, json!({ "id": first })).await;
    let (second, _) = customer_writes(&app, &s, 702, 1).await;
    // At capacity: the second chat waits, offered to nobody.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(new_chats(&app, &token).await.is_empty());
    // Completing frees the agent: the waiting chat is offered at once.
    app.ok(Some(&token), COMPLETE, json!({ "id": first })).await;
    assert_eq!(new_chats(&app, &token).await, vec![second.clone()]);

    // Going ACTIVE, signing in, and joining a queue route waiting chats too.
    let (late_id, late_token) = app.signed_in("late@example.com", Role::Agent).await;
    let ids = json!([s.agents[0].0, late_id]);
    app.ok(
        Some(&s.admin),
        "mutation($input: UpdateQueueInput!) { updateQueue(input: $input) { id } }",
        json!({ "input": { "id": s.queue, "agentIds": ids } }),
    )
    .await;
    assert!(new_chats(&app, &late_token).await.is_empty(), "INACTIVE agents get no offers");
    app.ok(Some(&late_token), "mutation { setMyStatus(status: ACTIVE) { status } }", json!({})).await;
    assert_eq!(new_chats(&app, &late_token).await, vec![second.clone()]);
    app.ok(Some(&late_token), "mutation { logout }", json!({})).await;
    let (third, _) = customer_writes(&app, &s, 703, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let late_token = app.login("late@example.com").await;
    assert!(new_chats(&app, &late_token).await.contains(&third), "signing in routes waiting chats");
}

async fn accept_timeout_moves_the_chat_and_deactivates_the_agent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_AVAILABLE_AGENT", 2).await;
    app.ok(
        Some(&s.admin),
        "mutation { updateSettings(input: { acceptChatTimeoutSeconds: 1 }) { acceptChatTimeoutSeconds } }",
        json!({}),
    )
    .await;
    let mut agent: agents::ActiveModel =
        agents::Entity::find_by_id(s.agents[1].1).one(&app.db).await.unwrap().unwrap().into();
    agent.last_accepted_at = Set(Some(Utc::now()));
    agent.update(&app.db).await.unwrap();
    let (chat, chat_row) = customer_writes(&app, &s, 801, 1).await;
    offered_to(&app, &s.agents[0].2, &chat).await;
    // agent0 lets it lapse: the chat moves to agent1, agent0 becomes INACTIVE.
    offered_to(&app, &s.agents[1].2, &chat).await;
    let current = chats::Entity::find_by_id(chat_row).one(&app.db).await.unwrap().unwrap();
    assert_eq!(current.directed_agent_id, Some(s.agents[1].1));
    assert!(new_chats(&app, &s.agents[0].2).await.is_empty());
    let me = app.ok(Some(&s.agents[0].2), "{ me { status chosenStatus } }", json!({})).await;
    assert_eq!(me["me"], json!({ "status": "INACTIVE", "chosenStatus": "INACTIVE" }));
    let lapsed = assignments::Entity::find()
        .filter(assignments::Column::ChatId.eq(chat_row))
        .filter(assignments::Column::AgentId.eq(s.agents[0].1))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lapsed.outcome, Some(AssignmentOutcome::Lapsed));
    let told = entity::events::Entity::find()
        .filter(entity::events::Column::Kind.eq("AGENT_STATUS_CHANGED"))
        .filter(entity::events::Column::AgentId.eq(s.agents[0].1))
        .all(&app.db)
        .await
        .unwrap();
    assert!(told.iter().any(|e| e.payload["reason"] == "ACCEPT_TIMEOUT"));
    assert_eq!(app.error_code(Some(&s.agents[0].2), ACCEPT, json!({ "id": chat })).await, "FORBIDDEN");
}

async fn completion_timeout_completes_in_progress_chats_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let token = s.agents[0].2.clone();
    let (chat, chat_row) = customer_writes(&app, &s, 901, 1).await;
    offered_to(&app, &token, &chat).await;
    app.ok(Some(&token), ACCEPT, json!({ "id": chat })).await;
    let send = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }";
    app.ok(Some(&token), send, json!({ "input": { "chatId": chat, "text": "Anything else?" } })).await;
    let with_deadline = chats::Entity::find_by_id(chat_row).one(&app.db).await.unwrap().unwrap();
    let deadline = with_deadline.close_deadline.expect("a reply sets the close deadline");
    assert!(deadline > Utc::now() + chrono::Duration::minutes(29));
    // A WAITING chat with a passed deadline is never closed by time.
    let (waiting, waiting_row) = customer_writes(&app, &s, 902, 1).await;
    for id in [chat_row, waiting_row] {
        let mut row: chats::ActiveModel =
            chats::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap().into();
        row.close_deadline = Set(Some(Utc::now() - chrono::Duration::seconds(1)));
        row.update(&app.db).await.unwrap();
    }
    let done = eventually("the chat to time out", || async {
        let row = chats::Entity::find_by_id(chat_row).one(&app.db).await.unwrap().unwrap();
        (row.status == ChatStatus::Completed).then_some(row)
    })
    .await;
    assert_eq!(done.completion_reason, Some(CompletionReason::Timeout));
    let still = chats::Entity::find_by_id(waiting_row).one(&app.db).await.unwrap().unwrap();
    assert_ne!(still.status, ChatStatus::Completed);
    // The freed agent gets the waiting chat; the customer's next message opens a new chat.
    offered_to(&app, &token, &waiting).await;
    let (next, _) = customer_writes(&app, &s, 901, 2).await;
    assert_ne!(next, chat);
}

async fn transfers_to_agents_and_queues(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 3).await;
    let (a, b) = (&s.agents[0], &s.agents[1]);
    let (chat, chat_row) = customer_writes(&app, &s, 1001, 1).await;
    offered_to(&app, &a.2, &chat).await;
    app.ok(Some(&a.2), ACCEPT, json!({ "id": chat })).await;

    let targets = app
        .ok(Some(&a.2), "query($id: ID!) { transferTargets(chatId: $id) { agents { email availability } queues { name } } }", json!({ "id": chat }))
        .await;
    let emails: Vec<&str> = targets["transferTargets"]["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["email"].as_str().unwrap())
        .collect();
    assert!(emails.contains(&"agent1@example.com") && !emails.contains(&"agent0@example.com"));
    assert_eq!(targets["transferTargets"]["queues"], json!([{ "name": "Support" }]));

    let to = |agent: Option<&str>, queue: Option<&str>| json!({ "input": { "chatId": chat, "toAgentId": agent, "toQueueId": queue } });
    assert_eq!(app.error_code(Some(&a.2), TRANSFER, to(Some(&a.0), None)).await, "TARGET_UNAVAILABLE");
    assert_eq!(app.error_code(Some(&a.2), TRANSFER, to(None, None)).await, "BAD_USER_INPUT");
    // A full agent is refused.
    app.ok(
        Some(&s.admin),
        "mutation { updateSettings(input: { simultaneousChats: 1 }) { simultaneousChats } }",
        json!({}),
    )
    .await;
    let (busy, _) = customer_writes(&app, &s, 1002, 1).await;
    offered_to(&app, &b.2, &busy).await;
    app.ok(Some(&b.2), ACCEPT, json!({ "id": busy })).await;
    assert_eq!(app.error_code(Some(&a.2), TRANSFER, to(Some(&b.0), None)).await, "TARGET_UNAVAILABLE");
    // A queue whose only agent is me is refused.
    let lonely = app
        .ok(
            Some(&s.admin),
            "mutation($input: CreateQueueInput!) { createQueue(input: $input) { id } }",
            json!({ "input": { "name": "Lonely", "agentIds": [a.0] } }),
        )
        .await["createQueue"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.error_code(Some(&a.2), TRANSFER, to(None, Some(&lonely))).await, "TARGET_UNAVAILABLE");
    let unchanged = chats::Entity::find_by_id(chat_row).one(&app.db).await.unwrap().unwrap();
    assert_eq!(unchanged.status, ChatStatus::InProgress, "refused transfers change nothing");
    app.ok(
        Some(&s.admin),
        "mutation { updateSettings(input: { simultaneousChats: 5 }) { simultaneousChats } }",
        json!({}),
    )
    .await;

    // To an agent: the child is theirs, with the parent's messages.
    let data = app.ok(Some(&a.2), TRANSFER, to(Some(&b.0), None)).await;
    let child = data["transferChat"].clone();
    assert_eq!(child["status"], "IN_PROGRESS");
    assert_eq!(child["owner"]["email"], "agent1@example.com");
    assert_eq!(child["parent"]["status"], "COMPLETED");
    assert_eq!(child["parent"]["messages"]["edges"][0]["node"]["text"], "hello");
    let parent = chats::Entity::find_by_id(chat_row).one(&app.db).await.unwrap().unwrap();
    assert_eq!(parent.completion_reason, Some(CompletionReason::Transferred));
    let child_id = child["id"].as_str().unwrap().to_owned();
    let seen = app
        .ok(
            Some(&b.2),
            "query($id: ID!) { chat(id: $id) { parent { messages { edges { node { text } } } } } }",
            json!({ "id": child_id }),
        )
        .await;
    assert_eq!(seen["chat"]["parent"]["messages"]["edges"][0]["node"]["text"], "hello");
    // The customer's next message goes to the child.
    assert_eq!(app.webhook(&s.telegram, &telegram(1001, 2, "still there?")).await, 200);
    let newest = entity::messages::Entity::find()
        .order_by_desc(entity::messages::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(api::graphql::ids::encode("Chat", newest.chat_id).0, child_id);

    // To a queue: the child waits there and is offered to its agents.
    let data =
        app.ok(Some(&b.2), TRANSFER, json!({ "input": { "chatId": child_id, "toQueueId": s.queue } })).await;
    let grandchild = data["transferChat"].clone();
    assert_eq!(grandchild["status"], "WAITING");
    let grandchild_id = grandchild["id"].as_str().unwrap().to_owned();
    offered_to(&app, &s.agents[2].2, &grandchild_id).await;
    let transfers = sea_orm::PaginatorTrait::count(
        assignments::Entity::find().filter(assignments::Column::Kind.eq(AssignmentKind::Transfer)),
        &app.db,
    )
    .await
    .unwrap();
    assert_eq!(transfers, 2);
}

async fn who_may_complete(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 2).await;
    let (_, supervisor) = app.signed_in("sam@example.com", Role::Supervisor).await;
    let (chat, _) = customer_writes(&app, &s, 1101, 1).await;
    offered_to(&app, &s.agents[0].2, &chat).await;
    app.ok(Some(&s.agents[0].2), ACCEPT, json!({ "id": chat })).await;
    assert_eq!(app.error_code(Some(&s.agents[1].2), COMPLETE, json!({ "id": chat })).await, "NOT_FOUND");
    let done = app.ok(Some(&supervisor), COMPLETE, json!({ "id": chat })).await;
    assert_eq!(done["completeChat"]["completionReason"], "SUPERVISOR");
}

async fn concurrent_accepts_have_one_winner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 2).await;
    for round in 0..15 {
        let (chat, _) = customer_writes(&app, &s, 1200 + round, 1).await;
        offered_to(&app, &s.agents[0].2, &chat).await;
        offered_to(&app, &s.agents[1].2, &chat).await;
        let vars = json!({ "id": chat });
        let (one, two) = tokio::join!(
            app.gql(Some(&s.agents[0].2), ACCEPT, vars.clone()),
            app.gql(Some(&s.agents[1].2), ACCEPT, vars.clone())
        );
        let outcomes: Vec<&Value> = [&one, &two].into_iter().collect();
        let winners = outcomes.iter().filter(|r| r.get("errors").is_none()).count();
        let losers: Vec<&str> =
            outcomes.iter().filter_map(|r| r["errors"][0]["extensions"]["code"].as_str()).collect();
        assert_eq!((winners, losers), (1, vec!["ALREADY_ACCEPTED"]), "round {round}: {one} {two}");
        // Free both for the next round.
        let owner = if one.get("errors").is_none() { &s.agents[0].2 } else { &s.agents[1].2 };
        app.ok(Some(owner), COMPLETE, json!({ "id": chat })).await;
    }
}

async fn capacity_holds_under_bursts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_AVAILABLE_AGENT", 1).await;
    app.ok(
        Some(&s.admin),
        "mutation { updateSettings(input: { simultaneousChats: 2 }) { simultaneousChats } }",
        json!({}),
    )
    .await;
    // PostgreSQL: a second instance on the same database takes half the webhooks.
    let second = if backend == Backend::Postgres {
        let url = app_database_url(&app).await;
        Some(TestApp::start(url, None, |_| {}).await)
    } else {
        None
    };
    let posts = (0..12).map(|n| {
        let target = match (&second, n % 2) {
            (Some(other), 1) => other,
            _ => &app,
        };
        let path = s.telegram.clone();
        async move { target.webhook(&path, &telegram(1300 + n, 1, "burst")).await }
    });
    let statuses = futures_util::future::join_all(posts).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let directed = chats::Entity::find()
        .filter(chats::Column::DirectedAgentId.eq(s.agents[0].1))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(directed.len(), 2, "never more than SimultaneousChats");
    let waiting = chats::Entity::find()
        .filter(chats::Column::Status.eq(ChatStatus::Waiting))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(waiting.len(), 12);
}

/// The database URL a test app runs on (PostgreSQL: its current database).
pub async fn app_database_url(app: &TestApp) -> String {
    use sea_orm::{ConnectionTrait, Statement};
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT current_database() AS db",
        ))
        .await
        .unwrap()
        .unwrap();
    let name: String = row.try_get("", "db").unwrap();
    let admin = std::env::var("TEST_DATABASE_URL").unwrap();
    format!("{}/{name}", admin.rsplit_once('/').unwrap().0)
}

async fn going_inactive_withdraws_offers_and_directions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 2).await;
    let (chat, _) = customer_writes(&app, &s, 1401, 1).await;
    offered_to(&app, &s.agents[1].2, &chat).await;
    app.ok(Some(&s.agents[1].2), "mutation { setMyStatus(status: INACTIVE) { status } }", json!({})).await;
    assert!(new_chats(&app, &s.agents[1].2).await.is_empty(), "an INACTIVE agent's offers are withdrawn");
    assert_eq!(app.error_code(Some(&s.agents[1].2), ACCEPT, json!({ "id": chat })).await, "FORBIDDEN");
    assert_eq!(new_chats(&app, &s.agents[0].2).await, vec![chat.clone()], "others keep theirs");

    // A directed chat moves on at once when its agent signs out (no accept-timeout wait).
    app.ok(
        Some(&s.admin),
        "mutation($input: UpdateQueueInput!) { updateQueue(input: $input) { id } }",
        json!({ "input": { "id": s.queue, "routingRule": "TO_AVAILABLE_AGENT" } }),
    )
    .await;
    app.ok(Some(&s.agents[1].2), "mutation { setMyStatus(status: ACTIVE) { status } }", json!({})).await;
    let (_, directed_row) = customer_writes(&app, &s, 1402, 1).await;
    let first = eventually("a direction", || async {
        chats::Entity::find_by_id(directed_row).one(&app.db).await.unwrap().unwrap().directed_agent_id
    })
    .await;
    let (leaving, staying) = if first == s.agents[0].1 { (0, 1) } else { (1, 0) };
    app.ok(Some(&s.agents[leaving].2), "mutation { logout }", json!({})).await;
    let now = chats::Entity::find_by_id(directed_row).one(&app.db).await.unwrap().unwrap();
    assert_eq!(now.directed_agent_id, Some(s.agents[staying].1));
}

on_both_backends!(
    going_inactive_withdraws_offers_and_directions,
    to_all_agents_offer_and_accept,
    to_available_agent_breaks_ties_by_last_accept,
    waiting_chats_are_routed_when_an_agent_frees_up,
    accept_timeout_moves_the_chat_and_deactivates_the_agent,
    completion_timeout_completes_in_progress_chats_only,
    transfers_to_agents_and_queues,
    who_may_complete,
    concurrent_accepts_have_one_winner,
    capacity_holds_under_bursts,
);
