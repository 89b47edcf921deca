//! GraphQL over WebSocket at `/graphql/ws`: `graphql-transport-ws` and the legacy `graphql-ws`.
//!
//! The token comes in the `connection_init` payload (`{"Authorization": "Bearer <token>"}` or
//! `{"token": "<token>"}`), or failing that in the upgrade request's `Authorization` header. A
//! missing or refused token closes the connection at once (no subscription is open to
//! anonymous callers): code 4403 (Forbidden) in graphql-transport-ws, a `connection_error`
//! message in the legacy protocol.

pub mod outbox;
pub mod shared;
mod sharing;
mod transport;

use std::sync::Arc;

use async_graphql::Data;
use async_graphql::http::WebSocketProtocols as Protocols;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::ws::WebSocket;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use futures_util::StreamExt;
use futures_util::future::Either;

use super::graphql::{bearer, caller_for_token};
use crate::domain::sessions::Principal;
use crate::graphql::context::Caller;
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

/// Why a `connection_init` was refused.
enum Refusal {
    /// The token is missing or refused: sign in again.
    Forbidden(String),
    /// The token could not be checked (the database is unreachable): reconnect later.
    Unavailable(String),
}

/// What a connection knows before `connection_init`.
struct Session {
    state: AppState,
    client: ClientAddr,
    /// The upgrade request's bearer token, used when `connection_init` names none.
    header_token: Option<String>,
}

impl Session {
    /// Checks the token of a `connection_init` payload; the caller and the request context
    /// every operation of the connection runs with.
    async fn sign_in(&self, payload: serde_json::Value) -> Result<(Principal, Data), Refusal> {
        let token = payload_token(&payload).or_else(|| self.header_token.clone());
        let caller = caller_for_token(&self.state, token.as_deref()).await;
        let principal = match &caller {
            Caller::SignedIn(principal) => principal.clone(),
            Caller::Refused(reason) => return Err(Refusal::Forbidden(reason.clone())),
            // No subscription is open to anonymous callers: say so at once.
            Caller::Anonymous => {
                return Err(Refusal::Forbidden(
                    "sign in first: send {\"Authorization\": \"Bearer <token>\"} in connection_init".into(),
                ));
            }
            // Not forbidden: the client should reconnect when the database is back.
            Caller::Unchecked { reason, .. } => return Err(Refusal::Unavailable(reason.clone())),
        };
        let mut data = Data::default();
        data.insert(caller);
        data.insert(self.client);
        // The loader is the WebSocket schema's, shared by every connection (`graphql::build_one`).
        if let Some(readers) = &self.state.readers {
            data.insert(crate::graphql::subscriptions::StreamReads(readers.clone()));
        }
        Ok((principal, data))
    }
}

/// Upgrades to a GraphQL WebSocket.
pub async fn upgrade(
    State(state): State<AppState>,
    client: ClientAddr,
    protocol: GraphQLProtocol,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    // The protocol the extractor chose (the first one offered that is known).
    let legacy_protocol = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .and_then(|offered| offered.split(',').find_map(|p| p.trim().parse::<Protocols>().ok()))
        == Some(Protocols::SubscriptionsTransportWS);
    let header_token =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(bearer).map(str::to_owned);
    // Small buffers: an idle subscriber should cost kilobytes, not tungstenite's default
    // 128 KiB read and write buffers (measured: ~146 KiB per idle subscriber with the
    // defaults). The read buffer is kept at its size for the connection's life, and what a
    // client sends (`connection_init`, `subscribe`, `ping`) is a few hundred bytes: 512
    // bytes, grown for a longer message (2 KiB cost ~1.5 KiB more per idle connection).
    let upgrade = upgrade.read_buffer_size(512).write_buffer_size(2 * 1024).max_message_size(1024 * 1024);
    // Boxed: the connection's task holds a pointer, not the server's whole state, and the
    // graphql-transport-ws connection lets it go once signed in.
    let session = Box::new(Session { state, client, header_token });
    // Not an async block: the socket it would capture (~370 bytes) would stay in the
    // connection's task as long as it runs, though it is split at once.
    upgrade.protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |socket| {
        let open = session.state.metrics.websocket_opened();
        let serving = if legacy_protocol {
            // Boxed: the task then costs what the protocol in use needs (async-graphql's
            // connection state is several KiB).
            Either::Left(Box::pin(legacy(socket, session, protocol)))
        } else {
            Either::Right(transport::serve(socket, session))
        };
        async move {
            let _open = open;
            serving.await;
        }
    })
}

/// The legacy `graphql-ws` protocol (subscriptions-transport-ws), served by async-graphql:
/// every subscriber runs its own subscription.
async fn legacy(socket: WebSocket, session: Box<Session>, protocol: GraphQLProtocol) {
    let schema = session.state.schema.ws.clone();
    let (sink, stream) = socket.split();
    let session: Arc<Session> = Arc::from(session);
    GraphQLWebSocket::new_with_pair(sink, stream, schema, protocol)
        .on_connection_init(move |payload| async move {
            session.sign_in(payload).await.map(|(_, data)| data).map_err(|refusal| match refusal {
                Refusal::Forbidden(reason) | Refusal::Unavailable(reason) => {
                    async_graphql::Error::new(reason)
                }
            })
        })
        .serve()
        .await;
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

    /// The type of what `f` returns (here: the future serving a connection).
    fn returned_size<A, B, R>(_: impl Fn(A, B) -> R) -> usize {
        std::mem::size_of::<R>()
    }

    /// Every open WebSocket keeps its connection's future for as long as it stays open: with
    /// 10,000 idle agent panels each byte of it is 10 KB. Inline, it once held the server's
    /// state twice, the socket and a whole request (3.5 KiB); what only sign-in, a message,
    /// or the closing handshake need is boxed or dropped (see `transport::serve`). A bound
    /// with room for the compiler's layout to move, not the exact size.
    #[test]
    fn an_idle_connection_keeps_its_state_small() {
        let size = returned_size(transport::serve);
        assert!(size <= 768, "transport::serve's future is {size} bytes");
    }
}
