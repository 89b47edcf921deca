//! Opaque global ids (`base64url("Type:id")`) and connection cursors.

use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::error::{coded, codes};
use crate::domain::pagination::Page;

/// The global id of row `id` of GraphQL type `type_name`.
pub fn encode(type_name: &str, id: i64) -> ID {
    ID(crate::domain::ids::global(type_name, id))
}

/// Splits a global id into its type name and row id, if it is one.
pub fn decode_any(id: &ID) -> Option<(String, i64)> {
    let raw = URL_SAFE_NO_PAD.decode(id.as_str()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (type_name, row) = text.split_once(':')?;
    Some((type_name.to_owned(), row.parse().ok()?))
}

/// The row id inside a global id that must be of `type_name`; BAD_USER_INPUT otherwise.
pub fn decode(id: &ID, type_name: &str) -> async_graphql::Result<i64> {
    match decode_any(id) {
        Some((found, row)) if found == type_name => Ok(row),
        _ => Err(coded(codes::BAD_USER_INPUT, format!("{:?} is not a valid {type_name} id", id.as_str()))),
    }
}

/// The cursor of a row in a connection ordered by id.
pub fn cursor(id: i64) -> String {
    crate::domain::ids::GlobalId::cursor(id).as_str().to_owned()
}

/// Default page size when `first` is not given.
pub const DEFAULT_PAGE: usize = 20;

/// Turns `first`/`after` into a page, refusing negative or oversized pages and bad cursors.
pub fn page(first: Option<i32>, after: Option<&str>, max: usize) -> async_graphql::Result<Page> {
    let limit = match first {
        None => DEFAULT_PAGE.min(max),
        Some(n) if n >= 0 && n as usize <= max => n as usize,
        Some(n) => {
            return Err(coded(codes::BAD_USER_INPUT, format!("first must be between 0 and {max} (got {n})")));
        }
    };
    let after = match after {
        None => None,
        Some(cursor) => {
            let parsed = URL_SAFE_NO_PAD
                .decode(cursor)
                .ok()
                .and_then(|raw| String::from_utf8(raw).ok())
                .and_then(|text| text.strip_prefix("cursor:").and_then(|n| n.parse::<i64>().ok()));
            Some(parsed.ok_or_else(|| coded(codes::BAD_USER_INPUT, "after is not a valid cursor"))?)
        }
    };
    Ok(Page { after, limit: limit as u64 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip_and_check_their_type() {
        let id = encode("Agent", 42);
        assert_eq!(decode(&id, "Agent").unwrap(), 42);
        assert!(decode(&id, "Queue").is_err());
        assert!(decode(&ID("!!".into()), "Agent").is_err());
    }

    #[test]
    fn pages_are_bounded() {
        assert_eq!(page(None, None, 100).unwrap().limit, 20);
        assert!(page(Some(101), None, 100).is_err());
        assert!(page(Some(-1), None, 100).is_err());
        let after = cursor(7);
        assert_eq!(page(Some(5), Some(&after), 100).unwrap().after, Some(7));
        assert!(page(Some(5), Some("nope"), 100).is_err());
    }
}
