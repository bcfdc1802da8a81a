//! Test support: the emulated AWS organization (moto, started per test on a free port and
//! stopped when the test ends) and running the real s3audit binary against it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

use assert_cmd::prelude::*;
use serde_json::Value;

pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The emulator venv's python, installed by `scripts/emulator-setup` on first use (once per
/// test process). The venv also holds the AWS CLI, for tests that apply a generated plan.
pub fn python() -> &'static PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let output = Command::new(repo("scripts/emulator-setup"))
            .stderr(Stdio::inherit())
            .output()
            .expect("scripts/emulator-setup runs");
        assert!(
            output.status.success(),
            "scripts/emulator-setup failed: the emulator (moto from PyPI) could not be installed"
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        PathBuf::from(stdout.lines().last().expect("the venv's python").trim())
    })
}

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    child: Child,
    pub url: String,
}

impl Emulator {
    pub fn start() -> Emulator {
        let mut child = Command::new(python())
            .arg(repo("tests/emulator/server.py"))
            .args(["--port", "0"])
            // The launcher exits when its stdin closes, so it cannot outlive this process.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the emulator starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the emulator prints its address");
        let url = line
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("unexpected emulator output: {line:?}"))
            .trim()
            .to_string();
        Emulator { child, url }
    }

    /// Builds the default scenario (or with extra arguments, e.g. `--enforce-iam`) and
    /// returns its description.
    pub fn scenario(&self, extra: &[&str]) -> Value {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("scenario.json");
        let status = Command::new(python())
            .arg(repo("tests/emulator/scenario.py"))
            .args(["--endpoint", &self.url, "--out"])
            .arg(&out)
            .args(extra)
            .stdout(Stdio::null())
            .status()
            .expect("the scenario runs");
        assert!(status.success(), "the scenario failed");
        read_json(&out)
    }

    /// Runs `s3audit --org` (plus `extra`) writing JSON, SARIF and the snapshot into `out`;
    /// findings exist in the scenario, so a complete run exits 1. Returns the JSON results
    /// and the snapshot.
    pub fn audit_into(
        &self,
        out: &Path,
        credentials: Option<(&str, &str)>,
        extra: &[&str],
    ) -> (Value, Value) {
        audit_at(&self.url, out, credentials, extra)
    }

    /// Changes three buckets of the default scenario (tests/emulator/change.py) and returns
    /// the findings the change should add and remove.
    pub fn change_three_buckets(&self, scenario: &Value) -> Value {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scenario.json");
        std::fs::write(&path, scenario.to_string()).unwrap();
        let output = Command::new(python())
            .arg(repo("tests/emulator/change.py"))
            .args(["--endpoint", &self.url, "--scenario"])
            .arg(&path)
            .output()
            .expect("change.py runs");
        assert!(
            output.status.success(),
            "change.py failed: {}",
            text(&output)
        );
        serde_json::from_slice(&output.stdout).expect("change.py prints JSON")
    }

    /// Runs s3audit against the emulator with the given credentials (default: the
    /// management account's) and arguments.
    pub fn s3audit(&self, credentials: Option<(&str, &str)>, args: &[&str]) -> Output {
        s3audit_at(&self.url, credentials, args)
    }
}

/// `Emulator::audit_into` against any endpoint (the emulator, or a proxy in front of it).
pub fn audit_at(
    endpoint: &str,
    out: &Path,
    credentials: Option<(&str, &str)>,
    extra: &[&str],
) -> (Value, Value) {
    let dir = out.to_str().unwrap();
    let snapshot = format!("{dir}/snapshot.json");
    let mut args = vec![
        "--org",
        "--quiet",
        "--output-dir",
        dir,
        "--snapshot",
        &snapshot,
        "--format",
        "json,sarif",
    ];
    args.extend_from_slice(extra);
    let output = s3audit_at(endpoint, credentials, &args);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    validate_sarif_in(out);
    (
        read_json(&out.join("s3audit.json")),
        read_json(Path::new(&snapshot)),
    )
}

/// Runs s3audit against an endpoint (the emulator, or a proxy in front of it).
pub fn s3audit_at(endpoint: &str, credentials: Option<(&str, &str)>, args: &[&str]) -> Output {
    let (key, secret) = credentials.unwrap_or(("testing", "testing"));
    Command::cargo_bin("s3audit")
        .unwrap()
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .unwrap()
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The SARIF files in a folder, sorted.
pub fn sarif_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sarif"))
        .collect();
    files.sort();
    files
}

/// Every SARIF file an end-to-end test writes goes through GitHub's ingestion rules
/// (`../shared/tools/sarif-validate`, which installs the SARIF multitool from npm on first
/// use). Only an npm registry that cannot be reached excuses a file, and the skip is printed
/// past the test harness's capture.
pub fn validate_sarif_in(dir: &Path) {
    let files = sarif_files(dir);
    if files.is_empty() {
        return;
    }
    let validator = repo("../shared/tools/sarif-validate");
    assert!(validator.exists(), "{} is missing", validator.display());
    let output = Command::new(&validator).args(&files).output().unwrap();
    let report = text(&output);
    let npm_unreachable = ["ENOTFOUND", "ECONNREFUSED", "EAI_AGAIN", "ETIMEDOUT"]
        .iter()
        .any(|code| report.contains(code));
    if !output.status.success() && npm_unreachable {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr().lock(),
            "SKIPPED: SARIF validation, the multitool could not be installed from npm:\n{report}"
        );
        return;
    }
    assert!(output.status.success(), "sarif-validate: {report}");
}

pub fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The fault-injecting proxy (tests/emulator/fault_proxy.py) in front of an emulator: it
/// forwards every request and fails those its rules match. Dropping it stops it.
pub struct FaultProxy {
    child: Child,
    pub url: String,
}

impl FaultProxy {
    pub fn start(upstream: &str) -> FaultProxy {
        let mut child = Command::new(python())
            .arg(repo("tests/emulator/fault_proxy.py"))
            .args(["--upstream", upstream, "--port", "0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the fault proxy starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the proxy prints its address");
        let url = line
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("unexpected proxy output: {line:?}"))
            .trim()
            .to_string();
        FaultProxy { child, url }
    }

    /// Replaces the fault rules (see the proxy's docstring); returns nothing, panics when the
    /// proxy refuses them.
    pub fn set_rules(&self, rules: &Value) {
        let answer = self.control("PUT", Some(rules));
        assert!(answer["rules"].is_array(), "{answer}");
    }

    /// How many requests each rule faulted.
    pub fn hits(&self) -> Vec<u64> {
        self.control("GET", None)["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .map(|h| h.as_u64().unwrap())
            .collect()
    }

    fn control(&self, method: &str, body: Option<&Value>) -> Value {
        use std::io::{Read, Write};
        let address = self.url.strip_prefix("http://").unwrap();
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        let body = body.map(Value::to_string).unwrap_or_default();
        write!(
            stream,
            "{method} /__faults HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let (head, json) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
        assert!(
            head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
            "{answer}"
        );
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"))
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
