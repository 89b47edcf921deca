//! Prometheus metrics, served at `/metrics` (see docs/operations.md for the list).
//!
//! One registry per server, reachable from [`crate::state::AppState`] and
//! [`crate::jobs::JobContext`]. Hot paths touch atomics and one label look-up; label values
//! are bounded: operation names and error codes are interned up to a cap, past which they
//! count as `(other)`. Values that are cheaper to read than to track (outbox depth, pool use,
//! bus subscribers) are sampled when `/metrics` is scraped.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sea_orm::{ColumnTrait, DatabaseBackend, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

/// The content type `/metrics` answers with (the text format `prometheus-client` writes).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Most distinct GraphQL operation names counted before the rest count as `(other)`.
pub const MAX_OPERATIONS: usize = 200;
/// Longest operation name counted by name.
pub const MAX_OPERATION_LEN: usize = 64;
/// Most distinct error codes counted before the rest count as `(other)`.
const MAX_OUTCOMES: usize = 64;

/// A label value shared by every series that uses it (cloning it does not allocate).
pub type Label = Arc<String>;

fn statements_histogram() -> Histogram {
    // 0, 1, 2, 4, ... 256 statements.
    Histogram::new([0.0].into_iter().chain(exponential_buckets(1.0, 2.0, 9)))
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms to ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: &'static str,
    method: &'static str,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GraphqlLabels {
    operation: Label,
    outcome: Label,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: Label,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    provider: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoredLabels {
    stored: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatsCacheLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PathLabels {
    path: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
    state: &'static str,
}

/// Interns label values up to a cap; past it, and for values `accept` refuses, `(other)`.
struct Interner {
    values: RwLock<HashMap<Box<str>, Label>>,
    cap: usize,
    other: Label,
}

impl Interner {
    fn new(cap: usize) -> Self {
        Self { values: RwLock::new(HashMap::new()), cap, other: Arc::new("(other)".to_owned()) }
    }

    fn get(&self, value: &str, accept: fn(&str) -> bool) -> Label {
        if !accept(value) {
            return self.other.clone();
        }
        if let Ok(values) = self.values.read()
            && let Some(label) = values.get(value)
        {
            return label.clone();
        }
        let Ok(mut values) = self.values.write() else {
            return self.other.clone();
        };
        if let Some(label) = values.get(value) {
            return label.clone();
        }
        if values.len() >= self.cap {
            return self.other.clone();
        }
        let label = Arc::new(value.to_owned());
        values.insert(value.into(), label.clone());
        label
    }
}

/// A GraphQL name: `[_A-Za-z][_0-9A-Za-z]*`, at most [`MAX_OPERATION_LEN`] characters.
fn plain_identifier(value: &str) -> bool {
    let mut chars = value.chars();
    value.len() <= MAX_OPERATION_LEN
        && chars.next().is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// An error code: `[A-Z_]+`, at most 64 characters.
fn error_code(value: &str) -> bool {
    !value.is_empty() && value.len() <= 64 && value.bytes().all(|b| b == b'_' || b.is_ascii_uppercase())
}

struct Inner {
    registry: Registry,
    operations: Interner,
    outcomes: Interner,
    anonymous: Label,
    batch: Label,
    ok: Label,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: HistogramFamily<RouteLabels>,
    graphql_requests: Family<GraphqlLabels, Counter>,
    graphql_duration: HistogramFamily<OperationLabels>,
    graphql_statements: HistogramFamily<OperationLabels>,
    graphql_direct: Counter,
    websockets_open: Gauge,
    subscriptions_active: Gauge,
    subscription_streams: Gauge,
    detached_streams: Gauge,
    bus_subscribers: Gauge,
    wal_frames: Gauge,
    wal_copied: Gauge,
    bus_lag: Histogram,
    bus_dropped: Counter,
    outbox_pending: Gauge,
    deliveries: Family<ProviderLabels, Counter>,
    webhooks: Family<ProviderLabels, Counter>,
    webhook_messages: Family<StoredLabels, Counter>,
    append_batches: Counter,
    append_batched: Counter,
    missed_tries: Family<PathLabels, Counter>,
    db_connections: Family<PoolLabels, Gauge>,
    stats_cache: Family<StatsCacheLabels, Counter>,
}

/// The server's metrics. Cheap to clone.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Keeps a gauge (open WebSockets, active subscriptions) one up while it lives.
#[derive(Debug)]
pub struct Open(Gauge);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.dec();
    }
}

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

    /// The label for an operation name: the name when it is a plain identifier and among the
    /// first [`MAX_OPERATIONS`] seen, `(other)` otherwise, `(anonymous)` without one.
    pub fn operation_label(&self, name: Option<&str>) -> Label {
        match name {
            None => self.0.anonymous.clone(),
            Some(name) => self.0.operations.get(name, plain_identifier),
        }
    }

    /// The label of a batched request's operation.
    pub fn batch_label(&self) -> Label {
        self.0.batch.clone()
    }

    /// The label of an outcome: `ok`, or an error code.
    pub fn outcome_label(&self, code: Option<&str>) -> Label {
        match code {
            None => self.0.ok.clone(),
            Some(code) => self.0.outcomes.get(code, error_code),
        }
    }

    /// Counts an answered HTTP request.
    pub fn http_request(&self, route: &'static str, method: &'static str, status: u16, seconds: f64) {
        let status = status_class(status);
        self.0.http_requests.get_or_create(&HttpLabels { route, method, status }).inc();
        self.0.http_duration.get_or_create(&RouteLabels { route }).observe(seconds);
    }

    /// Counts an answered GraphQL request.
    pub fn graphql_request(&self, operation: &Label, outcome: &Label, seconds: f64) {
        self.0
            .graphql_requests
            .get_or_create(&GraphqlLabels { operation: operation.clone(), outcome: outcome.clone() })
            .inc();
        self.0
            .graphql_duration
            .get_or_create(&OperationLabels { operation: operation.clone() })
            .observe(seconds);
    }

    /// Records how many statements a GraphQL query ran.
    pub fn graphql_statements(&self, operation: &Label, statements: u64) {
        self.0
            .graphql_statements
            .get_or_create(&OperationLabels { operation: operation.clone() })
            .observe(statements as f64);
    }

    /// Counts a query answered by `graphql::direct`.
    pub fn graphql_direct_answer(&self) {
        self.0.graphql_direct.inc();
    }

    /// Counts a provider webhook POST.
    pub fn webhook(&self, provider: &'static str, status: u16) {
        self.0.webhooks.get_or_create(&ProviderLabels { provider, result: status_class(status) }).inc();
    }

    /// Counts the messages of an ingested webhook by how they were stored.
    pub fn webhook_messages(&self, report: &crate::domain::ingest::Report) {
        let transaction = report.stored.len() - report.appended - report.created;
        for (stored, count) in [
            ("appended", report.appended),
            ("created", report.created),
            ("transaction", transaction),
            ("duplicate", report.duplicates),
        ] {
            if count > 0 {
                self.0.webhook_messages.get_or_create(&StoredLabels { stored }).inc_by(count as u64);
            }
        }
    }

    /// Counts a delivery attempt's result (`sent`, `retry` or `failed`).
    pub fn delivery(&self, provider: &'static str, result: &'static str) {
        self.0.deliveries.get_or_create(&ProviderLabels { provider, result }).inc();
    }

    /// Marks a WebSocket open until the returned guard drops.
    pub fn websocket_opened(&self) -> Open {
        self.0.websockets_open.inc();
        Open(self.0.websockets_open.clone())
    }

    /// Marks a subscription active until the returned guard drops.
    pub fn subscription_started(&self) -> Open {
        self.0.subscriptions_active.inc();
        Open(self.0.subscriptions_active.clone())
    }

    /// Marks a subscription stream running (one for a group of subscribers asking the same)
    /// until the returned guard drops.
    pub fn subscription_stream_started(&self) -> Open {
        self.0.subscription_streams.inc();
        Open(self.0.subscription_streams.clone())
    }

    /// Marks a subscription stream run by its group (see `graphql::detached`) until the
    /// returned guard drops.
    pub fn detached_stream_started(&self) -> Open {
        self.0.detached_streams.inc();
        Open(self.0.detached_streams.clone())
    }

    /// Records how long after its commit an event was published, and how many subscribers
    /// missed it.
    pub fn event_published(&self, created_at: chrono::DateTime<chrono::Utc>, dropped: u64) {
        let lag = (crate::clock::now() - created_at).to_std().unwrap_or_default();
        self.0.bus_lag.observe(lag.as_secs_f64());
        if dropped > 0 {
            self.0.bus_dropped.inc_by(dropped);
        }
    }

    /// SQLite: the write-ahead log after the last checkpoint (`db::checkpoint`).
    pub fn checkpointed(&self, frames: u64, copied: u64) {
        self.0.wal_frames.set(i64::try_from(frames).unwrap_or(i64::MAX));
        self.0.wal_copied.set(i64::try_from(copied).unwrap_or(i64::MAX));
    }

    /// Samples the gauges read at scrape time and renders every metric.
    pub async fn render(&self, sample: Sample<'_>) -> String {
        self.0.bus_subscribers.set(i64::try_from(sample.bus_subscribers).unwrap_or(i64::MAX));
        // A failed count leaves the last value: the scrape still answers.
        match entity::outbox::Entity::find()
            .filter(entity::outbox::Column::Status.eq(entity::enums::OutboxStatus::Pending))
            .count(sample.db)
            .await
        {
            Ok(pending) => {
                self.0.outbox_pending.set(i64::try_from(pending).unwrap_or(i64::MAX));
            }
            Err(err) => tracing::warn!(error = %err, "cannot count the outbox for /metrics"),
        }
        if let Some(counts) = sample.stats_cache {
            for (result, total) in
                [("hit", counts.hits), ("read", counts.reads), ("extended", counts.extensions)]
            {
                let counter = self.0.stats_cache.get_or_create(&StatsCacheLabels { result }).clone();
                counter.inc_by(total.saturating_sub(counter.get()));
            }
        }
        if let Some(counts) = sample.appends {
            for (counter, total) in
                [(&self.0.append_batches, counts.batches), (&self.0.append_batched, counts.messages)]
            {
                counter.inc_by(total.saturating_sub(counter.get()));
            }
        }
        for (path, total) in
            [("append", sample.missed_tries.appends), ("newcomer", sample.missed_tries.welcomes)]
        {
            let counter = self.0.missed_tries.get_or_create(&PathLabels { path }).clone();
            counter.inc_by(total.saturating_sub(counter.get()));
        }
        self.pool("primary", sample.db);
        if let Some(readers) = sample.readers {
            self.pool("readers", readers);
        }
        for (pool, set) in [("queries", sample.queries), ("analytics", sample.analytics)] {
            if let Some(set) = set {
                let (size, idle) = set.size_and_idle();
                self.connections(pool, size, idle);
            }
        }
        let mut text = String::new();
        if let Err(err) = prometheus_client::encoding::text::encode(&mut text, &self.0.registry) {
            tracing::error!(error = %err, "cannot encode the metrics");
        }
        text
    }

    fn pool(&self, pool: &'static str, db: &DatabaseConnection) {
        let (size, idle) = match db.get_database_backend() {
            DatabaseBackend::Postgres => {
                let pool = db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            DatabaseBackend::Sqlite => {
                let pool = db.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => return,
        };
        self.connections(pool, size, u32::try_from(idle).unwrap_or(size));
    }

    fn connections(&self, pool: &'static str, size: u32, idle: u32) {
        let gauge = |state| self.0.db_connections.get_or_create(&PoolLabels { pool, state }).clone();
        gauge("in_use").set(i64::from(size.saturating_sub(idle)));
        gauge("idle").set(i64::from(idle));
    }
}

/// What `/metrics` samples at scrape time.
#[derive(Debug)]
pub struct Sample<'a> {
    /// The primary pool (outbox depth, pool use).
    pub db: &'a DatabaseConnection,
    /// SQLite's read-only pool, if any.
    pub readers: Option<&'a DatabaseConnection>,
    /// PostgreSQL's query connections, if any.
    pub queries: Option<&'a crate::db::QueryConnections>,
    /// PostgreSQL's connections for history and analytics reads, if any.
    pub analytics: Option<&'a crate::db::QueryConnections>,
    /// Event-bus subscribers now.
    pub bus_subscribers: usize,
    /// How the `chatStats` result cache answered so far.
    pub stats_cache: Option<crate::domain::analytics::CacheCounts>,
    /// SQLite: what the appending batches wrote so far.
    pub appends: Option<crate::domain::ingest::BatchCounts>,
    /// Webhook messages whose first path wrote nothing so far.
    pub missed_tries: crate::domain::ingest::MissedTries,
}

/// The `provider` label of a channel kind.
pub fn provider(kind: entity::enums::ChannelKind) -> &'static str {
    use entity::enums::ChannelKind;
    match kind {
        ChannelKind::Whatsapp => "whatsapp",
        ChannelKind::Messenger => "messenger",
        ChannelKind::Telegram => "telegram",
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_labels_are_bounded() {
        let metrics = Metrics::new();
        assert_eq!(metrics.operation_label(Some("MyChats")).as_str(), "MyChats");
        assert_eq!(metrics.operation_label(None).as_str(), "(anonymous)");
        assert_eq!(metrics.operation_label(Some("not a name")).as_str(), "(other)");
        assert_eq!(metrics.operation_label(Some(&"a".repeat(65))).as_str(), "(other)");
        for n in 0..MAX_OPERATIONS {
            metrics.operation_label(Some(&format!("Op{n}")));
        }
        assert_eq!(metrics.operation_label(Some("OneTooMany")).as_str(), "(other)");
        assert_eq!(metrics.operation_label(Some("MyChats")).as_str(), "MyChats");
        assert_eq!(metrics.outcome_label(Some("FORBIDDEN")).as_str(), "FORBIDDEN");
        assert_eq!(metrics.outcome_label(Some("<script>")).as_str(), "(other)");
    }

    #[test]
    fn renders_counted_requests() {
        let metrics = Metrics::new();
        let op = metrics.operation_label(Some("Me"));
        metrics.graphql_request(&op, &metrics.outcome_label(None), 0.01);
        metrics.webhook("telegram", 200);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &metrics.0.registry).expect("encodes");
        assert!(
            text.contains(r#"switchboard_graphql_requests_total{operation="Me",outcome="ok"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"switchboard_webhook_requests_total{provider="telegram",result="2xx"} 1"#));
    }
}
