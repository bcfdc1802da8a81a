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

/// What the scenario built, indexed for expectations that involve more than one bucket (a
/// logging target, a replication destination, the trail writing to a bucket).
struct World<'a> {
    buckets: BTreeMap<&'a str, &'a Value>,
    /// (account, region, type) of the analyzers of entered accounts.
    analyzers: Vec<(&'a str, &'a str, &'a str)>,
    organization_accounts: BTreeSet<&'a str>,
    /// Buckets that trails of entered accounts deliver to.
    trail_buckets: BTreeSet<&'a str>,
}

impl<'a> World<'a> {
    fn of(scenario: &'a Value) -> World<'a> {
        let accounts = scenario["accounts"].as_array().unwrap();
        World {
            buckets: scenario["buckets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| (b["name"].as_str().unwrap(), b))
                .collect(),
            organization_accounts: accounts.iter().map(|a| a["id"].as_str().unwrap()).collect(),
            analyzers: accounts
                .iter()
                .filter(|a| a["assumable"] == true)
                .flat_map(|a| {
                    a["analyzers"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(move |z| {
                            (
                                a["id"].as_str().unwrap(),
                                z["region"].as_str().unwrap(),
                                z["type"].as_str().unwrap(),
                            )
                        })
                })
                .collect(),
            trail_buckets: accounts
                .iter()
                .filter(|a| a["assumable"] == true)
                .filter_map(|a| a["trails"].as_array())
                .flatten()
                .map(|t| t["s3_bucket"].as_str().unwrap())
                .collect(),
        }
    }
}

/// The actions AWS FSBP S3.6 forbids to other accounts.
const SENSITIVE_ACTIONS: [&str; 5] = [
    "s3:DeleteBucketPolicy",
    "s3:PutBucketAcl",
    "s3:PutBucketPolicy",
    "s3:PutEncryptionConfiguration",
    "s3:PutObjectAcl",
];

/// The rules a bucket must fail, derived from the configuration the scenario gave it.
fn expected_failures(bucket: &Value, world: &World) -> BTreeSet<&'static str> {
    let config = &bucket["config"];
    let name = bucket["name"].as_str().unwrap();
    let region = bucket["region"].as_str().unwrap();
    let account = bucket["account"].as_str().unwrap();
    let flag = |k: &str| config[k] == true;
    let mut rules = BTreeSet::new();
    let mut fail_if = |condition: bool, rule: &'static str| {
        if condition {
            rules.insert(rule);
        }
    };
    let versioned = config["versioning"] == "Enabled";
    let bpa_on = |key: &str| config["bpa"][key] == true || config["account_bpa"][key] == true;
    let public_write = flag("public_write") && !bpa_on("RestrictPublicBuckets");
    fail_if(flag("public_read"), "bucket-public-read");
    fail_if(public_write, "bucket-public-write");
    fail_if(
        flag("public_acl") || flag("authenticated_acl"),
        "bucket-acl-public-grant",
    );
    fail_if(
        flag("authenticated_acl"),
        "bucket-acl-authenticated-users-grant",
    );
    fail_if(
        flag("public_policy") || flag("public_write") || flag("loose_org_policy"),
        "bucket-policy-public",
    );
    // The emulator's policy status takes any condition as restricting (AWS accepts only fixed
    // values); s3audit does not accept a wildcard organization id. The two disagree on
    // exactly these buckets, which is what the comparison rule exists to show.
    fail_if(
        flag("loose_org_policy"),
        "bucket-public-verdict-differs-from-aws",
    );
    fail_if(
        config["ownership"] != "BucketOwnerEnforced",
        "bucket-acls-enabled",
    );
    fail_if(!versioned, "bucket-versioning-disabled");
    fail_if(
        config["encryption"].is_null(),
        "bucket-default-encryption-missing",
    );
    // A server access log target cannot use SSE-KMS: the rule does not apply to it.
    let log_target = world
        .buckets
        .values()
        .any(|b| b["config"]["logging_target"] == bucket["name"]);
    fail_if(
        !flag("kms") && !log_target,
        "bucket-default-encryption-not-kms",
    );
    fail_if(
        flag("kms") && !flag("bucket_key"),
        "bucket-kms-bucket-key-disabled",
    );
    fail_if(!flag("sse_c_denied"), "bucket-sse-c-uploads-allowed");
    fail_if(config["kms_key"] == "aws/s3", "bucket-kms-key-aws-managed");
    fail_if(!flag("logging"), "bucket-server-access-logging-disabled");
    if let Some(target) = config["logging_target"].as_str() {
        let target_bucket = world.buckets[target];
        let target_config = &target_bucket["config"];
        let invalid = target == name
            || target_bucket["region"] != region
            || target_bucket["account"] != account
            || target_config["object_lock_retention"] == true
            || target_config["kms"] == true;
        fail_if(invalid, "bucket-logging-target-invalid");
    }
    fail_if(!flag("tls_enforced"), "bucket-tls-not-enforced");
    fail_if(
        !flag("tls_enforced") && !flag("tls_version_only"),
        "bucket-https-not-required-cis",
    );
    fail_if(
        !flag("tls_version_enforced"),
        "bucket-tls-minimum-version-not-enforced",
    );
    fail_if(!flag("object_lock"), "bucket-object-lock-disabled");
    fail_if(
        flag("object_lock") && !flag("object_lock_retention"),
        "bucket-object-lock-no-default-retention",
    );
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
    // Every lifecycle of the scenario expires noncurrent versions.
    fail_if(
        !config["versioning"].is_null() && !flag("lifecycle"),
        "bucket-versioned-without-noncurrent-expiration",
    );
    let cross_region = config["replication_destination"]
        .as_str()
        .is_some_and(|d| world.buckets[d]["region"] != region);
    fail_if(!cross_region, "bucket-cross-region-replication-disabled");
    fail_if(
        flag("replication") && !flag("replication_time_control"),
        "bucket-replication-time-control-disabled",
    );
    let grants = config["grants_to"].as_array().unwrap();
    fail_if(
        grants.iter().any(|g| {
            !world
                .organization_accounts
                .contains(g["account"].as_str().unwrap())
        }),
        "bucket-policy-grants-external-access",
    );
    fail_if(
        grants.iter().any(|g| {
            g["actions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| SENSITIVE_ACTIONS.contains(&a.as_str().unwrap()))
        }),
        "bucket-policy-cross-account-sensitive-actions",
    );
    fail_if(
        flag("access_analyzer_finding"),
        "bucket-access-analyzer-findings-active",
    );
    // An analyzer of the bucket's account in its region, or an organization analyzer there.
    let covered = world
        .analyzers
        .iter()
        .any(|(a, r, t)| *r == region && (*a == account || *t == "ORGANIZATION"));
    let publicly_reachable = flag("public_read") || public_write;
    let shared = publicly_reachable
        || flag("public_policy")
        || flag("public_write")
        || flag("loose_org_policy")
        || flag("org_restricted_policy")
        || flag("public_acl")
        || flag("authenticated_acl")
        || !config["grants_to"].as_array().unwrap().is_empty();
    let finding = flag("access_analyzer_finding");
    fail_if(
        covered && ((finding && !shared) || (!finding && publicly_reachable)),
        "bucket-external-access-verdict-differs-from-access-analyzer",
    );
    if world.trail_buckets.contains(name) {
        fail_if(
            !flag("logging"),
            "bucket-cloudtrail-logs-access-logging-disabled",
        );
        fail_if(
            flag("public_read") || public_write,
            "bucket-cloudtrail-logs-public",
        );
        fail_if(
            !flag("mfa_delete") && !flag("object_lock_retention"),
            "bucket-cloudtrail-logs-mfa-delete-disabled",
        );
    }
    fail_if(
        name.contains('.') || name.contains('_') || name.chars().any(|c| c.is_ascii_uppercase()),
        "bucket-name-not-dns-compliant",
    );
    let tag = |k: &str| config["tags"][k].as_str().filter(|v| !v.is_empty());
    fail_if(
        tag("owner").is_none() || tag("data-classification").is_none(),
        "bucket-required-tags-missing",
    );
    fail_if(
        tag("upload-scope") == Some("global") && !flag("accelerate"),
        "bucket-transfer-acceleration-disabled",
    );
    fail_if(flag("website"), "bucket-website-hosting-enabled");
    fail_if(
        !flag("request_metrics"),
        "bucket-request-metrics-not-configured",
    );
    fail_if(
        !flag("storage_class_analysis")
            && !flag("intelligent_tiering")
            && !flag("lifecycle_transition"),
        "bucket-storage-class-analysis-not-configured",
    );
    // The cost rules, from the CloudWatch storage metrics the scenario gave the bucket; a
    // bucket without any is not applicable to all three.
    if let Some(metrics) = bucket["storage_metrics"]["bytes"].as_object() {
        const LARGE: u64 = 100 * 1024 * 1024 * 1024;
        let bytes = |kind: &str| metrics.get(kind).map_or(0, |v| v.as_u64().unwrap());
        let total: u64 = metrics.values().map(|v| v.as_u64().unwrap()).sum();
        let intelligent_tiering: u64 = metrics
            .iter()
            .filter(|(kind, _)| kind.starts_with("IntelligentTiering"))
            .map(|(_, v)| v.as_u64().unwrap())
            .sum();
        fail_if(
            bytes("StandardStorage") >= LARGE
                && intelligent_tiering == 0
                && !flag("lifecycle_transition"),
            "bucket-large-standard-storage-without-tiering",
        );
        // Every lifecycle of the scenario expires noncurrent versions.
        fail_if(
            bytes("NoncurrentVersionStorage") * 2 > total && !flag("lifecycle"),
            "bucket-noncurrent-versions-dominate-storage",
        );
        fail_if(
            total >= LARGE && !flag("abort_multipart"),
            "bucket-large-without-multipart-abort",
        );
    }
    fail_if(
        !flag("notifications"),
        "bucket-event-notifications-disabled",
    );
    let critical = tag("data-classification") == Some("critical");
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

/// The rules each access point, Multi-Region Access Point and directory bucket of an entered
/// account must fail, by name: they are resources of their own.
fn expected_access_point_failures(account: &Value) -> BTreeMap<String, BTreeSet<&'static str>> {
    let list = |k: &str| account[k].as_array().cloned().unwrap_or_default();
    let mut expected = BTreeMap::new();
    for point in list("access_points") {
        let mut rules = BTreeSet::new();
        for (fails, rule) in [
            (
                point["bpa_on"] == false,
                "access-point-public-access-block-disabled",
            ),
            (point["vpc"] == false, "access-point-internet-origin"),
            (point["public_policy"] == true, "access-point-policy-public"),
        ] {
            if fails {
                rules.insert(rule);
            }
        }
        expected.insert(point["name"].as_str().unwrap().to_string(), rules);
    }
    for point in list("multi_region_access_points") {
        let mut rules = BTreeSet::new();
        if point["bpa_on"] == false {
            rules.insert("multi-region-access-point-public-access-block-disabled");
        }
        expected.insert(point["name"].as_str().unwrap().to_string(), rules);
    }
    for bucket in list("directory_buckets") {
        let mut rules = BTreeSet::new();
        if bucket["lifecycle"] == false {
            rules.insert("directory-bucket-lifecycle-missing");
        }
        expected.insert(bucket["name"].as_str().unwrap().to_string(), rules);
    }
    expected
}

/// The account rules an entered account must fail, from what the scenario set up in it.
/// `regions` are the regions the crawler reads regional services in: the home region and
/// every region with one of the account's buckets.
fn expected_account_failures(
    account: &Value,
    regions: &BTreeSet<&str>,
    buckets: &BTreeSet<&str>,
) -> BTreeSet<&'static str> {
    let list = |k: &str| account[k].as_array().cloned().unwrap_or_default();
    let mut rules = BTreeSet::new();
    let mut fail_if = |condition: bool, rule: &'static str| {
        if condition {
            rules.insert(rule);
        }
    };
    fail_if(
        !all_on(&account["account_bpa"]),
        "account-public-access-block-disabled",
    );
    fail_if(
        list("analyzers").is_empty(),
        "account-access-analyzer-disabled",
    );
    let trails = list("trails");
    let logs = |kind: &str| {
        trails
            .iter()
            .any(|t| t["multi_region"] == true && t["logging"] == true && t[kind] == true)
    };
    fail_if(!logs("write"), "account-s3-write-data-events-not-logged");
    fail_if(!logs("read"), "account-s3-read-data-events-not-logged");
    fail_if(
        !list("storage_lens").iter().any(|c| c["enabled"] == true),
        "account-storage-lens-not-enabled",
    );
    let covers = |key: &str| {
        let on: BTreeSet<&str> = account[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| r.as_str().unwrap())
            .collect();
        regions.iter().all(|r| on.contains(r))
    };
    fail_if(
        !covers("guardduty_s3_regions"),
        "account-guardduty-s3-protection-disabled",
    );
    fail_if(!covers("macie_regions"), "account-macie-disabled");
    fail_if(
        list("cloudfront_origins")
            .iter()
            .any(|o| !buckets.contains(o["bucket"].as_str().unwrap())),
        "account-cloudfront-origin-bucket-missing",
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

    // The whole findings table: each visible bucket and each entered account fails exactly
    // the rules its configuration calls for.
    let findings = findings_by_resource(&results);
    let world = World::of(&scenario);
    for bucket in scenario["buckets"].as_array().unwrap() {
        if bucket["visible"] == false {
            continue;
        }
        let name = bucket["name"].as_str().unwrap();
        let expected: BTreeSet<String> = expected_failures(bucket, &world)
            .into_iter()
            .map(String::from)
            .collect();
        let actual = findings.get(name).cloned().unwrap_or_default();
        assert_eq!(actual, expected, "{name}: config {}", bucket["config"]);
    }
    for account in scenario["accounts"].as_array().unwrap() {
        if account["assumable"] == false {
            continue;
        }
        let id = account["id"].as_str().unwrap();
        let mut regions: BTreeSet<&str> = scenario["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["account"] == id)
            .map(|b| b["region"].as_str().unwrap())
            .collect();
        regions.insert("us-east-1");
        let all_buckets: BTreeSet<&str> = world.buckets.keys().copied().collect();
        let expected: BTreeSet<String> = expected_account_failures(account, &regions, &all_buckets)
            .into_iter()
            .map(String::from)
            .collect();
        let actual = findings.get(id).cloned().unwrap_or_default();
        assert_eq!(actual, expected, "{id}: {account}");
        for (name, expected) in expected_access_point_failures(account) {
            let expected: BTreeSet<String> = expected.into_iter().map(String::from).collect();
            let actual = findings.get(&name).cloned().unwrap_or_default();
            assert_eq!(actual, expected, "access point {name} of {id}");
        }
    }
    // Findings say what exactly fails: AWS's verdict next to s3audit's, the access point.
    let detail = |rule: &str, resource: &str| -> String {
        results["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule_id"] == rule && f["resource"]["name"] == resource)
            .and_then(|f| f["detail"].as_str())
            .unwrap_or_else(|| panic!("no detail for {rule} on {resource}"))
            .to_string()
    };
    let disagreement = detail(
        "bucket-public-verdict-differs-from-aws",
        "prod-partner-share",
    );
    assert!(
        disagreement.contains("AWS reports the policy as not public")
            && disagreement.contains("AnyOrgRead"),
        "{disagreement}"
    );
    assert!(
        detail("access-point-public-access-block-disabled", "dev-open-ap")
            .contains("dev-open-ap (us-east-1) of bucket dev-ci-artifacts")
    );
    // Nothing the auditor could read is undecided: every unknown outcome belongs to the
    // account that could not be entered.
    let unreachable: BTreeSet<&str> = scenario["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["assumable"] == false)
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    for unknown in results["unknown"].as_array().unwrap() {
        let account = unknown["resource"]["account_id"].as_str().unwrap();
        assert!(unreachable.contains(account), "undecided: {unknown}");
    }
    // Every account section of every entered account was read.
    for account in accounts
        .values()
        .filter(|a| a["access"]["status"] != "failed")
    {
        for (section, value) in account.as_object().unwrap() {
            if let Some(state) = value.get("state") {
                assert!(
                    state == "present" || state == "absent",
                    "{}.{section}: {value}",
                    account["id"]
                );
            }
        }
    }
    // The scenario makes every rule of the catalog fail somewhere and pass somewhere, so
    // each rule is exercised end to end in both directions.
    for rule in results["rules"].as_array().unwrap() {
        assert!(
            rule["pass"].as_u64().unwrap() > 0 && rule["fail"].as_u64().unwrap() > 0,
            "{} never passes or never fails in the scenario: {rule}",
            rule["id"]
        );
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

#[test]
fn four_shards_merged_give_the_results_of_one_run() {
    let emulator = Emulator::start();
    emulator.scenario(&[]);
    let whole_dir = tempfile::tempdir().unwrap();
    let (whole, whole_snapshot) = emulator.audit_into(whole_dir.path(), None, &[]);

    let work = tempfile::tempdir().unwrap();
    // The membership read once for the shards that share it.
    let listing = work.path().join("accounts.json");
    let listing_arg = listing.to_str().unwrap();
    let output = emulator.s3audit(None, &["list-accounts", "--out", listing_arg]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let listed = read_json(&listing);
    assert_eq!(
        listed["organization"]["account_ids"],
        whole_snapshot["organization"]["account_ids"]
    );
    let mut shard_files = Vec::new();
    let mut accounts_per_shard = Vec::new();
    for index in 0..4 {
        let file = work.path().join(format!("shard-{index}.json"));
        let out = work.path().join(format!("out-{index}"));
        let shard = format!("{index}/4");
        let mut args = vec![
            "--org",
            "--shard",
            &shard,
            "--quiet",
            "--format",
            "json",
            "--output-dir",
            out.to_str().unwrap(),
            "--snapshot",
            file.to_str().unwrap(),
        ];
        // Shards 0 and 1 take the accounts from the listing, 2 and 3 read Organizations:
        // the merge refuses listings that disagree, so it also checks the two against
        // each other.
        let shared = index < 2;
        if shared {
            args.extend(["--accounts-from", listing_arg]);
        }
        let output = emulator.s3audit(None, &args);
        // A shard without findings exits 0, one with findings 1.
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "{}",
            text(&output)
        );
        let part = read_json(&file);
        assert_eq!(
            part["shard"],
            serde_json::json!({"index": index, "count": 4})
        );
        let listings = &part["api_calls"]["organizations:ListAccounts"];
        if shared {
            assert_eq!(listings, &Value::Null, "shard {index} listed the accounts");
            assert_eq!(part["api_calls"]["organizations:DescribeOrganization"], 1);
        } else {
            assert!(listings.as_u64().unwrap() >= 1, "shard {index}: {listings}");
        }
        accounts_per_shard.push(part["accounts"].as_array().unwrap().len());
        shard_files.push(file.to_str().unwrap().to_string());
    }
    // A listing of another organization is refused before any account is read.
    let mut foreign = listed.clone();
    foreign["organization"]["id"] = "o-someoneelse".into();
    let foreign_path = work.path().join("foreign.json");
    std::fs::write(&foreign_path, foreign.to_string()).unwrap();
    let output = emulator.s3audit(
        None,
        &[
            "--org",
            "--accounts-from",
            foreign_path.to_str().unwrap(),
            "--output-dir",
            work.path().join("foreign").to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("the account listing is of organization o-someoneelse"),
        "{}",
        text(&output)
    );
    assert!(!work.path().join("foreign").join("s3audit.json").exists());
    // The scenario's five accounts spread over more than one shard, or this proves nothing.
    assert!(
        accounts_per_shard.iter().filter(|&&n| n > 0).count() >= 2,
        "{accounts_per_shard:?}"
    );
    assert_eq!(
        accounts_per_shard.iter().sum::<usize>(),
        whole_snapshot["accounts"].as_array().unwrap().len()
    );

    let merged_dir = tempfile::tempdir().unwrap();
    let merged_snapshot_path = merged_dir.path().join("merged-snapshot.json");
    let mut args = vec!["merge".to_string()];
    args.extend(shard_files.iter().cloned());
    args.extend(
        [
            "--snapshot",
            merged_snapshot_path.to_str().unwrap(),
            "--quiet",
            "--format",
            "json,sarif",
            "--output-dir",
            merged_dir.path().to_str().unwrap(),
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = emulator.s3audit(None, &args);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    support::validate_sarif_in(merged_dir.path());
    let merged = read_json(&merged_dir.path().join("s3audit.json"));
    let merged_snapshot = read_json(&merged_snapshot_path);

    // Findings carry their fingerprints; unknowns their reasons.
    for key in [
        "findings",
        "unknown",
        "summary",
        "accounts",
        "rules",
        "frameworks",
    ] {
        assert_eq!(whole[key], merged[key], "`{key}` differs after the merge");
    }
    assert_eq!(whole_snapshot["accounts"], merged_snapshot["accounts"]);
    assert_eq!(merged_snapshot["shard"], Value::Null);
    // Per-bucket reads are the same; only the organization listing is repeated per shard.
    for (operation, calls) in whole["api_calls"].as_object().unwrap() {
        if !operation.starts_with("organizations:") && !operation.starts_with("sts:") {
            assert_eq!(&merged["api_calls"][operation], calls, "{operation}");
        }
    }

    // A missing shard is refused, by name, and nothing is written.
    let refused_dir = tempfile::tempdir().unwrap();
    let output = emulator.s3audit(
        None,
        &[
            "merge",
            &shard_files[0],
            &shard_files[1],
            &shard_files[3],
            "--output-dir",
            refused_dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("shard 2 of 4 missing"),
        "{}",
        text(&output)
    );
    assert!(!refused_dir.path().join("s3audit.json").exists());
}

/// Rules that decide whether a bucket is public, and nothing else.
const PUBLIC_ACCESS_RULES: &[&str] = &[
    "account-public-access-block-disabled",
    "bucket-public-access-block-disabled",
    "bucket-public-read",
    "bucket-public-write",
    "bucket-policy-public",
    "bucket-acl-public-grant",
];

/// S3 requests per bucket of a run: every `s3:` call but the account's `ListBuckets`.
fn s3_requests_per_bucket(results: &Value, snapshot: &Value) -> f64 {
    let calls: u64 = results["api_calls"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(operation, _)| operation.starts_with("s3:") && *operation != "s3:ListBuckets")
        .map(|(_, calls)| calls.as_u64().unwrap())
        .sum();
    let buckets: usize = snapshot["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["buckets"]["value"].as_array())
        .map(Vec::len)
        .sum();
    assert!(buckets > 10, "the scenario has buckets");
    calls as f64 / buckets as f64
}

#[test]
fn a_crawl_reads_only_what_the_enabled_rules_need_and_decides_them_alike() {
    let emulator = Emulator::start();
    emulator.scenario(&[]);
    let whole_dir = tempfile::tempdir().unwrap();
    let (whole, whole_snapshot) = emulator.audit_into(whole_dir.path(), None, &[]);

    let only = PUBLIC_ACCESS_RULES.join(",");
    let planned_dir = tempfile::tempdir().unwrap();
    let (planned, planned_snapshot) =
        emulator.audit_into(planned_dir.path(), None, &["--only-rules", &only]);

    // The same outcomes for the rules that ran: findings with their fingerprints, unknowns
    // with their reasons, and the counts.
    let of_public_rules = |results: &Value, key: &str| -> Vec<Value> {
        results[key]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| PUBLIC_ACCESS_RULES.contains(&f["rule_id"].as_str().unwrap()))
            .cloned()
            .collect()
    };
    for key in ["findings", "unknown"] {
        let expected = of_public_rules(&whole, key);
        assert_eq!(of_public_rules(&planned, key), expected, "`{key}` differ");
        assert_eq!(planned[key].as_array().unwrap().len(), expected.len());
    }
    assert!(!of_public_rules(&whole, "findings").is_empty());

    // At most 6 requests per bucket, against every section in a whole run.
    let per_bucket = s3_requests_per_bucket(&planned, &planned_snapshot);
    let whole_per_bucket = s3_requests_per_bucket(&whole, &whole_snapshot);
    assert!(per_bucket <= 6.0, "{per_bucket} requests per bucket");
    assert!(
        whole_per_bucket > 15.0,
        "{whole_per_bucket} requests per bucket"
    );
    for operation in [
        "s3:GetBucketVersioning",
        "cloudtrail:DescribeTrails",
        "macie2:GetMacieSession",
    ] {
        assert_eq!(
            planned["api_calls"].get(operation),
            None,
            "{operation} was called"
        );
    }

    // What was not read says so: an error `NotRequested`, never absent.
    let bucket = &planned_snapshot["accounts"][0]["buckets"]["value"][0];
    assert_eq!(bucket["versioning"]["state"], "error");
    assert_eq!(bucket["versioning"]["code"], "NotRequested");
    assert_ne!(bucket["policy"]["code"], "NotRequested");

    // `--read-all` reads everything whatever the rules.
    let read_all_dir = tempfile::tempdir().unwrap();
    let (read_all, _) = emulator.audit_into(
        read_all_dir.path(),
        None,
        &["--only-rules", &only, "--read-all"],
    );
    for operation in [
        "s3:GetBucketVersioning",
        "cloudtrail:DescribeTrails",
        "macie2:GetMacieSession",
    ] {
        assert_eq!(
            read_all["api_calls"][operation],
            whole["api_calls"][operation]
        );
        assert!(
            whole["api_calls"][operation].as_u64().unwrap() > 0,
            "{operation}"
        );
    }
}

#[test]
fn a_request_rate_cap_spaces_the_calls_evenly() {
    let emulator = Emulator::start();
    emulator.scenario(&[]);
    let out = tempfile::tempdir().unwrap();
    let rate = 40.0;
    let (results, snapshot) = emulator.audit_into(
        out.path(),
        None,
        &[
            "--only-rules",
            "bucket-public-read",
            "--max-requests-per-second",
            "40",
        ],
    );
    // Every call to the audited accounts is paced; the organization listing and AssumeRole
    // come before the crawl and are not.
    let paced: u64 = results["api_calls"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(op, _)| !op.starts_with("organizations:") && !op.starts_with("sts:"))
        .map(|(_, calls)| calls.as_u64().unwrap())
        .sum();
    assert!(paced > 40, "{paced} calls");
    let took = snapshot["duration_ms"].as_u64().unwrap() as f64 / 1000.0;
    let least = (paced - 1) as f64 / rate;
    assert!(
        took >= least,
        "{paced} calls at {rate}/s took {took} s, less than {least} s"
    );
    // A rate that is not a positive number is refused before anything is read.
    let output = emulator.s3audit(None, &["--org", "--max-requests-per-second", "0"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("not a positive number"),
        "{}",
        text(&output)
    );
}

/// The storage price of one storage type of the default scenario, USD per GiB-month: the
/// defaults of cost/prices.yaml, written out here so the test does not use the code it tests.
fn price(storage_type: &str) -> f64 {
    match storage_type {
        "StandardStorage" | "NoncurrentVersionStorage" | "IntelligentTieringFAStorage" => 0.023,
        "StandardIAStorage" | "IntelligentTieringIAStorage" => 0.0125,
        "GlacierStorage" => 0.004,
        "DeepArchiveStorage" => 0.00099,
        other => panic!("the scenario uses a storage type the test has no price for: {other}"),
    }
}

#[test]
fn the_storage_cost_comes_from_cloudwatch_storage_metrics_now_and_after_the_recommended_changes() {
    const GIB: f64 = 1_073_741_824.0;
    let emulator = Emulator::start();
    let scenario = emulator.scenario(&[]);
    let out = tempfile::tempdir().unwrap();
    let (results, snapshot) = emulator.audit_into(out.path(), None, &[]);

    let crawled: BTreeMap<&str, &Value> = snapshot["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["buckets"]["value"].as_array())
        .flatten()
        .map(|b| (b["name"].as_str().unwrap(), b))
        .collect();
    let failing: BTreeSet<(String, String)> = results["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["resource"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let (mut current, mut after, mut measured) = (0.0, 0.0, 0);
    for bucket in scenario["buckets"].as_array().unwrap() {
        let name = bucket["name"].as_str().unwrap();
        let Some(section) = crawled.get(name).map(|b| &b["storage_metrics"]) else {
            continue; // a bucket of the account s3audit cannot enter
        };
        let expected = &bucket["storage_metrics"];
        if expected.is_null() {
            // CloudWatch has nothing for the bucket: absent, never unknown, never zero bytes.
            assert_eq!(section["state"], "absent", "{name}: {section}");
            assert_eq!(section["code"], "NoStorageMetrics", "{name}: {section}");
            continue;
        }
        // The latest day only (the scenario also wrote an older day for one bucket).
        assert_eq!(section["state"], "present", "{name}: {section}");
        assert_eq!(section["value"]["day"], expected["day"], "{name}");
        assert_eq!(section["value"]["bytes"], expected["bytes"], "{name}");
        assert_eq!(section["value"]["objects"], expected["objects"], "{name}");
        measured += 1;
        let objects = expected["objects"].as_f64().unwrap();
        let bytes = expected["bytes"].as_object().unwrap();
        let total: f64 = bytes.values().map(|v| v.as_f64().unwrap()).sum();
        let fails = |rule: &str| failing.contains(&(rule.to_string(), name.to_string()));
        for (kind, value) in bytes {
            let value = value.as_f64().unwrap();
            let mut now = value / GIB * price(kind);
            if kind.starts_with("IntelligentTiering") {
                now += objects * value / total / 1000.0 * 0.0025;
            }
            current += now;
            after += match kind.as_str() {
                "NoncurrentVersionStorage"
                    if fails("bucket-noncurrent-versions-dominate-storage") =>
                {
                    0.0
                }
                "StandardStorage" if fails("bucket-large-standard-storage-without-tiering") => {
                    value / GIB * 0.0125
                }
                _ => now,
            };
        }
    }
    assert!(
        measured >= 5,
        "the scenario gives storage metrics to at least 5 buckets"
    );
    // The scenario's recommendations: one bucket to move out of Standard, one whose
    // noncurrent versions should expire.
    assert!(failing.contains(&(
        "bucket-large-standard-storage-without-tiering".into(),
        "prod-public-website".into()
    )));
    assert!(failing.contains(&(
        "bucket-noncurrent-versions-dominate-storage".into(),
        "security-evidence".into()
    )));
    let cost = &results["cost"];
    let close = |a: &Value, b: f64| (a.as_f64().unwrap() - b).abs() < 0.01;
    assert!(
        close(&cost["monthly_usd_current"], current),
        "{cost} vs {current}"
    );
    assert!(
        close(&cost["monthly_usd_after"], after),
        "{cost} vs {after}"
    );
    assert!(
        close(&cost["monthly_usd_saving"], current - after),
        "{cost}"
    );
    assert!(
        current - after > 1.0,
        "the scenario's changes save money: {current} -> {after}"
    );
    assert_eq!(cost["buckets_unknown"], 0);
    assert_eq!(cost["currency"], "USD");
    // The account totals add up to the organization's.
    let by_account: f64 = cost["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["monthly_usd_current"].as_f64().unwrap())
        .sum();
    assert!(
        (by_account - current).abs() < 0.01,
        "{by_account} vs {current}"
    );
    println!(
        "scenario storage cost: USD {current:.2} a month now, USD {after:.2} after ({measured} buckets measured)"
    );

    // A price override in s3audit.yml changes the estimate offline, from the same snapshot.
    let config = out.path().join("s3audit.yml");
    std::fs::write(
        &config,
        "cost:\n  storage_per_gb_month:\n    GLACIER: 0.0036\n",
    )
    .unwrap();
    let snapshot_path = out.path().join("snapshot.json");
    let offline = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_s3audit"))
        .args(["evaluate", snapshot_path.to_str().unwrap(), "--config"])
        .arg(&config)
        .args(["--format", "json,html,console", "--output-dir"])
        .arg(offline.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let html = std::fs::read_to_string(offline.path().join("s3audit.html")).unwrap();
    assert!(
        html.contains("\"monthly_usd_after\""),
        "the report carries the cost data"
    );
    assert!(
        text(&output).contains("storage cost: USD"),
        "the console prints the total: {}",
        text(&output)
    );
    let repriced = read_json(&offline.path().join("s3audit.json"));
    let glacier_bytes: f64 = scenario["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["storage_metrics"]["bytes"]["GlacierStorage"].as_f64())
        .sum();
    let expected = current - glacier_bytes / GIB * (0.004 - 0.0036);
    assert!(
        close(&repriced["cost"]["monthly_usd_current"], expected),
        "{} vs {expected}",
        repriced["cost"]
    );
}
