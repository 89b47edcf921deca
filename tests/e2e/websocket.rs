//! GraphQL over WebSocket: both protocols, with the token in `connection_init`.

use entity::enums::Role;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::on_both_databases;
use crate::support::TestApp;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect(app: &TestApp, protocol: &str) -> Socket {
    let mut request = format!("ws://127.0.0.1:{}/graphql/ws", app.port).into_client_request().unwrap();
    request.headers_mut().insert("sec-websocket-protocol", protocol.parse().unwrap());
    let (socket, response) = tokio_tungstenite::connect_async(request).await.expect("the WebSocket opens");
    assert_eq!(response.headers()["sec-websocket-protocol"], protocol);
    socket
}

pub async fn send(socket: &mut Socket, message: Value) {
    socket.send(Message::Text(message.to_string().into())).await.unwrap();
}

/// The next JSON message, skipping keep-alives; `None` when the server closed the socket.
pub async fn next(socket: &mut Socket) -> Option<Result<Value, (u16, String)>> {
    loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .expect("the server answers within 10 s")?;
        match message.ok()? {
            Message::Text(text) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] == "ka" || value["type"] == "ping" || value["type"] == "pong" {
                    continue;
                }
                return Some(Ok(value));
            }
            Message::Close(frame) => return frame.map(|f| Err((u16::from(f.code), f.reason.to_string()))),
            _ => continue,
        }
    }
}

async fn graphql_transport_ws_with_token(app: TestApp) {
    let (_, token) = app.signed_in("ann@example.com", Role::Agent).await;
    let mut socket = connect(&app, "graphql-transport-ws").await;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }),
    )
    .await;
    assert_eq!(next(&mut socket).await.unwrap().unwrap()["type"], "connection_ack");
    send(&mut socket, json!({ "id": "1", "type": "subscribe", "payload": { "query": "{ me { email } }" } }))
        .await;
    let reply = next(&mut socket).await.unwrap().unwrap();
    assert_eq!(reply["type"], "next");
    assert_eq!(reply["id"], "1");
    assert_eq!(reply["payload"]["data"]["me"]["email"], "ann@example.com");
    assert_eq!(next(&mut socket).await.unwrap().unwrap()["type"], "complete");
}

async fn refused_tokens_close_the_socket(app: TestApp) {
    let (_, token) = app.signed_in("ann@example.com", Role::Agent).await;
    app.ok(Some(&token), "mutation { logout }", json!({})).await;
    let mut socket = connect(&app, "graphql-transport-ws").await;
    send(&mut socket, json!({ "type": "connection_init", "payload": { "token": token } })).await;
    match next(&mut socket).await {
        Some(Err((code, reason))) => {
            assert_eq!(code, 4403);
            assert!(reason.contains("ended"), "reason says why: {reason}");
        }
        other => panic!("expected a 4403 close, got {other:?}"),
    }

    // Without a token the socket is closed at once too.
    let mut socket = connect(&app, "graphql-transport-ws").await;
    send(&mut socket, json!({ "type": "connection_init" })).await;
    match next(&mut socket).await {
        Some(Err((code, reason))) => {
            assert_eq!(code, 4403, "no subscription is open to anonymous callers");
            assert!(reason.contains("sign in"), "{reason}");
        }
        other => panic!("expected a 4403 close, got {other:?}"),
    }
}

async fn legacy_graphql_ws(app: TestApp) {
    let (_, token) = app.signed_in("ann@example.com", Role::Agent).await;
    let mut socket = connect(&app, "graphql-ws").await;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }),
    )
    .await;
    assert_eq!(next(&mut socket).await.unwrap().unwrap()["type"], "connection_ack");
    send(&mut socket, json!({ "id": "7", "type": "start", "payload": { "query": "{ me { role } }" } })).await;
    let reply = next(&mut socket).await.unwrap().unwrap();
    assert_eq!(reply["type"], "data");
    assert_eq!(reply["payload"]["data"]["me"]["role"], "AGENT");
}

on_both_databases!(graphql_transport_ws_with_token, refused_tokens_close_the_socket, legacy_graphql_ws);
