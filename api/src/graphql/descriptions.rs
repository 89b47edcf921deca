//! Every part of the schema a typed client sees carries a description.

use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};

/// Types and directives the GraphQL specification defines, described there.
const BUILT_IN: &[&str] =
    &["String", "Int", "Float", "Boolean", "ID", "include", "skip", "deprecated", "specifiedBy", "oneOf"];

fn described(description: &Option<async_graphql::Positioned<String>>) -> bool {
    description.as_ref().is_some_and(|d| !d.node.trim().is_empty())
}

#[test]
fn every_type_field_argument_and_value_has_a_description() {
    let document = async_graphql::parser::parse_schema(super::sdl_without_schema_description()).unwrap();
    let mut missing = Vec::new();
    for definition in &document.definitions {
        match definition {
            TypeSystemDefinition::Type(ty) => {
                let ty = &ty.node;
                let name = ty.name.node.as_str();
                if BUILT_IN.contains(&name) {
                    continue;
                }
                if !described(&ty.description) {
                    missing.push(format!("type {name}"));
                }
                let fields = match &ty.kind {
                    TypeKind::Object(object) => &object.fields,
                    TypeKind::Interface(interface) => &interface.fields,
                    TypeKind::Enum(e) => {
                        for value in &e.values {
                            if !described(&value.node.description) {
                                missing.push(format!("enum value {name}.{}", value.node.value.node));
                            }
                        }
                        continue;
                    }
                    TypeKind::InputObject(input) => {
                        for field in &input.fields {
                            if !described(&field.node.description) {
                                missing.push(format!("input field {name}.{}", field.node.name.node));
                            }
                        }
                        continue;
                    }
                    TypeKind::Scalar | TypeKind::Union(_) => continue,
                };
                for field in fields {
                    let field_name = &field.node.name.node;
                    if !described(&field.node.description) {
                        missing.push(format!("field {name}.{field_name}"));
                    }
                    for argument in &field.node.arguments {
                        if !described(&argument.node.description) {
                            missing
                                .push(format!("argument {name}.{field_name}({})", argument.node.name.node));
                        }
                    }
                }
            }
            TypeSystemDefinition::Directive(directive) => {
                let name = directive.node.name.node.as_str();
                if !BUILT_IN.contains(&name) && !described(&directive.node.description) {
                    missing.push(format!("directive @{name}"));
                }
            }
            TypeSystemDefinition::Schema(_) => {}
        }
    }
    assert!(missing.is_empty(), "{} without a description:\n{}", missing.len(), missing.join("\n"));
}

#[test]
fn the_sdl_carries_the_served_schema_description_and_specified_by() {
    let sdl = super::sdl();
    assert!(sdl.contains(&format!("\"\"\"\n{}\n\"\"\"\nschema {{", super::SCHEMA_DESCRIPTION)));
    assert!(
        sdl.contains("scalar DateTime @specifiedBy(url: \"https://datatracker.ietf.org/doc/html/rfc3339\")")
    );
}
