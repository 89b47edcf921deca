//! What a request sent over a WebSocket is to the groups of `super::shared`: a subscription
//! others may join, one of its own, or a single answer; and whether its group can run its
//! events itself (one root field, see `crate::graphql::detached`).

use async_graphql::parser::Positioned;
use async_graphql::parser::types::{ExecutableDocument, OperationDefinition, OperationType, Selection};
use async_graphql::{Request, Value, Variables};

/// How a request may run.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Sharing {
    /// A subscription others may join.
    Shared,
    /// A subscription of its own (it replays from `after`, or names what cannot be compared).
    Own,
    /// A query, a mutation or a document that does not parse (one response, then complete).
    Single,
}

/// What each execution of a detached subscription is made from: the subscriber's request
/// without its data.
pub(super) struct Template {
    query: String,
    operation_name: Option<String>,
    variables: Variables,
}

impl Template {
    pub(super) fn of(request: &Request) -> Self {
        Self {
            query: request.query.clone(),
            operation_name: request.operation_name.clone(),
            variables: request.variables.clone(),
        }
    }

    pub(super) fn request(&self) -> Request {
        let mut request = Request::new(self.query.clone()).variables(self.variables.clone());
        request.operation_name = self.operation_name.clone();
        request
    }
}

/// Whether `request`'s operation (in `document`) selects exactly one root field, without
/// directives or extensions: one event stream, which its group can run (see
/// `graphql::detached`).
pub(super) fn one_root_field(request: &Request, document: Option<&ExecutableDocument>) -> bool {
    let Some(operation) = document.and_then(|document| operation(request, document)) else { return false };
    let items = &operation.node.selection_set.node.items;
    request.extensions.is_empty()
        && operation.node.directives.is_empty()
        && matches!(items.as_slice(), [item] if matches!(&item.node, Selection::Field(field) if field.node.directives.is_empty()))
}

/// The operation `request` runs in `document`, if it names one that is there.
fn operation<'a>(
    request: &Request,
    document: &'a ExecutableDocument,
) -> Option<&'a Positioned<OperationDefinition>> {
    crate::graphql::document_cache::operation(document, request.operation_name.as_deref())
}

/// Whether `request` (whose text is `document`) may join others: a subscription whose root
/// fields take no `after`.
pub(super) fn sharing(request: &Request, document: &ExecutableDocument) -> Sharing {
    let Some(operation) = operation(request, document) else { return Sharing::Single };
    if operation.node.ty != OperationType::Subscription {
        return Sharing::Single;
    }
    if !request.extensions.is_empty() {
        return Sharing::Own;
    }
    for selection in &operation.node.selection_set.node.items {
        let Selection::Field(field) = &selection.node else { return Sharing::Own };
        for (name, value) in &field.node.arguments {
            if name.node != "after" {
                continue;
            }
            // The argument with the request's variables in place (an unset one is null).
            let after = value.node.clone().into_const_with(|variable| {
                Ok::<_, std::convert::Infallible>(
                    request.variables.get(&variable).cloned().unwrap_or_default(),
                )
            });
            let replays = !matches!(after, Ok(Value::Null));
            if replays {
                return Sharing::Own;
            }
        }
    }
    Sharing::Shared
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sharing_of(query: &str, variables: serde_json::Value) -> Sharing {
        let request = Request::new(query).variables(async_graphql::Variables::from_json(variables));
        let limits = crate::graphql::limits::DocumentLimits {
            max_depth: 10,
            max_complexity: 100,
            max_aliases: 10,
            introspection: false,
        };
        match crate::graphql::limits::parse(query, limits) {
            Ok(document) => sharing(&request, &document),
            Err(_) => Sharing::Single,
        }
    }

    #[test]
    fn subscriptions_without_after_are_shared() {
        let shared = sharing_of;
        assert_eq!(shared("subscription { myChatEvents { id } }", serde_json::json!({})), Sharing::Shared);
        assert_eq!(
            shared("subscription S($a: ID) { myChatEvents(after: $a) { id } }", serde_json::json!({})),
            Sharing::Shared
        );
        assert_eq!(
            shared(
                "subscription S($a: ID) { myChatEvents(after: $a) { id } }",
                serde_json::json!({"a": "4"})
            ),
            Sharing::Own
        );
        assert_eq!(
            shared("subscription { myChatEvents(after: \"4\") { id } }", serde_json::json!({})),
            Sharing::Own
        );
        assert_eq!(
            shared("subscription { myChatEvents(after: null) { id } }", serde_json::json!({})),
            Sharing::Shared
        );
        assert_eq!(
            shared(
                "subscription { ...F } fragment F on Subscription { myChatEvents { id } }",
                serde_json::json!({})
            ),
            Sharing::Own
        );
        assert_eq!(shared("{ me { id } }", serde_json::json!({})), Sharing::Single);
        assert_eq!(shared("mutation { logout }", serde_json::json!({})), Sharing::Single);
        assert_eq!(shared("subscription {", serde_json::json!({})), Sharing::Single);
    }

    #[test]
    fn one_root_field_without_directives_can_be_detached() {
        let detachable = |query: &str| {
            let document = async_graphql::parser::parse_query(query).unwrap();
            one_root_field(&Request::new(query), Some(&document))
        };
        assert!(detachable("subscription { myChatEvents { id } }"));
        assert!(detachable("subscription S { chatMessages(chatId: \"1\") { id } }"));
        assert!(!detachable("subscription { myChatEvents { id } agentStatusChanged { id } }"));
        assert!(!detachable("subscription { ...F } fragment F on Subscription { myChatEvents { id } }"));
        assert!(!detachable("subscription { myChatEvents @include(if: true) { id } }"));
        assert!(!detachable("subscription A { myChatEvents { id } } subscription B { myChatEvents { id } }"));
        assert!(!one_root_field(&Request::new("subscription {"), None));
    }
}
