//! The Switchboard server library: configuration, domain rules, GraphQL and HTTP faces.
#![forbid(unsafe_code)]

pub mod auth;
pub mod channels;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod events;
pub mod files;
pub mod graphql;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod server;
#[cfg(test)]
mod source_files;
pub mod state;
pub mod telemetry;

pub use config::Config;
pub use server::Server;
