//! The binary: start-up failures are one clear line; `schema` prints the SDL.

use std::process::Command;

fn switchboard() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    for var in ["DATABASE_URL", "BIND", "JWT_SECRET", "SWITCHBOARD_DEV", "SWITCHBOARD_DEMO"] {
        command.env_remove(var);
    }
    command
}

fn fails_with(args: &[&str], envs: &[(&str, &str)], expected: &str) {
    let output = switchboard().args(args).envs(envs.iter().copied()).output().expect("run the binary");
    assert!(!output.status.success(), "{args:?} should fail");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("switchboard: "), "one clear line, got {stderr:?}");
    assert!(last.contains(expected), "{last:?} should mention {expected:?}");
    assert!(!stderr.contains("hunter2"), "no secrets in errors: {stderr:?}");
}

#[test]
fn bad_configuration_fails_with_one_line() {
    let secret = ("JWT_SECRET", "a-secret-that-is-long-enough-for-hs256!!");
    fails_with(
        &["--bind", "127.0.0.1:0"],
        &[("DATABASE_URL", "mysql://root:hunter2@db/x"), secret],
        "DATABASE_URL must start with",
    );
    fails_with(
        &["--bind", "127.0.0.1:0", "--database-url", "sqlite::memory:"],
        &[],
        "JWT_SECRET is required",
    );
    fails_with(
        &["--bind", "127.0.0.1:0", "--database-url", "sqlite::memory:"],
        &[("JWT_SECRET", "short")],
        "at least 32 bytes",
    );
    // Nothing listens on port 1: the database is unreachable.
    fails_with(
        &["--bind", "127.0.0.1:0"],
        &[("DATABASE_URL", "postgres://app:hunter2@127.0.0.1:1/x"), secret],
        "cannot open the database postgres://app:***@127.0.0.1:1/x",
    );
    // Flags clap cannot parse are refused by clap, naming the flag.
    let output = switchboard().args(["--bind", "not-an-address"]).output().unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .starts_with("error: invalid value 'not-an-address' for '--bind")
    );
}

/// The binary allocates through mimalloc (src/main.rs): glibc's malloc cost about a quarter
/// of the server's CPU on the panel read, and profiling with heaptrack means commenting the
/// allocator out, which once reached main unnoticed. mimalloc announces itself when
/// `MIMALLOC_VERBOSE` is set; the system allocator says nothing.
#[test]
fn the_binary_allocates_through_mimalloc() {
    let output = switchboard().arg("schema").env("MIMALLOC_VERBOSE", "1").output().expect("run the binary");
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("mimalloc: process init"), "no mimalloc start-up line: {stderr:?}");
}

#[test]
fn schema_subcommand_prints_the_committed_sdl() {
    let output = switchboard().arg("schema").output().expect("run the binary");
    assert!(output.status.success());
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap_or_default();
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        committed,
        "schema.graphql is stale: run `cargo run -q -- schema > schema.graphql`"
    );
}

#[tokio::test]
async fn create_admin_bootstraps_a_fresh_installation() {
    let (url, dir) = crate::support::fresh_database(crate::support::Backend::Sqlite).await;
    let output = switchboard()
        .args(["create-admin", "--email", "root@example.com"])
        .env("DATABASE_URL", &url)
        .env("SWITCHBOARD_ADMIN_PASSWORD", "a long password")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(!String::from_utf8_lossy(&output.stderr).contains("a long password"));

    let server = api::Server::build(crate::support::test_config(url)).await.unwrap();
    let port = server.port();
    let task = tokio::spawn(server.run_until(std::future::pending()));
    let body: serde_json::Value = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .json(&serde_json::json!({ "query": "mutation { login(email: \"root@example.com\", password: \"a long password\") { agent { role } } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["login"]["agent"]["role"], "ADMIN");
    task.abort();
    let _ = std::fs::remove_dir_all(dir.unwrap());
}
