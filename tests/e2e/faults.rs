//! Faults: the database going away and coming back, a server killed mid-work. Nobody hangs,
//! nothing acknowledged is lost, nothing is stored twice, and a dead instance's sends are
//! taken over within seconds.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use entity::enums::{DeliveryStatus, Role};
use entity::messages;
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder, Statement};
use serde_json::{Value, json};
use tokio::process::{Child, Command};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::on_both_backends;
use crate::outbound::newest_chat_to_agent;
use crate::support::{
    APP_SECRET, Backend, JWT_SECRET, TestApp, eventually, eventually_within, fixture, fresh_database,
    providers_at,
};

/// A request that takes longer than this is hung (the hang detector; nothing here is timed).
const HANG: Duration = Duration::from_secs(8);

const SEND: &str = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }";
const TELEGRAM_SEND: &str = "/bot7012345678:bot-token/sendMessage";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port").local_addr().unwrap().port()
}

/// A PostgreSQL cluster of this test's own, to stop and start at will (the shared one named
/// by TEST_DATABASE_URL serves other tests meanwhile). Found and run as
/// `scripts/with-postgres.sh` does: the newest /usr/lib/postgresql/*/bin, as the `postgres`
/// user when we are root (initdb refuses root).
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl Cluster {
    fn command(bin: &std::path::Path, as_postgres: bool, program: &str) -> std::process::Command {
        let program = bin.join(program);
        if as_postgres {
            let mut command = std::process::Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            std::process::Command::new(program)
        }
    }

    /// Runs a PostgreSQL program to completion (off the async workers: pg_ctl waits).
    async fn run(&self, program: &str, args: Vec<String>) {
        let mut command = Self::command(&self.bin, self.as_postgres, program);
        command.args(&args);
        let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap().expect(program);
        assert!(
            output.status.success(),
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    async fn create() -> Self {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's server binaries in /usr/lib/postgresql (scripts/with-postgres.sh installs them)")
            .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
            .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
            .collect();
        versions.sort_by_key(|bin| {
            bin.parent().and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok()).unwrap_or(0)
        });
        let bin = versions.pop().expect("initdb and pg_ctl under /usr/lib/postgresql/*/bin");
        let dir = std::env::temp_dir().join(format!("sb_pg_{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let as_postgres = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
        if as_postgres {
            let chown = std::process::Command::new("chown").arg("postgres:").arg(&dir).status().unwrap();
            assert!(chown.success(), "chown the cluster's folder to postgres");
        }
        let cluster = Self { bin, dir, port: free_port(), as_postgres };
        let data = cluster.dir.join("data").display().to_string();
        let args = ["-D", &data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"];
        cluster.run("initdb", args.map(String::from).to_vec()).await;
        cluster.start().await;
        cluster
    }

    async fn start(&self) {
        let dir = self.dir.display().to_string();
        // fsync=off is safe here: an immediate stop kills the server, not the machine, so what
        // it wrote is in the page cache. synchronous_commit stays on: an acknowledged commit
        // must survive the stop.
        let options = format!("-p {} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off", self.port);
        let args = [
            "-D",
            &format!("{dir}/data"),
            "-l",
            &format!("{dir}/server.log"),
            "-w",
            "-t",
            "30",
            "-o",
            &options,
            "start",
        ];
        self.run("pg_ctl", args.map(String::from).to_vec()).await;
    }

    /// Stops the cluster at once, as a crash would (no shutdown checkpoint, clients cut off).
    async fn stop(&self) {
        let data = format!("{}/data", self.dir.display());
        self.run("pg_ctl", ["-D", &data, "-m", "immediate", "stop"].map(String::from).to_vec()).await;
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = format!("{}/data", self.dir.display());
        let _ = Self::command(&self.bin, self.as_postgres, "pg_ctl")
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The real binary, started as an operator would, to be killed with SIGKILL (or to be another
/// instance with a memory of its own).
pub(crate) struct Binary {
    child: Child,
    /// The port it listens on.
    pub(crate) port: u16,
    files: PathBuf,
}

impl Binary {
    /// Starts `switchboard` on `url` with its providers at `providers`, once it is ready.
    pub(crate) async fn spawn(url: &str, providers: &str) -> Self {
        let port = free_port();
        let files = std::env::temp_dir().join(format!("sb_files_{}", uuid::Uuid::new_v4().simple()));
        let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        for var in ["SWITCHBOARD_DEV", "SWITCHBOARD_DEMO", "RUST_LOG"] {
            command.env_remove(var);
        }
        command
            .env("DATABASE_URL", url)
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("JWT_SECRET", JWT_SECRET)
            .env("SWITCHBOARD_FILES_DIR", &files)
            .env("SWITCHBOARD_WORKER_POLL_MS", "50")
            .env("SWITCHBOARD_DELIVERY_RETRY_BASE_MS", "20")
            .env("SWITCHBOARD_WHATSAPP_API_BASE", providers)
            .env("SWITCHBOARD_MESSENGER_API_BASE", providers)
            .env("SWITCHBOARD_TELEGRAM_API_BASE", providers)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        let child = command.spawn().expect("start the switchboard binary");
        let http = reqwest::Client::new();
        eventually_within(Duration::from_secs(60), "the binary to be ready", || async {
            let ready = http.get(format!("http://127.0.0.1:{port}/readyz")).send().await;
            ready.ok().filter(|r| r.status() == 200).map(|_| ())
        })
        .await;
        Self { child, port, files }
    }

    /// `kill -9`, and wait for the process to be gone.
    async fn kill(&mut self) {
        self.child.kill().await.expect("kill the server");
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.files);
    }
}

/// A WhatsApp text message with a provider id of its own (`wamid.fault{n}`): every other one
/// from a new customer (their contact and chat created with it, `domain::ingest::newcomer`),
/// the others from the fixture's returning customer (appended to her open chat).
fn whatsapp_message(n: usize) -> Vec<u8> {
    let mut body: Value = serde_json::from_slice(&fixture("whatsapp/text_message.json")).unwrap();
    let value = &mut body["entry"][0]["changes"][0]["value"];
    if n % 2 == 1 {
        let customer = format!("4479{n:08}");
        value["contacts"][0]["wa_id"] = json!(customer);
        value["messages"][0]["from"] = json!(customer);
    }
    let message = &mut value["messages"][0];
    message["id"] = json!(format!("wamid.fault{n}"));
    message["text"]["body"] = json!(format!("message {n}"));
    serde_json::to_vec(&body).unwrap()
}

/// POSTs a signed WhatsApp webhook; `None` when no answer came (refused, cut off, or hung).
async fn post_webhook(http: &reqwest::Client, base: &str, path: &str, body: Vec<u8>) -> Option<u16> {
    let signature = api::channels::signature::meta_signature(APP_SECRET, &body);
    let response = http
        .post(format!("{base}{path}"))
        .header("x-hub-signature-256", signature)
        .header("content-type", "application/json")
        .body(body)
        .timeout(HANG)
        .send()
        .await;
    response.ok().map(|r| r.status().as_u16())
}

/// Webhooks sent one after another, each a new customer message, until stopped; records
/// what each got back.
struct Traffic {
    stop: Arc<AtomicBool>,
    outcomes: Arc<Mutex<Vec<Option<u16>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Traffic {
    fn start(base: &str, path: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let (base, path) = (base.to_owned(), path.to_owned());
        let task = tokio::spawn({
            let (stop, outcomes) = (stop.clone(), outcomes.clone());
            async move {
                let http = reqwest::Client::new();
                for n in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let outcome = post_webhook(&http, &base, &path, whatsapp_message(n)).await;
                    outcomes.lock().unwrap().push(outcome);
                    if outcome.is_none() {
                        // Nobody listening (a killed server): pace the load generator rather
                        // than spin on refused connections. Not a wait for a condition: the
                        // test waits on rows and answers (eventually_within).
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        });
        Self { stop, outcomes, task }
    }

    fn count(&self, outcome: Option<u16>) -> usize {
        self.outcomes.lock().unwrap().iter().filter(|o| **o == outcome).count()
    }

    async fn finish(self) -> Vec<Option<u16>> {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.unwrap();
        self.outcomes.lock().unwrap().clone()
    }
}

/// How many times each `wamid.fault*` message is stored.
async fn stored_counts(app: &TestApp) -> std::collections::HashMap<String, i64> {
    let sql = "SELECT provider_message_id AS id, COUNT(*) AS n FROM messages \
               WHERE provider_message_id LIKE 'wamid.fault%' GROUP BY provider_message_id";
    let rows =
        app.db.query_all_raw(Statement::from_string(app.db.get_database_backend(), sql)).await.unwrap();
    rows.iter().map(|row| (row.try_get("", "id").unwrap(), row.try_get("", "n").unwrap())).collect()
}

/// Every acknowledged message is stored; then, once the provider redelivered the others
/// (as it does until it gets a 200), every message is stored exactly once.
async fn nothing_lost_nothing_twice(app: &TestApp, path: &str, outcomes: &[Option<u16>]) {
    let stored = stored_counts(app).await;
    for (n, outcome) in outcomes.iter().enumerate() {
        if *outcome == Some(200) {
            assert!(
                stored.contains_key(&format!("wamid.fault{n}")),
                "message {n} was acknowledged but is not stored"
            );
        }
    }
    let http = reqwest::Client::new();
    for (n, _) in outcomes.iter().enumerate().filter(|(_, outcome)| **outcome != Some(200)) {
        eventually(&format!("redelivery of message {n} to be acknowledged"), || async {
            (post_webhook(&http, &app.base, path, whatsapp_message(n)).await == Some(200)).then_some(())
        })
        .await;
    }
    let stored = stored_counts(app).await;
    assert_eq!(stored.len(), outcomes.len(), "every message sent is stored");
    assert!(stored.values().all(|n| *n == 1), "no message is stored twice: {stored:?}");
    // Nothing half-written: every contact has its identity and its one chat.
    let sql = "SELECT COUNT(*) AS n FROM contacts c \
               WHERE (SELECT COUNT(*) FROM contact_identities i WHERE i.contact_id = c.id) <> 1 \
                  OR (SELECT COUNT(*) FROM chats h WHERE h.contact_id = c.id) <> 1";
    let row = app.db.query_one_raw(Statement::from_string(app.db.get_database_backend(), sql)).await.unwrap();
    assert_eq!(row.unwrap().try_get::<i64>("", "n").unwrap(), 0, "a contact without its identity or chat");
}

/// A GraphQL query that reads the database, with the hang detector; the whole body.
async fn list_queues(http: &reqwest::Client, app: &TestApp, token: &str) -> Value {
    let response = http
        .post(format!("{}/graphql", app.base))
        .bearer_auth(token)
        .json(&json!({ "query": "{ queues { nodes { id name } } }" }))
        .timeout(HANG)
        .send()
        .await
        .expect("GraphQL answers during a database outage, without hanging");
    response.json().await.unwrap()
}

async fn readyz(http: &reqwest::Client, app: &TestApp) -> u16 {
    let response = http
        .get(format!("{}/readyz", app.base))
        .timeout(HANG)
        .send()
        .await
        .expect("/readyz answers during a database outage, without hanging");
    response.status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_fails_fast_and_recovers_without_a_restart() {
    let cluster = Cluster::create().await;
    let app = TestApp::start(cluster.url(), None, |_| {}).await;
    let admin = app.admin().await;
    let channels = app.channels(&admin).await;
    // A token the server has not checked yet: its first request must read the session.
    let (_, unchecked) = app.signed_in("agent@example.com", Role::Agent).await;
    let http = reqwest::Client::new();
    assert_eq!(readyz(&http, &app).await, 200);

    let traffic = Traffic::start(&app.base, &channels.whatsapp);
    eventually("webhooks to be acknowledged", || async { (traffic.count(Some(200)) >= 5).then_some(()) })
        .await;
    cluster.stop().await;

    assert_eq!(readyz(&http, &app).await, 503, "/readyz reports the outage");
    for token in [&admin, &unchecked] {
        let body = list_queues(&http, &app, token).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "DATABASE_UNAVAILABLE", "{body:#}");
        assert!(!body.to_string().contains("SELECT"), "no SQL reaches a client: {body:#}");
    }
    // Webhooks are answered 503 (the provider redelivers), not left hanging.
    eventually_within(Duration::from_secs(30), "a webhook answered 503 during the outage", || async {
        (traffic.count(Some(503)) >= 2).then_some(())
    })
    .await;

    cluster.start().await;
    eventually_within(Duration::from_secs(30), "/readyz to recover", || async {
        (readyz(&http, &app).await == 200).then_some(())
    })
    .await;
    eventually_within(Duration::from_secs(30), "GraphQL to recover", || async {
        list_queues(&http, &app, &admin).await.get("errors").is_none().then_some(())
    })
    .await;
    let acknowledged = traffic.count(Some(200));
    eventually_within(Duration::from_secs(30), "webhooks to be acknowledged again", || async {
        (traffic.count(Some(200)) >= acknowledged + 5).then_some(())
    })
    .await;
    let outcomes = traffic.finish().await;
    assert!(outcomes.iter().all(Option::is_some), "no webhook hung or was cut off: {outcomes:?}");
    nothing_lost_nothing_twice(&app, &channels.whatsapp, &outcomes).await;
}

async fn killed_under_webhook_traffic_loses_nothing_acknowledged(backend: Backend) {
    let (url, dir) = fresh_database(backend).await;
    let mut first = Binary::spawn(&url, "http://127.0.0.1:9").await;
    let app = TestApp::attach(first.port, &url).await;
    let admin = app.admin().await;
    let channels = app.channels(&admin).await;
    let traffic = Traffic::start(&app.base, &channels.whatsapp);
    eventually("webhooks to be acknowledged", || async { (traffic.count(Some(200)) >= 20).then_some(()) })
        .await;
    first.kill().await;
    let outcomes = traffic.finish().await;

    let restarted = TestApp::start(url, dir, |_| {}).await;
    nothing_lost_nothing_twice(&restarted, &channels.whatsapp, &outcomes).await;
}

/// How many sends the provider received.
async fn sends(mock: &MockServer) -> usize {
    let requests = mock.received_requests().await.unwrap_or_default();
    requests.iter().filter(|r| r.url.path() == TELEGRAM_SEND).count()
}

fn send_response() -> Value {
    serde_json::from_slice(&fixture("telegram/send_response.json")).unwrap()
}

/// A customer's Telegram message comes in, the chat goes to an agent, who replies; returns
/// the reply's row id.
async fn reply_queued(app: &TestApp) -> i64 {
    let admin = app.admin().await;
    let channels = app.channels(&admin).await;
    assert_eq!(app.webhook(&channels.telegram, &fixture("telegram/text_message.json")).await, 200);
    let (chat, _, token) = newest_chat_to_agent(app).await;
    app.ok(Some(&token), SEND, json!({ "input": { "chatId": chat, "text": "On it!" } })).await;
    let reply =
        messages::Entity::find().order_by_desc(messages::Column::Id).one(&app.db).await.unwrap().unwrap();
    reply.id
}

async fn delivered(app: &TestApp, id: i64) {
    eventually_within(Duration::from_secs(40), "the reply to be sent", || async {
        let row = messages::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap();
        (row.delivery_status == Some(DeliveryStatus::Sent)).then_some(())
    })
    .await;
}

async fn a_killed_instances_send_is_taken_over_within_seconds(backend: Backend) {
    let mock = MockServer::start().await;
    // The first call never answers in time: its instance is killed during it.
    Mock::given(method("POST"))
        .and(path(TELEGRAM_SEND))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(send_response()).set_delay(Duration::from_secs(300)),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&mock)
        .await;
    Mock::given(method("POST"))
        .and(path(TELEGRAM_SEND))
        .respond_with(ResponseTemplate::new(200).set_body_json(send_response()))
        .with_priority(2)
        .mount(&mock)
        .await;
    let (url, dir) = fresh_database(backend).await;
    let mut first = Binary::spawn(&url, &mock.uri()).await;
    let app = TestApp::attach(first.port, &url).await;
    let reply = reply_queued(&app).await;
    eventually("the first instance to call the provider", || async {
        (sends(&mock).await == 1).then_some(())
    })
    .await;
    first.kill().await;

    // A live instance (here the restarted one, with the default lease) takes the send over
    // within seconds, not after the two minutes the old fixed lease held it.
    let restarted = TestApp::start(url, dir, |config| providers_at(config, &mock.uri())).await;
    delivered(&restarted, reply).await;
    // At least once: the dead instance's call may have gone through, and it is made again.
    assert_eq!(sends(&mock).await, 2);
}

async fn a_long_send_is_not_taken_over_while_its_worker_lives(backend: Backend) {
    let mock = MockServer::start().await;
    // The provider takes four times the lease to answer.
    Mock::given(method("POST"))
        .and(path(TELEGRAM_SEND))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(send_response()).set_delay(Duration::from_secs(4)),
        )
        .expect(1)
        .mount(&mock)
        .await;
    let uri = mock.uri();
    let short_lease = |config: &mut api::config::Config| {
        providers_at(config, &uri);
        config.delivery_lease_seconds = 1;
    };
    let (url, dir) = fresh_database(backend).await;
    let app = TestApp::start(url.clone(), dir, short_lease).await;
    // A second instance, polling the outbox, ready to take over any lease that lapses.
    let _other = TestApp::start(url, None, short_lease).await;
    let reply = reply_queued(&app).await;
    delivered(&app, reply).await;
    assert_eq!(sends(&mock).await, 1, "the renewed lease kept the send with its live worker");
    mock.verify().await;
}

on_both_backends!(
    killed_under_webhook_traffic_loses_nothing_acknowledged,
    a_killed_instances_send_is_taken_over_within_seconds,
    a_long_send_is_not_taken_over_while_its_worker_lives,
);
