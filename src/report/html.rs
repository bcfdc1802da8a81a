//! The HTML report: one self-contained file rendered with handlebars from
//! `templates/report.html.hbs`. The data goes into the page as one JSON document inside a
//! `<script type="application/json">` block, escaped so that nothing in it can end the block;
//! the page's script renders it with `textContent` only (see templates/README.md).

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use handlebars::Handlebars;
use serde_json::{Value, json};

use super::Results;
use crate::analyze::{Scope, analyze_bucket};
use crate::config::BucketSelectors;
use crate::rules::RuleSet;
use crate::snapshot::Snapshot;

const TEMPLATE: &str = include_str!("../../templates/report.html.hbs");

/// Renders the report. The snapshot provides each finding's evidence: the sections its rule
/// read, as they were read.
pub fn render(
    results: &Results,
    rules: &RuleSet,
    snapshot: Option<&Snapshot>,
    critical: &BucketSelectors,
) -> Result<String> {
    let data = json!({
        "results": results,
        "rules": rule_docs(rules),
        "evidence": snapshot.map_or_else(|| json!({}), |s| evidence(results, rules, s, critical)),
    });
    let data_json = script_safe_json(&data)?;
    let mut handlebars = Handlebars::new();
    handlebars.set_strict_mode(true);
    handlebars
        .register_template_string("report", TEMPLATE)
        .context("the HTML template does not parse")?;
    let title = match &results.snapshot.organization_id {
        Some(org) => format!("s3audit report: organization {org}"),
        None => "s3audit report".to_string(),
    };
    handlebars
        .render(
            "report",
            &json!({
                "title": title,
                "generated_at": time::OffsetDateTime::now_utc()
                    .format(&time::format_description::well_known::Rfc3339)
                    .expect("the current time formats"),
                "data_json": data_json,
            }),
        )
        .context("cannot render the HTML report")
}

/// JSON that can sit inside `<script>`: `<`, `>` and `&` (and the JavaScript line
/// separators) are written as `\\u` escapes, which only ever occur inside JSON strings, so a
/// bucket tag `</script><img onerror=...>` stays data.
pub fn script_safe_json(value: &Value) -> Result<String> {
    let text = serde_json::to_string(value).context("cannot serialize the report data")?;
    let mut out = String::with_capacity(text.len() + text.len() / 50);
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn rule_docs(rules: &RuleSet) -> BTreeMap<&str, Value> {
    rules
        .rules
        .iter()
        .map(|rule| {
            let mappings: Vec<String> = rules
                .mappings(&rule.id)
                .into_iter()
                .map(|(f, r)| format!("{f}:{r}"))
                .collect();
            (
                rule.id.as_str(),
                json!({
                    "title": rule.title,
                    "severity": rule.severity,
                    "resource": rule.resource,
                    "message": rule.message.trim(),
                    "what": rule.docs.what.trim(),
                    "why": rule.docs.why.trim(),
                    "remediation": {
                        "console": rule.docs.remediation.console.trim(),
                        "cli": rule.docs.remediation.cli.trim(),
                        "terraform": rule.docs.remediation.terraform.trim(),
                    },
                    "references": rule.references,
                    "mappings": mappings,
                    "requires": rule.requires,
                }),
            )
        })
        .collect()
}

/// For each resource with findings, the sections its failing rules read.
fn evidence(
    results: &Results,
    rules: &RuleSet,
    snapshot: &Snapshot,
    critical: &BucketSelectors,
) -> Value {
    let scope = Scope::of(snapshot);
    let mut by_arn: BTreeMap<&str, BTreeMap<String, Value>> = BTreeMap::new();
    for finding in &results.findings {
        let Some(rule) = rules.get(&finding.rule_id) else {
            continue;
        };
        let Some(account) = snapshot
            .accounts
            .iter()
            .find(|a| a.id == finding.resource.account_id)
        else {
            continue;
        };
        let bucket = account
            .buckets
            .value()
            .and_then(|bs| bs.iter().find(|b| b.name == finding.resource.name))
            .filter(|_| finding.resource.kind == crate::rules::ResourceKind::Bucket);
        let entry = by_arn.entry(finding.resource.arn.as_str()).or_default();
        // Tags say whose bucket it is and what it holds, whichever rule failed; the derived
        // facts say why the public and TLS rules decided as they did.
        if let Some(bucket) = bucket
            && !entry.contains_key("bucket.tags")
        {
            entry.insert(
                "bucket.tags".to_string(),
                serde_json::to_value(&bucket.tags).expect("tags serialize"),
            );
            let analyzed = analyze_bucket(account, bucket, &scope, critical);
            entry.insert(
                "facts".to_string(),
                serde_json::to_value(&analyzed.facts).expect("facts serialize"),
            );
        }
        for section in &rule.requires {
            if entry.contains_key(section) {
                continue;
            }
            let Some((root, name)) = section.split_once('.') else {
                continue;
            };
            let sections = match (root, bucket) {
                ("bucket", Some(bucket)) => bucket.sections(),
                ("account", _) => account.sections(),
                _ => continue,
            };
            if let Some((_, value)) = sections.into_iter().find(|(n, _)| *n == name) {
                entry.insert(section.clone(), value.to_json());
            }
        }
    }
    serde_json::to_value(by_arn).expect("evidence serializes")
}

#[cfg(test)]
mod tests {
    #[test]
    fn nothing_in_the_data_can_close_the_script_block() {
        let value = serde_json::json!({"tag": "</script><img src=x onerror=alert(1)>&\u{2028}"});
        let safe = super::script_safe_json(&value).unwrap();
        assert!(
            !safe.contains('<') && !safe.contains('>') && !safe.contains('&'),
            "{safe}"
        );
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, value);
    }
}
