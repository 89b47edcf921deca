//! Bounded label values: operation names and error codes interned up to a cap.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::{Label, MAX_OPERATION_LEN};

/// Interns label values up to a cap; past it, and for values `accept` refuses, `(other)`.
pub(super) struct Interner {
    values: RwLock<HashMap<Box<str>, Label>>,
    cap: usize,
    other: Label,
}

impl Interner {
    pub(super) fn new(cap: usize) -> Self {
        Self { values: RwLock::new(HashMap::new()), cap, other: Arc::new("(other)".to_owned()) }
    }

    pub(super) fn get(&self, value: &str, accept: fn(&str) -> bool) -> Label {
        if !accept(value) {
            return self.other.clone();
        }
        if let Ok(values) = self.values.read()
            && let Some(label) = values.get(value)
        {
            return label.clone();
        }
        let Ok(mut values) = self.values.write() else {
            return self.other.clone();
        };
        if let Some(label) = values.get(value) {
            return label.clone();
        }
        if values.len() >= self.cap {
            return self.other.clone();
        }
        let label = Arc::new(value.to_owned());
        values.insert(value.into(), label.clone());
        label
    }
}

/// A GraphQL name: `[_A-Za-z][_0-9A-Za-z]*`, at most [`MAX_OPERATION_LEN`] characters.
pub(super) fn plain_identifier(value: &str) -> bool {
    let mut chars = value.chars();
    value.len() <= MAX_OPERATION_LEN
        && chars.next().is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// An error code: `[A-Z_]+`, at most 64 characters.
pub(super) fn error_code(value: &str) -> bool {
    !value.is_empty() && value.len() <= 64 && value.bytes().all(|b| b == b'_' || b.is_ascii_uppercase())
}
