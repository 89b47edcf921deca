//! Who is calling: the per-request principal and role guards.

use async_graphql::{Context, Guard};
use entity::enums::Role;

use super::error::{coded, codes};
use crate::db::RequestDb;
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
