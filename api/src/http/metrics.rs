//! `/metrics`: the Prometheus scrape endpoint. No token; keep it off the public internet (a
//! reverse proxy that does not forward it, or `--disable-metrics`).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::metrics::{CONTENT_TYPE, Sample};
use crate::state::AppState;

/// GET `/metrics`: every metric, in the OpenMetrics text format Prometheus scrapes.
pub async fn scrape(State(state): State<AppState>) -> Response {
    let sample = Sample {
        db: &state.db,
        readers: state.readers.as_ref(),
        queries: state.queries.as_ref(),
        analytics: state.analytics_connections.as_ref(),
        bus_subscribers: state.bus.subscribers(),
        stats_cache: Some(state.stats_cache.counts()),
        appends: state.appends.as_ref().map(|appends| appends.counts()),
        missed_tries: state.known_customers.missed(),
    };
    let text = state.metrics.render(sample).await;
    ([(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))], text).into_response()
}
