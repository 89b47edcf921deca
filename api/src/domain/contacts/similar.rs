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
//!
//! The rules come from memory (`rules_cache`), not from `duplicate_rules`: the statement also
//! returns the stored version of the rules, and its answer counts only when that is the
//! version the remembered rules were read under; otherwise the rules are read again and the
//! search repeated. A contact that has no row yet, or was created in the ingesting transaction
//! (a newcomer), cannot be in a "not duplicates" pair, so its search skips that part
//! ([`find_for_newcomer`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use entity::contacts;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, Statement, Value};

use super::keys::{self, KeyField, Keys};
use super::rules::{Field, Rule};
use super::rules_cache::{self, Snapshot};

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
            DbBackend::Postgres => numbered(&self.text, 1),
            _ => self.text,
        };
        Statement::from_sql_and_values(backend, text, self.values)
    }
}

/// `text` with its `?` placeholders numbered for PostgreSQL from `$first`.
fn numbered(text: &str, first: usize) -> String {
    let mut numbered = String::with_capacity(text.len() + 3 * text.matches('?').count());
    for (n, part) in text.split('?').enumerate() {
        if n > 0 {
            numbered.push_str(&format!("${}", first + n - 1));
        }
        numbered.push_str(part);
    }
    numbered
}

/// For a statement that stores a newcomer on PostgreSQL (`ingest/newcomer.rs`): a scalar
/// query counting what `rules` find for `contact` (not stored yet; `keys` its keys), as
/// [`find_for_newcomer`] counts them (at most [`LIMIT`]), with its parameters numbered from `$first`, and their
/// values. `None` when no rule can match (the count is 0). The caller runs it under the rules'
/// version (see `rules_cache.rs`): the rules must be checked in the same statement.
pub fn newcomer_count_postgres(
    contact: &contacts::Model,
    keys: &Keys,
    rules: &[Rule],
    first: usize,
) -> Option<(String, Vec<Value>)> {
    if keys.iter().all(|(field, _)| *field == KeyField::NameWord) {
        return None;
    }
    let mut arms = Sql::default();
    for rule in rules.iter().filter(|rule| rule.enabled) {
        rule_arm(&mut arms, rule, keys, contact.id);
    }
    if arms.text.is_empty() {
        return None;
    }
    let text = format!("SELECT LEAST(COUNT(DISTINCT u.contact_id), {LIMIT}) FROM ({}) AS u", arms.text);
    Some((numbered(&text, first), arms.values))
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
    find_marked(db, contact, limit, Marked::Excluded).await
}

/// [`find`] for a newcomer: a contact not stored yet, or created in the caller's transaction.
/// Nobody can have marked it "not duplicates" of anyone yet, so the search does not look.
pub async fn find_for_newcomer(
    db: &impl ConnectionTrait,
    contact: &contacts::Model,
    limit: usize,
) -> Result<Vec<Match>, DbErr> {
    find_marked(db, contact, limit, Marked::Included).await
}

async fn find_marked(
    db: &impl ConnectionTrait,
    contact: &contacts::Model,
    limit: usize,
    marked: Marked,
) -> Result<Vec<Match>, DbErr> {
    if contact.merged_into_id.is_some() {
        return Ok(Vec::new());
    }
    let (_, found) = candidates(db, contact, marked).await?;
    Ok(matches(found, limit))
}

/// The first `limit` candidates, each with its rules once.
fn matches(found: BTreeMap<i64, Vec<i64>>, limit: usize) -> Vec<Match> {
    found
        .into_iter()
        .take(limit)
        .map(|(contact, mut rules)| {
            rules.sort_unstable();
            rules.dedup();
            Match { contact, rules }
        })
        .collect()
}

/// Whether pairs marked "not duplicates" are found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Marked {
    /// Left out, in the same statement.
    Excluded,
    /// Found like the others (or there can be none: a newcomer).
    Included,
}

/// Searches before the rules read just before a search are trusted without their version
/// checking out: the rules were changed during each of the earlier ones, so this only happens
/// while an administrator keeps switching rules, and then the last search is as exact as
/// reading the rules and searching in two statements (what it did before the rules were
/// remembered).
const ATTEMPTS: usize = 3;

/// What the active rules find for `contact`, by contact id with the ids of the rules that
/// found it, and the rules searched (`None` when the contact has no value a rule compares,
/// so nothing can match whatever the rules).
async fn candidates(
    db: &impl ConnectionTrait,
    contact: &contacts::Model,
    marked: Marked,
) -> Result<(Option<Arc<Snapshot>>, BTreeMap<i64, Vec<i64>>), DbErr> {
    let keys = keys::of(contact);
    if keys.iter().all(|(field, _)| *field == KeyField::NameWord) {
        return Ok((None, BTreeMap::new()));
    }
    let mut snapshot = match rules_cache::remembered() {
        Some(snapshot) => snapshot,
        None => rules_cache::read(db, None).await?,
    };
    let mut attempt = 1;
    loop {
        let (version, found) = search(db, contact, &keys, &snapshot.rules, marked).await?;
        if version == snapshot.version || attempt == ATTEMPTS {
            rules_cache::remember(snapshot.clone());
            return Ok((Some(snapshot), found));
        }
        // The rules changed since they were read: read them under the version this search saw.
        attempt += 1;
        snapshot = rules_cache::read(db, Some(version)).await?;
    }
}

/// One statement: what `rules` find for `contact` (leaving out the pairs marked "not
/// duplicates" unless asked not to, a primary-key look-up per candidate), and the stored
/// version of the rules, read in the same snapshot.
async fn search(
    db: &impl ConnectionTrait,
    contact: &contacts::Model,
    keys: &Keys,
    rules: &[Rule],
    marked: Marked,
) -> Result<(String, BTreeMap<i64, Vec<i64>>), DbErr> {
    let mut arms = Sql::default();
    for rule in rules.iter().filter(|rule| rule.enabled) {
        rule_arm(&mut arms, rule, keys, contact.id);
    }
    let mut sql = Sql::default();
    if !arms.text.is_empty() {
        sql.push("SELECT u.rule_id, u.contact_id, CAST(NULL AS TEXT) AS version FROM (");
        sql.push(&arms.text);
        sql.values.extend(arms.values);
        sql.push(") AS u");
        if marked == Marked::Excluded {
            sql.push(
                " WHERE NOT EXISTS (SELECT 1 FROM not_duplicate_pairs p WHERE \
                 (p.contact_a_id = ",
            );
            sql.value(contact.id);
            sql.push(
                " AND p.contact_b_id = u.contact_id) OR (p.contact_a_id = u.contact_id AND p.contact_b_id = ",
            );
            sql.value(contact.id);
            sql.push("))");
        }
        sql.push(" UNION ALL ");
    }
    sql.push(&format!(
        "SELECT CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), version FROM {}",
        rules_cache::VERSION_TABLE
    ));
    let rows = db.query_all_raw(sql.build(db.get_database_backend())).await?;
    let mut version = None;
    let mut found: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for row in rows {
        match row.try_get_by_index::<Option<String>>(2)? {
            Some(stored) => version = Some(stored),
            None => {
                let rule: i64 = row.try_get_by_index(0)?;
                let other: i64 = row.try_get_by_index(1)?;
                found.entry(other).or_default().push(rule);
            }
        }
    }
    let version = version
        .ok_or_else(|| DbErr::RecordNotFound(format!("{} (migration 000012)", rules_cache::VERSION_TABLE)))?;
    Ok((version, found))
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
    if current.merged_into_id.is_some() {
        return Ok(Similar { current, matches: Vec::new() });
    }
    let (snapshot, found) = candidates(db, &current, Marked::Excluded).await?;
    let found = matches(found, LIMIT);
    let rows: BTreeMap<i64, contacts::Model> = contacts::Entity::find()
        .filter(contacts::Column::Id.is_in(found.iter().map(|m| m.contact)))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
    let names: BTreeMap<i64, &str> = snapshot
        .iter()
        .flat_map(|snapshot| snapshot.rules.iter())
        .map(|rule| (rule.id, rule.name.as_str()))
        .collect();
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
    let (_, found) = candidates(db, contact, Marked::Included).await?;
    Ok(others.iter().all(|other| found.contains_key(other)))
}

#[cfg(test)]
mod tests {
    use sea_orm::{ActiveModelTrait, DatabaseConnection, IntoActiveModel};

    use super::*;

    #[test]
    fn placeholders_are_numbered_from_the_first_given() {
        assert_eq!(numbered("a = ? AND b IN (?, ?)", 23), "a = $23 AND b IN ($24, $25)");
        assert_eq!(numbered("no placeholder", 5), "no placeholder");
    }
    use crate::domain::contacts::rules;

    async fn database() -> DatabaseConnection {
        let db = crate::db::connect("sqlite::memory:", 1).await.expect("an in-memory database");
        crate::db::migrate(&db).await.expect("migrations");
        db
    }

    fn contact(name: &str, email: Option<&str>) -> contacts::Model {
        let now = crate::clock::now();
        contacts::Model {
            id: 0,
            name: name.into(),
            photo_url: None,
            email: email.map(Into::into),
            mobile_phone: None,
            business_phone: None,
            home_phone: None,
            job_title: None,
            account_id: None,
            created_at: now,
            updated_at: now,
            merged_into_id: None,
            keys_version: super::super::normalize::VERSION,
        }
    }

    /// Stores a contact with its keys.
    async fn stored(db: &DatabaseConnection, name: &str, email: Option<&str>) -> contacts::Model {
        let mut row = contact(name, email).into_active_model();
        row.id = sea_orm::NotSet;
        let row = row.insert(db).await.expect("contact");
        keys::insert(db, &row).await.expect("keys");
        row
    }

    async fn found(db: &DatabaseConnection, contact: &contacts::Model) -> Vec<i64> {
        find(db, contact, LIMIT).await.expect("search").into_iter().map(|m| m.contact).collect()
    }

    async fn run(db: &DatabaseConnection, sql: &str) {
        db.execute_unprepared(sql).await.expect(sql);
    }

    /// Only the default rule "Full name in either word order" finds Lee Ann for Ann Lee (the
    /// other name rules need an e-mail or a phone both have).
    const NAME_RULE: &str = "name = 'Full name in either word order'";

    #[tokio::test]
    async fn a_rule_changed_by_any_writer_applies_to_the_next_search() {
        let db = database().await;
        let ann = stored(&db, "Ann Lee", Some("ann@example.com")).await;
        let lee = stored(&db, "Lee Ann", None).await;
        assert_eq!(found(&db, &ann).await, [lee.id]);

        // Switched off behind the server's back (SQL): the trigger names a new version.
        run(&db, &format!("UPDATE duplicate_rules SET enabled = false WHERE {NAME_RULE}")).await;
        assert_eq!(found(&db, &ann).await, Vec::<i64>::new());
        // ... and on again through the domain.
        let id = rules::all(&db).await.unwrap().into_iter().find(|r| r.fields == [Field::Name]).unwrap().id;
        rules::set_enabled(&db, id, true).await.unwrap();
        assert_eq!(found(&db, &ann).await, [lee.id]);

        // A rule added finds at once; a rule deleted (SQL only) no longer does.
        run(&db, &format!("UPDATE duplicate_rules SET enabled = false WHERE {NAME_RULE}")).await;
        let ann_too = stored(&db, "Someone Else", Some("ANN@example.com ")).await;
        assert_eq!(found(&db, &ann).await, [ann_too.id], "the default e-mail rule");
        run(&db, "UPDATE duplicate_rules SET enabled = false").await;
        assert_eq!(found(&db, &ann).await, Vec::<i64>::new());
        rules::create(&db, "Names", &[Field::Name]).await.unwrap();
        assert_eq!(found(&db, &ann).await, [lee.id]);
        run(&db, "DELETE FROM duplicate_rules WHERE name = 'Names'").await;
        assert_eq!(found(&db, &ann).await, Vec::<i64>::new());
    }

    /// The remembered rules are shared by the whole process, and the version is random: two
    /// databases with different rules, searched in turn, each get their own rules' answer.
    #[tokio::test]
    async fn databases_searched_in_turn_each_get_their_own_rules() {
        let (one, two) = (database().await, database().await);
        run(&two, &format!("UPDATE duplicate_rules SET enabled = false WHERE {NAME_RULE}")).await;
        let mut pairs = Vec::new();
        for db in [&one, &two] {
            let ann = stored(db, "Ann Lee", None).await;
            let lee = stored(db, "Lee Ann", None).await;
            pairs.push((ann, lee.id));
        }
        for _ in 0..3 {
            assert_eq!(found(&one, &pairs[0].0).await, [pairs[0].1]);
            assert_eq!(found(&two, &pairs[1].0).await, Vec::<i64>::new());
        }
    }

    /// A newcomer's search leaves out no "not duplicates" pairs (it can have none); a stored
    /// contact's does. And a contact with nothing a rule compares is searched without a
    /// statement.
    #[tokio::test]
    async fn newcomers_skip_the_not_duplicates_look_up() {
        let db = database().await;
        let ann = stored(&db, "Ann Lee", None).await;
        let lee = stored(&db, "Lee Ann", None).await;
        let newcomer = contact("Lee Ann", None);
        assert_eq!(find_for_newcomer(&db, &newcomer, LIMIT).await.unwrap().len(), 2);
        run(
            &db,
            &format!(
                "INSERT INTO not_duplicate_pairs (contact_a_id, contact_b_id, created_at) \
                 VALUES ({}, {}, '2026-12-01T00:00:00+00:00')",
                ann.id, lee.id
            ),
        )
        .await;
        assert_eq!(found(&db, &ann).await, Vec::<i64>::new());
        assert_eq!(found(&db, &lee).await, Vec::<i64>::new());
        // The newcomer's search does not look at the pairs at all (here, wrongly, a stored one).
        let skipped = find_for_newcomer(&db, &ann, LIMIT).await.unwrap();
        assert_eq!(skipped.into_iter().map(|m| m.contact).collect::<Vec<_>>(), [lee.id]);
        let nameless = contact("", None);
        let (rules, none) = candidates(&db, &nameless, Marked::Excluded).await.unwrap();
        assert!(rules.is_none() && none.is_empty());
    }
}
