//! Where a plain answer is written ([`Out`]): async-graphql's `Value` ([`Values`]) inside its
//! execution, or the response's JSON text ([`Json`]) for a direct answer.

use std::io::Write as _;

use async_graphql::indexmap::IndexMap;
use async_graphql::{Name, Value};
use chrono::{DateTime, Utc};

use crate::domain::ids::GlobalId;

/// Where a plain answer is written: a JSON value, piece by piece.
pub trait Out {
    /// `null`.
    fn null(&mut self);
    /// A Boolean.
    fn boolean(&mut self, value: bool);
    /// Any text.
    fn string(&mut self, value: &str);
    /// An enum value, by its GraphQL name.
    fn enumeration(&mut self, name: &'static str);
    /// A global id (`ids::encode`) or a cursor (`ids::cursor`).
    fn global_id(&mut self, id: GlobalId);
    /// A time, as async-graphql's `DateTime` scalar writes it (RFC 3339).
    fn time(&mut self, at: DateTime<Utc>);
    /// Opens an object of about `fields` fields.
    fn begin_object(&mut self, fields: usize);
    /// The key of the object's next field.
    fn key(&mut self, key: &Name);
    /// Closes the object.
    fn end_object(&mut self);
    /// Opens a list of `items` items.
    fn begin_list(&mut self, items: usize);
    /// Closes the list.
    fn end_list(&mut self);

    /// Text, or `null`.
    fn optional_string(&mut self, value: Option<&str>) {
        match value {
            Some(value) => self.string(value),
            None => self.null(),
        }
    }

    /// A time, or `null`.
    fn optional_time(&mut self, at: Option<DateTime<Utc>>) {
        match at {
            Some(at) => self.time(at),
            None => self.null(),
        }
    }

    /// An enum value, or `null`.
    fn optional_enumeration(&mut self, name: Option<&'static str>) {
        match name {
            Some(name) => self.enumeration(name),
            None => self.null(),
        }
    }
}

/// The GraphQL name of an enum value.
pub fn enum_name<E: async_graphql::resolver_utils::EnumType + PartialEq>(value: E) -> &'static str {
    E::items().iter().find(|item| item.value == value).map_or("", |item| item.name)
}

/// Builds async-graphql's `Value` (for a plain answer inside its execution).
#[derive(Default)]
pub struct Values {
    open: Vec<Open>,
    done: Option<Value>,
}

/// An object or list [`Values`] is filling.
enum Open {
    Object(IndexMap<Name, Value>, Option<Name>),
    List(Vec<Value>),
}

impl Values {
    /// The value written, once it is whole.
    pub fn finish(self) -> Option<Value> {
        self.open.is_empty().then_some(self.done).flatten()
    }

    fn put(&mut self, value: Value) {
        match self.open.last_mut() {
            Some(Open::Object(fields, key)) => {
                if let Some(key) = key.take() {
                    fields.insert(key, value);
                }
            }
            Some(Open::List(items)) => items.push(value),
            None => self.done = Some(value),
        }
    }
}

impl Out for Values {
    fn null(&mut self) {
        self.put(Value::Null);
    }

    fn boolean(&mut self, value: bool) {
        self.put(Value::Boolean(value));
    }

    fn string(&mut self, value: &str) {
        self.put(Value::String(value.to_owned()));
    }

    fn enumeration(&mut self, name: &'static str) {
        self.put(Value::Enum(Name::new(name)));
    }

    fn global_id(&mut self, id: GlobalId) {
        self.put(Value::String(id.as_str().to_owned()));
    }

    fn time(&mut self, at: DateTime<Utc>) {
        self.put(Value::String(at.to_rfc3339()));
    }

    fn begin_object(&mut self, fields: usize) {
        self.open.push(Open::Object(IndexMap::with_capacity(fields), None));
    }

    fn key(&mut self, key: &Name) {
        if let Some(Open::Object(_, next)) = self.open.last_mut() {
            *next = Some(key.clone());
        }
    }

    fn end_object(&mut self) {
        if let Some(Open::Object(fields, _)) = self.open.pop() {
            self.put(Value::Object(fields));
        }
    }

    fn begin_list(&mut self, items: usize) {
        self.open.push(Open::List(Vec::with_capacity(items)));
    }

    fn end_list(&mut self) {
        if let Some(Open::List(items)) = self.open.pop() {
            self.put(Value::List(items));
        }
    }
}

/// Writes JSON text, compact, as serde_json writes async-graphql's `Value`.
#[derive(Default)]
pub struct Json(Vec<u8>);

impl Json {
    /// A writer that appends to `text`.
    pub fn new(text: Vec<u8>) -> Self {
        Self(text)
    }

    /// The text written.
    pub fn into_inner(self) -> Vec<u8> {
        self.0
    }

    /// Raw text: the JSON itself.
    pub fn raw(&mut self, text: &str) {
        self.0.extend_from_slice(text.as_bytes());
    }

    /// The comma before a value or key that follows another.
    fn separate(&mut self) {
        if !matches!(self.0.last(), None | Some(b'{' | b'[' | b':')) {
            self.0.push(b',');
        }
    }

    /// A string that needs no escaping (ids, cursors, enum names, times).
    fn plain_string(&mut self, text: &str) {
        self.separate();
        self.0.push(b'"');
        self.0.extend_from_slice(text.as_bytes());
        self.0.push(b'"');
    }

    fn escaped(&mut self, text: &str) {
        // Writing to memory cannot fail; serde_json escapes as it does for `Value`.
        let _infallible = serde_json::to_writer(&mut self.0, text);
    }
}

impl Out for Json {
    fn null(&mut self) {
        self.separate();
        self.0.extend_from_slice(b"null");
    }

    fn boolean(&mut self, value: bool) {
        self.separate();
        self.0.extend_from_slice(if value { b"true" } else { b"false" });
    }

    fn string(&mut self, value: &str) {
        self.separate();
        self.escaped(value);
    }

    fn enumeration(&mut self, name: &'static str) {
        self.plain_string(name);
    }

    fn global_id(&mut self, id: GlobalId) {
        self.plain_string(id.as_str());
    }

    fn time(&mut self, at: DateTime<Utc>) {
        use chrono::format::{Fixed, Item};
        self.separate();
        self.0.push(b'"');
        // `to_rfc3339`, without its String.
        let _infallible =
            write!(self.0, "{}", at.format_with_items(std::iter::once(Item::Fixed(Fixed::RFC3339))));
        self.0.push(b'"');
    }

    fn begin_object(&mut self, _: usize) {
        self.separate();
        self.0.push(b'{');
    }

    fn key(&mut self, key: &Name) {
        self.separate();
        self.escaped(key.as_str());
        self.0.push(b':');
    }

    fn end_object(&mut self) {
        self.0.push(b'}');
    }

    fn begin_list(&mut self, _: usize) {
        self.separate();
        self.0.push(b'[');
    }

    fn end_list(&mut self) {
        self.0.push(b']');
    }
}
