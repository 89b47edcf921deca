//! New customers writing at once are welcomed together (`domain::ingest::Batcher`): on
//! PostgreSQL the first messages that wait for the statement being written go in the next one,
//! which stores every newcomer's contact, chat, message and events and counts each one's
//! similar contacts over its own keys; on SQLite they share a write transaction. Either way a
//! burst ends as if each customer had come alone.

use entity::{chats, contact_identities, events, messages};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder, Statement,
};
use serde_json::json;
use std::future::Future;
use std::pin::Pin;

use crate::newcomers::{stored_as, whatsapp_from};
use crate::on_both_databases;
use crate::operations::{sample, scrape};
use crate::support::{Backend, TestApp, eventually};

const TEXT: &str = "whatsapp/text_message.json";

/// The chat of the customer `wa_id` (their only one).
async fn chat_of(app: &TestApp, wa_id: &str) -> chats::Model {
    let identity = contact_identities::Entity::find()
        .filter(contact_identities::Column::ExternalId.eq(wa_id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{wa_id} stored"));
    let mut chats = chats::Entity::find()
        .filter(chats::Column::ContactId.eq(identity.contact_id))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(chats.len(), 1, "one chat for {wa_id}");
    chats.remove(0)
}

/// A burst of new customers, among them one matching a known contact by name, two by phone,
/// one writing twice at once and one whose webhook is delivered twice at once: every newcomer
/// gets one contact and one chat, every message is stored once, and each CHAT_CREATED counts
/// exactly the similar contacts the chat's panel finds.
async fn a_burst_of_new_customers_ends_as_if_each_came_alone(app: TestApp) {
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    // Known before the burst: Amelia Hart, and Pat, whose business and home phones are numbers
    // two newcomers write from.
    for (wa_id, name, id) in
        [("447700900100", "Amelia Hart", "wamid.k-1"), ("447700900999", "Pat Phones", "wamid.k-2")]
    {
        assert_eq!(app.webhook(&ch.whatsapp, &whatsapp_from(TEXT, wa_id, name, id)).await, 200);
    }
    let pat = chat_of(&app, "447700900999").await.contact_id;
    let input = json!({
        "id": api::graphql::ids::encode("Contact", pat),
        "businessPhone": "+447700900301",
        "homePhone": "+44 7700 900302",
    });
    app.ok(
        Some(&admin),
        "mutation($input: UpdateContactInput!) { updateContact(input: $input) { id } }",
        json!({ "input": input }),
    )
    .await;

    // wa_id, name, the similar contacts expected.
    let mut newcomers = vec![
        ("447700900555".to_owned(), "Hart Amelia".to_owned(), 1),
        ("447700900301".to_owned(), "Bea Siness".to_owned(), 1),
        ("447700900302".to_owned(), "Hugo Mehome".to_owned(), 1),
        ("447700900777".to_owned(), "Twin Writer".to_owned(), 0),
        ("447700900888".to_owned(), "Echo Sender".to_owned(), 0),
    ];
    newcomers.extend((0..15).map(|n| (format!("4477009004{n:02}"), format!("Newby {n}"), 0)));
    let mut bodies: Vec<Vec<u8>> = newcomers
        .iter()
        .map(|(wa_id, name, _)| whatsapp_from(TEXT, wa_id, name, &format!("wamid.{wa_id}")))
        .collect();
    bodies.push(whatsapp_from(TEXT, "447700900777", "Twin Writer", "wamid.twin-2"));
    bodies.push(whatsapp_from(TEXT, "447700900888", "Echo Sender", "wamid.447700900888"));
    let answers =
        futures_util::future::join_all(bodies.iter().map(|body| app.webhook(&ch.whatsapp, body))).await;
    assert!(answers.iter().all(|status| *status == 200), "{answers:?}");

    assert_eq!(app.count("contacts").await, 2 + newcomers.len() as i64);
    assert_eq!(app.count("chats").await, 2 + newcomers.len() as i64);
    assert_eq!(app.count("messages").await, 2 + newcomers.len() as i64 + 1, "the twin's two, the echo's one");
    assert_eq!(stored_as(&app, "duplicate").await, 1.0, "the redelivery");
    assert!(
        stored_as(&app, "created").await >= newcomers.len() as f64 - 1.0,
        "one round trip each (but a twin)"
    );

    let mut chats = std::collections::HashSet::new();
    for (wa_id, name, expected) in &newcomers {
        let chat = chat_of(&app, wa_id).await;
        let kinds: Vec<(String, serde_json::Value)> = events::Entity::find()
            .filter(events::Column::ChatId.eq(chat.id))
            .order_by_asc(events::Column::Id)
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.kind, e.payload))
            .collect();
        let messages = messages::Entity::find()
            .filter(messages::Column::ChatId.eq(chat.id))
            .all(&app.db)
            .await
            .unwrap()
            .len();
        let received = if wa_id == "447700900777" { 2 } else { 1 };
        assert_eq!(messages, received, "{name}");
        assert_eq!(kinds[0].0, "CHAT_CREATED", "{name}: {kinds:?}");
        assert_eq!(kinds.len(), 1 + received, "{name}: {kinds:?}");
        assert!(kinds[1..].iter().all(|(kind, _)| kind == "MESSAGE_RECEIVED"), "{name}: {kinds:?}");
        assert_eq!(kinds[0].1["contactId"], chat.contact_id, "{name}");
        assert_eq!(kinds[0].1["similarContacts"], *expected, "{name}");
        // What the chat's panel finds now says the same.
        let found = app
            .ok(
                Some(&admin),
                "query($id: ID!) { chat(id: $id) { similarContacts { count } } }",
                json!({ "id": api::graphql::ids::encode("Chat", chat.id) }),
            )
            .await;
        assert_eq!(found["chat"]["similarContacts"]["count"], *expected, "{name}");
        chats.insert(chat.id);
    }
    assert_eq!(chats.len(), newcomers.len(), "a chat each");
}

/// How many batches and messages in them `/metrics` counts, and how many wait.
async fn batches(app: &TestApp) -> (f64, f64, f64) {
    let text = scrape(app).await;
    let read = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series} in /metrics"));
    (
        read("switchboard_webhook_append_batches_total"),
        read("switchboard_webhook_append_batch_messages_total"),
        read("switchboard_webhook_batch_waiting"),
    )
}

/// How many statements wait for a lock now.
async fn waiting_for_locks(app: &TestApp) -> i64 {
    let sql = "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
               AND wait_event_type = 'Lock'";
    let row = app.db.query_one_raw(Statement::from_string(DatabaseBackend::Postgres, sql)).await.unwrap();
    row.unwrap().try_get::<i64>("", "n").unwrap()
}

/// Waits until a statement waits for a lock, failing if `pending` is answered first.
async fn until_a_statement_waits<T: std::fmt::Debug>(
    app: &TestApp,
    pending: Pin<&mut impl Future<Output = T>>,
) {
    let locked = eventually("a statement to wait for a lock", || async {
        (waiting_for_locks(app).await > 0).then_some(())
    });
    tokio::select! {
        answered = pending => panic!("answered ({answered:?}) while a statement waited"),
        () = locked => {}
    }
}

/// Waits until `n` messages queue for the next batch, failing if `pending` is answered first.
async fn until_queued<T: std::fmt::Debug>(app: &TestApp, n: f64, pending: Pin<&mut impl Future<Output = T>>) {
    let queued = eventually("messages to queue", || async { (batches(app).await.2 == n).then_some(()) });
    tokio::select! {
        answered = pending => panic!("answered ({answered:?}) while the batch before waited"),
        () = queued => {}
    }
}

/// Eight new customers' first messages, from `447700900{tens}1` to `447700900{tens}8`.
fn eight_newcomers(tens: &str) -> Vec<Vec<u8>> {
    (1..=8)
        .map(|n| {
            whatsapp_from(
                TEXT,
                &format!("447700900{tens}{n}"),
                &format!("Queued {tens}{n}"),
                &format!("wamid.{tens}-{n}"),
            )
        })
        .collect()
}

/// PostgreSQL: while one newcomer's statement waits (here for a lock a test transaction
/// holds), the first messages of the new customers arriving meanwhile queue, and all of them go
/// in the next statement, answered once it committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_customers_waiting_for_a_statement_go_in_the_next_one_together() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    let (batched, messages, _) = batches(&app).await;

    let lock = sea_orm::TransactionTrait::begin(&app.db).await.unwrap();
    lock.execute_unprepared("LOCK TABLE contact_identities IN SHARE MODE").await.unwrap();
    let first = whatsapp_from(TEXT, "447700900600", "First Waiting", "wamid.w-0");
    let first = app.webhook(&ch.whatsapp, &first);
    tokio::pin!(first);
    until_a_statement_waits(&app, first.as_mut()).await;
    let bodies = eight_newcomers("61");
    let rest = futures_util::future::join_all(bodies.iter().map(|body| app.webhook(&ch.whatsapp, body)));
    tokio::pin!(rest);
    until_queued(&app, 8.0, rest.as_mut()).await;
    lock.commit().await.unwrap();
    assert_eq!(first.await, 200);
    let answers = rest.await;
    assert!(answers.iter().all(|status| *status == 200), "{answers:?}");

    assert_eq!(
        batches(&app).await,
        (batched + 2.0, messages + 9.0, 0.0),
        "the first alone, then eight together"
    );
    assert_eq!(stored_as(&app, "created").await, 9.0);
    chat_of(&app, "447700900600").await;
    for n in 1..=8 {
        chat_of(&app, &format!("44770090061{n}")).await;
    }
}

/// PostgreSQL: a batch that fails (here one of its customers was stored by another
/// transaction that committed while the statement waited for it) writes nothing, and each of
/// its messages is then stored alone: the customers who were new as newcomers, the one stored
/// meanwhile in a chat of that contact. Every webhook is answered 200, nothing is half-written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_batch_is_written_message_by_message() {
    use sea_orm::TransactionTrait;
    let app = TestApp::spawn(Backend::Postgres).await;
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    let (batched, messages, _) = batches(&app).await;

    // The first newcomer's statement waits for chats; the next eight queue behind it.
    let chats_locked = app.db.begin().await.unwrap();
    chats_locked.execute_unprepared("LOCK TABLE chats IN SHARE MODE").await.unwrap();
    let first = whatsapp_from(TEXT, "447700900700", "First Waiting", "wamid.f-0");
    let first = app.webhook(&ch.whatsapp, &first);
    tokio::pin!(first);
    until_a_statement_waits(&app, first.as_mut()).await;
    let bodies = eight_newcomers("71");
    let rest = futures_util::future::join_all(bodies.iter().map(|body| app.webhook(&ch.whatsapp, body)));
    tokio::pin!(rest);
    until_queued(&app, 8.0, rest.as_mut()).await;
    // Meanwhile another transaction stores the fifth queued customer, and stays open.
    let other = app.db.begin().await.unwrap();
    let row = other
        .query_one_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            "INSERT INTO contacts (name, created_at, updated_at) VALUES ('Stored Elsewhere', now(), now()) RETURNING id",
        ))
        .await
        .unwrap()
        .unwrap();
    let elsewhere: i64 = row.try_get("", "id").unwrap();
    other
        .execute_unprepared(&format!(
            "INSERT INTO contact_identities (contact_id, channel_kind, external_id, created_at) \
             VALUES ({elsewhere}, 'WHATSAPP', '447700900715', now())"
        ))
        .await
        .unwrap();
    // The first batch commits; the next one waits for the other transaction's identity.
    chats_locked.commit().await.unwrap();
    assert_eq!(first.await, 200);
    until_a_statement_waits(&app, rest.as_mut()).await;
    other.commit().await.unwrap();
    let answers = rest.await;
    assert!(answers.iter().all(|status| *status == 200), "{answers:?}");

    assert_eq!(batches(&app).await, (batched + 1.0, messages + 1.0, 0.0), "the failed batch is not counted");
    assert_eq!(stored_as(&app, "created").await, 8.0, "the first, and seven alone");
    assert_eq!(app.count("contacts").await, 1 + 7 + 1, "the first, seven alone, the one stored elsewhere");
    assert_eq!(app.count("messages").await, 9);
    let joined = chat_of(&app, "447700900715").await;
    assert_eq!(joined.contact_id, elsewhere, "the customer stored elsewhere keeps that contact");
    for n in 1..=8 {
        chat_of(&app, &format!("44770090071{n}")).await;
    }
}

on_both_databases!(a_burst_of_new_customers_ends_as_if_each_came_alone);
