//! Parsed GraphQL documents, kept by their text: front ends send the same few operations
//! over and over, and parsing one took ~8 % of the server's CPU on the agent-panel read.
//!
//! Only documents that parse are kept; validation still runs on every request, with its
//! variables. HTTP requests use it (see `http::graphql`); WebSocket subscriptions are parsed
//! once per subscription anyway.

use std::collections::HashMap;
use std::sync::Mutex;

use async_graphql::ServerError;
use async_graphql::parser::types::ExecutableDocument;

/// Most documents kept; when full, the cache starts over.
const MAX_DOCUMENTS: usize = 512;
/// Longer documents are parsed every time (they are rarely repeated).
const MAX_CACHED_LEN: usize = 16 * 1024;

/// Documents by their text.
#[derive(Debug, Default)]
pub struct DocumentCache(Mutex<HashMap<String, ExecutableDocument>>);

impl DocumentCache {
    /// The parsed document for `query`, from the cache or parsed now.
    pub fn parse(&self, query: &str) -> Result<ExecutableDocument, ServerError> {
        if let Some(document) = self.0.lock().expect("document cache lock").get(query) {
            return Ok(document.clone());
        }
        let document = async_graphql::parser::parse_query(query).map_err(ServerError::from)?;
        if query.len() <= MAX_CACHED_LEN {
            let mut documents = self.0.lock().expect("document cache lock");
            if documents.len() >= MAX_DOCUMENTS {
                documents.clear();
            }
            documents.insert(query.to_owned(), document.clone());
        }
        Ok(document)
    }

    /// Documents currently kept.
    pub fn len(&self) -> usize {
        self.0.lock().expect("document cache lock").len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_documents_that_parse_and_only_those() {
        let cache = DocumentCache::default();
        let first = cache.parse("{ me { name } }").expect("parses");
        let again = cache.parse("{ me { name } }").expect("parses");
        assert_eq!(format!("{first:?}"), format!("{again:?}"));
        assert_eq!(cache.len(), 1);
        assert!(cache.parse("{ me { name ").is_err());
        assert_eq!(cache.len(), 1, "failures are not kept");
    }
}
