//! Background work: delivering replies through the outbox and chat-action webhooks,
//! downloading media, enriching contacts. Workers share one context and stop together on shutdown.

pub mod actions;
pub mod delivery;
pub mod enrich;
pub mod media;
pub mod timers;

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::channels::client::ProviderApis;
use crate::files::FileStore;

/// Retry schedule for outbound deliveries.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts before a delivery is marked FAILED.
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt, capped at 5 minutes, with ±20 % jitter.
    pub base: Duration,
}

impl RetryPolicy {
    /// The delay before attempt `attempt + 1`, after `attempt` failed attempts.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(16);
        let raw = self.base.saturating_mul(1 << exponent).min(Duration::from_secs(300));
        let jitter = rand::random_range(0.8..1.2);
        raw.mul_f64(jitter)
    }
}

/// Everything the workers need.
#[derive(Clone, Debug)]
pub struct JobContext {
    /// The database.
    pub db: DatabaseConnection,
    /// The providers' APIs.
    pub apis: ProviderApis,
    /// Where files live.
    pub files: FileStore,
    /// Wakes the delivery worker when a reply is queued on this instance.
    pub outbox_ready: Arc<Notify>,
    /// Wakes the chat-action webhook worker when a run is queued on this instance.
    pub actions_ready: Arc<Notify>,
    /// Delivery retries.
    pub retry: RetryPolicy,
    /// How often workers look for due work when nothing woke them.
    pub poll: Duration,
    /// How long a claimed delivery stays ours; renewed while its provider call runs.
    pub lease: Duration,
    /// The server's metrics.
    pub metrics: crate::metrics::Metrics,
}

/// Starts every worker; they stop when `cancel` fires.
pub fn spawn_all(ctx: &JobContext, cancel: &CancellationToken) -> Vec<JoinHandle<()>> {
    vec![
        tokio::spawn(delivery::run(ctx.clone(), cancel.clone())),
        tokio::spawn(actions::run(ctx.clone(), cancel.clone())),
        tokio::spawn(media::run(ctx.clone(), cancel.clone())),
        tokio::spawn(timers::run(ctx.clone(), cancel.clone())),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_with_jitter_and_cap() {
        let policy = RetryPolicy { max_attempts: 5, base: Duration::from_millis(100) };
        let first = policy.delay(1);
        assert!(first >= Duration::from_millis(80) && first <= Duration::from_millis(120));
        let third = policy.delay(3);
        assert!(third >= Duration::from_millis(320) && third <= Duration::from_millis(480));
        assert!(policy.delay(40) <= Duration::from_secs(360));
    }
}
