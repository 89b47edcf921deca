//! Reading chats and contacts.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object};

use super::connection;
use super::context::{READERS, RoleGuard, analytics_db, db, principal};
use super::error::ResultExt;
use super::ids;
use super::types::chat::Chat;
use super::types::contact::Contact;
use super::types::enums::ChatStatus;
use crate::domain::ids::{ChatId, ContactId};
use crate::domain::{chats, contacts, reads};
use crate::state::Limits;

/// Chat and contact queries.
#[derive(Default)]
pub struct ChatsQuery;

#[Object]
impl ChatsQuery {
    /// The chats the caller may read, oldest first: all of them for supervisors, admins and
    /// analysts; for an agent, the chats they own or that are directed to them. A history
    /// read: it may run on the server's read replica, so a chat created or changed a moment
    /// ago may show a moment later (use `chat(id)` or `myChats` for what was just done); a
    /// read running longer than the server's analytics statement timeout fails with
    /// QUERY_TIMEOUT.
    #[graphql(
        guard = "RoleGuard::new(READERS)",
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn chats(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only chats in this status.")] status: Option<ChatStatus>,
        #[graphql(
            desc = "How many to return, from 0 to the server's page-size limit (default 20, limit 100 unless configured)."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Return the items after this cursor (a `pageInfo.endCursor` or an edge's `cursor`)."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Chat>> {
        let principal = principal(ctx)?;
        let page = ids::page(first, after.as_deref(), ctx.data::<Limits>()?.max_page_size)?;
        let analytics = analytics_db(ctx)?;
        let found = reads::timed(
            &analytics,
            chats::list_visible(analytics.db(), principal, status.map(Into::into), page),
        )
        .await
        .gql()?;
        Ok(connection::build(page, found, |row| row.id, Chat::from))
    }

    /// One chat, or null when no chat has this id or the caller may not read it (an agent
    /// reads the chats they own and those offered or directed to them; supervisors, admins
    /// and analysts read all). A string that is not a `Chat` id gives BAD_USER_INPUT.
    #[graphql(guard = "RoleGuard::new(READERS)")]
    async fn chat(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The chat's global id.")] id: ID,
    ) -> async_graphql::Result<Option<Chat>> {
        let chat_id = ChatId(ids::decode(&id, "Chat")?);
        let db = db(ctx)?;
        let chat = chats::get_visible_with_contact(db, principal(ctx)?, chat_id).await.gql()?;
        Ok(chat.map(Chat::from))
    }

    /// One contact, or null when no contact has this id or the caller may not read it:
    /// supervisors, admins and analysts read every contact; an agent reads a contact only
    /// while they may read one of its chats (owned, directed or offered to them). A string
    /// that is not a `Contact` id gives BAD_USER_INPUT.
    #[graphql(guard = "RoleGuard::new(READERS)")]
    async fn contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact's global id.")] id: ID,
    ) -> async_graphql::Result<Option<Contact>> {
        let contact_id = ContactId(ids::decode(&id, "Contact")?);
        let contact = contacts::get_visible(db(ctx)?, principal(ctx)?, contact_id).await.gql()?;
        Ok(contact.map(Contact))
    }
}
