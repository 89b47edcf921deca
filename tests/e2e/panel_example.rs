//! The TypeScript client example (examples/panel): its types are generated from
//! `schema.graphql` by graphql-codegen, it compiles under `tsc --strict`, and its script signs
//! in, subscribes with graphql-ws, accepts a chat a customer opened and answers it, against a
//! real server. Its dependencies are installed by scripts/panel-example.sh (run by
//! scripts/test.sh); without them this test fails and says so.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use entity::enums::{ChatStatus, Direction, Role};
use entity::{chats, messages};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::mpsc;

use crate::lifecycle::telegram;
use crate::on_both_backends;
use crate::support::{Backend, PASSWORD, TestApp};

const HINT: &str = "run scripts/test.sh (or scripts/panel-example.sh once), which installs Node.js and \
                    the example's dependencies with npm ci";
const REPLY: &str = "Hello from the TypeScript panel";
/// A hang detector, well above what the script needs (it gives up by itself after 20 s).
const HANG: Duration = Duration::from_secs(60);

fn panel_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/panel")
}

/// Runs a command in the example's folder, returning its output as an error when it fails.
fn run(program: &Path, args: &[&str]) -> Result<(), String> {
    let output = Command::new(program)
        .args(args)
        .current_dir(panel_dir())
        .output()
        .map_err(|err| format!("{} could not start ({err}): {HINT}", program.display()))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{} {} failed ({}):\n{}\n{}",
        program.display(),
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// Generates the types from `schema.graphql` and compiles the example with `tsc --strict`;
/// the compiled script's path.
fn build() -> Result<PathBuf, String> {
    let dir = panel_dir();
    run(Path::new("node"), &["--version"])?;
    let bin = dir.join("node_modules/.bin");
    for tool in ["graphql-codegen", "tsc"] {
        if !bin.join(tool).exists() {
            return Err(format!("{} is missing: {HINT}", bin.join(tool).display()));
        }
    }
    run(&bin.join("graphql-codegen"), &["--config", "codegen.json", "--silent"])?;
    run(&bin.join("tsc"), &["--strict", "--project", "tsconfig.json"])?;
    Ok(dir.join("dist/panel.js"))
}

/// Builds once per test run: both backends' tests share the build.
async fn built() -> PathBuf {
    static BUILD: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let result =
        tokio::task::spawn_blocking(|| BUILD.get_or_init(build).clone()).await.expect("the build task");
    result.unwrap_or_else(|err| panic!("the TypeScript example could not be built: {err}"))
}

async fn the_typescript_panel_accepts_and_answers_a_chat(backend: Backend) {
    let script = built().await;
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let channels = app.channels(&admin).await;
    let queue = app.ok(Some(&admin), "{ queues { edges { node { id } } } }", json!({})).await["queues"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A new agent: INACTIVE and signed out until the script signs in and goes ACTIVE.
    let agent = app.create_agent("panel@example.com", Role::Agent).await;
    app.ok(
        Some(&admin),
        "mutation($input: UpdateQueueInput!) { updateQueue(input: $input) { id } }",
        json!({ "input": { "id": queue, "agentIds": [agent] } }),
    )
    .await;
    let agent_row = api::graphql::ids::decode(&async_graphql::ID(agent.clone()), "Agent").unwrap();

    let mut child = tokio::process::Command::new("node")
        .arg(&script)
        .current_dir(panel_dir())
        .env("SWITCHBOARD_URL", &app.base)
        .env("SWITCHBOARD_EMAIL", "panel@example.com")
        .env("SWITCHBOARD_PASSWORD", PASSWORD)
        .env("PANEL_REPLY", REPLY)
        .env("PANEL_TIMEOUT_SECONDS", "20")
        // Drop the socket after accepting: the reply's event must come back through `after`.
        .env("PANEL_SIMULATE_DROP", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|err| panic!("node could not start ({err}): {HINT}"));
    let (lines_tx, mut lines) = mpsc::unbounded_channel::<String>();
    let stdout = child.stdout.take().unwrap();
    tokio::spawn(async move {
        let mut reader = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut stderr = child.stderr.take().unwrap();
    let diagnostics = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });

    // Wait until the script's subscription is live, then a customer writes.
    let mut said = Vec::new();
    let subscribed = tokio::time::timeout(HANG, async {
        while let Some(line) = lines.recv().await {
            said.push(line.clone());
            if line.starts_with("SUBSCRIBED") {
                return true;
            }
        }
        false
    })
    .await;
    if subscribed != Ok(true) {
        let _ = child.start_kill();
        panic!("the script never said SUBSCRIBED; it said {said:?}; stderr:\n{}", diagnostics.await.unwrap());
    }
    assert_eq!(app.webhook(&channels.telegram, &telegram(9001, 1, "hello, anyone there?")).await, 200);

    let status = tokio::time::timeout(HANG, child.wait()).await.expect("the script exits by itself").unwrap();
    while let Ok(line) = lines.try_recv() {
        said.push(line);
    }
    let stderr = diagnostics.await.unwrap();
    assert!(status.success(), "the script failed ({status}); it said {said:?}; stderr:\n{stderr}");
    for word in ["SIGNED_IN", "SUBSCRIBED", "OFFERED", "ACCEPTED", "REPLIED"] {
        assert!(said.iter().any(|l| l.starts_with(word)), "no {word} in {said:?}");
    }
    assert!(
        stderr.contains("resubscribing to myChatEvents after"),
        "the dropped stream resumed with `after`; stderr:\n{stderr}"
    );

    // The database agrees: the chat is the agent's, in progress, with the reply stored.
    let chat = chats::Entity::find().one(&app.db).await.unwrap().expect("the customer's chat");
    assert_eq!(chat.status, ChatStatus::InProgress);
    assert_eq!(chat.owner_id, Some(agent_row));
    let replies = messages::Entity::find()
        .filter(messages::Column::ChatId.eq(chat.id))
        .filter(messages::Column::Direction.eq(Direction::Outgoing))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(replies.len(), 1, "one reply: {replies:?}");
    assert_eq!(replies[0].text.as_deref(), Some(REPLY));
    assert_eq!(replies[0].author_agent_id, Some(agent_row));
    let accepted = api::graphql::ids::encode("Chat", chat.id).0;
    assert!(said.iter().any(|l| l == &format!("ACCEPTED {accepted} IN_PROGRESS")), "{said:?}");
}

on_both_backends!(the_typescript_panel_accepts_and_answers_a_chat);
