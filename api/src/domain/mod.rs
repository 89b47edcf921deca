//! The domain rules, as plain async functions over a database connection. Nothing here knows
//! about GraphQL or HTTP; the faces in `graphql/` and `http/` parse input, call these and map
//! the results.

pub mod accounts;
pub mod agents;
pub mod analytics;
pub mod assignments;
pub mod cases;
pub mod channel_cache;
pub mod channels;
pub mod chat_actions;
pub mod chatbot;
pub mod chats;
pub mod contacts;
pub mod demo;
pub mod drafts;
pub mod dynamics;
pub mod error;
pub mod history;
pub mod ids;
pub mod indicators;
pub mod ingest;
pub mod initiate;
pub mod lifecycle;
pub mod message_templates;
pub mod messages;
pub mod pagination;
pub mod periods;
pub mod persisted_queries;
pub mod presence;
pub mod queues;
pub mod reads;
pub mod reroute;
pub mod routing;
pub mod session_cache;
pub mod sessions;
pub mod settings;
pub mod templates;
pub mod throttle;
pub mod workload;

pub use error::{DomainError, DomainResult};
