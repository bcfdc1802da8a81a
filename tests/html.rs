//! The HTML report in a real browser: headless Debian chromium driven by playwright-core
//! (`tests/browser/report-test.mjs`, set up by `scripts/browser-setup`), on reports rendered by
//! the real binary. Screenshots are kept in `target/browser-test/` for a human to look at.
//!
//! Speed is printed, never asserted here: speed targets live in benchmarks.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use assert_cmd::prelude::*;
use s3audit::snapshot::{Account, AccountAccess, Bucket, Section, Snapshot};
use serde_json::Value;

/// The hostile bucket tag of examples/org-snapshot.json.
const HOSTILE: &str = "<img src=x onerror=alert(1)>";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// `target/browser-test/NAME`, emptied: a stable folder, so the screenshots outlive the test.
fn shots_dir(name: &str) -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside the target folder");
    let dir = target.join("browser-test").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// Runs `scripts/browser-setup` once per test process (Debian's chromium, playwright-core).
fn browser_setup() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let output = Command::new(repo("scripts/browser-setup"))
            .output()
            .expect("scripts/browser-setup runs");
        assert!(
            output.status.success(),
            "scripts/browser-setup failed ({}): Debian's chromium or the npm package \
             playwright-core could not be installed\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    });
}

/// `s3audit evaluate SNAPSHOT --format html` into a fresh directory; returns it and the page.
fn render_html(snapshot: &Path) -> (tempfile::TempDir, PathBuf) {
    let out = tempfile::tempdir().unwrap();
    let output = Command::cargo_bin("s3audit")
        .expect("the s3audit binary is built")
        .arg("evaluate")
        .arg(snapshot)
        .args(["--format", "html", "--fail-on", "none", "--output-dir"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "s3audit evaluate {} --format html failed ({}):\n{}",
        snapshot.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let html = out.path().join("s3audit.html");
    assert!(html.is_file(), "{} was not written", html.display());
    (out, html)
}

/// Runs the browser test on a report; prints its output; panics with it when a check failed.
fn browser_test(html: &Path, shots: &Path, flags: &[&str]) -> String {
    // One browser at a time: two of them on two cores would only measure each other.
    static BROWSER: Mutex<()> = Mutex::new(());
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let output: Output = Command::new("node")
        .arg(repo("tests/browser/report-test.mjs"))
        .arg(html)
        .arg(shots)
        .args(flags)
        .output()
        .expect("node runs (Node.js 20 or later on PATH)");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    if !stderr.trim().is_empty() {
        println!("stderr:\n{stderr}");
    }
    assert!(
        output.status.success(),
        "the browser test of {} failed ({}); screenshots in {}\n{stdout}\n{stderr}",
        html.display(),
        output.status,
        shots.display()
    );
    stdout
}

#[test]
fn the_example_report_works_in_a_browser_and_shows_the_hostile_tag_as_text() {
    browser_setup();
    let (_out, html) = render_html(&repo("examples/org-snapshot.json"));
    let shots = shots_dir("example");
    // The page itself next to its screenshots, to open by hand.
    std::fs::copy(&html, shots.join("s3audit.html")).unwrap();
    browser_test(&html, &shots, &["--expect-hostile"]);
    for name in [
        "report-desktop.png",
        "report-phone.png",
        "report-detail.png",
    ] {
        assert!(shots.join(name).is_file(), "{name} was not written");
    }
    println!("screenshots: {}", shots.display());
}

/// 10 accounts × 500 buckets with every section absent: each bucket fails 10 rules and each
/// account one, so about 50,000 findings.
fn large_snapshot() -> Snapshot {
    const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];
    let accounts = (0..10u64)
        .map(|a| {
            let id = format!("{:012}", 100_000_000_000 + a * 1111);
            let mut account = Account::all_absent(&id);
            account.name = Some(format!("account-{a}"));
            if a > 0 {
                account.access = AccountAccess::AssumedRole {
                    role_arn: format!("arn:aws:iam::{id}:role/OrganizationAccountAccessRole"),
                };
            }
            let buckets: Vec<Bucket> = (0..500usize)
                .map(|b| Bucket::all_absent(&format!("bucket-{a:02}-{b:05}"), REGIONS[b % 3]))
                .collect();
            account.buckets = Section::present(buckets);
            account
        })
        .collect();
    Snapshot {
        duration_ms: 1000,
        ..Snapshot::new("2026-01-01T00:00:00Z", "aws", None, accounts)
    }
}

#[test]
fn a_report_of_50000_findings_renders_and_filters_in_a_browser() {
    browser_setup();
    let dir = tempfile::tempdir().unwrap();
    let snapshot_path = dir.path().join("snapshot.json");
    let json = serde_json::to_vec(&large_snapshot()).expect("the snapshot serializes");
    std::fs::write(&snapshot_path, json).unwrap();
    let (_out, html) = render_html(&snapshot_path);
    let shots = shots_dir("50k");
    let stdout = browser_test(&html, &shots, &["--perf"]);

    let perf: Value = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("{\"file_bytes\""))
        .map(|l| serde_json::from_str(l).expect("the --perf line is JSON"))
        .expect("the browser test printed its --perf line");
    let findings = perf["findings"].as_u64().unwrap_or(0);
    assert!(
        findings >= 50_000,
        "expected about 50,000 findings in the page, got {perf}"
    );
    let bytes = perf["file_bytes"].as_u64().unwrap_or(0);
    println!(
        "50k report: {bytes} bytes ({:.1} MiB), {findings} findings, first render {} ms from \
         navigation (script {} ms), search {} ms (150 ms debounce included); screenshots in {}",
        bytes as f64 / (1024.0 * 1024.0),
        perf["first_render_ms"],
        perf["script_ms"],
        perf["search_ms"],
        shots.display()
    );
}

/// The page loads nothing from another host: no http(s) reference outside the embedded JSON
/// data (which holds the rule references and the evidence as data), no external script,
/// stylesheet, import or url(); and the hostile tag is never in the file as markup.
#[test]
fn the_html_report_references_nothing_outside_the_file() {
    let (_out, html_path) = render_html(&repo("examples/org-snapshot.json"));
    let html = std::fs::read_to_string(&html_path).unwrap();

    // Cut out the data block: `<script type="application/json" id="s3audit-data">…</script>`.
    // Inside it `<` is always written `\u003c`, so the first `</script>` closes it.
    let open = html
        .find("<script type=\"application/json\"")
        .expect("the report embeds its data in a <script type=\"application/json\">");
    let start = open + html[open..].find('>').expect("the data tag closes") + 1;
    let end = start
        + html[start..]
            .find("</script>")
            .expect("the data block ends");
    let data: Value = serde_json::from_str(&html[start..end]).expect("the embedded data is JSON");
    let findings = data["results"]["findings"].as_array().map_or(0, Vec::len);
    assert!(findings > 0, "the embedded data has no findings");
    assert!(
        data.to_string().contains(HOSTILE),
        "the example's hostile tag should be in the data (as data)"
    );
    let page = format!("{}{}", &html[..start], &html[end..]);
    let lower = page.to_ascii_lowercase();

    // The only URL the page itself may hold is the SVG namespace name, which is never fetched.
    let mut outside = Vec::new();
    for scheme in ["http://", "https://"] {
        for (at, _) in lower.match_indices(scheme) {
            let url: String = page[at..]
                .chars()
                .take_while(|c| !c.is_whitespace() && !"'\"<>)`".contains(*c))
                .collect();
            if url != "http://www.w3.org/2000/svg" {
                outside.push(url);
            }
        }
    }
    assert!(
        outside.is_empty(),
        "http(s) references outside the embedded data: {outside:?}"
    );

    for (needle, what) in [
        ("<script src", "an external script"),
        ("@import", "a CSS import"),
        ("url(http", "a CSS url() to another host"),
        ("<iframe", "a frame"),
        ("<object", "an embedded object"),
        ("<embed", "an embedded object"),
    ] {
        assert!(!lower.contains(needle), "the page has {what}: `{needle}`");
    }
    // No <script> with a src attribute at all, however written.
    for (at, _) in lower.match_indices("<script") {
        let tag = &lower[at..at + lower[at..].find('>').unwrap_or(0)];
        assert!(!tag.contains(" src"), "a <script> with src: {tag}");
    }
    // A <link> may only carry a data: URL (the empty favicon that stops a /favicon.ico request).
    for (at, _) in lower.match_indices("<link") {
        let tag = &lower[at..at + lower[at..].find('>').unwrap_or(0)];
        assert!(
            tag.contains("href=\"data:"),
            "a <link> that is not a data: URL: {tag}"
        );
    }
    assert!(
        lower.contains("content-security-policy") && lower.contains("default-src 'none'"),
        "the page should keep its Content-Security-Policy (default-src 'none')"
    );
    assert!(
        !html.contains(HOSTILE),
        "the hostile tag is in the file as markup, not only as escaped data"
    );
}
