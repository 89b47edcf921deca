//! Quick replies: canned texts agents insert into their replies, optionally limited to one
//! language (then offered only in chats whose channel speaks it).

use entity::reply_templates;
use sea_orm::sea_query::{BinOper, Expr, ExprTrait, Func, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, NotSet, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionSession, TransactionTrait,
};
use serde_json::json;
use tracing::instrument;

use super::chats;
use super::error::{DomainError, DomainResult};
use super::ids::{ChannelId, ChatId};
use super::pagination::{Page, PageOf};
use super::sessions::Principal;
use crate::events::{self, EventKind, Subjects};

/// A reply template's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TemplateId(pub i64);

impl std::fmt::Display for TemplateId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Longest template name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest template text, in characters (the same as a reply).
pub const MAX_TEXT_CHARS: usize = 4096;

/// A new template.
#[derive(Clone, Debug)]
pub struct NewTemplate {
    /// Short name agents pick it by.
    pub name: String,
    /// The text inserted into the reply.
    pub text: String,
    /// Language tag (e.g. `en`); `None` offers it in every chat.
    pub language: Option<String>,
}

/// Changes to a template; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct TemplateChange {
    /// New name.
    pub name: Option<String>,
    /// New text.
    pub text: Option<String>,
    /// `Some(None)` clears the language.
    pub language: Option<Option<String>>,
}

fn valid_name(name: &str) -> DomainResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(DomainError::invalid(format!("template name must be 1 to {MAX_NAME_CHARS} characters")));
    }
    Ok(name.to_owned())
}

fn valid_text(text: &str) -> DomainResult<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
        return Err(DomainError::invalid(format!("template text must be 1 to {MAX_TEXT_CHARS} characters")));
    }
    Ok(text.to_owned())
}

/// The same rule as a channel's language: a lower-case tag of letters, digits and dashes.
fn valid_language(language: Option<String>) -> DomainResult<Option<String>> {
    match language.map(|l| l.trim().to_lowercase()) {
        None => Ok(None),
        Some(l) if l.is_empty() => Ok(None),
        Some(l) if l.len() <= 16 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') => Ok(Some(l)),
        Some(_) => Err(DomainError::invalid("language must be a language tag such as en or pt-br")),
    }
}

async fn record(db: &impl ConnectionTrait, id: i64, action: &str) -> DomainResult<()> {
    let payload = json!({ "templateId": id, "action": action });
    events::record(db, EventKind::TemplateChanged, Subjects::default(), payload).await?;
    Ok(())
}

/// Creates a template, recording a `TEMPLATE_CHANGED` event.
#[instrument(skip_all)]
pub async fn create(db: &impl TransactionTrait, new: NewTemplate) -> DomainResult<reply_templates::Model> {
    let name = valid_name(&new.name)?;
    let text = valid_text(&new.text)?;
    let language = valid_language(new.language)?;
    let txn = crate::db::write(db).await?;
    let now = crate::clock::now();
    let template = reply_templates::ActiveModel {
        id: NotSet,
        name: Set(name),
        text: Set(text),
        language: Set(language),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    record(&txn, template.id, "created").await?;
    txn.commit().await?;
    Ok(template)
}

/// Applies changes to a template, recording a `TEMPLATE_CHANGED` event.
#[instrument(skip_all, fields(template_id = id.0))]
pub async fn update(
    db: &impl TransactionTrait,
    id: TemplateId,
    change: TemplateChange,
) -> DomainResult<reply_templates::Model> {
    let name = change.name.as_deref().map(valid_name).transpose()?;
    let text = change.text.as_deref().map(valid_text).transpose()?;
    let language = change.language.map(valid_language).transpose()?;
    let txn = crate::db::write(db).await?;
    let current = get(&txn, id).await?.ok_or(DomainError::NotFound("reply template"))?;
    let mut row: reply_templates::ActiveModel = current.into();
    if let Some(name) = name {
        row.name = Set(name);
    }
    if let Some(text) = text {
        row.text = Set(text);
    }
    if let Some(language) = language {
        row.language = Set(language);
    }
    row.updated_at = Set(crate::clock::now());
    let updated = row.update(&txn).await?;
    record(&txn, updated.id, "updated").await?;
    txn.commit().await?;
    Ok(updated)
}

/// Deletes a template, recording a `TEMPLATE_CHANGED` event.
#[instrument(skip_all, fields(template_id = id.0))]
pub async fn delete(db: &impl TransactionTrait, id: TemplateId) -> DomainResult<()> {
    let txn = crate::db::write(db).await?;
    let deleted = reply_templates::Entity::delete_by_id(id.0).exec(&txn).await?;
    if deleted.rows_affected == 0 {
        return Err(DomainError::NotFound("reply template"));
    }
    record(&txn, id.0, "deleted").await?;
    txn.commit().await?;
    Ok(())
}

/// One template by id.
pub async fn get(db: &impl ConnectionTrait, id: TemplateId) -> DomainResult<Option<reply_templates::Model>> {
    Ok(reply_templates::Entity::find_by_id(id.0).one(db).await?)
}

/// Escapes `\`, `%` and `_` so a search term matches literally inside a LIKE pattern.
fn like_escaped(term: &str) -> String {
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
fn lower_like(column: reply_templates::Column, pattern: &str) -> SimpleExpr {
    Expr::expr(Func::lower(Expr::col(column))).binary(
        BinOper::Like,
        Expr::expr(Func::lower(Expr::val(pattern))).binary(BinOper::Escape, Expr::Constant('\\'.into())),
    )
}

/// Templates in id order, a page at a time. `search` keeps those whose name or text contains
/// it (case-insensitive, taken literally); `language` keeps those in that language or in none.
pub async fn search(
    db: &impl ConnectionTrait,
    search: Option<&str>,
    language: Option<&str>,
    page: Page,
) -> DomainResult<PageOf<reply_templates::Model>> {
    let mut query = reply_templates::Entity::find().order_by_asc(reply_templates::Column::Id);
    if let Some(term) = search.map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", like_escaped(term));
        query = query.filter(
            Condition::any()
                .add(lower_like(reply_templates::Column::Name, &pattern))
                .add(lower_like(reply_templates::Column::Text, &pattern)),
        );
    }
    if let Some(language) = language {
        query = query.filter(
            Condition::any()
                .add(reply_templates::Column::Language.is_null())
                .add(reply_templates::Column::Language.eq(language)),
        );
    }
    if let Some(after) = page.after {
        query = query.filter(reply_templates::Column::Id.gt(after));
    }
    let rows = query.limit(page.limit + 1).all(db).await?;
    Ok(PageOf::from_overfetch(rows, page.limit))
}

/// The language of the channel of a chat the principal may read (`None` when the channel has
/// none); NotFound when the chat does not exist or the principal may not read it.
pub async fn chat_language(
    db: &impl ConnectionTrait,
    principal: &Principal,
    chat: ChatId,
) -> DomainResult<Option<String>> {
    let chat = chats::get_visible(db, principal, chat).await?.ok_or(DomainError::NotFound("chat"))?;
    let channel = super::channels::get(db, ChannelId(chat.channel_id))
        .await?
        .ok_or(DomainError::NotFound("channel"))?;
    Ok(channel.language)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_escaped("50%_off\\"), "50\\%\\_off\\\\");
        assert_eq!(like_escaped("refund"), "refund");
    }

    #[test]
    fn inputs_are_validated() {
        assert!(valid_name("  ").is_err());
        assert!(valid_name(&"n".repeat(101)).is_err());
        assert_eq!(valid_name(" Refund ").unwrap(), "Refund");
        assert!(valid_text("").is_err());
        assert!(valid_text(&"t".repeat(4097)).is_err());
        assert_eq!(valid_language(Some(" ES ".into())).unwrap().as_deref(), Some("es"));
        assert_eq!(valid_language(Some(String::new())).unwrap(), None);
        assert!(valid_language(Some("en_US".into())).is_err());
        assert!(valid_language(Some("x".repeat(17))).is_err());
    }
}
