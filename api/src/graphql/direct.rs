//! Queries answered without async-graphql's executor: the agent panel's `chat(id)` read.
//!
//! async-graphql prepares every request anew (a copy of the document, a walk of it for its
//! complexity, the request's data), dispatches each root field through the merged query root
//! and builds a `Value` that is serialised afterwards: on the panel's read that was ~15 % of
//! the server's CPU beside the read itself (`docs/benchmarks.md`). A query is answered here
//! instead when
//! - it passed strict validation with these inputs before (`document_cache`), so async-graphql
//!   has nothing to report about it, and its complexity, which only literal page sizes set
//!   here, is within the limit;
//! - the caller is signed in with a role `chat` lets through (`READERS`);
//! - its root fields are `chat(id:)` and `__typename` only, without directives or fragments,
//!   each `id` a string (literal or variable) that is a `Chat` id;
//! - each chat's selection is plain (`graphql::plain`), `messages` only as `messages(last: n)`
//!   with a literal `n`.
//!
//! It runs the resolver's own read (`chats::read_chat`) and plain answer, so the answer is
//! the resolver's (`tests/e2e/direct_answers.rs` compares them byte for byte). Anything else
//! is [`Outcome::Declined`] and runs through async-graphql, which reports whatever there is
//! to report (a bad id, a database error). Whether a document's chat selections are plain is
//! found once, on placeholder rows before anything is read, and kept with the document
//! (`document_cache`): a document with one that is not ([`Outcome::NotPlain`]) is not offered
//! here again.

use async_graphql::parser::types::{ExecutableDocument, Field, OperationType, Selection, SelectionSet};
use async_graphql::{ID, Name, Value, Variables};
use entity::{chats, contacts, messages};

use super::chats::{latest_limit, read_chat};
use super::context::{Caller, READERS};
use super::document_cache;
use super::ids;
use super::page_columns::{Selected, message_reads};
use super::plain::{self, Json, Out as _};
use super::types::chat::Chat;
use crate::db::RequestDb;
use crate::db::rows::Columns;
use crate::domain::ids::ChatId;
use crate::domain::pagination::PageOf;

/// The latest messages a chat is read with: how many, which columns.
type Latest = Option<(u64, Columns<messages::Column>)>;

/// What became of a query offered for a direct answer.
#[derive(Debug)]
pub enum Outcome {
    /// Answered: the JSON text of the response async-graphql would have given.
    Answered(String),
    /// Not answered here this time: run it through async-graphql.
    Declined,
    /// Not answered, and its document never will be: a selection is not plain.
    NotPlain,
}

/// A request's operation, what it runs with, and who asks.
pub struct Query<'a> {
    /// Whether the document's chat selections are known to be plain (a document is tried on
    /// placeholder rows first).
    pub known_plain: bool,
    /// The parsed document.
    pub document: &'a ExecutableDocument,
    /// The operation the request names, if any.
    pub operation_name: Option<&'a str>,
    /// The request's variables.
    pub variables: &'a Variables,
    /// Who asks.
    pub caller: &'a Caller,
    /// The request's database handle.
    pub db: &'a RequestDb,
    /// The largest page a list may ask for.
    pub max_page_size: usize,
}

/// Answers `query` directly when it can (see the module).
pub async fn answer(query: Query<'_>) -> Outcome {
    let Some(operation) = document_cache::operation(query.document, query.operation_name) else {
        return Outcome::Declined;
    };
    let operation = &operation.node;
    let Caller::SignedIn(principal) = query.caller else { return Outcome::Declined };
    if operation.ty != OperationType::Query
        || !operation.directives.is_empty()
        || !READERS.contains(&principal.role)
    {
        return Outcome::Declined;
    }
    let items = &operation.selection_set.node.items;
    let mut json = Json::new(Vec::with_capacity(4096));
    json.raw("{\"data\":");
    json.begin_object(items.len());
    let mut repeats = plain::Repeats::new(items);
    for (at, item) in items.iter().enumerate() {
        let Selection::Field(field) = &item.node else { return Outcome::Declined };
        let field = &field.node;
        let key: &Name = &field.response_key().node;
        // async-graphql merges a repeated key's selections.
        if !field.directives.is_empty() || repeats.repeated(at, key) {
            return Outcome::Declined;
        }
        json.key(key);
        match field.name.node.as_str() {
            "__typename" => json.string("Query"),
            "chat" => {
                if let Err(outcome) = chat(field, &query, principal, &mut json).await {
                    return outcome;
                }
            }
            _ => return Outcome::Declined,
        }
    }
    json.end_object();
    json.raw("}");
    match String::from_utf8(json.into_inner()) {
        Ok(text) => Outcome::Answered(text),
        Err(_) => Outcome::Declined,
    }
}

/// Writes the answer to one `chat(id:)` root field.
async fn chat(
    field: &Field,
    query: &Query<'_>,
    principal: &crate::domain::sessions::Principal,
    json: &mut Json,
) -> Result<(), Outcome> {
    let [(name, id)] = field.arguments.as_slice() else { return Err(Outcome::Declined) };
    let id = id.node.clone().into_const_with(|variable| query.variables.get(&variable).cloned().ok_or(()));
    let (true, Ok(Value::String(id))) = (name.node == "id", id) else { return Err(Outcome::Declined) };
    let Ok(id) = ids::decode(&ID(id), "Chat") else { return Err(Outcome::Declined) };
    let latest = latest_messages_asked(field, query.max_page_size)?;
    if !query.known_plain && !plain_for_any_chat(&field.selection_set.node, &latest) {
        return Err(Outcome::NotPlain);
    }
    match read_chat(query.db, principal, ChatId(id), latest).await {
        Ok(None) => json.null(),
        Ok(Some(chat)) => {
            if !plain::answer(&chat, &field.selection_set.node, json) {
                return Err(Outcome::NotPlain);
            }
        }
        Err(_) => return Err(Outcome::Declined),
    }
    Ok(())
}

/// Whether the plain answer takes `selection` of any chat read with `latest`: tried on
/// placeholder rows (a message among them), so a selection that is not plain costs no read.
fn plain_for_any_chat(selection: &SelectionSet, latest: &Latest) -> bool {
    use crate::db::rows::ByColumns;
    let chat = (chats::Model::placeholder(), Some(contacts::Model::placeholder()));
    let chat = match latest {
        Some((limit, _)) => {
            let page = PageOf { items: vec![messages::Model::placeholder()], has_next: false };
            Chat::with_latest((chat, page), *limit)
        }
        None => Chat::from(chat),
    };
    plain::answer(&chat, selection, &mut Json::default())
}

/// What `chat`'s resolver reads with the chat for the selection of `field`: its latest `n`
/// messages for one `messages(last: n)` with a literal `n`, nothing when there is no
/// `messages`; `NotPlain` for any other `messages`, which the plain answer would not take.
fn latest_messages_asked(field: &Field, max_page_size: usize) -> Result<Latest, Outcome> {
    let mut asked = field.children().filter(|child| child.name() == "messages");
    let Some(messages) = asked.next() else { return Ok(None) };
    let latest = match (asked.next(), messages.arguments.as_slice()) {
        (None, [(name, last)]) if name.node == "last" => {
            last.node.clone().into_const().and_then(|last| latest_limit(&last, max_page_size))
        }
        _ => None,
    };
    match latest {
        Some(limit) => Ok(Some((limit, message_reads(&messages)))),
        None => Err(Outcome::NotPlain),
    }
}
