//! Parsed GraphQL documents, kept by their text: front ends send the same few operations
//! over and over, and parsing one took ~8 % of the server's CPU on the agent-panel read.
//!
//! Every document is parsed and measured by `limits` (linear in its size, before anything
//! expands its fragments); only documents that pass are kept. Validation depends on the
//! variables too (a variable of the wrong type fails it), so the cache also remembers, per
//! document, which operation name and variables — values of built-in scalars by their kind
//! only ([`key`]) — passed async-graphql's strict validation: those run on a schema in its
//! `Fast` mode, which skips the rules whose answer is then known and still enforces the
//! depth and complexity limits (strict validation was ~10 % of the server's CPU on the panel
//! read when each chat's id made a new key).
//! HTTP requests use it (see `http::graphql`); WebSocket subscriptions are parsed once per
//! subscription anyway.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_graphql::Positioned;
use async_graphql::parser::types::{BaseType, DocumentOperations, ExecutableDocument, OperationDefinition};
use async_graphql::{ServerError, Value as ConstValue, Variables};

use super::limits::{self, DocumentLimits};

/// Most documents kept; when full, the cache starts over.
const MAX_DOCUMENTS: usize = 512;
/// Longer documents are parsed every time (they are rarely repeated).
const MAX_CACHED_LEN: usize = 16 * 1024;
/// Most validated inputs remembered per document; when full, that set starts over.
const MAX_VALIDATED: usize = 256;
/// Longer keys (operation name and variables, see [`key`]) are validated every time.
const MAX_INPUTS_LEN: usize = 1024;

#[derive(Debug)]
struct Entry {
    document: Arc<ExecutableDocument>,
    /// Inputs (see [`inputs`]) that passed strict validation with this document.
    validated: HashSet<String>,
    /// Whether `graphql::direct` found its selections plain (`Some(true)`) or one not.
    direct: Option<bool>,
}

/// A parsed document, and whether it already passed strict validation with these inputs.
#[derive(Debug)]
pub struct Parsed {
    /// The document, shared with the cache (async-graphql takes its own copy to run it;
    /// direct answers read it in place).
    pub document: Arc<ExecutableDocument>,
    /// Whether this document passed strict validation with the same operation name and
    /// variables (as [`key`] sees them) before.
    pub validated: bool,
    /// The key to remember a passed validation under ([`DocumentCache::validated`]); `None`
    /// when no inputs were given or they are too long to remember.
    pub key: Option<String>,
    /// What `graphql::direct` found of its selections: all plain (`Some(true)`), one not
    /// (`Some(false)`: do not offer it), or nothing yet ([`DocumentCache::direct`]).
    pub direct: Option<bool>,
}

/// The operation a request naming `name` (or nothing) runs in `document`, as async-graphql
/// chooses it: the only one, the one named, or none. The parser keeps named operations in a
/// map even when there is one, and that one runs without its name being given (the panel's
/// `query Panel(...)` sent without `operationName`).
pub fn operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a Positioned<OperationDefinition>> {
    match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next()
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// What validation depends on besides the document.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    /// The operation to run.
    pub operation_name: Option<&'a str>,
    /// Its variables.
    pub variables: &'a Variables,
}

/// The built-in scalars whose validity strict validation judges by the JSON kind of a value
/// alone (and, for `Int`, whether it fits 32 bits).
const KIND_CHECKED: [&str; 5] = ["ID", "String", "Int", "Float", "Boolean"];

/// The kind of `value` as strict validation of a built-in scalar (or a list of them) sees it;
/// `None` for a value it would look into (an object).
fn kind(value: &ConstValue, into: &mut String) -> Option<()> {
    match value {
        ConstValue::Null => into.push('0'),
        ConstValue::Boolean(_) => into.push('b'),
        ConstValue::String(_) => into.push('s'),
        ConstValue::Number(number) => match number.as_i64() {
            Some(n) if i32::try_from(n).is_ok() => into.push('i'),
            Some(_) => into.push('l'),
            None if number.is_u64() => into.push('l'),
            None => into.push('f'),
        },
        ConstValue::List(items) => {
            into.push('[');
            for item in items {
                kind(item, into)?;
            }
            into.push(']');
        }
        _ => return None,
    }
    Some(())
}

/// The key under which a passed strict validation of `document` with `inputs` is remembered.
/// Strict validation judges a value of a built-in scalar by its kind only, so for a variable
/// declared as one (or a list of them) the key holds the value's kind — a panel reading one
/// chat after another validates its document once, not once per chat; for any other variable
/// (an enum, an input object, a custom scalar such as `DateTime`) it holds the value itself.
/// `None` when too long to remember.
pub fn key(document: &ExecutableDocument, inputs: Inputs<'_>) -> Option<String> {
    let operation = operation(document, inputs.operation_name);
    let declared = |name: &str| -> Option<&str> {
        let definition = operation?.node.variable_definitions.iter().find(|v| v.node.name.node == name)?;
        let mut ty = &definition.node.var_type.node;
        while let BaseType::List(inner) = &ty.base {
            ty = inner;
        }
        match &ty.base {
            BaseType::Named(named) => Some(named.as_str()),
            BaseType::List(_) => None,
        }
    };
    let mut key = format!("{}\n", inputs.operation_name.unwrap_or_default());
    for (name, value) in inputs.variables.iter() {
        key.push_str(name);
        key.push('=');
        let by_kind = declared(name).is_some_and(|named| KIND_CHECKED.contains(&named));
        if !(by_kind && kind(value, &mut key).is_some()) {
            key.push_str(&serde_json::to_string(value).ok()?);
        }
        key.push('\n');
        if key.len() > MAX_INPUTS_LEN {
            return None;
        }
    }
    Some(key)
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
    pub async fn parse(&self, query: &str, inputs: Option<Inputs<'_>>) -> Result<Parsed, ServerError> {
        let cached = {
            let documents = self.documents.lock().expect("document cache lock");
            documents.get(query).map(|entry| entry.document.clone())
        };
        let document = match cached {
            Some(document) => document,
            None => {
                let document = Arc::new(limits::parse_off_runtime(query, self.limits).await?);
                if query.len() <= MAX_CACHED_LEN {
                    let mut documents = self.documents.lock().expect("document cache lock");
                    if documents.len() >= MAX_DOCUMENTS {
                        documents.clear();
                    }
                    let entry =
                        Entry { document: Arc::clone(&document), validated: HashSet::new(), direct: None };
                    documents.insert(query.to_owned(), entry);
                }
                document
            }
        };
        let key = inputs.and_then(|inputs| key(&document, inputs));
        let (validated, direct) = match &key {
            Some(key) => {
                let documents = self.documents.lock().expect("document cache lock");
                documents
                    .get(query)
                    .map_or((false, None), |entry| (entry.validated.contains(key), entry.direct))
            }
            None => (false, None),
        };
        Ok(Parsed { document, validated, key, direct })
    }

    /// Remembers whether `graphql::direct` can answer `query`'s selections.
    pub fn direct(&self, query: &str, plain: bool) {
        let mut documents = self.documents.lock().expect("document cache lock");
        if let Some(entry) = documents.get_mut(query) {
            entry.direct = Some(plain);
        }
    }

    /// Remembers that `query` passed strict validation with the inputs of `key`.
    pub fn validated(&self, query: &str, key: String) {
        let mut documents = self.documents.lock().expect("document cache lock");
        if let Some(entry) = documents.get_mut(query) {
            if entry.validated.len() >= MAX_VALIDATED {
                entry.validated.clear();
            }
            entry.validated.insert(key);
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
        let query = "query Q($id: ID!, $n: Int, $ids: [ID!], $status: ChatStatus, $at: DateTime) \
                     { node(id: $id) { id } } query R { me { id } }";
        let variables = |json| async_graphql::Variables::from_json(json);
        let parse = |name: Option<&'static str>, json: serde_json::Value| {
            let cache = &cache;
            async move {
                let variables = variables(json);
                let inputs = Inputs { operation_name: name, variables: &variables };
                cache.parse(query, Some(inputs)).await.unwrap()
            }
        };
        let first = parse(Some("Q"), serde_json::json!({ "id": "a", "n": 5, "status": "WAITING" })).await;
        assert!(!first.validated);
        cache.validated(query, first.key.expect("a key"));
        // Built-in scalars by their kind: another id, another small number.
        let same = serde_json::json!({ "id": "b", "n": 6, "status": "WAITING" });
        assert!(parse(Some("Q"), same).await.validated);
        // Anything strict validation looks at: the kind of a built-in scalar, an Int beyond 32
        // bits, an enum's or a custom scalar's value, the operation, more variables.
        for (name, other) in [
            (Some("Q"), serde_json::json!({ "id": 1, "n": 5, "status": "WAITING" })),
            (Some("Q"), serde_json::json!({ "id": "a", "n": 5_000_000_000_i64, "status": "WAITING" })),
            (Some("Q"), serde_json::json!({ "id": "a", "n": 5.5, "status": "WAITING" })),
            (Some("Q"), serde_json::json!({ "id": { "no": 1 }, "n": 5, "status": "WAITING" })),
            (Some("Q"), serde_json::json!({ "id": "a", "n": 5, "status": "NOPE" })),
            (
                Some("Q"),
                serde_json::json!({ "id": "a", "n": 5, "status": "WAITING", "at": "2026-12-01T00:00:00Z" }),
            ),
            (Some("Q"), serde_json::json!({ "id": "a", "n": 5, "status": "WAITING", "ids": ["a"] })),
            (None, serde_json::json!({ "id": "a", "n": 5, "status": "WAITING" })),
        ] {
            assert!(!parse(name, other.clone()).await.validated, "{name:?} {other}");
        }
        let with_at = |at: &str| serde_json::json!({ "id": "a", "n": 5, "status": "WAITING", "at": at });
        let dated = parse(Some("Q"), with_at("2026-12-01T00:00:00Z")).await;
        cache.validated(query, dated.key.unwrap());
        assert!(parse(Some("Q"), with_at("2026-12-01T00:00:00Z")).await.validated);
        assert!(!parse(Some("Q"), with_at("not a time")).await.validated, "a custom scalar by its value");
        // Lists of built-in scalars by their items' kinds.
        let listed = |ids: serde_json::Value| serde_json::json!({ "id": "a", "n": 5, "status": "WAITING", "ids": ids });
        cache.validated(query, parse(Some("Q"), listed(serde_json::json!(["a", "b"]))).await.key.unwrap());
        assert!(parse(Some("Q"), listed(serde_json::json!(["c", "d"]))).await.validated);
        assert!(!parse(Some("Q"), listed(serde_json::json!(["c"]))).await.validated);
        assert!(!cache.parse(query, None).await.unwrap().validated, "no inputs");
        let long = variables(serde_json::json!({ "status": "x".repeat(2 * MAX_INPUTS_LEN) }));
        let document = &first_document(&cache, query).await;
        assert!(key(document, Inputs { operation_name: Some("Q"), variables: &long }).is_none());
    }

    #[tokio::test]
    async fn a_named_operation_alone_is_keyed_by_kinds_without_its_name() {
        // The agent panel's read: a named operation, sent without `operationName`.
        let cache = cache();
        let query = "query Panel($chatId: ID!) { chat(id: $chatId) { id } }";
        let inputs = |id: &str| async_graphql::Variables::from_json(serde_json::json!({ "chatId": id }));
        let (one, two) = (inputs("Q2hhdDox"), inputs("Q2hhdDoy"));
        let first = cache.parse(query, Some(Inputs { operation_name: None, variables: &one })).await.unwrap();
        assert_eq!(first.key.as_deref(), Some("\nchatId=s\n"), "the id by its kind");
        cache.validated(query, first.key.unwrap());
        let other = cache.parse(query, Some(Inputs { operation_name: None, variables: &two })).await.unwrap();
        assert!(other.validated, "another chat's read is validated already");
    }

    async fn first_document(cache: &DocumentCache, query: &str) -> Arc<ExecutableDocument> {
        cache.parse(query, None).await.unwrap().document
    }
}
