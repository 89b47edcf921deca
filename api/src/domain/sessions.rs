//! Signing in and out, and turning a token back into the agent behind it.

use chrono::{DateTime, Utc};
use entity::enums::{AgentStatus, Role};
use entity::{agents, sessions};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use tracing::instrument;

use super::error::{DomainError, DomainResult};
use super::ids::AgentId;
use super::reroute::{AfterCommit, Reroute};
use super::throttle::SignInThrottle;
use super::{assignments, presence};
use crate::auth::{self, HashingError, PasswordHashing, TokenKeys};
use crate::events::{self, EventKind, Subjects};

/// The signed-in caller of a request.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Principal {
    /// Who.
    pub agent_id: AgentId,
    /// Their role, as the session check read it (a change reaches every instance at once
    /// through the `ACCESS_CHANGED` event).
    pub role: Role,
    /// The session the token names.
    pub session_id: String,
}

impl Principal {
    /// Whether the caller has one of `roles`.
    pub fn has_any(&self, roles: &[Role]) -> bool {
        roles.contains(&self.role)
    }

    /// Supervisors and admins may act on any chat.
    pub fn is_supervisor(&self) -> bool {
        matches!(self.role, Role::Supervisor | Role::Admin)
    }
}

/// A successful sign-in.
#[derive(Clone, Debug)]
pub struct SignIn {
    /// The bearer token to send with every request.
    pub token: String,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
    /// The agent signed in.
    pub agent: agents::Model,
}

/// How long a sign-in refused for lack of a hashing slot should wait before trying again.
const HASHING_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// Normalises an email for storage and lookup.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// One sign-in attempt.
#[derive(Clone, Copy)]
pub struct LoginAttempt<'a> {
    /// The email typed.
    pub email: &'a str,
    /// The password typed (never logged).
    pub password: &'a str,
    /// The client's address, when known; failures are counted against it too.
    pub client: Option<std::net::IpAddr>,
}

impl std::fmt::Debug for LoginAttempt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginAttempt").field("client", &self.client).finish_non_exhaustive()
    }
}

/// Maps a hashing failure: no free slot is worth a retry, a dead task is internal.
pub(crate) fn from_hashing(err: HashingError) -> DomainError {
    match err {
        HashingError::Busy => DomainError::TryAgain { retry_after: HASHING_RETRY },
        HashingError::Failed(err) => DomainError::Database(sea_orm::DbErr::Custom(err.to_string())),
    }
}

/// Checks the password, opens a session and issues its token. Signing in restores the status
/// the agent chose before signing out; if that makes them ACTIVE an event says so.
///
/// The throttle refuses the attempt first (TOO_MANY_ATTEMPTS) while the account or the
/// client address is locked, and counts a wrong email or password against both; the hashing
/// pool refuses it (TRY_AGAIN) when every slot stays busy.
#[instrument(skip_all)]
pub async fn login(
    db: &sea_orm::DatabaseConnection,
    keys: &TokenKeys,
    hashing: &PasswordHashing,
    throttle: &SignInThrottle,
    attempt: LoginAttempt<'_>,
    ttl: std::time::Duration,
) -> DomainResult<AfterCommit<SignIn>> {
    let email = normalise_email(attempt.email);
    let throttled = throttle
        .begin(&email, attempt.client)
        .map_err(|retry_after| DomainError::TooManyAttempts { retry_after })?;
    let agent = agents::Entity::find().filter(agents::Column::Email.eq(email)).one(db).await?;
    // An unknown email is checked against a dummy hash: it takes as long as a wrong password,
    // so sign-in does not reveal which emails exist.
    let hash = agent.as_ref().map(|a| a.password_hash.clone());
    let matches = hashing.verify(attempt.password.to_owned(), hash).await.map_err(from_hashing)?;
    let agent = match agent {
        Some(agent) if matches && agent.enabled => agent,
        _ => {
            throttled.failed();
            return Err(DomainError::InvalidCredentials);
        }
    };
    throttled.succeeded();

    let now = crate::clock::system_now();
    let expires_at = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(12));
    let session_id = uuid::Uuid::new_v4().to_string();
    let txn = crate::db::write(db).await?;
    let was_signed_in = presence::is_signed_in(&txn, AgentId(agent.id)).await?;
    sessions::ActiveModel {
        id: Set(session_id.clone()),
        agent_id: Set(agent.id),
        created_at: Set(now),
        expires_at: Set(expires_at),
        ended_at: Set(None),
    }
    .insert(&txn)
    .await?;
    if !was_signed_in && agent.status == AgentStatus::Active {
        record_status(&txn, AgentId(agent.id), AgentStatus::Active, "SIGNED_IN").await?;
    }
    txn.commit().await?;
    tracing::info!(agent_id = agent.id, "agent signed in");
    // Signing in ACTIVE may take waiting chats.
    let reroute = if agent.status == AgentStatus::Active {
        Reroute::agents([AgentId(agent.id)])
    } else {
        Reroute::none()
    };
    let signed_in = SignIn { token: keys.issue(agent.id, &session_id, expires_at), expires_at, agent };
    Ok(AfterCommit::new(signed_in, reroute))
}

/// Ends a session; its token stops working at once. When it was the agent's last session
/// they become INACTIVE for routing (their chosen status is kept for the next sign-in).
#[instrument(skip_all, fields(agent_id = principal.agent_id.0))]
pub async fn logout(
    db: &sea_orm::DatabaseConnection,
    principal: &Principal,
) -> DomainResult<AfterCommit<()>> {
    let txn = crate::db::write(db).await?;
    let ended = sessions::Entity::update_many()
        .col_expr(sessions::Column::EndedAt, sea_orm::sea_query::Expr::value(crate::clock::system_now()))
        .filter(sessions::Column::Id.eq(principal.session_id.as_str()))
        .filter(sessions::Column::EndedAt.is_null())
        .exec(&txn)
        .await?;
    if ended.rows_affected == 0 {
        return Err(DomainError::Unauthenticated("the session has already ended".into()));
    }
    record_access_changed(&txn, principal.agent_id, "SIGNED_OUT").await?;
    let agent = agents::Entity::find_by_id(principal.agent_id.0)
        .one(&txn)
        .await?
        .ok_or(DomainError::NotFound("agent"))?;
    let mut reroute = Reroute::none();
    if agent.status == AgentStatus::Active && !presence::is_signed_in(&txn, principal.agent_id).await? {
        record_status(&txn, principal.agent_id, AgentStatus::Inactive, "SIGNED_OUT").await?;
        reroute = assignments::withdraw_from(&txn, principal.agent_id).await?;
    }
    txn.commit().await?;
    tracing::info!("agent signed out");
    Ok(AfterCommit::new((), reroute))
}

/// Turns a bearer token into the principal behind it: the signature and expiry must check
/// out, the session must be live and the agent enabled.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    keys: &TokenKeys,
    token: &str,
) -> DomainResult<Principal> {
    let claims = verify_token(keys, token)?;
    Ok(check_session(db, &claims).await?.0)
}

/// The claims of a token whose signature and expiry check out.
pub fn verify_token(keys: &TokenKeys, token: &str) -> DomainResult<auth::Claims> {
    keys.verify(token).map_err(|err| DomainError::Unauthenticated(err.to_string()))
}

/// The database half of [`authenticate`]: the session the claims name must be live and its
/// agent enabled. Returns the principal and when the session expires.
pub async fn check_session(
    db: &impl ConnectionTrait,
    claims: &auth::Claims,
) -> DomainResult<(Principal, DateTime<Utc>)> {
    let found =
        sessions::Entity::find_by_id(claims.sid.clone()).find_also_related(agents::Entity).one(db).await?;
    let (session, agent) = match found {
        Some((session, Some(agent))) if session.agent_id.to_string() == claims.sub => (session, agent),
        _ => return Err(DomainError::Unauthenticated("the access token is invalid".into())),
    };
    if let Some(reason) = refusal(&session, &agent) {
        return Err(DomainError::Unauthenticated(reason.into()));
    }
    let principal = Principal { agent_id: AgentId(agent.id), role: agent.role, session_id: session.id };
    Ok((principal, session.expires_at))
}

/// Records that an agent's sessions or role changed, so every instance forgets the sign-ins it
/// remembers for them (see [`super::session_cache`]). Call it in the changing transaction.
pub(crate) async fn record_access_changed(
    db: &impl ConnectionTrait,
    agent: AgentId,
    reason: &str,
) -> DomainResult<()> {
    record_agent_event(db, EventKind::AccessChanged, agent, serde_json::json!({ "reason": reason })).await
}

/// Why a session no longer works (ended, expired, agent disabled), or `None` while it is live.
fn refusal(session: &sessions::Model, agent: &agents::Model) -> Option<&'static str> {
    if session.ended_at.is_some() {
        Some("the session has ended; sign in again")
    } else if session.expires_at <= crate::clock::system_now() {
        Some("the access token has expired; sign in again")
    } else if !agent.enabled {
        Some("this agent is disabled")
    } else {
        None
    }
}

/// The principal as their session stands now (with the agent's current role), or `None`
/// when it no longer works (ended, expired, agent disabled).
pub async fn current(db: &impl ConnectionTrait, principal: &Principal) -> DomainResult<Option<Principal>> {
    let found = sessions::Entity::find_by_id(principal.session_id.clone())
        .find_also_related(agents::Entity)
        .one(db)
        .await?;
    Ok(match found {
        Some((session, Some(agent))) if refusal(&session, &agent).is_none() => {
            Some(Principal { agent_id: AgentId(agent.id), role: agent.role, session_id: session.id })
        }
        _ => None,
    })
}

/// Whether the principal's session is still live (not ended, not expired, agent enabled).
pub async fn is_live(db: &impl ConnectionTrait, principal: &Principal) -> DomainResult<bool> {
    Ok(current(db, principal).await?.is_some())
}

/// Ends every live session of an agent (they were disabled or their password changed).
pub async fn end_all(db: &impl ConnectionTrait, agent: AgentId) -> DomainResult<u64> {
    let ended = sessions::Entity::update_many()
        .col_expr(sessions::Column::EndedAt, sea_orm::sea_query::Expr::value(crate::clock::system_now()))
        .filter(sessions::Column::AgentId.eq(agent.0))
        .filter(sessions::Column::EndedAt.is_null())
        .exec(db)
        .await?;
    Ok(ended.rows_affected)
}

/// Records that an agent's effective status changed, and why.
pub(crate) async fn record_status(
    db: &impl ConnectionTrait,
    agent: AgentId,
    status: AgentStatus,
    reason: &str,
) -> DomainResult<()> {
    let payload = serde_json::json!({ "status": status.as_str(), "reason": reason });
    record_agent_event(db, EventKind::AgentStatusChanged, agent, payload).await
}

/// Records an event about one agent.
async fn record_agent_event(
    db: &impl ConnectionTrait,
    kind: EventKind,
    agent: AgentId,
    payload: serde_json::Value,
) -> DomainResult<()> {
    events::record(db, kind, Subjects { agent: Some(agent), ..Default::default() }, payload).await?;
    Ok(())
}
