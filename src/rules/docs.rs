//! Rule documentation generated from the rule files: one Markdown page per rule (also what
//! `s3audit rules show` prints and each SARIF rule's `help`), an index, and the coverage of
//! each framework. `docs/rules/` holds the generated pages; a test fails when they are stale.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use super::{Rule, RuleSet};
use crate::rules::file::FrameworkFile;

/// The page of one rule.
pub fn rule_page(rule: &Rule, rules: &RuleSet) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# {}\n", rule.title);
    let _ = writeln!(
        md,
        "`{}` · severity **{}** · resource: {}\n",
        rule.id,
        rule.severity.as_str(),
        rule.resource.as_str()
    );
    let _ = writeln!(md, "## What\n\n{}\n", rule.docs.what.trim());
    let _ = writeln!(md, "## Why\n\n{}\n", rule.docs.why.trim());
    let remediation = &rule.docs.remediation;
    let _ = writeln!(
        md,
        "## Remediation\n\n### Console\n\n{}\n\n### AWS CLI\n\n```sh\n{}\n```\n\n### Terraform\n\n```hcl\n{}\n```\n",
        remediation.console.trim(),
        remediation.cli.trim(),
        remediation.terraform.trim()
    );
    let mappings = rules.mappings(&rule.id);
    if !mappings.is_empty() {
        md.push_str("## Compliance\n\n");
        for (framework, requirement) in mappings {
            let _ = writeln!(md, "- {framework}: {requirement}");
        }
        md.push('\n');
    }
    md.push_str("## How s3audit decides\n\n");
    let _ = writeln!(
        md,
        "Reads: {}.\n",
        if rule.requires.is_empty() {
            "the bucket list only".to_string()
        } else {
            rule.requires
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    if let Some(applies_if) = &rule.applies_if {
        let _ = writeln!(
            md,
            "Applies if (CEL; otherwise not applicable):\n\n```\n{}\n```\n",
            applies_if.source.trim()
        );
    }
    let _ = writeln!(
        md,
        "Passes when (CEL):\n\n```\n{}\n```\n",
        rule.condition.source.trim()
    );
    if let Some(detail) = &rule.detail {
        let _ = writeln!(
            md,
            "A finding names what fails (CEL):\n\n```\n{}\n```\n",
            detail.source.trim()
        );
    }
    md.push_str(
        "A section that could not be read (denied, or an error after retries) makes the \
         outcome unknown, never pass.\n\n",
    );
    if !rule.examples.is_empty() {
        md.push_str("## Examples\n\n| Example | Outcome |\n|---|---|\n");
        for example in &rule.examples {
            let _ = writeln!(
                md,
                "| {} | {} |",
                example.name.replace('|', "\\|"),
                example.expect.as_str()
            );
        }
        md.push('\n');
    }
    if !rule.references.is_empty() {
        md.push_str("## References\n\n");
        for reference in &rule.references {
            let _ = writeln!(md, "- <{reference}>");
        }
    }
    md
}

/// The index of all rules, with the coverage of each framework.
pub fn index_page(rules: &RuleSet) -> String {
    let mut md = String::from(
        "# s3audit rules\n\nGenerated from `rules/*.yaml` by `s3audit rules docs`; do not edit.\n\n\
         | Rule | Severity | Resource | Mappings |\n|---|---|---|---|\n",
    );
    for rule in &rules.rules {
        let mappings: Vec<String> = rules
            .mappings(&rule.id)
            .into_iter()
            .map(|(f, r)| format!("{f} {r}"))
            .collect();
        let _ = writeln!(
            md,
            "| [`{}`]({}.md) {} | {} | {} | {} |",
            rule.id,
            rule.id,
            rule.title.replace('|', "\\|"),
            rule.severity.as_str(),
            rule.resource.as_str(),
            mappings.join(", ")
        );
    }
    let _ = writeln!(
        md,
        "\n{} rules.\n\n# Framework coverage\n",
        rules.rules.len()
    );
    md.push_str(&coverage_markdown(rules));
    md
}

/// How many requirements of a framework are automated by rules, and which are manual.
pub struct Coverage<'a> {
    pub framework: &'a FrameworkFile,
    pub automated: usize,
    pub manual: Vec<(&'a str, &'a str, &'a str)>,
}

pub fn coverage(rules: &RuleSet) -> Vec<Coverage<'_>> {
    rules
        .frameworks
        .iter()
        .map(|framework| {
            let manual: Vec<(&str, &str, &str)> = framework
                .requirements
                .iter()
                .filter(|r| r.rules.is_empty())
                .map(|r| {
                    (
                        r.id.as_str(),
                        r.title.as_str(),
                        r.manual_reason.as_deref().unwrap_or("no reason given"),
                    )
                })
                .collect();
            Coverage {
                framework,
                automated: framework.requirements.len() - manual.len(),
                manual,
            }
        })
        .collect()
}

pub fn coverage_markdown(rules: &RuleSet) -> String {
    let mut md = String::new();
    for c in coverage(rules) {
        let total = c.framework.requirements.len();
        let _ = writeln!(
            md,
            "## {} ({})\n\n{} of {} requirements automated ({}%), {} manual.\n",
            c.framework.name,
            c.framework.version,
            c.automated,
            total,
            percent(c.automated, total),
            c.manual.len()
        );
        if !c.manual.is_empty() {
            md.push_str("| Manual requirement | Why |\n|---|---|\n");
            for (id, title, reason) in &c.manual {
                let _ = writeln!(
                    md,
                    "| {id} {} | {} |",
                    title.replace('|', "\\|"),
                    reason.trim().replace('\n', " ").replace('|', "\\|")
                );
            }
            md.push('\n');
        }
    }
    md
}

fn percent(part: usize, total: usize) -> usize {
    (part * 100).checked_div(total).unwrap_or(0)
}

/// Every generated file: `(file name, content)`.
pub fn pages(rules: &RuleSet) -> Vec<(String, String)> {
    let mut pages: Vec<(String, String)> = rules
        .rules
        .iter()
        .map(|rule| (format!("{}.md", rule.id), rule_page(rule, rules)))
        .collect();
    pages.push(("README.md".into(), index_page(rules)));
    pages
}

/// Writes the pages into `dir`, removing Markdown files of rules that no longer exist.
pub fn write(rules: &RuleSet, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let pages = pages(rules);
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let generated = name
            .as_ref()
            .is_some_and(|n| pages.iter().any(|(p, _)| p == n));
        if path.extension().is_some_and(|e| e == "md") && !generated {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    for (name, content) in pages {
        let path = dir.join(name);
        std::fs::write(&path, content)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// The files in `dir` that differ from what would be generated (stale, missing or extra).
pub fn stale(rules: &RuleSet, dir: &Path) -> Vec<String> {
    let pages = pages(rules);
    let mut stale: Vec<String> = pages
        .iter()
        .filter(|(name, content)| {
            std::fs::read_to_string(dir.join(name)).ok().as_deref() != Some(content.as_str())
        })
        .map(|(name, _)| name.clone())
        .collect();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".md") && !pages.iter().any(|(p, _)| *p == name) {
                stale.push(name);
            }
        }
    }
    stale.sort();
    stale
}
