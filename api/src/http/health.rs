//! Liveness and readiness probes.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;

use crate::state::AppState;

/// How long `/readyz` waits for the database before answering 503: a probe that hangs while
/// the database is down would keep a load balancer sending traffic here.
const READY_TIMEOUT: Duration = Duration::from_secs(1);

/// `/healthz`: the process is up.
pub async fn live() -> &'static str {
    "ok"
}

/// `/readyz`: the database answers, within [`READY_TIMEOUT`].
pub async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match tokio::time::timeout(READY_TIMEOUT, crate::db::ping(&state.db)).await {
        Ok(Ok(())) => (StatusCode::OK, "ready"),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
        Err(_) => {
            tracing::warn!(timeout_ms = READY_TIMEOUT.as_millis() as u64, "readiness check timed out");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}
