//! Embeds the rule and framework files of `rules/` in the binary, so `s3audit` needs no
//! files beside it.

use std::fmt::Write as _;
use std::path::Path;

fn yaml_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn array(name: &str, dir: &Path) -> String {
    let mut out = format!("pub static {name}: &[(&str, &str)] = &[\n");
    for file in yaml_files(dir) {
        let path = dir.join(&file);
        writeln!(
            out,
            "    ({file:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    out
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules = root.join("rules");
    let frameworks = rules.join("frameworks");
    println!("cargo:rerun-if-changed={}", rules.display());
    println!("cargo:rerun-if-changed={}", frameworks.display());
    let code = array("RULES", &rules) + &array("FRAMEWORKS", &frameworks);
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("embedded_rules.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
