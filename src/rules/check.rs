//! Load-time checks of a CEL expression against the snapshot model. The `cel` crate has no
//! type checker: a misspelled field would only fail at run time, per bucket, with no
//! position. Walking the parsed expression finds it once, with the column.

use std::collections::{BTreeMap, BTreeSet};

use cel::common::ast::{EntryExpr, Expr, IdedExpr};

use super::file::ResourceKind;
use super::shape::{Shape, Shapes};
use crate::analyze::FACT_DEPENDENCIES;
use crate::analyze::account::ACCOUNT_FACT_DEPENDENCIES;

/// A problem found in an expression, at a character offset of its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    pub offset: usize,
    pub message: String,
}

/// What an expression reads: the snapshot sections, directly or through facts.
#[derive(Debug, Default)]
pub struct Reads {
    pub sections: BTreeSet<String>,
    /// Top-level facts read (`facts.<name>`): a fact can be undecidable on its own (a nested
    /// section that could not be read), which makes the rule unknown.
    pub facts: BTreeSet<String>,
}

pub fn check_expression(
    program: &cel::Program,
    kind: ResourceKind,
    shapes: &Shapes,
) -> Result<Reads, PathError> {
    let mut roots: BTreeMap<String, (Shape, &'static str)> = BTreeMap::new();
    roots.insert("account".into(), (shapes.account.clone(), "account"));
    let fact_dependencies = match kind {
        ResourceKind::Bucket => {
            roots.insert("bucket".into(), (shapes.bucket.clone(), "bucket"));
            roots.insert("facts".into(), (shapes.facts.clone(), "facts"));
            FACT_DEPENDENCIES
        }
        ResourceKind::Account => {
            roots.insert("facts".into(), (shapes.account_facts.clone(), "facts"));
            ACCOUNT_FACT_DEPENDENCIES
        }
        ResourceKind::AccessPoint => {
            roots.insert(
                "access_point".into(),
                (shapes.access_point.clone(), "access_point"),
            );
            &[]
        }
        ResourceKind::DirectoryBucket => {
            roots.insert(
                "directory_bucket".into(),
                (shapes.directory_bucket.clone(), "directory_bucket"),
            );
            &[]
        }
        ResourceKind::MultiRegionAccessPoint => {
            roots.insert(
                "multi_region_access_point".into(),
                (
                    shapes.multi_region_access_point.clone(),
                    "multi_region_access_point",
                ),
            );
            &[]
        }
    };
    let mut walker = Walker {
        program,
        roots,
        fact_dependencies,
        locals: Vec::new(),
        reads: Reads::default(),
    };
    walker.walk(program.expression())?;
    Ok(walker.reads)
}

struct Walker<'a> {
    program: &'a cel::Program,
    /// Variable name → (shape, root name used to record section reads).
    roots: BTreeMap<String, (Shape, &'static str)>,
    /// The sections each fact of this kind of rule is computed from.
    fact_dependencies: &'static [(&'static str, &'static [&'static str])],
    /// Comprehension variables in scope, innermost last.
    locals: Vec<(String, Shape)>,
    reads: Reads,
}

impl Walker<'_> {
    fn error(&self, node: &IdedExpr, message: String) -> PathError {
        let offset = self
            .program
            .source_info()
            .offset_for(node.id)
            .map_or(0, |(start, _)| start as usize);
        PathError { offset, message }
    }

    /// Walks `node` and returns the shape of its value.
    fn walk(&mut self, node: &IdedExpr) -> Result<Shape, PathError> {
        match &node.expr {
            Expr::Ident(name) => {
                if let Some((_, shape)) = self.locals.iter().rev().find(|(n, _)| n == name) {
                    return Ok(shape.clone());
                }
                match self.roots.get(name) {
                    Some((shape, _)) => Ok(shape.clone()),
                    None => {
                        let known: Vec<&str> = self.roots.keys().map(String::as_str).collect();
                        Err(self.error(
                            node,
                            format!(
                                "unknown variable `{name}`; this rule can read {}",
                                known.join(", ")
                            ),
                        ))
                    }
                }
            }
            Expr::Select(select) => {
                let operand = self.walk(&select.operand)?;
                // Record `bucket.<section>`, `account.<section>` and `facts.<fact>` reads.
                if let Expr::Ident(root) = &select.operand.expr
                    && !self.locals.iter().any(|(n, _)| n == root)
                    && let Some((_, root_name)) = self.roots.get(root)
                {
                    self.record(root_name, &select.field);
                }
                match operand.field(&select.field) {
                    Some(shape) => Ok(shape),
                    None => {
                        let known = operand.field_names();
                        let help = if known.is_empty() {
                            String::from("it has no fields")
                        } else {
                            format!("known fields: {}", known.join(", "))
                        };
                        let mut error = self.error(
                            node,
                            format!(
                                "no field `{}` here in the snapshot model ({help})",
                                select.field
                            ),
                        );
                        // The node starts at the `.`; point at the field name after it.
                        error.offset += 1;
                        Err(error)
                    }
                }
            }
            Expr::Call(call) => {
                // `bucket["policy"]` would read a section the check cannot see, and so could
                // not require: sections are read by name only.
                if call.func_name == "_[_]"
                    && let Some(IdedExpr {
                        expr: Expr::Ident(root),
                        ..
                    }) = call.args.first()
                    && self.roots.contains_key(root)
                    && !self.locals.iter().any(|(n, _)| n == root)
                {
                    return Err(self.error(
                        node,
                        format!("read `{root}` by field name (`{root}.name`), not by index"),
                    ));
                }
                let target = match &call.target {
                    Some(t) => Some(self.walk(t)?),
                    None => None,
                };
                let mut args = Vec::with_capacity(call.args.len());
                for arg in &call.args {
                    args.push(self.walk(arg)?);
                }
                Ok(match (call.func_name.as_str(), args.first()) {
                    ("_[_]", Some(container)) => container.index(),
                    _ => {
                        let _ = target;
                        Shape::Any
                    }
                })
            }
            Expr::Comprehension(comp) => {
                let range = self.walk(&comp.iter_range)?;
                let accu_init = self.walk(&comp.accu_init)?;
                let depth = self.locals.len();
                match &comp.iter_var2 {
                    // Two-variable forms: index/key and value.
                    Some(second) => {
                        self.locals.push((comp.iter_var.clone(), Shape::Scalar));
                        self.locals.push((second.clone(), range.index()));
                    }
                    None => self.locals.push((comp.iter_var.clone(), range.element())),
                }
                self.locals.push((comp.accu_var.clone(), accu_init));
                let walked = (|| {
                    self.walk(&comp.loop_cond)?;
                    self.walk(&comp.loop_step)?;
                    self.walk(&comp.result)
                })();
                self.locals.truncate(depth);
                walked.map(|_| Shape::Any)
            }
            Expr::List(list) => {
                for element in &list.elements {
                    self.walk(element)?;
                }
                Ok(Shape::Any)
            }
            Expr::Map(map) => {
                for entry in &map.entries {
                    if let EntryExpr::MapEntry(e) = &entry.expr {
                        self.walk(&e.key)?;
                        self.walk(&e.value)?;
                    }
                }
                Ok(Shape::Any)
            }
            Expr::Struct(st) => {
                for entry in &st.entries {
                    if let EntryExpr::StructField(f) = &entry.expr {
                        self.walk(&f.value)?;
                    }
                }
                Ok(Shape::Any)
            }
            Expr::Literal(_) | Expr::Unspecified => Ok(Shape::Scalar),
        }
    }

    fn record(&mut self, root: &str, field: &str) {
        match root {
            "facts" => {
                self.reads.facts.insert(format!("facts.{field}"));
                if let Some((_, sections)) =
                    self.fact_dependencies.iter().find(|(f, _)| *f == field)
                {
                    self.reads
                        .sections
                        .extend(sections.iter().map(|s| s.to_string()));
                }
            }
            _ => {
                if crate::snapshot::BUCKET_SECTIONS.contains(&field) && root == "bucket"
                    || crate::snapshot::ACCOUNT_SECTIONS.contains(&field) && root == "account"
                    || crate::snapshot::ACCESS_POINT_SECTIONS.contains(&field)
                        && root == "access_point"
                    || crate::snapshot::DIRECTORY_BUCKET_SECTIONS.contains(&field)
                        && root == "directory_bucket"
                {
                    self.reads.sections.insert(format!("{root}.{field}"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(source: &str, kind: ResourceKind) -> Result<Vec<String>, PathError> {
        let program = cel::Program::compile(source).expect("compiles");
        check_expression(&program, kind, &Shapes::build())
            .map(|reads| reads.sections.into_iter().collect())
    }

    #[test]
    fn sections_and_fact_dependencies_are_recorded() {
        let reads = check(
            "bucket.versioning != null && bucket.versioning.status == 'Enabled' && !facts.acl.public_read",
            ResourceKind::Bucket,
        )
        .unwrap();
        assert_eq!(reads, ["bucket.acl", "bucket.versioning"]);
    }

    #[test]
    fn a_misspelled_field_is_found_with_its_offset() {
        let err = check(
            "bucket.versioning.statuss == 'Enabled'",
            ResourceKind::Bucket,
        )
        .unwrap_err();
        assert!(
            err.message.contains("no field `statuss`"),
            "{}",
            err.message
        );
        assert_eq!(err.offset, 18);
    }

    #[test]
    fn comprehension_variables_take_the_element_shape() {
        check(
            "bucket.acl.grants.exists(g, g.permission == 'READ')",
            ResourceKind::Bucket,
        )
        .unwrap();
        let err = check(
            "bucket.acl.grants.exists(g, g.permision == 'READ')",
            ResourceKind::Bucket,
        )
        .unwrap_err();
        assert!(err.message.contains("permision"), "{}", err.message);
    }

    #[test]
    fn account_rules_cannot_read_buckets() {
        let err = check("bucket.name == 'x'", ResourceKind::Account).unwrap_err();
        assert!(
            err.message.contains("unknown variable `bucket`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn the_roots_cannot_be_indexed() {
        let err = check("bucket['policy'] != null", ResourceKind::Bucket).unwrap_err();
        assert!(err.message.contains("not by index"), "{}", err.message);
    }

    #[test]
    fn map_keys_and_indexes_are_free() {
        check(
            "'env' in bucket.tags && bucket.tags['env'] == 'prod'",
            ResourceKind::Bucket,
        )
        .unwrap();
    }
}
