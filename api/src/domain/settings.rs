//! Typed, validated settings stored as key/value rows; a change takes effect on the next read.

use entity::settings;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect, Set};
use serde_json::Value;

use super::error::{DomainError, DomainResult};
use super::reroute::{AfterCommit, Reroute};
use crate::events::{self, EventKind};

/// Setting key: how many chats an agent may hold at once (0 = no limit).
pub const SIMULTANEOUS_CHATS: &str = "SimultaneousChats";
/// Setting key: seconds an agent has to accept a directed chat.
pub const ACCEPT_CHAT_TIMEOUT: &str = "OmniChatOperatorAcceptChatTimeout";

/// Bookkeeping key: the highest event id deleted by retention.
pub const EVENTS_PURGED_THROUGH: &str = "EventsPurgedThrough";

/// The highest event id removed by the retention job (0 when none was).
pub async fn events_purged_through(db: &impl ConnectionTrait) -> DomainResult<i64> {
    let row = settings::Entity::find_by_id(EVENTS_PURGED_THROUGH.to_owned()).one(db).await?;
    Ok(row.and_then(|r| r.value.as_i64()).unwrap_or(0))
}

/// Deletes events older than `keep`, remembering the highest id deleted so subscribers asking
/// to resume from before it are told to refetch. Returns how many were deleted.
pub async fn purge_events(db: &sea_orm::DatabaseConnection, keep: chrono::Duration) -> DomainResult<u64> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
    let cutoff = crate::clock::now() - keep;
    let newest_old: Option<i64> = entity::events::Entity::find()
        .select_only()
        .column(entity::events::Column::Id)
        .filter(entity::events::Column::CreatedAt.lt(cutoff))
        .order_by_desc(entity::events::Column::Id)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    let Some(through) = newest_old else { return Ok(0) };
    let txn = crate::db::write(db).await?;
    let deleted = entity::events::Entity::delete_many()
        .filter(entity::events::Column::Id.lte(through))
        .exec(&txn)
        .await?;
    settings::Entity::insert(settings::ActiveModel {
        key: Set(EVENTS_PURGED_THROUGH.to_owned()),
        value: Set(Value::from(through)),
        updated_at: Set(crate::clock::now()),
    })
    .on_conflict(
        OnConflict::column(settings::Column::Key)
            .update_columns([settings::Column::Value, settings::Column::UpdatedAt])
            .to_owned(),
    )
    .exec(&txn)
    .await?;
    txn.commit().await?;
    Ok(deleted.rows_affected)
}

/// The settings in force, every one with its default filled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Chats an agent may hold at once (directed + in progress); 0 means no limit.
    pub simultaneous_chats: u32,
    /// Seconds a directed chat waits for its agent before it moves on.
    pub accept_chat_timeout_seconds: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self { simultaneous_chats: 5, accept_chat_timeout_seconds: 300 }
    }
}

impl Settings {
    /// Whether `open_chats` (directed + in progress) fills an agent's capacity.
    pub fn at_capacity(&self, open_chats: u64) -> bool {
        self.simultaneous_chats != 0 && open_chats >= u64::from(self.simultaneous_chats)
    }
}

/// A change to some settings; `None` leaves a setting as it is.
#[derive(Clone, Debug, Default)]
pub struct SettingsChange {
    /// New `SimultaneousChats`.
    pub simultaneous_chats: Option<i64>,
    /// New `OmniChatOperatorAcceptChatTimeout`, in seconds.
    pub accept_chat_timeout_seconds: Option<i64>,
}

/// Reads the settings in force.
pub async fn load(db: &impl ConnectionTrait) -> DomainResult<Settings> {
    let rows = settings::Entity::find().all(db).await?;
    let mut current = Settings::default();
    for row in rows {
        let value = row.value.as_u64().and_then(|v| u32::try_from(v).ok());
        match (row.key.as_str(), value) {
            (SIMULTANEOUS_CHATS, Some(v)) => current.simultaneous_chats = v,
            (ACCEPT_CHAT_TIMEOUT, Some(v)) if v > 0 => current.accept_chat_timeout_seconds = v,
            // Unknown keys belong to a newer version; a bad value keeps the default.
            _ => {}
        }
    }
    Ok(current)
}

fn bounded(name: &str, value: i64, min: i64, max: i64) -> DomainResult<Value> {
    if (min..=max).contains(&value) {
        Ok(Value::from(value))
    } else {
        Err(DomainError::invalid(format!("{name} must be between {min} and {max} (got {value})")))
    }
}

/// Validates and stores a change in one transaction, recording a `SETTINGS_CHANGED` event.
pub async fn update(
    db: &sea_orm::DatabaseConnection,
    change: SettingsChange,
) -> DomainResult<AfterCommit<Settings>> {
    let mut values = Vec::new();
    if let Some(v) = change.simultaneous_chats {
        values.push((SIMULTANEOUS_CHATS, bounded("simultaneousChats", v, 0, 1000)?));
    }
    if let Some(v) = change.accept_chat_timeout_seconds {
        values.push((ACCEPT_CHAT_TIMEOUT, bounded("acceptChatTimeoutSeconds", v, 1, 86_400)?));
    }
    let txn = crate::db::write(db).await?;
    let now = crate::clock::now();
    for (key, value) in &values {
        let row = settings::ActiveModel {
            key: Set((*key).to_owned()),
            value: Set(value.clone()),
            updated_at: Set(now),
        };
        settings::Entity::insert(row)
            .on_conflict(
                OnConflict::column(settings::Column::Key)
                    .update_columns([settings::Column::Value, settings::Column::UpdatedAt])
                    .to_owned(),
            )
            .exec(&txn)
            .await?;
    }
    let payload = serde_json::json!({ "changed": values.iter().map(|(k, _)| *k).collect::<Vec<_>>() });
    events::record(&txn, EventKind::SettingsChanged, events::Subjects::default(), payload).await?;
    let current = load(&txn).await?;
    txn.commit().await?;
    // A higher capacity may free agents for waiting chats.
    Ok(AfterCommit::new(current, Reroute::every_queue()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_means_no_limit() {
        let unlimited = Settings { simultaneous_chats: 0, ..Settings::default() };
        assert!(!unlimited.at_capacity(1_000));
        let two = Settings { simultaneous_chats: 2, ..Settings::default() };
        assert!(!two.at_capacity(1));
        assert!(two.at_capacity(2));
    }

    #[test]
    fn refuses_out_of_range_values() {
        assert!(bounded("x", -1, 0, 10).is_err());
        assert!(bounded("x", 11, 0, 10).is_err());
        assert_eq!(bounded("x", 3, 0, 10).unwrap(), Value::from(3));
    }
}
