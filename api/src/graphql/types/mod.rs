//! GraphQL types, one file per type; each wraps a row and never exposes the row itself.

pub mod account;
pub mod agent;
pub mod assignment;
pub mod attachment;
pub mod case;
pub mod channel;
pub mod chat;
pub mod chat_action;
pub mod contact;
pub mod draft;
pub mod enums;
pub mod event;
pub mod lazy;
pub mod message;
pub mod message_template;
pub mod node;
pub mod queue;
pub mod reachability;
pub mod reply_template;
pub mod settings;

#[cfg(test)]
mod tests {
    use std::future::Future;

    use async_graphql::connection::{Edge, EmptyFields};
    use async_graphql::{ContainerType, Context};

    /// The size of the future `resolve` returns, without running it.
    fn future_size<'a, T: 'a, Fut: Future>(_resolve: impl FnOnce(&'a T, &'a Context<'a>) -> Fut) -> usize {
        std::mem::size_of::<Fut>()
    }

    /// The largest resolver future a type may have, in bytes.
    const MOST: usize = 1024;

    /// A type's resolver future is as large as its largest field's (the generated
    /// `resolve_field` awaits every field's resolver inline), and async-graphql boxes one per
    /// field and object it resolves: a list of 50 chats with three fields each copies 150 of
    /// them. One field that awaited a large future inline (a sea-orm `one`, the similar
    /// contacts) made every `Chat` field copy 3 KiB and every `Contact` field 2.8 KiB, the
    /// largest cost of the waiting list. A field with a large future boxes it (`.boxed()`).
    #[test]
    fn the_resolver_futures_of_listed_types_stay_small() {
        use super::{
            agent::Agent, assignment::Assignment, case::Case, chat, contact::Contact, message::Message,
            queue::Queue,
        };
        let sizes = [
            ("Chat", future_size(|o: &chat::Chat, c| o.resolve_field(c))),
            ("Contact", future_size(|o: &Contact, c| o.resolve_field(c))),
            ("Message", future_size(|o: &Message, c| o.resolve_field(c))),
            ("Case", future_size(|o: &Case, c| o.resolve_field(c))),
            ("Agent", future_size(|o: &Agent, c| o.resolve_field(c))),
            ("Queue", future_size(|o: &Queue, c| o.resolve_field(c))),
            ("Assignment", future_size(|o: &Assignment, c| o.resolve_field(c))),
            ("ChatConnection", future_size(|o: &chat::ChatConnection, c| o.resolve_field(c))),
            ("ChatEdge", future_size(|o: &Edge<String, chat::Chat, EmptyFields>, c| o.resolve_field(c))),
            ("MessageEdge", future_size(|o: &Edge<String, Message, EmptyFields>, c| o.resolve_field(c))),
        ];
        let large: Vec<_> = sizes.iter().filter(|(_, size)| *size > MOST).collect();
        assert!(large.is_empty(), "resolver futures over {MOST} bytes: {large:?} (all: {sizes:?})");
    }
}
