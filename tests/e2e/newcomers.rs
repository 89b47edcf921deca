//! A new customer's first message is stored with their contact and chat in one round trip
//! (`domain::ingest::newcomer`: one statement on PostgreSQL, one script in a batch's write
//! transaction on SQLite), with the rows and events the general transaction writes — which
//! still takes a new customer's message with attachments, so the two are compared here
//! side by side.

use entity::enums::{AuthorKind, ChannelKind, ChatStatus, Direction, MessageKind};
use entity::{chats, contact_identities, contact_keys, contacts, events, messages};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::operations::{sample, scrape};
use crate::support::{TestApp, fixture};

/// A WhatsApp fixture from another customer: `wa_id`, their profile `name`, message `id`.
pub(crate) fn whatsapp_from(path: &str, wa_id: &str, name: &str, id: &str) -> Vec<u8> {
    let mut body: Value = serde_json::from_slice(&fixture(path)).unwrap();
    let value = &mut body["entry"][0]["changes"][0]["value"];
    value["contacts"][0]["wa_id"] = json!(wa_id);
    value["contacts"][0]["profile"]["name"] = json!(name);
    value["messages"][0]["from"] = json!(wa_id);
    value["messages"][0]["id"] = json!(id);
    serde_json::to_vec(&body).unwrap()
}

/// How many messages `/metrics` counts as stored in the way `stored`.
pub(crate) async fn stored_as(app: &TestApp, stored: &str) -> f64 {
    let text = scrape(app).await;
    sample(&text, &format!(r#"switchboard_webhook_messages_total{{stored="{stored}"}}"#)).unwrap_or(0.0)
}

/// Everything a new customer's first message wrote: contact, identity, keys, chat, message,
/// events (in id order).
struct Welcome {
    contact: contacts::Model,
    identity: contact_identities::Model,
    keys: Vec<(String, String)>,
    chat: chats::Model,
    message: messages::Model,
    events: Vec<events::Model>,
}

async fn welcome_of(app: &TestApp, wa_id: &str) -> Welcome {
    let identity = contact_identities::Entity::find()
        .filter(contact_identities::Column::ExternalId.eq(wa_id))
        .one(&app.db)
        .await
        .unwrap()
        .expect("an identity");
    let contact = contacts::Entity::find_by_id(identity.contact_id).one(&app.db).await.unwrap().unwrap();
    let keys = contact_keys::Entity::find()
        .filter(contact_keys::Column::ContactId.eq(contact.id))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.field, k.value))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let chat = chats::Entity::find()
        .filter(chats::Column::ContactId.eq(contact.id))
        .one(&app.db)
        .await
        .unwrap()
        .expect("a chat");
    let message = messages::Entity::find()
        .filter(messages::Column::ChatId.eq(chat.id))
        .one(&app.db)
        .await
        .unwrap()
        .expect("a message");
    let events = events::Entity::find()
        .filter(events::Column::ChatId.eq(chat.id))
        .order_by_asc(events::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    Welcome { contact, identity, keys, chat, message, events }
}

async fn a_new_customers_first_message_writes_what_the_general_path_writes(app: TestApp) {
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    // Amelia's text: one round trip. Bruno's image: the general transaction.
    let amelia = whatsapp_from("whatsapp/text_message.json", "447700900123", "Amelia Hart", "wamid.a-1");
    assert_eq!(app.webhook(&ch.whatsapp, &amelia).await, 200);
    assert_eq!((stored_as(&app, "created").await, stored_as(&app, "transaction").await), (1.0, 0.0));
    let bruno = whatsapp_from("whatsapp/image_message.json", "447700900456", "Bruno Hart", "wamid.b-1");
    assert_eq!(app.webhook(&ch.whatsapp, &bruno).await, 200);
    assert_eq!((stored_as(&app, "created").await, stored_as(&app, "transaction").await), (1.0, 1.0));
    let a = welcome_of(&app, "447700900123").await;
    let b = welcome_of(&app, "447700900456").await;

    // The contact: the same columns but for what each customer gave.
    assert_eq!(a.contact.name, "Amelia Hart");
    assert_eq!(a.contact.mobile_phone.as_deref(), Some("+447700900123"));
    assert_eq!(
        a.contact,
        contacts::Model {
            id: a.contact.id,
            name: a.contact.name.clone(),
            mobile_phone: a.contact.mobile_phone.clone(),
            created_at: a.contact.created_at,
            updated_at: a.contact.created_at,
            ..b.contact.clone()
        }
    );
    assert_eq!(
        (a.identity.contact_id, a.identity.channel_kind, a.identity.created_at),
        (a.contact.id, ChannelKind::Whatsapp, a.contact.created_at)
    );
    assert_eq!(
        (b.identity.channel_kind, b.identity.created_at),
        (ChannelKind::Whatsapp, b.contact.created_at)
    );
    // Its keys: Bruno's, with his name and number swapped for hers.
    let swapped: Vec<(String, String)> = b
        .keys
        .iter()
        .map(|(field, value)| (field.clone(), value.replace("bruno", "amelia").replace("456", "123")))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(a.keys.len() >= 3, "name, its words, the phone: {:?}", a.keys);
    assert_eq!(a.keys, swapped);

    // The chat: WAITING in the channel's queue, queued when created, its last message hers.
    assert_eq!(a.chat.status, ChatStatus::Waiting);
    assert_eq!(a.chat.queued_at, Some(a.chat.created_at));
    assert_eq!(a.chat.last_message_at, Some(a.message.created_at));
    assert_eq!(a.chat.updated_at, a.message.created_at);
    assert_eq!(
        a.chat,
        chats::Model {
            id: a.chat.id,
            contact_id: a.contact.id,
            created_at: a.chat.created_at,
            updated_at: a.chat.updated_at,
            queued_at: a.chat.queued_at,
            last_message_at: a.chat.last_message_at,
            ..b.chat.clone()
        }
    );
    assert_eq!(b.chat.last_message_at, Some(b.message.created_at));

    // The message.
    let m = &a.message;
    assert_eq!(
        (m.channel_id, m.direction, m.author_kind, m.kind, m.provider_message_id.as_deref()),
        (a.chat.channel_id, Direction::Incoming, AuthorKind::Contact, MessageKind::Text, Some("wamid.a-1"))
    );
    assert!(m.text.as_deref().is_some_and(|t| t.contains("order #48213")));
    assert_eq!((m.author_agent_id, m.delivery_status, m.edited_at), (None, None, None));

    // CHAT_CREATED, then MESSAGE_RECEIVED, for the chat and its queue, as the general path
    // records them.
    for (w, kind) in [(&a, "TEXT"), (&b, "IMAGE")] {
        let kinds: Vec<&str> = w.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["CHAT_CREATED", "MESSAGE_RECEIVED"]);
        for event in &w.events {
            assert_eq!(
                (event.chat_id, event.queue_id, event.agent_id),
                (Some(w.chat.id), Some(w.chat.queue_id), None)
            );
        }
        assert_eq!(
            w.events[0].payload,
            json!({ "status": "WAITING", "contactId": w.contact.id, "parentChatId": null, "similarContacts": 0 })
        );
        assert_eq!(
            w.events[1].payload,
            json!({ "messageId": w.message.id, "direction": "INCOMING", "kind": kind })
        );
    }

    // A newcomer whose name matches Amelia's: the search before the statement counted her.
    let hart = whatsapp_from("whatsapp/text_message.json", "447700900789", "Hart Amelia", "wamid.c-1");
    assert_eq!(app.webhook(&ch.whatsapp, &hart).await, 200);
    assert_eq!(stored_as(&app, "created").await, 2.0);
    let c = welcome_of(&app, "447700900789").await;
    assert_eq!(c.events[0].payload["similarContacts"], 1);
    let chat_id = api::graphql::ids::encode("Chat", c.chat.id);
    let found = app
        .ok(
            Some(&admin),
            "query($id: ID!) { chat(id: $id) { similarContacts { count } } }",
            json!({ "id": chat_id }),
        )
        .await;
    assert_eq!(found["chat"]["similarContacts"]["count"], 1, "what the chat's panel shows");

    // Redelivered: recognised, nothing written; her next message joins the chat.
    let recorded = app.count("events").await;
    assert_eq!(app.webhook(&ch.whatsapp, &amelia).await, 200);
    assert_eq!(
        (app.count("contacts").await, app.count("chats").await, app.count("events").await),
        (3, 3, recorded)
    );
    assert_eq!(stored_as(&app, "duplicate").await, 1.0);
    let again = whatsapp_from("whatsapp/text_message.json", "447700900123", "Amelia Hart", "wamid.a-2");
    assert_eq!(app.webhook(&ch.whatsapp, &again).await, 200);
    assert_eq!(stored_as(&app, "appended").await, 1.0);
    assert_eq!(app.count("chats").await, 3);
}

/// A duplicate rule switched off in the database behind the server's back (another instance,
/// an operator's SQL) between two newcomers: the second one's count follows the rules stored
/// then, not those the server remembered (on PostgreSQL the statement that stores the
/// newcomer checks the rules' version and is tried again under the new rules).
async fn a_newcomers_count_follows_the_rules_stored_at_that_moment(app: TestApp) {
    use sea_orm::ConnectionTrait;
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    let switch = |on: bool| {
        format!("UPDATE duplicate_rules SET enabled = {on} WHERE name = 'Full name in either word order'")
    };
    let first = whatsapp_from("whatsapp/text_message.json", "447700900123", "Amelia Hart", "wamid.r-1");
    assert_eq!(app.webhook(&ch.whatsapp, &first).await, 200);
    let count = |wa_id: &'static str| {
        let app = &app;
        async move { welcome_of(app, wa_id).await.events[0].payload["similarContacts"].clone() }
    };
    assert_eq!(count("447700900123").await, 0);

    app.db.execute_unprepared(&switch(false)).await.unwrap();
    let second = whatsapp_from("whatsapp/text_message.json", "447700900456", "Hart Amelia", "wamid.r-2");
    assert_eq!(app.webhook(&ch.whatsapp, &second).await, 200);
    assert_eq!(count("447700900456").await, 0, "the name rule is off");

    app.db.execute_unprepared(&switch(true)).await.unwrap();
    let third = whatsapp_from("whatsapp/text_message.json", "447700900789", "Amelia Hart", "wamid.r-3");
    assert_eq!(app.webhook(&ch.whatsapp, &third).await, 200);
    assert_eq!(count("447700900789").await, 2, "on again: both earlier Amelias");
    assert_eq!(stored_as(&app, "created").await, 3.0, "each in one round trip");
}

/// How many messages `/metrics` counts as having tried `path` first in vain.
async fn missed(app: &TestApp, path: &str) -> f64 {
    let text = scrape(app).await;
    sample(&text, &format!(r#"switchboard_webhook_missed_tries_total{{path="{path}"}}"#)).unwrap_or(0.0)
}

/// A customer this instance has not seen stored tries the new customer's path first, one it has
/// seen the append (`domain::ingest::known`): neither wastes a try. A customer stored without
/// this instance seeing it (here straight in the database, as another instance or this one
/// before a restart would) costs one wasted try of the newcomer's path, once.
async fn messages_try_the_path_their_customer_needs_first(app: TestApp) {
    let admin = app.admin().await;
    let ch = app.channels(&admin).await;
    let misses = || async { (missed(&app, "append").await, missed(&app, "newcomer").await) };

    let first = whatsapp_from("whatsapp/text_message.json", "447700900123", "Amelia Hart", "wamid.k-1");
    assert_eq!(app.webhook(&ch.whatsapp, &first).await, 200);
    assert_eq!(stored_as(&app, "created").await, 1.0);
    assert_eq!(misses().await, (0.0, 0.0), "a new customer: the newcomer's path at once");
    let again = whatsapp_from("whatsapp/text_message.json", "447700900123", "Amelia Hart", "wamid.k-2");
    assert_eq!(app.webhook(&ch.whatsapp, &again).await, 200);
    assert_eq!(stored_as(&app, "appended").await, 1.0, "to her waiting chat");
    assert_eq!(misses().await, (0.0, 0.0), "a customer seen stored: the append first");

    // Cora is stored without this instance seeing it.
    let channel = entity::channels::Entity::find()
        .filter(entity::channels::Column::Kind.eq(ChannelKind::Whatsapp))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the WhatsApp channel");
    let cora = api::channels::Customer {
        external_id: "447700900777".into(),
        name: Some("Cora Lind".into()),
        phone: Some("+447700900777".into()),
        username: None,
    };
    let (contact, created) =
        api::domain::contacts::identities::resolve(&app.db, &channel, &cora).await.unwrap();
    assert!(created);
    let hers = whatsapp_from("whatsapp/text_message.json", "447700900777", "Cora Lind", "wamid.k-3");
    assert_eq!(app.webhook(&ch.whatsapp, &hers).await, 200);
    assert_eq!(misses().await, (0.0, 1.0), "tried as a newcomer once, then stored as who she is");
    let chat = chats::Entity::find()
        .filter(chats::Column::ContactId.eq(contact.id))
        .one(&app.db)
        .await
        .unwrap()
        .expect("her chat, for her existing contact");
    assert_eq!(chat.status, ChatStatus::Waiting);
    let hers_again = whatsapp_from("whatsapp/text_message.json", "447700900777", "Cora Lind", "wamid.k-4");
    assert_eq!(app.webhook(&ch.whatsapp, &hers_again).await, 200);
    assert_eq!(misses().await, (0.0, 1.0), "seen stored now: the append first");
    let stored =
        messages::Entity::find().filter(messages::Column::ChatId.eq(chat.id)).all(&app.db).await.unwrap();
    assert_eq!(stored.len(), 2, "both of her messages, in her one chat");
    let identities = contact_identities::Entity::find()
        .filter(contact_identities::Column::ExternalId.eq("447700900777"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(identities.iter().map(|i| i.contact_id).collect::<Vec<_>>(), [contact.id], "no contact twice");
}

on_both_databases!(
    a_new_customers_first_message_writes_what_the_general_path_writes,
    a_newcomers_count_follows_the_rules_stored_at_that_moment,
    messages_try_the_path_their_customer_needs_first
);
