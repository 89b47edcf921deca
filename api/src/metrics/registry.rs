//! Every metric registered, with its name and help text (the list in docs/operations.md).

use std::sync::Arc;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::{
    GraphqlLabels, HistogramFamily, HttpLabels, Inner, Interner, MAX_OPERATIONS, MAX_OUTCOMES, Metrics,
    OperationLabels, PathLabels, PoolLabels, ProviderLabels, RouteLabels, StatsCacheLabels, StoredLabels,
    latency_histogram, statements_histogram,
};

impl Metrics {
    /// A registry with every metric, all at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("switchboard");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status class",
            http_requests.clone(),
        );
        let http_duration: HistogramFamily<RouteLabels> = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route (a WebSocket: until the upgrade)",
            http_duration.clone(),
        );
        let graphql_requests = Family::<GraphqlLabels, Counter>::default();
        registry.register(
            "graphql_requests",
            "GraphQL requests over HTTP by operation name and outcome (ok, or the first error code)",
            graphql_requests.clone(),
        );
        let graphql_duration: HistogramFamily<OperationLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "graphql_request_duration_seconds",
            "Time to answer a GraphQL request over HTTP, by operation name",
            graphql_duration.clone(),
        );
        let graphql_statements: HistogramFamily<OperationLabels> =
            Family::new_with_constructor(statements_histogram);
        registry.register(
            "graphql_request_statements",
            "SQL statements a GraphQL query ran (its reads; a mutation's transactions are not counted), by operation name",
            graphql_statements.clone(),
        );
        let websockets_open = Gauge::default();
        registry.register("websockets_open", "GraphQL WebSocket connections open", websockets_open.clone());
        let subscriptions_active = Gauge::default();
        registry.register(
            "subscriptions_active",
            "GraphQL event subscriptions running on this instance",
            subscriptions_active.clone(),
        );
        let subscription_streams = Gauge::default();
        registry.register(
            "subscription_streams",
            "Subscription streams running on this instance: subscribers of one session asking the same \
             share one (graphql-transport-ws)",
            subscription_streams.clone(),
        );
        let graphql_direct = Counter::default();
        registry.register(
            "graphql_direct_answers",
            "GraphQL queries answered without async-graphql's executor (the panel's chat read; see \
             graphql/direct.rs): also counted in graphql_requests",
            graphql_direct.clone(),
        );
        let detached_streams = Gauge::default();
        registry.register(
            "subscription_streams_detached",
            "Of the subscription streams, those whose events their group runs itself, each event \
             executed on its own (one root field; see graphql/detached.rs): an idle one keeps no \
             async-graphql state",
            detached_streams.clone(),
        );
        let bus_subscribers = Gauge::default();
        registry.register(
            "event_bus_subscribers",
            "Event-bus subscribers on this instance: one per active GraphQL subscription (two when \
             it does not follow its own agent), plus the server's own",
            bus_subscribers.clone(),
        );
        let bus_lag = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        registry.register(
            "event_bus_lag_seconds",
            "Time from an event's commit (created_at) to its publication on this instance",
            bus_lag.clone(),
        );
        let bus_dropped = Counter::default();
        registry.register(
            "event_bus_dropped",
            "Events a subscriber missed because its queue was full (it is told, and resumes)",
            bus_dropped.clone(),
        );
        let outbox_pending = Gauge::default();
        registry.register(
            "outbox_pending",
            "Outbox rows waiting to be delivered (sampled at scrape)",
            outbox_pending.clone(),
        );
        let deliveries = Family::<ProviderLabels, Counter>::default();
        registry.register(
            "outbox_deliveries",
            "Delivery attempts by provider and result (sent, retry, failed)",
            deliveries.clone(),
        );
        let stats_cache = Family::<StatsCacheLabels, Counter>::default();
        registry.register(
            "chat_stats_cache",
            "chatStats requests by how the result cache answered: hit (kept figures plus the chats \
             since), read (the kept part read anew) or extended (to a newer oldest open chat)",
            stats_cache.clone(),
        );
        let webhooks = Family::<ProviderLabels, Counter>::default();
        registry.register(
            "webhook_requests",
            "Provider webhook POSTs by provider and answer status class",
            webhooks.clone(),
        );
        let webhook_messages = Family::<StoredLabels, Counter>::default();
        registry.register(
            "webhook_messages",
            "Messages in accepted webhooks by how they were stored: appended (to an open chat in one \
             round trip), created (a new customer's first message, with their contact and chat, in \
             one round trip), transaction (finding or creating the contact and chat) or duplicate \
             (stored before: a redelivery)",
            webhook_messages.clone(),
        );
        let append_batches = Counter::default();
        registry.register(
            "webhook_append_batches",
            "SQLite: write transactions that stored webhook messages by their one-hop scripts \
             (returning customers' messages appended, new customers' first messages), several when \
             they waited for the writer (sampled at scrape)",
            append_batches.clone(),
        );
        let append_batched = Counter::default();
        registry.register(
            "webhook_append_batch_messages",
            "SQLite: messages in those transactions (per transaction: this over \
             switchboard_webhook_append_batches_total)",
            append_batched.clone(),
        );
        let missed_tries = Family::<PathLabels, Counter>::default();
        registry.register(
            "webhook_missed_tries",
            "Messages whose first one-round-trip path wrote nothing, by path: append (tried for a \
             customer who turned out new) or newcomer (tried for a customer who turned out known, \
             e.g. their first message since this instance started); each then took the other \
             (sampled at scrape)",
            missed_tries.clone(),
        );
        let wal_frames = Gauge::default();
        registry.register(
            "sqlite_wal_frames",
            "SQLite: frames (page versions) in the write-ahead log at the last checkpoint",
            wal_frames.clone(),
        );
        let wal_copied = Gauge::default();
        registry.register(
            "sqlite_wal_copied_frames",
            "SQLite: how many of them that checkpoint had copied into the database file (fewer \
             while readers still need older pages)",
            wal_copied.clone(),
        );
        let db_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_connections",
            "Database pool connections by pool (primary, readers, queries, analytics) and state (in_use, idle), sampled at scrape",
            db_connections.clone(),
        );
        Self(Arc::new(Inner {
            registry,
            operations: Interner::new(MAX_OPERATIONS),
            outcomes: Interner::new(MAX_OUTCOMES),
            anonymous: Arc::new("(anonymous)".to_owned()),
            batch: Arc::new("(batch)".to_owned()),
            ok: Arc::new("ok".to_owned()),
            http_requests,
            http_duration,
            graphql_requests,
            graphql_duration,
            graphql_statements,
            websockets_open,
            subscriptions_active,
            subscription_streams,
            detached_streams,
            graphql_direct,
            bus_subscribers,
            bus_lag,
            bus_dropped,
            outbox_pending,
            deliveries,
            webhooks,
            webhook_messages,
            append_batches,
            append_batched,
            missed_tries,
            db_connections,
            stats_cache,
            wal_frames,
            wal_copied,
        }))
    }
}
