//! The test harness: a real server on a random port against a fresh database, and a client
//! with one helper per operation.

use std::path::PathBuf;

use api::Server;
use api::config::{Config, Secret};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// The secret test servers sign tokens with (tests forge and expire tokens with it).
pub const JWT_SECRET: &str = "test-secret-of-at-least-thirty-two-bytes";
/// Password of every agent the harness creates.
pub const PASSWORD: &str = "correct horse battery";

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file.
    Sqlite,
    /// A fresh database on the server named by `TEST_DATABASE_URL`.
    Postgres,
}

/// A running server and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The port.
    pub port: u16,
    /// A plain HTTP client.
    pub http: reqwest::Client,
    /// The server's database, for asserting on rows.
    pub db: DatabaseConnection,
    stop: Option<oneshot::Sender<()>>,
    sqlite_dir: Option<PathBuf>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(dir) = &self.sqlite_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A fresh database URL for `backend`, and the SQLite folder to delete afterwards.
pub async fn fresh_database(backend: Backend) -> (String, Option<PathBuf>) {
    let name = format!("sb_test_{}", uuid::Uuid::new_v4().simple());
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(&name);
            std::fs::create_dir_all(&dir).expect("create a temporary folder");
            (format!("sqlite://{}/test.db?mode=rwc", dir.display()), Some(dir))
        }
        Backend::Postgres => {
            let admin_url = std::env::var("TEST_DATABASE_URL").expect(
                "TEST_DATABASE_URL is not set: PostgreSQL tests need a server. Run scripts/test.sh, \
                 which starts a throwaway cluster, or point TEST_DATABASE_URL at one.",
            );
            let admin = sea_orm::Database::connect(&admin_url).await.expect("connect to TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create a test database");
            admin.close().await.expect("close the admin connection");
            let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
            (format!("{base}/{name}"), None)
        }
    }
}

/// The configuration test servers start with: fast worker polling and retries, files in a
/// fresh temporary folder, and provider APIs on a closed local port unless a test points
/// them at its wiremock server.
pub fn test_config(database_url: String) -> Config {
    let mut config = Config::for_database(database_url);
    config.files_dir = std::env::temp_dir().join(format!("sb_files_{}", uuid::Uuid::new_v4().simple()));
    config.delivery_retry_base_ms = 20;
    config.worker_poll_ms = 50;
    for base in [&mut config.whatsapp_api_base, &mut config.messenger_api_base, &mut config.telegram_api_base]
    {
        *base = "http://127.0.0.1:9".into();
    }
    config.dev = false;
    config.jwt_secret = Some(Secret::new(JWT_SECRET));
    config.db_max_connections = 5;
    config.shutdown_grace_seconds = 1;
    config
}

impl TestApp {
    /// Starts a server on a fresh database.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts a server on a fresh database with a changed configuration.
    pub async fn spawn_with(backend: Backend, change: impl FnOnce(&mut Config)) -> Self {
        let (url, sqlite_dir) = fresh_database(backend).await;
        Self::start(url, sqlite_dir, change).await
    }

    /// Starts a server on an existing database (a restart, or a second instance).
    pub async fn start(url: String, sqlite_dir: Option<PathBuf>, change: impl FnOnce(&mut Config)) -> Self {
        let mut config = test_config(url);
        change(&mut config);
        let server = Server::build(config).await.expect("the server starts");
        let port = server.port();
        let db = server.db().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(server.run_until(async move {
            let _ = stopped.await;
        }));
        Self {
            base: format!("http://127.0.0.1:{port}"),
            port,
            http: reqwest::Client::new(),
            db,
            stop: Some(stop),
            sqlite_dir,
        }
    }

    /// A client for a server running elsewhere (another process) on `port`, with a pool of
    /// its own on `url` for asserting on rows.
    pub async fn attach(port: u16, url: &str) -> Self {
        Self {
            base: format!("http://127.0.0.1:{port}"),
            port,
            http: reqwest::Client::new(),
            db: sea_orm::Database::connect(url).await.expect("connect to the server's database"),
            stop: None,
            sqlite_dir: None,
        }
    }

    /// POSTs a GraphQL operation and returns the whole JSON body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self.http.post(format!("{}/graphql", self.base)).json(&json!({
            "query": query,
            "variables": variables,
        }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the server answers");
        assert_eq!(response.status(), 200, "GraphQL over HTTP answers 200 for application/json");
        response.json().await.expect("a JSON body")
    }

    /// Runs an operation that must succeed and returns its `data`.
    pub async fn ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = self.gql(token, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// Runs an operation that must fail and returns the first error's code.
    pub async fn error_code(&self, token: Option<&str>, query: &str, variables: Value) -> String {
        let body = self.gql(token, query, variables).await;
        body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error with a code: {body:#}"))
            .to_owned()
    }

    /// Creates an agent straight through the domain (how the first admin is bootstrapped).
    pub async fn create_agent(&self, email: &str, role: entity::enums::Role) -> String {
        let agent = api::domain::agents::create(
            &self.db,
            &api::auth::PasswordHashing::default(),
            api::domain::agents::NewAgent {
                name: email.split('@').next().unwrap_or(email).to_owned(),
                email: email.to_owned(),
                password: PASSWORD.to_owned(),
                role,
            },
        )
        .await
        .expect("create an agent");
        api::graphql::ids::encode("Agent", agent.id).0
    }

    /// Signs in and returns the token.
    pub async fn login(&self, email: &str) -> String {
        let data = self
            .ok(
                None,
                "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }",
                json!({ "email": email, "password": PASSWORD }),
            )
            .await;
        data["login"]["token"].as_str().expect("a token").to_owned()
    }

    /// Creates an admin, signs them in and returns the token.
    pub async fn admin(&self) -> String {
        self.create_agent("admin@example.com", entity::enums::Role::Admin).await;
        self.login("admin@example.com").await
    }

    /// Creates an agent of `role`, signs them in, and returns (global id, token).
    pub async fn signed_in(&self, email: &str, role: entity::enums::Role) -> (String, String) {
        let id = self.create_agent(email, role).await;
        let token = self.login(email).await;
        (id, token)
    }
}

/// Generates `sqlite` and `postgres` variants of a test taking a fresh `TestApp`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::support::{Backend, TestApp};

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(TestApp::spawn(Backend::Sqlite).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(TestApp::spawn(Backend::Postgres).await).await;
            }
        }
    )*};
}

/// Points every provider API at `base` (a wiremock server's URI).
pub fn providers_at(config: &mut Config, base: &str) {
    config.whatsapp_api_base = base.to_owned();
    config.messenger_api_base = base.to_owned();
    config.telegram_api_base = base.to_owned();
}

/// The bytes of a provider fixture, e.g. `fixture("whatsapp/text_message.json")`.
pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/tests/fixtures/channels/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|err| panic!("read {full}: {err}"))
}

/// Secrets of the channels [`TestApp::channels`] creates.
pub const APP_SECRET: &str = "test-app-secret";
/// Verify token of the Meta channels.
pub const VERIFY_TOKEN: &str = "verify-me";
/// Telegram webhook secret.
pub const TELEGRAM_SECRET: &str = "tg-secret_123";

/// The channels of a test: one per provider, in one queue.
pub struct Channels {
    /// Webhook paths.
    pub whatsapp: String,
    /// Webhook path of the Messenger channel.
    pub messenger: String,
    /// Webhook path of the Telegram channel.
    pub telegram: String,
    /// Global ids: WhatsApp, Messenger, Telegram.
    pub ids: [String; 3],
}

impl TestApp {
    /// Creates a queue (with a 30-minute completion timeout) and one channel per provider, with
    /// the fixtures' account ids and the test secrets.
    pub async fn channels(&self, admin: &str) -> Channels {
        let queue = self
            .ok(
                Some(admin),
                "mutation { createQueue(input: { name: \"Support\", completionTimeoutMinutes: 30 }) { id } }",
                json!({}),
            )
            .await["createQueue"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let create =
            "mutation($input: CreateChannelInput!) { createChannel(input: $input) { id webhookPath } }";
        let mut paths = Vec::new();
        let mut ids = Vec::new();
        for (kind, credentials) in [
            (
                "WHATSAPP",
                json!({ "appSecret": APP_SECRET, "verifyToken": VERIFY_TOKEN, "accessToken": "wa-token", "phoneNumberId": "109876543210987" }),
            ),
            (
                "MESSENGER",
                json!({ "appSecret": APP_SECRET, "verifyToken": VERIFY_TOKEN, "accessToken": "page-token", "pageId": "104857361029384" }),
            ),
            ("TELEGRAM", json!({ "botToken": "7012345678:bot-token", "secretToken": TELEGRAM_SECRET })),
        ] {
            let input = json!({ "input": { "kind": kind, "name": kind, "queueId": queue, "credentials": credentials } });
            let data = self.ok(Some(admin), create, input).await;
            paths.push(data["createChannel"]["webhookPath"].as_str().unwrap().to_owned());
            ids.push(data["createChannel"]["id"].as_str().unwrap().to_owned());
        }
        Channels {
            whatsapp: paths[0].clone(),
            messenger: paths[1].clone(),
            telegram: paths[2].clone(),
            ids: [ids[0].clone(), ids[1].clone(), ids[2].clone()],
        }
    }

    /// POSTs a webhook body signed as its provider would (by the path's provider).
    pub async fn webhook(&self, path: &str, body: &[u8]) -> u16 {
        let mut request = self.http.post(format!("{}{path}", self.base)).body(body.to_vec());
        request = if path.contains("/telegram/") {
            request.header("x-telegram-bot-api-secret-token", TELEGRAM_SECRET)
        } else {
            request.header("x-hub-signature-256", api::channels::signature::meta_signature(APP_SECRET, body))
        };
        request.header("content-type", "application/json").send().await.unwrap().status().as_u16()
    }

    /// Counts rows of a table.
    pub async fn count(&self, table: &str) -> i64 {
        use sea_orm::Statement;
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let row = self
            .db
            .query_one_raw(Statement::from_string(self.db.get_database_backend(), sql))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }
}

/// Polls `check` until it returns `Some`, for up to 10 seconds.
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    eventually_within(std::time::Duration::from_secs(10), what, check).await
}

/// [`eventually`] with another deadline (a binary starting, a database coming back).
pub async fn eventually_within<T, F, Fut>(limit: std::time::Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// Generates `sqlite` and `postgres` variants of a test taking the [`Backend`] (for tests that
/// start their own servers).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::support::Backend::Postgres).await;
            }
        }
    )*};
}
