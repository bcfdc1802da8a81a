//! `s3audit watch`: re-audit within seconds of a change. CloudTrail management events reach
//! an SQS queue through EventBridge; for each burst of messages `watch` reads the changed
//! buckets (or the account's Block Public Access) again, puts them into the last snapshot,
//! evaluates every rule again (a change to one bucket can change another's outcome through a
//! join: the bucket it logs to, the bucket it replicates to), and prints what changed as JSON
//! lines: findings that are new, fixed, or no longer decidable. The snapshot and the results
//! are written after every burst, and only then are the messages deleted: a message is never
//! lost before it has been acted on, and one that cannot be understood stays in the queue
//! for its dead-letter queue.

pub mod event;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::config::Config;
use crate::crawl::{CrawlOptions, Rereader};
use crate::report::{Finding, Results, fingerprint};
use crate::rules::RuleSet;
use crate::snapshot::{Section, Snapshot};
use crate::vocabulary::ResourceRef;
use event::{Change, Event};

/// What `watch` needs beyond the crawl's options.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    pub queue_url: String,
    /// The last snapshot; rewritten after every burst of changes.
    pub snapshot: PathBuf,
    /// Where the JSON results (`s3audit.json`) are rewritten after every burst.
    pub output_dir: PathBuf,
    /// Also publish each changed finding to this SNS topic.
    pub sns_topic_arn: Option<String>,
    /// Long polling: seconds one `ReceiveMessage` waits for a message.
    pub wait_seconds: i32,
    /// After the first message of a burst, how long to keep collecting before acting, so a
    /// burst of calls on one bucket is read once.
    pub debounce: Duration,
    /// Stop after this long without a message (default: never).
    pub idle_exit: Option<Duration>,
    pub crawl: CrawlOptions,
}

/// One changed finding, as printed (one JSON object per line) and published.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct FindingChange {
    /// `new`, `fixed`, or `unknown` (was failing, can no longer be decided: not fixed).
    pub change: &'static str,
    pub rule_id: String,
    pub severity: crate::rules::Severity,
    pub resource: ResourceRef,
    pub fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The events of the burst that touched this resource (or its account); all of the
    /// burst's events when the change came through a join.
    pub events: Vec<EventRef>,
    /// When `watch` saw the new state (RFC 3339).
    pub observed_at: String,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct EventRef {
    pub name: String,
    pub account_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

/// A received message with what it says.
struct Received {
    id: String,
    receipt_handle: String,
    event: Result<Event, String>,
}

pub fn run(options: WatchOptions, rules: RuleSet, config: Config) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(watch(options, rules, config))
}

async fn watch(options: WatchOptions, rules: RuleSet, config: Config) -> Result<()> {
    let mut snapshot = crate::snapshot::load_file(&options.snapshot)?;
    let rereader = Rereader::new(options.crawl.clone()).await?;
    let sqs = aws_sdk_sqs::Client::new(rereader.base_config());
    let sns = aws_sdk_sns::Client::new(rereader.base_config());
    let mut results = evaluate(&snapshot, &rules, &config);
    std::fs::create_dir_all(&options.output_dir)
        .with_context(|| format!("cannot create {}", options.output_dir.display()))?;
    eprintln!(
        "watch: {} findings in {}; waiting for events on {}",
        results.findings.iter().filter(|f| f.is_active()).count(),
        options.snapshot.display(),
        options.queue_url
    );
    let mut idle_since = Instant::now();
    loop {
        let mut batch = receive(&sqs, &options.queue_url, options.wait_seconds).await?;
        if batch.is_empty() {
            if options
                .idle_exit
                .is_some_and(|idle| idle_since.elapsed() >= idle)
            {
                eprintln!("watch: no event for {:?}, stopping", idle_since.elapsed());
                return Ok(());
            }
            continue;
        }
        let deadline = Instant::now() + options.debounce;
        while Instant::now() < deadline && batch.len() < 100 {
            let more = receive(&sqs, &options.queue_url, 0).await?;
            if more.is_empty() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            batch.extend(more);
        }
        let started = Instant::now();
        let previous = results;
        let outcome = apply(&mut snapshot, &rereader, &batch).await;
        results = evaluate(&snapshot, &rules, &config);
        let changes = diff(&previous, &results, &outcome.events);
        for change in &changes {
            let line = serde_json::to_string(change).context("cannot serialize a change")?;
            println!("{line}");
            if let Some(topic) = &options.sns_topic_arn
                && let Err(e) = sns.publish().topic_arn(topic).message(&line).send().await
            {
                eprintln!(
                    "watch: cannot publish to {topic}: {}",
                    aws_sdk_sns::error::DisplayErrorContext(&e)
                );
            }
        }
        // Written before the messages are deleted: a crash in between reads them again.
        write_json_atomically(&options.snapshot, &snapshot)?;
        write_json_atomically(&options.output_dir.join("s3audit.json"), &results)?;
        let done: Vec<&Received> = batch
            .iter()
            .filter(|m| outcome.processed.contains(&m.id))
            .collect();
        delete(&sqs, &options.queue_url, &done).await?;
        eprintln!(
            "watch: {} messages, {} resources read again, {} new, {} fixed, {} unknown, {} left \
             in the queue ({} ms)",
            batch.len(),
            outcome.reread,
            changes.iter().filter(|c| c.change == "new").count(),
            changes.iter().filter(|c| c.change == "fixed").count(),
            changes.iter().filter(|c| c.change == "unknown").count(),
            batch.len() - done.len(),
            started.elapsed().as_millis()
        );
        idle_since = Instant::now();
    }
}

fn evaluate(snapshot: &Snapshot, rules: &RuleSet, config: &Config) -> Results {
    let evaluations = crate::rules::evaluate(snapshot, rules, &config.selectors());
    Results::build(
        snapshot,
        rules,
        &evaluations,
        config,
        &crate::report::today(),
    )
}

async fn receive(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    wait_seconds: i32,
) -> Result<Vec<Received>> {
    let output = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(wait_seconds)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{}", aws_sdk_sqs::error::DisplayErrorContext(&e)))
        .with_context(|| format!("cannot receive messages from {queue_url}"))?;
    let mut received = Vec::new();
    for message in output.messages() {
        let (Some(id), Some(receipt_handle)) = (message.message_id(), message.receipt_handle())
        else {
            eprintln!("watch: SQS answered a message without an id or receipt handle; ignored");
            continue;
        };
        let event = message
            .body()
            .ok_or_else(|| "the message has no body".to_string())
            .and_then(event::parse);
        received.push(Received {
            id: id.to_string(),
            receipt_handle: receipt_handle.to_string(),
            event,
        });
    }
    Ok(received)
}

async fn delete(sqs: &aws_sdk_sqs::Client, queue_url: &str, messages: &[&Received]) -> Result<()> {
    for chunk in messages.chunks(10) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, m)| {
                aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(format!("m{i}"))
                    .receipt_handle(&m.receipt_handle)
                    .build()
                    .context("a delete entry has an id and a receipt handle")
            })
            .collect::<Result<Vec<_>>>()?;
        let output = sqs
            .delete_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}", aws_sdk_sqs::error::DisplayErrorContext(&e)))
            .with_context(|| format!("cannot delete processed messages from {queue_url}"))?;
        for failed in output.failed() {
            // The message comes back after its visibility timeout and is read again: reading
            // a bucket twice is harmless.
            eprintln!(
                "watch: a processed message was not deleted ({}): it will be read again",
                failed.message().unwrap_or(failed.code())
            );
        }
    }
    Ok(())
}

/// What a burst did to the snapshot.
struct Applied {
    /// Messages acted on (or that need no action): to delete.
    processed: BTreeSet<String>,
    /// Resources read again.
    reread: usize,
    /// The events acted on, for the changes' `events`.
    events: Vec<EventRef>,
}

/// Reads each changed resource once, whatever the number of events about it, and puts it
/// into the snapshot.
async fn apply(snapshot: &mut Snapshot, rereader: &Rereader, batch: &[Received]) -> Applied {
    let mut applied = Applied {
        processed: BTreeSet::new(),
        reread: 0,
        events: Vec::new(),
    };
    let mut by_change: BTreeMap<Change, Vec<&Received>> = BTreeMap::new();
    for message in batch {
        match &message.event {
            Err(reason) => eprintln!(
                "watch: message {} left for the dead-letter queue: {reason}",
                message.id
            ),
            Ok(Event { change: None, .. }) => {
                applied.processed.insert(message.id.clone());
            }
            Ok(
                event @ Event {
                    change: Some(change),
                    ..
                },
            ) => {
                by_change.entry(change.clone()).or_default().push(message);
                let (account_id, bucket) = match change {
                    Change::Bucket { account, bucket } => (account.clone(), Some(bucket.clone())),
                    Change::AccountPublicAccessBlock { account } => (account.clone(), None),
                };
                applied.events.push(EventRef {
                    name: event.name.clone(),
                    account_id,
                    bucket,
                    time: event.time.clone(),
                });
            }
        }
    }
    for (change, messages) in by_change {
        match apply_change(snapshot, rereader, &change).await {
            Ok(()) => {
                applied.reread += 1;
                applied
                    .processed
                    .extend(messages.iter().map(|m| m.id.clone()));
            }
            // Left in the queue: read again after the visibility timeout, and in the end
            // moved to the dead-letter queue if it never works.
            Err(reason) => eprintln!("watch: {change:?} not read again: {reason}"),
        }
    }
    applied
}

async fn apply_change(
    snapshot: &mut Snapshot,
    rereader: &Rereader,
    change: &Change,
) -> Result<(), String> {
    let account_id = match change {
        Change::Bucket { account, .. } | Change::AccountPublicAccessBlock { account } => account,
    };
    let Some(account) = snapshot.accounts.iter_mut().find(|a| &a.id == account_id) else {
        return Err(format!(
            "account {account_id} is not in the snapshot (not audited); run a full audit to \
             add it"
        ));
    };
    match change {
        Change::AccountPublicAccessBlock { .. } => {
            account.public_access_block = rereader.account_public_access_block(account_id).await?;
        }
        Change::Bucket { bucket: name, .. } => {
            let Some(buckets) = account.buckets.value_mut() else {
                return Err(format!(
                    "the bucket list of account {account_id} could not be read in the \
                     snapshot; run a full audit"
                ));
            };
            let index = buckets.iter().position(|b| &b.name == name);
            let created = index.and_then(|i| buckets[i].creation_date.clone());
            match rereader.bucket(account_id, name, created).await? {
                None => {
                    if let Some(i) = index {
                        buckets.remove(i);
                    }
                }
                Some(mut bucket) => {
                    // Storage metrics are daily and do not change with a configuration call:
                    // kept from the snapshot; a new bucket has none yet.
                    bucket.storage_metrics = match index {
                        Some(i) => buckets[i].storage_metrics.clone(),
                        None => Section::Absent {
                            code: Some("NoStorageMetrics".into()),
                        },
                    };
                    match index {
                        Some(i) => buckets[i] = bucket,
                        None => {
                            let at = buckets.partition_point(|b| b.name < bucket.name);
                            buckets.insert(at, bucket);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// The findings that changed between two results: new, fixed, and those that can no longer
/// be decided (a read failed), which are never reported as fixed.
fn diff(previous: &Results, current: &Results, events: &[EventRef]) -> Vec<FindingChange> {
    let active = |results: &Results| -> BTreeMap<String, Finding> {
        results
            .findings
            .iter()
            .filter(|f| f.is_active())
            .map(|f| (f.fingerprint.clone(), f.clone()))
            .collect()
    };
    let (before, after) = (active(previous), active(current));
    let waived_now: BTreeSet<&str> = current
        .findings
        .iter()
        .map(|f| f.fingerprint.as_str())
        .collect();
    let partition = &current.snapshot.partition;
    let unknown_now: BTreeSet<String> = current
        .unknown
        .iter()
        .map(|u| fingerprint(&u.rule_id, partition, &u.resource))
        .collect();
    let observed_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("the current time formats");
    let change = |kind: &'static str, finding: &Finding| FindingChange {
        change: kind,
        rule_id: finding.rule_id.clone(),
        severity: finding.severity,
        resource: finding.resource.clone(),
        fingerprint: finding.fingerprint.clone(),
        detail: finding.detail.clone(),
        events: events_of(events, &finding.resource),
        observed_at: observed_at.clone(),
    };
    let mut changes = Vec::new();
    for (key, finding) in &after {
        if !before.contains_key(key) {
            changes.push(change("new", finding));
        }
    }
    for (key, finding) in &before {
        if after.contains_key(key) {
            continue;
        }
        if unknown_now.contains(key) {
            changes.push(change("unknown", finding));
        } else if !waived_now.contains(key.as_str()) {
            changes.push(change("fixed", finding));
        }
    }
    changes
}

fn events_of(events: &[EventRef], resource: &ResourceRef) -> Vec<EventRef> {
    let own: Vec<EventRef> = events
        .iter()
        .filter(|e| {
            e.account_id == resource.account_id
                && e.bucket.as_deref().is_none_or(|b| b == resource.name)
        })
        .cloned()
        .collect();
    if own.is_empty() { events.to_vec() } else { own }
}

/// Writes through a temporary file and a rename, so a reader never sees half a file.
fn write_json_atomically<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let temporary = path.with_extension("json.partial");
    let file = std::fs::File::create(&temporary)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut writer, value)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::io::Write::flush(&mut writer)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    drop(writer);
    std::fs::rename(&temporary, path).with_context(|| format!("cannot replace {}", path.display()))
}
