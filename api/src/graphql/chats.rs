//! Reading chats and contacts.

use async_graphql::{Context, ID, Object};

use super::context::{READERS, RoleGuard, db, principal};
use super::error::ResultExt;
use super::ids;
use super::page_columns::message_reads;
use super::plain::Plain;
use super::types::chat::Chat;
use super::types::contact::Contact;
use crate::db::rows::Columns;
use crate::domain::ids::{ChatId, ContactId};
use crate::domain::{chats, contacts};
use entity::messages;

/// How many messages the selection's one `messages(last: n)` asks for (with no other
/// argument), so that they are read with the chat, and which of their columns; `None` for
/// anything else (the field then reads its page itself, and reports any argument error).
fn latest_messages_asked(ctx: &Context<'_>) -> Option<(u64, Columns<messages::Column>)> {
    let fields = ctx.look_ahead().field("messages").selection_fields();
    let [field] = fields.as_slice() else { return None };
    let arguments = field.arguments().ok()?;
    let [(name, last)] = arguments.as_slice() else { return None };
    if name.as_str() != "last" {
        return None;
    }
    let max = ctx.data::<crate::state::Limits>().ok()?.max_page_size;
    Some((latest_limit(last, max)?, message_reads(field)))
}

/// The page size `messages(last: n)` asks for, when `n` is a valid one (at most `max`).
pub(crate) fn latest_limit(last: &async_graphql::Value, max: usize) -> Option<u64> {
    let async_graphql::Value::Number(last) = last else { return None };
    let last = i32::try_from(last.as_i64()?).ok()?;
    Some(ids::page(Some(last), None, max).ok()?.limit)
}

/// The chat `id` as `chat(id)` answers it for `principal`: with its contact, and with its
/// latest messages (how many, which columns) when `latest` says the selection asks for
/// them so; `None` when there is no such chat or the principal may not read it.
pub(crate) async fn read_chat(
    db: &crate::db::RequestDb,
    principal: &crate::domain::sessions::Principal,
    id: ChatId,
    latest: Option<(u64, Columns<messages::Column>)>,
) -> crate::domain::DomainResult<Option<Plain<Chat>>> {
    if let Some((limit, columns)) = latest {
        let chat = chats::get_visible_with_latest(db, principal, id, limit, &columns).await?;
        return Ok(chat.map(|found| Plain(Chat::with_latest(found, limit))));
    }
    let chat = chats::get_visible_with_contact(db, principal, id).await?;
    Ok(chat.map(|found| Plain(Chat::from(found))))
}

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
    ) -> async_graphql::Result<Option<Plain<Chat>>> {
        let chat_id = ChatId(ids::decode(&id, "Chat")?);
        read_chat(db(ctx)?, principal(ctx)?, chat_id, latest_messages_asked(ctx)).await.gql()
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
