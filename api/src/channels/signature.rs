//! Webhook authenticity checks: Meta's `X-Hub-Signature-256` HMAC and Telegram's secret token.
//!
//! Both comparisons run in constant time. Meta signs the raw request body exactly as sent, so
//! callers must pass the bytes they received, never a re-serialised copy.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The prefix of Meta's `X-Hub-Signature-256` header value.
const META_PREFIX: &str = "sha256=";

fn meta_mac(app_secret: &str, body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this never fails.
    let mut mac = HmacSha256::new_from_slice(app_secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    mac
}

/// The `X-Hub-Signature-256` value Meta would send for `body`: `"sha256=<lowercase hex>"` of
/// HMAC-SHA256 over the raw bytes, keyed with the app secret.
pub fn meta_signature(app_secret: &str, body: &[u8]) -> String {
    let tag = meta_mac(app_secret, body).finalize().into_bytes();
    format!("{META_PREFIX}{}", hex::encode(tag))
}

/// Whether `header` (the `X-Hub-Signature-256` value) is Meta's signature of the raw `body`.
///
/// A missing header, another prefix or malformed hex gives `false`; the tag comparison is
/// constant-time.
pub fn verify_meta(app_secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_tag) = header.map(str::trim).and_then(|h| h.strip_prefix(META_PREFIX)) else {
        return false;
    };
    let Ok(tag) = hex::decode(hex_tag) else {
        return false;
    };
    meta_mac(app_secret, body).verify_slice(&tag).is_ok()
}

/// Whether `header` (the `X-Telegram-Bot-Api-Secret-Token` value) equals the secret given to
/// `setWebhook`, compared in constant time. A missing header or an empty secret gives `false`.
pub fn verify_telegram(expected_secret: &str, header: Option<&str>) -> bool {
    let Some(got) = header else {
        return false;
    };
    if expected_secret.is_empty() || got.len() != expected_secret.len() {
        return false;
    }
    got.as_bytes().ct_eq(expected_secret.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "test-app-secret";
    const WA_TEXT: &[u8] = include_bytes!("../../../tests/fixtures/channels/whatsapp/text_message.json");
    const FB_TEXT: &[u8] = include_bytes!("../../../tests/fixtures/channels/messenger/text_message.json");
    const WA_SIG: &str = "sha256=7981e9958e5eb6722e184af063ed6e8ff6a43a7a9451aad35bb44dbc7cd1fc18";
    const FB_SIG: &str = "sha256=353b8eb462ffad99ce8546822033672c733c05507078c3c11c6ec477306b00c3";

    #[test]
    fn signs_the_readme_examples_exactly() {
        assert_eq!(meta_signature(SECRET, WA_TEXT), WA_SIG);
        assert_eq!(meta_signature(SECRET, FB_TEXT), FB_SIG);
    }

    #[test]
    fn verifies_good_signatures() {
        assert!(verify_meta(SECRET, WA_TEXT, Some(WA_SIG)));
        assert!(verify_meta(SECRET, FB_TEXT, Some(FB_SIG)));
        assert!(verify_meta(SECRET, b"", Some(&meta_signature(SECRET, b""))));
    }

    #[test]
    fn rejects_bad_signatures() {
        // Missing header.
        assert!(!verify_meta(SECRET, WA_TEXT, None));
        // Signature of another body.
        assert!(!verify_meta(SECRET, WA_TEXT, Some(FB_SIG)));
        // Another secret.
        assert!(!verify_meta("other-secret", WA_TEXT, Some(WA_SIG)));
        // Body changed by one byte.
        let mut tampered = WA_TEXT.to_vec();
        tampered[10] ^= 1;
        assert!(!verify_meta(SECRET, &tampered, Some(WA_SIG)));
        // Wrong or missing prefix.
        assert!(!verify_meta(SECRET, WA_TEXT, Some(&WA_SIG.replace("sha256=", "sha1="))));
        assert!(!verify_meta(SECRET, WA_TEXT, Some(WA_SIG.trim_start_matches("sha256="))));
        // Bad hex, truncated tag, empty.
        assert!(!verify_meta(
            SECRET,
            WA_TEXT,
            Some("sha256=zz81e9958e5eb6722e184af063ed6e8ff6a43a7a9451aad35bb44dbc7cd1fc18")
        ));
        assert!(!verify_meta(SECRET, WA_TEXT, Some(&WA_SIG[..WA_SIG.len() - 2])));
        assert!(!verify_meta(SECRET, WA_TEXT, Some("sha256=")));
        assert!(!verify_meta(SECRET, WA_TEXT, Some("")));
    }

    #[test]
    fn telegram_secret_token() {
        assert!(verify_telegram("s3cr3t_Token-1", Some("s3cr3t_Token-1")));
        assert!(!verify_telegram("s3cr3t_Token-1", Some("s3cr3t_Token-2")));
        assert!(!verify_telegram("s3cr3t_Token-1", Some("s3cr3t_Token-")));
        assert!(!verify_telegram("s3cr3t_Token-1", Some("")));
        assert!(!verify_telegram("s3cr3t_Token-1", None));
        assert!(!verify_telegram("", Some("")));
    }
}
