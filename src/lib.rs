//! s3audit: a compliance auditor for Amazon S3 across an AWS Organization.
//!
//! The data flows one way, one module per stage:
//! crawl → [`snapshot`] → [`analyze`] → [`rules`] (evaluate) → [`report`].
//! [`vocabulary`] (severity, resource kinds and references, tag selectors) and [`text`] sit
//! below every stage; no two modules import each other, directly or in a circle (a test
//! below reads the sources and checks).

pub mod analyze;
pub mod cli;
pub mod config;
pub mod crawl;
pub mod prices;
pub mod report;
pub mod rules;
pub mod snapshot;
pub mod text;
pub mod vocabulary;
pub mod watch;

#[cfg(test)]
mod module_graph {
    use std::collections::{BTreeMap, BTreeSet};

    /// The top-level modules each module's sources name as `crate::<module>`, tests included.
    fn imports() -> BTreeMap<String, BTreeSet<String>> {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut files = vec![src.clone()];
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let relative = path.strip_prefix(&src).unwrap();
            let module = relative
                .iter()
                .next()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            let entry = graph.entry(module.clone()).or_default();
            for (i, _) in text.match_indices("crate::") {
                let name: String = text[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if name != module && !name.is_empty() {
                    entry.insert(name);
                }
            }
        }
        graph
    }

    #[test]
    fn no_module_imports_itself_through_others() {
        let graph = imports();
        // Depth-first search from every module; a module met again on the current path is
        // a cycle.
        fn visit<'a>(
            graph: &'a BTreeMap<String, BTreeSet<String>>,
            module: &'a str,
            path: &mut Vec<&'a str>,
        ) {
            if let Some(start) = path.iter().position(|m| *m == module) {
                panic!("import cycle: {} -> {module}", path[start..].join(" -> "));
            }
            path.push(module);
            for next in graph.get(module).into_iter().flatten() {
                visit(graph, next, path);
            }
            path.pop();
        }
        for module in graph.keys() {
            visit(&graph, module, &mut Vec::new());
        }
        assert!(graph["vocabulary"].is_empty(), "{:?}", graph["vocabulary"]);
    }
}
