//! The nightly run end to end against the emulated organization: two audits around a change
//! to three buckets, compared with `--baseline` and `s3audit diff`, with a history folder,
//! and SARIF fingerprints that stay stable across runs.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::{Emulator, read_json, sarif_files, text, validate_sarif_in};

/// `(rule, bucket)` pairs of a list of findings.
fn pairs(findings: &Value) -> BTreeSet<(String, String)> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["resource"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn expected(change: &Value, key: &str) -> BTreeSet<(String, String)> {
    change[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_string(),
                p[1].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn audit(emulator: &Emulator, out: &Path, extra: &[&str]) -> Value {
    emulator.audit_into(out, None, extra).0
}

fn s3audit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_s3audit"))
        .args(args)
        .output()
        .unwrap()
}

/// `primaryLocationLineHash` of every result in every SARIF file of a folder.
fn fingerprints(dir: &Path) -> BTreeSet<String> {
    sarif_files(dir)
        .iter()
        .flat_map(|path| {
            let sarif = read_json(path);
            sarif["runs"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|run| run["results"].as_array().unwrap().clone())
                .map(|r| {
                    r["partialFingerprints"]["primaryLocationLineHash"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn baseline_and_diff_track_a_change_to_three_buckets() {
    let emulator = Emulator::start();
    let scenario = emulator.scenario(&[]);
    let history = tempfile::tempdir().unwrap();
    let history_dir = history.path().to_str().unwrap();
    let before = tempfile::tempdir().unwrap();
    let first = audit(&emulator, before.path(), &["--history-dir", history_dir]);

    let change = emulator.change_three_buckets(&scenario);
    let after = tempfile::tempdir().unwrap();
    let baseline = before.path().join("s3audit.json");
    let second = audit(
        &emulator,
        after.path(),
        &[
            "--baseline",
            baseline.to_str().unwrap(),
            "--history-dir",
            history_dir,
        ],
    );

    // --baseline: new and fixed findings are exactly the change.
    let new: BTreeSet<(String, String)> = second["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["baseline"] == "new")
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().into(),
                f["resource"]["name"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(new, expected(&change, "new"));
    assert_eq!(pairs(&second["fixed"]), expected(&change, "fixed"));
    let (added, removed) = (
        expected(&change, "new").len(),
        expected(&change, "fixed").len(),
    );
    assert_eq!(second["baseline"]["new"], added);
    assert_eq!(second["baseline"]["fixed"], removed);
    let unchanged = second["findings"].as_array().unwrap().len() - added;
    assert_eq!(second["baseline"]["unchanged"], unchanged);
    // Everything the first audit found is still open or fixed.
    assert_eq!(
        first["findings"].as_array().unwrap().len(),
        unchanged + removed
    );

    // The history folder kept both runs; the trend has both points.
    assert_eq!(second["history"].as_array().unwrap().len(), 2);
    let kept = std::fs::read_dir(history.path()).unwrap().count();
    assert_eq!(kept, 2);

    // `s3audit diff` on the two snapshots and on the two results says the same.
    for (old, new) in [
        (
            before.path().join("snapshot.json"),
            after.path().join("snapshot.json"),
        ),
        (baseline.clone(), after.path().join("s3audit.json")),
    ] {
        let output = s3audit(&["diff", old.to_str().unwrap(), new.to_str().unwrap()]);
        assert!(output.status.success(), "{}", text(&output));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains(&format!(": {added} new, {removed} fixed,")),
            "{stdout}"
        );
        for (rule, bucket) in expected(&change, "new") {
            assert!(
                stdout
                    .lines()
                    .any(|l| l.starts_with("  + ") && l.contains(&rule) && l.ends_with(&bucket)),
                "{stdout}"
            );
        }
        for (rule, bucket) in expected(&change, "fixed") {
            assert!(
                stdout
                    .lines()
                    .any(|l| l.starts_with("  - ") && l.contains(&rule) && l.ends_with(&bucket)),
                "{stdout}"
            );
        }
    }

    // SARIF fingerprints: identical when nothing changed, and changed exactly by the change.
    let again = tempfile::tempdir().unwrap();
    let output = s3audit(&[
        "evaluate",
        before.path().join("snapshot.json").to_str().unwrap(),
        "--quiet",
        "--format",
        "sarif",
        "--output-dir",
        again.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let first_prints = fingerprints(before.path());
    assert_eq!(first_prints, fingerprints(again.path()));
    let second_prints = fingerprints(after.path());
    assert_eq!(first_prints.difference(&second_prints).count(), removed);
    assert_eq!(second_prints.difference(&first_prints).count(), added);

    validate_sarif_in(again.path());
}
