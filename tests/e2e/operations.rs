//! Operations: `/metrics` counts what the server did, the access log says who asked for what
//! (never the query text), and `--log-format json` keeps stderr JSON-only.

use std::process::Stdio;
use std::time::Duration;

use entity::enums::Role;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Backend, TestApp, eventually, fixture, fresh_database, providers_at};
use crate::{on_both_backends, on_both_databases};

pub(crate) async fn scrape(app: &TestApp) -> String {
    let response = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    response.text().await.unwrap()
}

/// The value of the sample whose name and labels are exactly `series`, if it is there.
pub(crate) fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn metrics_count_requests_and_webhooks(app: TestApp) {
    let admin = app.admin().await;
    let channels = app.channels(&admin).await;
    let before = scrape(&app).await;
    assert_eq!(
        sample(&before, r#"switchboard_graphql_requests_total{operation="MetricsProbe",outcome="ok"}"#),
        None
    );

    let probe = json!({ "query": "query MetricsProbe { me { id } }", "operationName": "MetricsProbe" });
    let body: Value = app
        .http
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&admin)
        .json(&probe)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body["data"]["me"]["id"].is_string(), "{body}");
    // Anonymous, named by the document alone: counted under its name with its error code.
    assert_eq!(app.error_code(None, "query Nobody { me { id } }", json!({})).await, "UNAUTHENTICATED");
    assert_eq!(app.webhook(&channels.telegram, &fixture("telegram/text_message.json")).await, 200);
    let refused = app
        .http
        .post(format!("{}{}", app.base, channels.telegram))
        .header("x-telegram-bot-api-secret-token", "wrong")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let text = scrape(&app).await;
    let count = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
    assert_eq!(count(r#"switchboard_graphql_requests_total{operation="MetricsProbe",outcome="ok"}"#), 1.0);
    assert_eq!(
        count(r#"switchboard_graphql_requests_total{operation="Nobody",outcome="UNAUTHENTICATED"}"#),
        1.0
    );
    assert_eq!(count(r#"switchboard_graphql_request_duration_seconds_count{operation="MetricsProbe"}"#), 1.0);
    assert_eq!(count(r#"switchboard_webhook_requests_total{provider="telegram",result="2xx"}"#), 1.0);
    assert_eq!(count(r#"switchboard_webhook_requests_total{provider="telegram",result="4xx"}"#), 1.0);
    assert!(count(r#"switchboard_http_requests_total{route="graphql",method="POST",status="2xx"}"#) >= 2.0);
    assert!(count(r#"switchboard_db_connections{pool="primary",state="idle"}"#) >= 0.0);
    assert_eq!(count("switchboard_outbox_pending"), 0.0);
    assert!(text.trim_end().ends_with("# EOF"));
    // The webhook's message was committed as events, which the bus then published.
    eventually("the bus lag to be observed", || async {
        let text = scrape(&app).await;
        sample(&text, "switchboard_event_bus_lag_seconds_count").filter(|n| *n > 0.0)
    })
    .await;
}

async fn open_websockets_and_subscriptions_are_gauges(app: TestApp) {
    let (_, token) = app.signed_in("ann@example.com", Role::Agent).await;
    let gauges = |text: String| {
        (sample(&text, "switchboard_websockets_open"), sample(&text, "switchboard_subscriptions_active"))
    };
    assert_eq!(gauges(scrape(&app).await), (Some(0.0), Some(0.0)));
    let idle = crate::websocket::connect(&app, "graphql-transport-ws").await;
    eventually("the open WebSocket to be counted", || async {
        (gauges(scrape(&app).await) == (Some(1.0), Some(0.0))).then_some(())
    })
    .await;
    let mut subscribed =
        crate::subscriptions::subscribe(&app, &token, "subscription { myChatEvents { id } }", json!({}))
            .await;
    eventually("the subscription to be counted", || async {
        (gauges(scrape(&app).await) == (Some(2.0), Some(1.0))).then_some(())
    })
    .await;
    crate::websocket::send(&mut subscribed, json!({ "id": "s", "type": "complete" })).await;
    eventually("the completed subscription to be uncounted", || async {
        (gauges(scrape(&app).await) == (Some(2.0), Some(0.0))).then_some(())
    })
    .await;
    drop(idle);
    drop(subscribed);
    eventually("the closed WebSockets to be uncounted", || async {
        (gauges(scrape(&app).await) == (Some(0.0), Some(0.0))).then_some(())
    })
    .await;
}

/// Two failed sends and a successful one: two retries and one `sent` for Telegram.
async fn deliveries_are_counted_by_provider_and_result(backend: Backend) {
    let mock = MockServer::start().await;
    let send = "/bot7012345678:bot-token/sendMessage";
    Mock::given(method("POST"))
        .and(path(send))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&mock)
        .await;
    let sent = serde_json::from_slice::<Value>(&fixture("telegram/send_response.json")).unwrap();
    Mock::given(method("POST"))
        .and(path(send))
        .respond_with(ResponseTemplate::new(200).set_body_json(sent))
        .with_priority(2)
        .mount(&mock)
        .await;
    let uri = mock.uri();
    let app = TestApp::spawn_with(backend, |config| providers_at(config, &uri)).await;
    let admin = app.admin().await;
    let channels = app.channels(&admin).await;
    assert_eq!(app.webhook(&channels.telegram, &fixture("telegram/text_message.json")).await, 200);
    let (chat, _, token) = crate::outbound::newest_chat_to_agent(&app).await;
    app.ok(
        Some(&token),
        "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }",
        json!({ "input": { "chatId": chat, "text": "On it." } }),
    )
    .await;
    // A scrape counts the pending rows before it renders the counters, so the delivery can be
    // recorded between the two: the scrape after it shows both.
    let text = eventually("the delivery to be counted and no longer pending", || async {
        let text = scrape(&app).await;
        let sent = sample(&text, r#"switchboard_outbox_deliveries_total{provider="telegram",result="sent"}"#);
        let pending = sample(&text, "switchboard_outbox_pending");
        (sent == Some(1.0) && pending == Some(0.0)).then_some(text)
    })
    .await;
    assert_eq!(
        sample(&text, r#"switchboard_outbox_deliveries_total{provider="telegram",result="retry"}"#),
        Some(2.0)
    );
}

async fn metrics_can_be_turned_off(backend: Backend) {
    let app = TestApp::spawn_with(backend, |config| config.disable_metrics = true).await;
    let response = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert_eq!(response.status(), 404);
}

on_both_databases!(metrics_count_requests_and_webhooks, open_websockets_and_subscriptions_are_gauges);

/// The real binary with `--log-format json --demo`: every stderr line is JSON (the banner
/// included), and a request's access-log line has its fields and none of its query text.
async fn json_logs_are_json_only(backend: Backend) {
    let (url, dir) = fresh_database(backend).await;
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"));
    for var in ["DATABASE_URL", "BIND", "JWT_SECRET", "SWITCHBOARD_DEV", "SWITCHBOARD_DEMO", "RUST_LOG"] {
        command.env_remove(var);
    }
    let mut child = command
        .args(["--log-format", "json", "--demo", "--bind", "127.0.0.1:0", "--database-url", &url])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the binary");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen: Vec<String> = Vec::new();
    let mut next_line = async || {
        tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("the server logs within 60 s")
            .unwrap()
            .expect("the server is still running")
    };
    let addr = loop {
        let line = next_line().await;
        seen.push(line.clone());
        let value: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line:?}"));
        if value["fields"]["message"] == "listening" {
            break value["fields"]["addr"].as_str().unwrap().to_owned();
        }
    };
    let http = reqwest::Client::new();
    let body: Value = http
        .post(format!("http://{addr}/graphql?token=leaked-query-string"))
        .json(&json!({
            "query": "query LogProbe { hiddenAlias: __typename }",
            "variables": { "secret": "leaked-variable" },
            "operationName": "LogProbe"
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["hiddenAlias"], "Query", "{body}");
    let access = loop {
        let line = next_line().await;
        seen.push(line.clone());
        let value: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line:?}"));
        if value["target"] == "switchboard::access" && value["fields"]["path"] == "/graphql" {
            break value;
        }
    };
    child.start_kill().unwrap();
    // Whatever it printed up to its end is JSON too.
    while let Ok(Ok(Some(line))) = tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await {
        seen.push(line);
    }
    let _ = child.wait().await;
    if let Some(dir) = dir {
        let _ = std::fs::remove_dir_all(dir);
    }

    let fields = &access["fields"];
    assert_eq!(access["level"], "INFO");
    assert_eq!(fields["method"], "POST");
    assert_eq!(fields["status"], 200);
    assert_eq!(fields["operation"], "LogProbe");
    assert!(fields["latency_ms"].is_number(), "{access}");
    assert!(fields["request_id"].as_str().is_some_and(|id| !id.is_empty()), "{access}");
    for line in &seen {
        assert!(serde_json::from_str::<Value>(line).is_ok(), "not JSON: {line:?}");
        for secret in ["leaked-query-string", "leaked-variable", "hiddenAlias", "__typename"] {
            assert!(!line.contains(secret), "{secret:?} logged: {line}");
        }
        assert!(!line.contains('\u{1b}'), "colour codes: {line:?}");
    }
    assert!(seen.iter().any(|line| line.contains("Demo sign-ins")), "the banner is logged as JSON");
}

on_both_backends!(
    json_logs_are_json_only,
    metrics_can_be_turned_off,
    deliveries_are_counted_by_provider_and_result
);
