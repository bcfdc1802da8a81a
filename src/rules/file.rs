//! The YAML formats of a rule file (`rules/<id>.yaml`) and a framework file
//! (`rules/frameworks/<id>.yaml`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::vocabulary::{ResourceKind, Severity};

/// The expected outcome of a rule example.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Pass,
    Fail,
    Unknown,
    NotApplicable,
}

impl OutcomeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Pass => "pass",
            OutcomeKind::Fail => "fail",
            OutcomeKind::Unknown => "unknown",
            OutcomeKind::NotApplicable => "not_applicable",
        }
    }
}

/// One rule file.
#[derive(Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// Equal to the file name without `.yaml`; names the bad state (`bucket-versioning-disabled`).
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub resource: ResourceKind,
    /// Snapshot sections the rule reads, e.g. `bucket.versioning`, `account.public_access_block`.
    /// When one was denied or failed, the outcome is `unknown`.
    pub requires: Vec<String>,
    /// CEL: true when the rule applies to the resource; `not_applicable` otherwise.
    #[serde(default)]
    pub applies_if: Option<String>,
    /// CEL: true when the resource is compliant.
    pub condition: String,
    /// What a failing finding says, one sentence.
    pub message: String,
    /// CEL, optional: a string evaluated on a failing resource that says what exactly fails
    /// (which access points, which statements), added to the finding.
    #[serde(default)]
    pub detail: Option<String>,
    pub docs: RuleDocs,
    #[serde(default)]
    pub references: Vec<String>,
    /// Inputs with their expected outcome, run by `s3audit rules test`.
    pub examples: Vec<Example>,
    /// The change that fixes a failing resource, for `s3audit plan`. Left out when fixing
    /// takes a choice no placeholder can carry (what to replicate where, whether a website
    /// should stay public); the plan then lists the finding as manual.
    #[serde(default)]
    pub fix: Option<Fix>,
}

/// A fix, as data: an AWS CLI call (with its Terraform equivalent) or a bucket policy
/// statement merged into the bucket's policy. Placeholders: `{bucket}`, `{account}`,
/// `{region}`, `{partition}`, `{provider}`, `{tf_name}`, and upper-case decisions.
#[derive(Deserialize, Serialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Fix {
    /// The arguments after `aws --profile P --region R`, e.g.
    /// `s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled`.
    #[serde(default)]
    pub cli: Option<String>,
    /// The same change as Terraform resources (with `provider = {provider}`).
    #[serde(default)]
    pub terraform: Option<String>,
    /// A policy statement (JSON, with a `Sid`) added to the bucket's policy, replacing the
    /// statement of the same Sid and keeping every other one.
    #[serde(default)]
    pub policy_statement: Option<String>,
    /// What each upper-case placeholder asks the person applying the plan to choose.
    #[serde(default)]
    pub decisions: std::collections::BTreeMap<String, String>,
    /// Rules whose fix also fixes this one: on a bucket where one of them is planned too,
    /// this fix is left out (SSE-KMS is default encryption; applying SSE-S3 after it would
    /// undo it).
    #[serde(default)]
    pub superseded_by: Vec<String>,
}

#[derive(Deserialize, Serialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct RuleDocs {
    pub what: String,
    pub why: String,
    pub remediation: Remediation,
}

#[derive(Deserialize, Serialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Remediation {
    pub console: String,
    pub cli: String,
    pub terraform: String,
}

#[derive(Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub name: String,
    pub expect: OutcomeKind,
    /// Bucket fields in snapshot form, merged over a bucket whose sections are all `absent`.
    #[serde(default)]
    pub bucket: Option<serde_json::Value>,
    /// Account fields in snapshot form, merged over an account whose sections are all `absent`.
    /// The example account's id is `111122223333`.
    #[serde(default)]
    pub account: Option<serde_json::Value>,
    /// The organization the account belongs to, for rules about grants to other accounts.
    #[serde(default)]
    pub organization: Option<ExampleOrganization>,
    /// Text the finding's `detail` must contain (for a failing example of a rule with `detail`).
    #[serde(default)]
    pub detail: Option<String>,
    /// Other buckets of the same account in snapshot form (each with `name` and `region`),
    /// for facts about a bucket's logging target or replication destination.
    #[serde(default)]
    pub other_buckets: Vec<serde_json::Value>,
}

#[derive(Deserialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct ExampleOrganization {
    pub id: String,
    pub account_ids: Vec<String>,
}

/// One compliance framework file.
#[derive(Deserialize, Serialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct FrameworkFile {
    pub id: String,
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub url: Option<String>,
    pub requirements: Vec<Requirement>,
}

#[derive(Deserialize, Serialize, JsonSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub id: String,
    pub title: String,
    /// Rules that automate the requirement; empty means it is checked manually.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Why the requirement is manual, when `rules` is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_reason: Option<String>,
}

/// Names of placeholders the plan fills in itself.
pub const KNOWN_PLACEHOLDERS: &[&str] = &[
    "bucket",
    "account",
    "region",
    "partition",
    "provider",
    "tf_name",
];

/// The placeholders of a template, in order of appearance: `{name}`.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            found.push(name);
            rest = &after[end + 1..];
        } else {
            rest = after;
        }
    }
    found
}

/// A decision placeholder: upper case (`LOG_BUCKET`).
pub fn is_decision(name: &str) -> bool {
    name.chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod fix_tests {
    use super::*;

    #[test]
    fn placeholders_are_names_in_braces_and_json_is_left_alone() {
        assert_eq!(
            placeholders(
                r#"--bucket {bucket} '{"a": 1}' "Rules=[{X={SSE=aws:kms,Key={KMS_KEY}}}]""#
            ),
            ["bucket", "KMS_KEY"]
        );
        assert!(is_decision("LOG_BUCKET"));
        assert!(!is_decision("bucket"));
    }
}
