//! Decoding the hottest rows by column position.
//!
//! sea-orm's derived decoding looks every column up by name (a hash look-up, and for joined
//! selects a `format!`ed `A_`/`B_` prefix per column and row) and builds an error message for
//! every NULL it meets, then throws it away. On the agent panel's reads (chats with their
//! contacts, the latest messages) that was a tenth of the server's CPU. [`ByIndex`] decodes
//! the same models by position instead: sea-orm selects an entity's columns in the order of
//! its `Column` enum, so `Column::X as usize` is the column's place in the row, and a NULL is
//! recognised before decoding. The statements are still built by sea-orm.

use entity::{chats, contacts, messages};
use sea_orm::sqlx::{Row, ValueRef};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Iterable, QueryResult, Statement, TryGetable};

/// A model decoded from consecutive columns of a row, in its entity's column order, the
/// primary key first.
pub trait ByIndex: Sized {
    /// Decodes the model from the columns starting at `base`.
    fn decode(row: &QueryResult, base: usize) -> Result<Self, DbErr>;
}

/// Whether column `index` is NULL, without decoding it.
pub fn is_null(row: &QueryResult, index: usize) -> Result<bool, DbErr> {
    let raw_null = if let Some(row) = row.try_as_pg_row() {
        row.try_get_raw(index).map(|value| value.is_null())
    } else if let Some(row) = row.try_as_sqlite_row() {
        row.try_get_raw(index).map(|value| value.is_null())
    } else {
        return Err(DbErr::Type("rows are decoded by position on PostgreSQL and SQLite only".into()));
    };
    raw_null.map_err(|err| DbErr::Type(format!("column {index}: {err}")))
}

/// The value of a NOT NULL column.
fn get<T: TryGetable>(row: &QueryResult, index: usize) -> Result<T, DbErr> {
    row.try_get_by_index(index)
}

/// The value of a nullable column.
fn opt<T: TryGetable>(row: &QueryResult, index: usize) -> Result<Option<T>, DbErr> {
    if is_null(row, index)? { Ok(None) } else { row.try_get_by_index(index).map(Some) }
}

/// Runs `select` (all of `E`'s columns, as `E::find()` selects them) and decodes each row.
pub async fn all<E>(db: &impl ConnectionTrait, select: Statement) -> Result<Vec<E::Model>, DbErr>
where
    E: EntityTrait,
    E::Model: ByIndex,
{
    let rows = db.query_all_raw(select).await?;
    rows.iter().map(|row| E::Model::decode(row, 0)).collect()
}

/// Runs a select of `E` with `F` left-joined (as `E::find().find_also_related(F)` selects
/// them) and decodes each row; `F` is `None` where the join found no row (its primary key
/// is NULL).
pub async fn all_with<E, F>(
    db: &impl ConnectionTrait,
    select: Statement,
) -> Result<Vec<(E::Model, Option<F::Model>)>, DbErr>
where
    E: EntityTrait,
    F: EntityTrait,
    E::Model: ByIndex,
    F::Model: ByIndex,
{
    let rows = db.query_all_raw(select).await?;
    let base = <E::Column as Iterable>::iter().count();
    rows.iter()
        .map(|row| {
            let other = if is_null(row, base)? { None } else { Some(F::Model::decode(row, base)?) };
            Ok((E::Model::decode(row, 0)?, other))
        })
        .collect()
}

impl ByIndex for chats::Model {
    fn decode(row: &QueryResult, base: usize) -> Result<Self, DbErr> {
        use chats::Column as C;
        let at = |column: C| base + column as usize;
        Ok(Self {
            id: get(row, at(C::Id))?,
            contact_id: get(row, at(C::ContactId))?,
            channel_id: get(row, at(C::ChannelId))?,
            queue_id: get(row, at(C::QueueId))?,
            owner_id: opt(row, at(C::OwnerId))?,
            directed_agent_id: opt(row, at(C::DirectedAgentId))?,
            parent_chat_id: opt(row, at(C::ParentChatId))?,
            status: get(row, at(C::Status))?,
            completion_reason: opt(row, at(C::CompletionReason))?,
            created_at: get(row, at(C::CreatedAt))?,
            accepted_at: opt(row, at(C::AcceptedAt))?,
            first_response_at: opt(row, at(C::FirstResponseAt))?,
            completed_at: opt(row, at(C::CompletedAt))?,
            close_deadline: opt(row, at(C::CloseDeadline))?,
            last_message_at: opt(row, at(C::LastMessageAt))?,
            updated_at: get(row, at(C::UpdatedAt))?,
            queued_at: opt(row, at(C::QueuedAt))?,
        })
    }
}

impl ByIndex for contacts::Model {
    fn decode(row: &QueryResult, base: usize) -> Result<Self, DbErr> {
        use contacts::Column as C;
        let at = |column: C| base + column as usize;
        Ok(Self {
            id: get(row, at(C::Id))?,
            name: get(row, at(C::Name))?,
            photo_url: opt(row, at(C::PhotoUrl))?,
            email: opt(row, at(C::Email))?,
            mobile_phone: opt(row, at(C::MobilePhone))?,
            business_phone: opt(row, at(C::BusinessPhone))?,
            home_phone: opt(row, at(C::HomePhone))?,
            job_title: opt(row, at(C::JobTitle))?,
            account_id: opt(row, at(C::AccountId))?,
            created_at: get(row, at(C::CreatedAt))?,
            updated_at: get(row, at(C::UpdatedAt))?,
            merged_into_id: opt(row, at(C::MergedIntoId))?,
            keys_version: get(row, at(C::KeysVersion))?,
        })
    }
}

impl ByIndex for messages::Model {
    fn decode(row: &QueryResult, base: usize) -> Result<Self, DbErr> {
        use messages::Column as C;
        let at = |column: C| base + column as usize;
        Ok(Self {
            id: get(row, at(C::Id))?,
            chat_id: get(row, at(C::ChatId))?,
            channel_id: get(row, at(C::ChannelId))?,
            direction: get(row, at(C::Direction))?,
            author_kind: get(row, at(C::AuthorKind))?,
            author_agent_id: opt(row, at(C::AuthorAgentId))?,
            kind: get(row, at(C::Kind))?,
            text: opt(row, at(C::Text))?,
            provider_message_id: opt(row, at(C::ProviderMessageId))?,
            delivery_status: opt(row, at(C::DeliveryStatus))?,
            delivery_error: opt(row, at(C::DeliveryError))?,
            edited_at: opt(row, at(C::EditedAt))?,
            created_at: get(row, at(C::CreatedAt))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{QueryOrder, QueryTrait};

    use super::*;

    #[tokio::test]
    async fn decoding_by_position_matches_sea_orms_decoding() {
        let db = super::super::demo_for_tests().await;
        // Every optional contact column set on one row, so both branches of each are read.
        let fill = "UPDATE contacts SET photo_url = 'p', email = 'e', mobile_phone = 'm', \
                    business_phone = 'b', job_title = 'j' WHERE id = (SELECT MIN(id) FROM contacts)";
        db.execute_raw(Statement::from_string(db.get_database_backend(), fill)).await.unwrap();

        let backend = db.get_database_backend();
        let chats =
            || chats::Entity::find().find_also_related(contacts::Entity).order_by_asc(chats::Column::Id);
        let derived = chats().all(&db).await.unwrap();
        let decoded = all_with::<chats::Entity, contacts::Entity>(&db, chats().build(backend)).await.unwrap();
        assert_eq!(decoded, derived);
        assert!(derived.iter().any(|(chat, _)| chat.owner_id.is_none()));
        assert!(derived.iter().any(|(chat, _)| chat.owner_id.is_some() && chat.accepted_at.is_some()));
        assert!(derived.iter().any(|(chat, _)| chat.completion_reason.is_some()));
        assert!(derived.iter().all(|(_, contact)| contact.is_some()));
        assert!(derived.iter().any(|(_, contact)| contact.as_ref().is_some_and(|c| c.email.is_some())));

        let messages = || messages::Entity::find().order_by_asc(messages::Column::Id);
        let derived = messages().all(&db).await.unwrap();
        assert!(derived.len() > 3);
        assert_eq!(all::<messages::Entity>(&db, messages().build(backend)).await.unwrap(), derived);
    }
}
