//! The `graphql-transport-ws` protocol
//! (<https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md>), served here rather
//! than by async-graphql so that subscribers asking the same thing share one execution and
//! its serialised bytes (see `super::shared`).
//!
//! Close codes: 4400 for a message that is not one of the protocol's, 4401 for `subscribe`
//! before the connection is acknowledged, 4403 when the token is refused or missing, 4408
//! when `connection_init` does not come within 10 s, 4409 for a `subscribe` reusing a
//! running operation's id, 4429 for a second `connection_init`; 1011 when the token could
//! not be checked (the database is unreachable: reconnect later).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::Data;
use async_graphql::http::ClientMessage;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};

use super::outbox::{Outbox, Outgoing};
use super::shared::{Membership, SharedSubscriptions};
use super::{Refusal, Session};
use crate::domain::sessions::Principal;
use crate::graphql::document_cache::DocumentCache;

/// How long a connection may stay open without `connection_init`.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the connection is being closed.
struct Close(u16, String);

/// Serves one connection until either side closes it.
pub(super) async fn serve(socket: WebSocket, session: Box<Session>) {
    let (mut sink, mut source) = socket.split();
    let (documents, subscriptions) = (session.state.documents.clone(), session.state.subscriptions.clone());
    let (outbox, mut inbox) = subscriptions.outbox();
    // Needed until `connection_init` only: an idle connection keeps none of the server's
    // state beyond the two handles above.
    let mut session = Some(session);
    let mut signed_in: Option<(Principal, Arc<Data>)> = None;
    let mut operations: HashMap<String, Membership> = HashMap::new();
    // Boxed and dropped once signed in: a timer is ~110 bytes an idle connection need not keep.
    let mut init_deadline = Some(Box::pin(tokio::time::sleep(INIT_TIMEOUT)));
    let close = loop {
        tokio::select! {
            // What is already queued goes out before new requests are taken.
            biased;
            outgoing = inbox.recv() => {
                let frame = match outgoing {
                    Outgoing::Frame(frame) | Outgoing::Next(frame) => frame,
                    Outgoing::Complete { id, token } => {
                        // Not when the client completed it first (the membership is gone).
                        let Some(ended) = operations
                            .iter()
                            .find_map(|(operation, running)| (running.token() == token).then(|| operation.clone()))
                        else {
                            continue;
                        };
                        operations.remove(&ended);
                        format!(r#"{{"id":{id},"type":"complete"}}"#).into()
                    }
                };
                if sink.send(Message::Text(frame)).await.is_err() {
                    break None;
                }
            }
            () = async {
                match init_deadline.as_mut() {
                    Some(deadline) => deadline.await,
                    None => std::future::pending().await,
                }
            }, if signed_in.is_none() => {
                break Some(Close(4408, "Connection initialisation timeout".into()));
            }
            incoming = source.next() => {
                let bytes = match incoming {
                    Some(Ok(Message::Text(text))) => axum::body::Bytes::from(text),
                    Some(Ok(Message::Binary(bytes))) => bytes,
                    // Pings are answered by the WebSocket layer.
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break None,
                };
                // Boxed: a message (~370 bytes) would otherwise take room in what the
                // connection keeps between messages.
                let message = match ClientMessage::from_bytes(&bytes) {
                    Ok(message) => Box::new(message),
                    Err(err) => {
                        tracing::debug!(error = %err, "not a graphql-transport-ws message");
                        break Some(Close(4400, "Invalid message received".into()));
                    }
                };
                match *message {
                    ClientMessage::ConnectionInit { payload } => {
                        let Some(pending) = session.take() else {
                            break Some(Close(4429, "Too many initialisation requests".into()));
                        };
                        match Box::pin(pending.sign_in(payload.unwrap_or_default())).await {
                            Ok((principal, data)) => {
                                signed_in = Some((principal, Arc::new(data)));
                                init_deadline = None;
                            }
                            Err(Refusal::Forbidden(reason)) => break Some(Close(4403, reason)),
                            Err(Refusal::Unavailable(reason)) => break Some(Close(1011, reason)),
                        }
                        if send(&mut sink, r#"{"type":"connection_ack"}"#).await.is_err() {
                            break None;
                        }
                    }
                    ClientMessage::Start { id, payload } => {
                        let Some((principal, data)) = &signed_in else {
                            break Some(Close(4401, "Unauthorized".into()));
                        };
                        if operations.contains_key(&id) {
                            break Some(Close(4409, format!("Subscriber for {id} already exists")));
                        }
                        let start = start(&documents, &subscriptions, (principal, data), payload, &id, &outbox);
                        // Boxed: the request (~350 bytes) is then no part of what the
                        // connection keeps between messages.
                        let membership = Box::pin(start).await;
                        operations.insert(id, membership);
                    }
                    // The client is done with it: nothing more is sent for it.
                    ClientMessage::Stop { id } => {
                        operations.remove(&id);
                    }
                    ClientMessage::ConnectionTerminate => break None,
                    ClientMessage::Ping { .. } => {
                        if send(&mut sink, r#"{"type":"pong"}"#).await.is_err() {
                            break None;
                        }
                    }
                    ClientMessage::Pong { .. } => {}
                }
            }
        }
    };
    // Leaving the groups before the socket closes stops their work at once.
    drop(operations);
    if let Some(Close(code, reason)) = close {
        // Boxed: only a closing connection needs room for the handshake.
        Box::pin(close_with(sink, source, code, reason)).await;
    }
}

/// Sends a close frame with `code` and `reason`, then waits (briefly) for the client's Close
/// before dropping the connection, or the client may see a reset instead of the code.
async fn close_with(
    mut sink: SplitSink<WebSocket, Message>,
    mut source: SplitStream<WebSocket>,
    code: u16,
    reason: String,
) {
    let frame = CloseFrame { code, reason: close_reason(reason).into() };
    if sink.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let drained = async {
        while let Some(Ok(message)) = source.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), drained).await;
}

/// Starts operation `id` with `request` for the signed-in caller: in a running group
/// asking the same, or a new one.
async fn start(
    documents: &DocumentCache,
    subscriptions: &Arc<SharedSubscriptions>,
    (principal, data): (&Principal, &Arc<Data>),
    request: async_graphql::Request,
    id: &str,
    outbox: &Outbox,
) -> Membership {
    // Parsed and measured once per text (the cache); a document that fails runs alone and
    // is told why by the executor.
    let parsed = documents.parse(&request.query, None).await.ok();
    let document = parsed.as_ref().map(|parsed| &parsed.document);
    subscriptions.subscribe(principal, data.clone(), (request, document), id, outbox.clone())
}

/// `reason` cut to the 123 bytes a close frame has room for.
fn close_reason(mut reason: String) -> String {
    if reason.len() > 123 {
        let mut end = 120;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
        reason.push_str("...");
    }
    reason
}

async fn send(sink: &mut SplitSink<WebSocket, Message>, text: &'static str) -> Result<(), axum::Error> {
    sink.send(Message::Text(text.into())).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn close_reasons_fit_a_close_frame() {
        assert_eq!(super::close_reason("short".into()), "short");
        let long = super::close_reason("é".repeat(100));
        assert!(long.len() <= 123 && long.ends_with("..."), "{long}");
    }
}
