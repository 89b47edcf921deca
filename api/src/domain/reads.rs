//! History and analytics reads under their time limit.

use std::future::Future;

use super::error::{DomainError, DomainResult};
use crate::db::AnalyticsDb;

/// Runs `read`, a read over `analytics.db()`, under the analytics statement timeout; a read
/// that runs longer fails with [`DomainError::QueryTimeout`].
///
/// On PostgreSQL the server enforces the limit: every connection of the analytics pool has
/// `statement_timeout` set, so each statement running longer is cancelled where it runs (on
/// the replica or the primary) and fails with SQLSTATE 57014, recognised here. The limit is
/// per statement; the reads this serves are one statement each (a page, a count, one
/// aggregate).
///
/// SQLite has no server to cancel a statement: the whole read is given the limit. The
/// request's read-only connection gets a progress handler that interrupts any statement still
/// running at the deadline (SQLITE_INTERRUPT, recognised here), so a long aggregate stops
/// instead of holding the connection; and the request stops waiting at the deadline too, so
/// it answers QUERY_TIMEOUT at once even while waiting for the connection.
pub async fn timed<T>(
    analytics: &AnalyticsDb,
    read: impl Future<Output = DomainResult<T>>,
) -> DomainResult<T> {
    let limit = analytics.timeout();
    let result = if analytics.is_sqlite() {
        let interrupting = analytics.db().interrupt_at(std::time::Instant::now() + limit).await?;
        let result = tokio::time::timeout(limit, read).await;
        if interrupting {
            analytics.db().no_deadline().await?;
        }
        match result {
            Ok(result) => result,
            Err(_elapsed) => return Err(DomainError::QueryTimeout { limit }),
        }
    } else {
        read.await
    };
    match result {
        Err(DomainError::Database(err)) if crate::db::query_canceled(&err) => {
            Err(DomainError::QueryTimeout { limit })
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    use super::*;

    /// A statement that counts to three million: a good fraction of a second of work before
    /// its one row (it runs to its end after the timeout: the quick read waits for it).
    const SLOW: &str = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) \
                        SELECT COUNT(*) AS n FROM n";

    #[tokio::test]
    async fn a_sqlite_read_over_the_limit_is_a_query_timeout_and_a_quick_one_is_not() {
        let pool = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        let analytics = AnalyticsDb::new(pool.clone(), Duration::from_millis(50), false);
        let db = analytics.db();
        let slow = async {
            db.query_one_raw(Statement::from_string(DbBackend::Sqlite, SLOW)).await?;
            Ok(())
        };
        let err = timed(&analytics, slow).await.unwrap_err();
        assert_eq!(err.code(), "QUERY_TIMEOUT");
        assert!(err.to_string().contains("50 ms"), "{err}");
        // The abandoned statement runs on to its end on the one connection; a read with time
        // enough waits for it and is answered.
        let patient = AnalyticsDb::new(pool, Duration::from_secs(60), false);
        let quick = async {
            let stmt = Statement::from_string(DbBackend::Sqlite, "SELECT 7 AS n");
            let row = patient.db().query_one_raw(stmt).await?;
            Ok(row.and_then(|row| row.try_get::<i64>("", "n").ok()))
        };
        assert_eq!(timed(&patient, quick).await.unwrap(), Some(7));
    }

    /// Counts to thirty billion: minutes of work before its one row.
    const ENDLESS: &str = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000000000) \
                           SELECT COUNT(*) AS n FROM n";

    #[tokio::test]
    async fn a_request_s_sqlite_statement_is_interrupted_at_its_deadline() {
        // A request's handle holds one read-only connection for all its statements (as a
        // server's GraphQL queries do on SQLite).
        let pool = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        let request = crate::db::RequestDb::pinned(pool, None);
        let analytics =
            crate::db::AnalyticsReads::new(None, 1, Duration::from_millis(50), false).handle(&request);
        let endless = async {
            analytics.db().query_one_raw(Statement::from_string(DbBackend::Sqlite, ENDLESS)).await?;
            Ok(())
        };
        assert_eq!(timed(&analytics, endless).await.unwrap_err().code(), "QUERY_TIMEOUT");
        // The statement stopped at the deadline: the connection answers the next read at
        // once, with no deadline left on it (the minutes-long statement would still hold it).
        let next = async {
            let stmt = Statement::from_string(DbBackend::Sqlite, "SELECT 7 AS n");
            let row = request.query_one_raw(stmt).await.unwrap();
            row.and_then(|row| row.try_get::<i64>("", "n").ok())
        };
        let answered = tokio::time::timeout(Duration::from_secs(60), next).await;
        assert_eq!(answered.expect("the endless statement was interrupted"), Some(7));
    }

    #[tokio::test]
    async fn other_errors_pass_through() {
        let pool = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        let analytics = AnalyticsDb::new(pool, Duration::from_secs(5), false);
        let failing = async { Err::<(), _>(DomainError::NotFound("chat")) };
        assert_eq!(timed(&analytics, failing).await.unwrap_err().code(), "NOT_FOUND");
    }
}
