//! Accounts: listing, creating and renaming customer organisations.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object};
use entity::enums::Role;
use sea_orm::DatabaseConnection;

use super::connection;
use super::context::{READERS, RoleGuard, db};
use super::error::ResultExt;
use super::ids;
use super::types::account::Account;
use crate::domain::accounts::{self, AccountId};
use crate::state::Limits;

/// Roles that create and rename accounts.
pub const ACCOUNT_MANAGERS: &[Role] = &[Role::Supervisor, Role::Admin];

/// `createAccount` input.
#[derive(InputObject)]
pub struct CreateAccountInput {
    /// The account's name (trimmed; 1 to 200 characters).
    pub name: String,
}

/// `updateAccount` input.
#[derive(InputObject)]
pub struct UpdateAccountInput {
    /// The account to change (an `Account` id).
    pub id: ID,
    /// The new name (trimmed; 1 to 200 characters).
    pub name: String,
}

/// Account queries.
#[derive(Default)]
pub struct AccountsQuery;

#[Object]
impl AccountsQuery {
    /// Accounts, oldest first, for agents, supervisors, admins and analysts. `search` keeps
    /// those whose name contains it (case-insensitive). One account: `node(id)`.
    #[graphql(
        guard = "RoleGuard::new(READERS)",
        complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1"
    )]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only accounts whose name contains this text (case-insensitive).")] search: Option<
            String,
        >,
        #[graphql(
            desc = "How many to return, from 0 to the server's page-size limit (default 20, limit 100 unless configured)."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Return the items after this cursor (a `pageInfo.endCursor` or an edge's `cursor`)."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Account>> {
        let page = ids::page(first, after.as_deref(), ctx.data::<Limits>()?.max_page_size)?;
        let found = accounts::search(db(ctx)?, search.as_deref(), page).await.gql()?;
        Ok(connection::build(page, found, |row| row.id, Account))
    }
}

/// Account mutations.
#[derive(Default)]
pub struct AccountsMutation;

#[Object]
impl AccountsMutation {
    /// Creates an account (supervisors and admins). A blank or too long name: BAD_USER_INPUT.
    /// Contacts are linked to it with `updateContact(accountId)`.
    #[graphql(guard = "RoleGuard::new(ACCOUNT_MANAGERS)")]
    async fn create_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's name.")] input: CreateAccountInput,
    ) -> async_graphql::Result<Account> {
        let account = accounts::create(ctx.data::<DatabaseConnection>()?, &input.name).await.gql()?;
        Ok(Account(account))
    }

    /// Renames an account (supervisors and admins). Unknown account: NOT_FOUND; a blank or
    /// too long name: BAD_USER_INPUT.
    #[graphql(guard = "RoleGuard::new(ACCOUNT_MANAGERS)")]
    async fn update_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account and its new name.")] input: UpdateAccountInput,
    ) -> async_graphql::Result<Account> {
        let id = AccountId(ids::decode(&input.id, "Account")?);
        let account = accounts::rename(ctx.data::<DatabaseConnection>()?, id, &input.name).await.gql()?;
        Ok(Account(account))
    }
}
