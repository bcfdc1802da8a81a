//! The results model (JSON results v1) built once from a snapshot and its evaluations; every
//! report format renders from it.

pub mod baseline;
pub mod console;
pub mod cost;
pub mod history;
pub mod html;
pub mod plan;
pub mod sarif;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{Config, WaiverStatus};
use crate::rules::engine::ResourceRef;
use crate::rules::{Evaluation, Outcome, OutcomeKind, ResourceKind, RuleSet, Severity};
use crate::snapshot::{AccountAccess, Section, Snapshot, ToolInfo};

/// The results format version.
pub const RESULTS_SCHEMA_VERSION: u32 = 1;

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Results {
    /// Always 1 for this format.
    pub schema_version: u32,
    pub tool: ToolInfo,
    pub snapshot: SnapshotInfo,
    pub summary: Summary,
    pub accounts: Vec<AccountResult>,
    pub rules: Vec<RuleResult>,
    pub frameworks: Vec<FrameworkResult>,
    /// Failing (rule, resource) pairs, most severe first.
    pub findings: Vec<Finding>,
    /// (rule, resource) pairs that could not be decided, with why.
    pub unknown: Vec<UnknownResult>,
    /// Every AWS operation the crawler called, with counts.
    pub api_calls: BTreeMap<String, u64>,
    /// With `--outcomes all`: every (rule, resource) pair that passed, and why (evidence for
    /// auditors); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passed: Option<Vec<DecidedResult>>,
    /// With `--outcomes all`: every (rule, resource) pair the rule does not apply to, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_applicable: Option<Vec<DecidedResult>>,
    /// With `--baseline`: the previous result compared against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<baseline::BaselineInfo>,
    /// With `--baseline`: findings of the previous result that are gone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixed: Vec<Finding>,
    /// With `--history-dir`: failures over the kept results, oldest first, this one last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<history::HistoryPoint>,
    /// The monthly storage cost from CloudWatch storage metrics, now and after the changes
    /// the cost rules recommend; absent when no storage metrics were read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<cost::Cost>,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SnapshotInfo {
    pub started_at: String,
    pub duration_ms: u64,
    pub partition: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// The s3audit version that wrote the snapshot.
    pub crawler_version: String,
    /// The shard (`--shard K/N`) when the snapshot holds only a share of the accounts: a
    /// shard's results miss the joins to other shards' buckets; merge the shards for the
    /// organization's results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::snapshot::Shard>,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub accounts: u64,
    /// Accounts that could not be entered.
    pub accounts_failed: u64,
    pub buckets: u64,
    pub evaluations: u64,
    pub pass: u64,
    pub fail: u64,
    pub unknown: u64,
    pub not_applicable: u64,
    /// Failing findings under a valid waiver: kept and counted here, not in `fail`.
    #[serde(default)]
    pub waived: u64,
    /// Failing findings per severity (`critical`, `high`, `medium`, `low`, `info`), waived
    /// ones excluded.
    pub findings_by_severity: BTreeMap<String, u64>,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AccountResult {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `audited`, `partial` (some sections or the bucket list could not be read) or `failed`
    /// (the account could not be entered).
    pub status: String,
    /// Why the account failed or is partial.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    pub buckets: u64,
    /// The account's bucket list was read: every bucket in it was evaluated.
    pub buckets_listed: bool,
    pub findings: u64,
    pub unknown: u64,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleResult {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub resource: ResourceKind,
    /// `framework:requirement`, e.g. `aws-fsbp:S3.8`.
    pub mappings: Vec<String>,
    pub pass: u64,
    pub fail: u64,
    pub unknown: u64,
    pub not_applicable: u64,
    #[serde(default)]
    pub waived: u64,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FrameworkResult {
    pub id: String,
    pub name: String,
    pub version: String,
    pub passed: u64,
    pub failed: u64,
    pub unknown: u64,
    pub manual: u64,
    pub not_applicable: u64,
    /// Passed out of the automated requirements that were decided (pass + fail + unknown).
    pub percent_passed: f64,
    pub requirements: Vec<RequirementResult>,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RequirementResult {
    pub id: String,
    pub title: String,
    /// `pass`, `fail`, `unknown`, `not_applicable` or `manual`.
    pub status: String,
    pub rules: Vec<String>,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// The rule; its title, message and documentation are in `rules`.
    pub rule_id: String,
    pub severity: Severity,
    pub resource: ResourceRef,
    /// Stable identity of (rule, partition, account, resource), for alerts and diffs.
    pub fingerprint: String,
    /// What exactly fails on this resource (the rule's `detail`), when the rule says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// With `--baseline`: `new` or `unchanged`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<baseline::BaselineState>,
    /// The waiver that covers this finding, if any; a waiver that has not expired keeps the
    /// finding out of the failure counts and the exit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<WaiverStatus>,
}

impl Finding {
    /// Failing and not covered by a valid waiver.
    pub fn is_active(&self) -> bool {
        self.waiver.as_ref().is_none_or(|w| w.expired)
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UnknownResult {
    pub rule_id: String,
    pub resource: ResourceRef,
    pub reasons: Vec<crate::rules::UnknownReason>,
}

/// A (rule, resource) pair that passed or to which the rule does not apply.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DecidedResult {
    pub rule_id: String,
    pub resource: ResourceRef,
    /// Why: the condition that held and the state of every section it read, or the
    /// `applies_if` that was false.
    pub why: String,
}

/// A rule's expression on one line, for a sentence.
fn one_line(source: &str) -> String {
    source.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The state of a section (`bucket.policy`, `account.trails`) of the resource an evaluation
/// is about; `None` for sections of access points and directory buckets, which are read
/// with the account's list of them.
fn section_state(
    snapshot: &Snapshot,
    evaluation: &Evaluation,
    section: &str,
) -> Option<crate::snapshot::SectionState> {
    use crate::rules::engine::Target;
    let account = snapshot.accounts.get(evaluation.account)?;
    let (root, name) = section.split_once('.')?;
    let sections = match (root, evaluation.target) {
        ("account", _) => account.sections(),
        ("bucket", Target::Bucket(index)) => account.buckets.value()?.get(index)?.sections(),
        _ => return None,
    };
    let (_, value) = sections.into_iter().find(|(n, _)| *n == name)?;
    Some(value.state())
}

/// The stable identity of a finding.
/// Today's date, `YYYY-MM-DD` (UTC): it decides which waivers have expired.
pub fn today() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    )
}

pub fn fingerprint(rule_id: &str, partition: &str, resource: &ResourceRef) -> String {
    let mut hasher = Sha256::new();
    for part in [rule_id, partition, &resource.account_id, &resource.arn] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hex::encode(&hasher.finalize()[..16])
}

impl Results {
    /// `today` (YYYY-MM-DD, UTC) decides which waivers have expired.
    pub fn build(
        snapshot: &Snapshot,
        rules: &RuleSet,
        evaluations: &[Evaluation],
        config: &Config,
        today: &str,
    ) -> Results {
        let mut summary = Summary {
            accounts: snapshot.accounts.len() as u64,
            ..Summary::default()
        };
        for severity in Severity::ALL {
            summary
                .findings_by_severity
                .insert(severity.as_str().to_string(), 0);
        }
        let mut per_rule: Vec<[u64; 5]> = vec![[0; 5]; rules.rules.len()];
        let mut per_account: Vec<(u64, u64)> = vec![(0, 0); snapshot.accounts.len()];
        // Sized exactly: a large organization has a million findings, and a growing list
        // would hold up to twice that while it is copied.
        let (failing, unknowns) = evaluations
            .iter()
            .fold((0, 0), |(failing, unknowns), e| match e.outcome {
                Outcome::Fail(_) => (failing + 1, unknowns),
                Outcome::Unknown(_) => (failing, unknowns + 1),
                Outcome::Pass | Outcome::NotApplicable => (failing, unknowns),
            });
        let mut findings = Vec::with_capacity(failing);
        let mut unknown = Vec::with_capacity(unknowns);
        for evaluation in evaluations {
            let rule = &rules.rules[evaluation.rule];
            let counts = &mut per_rule[evaluation.rule];
            let account = &mut per_account[evaluation.account];
            let resource = || ResourceRef::of(snapshot, evaluation.account, evaluation.target);
            summary.evaluations += 1;
            match &evaluation.outcome {
                Outcome::Pass => {
                    summary.pass += 1;
                    counts[0] += 1;
                }
                Outcome::Fail(detail) => {
                    let resource = resource();
                    let waiver = config.waiver_for(&rule.id, &resource, today);
                    let finding = Finding {
                        rule_id: rule.id.clone(),
                        severity: rule.severity,
                        fingerprint: fingerprint(&rule.id, &snapshot.partition, &resource),
                        resource,
                        detail: detail.as_deref().cloned(),
                        baseline: None,
                        waiver,
                    };
                    if finding.is_active() {
                        summary.fail += 1;
                        counts[1] += 1;
                        account.0 += 1;
                        *summary
                            .findings_by_severity
                            .entry(rule.severity.as_str().to_string())
                            .or_default() += 1;
                    } else {
                        summary.waived += 1;
                        counts[4] += 1;
                    }
                    findings.push(finding);
                }
                Outcome::Unknown(reasons) => {
                    summary.unknown += 1;
                    counts[2] += 1;
                    account.1 += 1;
                    unknown.push(UnknownResult {
                        rule_id: rule.id.clone(),
                        resource: resource(),
                        reasons: reasons.to_vec(),
                    });
                }
                Outcome::NotApplicable => {
                    summary.not_applicable += 1;
                    counts[3] += 1;
                }
            }
        }
        // A rule fails at most once per resource, so no two findings compare equal and an
        // unstable sort (which needs no buffer of half the list) gives the one order.
        findings.sort_unstable_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.rule_id.cmp(&b.rule_id))
                .then_with(|| a.resource.cmp(&b.resource))
        });
        // Stable: a rule can be unknown twice for one account, for two reasons.
        unknown.sort_by(|a, b| {
            a.rule_id
                .cmp(&b.rule_id)
                .then_with(|| a.resource.cmp(&b.resource))
        });

        let accounts = snapshot
            .accounts
            .iter()
            .zip(&per_account)
            .map(|(account, &(findings, unknown))| {
                let mut problems = Vec::new();
                let status = match &account.access {
                    AccountAccess::Failed { code, message, .. } => {
                        summary.accounts_failed += 1;
                        problems.push(match code {
                            Some(code) => format!("could not be entered: {code}: {message}"),
                            None => format!("could not be entered: {message}"),
                        });
                        "failed"
                    }
                    _ => {
                        if let Some((_, failure)) = account.buckets.failure() {
                            problems.push(format!("ListBuckets failed: {}", failure.message));
                        } else if unknown > 0 {
                            problems.push(format!(
                                "{unknown} outcome(s) unknown: some sections could not be read"
                            ));
                        }
                        if problems.is_empty() && unknown == 0 {
                            "audited"
                        } else {
                            "partial"
                        }
                    }
                };
                let buckets = match &account.buckets {
                    Section::Present { value } => value.len() as u64,
                    _ => 0,
                };
                summary.buckets += buckets;
                AccountResult {
                    id: account.id.clone(),
                    name: account.name.clone(),
                    status: status.to_string(),
                    problems,
                    buckets,
                    buckets_listed: account.buckets.value().is_some(),
                    findings,
                    unknown,
                }
            })
            .collect();

        let rule_results = rules
            .rules
            .iter()
            .zip(&per_rule)
            .map(|(rule, c)| RuleResult {
                id: rule.id.clone(),
                title: rule.title.clone(),
                severity: rule.severity,
                resource: rule.resource,
                mappings: rules
                    .mappings(&rule.id)
                    .into_iter()
                    .map(|(f, r)| format!("{f}:{r}"))
                    .collect(),
                pass: c[0],
                fail: c[1],
                unknown: c[2],
                not_applicable: c[3],
                waived: c[4],
            })
            .collect::<Vec<_>>();

        let frameworks = frameworks(rules, &rule_results);
        let cost = cost::estimate(snapshot, &findings, config.cost.prices());
        Results {
            schema_version: RESULTS_SCHEMA_VERSION,
            tool: ToolInfo::this_build(),
            snapshot: SnapshotInfo {
                started_at: snapshot.started_at.clone(),
                duration_ms: snapshot.duration_ms,
                partition: snapshot.partition.clone(),
                organization_id: snapshot.organization.as_ref().map(|o| o.id.clone()),
                crawler_version: snapshot.tool.version.clone(),
                shard: snapshot.shard,
            },
            summary,
            accounts,
            rules: rule_results,
            frameworks,
            findings,
            unknown,
            api_calls: snapshot.api_calls.clone(),
            passed: None,
            not_applicable: None,
            baseline: None,
            fixed: Vec::new(),
            history: Vec::new(),
            cost,
        }
    }

    /// Adds every passing and not applicable (rule, resource) pair with why (`--outcomes
    /// all`): what an auditor asks for as "every bucket that passes S3.5".
    pub fn record_decided(
        &mut self,
        snapshot: &Snapshot,
        rules: &RuleSet,
        evaluations: &[Evaluation],
    ) {
        let mut passed = Vec::new();
        let mut not_applicable = Vec::new();
        for evaluation in evaluations {
            let rule = &rules.rules[evaluation.rule];
            let decided = |why: String| DecidedResult {
                rule_id: rule.id.clone(),
                resource: ResourceRef::of(snapshot, evaluation.account, evaluation.target),
                why,
            };
            match &evaluation.outcome {
                Outcome::Pass => {
                    let read: Vec<String> = rule
                        .requires
                        .iter()
                        .map(|section| {
                            let state = section_state(snapshot, evaluation, section)
                                .map_or("read", |s| s.as_str());
                            format!("{section} {state}")
                        })
                        .collect();
                    let mut why = format!("`{}` holds", one_line(&rule.condition.source));
                    if !read.is_empty() {
                        why.push_str(&format!(" on {}", read.join(", ")));
                    }
                    passed.push(decided(why));
                }
                Outcome::NotApplicable => {
                    let condition = rule.applies_if.as_ref().map_or("", |e| e.source.as_str());
                    not_applicable.push(decided(format!(
                        "does not apply: `{}` is false",
                        one_line(condition)
                    )));
                }
                Outcome::Fail(_) | Outcome::Unknown(_) => {}
            }
        }
        let order = |a: &DecidedResult, b: &DecidedResult| {
            a.rule_id
                .cmp(&b.rule_id)
                .then_with(|| a.resource.cmp(&b.resource))
        };
        passed.sort_by(order);
        not_applicable.sort_by(order);
        self.passed = Some(passed);
        self.not_applicable = Some(not_applicable);
    }

    /// The most severe failing finding not covered by a valid waiver, if any.
    pub fn worst_severity(&self) -> Option<Severity> {
        self.findings
            .iter()
            .filter(|f| f.is_active())
            .map(|f| f.severity)
            .max()
    }

    /// Reads a results file written by `--format json`, naming the line and column of any
    /// problem.
    pub fn load(path: &std::path::Path) -> anyhow::Result<Results> {
        use anyhow::Context as _;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read results {}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{}:{}:{}: not an s3audit JSON results file (v{RESULTS_SCHEMA_VERSION}): {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })
    }
}

/// A requirement fails when any of its rules fails anywhere, is unknown when none fails but
/// one is unknown, passes when its rules passed somewhere and nothing else, and is manual
/// when no rule automates it.
fn frameworks(rules: &RuleSet, rule_results: &[RuleResult]) -> Vec<FrameworkResult> {
    rules
        .frameworks
        .iter()
        .map(|framework| {
            let mut result = FrameworkResult {
                id: framework.id.clone(),
                name: framework.name.clone(),
                version: framework.version.clone(),
                passed: 0,
                failed: 0,
                unknown: 0,
                manual: 0,
                not_applicable: 0,
                percent_passed: 0.0,
                requirements: Vec::new(),
            };
            for requirement in &framework.requirements {
                let counts: Vec<&RuleResult> = rule_results
                    .iter()
                    .filter(|r| requirement.rules.contains(&r.id))
                    .collect();
                // A requirement whose rules are all disabled by configuration is manual too.
                let status = if counts.is_empty() {
                    result.manual += 1;
                    "manual"
                } else if counts.iter().any(|c| c.fail > 0) {
                    result.failed += 1;
                    OutcomeKind::Fail.as_str()
                } else if counts.iter().any(|c| c.unknown > 0) {
                    result.unknown += 1;
                    OutcomeKind::Unknown.as_str()
                } else if counts.iter().any(|c| c.pass > 0) {
                    result.passed += 1;
                    OutcomeKind::Pass.as_str()
                } else {
                    result.not_applicable += 1;
                    OutcomeKind::NotApplicable.as_str()
                };
                result.requirements.push(RequirementResult {
                    id: requirement.id.clone(),
                    title: requirement.title.clone(),
                    status: status.to_string(),
                    rules: requirement.rules.clone(),
                });
            }
            let decided = result.passed + result.failed + result.unknown;
            if decided > 0 {
                result.percent_passed =
                    (result.passed as f64 * 1000.0 / decided as f64).round() / 10.0;
            }
            result
        })
        .collect()
}

/// The JSON Schema of the results format, as checked in under `docs/`.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Results)).expect("a JSON Schema always serializes")
}
