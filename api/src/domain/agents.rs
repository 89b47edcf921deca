//! Agents: creation and changes by administrators, and the status an agent chooses.

use chrono::{DateTime, Utc};
use entity::agents;
use entity::enums::{AgentStatus, Role};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DerivePartialModel, EntityTrait, NotSet, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionSession, TransactionTrait,
};
use tracing::instrument;

use super::error::{DomainError, DomainResult, classify};
use super::ids::AgentId;
use super::pagination::{Page, PageOf};
use super::reroute::{AfterCommit, Reroute};
use super::{assignments, presence, sessions};
use crate::auth::PasswordHashing;

const EMAIL_TAKEN: &str = "an agent with this email already exists";

/// A new agent, as an administrator describes it.
#[derive(Clone, Debug)]
pub struct NewAgent {
    /// Display name.
    pub name: String,
    /// Sign-in email (stored lower-case).
    pub email: String,
    /// Initial password (at least 8 characters).
    pub password: String,
    /// Role.
    pub role: Role,
}

/// Changes to an agent; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct AgentChange {
    /// New display name.
    pub name: Option<String>,
    /// New sign-in email.
    pub email: Option<String>,
    /// New password; ends the agent's sessions.
    pub password: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// Enable or disable; disabling ends the agent's sessions.
    pub enabled: Option<bool>,
}

fn valid_name(name: &str) -> DomainResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(DomainError::invalid("name must be 1 to 200 characters"));
    }
    Ok(name.to_owned())
}

fn valid_email(email: &str) -> DomainResult<String> {
    let email = sessions::normalise_email(email);
    let ok = email.len() <= 254
        && email.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty() && host.contains('.') && !host.starts_with('.') && !host.ends_with('.')
        })
        && !email.contains(char::is_whitespace);
    if ok { Ok(email) } else { Err(DomainError::invalid("email is not a valid address")) }
}

async fn hashed(hashing: &PasswordHashing, password: String) -> DomainResult<String> {
    if password.chars().count() < 8 || password.len() > 1024 {
        return Err(DomainError::invalid("password must be 8 to 1024 characters"));
    }
    hashing.hash(password).await.map_err(sessions::from_hashing)
}

/// Creates an agent. New agents start INACTIVE. The password is hashed through `hashing`
/// (TRY_AGAIN when it stays busy).
#[instrument(skip_all, fields(role = new.role.as_str()))]
pub async fn create(
    db: &impl ConnectionTrait,
    hashing: &PasswordHashing,
    new: NewAgent,
) -> DomainResult<agents::Model> {
    let name = valid_name(&new.name)?;
    let email = valid_email(&new.email)?;
    let password_hash = hashed(hashing, new.password).await?;
    let now = crate::clock::now();
    agents::ActiveModel {
        id: NotSet,
        name: Set(name),
        email: Set(email),
        password_hash: Set(password_hash),
        role: Set(new.role),
        status: Set(AgentStatus::Inactive),
        enabled: Set(true),
        last_accepted_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .map_err(|err| classify(err, EMAIL_TAKEN))
}

/// Applies an administrator's changes. A new password or disabling ends the agent's sessions.
#[instrument(skip_all, fields(agent_id = id.0))]
pub async fn update(
    db: &impl TransactionTrait,
    hashing: &PasswordHashing,
    id: AgentId,
    change: AgentChange,
) -> DomainResult<agents::Model> {
    let name = change.name.as_deref().map(valid_name).transpose()?;
    let email = change.email.as_deref().map(valid_email).transpose()?;
    let end_sessions = change.password.is_some() || change.enabled == Some(false);
    let role_changed = change.role.is_some();
    let password_hash = match change.password {
        Some(password) => Some(hashed(hashing, password).await?),
        None => None,
    };
    let txn = crate::db::write(db).await?;
    let current = agents::Entity::find_by_id(id.0).one(&txn).await?.ok_or(DomainError::NotFound("agent"))?;
    let mut row: agents::ActiveModel = current.into();
    if let Some(name) = name {
        row.name = Set(name);
    }
    if let Some(email) = email {
        row.email = Set(email);
    }
    if let Some(hash) = password_hash {
        row.password_hash = Set(hash);
    }
    if let Some(role) = change.role {
        row.role = Set(role);
    }
    if let Some(enabled) = change.enabled {
        row.enabled = Set(enabled);
    }
    row.updated_at = Set(crate::clock::now());
    let updated = row.update(&txn).await.map_err(|err| classify(err, EMAIL_TAKEN))?;
    let ended = if end_sessions { sessions::end_all(&txn, id).await? } else { 0 };
    if ended > 0 && updated.status == AgentStatus::Active {
        sessions::record_status(&txn, id, AgentStatus::Inactive, "SIGNED_OUT").await?;
    }
    if end_sessions || role_changed {
        sessions::record_access_changed(
            &txn,
            id,
            if end_sessions { "SESSIONS_ENDED" } else { "ROLE_CHANGED" },
        )
        .await?;
    }
    txn.commit().await?;
    Ok(updated)
}

/// Sets the status an agent chooses. Records an event when their effective status moves.
#[instrument(skip_all, fields(agent_id = id.0, status = status.as_str()))]
pub async fn set_status(
    db: &sea_orm::DatabaseConnection,
    id: AgentId,
    status: AgentStatus,
) -> DomainResult<AfterCommit<agents::Model>> {
    let txn = crate::db::write(db).await?;
    let current = agents::Entity::find_by_id(id.0).one(&txn).await?.ok_or(DomainError::NotFound("agent"))?;
    if current.status == status {
        txn.commit().await?;
        return Ok(AfterCommit::nothing(current));
    }
    let mut row: agents::ActiveModel = current.into();
    row.status = Set(status);
    row.updated_at = Set(crate::clock::now());
    let updated = row.update(&txn).await?;
    if presence::is_signed_in(&txn, id).await? {
        sessions::record_status(&txn, id, status, "CHOSEN").await?;
    }
    // Going INACTIVE releases what was directed to them; going ACTIVE may take waiting chats.
    let reroute = match status {
        AgentStatus::Inactive => assignments::withdraw_from(&txn, id).await?,
        AgentStatus::Active => Reroute::agents([id]),
    };
    txn.commit().await?;
    Ok(AfterCommit::new(updated, reroute))
}

/// An agent's row without its password hash: what everything but signing in reads, so the
/// hash never leaves the database for anything else.
#[derive(Clone, Debug, PartialEq, DerivePartialModel)]
#[sea_orm(entity = "agents::Entity")]
pub struct Profile {
    /// Primary key.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Sign-in e-mail, lower-case.
    pub email: String,
    /// What the agent may do.
    pub role: Role,
    /// The status the agent chose.
    pub status: AgentStatus,
    /// Whether the agent may sign in.
    pub enabled: bool,
    /// When the agent last accepted a chat.
    pub last_accepted_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
}

impl From<agents::Model> for Profile {
    fn from(row: agents::Model) -> Self {
        Self {
            id: row.id,
            name: row.name,
            email: row.email,
            role: row.role,
            status: row.status,
            enabled: row.enabled,
            last_accepted_at: row.last_accepted_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// One agent by id.
pub async fn get(db: &impl ConnectionTrait, id: AgentId) -> DomainResult<Option<Profile>> {
    Ok(agents::Entity::find_by_id(id.0).into_partial_model::<Profile>().one(db).await?)
}

/// Several agents by id, in no particular order; unknown ids are skipped.
pub async fn get_many(db: &impl ConnectionTrait, ids: &[AgentId]) -> DomainResult<Vec<Profile>> {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    Ok(agents::Entity::find()
        .filter(agents::Column::Id.is_in(ids))
        .into_partial_model::<Profile>()
        .all(db)
        .await?)
}

/// Agents in id order, a page at a time.
pub async fn list(db: &impl ConnectionTrait, page: Page) -> DomainResult<PageOf<Profile>> {
    let mut query = agents::Entity::find().order_by_asc(agents::Column::Id);
    if let Some(after) = page.after {
        query = query.filter(agents::Column::Id.gt(after));
    }
    let rows = query.limit(page.limit + 1).into_partial_model::<Profile>().all(db).await?;
    Ok(PageOf::from_overfetch(rows, page.limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(valid_email("  Ann@Example.COM ").unwrap(), "ann@example.com");
        for bad in ["", "ann", "ann@", "@example.com", "ann@example", "a nn@example.com"] {
            assert!(valid_email(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(valid_name("  Ann ").unwrap(), "Ann");
        assert!(valid_name("   ").is_err());
        assert!(valid_name(&"x".repeat(201)).is_err());
    }
}
