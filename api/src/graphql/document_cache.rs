//! Parsed GraphQL documents, kept by their text: front ends send the same few operations
//! over and over, and parsing one took ~8 % of the server's CPU on the agent-panel read.
//!
//! Only documents that parsed (and passed the depth and directive checks that come with
//! parsing) are kept; validation still runs on every request, with its variables.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ServerResult, Variables};

/// Most documents kept; when full, the cache starts over.
const MAX_DOCUMENTS: usize = 512;
/// Longer documents are parsed every time (they are rarely repeated).
const MAX_CACHED_LEN: usize = 16 * 1024;

/// The extension factory: one cache shared by every request of the schema.
#[derive(Clone, Default)]
pub struct DocumentCache(Arc<Documents>);

#[derive(Default)]
struct Documents(Mutex<HashMap<String, ExecutableDocument>>);

impl ExtensionFactory for DocumentCache {
    fn create(&self) -> Arc<dyn Extension> {
        self.0.clone()
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for Documents {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if let Some(document) = self.0.lock().expect("document cache lock").get(query) {
            return Ok(document.clone());
        }
        let document = next.run(ctx, query, variables).await?;
        if query.len() <= MAX_CACHED_LEN {
            let mut documents = self.0.lock().expect("document cache lock");
            if documents.len() >= MAX_DOCUMENTS {
                documents.clear();
            }
            documents.insert(query.to_owned(), document.clone());
        }
        Ok(document)
    }
}
