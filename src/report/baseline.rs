//! Comparing a result with a previous one (`--baseline`, `s3audit diff`): which findings are
//! new, which are unchanged, and which were fixed. Findings are matched by fingerprint (rule,
//! partition, account, resource), so a finding keeps its identity from night to night.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Finding, Results};

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BaselineState {
    New,
    Unchanged,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BaselineInfo {
    /// When the previous snapshot was taken.
    pub started_at: String,
    pub new: u64,
    pub unchanged: u64,
    pub fixed: u64,
}

/// Marks `current`'s findings as new or unchanged against `previous`, and lists as fixed
/// the previous findings that are gone. A finding that disappeared because its resource could
/// not be read this time (an account not entered, an unknown outcome) is not "fixed".
pub fn apply(current: &mut Results, previous: &Results) {
    let before: BTreeSet<&str> = previous
        .findings
        .iter()
        .map(|f| f.fingerprint.as_str())
        .collect();
    let mut new = 0;
    for finding in &mut current.findings {
        let state = if before.contains(finding.fingerprint.as_str()) {
            BaselineState::Unchanged
        } else {
            new += 1;
            BaselineState::New
        };
        finding.baseline = Some(state);
    }
    let now: BTreeSet<&str> = current
        .findings
        .iter()
        .map(|f| f.fingerprint.as_str())
        .collect();
    let undecided: BTreeSet<(&str, &str)> = current
        .unknown
        .iter()
        .map(|u| (u.rule_id.as_str(), u.resource.arn.as_str()))
        .collect();
    // Accounts whose buckets were not all evaluated this time: their old findings are not fixed.
    let failed_accounts: BTreeSet<&str> = current
        .accounts
        .iter()
        .filter(|a| a.status == "failed" || !a.buckets_listed)
        .map(|a| a.id.as_str())
        .collect();
    let audited_accounts: BTreeSet<&str> = current.accounts.iter().map(|a| a.id.as_str()).collect();
    let rules_now: BTreeSet<&str> = current.rules.iter().map(|r| r.id.as_str()).collect();
    let fixed: Vec<Finding> = previous
        .findings
        .iter()
        .filter(|f| !now.contains(f.fingerprint.as_str()))
        .filter(|f| !undecided.contains(&(f.rule_id.as_str(), f.resource.arn.as_str())))
        .filter(|f| audited_accounts.contains(f.resource.account_id.as_str()))
        .filter(|f| !failed_accounts.contains(f.resource.account_id.as_str()))
        .filter(|f| rules_now.contains(f.rule_id.as_str()))
        .map(|f| Finding {
            baseline: None,
            ..f.clone()
        })
        .collect();
    current.baseline = Some(BaselineInfo {
        started_at: previous.snapshot.started_at.clone(),
        new,
        unchanged: current.findings.len() as u64 - new,
        fixed: fixed.len() as u64,
    });
    current.fixed = fixed;
}

/// The text `s3audit diff` prints.
pub fn render_diff(results: &Results) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let Some(info) = &results.baseline else {
        return out;
    };
    let _ = writeln!(
        out,
        "compared with {}: {} new, {} fixed, {} unchanged",
        info.started_at, info.new, info.fixed, info.unchanged
    );
    let line = |f: &Finding| {
        format!(
            "{:<8} {:<48} {} {}",
            f.severity.as_str(),
            f.rule_id,
            f.resource.account_id,
            f.resource.name
        )
    };
    let new: Vec<&Finding> = results
        .findings
        .iter()
        .filter(|f| f.baseline == Some(BaselineState::New))
        .collect();
    if !new.is_empty() {
        let _ = writeln!(out, "\nNew:");
        for f in new {
            let _ = writeln!(out, "  + {}", line(f));
        }
    }
    if !results.fixed.is_empty() {
        let _ = writeln!(out, "\nFixed:");
        for f in &results.fixed {
            let _ = writeln!(out, "  - {}", line(f));
        }
    }
    out
}
