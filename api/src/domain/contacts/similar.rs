//! Similar contacts: the contacts the active duplicate rules find for a contact, less the
//! pairs marked "not duplicates".
//!
//! One statement per search, whatever the number of rules: each rule is one arm of a
//! `UNION ALL`, and each arm looks its fields up in `contact_keys` by the `(field, value)`
//! primary key — never a scan of `contacts` — capped at [`PER_RULE`] rows; pairs marked "not
//! duplicates" are left out in the same statement. A field matches
//! (DESIGN §1):
//! - `NAME`, `EMAIL`: equal normalised values (names as sorted word lists);
//! - `ANY_PHONE`: any phone of one equal to any phone of the other;
//! - `MOBILE_PHONE` (likewise business, home): the contact's mobile equal to any phone of the
//!   other, or the other's mobile equal to any phone of the contact — phone rules compare
//!   across phone types, and the relation is symmetric, so a pair shows from both sides.

use std::collections::BTreeMap;

use entity::contacts;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, Statement, Value};

use super::keys::{self, KeyField, Keys};
use super::rules::{self, Field, Rule};

/// Most contacts one rule contributes to a search.
pub const PER_RULE: u64 = 100;
/// Most similar contacts a search returns.
pub const LIMIT: usize = 50;

/// A similar contact and the rules that found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    /// The similar contact.
    pub contact: i64,
    /// Ids of the rules that found it.
    pub rules: Vec<i64>,
}

/// A statement under construction: SQL with `?` placeholders and their values.
#[derive(Default)]
struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    fn value(&mut self, value: impl Into<Value>) {
        self.text.push('?');
        self.values.push(value.into());
    }

    fn list<'a>(&mut self, values: impl IntoIterator<Item = &'a str>) {
        self.text.push('(');
        for (n, value) in values.into_iter().enumerate() {
            if n > 0 {
                self.text.push_str(", ");
            }
            self.value(value.to_owned());
        }
        self.text.push(')');
    }

    /// The statement for `backend` (`$1, $2, ...` on PostgreSQL).
    fn build(self, backend: DbBackend) -> Statement {
        let text = match backend {
            DbBackend::Postgres => {
                let mut numbered = String::with_capacity(self.text.len() + 2 * self.values.len());
                for (n, part) in self.text.split('?').enumerate() {
                    if n > 0 {
                        numbered.push_str(&format!("${n}"));
                    }
                    numbered.push_str(part);
                }
                numbered
            }
            _ => self.text,
        };
        Statement::from_sql_and_values(backend, text, self.values)
    }
}

const PHONE_FIELDS: &str = "('MOBILE_PHONE', 'BUSINESS_PHONE', 'HOME_PHONE')";

/// Appends the condition on `contact_keys` rows under which another contact matches `field`
/// of a contact with `keys`; false (nothing appended) when the contact lacks the value, so
/// the rule cannot match.
fn field_condition(sql: &mut Sql, field: Field, keys: &Keys) -> bool {
    let phones: Vec<&str> = KeyField::PHONES.iter().flat_map(|f| keys::values(keys, *f)).collect();
    let single = |key: KeyField| keys::values(keys, key).next().map(str::to_owned);
    match field {
        Field::Name | Field::Email => {
            let key = if field == Field::Name { KeyField::Name } else { KeyField::Email };
            let Some(value) = single(key) else { return false };
            sql.push(&format!("field = '{}' AND value = ", key.as_str()));
            sql.value(value);
        }
        Field::AnyPhone => {
            if phones.is_empty() {
                return false;
            }
            sql.push(&format!("field IN {PHONE_FIELDS} AND value IN "));
            sql.list(phones);
        }
        Field::MobilePhone | Field::BusinessPhone | Field::HomePhone => {
            if phones.is_empty() {
                return false;
            }
            let key = match field {
                Field::MobilePhone => KeyField::MobilePhone,
                Field::BusinessPhone => KeyField::BusinessPhone,
                _ => KeyField::HomePhone,
            };
            sql.push("(");
            if let Some(own) = single(key) {
                sql.push(&format!("(field IN {PHONE_FIELDS} AND value = "));
                sql.value(own);
                sql.push(") OR ");
            }
            sql.push(&format!("(field = '{}' AND value IN ", key.as_str()));
            sql.list(phones);
            sql.push("))");
        }
    }
    true
}

/// Appends one rule's arm; false when the contact cannot match it (a field is empty).
fn rule_arm(sql: &mut Sql, rule: &Rule, keys: &Keys, contact: i64) -> bool {
    let mut arm = Sql::default();
    arm.push(&format!(
        "SELECT CAST({} AS BIGINT) AS rule_id, contact_id FROM (SELECT DISTINCT contact_id FROM contact_keys WHERE ",
        rule.id
    ));
    let Some((first, rest)) = rule.fields.split_first() else { return false };
    if !field_condition(&mut arm, *first, keys) {
        return false;
    }
    arm.push(" AND contact_id <> ");
    arm.value(contact);
    for field in rest {
        arm.push(" AND contact_id IN (SELECT contact_id FROM contact_keys WHERE ");
        if !field_condition(&mut arm, *field, keys) {
            return false;
        }
        arm.push(")");
    }
    arm.push(&format!(" LIMIT {PER_RULE}) AS r{}", rule.id));
    if !sql.text.is_empty() {
        sql.push(" UNION ALL ");
    }
    sql.push(&arm.text);
    sql.values.extend(arm.values);
    true
}

/// The contacts similar to `contact` by the active rules, oldest first, at most `limit`,
/// without those marked "not duplicates" of it.
pub async fn find(
    db: &impl ConnectionTrait,
    contact: &contacts::Model,
    limit: usize,
) -> Result<Vec<Match>, DbErr> {
    if contact.merged_into_id.is_some() {
        return Ok(Vec::new());
    }
    let rules = rules::enabled(db).await?;
    find_with(db, contact, &rules, limit).await
}

/// [`find`] with the active rules given.
pub async fn find_with(
    db: &impl ConnectionTrait,
    contact: &contacts::Model,
    rules: &[Rule],
    limit: usize,
) -> Result<Vec<Match>, DbErr> {
    let found = candidates(db, contact, rules, Marked::Excluded).await?;
    Ok(found
        .into_iter()
        .take(limit)
        .map(|(contact, mut rules)| {
            rules.sort_unstable();
            rules.dedup();
            Match { contact, rules }
        })
        .collect())
}

/// Whether pairs marked "not duplicates" are found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Marked {
    /// Left out, in the same statement.
    Excluded,
    /// Found like the others.
    Included,
}

/// What the rules find for `contact`, by contact id with the ids of the rules that found it;
/// one statement, which also leaves out the pairs marked "not duplicates" unless asked not to
/// (a primary-key look-up per candidate).
async fn candidates(
    db: &impl ConnectionTrait,
    contact: &contacts::Model,
    rules: &[Rule],
    marked: Marked,
) -> Result<BTreeMap<i64, Vec<i64>>, DbErr> {
    let keys = keys::of(contact);
    let mut sql = Sql::default();
    for rule in rules.iter().filter(|rule| rule.enabled) {
        rule_arm(&mut sql, rule, &keys, contact.id);
    }
    if sql.text.is_empty() {
        return Ok(BTreeMap::new());
    }
    if marked == Marked::Excluded {
        let mut outer = Sql::default();
        outer.push("SELECT u.rule_id, u.contact_id FROM (");
        outer.push(&sql.text);
        outer.values.extend(sql.values);
        outer.push(
            ") AS u WHERE NOT EXISTS (SELECT 1 FROM not_duplicate_pairs p WHERE \
             (p.contact_a_id = ",
        );
        outer.value(contact.id);
        outer.push(
            " AND p.contact_b_id = u.contact_id) OR (p.contact_a_id = u.contact_id AND p.contact_b_id = ",
        );
        outer.value(contact.id);
        outer.push("))");
        sql = outer;
    }
    let rows = db.query_all_raw(sql.build(db.get_database_backend())).await?;
    let mut found: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for row in rows {
        let rule: i64 = row.try_get_by_index(0)?;
        let other: i64 = row.try_get_by_index(1)?;
        found.entry(other).or_default().push(rule);
    }
    Ok(found)
}

/// A contact's similar contacts with their rows and the names of the rules that found them.
#[derive(Clone, Debug)]
pub struct Similar {
    /// The contact searched for.
    pub current: contacts::Model,
    /// The similar contacts, oldest first, each with the names of the rules that found it.
    pub matches: Vec<(contacts::Model, Vec<String>)>,
}

/// [`find`], with the contacts' rows and the rules' names.
pub async fn of_contact(
    db: &impl ConnectionTrait,
    current: contacts::Model,
) -> crate::domain::DomainResult<Similar> {
    let rules = rules::enabled(db).await?;
    let found = find_with(db, &current, &rules, LIMIT).await?;
    let rows: BTreeMap<i64, contacts::Model> = contacts::Entity::find()
        .filter(contacts::Column::Id.is_in(found.iter().map(|m| m.contact)))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
    let names: BTreeMap<i64, &str> = rules.iter().map(|rule| (rule.id, rule.name.as_str())).collect();
    let matches = found
        .into_iter()
        .filter_map(|m| {
            let row = rows.get(&m.contact)?.clone();
            Some((row, m.rules.iter().filter_map(|id| names.get(id).map(|n| (*n).to_owned())).collect()))
        })
        .collect();
    Ok(Similar { current, matches })
}

/// Whether the active rules find every contact of `others` for `contact` (marked "not
/// duplicates" or not): what lets an agent who may read `contact` merge or separate them.
pub async fn all_similar_or_marked(
    db: &impl ConnectionTrait,
    contact: &contacts::Model,
    others: &[i64],
) -> Result<bool, DbErr> {
    let rules = rules::enabled(db).await?;
    let found = candidates(db, contact, &rules, Marked::Included).await?;
    Ok(others.iter().all(|other| found.contains_key(other)))
}
