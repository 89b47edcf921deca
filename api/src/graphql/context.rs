//! Who is calling: the per-request principal and role guards.

use async_graphql::{Context, Guard};
use entity::enums::Role;

use super::error::{coded, codes};
use crate::db::{AnalyticsDb, AnalyticsReads, RequestDb};
use crate::domain::sessions::Principal;

/// The caller of one request (or one WebSocket connection).
#[derive(Clone, Debug)]
pub enum Caller {
    /// No token was sent.
    Anonymous,
    /// A token was sent but refused; the reason is shown on fields that need sign-in.
    Refused(String),
    /// A token was sent but could not be checked because the database failed; fields that
    /// need sign-in answer `code` (DATABASE_UNAVAILABLE during an outage, so clients retry
    /// instead of signing in again).
    Unchecked {
        /// The error code: the database error's, as `DomainError::code` gives it.
        code: &'static str,
        /// The message.
        reason: String,
    },
    /// A valid, live sign-in.
    SignedIn(Principal),
}

/// The signed-in principal, or UNAUTHENTICATED.
pub fn principal<'a>(ctx: &'a Context<'_>) -> async_graphql::Result<&'a Principal> {
    match ctx.data_opt::<Caller>() {
        Some(Caller::SignedIn(principal)) => Ok(principal),
        Some(Caller::Refused(reason)) => Err(coded(codes::UNAUTHENTICATED, reason.clone())),
        Some(Caller::Unchecked { code, reason }) => Err(coded(code, reason.clone())),
        _ => Err(coded(codes::UNAUTHENTICATED, "sign in first: send Authorization: Bearer <token>")),
    }
}

/// Roles that read and act on chats.
pub const STAFF: &[Role] = &[Role::Agent, Role::Supervisor, Role::Admin];
/// Roles that may read history and directory data.
pub const READERS: &[Role] = &[Role::Agent, Role::Supervisor, Role::Admin, Role::Analyst];
/// Administrators only.
pub const ADMINS: &[Role] = &[Role::Admin];
/// Any signed-in caller.
pub const ANYONE: &[Role] = &[Role::Agent, Role::Supervisor, Role::Admin, Role::Analyst, Role::Bot];

/// Lets a field through only for signed-in callers with one of the roles.
pub struct RoleGuard(&'static [Role]);

impl RoleGuard {
    /// A guard for `roles`.
    pub fn new(roles: &'static [Role]) -> Self {
        Self(roles)
    }
}

impl Guard for RoleGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let principal = principal(ctx)?;
        if principal.has_any(self.0) {
            Ok(())
        } else {
            Err(coded(codes::FORBIDDEN, format!("the {} role may not do this", principal.role.as_str())))
        }
    }
}

/// The database this request reads through: for a query over HTTP, one connection held for
/// the whole request; otherwise the pool (see `db::RequestDb`). Mutations that write take the
/// pool itself (`DatabaseConnection`) for their transactions.
pub fn db<'a>(ctx: &'a Context<'_>) -> async_graphql::Result<&'a RequestDb> {
    ctx.data::<RequestDb>()
}

/// Where history and analytics reads run: the read replica when `READ_DATABASE_URL` is set,
/// else the primary; always under the analytics statement timeout (run the read through
/// `domain::reads::timed`). The replica may lag, so only fields that may show slightly stale
/// data use this: the fields of `graphql/history.rs` (the history list `chats` and its
/// `totalCount`), `graphql/analytics.rs` and `graphql/indicators.rs`. Never a mutation, a
/// subscription, `myChats`, `chat(id)`, or any read that must see a write just made
/// (docs/operations.md, "Read replica"); a test below keeps the callers to those files.
pub fn analytics_db(ctx: &Context<'_>) -> async_graphql::Result<AnalyticsDb> {
    Ok(ctx.data::<AnalyticsReads>()?.handle(db(ctx)?))
}

#[cfg(test)]
mod tests {
    /// The GraphQL files that may read through the replica: history and analytics only.
    const REPLICA_READERS: &[&str] = &["history.rs", "analytics.rs", "indicators.rs"];

    #[test]
    fn only_history_and_analytics_fields_read_through_the_replica() {
        for file in crate::source_files::under("graphql") {
            let path = file.path.strip_prefix("graphql").expect("under graphql");
            let name = path.to_string_lossy();
            if name == "context.rs" || REPLICA_READERS.contains(&name.as_ref()) {
                continue;
            }
            assert!(
                !file.text.contains("analytics_db("),
                "graphql/{name} reads through the replica; only {REPLICA_READERS:?} may \
                 (docs/operations.md, \"Read replica\")"
            );
        }
    }
}
