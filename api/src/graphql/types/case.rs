//! The `Case` type, its enums, and the loaders behind `Chat.cases` and `Contact.cases`.

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};
use entity::cases;
use entity::enums::Role;
use futures_util::FutureExt;
use std::collections::HashMap;

use super::account::Account;
use super::agent::Agent;
use super::chat::Chat;
use super::contact::Contact;
use crate::domain::accounts::AccountId;
use crate::domain::cases::{self as case_rules, Reader};
use crate::domain::ids::{AgentId, ChatId, ContactId};
use crate::domain::{chats, contacts};
use crate::graphql::context::{db, principal};
use crate::graphql::error::ResultExt;
use crate::graphql::ids;
use crate::graphql::loaders::{Db, loader};

/// Where a case's life is: it only moves forward, NEW → IN_PROGRESS → RESOLVED → CLOSED.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::CaseStatus")]
pub enum CaseStatus {
    /// Registered, not yet worked on.
    New,
    /// Being worked on.
    InProgress,
    /// Resolved, awaiting closure.
    Resolved,
    /// Closed.
    Closed,
}

/// Where a case was raised.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::CaseSource")]
pub enum CaseSource {
    /// From a chat (`createCaseFromChat`).
    Chat,
    /// From an email.
    Email,
    /// From a phone call.
    Phone,
    /// From anywhere else.
    Other,
}

/// A customer issue with a human-readable number, raised from a chat and worked through
/// NEW → IN_PROGRESS → RESOLVED → CLOSED.
#[derive(Clone, Debug)]
pub struct Case(pub cases::Model);

/// A customer issue with a human-readable number, raised from a chat and worked through
/// NEW → IN_PROGRESS → RESOLVED → CLOSED.
#[Object]
impl Case {
    /// Global id: opaque, stable; fetch the object again with `node(id)`.
    pub async fn id(&self) -> ID {
        ids::encode("Case", self.0.id)
    }

    /// Human-readable number, unique: `CS-` and at least six digits, e.g. `CS-000042`.
    async fn number(&self) -> &str {
        &self.0.number
    }

    /// One-line summary; from a chat, its first message (cut to 200 characters).
    async fn subject(&self) -> &str {
        &self.0.subject
    }

    /// Details; from a chat, the customer's messages before the first agent reply, one per line.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// Where the case was raised.
    async fn source(&self) -> CaseSource {
        self.0.source.into()
    }

    /// Where the case's life is.
    async fn status(&self) -> CaseStatus {
        self.0.status.into()
    }

    /// When the case was registered.
    async fn registered_at(&self) -> DateTime<Utc> {
        self.0.registered_at
    }

    /// When the case was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When the case was last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// The customer, when the caller may read them (an agent reads a contact only while
    /// they may read one of its chats).
    async fn contact(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Contact>> {
        let Some(id) = self.0.contact_id.map(ContactId) else { return Ok(None) };
        let principal = principal(ctx)?;
        if principal.role == Role::Agent
            && !contacts::may_read(db(ctx)?, principal, id).boxed().await.gql()?
        {
            return Ok(None);
        }
        Ok(loader(ctx)?.load_one(id).await?.map(Contact))
    }

    /// The contact's account when the case was raised.
    async fn account(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Account>> {
        let Some(id) = self.0.account_id.map(AccountId) else { return Ok(None) };
        Ok(loader(ctx)?.load_one(id).await?.map(Account))
    }

    /// The agent in charge.
    async fn assignee(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Agent>> {
        let Some(id) = self.0.assignee_id.map(AgentId) else { return Ok(None) };
        Ok(loader(ctx)?.load_one(id).await?.map(Agent::from))
    }

    /// The chat the case was raised from, when the caller may read it (the rule of `chat(id)`).
    async fn chat(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Chat>> {
        let Some(id) = self.0.chat_id.map(ChatId) else { return Ok(None) };
        let principal = principal(ctx)?;
        if principal.role == Role::Agent {
            // An agent's rule depends on the chat's offers: checked per case.
            return Ok(chats::get_visible(db(ctx)?, principal, id).boxed().await.gql()?.map(Chat::from));
        }
        Ok(loader(ctx)?.load_one(ChatOfCase(id)).await?.map(Chat::from))
    }
}

/// Key: the chat a case was raised from, for readers who read every chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChatOfCase(pub ChatId);

impl Loader<ChatOfCase> for Db {
    type Value = entity::chats::Model;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[ChatOfCase],
    ) -> async_graphql::Result<HashMap<ChatOfCase, entity::chats::Model>> {
        let ids: Vec<ChatId> = keys.iter().map(|key| key.0).collect();
        let rows = case_rules::chats(&self.0, &ids).await.gql()?;
        Ok(rows.into_iter().map(|row| (ChatOfCase(ChatId(row.id)), row)).collect())
    }
}

/// Key: the cases of a chat that a reader may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CasesOfChat(pub ChatId, pub Reader);

/// Key: the cases of a contact that a reader may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CasesOfContact(pub ContactId, pub Reader);

/// Keys grouped by reader: one query per reader in a batch (a request has one reader).
fn by_reader<K: Copy, I>(keys: &[K], split: impl Fn(K) -> (I, Reader)) -> HashMap<Reader, Vec<I>> {
    let mut groups: HashMap<Reader, Vec<I>> = HashMap::new();
    for key in keys {
        let (id, reader) = split(*key);
        groups.entry(reader).or_default().push(id);
    }
    groups
}

impl Loader<CasesOfChat> for Db {
    type Value = Vec<cases::Model>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[CasesOfChat],
    ) -> async_graphql::Result<HashMap<CasesOfChat, Vec<cases::Model>>> {
        let mut out = HashMap::new();
        for (reader, chats) in by_reader(keys, |key| (key.0, key.1)) {
            let found = case_rules::of_chats(&self.0, reader, &chats).await.gql()?;
            out.extend(found.into_iter().map(|(chat, rows)| (CasesOfChat(chat, reader), rows)));
        }
        Ok(out)
    }
}

impl Loader<CasesOfContact> for Db {
    type Value = Vec<cases::Model>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[CasesOfContact],
    ) -> async_graphql::Result<HashMap<CasesOfContact, Vec<cases::Model>>> {
        let mut out = HashMap::new();
        for (reader, contacts) in by_reader(keys, |key| (key.0, key.1)) {
            let found = case_rules::of_contacts(&self.0, reader, &contacts).await.gql()?;
            out.extend(found.into_iter().map(|(contact, rows)| (CasesOfContact(contact, reader), rows)));
        }
        Ok(out)
    }
}

/// The cases of a chat the caller may read, newest first (for `Chat.cases`).
pub async fn of_chat(ctx: &Context<'_>, chat: ChatId) -> async_graphql::Result<Vec<Case>> {
    let reader = Reader::of(principal(ctx)?);
    let rows = loader(ctx)?.load_one(CasesOfChat(chat, reader)).await?.unwrap_or_default();
    Ok(rows.into_iter().map(Case).collect())
}

/// The cases of a contact the caller may read, newest first (for `Contact.cases`).
pub async fn of_contact(ctx: &Context<'_>, contact: ContactId) -> async_graphql::Result<Vec<Case>> {
    let reader = Reader::of(principal(ctx)?);
    let rows = loader(ctx)?.load_one(CasesOfContact(contact, reader)).await?.unwrap_or_default();
    Ok(rows.into_iter().map(Case).collect())
}
