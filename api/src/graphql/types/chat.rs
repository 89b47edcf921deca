//! The `Chat` type.

use crate::graphql::context::db;
use async_graphql::connection::Connection;
use async_graphql::parser::types::{Field, SelectionSet};
use std::borrow::Cow;

use async_graphql::{Context, ID, Object, OutputType, Value};
use chrono::{DateTime, Utc};
use entity::chats;
use futures_util::FutureExt;
use sea_orm::EntityTrait;

use super::agent::Agent;
use super::channel::Channel;
use super::contact::{Contact, ContactRef};
use super::enums::{ChatStatus, CompletionReason};
use super::message::MessagePage;
use super::queue::Queue;
use std::sync::Arc;

use crate::domain::chats as chat_rules;
use crate::domain::ids::{AgentId, ChannelId, ChatId, ContactId, GlobalId, QueueId};
use crate::domain::pagination::PageOf;
use crate::graphql::error::ResultExt;
use crate::graphql::ids;
use crate::graphql::loaders::loader;
use crate::graphql::plain::{Out, PlainFields, answer, enum_name};
use crate::state::Limits;

/// A page of chats with their count.
pub type ChatConnection = Connection<String, Chat, ChatCount>;

/// What a page of chats counts when `totalCount` is asked for.
pub enum ChatCount {
    /// The history matching a filter, as a principal may read it.
    History {
        /// The filter.
        filter: Box<crate::domain::history::Filter>,
        /// The order (ordering by a time lists only chats that have it).
        order: crate::domain::history::Order,
        /// Who reads.
        principal: crate::domain::sessions::Principal,
    },
    /// Every chat of a contact (its timeline).
    Contact(ContactId),
}

/// A page of chats (Relay connection): `edges` or `nodes`, `pageInfo` to fetch the next
/// page, and `totalCount`.
#[Object]
impl ChatCount {
    /// How many chats match, over every page (one count query, run only when asked for).
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let db = db(ctx)?;
        let count = match self {
            Self::History { filter, order, principal } => {
                crate::graphql::history::total_count(ctx, principal, filter, *order).boxed().await?
            }
            Self::Contact(contact) => {
                crate::domain::contacts::timeline_count(db, *contact).boxed().await.gql()?
            }
        };
        Ok(i64::try_from(count).unwrap_or(i64::MAX))
    }
}

/// A conversation with a contact on one channel, from arrival to completion.
///
/// The second field is the contact when it was read together with the chat (the agent panel
/// does), so `contact` needs no second query; otherwise it is loaded in a batch.
///
/// The third is its latest messages when they were read with it (`chat(id)` does when the
/// selection asks for `messages(last: n)`), with the `n` they answer.
#[derive(Clone, Debug)]
pub struct Chat(pub chats::Model, pub Option<entity::contacts::Model>, pub Option<Latest>);

/// A chat's latest messages, read with the chat.
#[derive(Clone, Debug)]
pub struct Latest {
    /// How many were asked for.
    pub limit: u64,
    /// The page, oldest first.
    pub page: Arc<PageOf<entity::messages::Model>>,
}

impl From<chats::Model> for Chat {
    fn from(row: chats::Model) -> Self {
        Self(row, None, None)
    }
}

impl From<crate::domain::chats::WithContact> for Chat {
    fn from((row, contact): crate::domain::chats::WithContact) -> Self {
        Self(row, contact, None)
    }
}

impl Chat {
    /// A chat read with its contact and its latest `limit` messages.
    pub fn with_latest((chat, page): crate::domain::chats::WithLatest, limit: u64) -> Self {
        let (row, contact) = chat;
        Self(row, contact, Some(Latest { limit, page: Arc::new(page) }))
    }
}

/// A conversation with a contact on one channel, from arrival to completion.
///
/// The second field is the contact when it was read together with the chat (the agent panel
/// does), so `contact` needs no second query; otherwise it is loaded in a batch.
#[Object]
impl Chat {
    /// Global id: opaque, stable; fetch the object again with `node(id)`.
    pub async fn id(&self) -> ID {
        ids::encode("Chat", self.0.id)
    }

    /// Where the chat is in its life.
    async fn status(&self) -> ChatStatus {
        self.0.status.into()
    }

    /// Why the chat was completed, once it is.
    async fn completion_reason(&self) -> Option<CompletionReason> {
        self.0.completion_reason.map(Into::into)
    }

    /// The customer.
    async fn contact(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        if let Some(contact) = &self.1 {
            return Ok(Some(Contact(contact.clone())));
        }
        Ok(loader(ctx)?.load_one(ContactId(self.0.contact_id)).await?.map(Contact))
    }

    /// The channel the customer writes through.
    async fn channel(&self) -> Option<Channel> {
        Some(Channel::of(ChannelId(self.0.channel_id)))
    }

    /// The queue the chat belongs to.
    async fn queue(&self) -> Option<Queue> {
        Some(Queue::of(QueueId(self.0.queue_id)))
    }

    /// The agent who accepted the chat.
    async fn owner(&self) -> Option<Agent> {
        self.0.owner_id.map(|id| Agent::of(AgentId(id)))
    }

    /// When the customer's first message arrived.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When an agent accepted the chat.
    async fn accepted_at(&self) -> Option<DateTime<Utc>> {
        self.0.accepted_at
    }

    /// When an agent first replied.
    async fn first_response_at(&self) -> Option<DateTime<Utc>> {
        self.0.first_response_at
    }

    /// When the chat was completed.
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }

    /// When the chat completes by itself: for an IN_PROGRESS chat, the queue's completion
    /// timeout after the agent's last reply, cleared when the customer writes; for a
    /// BOT_PROCESSING chat, that timeout (60 minutes when the queue has none) after its last
    /// message, whoever sent it.
    async fn close_deadline(&self) -> Option<DateTime<Utc>> {
        self.0.close_deadline
    }

    /// When the chat entered its queue to wait for an agent; null for chats that never
    /// waited (transferred straight to an agent, chatbot conversations).
    async fn queued_at(&self) -> Option<DateTime<Utc>> {
        self.0.queued_at
    }

    /// When the last message (either way) was written.
    async fn last_message_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_message_at
    }

    /// How many messages the chat has (both ways, files included).
    async fn message_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let key = crate::graphql::loaders::MessageCountOf(ChatId(self.0.id));
        Ok(loader(ctx)?.load_one(key).await?.unwrap_or(0))
    }

    /// Seconds from entering the queue to being accepted; null for a chat that never waited
    /// or was not accepted (docs/metrics.md).
    async fn time_to_accept(&self) -> Option<f64> {
        crate::domain::history::time_to_accept(&self.0)
    }

    /// Seconds from creation to the first agent message in this chat (bot and system messages
    /// never count; a child chat after a transfer has its own); null until then.
    async fn first_response_time(&self) -> Option<f64> {
        crate::domain::history::first_response_time(&self.0)
    }

    /// Seconds from creation to completion; null while open.
    async fn duration(&self) -> Option<f64> {
        crate::domain::history::duration(&self.0)
    }

    /// Seconds from acceptance to completion (from creation for a chat that never waited);
    /// null while open, and for a chat completed without being accepted.
    async fn handling_time(&self) -> Option<f64> {
        crate::domain::history::handling_time(&self.0)
    }

    /// Every offer, direction, acceptance and transfer of the chat, oldest first.
    async fn assignments(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<super::assignment::Assignment>> {
        let key = crate::graphql::loaders::AssignmentsOf(ChatId(self.0.id));
        let rows = loader(ctx)?.load_one(key).await?.unwrap_or_default();
        Ok(rows.into_iter().map(super::assignment::Assignment).collect())
    }

    /// The chat's messages, oldest first. Page forward with `first`/`after`, or fetch the
    /// newest with `last` (and older ones with `before`), still oldest first within the page.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(0) as usize * child_complexity + 1")]
    async fn messages(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "How many of the oldest messages (after `after`) to return, up to the page-size limit."
        )]
        first: Option<i32>,
        #[graphql(desc = "Return the messages after this cursor (going forward, to newer ones).")]
        after: Option<String>,
        #[graphql(
            desc = "How many of the newest messages (before `before`) to return, up to the page-size limit; not with `first`/`after`."
        )]
        last: Option<i32>,
        #[graphql(
            desc = "Return the messages before this cursor (going back, to older ones); not with `first`/`after`."
        )]
        before: Option<String>,
    ) -> async_graphql::Result<MessagePage> {
        let limits = ctx.data::<Limits>()?;
        let db = db(ctx)?;
        if last.is_some() || before.is_some() {
            if first.is_some() || after.is_some() {
                return Err(crate::graphql::error::coded(
                    crate::graphql::error::codes::BAD_USER_INPUT,
                    "use first/after or last/before, not both",
                ));
            }
            let page = ids::page(last, before.as_deref(), limits.max_page_size)?;
            let read_with_chat =
                self.2.as_ref().filter(|latest| page.after.is_none() && latest.limit == page.limit);
            let found = match read_with_chat {
                Some(latest) => Arc::clone(&latest.page),
                None => Arc::new(
                    chat_rules::latest_messages(db, ChatId(self.0.id), page.after, page.limit).await.gql()?,
                ),
            };
            return Ok(MessagePage::newest(found, page.after.is_some()));
        }
        let page = ids::page(first, after.as_deref(), limits.max_page_size)?;
        let found = chat_rules::messages(db, ChatId(self.0.id), page).await.gql()?;
        Ok(MessagePage::oldest(found, page.after.is_some()))
    }

    /// The chat this one continues (after a transfer or a chatbot handover); its messages are
    /// readable through it.
    async fn parent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Chat>> {
        let Some(parent) = self.0.parent_chat_id else { return Ok(None) };
        let db = db(ctx)?;
        // Boxed, as every field's resolver future is as large as the largest (see
        // `the_resolver_futures_of_listed_types_stay_small` in `graphql::types`).
        Ok(entity::chats::Entity::find_by_id(parent)
            .one(db)
            .boxed()
            .await
            .map_err(|e| crate::graphql::error::from_domain(e.into()))?
            .map(Chat::from))
    }

    /// The agent a waiting chat is directed to (TO_AVAILABLE_AGENT queues), until they accept
    /// or the accept timeout passes.
    async fn directed_agent(&self) -> Option<Agent> {
        self.0.directed_agent_id.map(|id| Agent::of(AgentId(id)))
    }

    /// The signed-in caller's unsent draft reply in this chat, if they have one.
    async fn draft(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<crate::graphql::types::draft::Draft>> {
        let principal = crate::graphql::context::principal(ctx)?;
        let key = crate::graphql::loaders::DraftOf(ChatId(self.0.id), principal.agent_id);
        Ok(loader(ctx)?.load_one(key).await?.map(crate::graphql::types::draft::Draft))
    }

    /// The cases raised from this chat that the caller may read, newest first.
    async fn cases(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<super::case::Case>> {
        super::case::of_chat(ctx, ChatId(self.0.id)).await
    }

    /// Contacts the active duplicate rules find for the chat's contact, with the chat's
    /// contact first, marked as the current one; `count` is what the panel shows. An agent
    /// merges them with `mergeContacts` or keeps them apart with `markNotDuplicates`.
    #[graphql(complexity = "crate::domain::contacts::similar::LIMIT * child_complexity + 1")]
    async fn similar_contacts(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<super::contact::SimilarContacts>> {
        let contact = match &self.1 {
            Some(contact) => Some(contact.clone()),
            None => loader(ctx)?.load_one(ContactId(self.0.contact_id)).await?,
        };
        match contact {
            Some(contact) => Ok(Some(super::contact::SimilarContacts::of(ctx, contact).boxed().await?)),
            None => Ok(None),
        }
    }
}

impl PlainFields for Chat {
    fn typename(&self) -> Cow<'static, str> {
        <Self as OutputType>::type_name()
    }

    /// The chat's own fields that `page_columns` lists as plain, its contact when it was read
    /// with the chat, and its channel, queue, owner and directed agent (their `id` needs no
    /// read), as the resolvers above answer them (checked against them in
    /// `tests/e2e/plain_chat.rs`).
    fn plain_field(&self, name: &str, selection: &SelectionSet, out: &mut dyn Out) -> bool {
        let row = &self.0;
        let agent = |out: &mut dyn Out, id: Option<i64>| match id {
            Some(id) => answer(&Agent::of(AgentId(id)), selection, out),
            None => {
                out.null();
                true
            }
        };
        match name {
            "id" => out.global_id(GlobalId::new("Chat", row.id)),
            "status" => out.enumeration(enum_name(ChatStatus::from(row.status))),
            "completionReason" => out.optional_enumeration(
                row.completion_reason.map(|reason| enum_name(CompletionReason::from(reason))),
            ),
            "createdAt" => out.time(row.created_at),
            "acceptedAt" => out.optional_time(row.accepted_at),
            "firstResponseAt" => out.optional_time(row.first_response_at),
            "completedAt" => out.optional_time(row.completed_at),
            "closeDeadline" => out.optional_time(row.close_deadline),
            "queuedAt" => out.optional_time(row.queued_at),
            "lastMessageAt" => out.optional_time(row.last_message_at),
            "contact" => {
                return self.1.as_ref().is_some_and(|contact| answer(&ContactRef(contact), selection, out));
            }
            "channel" => return answer(&Channel::of(ChannelId(row.channel_id)), selection, out),
            "queue" => return answer(&Queue::of(QueueId(row.queue_id)), selection, out),
            "owner" => return agent(out, row.owner_id),
            "directedAgent" => return agent(out, row.directed_agent_id),
            _ => return false,
        }
        true
    }

    /// `messages(last: n)` when the chat was read with its latest `n` (`chat(id)` reads them
    /// when its selection asks for them so).
    fn plain_field_with_arguments(&self, field: &Field, out: &mut dyn Out) -> bool {
        let Some(latest) = self.2.as_ref() else { return false };
        let [(argument, value)] = field.arguments.as_slice() else { return false };
        if field.name.node != "messages" || argument.node != "last" {
            return false;
        }
        let Some(Value::Number(last)) = value.node.clone().into_const() else { return false };
        if last.as_u64() != Some(latest.limit) {
            return false;
        }
        answer(&MessagePage::newest(Arc::clone(&latest.page), false), &field.selection_set.node, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::rows::ByColumns;
    use crate::graphql::plain::{Json, value};
    use async_graphql::parser::types::{DocumentOperations, Selection};

    /// The selection set of `chat` in `query`.
    fn chat_selection(query: &str) -> SelectionSet {
        let document = async_graphql::parser::parse_query(query).unwrap();
        let DocumentOperations::Single(operation) = document.operations else { panic!("one operation") };
        let Selection::Field(chat) = &operation.node.selection_set.node.items[0].node else {
            panic!("a field")
        };
        chat.node.selection_set.node.clone()
    }

    /// The agent panel's selection of a chat read with its latest messages is answered in
    /// the plain pass as a whole (the e2e tests only see that the answers are equal, which
    /// they also are when everything goes through async-graphql); messages asked otherwise
    /// than they were read are not.
    #[test]
    fn the_panels_chat_is_answered_plain() {
        let message = entity::messages::Model::placeholder();
        let page = PageOf { items: vec![message], has_next: true };
        let latest = Latest { limit: 20, page: Arc::new(page) };
        let chat =
            Chat(chats::Model::placeholder(), Some(entity::contacts::Model::placeholder()), Some(latest));
        let panel = "{ chat { id status createdAt contact { id name mobilePhone } queue { id } owner { id } \
             messages(last: 20) { pageInfo { hasPreviousPage } edges { node { id direction text createdAt } } } } }";
        let answered = value(&chat, &chat_selection(panel)).expect("answered plain").to_string();
        assert!(answered.contains("hasPreviousPage: true"), "{answered}");
        let mut json = Json::default();
        assert!(answer(&chat, &chat_selection(panel), &mut json), "answered plain as JSON");
        let json: serde_json::Value = serde_json::from_slice(&json.into_inner()).expect("JSON");
        assert_eq!(json, serde_json::to_value(value(&chat, &chat_selection(panel))).unwrap());
        for other in ["messages(last: 19)", "messages(last: 20, before: \"x\")", "assignments"] {
            let query = panel.replace("messages(last: 20)", other);
            assert!(value(&chat, &chat_selection(&query)).is_none(), "{other}");
        }
    }
}
