//! Objects whose selection is plain fields only, answered without a future per field.
//!
//! async-graphql resolves every field of an object as a boxed future with its own context,
//! joins them, and builds the object's map from their results: for a page of 20 messages
//! showing four fields each, 80 futures for values that are already in the rows. A type that
//! knows its *plain* fields (answered from the row alone, synchronously: the same fields
//! `page_columns` lists, whose resolvers read nothing but their columns) is wrapped in
//! [`Plain`] where it is listed; when a selection of it is nothing but plain fields — no
//! directives, no fragments, no arguments but those a type answers itself — its object is
//! built at once, in the selection's order, under each field's alias. A connection of such
//! nodes is plain too (its edges, nodes and page info), so a page of messages is answered in
//! one pass; so is a chat read for the agent panel, its contact, the ids of its queue and
//! owner, and the latest messages read with it (`messages(last: n)`). Any other selection
//! goes through async-graphql as before. The answers are checked byte for byte against
//! async-graphql's own (`tests/e2e/read_columns.rs`).

use std::borrow::Cow;

use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields, PageInfo};
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::{ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value};

/// A GraphQL object type whose plain fields can be answered synchronously.
pub trait PlainFields {
    /// The value of the plain field `name` (its GraphQL name) with its sub-selection
    /// `selection` (empty for a scalar: validation allows nothing else), exactly as its
    /// resolver answers it; `None` when `name` is not a plain field of the type, or a
    /// sub-selection is not plain.
    fn plain_field(&self, name: &str, selection: &SelectionSet) -> Option<Value>;

    /// The value of `field`, asked with arguments, when the type can answer it from what it
    /// holds, exactly as its resolver would; `None` (the default) sends the whole selection
    /// through async-graphql.
    fn plain_field_with_arguments(&self, field: &Field) -> Option<Value> {
        let _ = field;
        None
    }
}

impl<T: PlainFields> PlainFields for Plain<T> {
    fn plain_field(&self, name: &str, selection: &SelectionSet) -> Option<Value> {
        self.0.plain_field(name, selection)
    }

    fn plain_field_with_arguments(&self, field: &Field) -> Option<Value> {
        self.0.plain_field_with_arguments(field)
    }
}

/// A page of plain nodes: `edges`, `nodes` and `pageInfo` as async-graphql's `Connection`
/// answers them.
impl<N: OutputType + PlainFields> PlainFields for Connection<String, N> {
    fn plain_field(&self, name: &str, selection: &SelectionSet) -> Option<Value> {
        let list = |items: Option<Vec<Value>>| items.map(Value::List);
        match name {
            "edges" => list(self.edges.iter().map(|edge| answer(edge, selection)).collect()),
            "nodes" => list(self.edges.iter().map(|edge| answer(&edge.node, selection)).collect()),
            "pageInfo" => {
                let info = PageInfo {
                    has_previous_page: self.has_previous_page,
                    has_next_page: self.has_next_page,
                    start_cursor: self.edges.first().map(|edge| edge.cursor.encode_cursor()),
                    end_cursor: self.edges.last().map(|edge| edge.cursor.encode_cursor()),
                };
                answer(&info, selection)
            }
            _ => None,
        }
    }
}

impl<N: OutputType + PlainFields> PlainFields for Edge<String, N, EmptyFields> {
    fn plain_field(&self, name: &str, selection: &SelectionSet) -> Option<Value> {
        match name {
            "cursor" => Some(Value::String(self.cursor.encode_cursor())),
            "node" => answer(&self.node, selection),
            _ => None,
        }
    }
}

impl PlainFields for PageInfo {
    fn plain_field(&self, name: &str, _: &SelectionSet) -> Option<Value> {
        let cursor = |cursor: &Option<String>| cursor.clone().map_or(Value::Null, Value::String);
        Some(match name {
            "hasPreviousPage" => Value::Boolean(self.has_previous_page),
            "hasNextPage" => Value::Boolean(self.has_next_page),
            "startCursor" => cursor(&self.start_cursor),
            "endCursor" => cursor(&self.end_cursor),
            _ => return None,
        })
    }
}

/// The plain field `name` of an object reached through a foreign key (`Lazy`): its `id`, of
/// type `type_name`, known without reading its row; nothing else.
pub fn id_only(name: &str, type_name: &str, id: i64) -> Option<Value> {
    use async_graphql::InputType;
    (name == "id").then(|| crate::graphql::ids::encode(type_name, id).to_value())
}

/// `T`, answered without async-graphql's per-field machinery when its selection allows it
/// (see the module). The same GraphQL type as `T`: the schema does not change.
#[derive(Clone, Debug)]
pub struct Plain<T>(pub T);

impl<T: OutputType + PlainFields> OutputType for Plain<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> ServerResult<Value> {
        match answer(&self.0, &ctx.item.node) {
            Some(value) => Ok(value),
            None => self.0.resolve(ctx, field).await,
        }
    }
}

/// The object `selection` asks of `object`, if it asks for plain fields only.
pub fn answer<T: OutputType + PlainFields>(object: &T, selection: &SelectionSet) -> Option<Value> {
    let mut fields = async_graphql::indexmap::IndexMap::with_capacity(selection.items.len());
    for item in &selection.items {
        let Selection::Field(field) = &item.node else { return None };
        let field = &field.node;
        if !field.directives.is_empty() {
            return None;
        }
        let key: &Name = &field.response_key().node;
        if fields.contains_key(key) {
            // The same field again (validation allows only the same field under one key): a
            // scalar's value is the same; an object's selections would have to be merged,
            // which async-graphql does.
            if field.selection_set.node.items.is_empty() {
                continue;
            }
            return None;
        }
        let value = match field.name.node.as_str() {
            _ if !field.arguments.is_empty() => object.plain_field_with_arguments(field)?,
            "__typename" => Value::String(object.introspection_type_name().into_owned()),
            name => object.plain_field(name, &field.selection_set.node)?,
        };
        fields.insert(key.clone(), value);
    }
    Some(Value::Object(fields))
}
