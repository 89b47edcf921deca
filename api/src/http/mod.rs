//! The HTTP face: the axum router, GraphQL over HTTP and WebSocket, health checks.

pub mod client_addr;
pub mod files;
pub mod graphql;
pub mod health;
pub mod webhooks;
pub mod ws;

use axum::Router;
use axum::http::{HeaderName, Request};
use axum::routing::get;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(graphql::graphiql))
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphql/ws", get(ws::upgrade))
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/webhooks/{kind}/{channel}", get(webhooks::verify).post(webhooks::receive))
        .route("/files/{attachment}", get(files::attachment))
        .route("/files/contacts/{contact}/photo", get(files::contact_photo))
        .layer(axum::extract::DefaultBodyLimit::max(state.max_body_bytes))
        .with_state(state)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let request_id = request
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            // The path only: query strings may carry variables, and nothing secret is logged.
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}
