//! Persisted GraphQL documents by their SHA-256 (Apollo's automatic persisted queries): the
//! table every instance shares, and a bounded in-memory copy in front of it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use entity::persisted_queries;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use sha2::{Digest, Sha256};

use super::error::DomainResult;

/// Most documents kept in memory; when full, the copy starts over (the table keeps them).
const MAX_REMEMBERED: usize = 2048;

/// The lower-case hex SHA-256 of a document's text, as Apollo's clients compute it.
pub fn hash_of(query: &str) -> String {
    hex::encode(Sha256::digest(query.as_bytes()))
}

/// Whether `text` looks like a SHA-256 in hex (64 hex digits).
pub fn is_hash(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Registered documents: memory first, then the shared table.
#[derive(Debug, Default)]
pub struct PersistedQueries {
    remembered: Mutex<HashMap<String, Arc<str>>>,
}

impl PersistedQueries {
    /// The document registered under `hash`, if any instance registered it.
    pub async fn get(&self, db: &impl ConnectionTrait, hash: &str) -> DomainResult<Option<Arc<str>>> {
        let hash = hash.to_ascii_lowercase();
        if let Some(query) = self.remembered.lock().expect("persisted queries lock").get(&hash) {
            return Ok(Some(query.clone()));
        }
        let Some(row) = persisted_queries::Entity::find_by_id(hash.clone()).one(db).await? else {
            return Ok(None);
        };
        let query: Arc<str> = row.query.into();
        self.remember(hash, query.clone());
        Ok(Some(query))
    }

    /// Registers `query` (whose hash the caller checked) for every instance. Registering a
    /// document twice changes nothing.
    pub async fn register(&self, db: &impl ConnectionTrait, hash: &str, query: &str) -> DomainResult<()> {
        let hash = hash.to_ascii_lowercase();
        if self.remembered.lock().expect("persisted queries lock").contains_key(&hash) {
            return Ok(());
        }
        let row = persisted_queries::ActiveModel {
            hash: Set(hash.clone()),
            query: Set(query.to_owned()),
            created_at: Set(crate::clock::now()),
        };
        persisted_queries::Entity::insert(row)
            .on_conflict(OnConflict::column(persisted_queries::Column::Hash).do_nothing().to_owned())
            .try_insert()
            .exec(db)
            .await?;
        self.remember(hash, query.into());
        Ok(())
    }

    fn remember(&self, hash: String, query: Arc<str>) {
        let mut remembered = self.remembered.lock().expect("persisted queries lock");
        if remembered.len() >= MAX_REMEMBERED {
            remembered.clear();
        }
        remembered.insert(hash, query);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_as_apollo_does() {
        // sha256("{ __typename }"), as `crypto.subtle.digest` gives it.
        assert_eq!(hash_of("{ __typename }").len(), 64);
        assert!(is_hash(&hash_of("{ me { id } }")));
        assert!(!is_hash("abc"));
        assert!(!is_hash(&"g".repeat(64)));
    }

    #[tokio::test]
    async fn registered_documents_are_shared_through_the_table() {
        let db = crate::db::demo_for_tests().await;
        let query = "{ me { id } }";
        let hash = hash_of(query);
        let first = PersistedQueries::default();
        assert!(first.get(&db, &hash).await.unwrap().is_none());
        first.register(&db, &hash, query).await.unwrap();
        first.register(&db, &hash, query).await.unwrap();
        // Another instance (its own memory) finds it in the table.
        let second = PersistedQueries::default();
        assert_eq!(second.get(&db, &hash.to_ascii_uppercase()).await.unwrap().as_deref(), Some(query));
    }
}
