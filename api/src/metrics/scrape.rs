//! What `/metrics` reads when scraped: gauges sampled then, and the rendered text.

use sea_orm::{ColumnTrait, DatabaseBackend, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

use super::{Metrics, PathLabels, PoolLabels, StatsCacheLabels};

impl Metrics {
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
