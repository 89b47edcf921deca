//! Objects reached through a foreign key: the id is known before the row is read.
//!
//! `chat { queue { id } }` needs nothing but the chat's `queue_id`, yet answering it with a
//! row would cost a statement per request. A [`Lazy`] holds the id, and reads the row (through
//! the request's DataLoader, batched with its siblings) only when a field other than `id`
//! asks for it; the row is read at most once per object.

use std::hash::Hash;

use async_graphql::Context;
use async_graphql::dataloader::Loader;
use tokio::sync::OnceCell;

use crate::graphql::error::coded;
use crate::graphql::loaders::{Db, loader};

/// A row of type `M` with key `K`: read already, or only its key known until a field needs
/// more.
#[derive(Clone, Debug)]
pub struct Lazy<K, M> {
    key: K,
    row: OnceCell<M>,
}

impl<K, M> Lazy<K, M>
where
    K: Copy + Send + Sync + Hash + Eq + 'static,
    M: Clone + Send + Sync + 'static,
    Db: Loader<K, Value = M, Error = async_graphql::Error>,
{
    /// A row read already.
    pub fn read(key: K, row: M) -> Self {
        Self { key, row: OnceCell::new_with(Some(row)) }
    }

    /// Only the key (a foreign key's value: the row exists); the row is read when first asked
    /// for.
    pub fn key(key: K) -> Self {
        Self { key, row: OnceCell::new() }
    }

    /// The key, without reading anything.
    pub fn id(&self) -> K {
        self.key
    }

    /// The row, read through the request's DataLoader the first time. NOT_FOUND when it is
    /// gone (deleted since the foreign key was read).
    pub async fn row(&self, ctx: &Context<'_>) -> async_graphql::Result<&M> {
        self.row
            .get_or_try_init(|| async {
                loader(ctx)?
                    .load_one(self.key)
                    .await?
                    .ok_or_else(|| coded("NOT_FOUND", "the object was deleted"))
            })
            .await
    }
}
