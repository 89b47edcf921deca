//! The `Message` type.

use std::borrow::Cow;
use std::sync::Arc;

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::parser::types::{Field, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::{Context, ContextSelectionSet, ID, Object, OutputType, Positioned, ServerResult, Value};
use chrono::{DateTime, Utc};
use entity::messages;

use super::attachment::Attachment;
use super::enums::{AuthorKind, DeliveryStatus, Direction, MessageKind};
use crate::domain::ids::{GlobalId, MessageId};
use crate::domain::pagination::PageOf;
use crate::graphql::ids;
use crate::graphql::loaders::{AttachmentsOf, loader};
use crate::graphql::plain::{self, Out, PageInfoOf, Plain, PlainFields, enum_name};

/// One message in a chat, from the customer or to them.
#[derive(Clone, Debug)]
pub struct Message(pub messages::Model);

/// One message in a chat, from the customer or to them.
#[Object]
impl Message {
    /// Global id: opaque, stable; fetch the object again with `node(id)`.
    pub async fn id(&self) -> ID {
        ids::encode("Message", self.0.id)
    }

    /// From the customer or to them.
    async fn direction(&self) -> Direction {
        self.0.direction.into()
    }

    /// Who wrote it.
    async fn author_kind(&self) -> AuthorKind {
        self.0.author_kind.into()
    }

    /// The agent who sent an outgoing message; null for the customer's, bots' and system
    /// messages.
    async fn author(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<super::agent::Agent>> {
        match self.0.author_agent_id {
            Some(id) => Ok(loader(ctx)?
                .load_one(crate::domain::ids::AgentId(id))
                .await?
                .map(super::agent::Agent::from)),
            None => Ok(None),
        }
    }

    /// What it carries.
    async fn kind(&self) -> MessageKind {
        self.0.kind.into()
    }

    /// The text, or the caption of a file.
    async fn text(&self) -> Option<&str> {
        self.0.text.as_deref()
    }

    /// Delivery of an outgoing message; null for incoming ones.
    async fn delivery_status(&self) -> Option<DeliveryStatus> {
        self.0.delivery_status.map(Into::into)
    }

    /// Why delivery failed, as the provider said.
    async fn delivery_error(&self) -> Option<&str> {
        self.0.delivery_error.as_deref()
    }

    /// Files sent with the message.
    async fn attachments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Attachment>> {
        let rows = loader(ctx)?.load_one(AttachmentsOf(MessageId(self.0.id))).await?.unwrap_or_default();
        Ok(rows.into_iter().map(Attachment).collect())
    }

    /// When the customer edited the message (the original text is kept in the history).
    async fn edited_at(&self) -> Option<DateTime<Utc>> {
        self.0.edited_at
    }

    /// When the message was written.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

impl PlainFields for Message {
    fn typename(&self) -> Cow<'static, str> {
        <Self as OutputType>::type_name()
    }

    fn plain_field(&self, name: &str, _: &SelectionSet, out: &mut dyn Out) -> bool {
        message_field(&self.0, name, out)
    }
}

/// The plain field `name` of message `row`: the fields `page_columns` lists as plain for
/// `Message`, as their resolvers above answer them (checked against them in
/// `tests/e2e/read_columns.rs`).
fn message_field(row: &messages::Model, name: &str, out: &mut dyn Out) -> bool {
    match name {
        "id" => out.global_id(GlobalId::new("Message", row.id)),
        "direction" => out.enumeration(enum_name(Direction::from(row.direction))),
        "authorKind" => out.enumeration(enum_name(AuthorKind::from(row.author_kind))),
        "kind" => out.enumeration(enum_name(MessageKind::from(row.kind))),
        "text" => out.optional_string(row.text.as_deref()),
        "deliveryStatus" => {
            out.optional_enumeration(row.delivery_status.map(|s| enum_name(DeliveryStatus::from(s))))
        }
        "deliveryError" => out.optional_string(row.delivery_error.as_deref()),
        "editedAt" => out.optional_time(row.edited_at),
        "createdAt" => out.time(row.created_at),
        _ => return false,
    }
    true
}

/// A page of a chat's messages, oldest first, as the `messages` field answers it: the rows
/// themselves (shared with the chat they were read with, for its latest page), answered plain
/// from them when the selection allows it, else as async-graphql's `MessageConnection` (the
/// same GraphQL type: the schema does not change).
#[derive(Clone, Debug)]
pub struct MessagePage {
    rows: Arc<PageOf<messages::Model>>,
    has_previous: bool,
    has_next: bool,
}

/// The connection type async-graphql answers for a page of messages.
type MessageConnection = Connection<String, Plain<Message>>;

impl MessagePage {
    /// A page read newest first (`messages(last: n, before: …)`), `rows` put oldest first:
    /// older messages exist when the read found more than it returned; newer ones when the
    /// page ends at a cursor (`before`).
    pub fn newest(rows: Arc<PageOf<messages::Model>>, before: bool) -> Self {
        let has_previous = rows.has_next;
        Self { rows, has_previous, has_next: before }
    }

    /// A page read oldest first (`messages(first: n, after: …)`).
    pub fn oldest(rows: PageOf<messages::Model>, after: bool) -> Self {
        let has_next = rows.has_next;
        Self { rows: Arc::new(rows), has_previous: after, has_next }
    }

    /// The page as async-graphql's connection.
    fn connection(&self) -> MessageConnection {
        let mut connection = Connection::new(self.has_previous, self.has_next);
        connection.edges.extend(
            self.rows.items.iter().map(|row| Edge::new(ids::cursor(row.id), Plain(Message(row.clone())))),
        );
        connection
    }
}

impl OutputType for MessagePage {
    fn type_name() -> Cow<'static, str> {
        MessageConnection::type_name()
    }

    fn qualified_type_name() -> String {
        MessageConnection::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        MessageConnection::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        MessageConnection::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> ServerResult<Value> {
        match plain::value(self, &ctx.item.node) {
            Some(value) => Ok(value),
            None => self.connection().resolve(ctx, field).await,
        }
    }
}

impl PlainFields for MessagePage {
    fn typename(&self) -> Cow<'static, str> {
        MessageConnection::type_name()
    }

    /// `edges`, `nodes` and `pageInfo`, as async-graphql's connection answers them.
    fn plain_field(&self, name: &str, selection: &SelectionSet, out: &mut dyn Out) -> bool {
        let rows = &self.rows.items;
        match name {
            "edges" => plain::list(out, rows, |row, out| plain::answer(&MessageEdge(row), selection, out)),
            "nodes" => plain::list(out, rows, |row, out| plain::answer(&MessageNode(row), selection, out)),
            "pageInfo" => {
                let ends = rows.first().zip(rows.last()).map(|(first, last)| (first.id, last.id));
                let info = PageInfoOf { has_previous: self.has_previous, has_next: self.has_next, ends };
                plain::answer(&info, selection, out)
            }
            _ => false,
        }
    }
}

/// A message of a [`MessagePage`], borrowed.
struct MessageNode<'a>(&'a messages::Model);

impl PlainFields for MessageNode<'_> {
    fn typename(&self) -> Cow<'static, str> {
        <Message as OutputType>::type_name()
    }

    fn plain_field(&self, name: &str, _: &SelectionSet, out: &mut dyn Out) -> bool {
        message_field(self.0, name, out)
    }
}

/// An edge of a [`MessagePage`]: the message and its cursor.
struct MessageEdge<'a>(&'a messages::Model);

impl PlainFields for MessageEdge<'_> {
    fn typename(&self) -> Cow<'static, str> {
        <Edge<String, Plain<Message>, EmptyFields> as OutputType>::type_name()
    }

    fn plain_field(&self, name: &str, selection: &SelectionSet, out: &mut dyn Out) -> bool {
        match name {
            "cursor" => {
                out.global_id(GlobalId::cursor(self.0.id));
                true
            }
            "node" => plain::answer(&MessageNode(self.0), selection, out),
            _ => false,
        }
    }
}
