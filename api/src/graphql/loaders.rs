//! DataLoaders: related rows reach GraphQL fields in one query per batch, never one per row.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use entity::{channels, contacts, queues};

use super::error::ResultExt;
use crate::db::RequestDb;
use crate::domain::ids::{AgentId, ChannelId, ChatId, ContactId, MessageId, QueueId};
use crate::domain::presence::{self, Presence};
use crate::domain::settings::{self, Settings};
use crate::domain::{agents as agent_rules, channels as channel_rules, chats, queues as queue_rules};

/// The batch loader behind every per-request [`DataLoader`].
pub struct Db(pub RequestDb);

/// Key: the presence (sign-in and workload) of an agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PresenceOf(pub AgentId);

/// Key: the queues an agent serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QueuesOf(pub AgentId);

/// Key: the agents serving a queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MembersOf(pub QueueId);

/// Key: the attachments of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AttachmentsOf(pub MessageId);

/// Key: an agent's draft in a chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DraftOf(pub ChatId, pub AgentId);

/// Key: how many messages a chat has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MessageCountOf(pub ChatId);

/// Key: a chat's assignments (offers, directions, acceptances, transfers), oldest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AssignmentsOf(pub ChatId);

/// Key: the settings in force (read once per request).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CurrentSettings;

/// A loader for one HTTP request, or the one every WebSocket operation of a server shares: it
/// caches nothing (async-graphql's default), so no row outlives the batch that loaded it.
///
/// No delay: a batch is sent as soon as the task that collects it runs, and that task first
/// yields once, so it runs after the resolvers polled with it (sibling fields and list items
/// resolve concurrently, in one poll) have added their keys. The default 1 ms delay held the
/// request's connection idle for that millisecond on every batch.
pub fn for_request(db: RequestDb) -> DataLoader<Db> {
    DataLoader::new(Db(db), |batch| {
        tokio::spawn(async move {
            tokio::task::yield_now().await;
            batch.await;
        })
    })
    .delay(std::time::Duration::ZERO)
}

type Loaded<K, V> = async_graphql::Result<HashMap<K, V>>;

impl Loader<AgentId> for Db {
    type Value = agent_rules::Profile;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[AgentId]) -> Loaded<AgentId, agent_rules::Profile> {
        let rows = agent_rules::get_many(&self.0, keys).await.gql()?;
        Ok(rows.into_iter().map(|row| (AgentId(row.id), row)).collect())
    }
}

impl Loader<QueueId> for Db {
    type Value = queues::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[QueueId]) -> Loaded<QueueId, queues::Model> {
        let rows = queue_rules::get_many(&self.0, keys).await.gql()?;
        Ok(rows.into_iter().map(|row| (QueueId(row.id), row)).collect())
    }
}

impl Loader<ChannelId> for Db {
    type Value = channels::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[ChannelId]) -> Loaded<ChannelId, channels::Model> {
        let rows = channel_rules::get_many(&self.0, keys).await.gql()?;
        Ok(rows.into_iter().map(|row| (ChannelId(row.id), row)).collect())
    }
}

impl Loader<ContactId> for Db {
    type Value = contacts::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[ContactId]) -> Loaded<ContactId, contacts::Model> {
        let rows = chats::contacts(&self.0, keys).await.gql()?;
        Ok(rows.into_iter().map(|row| (ContactId(row.id), row)).collect())
    }
}

impl Loader<PresenceOf> for Db {
    type Value = Presence;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[PresenceOf]) -> Loaded<PresenceOf, Presence> {
        let ids: Vec<AgentId> = keys.iter().map(|key| key.0).collect();
        let found = presence::presences(&self.0, &ids).await.gql()?;
        Ok(found.into_iter().map(|(id, p)| (PresenceOf(id), p)).collect())
    }
}

impl Loader<QueuesOf> for Db {
    type Value = Vec<QueueId>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[QueuesOf]) -> Loaded<QueuesOf, Vec<QueueId>> {
        let ids: Vec<AgentId> = keys.iter().map(|key| key.0).collect();
        let found = queue_rules::queues_of(&self.0, &ids).await.gql()?;
        Ok(found.into_iter().map(|(id, queues)| (QueuesOf(id), queues)).collect())
    }
}

impl Loader<MembersOf> for Db {
    type Value = Vec<AgentId>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[MembersOf]) -> Loaded<MembersOf, Vec<AgentId>> {
        let ids: Vec<QueueId> = keys.iter().map(|key| key.0).collect();
        let found = queue_rules::members_of(&self.0, &ids).await.gql()?;
        Ok(found.into_iter().map(|(id, agents)| (MembersOf(id), agents)).collect())
    }
}

impl Loader<DraftOf> for Db {
    type Value = entity::drafts::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[DraftOf]) -> Loaded<DraftOf, entity::drafts::Model> {
        let pairs: Vec<(ChatId, AgentId)> = keys.iter().map(|key| (key.0, key.1)).collect();
        let rows = crate::domain::drafts::get_many(&self.0, &pairs).await.gql()?;
        Ok(rows.into_iter().map(|row| (DraftOf(ChatId(row.chat_id), AgentId(row.agent_id)), row)).collect())
    }
}

impl Loader<CurrentSettings> for Db {
    type Value = Settings;
    type Error = async_graphql::Error;

    async fn load(&self, _: &[CurrentSettings]) -> Loaded<CurrentSettings, Settings> {
        let current = settings::load(&self.0).await.gql()?;
        Ok(HashMap::from([(CurrentSettings, current)]))
    }
}

impl Loader<AttachmentsOf> for Db {
    type Value = Vec<entity::attachments::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[AttachmentsOf]) -> Loaded<AttachmentsOf, Vec<entity::attachments::Model>> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        let ids: Vec<i64> = keys.iter().map(|key| key.0.0).collect();
        let rows = entity::attachments::Entity::find()
            .filter(entity::attachments::Column::MessageId.is_in(ids))
            .order_by_asc(entity::attachments::Column::Id)
            .all(&self.0)
            .await
            .map_err(|err| super::error::from_domain(err.into()))?;
        let mut out: HashMap<AttachmentsOf, Vec<_>> = keys.iter().map(|key| (*key, Vec::new())).collect();
        for row in rows {
            out.entry(AttachmentsOf(MessageId(row.message_id))).or_default().push(row);
        }
        Ok(out)
    }
}

impl Loader<MessageCountOf> for Db {
    type Value = i64;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[MessageCountOf]) -> Loaded<MessageCountOf, i64> {
        let ids: Vec<i64> = keys.iter().map(|key| key.0.0).collect();
        let found = crate::domain::history::message_counts(&self.0, &ids).await.gql()?;
        let mut out: HashMap<MessageCountOf, i64> = keys.iter().map(|key| (*key, 0)).collect();
        out.extend(found.into_iter().map(|(chat, n)| (MessageCountOf(ChatId(chat)), n)));
        Ok(out)
    }
}

impl Loader<AssignmentsOf> for Db {
    type Value = Vec<entity::assignments::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[AssignmentsOf]) -> Loaded<AssignmentsOf, Vec<entity::assignments::Model>> {
        let ids: Vec<i64> = keys.iter().map(|key| key.0.0).collect();
        let rows = crate::domain::history::assignments_of(&self.0, &ids).await.gql()?;
        let mut out: HashMap<AssignmentsOf, Vec<_>> = keys.iter().map(|key| (*key, Vec::new())).collect();
        for row in rows {
            out.entry(AssignmentsOf(ChatId(row.chat_id))).or_default().push(row);
        }
        Ok(out)
    }
}

/// The request's loader.
pub fn loader<'a>(ctx: &'a async_graphql::Context<'_>) -> async_graphql::Result<&'a DataLoader<Db>> {
    ctx.data::<DataLoader<Db>>()
}

/// Loads many rows by key, keeping the order of `keys` and skipping missing ones.
pub async fn load_many<K, V>(ctx: &async_graphql::Context<'_>, keys: &[K]) -> async_graphql::Result<Vec<V>>
where
    Db: Loader<K, Value = V, Error = async_graphql::Error>,
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    V: Send + Sync + Clone + 'static,
{
    let mut found = loader(ctx)?.load_many(keys.iter().cloned()).await?;
    Ok(keys.iter().filter_map(|key| found.remove(key)).collect())
}
