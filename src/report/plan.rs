//! Remediation plans (`s3audit plan`): for each open finding whose rule declares a fix, the
//! exact change, as an AWS CLI script or as Terraform. Generated, never applied: s3audit
//! itself only reads. A fix that needs a decision (which KMS key, which log bucket) leaves a
//! named placeholder: the script stops until it is set, Terraform asks for a variable.
//!
//! Placeholders in a rule's `fix`: `{bucket}`, `{account}`, `{region}`, `{partition}`,
//! `{provider}` (Terraform) and `{tf_name}` (a Terraform name unique to the finding), and
//! upper-case decisions such as `{LOG_BUCKET}`, each described under `decisions`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::{Finding, Results};
use crate::rules::file::{Fix, placeholders};
use crate::rules::{ResourceKind, RuleSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    /// A bash script of AWS CLI calls.
    Sh,
    /// Terraform resources.
    Terraform,
}

/// Which findings to plan for.
#[derive(Debug, Clone, Default)]
pub struct PlanFilter {
    pub rules: Vec<String>,
    pub accounts: Vec<String>,
}

/// A plan and what it covers.
#[derive(Debug)]
pub struct Plan {
    pub text: String,
    /// Findings the plan changes.
    pub covered: Vec<String>,
    /// Findings left to people: the rule has no fix, or the resource's name is not one a
    /// script can carry safely. `(rule id, resource ARN, why)`.
    pub manual: Vec<(String, String, String)>,
}

/// Values that may go into a script or a Terraform string as they are: what AWS allows in
/// bucket names, account ids and regions. Anything else is left to people.
fn safe(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
}

struct Target<'a> {
    finding: &'a Finding,
    fix: &'a Fix,
    region: &'a str,
    tf_name: String,
    /// Another planned fix of the bucket that fixes this finding too.
    superseded_by: Option<String>,
}

impl Target<'_> {
    /// `# <rule>: bucket <name> (<region>)` and the rule's message: what a change is for.
    fn comment(&self, rules: &RuleSet) -> String {
        let message = rules
            .get(&self.finding.rule_id)
            .map_or("", |r| r.message.as_str());
        format!(
            "\n# {}: bucket {} ({})\n# {}",
            self.finding.rule_id,
            self.finding.resource.name,
            self.region,
            message.split_whitespace().collect::<Vec<_>>().join(" ")
        )
    }

    fn fill(&self, template: &str, partition: &str, decision: impl Fn(&str) -> String) -> String {
        let resource = &self.finding.resource;
        let provider = provider_name(&resource.account_id, self.region);
        let mut out = template.to_string();
        for name in placeholders(template) {
            let value = match name {
                "bucket" => resource.name.clone(),
                "account" => resource.account_id.clone(),
                "region" => self.region.to_string(),
                "partition" => partition.to_string(),
                "provider" => format!("aws.{provider}"),
                "tf_name" => self.tf_name.clone(),
                decision_name => decision(decision_name),
            };
            out = out.replace(&format!("{{{name}}}"), &value);
        }
        out
    }
}

fn provider_name(account: &str, region: &str) -> String {
    format!("a{account}_{}", region.replace('-', "_"))
}

/// The plan for `results` (open findings only: waived ones are left alone).
pub fn plan(results: &Results, rules: &RuleSet, format: PlanFormat, filter: &PlanFilter) -> Plan {
    let partition = results.snapshot.partition.as_str();
    let mut targets = Vec::new();
    let mut manual = Vec::new();
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for finding in results.findings.iter().filter(|f| f.is_active()) {
        if !filter.rules.is_empty() && !filter.rules.contains(&finding.rule_id) {
            continue;
        }
        if !filter.accounts.is_empty() && !filter.accounts.contains(&finding.resource.account_id) {
            continue;
        }
        let resource = &finding.resource;
        let mut leave = |why: &str| {
            manual.push((
                finding.rule_id.clone(),
                resource.arn.clone(),
                why.to_string(),
            ));
        };
        let Some(fix) = rules.get(&finding.rule_id).and_then(|r| r.fix.as_ref()) else {
            leave("the rule has no generated fix: see its remediation");
            continue;
        };
        let region = match (&resource.kind, &resource.region) {
            (ResourceKind::Bucket, Some(region)) => region.as_str(),
            (ResourceKind::Bucket, None) => {
                leave("the bucket's region is not known");
                continue;
            }
            _ => {
                leave("fixes are generated for buckets only");
                continue;
            }
        };
        if ![&resource.name, &resource.account_id, &region.to_string()]
            .iter()
            .all(|v| safe(v))
        {
            leave("the resource's name has characters a generated script should not carry");
            continue;
        }
        let base = format!("{}_{}", finding.rule_id, resource.name).replace(['-', '.'], "_");
        let count = names.entry(base.clone()).or_default();
        *count += 1;
        let tf_name = if *count == 1 {
            base
        } else {
            format!("{base}_{count}")
        };
        targets.push(Target {
            finding,
            fix,
            region,
            tf_name,
            superseded_by: None,
        });
    }
    // A fix another planned fix of the same bucket supersedes is left out; its finding is
    // still covered, by the other change.
    let planned: BTreeSet<(String, String)> = targets
        .iter()
        .map(|t| (t.finding.rule_id.clone(), t.finding.resource.arn.clone()))
        .collect();
    for target in &mut targets {
        target.superseded_by = target
            .fix
            .superseded_by
            .iter()
            .find(|rule| planned.contains(&((*rule).clone(), target.finding.resource.arn.clone())))
            .cloned();
    }
    let text = match format {
        PlanFormat::Sh => shell(results, rules, partition, &targets, &manual),
        PlanFormat::Terraform => terraform(results, rules, partition, &targets, &manual),
    };
    Plan {
        text,
        covered: targets
            .iter()
            .map(|t| format!("{} {}", t.finding.rule_id, t.finding.resource.arn))
            .collect(),
        manual,
    }
}

/// Every decision the targets need, with its description.
fn decisions(targets: &[Target]) -> BTreeMap<String, (String, BTreeSet<String>)> {
    let mut all: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    for target in targets {
        for (name, description) in &target.fix.decisions {
            all.entry(name.clone())
                .or_insert_with(|| (description.clone(), BTreeSet::new()))
                .1
                .insert(target.finding.rule_id.clone());
        }
    }
    all
}

fn header(out: &mut String, comment: &str, results: &Results, targets: &[Target]) {
    let accounts: BTreeSet<&str> = targets
        .iter()
        .map(|t| t.finding.resource.account_id.as_str())
        .collect();
    let _ = writeln!(
        out,
        "{comment} Remediation plan generated by s3audit {} from the results of the crawl started \
         {}.",
        results.tool.version, results.snapshot.started_at
    );
    let _ = writeln!(
        out,
        "{comment} {} finding(s) covered in {} account(s). Review every change before applying: s3audit \
         never applies anything itself.",
        targets.len(),
        accounts.len()
    );
}

fn manual_section(out: &mut String, comment: &str, manual: &[(String, String, String)]) {
    if manual.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{comment} Not covered ({}), to fix by hand (`s3audit rules show RULE`):",
        manual.len()
    );
    for (rule, arn, why) in manual {
        let _ = writeln!(out, "{comment}   {rule}  {arn}: {why}");
    }
}

fn shell(
    results: &Results,
    rules: &RuleSet,
    partition: &str,
    targets: &[Target],
    manual: &[(String, String, String)],
) -> String {
    let mut out = String::from("#!/usr/bin/env bash\n");
    header(&mut out, "#", results, targets);
    out.push_str(
        "# Each account is reached through an AWS CLI profile: s3audit-ACCOUNT_ID, or the one\n\
         # named by S3AUDIT_PROFILE_ACCOUNT_ID. Every step can run again safely (it sets a\n\
         # state, or replaces the policy statement of the same Sid).\n",
    );
    let decisions = decisions(targets);
    if !decisions.is_empty() {
        out.push_str("#\n# Decisions to make first (the script stops while one is not set):\n");
        for (name, (description, rules)) in &decisions {
            let rules: Vec<&str> = rules.iter().map(String::as_str).collect();
            let _ = writeln!(out, "#   {name}: {description} ({})", rules.join(", "));
        }
    }
    out.push_str("set -euo pipefail\n");
    if targets.iter().any(|t| t.fix.policy_statement.is_some()) {
        out.push_str(MERGE_POLICY_STATEMENT);
    }
    let mut by_account: BTreeMap<&str, Vec<&Target>> = BTreeMap::new();
    for target in targets {
        by_account
            .entry(target.finding.resource.account_id.as_str())
            .or_default()
            .push(target);
    }
    for (account, targets) in by_account {
        let _ = writeln!(
            out,
            "\n# ---- account {account} ----\nprofile_{account}=${{S3AUDIT_PROFILE_{account}:-s3audit-{account}}}"
        );
        for target in targets {
            let resource = &target.finding.resource;
            let _ = writeln!(out, "{}", target.comment(rules));
            if let Some(other) = &target.superseded_by {
                let _ = writeln!(out, "# Fixed by the {other} change of this bucket.");
                continue;
            }
            let decision = |name: &str| {
                let what = target.fix.decisions.get(name).map_or("", String::as_str);
                format!("${{{name}:?set {name}: {what}}}")
            };
            let aws = format!(
                "aws --profile \"$profile_{account}\" --region {}",
                target.region
            );
            if let Some(cli) = &target.fix.cli {
                let command = target.fill(cli.trim(), partition, decision);
                let _ = writeln!(out, "{aws} {command}");
            }
            if let Some(statement) = &target.fix.policy_statement {
                let statement = target.fill(statement.trim(), partition, decision);
                let _ = writeln!(
                    out,
                    "merge_policy_statement \"$profile_{account}\" {} {} '{}'",
                    target.region,
                    resource.name,
                    statement.replace('\n', " ")
                );
            }
        }
    }
    manual_section(&mut out, "#", manual);
    out
}

/// Adds a statement to a bucket policy, replacing the statement of the same Sid: the
/// bucket's other statements stay as they are. A policy that cannot be read (other than
/// "there is none") stops the script rather than being overwritten.
const MERGE_POLICY_STATEMENT: &str = r#"
# merge_policy_statement PROFILE REGION BUCKET STATEMENT_JSON
merge_policy_statement() {
  local profile=$1 region=$2 bucket=$3 statement=$4 current merged errors
  errors=$(mktemp)
  if ! current=$(aws --profile "$profile" --region "$region" s3api get-bucket-policy \
      --bucket "$bucket" --query Policy --output text 2>"$errors"); then
    if ! grep -q NoSuchBucketPolicy "$errors"; then
      cat "$errors" >&2
      rm -f "$errors"
      return 1
    fi
    current='{"Version": "2012-10-17", "Statement": []}'
  fi
  rm -f "$errors"
  merged=$(python3 -c '
import json, sys
policy, new = json.loads(sys.argv[1]), json.loads(sys.argv[2])
statements = policy.get("Statement", [])
statements = [statements] if isinstance(statements, dict) else statements
policy["Statement"] = [s for s in statements if s.get("Sid") != new["Sid"]] + [new]
print(json.dumps(policy))
' "$current" "$statement")
  aws --profile "$profile" --region "$region" s3api put-bucket-policy --bucket "$bucket" \
    --policy "$merged"
}
"#;

fn terraform(
    results: &Results,
    rules: &RuleSet,
    partition: &str,
    targets: &[Target],
    manual: &[(String, String, String)],
) -> String {
    let mut out = String::new();
    header(&mut out, "#", results, targets);
    out.push_str(
        "# The resources below manage settings of buckets that already exist: import them or\n\
         # move them next to the bucket's own definition. Policy statements are merged into\n\
         # each bucket's current policy (read with the aws_s3_bucket_policy data source).\n\n\
         terraform {\n  required_providers {\n    aws = {\n      source  = \"hashicorp/aws\"\n      \
         version = \">= 5.0\"\n    }\n  }\n}\n",
    );
    let providers: BTreeSet<(&str, &str)> = targets
        .iter()
        .map(|t| (t.finding.resource.account_id.as_str(), t.region))
        .collect();
    for (account, region) in providers {
        let _ = writeln!(
            out,
            "\nprovider \"aws\" {{\n  alias   = \"{}\"\n  region  = \"{region}\"\n  profile = \"s3audit-{account}\"\n}}",
            provider_name(account, region)
        );
    }
    for (name, (description, _)) in decisions(targets) {
        let _ = writeln!(
            out,
            "\nvariable \"{}\" {{\n  type        = string\n  description = \"{}\"\n}}",
            name.to_ascii_lowercase(),
            description.replace('"', "'")
        );
    }
    let decision = |name: &str| format!("${{var.{}}}", name.to_ascii_lowercase());
    // Policy statements: one merged policy per bucket, whatever the number of rules.
    let mut statements: BTreeMap<(&str, &str, &str), Vec<String>> = BTreeMap::new();
    for target in targets {
        let resource = &target.finding.resource;
        let comment = target.comment(rules);
        if let Some(other) = &target.superseded_by {
            let _ = writeln!(
                out,
                "{comment}\n# Fixed by the {other} change of this bucket."
            );
            continue;
        }
        if let Some(template) = &target.fix.terraform {
            let _ = writeln!(out, "{comment}");
            let _ = writeln!(out, "{}", target.fill(template.trim(), partition, decision));
        }
        if let Some(statement) = &target.fix.policy_statement {
            statements
                .entry((
                    resource.account_id.as_str(),
                    target.region,
                    resource.name.as_str(),
                ))
                .or_default()
                .push(target.fill(statement.trim(), partition, decision));
        }
    }
    for ((account, region, bucket), statements) in statements {
        let name = format!("policy_{bucket}").replace(['-', '.'], "_");
        let provider = provider_name(account, region);
        let _ = writeln!(
            out,
            "\n# The policy of bucket {bucket}, with {} statement(s) added.\n\
             data \"aws_s3_bucket_policy\" \"{name}\" {{\n  provider = aws.{provider}\n  bucket   = \"{bucket}\"\n}}\n\n\
             data \"aws_iam_policy_document\" \"{name}\" {{\n  source_policy_documents = [data.aws_s3_bucket_policy.{name}.policy]\n  \
             override_policy_documents = [<<-EOT\n    {{\"Version\": \"2012-10-17\", \"Statement\": [{}]}}\n  EOT\n  ]\n}}\n\n\
             resource \"aws_s3_bucket_policy\" \"{name}\" {{\n  provider = aws.{provider}\n  bucket   = \"{bucket}\"\n  \
             policy   = data.aws_iam_policy_document.{name}.json\n}}",
            statements.len(),
            statements
                .iter()
                .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    manual_section(&mut out, "#", manual);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names_are_refused() {
        assert!(safe("my-bucket.logs"));
        assert!(!safe("a'b"));
        assert!(!safe("$(rm -rf /)"));
        assert!(!safe(""));
    }
}
