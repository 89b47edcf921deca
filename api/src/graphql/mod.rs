//! The GraphQL face: schema, resolvers (one file per area, merged into the roots) and types.

pub mod accounts;
pub mod agents;
pub mod analytics;
pub mod auth;
pub mod cases;
pub mod channels;
pub mod chat_actions;
pub mod chats;
pub mod compact;
pub mod connection;
pub mod contacts;
pub mod context;
pub mod detached;
pub mod direct;
pub mod document_cache;
pub mod drafts;
pub mod error;
pub mod history;
pub mod ids;
pub mod indicators;
pub mod initiate;
pub mod lifecycle;
pub mod limits;
pub mod loaders;
pub mod messages;
pub mod node;
pub mod page_columns;
pub mod plain;
pub mod queues;
pub mod settings;
pub mod sign_in_limits;
pub mod subscriptions;
pub mod templates;
pub mod types;
pub mod workload;

use async_graphql::{MergedObject, Schema, ValidationMode};
use sea_orm::DatabaseConnection;

use crate::db::RequestDb;
use crate::state::{Limits, SignInConfig};

/// Reads. Every field needs a bearer token (`Authorization: Bearer <token>`, from the
/// `login` mutation); what each role may read is said on each field.
#[derive(MergedObject, Default)]
pub struct Query(
    node::NodeQuery,
    auth::AuthQuery,
    agents::AgentsQuery,
    queues::QueuesQuery,
    channels::ChannelsQuery,
    settings::SettingsQuery,
    chats::ChatsQuery,
    history::HistoryQuery,
    analytics::AnalyticsQuery,
    indicators::IndicatorsQuery,
    lifecycle::LifecycleQuery,
    templates::TemplatesQuery,
    contacts::ContactsQuery,
    accounts::AccountsQuery,
    cases::CasesQuery,
    workload::WorkloadQuery,
    chat_actions::ChatActionsQuery,
    initiate::InitiateQuery,
);

/// Changes. Sign in with `login` to get a bearer token; every other mutation needs it, and
/// says which roles may call it.
#[derive(MergedObject, Default)]
pub struct Mutation(
    auth::AuthMutation,
    agents::AgentsMutation,
    queues::QueuesMutation,
    channels::ChannelsMutation,
    settings::SettingsMutation,
    messages::MessagesMutation,
    lifecycle::LifecycleMutation,
    drafts::DraftsMutation,
    templates::TemplatesMutation,
    contacts::ContactsMutation,
    accounts::AccountsMutation,
    cases::CasesMutation,
    chat_actions::ChatActionsMutation,
    initiate::InitiateMutation,
);

/// The schema type.
pub type AppSchema = Schema<Query, Mutation, subscriptions::Subscription>;

/// What the schema needs at run time.
#[derive(Clone)]
pub struct SchemaConfig {
    /// Deepest accepted nesting.
    pub max_depth: usize,
    /// Highest accepted complexity.
    pub max_complexity: usize,
    /// Most aliased fields a document may select.
    pub max_aliases: usize,
    /// Whether introspection (`__schema`, `__type`) is answered.
    pub introspection: bool,
    /// Per-request limits.
    pub limits: Limits,
    /// Sign-in keys and token lifetime.
    pub sign_in: SignInConfig,
    /// Background work (file storage, outbox wake-up).
    pub jobs: crate::jobs::JobContext,
    /// Where subscriptions get committed events.
    pub bus: crate::events::bus::EventBus,
    /// Subscription stream settings.
    pub streams: subscriptions::StreamConfig,
    /// Recently checked sessions, forgotten by the mutations that change access.
    pub sessions: std::sync::Arc<crate::domain::session_cache::SessionCache>,
    /// Webhooks' recently read channels, forgotten by `updateChannel`.
    pub channels: std::sync::Arc<crate::domain::channel_cache::ChannelCache>,
    /// Where history and analytics reads run (see `context::analytics_db`).
    pub analytics: crate::db::AnalyticsReads,
    /// The `chatStats` result cache.
    pub stats_cache: std::sync::Arc<crate::domain::analytics::StatsCache>,
}

/// The schemas a server runs: the same types and services, with and without extensions.
#[derive(Clone)]
pub struct Schemas {
    /// For HTTP: no extensions, so async-graphql resolves fields on its fast path; error codes
    /// are assigned by `error::assign_codes` and documents come from the cache.
    pub http: AppSchema,
    /// `http` with async-graphql's `Fast` validation (limits only), for requests whose
    /// document, operation name and variables passed strict validation before (see
    /// `document_cache`).
    pub http_validated: AppSchema,
    /// For WebSocket subscriptions: with the error-code extension.
    pub ws: AppSchema,
    /// Measures refused documents' complexity (see `limits::explain_complexity`).
    pub measuring: limits::Measuring,
}

/// Builds both schemas with their long-lived services.
pub fn build(db: DatabaseConnection, config: SchemaConfig) -> Schemas {
    // Measures a document's complexity without running it: no complexity limit, and an
    // extension that stops every request after validation.
    let unlimited = SchemaConfig { max_complexity: usize::MAX, ..config.clone() };
    let measuring = limits::Measuring {
        schema: build_one(db.clone(), unlimited, Flavor::Measure, ValidationMode::Strict),
        max_complexity: config.max_complexity,
    };
    Schemas {
        http: build_one(db.clone(), config.clone(), Flavor::Http, ValidationMode::Strict),
        http_validated: build_one(db.clone(), config.clone(), Flavor::Http, ValidationMode::Fast),
        ws: build_one(db, config, Flavor::WebSocket(measuring.clone()), ValidationMode::Strict),
        measuring,
    }
}

/// What a schema is built for.
enum Flavor {
    /// HTTP: no extensions (async-graphql's per-field fast path).
    Http,
    /// WebSocket: limits (explaining complexity refusals with the measuring schema), error
    /// codes and the one-login check as extensions.
    WebSocket(limits::Measuring),
    /// Complexity measurement only: nothing runs.
    Measure,
}

fn build_one(
    db: DatabaseConnection,
    config: SchemaConfig,
    flavor: Flavor,
    validation: ValidationMode,
) -> AppSchema {
    let document_limits = config.document_limits();
    // One loader for every operation over the server's WebSockets (it caches nothing, so
    // sharing it only batches their loads together): a loader per connection cost each idle
    // subscriber ~0.3 KiB. HTTP requests bring their own (`http::graphql`).
    let ws_loader =
        matches!(flavor, Flavor::WebSocket(_)).then(|| loaders::for_request(RequestDb::shared(db.clone())));
    let builder = connection::describe(Schema::build(
        Query::default(),
        Mutation::default(),
        subscriptions::Subscription,
    ))
    .data(RequestDb::shared(db.clone()))
    .data(db)
    .data(config.bus)
    .data(config.streams)
    .data(config.limits)
    .data(config.sign_in)
    .data(config.jobs)
    .data(config.sessions)
    .data(config.channels)
    .data(config.analytics)
    .data(config.stats_cache)
    .validation_mode(validation)
    // Depth is measured by `limits` alone (it measures introspection apart, which
    // async-graphql's depth limit cannot); complexity with page sizes by async-graphql.
    .limit_complexity(config.max_complexity);
    let builder = if config.introspection { builder } else { builder.disable_introspection() };
    match flavor {
        Flavor::Http => builder.finish(),
        // WebSocket requests are measured here, and checked for several logins; HTTP ones by
        // the document cache and `sign_in_limits::check_requests`.
        Flavor::WebSocket(measuring) => builder
            .data(ws_loader.expect("made for the WebSocket schema"))
            .extension(limits::Measure(document_limits, measuring))
            .extension(error::ErrorCodes)
            .extension(sign_in_limits::OneLogin)
            .finish(),
        Flavor::Measure => builder.extension(limits::StopAfterValidation).finish(),
    }
}

impl SchemaConfig {
    /// The limits every document is measured against before it is expanded.
    pub fn document_limits(&self) -> limits::DocumentLimits {
        limits::DocumentLimits {
            max_depth: self.max_depth,
            max_complexity: self.max_complexity,
            max_aliases: self.max_aliases,
            introspection: self.introspection,
        }
    }
}

/// The schema's description as introspection serves it (`__schema { description }`):
/// async-graphql answers this fixed text for every schema.
pub const SCHEMA_DESCRIPTION: &str = "A GraphQL Schema defines the capabilities of a GraphQL server. It exposes all available types and directives on the server, as well as the entry points for query, mutation, and subscription operations.";

/// The SDL, as `switchboard schema` prints it and `schema.graphql` stores it: what
/// introspection serves, the schema's description and `@specifiedBy` URLs included.
pub fn sdl() -> String {
    let body = sdl_without_schema_description();
    // async-graphql's export has no schema description; the one served goes before `schema {`.
    match body.rfind("\nschema {") {
        Some(at) => format!("{}\n\"\"\"\n{SCHEMA_DESCRIPTION}\n\"\"\"{}", &body[..at], &body[at..]),
        None => body,
    }
}

/// The SDL without the schema's description, which async-graphql's parser does not read.
fn sdl_without_schema_description() -> String {
    connection::describe(Schema::build(Query::default(), Mutation::default(), subscriptions::Subscription))
        .register_output_type::<types::node::Node>()
        .finish()
        .sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}

#[cfg(test)]
mod descriptions;
