//! End-to-end tests: a real server on a random port, spoken to over HTTP and WebSocket, on
//! SQLite and PostgreSQL.

mod admin;
mod auth;
mod cli;
mod errors;
mod faults;
mod lifecycle;
mod outbound;
mod presence;
mod server;
mod subscriptions;
mod support;
mod templates;
mod webhooks;
mod websocket;
