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

    /// Largest accepted request body, in bytes; larger requests get HTTP 413.
    #[arg(long, env = "SWITCHBOARD_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Deepest accepted GraphQL selection nesting.
    #[arg(long, env = "SWITCHBOARD_MAX_QUERY_DEPTH", default_value_t = 12)]
    pub max_query_depth: usize,

    /// Highest accepted GraphQL query complexity (one point per field, multiplied by page sizes).
    #[arg(long, env = "SWITCHBOARD_MAX_QUERY_COMPLEXITY", default_value_t = 5000)]
    pub max_query_complexity: usize,

    /// Largest page a connection returns (`first` above it is refused).
    #[arg(long, env = "SWITCHBOARD_MAX_PAGE_SIZE", default_value_t = 100)]
    pub max_page_size: usize,

    /// Maximum database connections in the pool.
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
    /// No JWT secret outside dev mode.
    #[error("JWT_SECRET is required (at least 32 bytes); pass --dev or --demo to use a random one")]
    MissingSecret,
    /// A JWT secret too short to be safe.
    #[error("JWT_SECRET must be at least 32 bytes long")]
    ShortSecret,
    /// A limit set to zero.
    #[error("{0} must be greater than zero")]
    Zero(&'static str),
}

impl Config {
    /// A configuration with every default, for tests and embedding.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        Self {
            bind: "127.0.0.1:0".parse().expect("static address parses"),
            database_url: database_url.into(),
            jwt_secret: None,
            dev: true,
            demo: false,
            no_migrate: false,
            token_ttl_minutes: 720,
            max_body_bytes: 1024 * 1024,
            max_query_depth: 12,
            max_query_complexity: 5000,
            max_page_size: 100,
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
            event_retention_hours: 168,
            subscription_buffer: 4096,
            session_check_seconds: 15,
            session_cache_ms: 5000,
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
        match &self.jwt_secret {
            None if !self.dev_mode() => return Err(ConfigError::MissingSecret),
            Some(secret) if secret.expose().len() < 32 => return Err(ConfigError::ShortSecret),
            _ => {}
        }
        for (name, value) in [
            ("SWITCHBOARD_TOKEN_TTL_MINUTES", self.token_ttl_minutes as usize),
            ("SWITCHBOARD_MAX_BODY_BYTES", self.max_body_bytes),
            ("SWITCHBOARD_MAX_QUERY_DEPTH", self.max_query_depth),
            ("SWITCHBOARD_MAX_QUERY_COMPLEXITY", self.max_query_complexity),
            ("SWITCHBOARD_MAX_PAGE_SIZE", self.max_page_size),
            ("SWITCHBOARD_DB_MAX_CONNECTIONS", self.db_max_connections as usize),
            ("SWITCHBOARD_MAX_FILE_BYTES", self.max_file_bytes as usize),
            ("SWITCHBOARD_DELIVERY_MAX_ATTEMPTS", self.delivery_max_attempts as usize),
            ("SWITCHBOARD_DELIVERY_LEASE_SECONDS", self.delivery_lease_seconds as usize),
            ("SWITCHBOARD_WORKER_POLL_MS", self.worker_poll_ms as usize),
            ("SWITCHBOARD_EVENT_RETENTION_HOURS", self.event_retention_hours as usize),
            ("SWITCHBOARD_SUBSCRIPTION_BUFFER", self.subscription_buffer),
            ("SWITCHBOARD_SESSION_CHECK_SECONDS", self.session_check_seconds as usize),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        Ok(())
    }

    /// How long a sign-in lasts.
    pub fn token_ttl(&self) -> Duration {
        Duration::from_secs(u64::from(self.token_ttl_minutes) * 60)
    }
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
