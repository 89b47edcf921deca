//! Merging contacts (`mergeContacts`) and keeping pairs apart (`markNotDuplicates`).
//!
//! A merge is one transaction: the contacts are locked in id order (so two merges of
//! overlapping contacts queue up instead of deadlocking, and the second sees the first's
//! result and is refused with MERGE_CONFLICT), the kept contact takes the values (DESIGN §1:
//! its own non-empty ones unless the caller picks another contact's; where it is empty, the
//! most recently updated other contact's that has one), and everything of the others —
//! identities, chats (with their drafts), cases, "not duplicates" pairs — moves to it. The
//! others stay as tombstones (`merged_into_id`), found by no search.
//!
//! The one-open-chat rule holds across a merge: when the contacts have open chats on the same
//! channel, the merge is refused with OPEN_CHATS_CONFLICT naming them (complete all but one
//! first); nothing is changed.

use std::collections::{BTreeMap, BTreeSet};

use entity::enums::{ChatStatus, Role};
use entity::{cases, chats, contact_identities, contacts, not_duplicate_pairs};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use tracing::instrument;

use super::{keys, similar};
use crate::db::locked;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::ContactId;
use crate::domain::sessions::Principal;
use crate::events::EventKind;

/// Most contacts one merge or one "not duplicates" mark takes.
pub const MAX_CONTACTS: usize = 20;

/// A field whose value the kept contact takes from a contact the caller picks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    /// The name.
    Name,
    /// The picture.
    Photo,
    /// The e-mail.
    Email,
    /// The mobile phone.
    MobilePhone,
    /// The business phone.
    BusinessPhone,
    /// The home phone.
    HomePhone,
    /// The job title.
    JobTitle,
    /// The account.
    Account,
}

/// What to merge.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// The contact to keep; by default the oldest of all.
    pub keep: Option<ContactId>,
    /// The contacts merged into it.
    pub merge: Vec<ContactId>,
    /// For fields whose values conflict: the contact whose value the kept contact takes.
    pub values: BTreeMap<Value, ContactId>,
}

/// The outcome of a merge.
#[derive(Clone, Debug)]
pub struct Merged {
    /// The kept contact, as merged.
    pub kept: contacts::Model,
    /// The contacts merged into it.
    pub merged: Vec<i64>,
}

fn distinct(ids: &[ContactId], what: &str) -> DomainResult<Vec<i64>> {
    let set: BTreeSet<i64> = ids.iter().map(|id| id.0).collect();
    if set.len() != ids.len() {
        return Err(DomainError::invalid(format!("{what} names a contact twice")));
    }
    if ids.len() > MAX_CONTACTS {
        return Err(DomainError::invalid(format!("at most {MAX_CONTACTS} contacts at once")));
    }
    Ok(set.into_iter().collect())
}

/// Locks and reads `ids` (id order): NOT_FOUND for an unknown or unreadable one, MERGE_CONFLICT
/// for one merged already.
async fn lock_all(
    db: &impl ConnectionTrait,
    principal: &Principal,
    ids: &[i64],
) -> DomainResult<Vec<contacts::Model>> {
    let rows = locked(db, contacts::Entity::find().filter(contacts::Column::Id.is_in(ids.iter().copied())))
        .order_by_asc(contacts::Column::Id)
        .all(db)
        .await?;
    if rows.len() != ids.len() {
        return Err(DomainError::NotFound("contact"));
    }
    if let Some(row) = rows.iter().find(|row| row.merged_into_id.is_some()) {
        let into = row.merged_into_id.unwrap_or_default();
        return Err(DomainError::MergeConflict {
            message: "a contact was already merged into another (perhaps just now); nothing was changed"
                .into(),
            contact: row.id,
            into,
        });
    }
    if principal.role == Role::Agent {
        may_act_on(db, principal, &rows).await?;
    }
    Ok(rows)
}

/// An agent may merge or separate contacts when they may read one of them and all the others
/// are its similar contacts (what `Chat.similarContacts` showed them); unknown to them
/// otherwise (NOT_FOUND).
async fn may_act_on(
    db: &impl ConnectionTrait,
    principal: &Principal,
    rows: &[contacts::Model],
) -> DomainResult<()> {
    for row in rows {
        if super::may_read(db, principal, ContactId(row.id)).await? {
            let others: Vec<i64> = rows.iter().filter(|o| o.id != row.id).map(|o| o.id).collect();
            if similar::all_similar_or_marked(db, row, &others).await? {
                return Ok(());
            }
        }
    }
    Err(DomainError::NotFound("contact"))
}

fn may_merge(principal: &Principal) -> DomainResult<()> {
    match principal.role {
        Role::Agent | Role::Supervisor | Role::Admin => Ok(()),
        _ => Err(DomainError::Forbidden("your role may not merge contacts".into())),
    }
}

/// The value of `field` on `row`.
fn value_of(row: &contacts::Model, field: Value) -> Option<String> {
    match field {
        Value::Name => Some(row.name.clone()).filter(|n| !n.trim().is_empty()),
        Value::Photo => row.photo_url.clone(),
        Value::Email => row.email.clone(),
        Value::MobilePhone => row.mobile_phone.clone(),
        Value::BusinessPhone => row.business_phone.clone(),
        Value::HomePhone => row.home_phone.clone(),
        Value::JobTitle => row.job_title.clone(),
        Value::Account => row.account_id.map(|id| id.to_string()),
    }
}

/// The kept contact's values: picked, else its own non-empty, else the most recently updated
/// other's that has one.
fn merged_values(
    kept: &contacts::Model,
    others: &[contacts::Model],
    picks: &BTreeMap<Value, ContactId>,
) -> contacts::ActiveModel {
    let mut by_update: Vec<&contacts::Model> = others.iter().collect();
    by_update.sort_by_key(|row| std::cmp::Reverse((row.updated_at, row.id)));
    let all: Vec<&contacts::Model> = std::iter::once(kept).chain(others.iter()).collect();
    let choose = |field: Value| -> Option<String> {
        if let Some(pick) = picks.get(&field) {
            return all.iter().find(|row| row.id == pick.0).and_then(|row| value_of(row, field));
        }
        value_of(kept, field).or_else(|| by_update.iter().find_map(|row| value_of(row, field)))
    };
    let mut update: contacts::ActiveModel = kept.clone().into();
    update.name = Set(choose(Value::Name).unwrap_or_else(|| kept.name.clone()));
    update.photo_url = Set(choose(Value::Photo));
    update.email = Set(choose(Value::Email));
    update.mobile_phone = Set(choose(Value::MobilePhone));
    update.business_phone = Set(choose(Value::BusinessPhone));
    update.home_phone = Set(choose(Value::HomePhone));
    update.job_title = Set(choose(Value::JobTitle));
    update.account_id = Set(choose(Value::Account).and_then(|id| id.parse().ok()));
    update.updated_at = Set(crate::clock::now());
    update
}

/// Open chats of `contacts` that would share a channel once merged.
async fn clashing_open_chats(db: &impl ConnectionTrait, contacts: &[i64]) -> DomainResult<Vec<i64>> {
    let open = chats::Entity::find()
        .filter(chats::Column::ContactId.is_in(contacts.iter().copied()))
        .filter(chats::Column::Status.ne(ChatStatus::Completed))
        .order_by_asc(chats::Column::Id)
        .all(db)
        .await?;
    let mut by_channel: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for chat in open {
        by_channel.entry(chat.channel_id).or_default().push(chat.id);
    }
    Ok(by_channel.into_values().filter(|chats| chats.len() > 1).flatten().collect())
}

/// Merges `request.merge` into the kept contact. See the module's documentation for the
/// rules and the errors.
#[instrument(skip_all, fields(keep = ?request.keep.map(|k| k.0), merge = ?request.merge))]
pub async fn merge(db: &DatabaseConnection, principal: &Principal, request: Request) -> DomainResult<Merged> {
    may_merge(principal)?;
    if request.merge.is_empty() {
        return Err(DomainError::invalid("name at least one contact to merge"));
    }
    let mut all = request.merge.clone();
    if let Some(keep) = request.keep {
        if request.merge.contains(&keep) {
            return Err(DomainError::invalid("a contact cannot be merged with itself"));
        }
        all.push(keep);
    } else if request.merge.len() < 2 {
        return Err(DomainError::invalid("name the contact to keep, or at least two contacts to merge"));
    }
    let ids = distinct(&all, "the merge")?;
    if let Some((_, pick)) = request.values.iter().find(|(_, pick)| !ids.contains(&pick.0)) {
        return Err(DomainError::invalid(format!(
            "values may only be taken from the merged contacts, not {}",
            pick.0
        )));
    }

    let txn = crate::db::write(db).await?;
    let rows = lock_all(&txn, principal, &ids).await?;
    let keep = match request.keep {
        Some(keep) => keep.0,
        None => rows.iter().min_by_key(|row| (row.created_at, row.id)).map(|row| row.id).unwrap_or_default(),
    };
    let (kept, others): (Vec<_>, Vec<_>) = rows.into_iter().partition(|row| row.id == keep);
    let kept = kept.into_iter().next().ok_or(DomainError::NotFound("contact"))?;
    let merged: Vec<i64> = others.iter().map(|row| row.id).collect();

    let clashing = clashing_open_chats(&txn, &ids).await?;
    if !clashing.is_empty() {
        return Err(DomainError::OpenChatsConflict(clashing));
    }

    let kept = merged_values(&kept, &others, &request.values).update(&txn).await?;
    let now = crate::clock::now();
    contact_identities::Entity::update_many()
        .col_expr(contact_identities::Column::ContactId, Expr::value(keep))
        .filter(contact_identities::Column::ContactId.is_in(merged.iter().copied()))
        .exec(&txn)
        .await?;
    chats::Entity::update_many()
        .col_expr(chats::Column::ContactId, Expr::value(keep))
        .col_expr(chats::Column::UpdatedAt, Expr::value(now))
        .filter(chats::Column::ContactId.is_in(merged.iter().copied()))
        .exec(&txn)
        .await?;
    cases::Entity::update_many()
        .col_expr(cases::Column::ContactId, Expr::value(keep))
        .col_expr(cases::Column::UpdatedAt, Expr::value(now))
        .filter(cases::Column::ContactId.is_in(merged.iter().copied()))
        .exec(&txn)
        .await?;
    move_not_duplicates(&txn, keep, &merged).await?;
    // Tombstones, including older ones that pointed at a contact merged now.
    contacts::Entity::update_many()
        .col_expr(contacts::Column::MergedIntoId, Expr::value(keep))
        .col_expr(contacts::Column::UpdatedAt, Expr::value(now))
        .filter(
            sea_orm::Condition::any()
                .add(contacts::Column::Id.is_in(merged.iter().copied()))
                .add(contacts::Column::MergedIntoId.is_in(merged.iter().copied())),
        )
        .exec(&txn)
        .await?;
    for id in &merged {
        keys::remove(&txn, *id).await?;
    }
    keys::write(&txn, &kept).await?;
    let payload = serde_json::json!({ "keptContactId": keep, "mergedContactIds": merged });
    super::record_on_open_chats(&txn, EventKind::ContactsMerged, &[keep], payload).await?;
    txn.commit().await?;
    tracing::info!(kept = keep, merged = ?merged, "contacts merged");
    Ok(Merged { kept, merged })
}

/// Re-points the merged contacts' "not duplicates" pairs at the kept contact (pairs among the
/// merged contacts themselves go).
async fn move_not_duplicates(
    db: &impl ConnectionTrait,
    keep: i64,
    merged: &[i64],
) -> Result<(), sea_orm::DbErr> {
    use not_duplicate_pairs::Column as C;
    let involved: Vec<i64> = merged.iter().copied().chain([keep]).collect();
    let pairs = not_duplicate_pairs::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(C::ContactAId.is_in(merged.iter().copied()))
                .add(C::ContactBId.is_in(merged.iter().copied())),
        )
        .all(db)
        .await?;
    let mut moved = BTreeSet::new();
    for pair in &pairs {
        for (this, other) in [(pair.contact_a_id, pair.contact_b_id), (pair.contact_b_id, pair.contact_a_id)]
        {
            if merged.contains(&this) && !involved.contains(&other) {
                moved.insert((keep.min(other), keep.max(other)));
            }
        }
    }
    not_duplicate_pairs::Entity::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(C::ContactAId.is_in(merged.iter().copied()))
                .add(C::ContactBId.is_in(merged.iter().copied())),
        )
        .exec(db)
        .await?;
    insert_pairs(db, moved).await
}

async fn insert_pairs(db: &impl ConnectionTrait, pairs: BTreeSet<(i64, i64)>) -> Result<(), sea_orm::DbErr> {
    if pairs.is_empty() {
        return Ok(());
    }
    let now = crate::clock::now();
    let rows = pairs.into_iter().map(|(a, b)| not_duplicate_pairs::ActiveModel {
        contact_a_id: Set(a),
        contact_b_id: Set(b),
        created_at: Set(now),
    });
    not_duplicate_pairs::Entity::insert_many(rows)
        .on_conflict(OnConflict::columns([C::ContactAId, C::ContactBId]).do_nothing().to_owned())
        .try_insert()
        .exec(db)
        .await?;
    Ok(())
}

use not_duplicate_pairs::Column as C;

/// Marks every pair of `contacts` "not duplicates": none of them shows as similar to another
/// again. At least two distinct contacts; unknown ones NOT_FOUND; merged ones MERGE_CONFLICT.
#[instrument(skip_all, fields(contacts = ?contacts))]
pub async fn mark_not_duplicates(
    db: &DatabaseConnection,
    principal: &Principal,
    contacts: &[ContactId],
) -> DomainResult<Vec<contacts::Model>> {
    may_merge(principal)?;
    let ids = distinct(contacts, "markNotDuplicates")?;
    if ids.len() < 2 {
        return Err(DomainError::invalid("name at least two different contacts"));
    }
    let txn = crate::db::write(db).await?;
    let rows = lock_all(&txn, principal, &ids).await?;
    let mut pairs = BTreeSet::new();
    for (n, a) in ids.iter().enumerate() {
        for b in &ids[n + 1..] {
            pairs.insert((*a, *b));
        }
    }
    insert_pairs(&txn, pairs).await?;
    txn.commit().await?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(id: i64, name: &str, email: Option<&str>, minutes_ago: i64) -> contacts::Model {
        let at = crate::clock::now() - chrono::Duration::minutes(minutes_ago);
        contacts::Model {
            id,
            name: name.into(),
            photo_url: None,
            email: email.map(Into::into),
            mobile_phone: None,
            business_phone: None,
            home_phone: None,
            job_title: None,
            account_id: None,
            created_at: at,
            updated_at: at,
            merged_into_id: None,
            keys_version: 1,
        }
    }

    #[test]
    fn the_kept_contact_fills_its_gaps_from_the_most_recently_updated() {
        let kept = contact(1, "John Smith", None, 30);
        let older = contact(2, "J. Smith", Some("old@example.com"), 20);
        let newer = contact(3, "Johnny", Some("new@example.com"), 10);
        let merged = merged_values(&kept, &[older.clone(), newer.clone()], &BTreeMap::new());
        assert_eq!(merged.name.unwrap(), "John Smith", "its own non-empty value stays");
        assert_eq!(merged.email.unwrap().as_deref(), Some("new@example.com"));
        let picks = BTreeMap::from([(Value::Name, ContactId(3)), (Value::Email, ContactId(2))]);
        let merged = merged_values(&kept, &[older, newer], &picks);
        assert_eq!(merged.name.unwrap(), "Johnny", "the caller's pick wins");
        assert_eq!(merged.email.unwrap().as_deref(), Some("old@example.com"));
    }
}
