//! A contact's normalised values in `contact_keys`: written in the same transaction as every
//! change to the contact, read by similar-contact and contact search through the
//! `(field, value)` primary key, never by scanning `contacts`.

use std::collections::BTreeSet;

use entity::{contact_keys, contacts};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::normalize;

/// Which value a key holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyField {
    /// The whole name, words sorted.
    Name,
    /// One word of the name (contact search).
    NameWord,
    /// The e-mail.
    Email,
    /// The mobile phone.
    MobilePhone,
    /// The business phone.
    BusinessPhone,
    /// The home phone.
    HomePhone,
}

impl KeyField {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "NAME",
            Self::NameWord => "NAME_WORD",
            Self::Email => "EMAIL",
            Self::MobilePhone => "MOBILE_PHONE",
            Self::BusinessPhone => "BUSINESS_PHONE",
            Self::HomePhone => "HOME_PHONE",
        }
    }

    /// The three phone fields, compared across types.
    pub const PHONES: [Self; 3] = [Self::MobilePhone, Self::BusinessPhone, Self::HomePhone];
}

/// A contact's keys.
pub type Keys = BTreeSet<(KeyField, String)>;

/// The keys of a contact's current values.
pub fn of(contact: &contacts::Model) -> Keys {
    let mut keys = Keys::new();
    if let Some(name) = normalize::name(&contact.name) {
        keys.insert((KeyField::Name, name));
    }
    for word in normalize::name_words(&contact.name) {
        keys.insert((KeyField::NameWord, word));
    }
    if let Some(email) = contact.email.as_deref().and_then(normalize::email) {
        keys.insert((KeyField::Email, email));
    }
    for (field, value) in [
        (KeyField::MobilePhone, &contact.mobile_phone),
        (KeyField::BusinessPhone, &contact.business_phone),
        (KeyField::HomePhone, &contact.home_phone),
    ] {
        if let Some(phone) = value.as_deref().and_then(normalize::phone) {
            keys.insert((field, phone));
        }
    }
    keys
}

/// The keys of one field.
pub fn values(keys: &Keys, field: KeyField) -> impl Iterator<Item = &str> {
    keys.iter().filter(move |(f, _)| *f == field).map(|(_, v)| v.as_str())
}

/// Replaces the contact's stored keys with those of its current values and stamps the
/// version; call it in the transaction that writes the contact.
pub async fn write(db: &impl ConnectionTrait, contact: &contacts::Model) -> Result<(), DbErr> {
    contact_keys::Entity::delete_many()
        .filter(contact_keys::Column::ContactId.eq(contact.id))
        .exec(db)
        .await?;
    insert(db, contact).await
}

/// Writes the keys of a contact that has none yet (just created): [`write`] without the
/// delete, one statement.
pub async fn insert(db: &impl ConnectionTrait, contact: &contacts::Model) -> Result<(), DbErr> {
    let rows: Vec<contact_keys::ActiveModel> = of(contact)
        .into_iter()
        .map(|(field, value)| contact_keys::ActiveModel {
            field: Set(field.as_str().to_owned()),
            value: Set(value),
            contact_id: Set(contact.id),
        })
        .collect();
    if !rows.is_empty() {
        contact_keys::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([
                    contact_keys::Column::Field,
                    contact_keys::Column::Value,
                    contact_keys::Column::ContactId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .try_insert()
            .exec(db)
            .await?;
    }
    if contact.keys_version != normalize::VERSION {
        contacts::Entity::update_many()
            .col_expr(contacts::Column::KeysVersion, Expr::value(normalize::VERSION))
            .filter(contacts::Column::Id.eq(contact.id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Removes a contact's keys (a merged contact is found by nothing).
pub async fn remove(db: &impl ConnectionTrait, contact: i64) -> Result<(), DbErr> {
    contact_keys::Entity::delete_many().filter(contact_keys::Column::ContactId.eq(contact)).exec(db).await?;
    Ok(())
}

/// Re-keys contacts whose keys were made by another version of the rules (or none: rows from
/// before `contact_keys` existed), in batches; returns how many. Run at start.
pub async fn rekey_outdated(db: &DatabaseConnection) -> Result<u64, DbErr> {
    let mut done = 0;
    loop {
        let batch = contacts::Entity::find()
            .filter(contacts::Column::KeysVersion.ne(normalize::VERSION))
            .filter(contacts::Column::MergedIntoId.is_null())
            .order_by_asc(contacts::Column::Id)
            .limit(500)
            .all(db)
            .await?;
        if batch.is_empty() {
            return Ok(done);
        }
        let txn = crate::db::write(db).await?;
        for contact in &batch {
            write(&txn, contact).await?;
        }
        txn.commit().await?;
        done += batch.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(name: &str, email: Option<&str>, mobile: Option<&str>) -> contacts::Model {
        let now = crate::clock::now();
        contacts::Model {
            id: 1,
            name: name.into(),
            photo_url: None,
            email: email.map(Into::into),
            mobile_phone: mobile.map(Into::into),
            business_phone: None,
            home_phone: None,
            job_title: None,
            account_id: None,
            created_at: now,
            updated_at: now,
            merged_into_id: None,
            keys_version: 0,
        }
    }

    /// Every write of a contact must rewrite its keys in the same transaction, or search and
    /// similar contacts go stale: contacts are written only here, in `domain/contacts/`, and by
    /// the demo seed, which calls [`write`] itself.
    #[test]
    fn contacts_are_written_only_where_their_keys_are() {
        let writes = ["contacts::ActiveModel", "contacts::Entity::update", "contacts::Entity::insert"];
        for file in crate::source_files::under("").iter().filter(|f| !f.path.starts_with("domain/contacts")) {
            let code = file.code();
            if writes.iter().any(|w| code.contains(w)) {
                assert!(
                    file.path.ends_with("domain/demo.rs") && code.contains("contacts::keys::write("),
                    "{} writes contacts itself; go through domain::contacts (which keeps contact_keys)",
                    file.path.display()
                );
            }
        }
    }

    #[test]
    fn keys_hold_every_normalised_value() {
        let keys = of(&contact("Smith John", Some("John.Smith@Example.com"), Some("+1 (555) 010-2000")));
        assert_eq!(values(&keys, KeyField::Name).collect::<Vec<_>>(), ["john smith"]);
        assert_eq!(values(&keys, KeyField::NameWord).collect::<Vec<_>>(), ["john", "smith"]);
        assert_eq!(values(&keys, KeyField::Email).collect::<Vec<_>>(), ["john.smith@example.com"]);
        assert_eq!(values(&keys, KeyField::MobilePhone).collect::<Vec<_>>(), ["5550102000"]);
        assert!(of(&contact("  ", Some(""), Some("123"))).is_empty(), "empty values have no keys");
    }
}
