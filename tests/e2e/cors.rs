//! CORS: browser front ends served from an allowed origin may call the API; others may not
//! (issue 11, item 3). Real preflight requests, as a browser sends them.

use reqwest::Method;
use serde_json::json;

use crate::on_both_backends;
use crate::support::{Backend, TestApp, fresh_database};

const PANEL: &str = "https://panel.example.com";

async fn spawn_with_origins(backend: Backend, origins: &[&str]) -> TestApp {
    let (url, dir) = fresh_database(backend).await;
    let origins: Vec<String> = origins.iter().map(|o| (*o).to_owned()).collect();
    TestApp::start(url, dir, move |config| config.cors_origins = origins).await
}

async fn preflight(app: &TestApp, origin: &str, method: &str, headers: &str) -> reqwest::Response {
    app.http
        .request(Method::OPTIONS, format!("{}/graphql", app.base))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", headers)
        .send()
        .await
        .unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn allowed_origins_pass_preflight_and_others_do_not(backend: Backend) {
    let app = spawn_with_origins(backend, &[PANEL, "http://localhost:5173"]).await;
    for method in ["POST", "GET"] {
        let response = preflight(&app, PANEL, method, "content-type,authorization").await;
        assert!(response.status().is_success(), "{}", response.status());
        assert_eq!(header(&response, "access-control-allow-origin"), Some(PANEL));
        let methods = header(&response, "access-control-allow-methods").unwrap().to_ascii_uppercase();
        assert!(methods.contains(method), "{methods}");
        let headers = header(&response, "access-control-allow-headers").unwrap().to_ascii_lowercase();
        assert!(headers.contains("authorization") && headers.contains("content-type"), "{headers}");
        assert!(header(&response, "access-control-allow-credentials").is_none(), "tokens are not cookies");
    }
    // The request itself carries the origin back, and the request id is readable.
    let response = app
        .http
        .post(format!("{}/graphql", app.base))
        .header("origin", PANEL)
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "access-control-allow-origin"), Some(PANEL));
    assert!(header(&response, "access-control-expose-headers").unwrap().contains("x-request-id"));
    // Another origin gets no permission: the browser blocks it.
    let response = preflight(&app, "https://evil.example.net", "POST", "content-type,authorization").await;
    assert!(header(&response, "access-control-allow-origin").is_none());
}

async fn a_wildcard_lets_every_origin_in_without_credentials(backend: Backend) {
    let app = spawn_with_origins(backend, &["*"]).await;
    let response =
        preflight(&app, "https://anywhere.example.org", "POST", "content-type,authorization").await;
    assert!(response.status().is_success());
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    assert!(header(&response, "access-control-allow-credentials").is_none());
}

async fn without_origins_there_is_no_cors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = preflight(&app, PANEL, "POST", "content-type").await;
    assert!(header(&response, "access-control-allow-origin").is_none());
}

on_both_backends!(
    allowed_origins_pass_preflight_and_others_do_not,
    a_wildcard_lets_every_origin_in_without_credentials,
    without_origins_there_is_no_cors,
);
