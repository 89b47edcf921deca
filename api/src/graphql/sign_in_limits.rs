//! One `login` per request, and the client address sign-in counts failures by.
//!
//! Each `login` costs a password hash, so a document selecting it many times (aliases,
//! fragments) or a batch of many login operations would spend a core per field. Such requests
//! are refused with TOO_MANY_LOGINS before anything runs: over HTTP by [`check_requests`]
//! (a batch with more than one login is refused whole), over WebSocket by [`OneLogin`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::{Request, ServerError, ServerResult, Variables};

use super::document_cache::DocumentCache;
use super::error::codes;

/// The sign-in mutation's field name.
const LOGIN: &str = "login";
/// Deepest chain of fragment spreads counted (deeper ones are refused).
const MAX_FRAGMENT_NESTING: usize = 64;

/// The address of the client that sent a request (request data, set by the HTTP and
/// WebSocket handlers; `None` when it cannot be told).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

/// Why a request was refused.
#[derive(Debug, PartialEq, Eq)]
pub struct TooManyLogins(pub String);

/// The `login` fields a document's mutations select, counting each fragment spread as often
/// as it appears. Linear in the document's size: each fragment is counted once and
/// remembered. `None` when fragment spreads nest too deeply to count.
pub fn login_fields(document: &ExecutableDocument) -> Option<usize> {
    let mut counter = Counter { document, fragments: HashMap::new() };
    let operations: Vec<_> = match &document.operations {
        DocumentOperations::Single(operation) => vec![&operation.node],
        DocumentOperations::Multiple(operations) => operations.values().map(|op| &op.node).collect(),
    };
    operations
        .into_iter()
        .filter(|operation| operation.ty == OperationType::Mutation)
        .try_fold(0usize, |total, operation| {
            Some(total.saturating_add(counter.selections(&operation.selection_set.node, 0)?))
        })
}

struct Counter<'a> {
    document: &'a ExecutableDocument,
    /// Logins per fragment; `None` while the fragment is being counted (a cycle counts 0:
    /// validation refuses it anyway).
    fragments: HashMap<&'a str, Option<usize>>,
}

impl<'a> Counter<'a> {
    /// Logins at the root of a selection set: `login` is a root mutation field, so selections
    /// inside fields are not looked into.
    fn selections(&mut self, set: &'a SelectionSet, nesting: usize) -> Option<usize> {
        let mut total = 0usize;
        for selection in &set.items {
            let found = match &selection.node {
                Selection::Field(field) => usize::from(field.node.name.node.as_str() == LOGIN),
                Selection::InlineFragment(inline) => {
                    self.selections(&inline.node.selection_set.node, nesting + 1)?
                }
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str(), nesting + 1)?
                }
            };
            total = total.saturating_add(found);
        }
        Some(total)
    }

    fn fragment(&mut self, name: &'a str, nesting: usize) -> Option<usize> {
        if nesting > MAX_FRAGMENT_NESTING {
            return None;
        }
        match self.fragments.get(name) {
            Some(known) => return Some(known.unwrap_or(0)),
            None => self.fragments.insert(name, None),
        };
        let document = self.document;
        let count = match document.fragments.get(name) {
            Some(fragment) => self.selections(&fragment.node.selection_set.node, nesting)?,
            None => 0, // validation reports the unknown fragment
        };
        self.fragments.insert(name, Some(count));
        Some(count)
    }
}

/// Refuses a document that selects `login` more than once.
pub fn check_document(document: &ExecutableDocument) -> Result<usize, TooManyLogins> {
    match login_fields(document) {
        Some(count @ (0 | 1)) => Ok(count),
        Some(_) => Err(TooManyLogins(
            "sign in once per request: this document selects `login` more than once".into(),
        )),
        None => Err(TooManyLogins(format!(
            "a document that signs in may not nest fragment spreads more than {MAX_FRAGMENT_NESTING} deep"
        ))),
    }
}

/// Refuses HTTP requests (one, or a batch) that would sign in more than once, before any of
/// them runs. Only documents whose text names `login` are looked at (the others cannot
/// select it); they are parsed and measured through the document cache, so execution finds
/// them there, and a document that does not parse or pass the limits is left to execution,
/// which reports it.
pub async fn check_requests(documents: &DocumentCache, requests: &[Request]) -> Result<(), TooManyLogins> {
    let mut logins = 0usize;
    for request in requests.iter().filter(|request| request.query.contains(LOGIN)) {
        let Ok(parsed) = documents.parse(&request.query, None).await else { continue };
        logins += check_document(&parsed.document)?;
        if logins > 1 {
            return Err(TooManyLogins(
                "sign in once per request: this batch holds more than one `login`".into(),
            ));
        }
    }
    Ok(())
}

/// The error a refused document gets.
fn refusal(TooManyLogins(message): TooManyLogins) -> ServerError {
    let mut err = ServerError::new(message, None);
    err.extensions.get_or_insert_with(Default::default).set("code", codes::TOO_MANY_LOGINS);
    err
}

/// Refuses WebSocket operations that select `login` more than once, as soon as they are
/// parsed. (HTTP requests are checked by [`check_requests`]: the HTTP schema has no
/// extensions, so it keeps async-graphql's fast path.)
pub struct OneLogin;

impl ExtensionFactory for OneLogin {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OneLogin)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for OneLogin {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        check_document(&document).map_err(refusal)?;
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(query: &str) -> Option<usize> {
        login_fields(&async_graphql::parser::parse_query(query).expect("parses"))
    }

    #[test]
    fn counts_login_fields_through_aliases_and_fragments() {
        let login = r#"login(email: "a@b.c", password: "p") { token }"#;
        assert_eq!(count(&format!("mutation {{ {login} }}")), Some(1));
        assert_eq!(count(&format!("mutation {{ a: {login} b: {login} }}")), Some(2));
        assert_eq!(count("{ me { id } }"), Some(0));
        assert_eq!(
            count(&format!(
                "mutation {{ ...F ...F ... on Mutation {{ {login} }} }} fragment F on Mutation {{ {login} }}"
            )),
            Some(3)
        );
        // Ten-fold spreads, ten levels deep: counted once per fragment, saturating.
        let mut document = String::from("mutation { ...F0 }");
        for level in 0..10 {
            let spreads = format!("...F{} ", level + 1).repeat(10);
            document.push_str(&format!(" fragment F{level} on Mutation {{ {spreads} }}"));
        }
        document.push_str(&format!(" fragment F10 on Mutation {{ {login} }}"));
        assert_eq!(count(&document), Some(10_000_000_000));
        // A cycle (invalid anyway) ends; a chain too deep is refused.
        assert_eq!(
            count("mutation { ...A } fragment A on Mutation { ...B } fragment B on Mutation { ...A }"),
            Some(0)
        );
        let mut chain = String::from("mutation { ...F0 }");
        for level in 0..100 {
            chain.push_str(&format!(" fragment F{level} on Mutation {{ ...F{} }}", level + 1));
        }
        assert_eq!(count(&chain), None);
    }

    #[tokio::test]
    async fn a_batch_may_sign_in_once() {
        use crate::graphql::limits::DocumentLimits;
        let documents = DocumentCache::new(DocumentLimits {
            max_depth: 12,
            max_complexity: 5000,
            max_aliases: 100,
            introspection: true,
        });
        let check = |texts: Vec<String>| {
            let documents = &documents;
            async move {
                let requests: Vec<Request> = texts.into_iter().map(Request::new).collect();
                check_requests(documents, &requests).await
            }
        };
        let login = r#"mutation { login(email: "a@b.c", password: "p") { token } }"#.to_owned();
        let me = "{ me { id } }".to_owned();
        assert!(check(vec![login.clone(), me]).await.is_ok());
        assert!(check(vec![login.clone(), login.clone()]).await.is_err());
        assert!(check(vec!["not graphql login".into()]).await.is_ok());
        // Long documents are checked too (parsed on the blocking pool).
        let long = format!("mutation {{ a: logout {} b: logout }}", " ".repeat(32 * 1024));
        assert!(check(vec![login.clone(), long]).await.is_ok());
        let long = format!("mutation {{ {} {} }}", " ".repeat(32 * 1024), &login[11..login.len() - 2]);
        assert!(check(vec![login.clone(), long]).await.is_err());
        // A document built to exhaust the parser's stack is left to execution, unparsed.
        let deep = format!("mutation {{ login {} }}", "{ a ".repeat(100_000));
        assert!(check(vec![deep]).await.is_ok());
    }
}
