//! What webhooks change in stored messages: delivery statuses, edits and reactions.

use entity::enums::{AuthorKind, DeliveryStatus, Direction};
use entity::{channels, chats, contact_identities, message_edits, message_reactions, messages};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, NotSet, QueryFilter, QueryOrder, Set,
};

use super::find_message;
use crate::channels::{MessageEdit, Reaction, StatusTarget, StatusUpdate};
use crate::domain::error::DomainResult;
use crate::domain::ids::{AgentId, ChannelId, ChatId};
use crate::events::{self, EventKind, Subjects};

/// Where a delivery status ranks; statuses only move up, and FAILED is final.
fn rank(status: Option<DeliveryStatus>) -> u8 {
    match status {
        None | Some(DeliveryStatus::Pending) => 0,
        Some(DeliveryStatus::Sent) => 1,
        Some(DeliveryStatus::Delivered) => 2,
        Some(DeliveryStatus::Read) => 3,
        Some(DeliveryStatus::Failed) => 4,
    }
}

/// Whether `current` may move to `next`: forward only; FAILED only from PENDING or SENT, and
/// nothing leaves FAILED.
pub fn moves_forward(current: Option<DeliveryStatus>, next: DeliveryStatus) -> bool {
    match (current, next) {
        (Some(DeliveryStatus::Failed), _) => false,
        (_, DeliveryStatus::Failed) => rank(current) <= 1,
        _ => rank(Some(next)) > rank(current),
    }
}

/// Moves delivery statuses forward; returns how many messages moved.
pub(super) async fn apply_status(
    db: &DatabaseConnection,
    channel: &channels::Model,
    update: &StatusUpdate,
) -> DomainResult<usize> {
    let txn = crate::db::write(db).await?;
    let candidates: Vec<messages::Model> = match &update.target {
        StatusTarget::Message(provider_id) => {
            find_message(&txn, ChannelId(channel.id), provider_id).await?.into_iter().collect()
        }
        StatusTarget::Watermark { customer, up_to } => {
            let identity = contact_identities::Entity::find()
                .filter(contact_identities::Column::ChannelKind.eq(channel.kind))
                .filter(contact_identities::Column::ExternalId.eq(customer.as_str()))
                .one(&txn)
                .await?;
            let Some(identity) = identity else { return Ok(0) };
            let chat_ids: Vec<i64> = chats::Entity::find()
                .filter(chats::Column::ContactId.eq(identity.contact_id))
                .filter(chats::Column::ChannelId.eq(channel.id))
                .all(&txn)
                .await?
                .into_iter()
                .map(|c| c.id)
                .collect();
            messages::Entity::find()
                .filter(messages::Column::ChatId.is_in(chat_ids))
                .filter(messages::Column::Direction.eq(Direction::Outgoing))
                .filter(messages::Column::CreatedAt.lte(*up_to))
                .filter(
                    messages::Column::DeliveryStatus.is_in([DeliveryStatus::Sent, DeliveryStatus::Delivered]),
                )
                .order_by_asc(messages::Column::Id)
                .all(&txn)
                .await?
        }
    };
    let mut moved = 0;
    for message in candidates {
        if message.direction != Direction::Outgoing || !moves_forward(message.delivery_status, update.status)
        {
            continue;
        }
        let mut row: messages::ActiveModel = message.clone().into();
        row.delivery_status = Set(Some(update.status));
        if update.status == DeliveryStatus::Failed {
            row.delivery_error = Set(update.error.clone());
        }
        row.update(&txn).await?;
        let chat = chats::Entity::find_by_id(message.chat_id).one(&txn).await?;
        let subjects = Subjects {
            chat: Some(ChatId(message.chat_id)),
            agent: chat.and_then(|c| c.owner_id).map(AgentId),
            ..Default::default()
        };
        let payload = serde_json::json!({ "messageId": message.id, "status": update.status.as_str(), "error": update.error });
        events::record(&txn, EventKind::DeliveryStatusChanged, subjects, payload).await?;
        moved += 1;
    }
    txn.commit().await?;
    Ok(moved)
}

/// Stores an edit, keeping the original in `message_edits`; false when the message is unknown
/// or the same edit was applied already.
pub(super) async fn apply_edit(
    db: &DatabaseConnection,
    channel: &channels::Model,
    edit: &MessageEdit,
) -> DomainResult<bool> {
    let txn = crate::db::write(db).await?;
    let Some(message) = find_message(&txn, ChannelId(channel.id), &edit.provider_message_id).await? else {
        return Ok(false);
    };
    if message.edited_at.is_some_and(|at| at >= edit.edited_at) {
        return Ok(false);
    }
    message_edits::ActiveModel {
        id: NotSet,
        message_id: Set(message.id),
        previous_text: Set(message.text.clone()),
        text: Set(edit.text.clone()),
        edited_at: Set(edit.edited_at),
    }
    .insert(&txn)
    .await?;
    let chat_id = message.chat_id;
    let mut row: messages::ActiveModel = message.into();
    row.text = Set(edit.text.clone());
    row.edited_at = Set(Some(edit.edited_at));
    let updated = row.update(&txn).await?;
    let subjects = Subjects { chat: Some(ChatId(chat_id)), ..Default::default() };
    events::record(&txn, EventKind::MessageEdited, subjects, serde_json::json!({ "messageId": updated.id }))
        .await?;
    txn.commit().await?;
    Ok(true)
}

/// Records (or, with no emoji, removes) a customer's reaction; false when the message is unknown.
pub(super) async fn apply_reaction(
    db: &DatabaseConnection,
    channel: &channels::Model,
    reaction: &Reaction,
) -> DomainResult<bool> {
    let txn = crate::db::write(db).await?;
    let Some(message) = find_message(&txn, ChannelId(channel.id), &reaction.provider_message_id).await?
    else {
        return Ok(false);
    };
    // One reaction per customer and message: a new one replaces the old.
    message_reactions::Entity::delete_many()
        .filter(message_reactions::Column::MessageId.eq(message.id))
        .filter(message_reactions::Column::AuthorKind.eq(AuthorKind::Contact))
        .exec(&txn)
        .await?;
    if let Some(emoji) = &reaction.emoji {
        message_reactions::ActiveModel {
            id: NotSet,
            message_id: Set(message.id),
            reaction: Set(emoji.clone()),
            author_kind: Set(AuthorKind::Contact),
            created_at: Set(reaction.at),
        }
        .insert(&txn)
        .await?;
    }
    let subjects = Subjects { chat: Some(ChatId(message.chat_id)), ..Default::default() };
    let payload = serde_json::json!({ "messageId": message.id, "reaction": reaction.emoji });
    events::record(&txn, EventKind::MessageReaction, subjects, payload).await?;
    txn.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_only_move_forward() {
        use DeliveryStatus::*;
        assert!(moves_forward(Some(Sent), Delivered));
        assert!(moves_forward(Some(Delivered), Read));
        assert!(!moves_forward(Some(Read), Delivered), "read wins over a late delivered");
        assert!(!moves_forward(Some(Delivered), Delivered), "a repeat changes nothing");
        assert!(moves_forward(Some(Sent), Failed));
        assert!(!moves_forward(Some(Read), Failed));
        assert!(!moves_forward(Some(Failed), Read), "failed is final");
        assert!(moves_forward(Some(Pending), Sent));
    }
}
