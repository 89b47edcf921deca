//! Accounts: the customer organisations contacts belong to (minimal: a name and its contacts).
//!
//! Linking a contact to an account is part of the contact's own update (`contacts.account_id`);
//! a case raised from a chat takes the account of the chat's contact.

use entity::enums::Role;
use entity::{accounts, chats, contacts};
use sea_orm::sea_query::{BinOper, Expr, ExprTrait, Func, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoSimpleExpr, NotSet, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Set, TransactionSession, TransactionTrait,
};
use tracing::instrument;

use super::chats::readable_by_agent;
use super::error::{DomainError, DomainResult};
use super::pagination::{Page, PageOf};
use super::sessions::Principal;

/// An account's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub i64);

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Longest account name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// A valid account name: trimmed, 1 to [`MAX_NAME_CHARS`] characters.
fn valid_name(name: &str) -> DomainResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(DomainError::invalid(format!("account name must be 1 to {MAX_NAME_CHARS} characters")));
    }
    Ok(name.to_owned())
}

/// Creates an account.
#[instrument(skip_all)]
pub async fn create(db: &impl TransactionTrait, name: &str) -> DomainResult<accounts::Model> {
    let name = valid_name(name)?;
    let txn = crate::db::write(db).await?;
    let now = crate::clock::now();
    let account =
        accounts::ActiveModel { id: NotSet, name: Set(name), created_at: Set(now), updated_at: Set(now) }
            .insert(&txn)
            .await?;
    txn.commit().await?;
    Ok(account)
}

/// Renames an account; NotFound when it does not exist.
#[instrument(skip_all, fields(account_id = id.0))]
pub async fn rename(db: &impl TransactionTrait, id: AccountId, name: &str) -> DomainResult<accounts::Model> {
    let name = valid_name(name)?;
    let txn = crate::db::write(db).await?;
    let current = get(&txn, id).await?.ok_or(DomainError::NotFound("account"))?;
    let mut row: accounts::ActiveModel = current.into();
    row.name = Set(name);
    row.updated_at = Set(crate::clock::now());
    let updated = row.update(&txn).await?;
    txn.commit().await?;
    Ok(updated)
}

/// One account by id.
pub async fn get(db: &impl ConnectionTrait, id: AccountId) -> DomainResult<Option<accounts::Model>> {
    Ok(accounts::Entity::find_by_id(id.0).one(db).await?)
}

/// Several accounts by id; unknown ids are skipped.
pub async fn get_many(db: &impl ConnectionTrait, ids: &[AccountId]) -> DomainResult<Vec<accounts::Model>> {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    Ok(accounts::Entity::find().filter(accounts::Column::Id.is_in(ids)).all(db).await?)
}

/// Escapes `\`, `%` and `_` so a search term matches literally inside a LIKE pattern.
pub(crate) fn like_escaped(term: &str) -> String {
    let mut escaped = String::with_capacity(term.len());
    for c in term.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// `LOWER(column) LIKE LOWER(pattern) ESCAPE '\'`: the same case-insensitive match on SQLite
/// and PostgreSQL (both sides are lowered by the database, so they agree on what "lower" is).
fn lower_like(column: impl IntoSimpleExpr, pattern: &str) -> SimpleExpr {
    Expr::expr(Func::lower(column.into_simple_expr())).binary(
        BinOper::Like,
        Expr::expr(Func::lower(Expr::val(pattern))).binary(BinOper::Escape, Expr::Constant('\\'.into())),
    )
}

/// Accounts in id order, a page at a time; `search` keeps those whose name contains it
/// (case-insensitive, taken literally). Every role that reads accounts reads them all.
pub async fn search(
    db: &impl ConnectionTrait,
    search: Option<&str>,
    page: Page,
) -> DomainResult<PageOf<accounts::Model>> {
    let mut query = accounts::Entity::find().order_by_asc(accounts::Column::Id);
    if let Some(term) = search.map(str::trim).filter(|t| !t.is_empty()) {
        query = query.filter(lower_like(accounts::Column::Name, &format!("%{}%", like_escaped(term))));
    }
    if let Some(after) = page.after {
        query = query.filter(accounts::Column::Id.gt(after));
    }
    let rows = query.limit(page.limit + 1).all(db).await?;
    Ok(PageOf::from_overfetch(rows, page.limit))
}

/// An account's contacts in id order, a page at a time, as the principal may read them:
/// supervisors, admins and analysts see every one; an agent only the contacts of chats they
/// may read (the rule of `contacts::may_read`). Contacts merged into another are left out.
pub async fn contacts(
    db: &impl ConnectionTrait,
    principal: &Principal,
    account: AccountId,
    page: Page,
) -> DomainResult<PageOf<contacts::Model>> {
    let mut query = contacts::Entity::find()
        .filter(contacts::Column::AccountId.eq(account.0))
        .filter(contacts::Column::MergedIntoId.is_null())
        .order_by_asc(contacts::Column::Id);
    match principal.role {
        Role::Supervisor | Role::Admin | Role::Analyst => {}
        Role::Agent => {
            let readable = chats::Entity::find()
                .select_only()
                .column(chats::Column::ContactId)
                .filter(readable_by_agent(principal.agent_id))
                .into_query();
            query = query.filter(contacts::Column::Id.in_subquery(readable));
        }
        Role::Bot => return Ok(PageOf { items: Vec::new(), has_next: false }),
    }
    if let Some(after) = page.after {
        query = query.filter(contacts::Column::Id.gt(after));
    }
    let rows = query.limit(page.limit + 1).all(db).await?;
    Ok(PageOf::from_overfetch(rows, page.limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(valid_name("  Acme Corp ").unwrap(), "Acme Corp");
        assert!(valid_name("   ").is_err());
        assert!(valid_name(&"a".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert!(valid_name(&"ä".repeat(MAX_NAME_CHARS)).is_ok(), "counted in characters, not bytes");
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_escaped("50%_off\\"), "50\\%\\_off\\\\");
    }
}
