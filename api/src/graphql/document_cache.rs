//! Parsed GraphQL documents, kept by their text: front ends send the same few operations
//! over and over, and parsing one took ~8 % of the server's CPU on the agent-panel read.
//!
//! Only documents that parse are kept. Validation depends on the variables too (a variable
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

/// Documents by their text.
#[derive(Debug, Default)]
pub struct DocumentCache(Mutex<HashMap<String, Entry>>);

impl DocumentCache {
    /// The parsed document for `query`, from the cache or parsed now, and whether it passed
    /// strict validation with `inputs` before.
    pub fn parse(&self, query: &str, inputs: Option<&str>) -> Result<Parsed, ServerError> {
        if let Some(entry) = self.0.lock().expect("document cache lock").get(query) {
            let validated = inputs.is_some_and(|inputs| entry.validated.contains(inputs));
            return Ok(Parsed { document: entry.document.clone(), validated });
        }
        let document = async_graphql::parser::parse_query(query).map_err(ServerError::from)?;
        if query.len() <= MAX_CACHED_LEN {
            let mut documents = self.0.lock().expect("document cache lock");
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
        let mut documents = self.0.lock().expect("document cache lock");
        if let Some(entry) = documents.get_mut(query) {
            if entry.validated.len() >= MAX_VALIDATED {
                entry.validated.clear();
            }
            entry.validated.insert(inputs);
        }
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
        let first = cache.parse("{ me { name } }", None).expect("parses");
        let again = cache.parse("{ me { name } }", None).expect("parses");
        assert_eq!(format!("{:?}", first.document), format!("{:?}", again.document));
        assert_eq!(cache.len(), 1);
        assert!(cache.parse("{ me { name ", None).is_err());
        assert_eq!(cache.len(), 1, "failures are not kept");
    }

    #[test]
    fn remembers_validation_per_operation_name_and_variables() {
        let cache = DocumentCache::default();
        let query = "query Q($id: ID!) { node(id: $id) { id } }";
        let variables = |json| async_graphql::Variables::from_json(json);
        let good = inputs(Some("Q"), &variables(serde_json::json!({ "id": "a" }))).unwrap();
        let other = inputs(Some("Q"), &variables(serde_json::json!({ "id": { "no": 1 } }))).unwrap();
        let unnamed = inputs(None, &variables(serde_json::json!({ "id": "a" }))).unwrap();
        assert!(!cache.parse(query, Some(&good)).unwrap().validated);
        cache.validated(query, good.clone());
        assert!(cache.parse(query, Some(&good)).unwrap().validated);
        assert!(!cache.parse(query, Some(&other)).unwrap().validated, "other variables");
        assert!(!cache.parse(query, Some(&unnamed)).unwrap().validated, "another operation name");
        assert!(!cache.parse(query, None).unwrap().validated, "inputs too long to remember");
        let long = serde_json::json!({ "id": "x".repeat(2 * MAX_INPUTS_LEN) });
        assert!(inputs(Some("Q"), &variables(long)).is_none());
    }
}
