//! End-to-end tests: a real server on a random port, spoken to over HTTP and WebSocket, on
//! SQLite and PostgreSQL.

mod admin;
mod auth;
mod cli;
mod errors;
mod lifecycle;
mod outbound;
mod presence;
mod server;
mod sign_in;
mod subscriptions;
mod support;
mod templates;
mod webhooks;
mod websocket;
