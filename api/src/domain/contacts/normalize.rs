//! How contact values are compared (DESIGN §1 "Comparison details"): the normalised forms
//! stored in `contact_keys` and computed from search input. Two values match exactly when
//! their normalised forms are equal, so every comparison is an index look-up.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The version of these rules that `contact_keys` rows were made with; bump it when a rule
/// changes and the server re-keys every contact at start (`keys::rekey_outdated`).
pub const VERSION: i32 = 1;

/// Fewest digits a phone number needs to be compared at all.
const MIN_PHONE_DIGITS: usize = 7;
/// Numbers are compared on this many trailing digits.
const PHONE_DIGITS: usize = 10;

/// Text as compared: Unicode-normalised (NFKC), lower-cased and accent-folded (`é` = `e`).
pub fn fold(text: &str) -> String {
    let lowered: String = text.nfkc().collect::<String>().to_lowercase();
    lowered.nfd().filter(|c| !is_combining_mark(*c)).collect()
}

/// A name's words as compared: folded, split on spaces and hyphens, each stripped of every
/// character that is not a letter or digit; empty words dropped.
pub fn name_words(name: &str) -> Vec<String> {
    fold(name)
        .split(|c: char| c.is_whitespace() || is_hyphen(c))
        .map(|word| word.chars().filter(|c| c.is_alphanumeric()).collect::<String>())
        .filter(|word| !word.is_empty())
        .collect()
}

fn is_hyphen(c: char) -> bool {
    matches!(c, '-' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2212}')
}

/// A name's key: its words in sorted order (the multiset, regardless of word order), or
/// `None` when it has none.
pub fn name(name: &str) -> Option<String> {
    let mut words = name_words(name);
    if words.is_empty() {
        return None;
    }
    words.sort_unstable();
    Some(words.join(" "))
}

/// An e-mail's key: trimmed and folded; dots and plus-tags kept (they are other mailboxes).
pub fn email(email: &str) -> Option<String> {
    let folded = fold(email.trim());
    let folded = folded.trim();
    (!folded.is_empty()).then(|| folded.to_owned())
}

/// A phone number's digits: the extension (`x`, `ext`, `#`, `;ext=` and what follows) dropped,
/// then every non-digit; `None` below seven digits (never compared).
pub fn phone_digits(phone: &str) -> Option<String> {
    let folded = fold(phone);
    let end = ['x', '#', ';']
        .iter()
        .filter_map(|mark| folded.find(*mark))
        .chain(folded.find("ext"))
        .min()
        .unwrap_or(folded.len());
    let digits: String = folded[..end].chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= MIN_PHONE_DIGITS).then_some(digits)
}

/// A phone number's key: its last ten digits, or all of them when it has fewer. Two numbers
/// match on their last ten digits, or on all digits when either has fewer than ten — exactly
/// when their keys are equal.
pub fn phone(phone: &str) -> Option<String> {
    let digits = phone_digits(phone)?;
    Some(digits[digits.len().saturating_sub(PHONE_DIGITS)..].to_owned())
}

/// Whether `email` has the shape of an address: one `@`, something before it, a dotted domain
/// after it, no spaces.
pub fn is_email_shaped(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else { return false };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
        && email.len() <= 254
}

/// Whether `phone` is written as a phone number: digits with the usual separators (`+`, spaces,
/// `-`, `.`, `(`, `)`), an optional extension, and at least seven digits.
pub fn is_phone_shaped(phone: &str) -> bool {
    let folded = fold(phone);
    let number =
        match ['x', '#', ';'].iter().filter_map(|mark| folded.find(*mark)).chain(folded.find("ext")).min() {
            Some(at) => &folded[..at],
            None => folded.as_str(),
        };
    number.chars().all(|c| c.is_ascii_digit() || " +-.()/".contains(c))
        && phone_digits(phone).is_some()
        && phone.len() <= 40
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_in_any_word_order_and_case_and_accents() {
        assert_eq!(name("Smith John"), name("john smith"));
        assert_eq!(name("Anne-Marie Dupont"), name("dupont anne marie"));
        assert_eq!(name("Anne Marie  DUPONT"), name("Anne-Marie Dupont"));
        assert_eq!(name("José Álvarez"), name("jose alvarez"));
        assert_ne!(name("Anne Dupont"), name("Anne-Marie Dupont"), "all words must match");
        assert_eq!(name("O'Brien, Pat."), name("pat obrien"));
        assert_eq!(name("  -- "), None, "an empty name never matches");
        assert_eq!(name("ＪＯＨＮ Smith"), name("john smith"), "NFKC folds full-width letters");
    }

    #[test]
    fn emails_keep_dots_and_plus_tags() {
        assert_eq!(email(" John.Smith@Example.com "), email("john.smith@example.com"));
        assert_ne!(email("john.smith@example.com"), email("johnsmith@example.com"));
        assert_ne!(email("john+sales@example.com"), email("john@example.com"));
        assert_eq!(email("   "), None);
    }

    #[test]
    fn phones_match_on_their_last_ten_digits() {
        assert_eq!(phone("+1 (555) 010-2000"), phone("5550102000"));
        assert_eq!(phone("+1 (555) 010-2000"), Some("5550102000".into()));
        assert_eq!(phone("555-010-2000 ext. 12"), phone("5550102000"));
        assert_eq!(phone("555 010 2000 x12"), phone("5550102000"));
        assert_eq!(phone("555 010 2000#12"), phone("5550102000"));
        assert_eq!(phone("tel:+1-555-010-2000;ext=12"), phone("5550102000"));
        assert_eq!(phone("010-2000"), Some("0102000".into()), "fewer than ten: all digits");
        assert_ne!(phone("010-2000"), phone("5550102000"), "fewer than ten digits compare whole");
        assert_eq!(phone("12-34-56"), None, "fewer than seven digits are never compared");
        assert_eq!(phone("０１２３４５６７８９"), Some("0123456789".into()), "NFKC digits");
    }

    #[test]
    fn shapes() {
        assert!(is_email_shaped("a@b.co"));
        for bad in ["a@b", "@b.co", "a b@c.co", "a@@b.co", "a@.co", "plain"] {
            assert!(!is_email_shaped(bad), "{bad}");
        }
        assert!(is_phone_shaped("+1 (555) 010-2000 ext 12"));
        for bad in ["12345", "call me", "555-0100-abc"] {
            assert!(!is_phone_shaped(bad), "{bad}");
        }
    }
}
