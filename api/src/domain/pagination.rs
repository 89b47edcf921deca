//! Keyset pagination by ascending id: stable under inserts, no OFFSET scans.

/// One page request: rows with an id greater than `after`, at most `limit` of them.
#[derive(Clone, Copy, Debug)]
pub struct Page {
    /// Exclusive lower bound on the id.
    pub after: Option<i64>,
    /// How many rows to return.
    pub limit: u64,
}

/// A page of rows and whether more follow.
#[derive(Clone, Debug)]
pub struct PageOf<T> {
    /// The rows, in ascending id order.
    pub items: Vec<T>,
    /// Whether rows exist beyond the last one returned.
    pub has_next: bool,
}

impl<T> PageOf<T> {
    /// Builds a page from a fetch of `limit + 1` rows.
    pub fn from_overfetch(mut items: Vec<T>, limit: u64) -> Self {
        let has_next = items.len() as u64 > limit;
        items.truncate(limit as usize);
        Self { items, has_next }
    }
}
