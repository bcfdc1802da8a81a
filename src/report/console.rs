//! The console summary: what a person reads first after a run.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::Results;
use crate::rules::Severity;

/// How many failing rules and unknown reasons to list.
const TOP: usize = 10;

/// A severity in its colour. The caller prints through `anstream`, which removes colours
/// when stdout is not a terminal or `NO_COLOR` is set.
fn paint(severity: Severity, text: &str) -> String {
    use anstyle::AnsiColor;
    let style = match severity {
        Severity::Critical => AnsiColor::Magenta.on_default().bold(),
        Severity::High => AnsiColor::Red.on_default().bold(),
        Severity::Medium => AnsiColor::Yellow.on_default(),
        Severity::Low => AnsiColor::Blue.on_default(),
        Severity::Info => AnsiColor::White.on_default(),
    };
    format!("{style}{text}{style:#}")
}

pub fn render(results: &Results) -> String {
    let s = &results.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "s3audit {}: {} account(s), {} bucket(s), {} evaluation(s)",
        results.tool.version, s.accounts, s.buckets, s.evaluations
    );
    let _ = writeln!(
        out,
        "  pass {}  fail {}  unknown {}  not applicable {}  waived {}",
        s.pass, s.fail, s.unknown, s.not_applicable, s.waived
    );
    if let Some(shard) = &results.snapshot.shard {
        let _ = writeln!(
            out,
            "  shard {shard}: a share of the organization's accounts; joins to buckets of \
             other shards are unknown until `s3audit merge` puts the shards together"
        );
    }
    if let Some(baseline) = &results.baseline {
        let _ = writeln!(
            out,
            "  since {}: {} new, {} fixed, {} unchanged",
            baseline.started_at, baseline.new, baseline.fixed, baseline.unchanged
        );
    }
    let by_severity: Vec<String> = Severity::ALL
        .iter()
        .map(|sev| {
            let n = s
                .findings_by_severity
                .get(sev.as_str())
                .copied()
                .unwrap_or(0);
            paint(*sev, &format!("{} {n}", sev.as_str()))
        })
        .collect();
    let _ = writeln!(out, "  findings by severity: {}", by_severity.join(", "));
    if let Some(cost) = &results.cost {
        let unknown = if cost.buckets_unknown > 0 {
            format!(" ({} buckets not measured)", cost.buckets_unknown)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  storage cost: {c} {:.2} a month now, {c} {:.2} after the recommended changes \
             (saving {c} {:.2}){unknown}",
            cost.monthly_usd_current,
            cost.monthly_usd_after,
            cost.monthly_usd_saving,
            c = cost.currency,
        );
    }

    let failed_accounts: Vec<_> = results
        .accounts
        .iter()
        .filter(|a| a.status == "failed")
        .collect();
    if !failed_accounts.is_empty() {
        let _ = writeln!(out, "\nAccounts not audited ({}):", failed_accounts.len());
        for account in failed_accounts {
            let _ = writeln!(out, "  {}  {}", account.id, account.problems.join("; "));
        }
    }

    let mut failing: Vec<_> = results.rules.iter().filter(|r| r.fail > 0).collect();
    failing.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.fail.cmp(&a.fail)));
    if !failing.is_empty() {
        let _ = writeln!(out, "\nTop failing rules:");
        for rule in failing.iter().take(TOP) {
            let _ = writeln!(
                out,
                "  {} {:>6}  {}  {}",
                paint(rule.severity, &format!("{:<8}", rule.severity.as_str())),
                rule.fail,
                rule.id,
                rule.title
            );
        }
        if failing.len() > TOP {
            let _ = writeln!(out, "  ... and {} more", failing.len() - TOP);
        }
    }

    if !results.unknown.is_empty() {
        // Group by what could not be read, since one denied permission usually explains many.
        let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
        for unknown in &results.unknown {
            for reason in &unknown.reasons {
                let code = reason.code.as_deref().unwrap_or("no code");
                *reasons
                    .entry(format!("{} {} ({code})", reason.section, reason.state))
                    .or_default() += 1;
            }
        }
        let mut reasons: Vec<_> = reasons.into_iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let _ = writeln!(
            out,
            "\nUnknown outcomes: {} (the data could not be read; these are not passes)",
            results.unknown.len()
        );
        for (reason, count) in reasons.iter().take(TOP) {
            let _ = writeln!(out, "  {count:>6}  {reason}");
        }
    }
    for framework in &results.frameworks {
        let _ = writeln!(
            out,
            "\n{} {}: {}% passed ({} passed, {} failed, {} unknown, {} manual)",
            framework.name,
            framework.version,
            framework.percent_passed,
            framework.passed,
            framework.failed,
            framework.unknown,
            framework.manual
        );
    }
    out
}
