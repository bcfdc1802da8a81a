//! Evaluating compiled rules over a snapshot: one outcome per (rule, resource), buckets in
//! parallel with rayon. Each bucket is converted to CEL values once and shared by all rules.

use std::collections::HashMap;
use std::sync::Arc;

use cel::objects::{Key, Map};
use cel::{Context, Value};
use rayon::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Rule, RuleSet};
use crate::analyze::{Scope, analyze_account, analyze_bucket};
use crate::snapshot::{
    AccessPoint, Account, AccountAccess, AnySection, Bucket, ReadFailure, SectionState, Snapshot,
};
pub use crate::vocabulary::ResourceRef;
use crate::vocabulary::{BucketSelectors, ResourceKind};

/// Why an outcome is unknown.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct UnknownReason {
    /// The section that could not be read (`bucket.policy`), or `account` when the account
    /// could not be entered, or `evaluation` when the expression failed.
    pub section: String,
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// One readable sentence: what could not be read and what to do about it.
    pub message: String,
    /// The AWS operation whose failure this is (`GetBucketPolicy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The HTTP status AWS answered with; none when no answer came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
}

/// Sixteen bytes: a large organization has millions of outcomes, nearly all passes, so
/// what a failure or an unknown carries is boxed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// Failing, with the rule's `detail` when it has one.
    Fail(Option<Box<String>>),
    NotApplicable,
    Unknown(Box<Vec<UnknownReason>>),
}

impl Outcome {
    pub fn kind(&self) -> super::OutcomeKind {
        match self {
            Outcome::Pass => super::OutcomeKind::Pass,
            Outcome::Fail(_) => super::OutcomeKind::Fail,
            Outcome::NotApplicable => super::OutcomeKind::NotApplicable,
            Outcome::Unknown(_) => super::OutcomeKind::Unknown,
        }
    }
}

/// One rule's outcome on one resource: indexes into [`RuleSet::rules`] and the snapshot's
/// accounts and their buckets, so that a million outcomes stay small.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub rule: usize,
    pub account: usize,
    pub target: Target,
    pub outcome: Outcome,
}

/// Which resource of the account an evaluation is about, by its index in the account's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The account itself; also where a rule on resources that could not be listed is
    /// reported unknown.
    Account,
    Bucket(usize),
    AccessPoint(usize),
    MultiRegionAccessPoint(usize),
    DirectoryBucket(usize),
}

impl ResourceRef {
    /// The resource an evaluation is about.
    pub fn of(snapshot: &Snapshot, account: usize, target: Target) -> ResourceRef {
        let account = &snapshot.accounts[account];
        let partition = snapshot.partition.as_str();
        let bucket = match target {
            Target::Bucket(b) => account.buckets.value().and_then(|bs| bs.get(b)),
            _ => None,
        };
        let access_point = match target {
            Target::AccessPoint(i) => account.access_points.value().and_then(|l| l.get(i)),
            _ => None,
        };
        let multi_region = match target {
            Target::MultiRegionAccessPoint(i) => account
                .multi_region_access_points
                .value()
                .and_then(|l| l.get(i)),
            _ => None,
        };
        if let Some(bucket) = bucket {
            return ResourceRef {
                kind: ResourceKind::Bucket,
                account_id: account.id.clone(),
                region: bucket.region.clone(),
                name: bucket.name.clone(),
                arn: bucket.arn(partition),
            };
        }
        if let Some(point) = access_point {
            return ResourceRef {
                kind: ResourceKind::AccessPoint,
                account_id: account.id.clone(),
                region: Some(point.region.clone()),
                name: point.name.clone(),
                arn: point.arn(partition, &account.id),
            };
        }
        if let Target::DirectoryBucket(i) = target
            && let Some(bucket) = account.directory_buckets.value().and_then(|l| l.get(i))
        {
            return ResourceRef {
                kind: ResourceKind::DirectoryBucket,
                account_id: account.id.clone(),
                region: Some(bucket.region.clone()),
                name: bucket.name.clone(),
                arn: bucket.arn(partition, &account.id),
            };
        }
        if let Some(point) = multi_region {
            return ResourceRef {
                kind: ResourceKind::MultiRegionAccessPoint,
                account_id: account.id.clone(),
                region: None,
                name: point.name.clone(),
                arn: point.arn(partition, &account.id),
            };
        }
        ResourceRef {
            kind: ResourceKind::Account,
            account_id: account.id.clone(),
            region: None,
            name: account.id.clone(),
            arn: format!("arn:{partition}:iam::{}:root", account.id),
        }
    }
}

/// Evaluates every rule on every resource of the snapshot.
pub fn evaluate(
    snapshot: &Snapshot,
    rules: &RuleSet,
    critical: &BucketSelectors,
) -> Vec<Evaluation> {
    let root = root_context();
    let scope = Scope::of(snapshot);
    let bucket_rules = BucketRules::new(rules_of_kind(rules, ResourceKind::Bucket));
    let account_rules = rules_of_kind(rules, ResourceKind::Account);
    let access_point_rules = rules_of_kind(rules, ResourceKind::AccessPoint);
    let multi_region_rules = rules_of_kind(rules, ResourceKind::MultiRegionAccessPoint);
    let directory_bucket_rules = rules_of_kind(rules, ResourceKind::DirectoryBucket);
    // The `account` variable is converted into CEL's values once per account, not once per
    // resource: each resource's scope is a child of its account's.
    let account_scopes: Vec<Context> = snapshot
        .accounts
        .iter()
        .map(|account| account_scope(&root, account))
        .collect();

    let mut evaluations = Vec::new();
    for (account_index, account) in snapshot.accounts.iter().enumerate() {
        let outcomes = account_outcomes(
            &account_scopes[account_index],
            &account_rules,
            account,
            &scope,
        );
        evaluations.extend(
            account_rules
                .iter()
                .zip(outcomes)
                .map(|((rule, _), outcome)| Evaluation {
                    rule: *rule,
                    account: account_index,
                    target: Target::Account,
                    outcome,
                }),
        );
        // Without the bucket list, every bucket rule is unknown for the whole account: an
        // account whose buckets could not be listed is not a clean account.
        if let Some((state, failure)) = account.buckets.failure() {
            let reason = unknown_reason("account.buckets", state, failure);
            evaluations.extend(bucket_rules.rules.iter().map(|(rule, _)| Evaluation {
                rule: *rule,
                account: account_index,
                target: Target::Account,
                outcome: Outcome::Unknown(Box::new(vec![reason.clone()])),
            }));
        }
        evaluations.extend(account_resource_evaluations(
            &account_scopes[account_index],
            AccountResourceRules {
                access_points: &access_point_rules,
                multi_region_access_points: &multi_region_rules,
                directory_buckets: &directory_bucket_rules,
            },
            snapshot,
            account_index,
        ));
    }

    // Buckets are the bulk of the work: flatten them so rayon balances across accounts.
    let buckets: Vec<(usize, usize)> = snapshot
        .accounts
        .iter()
        .enumerate()
        .flat_map(|(a, account)| {
            (0..account.buckets.value().map_or(0, Vec::len)).map(move |b| (a, b))
        })
        .collect();
    // Every bucket has one outcome per bucket rule: the list is sized once and each bucket
    // fills its own slice, so a million outcomes are never held twice while being gathered.
    let per_bucket = bucket_rules.rules.len();
    let first = evaluations.len();
    let unfilled = Evaluation {
        rule: 0,
        account: 0,
        target: Target::Account,
        outcome: Outcome::NotApplicable,
    };
    evaluations.resize(first + buckets.len() * per_bucket, unfilled);
    evaluations[first..]
        .par_chunks_mut(per_bucket.max(1))
        .zip(buckets.par_iter())
        .for_each(|(slots, &(account_index, bucket_index))| {
            let account = &snapshot.accounts[account_index];
            let bucket = &account.buckets.value().expect("listed above")[bucket_index];
            let outcomes = bucket_outcomes(
                &account_scopes[account_index],
                &bucket_rules,
                account,
                bucket,
                &scope,
                critical,
            );
            for (slot, ((rule, _), outcome)) in slots
                .iter_mut()
                .zip(bucket_rules.rules.iter().zip(outcomes))
            {
                *slot = Evaluation {
                    rule: *rule,
                    account: account_index,
                    target: Target::Bucket(bucket_index),
                    outcome,
                };
            }
        });
    evaluations
}

/// The rules on the resources an account lists besides its buckets.
#[derive(Clone, Copy)]
struct AccountResourceRules<'a, 'r> {
    access_points: &'a [(usize, &'r Rule)],
    multi_region_access_points: &'a [(usize, &'r Rule)],
    directory_buckets: &'a [(usize, &'r Rule)],
}

/// Outcomes of the access point, Multi-Region Access Point and directory bucket rules on each
/// such resource of the account. Rules on a list that could not be read, or that may be
/// incomplete, are unknown once for the account.
fn account_resource_evaluations(
    account_scope: &Context,
    rules: AccountResourceRules,
    snapshot: &Snapshot,
    account_index: usize,
) -> Vec<Evaluation> {
    let access_point_rules = rules.access_points;
    let multi_region_rules = rules.multi_region_access_points;
    let directory_bucket_rules = rules.directory_buckets;
    let account = &snapshot.accounts[account_index];
    let partition = snapshot.partition.as_str();
    let mut evaluations = Vec::new();
    let mut unknown_for_account = |rules: &[(usize, &Rule)], reason: UnknownReason| {
        evaluations.extend(rules.iter().map(|(rule, _)| Evaluation {
            rule: *rule,
            account: account_index,
            target: Target::Account,
            outcome: Outcome::Unknown(Box::new(vec![reason.clone()])),
        }));
    };
    if let Some(reason) = entry_failure(account) {
        unknown_for_account(access_point_rules, reason.clone());
        unknown_for_account(multi_region_rules, reason.clone());
        unknown_for_account(directory_bucket_rules, reason);
        return evaluations;
    }
    if let Some((state, failure)) = account.directory_buckets.failure() {
        unknown_for_account(
            directory_bucket_rules,
            unknown_reason("account.directory_buckets", state, failure),
        );
    }
    if let Some((state, failure)) = account.access_points.failure() {
        unknown_for_account(
            access_point_rules,
            unknown_reason("account.access_points", state, failure),
        );
    }
    // Access points are listed in every region with buckets: a bucket whose region is not
    // known may have access points in a region that was not listed.
    if let Some(unlocated) = account
        .buckets
        .value()
        .into_iter()
        .flatten()
        .find(|b| b.region.is_none())
    {
        let reason = |section: &str, what: &str| UnknownReason {
            section: section.into(),
            state: "error".into(),
            message: format!(
                "the region of bucket {} could not be read, so its region's {what} may not \
                 have been listed",
                unlocated.name
            ),
            ..UnknownReason::default()
        };
        unknown_for_account(
            access_point_rules,
            reason("account.access_points", "access points"),
        );
        unknown_for_account(
            directory_bucket_rules,
            reason("account.directory_buckets", "directory buckets"),
        );
    }
    if let Some((state, failure)) = account.multi_region_access_points.failure() {
        unknown_for_account(
            multi_region_rules,
            unknown_reason("account.multi_region_access_points", state, failure),
        );
    }
    for (index, point) in account
        .access_points
        .value()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let view = access_point_view(point, partition, &account.id);
        let outcomes = part_outcomes(
            account_scope,
            access_point_rules,
            account,
            ("access_point", view, point.sections()),
        );
        evaluations.extend(
            access_point_rules
                .iter()
                .zip(outcomes)
                .map(|((rule, _), outcome)| Evaluation {
                    rule: *rule,
                    account: account_index,
                    target: Target::AccessPoint(index),
                    outcome,
                }),
        );
    }
    for (index, point) in account
        .multi_region_access_points
        .value()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let mut view = to_cel(point);
        if let Value::Map(map) = &mut view {
            Arc::make_mut(&mut map.map).insert(
                Key::String(Arc::new("arn".into())),
                Value::from(point.arn(partition, &account.id)),
            );
        }
        let outcomes = part_outcomes(
            account_scope,
            multi_region_rules,
            account,
            ("multi_region_access_point", view, Vec::new()),
        );
        evaluations.extend(
            multi_region_rules
                .iter()
                .zip(outcomes)
                .map(|((rule, _), outcome)| Evaluation {
                    rule: *rule,
                    account: account_index,
                    target: Target::MultiRegionAccessPoint(index),
                    outcome,
                }),
        );
    }
    for (index, bucket) in account
        .directory_buckets
        .value()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let mut fields = vec![
            ("name", Value::from(bucket.name.as_str())),
            ("region", Value::from(bucket.region.as_str())),
            ("arn", Value::from(bucket.arn(partition, &account.id))),
        ];
        fields.extend(bucket.sections().into_iter().map(|(n, s)| (n, s.to_cel())));
        let outcomes = part_outcomes(
            account_scope,
            directory_bucket_rules,
            account,
            ("directory_bucket", object(fields), bucket.sections()),
        );
        evaluations.extend(directory_bucket_rules.iter().zip(outcomes).map(
            |((rule, _), outcome)| Evaluation {
                rule: *rule,
                account: account_index,
                target: Target::DirectoryBucket(index),
                outcome,
            },
        ));
    }
    evaluations
}

/// An access point as CEL sees it: its fields, its ARN, and each section's value or null.
fn access_point_view(point: &AccessPoint, partition: &str, account_id: &str) -> Value {
    let mut fields = vec![
        ("name", Value::from(point.name.as_str())),
        ("region", Value::from(point.region.as_str())),
        ("bucket", Value::from(point.bucket.as_str())),
        ("network_origin", Value::from(point.network_origin.as_str())),
        ("vpc_id", optional_string(&point.vpc_id)),
        ("arn", Value::from(point.arn(partition, account_id))),
    ];
    fields.extend(point.sections().into_iter().map(|(n, s)| (n, s.to_cel())));
    object(fields)
}

/// A resource inside the account: the CEL variable that holds it, its view, its sections.
type Part<'a> = (&'static str, Value, Sections<'a>);

/// A resource's sections by name.
type Sections<'a> = Vec<(&'static str, &'a dyn AnySection)>;

/// Outcomes of rules on one resource inside an account (an access point, a Multi-Region
/// Access Point). Its sections are required as `<variable>.<section>`.
fn part_outcomes(
    account_scope: &Context,
    rules: &[(usize, &Rule)],
    account: &Account,
    part: Part,
) -> Vec<Outcome> {
    let (variable, view, sections) = part;
    let mut scope = account_scope.new_inner_scope();
    scope.add_variable_from_value(variable, view);
    let sections = SectionsOf {
        account: account.sections(),
        part: Some((variable, sections)),
    };
    rules
        .iter()
        .map(|(_, rule)| evaluate_rule(rule, &scope, |s| section_failure(&sections, &[], s)))
        .collect()
}

/// The rules of one kind, with their index in the rule set.
fn rules_of_kind(rules: &RuleSet, kind: ResourceKind) -> Vec<(usize, &Rule)> {
    rules
        .rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r.resource == kind)
        .collect()
}

/// Outcomes of account rules on one account.
fn account_outcomes(
    account_scope: &Context,
    rules: &[(usize, &Rule)],
    account: &Account,
    org: &Scope,
) -> Vec<Outcome> {
    if let Some(reason) = entry_failure(account) {
        return vec![Outcome::Unknown(Box::new(vec![reason])); rules.len()];
    }
    let analyzed = analyze_account(account, org);
    let mut scope = account_scope.new_inner_scope();
    scope.add_variable_from_value("facts", to_cel(&analyzed.facts));
    let sections = SectionsOf {
        account: account.sections(),
        part: None,
    };
    rules
        .iter()
        .map(|(_, rule)| {
            evaluate_rule(rule, &scope, |s| {
                section_failure(&sections, &analyzed.unreadable, s)
            })
        })
        .collect()
}

/// A scope holding the `account` variable, the parent of the scopes of the account's
/// rules and of its resources' rules.
fn account_scope<'r>(root: &'r Context<'r, 'static>, account: &Account) -> Context<'r, 'static> {
    let mut scope = root.new_inner_scope();
    scope.add_variable_from_value("account", account_view(account));
    scope
}

/// Outcomes of bucket rules on one bucket, analysed and converted to CEL once for all rules.
fn bucket_outcomes(
    account_scope: &Context,
    rules: &BucketRules,
    account: &Account,
    bucket: &Bucket,
    org: &Scope,
    critical: &BucketSelectors,
) -> Vec<Outcome> {
    let partition = org.partition.as_str();
    let analyzed = analyze_bucket(account, bucket, org, critical);
    let mut scope = account_scope.new_inner_scope();
    scope.add_variable_from_value(
        "bucket",
        bucket_view(bucket, partition, &rules.sections_read),
    );
    scope.add_variable_from_value("facts", to_cel(&analyzed.facts));
    let sections = SectionsOf {
        account: account.sections(),
        part: Some(("bucket", bucket.sections())),
    };
    rules
        .rules
        .iter()
        .map(|(_, rule)| {
            evaluate_rule(rule, &scope, |s| {
                section_failure(&sections, &analyzed.unreadable, s)
            })
        })
        .collect()
}

/// The standard CEL environment plus the strings extension; one root shared by all threads, a
/// child scope per resource.
pub(crate) fn root_context() -> Context<'static, 'static> {
    // The strings extension adds `join`, which `detail` texts use to list what fails.
    let mut env = cel::Env::stdlib();
    env.add_extension(cel::extensions::strings)
        .expect("the strings extension declares no duplicate");
    Context::with_env(std::sync::Arc::new(env))
}

/// Evaluates one rule given a way to ask whether a required section could not be read.
pub(crate) fn evaluate_rule(
    rule: &Rule,
    scope: &Context,
    failure_of: impl Fn(&str) -> Option<UnknownReason>,
) -> Outcome {
    let unreadable = |names: &mut dyn Iterator<Item = &String>| -> Vec<UnknownReason> {
        names.filter_map(|s| failure_of(s)).collect()
    };
    if let Some(applies_if) = &rule.applies_if {
        let missing = unreadable(&mut rule.applies_if_reads.iter());
        if !missing.is_empty() {
            return Outcome::Unknown(Box::new(missing));
        }
        match run(applies_if, scope, "applies_if") {
            Ok(true) => {}
            Ok(false) => return Outcome::NotApplicable,
            Err(reason) => return Outcome::Unknown(Box::new(vec![*reason])),
        }
    }
    let missing = unreadable(&mut rule.requires.iter().chain(&rule.facts_read));
    if !missing.is_empty() {
        return Outcome::Unknown(Box::new(missing));
    }
    match run(&rule.condition, scope, "condition") {
        Ok(true) => Outcome::Pass,
        Ok(false) => Outcome::Fail(
            rule.detail
                .as_ref()
                .and_then(|d| describe(d, scope))
                .map(Box::new),
        ),
        Err(reason) => Outcome::Unknown(Box::new(vec![*reason])),
    }
}

/// The text of a rule's `detail`; a detail that does not give a string is left out rather
/// than failing the finding.
fn describe(detail: &super::Expression, scope: &Context) -> Option<String> {
    match detail.program.execute(scope) {
        Ok(Value::String(s)) if !s.is_empty() => Some(s.to_string()),
        _ => None,
    }
}

/// A CEL program that must produce a bool. A runtime error (e.g. a field of an absent
/// section) makes the outcome unknown rather than guessing pass or fail.
fn run(
    expression: &super::Expression,
    scope: &Context,
    field: &str,
) -> Result<bool, Box<UnknownReason>> {
    let reason = |message: String| {
        Box::new(UnknownReason {
            section: "evaluation".into(),
            state: "error".into(),
            message,
            ..UnknownReason::default()
        })
    };
    match expression.program.execute(scope) {
        Ok(Value::Bool(b)) => Ok(b),
        // A fact that the snapshot cannot decide is null (a replication destination in an
        // account that was not audited): neither pass nor fail.
        Ok(Value::Null) => Err(reason(format!(
            "`{field}` is null: the snapshot does not hold what it needs (see the facts)"
        ))),
        Ok(other) => Err(reason(format!(
            "`{field}` gave {}, not a bool: the rule is broken, report it",
            match other {
                Value::Int(_) | Value::UInt(_) | Value::Float(_) => "a number",
                Value::String(_) => "a string",
                Value::List(_) => "a list",
                Value::Map(_) => "a map",
                _ => "a value",
            }
        ))),
        Err(e) => Err(reason(format!("`{field}` failed: {e}"))),
    }
}

fn entry_failure(account: &Account) -> Option<UnknownReason> {
    match &account.access {
        AccountAccess::Failed { code, message, .. } => Some(UnknownReason {
            section: "account".into(),
            state: "error".into(),
            code: code.clone(),
            message: format!("the account could not be entered: {message}"),
            ..UnknownReason::default()
        }),
        _ => None,
    }
}

/// The sections a rule may require: the account's, and those of the resource evaluated
/// (its CEL variable and its sections), listed once per resource rather than once per rule.
struct SectionsOf<'a> {
    account: Sections<'a>,
    part: Option<(&'a str, Sections<'a>)>,
}

/// Why `section` (`bucket.policy`, `account.trails`) cannot be used, if it cannot.
fn section_failure(
    sections: &SectionsOf,
    unreadable: &[(&'static str, ReadFailure)],
    section: &str,
) -> Option<UnknownReason> {
    let reason = |state, failure: &ReadFailure| unknown_reason(section, state, failure);
    if let Some((_, failure)) = unreadable.iter().find(|(s, _)| *s == section) {
        return Some(reason(SectionState::Error, failure));
    }
    let (root, name) = section.split_once('.')?;
    let listed = match &sections.part {
        Some((variable, listed)) if *variable == root => listed,
        _ if root == "account" => &sections.account,
        _ => return None,
    };
    let (_, found) = listed.iter().find(|(n, _)| *n == name)?;
    found
        .failure()
        .map(|(state, failure)| reason(state, failure))
}

fn unknown_reason(section: &str, state: SectionState, failure: &ReadFailure) -> UnknownReason {
    UnknownReason {
        section: section.to_string(),
        state: match state {
            SectionState::Denied => "denied",
            _ => "error",
        }
        .to_string(),
        code: failure.code.clone(),
        message: failure.message.clone(),
        operation: failure.operation.clone(),
        http_status: failure.http_status,
    }
}

fn to_cel<T: Serialize + ?Sized>(value: &T) -> Value {
    // Our model types only hold strings, integers, bools, lists and string-keyed maps, which
    // always convert.
    cel::to_value(value).expect("snapshot types convert to CEL values")
}

fn object(fields: Vec<(&str, Value)>) -> Value {
    let map: HashMap<Key, Value> = fields
        .into_iter()
        .map(|(k, v)| (Key::String(Arc::new(k.to_string())), v))
        .collect();
    Value::Map(Map { map: Arc::new(map) })
}

fn optional_string(value: &Option<String>) -> Value {
    value
        .as_ref()
        .map_or(Value::Null, |s| Value::from(s.as_str()))
}

/// The bucket as CEL sees it. Only the sections some rule reads are converted: the rule
/// loader guarantees that a rule reads no section it does not `require`, and converting the
/// others is most of the cost of evaluating a bucket.
pub(crate) fn bucket_view(bucket: &Bucket, partition: &str, sections_read: &[&str]) -> Value {
    let mut fields = vec![
        ("name", Value::from(bucket.name.as_str())),
        ("region", optional_string(&bucket.region)),
        ("arn", Value::from(bucket.arn(partition))),
        ("creation_date", optional_string(&bucket.creation_date)),
    ];
    fields.extend(
        bucket
            .sections()
            .into_iter()
            .filter(|(n, _)| sections_read.contains(n))
            .map(|(n, s)| (n, s.to_cel())),
    );
    object(fields)
}

/// Bucket rules with the sections they read, worked out once per evaluation.
struct BucketRules<'r> {
    rules: Vec<(usize, &'r Rule)>,
    sections_read: Vec<&'static str>,
}

impl<'r> BucketRules<'r> {
    fn new(rules: Vec<(usize, &'r Rule)>) -> Self {
        let sections_read = bucket_sections_read(&rules);
        BucketRules {
            rules,
            sections_read,
        }
    }
}

/// The bucket sections the given rules read, by name.
fn bucket_sections_read(rules: &[(usize, &Rule)]) -> Vec<&'static str> {
    crate::snapshot::BUCKET_SECTIONS
        .iter()
        .copied()
        .filter(|name| {
            rules.iter().any(|(_, rule)| {
                rule.requires
                    .iter()
                    .any(|r| r.strip_prefix("bucket.") == Some(*name))
            })
        })
        .collect()
}

fn account_view(account: &Account) -> Value {
    let mut fields = vec![
        ("id", Value::from(account.id.as_str())),
        ("name", optional_string(&account.name)),
    ];
    fields.extend(account.sections().into_iter().map(|(n, s)| (n, s.to_cel())));
    object(fields)
}

/// Evaluates one rule on a single bucket or account, as `rules test` does with examples.
pub(crate) fn evaluate_one(
    rule: &Rule,
    account: &Account,
    bucket: Option<&Bucket>,
    scope: &Scope,
) -> Outcome {
    let root = root_context();
    let account_scope = account_scope(&root, account);
    let rules = [(0, rule)];
    let mut outcomes = match bucket {
        Some(bucket) => bucket_outcomes(
            &account_scope,
            &BucketRules::new(rules.to_vec()),
            account,
            bucket,
            scope,
            &BucketSelectors::default(),
        ),
        None => match rule.resource {
            // The example's access point is the account's first (and only) one.
            ResourceKind::AccessPoint
            | ResourceKind::MultiRegionAccessPoint
            | ResourceKind::DirectoryBucket => {
                let snapshot = Snapshot::new("", &scope.partition, None, vec![account.clone()]);
                let of_kind = |kind| -> &[(usize, &Rule)] {
                    if rule.resource == kind { &rules } else { &[] }
                };
                let kinds = AccountResourceRules {
                    access_points: of_kind(ResourceKind::AccessPoint),
                    multi_region_access_points: of_kind(ResourceKind::MultiRegionAccessPoint),
                    directory_buckets: of_kind(ResourceKind::DirectoryBucket),
                };
                account_resource_evaluations(&account_scope, kinds, &snapshot, 0)
                    .into_iter()
                    .map(|e| e.outcome)
                    .collect()
            }
            _ => account_outcomes(&account_scope, &rules, account, scope),
        },
    };
    outcomes.pop().expect("one rule, one outcome")
}

#[cfg(test)]
mod size_tests {
    /// Millions of outcomes are held at once: a payload added unboxed shows up here.
    #[test]
    fn an_outcome_is_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<super::Outcome>(), 16);
    }
}
