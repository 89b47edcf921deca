//! Per-request bookkeeping: the access log line and the request metrics.
//!
//! [`observe`] wraps every request. The GraphQL handler notes the operation's name and outcome
//! through [`note_operation`], [`note_responses`] and [`note_statements`] (a task-local slot, so no handler
//! signature changes). The log line has the method, the path (never the query string), the
//! status, the latency, the operation name and the request id — never query text, variables
//! or tokens.

use std::cell::RefCell;
use std::time::Instant;

use async_graphql::Response as GqlResponse;
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument};
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use crate::metrics::{Label, Metrics};

/// What the GraphQL handler noted about the request being answered.
#[derive(Default)]
struct Noted {
    operation: Option<Label>,
    operations: usize,
    outcome: Option<Label>,
    /// Statements the request's queries ran through their request handles.
    statements: Option<u64>,
}

struct Slot {
    metrics: Metrics,
    noted: RefCell<Noted>,
}

tokio::task_local! {
    static SLOT: Slot;
}

/// Notes the operation a GraphQL request runs (its label: see [`Metrics::operation_label`]),
/// and records it on the request's span.
pub fn note_operation(document: &ExecutableDocument, requested: Option<&str>) {
    let name = requested.or(match &document.operations {
        DocumentOperations::Single(_) => None,
        DocumentOperations::Multiple(operations) if operations.len() == 1 => {
            operations.keys().next().map(|name| name.as_str())
        }
        DocumentOperations::Multiple(_) => None,
    });
    let _outside_a_request = SLOT.try_with(|slot| {
        let label = slot.metrics.operation_label(name);
        tracing::Span::current().record("operation", label.as_str());
        let mut noted = slot.noted.borrow_mut();
        noted.operations += 1;
        noted.operation = Some(if noted.operations > 1 { slot.metrics.batch_label() } else { label });
    });
}

/// Notes the outcome of a GraphQL request: `ok`, or the code of the first error.
pub fn note_responses<'a>(responses: impl IntoIterator<Item = &'a GqlResponse>) {
    let code = responses.into_iter().flat_map(|response| response.errors.first()).next().map(|error| {
        match error.extensions.as_ref().and_then(|ext| ext.get("code")) {
            Some(async_graphql::Value::String(code)) => code.as_str(),
            _ => "(none)",
        }
    });
    let _outside_a_request = SLOT.try_with(|slot| {
        slot.noted.borrow_mut().outcome = Some(slot.metrics.outcome_label(code));
    });
}

/// Notes statements a GraphQL query ran through its request handle (`db::RequestDb`); the
/// request's total is observed once it is answered.
pub fn note_statements(count: u64) {
    let _outside_a_request = SLOT.try_with(|slot| {
        let mut noted = slot.noted.borrow_mut();
        noted.statements = Some(noted.statements.unwrap_or(0) + count);
    });
}

/// The `route` label of a path: a fixed set, so unknown paths cannot grow the series.
fn route(path: &str) -> &'static str {
    match path {
        "/graphql" => "graphql",
        "/graphql/ws" => "graphql_ws",
        "/" | "/graphiql" => "graphiql",
        "/healthz" | "/readyz" => "health",
        "/metrics" => "metrics",
        _ if path.starts_with("/webhooks/") => "webhooks",
        _ if path.starts_with("/files/") => "files",
        _ => "other",
    }
}

fn method(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

fn provider(path: &str) -> &'static str {
    match path.trim_start_matches("/webhooks/").split('/').next() {
        Some("whatsapp") => "whatsapp",
        Some("messenger") => "messenger",
        Some("telegram") => "telegram",
        _ => "unknown",
    }
}

/// Middleware: counts the request, times it and writes its access-log line.
pub async fn observe(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method_label = method(request.method());
    let method = request.method().clone();
    // `Uri` and `HeaderValue` clones share their bytes.
    let uri = request.uri().clone();
    let request_id = request.headers().get("x-request-id").cloned();
    let route = route(uri.path());
    let slot = Slot { metrics: metrics.clone(), noted: RefCell::new(Noted::default()) };
    let (response, noted) = SLOT
        .scope(slot, async move {
            let response = next.run(request).await;
            (response, SLOT.with(|slot| slot.noted.take()))
        })
        .await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    metrics.http_request(route, method_label, status, elapsed.as_secs_f64());
    if route == "graphql" && (noted.operation.is_some() || noted.outcome.is_some() || status >= 400) {
        // No operation noted: the document did not parse, or the request was refused before
        // any ran (not GraphQL, too large, too many sign-ins); its outcome is its status then.
        let operation = noted.operation.clone().unwrap_or_else(|| metrics.operation_label(None));
        let outcome = noted.outcome.clone().unwrap_or_else(|| {
            metrics.outcome_label(Some(match status {
                500.. => "HTTP_5XX",
                400.. => "HTTP_4XX",
                _ => "HTTP_OK",
            }))
        });
        metrics.graphql_request(&operation, &outcome, elapsed.as_secs_f64());
        if let Some(statements) = noted.statements {
            metrics.graphql_statements(&operation, statements);
        }
    }
    if route == "webhooks" && method == Method::POST {
        metrics.webhook(provider(uri.path()), status);
    }
    tracing::info!(
        target: "switchboard::access",
        method = %method,
        path = uri.path(),
        status,
        latency_ms = (elapsed.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
        operation = noted.operation.as_deref().map(String::as_str),
        request_id = request_id.as_ref().and_then(|id| id.to_str().ok()),
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_providers_are_a_fixed_set() {
        assert_eq!(route("/graphql"), "graphql");
        assert_eq!(route("/webhooks/telegram/abc"), "webhooks");
        assert_eq!(route("/wp-admin"), "other");
        assert_eq!(provider("/webhooks/telegram/abc"), "telegram");
        assert_eq!(provider("/webhooks/evil/abc"), "unknown");
    }
}
