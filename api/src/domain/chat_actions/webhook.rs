//! The Standard Webhooks conventions chat-action webhooks follow: secrets, signatures, URLs.
//!
//! A secret is `whsec_` followed by the standard base64 of 24 to 64 random bytes; the bytes
//! (not the text) are the HMAC key. Each attempt is signed with
//! `v1,` + base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")), the value of
//! the `webhook-signature` header (docs/chat-actions.md shows how a receiver checks it).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::error::{DomainError, DomainResult};

/// The prefix of every secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a generated secret.
const GENERATED_BYTES: usize = 32;
/// Fewest and most key bytes a given secret may have.
const KEY_BYTES: std::ops::RangeInclusive<usize> = 24..=64;
/// Longest URL accepted, in bytes.
pub const MAX_URL_BYTES: usize = 2048;

/// A fresh secret: `whsec_` + base64 of 32 random bytes.
pub fn generate_secret() -> String {
    let bytes: [u8; GENERATED_BYTES] = rand::random();
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The key bytes of a secret, if it is one: `whsec_` + standard base64 of 24 to 64 bytes.
pub fn key_of(secret: &str) -> Option<Vec<u8>> {
    let bytes = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()?;
    KEY_BYTES.contains(&bytes.len()).then_some(bytes)
}

/// A secret an admin gave, trimmed, or BAD_USER_INPUT (the message never repeats it).
pub fn valid_secret(secret: &str) -> DomainResult<String> {
    let secret = secret.trim();
    match key_of(secret) {
        Some(_) => Ok(secret.to_owned()),
        None => Err(DomainError::invalid(format!(
            "a secret is {SECRET_PREFIX} followed by the base64 of {} to {} random bytes; leave it out to have one generated",
            KEY_BYTES.start(),
            KEY_BYTES.end()
        ))),
    }
}

/// The `webhook-signature` value of one attempt: `v1,` + base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}` keyed with the secret's bytes; `None` for a secret that is not one.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = key_of(secret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// A webhook URL, trimmed, or INVALID_URL: it must parse, be `http` or `https`, and name a
/// host (a URL that points nowhere is refused).
pub fn valid_url(url: &str) -> DomainResult<String> {
    let url = url.trim();
    if url.len() > MAX_URL_BYTES {
        return Err(DomainError::InvalidUrl(format!("the URL is longer than {MAX_URL_BYTES} bytes")));
    }
    // reqwest's `Url` is the `url` crate's WHATWG parser, already linked for the providers.
    let parsed =
        reqwest::Url::parse(url).map_err(|err| DomainError::InvalidUrl(format!("not a URL: {err}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(DomainError::InvalidUrl(format!(
            "the URL must be http or https, not {}",
            parsed.scheme()
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(DomainError::InvalidUrl("the URL names no host".into()));
    }
    Ok(url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_standard_webhooks_secrets() {
        let secret = generate_secret();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(key_of(&secret).map(|key| key.len()), Some(32));
        assert_ne!(secret, generate_secret());
        assert!(valid_secret("whsec_short").is_err());
        assert!(valid_secret("no-prefix").is_err());
        assert!(valid_secret(&format!(" {secret} ")).is_ok());
    }

    #[test]
    fn signatures_match_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification (standard-webhooks/spec).
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        let got = signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(got, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert_eq!(
            valid_url(" https://hooks.example.com/a?b=1 ").unwrap(),
            "https://hooks.example.com/a?b=1"
        );
        assert!(valid_url("http://127.0.0.1:8080/x").is_ok());
        for bad in
            ["ftp://example.com", "example.com/path", "https://", "mailto:a@b.c", "", "file:///etc/passwd"]
        {
            let err = valid_url(bad).unwrap_err();
            assert_eq!(err.code(), "INVALID_URL", "{bad}");
        }
    }
}
