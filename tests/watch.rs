//! `s3audit watch` end to end against the emulated organization: a bucket is changed, the
//! CloudTrail event EventBridge would deliver is put on the queue (five times, as a burst),
//! and the changed finding comes out as a JSON line, on SNS, in the snapshot and in the
//! results; fixing the bucket reports it fixed; a message that is not an event, and an event
//! s3audit does not know, are never deleted and end in the dead-letter queue.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Emulator, python, read_json, repo};

const BUCKET: &str = "prod-data-lake";
const RULE: &str = "bucket-versioning-disabled";

/// Runs tests/emulator/watch_events.py and returns its JSON output.
fn events(emulator: &Emulator, scenario: &Path, args: &[&str], stdin: Option<&str>) -> Value {
    let mut child = Command::new(python())
        .arg(repo("tests/emulator/watch_events.py"))
        .args(["--endpoint", &emulator.url, "--scenario"])
        .arg(scenario)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("watch_events.py starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.unwrap_or("").as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "watch_events.py {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("watch_events.py prints JSON")
}

/// The watch process, stopped when the test ends however it ends.
struct Watch {
    child: Child,
    lines: mpsc::Receiver<String>,
    log: mpsc::Receiver<String>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Watch {
    fn start(endpoint: &str, args: &[&str]) -> Watch {
        let mut child = Command::new(env!("CARGO_BIN_EXE_s3audit"))
            .arg("watch")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("s3audit watch starts");
        let forward = |stream: Box<dyn std::io::Read + Send>| {
            let (sender, receiver) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            });
            receiver
        };
        let lines = forward(Box::new(child.stdout.take().unwrap()));
        let log = forward(Box::new(child.stderr.take().unwrap()));
        Watch { child, lines, log }
    }

    /// The first stderr line containing `text`, and every line seen until then.
    fn wait_log(&self, text: &str, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.log.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(text);
                    seen.push(line);
                    if found {
                        return seen;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("watch did not log {text:?} within {within:?}; it logged: {seen:#?}");
    }

    /// The first changed finding of `rule` on the bucket with this change kind.
    fn wait_change(&self, change: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(line) = self.lines.recv_timeout(left) else {
                break;
            };
            let value: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("watch printed a line that is not JSON ({e}): {line}"));
            if value["change"] == change
                && value["rule_id"] == RULE
                && value["resource"]["name"] == BUCKET
            {
                return value;
            }
            seen.push(value);
        }
        panic!("no `{change}` {RULE} on {BUCKET} within {within:?}; printed: {seen:#?}");
    }
}

fn findings_of(results: &Value) -> Vec<(String, String)> {
    results["findings"]
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

#[test]
fn a_changed_bucket_is_reaudited_within_seconds_and_unreadable_messages_reach_the_dead_letter_queue()
 {
    let emulator = Emulator::start();
    let scenario = emulator.scenario(&[]);
    let work = tempfile::tempdir().unwrap();
    let scenario_path = work.path().join("scenario.json");
    std::fs::write(&scenario_path, scenario.to_string()).unwrap();
    let out = work.path().join("out");
    let (before, _) = emulator.audit_into(&out, None, &[]);
    let finding = (RULE.to_string(), BUCKET.to_string());
    assert!(
        !findings_of(&before).contains(&finding),
        "{BUCKET} starts versioned"
    );

    let aws = events(&emulator, &scenario_path, &["setup"], None);
    let queue = aws["queue_url"].as_str().unwrap();
    let snapshot = out.join("snapshot.json");
    let watch = Watch::start(
        &emulator.url,
        &[
            "--queue-url",
            queue,
            "--snapshot",
            snapshot.to_str().unwrap(),
            "--output-dir",
            out.to_str().unwrap(),
            "--sns-topic-arn",
            aws["topic_arn"].as_str().unwrap(),
            "--wait-seconds",
            "1",
            "--debounce-ms",
            "1500",
            "--idle-exit",
            "120",
        ],
    );
    watch.wait_log("waiting for events", Duration::from_secs(60));

    // A message that is not an event, and an event of a call s3audit does not act on.
    let send = |body: &str, count: &str| {
        events(
            &emulator,
            &scenario_path,
            &["send", "--queue-url", queue, "--count", count],
            Some(body),
        )
    };
    send("this is not an event", "1");
    let unknown = r#"{"detail-type": "AWS API Call via CloudTrail", "source": "aws.s3",
        "detail": {"eventSource": "s3.amazonaws.com", "eventName": "RestoreObject",
        "recipientAccountId": "111111111111", "requestParameters": {"bucketName": "x"}}}"#;
    send(unknown, "1");

    // Versioning suspended on the data lake; CloudTrail's event arrives five times at once.
    let event = events(
        &emulator,
        &scenario_path,
        &[
            "change",
            "--bucket",
            BUCKET,
            "--action",
            "suspend-versioning",
        ],
        None,
    );
    let sent = Instant::now();
    send(&event.to_string(), "5");
    let new = watch.wait_change("new", Duration::from_secs(60));
    let latency = sent.elapsed();
    println!("watch: message to finding in {} ms", latency.as_millis());
    assert_eq!(new["events"][0]["name"], "PutBucketVersioning", "{new}");
    // The two messages above may make a batch of their own (when the machine is slow to
    // send the event), which reads nothing; the event's batch is the first that reads.
    let summary = loop {
        let batch = watch.wait_log("resources read again", Duration::from_secs(30));
        let summary = batch.last().unwrap().clone();
        if !summary.contains(" 0 resources read again") {
            break summary;
        }
    };
    assert!(
        summary.contains(" 1 resources read again"),
        "a burst of events about one bucket reads it once: {summary}"
    );

    // The snapshot and the results are written before the messages are deleted.
    let snapshot_now = read_json(&snapshot);
    let data_lake = snapshot_now["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["buckets"]["value"].as_array())
        .flatten()
        .find(|b| b["name"] == BUCKET)
        .unwrap();
    assert_eq!(
        data_lake["versioning"]["value"]["status"], "Suspended",
        "{}",
        data_lake["versioning"]
    );
    let results = read_json(&out.join("s3audit.json"));
    assert!(findings_of(&results).contains(&finding));
    // Every other finding is as before: one bucket changed, nothing else did.
    let others = |results: &Value| {
        let mut pairs: Vec<(String, String)> = findings_of(results)
            .into_iter()
            .filter(|(_, bucket)| bucket != BUCKET)
            .collect();
        pairs.sort();
        pairs
    };
    assert_eq!(others(&results), others(&before));

    // The same line went to the SNS topic.
    let notified = events(
        &emulator,
        &scenario_path,
        &[
            "receive",
            "--queue-url",
            aws["notification_queue_url"].as_str().unwrap(),
            "--wait",
            "5",
        ],
        None,
    );
    assert!(
        notified.as_array().unwrap().iter().any(|body| body
            .as_str()
            .unwrap()
            .contains(new["fingerprint"].as_str().unwrap())),
        "{notified}"
    );

    // Versioning back on: the finding is reported fixed.
    let event = events(
        &emulator,
        &scenario_path,
        &[
            "change",
            "--bucket",
            BUCKET,
            "--action",
            "enable-versioning",
        ],
        None,
    );
    send(&event.to_string(), "1");
    let fixed = watch.wait_change("fixed", Duration::from_secs(60));
    assert_eq!(fixed["fingerprint"], new["fingerprint"]);

    // The two messages watch could not act on were received, never deleted, and moved to
    // the dead-letter queue by SQS; the queue itself is empty.
    let dead_letter_queue = aws["dead_letter_queue_url"].as_str().unwrap();
    let mut dead: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while dead.len() < 2 && Instant::now() < deadline {
        let bodies = events(
            &emulator,
            &scenario_path,
            &["receive", "--queue-url", dead_letter_queue, "--wait", "2"],
            None,
        );
        dead.extend(
            bodies
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b.as_str().unwrap().to_string()),
        );
    }
    assert!(dead.iter().any(|b| b == "this is not an event"), "{dead:?}");
    assert!(dead.iter().any(|b| b.contains("RestoreObject")), "{dead:?}");
    let left = events(
        &emulator,
        &scenario_path,
        &["count", "--queue-url", queue],
        None,
    );
    assert_eq!(left["visible"], 0, "{left}");
}
