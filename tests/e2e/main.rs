//! End-to-end tests: a real server on a random port, spoken to over HTTP and WebSocket, on
//! SQLite and PostgreSQL.

mod access;
mod admin;
mod appending;
mod auth;
mod capacity;
mod cases;
mod chat_actions;
mod chatbot;
mod cli;
mod contacts;
mod cors;
mod direct_answers;
mod errors;
mod faults;
mod graphiql;

mod http_audit;
mod indicators;
mod initiate;
mod introspection;
mod lifecycle;
mod limits;
mod matrix;
mod newcomer_bursts;
mod newcomers;
mod node;
mod operations;
mod outbound;
mod panel_example;
mod panel_read;
mod persisted;
mod plain_chat;
mod plans;
mod presence;
mod query_connections;
// Shared with the clocked binary, which uses the rest of it.
#[allow(dead_code)]
mod reaching;
mod read_columns;
mod reads;
mod replica;
mod routing_bursts;
mod scenario;
mod server;
mod shared_streams;
mod sign_in;
mod subscriptions;
mod support;
mod templates;
mod webhooks;
mod websocket;
mod workload;
