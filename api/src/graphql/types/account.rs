//! The `Account` type, and its batch loader.

use async_graphql::connection::Connection;
use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::accounts;
use std::collections::HashMap;

use super::case::Case;
use super::contact::Contact;
use crate::domain::accounts::{self as account_rules, AccountId};
use crate::domain::cases::{self as case_rules, CaseFilter};
use crate::graphql::context::{db, principal};
use crate::graphql::error::ResultExt;
use crate::graphql::loaders::Db;
use crate::graphql::{connection, ids};
use crate::state::Limits;

/// A customer organisation; contacts may belong to one, and cases raised for its contacts
/// carry it.
#[derive(Clone, Debug)]
pub struct Account(pub accounts::Model);

/// A customer organisation; contacts may belong to one, and cases raised for its contacts
/// carry it.
#[Object]
impl Account {
    /// Global id: opaque, stable; fetch the object again with `node(id)`.
    pub async fn id(&self) -> ID {
        ids::encode("Account", self.0.id)
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// When the account was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When the account was last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// The account's contacts, oldest first, as the caller may read them (an agent sees only
    /// the contacts of chats they may read; merged-away contacts are left out).
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1")]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return, up to the server's page-size limit (default 20).")]
        first: Option<i32>,
        #[graphql(desc = "Return the contacts after this cursor.")] after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Contact>> {
        let page = ids::page(first, after.as_deref(), ctx.data::<Limits>()?.max_page_size)?;
        let found =
            account_rules::contacts(db(ctx)?, principal(ctx)?, AccountId(self.0.id), page).await.gql()?;
        Ok(connection::build(page, found, |row| row.id, Contact))
    }

    /// The account's cases the caller may read, newest first.
    #[graphql(complexity = "first.unwrap_or(20).max(0) as usize * child_complexity + 1")]
    async fn cases(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many to return, up to the server's page-size limit (default 20).")]
        first: Option<i32>,
        #[graphql(desc = "Return the cases after this cursor (older ones).")] after: Option<String>,
    ) -> async_graphql::Result<Connection<String, Case>> {
        let page = ids::page(first, after.as_deref(), ctx.data::<Limits>()?.max_page_size)?;
        let filter = CaseFilter { account: Some(AccountId(self.0.id)), ..CaseFilter::default() };
        let found = case_rules::list(db(ctx)?, principal(ctx)?, &filter, page).await.gql()?;
        Ok(connection::build(page, found, |row| row.id, Case))
    }
}

impl Loader<AccountId> for Db {
    type Value = accounts::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[AccountId]) -> async_graphql::Result<HashMap<AccountId, accounts::Model>> {
        let rows = account_rules::get_many(&self.0, keys).await.gql()?;
        Ok(rows.into_iter().map(|row| (AccountId(row.id), row)).collect())
    }
}
