//! The HTTP face: the axum router, GraphQL over HTTP and WebSocket, health checks.

pub mod access;
pub mod client_addr;
pub mod files;
pub mod graphiql;
pub mod graphql;
pub mod health;
pub mod metrics;
pub mod persisted;
pub mod webhooks;
pub mod ws;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, Request, header};
use axum::routing::get;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Security headers every response carries, unless a handler set its own.
fn hygiene(router: Router) -> Router {
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}

/// Cross-origin access for browser front ends served elsewhere, when origins are
/// configured: queries and mutations (GET, POST) with JSON bodies and a bearer token, and
/// the request id readable. No credentials mode: tokens are never cookies.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow_origin = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION, header::ACCEPT, REQUEST_ID])
            .expose_headers([REQUEST_ID])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let cors = cors(&state.cors_origins);
    let metrics = state.metrics.clone();
    // GraphQL answers are never stored by browsers or proxies unless the handler says so
    // (anonymous GET answers may be revalidated): `login` returns a token, and every answer
    // depends on who asks.
    let graphql = Router::new().route("/graphql", get(graphql::get).post(graphql::post)).layer(
        SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    );
    // The HTML page loads nothing from elsewhere and may not be framed (clickjacking).
    let page = Router::new()
        .route("/", get(graphiql::page))
        .route("/graphiql", get(graphiql::page))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(graphiql::CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")));
    let app = Router::new()
        .merge(page)
        .merge(graphql)
        .route("/graphql/ws", get(ws::upgrade))
        .route("/graphiql/assets/{version}/{file}", get(graphiql::asset))
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/webhooks/{kind}/{channel}", get(webhooks::verify).post(webhooks::receive))
        .route("/files/{attachment}", get(files::attachment))
        .route("/files/contacts/{contact}/photo", get(files::contact_photo));
    let app = if state.serve_metrics { app.route("/metrics", get(metrics::scrape)) } else { app };
    let app = app.layer(axum::extract::DefaultBodyLimit::max(state.max_body_bytes)).with_state(state);
    let app = match cors {
        Some(cors) => app.layer(cors),
        None => app,
    };
    hygiene(app)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(axum::middleware::from_fn_with_state(metrics, access::observe))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let request_id =
                request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or_default();
            // The path only: query strings may carry variables, and nothing secret is logged.
            // `operation` is recorded by the GraphQL handler (see `access::note_operation`).
            tracing::info_span!(
                "request",
                method = %request.method(),
                path = %request.uri().path(),
                request_id,
                operation = tracing::field::Empty
            )
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}
