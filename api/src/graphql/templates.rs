//! Quick replies: searching them (staff) and managing them (supervisors and admins).

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use entity::enums::Role;
use sea_orm::DatabaseConnection;

use super::connection;
use super::context::{RoleGuard, STAFF, db, principal};
use super::error::ResultExt;
use super::ids;
use super::types::reply_template::ReplyTemplate;
use crate::domain::ids::ChatId;
use crate::domain::templates::{self, NewTemplate, TemplateChange, TemplateId};
use crate::state::Limits;

/// Roles that create, change and delete quick replies.
pub const TEMPLATE_MANAGERS: &[Role] = &[Role::Supervisor, Role::Admin];

/// `createReplyTemplate` input.
#[derive(InputObject)]
pub struct CreateReplyTemplateInput {
    /// Short name agents pick it by (1 to 100 characters).
    pub name: String,
    /// The text inserted into the reply (1 to 4096 characters).
    pub text: String,
    /// Language tag such as `en` or `pt-br`; the template is then offered only in chats whose
    /// channel has this language. Omitted, null or empty: offered everywhere.
    pub language: Option<String>,
}

/// `updateReplyTemplate` input; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateReplyTemplateInput {
    /// The template to change.
    pub id: ID,
    /// New name (1 to 100 characters).
    pub name: Option<String>,
    /// New text (1 to 4096 characters).
    pub text: Option<String>,
    /// New language tag; null (or empty) clears it, so the template is offered everywhere.
    pub language: MaybeUndefined<String>,
}

/// Quick-reply queries.
#[derive(Default)]
pub struct TemplatesQuery;

#[Object]
impl TemplatesQuery {
    /// Quick replies, in creation order.
    #[graphql(
        guard = "RoleGuard::new(STAFF)",
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn reply_templates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only templates whose name or text contains this (case-insensitive).")]
        search: Option<String>,
        #[graphql(
            desc = "Only templates for this chat: those in its channel's language and those with no language. The chat must be readable by the caller."
        )]
        chat_id: Option<ID>,
        #[graphql(desc = "How many templates to return (default 20).")] first: Option<i32>,
        #[graphql(desc = "Return templates after this cursor.")] after: Option<String>,
    ) -> async_graphql::Result<Connection<String, ReplyTemplate>> {
        let principal = principal(ctx)?;
        let page = ids::page(first, after.as_deref(), ctx.data::<Limits>()?.max_page_size)?;
        let chat_id = chat_id.as_ref().map(|id| ids::decode(id, "Chat").map(ChatId)).transpose()?;
        let db = db(ctx)?;
        let language = match chat_id {
            Some(chat) => templates::chat_language(db, principal, chat).await.gql()?,
            None => None,
        };
        let found = templates::search(db, search.as_deref(), language.as_deref(), page).await.gql()?;
        Ok(connection::build(page, found, |row| row.id, ReplyTemplate))
    }
}

/// Quick-reply administration.
#[derive(Default)]
pub struct TemplatesMutation;

#[Object]
impl TemplatesMutation {
    /// Creates a quick reply (SUPERVISOR, ADMIN).
    #[graphql(guard = "RoleGuard::new(TEMPLATE_MANAGERS)")]
    async fn create_reply_template(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new template.")] input: CreateReplyTemplateInput,
    ) -> async_graphql::Result<ReplyTemplate> {
        let new = NewTemplate { name: input.name, text: input.text, language: input.language };
        Ok(ReplyTemplate(templates::create(ctx.data::<DatabaseConnection>()?, new).await.gql()?))
    }

    /// Changes a quick reply (SUPERVISOR, ADMIN).
    #[graphql(guard = "RoleGuard::new(TEMPLATE_MANAGERS)")]
    async fn update_reply_template(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The template and the changes.")] input: UpdateReplyTemplateInput,
    ) -> async_graphql::Result<ReplyTemplate> {
        let id = TemplateId(ids::decode(&input.id, "ReplyTemplate")?);
        let change = TemplateChange {
            name: input.name,
            text: input.text,
            language: match input.language {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(language) => Some(Some(language)),
            },
        };
        Ok(ReplyTemplate(templates::update(ctx.data::<DatabaseConnection>()?, id, change).await.gql()?))
    }

    /// Deletes a quick reply (SUPERVISOR, ADMIN). Returns true.
    #[graphql(guard = "RoleGuard::new(TEMPLATE_MANAGERS)")]
    async fn delete_reply_template(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The template to delete.")] id: ID,
    ) -> async_graphql::Result<bool> {
        let id = TemplateId(ids::decode(&id, "ReplyTemplate")?);
        templates::delete(ctx.data::<DatabaseConnection>()?, id).await.gql()?;
        Ok(true)
    }
}
