//! GraphQL over HTTP: POST for everything, GET for queries only.
//!
//! Follows the GraphQL-over-HTTP spec: a body that is not a GraphQL request gets 400, an
//! unsupported media type 415, an oversized body 413, a mutation over GET 405. A client that
//! accepts `application/graphql-response+json` also gets 400 for documents that fail to parse
//! or validate; `application/json` clients get 200 with the errors, as the spec says.

use std::sync::Arc;

use async_graphql::http::MultipartOptions;
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{BatchRequest, Request, Response as GqlResponse};
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::join_all;

use crate::db::RequestDb;
use crate::graphql::context::Caller;
use crate::graphql::direct;
use crate::graphql::document_cache::{self, Parsed};
use crate::graphql::error::{self, codes};
use crate::graphql::loaders;
use crate::graphql::sign_in_limits::{self, ClientAddr, TooManyLogins};
use crate::state::AppState;

use super::persisted;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
/// Most operations one batched request may carry.
const MAX_BATCH: usize = 20;

/// The bearer token in an `Authorization` value, if it is one.
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// Who sent a token (or nobody).
pub async fn caller_for_token(state: &AppState, token: Option<&str>) -> Caller {
    match token {
        None => Caller::Anonymous,
        // A read: on SQLite it goes through the read-only pool, so it never waits for a write.
        Some(token) => match state.sessions.authenticate(state.reads(), &state.keys, token).await {
            Ok(principal) => Caller::SignedIn(principal),
            // Not a refusal: the token may be fine. The pool's acquire timeout bounds the wait
            // during an outage, and the code says whether retrying makes sense.
            Err(err @ crate::domain::DomainError::Database(_)) => {
                tracing::error!(error = %err, "authentication failed on the database");
                Caller::Unchecked {
                    code: err.code(),
                    reason: "could not check the access token; try again".into(),
                }
            }
            Err(err) => Caller::Refused(err.to_string()),
        },
    }
}

async fn caller(state: &AppState, headers: &HeaderMap) -> Caller {
    match headers.get(header::AUTHORIZATION).map(|v| v.to_str().ok().and_then(bearer)) {
        None => Caller::Anonymous,
        Some(None) => Caller::Refused("the Authorization header must be `Bearer <token>`".into()),
        Some(Some(token)) => caller_for_token(state, Some(token)).await,
    }
}

fn wants_graphql_response(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains(GRAPHQL_RESPONSE))
}

/// A transport-level refusal, in the same JSON shape as GraphQL errors.
fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body.to_string())
        .into_response()
}

fn is_request_error(response: &GqlResponse) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|err| {
            err.extensions
                .as_ref()
                .and_then(|ext| ext.get("code"))
                .is_some_and(|code| matches!(code, async_graphql::Value::String(c) if codes::REQUEST_ERRORS.contains(&c.as_str())))
        })
}

/// A GraphQL answer, ready to send: the GET handler adds caching headers to it.
struct Answer {
    status: StatusCode,
    content_type: &'static str,
    body: String,
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        (self.status, [(header::CONTENT_TYPE, HeaderValue::from_static(self.content_type))], self.body)
            .into_response()
    }
}

/// Serialises one response. Under `application/graphql-response+json`, a request error (no
/// execution happened) carries no `data` key, as GraphQL-over-HTTP says.
fn to_json(response: &GqlResponse, graphql_response: bool) -> Result<serde_json::Value, serde_json::Error> {
    let mut json = serde_json::to_value(response)?;
    if graphql_response
        && is_request_error(response)
        && let Some(object) = json.as_object_mut()
    {
        object.remove("data");
    }
    Ok(json)
}

/// One operation's answer: run by async-graphql, or JSON already (`graphql::direct`).
enum Ran {
    Executed(GqlResponse),
    Direct(String),
}

async fn execute(
    state: &AppState,
    caller: Caller,
    batch: BatchRequest,
    headers: &HeaderMap,
) -> Result<Answer, Response> {
    let (requests, single) = match batch {
        BatchRequest::Single(request) => (vec![request], true),
        BatchRequest::Batch(requests) => (requests, false),
    };
    if requests.len() > MAX_BATCH {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            &format!("a batch may hold at most {MAX_BATCH} operations"),
        ));
    }
    // Persisted queries get their text first, so every later step sees the document.
    let mut requests = requests;
    let mut resolved = Vec::with_capacity(requests.len());
    for request in &mut requests {
        resolved.push(persisted::resolve(state, request).await);
    }
    // Each login costs a password hash: one per request, refused before anything runs.
    if let Err(TooManyLogins(message)) = sign_in_limits::check_requests(&state.documents, &requests).await {
        return Err(refuse(StatusCode::BAD_REQUEST, codes::TOO_MANY_LOGINS, &message));
    }
    let runs = requests.into_iter().zip(resolved).map(|(mut request, resolved)| {
        let caller = caller.clone();
        async move {
            let register = match resolved {
                Ok(register) => register,
                Err(refused) => return Ran::Executed(refused),
            };
            let inputs = document_cache::Inputs {
                operation_name: request.operation_name.as_deref(),
                variables: &request.variables,
            };
            let Parsed { document, validated, key, direct } =
                match state.documents.parse(&request.query, Some(inputs)).await {
                    Ok(parsed) => parsed,
                    Err(err) => return Ran::Executed(error::parse_failure(err)),
                };
            // Only documents that parse and pass the limits are registered.
            if let Some(hash) = register {
                persisted::register(state, &hash, &request.query).await;
            }
            crate::http::access::note_operation(&document, request.operation_name.as_deref());
            // A query runs on one connection held for the request (on PostgreSQL, one of the
            // query connections; on SQLite, from the read-only pool); a mutation borrows from
            // the pool per statement, as its transactions need (see `db::RequestDb`). Request
            // data comes before the schema's in every resolver's look-up.
            let is_query =
                operation_type(&document, request.operation_name.as_deref()) == Some(OperationType::Query);
            let db = if is_query {
                RequestDb::pinned(state.reads().clone(), state.queries.as_ref())
            } else {
                RequestDb::shared(state.db.clone())
            };
            if is_query && validated && direct != Some(false) {
                let offered = direct::Query {
                    known_plain: direct == Some(true),
                    document: &document,
                    operation_name: request.operation_name.as_deref(),
                    variables: &request.variables,
                    caller: &caller,
                    db: &db,
                    max_page_size: state.limits.max_page_size,
                };
                match direct::answer(offered).await {
                    direct::Outcome::Answered(text) => {
                        if direct.is_none() {
                            state.documents.direct(&request.query, true);
                        }
                        state.metrics.graphql_direct_answer();
                        crate::http::access::note_statements(db.statements());
                        return Ran::Direct(text);
                    }
                    direct::Outcome::NotPlain => state.documents.direct(&request.query, false),
                    direct::Outcome::Declined => {}
                }
            }
            // Remember a first validation only if it passes (known after execution).
            let remember = key.filter(|_| !validated).map(|key| (request.query.clone(), key));
            // A document validated before passed the complexity limit with these inputs; any
            // other may be refused for it, and then the refusal says by how much.
            let unvalidated = (!validated).then(|| {
                let mut copy = Request::new(request.query.clone()).variables(request.variables.clone());
                copy.operation_name = request.operation_name.clone();
                copy.set_parsed_query(ExecutableDocument::clone(&document));
                copy
            });
            request.set_parsed_query(Arc::unwrap_or_clone(document));
            let request = request.data(caller).data(loaders::for_request(db.clone())).data(db.clone());
            let schema = if validated { &state.schema.http_validated } else { &state.schema.http };
            let mut response = schema.execute(request).await;
            crate::http::access::note_statements(db.statements());
            if let Some(copy) = unvalidated {
                crate::graphql::limits::explain_complexity(&state.schema.measuring, copy, &mut response)
                    .await;
            }
            error::assign_codes(&mut response);
            if let Some((query, key)) = remember
                && !is_request_error(&response)
            {
                state.documents.validated(&query, key);
            }
            Ran::Executed(response)
        }
    });
    let answers = join_all(runs).await;
    let executed = answers.iter().filter_map(|answer| match answer {
        Ran::Executed(response) => Some(response),
        Ran::Direct(_) => None,
    });
    crate::http::access::note_responses(executed);
    let graphql_response = wants_graphql_response(headers);
    let request_error = matches!(&answers[0], Ran::Executed(response) if is_request_error(response));
    let status =
        if graphql_response && single && request_error { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let content_type = if graphql_response { GRAPHQL_RESPONSE } else { "application/json" };
    // A direct answer is JSON already (and has no errors: the same under either media type).
    let texts: Result<Vec<String>, _> = answers
        .into_iter()
        .map(|answer| match answer {
            Ran::Direct(text) => Ok(text),
            // The rare path: request errors lose their `data` key.
            Ran::Executed(response) if graphql_response => serde_json::to_string(&to_json(&response, true)?),
            Ran::Executed(response) => serde_json::to_string(&response),
        })
        .collect();
    let body = texts.map(|mut texts| if single { texts.remove(0) } else { format!("[{}]", texts.join(",")) });
    match body {
        Ok(body) => Ok(Answer { status, content_type, body }),
        Err(err) => {
            tracing::error!(error = %err, "could not serialise a GraphQL response");
            Err(refuse(StatusCode::INTERNAL_SERVER_ERROR, codes::INTERNAL, "internal error"))
        }
    }
}

/// POST `/graphql`: JSON (single or batched) or a multipart upload.
pub async fn post(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let supported = content_type.as_deref().is_none_or(|ct| {
        let ct = ct.to_ascii_lowercase();
        ct.starts_with("application/json")
            || ct.starts_with(GRAPHQL_RESPONSE)
            || ct.starts_with("multipart/form-data")
    });
    if !supported {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send application/json (or multipart/form-data for uploads)",
        );
    }
    let multipart =
        content_type.as_deref().is_some_and(|ct| ct.to_ascii_lowercase().starts_with("multipart/"));
    let limit = if multipart { state.max_upload_bytes } else { state.max_body_bytes };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            &format!("the request body is larger than {limit} bytes"),
        )
    };
    if declared.is_some_and(|len| len > limit) {
        return too_large();
    }
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return too_large();
    };
    let batch = match async_graphql::http::receive_batch_body(
        content_type,
        bytes.as_ref(),
        MultipartOptions::default(),
    )
    .await
    {
        Ok(batch) => batch,
        Err(err) => {
            return refuse(StatusCode::BAD_REQUEST, "BAD_REQUEST", &format!("not a GraphQL request: {err}"));
        }
    };
    let caller = caller(&state, &headers).await;
    match execute(&state, caller, batch.data(client), &headers).await {
        Ok(answer) => answer.into_response(),
        Err(refused) => refused,
    }
}

/// The type of the operation a request would run, if the document names one.
fn operation_type(document: &ExecutableDocument, name: Option<&str>) -> Option<OperationType> {
    document_cache::operation(document, name).map(|op| op.node.ty)
}

/// Whether the operation a GET request would run is a mutation (GET must not change state).
fn is_mutation(document: &ExecutableDocument, request: &Request) -> bool {
    operation_type(document, request.operation_name.as_deref()).is_some_and(|ty| ty != OperationType::Query)
}

/// GET `/graphql?query=...`: queries only (also by persisted-query hash). Answers carry an
/// `ETag`; a matching `If-None-Match` gets 304. Signed-in answers are `private, no-store`,
/// anonymous ones `no-cache` (revalidate with the ETag).
pub async fn get(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let mut request = match async_graphql::http::parse_query_string(query.as_deref().unwrap_or_default()) {
        Ok(request) => request,
        Err(err) => {
            return refuse(StatusCode::BAD_REQUEST, "BAD_REQUEST", &format!("not a GraphQL request: {err}"));
        }
    };
    if request.query.is_empty() && !request.extensions.contains_key("persistedQuery") {
        return refuse(StatusCode::BAD_REQUEST, "BAD_REQUEST", "a GET request needs a `query` parameter");
    }
    // The text of a persisted query is needed to tell whether it is a mutation; `execute`
    // resolves it again from memory.
    if let Err(refused) = persisted::resolve(&state, &mut request).await {
        let body = serde_json::to_string(&refused).unwrap_or_default();
        return Answer { status: StatusCode::OK, content_type: "application/json", body }.into_response();
    }
    // Parsed through the cache, so `execute` finds it there; a document that does not parse
    // or pass the limits is refused by `execute` with its code.
    let parsed = state.documents.parse(&request.query, None).await;
    if parsed.is_ok_and(|parsed| is_mutation(&parsed.document, &request)) {
        let mut response = refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "mutations and subscriptions need POST",
        );
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let caller = caller(&state, &headers).await;
    let signed_in = !matches!(caller, Caller::Anonymous);
    let answer = match execute(&state, caller, BatchRequest::Single(request.data(client)), &headers).await {
        Ok(answer) => answer,
        Err(refused) => return refused,
    };
    let cache_control = if signed_in { "private, no-store" } else { "no-cache" };
    let etag = format!("\"{}\"", &crate::domain::persisted_queries::hash_of(&answer.body)[..32]);
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim().trim_start_matches("W/") == etag));
    let mut response = if matches && answer.status == StatusCode::OK {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        answer.into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_tokens() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
    }

    #[test]
    fn spots_mutations() {
        let spot = |request: Request| {
            let document = async_graphql::parser::parse_query(&request.query).expect("parses");
            is_mutation(&document, &request)
        };
        assert!(spot(Request::new("mutation { logout }")));
        assert!(!spot(Request::new("{ me { id } }")));
        assert!(spot(Request::new("query A { me { id } } mutation B { logout }").operation_name("B")));
    }
}
