//! Prometheus metrics, served at `/metrics` (see docs/operations.md for the list).
//!
//! One registry per server, reachable from [`crate::state::AppState`] and
//! [`crate::jobs::JobContext`]. Hot paths touch atomics and one label look-up; label values
//! are bounded: operation names and error codes are interned up to a cap, past which they
//! count as `(other)`. Values that are cheaper to read than to track (outbox depth, pool use,
//! bus subscribers) are sampled when `/metrics` is scraped.

mod interner;
mod registry;
mod scrape;

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use interner::{Interner, error_code, plain_identifier};
pub use scrape::Sample;

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
