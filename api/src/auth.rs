//! Password hashing and access tokens: the primitives sign-in is built from.
//!
//! Tokens are HS256 JWTs (the algorithm is pinned when verifying, so a token cannot choose
//! its own). A token names a session; the session row decides whether it still works, so
//! signing out revokes a token before it expires.

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
            iat: Utc::now().timestamp(),
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

/// Hashes a password with Argon2id and a random salt. CPU-heavy: call from a blocking task.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).expect("16 bytes is a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2 with default parameters hashes any password")
        .to_string()
}

/// Checks a password against a stored hash. CPU-heavy: call from a blocking task.
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

    #[test]
    fn tokens_are_checked_for_signature_and_expiry() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let token = keys.issue(7, "s1", Utc::now() + chrono::Duration::minutes(5));
        let claims = keys.verify(&token).expect("fresh token verifies");
        assert_eq!((claims.sub.as_str(), claims.sid.as_str()), ("7", "s1"));

        let other = TokenKeys::new(b"another secret of thirty-two bytes!!");
        assert_eq!(other.verify(&token).unwrap_err(), TokenError::Invalid);

        let expired = keys.issue(7, "s1", Utc::now() - chrono::Duration::minutes(1));
        assert_eq!(keys.verify(&expired).unwrap_err(), TokenError::Expired);
        assert_eq!(keys.verify("garbage").unwrap_err(), TokenError::Invalid);
    }
}
