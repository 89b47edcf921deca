//! Duplicate rules (DESIGN §1): a rule is a set of contact fields that must all match (AND);
//! rules combine with OR; each can be switched off. The six default rules are seeded by a
//! migration.
//!
//! Searches do not read the rules here each time: `rules_cache` keeps the enabled ones in
//! memory. Nothing needs calling after a change: a database trigger stamps a new version on
//! every write to `duplicate_rules`, and every search checks it in its own statement.

use chrono::Utc;
use entity::duplicate_rules;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, NotSet, QueryOrder, Set};

use crate::domain::error::{DomainError, DomainResult, classify};

/// A contact field a rule compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// The full name, in any word order.
    Name,
    /// The e-mail.
    Email,
    /// The mobile phone, compared with every phone of the other contact.
    MobilePhone,
    /// The business phone, compared with every phone of the other contact.
    BusinessPhone,
    /// The home phone, compared with every phone of the other contact.
    HomePhone,
    /// Any phone of one contact equal to any phone of the other.
    AnyPhone,
}

impl Field {
    /// Every field.
    pub const ALL: [Self; 6] =
        [Self::Name, Self::Email, Self::MobilePhone, Self::BusinessPhone, Self::HomePhone, Self::AnyPhone];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "NAME",
            Self::Email => "EMAIL",
            Self::MobilePhone => "MOBILE_PHONE",
            Self::BusinessPhone => "BUSINESS_PHONE",
            Self::HomePhone => "HOME_PHONE",
            Self::AnyPhone => "ANY_PHONE",
        }
    }

    /// The field with this stored name.
    pub fn from_stored(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|field| field.as_str() == name)
    }
}

/// A duplicate rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The fields that must all match.
    pub fields: Vec<Field>,
    /// Whether the rule is searched.
    pub enabled: bool,
    /// When it was added.
    pub created_at: chrono::DateTime<Utc>,
}

impl Rule {
    fn from_row(row: duplicate_rules::Model) -> Self {
        let mut fields: Vec<Field> = row
            .fields
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|value| value.as_str().and_then(Field::from_stored))
            .collect();
        fields.sort_unstable();
        fields.dedup();
        Self { id: row.id, name: row.name, fields, enabled: row.enabled, created_at: row.created_at }
    }
}

/// Every rule, oldest first.
pub async fn all(db: &impl ConnectionTrait) -> DomainResult<Vec<Rule>> {
    let rows = duplicate_rules::Entity::find().order_by_asc(duplicate_rules::Column::Id).all(db).await?;
    Ok(rows.into_iter().map(Rule::from_row).collect())
}

/// The rules searched now (switched on, with fields).
pub async fn enabled(db: &impl ConnectionTrait) -> Result<Vec<Rule>, sea_orm::DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let rows = duplicate_rules::Entity::find()
        .filter(duplicate_rules::Column::Enabled.eq(true))
        .order_by_asc(duplicate_rules::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(Rule::from_row).filter(|rule| !rule.fields.is_empty()).collect())
}

/// Switches a rule on or off.
pub async fn set_enabled(db: &impl ConnectionTrait, id: i64, enabled: bool) -> DomainResult<Rule> {
    let row = duplicate_rules::Entity::find_by_id(id).one(db).await?.ok_or(DomainError::NotFound("rule"))?;
    let mut update: duplicate_rules::ActiveModel = row.into();
    update.enabled = Set(enabled);
    Ok(Rule::from_row(update.update(db).await?))
}

/// Longest rule name.
const MAX_NAME: usize = 100;

/// Adds a rule, switched on: a name unique among rules and at least one field.
pub async fn create(db: &impl ConnectionTrait, name: &str, fields: &[Field]) -> DomainResult<Rule> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(DomainError::invalid(format!("a rule needs a name of 1 to {MAX_NAME} characters")));
    }
    let mut fields = fields.to_vec();
    fields.sort_unstable();
    fields.dedup();
    if fields.is_empty() {
        return Err(DomainError::invalid("a rule needs at least one field"));
    }
    let row = duplicate_rules::ActiveModel {
        id: NotSet,
        name: Set(name.to_owned()),
        fields: Set(serde_json::json!(fields.iter().map(|f| f.as_str()).collect::<Vec<_>>())),
        enabled: Set(true),
        created_at: Set(crate::clock::now()),
    }
    .insert(db)
    .await
    .map_err(|err| classify(err, "a rule with this name exists"))?;
    Ok(Rule::from_row(row))
}
