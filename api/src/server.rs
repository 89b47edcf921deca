//! A bindable server: build it (database ready, port bound), read its port, run it.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::auth::TokenKeys;
use crate::channels::client::ProviderApis;
use crate::config::{Config, redact_url};
use crate::domain::analytics::StatsCache;
use crate::domain::channel_cache::ChannelCache;
use crate::domain::ids::AgentId;
use crate::domain::session_cache::SessionCache;
use crate::domain::throttle::SignInThrottle;
use crate::events::EventKind;
use crate::events::bus::{self, EventBus};
use crate::files::FileStore;
use crate::graphql::document_cache::DocumentCache;
use crate::graphql::subscriptions::StreamConfig;
use crate::jobs::{self, JobContext, RetryPolicy};
use crate::state::{AppState, Limits, Shared, SignInConfig};
use crate::{db, domain, graphql, http};

/// A server with its database open and its port bound, ready to run.
pub struct Server {
    listener: TcpListener,
    state: AppState,
    grace: Duration,
    seeded_demo: bool,
    /// How often the event bus looks for events nothing announced.
    event_poll: Duration,
}

/// How often the event bus of an in-memory SQLite database looks for new events: nothing
/// announces them there (see `db::connect_announcing_writes`).
const IN_MEMORY_EVENT_POLL: Duration = Duration::from_millis(25);

impl Server {
    /// Validates the configuration, opens the database, applies migrations (unless told not
    /// to), seeds the demo when asked, and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        config.validate()?;
        let url = redact_url(&config.database_url);
        let bus = EventBus::new(config.subscription_buffer);
        // On SQLite the event bus looks for new events whenever the writer is released (see
        // `db::connect_announcing_writes`); PostgreSQL tells it by NOTIFY.
        let released = bus.clone();
        let db = db::connect_announcing_writes(&config.database_url, config.db_max_connections, move || {
            released.nudge()
        })
        .await
        .with_context(|| format!("cannot open the database {url}"))?;
        if !config.no_migrate {
            db::migrate(&db).await.with_context(|| format!("cannot apply migrations to {url}"))?;
        }
        let readers = db::connect_readers(&config.database_url, config.db_max_connections)
            .await
            .with_context(|| format!("cannot open read-only connections to {url}"))?;
        let analytics = Self::analytics(&config).await?;
        let seeded_demo = if config.demo {
            domain::demo::seed_if_empty(&db).await.context("cannot seed the demo data")?
        } else {
            false
        };
        // Contacts keyed by an older normalisation (or none: rows from before contact keys
        // existed, the demo's) are re-keyed before requests are served.
        let rekeyed = domain::contacts::keys::rekey_outdated(&db).await.context("cannot re-key contacts")?;
        if rekeyed > 0 {
            tracing::info!(contacts = rekeyed, "contacts re-keyed for search");
        }
        let keys = match &config.jwt_secret {
            Some(secret) => TokenKeys::new(secret.expose().as_bytes()),
            None => {
                tracing::warn!("dev mode: no JWT_SECRET, using a random one (tokens end with the process)");
                TokenKeys::random()
            }
        };
        let listener = listen(config.bind).with_context(|| format!("cannot listen on {}", config.bind))?;
        let jobs = JobContext {
            db: db.clone(),
            apis: ProviderApis::new(
                &config.whatsapp_api_base,
                &config.messenger_api_base,
                &config.telegram_api_base,
                Duration::from_secs(config.provider_timeout_seconds),
            ),
            files: FileStore::new(
                &config.files_dir,
                config.max_file_bytes,
                config.allowed_content_types.clone(),
            ),
            outbox_ready: Arc::new(Notify::new()),
            actions_ready: Arc::new(Notify::new()),
            retry: RetryPolicy {
                max_attempts: config.delivery_max_attempts,
                base: Duration::from_millis(config.delivery_retry_base_ms),
            },
            poll: Duration::from_millis(config.worker_poll_ms),
            lease: Duration::from_secs(config.delivery_lease_seconds),
            metrics: crate::metrics::Metrics::new(),
        };
        let state = AppState::new(Self::state(db, readers, keys, jobs, bus.clone(), analytics, &config));
        Ok(Self {
            listener,
            state,
            grace: Duration::from_secs(config.shutdown_grace_seconds),
            seeded_demo,
            event_poll: Duration::from_millis(config.event_poll_ms),
        })
    }

    /// Where history and analytics reads run (see `db::analytics`): on PostgreSQL a pool of
    /// their own, on the read replica when one is configured (all of `db_max_connections`),
    /// else on the primary (half as many again); on SQLite each request's own handle.
    async fn analytics(config: &Config) -> anyhow::Result<db::AnalyticsReads> {
        let timeout = config.analytics_statement_timeout();
        let replica = config.read_database_url.as_deref();
        let max_connections =
            if replica.is_some() { config.db_max_connections } else { config.db_max_connections.div_ceil(2) };
        let pool = db::analytics::connect(&config.database_url, replica, max_connections, timeout)
            .await
            .with_context(|| match replica {
                Some(url) => format!("cannot open the read replica {}", redact_url(url)),
                None => {
                    format!("cannot open the analytics connections to {}", redact_url(&config.database_url))
                }
            })?;
        if let Some(url) = replica {
            tracing::info!(replica = %redact_url(url), "history and analytics reads run on the read replica");
        }
        Ok(db::AnalyticsReads::new(pool, max_connections, timeout, replica.is_some()))
    }

    fn state(
        db: DatabaseConnection,
        readers: Option<DatabaseConnection>,
        keys: TokenKeys,
        jobs: JobContext,
        bus: EventBus,
        analytics: db::AnalyticsReads,
        config: &Config,
    ) -> Shared {
        let sessions = Arc::new(SessionCache::new(Duration::from_millis(config.session_cache_ms)));
        let channels = Arc::new(ChannelCache::new(Duration::from_millis(config.channel_cache_ms)));
        let analytics_connections = analytics.connections().cloned();
        let stats_cache = Arc::new(StatsCache::new(config.stats_cache_mib.saturating_mul(1 << 20)));
        let schema_config = graphql::SchemaConfig {
            sessions: sessions.clone(),
            channels: channels.clone(),
            max_depth: config.max_query_depth,
            max_complexity: config.max_query_complexity,
            max_aliases: config.max_query_aliases,
            introspection: !config.disable_introspection,
            limits: Limits {
                max_page_size: config.max_page_size,
                max_history_page_size: config.max_history_page_size,
                max_stats_groups: config.max_stats_groups,
            },
            sign_in: SignInConfig {
                keys: keys.clone(),
                token_ttl: config.token_ttl(),
                hashing: config.password_hashing(),
                throttle: Arc::new(SignInThrottle::new(config.throttle())),
            },
            jobs: jobs.clone(),
            bus: bus.clone(),
            streams: StreamConfig { session_check: Duration::from_secs(config.session_check_seconds) },
            analytics,
            stats_cache: stats_cache.clone(),
        };
        let documents = Arc::new(DocumentCache::new(schema_config.document_limits()));
        let limits = schema_config.limits;
        let schema = graphql::build(db.clone(), schema_config);
        let max_upload_bytes = config.max_body_bytes.saturating_add(
            (config.max_file_bytes as usize).saturating_mul(crate::graphql::messages::MAX_FILES),
        );
        let subscriptions = crate::http::ws::shared::SharedSubscriptions::new(
            schema.ws.clone(),
            config.subscription_buffer,
            jobs.metrics.clone(),
        );
        let queries =
            db::QueryConnections::for_pool(&db, config.db_max_connections, db::queries::APPLICATION_NAME);
        let routing = crate::domain::routing::BackgroundRouting::new(db.clone(), readers.clone());
        let appends = (db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite)
            .then(|| crate::domain::ingest::Batcher::new(db.clone()));
        Shared {
            db,
            keys,
            schema,
            subscriptions,
            max_body_bytes: config.max_body_bytes,
            max_upload_bytes,
            bus,
            limits,
            sessions,
            channels,
            documents,
            readers,
            appends,
            known_customers: crate::domain::ingest::KnownCustomers::default(),
            routing,
            queries,
            analytics_connections,
            database_url: config.database_url.clone(),
            event_retention: chrono::Duration::hours(i64::from(config.event_retention_hours)),
            cors_origins: config.cors_origins.clone(),
            persisted: Arc::default(),
            client_ip_header: config.client_ip_header.clone(),
            metrics: jobs.metrics.clone(),
            serve_metrics: !config.disable_metrics,
            stats_cache,
            jobs,
        }
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// The port the server listens on (useful after binding port 0).
    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// Whether this start seeded the demo data.
    pub fn seeded_demo(&self) -> bool {
        self.seeded_demo
    }

    /// The database pool, for tests and tools.
    pub fn db(&self) -> &DatabaseConnection {
        &self.state.db
    }

    /// The background-work context (tests drive workers through it).
    pub fn jobs(&self) -> &JobContext {
        &self.state.jobs
    }

    /// Serves until SIGTERM or Ctrl-C, then drains in-flight requests for the grace period.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes, then drains in-flight requests for the grace period.
    pub async fn run_until(self, stop: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let cancel = CancellationToken::new();
        let mut workers = jobs::spawn_all(&self.state.jobs, &cancel);
        let postgres = self.state.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
        // Woken by NOTIFY (PostgreSQL) or by the writer's release (a SQLite file, read through
        // the read-only pool), the tailer polls only as a safety net; an in-memory SQLite
        // database announces nothing and has no other connection, so it is polled often.
        let tail_poll = match &self.state.readers {
            None if !postgres => IN_MEMORY_EVENT_POLL,
            _ => self.event_poll,
        };
        workers.push(tokio::spawn(bus::run_tailer(
            self.state.readers.clone().unwrap_or_else(|| self.state.db.clone()),
            self.state.bus.clone(),
            tail_poll,
            self.state.metrics.clone(),
            cancel.clone(),
        )));
        if postgres {
            workers.push(tokio::spawn(bus::run_listener(
                self.state.database_url.clone(),
                self.state.bus.clone(),
                cancel.clone(),
            )));
        }
        if db::checkpoint::applies_to(&self.state.database_url) {
            let (url, metrics) = (self.state.database_url.clone(), self.state.metrics.clone());
            workers.push(tokio::spawn(db::checkpoint::run(url, metrics, cancel.clone())));
        }
        workers.push(tokio::spawn(forget_changed_sessions(
            self.state.bus.clone(),
            self.state.sessions.clone(),
            cancel.clone(),
        )));
        workers.push(tokio::spawn(retention(
            self.state.db.clone(),
            self.state.event_retention,
            cancel.clone(),
        )));
        let (stopping_tx, stopping_rx) = tokio::sync::watch::channel(false);
        let app = http::router(self.state.clone());
        // With the peer's address, which sign-in counts failures by (see `http::client_addr`).
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        // No Nagle delay: a WebSocket frame (an event to a subscriber) goes out when written,
        // not when the previous one is acknowledged.
        let listener =
            axum::serve::ListenerExt::tap_io(self.listener, |stream: &mut tokio::net::TcpStream| {
                if let Err(err) = stream.set_nodelay(true) {
                    tracing::debug!(error = %err, "cannot set TCP_NODELAY on a connection");
                }
            });
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            stop.await;
            tracing::info!("shutting down");
            let _sent = stopping_tx.send(true); // nobody listening just means nothing to drain
        });
        let grace = self.grace;
        let mut stopping = stopping_rx;
        let deadline = async move {
            // Long-lived connections (WebSockets) would hold graceful shutdown open forever.
            while stopping.changed().await.is_ok() {
                if *stopping.borrow() {
                    tokio::time::sleep(grace).await;
                    tracing::warn!("grace period over; closing remaining connections");
                    return;
                }
            }
            std::future::pending::<()>().await;
        };
        let served = tokio::select! {
            result = serve => result.context("the HTTP server failed"),
            () = deadline => Ok(()),
        };
        cancel.cancel();
        for worker in workers {
            if let Err(err) = worker.await {
                tracing::error!(error = %err, "a background worker died");
            }
        }
        served?;
        self.state.db.clone().close().await.context("closing the database pool")?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Deletes events past the retention period, hourly.
async fn retention(db: DatabaseConnection, keep: chrono::Duration, cancel: CancellationToken) {
    loop {
        match crate::domain::settings::purge_events(&db, keep).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "old events purged"),
            Err(err) => tracing::error!(error = %err, "event retention failed"),
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// Forgets an agent's remembered sign-ins when an `ACCESS_CHANGED` event reaches this
/// instance; forgets them all if the bus dropped events on the way.
async fn forget_changed_sessions(bus: EventBus, sessions: Arc<SessionCache>, cancel: CancellationToken) {
    use crate::events::topics::{RecvError, Topic};
    let mut events = bus.subscribe(Topic::All);
    loop {
        let received = tokio::select! {
            () = cancel.cancelled() => return,
            received = events.recv() => received,
        };
        match received {
            Ok(event) if event.kind == EventKind::AccessChanged.as_str() => {
                if let Some(agent) = event.agent_id {
                    sessions.forget_agent(AgentId(agent));
                }
            }
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => sessions.forget_all(),
            Err(RecvError::Closed) => return,
        }
    }
}

/// Pending connections the listening socket holds (the kernel caps it at `somaxconn`).
const LISTEN_BACKLOG: u32 = 4096;

/// Binds the listening socket with a backlog made for reconnect storms: when thousands of
/// agent panels reconnect at once (after a deploy or a network blip), the usual 128 would
/// overflow and every dropped connection would wait a second or more for the client's SYN
/// retry. The fan-out benchmark connected 10,000 WebSockets ~8x faster with it.
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket =
        if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}
