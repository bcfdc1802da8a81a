//! SARIF 2.1.0 for GitHub code scanning. The contract (see docs/sarif.md): every result has
//! exactly one physical location with a relative URI (`aws/<account>/s3/<bucket>`) and line 1,
//! the ARN in a logical location and in properties, its own `primaryLocationLineHash`; every
//! rule has descriptions, help text and markdown, and `security-severity`.

use std::collections::BTreeMap;

use serde_json::json;
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, LogicalLocation, Message, MultiformatMessageString,
    Notification, PhysicalLocation, PropertyBag, Region, ReportingConfiguration,
    ReportingDescriptor, ReportingDescriptorReference, Result as SarifResult, ResultLevel, Run,
    RunAutomationDetails, Suppression, Tool, ToolComponent,
};

use sha2::{Digest, Sha256};

use super::{Finding, Results, UnknownResult};
use crate::rules::engine::ResourceRef;
use crate::rules::{ResourceKind, Rule, RuleSet, Severity};

pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// GitHub's `security-severity` scale: critical 9.0+, high 7.0–8.9, medium 4.0–6.9, low 0.1–3.9.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.1",
    }
}

fn result_level(severity: Severity) -> ResultLevel {
    match severity {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low | Severity::Info => ResultLevel::Note,
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// The relative URI of a resource: `aws/<account>/s3/<bucket>`, `aws/<account>/account`,
/// `aws/<account>/s3-access-point/<region>/<name>` (names are unique per region) or
/// `aws/<account>/s3-multi-region-access-point/<name>` or `aws/<account>/s3express/<name>`
/// (directory bucket names are global, like bucket names).
/// GitHub needs a path, not an ARN; anything outside `[A-Za-z0-9._/-]` is percent-encoded.
pub fn resource_uri(resource: &ResourceRef) -> String {
    let path = match resource.kind {
        ResourceKind::Bucket => format!("aws/{}/s3/{}", resource.account_id, resource.name),
        ResourceKind::Account => format!("aws/{}/account", resource.account_id),
        ResourceKind::AccessPoint => format!(
            "aws/{}/s3-access-point/{}/{}",
            resource.account_id,
            resource.region.as_deref().unwrap_or("unknown-region"),
            resource.name
        ),
        ResourceKind::DirectoryBucket => {
            format!("aws/{}/s3express/{}", resource.account_id, resource.name)
        }
        ResourceKind::MultiRegionAccessPoint => format!(
            "aws/{}/s3-multi-region-access-point/{}",
            resource.account_id, resource.name
        ),
    };
    let mut encoded = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"._/-".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

fn properties(tags: Vec<String>, values: serde_json::Value) -> PropertyBag {
    let additional: BTreeMap<String, serde_json::Value> = match values {
        serde_json::Value::Object(map) => map.into_iter().collect(),
        _ => BTreeMap::new(),
    };
    let mut bag = PropertyBag::builder()
        .additional_properties(additional)
        .build();
    if !tags.is_empty() {
        bag.tags = Some(tags);
    }
    bag
}

fn help_text(rule: &Rule) -> String {
    format!(
        "{}\n\nWhy: {}\n\nRemediation (console): {}\n\nRemediation (CLI):\n{}\n\nRemediation (Terraform):\n{}",
        rule.docs.what.trim(),
        rule.docs.why.trim(),
        rule.docs.remediation.console.trim(),
        rule.docs.remediation.cli.trim(),
        rule.docs.remediation.terraform.trim(),
    )
}

fn text(s: impl Into<String>) -> Message {
    Message::builder().text(s.into()).build()
}

fn descriptor(rule: &Rule, rules: &RuleSet) -> ReportingDescriptor {
    let mappings = rules.mappings(&rule.id);
    let mut tags = vec!["security".to_string(), "s3".to_string()];
    tags.extend(mappings.iter().map(|(f, r)| format!("{f}:{r}")));
    ReportingDescriptor::builder()
        .id(rule.id.clone())
        .name(pascal_case(&rule.id))
        .short_description(MultiformatMessageString::builder().text(rule.title.clone()).build())
        .full_description(
            MultiformatMessageString::builder()
                .text(rule.docs.what.trim().to_string())
                .build(),
        )
        .help(
            MultiformatMessageString::builder()
                .text(help_text(rule))
                .markdown(crate::rules::docs::rule_page(rule, rules))
                .build(),
        )
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(level(rule.severity)))
                .build(),
        )
        .properties(properties(
            tags,
            json!({
                "security-severity": security_severity(rule.severity),
                "precision": "very-high",
                "problem.severity": if rule.severity >= Severity::High { "error" } else { "warning" },
            }),
        ))
        .build()
}

fn pascal_case(id: &str) -> String {
    id.split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or(String::new(), |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

fn location(resource: &ResourceRef) -> Location {
    Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(
                    ArtifactLocation::builder()
                        .uri(resource_uri(resource))
                        .build(),
                )
                .region(Region::builder().start_line(1).build())
                .build(),
        )
        .logical_locations(vec![
            LogicalLocation::builder()
                .kind("resource")
                .name(resource.name.clone())
                .fully_qualified_name(resource.arn.clone())
                .build(),
        ])
        .build()
}

/// Runs per file and results per run. GitHub accepts uploads of up to 20 runs of 25,000
/// results, but displays only 5 runs per file and 1,000 results per run by default; the SARIF
/// multitool's GitHub rule GH1004 checks those display limits, and s3audit stays within them
/// so that no alert is silently hidden.
pub const MAX_RUNS_PER_FILE: usize = 5;
pub const MAX_RESULTS_PER_RUN: usize = 1_000;

/// One SARIF file to write, ready to serialize. Results are built one at a time while
/// serializing, so a scan with a million findings never holds a million SARIF objects.
pub struct SarifFile<'a> {
    /// `s3audit.sarif`, or `s3audit-<n>.sarif` when the runs need several files.
    pub name: String,
    runs: Vec<PlannedRun<'a>>,
    rules: &'a RuleSet,
    index_of: &'a BTreeMap<&'a str, usize>,
}

/// A run and the findings it reports.
struct PlannedRun<'a> {
    run: Run,
    findings: Vec<&'a Finding>,
    /// Index of each rule in this run's `tool.driver.rules`: a run describes only the rules
    /// it reports, so that a file of many runs does not repeat every rule's help.
    rule_index: BTreeMap<&'a str, usize>,
}

impl serde::Serialize for SarifFile<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        #[derive(serde::Serialize)]
        struct RunWithResults<'r> {
            #[serde(flatten)]
            run: &'r Run,
            results: LazyResults<'r>,
        }
        let runs: Vec<RunWithResults> = self
            .runs
            .iter()
            .map(|planned| RunWithResults {
                run: &planned.run,
                results: LazyResults {
                    findings: &planned.findings,
                    rules: self.rules,
                    index_of: self.index_of,
                    rule_index: &planned.rule_index,
                },
            })
            .collect();
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("$schema", SARIF_SCHEMA)?;
        map.serialize_entry("version", "2.1.0")?;
        map.serialize_entry("runs", &runs)?;
        map.end()
    }
}

struct LazyResults<'r> {
    findings: &'r [&'r Finding],
    rules: &'r RuleSet,
    index_of: &'r BTreeMap<&'r str, usize>,
    rule_index: &'r BTreeMap<&'r str, usize>,
}

impl serde::Serialize for LazyResults<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.findings.len()))?;
        for finding in self.findings {
            seq.serialize_element(&sarif_result(
                finding,
                self.rules,
                self.index_of,
                self.rule_index,
            ))?;
        }
        seq.end()
    }
}

fn sarif_result(
    finding: &super::Finding,
    rules: &RuleSet,
    index_of: &BTreeMap<&str, usize>,
    rule_index: &BTreeMap<&str, usize>,
) -> SarifResult {
    let r = &finding.resource;
    let index = index_of[finding.rule_id.as_str()];
    let index_in_run = rule_index[finding.rule_id.as_str()];
    let mut fingerprints = BTreeMap::new();
    fingerprints.insert(
        "primaryLocationLineHash".to_string(),
        format!("{}:1", finding.fingerprint),
    );
    let mut result = SarifResult::builder()
        .rule_id(finding.rule_id.clone())
        .rule_index(index_in_run as i64)
        .level(result_level(finding.severity))
        .message(text(match &finding.detail {
            Some(detail) => format!(
                "{} {}: {} {}",
                r.kind.as_str(),
                r.name,
                rules.rules[index].message.trim(),
                detail.trim()
            ),
            None => format!(
                "{} {}: {}",
                r.kind.as_str(),
                r.name,
                rules.rules[index].message.trim()
            ),
        }))
        .locations(vec![location(r)])
        .partial_fingerprints(fingerprints)
        .properties(properties(
            Vec::new(),
            json!({ "arn": r.arn, "account": r.account_id, "region": r.region }),
        ))
        .build();
    // A waived finding stays in the log, suppressed, so its alert is dismissed rather than
    // closed as fixed; an expired waiver is no suppression.
    if let Some(waiver) = finding.waiver.as_ref().filter(|w| !w.expired) {
        result.suppressions = Some(vec![
            Suppression::builder()
                .kind(json!("external"))
                .status(json!("accepted"))
                .justification(format!(
                    "{} (owner {}, until {})",
                    waiver.reason, waiver.owner, waiver.expires
                ))
                .build(),
        ]);
    }
    result
}

/// The SARIF files for the results: one run per audited account (categorised
/// `s3audit/<account>/`), so that alerts are tracked per account and an account that could not
/// be audited is left out rather than uploaded empty, which would close all its alerts. An
/// account with more results than a run may hold gets one run per rule (and per bucket-name
/// shard beyond that); files hold at most [`MAX_RUNS_PER_FILE`] runs.
pub fn render<'a>(
    results: &'a Results,
    rules: &'a RuleSet,
    index_of: &'a BTreeMap<&'a str, usize>,
) -> Vec<SarifFile<'a>> {
    let descriptors: Vec<ReportingDescriptor> =
        rules.rules.iter().map(|r| descriptor(r, rules)).collect();
    let mut findings_by_account: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for finding in &results.findings {
        findings_by_account
            .entry(finding.resource.account_id.as_str())
            .or_default()
            .push(finding);
    }
    let mut unknown_by_account: BTreeMap<&str, Vec<&UnknownResult>> = BTreeMap::new();
    for unknown in &results.unknown {
        unknown_by_account
            .entry(unknown.resource.account_id.as_str())
            .or_default()
            .push(unknown);
    }
    let mut runs: Vec<PlannedRun> = Vec::new();
    for account in results
        .accounts
        .iter()
        .filter(|a| a.status != "failed" && a.buckets_listed)
    {
        let findings = findings_by_account
            .remove(account.id.as_str())
            .unwrap_or_default();
        let unknown = unknown_by_account
            .remove(account.id.as_str())
            .unwrap_or_default();
        for (i, (category, findings)) in categories(&account.id, findings).into_iter().enumerate() {
            // The account's unknown outcomes are told once, in its first run.
            let unknown: &[&UnknownResult] = if i == 0 { &unknown } else { &[] };
            let mut rule_ids: Vec<&str> = findings
                .iter()
                .map(|f| f.rule_id.as_str())
                .chain(unknown.iter().map(|u| u.rule_id.as_str()))
                .collect();
            rule_ids.sort_by_key(|id| index_of[id]);
            rule_ids.dedup();
            let rule_index: BTreeMap<&str, usize> = rule_ids
                .iter()
                .enumerate()
                .map(|(i, id)| (*id, i))
                .collect();
            let run_descriptors: Vec<ReportingDescriptor> = rule_ids
                .iter()
                .map(|id| descriptors[index_of[id]].clone())
                .collect();
            let notifications = unknown_notifications(unknown, &rule_index);
            let run = planned_run(results, run_descriptors, &category, notifications);
            runs.push(PlannedRun {
                run,
                findings,
                rule_index,
            });
        }
    }
    let chunks: Vec<Vec<PlannedRun>> = {
        let mut chunks = Vec::new();
        let mut runs = runs.into_iter().peekable();
        while runs.peek().is_some() {
            chunks.push(runs.by_ref().take(MAX_RUNS_PER_FILE).collect());
        }
        if chunks.is_empty() {
            chunks.push(Vec::new());
        }
        chunks
    };
    let several = chunks.len() > 1;
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, runs)| SarifFile {
            name: if several {
                format!("s3audit-{}.sarif", i + 1)
            } else {
                "s3audit.sarif".to_string()
            },
            runs,
            rules,
            index_of,
        })
        .collect()
}

/// Stable categories for one account's findings, each within the per-run limit: the
/// account, else one category per rule, else per rule and bucket-name shard. The shard count
/// is a power of two that only changes when a rule's findings in the account cross a power
/// of two, so buckets keep their category from run to run.
fn categories<'a>(account: &str, findings: Vec<&'a Finding>) -> Vec<(String, Vec<&'a Finding>)> {
    if findings.len() <= MAX_RESULTS_PER_RUN {
        return vec![(format!("s3audit/{account}/"), findings)];
    }
    let mut by_rule: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for finding in findings {
        by_rule
            .entry(finding.rule_id.as_str())
            .or_default()
            .push(finding);
    }
    let mut out = Vec::new();
    for (rule, findings) in by_rule {
        if findings.len() <= MAX_RESULTS_PER_RUN {
            out.push((format!("s3audit/{account}/{rule}/"), findings));
            continue;
        }
        let mut shards = findings
            .len()
            .div_ceil(MAX_RESULTS_PER_RUN)
            .next_power_of_two();
        loop {
            let mut by_shard: BTreeMap<usize, Vec<&Finding>> = BTreeMap::new();
            for finding in &findings {
                let digest = Sha256::digest(finding.resource.name.as_bytes());
                let hash = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
                by_shard
                    .entry((hash % shards as u64) as usize)
                    .or_default()
                    .push(finding);
            }
            // Hashing is not perfectly even: double the shards until every one fits.
            if by_shard.values().all(|f| f.len() <= MAX_RESULTS_PER_RUN) {
                for (shard, findings) in by_shard {
                    out.push((format!("s3audit/{account}/{rule}/{shard}/"), findings));
                }
                break;
            }
            shards *= 2;
        }
    }
    out
}

fn planned_run(
    results: &Results,
    descriptors: Vec<ReportingDescriptor>,
    category: &str,
    notifications: Vec<Notification>,
) -> Run {
    Run::builder()
        .tool(
            Tool::builder()
                .driver(
                    ToolComponent::builder()
                        .name("s3audit")
                        .version(results.tool.version.clone())
                        .semantic_version(results.tool.version.clone())
                        .information_uri("https://github.com/s3audit/s3audit")
                        .rules(descriptors)
                        .build(),
                )
                .build(),
        )
        .automation_details(RunAutomationDetails::builder().id(category).build())
        .invocations(vec![
            Invocation::builder()
                .execution_successful(true)
                .tool_execution_notifications(notifications)
                .build(),
        ])
        .build()
}

/// Unknown outcomes are not findings: they are reported as notifications, so that an
/// incomplete scan is visible without opening alerts.
fn unknown_notifications(
    unknown: &[&UnknownResult],
    rule_index: &BTreeMap<&str, usize>,
) -> Vec<Notification> {
    unknown
        .iter()
        .map(|u| {
            let reasons: Vec<String> = u
                .reasons
                .iter()
                .map(|r| match &r.code {
                    Some(code) => format!("{} {} ({code}): {}", r.section, r.state, r.message),
                    None => format!("{} {}: {}", r.section, r.state, r.message),
                })
                .collect();
            Notification::builder()
                .message(text(format!(
                    "{} on {} is unknown: {}",
                    u.rule_id,
                    u.resource.arn,
                    reasons.join("; ")
                )))
                .level(json!("warning"))
                .associated_rule(
                    ReportingDescriptorReference::builder()
                        .id(u.rule_id.clone())
                        .index(rule_index[u.rule_id.as_str()] as i64)
                        .build(),
                )
                .locations(vec![location(&u.resource)])
                .build()
        })
        .collect()
}

/// Rule index by id, for results and notifications.
pub fn rule_indexes(rules: &RuleSet) -> BTreeMap<&str, usize> {
    rules
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_paths_with_odd_characters_encoded() {
        let resource = ResourceRef {
            kind: ResourceKind::Bucket,
            account_id: "123456789012".into(),
            region: Some("eu-west-1".into()),
            name: "my.bucket name".into(),
            arn: "arn:aws:s3:::my.bucket name".into(),
        };
        assert_eq!(
            resource_uri(&resource),
            "aws/123456789012/s3/my.bucket%20name"
        );
    }

    #[test]
    fn severities_follow_githubs_scale() {
        for (severity, low, high) in [
            (Severity::Critical, 9.0, 10.0),
            (Severity::High, 7.0, 8.9),
            (Severity::Medium, 4.0, 6.9),
            (Severity::Low, 0.1, 3.9),
        ] {
            let value: f64 = security_severity(severity).parse().unwrap();
            assert!((low..=high).contains(&value), "{severity:?} = {value}");
        }
    }
}
