//! Decoding the hottest rows by column position.
//!
//! sea-orm's derived decoding looks every column up by name (a hash look-up, and for joined
//! selects a `format!`ed `A_`/`B_` prefix per column and row) and builds an error message for
//! every NULL it meets, then throws it away. On the agent panel's reads (chats with their
//! contacts, the latest messages) that was a tenth of the server's CPU. [`ByIndex`] decodes
//! the same models by position instead: sea-orm selects an entity's columns in the order of
//! its `Column` enum, so `Column::X as usize` is the column's place in the row, and a NULL is
//! recognised before decoding. The statements are still built by sea-orm.

use entity::enums::{AuthorKind, ChatStatus, Direction, MessageKind};
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

/// Which columns of a table a read decodes.
#[derive(Clone, Debug)]
pub enum Columns<C> {
    /// Every column.
    All,
    /// Only these (and what the read needs itself, such as the key). The model's other fields
    /// hold placeholders ([`ByColumns`]).
    Only(Vec<C>),
}

impl<C: Iterable + Copy> Columns<C> {
    /// The columns to select, in order: every one of the table's, or `first` (what the read
    /// needs itself: the key first, which tells a left join found a row) and then the others
    /// asked for, each once.
    pub fn read(&self, first: &[C]) -> Vec<C> {
        use std::mem::discriminant;
        match self {
            Self::All => C::iter().collect(),
            Self::Only(wanted) => {
                let mut read: Vec<C> = Vec::with_capacity(first.len() + wanted.len());
                for column in first.iter().chain(wanted) {
                    if !read.iter().any(|seen| discriminant(seen) == discriminant(column)) {
                        read.push(*column);
                    }
                }
                read
            }
        }
    }
}

/// A model decoded from some of its columns: `read`, in that order, from column `base` on.
/// Every field not read holds a placeholder (0, empty, the epoch, None, WAITING), so a partial
/// model may only reach code that reads nothing but the columns it asked for: the history page
/// of a selection of plain fields (`api/src/graphql/history.rs`, `PLAIN_*`). [`ByIndex`]
/// decodes every column through the same code.
pub trait ByColumns: Sized {
    /// The entity's column enum.
    type Column: Copy;

    /// The model with every field at its placeholder.
    fn placeholder() -> Self;

    /// Decodes the columns `read` from `base` on.
    fn decode_columns(
        row: &QueryResult,
        base: usize,
        read: impl IntoIterator<Item = Self::Column>,
    ) -> Result<Self, DbErr>;
}

/// Runs a select of the columns `read` of `E`, in that order, then the columns `other` of `F`
/// (as many as given, its primary key first; `F` is `None` where that key is NULL, as a left
/// join leaves it), and decodes each row with [`ByColumns`]; with `other` `None` the row holds
/// `E`'s columns only.
pub async fn some_with<E, F>(
    db: &impl ConnectionTrait,
    select: Statement,
    read: &[E::Column],
    other: Option<&[F::Column]>,
) -> Result<Vec<(E::Model, Option<F::Model>)>, DbErr>
where
    E: EntityTrait,
    F: EntityTrait,
    E::Model: ByColumns<Column = E::Column>,
    F::Model: ByColumns<Column = F::Column>,
{
    let rows = db.query_all_raw(select).await?;
    let base = read.len();
    rows.iter()
        .map(|row| {
            let joined = match other {
                Some(columns) if !is_null(row, base)? => {
                    Some(F::Model::decode_columns(row, base, columns.iter().copied())?)
                }
                _ => None,
            };
            Ok((E::Model::decode_columns(row, 0, read.iter().copied())?, joined))
        })
        .collect()
}

impl ByIndex for chats::Model {
    fn decode(row: &QueryResult, base: usize) -> Result<Self, DbErr> {
        Self::decode_columns(row, base, <chats::Column as Iterable>::iter())
    }
}

impl ByColumns for chats::Model {
    type Column = chats::Column;

    fn placeholder() -> Self {
        Self {
            id: 0,
            contact_id: 0,
            channel_id: 0,
            queue_id: 0,
            owner_id: None,
            directed_agent_id: None,
            parent_chat_id: None,
            status: ChatStatus::Waiting,
            completion_reason: None,
            created_at: Default::default(),
            accepted_at: None,
            first_response_at: None,
            completed_at: None,
            close_deadline: None,
            last_message_at: None,
            updated_at: Default::default(),
            queued_at: None,
        }
    }

    fn decode_columns(
        row: &QueryResult,
        base: usize,
        read: impl IntoIterator<Item = chats::Column>,
    ) -> Result<Self, DbErr> {
        use chats::Column as C;
        let mut chat = Self::placeholder();
        for (at, column) in (base..).zip(read) {
            match column {
                C::Id => chat.id = get(row, at)?,
                C::ContactId => chat.contact_id = get(row, at)?,
                C::ChannelId => chat.channel_id = get(row, at)?,
                C::QueueId => chat.queue_id = get(row, at)?,
                C::OwnerId => chat.owner_id = opt(row, at)?,
                C::DirectedAgentId => chat.directed_agent_id = opt(row, at)?,
                C::ParentChatId => chat.parent_chat_id = opt(row, at)?,
                C::Status => chat.status = get(row, at)?,
                C::CompletionReason => chat.completion_reason = opt(row, at)?,
                C::CreatedAt => chat.created_at = get(row, at)?,
                C::AcceptedAt => chat.accepted_at = opt(row, at)?,
                C::FirstResponseAt => chat.first_response_at = opt(row, at)?,
                C::CompletedAt => chat.completed_at = opt(row, at)?,
                C::CloseDeadline => chat.close_deadline = opt(row, at)?,
                C::LastMessageAt => chat.last_message_at = opt(row, at)?,
                C::UpdatedAt => chat.updated_at = get(row, at)?,
                C::QueuedAt => chat.queued_at = opt(row, at)?,
            }
        }
        Ok(chat)
    }
}

impl ByIndex for contacts::Model {
    fn decode(row: &QueryResult, base: usize) -> Result<Self, DbErr> {
        Self::decode_columns(row, base, <contacts::Column as Iterable>::iter())
    }
}

impl ByColumns for contacts::Model {
    type Column = contacts::Column;

    fn placeholder() -> Self {
        Self {
            id: 0,
            name: String::new(),
            photo_url: None,
            email: None,
            mobile_phone: None,
            business_phone: None,
            home_phone: None,
            job_title: None,
            account_id: None,
            created_at: Default::default(),
            updated_at: Default::default(),
            merged_into_id: None,
            keys_version: 0,
        }
    }

    fn decode_columns(
        row: &QueryResult,
        base: usize,
        read: impl IntoIterator<Item = contacts::Column>,
    ) -> Result<Self, DbErr> {
        use contacts::Column as C;
        let mut contact = Self::placeholder();
        for (at, column) in (base..).zip(read) {
            match column {
                C::Id => contact.id = get(row, at)?,
                C::Name => contact.name = get(row, at)?,
                C::PhotoUrl => contact.photo_url = opt(row, at)?,
                C::Email => contact.email = opt(row, at)?,
                C::MobilePhone => contact.mobile_phone = opt(row, at)?,
                C::BusinessPhone => contact.business_phone = opt(row, at)?,
                C::HomePhone => contact.home_phone = opt(row, at)?,
                C::JobTitle => contact.job_title = opt(row, at)?,
                C::AccountId => contact.account_id = opt(row, at)?,
                C::CreatedAt => contact.created_at = get(row, at)?,
                C::UpdatedAt => contact.updated_at = get(row, at)?,
                C::MergedIntoId => contact.merged_into_id = opt(row, at)?,
                C::KeysVersion => contact.keys_version = get(row, at)?,
            }
        }
        Ok(contact)
    }
}

impl ByIndex for messages::Model {
    fn decode(row: &QueryResult, base: usize) -> Result<Self, DbErr> {
        Self::decode_columns(row, base, <messages::Column as Iterable>::iter())
    }
}

impl ByColumns for messages::Model {
    type Column = messages::Column;

    fn placeholder() -> Self {
        Self {
            id: 0,
            chat_id: 0,
            channel_id: 0,
            direction: Direction::Incoming,
            author_kind: AuthorKind::Contact,
            author_agent_id: None,
            kind: MessageKind::Text,
            text: None,
            provider_message_id: None,
            delivery_status: None,
            delivery_error: None,
            edited_at: None,
            created_at: Default::default(),
        }
    }

    fn decode_columns(
        row: &QueryResult,
        base: usize,
        read: impl IntoIterator<Item = messages::Column>,
    ) -> Result<Self, DbErr> {
        use messages::Column as C;
        let mut message = Self::placeholder();
        for (at, column) in (base..).zip(read) {
            match column {
                C::Id => message.id = get(row, at)?,
                C::ChatId => message.chat_id = get(row, at)?,
                C::ChannelId => message.channel_id = get(row, at)?,
                C::Direction => message.direction = get(row, at)?,
                C::AuthorKind => message.author_kind = get(row, at)?,
                C::AuthorAgentId => message.author_agent_id = opt(row, at)?,
                C::Kind => message.kind = get(row, at)?,
                C::Text => message.text = opt(row, at)?,
                C::ProviderMessageId => message.provider_message_id = opt(row, at)?,
                C::DeliveryStatus => message.delivery_status = opt(row, at)?,
                C::DeliveryError => message.delivery_error = opt(row, at)?,
                C::EditedAt => message.edited_at = opt(row, at)?,
                C::CreatedAt => message.created_at = get(row, at)?,
            }
        }
        Ok(message)
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{QueryOrder, QueryTrait};

    use super::*;

    #[test]
    fn a_read_names_what_it_needs_first_and_each_column_once() {
        use chats::Column as C;
        let only = Columns::Only(vec![C::Status, C::Id, C::CreatedAt, C::Status]);
        let names = |columns: Vec<C>| {
            columns.iter().map(|c| c as &dyn sea_orm::Iden).map(|c| c.to_string()).collect::<Vec<_>>()
        };
        assert_eq!(names(only.read(&[C::Id, C::CreatedAt])), ["id", "created_at", "status"]);
        assert_eq!(Columns::<C>::All.read(&[C::Id]).len(), <C as Iterable>::iter().count());
    }

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

        // Some columns of each, in another order than the entity's: those fields, and
        // placeholders for the rest.
        use sea_orm::{JoinType, QuerySelect, RelationTrait};
        let read = [chats::Column::Status, chats::Column::Id, chats::Column::ContactId];
        let other = [contacts::Column::Id, contacts::Column::Email];
        let some = chats::Entity::find()
            .order_by_asc(chats::Column::Id)
            .select_only()
            .columns(read)
            .join(JoinType::LeftJoin, chats::Relation::Contacts.def())
            .columns(other)
            .build(backend);
        let partial =
            some_with::<chats::Entity, contacts::Entity>(&db, some, &read, Some(&other)).await.unwrap();
        assert_eq!(partial.len(), derived.len());
        for ((chat, contact), (full_chat, full_contact)) in partial.iter().zip(&derived) {
            assert_eq!(
                (chat.id, chat.status, chat.contact_id),
                (full_chat.id, full_chat.status, full_chat.contact_id)
            );
            assert_eq!((chat.owner_id, chat.created_at), (None, Default::default()), "a placeholder");
            let (contact, full_contact) = (contact.as_ref().unwrap(), full_contact.as_ref().unwrap());
            assert_eq!((contact.id, &contact.email), (full_contact.id, &full_contact.email));
            assert_eq!(contact.name, "", "a placeholder");
        }

        let messages = || messages::Entity::find().order_by_asc(messages::Column::Id);
        let derived = messages().all(&db).await.unwrap();
        assert!(derived.len() > 3);
        assert_eq!(all::<messages::Entity>(&db, messages().build(backend)).await.unwrap(), derived);
    }
}
