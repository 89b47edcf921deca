//! The domain's error type: what went wrong, in the domain's words.

use sea_orm::{DbErr, SqlErr};

/// A domain operation failed. Each variant has a stable code the API shows to clients.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The thing asked for does not exist (or the caller may not know it exists).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The input breaks a rule; the message says which.
    #[error("{0}")]
    InvalidInput(String),
    /// No valid sign-in: missing, expired, forged or revoked token.
    #[error("{0}")]
    Unauthenticated(String),
    /// Email or password wrong, or the agent is disabled. Deliberately vague.
    #[error("wrong email or password")]
    InvalidCredentials,
    /// The caller is signed in but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The thing is in a state that does not allow this.
    #[error("{0}")]
    InvalidState(String),
    /// Someone else accepted the chat first.
    #[error("this chat was already accepted")]
    AlreadyAccepted,
    /// A transfer target that may not take the chat.
    #[error("{0}")]
    TargetUnavailable(String),
    /// A unique value is already taken.
    #[error("{0}")]
    Conflict(String),
    /// The contact was merged into another: use that one.
    #[error("this contact was merged into another contact; use that one")]
    ContactMerged {
        /// The contact asked for.
        contact: i64,
        /// The contact it was merged into.
        into: i64,
    },
    /// A merge that cannot be done as asked because one of its contacts is already merged
    /// (perhaps by a merge that ran at the same moment); nothing was changed.
    #[error("{message}")]
    MergeConflict {
        /// What conflicts.
        message: String,
        /// The merged contact.
        contact: i64,
        /// The contact it was merged into.
        into: i64,
    },
    /// Merging would leave a contact with two open chats on one channel: complete one first.
    #[error("the contacts have open chats on the same channel; complete all but one of them first")]
    OpenChatsConflict(
        /// The open chats, several per channel.
        Vec<i64>,
    ),
    /// A chat cannot be started (or a plain reply sent) with this contact on this channel now;
    /// the refusal says which condition failed and has its own code.
    #[error("{0}")]
    NotReachable(super::initiate::Refusal),
    /// The caller holds as many chats as `SimultaneousChats` allows.
    #[error("you hold as many chats as SimultaneousChats allows; complete one first")]
    AtCapacity,
    /// A template send whose body parameters do not match the template's count.
    #[error("the template takes {expected} body parameters; {given} were given")]
    TemplateParameters {
        /// How many the template takes.
        expected: usize,
        /// How many were given.
        given: usize,
    },
    /// A statistics request would make more groups than allowed: narrow the range or group
    /// by less.
    #[error("the statistics would have more than {limit} groups; narrow the range or group by less")]
    TooManyGroups {
        /// The most groups allowed.
        limit: usize,
    },
    /// A URL that is not http(s) or names no host (a chat action's webhook URL).
    #[error("{0}")]
    InvalidUrl(String),
    /// A chat action run on a chat of another queue than the action's.
    #[error("this action belongs to another queue than the chat's")]
    ActionNotInQueue,
    /// The database failed; details are logged, never shown. Its code tells an outage
    /// (DATABASE_UNAVAILABLE, retryable) from any other failure (see [`crate::db::unavailable`]).
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    /// A history or analytics read ran longer than the analytics statement timeout and was
    /// cancelled (see `domain::reads::timed`).
    #[error(
        "the query ran longer than the {} ms allowed for history and analytics reads; ask for less (a narrower filter or range, a smaller page)",
        limit.as_millis()
    )]
    QueryTimeout {
        /// The timeout it exceeded.
        limit: std::time::Duration,
    },
    /// Too many failed sign-ins for this account or from this address: refused, without
    /// checking the password, until the lockout ends.
    #[error("too many failed sign-ins; try again in {} s", seconds(*retry_after))]
    TooManyAttempts {
        /// When to try again.
        retry_after: std::time::Duration,
    },
    /// Too many passwords being checked at once: nothing was done; try again shortly.
    #[error("the server is busy checking passwords; try again in {} s", seconds(*retry_after))]
    TryAgain {
        /// When to try again.
        retry_after: std::time::Duration,
    },
}

/// Whole seconds, rounded up, as an HTTP `Retry-After` says them.
pub fn seconds(duration: std::time::Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

impl DomainError {
    /// The stable code clients see in `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "NOT_FOUND",
            Self::InvalidInput(_) => "BAD_USER_INPUT",
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::InvalidCredentials => "INVALID_CREDENTIALS",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::InvalidState(_) => "INVALID_STATE",
            Self::Conflict(_) => "CONFLICT",
            Self::AlreadyAccepted => "ALREADY_ACCEPTED",
            Self::ContactMerged { .. } => "CONTACT_MERGED",
            Self::MergeConflict { .. } => "MERGE_CONFLICT",
            Self::OpenChatsConflict(_) => "OPEN_CHATS_CONFLICT",
            Self::TooManyGroups { .. } => "TOO_MANY_GROUPS",
            Self::NotReachable(refusal) => refusal.code(),
            Self::AtCapacity => "AT_CAPACITY",
            Self::TemplateParameters { .. } => "TEMPLATE_PARAMETERS",
            Self::TargetUnavailable(_) => "TARGET_UNAVAILABLE",
            Self::InvalidUrl(_) => "INVALID_URL",
            Self::ActionNotInQueue => "ACTION_NOT_IN_QUEUE",
            Self::Database(err) if crate::db::unavailable(err) => "DATABASE_UNAVAILABLE",
            Self::Database(_) => "INTERNAL_SERVER_ERROR",
            Self::QueryTimeout { .. } => "QUERY_TIMEOUT",
            Self::TooManyAttempts { .. } => "TOO_MANY_ATTEMPTS",
            Self::TryAgain { .. } => "TRY_AGAIN",
        }
    }

    /// When a refused request may be tried again, for errors that say so.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::TooManyAttempts { retry_after } | Self::TryAgain { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// Whether the database could not be reached: the request may simply be tried again.
    pub fn database_unavailable(&self) -> bool {
        matches!(self, Self::Database(err) if crate::db::unavailable(err))
    }

    /// Shorthand for an input error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidInput(message.into())
    }
}

/// Classifies a database error in one place: a unique violation becomes `Conflict` with the
/// given message, a foreign-key violation an input error, anything else stays a database error.
pub fn classify(err: DbErr, on_unique: &str) -> DomainError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => DomainError::Conflict(on_unique.to_owned()),
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
            DomainError::invalid("a referenced record does not exist")
        }
        _ => DomainError::Database(err),
    }
}

/// Result of a domain operation.
pub type DomainResult<T> = Result<T, DomainError>;
