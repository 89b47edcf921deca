//! GraphQL types, one file per type; each wraps a row and never exposes the row itself.

pub mod account;
pub mod agent;
pub mod assignment;
pub mod attachment;
pub mod case;
pub mod channel;
pub mod chat;
pub mod chat_action;
pub mod contact;
pub mod draft;
pub mod enums;
pub mod event;
pub mod lazy;
pub mod message;
pub mod message_template;
pub mod node;
pub mod queue;
pub mod reachability;
pub mod reply_template;
pub mod settings;
