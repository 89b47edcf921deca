//! `contacts(search)`: contacts by name, phone or e-mail, through `contact_keys`.
//!
//! What the search text is decides how it is compared:
//! - with an `@`: an e-mail, matching addresses that start with it (folded);
//! - written as a phone number (digits and the usual separators, at least seven digits): any
//!   of the contact's phones, compared on the last ten digits;
//! - otherwise a name: every word of it must start a word of the contact's name, in any order,
//!   regardless of case and accents (`smi jo` finds `John Smith`).
//!
//! Keys are compared byte-wise (SQLite's BINARY collation, PostgreSQL's "C" on
//! `contact_keys.value`), so a prefix is an index range.

use entity::{chats, contact_keys, contacts};
use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::keys::KeyField;
use super::normalize;
use crate::domain::chats::readable_by_agent;
use crate::domain::error::DomainResult;
use crate::domain::pagination::{Page, PageOf};
use crate::domain::sessions::Principal;
use entity::enums::Role;

/// Most words of a name search.
const MAX_WORDS: usize = 5;

/// What a search text asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Search {
    /// Every contact.
    All,
    /// Addresses starting with this (folded).
    Email(String),
    /// This phone key.
    Phone(String),
    /// Names with a word starting with each of these.
    Name(Vec<String>),
}

impl Search {
    /// Reads a search text.
    pub fn parse(text: Option<&str>) -> Self {
        let text = text.map(str::trim).unwrap_or_default();
        if text.is_empty() {
            return Self::All;
        }
        if text.contains('@') {
            return normalize::email(text).map_or(Self::All, Self::Email);
        }
        if normalize::is_phone_shaped(text)
            && let Some(phone) = normalize::phone(text)
        {
            return Self::Phone(phone);
        }
        let mut words = normalize::name_words(text);
        words.truncate(MAX_WORDS);
        if words.is_empty() { Self::All } else { Self::Name(words) }
    }
}

/// Contact ids with a key of `field` starting with `prefix`.
fn with_prefix(field: KeyField, prefix: &str) -> SelectStatement {
    Query::select()
        .column(contact_keys::Column::ContactId)
        .from(contact_keys::Entity)
        .and_where(contact_keys::Column::Field.eq(field.as_str()))
        .and_where(contact_keys::Column::Value.gte(prefix))
        .and_where(contact_keys::Column::Value.lt(format!("{prefix}{}", char::MAX)))
        .to_owned()
}

/// The contacts `principal` may read that match `search`, by ascending id (oldest first).
/// Merged contacts are never listed.
pub async fn contacts(
    db: &impl ConnectionTrait,
    principal: &Principal,
    search: &Search,
    page: Page,
) -> DomainResult<PageOf<contacts::Model>> {
    let mut query = contacts::Entity::find()
        .filter(contacts::Column::MergedIntoId.is_null())
        .order_by_asc(contacts::Column::Id);
    match principal.role {
        Role::Supervisor | Role::Admin | Role::Analyst => {}
        Role::Agent => {
            let readable = Query::select()
                .column(chats::Column::ContactId)
                .from(chats::Entity)
                .cond_where(readable_by_agent(principal.agent_id))
                .to_owned();
            query = query.filter(contacts::Column::Id.in_subquery(readable));
        }
        Role::Bot => return Ok(PageOf { items: Vec::new(), has_next: false }),
    }
    match search {
        Search::All => {}
        Search::Email(prefix) => {
            query = query.filter(contacts::Column::Id.in_subquery(with_prefix(KeyField::Email, prefix)));
        }
        Search::Phone(key) => {
            let phones = Query::select()
                .column(contact_keys::Column::ContactId)
                .from(contact_keys::Entity)
                .and_where(contact_keys::Column::Field.is_in(KeyField::PHONES.map(KeyField::as_str)))
                .and_where(contact_keys::Column::Value.eq(key.as_str()))
                .to_owned();
            query = query.filter(contacts::Column::Id.in_subquery(phones));
        }
        Search::Name(words) => {
            for word in words {
                query = query.filter(contacts::Column::Id.in_subquery(with_prefix(KeyField::NameWord, word)));
            }
        }
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
    fn search_texts_are_read_as_email_phone_or_name() {
        assert_eq!(Search::parse(None), Search::All);
        assert_eq!(Search::parse(Some("  ")), Search::All);
        assert_eq!(Search::parse(Some("John.S@")), Search::Email("john.s@".into()));
        assert_eq!(Search::parse(Some("+1 (555) 010-2000")), Search::Phone("5550102000".into()));
        assert_eq!(Search::parse(Some("Smith JOSÉ")), Search::Name(vec!["smith".into(), "jose".into()]));
        assert_eq!(Search::parse(Some("123")), Search::Name(vec!["123".into()]), "too short for a phone");
    }
}
