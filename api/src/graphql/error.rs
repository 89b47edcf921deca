//! The one place errors become GraphQL errors with a stable `extensions.code`.

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest, NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ErrorExtensions, Response, ServerError, ServerResult, ValidationResult, Variables};
use std::sync::Arc;

use crate::domain::DomainError;

/// Codes for errors raised before any resolver runs.
pub mod codes {
    /// The query text does not parse.
    pub const PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    /// The query does not match the schema, or variables have the wrong types.
    pub const VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    /// The query nests deeper than allowed.
    pub const QUERY_TOO_DEEP: &str = "QUERY_TOO_DEEP";
    /// The query costs more than allowed.
    pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
    /// Introspection (`__schema`, `__type`) is switched off on this server.
    pub const INTROSPECTION_DISABLED: &str = "INTROSPECTION_DISABLED";
    /// A request the server cannot read as GraphQL (a bad persisted-query extension...).
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    /// A persisted query's hash that no instance knows yet: send the text with it.
    pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
    /// Bad input caught by the GraphQL layer (for example an out-of-range argument).
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    /// No valid sign-in.
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    /// Signed in without the needed role.
    pub const FORBIDDEN: &str = "FORBIDDEN";
    /// Something broke on our side; details are in the server log.
    pub const INTERNAL: &str = "INTERNAL_SERVER_ERROR";
    /// A request (a document, or a batch) that signs in more than once.
    pub const TOO_MANY_LOGINS: &str = "TOO_MANY_LOGINS";
    /// The database cannot be reached right now; the same request may be tried again.
    pub const DATABASE_UNAVAILABLE: &str = "DATABASE_UNAVAILABLE";
    /// A history or analytics read ran longer than the server's analytics statement timeout
    /// and was cancelled; ask for less (the same request would time out again).
    pub const QUERY_TIMEOUT: &str = "QUERY_TIMEOUT";
    /// Codes that mean the request itself was refused before execution.
    pub const REQUEST_ERRORS: &[&str] =
        &[PARSE_FAILED, VALIDATION_FAILED, QUERY_TOO_DEEP, QUERY_TOO_COMPLEX, INTROSPECTION_DISABLED];
}

/// An error with a code and a message for the client.
pub fn coded(code: &'static str, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, ext| ext.set("code", code))
}

/// Maps a domain error. Internal failures are logged with their cause and answered with a
/// generic message, so no SQL reaches a client; an unreachable database is answered with the
/// retryable DATABASE_UNAVAILABLE.
pub fn from_domain(err: DomainError) -> async_graphql::Error {
    match &err {
        DomainError::Database(cause) if err.database_unavailable() => {
            tracing::warn!(error = %cause, "database unavailable");
            coded(codes::DATABASE_UNAVAILABLE, "the database is unavailable; try again shortly")
        }
        DomainError::Database(cause) => {
            tracing::error!(error = %cause, "database error");
            coded(codes::INTERNAL, "internal error; it has been logged")
        }
        DomainError::ContactMerged { contact, into } | DomainError::MergeConflict { contact, into, .. } => {
            let (contact, into) =
                (super::ids::encode("Contact", *contact).0, super::ids::encode("Contact", *into).0);
            coded(err.code(), err.to_string()).extend_with(move |_, ext| {
                ext.set("contactId", contact.clone());
                ext.set("mergedIntoId", into.clone());
            })
        }
        DomainError::OpenChatsConflict(chats) => {
            let chats: Vec<String> = chats.iter().map(|chat| super::ids::encode("Chat", *chat).0).collect();
            coded(err.code(), err.to_string()).extend_with(move |_, ext| ext.set("chatIds", chats.clone()))
        }
        DomainError::NotReachable(crate::domain::initiate::Refusal::OpenChat(chat)) => {
            let chat = super::ids::encode("Chat", *chat).0;
            coded(err.code(), err.to_string()).extend_with(move |_, ext| ext.set("chatId", chat.clone()))
        }
        DomainError::NotReachable(crate::domain::initiate::Refusal::OutsideWindow { closed_at }) => {
            let closed_at = closed_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            coded(err.code(), err.to_string())
                .extend_with(move |_, ext| ext.set("windowClosedAt", closed_at.clone()))
        }
        DomainError::TemplateParameters { expected, given } => {
            let (expected, given) = (*expected as u64, *given as u64);
            coded(err.code(), err.to_string()).extend_with(move |_, ext| {
                ext.set("expected", expected);
                ext.set("given", given);
            })
        }
        other => {
            let err = coded(other.code(), other.to_string());
            match other.retry_after() {
                // Seconds as HTTP's Retry-After says them, and milliseconds for short waits.
                Some(after) => err.extend_with(|_, ext| {
                    ext.set("retryAfterSeconds", crate::domain::error::seconds(after));
                    ext.set("retryAfterMs", u64::try_from(after.as_millis()).unwrap_or(u64::MAX));
                }),
                None => err,
            }
        }
    }
}

/// `.gql()` on domain results, so resolvers keep the code (a bare `?` would lose it).
pub trait ResultExt<T> {
    /// Maps the error through [`from_domain`].
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> ResultExt<T> for Result<T, DomainError> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(from_domain)
    }
}

fn has_code(err: &ServerError) -> bool {
    err.extensions.as_ref().is_some_and(|ext| ext.get("code").is_some())
}

fn with_code(mut err: ServerError, code: &'static str) -> ServerError {
    if !has_code(&err) {
        err.extensions.get_or_insert_with(Default::default).set("code", code);
    }
    err
}

/// The code of an error raised while validating a document.
fn validation_code(err: &ServerError) -> &'static str {
    match err.message.as_str() {
        "Query is nested too deep." => codes::QUERY_TOO_DEEP,
        "Query is too complex." => codes::QUERY_TOO_COMPLEX,
        _ => codes::VALIDATION_FAILED,
    }
}

/// A parse failure, coded, as a whole response.
pub fn parse_failure(err: ServerError) -> Response {
    Response::from_errors(vec![with_code(err, codes::PARSE_FAILED)])
}

/// Gives every error of a response from the extension-less HTTP schema a code, as
/// [`ErrorCodes`] does for the WebSocket schema: errors raised before execution (no data, no
/// path: validation, limits, operation selection) by their kind, anything else left without
/// one (input coercion inside the engine) as bad user input. Parse failures never get here
/// (see [`parse_failure`]).
pub fn assign_codes(response: &mut Response) {
    let before_execution = response.data == async_graphql::Value::Null;
    for err in &mut response.errors {
        if has_code(err) {
            continue;
        }
        let code = if before_execution && err.path.is_empty() {
            validation_code(err)
        } else {
            codes::BAD_USER_INPUT
        };
        err.extensions.get_or_insert_with(Default::default).set("code", code);
    }
}

/// Gives every error a code: parse and validation failures get theirs here, and anything
/// left without one (input coercion inside the engine) is bad user input.
///
/// Any extension makes async-graphql take its slow path for every field (type look-ups,
/// `ResolveInfo`, the extension chain), so only the WebSocket schema has it; HTTP responses
/// get their codes from [`assign_codes`].
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension)
    }
}

struct ErrorCodesExtension;

#[async_graphql::async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        for err in std::mem::take(&mut response.errors) {
            response.errors.push(with_code(err, codes::BAD_USER_INPUT));
        }
        response
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables).await.map_err(|err| with_code(err, codes::PARSE_FAILED))
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|err| {
                    let code = validation_code(&err);
                    with_code(err, code)
                })
                .collect()
        })
    }
}
