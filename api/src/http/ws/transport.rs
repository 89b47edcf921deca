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

use std::sync::Arc;
use std::time::Duration;

use async_graphql::Data;
use async_graphql::http::ClientMessage;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};

use super::outbox::{Inbox, Outbox, Outgoing};
use super::shared::{Membership, SharedSubscriptions};
use super::{Refusal, Session};
use crate::domain::sessions::Principal;
use crate::graphql::document_cache::DocumentCache;

/// How long a connection may stay open without `connection_init`.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The operations running on a connection, by id: a list (a panel runs a few), which an
/// idle connection keeps in less room than a map.
#[derive(Default)]
struct Operations(Vec<(String, Membership)>);

impl Operations {
    fn running(&self, id: &str) -> bool {
        self.0.iter().any(|(running, _)| running == id)
    }

    /// Keeps operation `id` running (its id checked free by [`Self::running`]).
    fn start(&mut self, id: String, membership: Membership) {
        self.0.push((id, membership));
    }

    /// Forgets operation `id` (its membership leaves its group).
    fn stop(&mut self, id: &str) {
        self.0.retain(|(running, _)| running != id);
    }

    /// Forgets the operation whose membership is `token`; false when there is none (the
    /// client completed it first).
    fn end(&mut self, token: u64) -> bool {
        let before = self.0.len();
        self.0.retain(|(_, membership)| membership.token() != token);
        self.0.len() < before
    }
}

/// Why the connection is being closed.
struct Close(u16, String);

/// What a connection keeps between messages.
struct Connection {
    sink: SplitSink<WebSocket, Message>,
    /// Needed until `connection_init` only: an idle connection keeps none of the server's
    /// state beyond the handles below.
    session: Option<Box<Session>>,
    signed_in: Option<(Principal, Arc<Data>)>,
    operations: Operations,
    documents: Arc<DocumentCache>,
    subscriptions: Arc<SharedSubscriptions>,
    outbox: Outbox,
}

/// What ends a connection: nothing more to say (the client is gone or left), or a close
/// frame to send.
type Ended = Option<Close>;

/// Serves one connection until either side closes it.
///
/// Not an `async fn`: its arguments would stay in the future for the connection's life (the
/// socket alone is ~370 bytes), though the socket is split at once.
pub(super) fn serve(socket: WebSocket, session: Box<Session>) -> impl Future<Output = ()> + Send {
    let (sink, source) = socket.split();
    let (documents, subscriptions) = (session.state.documents.clone(), session.state.subscriptions.clone());
    let (outbox, inbox) = subscriptions.outbox();
    let connection = Connection {
        sink,
        session: Some(session),
        signed_in: None,
        operations: Operations::default(),
        documents,
        subscriptions,
        outbox,
    };
    run(connection, source, inbox)
}

/// Writes what is queued for the connection and handles what the client sends, until either
/// side closes it.
async fn run(mut connection: Connection, mut source: SplitStream<WebSocket>, mut inbox: Inbox) {
    // Boxed and dropped once signed in: a timer is ~110 bytes an idle connection need not keep.
    let mut init_deadline = Some(Box::pin(tokio::time::sleep(INIT_TIMEOUT)));
    let close = loop {
        tokio::select! {
            // What is already queued goes out before new requests are taken.
            biased;
            outgoing = inbox.recv() => {
                if let Err(ended) = connection.write(outgoing).await {
                    break ended;
                }
            }
            () = async {
                match init_deadline.as_mut() {
                    Some(deadline) => deadline.await,
                    None => std::future::pending().await,
                }
            }, if connection.signed_in.is_none() => {
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
                // Boxed: what handling a message needs (the message, a request, sign-in)
                // takes no room in what the connection keeps between messages.
                if let Err(ended) = Box::pin(connection.receive(bytes)).await {
                    break ended;
                }
                if connection.signed_in.is_some() {
                    init_deadline = None;
                }
            }
        }
    };
    // Leaving the groups before the socket closes stops their work at once.
    let Connection { sink, operations, .. } = connection;
    drop(operations);
    if let Some(Close(code, reason)) = close {
        // Boxed: only a closing connection needs room for the handshake.
        Box::pin(close_with(sink, source, code, reason)).await;
    }
}

impl Connection {
    /// Writes what a group (or this connection) queued.
    async fn write(&mut self, outgoing: Outgoing) -> Result<(), Ended> {
        let frame = match outgoing {
            Outgoing::Frame(frame) | Outgoing::Next(frame) => frame,
            Outgoing::Complete { id, token } => {
                // Not when the client completed it first (the membership is gone).
                if !self.operations.end(token) {
                    return Ok(());
                }
                format!(r#"{{"id":{id},"type":"complete"}}"#).into()
            }
        };
        self.sink.send(Message::Text(frame)).await.map_err(|_| None)
    }

    /// Handles one message from the client.
    async fn receive(&mut self, bytes: axum::body::Bytes) -> Result<(), Ended> {
        let message = ClientMessage::from_bytes(&bytes).map_err(|err| {
            tracing::debug!(error = %err, "not a graphql-transport-ws message");
            Some(Close(4400, "Invalid message received".into()))
        })?;
        match message {
            ClientMessage::ConnectionInit { payload } => {
                let Some(pending) = self.session.take() else {
                    return Err(Some(Close(4429, "Too many initialisation requests".into())));
                };
                match pending.sign_in(payload.unwrap_or_default()).await {
                    Ok((principal, data)) => self.signed_in = Some((principal, Arc::new(data))),
                    Err(Refusal::Forbidden(reason)) => return Err(Some(Close(4403, reason))),
                    Err(Refusal::Unavailable(reason)) => return Err(Some(Close(1011, reason))),
                }
                self.send(r#"{"type":"connection_ack"}"#).await
            }
            ClientMessage::Start { id, payload } => {
                let Some((principal, data)) = &self.signed_in else {
                    return Err(Some(Close(4401, "Unauthorized".into())));
                };
                if self.operations.running(&id) {
                    return Err(Some(Close(4409, format!("Subscriber for {id} already exists"))));
                }
                // Parsed and measured once per text (the cache); a document that fails runs
                // alone and is told why by the executor.
                let parsed = self.documents.parse(&payload.query, None).await.ok();
                let document = parsed.as_ref().map(|parsed| &*parsed.document);
                let membership = self.subscriptions.subscribe(
                    principal,
                    data.clone(),
                    (payload, document),
                    &id,
                    self.outbox.clone(),
                );
                self.operations.start(id, membership);
                Ok(())
            }
            // The client is done with it: nothing more is sent for it.
            ClientMessage::Stop { id } => {
                self.operations.stop(&id);
                Ok(())
            }
            ClientMessage::ConnectionTerminate => Err(None),
            ClientMessage::Ping { .. } => self.send(r#"{"type":"pong"}"#).await,
            ClientMessage::Pong { .. } => Ok(()),
        }
    }

    async fn send(&mut self, text: &'static str) -> Result<(), Ended> {
        self.sink.send(Message::Text(text.into())).await.map_err(|_| None)
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

#[cfg(test)]
mod tests {
    #[test]
    fn close_reasons_fit_a_close_frame() {
        assert_eq!(super::close_reason("short".into()), "short");
        let long = super::close_reason("é".repeat(100));
        assert!(long.len() <= 123 && long.ends_with("..."), "{long}");
    }
}
