//! Password hashing and access tokens: the primitives sign-in is built from.
//!
//! Tokens are HS256 JWTs (the algorithm is pinned when verifying, so a token cannot choose
//! its own). A token names a session; the session row decides whether it still works, so
//! signing out revokes a token before it expires.
//!
//! Password hashes are computed by [`PasswordHashing`], which bounds how many run at once:
//! one Argon2id hash holds 19 MiB and a core for tens of milliseconds, so unbounded sign-ins
//! could take all the memory and CPU.

use std::sync::Arc;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The claims inside an access token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The agent's id, as a string (JWT's `sub` is a string).
    pub sub: String,
    /// The session's id; signing out ends it.
    pub sid: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// The token's expiry has passed.
    #[error("the access token has expired; sign in again")]
    Expired,
    /// The token is malformed, forged or signed with another key.
    #[error("the access token is invalid")]
    Invalid,
}

/// Signs and verifies access tokens with one secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(***)")
    }
}

impl TokenKeys {
    /// Keys from a shared secret.
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Keys from a fresh random secret (dev mode).
    pub fn random() -> Self {
        let secret: [u8; 32] = rand::random();
        Self::new(&secret)
    }

    /// Issues a token for a session.
    pub fn issue(&self, agent_id: i64, session_id: &str, expires_at: DateTime<Utc>) -> String {
        let claims = Claims {
            sub: agent_id.to_string(),
            sid: session_id.to_owned(),
            iat: crate::clock::system_now().timestamp(),
            exp: expires_at.timestamp(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 encoding of plain claims cannot fail")
    }

    /// Verifies a token's signature, algorithm and expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|err| match err.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}

/// A hash to check passwords of unknown accounts against (see [`PasswordHashing::verify`]).
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password("not a real password"));

/// How long a password hash waits for its turn by default.
pub const DEFAULT_HASH_WAIT: Duration = Duration::from_secs(2);

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    /// Every hashing slot stayed busy for the whole wait; the caller should try again.
    #[error("too many passwords are being checked at once; try again shortly")]
    Busy,
    /// The blocking task died (it panicked or the runtime is shutting down).
    #[error("the password hashing task failed: {0}")]
    Failed(#[from] tokio::task::JoinError),
}

/// Runs password hashes on the blocking pool, at most a fixed number at once (by default one
/// per core). A caller waits for a free slot up to a short limit, then gets
/// [`HashingError::Busy`]. Cheap to clone: clones share the slots.
#[derive(Clone, Debug)]
pub struct PasswordHashing {
    slots: Arc<tokio::sync::Semaphore>,
    wait: Duration,
}

impl Default for PasswordHashing {
    /// One slot per core, [`DEFAULT_HASH_WAIT`].
    fn default() -> Self {
        Self::new(Self::cores(), DEFAULT_HASH_WAIT)
    }
}

impl PasswordHashing {
    /// At most `concurrency` hashes at once (at least one); callers wait up to `wait` for a slot.
    pub fn new(concurrency: usize, wait: Duration) -> Self {
        Self { slots: Arc::new(tokio::sync::Semaphore::new(concurrency.max(1))), wait }
    }

    /// The number of cores this process may use (1 when it cannot be told).
    pub fn cores() -> usize {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    }

    /// Hashes a password with Argon2id and a random salt.
    pub async fn hash(&self, password: String) -> Result<String, HashingError> {
        self.run(move || hash_password(&password)).await
    }

    /// Checks a password against a stored hash. Without one (an unknown account) it checks
    /// against a dummy hash and answers `false`, taking as long as a wrong password does.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, HashingError> {
        self.run(move || match hash {
            Some(hash) => verify_password(&password, &hash),
            None => {
                let _same_work = verify_password(&password, &DUMMY_HASH);
                false
            }
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashingError> {
        // The semaphore is never closed, so the only failure is the wait running out.
        let Ok(Ok(slot)) = tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await else {
            return Err(HashingError::Busy);
        };
        // The slot moves into the task: if the caller goes away, it stays taken until the
        // hash really ends, so the bound holds for the CPU and memory actually in use.
        Ok(tokio::task::spawn_blocking(move || {
            let _slot = slot;
            work()
        })
        .await?)
    }
}

/// Hashes a password with Argon2id and a random salt. CPU-heavy: call through
/// [`PasswordHashing`].
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).expect("16 bytes is a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2 with default parameters hashes any password")
        .to_string()
}

/// Checks a password against a stored hash. CPU-heavy: call through [`PasswordHashing`].
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_round_trip() {
        let hash = hash_password("correct horse");
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[tokio::test]
    async fn hashing_waits_for_a_slot_then_gives_up() {
        let hashing = PasswordHashing::new(1, Duration::from_millis(50));
        let hash = hashing.hash("correct horse".into()).await.expect("a free slot hashes");
        assert!(
            hashing.verify("correct horse".into(), Some(hash.clone())).await.expect("a free slot verifies")
        );
        assert!(!hashing.verify("correct horse".into(), None).await.expect("no hash: a dummy check"));

        // Hold the only slot: the next caller waits its 50 ms and is told to try again.
        let held = hashing.slots.clone().acquire_owned().await.expect("the slot");
        assert!(matches!(hashing.verify("x".into(), Some(hash.clone())).await, Err(HashingError::Busy)));
        // Freed while a caller waits: the caller gets it.
        let waiting = PasswordHashing { wait: Duration::from_secs(60), ..hashing.clone() };
        let verify = tokio::spawn(async move { waiting.verify("correct horse".into(), Some(hash)).await });
        drop(held);
        assert!(verify.await.expect("the task").expect("a slot in time"));
    }

    #[test]
    fn tokens_are_checked_for_signature_and_expiry() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let token = keys.issue(7, "s1", crate::clock::system_now() + chrono::Duration::minutes(5));
        let claims = keys.verify(&token).expect("fresh token verifies");
        assert_eq!((claims.sub.as_str(), claims.sid.as_str()), ("7", "s1"));

        let other = TokenKeys::new(b"another secret of thirty-two bytes!!");
        assert_eq!(other.verify(&token).unwrap_err(), TokenError::Invalid);

        let expired = keys.issue(7, "s1", crate::clock::system_now() - chrono::Duration::minutes(1));
        assert_eq!(keys.verify(&expired).unwrap_err(), TokenError::Expired);
        assert_eq!(keys.verify("garbage").unwrap_err(), TokenError::Invalid);
    }
}
