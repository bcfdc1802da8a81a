//! `s3audit plan` end to end: the generated AWS CLI script is applied to the emulated
//! organization with the real AWS CLI (installed into the emulator venv), then the
//! organization is audited again.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::{Emulator, text};

/// Findings by fingerprint: (rule, resource ARN).
fn findings(results: &Value) -> BTreeMap<String, (String, String)> {
    results["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["fingerprint"].as_str().unwrap().to_string(),
                (
                    f["rule_id"].as_str().unwrap().to_string(),
                    f["resource"]["arn"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

/// AWS CLI profiles `s3audit-<account>`: the management account with the emulator's keys,
/// every member through AssumeRole, as an operator would set them up.
fn aws_cli_profiles(dir: &Path, scenario: &Value) {
    let management = scenario["management_account_id"].as_str().unwrap();
    let path_style = "region = us-east-1\ns3 =\n    addressing_style = path\n";
    let mut config = format!("[profile s3audit-{management}]\n{path_style}\n");
    let mut credentials = format!(
        "[base]\naws_access_key_id = testing\naws_secret_access_key = testing\n\n\
         [s3audit-{management}]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    );
    for member in scenario["member_account_ids"].as_array().unwrap() {
        let member = member.as_str().unwrap();
        config.push_str(&format!(
            "[profile s3audit-{member}]\nrole_arn = arn:aws:iam::{member}:role/OrganizationAccountAccessRole\n\
             source_profile = base\n{path_style}\n"
        ));
    }
    credentials.push('\n');
    std::fs::write(dir.join("config"), config).unwrap();
    std::fs::write(dir.join("credentials"), credentials).unwrap();
}

/// Runs the plan with the AWS CLI against the emulator.
fn apply(
    emulator: &Emulator,
    plan: &Path,
    profiles: &Path,
    kms_key: Option<&str>,
) -> std::process::Output {
    let python = support::python();
    let venv_bin = python.parent().unwrap();
    let path = format!(
        "{}:{}",
        venv_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("bash");
    if let Some(key) = kms_key {
        command.env("KMS_KEY_ARN", key);
    } else {
        command.env_remove("KMS_KEY_ARN");
    }
    command
        .arg(plan)
        .env("PATH", path)
        .env("AWS_CONFIG_FILE", profiles.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", profiles.join("credentials"))
        .env("AWS_ENDPOINT_URL", &emulator.url)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap()
}

/// Findings a covered fix resolves as well on the same bucket: turning on Block Public
/// Access or disabling ACLs ends the public exposure these rules report.
const FIXED_ALONG: &[&str] = &[
    "bucket-public-read",
    "bucket-public-write",
    "bucket-policy-public",
    "bucket-acl-public-grant",
    "bucket-acl-authenticated-users-grant",
    "bucket-cloudtrail-logs-public",
    "bucket-public-verdict-differs-from-aws",
    // Compares s3audit's exposure verdict with Access Analyzer's, so it moves with it.
    "bucket-external-access-verdict-differs-from-access-analyzer",
];

#[test]
fn the_generated_cli_plan_fixes_what_it_covers_and_nothing_else() {
    let emulator = Emulator::start();
    let scenario = emulator.scenario(&[]);
    let before_dir = tempfile::tempdir().unwrap();
    let (before, _) = emulator.audit_into(before_dir.path(), None, &[]);

    let work = tempfile::tempdir().unwrap();
    let plan = work.path().join("plan.sh");
    let results = before_dir.path().join("s3audit.json");
    let output = emulator.s3audit(
        None,
        &[
            "plan",
            results.to_str().unwrap(),
            "--out",
            plan.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let script = std::fs::read_to_string(&plan).unwrap();
    assert!(script.starts_with("#!/usr/bin/env bash\n"));
    assert!(script.contains("set -euo pipefail\n"));
    // `# <rule>: bucket <name> (<region>)` before every change.
    let covered: BTreeSet<(String, String)> = script
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter_map(|l| l.split_once(": bucket "))
        .map(|(rule, rest)| {
            let name = rest.split(' ').next().unwrap();
            (rule.to_string(), name.to_string())
        })
        .collect();
    let rules: BTreeSet<&str> = covered.iter().map(|(r, _)| r.as_str()).collect();
    assert!(rules.len() >= 5, "plan covers {rules:?}");
    assert!(rules.contains("bucket-tls-not-enforced"), "{rules:?}");
    assert!(
        script.contains("KMS_KEY_ARN:?"),
        "a decision stops the script until set"
    );

    // Without the KMS key decision the script stops with what to set.
    let profiles = tempfile::tempdir().unwrap();
    aws_cli_profiles(profiles.path(), &scenario);
    let kms_key = format!(
        "arn:aws:kms:us-east-1:{}:key/0f0e0d0c-0b0a-0908-0706-050403020100",
        scenario["management_account_id"].as_str().unwrap()
    );
    let output = apply(&emulator, &plan, profiles.path(), None);
    assert!(!output.status.success());
    assert!(
        text(&output).contains("set KMS_KEY_ARN"),
        "{}",
        text(&output)
    );
    // With the decision made the whole plan applies, and every step can run again.
    for _ in 0..2 {
        let output = apply(&emulator, &plan, profiles.path(), Some(&kms_key));
        assert!(
            output.status.success(),
            "the plan failed:\n{}",
            text(&output)
        );
    }

    let after_dir = tempfile::tempdir().unwrap();
    let (after, _) = emulator.audit_into(after_dir.path(), None, &[]);
    let (before, after) = (findings(&before), findings(&after));
    let bucket_name = |arn: &str| arn.rsplit(':').next().unwrap().to_string();
    let mut fixed = 0;
    let mut fixed_along = Vec::new();
    let mut unexpected = Vec::new();
    for (fingerprint, (rule, arn)) in &before {
        let is_covered = covered.contains(&(rule.clone(), bucket_name(arn)));
        if is_covered {
            if after.contains_key(fingerprint) {
                unexpected.push(format!("{rule} on {arn} was in the plan but still fails"));
            }
            fixed += 1;
        } else if !after.contains_key(fingerprint) {
            fixed_along.push(format!("{rule} on {arn}"));
            // Only on a bucket the plan changed, and only what its changes imply: Block
            // Public Access and bucket-owner-enforced ACLs end public exposure.
            let touched = covered.iter().any(|(_, name)| *name == bucket_name(arn));
            if !(touched && FIXED_ALONG.contains(&rule.as_str())) {
                unexpected.push(format!("{rule} on {arn} was not in the plan but changed"));
            }
        }
    }
    eprintln!("fixed along with the plan: {fixed_along:?}");
    assert_eq!(fixed, covered.len(), "every covered finding is fixed");
    // New findings only where a fix makes a rule apply: a bucket that is now versioned is
    // checked for lifecycle rules on its noncurrent versions.
    let consequences = [
        "bucket-versioned-without-lifecycle",
        "bucket-versioned-without-noncurrent-expiration",
    ];
    for (fingerprint, (rule, arn)) in &after {
        if !before.contains_key(fingerprint) && !consequences.contains(&rule.as_str()) {
            unexpected.push(format!("{rule} on {arn} is new after the plan"));
        }
    }
    assert!(unexpected.is_empty(), "{unexpected:#?}");

    // Terraform for the same findings: one resource or merged policy per change.
    let terraform = work.path().join("plan.tf");
    let output = emulator.s3audit(
        None,
        &[
            "plan",
            results.to_str().unwrap(),
            "--format",
            "terraform",
            "--out",
            terraform.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let terraform = std::fs::read_to_string(&terraform).unwrap();
    assert!(terraform.contains("resource \"aws_s3_bucket_public_access_block\""));
    assert!(terraform.contains("variable \"kms_key_arn\""));
    assert!(terraform.contains("source_policy_documents = [data.aws_s3_bucket_policy."));
}
