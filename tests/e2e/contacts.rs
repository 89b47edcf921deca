//! Contacts (issue 12): search, changes, similar contacts by the duplicate rules with their
//! normalisation, merge (and its race), "not duplicates", and who may read what.

use entity::enums::Role;
use sea_orm::{ConnectionTrait, EntityTrait, Statement};
use serde_json::{Value, json};

use crate::lifecycle::{ACCEPT, customer_writes, offered_to, setup, telegram};
use crate::on_both_backends;
use crate::subscriptions::{event, subscribe};
use crate::support::{Backend, TestApp};

const CHAT_CONTACT: &str = "query($id: ID!) { chat(id: $id) { contact { id } } }";
const UPDATE: &str = "mutation($input: UpdateContactInput!) { updateContact(input: $input) { id name email mobilePhone businessPhone homePhone } }";
const SIMILAR: &str = "query($id: ID!) { chat(id: $id) { similarContacts { count contacts { isCurrent rules contact { id name } } } } }";
const CONTACT_SIMILAR: &str = "query($id: ID!) { contact(id: $id) { similarContacts { count contacts { isCurrent contact { id } } } } }";
const RULES: &str = "{ duplicateRules { id name enabled fields } }";
const SET_RULE: &str =
    "mutation($id: ID!, $on: Boolean!) { setDuplicateRuleEnabled(id: $id, enabled: $on) { enabled } }";
const MERGE: &str = "mutation($input: MergeContactsInput!) { mergeContacts(input: $input) { id name email mobilePhone identities { kind externalId channels { id } } chats { edges { node { id status contact { id } } } } } }";
const NOT_DUPLICATES: &str = "mutation($ids: [ID!]!) { markNotDuplicates(contactIds: $ids) { id } }";
const SEARCH: &str = "query($s: String, $first: Int, $after: String) { contacts(search: $s, first: $first, after: $after) { edges { node { id name } } pageInfo { hasNextPage endCursor } } }";
const COMPLETE: &str = "mutation($id: ID!) { completeChat(chatId: $id) { status } }";

/// A customer writing on Telegram: their chat and contact (global ids).
async fn customer(app: &TestApp, s: &crate::lifecycle::Setup, user: i64) -> (String, String) {
    let (chat, _) = customer_writes(app, s, user, 1).await;
    let data = app.ok(Some(&s.admin), CHAT_CONTACT, json!({ "id": chat })).await;
    (chat, data["chat"]["contact"]["id"].as_str().unwrap().to_owned())
}

async fn update(app: &TestApp, token: &str, input: Value) -> Value {
    app.ok(Some(token), UPDATE, json!({ "input": input })).await["updateContact"].clone()
}

/// The similar contacts of a chat: (id, rule names) of each, the current contact first.
async fn similar(app: &TestApp, token: &str, chat: &str) -> Vec<(String, bool, Vec<String>)> {
    let data = app.ok(Some(token), SIMILAR, json!({ "id": chat })).await;
    let found = &data["chat"]["similarContacts"];
    let list: Vec<(String, bool, Vec<String>)> = found["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let rules =
                c["rules"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_owned()).collect();
            (c["contact"]["id"].as_str().unwrap().to_owned(), c["isCurrent"].as_bool().unwrap(), rules)
        })
        .collect();
    assert_eq!(found["count"].as_u64().unwrap() as usize, list.len() - 1, "{found}");
    list
}

fn rules_for<'a>(found: &'a [(String, bool, Vec<String>)], contact: &str) -> Option<&'a [String]> {
    found.iter().find(|(id, _, _)| id == contact).map(|(_, _, rules)| rules.as_slice())
}

async fn set_rules(app: &TestApp, token: &str, on: &[&str]) {
    let rules = app.ok(Some(token), RULES, json!({})).await;
    for rule in rules["duplicateRules"].as_array().unwrap() {
        let enabled = on.contains(&rule["name"].as_str().unwrap());
        app.ok(Some(token), SET_RULE, json!({ "id": rule["id"], "on": enabled })).await;
    }
}

async fn each_default_rule_finds_its_duplicate(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let admin = s.admin.clone();
    let rules = app.ok(Some(&admin), RULES, json!({})).await;
    let names: Vec<&str> =
        rules["duplicateRules"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "Full name and any phone",
            "Full name and email",
            "Mobile phone",
            "Business phone",
            "Email",
            "Full name in either word order"
        ]
    );
    assert!(rules["duplicateRules"].as_array().unwrap().iter().all(|r| r["enabled"] == true));

    let (chat_a, a) = customer(&app, &s, 7001).await;
    let (_, b) = customer(&app, &s, 7002).await;
    let (_, c) = customer(&app, &s, 7003).await;
    let (chat_d, d) = customer(&app, &s, 7004).await;
    let (_, e) = customer(&app, &s, 7005).await;
    let (_, f) = customer(&app, &s, 7006).await;
    update(&app, &admin, json!({ "id": a, "name": "John Smith", "mobilePhone": "+1 (555) 010-2000" })).await;
    update(&app, &admin, json!({ "id": b, "name": "smith   JOHN" })).await;
    update(&app, &admin, json!({ "id": c, "name": "Carla Other", "businessPhone": "5550102000" })).await;
    update(&app, &admin, json!({ "id": d, "name": "Dora Diaz", "email": "John.Smith@Example.com" })).await;
    update(&app, &admin, json!({ "id": e, "name": "Eve Roe", "email": " john.smith@example.com" })).await;
    update(&app, &admin, json!({ "id": f, "name": "Jöhn Smith", "homePhone": "555 010 2000 ext. 4" })).await;

    let found = similar(&app, &admin, &chat_a).await;
    assert_eq!(found[0], (a.clone(), true, vec![]), "the chat's contact comes first, marked current");
    let name_only = ["Full name in either word order".to_owned()];
    assert_eq!(rules_for(&found, &b), Some(&name_only[..]), "word order and case: {found:?}");
    assert_eq!(
        rules_for(&found, &c),
        Some(&["Mobile phone".to_owned(), "Business phone".to_owned()][..]),
        "+1 (555) 010-2000 is 5550102000, across phone types"
    );
    assert_eq!(
        rules_for(&found, &f),
        Some(&["Full name and any phone".to_owned(), "Mobile phone".to_owned(), name_only[0].clone()][..]),
        "accents, extensions: {found:?}"
    );
    assert_eq!(rules_for(&found, &d), None);
    let found = similar(&app, &admin, &chat_d).await;
    assert_eq!(rules_for(&found, &e), Some(&["Email".to_owned()][..]), "John.Smith@Example.com");
    // Contact.similarContacts says the same, from the contact's side.
    let data = app.ok(Some(&admin), CONTACT_SIMILAR, json!({ "id": e })).await;
    assert_eq!(data["contact"]["similarContacts"]["count"], 1);
    assert_eq!(data["contact"]["similarContacts"]["contacts"][1]["contact"]["id"], d.as_str());

    // Full name and email, alone: D's email with E's name does not match; a same-named
    // contact with the same e-mail does.
    set_rules(&app, &admin, &["Full name and email"]).await;
    update(&app, &admin, json!({ "id": b, "email": "JOHN.smith@example.com" })).await;
    update(&app, &admin, json!({ "id": a, "email": "john.smith@example.com" })).await;
    let found = similar(&app, &admin, &chat_a).await;
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(rules_for(&found, &b), Some(&["Full name and email".to_owned()][..]));
    // Full name and any phone, alone: F (same name, home phone) but not B (no phone).
    set_rules(&app, &admin, &["Full name and any phone"]).await;
    let found = similar(&app, &admin, &chat_a).await;
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(rules_for(&found, &f).is_some());
    // Every rule switched off: nothing.
    set_rules(&app, &admin, &[]).await;
    assert_eq!(similar(&app, &admin, &chat_a).await.len(), 1);

    // A rule added from the contact fields (AND inside it).
    let rule = app
        .ok(
            Some(&admin),
            "mutation($input: CreateDuplicateRuleInput!) { createDuplicateRule(input: $input) { name fields enabled } }",
            json!({ "input": { "name": "Name and home phone", "fields": ["NAME", "HOME_PHONE"] } }),
        )
        .await;
    assert_eq!(rule["createDuplicateRule"]["fields"], json!(["NAME", "HOME_PHONE"]));
    let found = similar(&app, &admin, &chat_a).await;
    assert_eq!(rules_for(&found, &f), Some(&["Name and home phone".to_owned()][..]), "{found:?}");
    assert_eq!(found.len(), 2);
    // Bad rules.
    for input in [json!({ "name": "x", "fields": [] }), json!({ "name": " ", "fields": ["EMAIL"] })] {
        let code = app
            .error_code(
                Some(&admin),
                "mutation($input: CreateDuplicateRuleInput!) { createDuplicateRule(input: $input) { name } }",
                json!({ "input": input }),
            )
            .await;
        assert_eq!(code, "BAD_USER_INPUT");
    }
}

async fn max_event(app: &TestApp) -> i64 {
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT MAX(id) AS n FROM events",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<Option<i64>>("", "n").unwrap().unwrap_or(0)
}

async fn updates_are_validated_and_reach_open_panels(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let agent = s.agents[0].2.clone();
    let (chat, contact) = customer(&app, &s, 7101).await;
    offered_to(&app, &agent, &chat).await;
    app.ok(Some(&agent), ACCEPT, json!({ "id": chat })).await;
    let after = max_event(&app).await.to_string();
    let mut panel = subscribe(
        &app,
        &agent,
        "subscription($after: ID) { myChatEvents(after: $after) { kind chat { id } details } }",
        json!({ "after": after }),
    )
    .await;
    let mut chat_stream = subscribe(
        &app,
        &agent,
        "subscription($id: ID!, $after: ID) { chatMessages(chatId: $id, after: $after) { kind details } }",
        json!({ "id": chat, "after": after }),
    )
    .await;

    // Bad values change nothing.
    for (input, code) in [
        (json!({ "id": contact, "email": "not-an-email" }), "BAD_USER_INPUT"),
        (json!({ "id": contact, "mobilePhone": "call me maybe" }), "BAD_USER_INPUT"),
        (json!({ "id": contact, "businessPhone": "12345" }), "BAD_USER_INPUT"),
        (json!({ "id": contact, "name": "  " }), "BAD_USER_INPUT"),
        (json!({ "id": contact, "name": "x".repeat(201) }), "BAD_USER_INPUT"),
        (json!({ "id": api::graphql::ids::encode("Contact", 999_999).0, "name": "x" }), "NOT_FOUND"),
        (json!({ "id": chat, "name": "x" }), "BAD_USER_INPUT"),
        (json!({ "id": contact, "accountId": api::graphql::ids::encode("Account", 999_999).0 }), "NOT_FOUND"),
    ] {
        assert_eq!(app.error_code(Some(&agent), UPDATE, json!({ "input": input })).await, code, "{input}");
    }
    let unchanged = app
        .ok(Some(&agent), "query($id: ID!) { contact(id: $id) { name email } }", json!({ "id": contact }))
        .await;
    assert_eq!(unchanged["contact"], json!({ "name": "Customer 7101", "email": null }));

    // The owner corrects the customer's details; the panel and the chat's stream hear of it.
    let changed = update(
        &app,
        &agent,
        json!({ "id": contact, "name": "Ana Lima", "email": "ana@example.com", "mobilePhone": "+55 11 91234-5678" }),
    )
    .await;
    assert_eq!(changed["name"], "Ana Lima");
    assert_eq!(changed["mobilePhone"], "+55 11 91234-5678");
    for socket in [&mut panel, &mut chat_stream] {
        let payload = event(socket).await;
        let event = payload["data"].as_object().unwrap().values().next().unwrap().clone();
        assert_eq!(event["kind"], "CONTACT_UPDATED", "{payload}");
        assert_eq!(event["details"]["contactId"], contact.as_str());
        assert_eq!(event["details"]["changed"], json!(["name", "email", "mobilePhone"]));
    }
    // null clears a field.
    let cleared = update(&app, &agent, json!({ "id": contact, "email": null })).await;
    assert_eq!(cleared["email"], Value::Null);
    // Analysts read but do not write.
    let (_, analyst) = app.signed_in("ann@example.com", Role::Analyst).await;
    assert_eq!(
        app.error_code(Some(&analyst), UPDATE, json!({ "input": { "id": contact, "name": "x" } })).await,
        "FORBIDDEN"
    );
}

async fn search_by_name_phone_and_email(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let admin = s.admin.clone();
    let agent = s.agents[0].2.clone();
    let (chat_a, a) = customer(&app, &s, 7201).await;
    let (_, b) = customer(&app, &s, 7202).await;
    let (_, c) = customer(&app, &s, 7203).await;
    update(&app, &admin, json!({ "id": a, "name": "José Álvarez-Pérez", "email": "jose@example.com" })).await;
    update(&app, &admin, json!({ "id": b, "name": "Joseph Smith", "businessPhone": "+1 (555) 010-2000 x9" }))
        .await;
    update(&app, &admin, json!({ "id": c, "name": "Anna Perez", "homePhone": "0102000" })).await;
    let search = |token: String, text: &'static str| {
        let app = &app;
        async move {
            let data = app.ok(Some(&token), SEARCH, json!({ "s": text })).await;
            data["contacts"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(search(admin.clone(), "perez alvarez").await, [a.as_str()], "any word order, accents");
    assert_eq!(search(admin.clone(), "JOSE").await, [a.clone(), b.clone()], "words starting so (joseph)");
    assert_eq!(search(admin.clone(), "josé álvarez").await, [a.as_str()]);
    assert_eq!(search(admin.clone(), "jos").await, [a.clone(), b.clone()], "word starts");
    assert_eq!(search(admin.clone(), "pérez").await, [a.clone(), c.clone()]);
    assert_eq!(search(admin.clone(), "5550102000").await, [b.as_str()], "phones on the last 10 digits");
    assert_eq!(search(admin.clone(), "+1 555 010 2000").await, [b.as_str()]);
    assert_eq!(search(admin.clone(), "010-2000").await, [c.as_str()], "fewer than 10: all digits");
    assert_eq!(search(admin.clone(), "JOSE@example").await, [a.as_str()], "e-mails");
    assert!(search(admin.clone(), "nobody").await.is_empty());

    // Keyset pages.
    let first = app.ok(Some(&admin), SEARCH, json!({ "s": "jos", "first": 1 })).await;
    assert_eq!(first["contacts"]["pageInfo"]["hasNextPage"], true);
    let next = app
        .ok(
            Some(&admin),
            SEARCH,
            json!({ "s": "jos", "first": 1, "after": first["contacts"]["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(next["contacts"]["edges"][0]["node"]["id"], b.as_str());
    assert_eq!(next["contacts"]["pageInfo"]["hasNextPage"], false);

    // An agent finds only the contacts of chats they may read.
    offered_to(&app, &agent, &chat_a).await;
    let visible = search(agent.clone(), "").await;
    assert!(visible.contains(&a), "{visible:?}");
    let (_, outsider) = app.signed_in("outsider@example.com", Role::Agent).await;
    assert!(search(outsider.clone(), "").await.is_empty());
    assert!(search(outsider.clone(), "jose").await.is_empty());
}

async fn contact_ids(app: &TestApp, token: &str, query: &str, vars: Value) -> Vec<String> {
    let data = app.ok(Some(token), query, vars).await;
    data.as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn merge_moves_everything_to_the_kept_contact(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let admin = s.admin.clone();
    let agent = s.agents[0].2.clone();
    let (chat_old, old) = customer(&app, &s, 7301).await;
    let (chat_new, new) = customer(&app, &s, 7302).await;
    update(&app, &admin, json!({ "id": old, "name": "John Smith" })).await;
    update(&app, &admin, json!({ "id": new, "name": "Smith John", "email": "john@example.com" })).await;
    // The agent owns the newer contact's chat and has a draft in it.
    offered_to(&app, &agent, &chat_new).await;
    app.ok(Some(&agent), ACCEPT, json!({ "id": chat_new })).await;
    app.ok(
        Some(&agent),
        "mutation($id: ID!) { saveDraft(chatId: $id, text: \"one moment\") { text } }",
        json!({ "id": chat_new }),
    )
    .await;
    // A case of the newer contact (cases are created from chats elsewhere; written here directly).
    let new_row = api::graphql::ids::decode(&async_graphql::ID(new.clone()), "Contact").unwrap();
    let old_row = api::graphql::ids::decode(&async_graphql::ID(old.clone()), "Contact").unwrap();
    let now = chrono::Utc::now();
    entity::cases::Entity::insert(entity::cases::ActiveModel {
        id: sea_orm::NotSet,
        number: sea_orm::Set("CS-TEST-1".into()),
        subject: sea_orm::Set("s".into()),
        description: sea_orm::Set("d".into()),
        source: sea_orm::Set(entity::enums::CaseSource::Chat),
        registered_at: sea_orm::Set(now),
        status: sea_orm::Set(entity::enums::CaseStatus::New),
        contact_id: sea_orm::Set(Some(new_row)),
        account_id: sea_orm::Set(None),
        assignee_id: sea_orm::Set(None),
        chat_id: sea_orm::Set(None),
        created_at: sea_orm::Set(now),
        updated_at: sea_orm::Set(now),
    })
    .exec(&app.db)
    .await
    .unwrap();

    // Bad merges change nothing.
    let merge = |input: Value| json!({ "input": input });
    let unknown = api::graphql::ids::encode("Contact", 999_999).0;
    for (input, code) in [
        (json!({ "keepId": old, "mergeIds": [old] }), "BAD_USER_INPUT"),
        (json!({ "mergeIds": [old] }), "BAD_USER_INPUT"),
        (json!({ "mergeIds": [old, old] }), "BAD_USER_INPUT"),
        (json!({ "keepId": old, "mergeIds": [unknown] }), "NOT_FOUND"),
        (json!({ "keepId": old, "mergeIds": [chat_old] }), "BAD_USER_INPUT"),
    ] {
        assert_eq!(app.error_code(Some(&admin), MERGE, merge(input.clone())).await, code, "{input}");
    }
    // Both have an open chat on the same Telegram channel: refused, naming the chats.
    let refused = app.gql(Some(&admin), MERGE, merge(json!({ "mergeIds": [old, new] }))).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "OPEN_CHATS_CONFLICT", "{refused}");
    let mut named: Vec<&str> = refused["errors"][0]["extensions"]["chatIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    named.sort_unstable();
    let mut expected = [chat_old.as_str(), chat_new.as_str()];
    expected.sort_unstable();
    assert_eq!(named, expected);
    assert_eq!(app.count("contacts WHERE merged_into_id IS NOT NULL").await, 0);

    // The older contact's chat completed, the merge goes through: the oldest is kept, takes
    // the e-mail it lacked, and gets the identities, chats, cases and drafts.
    app.ok(Some(&admin), COMPLETE, json!({ "id": chat_old })).await;
    let after = max_event(&app).await.to_string();
    let mut panel = subscribe(
        &app,
        &agent,
        "subscription($after: ID) { myChatEvents(after: $after) { kind chat { id } details } }",
        json!({ "after": after }),
    )
    .await;
    let kept =
        app.ok(Some(&agent), MERGE, merge(json!({ "mergeIds": [old, new] }))).await["mergeContacts"].clone();
    assert_eq!(kept["id"], old.as_str(), "the oldest is kept");
    assert_eq!(kept["name"], "John Smith", "its own values stay");
    assert_eq!(kept["email"], "john@example.com", "empty fields filled from the others");
    let mut ids: Vec<&str> =
        kept["identities"].as_array().unwrap().iter().map(|i| i["externalId"].as_str().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["7301", "7302"]);
    let timeline: Vec<&Value> =
        kept["chats"]["edges"].as_array().unwrap().iter().map(|e| &e["node"]).collect();
    assert_eq!(timeline.len(), 2);
    assert_eq!(timeline[0]["id"], chat_new.as_str(), "newest first");
    assert_eq!(timeline[1]["status"], "COMPLETED", "completed chats stay on the timeline");
    assert!(
        timeline.iter().all(|c| c["contact"]["id"] == old.as_str()),
        "the chat's contact is the kept one"
    );
    let draft = app
        .ok(Some(&agent), "query($id: ID!) { chat(id: $id) { draft { text } } }", json!({ "id": chat_new }))
        .await;
    assert_eq!(draft["chat"]["draft"]["text"], "one moment");
    let case = entity::cases::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!(case.contact_id, Some(old_row));
    let payload = event(&mut panel).await;
    assert_eq!(payload["data"]["myChatEvents"]["kind"], "CONTACTS_MERGED", "{payload}");
    assert_eq!(payload["data"]["myChatEvents"]["details"]["mergedContactIds"], json!([new]));

    // The merged contact is a tombstone: found by nothing, merged again refused.
    let tomb = app
        .ok(Some(&admin), "query($id: ID!) { contact(id: $id) { mergedInto { id } } }", json!({ "id": new }))
        .await;
    assert_eq!(tomb["contact"]["mergedInto"]["id"], old.as_str());
    let listed = app.ok(Some(&admin), SEARCH, json!({ "s": "smith" })).await;
    assert_eq!(listed["contacts"]["edges"].as_array().unwrap().len(), 1);
    let again = app.gql(Some(&admin), MERGE, merge(json!({ "keepId": old, "mergeIds": [new] }))).await;
    assert_eq!(again["errors"][0]["extensions"]["code"], "MERGE_CONFLICT", "{again}");
    assert_eq!(again["errors"][0]["extensions"]["mergedIntoId"], old.as_str());
    assert_eq!(
        app.error_code(Some(&admin), UPDATE, json!({ "input": { "id": new, "name": "x" } })).await,
        "CONTACT_MERGED"
    );
    // The customer of the merged identity writes again: their message lands on the kept contact.
    assert_eq!(app.webhook(&s.telegram, &telegram(7302, 2, "again")).await, 200);
    let chats = kept_chats(&app, &admin, &old).await;
    assert_eq!(chats, 2, "appended to the open chat, now the kept contact's");
    let _ = new_row;
}

async fn kept_chats(app: &TestApp, token: &str, contact: &str) -> usize {
    let data = app
        .ok(
            Some(token),
            "query($id: ID!) { contact(id: $id) { chats { edges { node { id } } } } }",
            json!({ "id": contact }),
        )
        .await;
    data["contact"]["chats"]["edges"].as_array().unwrap().len()
}

async fn not_duplicates_hide_the_pair(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let admin = s.admin.clone();
    let (chat_a, a) = customer(&app, &s, 7401).await;
    let (_, b) = customer(&app, &s, 7402).await;
    let (_, c) = customer(&app, &s, 7403).await;
    for id in [&a, &b, &c] {
        update(&app, &admin, json!({ "id": id, "name": "Maria Silva" })).await;
    }
    assert_eq!(similar(&app, &admin, &chat_a).await.len(), 3);
    assert_eq!(app.error_code(Some(&admin), NOT_DUPLICATES, json!({ "ids": [a] })).await, "BAD_USER_INPUT");
    assert_eq!(
        app.error_code(Some(&admin), NOT_DUPLICATES, json!({ "ids": [a, a] })).await,
        "BAD_USER_INPUT"
    );
    let marked = contact_ids(&app, &admin, NOT_DUPLICATES, json!({ "ids": [b, a] })).await;
    assert_eq!(marked.len(), 2);
    let found = similar(&app, &admin, &chat_a).await;
    assert_eq!(
        found.iter().map(|f| f.0.clone()).collect::<Vec<_>>(),
        [a.clone(), c.clone()],
        "the pair never shows again"
    );
    // From the other side too; and marking twice changes nothing.
    let data = app.ok(Some(&admin), CONTACT_SIMILAR, json!({ "id": b })).await;
    assert_eq!(data["contact"]["similarContacts"]["count"], 1);
    contact_ids(&app, &admin, NOT_DUPLICATES, json!({ "ids": [a, b] })).await;
}

async fn concurrent_merges_have_one_winner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let admin = s.admin.clone();
    for round in 0..4_i64 {
        let mut contacts = Vec::new();
        for n in 0..3 {
            let (chat, contact) = customer(&app, &s, 7500 + round * 10 + n).await;
            app.ok(Some(&admin), COMPLETE, json!({ "id": chat })).await;
            contacts.push(contact);
        }
        let (x, y, z) = (contacts[0].clone(), contacts[1].clone(), contacts[2].clone());
        // y into x, and y into z, at the same moment.
        let one = app.gql(Some(&admin), MERGE, json!({ "input": { "keepId": x, "mergeIds": [y] } }));
        let two = app.gql(Some(&admin), MERGE, json!({ "input": { "keepId": z, "mergeIds": [y] } }));
        let (one, two) = tokio::join!(one, two);
        let won: Vec<&Value> = [&one, &two].into_iter().filter(|r| r.get("errors").is_none()).collect();
        let lost: Vec<&Value> = [&one, &two].into_iter().filter(|r| r.get("errors").is_some()).collect();
        assert_eq!(won.len(), 1, "exactly one merge wins: {one} {two}");
        assert_eq!(lost[0]["errors"][0]["extensions"]["code"], "MERGE_CONFLICT", "{}", lost[0]);
        let winner = won[0]["data"]["mergeContacts"]["id"].as_str().unwrap().to_owned();
        let loser = if winner == x { z.clone() } else { x.clone() };
        // Nothing half-moved: y's chat and identity are the winner's, the loser has only its own.
        assert_eq!(kept_chats(&app, &admin, &winner).await, 2);
        assert_eq!(kept_chats(&app, &admin, &loser).await, 1);
        let tomb = app
            .ok(
                Some(&admin),
                "query($id: ID!) { contact(id: $id) { mergedInto { id } } }",
                json!({ "id": y }),
            )
            .await;
        assert_eq!(tomb["contact"]["mergedInto"]["id"], winner.as_str());
        let loser_ids = app
            .ok(
                Some(&admin),
                "query($id: ID!) { contact(id: $id) { identities { externalId } mergedInto { id } } }",
                json!({ "id": loser }),
            )
            .await;
        assert_eq!(loser_ids["contact"]["identities"].as_array().unwrap().len(), 1);
        assert_eq!(loser_ids["contact"]["mergedInto"], Value::Null);
    }
}

async fn agents_reach_only_contacts_they_may_read(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 1).await;
    let admin = s.admin.clone();
    let agent = s.agents[0].2.clone();
    let (_, outsider) = app.signed_in("outsider@example.com", Role::Agent).await;
    let (chat_a, a) = customer(&app, &s, 7601).await;
    let (chat_b, b) = customer(&app, &s, 7602).await;
    for id in [&a, &b] {
        update(&app, &admin, json!({ "id": id, "name": "Pat Doe" })).await;
    }
    offered_to(&app, &agent, &chat_a).await;
    app.ok(Some(&agent), ACCEPT, json!({ "id": chat_a })).await;
    app.ok(Some(&admin), COMPLETE, json!({ "id": chat_b })).await;

    // The owner sees the similar contact through the chat and may merge it.
    assert_eq!(similar(&app, &agent, &chat_a).await.len(), 2);
    // An agent with no access to the chats: the contact, its timeline and similar contacts
    // are not theirs to read, nor to change, merge or separate.
    let read = app.gql(Some(&outsider), "query($id: ID!) { contact(id: $id) { id similarContacts { count } chats { edges { node { id } } } } }", json!({ "id": a })).await;
    assert_eq!(read, json!({ "data": { "contact": null } }));
    let chat = app.gql(Some(&outsider), SIMILAR, json!({ "id": chat_a })).await;
    assert_eq!(chat, json!({ "data": { "chat": null } }));
    assert_eq!(
        app.error_code(Some(&outsider), UPDATE, json!({ "input": { "id": a, "name": "x" } })).await,
        "NOT_FOUND"
    );
    assert_eq!(
        app.error_code(Some(&outsider), MERGE, json!({ "input": { "mergeIds": [a, b] } })).await,
        "NOT_FOUND"
    );
    assert_eq!(app.error_code(Some(&outsider), NOT_DUPLICATES, json!({ "ids": [a, b] })).await, "NOT_FOUND");
    // The owner may not merge a contact that is not similar to theirs.
    let (_, other) = customer(&app, &s, 7603).await;
    assert_eq!(
        app.error_code(Some(&agent), MERGE, json!({ "input": { "keepId": a, "mergeIds": [other] } })).await,
        "NOT_FOUND"
    );
    // ... but may merge the similar one.
    let kept = app.ok(Some(&agent), MERGE, json!({ "input": { "keepId": a, "mergeIds": [b] } })).await;
    assert_eq!(kept["mergeContacts"]["id"], a.as_str());
    // Analysts read, never merge.
    let (_, analyst) = app.signed_in("ann@example.com", Role::Analyst).await;
    assert_eq!(
        app.error_code(Some(&analyst), MERGE, json!({ "input": { "mergeIds": [a, other] } })).await,
        "FORBIDDEN"
    );
}

/// A Telegram message from `user` named `first` `last`.
fn telegram_named(user: i64, first: &str, last: &str) -> Vec<u8> {
    let person = json!({ "id": user, "is_bot": false, "first_name": first, "last_name": last });
    json!({ "update_id": user * 1000, "message": {
        "message_id": 1, "date": 1773134000, "from": person,
        "chat": { "id": user, "type": "private", "first_name": first }, "text": "hello" } })
    .to_string()
    .into_bytes()
}

/// CHAT_CREATED tells how many similar contacts the rules found when the chat started, also
/// for a customer whose first message creates the contact (searched before the ingesting
/// transaction on SQLite).
async fn new_chats_say_how_many_similar_contacts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 0).await;
    let (_, known) = customer(&app, &s, 7201).await;
    let after = max_event(&app).await.to_string();
    let mut queue = subscribe(
        &app,
        &s.admin,
        "subscription($q: ID!, $after: ID) { queueChatEvents(queueId: $q, after: $after) { kind chat { id contact { id } } details } }",
        json!({ "q": s.queue, "after": after }),
    )
    .await;
    // "7201 Customer" is "Customer 7201" in the other word order; "Customer 7203" is nobody.
    for (user, first, last, count) in [(7202, "7201", "Customer", 1), (7203, "Customer", "7203", 0)] {
        assert_eq!(app.webhook(&s.telegram, &telegram_named(user, first, last)).await, 200);
        let created = event(&mut queue).await["data"]["queueChatEvents"].clone();
        assert_eq!(created["kind"], "CHAT_CREATED", "{created}");
        assert_eq!(created["details"]["similarContacts"], count, "{created}");
        assert_ne!(created["chat"]["contact"]["id"], known.as_str());
        // The live answer agrees.
        let chat = created["chat"]["id"].as_str().unwrap();
        let found = similar(&app, &s.admin, chat).await;
        assert_eq!(found.len(), count + 1, "{found:?}");
        if count > 0 {
            assert!(rules_for(&found, &known).is_some(), "{found:?}");
        }
    }
}

/// The next CHAT_CREATED `queue` hears of: the chat's global id and its `similarContacts`.
async fn next_chat_created(queue: &mut crate::websocket::Socket) -> (String, u64) {
    loop {
        let payload = event(queue).await["data"]["queueChatEvents"].clone();
        if payload["kind"] == "CHAT_CREATED" {
            let count = payload["details"]["similarContacts"].as_u64().expect("similarContacts");
            return (payload["chat"]["id"].as_str().unwrap().to_owned(), count);
        }
    }
}

/// A subscription to the CHAT_CREATED events of `s`'s queue from now on.
async fn chats_created(app: &TestApp, s: &crate::lifecycle::Setup) -> crate::websocket::Socket {
    let after = max_event(app).await.to_string();
    subscribe(
        app,
        &s.admin,
        "subscription($q: ID!, $after: ID) { queueChatEvents(queueId: $q, after: $after) { kind chat { id } details } }",
        json!({ "q": s.queue, "after": after }),
    )
    .await
}

/// The id of the default rule that finds names in either word order, the only rule that
/// compares Telegram customers (they have neither e-mail nor phone).
async fn name_rule(app: &TestApp, token: &str) -> Value {
    let rules = app.ok(Some(token), RULES, json!({})).await;
    let rule = rules["duplicateRules"].as_array().unwrap().iter().find(|r| r["fields"] == json!(["NAME"]));
    rule.expect("the default name rule")["id"].clone()
}

/// Duplicate rules are kept in memory (`rules_cache`): a rule switched off, added, or switched
/// on applies to the very next new customer's chat — its CHAT_CREATED `similarContacts`, and
/// `Chat.similarContacts`. Each server searched before each change, so it remembered the
/// rules as they were.
async fn rule_changes_apply_to_the_next_new_customer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = setup(&app, "TO_ALL_AGENTS", 0).await;
    let (_, known) = customer(&app, &s, 7401).await; // "Customer 7401"
    let mut queue = chats_created(&app, &s).await;
    let rule = name_rule(&app, &s.admin).await;
    // A newcomer named "7401 Customer" writes: `count` similar contacts.
    let mut expect = async |user: i64, count: u64| {
        assert_eq!(app.webhook(&s.telegram, &telegram_named(user, "7401", "Customer")).await, 200);
        let (chat, similar_contacts) = next_chat_created(&mut queue).await;
        assert_eq!(similar_contacts, count, "CHAT_CREATED of customer {user}");
        let found = similar(&app, &s.admin, &chat).await;
        assert_eq!(found.len() as u64, count + 1, "Chat.similarContacts of customer {user}: {found:?}");
        if count > 0 {
            assert!(rules_for(&found, &known).is_some(), "{found:?}");
        }
    };
    expect(7402, 1).await;
    app.ok(Some(&s.admin), SET_RULE, json!({ "id": rule, "on": false })).await;
    expect(7403, 0).await;
    let create =
        "mutation($input: CreateDuplicateRuleInput!) { createDuplicateRule(input: $input) { name } }";
    app.ok(Some(&s.admin), create, json!({ "input": { "name": "Names", "fields": ["NAME"] } })).await;
    expect(7404, 3).await;
    let names = app.ok(Some(&s.admin), RULES, json!({})).await;
    for r in names["duplicateRules"].as_array().unwrap() {
        app.ok(Some(&s.admin), SET_RULE, json!({ "id": r["id"], "on": false })).await;
    }
    expect(7405, 0).await;
    app.ok(Some(&s.admin), SET_RULE, json!({ "id": rule, "on": true })).await;
    expect(7406, 5).await;
}

/// PostgreSQL, two instances: instance B, another process (its own memory), remembers the
/// rules from a first search; a rule switched through instance A applies to B's very next
/// webhook, because B's search statement reads the rules' version too. (SQLite runs a single
/// instance.)
async fn a_rule_changed_on_one_instance_applies_on_another(backend: Backend) {
    let a = TestApp::spawn(backend).await;
    let s = setup(&a, "TO_ALL_AGENTS", 0).await;
    let url = crate::lifecycle::app_database_url(&a).await;
    let b = crate::faults::Binary::spawn(&url, "http://127.0.0.1:9").await;
    let (_, known) = customer(&a, &s, 7501).await; // "Customer 7501", through A
    let mut queue = chats_created(&a, &s).await;
    let rule = name_rule(&a, &s.admin).await;
    // A newcomer named "7501 Customer" writes through B; A hears of the chat B opened.
    let mut through_b = async |user: i64, count: u64| {
        let status = a
            .http
            .post(format!("http://127.0.0.1:{}{}", b.port, s.telegram))
            .header("x-telegram-bot-api-secret-token", crate::support::TELEGRAM_SECRET)
            .body(telegram_named(user, "7501", "Customer"))
            .send()
            .await
            .expect("instance B answers");
        assert_eq!(status.status(), 200);
        let (chat, similar_contacts) = next_chat_created(&mut queue).await;
        assert_eq!(similar_contacts, count, "CHAT_CREATED of customer {user}, opened by B");
        let found = similar(&a, &s.admin, &chat).await;
        assert_eq!(found.len() as u64, count + 1, "{found:?}");
        if count > 0 {
            assert!(rules_for(&found, &known).is_some(), "{found:?}");
        }
    };
    through_b(7502, 1).await;
    a.ok(Some(&s.admin), SET_RULE, json!({ "id": rule, "on": false })).await;
    through_b(7503, 0).await;
    a.ok(Some(&s.admin), SET_RULE, json!({ "id": rule, "on": true })).await;
    through_b(7504, 3).await;
}

mod a_rule_changed_on_one_instance_applies_on_another {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::a_rule_changed_on_one_instance_applies_on_another(crate::support::Backend::Postgres).await;
    }
}

on_both_backends!(
    rule_changes_apply_to_the_next_new_customer,
    new_chats_say_how_many_similar_contacts,
    each_default_rule_finds_its_duplicate,
    updates_are_validated_and_reach_open_panels,
    search_by_name_phone_and_email,
    merge_moves_everything_to_the_kept_contact,
    not_duplicates_hide_the_pair,
    concurrent_merges_have_one_winner,
    agents_reach_only_contacts_they_may_read,
);
