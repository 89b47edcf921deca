//! Every entity against the real schema: insert a row in each table through its
//! `ActiveModel`, read it back unchanged, follow relations and check the `ON DELETE`
//! behaviour. Runs on SQLite, and on PostgreSQL when `MIGRATION_TEST_PG_URL` is set
//! (that database is wiped).

use chrono::{DateTime, Duration, TimeZone, Utc};
use entity::enums::*;
use entity::prelude::*;
use entity::*;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ActiveEnum, ActiveModelBehavior, ActiveModelTrait, ColumnTrait, Database, DatabaseConnection,
    EntityTrait, IntoActiveModel, Iterable, JoinType, ModelTrait, QueryFilter, QuerySelect, RelationTrait,
    Set,
};
use serde_json::json;

/// A fixed instant with sub-second precision (microseconds: PostgreSQL's resolution).
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 12, 30, 45).unwrap() + Duration::microseconds(123_456)
}

/// Inserts `am`, then checks the table holds exactly the returned model.
async fn roundtrip<A>(db: &DatabaseConnection, am: A) -> <A::Entity as EntityTrait>::Model
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A> + PartialEq + std::fmt::Debug,
{
    let model = am.insert(db).await.expect("insert");
    let all = A::Entity::find().all(db).await.expect("select");
    assert!(all.contains(&model), "{model:?} not read back: {all:?}");
    model
}

async fn exercise(db: &DatabaseConnection) {
    let t = t0();

    let account = roundtrip(
        db,
        accounts::ActiveModel {
            name: Set("Acme".into()),
            created_at: Set(t),
            updated_at: Set(t),
            ..Default::default()
        },
    )
    .await;
    let contact = roundtrip(
        db,
        contacts::ActiveModel {
            name: Set("Ada".into()),
            photo_url: Set(Some("https://example.com/a.png".into())),
            email: Set(Some("ada@example.com".into())),
            mobile_phone: Set(Some("+100".into())),
            business_phone: Set(None),
            home_phone: Set(None),
            job_title: Set(Some("CTO".into())),
            account_id: Set(Some(account.id)),
            created_at: Set(t),
            updated_at: Set(t),
            merged_into_id: Set(None),
            keys_version: Set(0),
            ..Default::default()
        },
    )
    .await;
    let contact2 = roundtrip(
        db,
        contacts::ActiveModel {
            name: Set("Bob".into()),
            created_at: Set(t),
            updated_at: Set(t),
            merged_into_id: Set(None),
            keys_version: Set(0),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(contact2.account_id, None);
    roundtrip(
        db,
        contact_identities::ActiveModel {
            contact_id: Set(contact.id),
            channel_kind: Set(ChannelKind::Whatsapp),
            external_id: Set("+100".into()),
            created_at: Set(t),
            ..Default::default()
        },
    )
    .await;
    let agent = roundtrip(
        db,
        agents::ActiveModel {
            name: Set("Alice".into()),
            email: Set("alice@example.com".into()),
            password_hash: Set("$argon2id$...".into()),
            role: Set(Role::Supervisor),
            status: Set(AgentStatus::Active),
            enabled: Set(true),
            last_accepted_at: Set(Some(t)),
            created_at: Set(t),
            updated_at: Set(t),
            ..Default::default()
        },
    )
    .await;
    let agent2 = roundtrip(
        db,
        agents::ActiveModel {
            name: Set("Bert".into()),
            email: Set("bert@example.com".into()),
            password_hash: Set("x".into()),
            role: Set(Role::Agent),
            status: Set(AgentStatus::Inactive),
            enabled: Set(false),
            created_at: Set(t),
            updated_at: Set(t),
            ..Default::default()
        },
    )
    .await;
    roundtrip(
        db,
        sessions::ActiveModel {
            id: Set("5b0e2f1c-0000-4000-8000-000000000001".into()),
            agent_id: Set(agent2.id),
            created_at: Set(t),
            expires_at: Set(t + Duration::hours(12)),
            ended_at: Set(None),
        },
    )
    .await;
    let queue = roundtrip(
        db,
        queues::ActiveModel {
            name: Set("Support".into()),
            routing_rule: Set(RoutingRule::ToAvailableAgent),
            completion_timeout_minutes: Set(Some(30)),
            created_at: Set(t),
            updated_at: Set(t),
            ..Default::default()
        },
    )
    .await;
    for a in [agent.id, agent2.id] {
        roundtrip(
            db,
            queue_agents::ActiveModel { queue_id: Set(queue.id), agent_id: Set(a), created_at: Set(t) },
        )
        .await;
    }
    let channel = roundtrip(
        db,
        channels::ActiveModel {
            kind: Set(ChannelKind::Telegram),
            name: Set("Bot".into()),
            active: Set(true),
            language: Set(Some("en".into())),
            queue_id: Set(queue.id),
            credentials: Set(json!({"token": "secret"})),
            created_at: Set(t),
            updated_at: Set(t),
            ..Default::default()
        },
    )
    .await;
    let chat = roundtrip(
        db,
        chats::ActiveModel {
            contact_id: Set(contact.id),
            channel_id: Set(channel.id),
            queue_id: Set(queue.id),
            owner_id: Set(Some(agent2.id)),
            directed_agent_id: Set(Some(agent.id)),
            parent_chat_id: Set(None),
            status: Set(ChatStatus::InProgress),
            completion_reason: Set(None),
            created_at: Set(t),
            accepted_at: Set(Some(t)),
            first_response_at: Set(Some(t)),
            completed_at: Set(None),
            close_deadline: Set(Some(t + Duration::minutes(30))),
            last_message_at: Set(Some(t)),
            updated_at: Set(t),
            queued_at: Set(None),
            ..Default::default()
        },
    )
    .await;
    let child_chat = roundtrip(
        db,
        chats::ActiveModel {
            contact_id: Set(contact.id),
            channel_id: Set(channel.id),
            queue_id: Set(queue.id),
            parent_chat_id: Set(Some(chat.id)),
            status: Set(ChatStatus::Completed),
            completion_reason: Set(Some(CompletionReason::BotHandover)),
            created_at: Set(t),
            updated_at: Set(t),
            queued_at: Set(None),
            ..Default::default()
        },
    )
    .await;
    let message = roundtrip(
        db,
        messages::ActiveModel {
            chat_id: Set(chat.id),
            channel_id: Set(channel.id),
            direction: Set(Direction::Outgoing),
            author_kind: Set(AuthorKind::Agent),
            author_agent_id: Set(Some(agent2.id)),
            kind: Set(MessageKind::Text),
            text: Set(Some("Hello".into())),
            provider_message_id: Set(Some("tg-1".into())),
            delivery_status: Set(Some(DeliveryStatus::Delivered)),
            delivery_error: Set(None),
            edited_at: Set(Some(t)),
            created_at: Set(t),
            ..Default::default()
        },
    )
    .await;
    roundtrip(
        db,
        message_edits::ActiveModel {
            message_id: Set(message.id),
            previous_text: Set(Some("Helo".into())),
            text: Set(Some("Hello".into())),
            edited_at: Set(t),
            ..Default::default()
        },
    )
    .await;
    roundtrip(
        db,
        message_reactions::ActiveModel {
            message_id: Set(message.id),
            reaction: Set("👍".into()),
            author_kind: Set(AuthorKind::Contact),
            created_at: Set(t),
            ..Default::default()
        },
    )
    .await;
    roundtrip(
        db,
        attachments::ActiveModel {
            message_id: Set(message.id),
            file_name: Set(Some("a.pdf".into())),
            content_type: Set(Some("application/pdf".into())),
            size_bytes: Set(Some(5_000_000_000)),
            storage_key: Set(Some("ab/cd".into())),
            provider_file_id: Set(Some("f1".into())),
            status: Set(AttachmentStatus::Stored),
            error: Set(None),
            created_at: Set(t),
            ..Default::default()
        },
    )
    .await;
    roundtrip(
        db,
        assignments::ActiveModel {
            chat_id: Set(chat.id),
            agent_id: Set(Some(agent2.id)),
            queue_id: Set(Some(queue.id)),
            kind: Set(AssignmentKind::Offer),
            outcome: Set(Some(AssignmentOutcome::TakenByOther)),
            created_at: Set(t),
            deadline: Set(Some(t)),
            ended_at: Set(Some(t)),
            ..Default::default()
        },
    )
    .await;
    roundtrip(
        db,
        drafts::ActiveModel {
            chat_id: Set(chat.id),
            agent_id: Set(agent2.id),
            text: Set("draft".into()),
            updated_at: Set(t),
        },
    )
    .await;
    roundtrip(
        db,
        reply_templates::ActiveModel {
            name: Set("greeting".into()),
            text: Set("Hi!".into()),
            language: Set(None),
            created_at: Set(t),
            updated_at: Set(t),
            ..Default::default()
        },
    )
    .await;
    roundtrip(
        db,
        cases::ActiveModel {
            number: Set("CS-000042".into()),
            subject: Set("Broken".into()),
            description: Set("It broke.".into()),
            source: Set(CaseSource::Chat),
            registered_at: Set(t),
            status: Set(CaseStatus::InProgress),
            contact_id: Set(Some(contact.id)),
            account_id: Set(Some(account.id)),
            assignee_id: Set(Some(agent2.id)),
            chat_id: Set(Some(chat.id)),
            created_at: Set(t),
            updated_at: Set(t),
            ..Default::default()
        },
    )
    .await;
    roundtrip(
        db,
        settings::ActiveModel { key: Set("bot.enabled".into()), value: Set(json!(true)), updated_at: Set(t) },
    )
    .await;
    roundtrip(
        db,
        duplicate_rules::ActiveModel {
            name: Set("same email".into()),
            fields: Set(json!(["email"])),
            enabled: Set(true),
            created_at: Set(t),
            ..Default::default()
        },
    )
    .await;
    let (a, b) = (contact.id.min(contact2.id), contact.id.max(contact2.id));
    roundtrip(
        db,
        not_duplicate_pairs::ActiveModel { contact_a_id: Set(a), contact_b_id: Set(b), created_at: Set(t) },
    )
    .await;
    // The CHECK keeps pairs ordered.
    assert!(
        not_duplicate_pairs::ActiveModel { contact_a_id: Set(b), contact_b_id: Set(a), created_at: Set(t) }
            .insert(db)
            .await
            .is_err()
    );
    let e1 = roundtrip(
        db,
        events::ActiveModel {
            kind: Set("chat.accepted".into()),
            chat_id: Set(Some(chat.id)),
            agent_id: Set(Some(agent2.id)),
            queue_id: Set(Some(queue.id)),
            payload: Set(json!({"status": ChatStatus::InProgress.as_str()})),
            created_at: Set(t),
            ..Default::default()
        },
    )
    .await;
    let e2 = roundtrip(
        db,
        events::ActiveModel {
            kind: Set("chat.completed".into()),
            payload: Set(json!({})),
            created_at: Set(t),
            ..Default::default()
        },
    )
    .await;
    assert!(e2.id > e1.id);
    let outbox_row = roundtrip(
        db,
        outbox::ActiveModel {
            message_id: Set(message.id),
            channel_id: Set(channel.id),
            status: Set(OutboxStatus::Pending),
            attempts: Set(0),
            next_attempt_at: Set(t),
            locked_until: Set(None),
            last_error: Set(None),
            created_at: Set(t),
            updated_at: Set(t),
            ..Default::default()
        },
    )
    .await;

    // Unique index: idempotent webhooks.
    let dup = messages::ActiveModel {
        chat_id: Set(chat.id),
        channel_id: Set(channel.id),
        direction: Set(Direction::Incoming),
        author_kind: Set(AuthorKind::Contact),
        kind: Set(MessageKind::Text),
        provider_message_id: Set(Some("tg-1".into())),
        created_at: Set(t),
        ..Default::default()
    };
    assert!(dup.insert(db).await.is_err());

    // Relations.
    let msgs = chat.find_related(Messages).all(db).await.unwrap();
    assert_eq!(msgs, vec![message.clone()]);
    let members = queue.find_related(Agents).all(db).await.unwrap();
    assert_eq!(members.len(), 2);
    let queues_of = agent.find_related(Queues).all(db).await.unwrap();
    assert_eq!(queues_of, vec![queue.clone()]);
    let owned = Chats::find()
        .join(JoinType::InnerJoin, chats::Relation::Owner.def())
        .filter(agents::Column::Email.eq("bert@example.com"))
        .all(db)
        .await
        .unwrap();
    assert_eq!(owned, vec![chat.clone()]);
    let directed = Agents::find()
        .join(JoinType::InnerJoin, agents::Relation::DirectedChats.def())
        .filter(chats::Column::Id.eq(chat.id))
        .all(db)
        .await
        .unwrap();
    assert_eq!(directed, vec![agent.clone()]);
    let children = Chats::find()
        .join_as(JoinType::InnerJoin, chats::Relation::ParentChat.def(), "parent")
        .all(db)
        .await
        .unwrap();
    assert_eq!(children, vec![child_chat.clone()]);

    // ON DELETE: a message with an outbox row is protected (RESTRICT) ...
    assert!(Messages::delete_by_id(message.id).exec(db).await.is_err());
    Outbox::delete_by_id(outbox_row.id).exec(db).await.unwrap();
    // ... and deleting an agent keeps history (SET NULL) but drops sessions,
    // memberships and drafts (CASCADE).
    Agents::delete_by_id(agent2.id).exec(db).await.unwrap();
    let chat_after = Chats::find_by_id(chat.id).one(db).await.unwrap().unwrap();
    assert_eq!(chat_after.owner_id, None);
    assert_eq!(chat_after.directed_agent_id, Some(agent.id));
    let msg_after = Messages::find_by_id(message.id).one(db).await.unwrap().unwrap();
    assert_eq!(msg_after.author_agent_id, None);
    assert!(Sessions::find().all(db).await.unwrap().is_empty());
    assert_eq!(QueueAgents::find().all(db).await.unwrap().len(), 1);
    assert!(Drafts::find().all(db).await.unwrap().is_empty());
    // Deleting a message takes its edits, reactions and attachments along.
    Messages::delete_by_id(message.id).exec(db).await.unwrap();
    assert!(MessageEdits::find().all(db).await.unwrap().is_empty());
    assert!(MessageReactions::find().all(db).await.unwrap().is_empty());
    assert!(Attachments::find().all(db).await.unwrap().is_empty());
    // A contact with chats cannot go (RESTRICT).
    assert!(Contacts::delete_by_id(contact.id).exec(db).await.is_err());
}

#[test]
fn as_str_matches_stored_value() {
    fn check<E: ActiveEnum<Value = String> + Iterable>(as_str: fn(&E) -> &'static str) {
        for v in E::iter() {
            assert_eq!(as_str(&v), v.to_value());
        }
    }
    check(Role::as_str);
    check(AgentStatus::as_str);
    check(RoutingRule::as_str);
    check(ChannelKind::as_str);
    check(ChatStatus::as_str);
    check(CompletionReason::as_str);
    check(Direction::as_str);
    check(AuthorKind::as_str);
    check(MessageKind::as_str);
    check(DeliveryStatus::as_str);
    check(AttachmentStatus::as_str);
    check(AssignmentKind::as_str);
    check(AssignmentOutcome::as_str);
    check(CaseSource::as_str);
    check(CaseStatus::as_str);
    check(OutboxStatus::as_str);
    assert_eq!(AssignmentOutcome::TakenByOther.as_str(), "TAKEN_BY_OTHER");
}

#[tokio::test]
async fn sqlite_roundtrip() {
    let db = Database::connect("sqlite::memory:").await.expect("connect");
    Migrator::up(&db, None).await.expect("migrate");
    exercise(&db).await;
}

#[tokio::test]
async fn postgres_roundtrip() {
    // Never skipped: scripts/test.sh provides the database, and a missing one is a failure.
    let url = std::env::var("MIGRATION_TEST_PG_URL")
        .expect("MIGRATION_TEST_PG_URL is not set: run scripts/test.sh, which starts PostgreSQL");
    let db = Database::connect(&url).await.expect("connect");
    Migrator::fresh(&db).await.expect("migrate");
    exercise(&db).await;
}
