//! Datasets lived on the server's clock: a chat's life (a customer writes; an agent accepts,
//! answers and completes) at chosen instants, through real webhooks and mutations, so every
//! time the server records is one the test chose.

use api::clock;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::scenario::{ACCEPT, Setup, customer_writes, offered_to};
use crate::support::TestApp;

pub(crate) const SEND: &str = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }";
pub(crate) const COMPLETE: &str = "mutation($id: ID!) { completeChat(chatId: $id) { status } }";

/// An RFC 3339 instant.
pub(crate) fn instant(at: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(at).unwrap().to_utc()
}

/// A chat's life, at instants on the server's clock: a customer writes at `created`; then,
/// when given, the agent accepts at `accepted`, answers at `answered` and completes at
/// `completed`. The clock stays frozen at the last of them.
///
/// The queue's completion timeout still applies: a chat answered more than its minutes before
/// `completed` (or left open while the clock moves on) may be completed by the server first.
pub(crate) struct Life {
    pub created: DateTime<Utc>,
    pub accepted: Option<DateTime<Utc>>,
    pub answered: Option<DateTime<Utc>>,
    pub completed: Option<DateTime<Utc>>,
}

impl Life {
    pub(crate) fn waiting(created: DateTime<Utc>) -> Self {
        Self { created, accepted: None, answered: None, completed: None }
    }

    /// Accepted, answered and completed `accept`, `answer` and `complete` seconds after it was
    /// created.
    pub(crate) fn done(created: DateTime<Utc>, accept: i64, answer: i64, complete: i64) -> Self {
        let after = |seconds| Some(created + Duration::seconds(seconds));
        Self { created, accepted: after(accept), answered: after(answer), completed: after(complete) }
    }

    /// Lives it: `customer` writes, and agent `token` does the rest. Returns the chat's id.
    pub(crate) async fn live(&self, app: &TestApp, s: &Setup, token: &str, customer: i64) -> String {
        clock::freeze(self.created);
        let (chat, _) = customer_writes(app, s, customer, 1).await;
        if let Some(at) = self.accepted {
            offered_to(app, token, &chat).await;
            clock::freeze(at);
            app.ok(Some(token), ACCEPT, json!({ "id": chat })).await;
        }
        if let Some(at) = self.answered {
            clock::freeze(at);
            app.ok(Some(token), SEND, json!({ "input": { "chatId": chat, "text": "hello" } })).await;
        }
        if let Some(at) = self.completed {
            clock::freeze(at);
            app.ok(Some(token), COMPLETE, json!({ "id": chat })).await;
        }
        chat
    }
}
