//! Changing a contact's details (`updateContact`): validated, re-keyed, and announced with
//! CONTACT_UPDATED on the contact's open chats, in one transaction.

use entity::enums::Role;
use entity::{accounts, contacts};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};
use tracing::instrument;

use super::{keys, normalize, similar};
use crate::db::locked;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::ContactId;
use crate::domain::sessions::Principal;
use crate::events::EventKind;

/// Longest name, job title or e-mail accepted.
pub const MAX_TEXT: usize = 200;

/// What to change; `None` leaves a value as it is, `Some(None)` (or an empty string) clears it.
#[derive(Clone, Debug, Default)]
pub struct Changes {
    /// The full name (never empty).
    pub name: Option<String>,
    /// The e-mail.
    pub email: Option<Option<String>>,
    /// The mobile phone.
    pub mobile_phone: Option<Option<String>>,
    /// The business phone.
    pub business_phone: Option<Option<String>>,
    /// The home phone.
    pub home_phone: Option<Option<String>>,
    /// The job title.
    pub job_title: Option<Option<String>>,
    /// The account the contact belongs to.
    pub account: Option<Option<i64>>,
}

/// Whether `principal` may change contacts they may read: agents (the contacts of their
/// chats), supervisors and admins; analysts and bots never.
pub fn may_change(principal: &Principal) -> bool {
    matches!(principal.role, Role::Agent | Role::Supervisor | Role::Admin)
}

/// A trimmed optional text: `None` when empty; refused when longer than [`MAX_TEXT`].
fn text(label: &str, value: Option<String>) -> DomainResult<Option<String>> {
    let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    if value.as_ref().is_some_and(|v| v.chars().count() > MAX_TEXT) {
        return Err(DomainError::invalid(format!("{label} is longer than {MAX_TEXT} characters")));
    }
    Ok(value)
}

fn phone(label: &str, value: Option<String>) -> DomainResult<Option<String>> {
    let value = text(label, value)?;
    if let Some(phone) = &value
        && !normalize::is_phone_shaped(phone)
    {
        return Err(DomainError::invalid(format!(
            "{label} is not a phone number: use digits (at least 7) with spaces, +, -, ., ( ) and an optional extension"
        )));
    }
    Ok(value)
}

/// Applies `changes` to a contact the principal may read and change. Returns the contact as
/// changed. Unknown or unreadable: NOT_FOUND; merged: CONTACT_MERGED; bad values:
/// BAD_USER_INPUT, nothing changed.
#[instrument(skip(db, principal, changes), fields(contact_id = id.0))]
pub async fn update(
    db: &DatabaseConnection,
    principal: &Principal,
    id: ContactId,
    changes: Changes,
) -> DomainResult<contacts::Model> {
    if !may_change(principal) {
        return Err(DomainError::Forbidden("your role may not change contacts".into()));
    }
    let name = match changes.name {
        Some(name) => {
            Some(text("name", Some(name))?.ok_or_else(|| DomainError::invalid("name may not be empty"))?)
        }
        None => None,
    };
    let email = changes.email.map(|email| text("email", email)).transpose()?;
    if let Some(Some(email)) = &email
        && !normalize::is_email_shaped(email)
    {
        return Err(DomainError::invalid("email is not an e-mail address (name@example.com)"));
    }
    let mobile = changes.mobile_phone.map(|p| phone("mobilePhone", p)).transpose()?;
    let business = changes.business_phone.map(|p| phone("businessPhone", p)).transpose()?;
    let home = changes.home_phone.map(|p| phone("homePhone", p)).transpose()?;
    let job_title = changes.job_title.map(|t| text("jobTitle", t)).transpose()?;

    let txn = crate::db::write(db).await?;
    super::get_for_change(&txn, principal, id).await?;
    let row = locked(&txn, contacts::Entity::find_by_id(id.0))
        .one(&txn)
        .await?
        .ok_or(DomainError::NotFound("contact"))?;
    if let Some(Some(account)) = changes.account
        && accounts::Entity::find_by_id(account).one(&txn).await?.is_none()
    {
        return Err(DomainError::NotFound("account"));
    }
    let mut update: contacts::ActiveModel = row.clone().into();
    let mut changed = Vec::new();
    macro_rules! apply {
        ($value:expr, $field:ident, $label:literal, $wrap:expr) => {
            if let Some(value) = $value
                && $wrap(value.clone()) != row.$field
            {
                update.$field = Set($wrap(value));
                changed.push($label);
            }
        };
    }
    apply!(name, name, "name", |v: String| v);
    apply!(email, email, "email", |v: Option<String>| v);
    apply!(mobile, mobile_phone, "mobilePhone", |v: Option<String>| v);
    apply!(business, business_phone, "businessPhone", |v: Option<String>| v);
    apply!(home, home_phone, "homePhone", |v: Option<String>| v);
    apply!(job_title, job_title, "jobTitle", |v: Option<String>| v);
    apply!(changes.account, account_id, "account", |v: Option<i64>| v);
    if changed.is_empty() {
        return Ok(row);
    }
    update.updated_at = Set(crate::clock::now());
    let updated = update.update(&txn).await?;
    keys::write(&txn, &updated).await?;
    // The search runs when a contact changes: its count goes to the panels with the event.
    let found = similar::find(&txn, &updated, similar::LIMIT).await?.len();
    let payload = serde_json::json!({ "contactId": id.0, "changed": changed, "similarContacts": found });
    super::record_on_open_chats(&txn, EventKind::ContactUpdated, &[id.0], payload).await?;
    txn.commit().await?;
    Ok(updated)
}
