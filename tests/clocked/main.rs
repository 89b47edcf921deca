//! End-to-end tests that move the server's clock (`api::clock`): datasets with chosen
//! timestamps and time limits that pass without waiting, on SQLite and PostgreSQL.
//!
//! The clock is process-wide and the servers run in this process, so these tests live in a
//! binary of their own and run one at a time: [`clocked!`] holds [`CLOCK`] for a whole test and
//! starts it on the system clock.

// The harness and the usual first steps, shared with the e2e binary (which uses all of them).
#[allow(dead_code)]
#[path = "../e2e/reaching.rs"]
mod reaching;
#[allow(dead_code)]
#[path = "../e2e/scenario.rs"]
mod scenario;
#[allow(dead_code)]
#[path = "../e2e/support.rs"]
mod support;

mod chatbot;
mod history;
mod indicators;
mod initiate;
mod lives;
mod stats_cache;
mod timeouts;

/// Held by each test while it runs, so no two tests move the clock at once.
pub static CLOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Generates `sqlite` and `postgres` variants of a test taking the [`support::Backend`], each
/// run alone and starting on the system clock.
#[macro_export]
macro_rules! clocked {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let _alone = $crate::CLOCK.lock().await;
                api::clock::reset();
                super::$name($crate::support::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let _alone = $crate::CLOCK.lock().await;
                api::clock::reset();
                super::$name($crate::support::Backend::Postgres).await;
            }
        }
    )*};
}
