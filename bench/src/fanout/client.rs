//! The bench's clients: GraphQL over HTTP (status toggles, token checks) and the WebSocket
//! subscribers, which record every event they receive in a shared [`Inbox`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The subscription every subscriber opens.
const SUBSCRIPTION: &str = "subscription { myChatEvents { id at } }";
/// Problems kept word for word (the rest are only counted).
const PROBLEM_SAMPLES: usize = 10;

/// One event received by one subscriber.
#[derive(Clone, Copy, Debug)]
pub struct Delivery {
    /// Index of the subscriber (0..N).
    pub subscriber: usize,
    /// The event's id in the log.
    pub event: i64,
    /// Receive time minus the event's `at` (its commit time), in milliseconds.
    pub latency_ms: f64,
}

/// What all subscribers received, and what went wrong on their connections.
#[derive(Debug, Default)]
pub struct Inbox {
    deliveries: Mutex<Vec<Delivery>>,
    count: AtomicUsize,
    problems: Mutex<(usize, Vec<String>)>,
}

impl Inbox {
    /// Deliveries so far.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// A copy of every delivery so far, and of the problems (count, first few).
    pub fn snapshot(&self) -> (Vec<Delivery>, (usize, Vec<String>)) {
        let deliveries = self.deliveries.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let problems = self.problems.lock().unwrap_or_else(|e| e.into_inner()).clone();
        (deliveries, problems)
    }

    fn deliver(&self, delivery: Delivery) {
        self.deliveries.lock().unwrap_or_else(|e| e.into_inner()).push(delivery);
        self.count.fetch_add(1, Ordering::Release);
    }

    fn problem(&self, subscriber: usize, what: String) {
        let mut problems = self.problems.lock().unwrap_or_else(|e| e.into_inner());
        problems.0 += 1;
        if problems.1.len() < PROBLEM_SAMPLES {
            problems.1.push(format!("subscriber {subscriber}: {what}"));
        }
    }
}

/// Runs one GraphQL operation against `base` and returns its `data`; errors are errors.
pub async fn graphql(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    let response = client
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await.with_context(|| format!("HTTP {status}, body is not JSON"))?;
    if let Some(errors) = body.get("errors").filter(|e| !e.is_null()) {
        bail!("GraphQL errors: {errors}");
    }
    Ok(body["data"].clone())
}

/// Opens subscriber `index` on the server at `port` with `token`, and returns once the
/// subscription is sent; every event it then receives is recorded in `inbox`.
pub async fn subscribe(port: u16, index: usize, token: &str, inbox: Arc<Inbox>) -> anyhow::Result<()> {
    let mut request = format!("ws://127.0.0.1:{port}/graphql/ws").into_client_request()?;
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
    // tungstenite zero-fills its whole read buffer (128 KiB by default) before every read:
    // with 10,000 sockets each reading every event that memset was a third of the load
    // generator's CPU, on the cores the server shares. Messages here are ~150 bytes.
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true).await?;
    // Diagnostics that split the per-connection memory (docs/benchmarks.md).
    if std::env::var_os("FANOUT_SOCKET_ONLY").is_some() {
        tokio::spawn(async move { while let Some(Ok(_)) = socket.next().await {} });
        return Ok(());
    }
    let init =
        json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    socket.send(Message::Text(init.to_string().into())).await?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) if text.contains("connection_ack") => break,
            Some(Ok(_)) => continue,
            other => bail!("no connection_ack: {other:?}"),
        }
    }
    if std::env::var_os("FANOUT_CONNECT_ONLY").is_none() {
        let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": SUBSCRIPTION } });
        socket.send(Message::Text(subscribe.to_string().into())).await?;
    }
    tokio::spawn(async move {
        while let Some(message) = socket.next().await {
            let text = match message {
                Ok(Message::Text(text)) => text,
                Ok(Message::Close(frame)) => {
                    inbox.problem(index, format!("closed by the server: {frame:?}"));
                    return;
                }
                Ok(_) => continue,
                Err(err) => {
                    inbox.problem(index, format!("connection failed: {err}"));
                    return;
                }
            };
            // Taken before parsing, to leave the bench's own work out of the latency.
            let received = chrono::Utc::now();
            // Typed and borrowed: the load generator shares the server's cores, so it reads
            // only what it checks.
            let Ok(frame) = serde_json::from_str::<Frame<'_>>(&text) else {
                inbox.problem(index, format!("not JSON: {text}"));
                continue;
            };
            match frame.kind {
                Some("next") => match frame.payload.as_ref().and_then(Payload::event) {
                    Some((event, at)) => {
                        let latency = received.signed_duration_since(at).num_microseconds().unwrap_or(0);
                        inbox.deliver(Delivery {
                            subscriber: index,
                            event,
                            latency_ms: latency as f64 / 1000.0,
                        });
                    }
                    None => inbox.problem(index, format!("unexpected message: {text}")),
                },
                Some("ping") => {
                    if let Err(err) =
                        socket.send(Message::Text(json!({ "type": "pong" }).to_string().into())).await
                    {
                        inbox.problem(index, format!("cannot answer a ping: {err}"));
                    }
                }
                Some("pong") => {}
                _ => inbox.problem(index, format!("unexpected message: {text}")),
            }
        }
        inbox.problem(index, "the connection ended".to_owned());
    });
    Ok(())
}

/// A server message, as far as the bench reads it.
#[derive(serde::Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<&'a str>,
    #[serde(borrow)]
    payload: Option<Payload<'a>>,
}

#[derive(serde::Deserialize)]
struct Payload<'a> {
    #[serde(borrow)]
    data: Option<Data<'a>>,
    errors: Option<serde::de::IgnoredAny>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data<'a> {
    #[serde(borrow)]
    my_chat_events: Option<Event<'a>>,
}

#[derive(serde::Deserialize)]
struct Event<'a> {
    id: &'a str,
    at: &'a str,
}

impl Payload<'_> {
    /// The event id and time in a `next` payload without errors.
    fn event(&self) -> Option<(i64, chrono::DateTime<chrono::FixedOffset>)> {
        if self.errors.is_some() {
            return None;
        }
        let event = self.data.as_ref()?.my_chat_events.as_ref()?;
        Some((event.id.parse().ok()?, chrono::DateTime::parse_from_rfc3339(event.at).ok()?))
    }
}
