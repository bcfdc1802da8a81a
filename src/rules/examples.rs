//! `s3audit rules test`: every rule's examples, evaluated and compared with their expected
//! outcome.

use serde_json::Value as Json;

use super::engine::evaluate_one;
use super::file::{Example, OutcomeKind, ResourceKind};
use super::{Outcome, Rule, RuleSet};
use crate::analyze::Scope;
use crate::snapshot::{Account, Bucket};

/// One example that did not give what it expects, or could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleFailure {
    pub rule: String,
    pub source: String,
    pub example: String,
    pub problem: String,
}

impl std::fmt::Display for ExampleFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): example \"{}\": {}",
            self.rule, self.source, self.example, self.problem
        )
    }
}

pub struct ExampleReport {
    pub examples_run: usize,
    pub failures: Vec<ExampleFailure>,
}

pub fn run_all(rules: &RuleSet) -> ExampleReport {
    let mut report = ExampleReport {
        examples_run: 0,
        failures: Vec::new(),
    };
    for rule in &rules.rules {
        for example in &rule.examples {
            report.examples_run += 1;
            if let Err(problem) = run_one(rule, example) {
                report.failures.push(ExampleFailure {
                    rule: rule.id.clone(),
                    source: rule.source.clone(),
                    example: example.name.clone(),
                    problem,
                });
            }
        }
    }
    report
}

fn run_one(rule: &Rule, example: &Example) -> Result<(), String> {
    let account: Account = merged(Account::all_absent("111122223333"), &example.account)
        .map_err(|e| format!("its `account` is not a valid snapshot account: {e}"))?;
    let bucket: Option<Bucket> = match rule.resource {
        ResourceKind::Bucket => Some(
            merged(
                Bucket::all_absent("example-bucket", "us-east-1"),
                &example.bucket,
            )
            .map_err(|e| format!("its `bucket` is not a valid snapshot bucket: {e}"))?,
        ),
        _ if example.bucket.is_some() => {
            return Err(format!(
                "a rule on {}s cannot have a `bucket` example (the account holds its resource)",
                rule.resource.as_str()
            ));
        }
        _ => None,
    };
    let mut scope = Scope::partition("aws");
    if let Some(org) = &example.organization {
        scope.organization_id = Some(org.id.clone());
        scope.organization_accounts = org.account_ids.iter().cloned().collect();
    }
    scope.index_account(&account);
    for other in &example.other_buckets {
        let other: Bucket = merged(Bucket::all_absent("", ""), &Some(other.clone()))
            .map_err(|e| format!("an entry of its `other_buckets` is not a valid bucket: {e}"))?;
        scope.index_bucket(&account.id, &other);
    }
    if let Some(bucket) = &bucket {
        scope.index_bucket(&account.id, bucket);
    }
    let outcome = evaluate_one(rule, &account, bucket.as_ref(), &scope);
    if let Some(expected) = &example.detail {
        return match &outcome {
            Outcome::Fail(Some(detail)) if detail.contains(expected.as_str()) => Ok(()),
            other => Err(format!(
                "expected a failure whose detail contains {expected:?}, got {other:?}"
            )),
        };
    }
    if outcome.kind() == example.expect {
        return Ok(());
    }
    let detail = match &outcome {
        Outcome::Unknown(reasons) => format!(
            " ({})",
            reasons
                .iter()
                .map(|r| format!("{}: {}", r.section, r.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        _ => String::new(),
    };
    Err(format!(
        "expected {}, got {}{detail}",
        example.expect.as_str(),
        outcome.kind().as_str()
    ))
}

/// `base` with the top-level fields of `overrides` replacing its own: a section given in an
/// example replaces the whole section.
fn merged<T>(base: T, overrides: &Option<Json>) -> Result<T, String>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let Some(overrides) = overrides else {
        return Ok(base);
    };
    let Json::Object(fields) = overrides else {
        return Err("it must be a map of fields".into());
    };
    let mut value = serde_json::to_value(base).map_err(|e| e.to_string())?;
    let Json::Object(target) = &mut value else {
        return Err("the base is not an object".into());
    };
    for (k, v) in fields {
        target.insert(k.clone(), v.clone());
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// Which outcomes a rule's examples cover.
pub fn covered_outcomes(rule: &Rule) -> Vec<OutcomeKind> {
    let mut kinds: Vec<OutcomeKind> = rule.examples.iter().map(|e| e.expect).collect();
    kinds.sort_by_key(|k| k.as_str());
    kinds.dedup();
    kinds
}
