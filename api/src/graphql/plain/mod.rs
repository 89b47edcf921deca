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
//! async-graphql's own (`tests/e2e/read_columns.rs`, `tests/e2e/plain_chat.rs`).
//!
//! An answer is written through [`Out`]: into async-graphql's `Value` ([`Values`]) when
//! async-graphql runs the query, or straight into the response's JSON text ([`Json`]) when
//! `graphql::direct` answers it — no map, no string per id, cursor or time.

use std::borrow::Cow;
use std::collections::HashSet;

use async_graphql::connection::PageInfo;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::{ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value};

use crate::domain::ids::GlobalId;

mod out;

pub use out::{Json, Out, Values, enum_name};

/// A GraphQL object type whose plain fields can be answered synchronously.
pub trait PlainFields {
    /// The type's GraphQL name (what `__typename` answers).
    fn typename(&self) -> Cow<'static, str>;

    /// Writes the plain field `name` (its GraphQL name) with its sub-selection `selection`
    /// (empty for a scalar: validation allows nothing else) to `out`, exactly as its resolver
    /// answers it; `false` when `name` is not a plain field of the type, or a sub-selection is
    /// not plain (`out` then holds a part, and is thrown away).
    fn plain_field(&self, name: &str, selection: &SelectionSet, out: &mut dyn Out) -> bool;

    /// Writes `field`, asked with arguments, when the type can answer it from what it holds,
    /// exactly as its resolver would; `false` (the default) sends the whole selection through
    /// async-graphql.
    fn plain_field_with_arguments(&self, field: &Field, out: &mut dyn Out) -> bool {
        let _ = (field, out);
        false
    }
}

impl<T: PlainFields> PlainFields for Plain<T> {
    fn typename(&self) -> Cow<'static, str> {
        self.0.typename()
    }

    fn plain_field(&self, name: &str, selection: &SelectionSet, out: &mut dyn Out) -> bool {
        self.0.plain_field(name, selection, out)
    }

    fn plain_field_with_arguments(&self, field: &Field, out: &mut dyn Out) -> bool {
        self.0.plain_field_with_arguments(field, out)
    }
}

/// `pageInfo` of a page of rows ordered by id, its cursors from the first and last row ids.
pub struct PageInfoOf {
    /// Whether rows come before the page.
    pub has_previous: bool,
    /// Whether rows come after it.
    pub has_next: bool,
    /// The first row's id and the last's, when the page has rows.
    pub ends: Option<(i64, i64)>,
}

impl PlainFields for PageInfoOf {
    fn typename(&self) -> Cow<'static, str> {
        PageInfo::type_name()
    }

    fn plain_field(&self, name: &str, _: &SelectionSet, out: &mut dyn Out) -> bool {
        let cursor = |out: &mut dyn Out, id: Option<i64>| match id {
            Some(id) => out.global_id(GlobalId::cursor(id)),
            None => out.null(),
        };
        match name {
            "hasPreviousPage" => out.boolean(self.has_previous),
            "hasNextPage" => out.boolean(self.has_next),
            "startCursor" => cursor(out, self.ends.map(|(first, _)| first)),
            "endCursor" => cursor(out, self.ends.map(|(_, last)| last)),
            _ => return false,
        }
        true
    }
}

/// Writes the list of `items`, each answered by `item`; `false` as soon as one is not plain.
pub fn list<I>(out: &mut dyn Out, items: &[I], mut item: impl FnMut(&I, &mut dyn Out) -> bool) -> bool {
    out.begin_list(items.len());
    for each in items {
        if !item(each, out) {
            return false;
        }
    }
    out.end_list();
    true
}

/// The plain field `name` of an object reached through a foreign key (`Lazy`): its `id`, of
/// type `type_name`, known without reading its row; nothing else.
pub fn id_only(name: &str, type_name: &str, id: i64, out: &mut dyn Out) -> bool {
    let known = name == "id";
    if known {
        out.global_id(GlobalId::new(type_name, id));
    }
    known
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
        match value(&self.0, &ctx.item.node) {
            Some(value) => Ok(value),
            None => self.0.resolve(ctx, field).await,
        }
    }
}

/// The `Value` of the object `selection` asks of `object`, if it asks for plain fields only.
pub fn value<T: PlainFields + ?Sized>(object: &T, selection: &SelectionSet) -> Option<Value> {
    let mut values = Values::default();
    if answer(object, selection, &mut values) { values.finish() } else { None }
}

/// Tells whether a field of a selection repeats the response key of an earlier one: by
/// looking back over a short selection, in a set over a long one (so a selection of
/// thousands of fields costs no more than linear time).
pub struct Repeats<'a> {
    items: &'a [Positioned<Selection>],
    seen: Option<HashSet<&'a Name>>,
}

impl<'a> Repeats<'a> {
    /// Selections longer than this keep their keys in a set.
    const LOOK_BACK: usize = 16;

    /// For the items of one selection, asked about in order.
    pub fn new(items: &'a [Positioned<Selection>]) -> Self {
        Self { items, seen: (items.len() > Self::LOOK_BACK).then(|| HashSet::with_capacity(items.len())) }
    }

    /// Whether `key`, the response key of item `at`, is an earlier item's.
    pub fn repeated(&mut self, at: usize, key: &'a Name) -> bool {
        match &mut self.seen {
            Some(seen) => !seen.insert(key),
            None => self.items[..at].iter().any(|earlier| {
                matches!(&earlier.node, Selection::Field(earlier) if earlier.node.response_key().node == *key)
            }),
        }
    }
}

/// Writes the object `selection` asks of `object` to `out`, if it asks for plain fields only;
/// `false` otherwise (`out` then holds a part of it).
pub fn answer<T: PlainFields + ?Sized>(object: &T, selection: &SelectionSet, out: &mut dyn Out) -> bool {
    let items = &selection.items;
    let mut repeats = Repeats::new(items);
    out.begin_object(items.len());
    for (at, item) in items.iter().enumerate() {
        let Selection::Field(field) = &item.node else { return false };
        let field = &field.node;
        if !field.directives.is_empty() {
            return false;
        }
        let key: &Name = &field.response_key().node;
        if repeats.repeated(at, key) {
            // The same field again (validation allows only the same field under one key): a
            // scalar's value is the same; an object's selections would have to be merged,
            // which async-graphql does.
            if field.selection_set.node.items.is_empty() {
                continue;
            }
            return false;
        }
        out.key(key);
        let written = match field.name.node.as_str() {
            _ if !field.arguments.is_empty() => object.plain_field_with_arguments(field, out),
            "__typename" => {
                out.string(&object.typename());
                true
            }
            name => object.plain_field(name, &field.selection_set.node, out),
        };
        if !written {
            return false;
        }
    }
    out.end_object();
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    /// What `write` puts through both outputs: the JSON text, and `Values`' value as serde_json
    /// writes it (which is how async-graphql's answers are sent).
    fn both(write: impl Fn(&mut dyn Out)) -> (String, String) {
        let mut json = Json::default();
        write(&mut json);
        let mut values = Values::default();
        write(&mut values);
        let value = values.finish().expect("a whole value");
        (String::from_utf8(json.into_inner()).unwrap(), serde_json::to_string(&value).unwrap())
    }

    #[test]
    fn json_is_written_as_serde_json_writes_the_value() {
        let times = [
            Utc.with_ymd_and_hms(2026, 12, 2, 13, 58, 14).unwrap(),
            Utc.timestamp_opt(1_764_683_894, 120_000_000).unwrap(),
            Utc.timestamp_opt(1_764_683_894, 123_456_000).unwrap(),
            Utc.timestamp_opt(1_764_683_894, 123_456_789).unwrap(),
            Utc.timestamp_opt(0, 1).unwrap(),
        ];
        let (json, value) = both(|out| {
            out.begin_object(3);
            out.key(&Name::new("a \"key\""));
            out.begin_list(times.len() + 6);
            for at in times {
                out.time(at);
            }
            out.string("line\nbreak \u{1} \"quoted\" \\ é");
            out.optional_string(None);
            out.boolean(true);
            out.enumeration("IN_PROGRESS");
            out.global_id(GlobalId::new("Chat", 7));
            out.begin_object(0);
            out.end_object();
            out.end_list();
            out.key(&Name::new("empty"));
            out.begin_list(0);
            out.end_list();
            out.key(&Name::new("null"));
            out.optional_time(None);
            out.end_object();
        });
        assert_eq!(json, value);
        assert!(json.contains("\"2026-12-02T13:58:14+00:00\""), "{json}");
    }

    #[test]
    fn repeated_keys_are_found_in_short_and_long_selections() {
        use async_graphql::parser::types::DocumentOperations;
        for n in [3, 40] {
            let fields: String = (0..n).map(|i| format!("f{i}: id ")).collect();
            let query = format!("{{ {fields} f1: id f{n}: id }}");
            let document = async_graphql::parser::parse_query(&query).unwrap();
            let DocumentOperations::Single(operation) = &document.operations else { panic!("one operation") };
            let items = &operation.node.selection_set.node.items;
            let mut repeats = Repeats::new(items);
            let found: Vec<bool> = items
                .iter()
                .enumerate()
                .map(|(at, item)| {
                    let Selection::Field(field) = &item.node else { panic!("fields") };
                    repeats.repeated(at, &field.node.response_key().node)
                })
                .collect();
            let mut expected = vec![false; n];
            expected.extend([true, false]);
            assert_eq!(found, expected, "{n} fields");
        }
    }
}
