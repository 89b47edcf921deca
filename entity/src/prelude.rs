//! Every entity re-exported under its plural name (`Agents`, `Chats`, ...).

pub use super::accounts::Entity as Accounts;
pub use super::agents::Entity as Agents;
pub use super::assignments::Entity as Assignments;
pub use super::attachments::Entity as Attachments;
pub use super::cases::Entity as Cases;
pub use super::channels::Entity as Channels;
pub use super::chats::Entity as Chats;
pub use super::contact_identities::Entity as ContactIdentities;
pub use super::contact_keys::Entity as ContactKeys;
pub use super::contacts::Entity as Contacts;
pub use super::drafts::Entity as Drafts;
pub use super::duplicate_rules::Entity as DuplicateRules;
pub use super::events::Entity as Events;
pub use super::message_edits::Entity as MessageEdits;
pub use super::message_reactions::Entity as MessageReactions;
pub use super::message_templates::Entity as MessageTemplates;
pub use super::messages::Entity as Messages;
pub use super::not_duplicate_pairs::Entity as NotDuplicatePairs;
pub use super::outbox::Entity as Outbox;
pub use super::queue_agents::Entity as QueueAgents;
pub use super::queues::Entity as Queues;
pub use super::reply_templates::Entity as ReplyTemplates;
pub use super::sessions::Entity as Sessions;
pub use super::settings::Entity as Settings;
pub use super::template_sends::Entity as TemplateSends;
