//! The `ReplyTemplate` type.

use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};
use entity::reply_templates;

use crate::graphql::ids;

/// A quick reply: a canned text agents insert into their replies.
#[derive(Clone, Debug)]
pub struct ReplyTemplate(pub reply_templates::Model);

/// A quick reply: a canned text agents insert into their replies.
#[Object]
impl ReplyTemplate {
    /// Global id: opaque, stable; fetch the object again with `node(id)`.
    pub async fn id(&self) -> ID {
        ids::encode("ReplyTemplate", self.0.id)
    }

    /// Short name agents pick it by.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The text inserted into the reply.
    async fn text(&self) -> &str {
        &self.0.text
    }

    /// Language tag (e.g. `en`): the template is offered only in chats whose channel has this
    /// language. Null: offered everywhere.
    async fn language(&self) -> Option<&str> {
        self.0.language.as_deref()
    }

    /// When the template was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When the template was last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
