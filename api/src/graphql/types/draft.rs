//! The `Draft` type.

use async_graphql::Object;
use chrono::{DateTime, Utc};
use entity::drafts;

/// The reply the signed-in agent is writing in a chat, kept until they send or clear it.
#[derive(Clone, Debug)]
pub struct Draft(pub drafts::Model);

/// The reply the signed-in agent is writing in a chat, kept until they send or clear it.
#[Object]
impl Draft {
    /// The unsent text.
    async fn text(&self) -> &str {
        &self.0.text
    }

    /// When the draft was last saved.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
