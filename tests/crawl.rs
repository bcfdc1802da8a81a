//! End-to-end tests of `s3audit --org` through the real binary against the emulated
//! organization (moto on 127.0.0.1, see tests/emulator/).

mod support;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use support::{Emulator, read_json, repo, text};

/// Runs `s3audit --org` (plus `extra`) and returns the JSON results and the snapshot.
fn audit(emulator: &Emulator, credentials: Option<(&str, &str)>, extra: &[&str]) -> (Value, Value) {
    let out = tempfile::tempdir().unwrap();
    emulator.audit_into(out.path(), credentials, extra)
}

fn all_on(bpa: &Value) -> bool {
    bpa.as_object()
        .is_some_and(|m| m.len() == 4 && m.values().all(|v| v == true))
}

/// The rules a bucket must fail, derived from the configuration the scenario gave it.
fn expected_failures(config: &Value) -> BTreeSet<&'static str> {
    let flag = |k: &str| config[k] == true;
    let mut rules = BTreeSet::new();
    let mut fail_if = |condition: bool, rule: &'static str| {
        if condition {
            rules.insert(rule);
        }
    };
    let versioned = config["versioning"] == "Enabled";
    fail_if(flag("public_read"), "bucket-public-read");
    fail_if(flag("public_acl"), "bucket-acl-public-grant");
    fail_if(flag("public_policy"), "bucket-policy-public");
    fail_if(
        config["ownership"] != "BucketOwnerEnforced",
        "bucket-acls-enabled",
    );
    fail_if(!versioned, "bucket-versioning-disabled");
    fail_if(!flag("kms"), "bucket-default-encryption-not-kms");
    fail_if(
        flag("kms") && !flag("bucket_key"),
        "bucket-kms-bucket-key-disabled",
    );
    fail_if(!flag("logging"), "bucket-server-access-logging-disabled");
    fail_if(!flag("tls_enforced"), "bucket-tls-not-enforced");
    fail_if(!flag("object_lock"), "bucket-object-lock-disabled");
    fail_if(!flag("lifecycle"), "bucket-lifecycle-missing");
    fail_if(
        !flag("abort_multipart"),
        "bucket-lifecycle-no-abort-incomplete-multipart",
    );
    fail_if(
        !all_on(&config["bpa"]),
        "bucket-public-access-block-disabled",
    );
    // MFA delete cannot be combined with lifecycle rules: not applicable then.
    fail_if(
        !flag("lifecycle") && !flag("mfa_delete"),
        "bucket-mfa-delete-disabled",
    );
    fail_if(
        versioned && !flag("lifecycle"),
        "bucket-versioned-without-lifecycle",
    );
    // No bucket of the scenario denies old TLS versions, grants to accounts outside the
    // organization, or lets another account change its permissions.
    fail_if(
        !flag("tls_version_enforced"),
        "bucket-tls-minimum-version-not-enforced",
    );
    fail_if(
        flag("external_grant"),
        "bucket-policy-grants-external-access",
    );
    fail_if(
        flag("cross_account_sensitive"),
        "bucket-policy-cross-account-sensitive-actions",
    );
    // The article's checklist: notifications are configured on no scenario bucket.
    let critical = config["tags"]["data-classification"] == "critical";
    fail_if(true, "bucket-event-notifications-disabled");
    fail_if(!flag("inventory"), "bucket-inventory-not-configured");
    fail_if(
        !flag("intelligent_tiering"),
        "bucket-intelligent-tiering-archive-not-configured",
    );
    fail_if(
        critical && !versioned,
        "bucket-critical-versioning-disabled",
    );
    fail_if(
        critical && !flag("lifecycle") && !flag("mfa_delete"),
        "bucket-critical-mfa-delete-disabled",
    );
    rules
}

fn findings_by_resource(results: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut by_resource: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for finding in results["findings"].as_array().unwrap() {
        by_resource
            .entry(finding["resource"]["name"].as_str().unwrap().to_string())
            .or_default()
            .insert(finding["rule_id"].as_str().unwrap().to_string());
    }
    by_resource
}

#[test]
fn the_organization_is_crawled_and_every_bucket_gets_the_findings_its_configuration_calls_for() {
    let emulator = Emulator::start();
    let scenario = emulator.scenario(&[]);
    let (results, snapshot) = audit(&emulator, None, &[]);

    // Every account of the organization is in the snapshot, the unreachable one as failed.
    let accounts: BTreeMap<&str, &Value> = snapshot["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["id"].as_str().unwrap(), a))
        .collect();
    assert_eq!(snapshot["organization"]["id"], scenario["organization_id"]);
    for account in scenario["accounts"].as_array().unwrap() {
        let id = account["id"].as_str().unwrap();
        let crawled = accounts
            .get(id)
            .unwrap_or_else(|| panic!("account {id} missing"));
        if account["assumable"] == false {
            assert_eq!(crawled["access"]["status"], "failed", "{crawled}");
            assert_eq!(crawled["access"]["code"], "AccessDenied", "{crawled}");
        } else {
            assert_ne!(crawled["access"]["status"], "failed", "{crawled}");
        }
    }
    let failed: Vec<&Value> = results["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");

    // Every visible bucket is found in its own region, with every section read.
    let crawled_buckets: BTreeMap<&str, &Value> = accounts
        .values()
        .filter_map(|a| a["buckets"]["value"].as_array())
        .flatten()
        .map(|b| (b["name"].as_str().unwrap(), b))
        .collect();
    let mut regions = BTreeSet::new();
    for bucket in scenario["buckets"].as_array().unwrap() {
        let name = bucket["name"].as_str().unwrap();
        if bucket["visible"] == false {
            assert!(!crawled_buckets.contains_key(name));
            continue;
        }
        let crawled = crawled_buckets
            .get(name)
            .unwrap_or_else(|| panic!("bucket {name} missing"));
        assert_eq!(crawled["region"], bucket["region"], "{name}");
        regions.insert(bucket["region"].as_str().unwrap());
        for (section, value) in crawled.as_object().unwrap() {
            if let Some(state) = value.get("state") {
                assert!(
                    state == "present" || state == "absent",
                    "{name}.{section}: {value}"
                );
            }
        }
    }
    assert_eq!(regions.len(), 3, "{regions:?}");

    // The whole findings table: each visible bucket fails exactly the rules its
    // configuration calls for.
    let findings = findings_by_resource(&results);
    for bucket in scenario["buckets"].as_array().unwrap() {
        if bucket["visible"] == false {
            continue;
        }
        let name = bucket["name"].as_str().unwrap();
        let expected: BTreeSet<String> = expected_failures(&bucket["config"])
            .into_iter()
            .map(String::from)
            .collect();
        let actual = findings.get(name).cloned().unwrap_or_default();
        assert_eq!(actual, expected, "{name}: config {}", bucket["config"]);
    }
    // Account-level Block Public Access, per account.
    for account in scenario["accounts"].as_array().unwrap() {
        let id = account["id"].as_str().unwrap();
        let fails = findings
            .get(id)
            .is_some_and(|rules| rules.contains("account-public-access-block-disabled"));
        if account["assumable"] == true {
            assert_eq!(fails, !all_on(&account["account_bpa"]), "{id}: {account}");
            let no_analyzer = account["analyzers"].as_array().is_none_or(|a| a.is_empty());
            let flagged = findings
                .get(id)
                .is_some_and(|rules| rules.contains("account-access-analyzer-disabled"));
            assert_eq!(flagged, no_analyzer, "{id}: {account}");
        }
    }
}

#[test]
fn the_recorded_operations_are_reads_granted_by_the_iam_policy() {
    let emulator = Emulator::start();
    emulator.scenario(&[]);
    let (results, _) = audit(&emulator, None, &[]);
    let policy = read_json(&repo("docs/iam-policy.json"));
    let granted: BTreeSet<&str> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| s["Action"].as_array().unwrap())
        .map(|a| a.as_str().unwrap())
        .collect();
    let calls = results["api_calls"].as_object().unwrap();
    assert!(calls.len() >= 30, "too few operations recorded: {calls:?}");
    for (operation, count) in calls {
        assert!(count.as_u64().unwrap() > 0);
        assert!(
            s3audit::crawl::recorder::is_read(operation),
            "{operation} is not a read"
        );
        let action = s3audit::crawl::recorder::iam_action(operation)
            .unwrap_or_else(|| panic!("{operation} is not in the crawler's operation table"));
        if let Some(action) = action {
            assert!(
                granted.contains(action),
                "{operation} needs {action}, not in docs/iam-policy.json"
            );
        }
    }
}

#[test]
fn a_section_denied_by_iam_makes_the_rules_that_need_it_unknown() {
    let emulator = Emulator::start();
    let scenario = emulator.scenario(&["--enforce-iam"]);
    let key = scenario["auditor_credentials"]["aws_access_key_id"]
        .as_str()
        .unwrap();
    let secret = scenario["auditor_credentials"]["aws_secret_access_key"]
        .as_str()
        .unwrap();
    let denied = &scenario["denied"][0];
    assert_eq!(denied["action"], "s3:GetBucketPolicy");
    let bucket = denied["bucket"].as_str().unwrap();

    let (results, snapshot) = audit(&emulator, Some((key, secret)), &[]);
    let crawled = snapshot["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["buckets"]["value"].as_array())
        .flatten()
        .find(|b| b["name"] == bucket)
        .unwrap();
    assert_eq!(
        crawled["policy"]["state"], "denied",
        "{}",
        crawled["policy"]
    );
    assert_eq!(crawled["policy"]["code"], "AccessDenied");
    assert_eq!(crawled["versioning"]["state"], "present");

    let unknown: BTreeSet<&str> = results["unknown"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["resource"]["name"] == bucket)
        .map(|u| u["rule_id"].as_str().unwrap())
        .collect();
    for rule in [
        "bucket-tls-not-enforced",
        "bucket-policy-public",
        "bucket-public-read",
    ] {
        assert!(
            unknown.contains(rule),
            "{rule} should be unknown: {unknown:?}"
        );
    }
    // Rules that do not read the policy are still decided.
    assert!(!unknown.contains("bucket-versioning-disabled"));
}

#[test]
fn account_filters_select_accounts() {
    let emulator = Emulator::start();
    let scenario = emulator.scenario(&[]);
    let account = |name: &str| {
        scenario["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .unwrap()
            .clone()
    };
    let ids = |snapshot: &Value| -> BTreeSet<String> {
        snapshot["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect()
    };
    let prod = account("prod-app");
    let dev = account("dev-sandbox");
    let legacy = account("legacy-vendor");

    // --ou: accounts under Root/Workloads, recursively (prod is in Root/Workloads/Prod).
    let workloads = dev["ou_id"].as_str().unwrap();
    let (_, snapshot) = audit(&emulator, None, &["--ou", workloads]);
    let expected: BTreeSet<String> = [&prod, &dev, &legacy]
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids(&snapshot), expected);

    // --accounts and --exclude-accounts.
    let prod_id = prod["id"].as_str().unwrap();
    let (_, snapshot) = audit(&emulator, None, &["--accounts", prod_id]);
    assert_eq!(ids(&snapshot), BTreeSet::from([prod_id.to_string()]));
    let (_, snapshot) = audit(&emulator, None, &["--exclude-accounts", prod_id]);
    assert!(!ids(&snapshot).contains(prod_id));
    assert_eq!(
        ids(&snapshot).len(),
        scenario["accounts"].as_array().unwrap().len() - 1
    );
}

#[test]
fn the_saved_snapshot_evaluates_offline_to_the_same_results() {
    let emulator = Emulator::start();
    emulator.scenario(&[]);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    let snapshot = format!("{dir}/snapshot.json");
    let output = emulator.s3audit(
        None,
        &[
            "--org",
            "--output-dir",
            dir,
            "--snapshot",
            &snapshot,
            "--format",
            "json",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let online = read_json(&out.path().join("s3audit.json"));
    drop(emulator);

    let offline_dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_s3audit"))
        .args(["evaluate", &snapshot, "--format", "json", "--output-dir"])
        .arg(offline_dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let offline = read_json(&offline_dir.path().join("s3audit.json"));
    assert_eq!(online["findings"], offline["findings"]);
    assert_eq!(online["summary"], offline["summary"]);
}
