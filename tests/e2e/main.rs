//! End-to-end tests: a real server on a random port, spoken to over HTTP and WebSocket, on
//! SQLite and PostgreSQL.

mod access;
mod admin;
mod auth;
mod capacity;
mod cli;
mod errors;
mod graphiql;
mod introspection;
mod lifecycle;
mod limits;
mod matrix;
mod outbound;
mod presence;
mod server;
mod subscriptions;
mod support;
mod templates;
mod webhooks;
mod websocket;
