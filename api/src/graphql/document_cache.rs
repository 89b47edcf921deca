//! Parsed GraphQL documents, kept by their text: front ends send the same few operations
//! over and over, and parsing one took ~8 % of the server's CPU on the agent-panel read.
//!
//! Every document is parsed and measured by `limits` (linear in its size, before anything
//! expands its fragments); only documents that pass are kept. Validation depends on the variables too (a variable
//! of the wrong type fails it), so the cache also remembers, per document, which operation
//! name and variables passed async-graphql's strict validation: those run on a schema in its
//! `Fast` mode, which skips the rules whose answer is then known and still enforces the
//! depth and complexity limits (validation was ~5 % of the server's CPU on the panel read).
//! HTTP requests use it (see `http::graphql`); WebSocket subscriptions are parsed once per
//! subscription anyway.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_graphql::ServerError;
use async_graphql::parser::types::ExecutableDocument;

use super::limits::{self, DocumentLimits};

/// Most documents kept; when full, the cache starts over.
const MAX_DOCUMENTS: usize = 512;
/// Longer documents are parsed every time (they are rarely repeated).
const MAX_CACHED_LEN: usize = 16 * 1024;
/// Most validated inputs remembered per document; when full, that set starts over.
const MAX_VALIDATED: usize = 256;
/// Longer inputs (operation name and variables) are validated every time.
const MAX_INPUTS_LEN: usize = 1024;

#[derive(Debug)]
struct Entry {
    document: ExecutableDocument,
    /// Inputs (see [`inputs`]) that passed strict validation with this document.
    validated: HashSet<String>,
}

/// A parsed document, and whether it already passed strict validation with these inputs.
#[derive(Debug)]
pub struct Parsed {
    /// The document.
    pub document: ExecutableDocument,
    /// Whether this document passed strict validation with the same operation name and
    /// variables before.
    pub validated: bool,
}

/// The inputs validation depends on besides the document: the operation name and the
/// variables, as one key. `None` when too long to remember.
pub fn inputs(operation_name: Option<&str>, variables: &async_graphql::Variables) -> Option<String> {
    let variables = serde_json::to_string(variables).ok()?;
    let key = format!("{}\n{variables}", operation_name.unwrap_or_default());
    (key.len() <= MAX_INPUTS_LEN).then_some(key)
}

/// Documents by their text, all within the limits.
#[derive(Debug)]
pub struct DocumentCache {
    documents: Mutex<HashMap<String, Entry>>,
    limits: DocumentLimits,
}

impl DocumentCache {
    /// An empty cache for documents within `limits`.
    pub fn new(limits: DocumentLimits) -> Self {
        Self { documents: Mutex::default(), limits }
    }

    /// The parsed document for `query`, from the cache or parsed and measured now (see
    /// [`limits`]), and whether it passed strict validation with `inputs` before. Errors
    /// carry their code.
    pub async fn parse(&self, query: &str, inputs: Option<&str>) -> Result<Parsed, ServerError> {
        if let Some(entry) = self.documents.lock().expect("document cache lock").get(query) {
            let validated = inputs.is_some_and(|inputs| entry.validated.contains(inputs));
            return Ok(Parsed { document: entry.document.clone(), validated });
        }
        let document = limits::parse_off_runtime(query, self.limits).await?;
        if query.len() <= MAX_CACHED_LEN {
            let mut documents = self.documents.lock().expect("document cache lock");
            if documents.len() >= MAX_DOCUMENTS {
                documents.clear();
            }
            let entry = Entry { document: document.clone(), validated: HashSet::new() };
            documents.insert(query.to_owned(), entry);
        }
        Ok(Parsed { document, validated: false })
    }

    /// Remembers that `query` passed strict validation with `inputs`.
    pub fn validated(&self, query: &str, inputs: String) {
        let mut documents = self.documents.lock().expect("document cache lock");
        if let Some(entry) = documents.get_mut(query) {
            if entry.validated.len() >= MAX_VALIDATED {
                entry.validated.clear();
            }
            entry.validated.insert(inputs);
        }
    }

    /// Documents currently kept.
    pub fn len(&self) -> usize {
        self.documents.lock().expect("document cache lock").len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> DocumentCache {
        DocumentCache::new(DocumentLimits {
            max_depth: 12,
            max_complexity: 5000,
            max_aliases: 100,
            introspection: true,
        })
    }

    #[tokio::test]
    async fn keeps_documents_that_parse_and_pass_the_limits_and_only_those() {
        let cache = cache();
        let first = cache.parse("{ me { name } }", None).await.expect("parses");
        let again = cache.parse("{ me { name } }", None).await.expect("parses");
        assert_eq!(format!("{:?}", first.document), format!("{:?}", again.document));
        assert_eq!(cache.len(), 1);
        assert!(cache.parse("{ me { name ", None).await.is_err());
        let deep = format!("{{ me {} }}", "{ a ".repeat(13) + &"}".repeat(13));
        assert!(cache.parse(&deep, None).await.is_err());
        assert_eq!(cache.len(), 1, "failures are not kept");
    }

    #[tokio::test]
    async fn remembers_validation_per_operation_name_and_variables() {
        let cache = cache();
        let query = "query Q($id: ID!) { node(id: $id) { id } }";
        let variables = |json| async_graphql::Variables::from_json(json);
        let good = inputs(Some("Q"), &variables(serde_json::json!({ "id": "a" }))).unwrap();
        let other = inputs(Some("Q"), &variables(serde_json::json!({ "id": { "no": 1 } }))).unwrap();
        let unnamed = inputs(None, &variables(serde_json::json!({ "id": "a" }))).unwrap();
        assert!(!cache.parse(query, Some(&good)).await.unwrap().validated);
        cache.validated(query, good.clone());
        assert!(cache.parse(query, Some(&good)).await.unwrap().validated);
        assert!(!cache.parse(query, Some(&other)).await.unwrap().validated, "other variables");
        assert!(!cache.parse(query, Some(&unnamed)).await.unwrap().validated, "another operation name");
        assert!(!cache.parse(query, None).await.unwrap().validated, "inputs too long to remember");
        let long = serde_json::json!({ "id": "x".repeat(2 * MAX_INPUTS_LEN) });
        assert!(inputs(Some("Q"), &variables(long)).is_none());
    }
}
