//! What the crawl does when one call fails for one resource: the real binary crawls the
//! emulated organization through a fault-injecting proxy (tests/emulator/fault_proxy.py).
//! Whatever the fault (denied, a 500 that outlives the retries, a timeout, a connection
//! reset), every outcome that depends on the failed read, directly or through a join with
//! another bucket, is `unknown`: a failing check never turns into a pass.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};
use support::{Emulator, FaultProxy, audit_at};

/// Outcomes of one run: (rule, resource ARN) → `fail` or `unknown` (passes are not listed).
type Outcomes = BTreeMap<(String, String), &'static str>;

/// A bucket that others log to, and a bucket that another replicates to, in the default
/// scenario: failing their reads exercises the joins as well as their own rules.
const LOG_TARGET: &str = "prod-access-logs-eu";
const REPLICA: &str = "prod-data-lake-replica";

/// Fewer attempts and a short timeout keep a faulted crawl quick; the proxy fails every
/// retry, so the outcome is the same as with the defaults.
const FAST_FAILURE: &[&str] = &["--max-attempts", "2", "--call-timeout", "3"];

fn crawl(proxy: &FaultProxy, out: &Path) -> (Value, Value) {
    audit_at(&proxy.url, out, None, FAST_FAILURE)
}

fn outcomes(results: &Value) -> Outcomes {
    let key = |v: &Value| {
        (
            v["rule_id"].as_str().unwrap().to_string(),
            v["resource"]["arn"].as_str().unwrap().to_string(),
        )
    };
    let mut outcomes = Outcomes::new();
    for finding in results["findings"].as_array().unwrap() {
        outcomes.insert(key(finding), "fail");
    }
    for unknown in results["unknown"].as_array().unwrap() {
        outcomes.insert(key(unknown), "unknown");
    }
    outcomes
}

/// Every unknown reason is a sentence with the operation that failed, not a debug dump.
fn assert_readable_reasons(results: &Value, what: &str) {
    for unknown in results["unknown"].as_array().unwrap() {
        for reason in unknown["reasons"].as_array().unwrap() {
            let message = reason["message"].as_str().unwrap();
            for dump in ["Error {", "Error(", "Some(", "{ source", "Unhandled"] {
                assert!(!message.contains(dump), "{what}: debug text in {message:?}");
            }
        }
    }
}

/// Every failure of the clean crawl is still a failure or unknown: none became a pass.
fn assert_no_fail_became_pass(clean: &Outcomes, faulty: &Outcomes, what: &str) {
    let passed: Vec<_> = clean
        .iter()
        .filter(|(_, outcome)| **outcome == "fail")
        .filter(|(key, _)| !faulty.contains_key(*key))
        .map(|(key, _)| key)
        .collect();
    assert!(
        passed.is_empty(),
        "{what}: failures that became passes: {passed:?}"
    );
}

fn bucket<'a>(snapshot: &'a Value, name: &str) -> &'a Value {
    snapshot["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["buckets"]["value"].as_array())
        .flatten()
        .find(|b| b["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not in the snapshot"))
}

/// The reasons given for an unknown outcome, or a panic naming what it was instead.
fn unknown_reasons<'a>(results: &'a Value, rule: &str, bucket: &str) -> &'a Vec<Value> {
    results["unknown"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["rule_id"] == rule && u["resource"]["name"] == bucket)
        .map(|u| u["reasons"].as_array().unwrap())
        .unwrap_or_else(|| {
            let failed = results["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["rule_id"] == rule && f["resource"]["name"] == bucket);
            panic!(
                "{rule} on {bucket} is {}, not unknown",
                if failed { "fail" } else { "pass" }
            )
        })
}

/// Buckets of the scenario whose configuration names `target` under `key`.
fn buckets_pointing_at<'a>(scenario: &'a Value, key: &str, target: &str) -> Vec<&'a str> {
    scenario["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["config"][key] == target)
        .map(|b| b["name"].as_str().unwrap())
        .collect()
}

#[test]
fn an_unreadable_bucket_region_makes_the_joins_on_it_unknown_whatever_the_fault() {
    let emulator = Emulator::start();
    let scenario = emulator.scenario(&[]);
    let proxy = FaultProxy::start(&emulator.url);
    let dir = tempfile::tempdir().unwrap();
    let (clean_results, _) = crawl(&proxy, dir.path());
    let clean = outcomes(&clean_results);

    let loggers = buckets_pointing_at(&scenario, "logging_target", LOG_TARGET);
    let replicators = buckets_pointing_at(&scenario, "replication_destination", REPLICA);
    assert!(
        !loggers.is_empty() && !replicators.is_empty(),
        "the scenario changed: nothing logs to {LOG_TARGET} or replicates to {REPLICA}"
    );

    for fault in ["error", "timeout", "reset", "denied"] {
        proxy.set_rules(&json!([
            {"bucket": LOG_TARGET, "query": "location", "fault": fault},
            {"bucket": REPLICA, "query": "location", "fault": fault},
        ]));
        let dir = tempfile::tempdir().unwrap();
        let (results, snapshot) = crawl(&proxy, dir.path());
        assert!(
            proxy.hits().iter().all(|&h| h > 0),
            "{fault}: no request was faulted"
        );
        for name in [LOG_TARGET, REPLICA] {
            let crawled = bucket(&snapshot, name);
            assert_eq!(crawled["region"], Value::Null, "{fault}: {name}");
            let state = if fault == "denied" { "denied" } else { "error" };
            assert_eq!(crawled["policy"]["state"], state, "{fault}: {name}");
            assert_eq!(
                crawled["policy"]["operation"], "GetBucketLocation",
                "{fault}: {name}: {}",
                crawled["policy"]
            );
        }
        for source in &loggers {
            let reasons = unknown_reasons(&results, "bucket-logging-target-invalid", source);
            assert!(
                reasons.iter().any(|r| r["message"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("bucket {LOG_TARGET}"))),
                "{fault}: {source}: {reasons:?}"
            );
        }
        for source in &replicators {
            let reasons =
                unknown_reasons(&results, "bucket-cross-region-replication-disabled", source);
            assert!(
                reasons.iter().any(|r| r["message"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("bucket {REPLICA}"))),
                "{fault}: {source}: {reasons:?}"
            );
        }
        assert_no_fail_became_pass(&clean, &outcomes(&results), fault);
        assert_readable_reasons(&results, fault);
    }
}

#[test]
fn every_bucket_section_failing_in_turn_never_turns_a_failure_into_a_pass() {
    // Each declared bucket section, by the S3 subresource its request carries, or, for a
    // section read from another service (CloudWatch storage metrics, read per region for
    // every bucket at once), by its operations: a section added to the snapshot is failed
    // here too.
    let sections: Vec<(&str, Option<&str>, &[&str])> =
        s3audit::snapshot::BUCKET_SECTION_DECLARATIONS
            .iter()
            .map(|d| (d.name, d.s3_subresource, d.operations))
            .collect();

    let emulator = Emulator::start();
    emulator.scenario(&[]);
    let proxy = FaultProxy::start(&emulator.url);
    let dir = tempfile::tempdir().unwrap();
    let (clean_results, clean_snapshot) = crawl(&proxy, dir.path());
    let clean = outcomes(&clean_results);
    // The faults rotate so that each kind fails several sections.
    let faults = ["denied", "error", "timeout", "reset"];
    for (i, (section, query, operations)) in sections.iter().enumerate() {
        let fault = faults[i % faults.len()];
        let rules: Vec<Value> = match query {
            Some(query) => [LOG_TARGET, REPLICA]
                .iter()
                .map(|bucket| json!({"bucket": bucket, "query": query, "method": "GET", "fault": fault}))
                .collect(),
            None => operations
                .iter()
                .map(|op| {
                    let name = op.split(':').nth(1).unwrap();
                    json!({"path_contains": format!("/operation/{name}"), "fault": fault})
                })
                .collect(),
        };
        proxy.set_rules(&Value::Array(rules));
        let dir = tempfile::tempdir().unwrap();
        let (results, snapshot) = crawl(&proxy, dir.path());
        let what = format!("{section} {fault}");
        for name in [LOG_TARGET, REPLICA] {
            let clean_state = &bucket(&clean_snapshot, name)[section]["state"];
            let state = &bucket(&snapshot, name)[section]["state"];
            // A policy status is only asked for when there is a policy.
            if clean_state == "absent" && *section == "policy_status" {
                continue;
            }
            let expected = if fault == "denied" { "denied" } else { "error" };
            assert_eq!(
                state,
                expected,
                "{what}: {name}: {}",
                bucket(&snapshot, name)[section]
            );
        }
        assert_no_fail_became_pass(&clean, &outcomes(&results), &what);
        assert_readable_reasons(&results, &what);
    }
}
