//! Saving drafts. A chat's `draft` field reads the caller's own.

use async_graphql::{Context, ID, Object};
use sea_orm::DatabaseConnection;

use super::context::{RoleGuard, STAFF, principal};
use super::error::ResultExt;
use super::ids;
use super::types::draft::Draft;
use crate::domain::drafts;
use crate::domain::ids::ChatId;

/// Draft mutations.
#[derive(Default)]
pub struct DraftsMutation;

#[Object]
impl DraftsMutation {
    /// Saves the caller's draft reply in a chat they may read, replacing their previous one
    /// (one draft per agent and chat). The text is trimmed; an empty text clears the draft and
    /// returns null. Sending a message in the chat clears the sender's draft.
    #[graphql(guard = "RoleGuard::new(STAFF)")]
    async fn save_draft(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The chat the draft belongs to.")] chat_id: ID,
        #[graphql(desc = "The unsent text (up to 4096 characters); empty clears the draft.")] text: String,
    ) -> async_graphql::Result<Option<Draft>> {
        let principal = principal(ctx)?;
        let chat_id = ChatId(ids::decode(&chat_id, "Chat")?);
        let db = ctx.data::<DatabaseConnection>()?;
        Ok(drafts::save(db, principal, chat_id, &text).await.gql()?.map(Draft))
    }
}
