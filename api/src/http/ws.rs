//! GraphQL over WebSocket at `/graphql/ws`: `graphql-transport-ws` and the legacy `graphql-ws`.
//!
//! The token comes in the `connection_init` payload (`{"Authorization": "Bearer <token>"}` or
//! `{"token": "<token>"}`), or failing that in the upgrade request's `Authorization` header. A
//! missing or refused token closes the connection at once (no subscription is open to
//! anonymous callers): code 4403 (Forbidden) in graphql-transport-ws, a `connection_error`
//! message in the legacy protocol.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::Data;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::ws::{CloseFrame, Message};
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use futures_util::{FutureExt, SinkExt, StreamExt};

use super::graphql::{bearer, caller_for_token};
use crate::db::RequestDb;
use crate::graphql::context::Caller;
use crate::graphql::loaders;
use crate::graphql::sign_in_limits::ClientAddr;
use crate::state::AppState;

/// The token in a `connection_init` payload, if any.
fn payload_token(payload: &serde_json::Value) -> Option<String> {
    let object = payload.as_object()?;
    let authorization = object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, value)| value.as_str())
        .and_then(bearer);
    let token = object.get("token").and_then(|value| value.as_str());
    authorization.or(token).map(str::to_owned)
}

/// Upgrades to a GraphQL WebSocket.
pub async fn upgrade(
    State(state): State<AppState>,
    client: ClientAddr,
    protocol: GraphQLProtocol,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let header_token =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(bearer).map(str::to_owned);
    // Small buffers: an idle subscriber should cost kilobytes, not tungstenite's default
    // 128 KiB read and write buffers (measured: ~146 KiB per idle subscriber
    // with the defaults, ~30 with these); they grow as needed for larger messages.
    let upgrade =
        upgrade.read_buffer_size(2 * 1024).write_buffer_size(2 * 1024).max_message_size(1024 * 1024);
    upgrade.protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |socket| {
        let open = state.metrics.websocket_opened();
        let schema = state.schema.ws.clone();
        // async-graphql closes a refused connection_init with 1002; graphql-transport-ws
        // says 4403 Forbidden, so the sink rewrites that one close when auth refused it.
        let refused = Arc::new(AtomicBool::new(false));
        let (sink, stream) = socket.split();
        let sink = sink.with({
            let refused = refused.clone();
            move |message: Message| {
                let message = match message {
                    Message::Close(Some(frame)) if frame.code == 1002 && refused.load(Ordering::SeqCst) => {
                        Message::Close(Some(CloseFrame { code: 4403, reason: frame.reason }))
                    }
                    other => other,
                };
                std::future::ready(Ok::<_, axum::Error>(message))
            }
        });
        GraphQLWebSocket::new_with_pair(sink, stream, schema, protocol)
            .on_connection_init(move |payload| async move {
                let token = payload_token(&payload).or(header_token);
                let caller = caller_for_token(&state, token.as_deref()).await;
                match &caller {
                    Caller::Refused(reason) => {
                        refused.store(true, Ordering::SeqCst);
                        return Err(async_graphql::Error::new(reason.clone()));
                    }
                    // No subscription is open to anonymous callers: say so at once.
                    Caller::Anonymous => {
                        refused.store(true, Ordering::SeqCst);
                        return Err(async_graphql::Error::new(
                            "sign in first: send {\"Authorization\": \"Bearer <token>\"} in connection_init",
                        ));
                    }
                    // Not forbidden: the client should reconnect when the database is back.
                    Caller::Unchecked { reason, .. } => {
                        return Err(async_graphql::Error::new(reason.clone()));
                    }
                    _ => {}
                }
                let mut data = Data::default();
                data.insert(caller);
                data.insert(client);
                data.insert(loaders::for_request(RequestDb::shared(state.db.clone())));
                Ok(data)
            })
            .serve()
            .map(move |()| drop(open))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tokens_in_init_payloads() {
        let header_style = serde_json::json!({ "Authorization": "Bearer t1" });
        assert_eq!(payload_token(&header_style).as_deref(), Some("t1"));
        let plain = serde_json::json!({ "token": "t2" });
        assert_eq!(payload_token(&plain).as_deref(), Some("t2"));
        assert_eq!(payload_token(&serde_json::Value::Null), None);
    }
}
