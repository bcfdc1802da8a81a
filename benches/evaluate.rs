//! Benchmark of the offline pipeline: a generated snapshot of 100,000 buckets (100 accounts
//! of 1,000) evaluated with every embedded rule. Prints wall time per phase, evaluations per
//! second and peak memory. Run with `cargo bench --bench evaluate`; set BENCH_BUCKETS to
//! change the size.
//!
//! The evaluation runs in a child process (this executable again, with `--child FILE`) so
//! that its peak RSS is not inflated by generating the snapshot.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeMap;
use std::time::Instant;

use s3audit::cli::{FailOn, Format, OutcomeSelection, ReportArgs, write_reports};
use s3audit::config::Config;
use s3audit::report::Results;
use s3audit::rules::{RuleSet, evaluate};
use s3audit::snapshot::{
    Account, AccountAccess, Acl, Bucket, Encryption, EncryptionRule, Grant, Lifecycle,
    LifecycleRule, Logging, OwnershipControls, PolicyStatus, PublicAccessBlock, Section, Snapshot,
    Versioning, load_file,
};

fn bucket(account: usize, index: usize) -> Bucket {
    let name = format!("bucket-{account:03}-{index:05}");
    let mut b = Bucket::all_absent(
        &name,
        ["us-east-1", "eu-west-1", "ap-southeast-2"][index % 3],
    );
    let on = !index.is_multiple_of(4);
    b.public_access_block = Section::present(PublicAccessBlock {
        block_public_acls: on,
        ignore_public_acls: on,
        block_public_policy: on,
        restrict_public_buckets: on,
    });
    b.policy = Section::present(format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::{name}","arn:aws:s3:::{name}/*"],"Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}},{{"Sid":"OrgRead","Effect":"Allow","Principal":{{"AWS":"*"}},"Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::{name}","arn:aws:s3:::{name}/*"],"Condition":{{"StringEquals":{{"aws:PrincipalOrgID":"o-bench"}}}}}}]}}"#
    ));
    b.policy_status = Section::present(PolicyStatus { is_public: false });
    let mut grants = vec![Grant {
        grantee_type: "CanonicalUser".into(),
        grantee_id: Some("owner".into()),
        grantee_uri: None,
        grantee_email: None,
        permission: "FULL_CONTROL".into(),
    }];
    if index.is_multiple_of(10) {
        grants.push(Grant {
            grantee_type: "Group".into(),
            grantee_id: None,
            grantee_uri: Some("http://acs.amazonaws.com/groups/global/AllUsers".into()),
            grantee_email: None,
            permission: "READ".into(),
        });
    }
    b.acl = Section::present(Acl {
        owner_id: Some("owner".into()),
        grants,
    });
    b.ownership_controls = Section::present(OwnershipControls {
        object_ownership: if on {
            "BucketOwnerEnforced"
        } else {
            "ObjectWriter"
        }
        .into(),
    });
    b.encryption = Section::present(Encryption {
        rules: vec![EncryptionRule {
            sse_algorithm: if index.is_multiple_of(2) {
                "aws:kms"
            } else {
                "AES256"
            }
            .into(),
            kms_master_key_id: None,
            bucket_key_enabled: index.is_multiple_of(3),
            blocked_encryption_types: Vec::new(),
        }],
    });
    b.versioning = Section::present(Versioning {
        status: if index.is_multiple_of(5) {
            "Suspended"
        } else {
            "Enabled"
        }
        .into(),
        mfa_delete: "Disabled".into(),
    });
    b.logging = if index.is_multiple_of(7) {
        Section::absent()
    } else {
        Section::present(Logging {
            target_bucket: "logs".into(),
            target_prefix: name.clone(),
        })
    };
    b.lifecycle = Section::present(Lifecycle {
        rules: vec![LifecycleRule {
            id: Some("abort".into()),
            status: "Enabled".into(),
            prefix: String::new(),
            filter_tags: BTreeMap::new(),
            object_size_greater_than: None,
            object_size_less_than: None,
            expiration_days: None,
            noncurrent_version_expiration_days: Some(90),
            abort_incomplete_multipart_upload_days: Some(7),
            transitions: Vec::new(),
        }],
    });
    b.tags = Section::present(BTreeMap::from([(
        "team".to_string(),
        format!("t{}", index % 17),
    )]));
    if index.is_multiple_of(50) {
        b.versioning = Section::denied(s3audit::snapshot::ReadFailure {
            code: Some("AccessDenied".into()),
            message: "Access Denied".into(),
            ..Default::default()
        });
    }
    b
}

fn generate(buckets: usize) -> Snapshot {
    let per_account = 1000.min(buckets);
    let accounts = buckets.div_ceil(per_account);
    let accounts = (0..accounts)
        .map(|a| {
            let mut account = Account::all_absent(&format!("{:012}", 100000000000u64 + a as u64));
            account.access = AccountAccess::Caller;
            account.public_access_block = Section::present(PublicAccessBlock::default());
            let count = per_account.min(buckets - a * per_account);
            account.buckets = Section::present((0..count).map(|i| bucket(a, i)).collect());
            account
        })
        .collect();
    Snapshot::new("2026-01-01T00:00:00Z", "aws", None, accounts)
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn child(path: &str) {
    let total = Instant::now();
    let rules = RuleSet::load(None).expect("embedded rules");
    let t = Instant::now();
    let snapshot = load_file(std::path::Path::new(path)).expect("the generated snapshot loads");
    let load = t.elapsed();
    let rss_load = peak_rss_mib();
    let t = Instant::now();
    let evaluations = evaluate(&snapshot, &rules, &Config::default().selectors());
    let eval = t.elapsed();
    let rss_eval = peak_rss_mib();
    let t = Instant::now();
    let results = Results::build(
        &snapshot,
        &rules,
        &evaluations,
        &Config::default(),
        "2026-01-01",
    );
    let rss_results = peak_rss_mib();
    // As the command line does: the outcomes are not needed once the results are built.
    let evaluation_count = evaluations.len();
    drop(evaluations);
    let out = tempfile::tempdir().unwrap();
    let args = ReportArgs {
        rules_dir: None,
        config: None,
        only_rules: Vec::new(),
        disable_rules: Vec::new(),
        outcomes: OutcomeSelection::Failing,
        format: vec![Format::Json, Format::Sarif],
        output_dir: out.path().to_path_buf(),
        fail_on: FailOn::None,
        fail_on_unknown: false,
        baseline: None,
        history_dir: None,
        keep: 30,
        quiet: true,
    };
    let critical = Config::default().selectors();
    write_reports(&results, &rules, Some(&snapshot), &critical, &args).unwrap();
    let report = t.elapsed();
    let size = |prefix: &str, suffix: &str| {
        std::fs::read_dir(out.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with(prefix) && name.ends_with(suffix)
            })
            .map(|e| e.metadata().map_or(0, |m| m.len()))
            .sum::<u64>()
            / 1_000_000
    };
    let buckets: usize = snapshot
        .accounts
        .iter()
        .map(|a| a.buckets.value().map_or(0, Vec::len))
        .sum();
    println!("buckets               {buckets}");
    println!("rules                 {}", rules.rules.len());
    println!("evaluations           {evaluation_count}");
    println!("load snapshot         {:.2} s", load.as_secs_f64());
    println!("analyze + evaluate    {:.2} s", eval.as_secs_f64());
    println!(
        "evaluations/s         {:.0}",
        evaluation_count as f64 / eval.as_secs_f64()
    );
    println!(
        "findings              {} (unknown outcomes {})",
        results.findings.len(),
        results.unknown.len()
    );
    println!(
        "results + JSON + SARIF {:.2} s ({} MB JSON, {} MB SARIF)",
        report.as_secs_f64(),
        size("s3audit", ".json"),
        size("s3audit", ".sarif")
    );
    println!(
        "total wall time       {:.2} s",
        total.elapsed().as_secs_f64()
    );
    // Peak so far after each phase: where the memory goes.
    println!(
        "peak RSS              {:.0} MiB (after loading {rss_load:.0}, evaluating \
         {rss_eval:.0}, building results {rss_results:.0})",
        peak_rss_mib()
    );
    println!("threads               {}", rayon::current_num_threads());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return child(&args[i + 1]);
    }
    let buckets: usize = std::env::var("BENCH_BUCKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snapshot.json");
    let t = Instant::now();
    let snapshot = generate(buckets);
    let bytes = serde_json::to_vec(&snapshot).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    drop(snapshot);
    println!(
        "generated {buckets} buckets: {} MB snapshot in {:.1} s",
        bytes.len() / 1_000_000,
        t.elapsed().as_secs_f64()
    );
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .arg("--child")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
}
