//! The server under test: a release `switchboard` binary run as a child process on a fresh
//! database, bootstrapped with an admin, a queue and a WhatsApp channel over GraphQL.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::procfs::{self, Memory};

/// Sign-in of the admin the bench creates.
const ADMIN_EMAIL: &str = "bench@example.com";
/// Password of that admin.
const ADMIN_PASSWORD: &str = "bench-password";
/// A closed local port: provider API calls (profile look-ups, media) fail at once, locally.
const NOWHERE: &str = "http://127.0.0.1:9";
/// The WhatsApp phone-number id of the bench channel; webhook bodies must name it.
pub const PHONE_NUMBER_ID: &str = "109876543210987";
/// The Meta app secret of the bench channel; webhook bodies are signed with it.
pub const APP_SECRET: &str = "bench-secret";
/// How long the server may take to answer `/readyz` after it is started.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A temporary directory, removed when dropped (unless kept).
pub struct WorkDir {
    path: PathBuf,
    keep: bool,
}

impl WorkDir {
    /// Creates a fresh directory under the system's temporary directory.
    pub fn new(label: &str) -> anyhow::Result<Self> {
        let path = std::env::temp_dir().join(format!("switchboard-bench-{label}-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self { path, keep: false })
    }

    /// Leaves the directory in place when this is dropped.
    pub fn keep(&mut self) {
        self.keep = true;
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// A running server; killed when dropped.
pub struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    /// Creates the admin on `database_url` (which also applies the migrations), then starts
    /// the server on a free loopback port and waits until `/readyz` answers 200.
    pub async fn start(bin: &Path, database_url: &str, dir: &Path) -> anyhow::Result<Self> {
        create_admin(bin, database_url)?;
        Self::serve(bin, database_url, dir).await
    }

    /// Starts the server on an already migrated database `database_url` (a restart keeps the
    /// data and the sessions: the JWT secret is fixed) and waits until `/readyz` answers 200.
    /// Its log is appended to `<dir>/server.log`.
    pub async fn serve(bin: &Path, database_url: &str, dir: &Path) -> anyhow::Result<Self> {
        check_bin(bin)?;
        let port = free_port()?;
        let log = dir.join("server.log");
        let log_file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .with_context(|| format!("cannot open {}", log.display()))?;
        let files = dir.join("files");
        fs::create_dir_all(&files)?;
        let child = Command::new(bin)
            .arg("serve")
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", database_url)
            .env("JWT_SECRET", "switchboard-bench-jwt-secret-0123456789abcdef")
            .env("SWITCHBOARD_FILES_DIR", &files)
            .env("RUST_LOG", "warn")
            .env("SWITCHBOARD_WHATSAPP_API_BASE", NOWHERE)
            .env("SWITCHBOARD_MESSENGER_API_BASE", NOWHERE)
            .env("SWITCHBOARD_TELEGRAM_API_BASE", NOWHERE)
            .env_remove("SWITCHBOARD_DEMO")
            .env_remove("SWITCHBOARD_DEV")
            .env_remove("SWITCHBOARD_NO_MIGRATE")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let mut server = Self { child, base: format!("http://127.0.0.1:{port}"), log };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
        let url = format!("{}/readyz", self.base);
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("the server exited ({status}) before it was ready; its log:\n{}", self.log_tail());
            }
            if let Ok(response) = client.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                bail!(
                    "the server did not answer /readyz within {READY_TIMEOUT:?}; its log:\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The base URL, such as `http://127.0.0.1:40123`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The last lines of the server's log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// The server's memory use now, and its peak so far.
    pub fn memory(&self) -> anyhow::Result<Memory> {
        procfs::memory(self.child.id())
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Signs in as `email` and returns the bearer token.
    pub async fn login(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> anyhow::Result<String> {
        let login = self
            .graphql(
                client,
                None,
                "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { token } }",
                json!({ "email": email, "password": password }),
            )
            .await
            .with_context(|| format!("login as {email}"))?;
        Ok(login["login"]["token"].as_str().context("login answered no token")?.to_owned())
    }

    /// Signs in as the bench admin and returns the bearer token.
    pub async fn admin_token(&self, client: &reqwest::Client) -> anyhow::Result<String> {
        self.login(client, ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Signs in as the bench admin, creates a queue and a WhatsApp channel, and returns the
    /// full URL of the channel's webhook.
    pub async fn create_channel(&self, client: &reqwest::Client) -> anyhow::Result<String> {
        let token = self.admin_token(client).await?;
        let queue = self
            .graphql(
                client,
                Some(&token),
                "mutation { createQueue(input: { name: \"Bench\" }) { id } }",
                json!({}),
            )
            .await
            .context("createQueue")?;
        let queue_id = queue["createQueue"]["id"].as_str().context("createQueue answered no id")?;
        let channel = self
            .graphql(
                client,
                Some(&token),
                "mutation($input: CreateChannelInput!) { createChannel(input: $input) { id webhookPath } }",
                json!({ "input": {
                    "kind": "WHATSAPP",
                    "name": "bench",
                    "queueId": queue_id,
                    "credentials": {
                        "appSecret": APP_SECRET,
                        "verifyToken": "v",
                        "accessToken": "t",
                        "phoneNumberId": PHONE_NUMBER_ID,
                    },
                } }),
            )
            .await
            .context("createChannel")?;
        let path = channel["createChannel"]["webhookPath"]
            .as_str()
            .context("createChannel answered no webhookPath")?;
        Ok(format!("{}{path}", self.base))
    }

    /// Runs one GraphQL operation and returns its `data`; GraphQL errors are errors.
    pub async fn graphql(
        &self,
        client: &reqwest::Client,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> anyhow::Result<Value> {
        let mut request = client
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status();
        let body: Value =
            response.json().await.with_context(|| format!("HTTP {status}, body is not JSON"))?;
        if let Some(errors) = body.get("errors").filter(|e| !e.is_null()) {
            bail!("GraphQL errors: {errors}");
        }
        if !status.is_success() {
            bail!("HTTP {status}: {body}");
        }
        Ok(body["data"].clone())
    }

    /// Stops the server (kills it and reaps the process).
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `switchboard create-admin` on `database_url`, which also applies the migrations.
fn create_admin(bin: &Path, database_url: &str) -> anyhow::Result<()> {
    check_bin(bin)?;
    let admin = Command::new(bin)
        .args(["create-admin", "--email", ADMIN_EMAIL, "--name", "Bench"])
        .env("DATABASE_URL", database_url)
        .env("SWITCHBOARD_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    if !admin.status.success() {
        bail!("`switchboard create-admin` failed: {}", String::from_utf8_lossy(&admin.stderr).trim());
    }
    Ok(())
}

/// Fails with a clear message when the server binary is missing.
fn check_bin(bin: &Path) -> anyhow::Result<()> {
    if !bin.is_file() {
        bail!(
            "server binary {} not found: build it first with `cargo build --release` \
             (or pass --server-bin)",
            bin.display()
        );
    }
    Ok(())
}

/// A loopback port nobody listens on right now.
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}
