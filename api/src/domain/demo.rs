//! Demo data: a small call centre to explore in GraphiQL on a fresh database.

use chrono::Duration;
use entity::enums::{
    AuthorKind, ChannelKind, ChatStatus, CompletionReason, DeliveryStatus, Direction, MessageKind, Role,
    RoutingRule,
};
use entity::{agents, chats, contact_identities, contacts, messages};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, EntityTrait, NotSet, PaginatorTrait, Set, TransactionSession,
    TransactionTrait,
};

use super::agents::NewAgent;
use super::channels::{Credentials, NewChannel};
use super::error::DomainResult;
use super::ids::{AgentId, QueueId};
use super::queues::NewQueue;

/// The password every demo agent signs in with.
pub const DEMO_PASSWORD: &str = "switchboard";

/// The demo agents: (name, email, role).
pub const DEMO_AGENTS: &[(&str, &str, Role)] = &[
    ("Ada Admin", "admin@demo.switchboard", Role::Admin),
    ("Sam Supervisor", "supervisor@demo.switchboard", Role::Supervisor),
    ("Alice Agent", "alice@demo.switchboard", Role::Agent),
    ("Bob Agent", "bob@demo.switchboard", Role::Agent),
    ("Carol Agent", "carol@demo.switchboard", Role::Agent),
    ("Nina Analyst", "analyst@demo.switchboard", Role::Analyst),
];

/// Seeds the demo when the database has no agents yet. Returns whether it seeded.
pub async fn seed_if_empty(db: &(impl ConnectionTrait + TransactionTrait)) -> DomainResult<bool> {
    if agents::Entity::find().count(db).await? > 0 {
        return Ok(false);
    }
    let txn = crate::db::write(db).await?;
    let mut ids = Vec::new();
    let hashing = crate::auth::PasswordHashing::default();
    for (name, email, role) in DEMO_AGENTS {
        let agent = super::agents::create(
            &txn,
            &hashing,
            NewAgent {
                name: (*name).into(),
                email: (*email).into(),
                password: DEMO_PASSWORD.into(),
                role: *role,
            },
        )
        .await?;
        ids.push(AgentId(agent.id));
    }
    let (alice, bob, carol) = (ids[2], ids[3], ids[4]);
    let support = super::queues::create(
        &txn,
        NewQueue {
            name: "Support".into(),
            routing_rule: RoutingRule::ToAllAgents,
            completion_timeout_minutes: Some(30),
            agent_ids: vec![alice, bob],
        },
    )
    .await?;
    let sales = super::queues::create(
        &txn,
        NewQueue {
            name: "Sales".into(),
            routing_rule: RoutingRule::ToAvailableAgent,
            completion_timeout_minutes: None,
            agent_ids: vec![bob, carol],
        },
    )
    .await?;
    let secret = |s: &str| Some(format!("demo-{s}"));
    let channels = [
        (
            ChannelKind::Whatsapp,
            "WhatsApp +1 555 0100",
            "en",
            QueueId(support.id),
            Credentials {
                app_secret: secret("app-secret"),
                verify_token: secret("verify"),
                access_token: secret("token"),
                phone_number_id: Some("100000000000001".into()),
                ..Credentials::default()
            },
        ),
        (
            ChannelKind::Messenger,
            "Facebook page",
            "en",
            QueueId(support.id),
            Credentials {
                app_secret: secret("app-secret"),
                verify_token: secret("verify"),
                access_token: secret("page-token"),
                page_id: Some("200000000000002".into()),
                ..Credentials::default()
            },
        ),
        (
            ChannelKind::Telegram,
            "Telegram bot",
            "es",
            QueueId(sales.id),
            Credentials {
                bot_token: Some("123456:demo-bot-token".into()),
                secret_token: secret("telegram-secret"),
                ..Credentials::default()
            },
        ),
    ];
    let mut channel_rows = Vec::new();
    for (kind, name, language, queue_id, credentials) in channels {
        let row = super::channels::create(
            &txn,
            NewChannel {
                kind,
                name: name.into(),
                language: Some(language.into()),
                queue_id,
                active: true,
                credentials,
            },
        )
        .await?;
        channel_rows.push(row);
    }

    let now = crate::clock::now();
    let people = [
        ("Maria Garcia", "15550101234", ChannelKind::Whatsapp),
        ("John Smith", "7000000000000001", ChannelKind::Messenger),
        ("Olga Petrova", "900000001", ChannelKind::Telegram),
    ];
    for (index, (name, external_id, kind)) in people.into_iter().enumerate() {
        let contact = contacts::ActiveModel {
            id: NotSet,
            name: Set(name.into()),
            photo_url: Set(None),
            email: Set(None),
            mobile_phone: Set((kind == ChannelKind::Whatsapp).then(|| format!("+{external_id}"))),
            business_phone: Set(None),
            home_phone: Set(None),
            job_title: Set(None),
            account_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            merged_into_id: Set(None),
            keys_version: Set(super::contacts::normalize::VERSION),
        }
        .insert(&txn)
        .await?;
        super::contacts::keys::write(&txn, &contact).await?;
        contact_identities::ActiveModel {
            id: NotSet,
            contact_id: Set(contact.id),
            channel_kind: Set(kind),
            external_id: Set(external_id.into()),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        let channel = &channel_rows[index];
        // One chat in each state a newcomer wants to see: waiting, in progress, completed.
        let (status, owner, reason) = match index {
            0 => (ChatStatus::Waiting, None, None),
            1 => (ChatStatus::InProgress, Some(alice), None),
            _ => (ChatStatus::Completed, Some(carol), Some(CompletionReason::Agent)),
        };
        let created = now - Duration::minutes(30 - 10 * index as i64);
        let chat = chats::ActiveModel {
            id: NotSet,
            contact_id: Set(contact.id),
            channel_id: Set(channel.id),
            queue_id: Set(channel.queue_id),
            owner_id: Set(owner.map(|a| a.0)),
            directed_agent_id: Set(None),
            parent_chat_id: Set(None),
            status: Set(status),
            completion_reason: Set(reason),
            created_at: Set(created),
            accepted_at: Set(owner.map(|_| created + Duration::minutes(1))),
            first_response_at: Set(owner.map(|_| created + Duration::minutes(2))),
            completed_at: Set(reason.map(|_| created + Duration::minutes(5))),
            close_deadline: Set(None),
            last_message_at: Set(Some(created + Duration::minutes(2))),
            updated_at: Set(now),
            queued_at: Set(Some(created)),
        }
        .insert(&txn)
        .await?;
        let mut lines =
            vec![(Direction::Incoming, AuthorKind::Contact, None, "Hello! I need help with my order.", 0)];
        if let Some(agent) = owner {
            lines.push((
                Direction::Outgoing,
                AuthorKind::Agent,
                Some(agent.0),
                "Hi! Happy to help. What is the order number?",
                2,
            ));
        }
        for (n, (direction, author_kind, author, text, minutes)) in lines.into_iter().enumerate() {
            messages::ActiveModel {
                id: NotSet,
                chat_id: Set(chat.id),
                channel_id: Set(channel.id),
                direction: Set(direction),
                author_kind: Set(author_kind),
                author_agent_id: Set(author),
                kind: Set(MessageKind::Text),
                text: Set(Some(text.into())),
                provider_message_id: Set(Some(format!("demo-{}-{n}", chat.id))),
                delivery_status: Set((direction == Direction::Outgoing).then_some(DeliveryStatus::Read)),
                delivery_error: Set(None),
                edited_at: Set(None),
                created_at: Set(created + Duration::minutes(minutes)),
            }
            .insert(&txn)
            .await?;
        }
    }
    txn.commit().await?;
    Ok(true)
}
