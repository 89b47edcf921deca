//! A committed event as the bus hands it to every subscriber, with the rows it concerns read
//! once for all of them.
//!
//! Subscriptions that many clients share (every agent of a queue follows its chat events)
//! would otherwise read the event's chat and message once per subscriber: a thousand
//! subscribers, a thousand identical statements per event. The first subscriber that asks
//! reads the row; the others get the same copy.

use std::ops::Deref;

use entity::{chats, events, messages};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use tokio::sync::OnceCell;

/// An event row and the rows it concerns, read at most once.
#[derive(Debug)]
pub struct Published {
    row: events::Model,
    chat: OnceCell<Option<chats::Model>>,
    message: OnceCell<Option<messages::Model>>,
}

impl Published {
    /// Wraps a committed event row.
    pub fn new(row: events::Model) -> Self {
        Self { row, chat: OnceCell::new(), message: OnceCell::new() }
    }

    /// The message the event concerns (`payload.messageId`), for message and delivery events.
    fn message_id(&self) -> Option<i64> {
        self.row.payload.get("messageId").and_then(|v| v.as_i64())
    }

    /// The chat the event concerns, as it was when the first subscriber asked (right after
    /// the event, give or take the bus's delay).
    pub async fn chat(&self, db: &impl ConnectionTrait) -> Result<Option<chats::Model>, DbErr> {
        let Some(id) = self.row.chat_id else { return Ok(None) };
        let chat = self.chat.get_or_try_init(|| chats::Entity::find_by_id(id).one(db)).await?;
        Ok(chat.clone())
    }

    /// The message the event concerns, read as [`Self::chat`] is.
    pub async fn message(&self, db: &impl ConnectionTrait) -> Result<Option<messages::Model>, DbErr> {
        let Some(id) = self.message_id() else { return Ok(None) };
        let message = self.message.get_or_try_init(|| messages::Entity::find_by_id(id).one(db)).await?;
        Ok(message.clone())
    }
}

impl Deref for Published {
    type Target = events::Model;

    fn deref(&self) -> &events::Model {
        &self.row
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, QueryOrder};

    use super::*;

    #[tokio::test]
    async fn the_rows_are_read_once_and_shared() {
        let db = crate::db::demo_for_tests().await;
        let chat = chats::Entity::find().order_by_asc(chats::Column::Id).one(&db).await.unwrap().unwrap();
        let message =
            messages::Entity::find().order_by_asc(messages::Column::Id).one(&db).await.unwrap().unwrap();
        let event = events::Model {
            id: 1,
            kind: "MESSAGE_RECEIVED".into(),
            chat_id: Some(chat.id),
            queue_id: Some(chat.queue_id),
            agent_id: None,
            payload: serde_json::json!({ "messageId": message.id }),
            created_at: crate::clock::now(),
        };
        let published = Published::new(event);
        assert_eq!(published.chat(&db).await.unwrap(), Some(chat.clone()));
        assert_eq!(published.message(&db).await.unwrap(), Some(message.clone()));

        // Later readers get the first read's copy, not a new statement's.
        let mut changed: messages::ActiveModel = message.clone().into();
        changed.text = Set(Some("changed afterwards".into()));
        changed.update(&db).await.unwrap();
        assert_eq!(published.message(&db).await.unwrap(), Some(message));
        assert_eq!(published.chat(&db).await.unwrap(), Some(chat));

        let bare = Published::new(events::Model {
            chat_id: None,
            payload: serde_json::json!({}),
            ..(*published).clone()
        });
        assert_eq!(bare.chat(&db).await.unwrap(), None);
        assert_eq!(bare.message(&db).await.unwrap(), None);
    }
}
