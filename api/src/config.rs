//! One typed configuration, read once at start-up from flags and environment variables.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, ValueEnum};

/// A secret value that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable, coloured when the output is a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Everything the server needs to start. Each field is a flag and an environment variable;
/// the README lists them all.
#[derive(Clone, Debug, Args)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Database to use: `sqlite://FILE?mode=rwc` or `postgres://USER:PASSWORD@HOST/DB`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://switchboard.db?mode=rwc")]
    pub database_url: String,

    /// A PostgreSQL streaming replica of `DATABASE_URL` (`postgres://…`) for history and
    /// analytics reads (see docs/operations.md, "Read replica"); nothing that must read its
    /// own writes goes there. Unset: those reads run on the primary. Refused with a SQLite
    /// database.
    #[arg(long, env = "READ_DATABASE_URL", hide_env_values = true)]
    pub read_database_url: Option<String>,

    /// Longest a history or analytics read may run, in milliseconds; a longer one is
    /// cancelled (by the PostgreSQL server; on SQLite by a progress handler interrupting it)
    /// and answered QUERY_TIMEOUT.
    #[arg(long, env = "SWITCHBOARD_ANALYTICS_STATEMENT_TIMEOUT_MS", default_value_t = 10_000)]
    pub analytics_statement_timeout_ms: u64,

    /// Secret (at least 32 bytes) that signs access tokens. Required outside dev mode.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,

    /// Dev mode: a missing JWT secret is replaced by a random one (tokens then die with the
    /// process). Implied by `--demo`.
    #[arg(long, env = "SWITCHBOARD_DEV")]
    pub dev: bool,

    /// Seed demo agents, queues, channels, contacts and chats into an empty database and print
    /// how to sign in. Implies dev mode.
    #[arg(long, env = "SWITCHBOARD_DEMO")]
    pub demo: bool,

    /// Skip applying pending migrations at start-up (run `switchboard migrate` instead).
    #[arg(long, env = "SWITCHBOARD_NO_MIGRATE")]
    pub no_migrate: bool,

    /// How long a sign-in lasts, in minutes.
    #[arg(long, env = "SWITCHBOARD_TOKEN_TTL_MINUTES", default_value_t = 720)]
    pub token_ttl_minutes: u32,

    // Sign-in protection: the hashing bound, the throttle and the client address. Counts
    // are kept in memory, per instance (several instances each enforce their own).
    /// Password hashes (sign-in, new passwords) computed at once; more wait. Default: one per
    /// core.
    #[arg(long, env = "SWITCHBOARD_PASSWORD_HASH_CONCURRENCY")]
    pub password_hash_concurrency: Option<usize>,

    /// How long a password hash may wait for a free slot, in milliseconds, before the request
    /// is answered TRY_AGAIN.
    #[arg(long, env = "SWITCHBOARD_PASSWORD_HASH_WAIT_MS", default_value_t = 2000)]
    pub password_hash_wait_ms: u64,

    /// Failed sign-ins an account may have; the last of them locks it (TOO_MANY_ATTEMPTS),
    /// for longer after each further failure. A success forgets them.
    #[arg(long, env = "SWITCHBOARD_SIGN_IN_FREE_FAILURES", default_value_t = 5)]
    pub sign_in_free_failures: u32,

    /// Failed sign-ins one client address may have (over all accounts); the last of them
    /// locks it. Successes do not count.
    #[arg(long, env = "SWITCHBOARD_SIGN_IN_FREE_FAILURES_PER_ADDRESS", default_value_t = 20)]
    pub sign_in_free_failures_per_address: u32,

    /// The first sign-in lockout, in milliseconds; each further failure doubles it.
    #[arg(long, env = "SWITCHBOARD_SIGN_IN_LOCKOUT_BASE_MS", default_value_t = 1000)]
    pub sign_in_lockout_base_ms: u64,

    /// The longest sign-in lockout, in seconds; failures are also forgotten this long after
    /// the last lockout (or failure) ended.
    #[arg(long, env = "SWITCHBOARD_SIGN_IN_LOCKOUT_MAX_SECONDS", default_value_t = 900)]
    pub sign_in_lockout_max_seconds: u64,

    /// Behind a reverse proxy: the header holding the client's address (e.g.
    /// `x-forwarded-for`; its right-most address is used, the one your proxy added). Set it
    /// only when every request comes through a proxy that sets it, or clients can choose
    /// their address. Default: the TCP peer's address.
    #[arg(long, env = "SWITCHBOARD_CLIENT_IP_HEADER")]
    pub client_ip_header: Option<axum::http::HeaderName>,

    /// Largest accepted request body, in bytes; larger requests get HTTP 413.
    #[arg(long, env = "SWITCHBOARD_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Deepest accepted GraphQL selection nesting.
    #[arg(long, env = "SWITCHBOARD_MAX_QUERY_DEPTH", default_value_t = 12)]
    pub max_query_depth: usize,

    /// Highest accepted GraphQL query complexity (one point per field, multiplied by page
    /// sizes); also the most selections a document may have once its fragments are expanded.
    #[arg(long, env = "SWITCHBOARD_MAX_QUERY_COMPLEXITY", default_value_t = 5000)]
    pub max_query_complexity: usize,

    /// Most aliased fields a GraphQL document may select, fragments expanded.
    #[arg(long, env = "SWITCHBOARD_MAX_QUERY_ALIASES", default_value_t = 100)]
    pub max_query_aliases: usize,

    /// Refuse introspection (`__schema`, `__type`) with INTROSPECTION_DISABLED, for
    /// production servers whose clients ship their schema (`__typename` still works).
    #[arg(long, env = "SWITCHBOARD_DISABLE_INTROSPECTION")]
    pub disable_introspection: bool,

    /// Do not serve `/metrics` (Prometheus). It needs no token, so a server reachable from
    /// the internet should either set this or keep `/metrics` behind its reverse proxy.
    #[arg(long, env = "SWITCHBOARD_DISABLE_METRICS")]
    pub disable_metrics: bool,

    /// Largest page a connection returns (`first` above it is refused).
    #[arg(long, env = "SWITCHBOARD_MAX_PAGE_SIZE", default_value_t = 100)]
    pub max_page_size: usize,

    /// Largest history page (`chats`) supervisors, admins and analysts may ask for.
    #[arg(long, env = "SWITCHBOARD_MAX_HISTORY_PAGE_SIZE", default_value_t = 1000)]
    pub max_history_page_size: usize,

    /// Most groups a statistics answer (`chatStats`) may have (TOO_MANY_GROUPS beyond).
    #[arg(long, env = "SWITCHBOARD_MAX_STATS_GROUPS", default_value_t = 1000)]
    pub max_stats_groups: usize,

    /// Memory the `chatStats` result cache may keep, in MiB (0: no cache). It keeps the
    /// figures of the chats that can no longer change (docs/metrics.md, "The result cache").
    #[arg(long, env = "SWITCHBOARD_STATS_CACHE_MIB", default_value_t = 64)]
    pub stats_cache_mib: usize,

    /// Maximum database connections in the pool; on PostgreSQL, GraphQL queries have as many
    /// again of their own (`db::queries`).
    #[arg(long, env = "SWITCHBOARD_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// Log format.
    #[arg(long, env = "SWITCHBOARD_LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,

    /// Folder where message files (inbound media, outbound uploads) are stored.
    #[arg(long, env = "SWITCHBOARD_FILES_DIR", default_value = "data/files")]
    pub files_dir: std::path::PathBuf,

    /// Largest file accepted, in bytes, inbound or outbound (16 MiB by default).
    #[arg(long, env = "SWITCHBOARD_MAX_FILE_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_file_bytes: u64,

    /// Content types accepted for files, comma-separated; an entry ending in `/` is a prefix.
    #[arg(
        long,
        env = "SWITCHBOARD_ALLOWED_CONTENT_TYPES",
        value_delimiter = ',',
        default_value = "image/,audio/,video/,application/pdf,text/plain,application/msword,application/vnd.openxmlformats-officedocument.,application/vnd.ms-excel,application/zip"
    )]
    pub allowed_content_types: Vec<String>,

    /// Origins whose pages may call the API from a browser (CORS), comma-separated, e.g.
    /// `https://panel.example.com,http://localhost:5173`; `*` lets every origin in. None by
    /// default. Tokens travel in the `Authorization` header, never in cookies, so no
    /// credentials mode is needed or allowed.
    #[arg(long, env = "SWITCHBOARD_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// WhatsApp Cloud API base URL.
    #[arg(long, env = "SWITCHBOARD_WHATSAPP_API_BASE", default_value = "https://graph.facebook.com/v21.0")]
    pub whatsapp_api_base: String,

    /// Messenger (Graph API) base URL.
    #[arg(long, env = "SWITCHBOARD_MESSENGER_API_BASE", default_value = "https://graph.facebook.com/v21.0")]
    pub messenger_api_base: String,

    /// Telegram Bot API base URL.
    #[arg(long, env = "SWITCHBOARD_TELEGRAM_API_BASE", default_value = "https://api.telegram.org")]
    pub telegram_api_base: String,

    /// Timeout of one call to a provider's API, in seconds.
    #[arg(long, env = "SWITCHBOARD_PROVIDER_TIMEOUT_SECONDS", default_value_t = 15)]
    pub provider_timeout_seconds: u64,

    /// Attempts to deliver a reply before it is marked FAILED.
    #[arg(long, env = "SWITCHBOARD_DELIVERY_MAX_ATTEMPTS", default_value_t = 8)]
    pub delivery_max_attempts: u32,

    /// First retry delay of a failed delivery, in milliseconds; it doubles per attempt (with
    /// jitter) up to 5 minutes.
    #[arg(long, env = "SWITCHBOARD_DELIVERY_RETRY_BASE_MS", default_value_t = 2000)]
    pub delivery_retry_base_ms: u64,

    /// How long a claimed reply stays with the instance sending it, in seconds. The lease is
    /// renewed while the provider call runs, so this is how soon another instance takes over
    /// the sends of one that died.
    #[arg(long, env = "SWITCHBOARD_DELIVERY_LEASE_SECONDS", default_value_t = 10)]
    pub delivery_lease_seconds: u64,

    /// How often background workers look for due work when nothing wakes them, in milliseconds.
    #[arg(long, env = "SWITCHBOARD_WORKER_POLL_MS", default_value_t = 1000)]
    pub worker_poll_ms: u64,

    /// How often the event bus looks for committed events that nothing announced, in
    /// milliseconds: a safety net, as every commit announces its events (PostgreSQL `NOTIFY`
    /// from any instance; on SQLite the writer's release), and for writes of other processes
    /// on a SQLite file.
    #[arg(long, env = "SWITCHBOARD_EVENT_POLL_MS", default_value_t = 250)]
    pub event_poll_ms: u64,

    /// Hours events are kept in the log for subscribers to resume from.
    #[arg(long, env = "SWITCHBOARD_EVENT_RETENTION_HOURS", default_value_t = 168)]
    pub event_retention_hours: u32,

    /// Events a subscriber may fall behind before it is cut off with SUBSCRIPTION_OVERFLOW.
    #[arg(long, env = "SWITCHBOARD_SUBSCRIPTION_BUFFER", default_value_t = 4096)]
    pub subscription_buffer: usize,

    /// How often a subscription re-checks that its session is still live, in seconds.
    #[arg(long, env = "SWITCHBOARD_SESSION_CHECK_SECONDS", default_value_t = 15)]
    pub session_check_seconds: u64,

    /// How long a request may reuse a recent check of its token's session, in milliseconds
    /// (0: read the session on every request). Sign-outs and access changes end the reuse at
    /// once on every instance, through the event log.
    #[arg(long, env = "SWITCHBOARD_SESSION_CACHE_MS", default_value_t = 5000)]
    pub session_cache_ms: u64,

    /// How long a webhook may reuse a recent read of its channel, in milliseconds (0: read it
    /// for every webhook). A change made through this instance applies at once; through
    /// another instance sharing the database, within this time.
    #[arg(long, env = "SWITCHBOARD_CHANNEL_CACHE_MS", default_value_t = 1000)]
    pub channel_cache_ms: u64,

    /// Seconds to wait for in-flight requests on shutdown.
    #[arg(long, env = "SWITCHBOARD_SHUTDOWN_GRACE_SECONDS", default_value_t = 10)]
    pub shutdown_grace_seconds: u64,
}

/// A configuration that cannot work, found before anything starts.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The database URL is not one we can use.
    #[error("DATABASE_URL must start with sqlite:// or postgres:// (got {0:?})")]
    DatabaseUrl(String),
    /// A read replica that is not PostgreSQL, or beside a SQLite primary.
    #[error(
        "READ_DATABASE_URL must be a postgres:// URL of a streaming replica of a PostgreSQL DATABASE_URL (got {0:?}); SQLite has no replicas"
    )]
    ReadDatabaseUrl(String),
    /// No JWT secret outside dev mode.
    #[error("JWT_SECRET is required (at least 32 bytes); pass --dev or --demo to use a random one")]
    MissingSecret,
    /// A JWT secret too short to be safe.
    #[error("JWT_SECRET must be at least 32 bytes long")]
    ShortSecret,
    /// A limit set to zero.
    #[error("{0} must be greater than zero")]
    Zero(&'static str),
    /// A CORS origin that is not `*` nor `scheme://host[:port]`.
    #[error("SWITCHBOARD_CORS_ORIGINS: {0:?} is not an origin (scheme://host[:port], or * alone)")]
    CorsOrigin(String),
}

impl Config {
    /// A configuration with every default, for tests and embedding.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        Self {
            bind: "127.0.0.1:0".parse().expect("static address parses"),
            database_url: database_url.into(),
            read_database_url: None,
            analytics_statement_timeout_ms: 10_000,
            jwt_secret: None,
            dev: true,
            demo: false,
            no_migrate: false,
            token_ttl_minutes: 720,
            password_hash_concurrency: None,
            password_hash_wait_ms: 2000,
            sign_in_free_failures: 5,
            sign_in_free_failures_per_address: 20,
            sign_in_lockout_base_ms: 1000,
            sign_in_lockout_max_seconds: 900,
            client_ip_header: None,
            max_body_bytes: 1024 * 1024,
            max_query_depth: 12,
            max_query_complexity: 5000,
            max_query_aliases: 100,
            disable_introspection: false,
            disable_metrics: false,
            cors_origins: Vec::new(),
            max_page_size: 100,
            max_history_page_size: 1000,
            max_stats_groups: 1000,
            stats_cache_mib: 64,
            db_max_connections: 16,
            log_format: LogFormat::Pretty,
            shutdown_grace_seconds: 10,
            files_dir: std::path::PathBuf::from("data/files"),
            max_file_bytes: 16 * 1024 * 1024,
            allowed_content_types: [
                "image/",
                "audio/",
                "video/",
                "application/pdf",
                "text/plain",
                "application/msword",
                "application/vnd.openxmlformats-officedocument.",
                "application/vnd.ms-excel",
                "application/zip",
            ]
            .map(String::from)
            .to_vec(),
            whatsapp_api_base: "https://graph.facebook.com/v21.0".into(),
            messenger_api_base: "https://graph.facebook.com/v21.0".into(),
            telegram_api_base: "https://api.telegram.org".into(),
            provider_timeout_seconds: 15,
            delivery_max_attempts: 8,
            delivery_retry_base_ms: 2000,
            delivery_lease_seconds: 10,
            worker_poll_ms: 1000,
            event_poll_ms: 250,
            event_retention_hours: 168,
            subscription_buffer: 4096,
            session_check_seconds: 15,
            session_cache_ms: 5000,
            channel_cache_ms: 1000,
        }
    }

    /// Whether a missing secret may be replaced by a random one.
    pub fn dev_mode(&self) -> bool {
        self.dev || self.demo
    }

    /// Checks the values that clap cannot, so start-up fails early with one clear line.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = self.database_url.as_str();
        let known = ["sqlite:", "postgres://", "postgresql://"];
        if !known.iter().any(|prefix| url.starts_with(prefix)) {
            return Err(ConfigError::DatabaseUrl(redact_url(url)));
        }
        if let Some(read) = &self.read_database_url {
            let postgres = |url: &str| ["postgres://", "postgresql://"].iter().any(|p| url.starts_with(p));
            if !postgres(read) || !postgres(url) {
                return Err(ConfigError::ReadDatabaseUrl(redact_url(read)));
            }
        }
        match &self.jwt_secret {
            None if !self.dev_mode() => return Err(ConfigError::MissingSecret),
            Some(secret) if secret.expose().len() < 32 => return Err(ConfigError::ShortSecret),
            _ => {}
        }
        let wildcard = self.cors_origins.iter().any(|o| o == "*");
        for origin in &self.cors_origins {
            if (wildcard && self.cors_origins.len() > 1) || (origin != "*" && !is_origin(origin)) {
                return Err(ConfigError::CorsOrigin(origin.clone()));
            }
        }
        for (name, value) in [
            ("SWITCHBOARD_TOKEN_TTL_MINUTES", self.token_ttl_minutes as usize),
            ("SWITCHBOARD_MAX_BODY_BYTES", self.max_body_bytes),
            ("SWITCHBOARD_MAX_QUERY_DEPTH", self.max_query_depth),
            ("SWITCHBOARD_MAX_QUERY_COMPLEXITY", self.max_query_complexity),
            ("SWITCHBOARD_MAX_QUERY_ALIASES", self.max_query_aliases),
            ("SWITCHBOARD_MAX_PAGE_SIZE", self.max_page_size),
            ("SWITCHBOARD_MAX_HISTORY_PAGE_SIZE", self.max_history_page_size),
            ("SWITCHBOARD_MAX_STATS_GROUPS", self.max_stats_groups),
            ("SWITCHBOARD_DB_MAX_CONNECTIONS", self.db_max_connections as usize),
            ("SWITCHBOARD_ANALYTICS_STATEMENT_TIMEOUT_MS", self.analytics_statement_timeout_ms as usize),
            ("SWITCHBOARD_MAX_FILE_BYTES", self.max_file_bytes as usize),
            ("SWITCHBOARD_DELIVERY_MAX_ATTEMPTS", self.delivery_max_attempts as usize),
            ("SWITCHBOARD_DELIVERY_LEASE_SECONDS", self.delivery_lease_seconds as usize),
            ("SWITCHBOARD_WORKER_POLL_MS", self.worker_poll_ms as usize),
            ("SWITCHBOARD_EVENT_POLL_MS", self.event_poll_ms as usize),
            ("SWITCHBOARD_EVENT_RETENTION_HOURS", self.event_retention_hours as usize),
            ("SWITCHBOARD_SUBSCRIPTION_BUFFER", self.subscription_buffer),
            ("SWITCHBOARD_SESSION_CHECK_SECONDS", self.session_check_seconds as usize),
            ("SWITCHBOARD_PASSWORD_HASH_CONCURRENCY", self.password_hash_concurrency.unwrap_or(1)),
            ("SWITCHBOARD_SIGN_IN_LOCKOUT_BASE_MS", self.sign_in_lockout_base_ms as usize),
            ("SWITCHBOARD_SIGN_IN_LOCKOUT_MAX_SECONDS", self.sign_in_lockout_max_seconds as usize),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        Ok(())
    }

    /// How long a history or analytics read may run.
    pub fn analytics_statement_timeout(&self) -> Duration {
        Duration::from_millis(self.analytics_statement_timeout_ms)
    }

    /// How long a sign-in lasts.
    pub fn token_ttl(&self) -> Duration {
        Duration::from_secs(u64::from(self.token_ttl_minutes) * 60)
    }

    /// The password-hashing bound.
    pub fn password_hashing(&self) -> crate::auth::PasswordHashing {
        crate::auth::PasswordHashing::new(
            self.password_hash_concurrency.unwrap_or_else(crate::auth::PasswordHashing::cores),
            Duration::from_millis(self.password_hash_wait_ms),
        )
    }

    /// The sign-in throttle's settings.
    pub fn throttle(&self) -> crate::domain::throttle::ThrottleSettings {
        crate::domain::throttle::ThrottleSettings {
            free_per_account: self.sign_in_free_failures,
            free_per_address: self.sign_in_free_failures_per_address,
            base: Duration::from_millis(self.sign_in_lockout_base_ms),
            max: Duration::from_secs(self.sign_in_lockout_max_seconds),
            capacity: crate::domain::throttle::DEFAULT_CAPACITY,
        }
    }
}

/// Whether `text` is a web origin: `http` or `https`, a host, maybe a port, nothing else.
fn is_origin(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once("://") else { return false };
    let (host, port) = rest.rsplit_once(':').map_or((rest, None), |(h, p)| (h, Some(p)));
    matches!(scheme, "http" | "https")
        && !host.is_empty()
        && (host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
            || (host.starts_with('[')
                && host.ends_with(']')
                && host[1..host.len() - 1].chars().all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '.'))))
        && port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit()))
}

/// The URL with any password replaced, safe to print.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => {
                    format!("{}{}:***{}", &url[..scheme_end + 3], &credentials[..colon], &url[at..])
                }
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_origins_are_origins() {
        let with = |origins: &[&str]| {
            let mut config = Config::for_database("sqlite::memory:");
            config.cors_origins = origins.iter().map(|o| (*o).to_owned()).collect();
            config.validate()
        };
        with(&[]).unwrap();
        with(&["*"]).unwrap();
        with(&["https://panel.example.com", "http://localhost:5173", "http://[::1]:8080"]).unwrap();
        for bad in
            [&["https://panel.example.com/"][..], &["panel.example.com"], &["ftp://x"], &["*", "https://a.b"]]
        {
            assert!(matches!(with(bad), Err(ConfigError::CorsOrigin(_))), "{bad:?}");
        }
    }

    #[test]
    fn a_read_replica_is_postgresql_beside_postgresql() {
        let with = |primary: &str, read: &str| {
            let mut config = Config::for_database(primary);
            config.read_database_url = Some(read.to_owned());
            config.validate()
        };
        with("postgres://db/sb", "postgres://replica/sb").unwrap();
        with("postgresql://db/sb", "postgresql://replica/sb").unwrap();
        for (primary, read) in [
            ("postgres://db/sb", "sqlite://replica.db"),
            ("sqlite://sb.db?mode=rwc", "postgres://replica/sb"),
            ("postgres://db/sb", "mysql://replica/sb"),
        ] {
            assert!(matches!(with(primary, read), Err(ConfigError::ReadDatabaseUrl(_))), "{primary} {read}");
        }
        // The refusal shows no password.
        let err = with("postgres://db/sb", "sqlite://u:hunter2@x").unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn redacts_passwords_in_urls() {
        assert_eq!(redact_url("postgres://app:hunter2@db:5432/sb"), "postgres://app:***@db:5432/sb");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn refuses_missing_secret_outside_dev_mode() {
        let mut config = Config::for_database("sqlite::memory:");
        config.dev = false;
        assert!(matches!(config.validate(), Err(ConfigError::MissingSecret)));
        config.jwt_secret = Some(Secret::new("short"));
        assert!(matches!(config.validate(), Err(ConfigError::ShortSecret)));
        config.jwt_secret = Some(Secret::new("x".repeat(32)));
        assert!(config.validate().is_ok());
    }

    #[test]
    fn refuses_unknown_database_schemes() {
        let config = Config::for_database("mysql://root@localhost/x");
        assert!(matches!(config.validate(), Err(ConfigError::DatabaseUrl(_))));
    }
}
