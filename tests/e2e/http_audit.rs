//! The GraphQL-over-HTTP audit of graphql-js's reference implementation (`graphql-http`)
//! against a running server: every MUST and SHOULD passes (issue 11).

use crate::node::with_packages;
use crate::on_both_databases;
use crate::support::TestApp;

async fn the_graphql_http_audit_passes(app: TestApp) {
    let dir = tokio::task::spawn_blocking(|| with_packages("tests/audit")).await.unwrap();
    let url = format!("{}/graphql", app.base);
    let output = tokio::process::Command::new("node")
        .arg("audit.mjs")
        .arg(&url)
        .current_dir(dir)
        .output()
        .await
        .expect("node runs the audit");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "graphql-http audit failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("0 MUST/SHOULD failures"), "{stdout}");
}

on_both_databases!(the_graphql_http_audit_passes);
