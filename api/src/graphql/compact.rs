//! Documents kept for a subscription's whole life, without their spare capacity.
//!
//! The parser collects every list of a document into a `Vec` grown by doubling, so a
//! selection of two fields keeps room for four (`Positioned<Selection>` is ~180 bytes). A
//! subscription that runs inside async-graphql keeps its document as long as it runs (those
//! run by their group, see `super::detached`, keep none between events): with 10,000 idle
//! subscribers that spare room was ~1 KiB each (measured with heaptrack, `subscription {
//! myChatEvents { id at } }`).

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
};

/// Gives back the spare capacity of every list in `document`.
pub fn compact(document: &mut ExecutableDocument) {
    match &mut document.operations {
        DocumentOperations::Single(operation) => compact_operation(&mut operation.node),
        DocumentOperations::Multiple(operations) => {
            operations.values_mut().for_each(|operation| compact_operation(&mut operation.node));
        }
    }
    for fragment in document.fragments.values_mut() {
        fragment.node.directives.shrink_to_fit();
        compact_selections(&mut fragment.node.selection_set.node);
    }
}

fn compact_operation(operation: &mut OperationDefinition) {
    operation.variable_definitions.shrink_to_fit();
    operation.directives.shrink_to_fit();
    compact_selections(&mut operation.selection_set.node);
}

fn compact_selections(set: &mut SelectionSet) {
    set.items.shrink_to_fit();
    for selection in &mut set.items {
        match &mut selection.node {
            Selection::Field(field) => {
                let field = &mut field.node;
                field.arguments.shrink_to_fit();
                field.directives.shrink_to_fit();
                compact_selections(&mut field.selection_set.node);
            }
            Selection::InlineFragment(fragment) => {
                fragment.node.directives.shrink_to_fit();
                compact_selections(&mut fragment.node.selection_set.node);
            }
            Selection::FragmentSpread(spread) => spread.node.directives.shrink_to_fit(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every selection list of `set` (and below) is exactly as long as its capacity.
    fn tight(set: &SelectionSet) -> bool {
        set.items.len() == set.items.capacity()
            && set.items.iter().all(|selection| match &selection.node {
                Selection::Field(field) => {
                    field.node.arguments.len() == field.node.arguments.capacity()
                        && tight(&field.node.selection_set.node)
                }
                Selection::InlineFragment(fragment) => tight(&fragment.node.selection_set.node),
                Selection::FragmentSpread(_) => true,
            })
    }

    fn operation_set(document: &ExecutableDocument) -> &SelectionSet {
        let DocumentOperations::Single(operation) = &document.operations else { panic!("one operation") };
        &operation.node.selection_set.node
    }

    #[test]
    fn every_list_keeps_only_its_items() {
        let text = "subscription { myChatEvents(after: \"1\") { id at ... on Event { kind } ...F } } \
                    fragment F on Event { id chat { id } }";
        let mut document = async_graphql::parser::parse_query(text).unwrap();
        // The parser leaves room to spare (else this test proves nothing).
        assert!(!tight(operation_set(&document)));
        let before = format!("{document:?}");
        compact(&mut document);
        assert!(tight(operation_set(&document)));
        assert!(document.fragments.values().all(|fragment| tight(&fragment.node.selection_set.node)));
        // Nothing but capacity changed.
        assert_eq!(format!("{document:?}"), before);
    }
}
