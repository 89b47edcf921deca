//! The enabled duplicate rules, kept in memory so that a similar-contact search does not read
//! `duplicate_rules` on every new chat, and never searches with stale rules.
//!
//! The database names each state of the rules: `duplicate_rules_version` holds one random
//! `version`, which a trigger replaces in the same transaction as every change to
//! `duplicate_rules` (migration 000012), whoever makes it — this server, another instance
//! sharing the PostgreSQL database, an operator's SQL. The rules are remembered together
//! with the version read *before* them, and the search statement built from them also returns
//! the stored version (`similar.rs`, one statement, so one snapshot of rules and keys). The
//! search's answer is used only when that version is the remembered one: then the remembered
//! rules are exactly the stored rules the statement saw. Otherwise the answer is dropped,
//! the rules are read again under the version the search returned, and the search runs
//! again. So a rule switched on or off, or added, takes effect for the very next search on
//! every instance, at the cost of one re-read there; no event, no time-to-live, and no
//! instance can miss a change (an event can be missed: a lagging subscriber, an id gap the
//! event tailer gives up on).
//!
//! Why the version read before the rules may name them: versions never come back (each is
//! random), so if a later search finds that version still stored, no change committed since
//! it was read, and the rules read after it are the rules stored under it. A version read
//! after the rules could name a change the rules missed; that order is never used.
//!
//! One memory per process rather than per server: a version names one state of one
//! database's rules, so a process that talks to several databases (the tests start many
//! servers in one process) stays exact and only re-reads more often. PostgreSQL test
//! databases cloned from one migrated template share the template's version, and its rules.

use std::sync::{Arc, Mutex, PoisonError};

use entity::duplicate_rules_version;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};

use super::rules::{self, Rule};

/// The enabled rules, as stored under one version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The version read before the rules.
    pub version: String,
    /// The rules searched (switched on, with fields), oldest first.
    pub rules: Vec<Rule>,
}

/// The last snapshot a search confirmed (or read), for the next search to start from.
static REMEMBERED: Mutex<Option<Arc<Snapshot>>> = Mutex::new(None);

/// The table a search reads the stored version from, in the same statement.
pub const VERSION_TABLE: &str = "duplicate_rules_version";

/// The snapshot the next search should try, if any.
pub fn remembered() -> Option<Arc<Snapshot>> {
    // A poisoned lock only means a panic elsewhere while swapping an `Arc`: the value is whole.
    REMEMBERED.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

/// Remembers `snapshot` for the next searches (a search just confirmed it, or just read it).
pub fn remember(snapshot: Arc<Snapshot>) {
    *REMEMBERED.lock().unwrap_or_else(PoisonError::into_inner) = Some(snapshot);
}

/// Reads the enabled rules under `version`, a version read from the database before this
/// call (a search returns one); `None` reads the version first.
pub async fn read(db: &impl ConnectionTrait, version: Option<String>) -> Result<Arc<Snapshot>, DbErr> {
    let version = match version {
        Some(version) => version,
        None => stored_version(db).await?,
    };
    let rules = rules::enabled(db).await?;
    Ok(Arc::new(Snapshot { version, rules }))
}

/// The version stored now.
pub async fn stored_version(db: &impl ConnectionTrait) -> Result<String, DbErr> {
    let row = duplicate_rules_version::Entity::find_by_id(1).one(db).await?;
    row.map(|row| row.version)
        .ok_or_else(|| DbErr::RecordNotFound("duplicate_rules_version (migration 000012)".into()))
}
