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

/// Describes the connection types async-graphql generates (it gives them no description).
pub fn describe<Q, M, S>(
    builder: async_graphql::SchemaBuilder<Q, M, S>,
) -> async_graphql::SchemaBuilder<Q, M, S> {
    use super::types::{
        account::Account, agent::Agent, case::Case, channel::Channel, chat::Chat, contact::Contact,
        message::Message, queue::Queue, reply_template::ReplyTemplate,
    };
    builder
        .override_output_type_description::<Connection<String, Account>>(
            "A page of accounts (Relay connection): `edges` or `nodes`, and `pageInfo` to fetch the next page.",
        )
        .override_output_type_description::<Connection<String, Case>>(
            "A page of cases, newest first (Relay connection): `edges` or `nodes`, and `pageInfo` to fetch the next (older) page.",
        )
        .override_output_type_description::<Connection<String, Contact>>(
            "A page of contacts (Relay connection): `edges` or `nodes`, and `pageInfo` to fetch the next page.",
        )
        .override_output_type_description::<Connection<String, Agent>>(
            "A page of agents (Relay connection): `edges` or `nodes`, and `pageInfo` to fetch the next page.",
        )
        .override_output_type_description::<Connection<String, Queue>>(
            "A page of queues (Relay connection): `edges` or `nodes`, and `pageInfo` to fetch the next page.",
        )
        .override_output_type_description::<Connection<String, Channel>>(
            "A page of channels (Relay connection): `edges` or `nodes`, and `pageInfo` to fetch the next page.",
        )
        .override_output_type_description::<Connection<String, Chat>>(
            "A page of chats (Relay connection): `edges` or `nodes`, and `pageInfo` to fetch the next page.",
        )
        .override_output_type_description::<Connection<String, super::plain::Plain<Message>>>(
            "A page of messages, oldest first within the page (Relay connection): `edges` or `nodes`, and `pageInfo` to fetch the next (or, with `last`, the previous) page.",
        )
        .override_output_type_description::<Connection<String, ReplyTemplate>>(
            "A page of reply templates (Relay connection): `edges` or `nodes`, and `pageInfo` to fetch the next page.",
        )
}
