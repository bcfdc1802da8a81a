//! The shape of what a CEL expression can read (`bucket`, `account`, `facts`), derived from
//! the JSON Schemas of the snapshot and fact types, so the check of a rule's field paths can
//! never drift from the model.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::analyze::{AccountFacts, BucketFacts};
use crate::snapshot::{
    ACCOUNT_SECTIONS, AccessPoint, Account, Bucket, DirectoryBucket, MultiRegionAccessPoint,
};

#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A struct with known fields.
    Object(BTreeMap<String, Shape>),
    /// A map with arbitrary string keys (tags).
    Map(Box<Shape>),
    List(Box<Shape>),
    /// A snapshot section: its value when present, `null` when absent.
    Section(Box<Shape>),
    /// A string, number, bool or null.
    Scalar,
    /// Unknown (comprehension accumulators): nothing is checked below it.
    Any,
}

impl Shape {
    /// The shape of `self.field`, if `field` exists.
    pub fn field(&self, field: &str) -> Option<Shape> {
        match self {
            Shape::Object(fields) => fields.get(field).cloned(),
            Shape::Map(value) => Some((**value).clone()),
            Shape::Section(inner) => inner.field(field),
            Shape::Any => Some(Shape::Any),
            Shape::List(_) | Shape::Scalar => None,
        }
    }

    /// The field names, for "did you mean" help.
    pub fn field_names(&self) -> Vec<String> {
        match self {
            Shape::Object(fields) => fields.keys().cloned().collect(),
            Shape::Section(inner) => inner.field_names(),
            _ => Vec::new(),
        }
    }

    /// The element shape when iterating (`exists`, `all`, `map`, `in`).
    pub fn element(&self) -> Shape {
        match self {
            Shape::List(item) => (**item).clone(),
            Shape::Section(inner) => inner.element(),
            Shape::Map(_) | Shape::Object(_) | Shape::Scalar => Shape::Scalar,
            Shape::Any => Shape::Any,
        }
    }

    /// The shape of `self[key]`.
    pub fn index(&self) -> Shape {
        match self {
            Shape::List(item) | Shape::Map(item) => (**item).clone(),
            Shape::Section(inner) => inner.index(),
            _ => Shape::Any,
        }
    }
}

/// Shapes of the variables a rule of each kind can read.
pub struct Shapes {
    pub bucket: Shape,
    pub account: Shape,
    /// The facts of bucket rules.
    pub facts: Shape,
    /// The facts of account rules.
    pub account_facts: Shape,
    pub access_point: Shape,
    pub multi_region_access_point: Shape,
    pub directory_bucket: Shape,
}

impl Shapes {
    pub fn build() -> Shapes {
        let mut bucket = from_root(&json_schema::<Bucket>());
        // The CEL view adds the ARN, built from the partition.
        if let Shape::Object(fields) = &mut bucket {
            fields.insert("arn".into(), Shape::Scalar);
        }
        let mut account = from_root(&json_schema::<Account>());
        if let Shape::Object(fields) = &mut account {
            // Bucket rules see one bucket at a time, and the access outcome is not a section.
            fields.retain(|name, _| {
                ACCOUNT_SECTIONS.contains(&name.as_str()) || name == "id" || name == "name"
            });
        }
        let with_arn = |mut shape: Shape| {
            if let Shape::Object(fields) = &mut shape {
                fields.insert("arn".into(), Shape::Scalar);
            }
            shape
        };
        Shapes {
            directory_bucket: with_arn(from_root(&json_schema::<DirectoryBucket>())),
            access_point: with_arn(from_root(&json_schema::<AccessPoint>())),
            multi_region_access_point: with_arn(
                from_root(&json_schema::<MultiRegionAccessPoint>()),
            ),
            bucket,
            account,
            facts: from_root(&json_schema::<BucketFacts>()),
            account_facts: from_root(&json_schema::<AccountFacts>()),
        }
    }
}

fn json_schema<T: schemars::JsonSchema>() -> Json {
    serde_json::to_value(schemars::schema_for!(T)).expect("a JSON Schema always serializes")
}

fn from_root(root: &Json) -> Shape {
    from_node(root, root, 0)
}

fn from_node(root: &Json, node: &Json, depth: usize) -> Shape {
    // The model has no recursive types; the bound only guards against a future one.
    if depth > 32 {
        return Shape::Any;
    }
    if let Some(reference) = node.get("$ref").and_then(Json::as_str) {
        let name = reference.trim_start_matches("#/$defs/");
        return match root.get("$defs").and_then(|d| d.get(name)) {
            Some(target) => from_node(root, target, depth + 1),
            None => Shape::Any,
        };
    }
    for combinator in ["oneOf", "anyOf"] {
        if let Some(Json::Array(alternatives)) = node.get(combinator) {
            if let Some(value) = alternatives.iter().find_map(present_value) {
                return Shape::Section(Box::new(from_node(root, value, depth + 1)));
            }
            // `Option<T>`: T or null.
            let non_null: Vec<&Json> = alternatives
                .iter()
                .filter(|a| a.get("type").and_then(Json::as_str) != Some("null"))
                .collect();
            if let [only] = non_null.as_slice() {
                return from_node(root, only, depth + 1);
            }
            return Shape::Scalar;
        }
    }
    let types: Vec<&str> = match node.get("type") {
        Some(Json::String(t)) => vec![t.as_str()],
        Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    };
    if types.contains(&"array") {
        let items = node.get("items").unwrap_or(&Json::Null);
        return Shape::List(Box::new(from_node(root, items, depth + 1)));
    }
    if types.contains(&"object") {
        if let Some(Json::Object(properties)) = node.get("properties") {
            return Shape::Object(
                properties
                    .iter()
                    .map(|(name, p)| (name.clone(), from_node(root, p, depth + 1)))
                    .collect(),
            );
        }
        if let Some(values) = node.get("additionalProperties").filter(|v| v.is_object()) {
            return Shape::Map(Box::new(from_node(root, values, depth + 1)));
        }
        return Shape::Any;
    }
    Shape::Scalar
}

/// The `value` schema of a section's `present` alternative.
fn present_value(alternative: &Json) -> Option<&Json> {
    let properties = alternative.get("properties")?;
    let state = properties.get("state")?;
    let is_present = state.get("const").and_then(Json::as_str) == Some("present")
        || state
            .get("enum")
            .and_then(Json::as_array)
            .is_some_and(|e| e.iter().any(|v| v == "present"));
    is_present.then(|| properties.get("value")).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::BUCKET_SECTIONS;

    #[test]
    fn every_bucket_section_is_a_section_shape() {
        let shapes = Shapes::build();
        let Shape::Object(fields) = &shapes.bucket else {
            panic!("bucket is not an object: {:?}", shapes.bucket);
        };
        let sections: Vec<&str> = fields
            .iter()
            .filter(|(_, s)| matches!(s, Shape::Section(_)))
            .map(|(n, _)| n.as_str())
            .collect();
        let mut expected = BUCKET_SECTIONS.to_vec();
        expected.sort();
        assert_eq!(sections, expected);
    }

    #[test]
    fn nested_fields_resolve() {
        let shapes = Shapes::build();
        let versioning = shapes.bucket.field("versioning").unwrap();
        assert_eq!(versioning.field("status"), Some(Shape::Scalar));
        assert_eq!(versioning.field("statuss"), None);
        let grants = shapes.bucket.field("acl").unwrap().field("grants").unwrap();
        assert_eq!(grants.element().field("permission"), Some(Shape::Scalar));
        let tags = shapes.bucket.field("tags").unwrap();
        assert_eq!(tags.field("anything"), Some(Shape::Scalar));
        assert!(
            shapes
                .facts
                .field("exposure")
                .unwrap()
                .field("public_read")
                .is_some()
        );
        let account_sections: Vec<String> = shapes.account.field_names();
        assert!(account_sections.contains(&"trails".to_string()));
        assert!(!account_sections.contains(&"buckets".to_string()));
    }
}
