//! Sending replies.

use async_graphql::{Context, ID, InputObject, Object, Upload};
use sea_orm::DatabaseConnection;
use std::io::Read;

use super::context::{RoleGuard, STAFF, principal};
use super::error::{ResultExt, coded, codes};
use super::ids;
use super::types::message::Message;
use crate::domain::ids::ChatId;
use crate::domain::messages::{self, NewFile};
use crate::jobs::JobContext;

/// Most files one reply may carry.
pub const MAX_FILES: usize = 5;

/// `sendMessage` input.
#[derive(InputObject)]
pub struct SendMessageInput {
    /// The chat to reply in.
    pub chat_id: ID,
    /// The text (up to 4096 characters); optional when files are attached.
    pub text: Option<String>,
    /// Files, uploaded with the GraphQL multipart request spec (at most 5, each within the
    /// server's file size limit and content-type allowlist).
    pub files: Option<Vec<Upload>>,
}

/// Reads uploaded files (at most [`MAX_FILES`]) into memory for the domain.
pub(crate) fn read_uploads(ctx: &Context<'_>, uploads: Vec<Upload>) -> async_graphql::Result<Vec<NewFile>> {
    if uploads.len() > MAX_FILES {
        return Err(coded(codes::BAD_USER_INPUT, format!("at most {MAX_FILES} files per message")));
    }
    let mut files = Vec::with_capacity(uploads.len());
    for upload in uploads {
        let value = upload.value(ctx)?;
        let content_type = value.content_type.clone().unwrap_or_else(|| "application/octet-stream".into());
        let file_name = value.filename.clone();
        let mut bytes = Vec::new();
        value
            .into_read()
            .read_to_end(&mut bytes)
            .map_err(|err| coded(codes::BAD_USER_INPUT, format!("cannot read the upload: {err}")))?;
        files.push(NewFile { file_name, content_type, bytes });
    }
    Ok(files)
}

/// Reply mutations.
#[derive(Default)]
pub struct MessagesMutation;

#[Object]
impl MessagesMutation {
    /// Sends a reply: stored at once with delivery status PENDING, then delivered through the
    /// chat's channel (SENT, DELIVERED, READ or FAILED with a reason follow). Only the chat's
    /// owner or a supervisor, and only while the chat is IN_PROGRESS. On WhatsApp, outside the
    /// 24-hour window (the customer's last message is 24 hours old or older) it is refused
    /// with OUTSIDE_MESSAGING_WINDOW and nothing is sent: use `sendTemplate`.
    #[graphql(guard = "RoleGuard::new(STAFF)")]
    async fn send_message(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The chat, the text and the files to send.")] input: SendMessageInput,
    ) -> async_graphql::Result<Message> {
        let principal = principal(ctx)?;
        let chat_id = ChatId(ids::decode(&input.chat_id, "Chat")?);
        let files = read_uploads(ctx, input.files.unwrap_or_default())?;
        let jobs = ctx.data::<JobContext>()?;
        let db = ctx.data::<DatabaseConnection>()?;
        let message = messages::send(db, &jobs.files, principal, chat_id, input.text, files).await.gql()?;
        jobs.outbox_ready.notify_one();
        Ok(Message(message))
    }
}
