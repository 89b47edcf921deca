//! SeaORM entities for Switchboard: one module per table, no logic.

pub mod accounts;
pub mod agents;
pub mod assignments;
pub mod attachments;
pub mod cases;
pub mod channels;
pub mod chats;
pub mod contact_identities;
pub mod contact_keys;
pub mod contacts;
pub mod drafts;
pub mod duplicate_rules;
pub mod enums;
pub mod events;
pub mod message_edits;
pub mod message_reactions;
pub mod messages;
pub mod not_duplicate_pairs;
pub mod outbox;
pub mod persisted_queries;
pub mod prelude;
pub mod queue_agents;
pub mod queues;
pub mod reply_templates;
pub mod sessions;
pub mod settings;
