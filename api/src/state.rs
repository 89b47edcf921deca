//! Long-lived state shared by every request.

use std::time::Duration;

use sea_orm::DatabaseConnection;

use crate::auth::TokenKeys;

/// Limits the GraphQL layer enforces per request.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest page a connection returns.
    pub max_page_size: usize,
    /// Largest history page (`chats`) supervisors, admins and analysts may ask for.
    pub max_history_page_size: usize,
    /// Most groups a statistics answer may have.
    pub max_stats_groups: usize,
}

/// Sign-in settings the resolvers need.
#[derive(Clone, Debug)]
pub struct SignInConfig {
    /// Signs and verifies tokens.
    pub keys: TokenKeys,
    /// How long a sign-in lasts.
    pub token_ttl: Duration,
    /// Bounds the password hashes computed at once (sign-in, new passwords).
    pub hashing: crate::auth::PasswordHashing,
    /// Counts failed sign-ins per account and client address, and locks them.
    pub throttle: std::sync::Arc<crate::domain::throttle::SignInThrottle>,
}

/// The axum state: everything a handler needs ([`Shared`]), behind one `Arc`. axum clones
/// the state for every request (the router's handler, each `State` extractor): a clone is
/// one reference count, where cloning the fields themselves (a score of `Arc`s, the database
/// URL, the CORS origins) was ~4 % of the server's CPU on the agent-panel read.
#[derive(Clone)]
pub struct AppState(std::sync::Arc<Shared>);

impl AppState {
    /// Shares `shared` with every request.
    pub fn new(shared: Shared) -> Self {
        Self(std::sync::Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What every request shares (see [`AppState`]).
pub struct Shared {
    /// The database pool.
    pub db: DatabaseConnection,
    /// Token keys, for authenticating requests.
    pub keys: TokenKeys,
    /// The GraphQL schemas (HTTP and WebSocket), built once.
    pub schema: crate::graphql::Schemas,
    /// SQLite only: read-only connections for GraphQL queries (see `db::connect_readers`).
    pub readers: Option<DatabaseConnection>,
    /// SQLite only: the queue appending returning customers' messages several to a write
    /// transaction (`domain::ingest::Batcher`).
    pub appends: Option<std::sync::Arc<crate::domain::ingest::Batcher>>,
    /// The customers this instance has seen stored (`domain::ingest::KnownCustomers`).
    pub known_customers: crate::domain::ingest::KnownCustomers,
    /// Routes the webhooks' new chats off the request, a burst of them in one run
    /// (`domain::routing::BackgroundRouting`).
    pub routing: crate::domain::routing::BackgroundRouting,
    /// PostgreSQL only: the connections GraphQL queries hold (see `db::queries`).
    pub queries: Option<crate::db::QueryConnections>,
    /// PostgreSQL only: the connections history and analytics reads take (`db::analytics`).
    pub analytics_connections: Option<crate::db::QueryConnections>,
    /// Parsed documents of HTTP requests, by their text.
    pub documents: std::sync::Arc<crate::graphql::document_cache::DocumentCache>,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Largest accepted multipart (upload) body.
    pub max_upload_bytes: usize,
    /// Background work: file storage, provider APIs, the outbox wake-up.
    pub jobs: crate::jobs::JobContext,
    /// The event bus subscriptions read from.
    pub bus: crate::events::bus::EventBus,
    /// The limits the schema enforces per request (also what `graphql::direct` answers within).
    pub limits: Limits,
    /// Recently checked sessions (see [`crate::domain::session_cache`]).
    pub sessions: std::sync::Arc<crate::domain::session_cache::SessionCache>,
    /// Webhooks' recently read channels (see [`crate::domain::channel_cache`]).
    pub channels: std::sync::Arc<crate::domain::channel_cache::ChannelCache>,
    /// The database URL (the PostgreSQL listener opens its own connection).
    pub database_url: String,
    /// How long events are kept.
    pub event_retention: chrono::Duration,
    /// Persisted queries (Apollo's APQ), by their hash.
    pub persisted: std::sync::Arc<crate::domain::persisted_queries::PersistedQueries>,
    /// Origins allowed to call the API from a browser (`*` for any); empty: no CORS.
    pub cors_origins: Vec<String>,
    /// The header naming the client's address behind a proxy (else the TCP peer's is used).
    pub client_ip_header: Option<axum::http::HeaderName>,
    /// The metrics `/metrics` serves (also in `jobs`).
    pub metrics: crate::metrics::Metrics,
    /// Whether `/metrics` is served.
    pub serve_metrics: bool,
    /// Subscriptions over `graphql-transport-ws`, run once for every subscriber asking the
    /// same (see `http::ws::shared`).
    pub subscriptions: std::sync::Arc<crate::http::ws::shared::SharedSubscriptions>,
    /// The `chatStats` result cache (its counts are in `/metrics`).
    pub stats_cache: std::sync::Arc<crate::domain::analytics::StatsCache>,
}

impl Shared {
    /// Where a read that need not see this request's own writes goes: SQLite's read-only
    /// pool, so it runs beside the single writer instead of queueing for it; else the pool.
    pub fn reads(&self) -> &DatabaseConnection {
        self.readers.as_ref().unwrap_or(&self.db)
    }
}

#[cfg(test)]
mod tests {
    /// Every request clones the state (and every open WebSocket holds one until sign-in):
    /// it stays one pointer, whatever is added to [`super::Shared`].
    #[test]
    fn the_state_is_one_pointer() {
        assert_eq!(std::mem::size_of::<super::AppState>(), std::mem::size_of::<usize>());
    }
}
