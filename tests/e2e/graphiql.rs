//! GraphiQL served by the server itself: the page and its assets over HTTP, and the page in a
//! real browser (headless Chromium driven by tests/browser/graphiql.mjs) with no network but
//! loopback (issue 11).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::on_both_databases;
use crate::support::{PASSWORD, TestApp};

/// The `/graphiql/assets/...` URLs a page links to.
fn asset_urls(page: &str) -> Vec<String> {
    page.split('"').filter(|part| part.starts_with("/graphiql/assets/")).map(str::to_owned).collect()
}

async fn the_page_and_its_assets_come_from_the_server(app: TestApp) {
    for path in ["/", "/graphiql"] {
        let response = app.http.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers().clone();
        let csp = headers["content-security-policy"].to_str().unwrap();
        for directive in
            ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]
        {
            assert!(csp.contains(directive), "{path}: the CSP {csp:?} has {directive}");
        }
        assert!(!csp.contains("unsafe-eval") && !csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
        let page = response.text().await.unwrap();
        assert!(!page.contains("://"), "{path} names no other host:\n{page}");
        let assets = asset_urls(&page);
        assert_eq!(
            assets.len(),
            6,
            "{path} loads React, ReactDOM, GraphiQL, its CSS and the page's own files"
        );
        for url in assets {
            let response = app.http.get(format!("{}{url}", app.base)).send().await.unwrap();
            assert_eq!(response.status(), 200, "{url}");
            let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
            let expected = if url.ends_with(".css") { "text/css" } else { "text/javascript" };
            assert!(content_type.starts_with(expected), "{url} is {content_type}");
            assert_eq!(response.headers()["cache-control"], "public, max-age=31536000, immutable", "{url}");
            assert!(!response.bytes().await.unwrap().is_empty(), "{url}");
        }
    }
    // React's production builds only: a development build names itself in its first lines.
    let page = app.http.get(&app.base).send().await.unwrap().text().await.unwrap();
    let react = asset_urls(&page).into_iter().find(|url| url.ends_with("/react.production.min.js")).unwrap();
    let body = app.http.get(format!("{}{react}", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(body.contains("react.production.min.js") && !body.contains("react.development.js"));
    // A file of another version still loads (a page from before an upgrade) but is not kept.
    let stale = app.http.get(format!("{}/graphiql/assets/0000/page.js", app.base)).send().await.unwrap();
    assert_eq!(stale.status(), 200);
    assert_eq!(stale.headers()["cache-control"], "no-cache");
    let unknown = app.http.get(format!("{}/graphiql/assets/0000/secrets.js", app.base)).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
}

/// What the browser test needs, or a panic saying how to get it: the test is never skipped.
fn browser_prerequisites() -> (PathBuf, PathBuf) {
    const HOW: &str = "run the tests with scripts/test.sh (or scripts/with-chromium.sh cargo test ...), which \
                       installs Debian's chromium when missing and runs `npm ci` in tests/browser";
    let chromium = PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    assert!(chromium.exists(), "the GraphiQL browser test needs Chromium at {}: {HOW}", chromium.display());
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let playwright = browser_dir.join("node_modules/playwright-core/package.json");
    assert!(playwright.exists(), "the GraphiQL browser test needs {}: {HOW}", playwright.display());
    assert!(
        std::process::Command::new("node").arg("--version").output().is_ok_and(|out| out.status.success()),
        "the GraphiQL browser test needs Node.js (`node`): {HOW}"
    );
    (chromium, browser_dir)
}

async fn graphiql_works_in_a_browser_without_network(app: TestApp) {
    let (chromium, browser_dir) = browser_prerequisites();
    app.admin().await;
    let run = tokio::process::Command::new("node")
        .arg(browser_dir.join("graphiql.mjs"))
        .args([app.base.as_str(), "admin@example.com", PASSWORD])
        .env("CHROMIUM", &chromium)
        .current_dir(&browser_dir)
        .kill_on_drop(true)
        .output();
    // A hang detector only: the script waits on the page's state, each step with its own
    // deadline.
    let output = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("the browser test finishes")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the browser test failed ({}):\n{stdout}\n{stderr}", output.status);
    assert!(stdout.contains("all checks passed"), "{stdout}\n{stderr}");
}

on_both_databases!(the_page_and_its_assets_come_from_the_server, graphiql_works_in_a_browser_without_network);
