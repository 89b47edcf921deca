//! Building Relay connections from domain pages.

use async_graphql::OutputType;
use async_graphql::connection::{Connection, Edge};

use crate::domain::pagination::{Page, PageOf};

use super::ids;

/// A connection of `T` over a page of rows ordered by id.
pub fn build<R, T: OutputType>(
    page: Page,
    found: PageOf<R>,
    id_of: impl Fn(&R) -> i64,
    wrap: impl Fn(R) -> T,
) -> Connection<String, T> {
    let mut connection = Connection::new(page.after.is_some(), found.has_next);
    connection
        .edges
        .extend(found.items.into_iter().map(|row| Edge::new(ids::cursor(id_of(&row)), wrap(row))));
    connection
}
