//! Automatic persisted queries, in Apollo's protocol: a client sends a document's SHA-256 in
//! `extensions.persistedQuery.sha256Hash` instead of its text; a document not known yet is
//! answered with `PersistedQueryNotFound` (code `PERSISTED_QUERY_NOT_FOUND`), and the client
//! sends it again with its text, which registers it (its hash checked) for every instance.
//! Works over POST and GET (`?extensions=...`), so GET answers can be cached by URL.

use async_graphql::{Request, Response as GqlResponse};

use crate::domain::persisted_queries::{hash_of, is_hash};
use crate::graphql::error::{coded, codes, from_domain};
use crate::state::AppState;

/// The message Apollo's link looks for to send the document's text.
pub const NOT_FOUND: &str = "PersistedQueryNotFound";

/// The extension a request carries, if any: the version and hash.
fn requested(request: &Request) -> Option<Result<String, &'static str>> {
    let extension = request.extensions.get("persistedQuery")?;
    let extension = serde_json::to_value(extension).ok()?;
    if extension.get("version").and_then(serde_json::Value::as_i64) != Some(1) {
        return Some(Err("persistedQuery: only version 1 is supported"));
    }
    match extension.get("sha256Hash").and_then(serde_json::Value::as_str) {
        Some(hash) if is_hash(hash) => Some(Ok(hash.to_ascii_lowercase())),
        _ => Some(Err("persistedQuery.sha256Hash must be 64 hex digits")),
    }
}

fn refusal(code: &'static str, message: &str) -> GqlResponse {
    GqlResponse::from_errors(vec![coded(code, message).into_server_error(Default::default())])
}

/// Fills in a persisted request's text, or says why it cannot run. Returns the hash to
/// register once the document is known to parse and pass the limits (a request that sent
/// its text with its hash), if any.
pub async fn resolve(state: &AppState, request: &mut Request) -> Result<Option<String>, GqlResponse> {
    let hash = match requested(request) {
        None => return Ok(None),
        Some(Err(message)) => return Err(refusal(codes::BAD_REQUEST, message)),
        Some(Ok(hash)) => hash,
    };
    if !request.query.is_empty() {
        if hash_of(&request.query) != hash {
            return Err(refusal(
                codes::BAD_REQUEST,
                "persistedQuery.sha256Hash is not the SHA-256 of the query",
            ));
        }
        return Ok(Some(hash));
    }
    match state.persisted.get(&state.db, &hash).await {
        Ok(Some(query)) => {
            request.query = query.to_string();
            Ok(None)
        }
        Ok(None) => Err(refusal(codes::PERSISTED_QUERY_NOT_FOUND, NOT_FOUND)),
        Err(err) => {
            Err(GqlResponse::from_errors(vec![from_domain(err).into_server_error(Default::default())]))
        }
    }
}

/// Registers a document that parsed and passed the limits under its (checked) hash. A
/// failure only means the client will send the text again; it is logged.
pub async fn register(state: &AppState, hash: &str, query: &str) {
    if let Err(err) = state.persisted.register(&state.db, hash, query).await {
        tracing::warn!(error = %err, "could not register a persisted query");
    }
}
