//! The `Event` type streamed by subscriptions.

use crate::domain::chats;
use crate::graphql::context::{db, principal};
use crate::graphql::ids;
use std::sync::Arc;

use crate::events::Published;
use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};

use super::agent::Agent;
use super::chat::Chat;
use super::message::Message;
use crate::domain::ids::AgentId;
use crate::graphql::error::{ResultExt, from_domain};
use crate::graphql::loaders::loader;

/// What an event says happened. The names are the strings `kind` carried before it was an
/// enum.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::events::EventKind")]
pub enum EventKind {
    /// An agent's availability changed (status chosen, sign-in, sign-out, accept timeout);
    /// `details`: `status`, `reason`.
    AgentStatusChanged,
    /// An administrator changed settings; `details.changed` lists the setting names.
    SettingsChanged,
    /// A chat was opened (a first message, a message after completion, a handover);
    /// `details`: `status`, `contactId`, `parentChatId` (the completed chat it follows, or null).
    ChatCreated,
    /// A chat was completed (by an agent or a time limit); `details.reason` says why.
    ChatCompleted,
    /// A message from the customer (or a bot echo) was stored; `message` is it.
    MessageReceived,
    /// An agent's reply was stored and queued for delivery; `message` is it.
    MessageSent,
    /// A stored message was edited by its author; `message` is it, as edited.
    MessageEdited,
    /// A customer reacted to a message; `details`: `messageId`, `reaction` (the emoji, or null
    /// when removed).
    MessageReaction,
    /// An outgoing message's delivery status moved forward; `details`: `messageId`, `status`,
    /// `error`.
    DeliveryStatusChanged,
    /// A waiting chat was offered to an agent (TO_ALL_AGENTS); `details.agentId`.
    ChatOffered,
    /// A waiting chat was directed to one agent (TO_AVAILABLE_AGENT); `details`: `agentId`,
    /// `deadline` (when the offer times out).
    ChatDirected,
    /// An agent accepted a chat; `details.agentId`.
    ChatAccepted,
    /// A chat offered to you ended: someone else accepted it, it was completed or withdrawn,
    /// or your time ran out; drop it from the panel. `details.reason` says why.
    ChatTaken,
    /// A chat was transferred: `chat` is the new child chat; `details`: `fromChatId`,
    /// `fromAgentId`, `toAgentId` or `toQueueId`.
    ChatTransferred,
    /// A quick-reply template was created, changed or deleted; `details`: `templateId`,
    /// `action`.
    TemplateChanged,
    /// A contact's details changed: an agent edited them (`updateContact`), a contact was
    /// linked to an account, or the provider's profile filled them in. Recorded on each open
    /// chat of the contact (`chat` is one of them); `details`: `contactId`, `changed` (field
    /// names), `similarContacts` (how many similar contacts the rules find now). Refetch the
    /// contact.
    ContactUpdated,
    /// Contacts were merged: recorded on each open chat of every contact involved; `details`:
    /// `keptContactId`, `mergedContactIds`. A panel showing any of them refetches the chat's
    /// contact (now the kept one).
    ContactsMerged,
    /// A case was created from the chat; `details`: `caseId`, `number`.
    CaseCreated,
    /// Internal (an agent's sessions or role changed); never sent to subscribers.
    AccessChanged,
}

/// Something that happened, as recorded in the event log. `id` increases monotonically; pass
/// the last one you saw as `after` when you resubscribe to get what you missed.
#[derive(Clone, Debug)]
pub struct Event(pub Arc<Published>);

impl Event {
    /// The event's chat, if the caller may read it (`chats::may_see`, the rule of `chat(id)`).
    async fn readable_chat(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<entity::chats::Model>> {
        let db = db(ctx)?;
        let Some(chat) = self.0.chat(db).await.map_err(|e| from_domain(e.into()))? else { return Ok(None) };
        let visible = chats::may_see(db, principal(ctx)?, &chat).await.gql()?;
        Ok(visible.then_some(chat))
    }
}

/// Something that happened, as recorded in the event log. `id` increases monotonically; pass
/// the last one you saw as `after` when you resubscribe to get what you missed.
#[Object]
impl Event {
    /// The event's id in the log (pass it as `after` to resume after it).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// What happened. Serialized as the same strings as before it was an enum.
    async fn kind(&self) -> async_graphql::Result<EventKind> {
        crate::events::EventKind::from_stored(&self.0.kind)
            .map(EventKind::from)
            .ok_or_else(|| async_graphql::Error::new(format!("unknown event kind {:?}", self.0.kind)))
    }

    /// When it happened.
    async fn at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The id of the chat it concerns, if any: present even when `chat` is null because the
    /// caller may no longer read the chat (CHAT_TAKEN: drop it from the panel).
    async fn chat_id(&self) -> Option<ID> {
        self.0.chat_id.map(|id| ids::encode("Chat", id))
    }

    /// The chat it concerns, as it was just after the event (read once for every subscriber
    /// the event goes to), if the caller may read it as `chat(id)` would let them now;
    /// otherwise null.
    async fn chat(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Chat>> {
        Ok(self.readable_chat(ctx).await?.map(Chat::from))
    }

    /// The agent it concerns (the one offered, assigned, whose status changed...).
    async fn agent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Agent>> {
        match self.0.agent_id {
            Some(id) => Ok(loader(ctx)?.load_one(AgentId(id)).await?.map(Agent::from)),
            None => Ok(None),
        }
    }

    /// The message it concerns, for message and delivery events, read as `chat` is and
    /// null when `chat` would be.
    async fn message(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Message>> {
        if self.readable_chat(ctx).await?.is_none() {
            return Ok(None);
        }
        let row = self.0.message(db(ctx)?).await.map_err(crate::domain::DomainError::from).gql()?;
        Ok(row.map(Message))
    }

    /// Details, as JSON, depending on `kind` (see `EventKind`): for example
    /// `{"status": "INACTIVE", "reason": "ACCEPT_TIMEOUT"}` for a status change,
    /// `{"reason": "TAKEN_BY_OTHER"}` for CHAT_TAKEN. Ids in it are global ids, as `id`
    /// fields give them (`messageId` a `Message` id, `agentId` an `Agent` id, `...ChatId` a
    /// `Chat` id...), usable with `node(id)`.
    async fn details(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(global_ids(&self.0.payload))
    }
}

/// The global-id type of a payload key holding a database id, if it holds one.
fn id_type(key: &str) -> Option<&'static str> {
    let stem = key.strip_suffix("Ids").or_else(|| key.strip_suffix("Id"))?;
    // `messageId`, `fromChatId`, `parentChatId`, `toQueueId`...: the word before `Id`.
    let word = stem.rfind(|c: char| c.is_ascii_uppercase()).map_or(stem, |at| &stem[at..]);
    Some(match word.to_ascii_lowercase().as_str() {
        "message" => "Message",
        "chat" | "parent" | "child" => "Chat",
        "agent" => "Agent",
        "queue" => "Queue",
        "contact" => "Contact",
        "channel" => "Channel",
        "template" => "ReplyTemplate",
        "attachment" => "Attachment",
        "case" => "Case",
        "account" => "Account",
        _ => return None,
    })
}

/// `payload` with every database id under a known key replaced by its global id.
fn global_ids(payload: &serde_json::Value) -> serde_json::Value {
    match payload {
        serde_json::Value::Object(fields) => serde_json::Value::Object(
            fields
                .iter()
                .map(|(key, value)| {
                    let encode = |type_name, value: &serde_json::Value| match value.as_i64() {
                        Some(row) => serde_json::Value::String(ids::encode(type_name, row).0),
                        None => value.clone(),
                    };
                    let value = match (id_type(key), value) {
                        (Some(type_name), serde_json::Value::Array(items)) => serde_json::Value::Array(
                            items.iter().map(|item| encode(type_name, item)).collect(),
                        ),
                        (Some(type_name), serde_json::Value::Number(_)) => encode(type_name, value),
                        _ => global_ids(value),
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        serde_json::Value::Array(items) => serde_json::Value::Array(items.iter().map(global_ids).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_carry_global_ids() {
        let stored = serde_json::json!({
            "messageId": 7, "fromChatId": 3, "parentChatId": null, "toAgentId": 2, "toQueueId": 4,
            "contactId": 5, "templateId": 6, "status": "SENT", "changed": ["simultaneous_chats"],
            "mergedContactIds": [8, 9], "caseId": 10,
        });
        let shown = global_ids(&stored);
        assert_eq!(shown["messageId"], ids::encode("Message", 7).0);
        assert_eq!(shown["fromChatId"], ids::encode("Chat", 3).0);
        assert_eq!(shown["parentChatId"], serde_json::Value::Null);
        assert_eq!(shown["toAgentId"], ids::encode("Agent", 2).0);
        assert_eq!(shown["toQueueId"], ids::encode("Queue", 4).0);
        assert_eq!(shown["contactId"], ids::encode("Contact", 5).0);
        assert_eq!(shown["templateId"], ids::encode("ReplyTemplate", 6).0);
        assert_eq!(shown["status"], "SENT");
        assert_eq!(shown["changed"], serde_json::json!(["simultaneous_chats"]));
        let merged = [ids::encode("Contact", 8).0, ids::encode("Contact", 9).0];
        assert_eq!(shown["mergedContactIds"], serde_json::json!(merged));
        assert_eq!(shown["caseId"], ids::encode("Case", 10).0);
    }

    #[test]
    fn every_kind_has_its_stored_name() {
        use async_graphql::resolver_utils::EnumType;
        for kind in crate::events::EventKind::ALL {
            let shown = EventKind::from(kind);
            let item = EventKind::items().iter().find(|item| item.value == shown).unwrap();
            assert_eq!(item.name, kind.as_str());
        }
    }
}
