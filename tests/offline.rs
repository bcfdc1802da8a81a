//! End-to-end tests of the offline pipeline through the real binary: snapshot file in,
//! reports and exit code out.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::prelude::*;
use serde_json::Value;
use support::{read_json, repo, text};

fn s3audit() -> Command {
    Command::cargo_bin("s3audit").expect("the s3audit binary is built")
}

/// Runs `evaluate` into a fresh directory; returns the directory, exit code, stdout, stderr.
fn evaluate(snapshot: &Path, extra: &[&str]) -> (tempfile::TempDir, i32, String, String) {
    let out = tempfile::tempdir().unwrap();
    let output = s3audit()
        .arg("evaluate")
        .arg(snapshot)
        .arg("--output-dir")
        .arg(out.path())
        .args(extra)
        .output()
        .unwrap();
    support::validate_sarif_in(out.path());
    (
        out,
        output.status.code().expect("exited"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn validate(schema_path: &Path, document: &Value) {
    let schema = read_json(schema_path);
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(document)
        .take(10)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{} violations:\n{}",
        schema_path.display(),
        errors.join("\n")
    );
}

#[test]
fn the_example_snapshot_gives_findings_and_valid_reports() {
    let (out, code, stdout, _) = evaluate(
        &repo("examples/org-snapshot.json"),
        &["--format", "console,json,sarif"],
    );
    assert_eq!(code, 1, "findings at or above low exit 1:\n{stdout}");
    assert!(stdout.contains("Accounts not audited (1)"), "{stdout}");

    let results = read_json(&out.path().join("s3audit.json"));
    validate(&repo("docs/results.schema.json"), &results);
    let findings = results["findings"].as_array().unwrap();
    let has = |rule: &str, bucket: &str| {
        findings
            .iter()
            .any(|f| f["rule_id"] == rule && f["resource"]["name"] == bucket)
    };
    // The only public grant is WRITE_ACP to AllUsers, in an account without Block Public Access.
    assert!(has("bucket-public-write", "dev-uploads"));
    // Public by policy, but the account's RestrictPublicBuckets neutralises it.
    assert!(has("bucket-policy-public", "marketing-site"));
    assert!(!has("bucket-public-read", "marketing-site"));
    // `*` restricted by aws:PrincipalOrgID is not public.
    assert!(!has("bucket-policy-public", "shared-datasets"));
    // The hardened bucket passes everything it is evaluated on.
    assert!(
        !findings
            .iter()
            .any(|f| f["resource"]["name"] == "payments-ledger")
    );

    let sarif = read_json(&out.path().join("s3audit.sarif"));
    validate(&repo("tests/schemas/sarif-2.1.0.json"), &sarif);
    // One run per audited account; the account that could not be entered has none, so its
    // alerts are not closed as fixed.
    let runs = sarif["runs"].as_array().unwrap();
    let categories: Vec<&str> = runs
        .iter()
        .map(|r| r["automationDetails"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        categories,
        [
            "s3audit/111122223333/",
            "s3audit/222233334444/",
            "s3audit/333344445555/"
        ]
    );
    let sarif_results: Vec<&Value> = runs
        .iter()
        .flat_map(|r| r["results"].as_array().unwrap())
        .collect();
    assert_eq!(sarif_results.len(), findings.len());
    // Each SARIF rule's help is the rule's generated documentation page, word for word.
    for run in runs {
        for descriptor in run["tool"]["driver"]["rules"].as_array().unwrap() {
            let id = descriptor["id"].as_str().unwrap();
            let page = std::fs::read_to_string(repo(&format!("docs/rules/{id}.md"))).unwrap();
            assert_eq!(descriptor["help"]["markdown"], page.as_str(), "{id}");
        }
    }
    for result in sarif_results {
        let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(uri.starts_with("aws/") && !uri.contains(':'), "{uri}");
        assert!(result["partialFingerprints"]["primaryLocationLineHash"].is_string());
    }
}

#[test]
fn the_sarif_of_the_example_passes_githubs_ingestion_rules() {
    // evaluate() runs every SARIF file it writes through ../shared/tools/sarif-validate.
    let (out, _, _, _) = evaluate(&repo("examples/org-snapshot.json"), &["--format", "sarif"]);
    assert_eq!(support::sarif_files(out.path()).len(), 1);
}

#[test]
fn denied_sections_give_unknown_never_pass_or_fail() {
    let (out, code, stdout, _) = evaluate(
        &repo("tests/fixtures/all-denied.json"),
        &["--fail-on", "none", "--fail-on-unknown"],
    );
    assert_eq!(code, 3, "unknowns with --fail-on-unknown exit 3:\n{stdout}");
    let results = read_json(&out.path().join("s3audit.json"));
    assert_eq!(results["summary"]["fail"], 0, "{}", results["summary"]);
    // The one rule that reads only the bucket's name, from the bucket list, still decides;
    // every other rule is unknown.
    let rules = results["rules"].as_array().unwrap();
    let decided: Vec<&str> = rules
        .iter()
        .filter(|r| r["unknown"] == 0)
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        decided,
        ["bucket-name-not-dns-compliant"],
        "{}",
        results["summary"]
    );
    assert_eq!(results["summary"]["pass"], 1, "{}", results["summary"]);
    let unknown = results["unknown"].as_array().unwrap();
    assert_eq!(
        unknown.len(),
        rules.len() - 1,
        "every other rule is unknown on the one bucket/account"
    );
    for u in unknown {
        let reasons = u["reasons"].as_array().unwrap();
        assert!(!reasons.is_empty());
        assert!(
            reasons
                .iter()
                .all(|r| r["state"] == "denied" || r["state"] == "error")
        );
    }
    let sarif = read_json(&out.path().join("s3audit.sarif"));
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 0);
    let notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(notes.len(), unknown.len());
}

#[test]
fn exit_codes_follow_the_threshold() {
    let example = repo("examples/org-snapshot.json");
    // The example's worst finding is critical.
    assert_eq!(evaluate(&example, &["--fail-on", "critical"]).1, 1);
    assert_eq!(evaluate(&example, &["--fail-on", "none"]).1, 0);
    assert_eq!(
        evaluate(&example, &["--fail-on", "none", "--fail-on-unknown"]).1,
        3
    );
}

#[test]
fn a_corrupt_snapshot_names_line_column_and_byte() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo("examples/org-snapshot.json")).unwrap();
    let cut = text.find("\"versioning\"").unwrap() + 30;
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, &text[..cut]).unwrap();
    let (_, code, _, stderr) = evaluate(&broken, &[]);
    assert_eq!(code, 2, "{stderr}");
    let line = text[..cut].lines().count();
    assert!(stderr.contains(&format!("broken.json:{line}:")), "{stderr}");
    assert!(stderr.contains("(byte "), "{stderr}");

    let wrong_type = dir.path().join("wrong.json");
    std::fs::write(
        &wrong_type,
        text.replacen("\"duration_ms\": 8421", "\"duration_ms\": \"slow\"", 1),
    )
    .unwrap();
    let (_, code, _, stderr) = evaluate(&wrong_type, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("wrong.json:8:"), "{stderr}");
    assert!(stderr.contains("expected u64"), "{stderr}");
}

fn rules_dir_with(file: &str, text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(file), text).unwrap();
    dir
}

fn broken_rule_error(file: &str, text: &str) -> String {
    let dir = rules_dir_with(file, text);
    let (_, code, _, stderr) = evaluate(
        &repo("examples/org-snapshot.json"),
        &["--rules", dir.path().to_str().unwrap()],
    );
    assert_eq!(code, 2, "{stderr}");
    stderr
}

const GOOD_RULE: &str = "id: custom-rule
title: Custom
severity: low
resource: bucket
requires: [bucket.versioning]
condition: |
  bucket.versioning != null &&
    bucket.versioning.status == 'Enabled'
message: m
docs:
  what: w
  why: y
  remediation: {console: c, cli: c, terraform: t}
examples: []
";

#[test]
fn a_broken_rule_file_names_file_line_and_field() {
    // A bad field value.
    let stderr = broken_rule_error(
        "custom-rule.yaml",
        &GOOD_RULE.replace("severity: low", "severity: severe"),
    );
    assert!(stderr.contains("custom-rule.yaml:3:11"), "{stderr}");
    assert!(
        stderr.contains("severity: unknown variant `severe`"),
        "{stderr}"
    );

    // A CEL syntax error: the caret points into the block scalar, on the file's line.
    let stderr = broken_rule_error(
        "custom-rule.yaml",
        &GOOD_RULE.replace("== 'Enabled'", "== = 'Enabled'"),
    );
    assert!(stderr.contains("custom-rule.yaml:8:"), "{stderr}");
    assert!(
        stderr.contains("field `condition`: CEL syntax error"),
        "{stderr}"
    );
    assert!(stderr.contains('^'), "{stderr}");

    // A field the snapshot model does not have.
    let stderr = broken_rule_error(
        "custom-rule.yaml",
        &GOOD_RULE.replace("status ==", "statuz =="),
    );
    assert!(stderr.contains("custom-rule.yaml:8:23"), "{stderr}");
    assert!(stderr.contains("no field `statuz`"), "{stderr}");

    // A section that does not exist, and a read the rule did not declare.
    let stderr = broken_rule_error(
        "custom-rule.yaml",
        &GOOD_RULE.replace("[bucket.versioning]", "[bucket.versionin]"),
    );
    assert!(
        stderr.contains("custom-rule.yaml:5:1: field `requires`"),
        "{stderr}"
    );
    let stderr = broken_rule_error(
        "custom-rule.yaml",
        &GOOD_RULE.replace("[bucket.versioning]", "[bucket.acl]"),
    );
    assert!(
        stderr.contains("reads `bucket.versioning`, which `requires` does not list"),
        "{stderr}"
    );

    // An unknown key, and an id that is not the file name.
    let stderr = broken_rule_error(
        "custom-rule.yaml",
        &GOOD_RULE.replace("message: m", "mesage: m"),
    );
    assert!(stderr.contains("unknown field `mesage`"), "{stderr}");
    let stderr = broken_rule_error("other-name.yaml", GOOD_RULE);
    assert!(
        stderr.contains("other-name.yaml:1:1: field `id`"),
        "{stderr}"
    );
}

#[test]
fn rules_test_passes_on_the_catalog_and_fails_on_a_wrong_example() {
    let output = s3audit().args(["rules", "test"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains(", 0 failed"), "{stdout}");

    let wrong = GOOD_RULE.replace(
        "examples: []",
        "examples:
  - name: enabled but expected to fail
    expect: fail
    bucket:
      versioning: {state: present, value: {status: Enabled, mfa_delete: Disabled}}
",
    );
    let dir = rules_dir_with("custom-rule.yaml", &wrong);
    let output = s3audit()
        .args(["rules", "test"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL custom-rule")
            && stdout.contains("\"enabled but expected to fail\": expected fail, got pass"),
        "{stdout}"
    );
}

#[test]
fn checked_in_schemas_are_up_to_date() {
    for (format, file) in [
        ("snapshot", "docs/snapshot.schema.json"),
        ("results", "docs/results.schema.json"),
        ("config", "docs/config.schema.json"),
    ] {
        let output = s3audit().args(["schema", format]).output().unwrap();
        assert!(output.status.success());
        let generated: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(
            generated,
            read_json(&repo(file)),
            "{file} is stale: run `cargo run -- schema {format} > {file}`"
        );
    }
}

#[test]
fn checked_in_rule_docs_are_up_to_date() {
    let output = s3audit()
        .args(["rules", "docs", "--check", "--out"])
        .arg(repo("docs/rules"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "docs/rules is stale: run `cargo run -- rules docs`\n{}",
        text(&output)
    );
}

#[test]
fn rules_show_prints_the_generated_page() {
    let output = s3audit()
        .args(["rules", "show", "bucket-tls-not-enforced"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let page = std::fs::read_to_string(repo("docs/rules/bucket-tls-not-enforced.md")).unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), page);
}

#[test]
fn rules_coverage_counts_automated_and_manual_requirements() {
    let output = s3audit().args(["rules", "coverage"]).output().unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let fsbp = stdout
        .lines()
        .find(|l| l.starts_with("aws-fsbp"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(fsbp.contains("21/21"), "{fsbp}");
    assert!(!stdout.contains("manual S3.25"), "{stdout}");
}

#[test]
fn the_example_snapshot_matches_its_schema() {
    validate(
        &repo("docs/snapshot.schema.json"),
        &read_json(&repo("examples/org-snapshot.json")),
    );
}

/// A snapshot with `small` accounts of one bare bucket and one account of `big` bare buckets
/// (a bucket with every section absent fails about ten rules).
fn generated_snapshot(small: usize, big: usize) -> tempfile::NamedTempFile {
    use s3audit::snapshot::{Account, Bucket, Section, Snapshot};
    let account = |i: usize, buckets: usize| {
        let mut account = Account::all_absent(&format!("{:012}", 100_000_000_000u64 + i as u64));
        account.buckets = Section::present(
            (0..buckets)
                .map(|b| Bucket::all_absent(&format!("bucket-{i}-{b}"), "eu-west-1"))
                .collect(),
        );
        account
    };
    let accounts = (0..small)
        .map(|i| account(i, 1))
        .chain(std::iter::once(account(small, big)))
        .collect();
    let snapshot = Snapshot::new("2026-01-01T00:00:00Z", "aws", None, accounts);
    let file = tempfile::NamedTempFile::new().unwrap();
    serde_json::to_writer(std::fs::File::create(file.path()).unwrap(), &snapshot).unwrap();
    file
}

#[test]
fn sarif_is_split_by_githubs_limits_and_every_file_validates() {
    // 6 small accounts and one with 1,100 bare buckets (about 11,000 results): 6 runs plus,
    // for the big account, runs per rule and bucket-name shard of at most 1,000 results, in
    // files of at most 5 runs.
    let snapshot = generated_snapshot(6, 1_100);
    let (out, code, _, stderr) = evaluate(snapshot.path(), &["--format", "sarif", "--quiet"]);
    assert_eq!(code, 1, "{stderr}");
    let mut files: Vec<PathBuf> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    // Numbered files, so that an Actions matrix can upload them one by one.
    assert!(names.len() >= 2, "{names:?}");
    for i in 1..=names.len() {
        assert!(names.contains(&format!("s3audit-{i}.sarif")), "{names:?}");
    }
    let sarif_schema = repo("tests/schemas/sarif-2.1.0.json");
    let mut categories = std::collections::BTreeSet::new();
    let mut results = 0;
    for file in &files {
        let sarif = read_json(file);
        validate(&sarif_schema, &sarif);
        let runs = sarif["runs"].as_array().unwrap();
        assert!(runs.len() <= 5);
        for run in runs {
            let count = run["results"].as_array().unwrap().len();
            assert!(count <= 1_000, "{count} results in one run");
            results += count;
            // Every category is unique: GitHub keeps alerts per category.
            assert!(
                categories.insert(run["automationDetails"]["id"].as_str().unwrap().to_string())
            );
        }
    }
    let big = "s3audit/100000000006/";
    assert!(!categories.contains(big), "the big account is split");
    assert!(
        categories.contains(&format!("{big}bucket-versioning-disabled/1/")),
        "{categories:?}"
    );
    assert!(results > 10_000);
    // evaluate() ran every file through sarif-validate.
}

#[test]
fn waivers_keep_findings_but_take_them_out_of_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("s3audit.yml");
    std::fs::write(
        &config,
        "waivers:
  - rule: bucket-public-write
    bucket: arn:aws:s3:::dev-uploads
    reason: upload drop box, replaced in Q1
    owner: platform-team
    expires: '2099-12-31'
  - rule: bucket-policy-public
    bucket: arn:aws:s3:::marketing-site
    reason: public website
    owner: web-team
    expires: '2020-01-01'
",
    )
    .unwrap();
    let example = repo("examples/org-snapshot.json");
    let args = [
        "--config",
        config.to_str().unwrap(),
        "--fail-on",
        "critical",
        "--format",
        "json,sarif",
    ];
    let (out, code, stdout, _) = evaluate(&example, &args);
    // The only critical finding is waived.
    assert_eq!(code, 0, "{stdout}");
    let results = read_json(&out.path().join("s3audit.json"));
    assert_eq!(results["summary"]["waived"], 1);
    let find = |rule: &str| {
        results["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule_id"] == rule)
            .unwrap()
            .clone()
    };
    assert_eq!(find("bucket-public-write")["waiver"]["expired"], false);
    // An expired waiver is a finding again, flagged.
    assert_eq!(find("bucket-policy-public")["waiver"]["expired"], true);
    assert_eq!(results["summary"]["findings_by_severity"]["critical"], 0);
    let sarif = read_json(&out.path().join("s3audit.sarif"));
    let suppressed: Vec<&Value> = sarif["runs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["results"].as_array().unwrap())
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0]["ruleId"], "bucket-public-write");

    // Without the waiver file the same run fails on the critical finding.
    assert_eq!(evaluate(&example, &["--fail-on", "critical"]).1, 1);
}

#[test]
fn a_broken_config_file_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("s3audit.yml");
    std::fs::write(
        &config,
        "rules:\n  disable: [bucket-object-lock-disabled]\nwaiver: []\n",
    )
    .unwrap();
    let (_, code, _, stderr) = evaluate(
        &repo("examples/org-snapshot.json"),
        &["--config", config.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("s3audit.yml:3:1: unknown field `waiver`"),
        "{stderr}"
    );

    std::fs::write(&config, "severity:\n  no-such-rule: high\n").unwrap();
    let (_, code, _, stderr) = evaluate(
        &repo("examples/org-snapshot.json"),
        &["--config", config.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("rule `no-such-rule`"), "{stderr}");
}

#[test]
fn the_config_disables_rules_and_overrides_severities() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("s3audit.yml");
    std::fs::write(
        &config,
        "rules:\n  disable: [bucket-object-lock-disabled]\nseverity:\n  bucket-versioning-disabled: critical\n",
    )
    .unwrap();
    let (out, _, _, _) = evaluate(
        &repo("examples/org-snapshot.json"),
        &["--config", config.to_str().unwrap(), "--format", "json"],
    );
    let results = read_json(&out.path().join("s3audit.json"));
    let rules = results["rules"].as_array().unwrap();
    assert!(
        !rules
            .iter()
            .any(|r| r["id"] == "bucket-object-lock-disabled")
    );
    let versioning = rules
        .iter()
        .find(|r| r["id"] == "bucket-versioning-disabled")
        .unwrap();
    assert_eq!(versioning["severity"], "critical");
}

#[test]
fn completions_and_the_man_page_come_from_the_cli_definition() {
    let output = s3audit().args(["completions", "bash"]).output().unwrap();
    assert!(output.status.success());
    let script = String::from_utf8_lossy(&output.stdout);
    assert!(
        script.contains("--fail-on") && script.contains("evaluate"),
        "{script}"
    );
    let output = s3audit().arg("man").output().unwrap();
    assert!(output.status.success());
    let page = String::from_utf8_lossy(&output.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH s3audit"),
        "{page}"
    );
}

#[test]
fn outcomes_all_lists_every_pass_and_not_applicable_with_why() {
    let snapshot = repo("examples/org-snapshot.json");
    let (default_out, _, _, _) = evaluate(&snapshot, &["--format", "json"]);
    let default = read_json(&default_out.path().join("s3audit.json"));
    assert!(default.get("passed").is_none(), "off by default");

    let (out, code, _, _) = evaluate(&snapshot, &["--format", "json,html", "--outcomes", "all"]);
    assert_eq!(code, 1);
    let results = read_json(&out.path().join("s3audit.json"));
    validate(&repo("docs/results.schema.json"), &results);
    let passed = results["passed"].as_array().expect("passes listed");
    let not_applicable = results["not_applicable"].as_array().expect("n/a listed");
    assert_eq!(
        passed.len() as u64,
        results["summary"]["pass"].as_u64().unwrap()
    );
    assert_eq!(
        not_applicable.len() as u64,
        results["summary"]["not_applicable"].as_u64().unwrap()
    );
    assert!(!passed.is_empty() && !not_applicable.is_empty());
    // The same findings and unknowns as without the flag.
    assert_eq!(results["findings"], default["findings"]);
    assert_eq!(results["unknown"], default["unknown"]);
    // A pass names the condition and the state of each section it read.
    let versioning = passed
        .iter()
        .find(|p| p["rule_id"] == "bucket-versioning-disabled")
        .expect("some bucket has versioning on");
    let why = versioning["why"].as_str().unwrap();
    assert!(why.contains("holds on bucket.versioning present"), "{why}");
    for entry in not_applicable {
        assert!(
            entry["why"]
                .as_str()
                .unwrap()
                .starts_with("does not apply: `"),
            "{entry}"
        );
    }
    // The HTML report carries them for its per-requirement resource tables.
    let html = std::fs::read_to_string(out.path().join("s3audit.html")).unwrap();
    assert!(html.contains("holds on bucket.versioning present"));
}
