//! New customers writing at once (`domain::ingest::newcomer`: a statement each on PostgreSQL,
//! side by side on the pool; scripts in the writer's batches on SQLite): a burst ends as if
//! each customer had come alone, each new chat counting exactly the similar contacts the
//! chat's panel finds.

use entity::{chats, contact_identities, events, messages};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use crate::newcomers::{stored_as, whatsapp_from};
use crate::on_both_databases;
use crate::support::TestApp;

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

on_both_databases!(a_burst_of_new_customers_ends_as_if_each_came_alone);
