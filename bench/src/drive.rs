//! Closed-loop load for the panel suite: N concurrent clients, each starting its next operation
//! as soon as the previous one finished, for a fixed time or a fixed number of operations.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::load::Outcome;

/// When the clients stop.
#[derive(Clone, Copy, Debug)]
pub enum Stop {
    /// Start no operation after this much time.
    After(Duration),
    /// Each client runs exactly this many operations.
    Count(usize),
}

/// Runs `op(client, n)` in a loop on `clients` concurrent tasks (`client` in `0..clients`,
/// `n` counting that client's operations from 0) until `stop`, and times every operation.
/// An `Err` is a failed operation, described.
pub async fn drive<F, Fut>(clients: usize, stop: Stop, op: F) -> Outcome
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients.max(1))
        .map(|client| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut outcome = Outcome::default();
                for n in 0.. {
                    let more = match stop {
                        Stop::After(duration) => started.elapsed() < duration,
                        Stop::Count(count) => n < count,
                    };
                    if !more {
                        break;
                    }
                    let sent = Instant::now();
                    let result = op(client, n).await;
                    outcome.record(sent.elapsed(), result.err());
                }
                outcome
            })
        })
        .collect();
    Outcome::gather(tasks, started).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_operations_and_failures_per_client() {
        let outcome = drive(3, Stop::Count(4), |client, n| async move {
            if client == 0 && n == 2 { Err("boom".to_owned()) } else { Ok(()) }
        })
        .await;
        assert_eq!(outcome.ok, 11);
        assert_eq!(outcome.errors, 1);
        assert_eq!(outcome.error_samples, vec!["boom".to_owned()]);
        assert_eq!(outcome.latencies.len(), 12);
    }

    #[tokio::test]
    async fn stops_after_the_duration() {
        let outcome = drive(2, Stop::After(Duration::from_millis(50)), |_, _| async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            Ok(())
        })
        .await;
        assert!(outcome.ok >= 2);
        assert!(outcome.elapsed >= Duration::from_millis(50));
        assert!(outcome.elapsed < Duration::from_secs(2));
    }
}
