//! The limits a GraphQL document must pass before anything expands it.
//!
//! async-graphql measures depth and complexity, and checks directives and recursion, by
//! walking the document with every fragment spread expanded where it appears. A fragment that
//! spreads the next one ten times, twelve levels down, is a 700-byte document that expands to
//! 10¹² selections: those walks would run for hours on a worker thread. So every document is
//! measured here first, in time linear in its size:
//!
//! - the text is scanned for nesting (`{`, `(`, `[`) before the parser (a recursive descent)
//!   sees it, so a deeply nested document cannot exhaust a thread's stack;
//! - each fragment is measured once and remembered, so a spread costs a look-up; a fragment
//!   that spreads itself is refused;
//! - the walk stops as soon as a limit is passed.
//!
//! What is measured, with fragments counted where they are spread:
//! - **depth**: the deepest nesting of fields (`QUERY_TOO_DEEP` over `max_depth`);
//! - **size**: fields, fragment spreads and inline fragments of every operation, plus every
//!   fragment definition counted once more on its own, so an unused fragment costs too
//!   (`QUERY_TOO_COMPLEX` over `max_complexity`);
//! - **aliases**: aliased fields (`QUERY_TOO_COMPLEX` over `max_aliases`).
//!
//! A document that passes expands to at most `max_complexity` selections, which bounds every
//! later walk (async-graphql's validation, complexity with page sizes, execution).

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ErrorExtensions, ServerError};

use super::error::codes;

mod complexity;

pub use complexity::{Measure, Measuring, StopAfterValidation, explain_complexity};

/// Deepest nesting of brackets the text may have, and of selection sets and fragment spreads
/// the walk follows (the parser refuses more than 64 nested selection sets anyway).
const MAX_NESTING: usize = 64;

/// The limits, from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct DocumentLimits {
    /// Deepest nesting of fields.
    pub max_depth: usize,
    /// Most selections (fields, fragment spreads, inline fragments) after expansion.
    pub max_complexity: usize,
    /// Most aliased fields after expansion.
    pub max_aliases: usize,
    /// Whether `__schema` and `__type` may be asked for.
    pub introspection: bool,
}

/// Why a document was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Exceeded {
    /// Brackets, selection sets or fragment spreads nest too deep to walk.
    #[error("the document nests more than {MAX_NESTING} levels")]
    Nesting,
    /// Fields nest deeper than allowed (`measured` is how deep the walk had got when it
    /// stopped: at least that).
    #[error("the query nests fields at least {measured} levels deep; the limit is {limit}")]
    Depth {
        /// Depth reached.
        measured: usize,
        /// The limit.
        limit: usize,
    },
    /// Too many selections once fragments are expanded.
    #[error(
        "the query is too complex: at least {measured} fields, fragment spreads and inline fragments once fragments are expanded; the limit is {limit}"
    )]
    Size {
        /// Selections counted.
        measured: usize,
        /// The limit.
        limit: usize,
    },
    /// Too many aliases once fragments are expanded.
    #[error(
        "the query is too complex: at least {measured} aliased fields once fragments are expanded; the limit is {limit}"
    )]
    Aliases {
        /// Aliases counted.
        measured: usize,
        /// The limit.
        limit: usize,
    },
    /// A fragment spreads itself, directly or through others.
    #[error("fragment `{0}` spreads itself")]
    Cycle(String),
    /// Introspection lists nest deeper than allowed.
    #[error("the query is too complex: introspection lists (types, fields, args...) nest more than {0} deep")]
    IntrospectionLists(usize),
    /// Too many `__schema`/`__type` fields.
    #[error("the query is too complex: more than {0} __schema and __type fields")]
    IntrospectionRoots(usize),
    /// Introspection is switched off on this server.
    #[error("introspection is disabled on this server")]
    IntrospectionDisabled,
}

impl Exceeded {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Nesting | Self::Depth { .. } => codes::QUERY_TOO_DEEP,
            Self::Size { .. }
            | Self::Aliases { .. }
            | Self::IntrospectionLists(_)
            | Self::IntrospectionRoots(_) => codes::QUERY_TOO_COMPLEX,
            Self::Cycle(_) => codes::VALIDATION_FAILED,
            Self::IntrospectionDisabled => codes::INTROSPECTION_DISABLED,
        }
    }
}

impl From<Exceeded> for ServerError {
    fn from(exceeded: Exceeded) -> Self {
        let code = exceeded.code();
        let mut err = ServerError::new(exceeded.to_string(), None);
        err.extensions = async_graphql::Error::new("").extend_with(|_, ext| ext.set("code", code)).extensions;
        err
    }
}

/// Refuses a text whose brackets nest deeper than [`MAX_NESTING`], without parsing it.
/// Strings, block strings and comments are skipped; unbalanced brackets are left to the
/// parser.
pub fn scan_nesting(text: &str) -> Result<(), Exceeded> {
    let bytes = text.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    // An escaped triple quote inside a block string.
                    i += if bytes[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'(' | b'[' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(Exceeded::Nesting);
                }
            }
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// What a selection set costs once its fragments are expanded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Cost {
    /// Fields, fragment spreads and inline fragments.
    selections: usize,
    /// Aliased fields.
    aliases: usize,
    /// Deepest nesting of fields below (a leaf field is 1), introspection fields aside.
    depth: usize,
    /// Deepest nesting of fields inside introspection (`__schema`, `__type` and fragments on
    /// the `__` types), where it is measured apart (see [`MAX_INTROSPECTION_DEPTH`]).
    introspection_depth: usize,
    /// Deepest nesting of introspection list fields (`types`, `fields`, `args`...): each
    /// multiplies the answer by the size of the schema.
    introspection_lists: usize,
    /// `__schema` and `__type` fields.
    introspection_roots: usize,
}

/// How deep introspection may nest: graphql-js's standard query nests 15 levels (its
/// `TypeRef` fragment follows `ofType` nine times), more than ordinary queries may.
pub const MAX_INTROSPECTION_DEPTH: usize = 24;
/// How many introspection lists may nest (the standard query: types → fields → args).
const MAX_INTROSPECTION_LISTS: usize = 3;
/// How many `__schema`/`__type` fields a document may select (each answers with the schema).
const MAX_INTROSPECTION_ROOTS: usize = 4;
/// Introspection fields that answer with a list of schema elements.
const INTROSPECTION_LISTS: &[&str] =
    &["types", "fields", "inputFields", "args", "interfaces", "possibleTypes", "enumValues", "directives"];

/// Whether a type condition names an introspection type (`__Type`, `__Field`...).
fn is_introspection_type(name: &str) -> bool {
    name.starts_with("__")
}

/// A fragment's cost while it is being measured, and after.
#[derive(Clone, Copy, Debug)]
enum Measured {
    InProgress,
    Done(Cost),
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    limits: DocumentLimits,
    fragments: HashMap<&'a str, Measured>,
}

impl<'a> Walk<'a> {
    /// Fails as soon as a partial cost is over a limit: costs only grow as the walk goes on,
    /// so the whole would be over it too.
    fn within(&self, cost: &Cost) -> Result<(), Exceeded> {
        if cost.depth > self.limits.max_depth {
            return Err(Exceeded::Depth { measured: cost.depth, limit: self.limits.max_depth });
        }
        if cost.selections > self.limits.max_complexity {
            return Err(Exceeded::Size { measured: cost.selections, limit: self.limits.max_complexity });
        }
        if cost.aliases > self.limits.max_aliases {
            return Err(Exceeded::Aliases { measured: cost.aliases, limit: self.limits.max_aliases });
        }
        if cost.introspection_roots > 0 && !self.limits.introspection {
            return Err(Exceeded::IntrospectionDisabled);
        }
        if cost.introspection_depth > MAX_INTROSPECTION_DEPTH {
            return Err(Exceeded::Depth {
                measured: cost.introspection_depth,
                limit: MAX_INTROSPECTION_DEPTH,
            });
        }
        if cost.introspection_lists > MAX_INTROSPECTION_LISTS {
            return Err(Exceeded::IntrospectionLists(MAX_INTROSPECTION_LISTS));
        }
        if cost.introspection_roots > MAX_INTROSPECTION_ROOTS {
            return Err(Exceeded::IntrospectionRoots(MAX_INTROSPECTION_ROOTS));
        }
        Ok(())
    }

    /// The cost of a selection set; `introspection` when it selects from an introspection
    /// type (its fields then count toward the introspection depth, not the ordinary one).
    fn selection_set(
        &mut self,
        set: &'a SelectionSet,
        level: usize,
        introspection: bool,
    ) -> Result<Cost, Exceeded> {
        if level > MAX_NESTING {
            return Err(Exceeded::Nesting);
        }
        let mut total = Cost::default();
        for item in &set.items {
            let cost = match &item.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    let root = !introspection && (name == "__schema" || name == "__type");
                    let below =
                        self.selection_set(&field.node.selection_set.node, level + 1, introspection || root)?;
                    let mut cost = Cost {
                        selections: below.selections.saturating_add(1),
                        aliases: below.aliases.saturating_add(usize::from(field.node.alias.is_some())),
                        ..below
                    };
                    if root {
                        // The introspection below is measured by its own limits.
                        self.within(&Cost { introspection_depth: below.introspection_depth + 1, ..below })?;
                        cost.depth = 1;
                        cost.introspection_depth = 0;
                        cost.introspection_lists = 0;
                        cost.introspection_roots = below.introspection_roots + 1;
                    } else if introspection {
                        cost.introspection_depth = below.introspection_depth + 1;
                        cost.introspection_lists =
                            below.introspection_lists + usize::from(INTROSPECTION_LISTS.contains(&name));
                    } else {
                        cost.depth = below.depth + 1;
                    }
                    cost
                }
                Selection::InlineFragment(inline) => {
                    let on = inline.node.type_condition.as_ref().map(|c| c.node.on.node.as_str());
                    let inside_introspection = introspection || on.is_some_and(is_introspection_type);
                    let inside =
                        self.selection_set(&inline.node.selection_set.node, level + 1, inside_introspection)?;
                    Cost { selections: inside.selections.saturating_add(1), ..inside }
                }
                Selection::FragmentSpread(spread) => {
                    let inside = self.fragment(&spread.node.fragment_name.node, level + 1)?;
                    Cost { selections: inside.selections.saturating_add(1), ..inside }
                }
            };
            total.selections = total.selections.saturating_add(cost.selections);
            total.aliases = total.aliases.saturating_add(cost.aliases);
            total.depth = total.depth.max(cost.depth);
            total.introspection_depth = total.introspection_depth.max(cost.introspection_depth);
            total.introspection_lists = total.introspection_lists.max(cost.introspection_lists);
            total.introspection_roots = total.introspection_roots.saturating_add(cost.introspection_roots);
            self.within(&total)?;
        }
        Ok(total)
    }

    /// A fragment's cost, measured the first time it is asked for. An unknown fragment costs
    /// nothing here; validation reports it.
    fn fragment(&mut self, name: &'a str, level: usize) -> Result<Cost, Exceeded> {
        match self.fragments.get(name) {
            Some(Measured::Done(cost)) => return Ok(*cost),
            Some(Measured::InProgress) => return Err(Exceeded::Cycle(name.to_owned())),
            None => {}
        }
        let Some((key, definition)) = self.document.fragments.get_key_value(name) else {
            return Ok(Cost::default());
        };
        self.fragments.insert(key.as_str(), Measured::InProgress);
        // A fragment's context is its type condition, so its cost is the same wherever it is
        // spread.
        let introspection = is_introspection_type(&definition.node.type_condition.node.on.node);
        let cost = self.selection_set(&definition.node.selection_set.node, level, introspection)?;
        self.fragments.insert(key.as_str(), Measured::Done(cost));
        Ok(cost)
    }
}

/// Measures a parsed document against the limits (see the module documentation).
pub fn check(document: &ExecutableDocument, limits: DocumentLimits) -> Result<(), Exceeded> {
    let mut walk = Walk { document, limits, fragments: HashMap::new() };
    let mut total = Cost::default();
    for name in document.fragments.keys() {
        let cost = walk.fragment(name.as_str(), 0)?;
        total.selections = total.selections.saturating_add(cost.selections);
        total.introspection_roots = total.introspection_roots.saturating_add(cost.introspection_roots);
        walk.within(&total)?;
    }
    for (_, operation) in document.operations.iter() {
        let cost = walk.selection_set(&operation.node.selection_set.node, 0, false)?;
        total.selections = total.selections.saturating_add(cost.selections);
        total.aliases = total.aliases.saturating_add(cost.aliases);
        total.depth = total.depth.max(cost.depth);
        total.introspection_roots = total.introspection_roots.saturating_add(cost.introspection_roots);
        walk.within(&total)?;
    }
    Ok(())
}

/// Parses a document and measures it: the nesting scan, the parser, then [`check`]. Linear
/// in the text's length.
pub fn parse(text: &str, limits: DocumentLimits) -> Result<ExecutableDocument, ServerError> {
    scan_nesting(text)?;
    let document = async_graphql::parser::parse_query(text).map_err(|err| {
        let mut err = ServerError::from(err);
        err.extensions = async_graphql::Error::new("")
            .extend_with(|_, ext| ext.set("code", codes::PARSE_FAILED))
            .extensions;
        err
    })?;
    check(&document, limits)?;
    Ok(document)
}

/// Texts longer than this are parsed on the blocking pool, so a large document never holds
/// a runtime worker (the body limit keeps them under a megabyte).
const PARSE_INLINE_MAX: usize = 16 * 1024;
/// Large documents parsed at once; others wait their turn (parsing is CPU-bound, and a flood
/// of them must not take more threads than there are cores).
static LARGE_PARSES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// [`parse`], off the runtime's workers when the text is large.
pub async fn parse_off_runtime(
    text: &str,
    limits: DocumentLimits,
) -> Result<ExecutableDocument, ServerError> {
    if text.len() <= PARSE_INLINE_MAX {
        return parse(text, limits);
    }
    let _permit = LARGE_PARSES.acquire().await.map_err(|_| ServerError::new("server stopping", None))?;
    let text = text.to_owned();
    tokio::task::spawn_blocking(move || parse(&text, limits))
        .await
        .unwrap_or_else(|err| Err(ServerError::new(format!("parsing failed: {err}"), None)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: DocumentLimits =
        DocumentLimits { max_depth: 12, max_complexity: 5000, max_aliases: 100, introspection: true };

    fn measure(text: &str) -> Result<(), Exceeded> {
        scan_nesting(text)?;
        check(&async_graphql::parser::parse_query(text).expect("parses"), LIMITS)
    }

    /// `levels` fragments, each spreading the next `fan_out` times.
    fn fragment_bomb(levels: usize, fan_out: usize) -> String {
        let mut text = String::from("query { ...F1 }\n");
        for level in 1..levels {
            text.push_str(&format!("fragment F{level} on Query {{"));
            for _ in 0..fan_out {
                text.push_str(&format!(" ...F{}", level + 1));
            }
            text.push_str(" }\n");
        }
        text.push_str(&format!("fragment F{levels} on Query {{ __typename }}\n"));
        text
    }

    #[test]
    fn ordinary_documents_pass() {
        measure("{ me { id name } }").unwrap();
        measure("query Q($id: ID!) { node(id: $id) { ... on Chat { id messages(last: 20) { edges { node { id } } } } } }").unwrap();
        measure("query { ...A } fragment A on Query { me { ...B } } fragment B on Agent { id name }")
            .unwrap();
    }

    #[test]
    fn fragment_bombs_are_refused_quickly() {
        assert!(matches!(measure(&fragment_bomb(12, 10)), Err(Exceeded::Size { limit: 5000, .. })));
        assert!(matches!(measure(&fragment_bomb(40, 2)), Err(Exceeded::Size { limit: 5000, .. })));
        // Small enough to pass: 3 levels of 10 = 100 typenames, 111 spreads.
        measure(&fragment_bomb(3, 10)).unwrap();
    }

    #[test]
    fn unused_fragments_cost_too() {
        let mut text = fragment_bomb(12, 10).replacen("query { ...F1 }", "query { __typename }", 1);
        text.push_str("fragment Unused on Query { __typename }");
        assert!(matches!(measure(&text), Err(Exceeded::Size { limit: 5000, .. })));
    }

    #[test]
    fn depth_counts_fields_through_fragments() {
        let mut text = String::from("query { ...F0 }");
        for level in 0..13 {
            text.push_str(&format!(
                " fragment F{level} on Query {{ node(id: \"x\") {{ ...F{} }} }}",
                level + 1
            ));
        }
        text.push_str(" fragment F13 on Query { __typename }");
        // `node` returns an interface, so this would not validate; depth is refused first.
        assert!(matches!(measure(&text), Err(Exceeded::Depth { limit: 12, .. })));
    }

    const GRAPHQL_JS_16: &str =
        include_str!("../../../../tests/fixtures/introspection/graphql-js-16.graphql");
    const GRAPHQL_JS_17: &str =
        include_str!("../../../../tests/fixtures/introspection/graphql-js-17.graphql");

    #[test]
    fn the_standard_introspection_queries_pass_whatever_the_depth_limit() {
        for query in [GRAPHQL_JS_16, GRAPHQL_JS_17] {
            measure(query).unwrap();
            let shallow = DocumentLimits { max_depth: 3, ..LIMITS };
            check(&async_graphql::parser::parse_query(query).unwrap(), shallow).unwrap();
            let off = DocumentLimits { introspection: false, ..LIMITS };
            let refused = check(&async_graphql::parser::parse_query(query).unwrap(), off);
            assert_eq!(refused, Err(Exceeded::IntrospectionDisabled));
        }
        let off = DocumentLimits { introspection: false, ..LIMITS };
        check(&async_graphql::parser::parse_query("{ __typename me { __typename } }").unwrap(), off).unwrap();
    }

    #[test]
    fn introspection_opens_no_way_around_the_limits() {
        // Lists nested four deep multiply the answer by the schema's size four times.
        let lists = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";
        assert_eq!(measure(lists), Err(Exceeded::IntrospectionLists(MAX_INTROSPECTION_LISTS)));
        let chain =
            format!("{{ __type(name: \"Chat\") {{ {} name {} }} }}", "ofType {".repeat(30), "}".repeat(30));
        assert!(matches!(measure(&chain), Err(Exceeded::Depth { limit: MAX_INTROSPECTION_DEPTH, .. })));
        let many: String = (0..5).map(|n| format!(" s{n}: __schema {{ types {{ name }} }}")).collect();
        assert_eq!(
            measure(&format!("{{{many} }}")),
            Err(Exceeded::IntrospectionRoots(MAX_INTROSPECTION_ROOTS))
        );
        // Ordinary fields under an ordinary root are not exempt, even through `__` fragments'
        // neighbours.
        let deep = format!("{{ __typename me {} id {} }}", "{ queues { agents ".repeat(6), "} } ".repeat(6));
        assert!(matches!(measure(&deep), Err(Exceeded::Depth { limit: 12, .. })));
    }

    /// The rule this module exists for, as a check: outside tests, nothing parses a GraphQL
    /// document but [`parse`] (a raw parse skips the nesting scan and the limits).
    #[test]
    fn documents_are_parsed_only_through_the_limits() {
        for file in
            crate::source_files::under("").iter().filter(|f| !f.path.ends_with("graphql/limits/mod.rs"))
        {
            let code = file.code();
            assert!(
                !code.contains("parser::parse_query(") && !code.contains(".parsed_query()"),
                "{} parses a GraphQL document itself; use graphql::limits::parse (or the document cache)",
                file.path.display()
            );
        }
    }

    #[test]
    fn cycles_are_refused() {
        let text = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
        assert!(matches!(measure(text), Err(Exceeded::Cycle(_))));
        assert!(matches!(
            measure("query { __typename } fragment A on Query { ...A }"),
            Err(Exceeded::Cycle(_))
        ));
    }

    #[test]
    fn aliases_are_counted_through_fragments() {
        let aliases: String = (0..20).map(|n| format!(" a{n}: __typename")).collect();
        let text = format!("query {{ ...A ...A ...A ...A ...A ...A }} fragment A on Query {{{aliases} }}");
        assert!(matches!(measure(&text), Err(Exceeded::Aliases { limit: 100, .. })));
    }

    #[test]
    fn deep_brackets_are_refused_before_parsing() {
        let deep = format!("{}{}", "{a".repeat(100_000), "}".repeat(100_000));
        assert_eq!(scan_nesting(&deep), Err(Exceeded::Nesting));
        let list = format!("{{ f(a: {}1{}) }}", "[".repeat(100), "]".repeat(100));
        assert_eq!(scan_nesting(&list), Err(Exceeded::Nesting));
        // Brackets inside strings and comments do not count.
        let quoted = format!("{{ f(a: \"{}\") }} # {}", "{".repeat(200), "[".repeat(200));
        scan_nesting(&quoted).unwrap();
        let block = format!("{{ f(a: \"\"\"{}\\\"\"\"{}\"\"\") }}", "(".repeat(200), "{".repeat(200));
        scan_nesting(&block).unwrap();
        let parsed = parse(&deep, LIMITS).unwrap_err();
        assert_eq!(
            parsed.extensions.unwrap().get("code"),
            Some(&async_graphql::Value::from(codes::QUERY_TOO_DEEP))
        );
    }
}
