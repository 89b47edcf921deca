//! Reading chats and contacts.

use async_graphql::{Context, ID, Object};

use super::context::{READERS, RoleGuard, db, principal};
use super::error::ResultExt;
use super::ids;
use super::types::chat::Chat;
use super::types::contact::Contact;
use crate::domain::ids::{ChatId, ContactId};
use crate::domain::{chats, contacts};

/// Chat and contact queries.
#[derive(Default)]
pub struct ChatsQuery;

#[Object]
impl ChatsQuery {
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
