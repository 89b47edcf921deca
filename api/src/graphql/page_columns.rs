//! Which columns a read takes for a selection: a list that shows a few plain fields (a
//! waiting list: id, status, creation time, the customer's name; a panel's latest messages:
//! id, direction, text, time) reads only their columns, instead of every column of its rows.

use async_graphql::SelectionField;
use async_graphql::parser::types::{Field, Selection};
use entity::{chats, contacts, messages};

use crate::db::rows::Columns;
use crate::domain::history::Reads;

/// The `Chat` fields whose resolvers read nothing but these columns of the chat's own row (its
/// key, always read, aside). A page whose nodes select only these, and `contact` with only
/// [`PLAIN_CONTACT`] fields, reads only their columns; any other field reads every column (its
/// resolver may read any of them: `messages` checks the owner, `timeToAccept` two times).
const PLAIN_CHAT: &[(&str, &[chats::Column])] = {
    use chats::Column as C;
    &[
        ("__typename", &[]),
        ("id", &[]),
        ("status", &[C::Status]),
        ("completionReason", &[C::CompletionReason]),
        ("createdAt", &[C::CreatedAt]),
        ("acceptedAt", &[C::AcceptedAt]),
        ("firstResponseAt", &[C::FirstResponseAt]),
        ("completedAt", &[C::CompletedAt]),
        ("closeDeadline", &[C::CloseDeadline]),
        ("queuedAt", &[C::QueuedAt]),
        ("lastMessageAt", &[C::LastMessageAt]),
    ]
};

/// The `Contact` fields whose resolvers read nothing but these columns (and the key).
const PLAIN_CONTACT: &[(&str, &[contacts::Column])] = {
    use contacts::Column as C;
    &[
        ("__typename", &[]),
        ("id", &[]),
        ("name", &[C::Name]),
        ("photoUrl", &[C::PhotoUrl]),
        ("email", &[C::Email]),
        ("mobilePhone", &[C::MobilePhone]),
        ("businessPhone", &[C::BusinessPhone]),
        ("homePhone", &[C::HomePhone]),
        ("jobTitle", &[C::JobTitle]),
        ("createdAt", &[C::CreatedAt]),
        ("updatedAt", &[C::UpdatedAt]),
    ]
};

/// The `Message` fields whose resolvers read nothing but these columns (and the key).
const PLAIN_MESSAGE: &[(&str, &[messages::Column])] = {
    use messages::Column as C;
    &[
        ("__typename", &[]),
        ("id", &[]),
        ("direction", &[C::Direction]),
        ("authorKind", &[C::AuthorKind]),
        ("kind", &[C::Kind]),
        ("text", &[C::Text]),
        ("deliveryStatus", &[C::DeliveryStatus]),
        ("deliveryError", &[C::DeliveryError]),
        ("editedAt", &[C::EditedAt]),
        ("createdAt", &[C::CreatedAt]),
    ]
};

/// A selected field as the column lists see it: async-graphql's look-ahead (fragments
/// included), or a field of the document itself, whose sub-fields are its own field
/// selections only (`graphql::direct` answers nothing with fragments).
pub trait Selected: Sized {
    /// The field's name (not its alias).
    fn name(&self) -> &str;
    /// The fields it selects.
    fn children(&self) -> impl Iterator<Item = Self>;
}

impl Selected for SelectionField<'_> {
    fn name(&self) -> &str {
        SelectionField::name(self)
    }

    fn children(&self) -> impl Iterator<Item = Self> {
        self.selection_set()
    }
}

impl<'a> Selected for &'a Field {
    fn name(&self) -> &str {
        self.name.node.as_str()
    }

    fn children(&self) -> impl Iterator<Item = Self> {
        let items: &'a [_] = &self.selection_set.node.items;
        items.iter().filter_map(|item| match &item.node {
            Selection::Field(field) => Some(&field.node),
            _ => None,
        })
    }
}

/// The columns `fields` read when all are in `plain`; `None` when one is not.
fn plain_columns<C: Copy, F: Selected>(
    plain: &[(&str, &[C])],
    fields: impl Iterator<Item = F>,
) -> Option<Vec<C>> {
    let mut columns = Vec::new();
    for field in fields {
        let (_, read) = plain.iter().find(|(name, _)| *name == field.name())?;
        columns.extend_from_slice(read);
    }
    Some(columns)
}

/// Only `columns`, or all of them for `None`.
fn only<C>(columns: Option<Vec<C>>) -> Columns<C> {
    columns.map_or(Columns::All, Columns::Only)
}

/// `columns` and `more` together; `None` (every column) once either is.
fn extend<C>(columns: Option<Vec<C>>, more: Option<Vec<C>>) -> Option<Vec<C>> {
    let (mut columns, more) = columns.zip(more)?;
    columns.extend(more);
    Some(columns)
}

/// The nodes of a connection selection `field` (under `edges` and `nodes`).
fn nodes_of<F: Selected>(field: &F) -> Vec<F> {
    let mut nodes = Vec::new();
    for child in field.children() {
        match child.name() {
            "edges" => nodes.extend(child.children().filter(|edge| edge.name() == "node")),
            "nodes" => nodes.push(child),
            _ => {}
        }
    }
    nodes
}

/// What a chat's `messages` selection `field` (a `MessageConnection`) reads of each message:
/// every column unless its nodes select only plain fields.
pub fn message_reads<F: Selected>(field: &F) -> Columns<messages::Column> {
    let columns = nodes_of(field).iter().try_fold(Vec::new(), |columns, node| {
        extend(Some(columns), plain_columns(PLAIN_MESSAGE, node.children()))
    });
    only(columns)
}

/// What a `chats` page reads for the selection `field` (a `ChatConnection`): every column
/// unless its nodes select only plain fields (fragments included; a field under `@skip` counts
/// as selected, which only reads more).
pub fn reads_of(field: SelectionField<'_>) -> Reads {
    let mut chat = Some(Vec::new());
    let mut contact = Some(Vec::new());
    let mut contact_asked = false;
    for node in nodes_of(&field) {
        for selected in node.selection_set() {
            if selected.name() == "contact" {
                contact_asked = true;
                contact = extend(contact, plain_columns(PLAIN_CONTACT, selected.selection_set()));
                // Without a joined row, `Chat.contact` loads the contact by this key.
                chat = extend(chat, Some(vec![chats::Column::ContactId]));
            } else {
                chat = extend(chat, plain_columns(PLAIN_CHAT, std::iter::once(selected)));
            }
        }
    }
    Reads { chat: only(chat), contact: contact_asked.then(|| only(contact)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `graphql::plain` answers every plain `Message` field this module lists (a field
    /// missing there would only lose the fast path), and nothing else.
    #[test]
    fn plain_messages_answer_every_listed_field() {
        use crate::db::rows::ByColumns;
        use crate::graphql::plain::{Json, PlainFields};
        let message = crate::graphql::types::message::Message(messages::Model::placeholder());
        let none = async_graphql::parser::types::SelectionSet::default();
        for (name, _) in PLAIN_MESSAGE.iter().filter(|(name, _)| *name != "__typename") {
            assert!(message.plain_field(name, &none, &mut Json::default()), "{name}");
        }
        for name in ["author", "attachments", "chat"] {
            assert!(!message.plain_field(name, &none, &mut Json::default()), "{name}");
        }
    }

    /// The same for `Chat` and `Contact`: every field listed here is answered plain (a chat's
    /// contact only when it was read with the chat), and fields that read more are not.
    #[test]
    fn plain_chats_and_contacts_answer_every_listed_field() {
        use crate::db::rows::ByColumns;
        use crate::graphql::plain::{Json, PlainFields};
        use crate::graphql::types::{chat::Chat, contact::Contact};
        let none = async_graphql::parser::types::SelectionSet::default();
        let contact = Contact(contacts::Model::placeholder());
        for (name, _) in PLAIN_CONTACT.iter().filter(|(name, _)| *name != "__typename") {
            assert!(contact.plain_field(name, &none, &mut Json::default()), "{name}");
        }
        for name in ["account", "cases", "identities", "chats", "mergedInto", "similarContacts"] {
            assert!(!contact.plain_field(name, &none, &mut Json::default()), "{name}");
        }
        let chat = Chat(chats::Model::placeholder(), Some(contacts::Model::placeholder()), None);
        for (name, _) in PLAIN_CHAT.iter().filter(|(name, _)| *name != "__typename") {
            assert!(chat.plain_field(name, &none, &mut Json::default()), "{name}");
        }
        for name in ["messageCount", "assignments", "draft", "cases", "parent", "similarContacts", "messages"]
        {
            assert!(!chat.plain_field(name, &none, &mut Json::default()), "{name}");
        }
        let alone = Chat(chats::Model::placeholder(), None, None);
        assert!(
            !alone.plain_field("contact", &none, &mut Json::default()),
            "a contact not read with its chat"
        );
    }

    #[test]
    fn plain_fields_are_fields_of_their_types() {
        let sdl = crate::graphql::sdl();
        let fields = |type_name: &str| -> String {
            let start = sdl.find(&format!("\ntype {type_name} ")).expect("the type");
            let body = &sdl[start..];
            body[..body.find("\n}").expect("its end")].to_owned()
        };
        let chat = fields("Chat");
        let contact = fields("Contact");
        let named = |body: &str, name: &str| name == "__typename" || body.contains(&format!("\n\t{name}:"));
        for (name, _) in PLAIN_CHAT {
            assert!(named(&chat, name), "Chat has no field {name}");
        }
        for (name, _) in PLAIN_CONTACT {
            assert!(named(&contact, name), "Contact has no field {name}");
        }
        let message = fields("Message");
        for (name, _) in PLAIN_MESSAGE {
            assert!(named(&message, name), "Message has no field {name}");
        }
    }

    /// A schema of the connection's shape whose `chats` answers what [`reads_of`] makes of
    /// its own selection.
    mod shaped {
        use async_graphql::{Context, EmptyMutation, EmptySubscription, Object, Schema, SimpleObject};

        #[derive(SimpleObject, Default)]
        pub struct Contact {
            name: String,
            email: String,
            identities: i32,
        }

        #[derive(Default)]
        pub struct Chat;

        #[Object]
        impl Chat {
            async fn id(&self) -> i32 {
                0
            }
            async fn status(&self) -> i32 {
                0
            }
            async fn created_at(&self) -> i32 {
                0
            }
            async fn message_count(&self) -> i32 {
                0
            }
            async fn contact(&self) -> Contact {
                Contact::default()
            }
        }

        #[derive(SimpleObject, Default)]
        pub struct Edge {
            cursor: String,
            node: Chat,
        }

        #[derive(SimpleObject)]
        pub struct Page {
            reads: String,
            edges: Vec<Edge>,
            nodes: Vec<Chat>,
        }

        pub struct Query;

        #[Object]
        impl Query {
            async fn chats(&self, ctx: &Context<'_>) -> Page {
                Page { reads: format!("{:?}", super::reads_of(ctx.field())), edges: vec![], nodes: vec![] }
            }
        }

        pub async fn reads(selection: &str, fragments: &str) -> String {
            let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
            let answer = schema.execute(format!("{{ chats {{ reads {selection} }} }} {fragments}")).await;
            assert!(answer.errors.is_empty(), "{:?}", answer.errors);
            answer.data.into_json().unwrap()["chats"]["reads"].as_str().unwrap().to_owned()
        }
    }

    #[tokio::test]
    async fn a_selection_of_plain_fields_reads_only_their_columns() {
        use chats::Column as C;
        use contacts::Column as K;
        let reads = |chat, contact| format!("{:?}", Reads { chat, contact });
        let plain = shaped::reads("edges { cursor node { id status contact { name } } }", "").await;
        assert_eq!(
            plain,
            reads(Columns::Only(vec![C::Status, C::ContactId]), Some(Columns::Only(vec![K::Name])))
        );
        let via = shaped::reads("nodes { ...F }", "fragment F on Chat { createdAt }").await;
        assert_eq!(via, reads(Columns::Only(vec![C::CreatedAt]), None));
        // A field that is not plain reads every column of its row.
        let counted = shaped::reads("edges { node { messageCount contact { email } } }", "").await;
        assert_eq!(counted, reads(Columns::All, Some(Columns::Only(vec![K::Email]))));
        let identities = shaped::reads("nodes { id contact { identities } }", "").await;
        assert_eq!(identities, reads(Columns::Only(vec![C::ContactId]), Some(Columns::All)));
    }
}
