//! Facts derived once, in Rust, from a bucket's raw sections, so rules read conclusions
//! (`facts.exposure.public_read`) instead of re-implementing ACL and policy logic in CEL.
//!
//! Each top-level fact depends on some snapshot sections ([`FACT_DEPENDENCIES`]); a rule that
//! reads a fact must list those sections in `requires`, so a fact is never read when its
//! inputs could not be.

// A join that cannot be decided carries why (`scope::Unread`: the other resource, its section,
// the AWS failure) by value; it is built once per fact, never in a hot loop.
#![allow(clippy::result_large_err)]

pub mod account;
pub mod policy;
mod scope;
pub mod storage;

pub use account::{AccountFacts, AnalyzedAccount, analyze_account};
pub use scope::{KnownBucket, Scope};

use schemars::JsonSchema;
use serde::Serialize;

use crate::snapshot::{Account, Acl, Bucket, PublicAccessBlock, ReadFailure, Section};
use crate::vocabulary::BucketSelectors;
use policy::{Effect, Policy, READ_ACTIONS, Statement, WRITE_ACTIONS};

/// The sections each top-level fact is computed from.
pub const FACT_DEPENDENCIES: &[(&str, &[&str])] = &[
    (
        "public_access_block",
        &["bucket.public_access_block", "account.public_access_block"],
    ),
    ("acl", &["bucket.acl"]),
    ("policy", &["bucket.policy"]),
    ("critical", &["bucket.tags"]),
    ("global_uploads", &["bucket.tags"]),
    ("logging_target", &["bucket.logging"]),
    ("replication", &["bucket.replication"]),
    // From the trails of every account in the snapshot, not from this bucket's sections.
    ("cloudtrail", &[]),
    // From the name alone, as `ListBuckets` gave it.
    ("dns_compatible_name", &[]),
    // From every bucket's logging configuration, not from this bucket's sections.
    ("access_log_target", &[]),
    ("access_analyzer", &["account.access_analyzers"]),
    ("storage", &["bucket.storage_metrics"]),
    (
        "public_assessment",
        &["bucket.policy", "bucket.policy_status"],
    ),
    (
        "access_analyzer_assessment",
        &[
            "account.access_analyzers",
            "bucket.policy",
            "bucket.acl",
            "bucket.public_access_block",
            "account.public_access_block",
        ],
    ),
    (
        "exposure",
        &[
            "bucket.public_access_block",
            "account.public_access_block",
            "bucket.acl",
            "bucket.policy",
        ],
    ),
];

/// What a fact reads beyond its own resource's sections in [`FACT_DEPENDENCIES`]: the
/// sections of other resources it joins on. A crawl that reads only what its rules need
/// reads these too for every rule that reads the fact (the join of an unread section would
/// be `unknown`).
pub const FACT_JOINS: &[(&str, &[&str])] = &[
    // The target bucket's Object Lock, default encryption and Requester Pays.
    (
        "logging_target",
        &[
            "bucket.object_lock",
            "bucket.encryption",
            "bucket.request_payment",
        ],
    ),
    // The trails of every account (any of them may write to the bucket).
    ("cloudtrail", &["account.trails"]),
    // The logging configuration of every bucket (any of them may log to this one).
    ("access_log_target", &["bucket.logging"]),
];

/// Everything derived about one bucket.
#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct BucketFacts {
    /// Block Public Access as it applies to the bucket: each setting is on when it is on at
    /// the account or at the bucket.
    pub public_access_block: EffectivePublicAccessBlock,
    pub acl: AclFacts,
    pub policy: PolicyFacts,
    /// Whether the bucket is reachable by the public once Block Public Access is applied.
    pub exposure: Exposure,
    /// The bucket holds critical data: its tags match the configured selector
    /// (`critical_buckets` in s3audit.yml; by default `data-classification=critical`).
    pub critical: bool,
    /// The bucket takes uploads from around the world: its tags match the configured selector
    /// (`global_upload_buckets` in s3audit.yml; by default `upload-scope=global`).
    pub global_uploads: bool,
    /// The name has no dot, uppercase letter or underscore, so it works as a DNS label in
    /// virtual-hosted-style HTTPS (`name.s3.amazonaws.com`) and with Transfer Acceleration.
    pub dns_compatible_name: bool,
    pub logging_target: LoggingTargetFacts,
    pub replication: ReplicationFacts,
    pub cloudtrail: CloudTrailFacts,
    /// A bucket of the snapshot (this one included) delivers its server access logs here.
    /// Server access log delivery does not support SSE-KMS default encryption on the target.
    pub access_log_target: bool,
    pub access_analyzer: AccessAnalyzerFacts,
    /// What the bucket stores, from its CloudWatch storage metrics.
    pub storage: storage::StorageFacts,
    pub public_assessment: PublicAssessment,
    pub access_analyzer_assessment: AccessAnalyzerAssessment,
}

/// IAM Access Analyzer's verdict on the bucket next to s3audit's.
#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessAnalyzerAssessment {
    /// An active external access analyzer covers the bucket; otherwise there is nothing to
    /// compare.
    pub covered: bool,
    /// Access Analyzer has active external access findings on the bucket.
    pub access_analyzer_external: bool,
    /// s3audit: reachable by the public once Block Public Access is applied.
    pub s3audit_public: bool,
    /// s3audit: shared beyond the account in any way (public, a grant to another account, a
    /// statement for everyone restricted by conditions, an ACL grant to someone else).
    pub s3audit_shared: bool,
    /// The two agree, or nothing covers the bucket.
    pub agrees: bool,
    /// Why they differ, when they do.
    pub explanation: Option<String>,
}

/// Where the bucket's server access logs go, checked against what the snapshot holds about
/// the target bucket.
#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq, Eq, Default)]
pub struct LoggingTargetFacts {
    /// Server access logging is on.
    pub enabled: bool,
    pub target_bucket: Option<String>,
    /// The bucket logs to itself: every delivery is a write that is logged again.
    pub is_self: bool,
    /// The target bucket is in the snapshot (so its region and Object Lock are known).
    pub target_in_snapshot: bool,
    /// The target is in the same region, as S3 requires; null when the target is not in the
    /// snapshot.
    pub same_region: Option<bool>,
    /// The target is owned by the same account, as S3 requires; null when the target is not
    /// in the snapshot.
    pub same_account: Option<bool>,
    /// The target has an Object Lock default retention, which makes S3 refuse the log
    /// objects; null when not known.
    pub target_has_default_retention: Option<bool>,
    /// The target's default encryption uses a KMS key, which server access log delivery does
    /// not support (only SSE-S3); null when not known.
    pub target_uses_kms: Option<bool>,
    /// The target has Requester Pays on, which server access log delivery does not
    /// support; null when not known.
    pub target_requester_pays: Option<bool>,
    /// The target is valid: not the bucket itself, same region and account, no default
    /// retention, no KMS default encryption, no Requester Pays. Null when the snapshot does not say (the target
    /// is in an account that was not audited, or its settings could not be read).
    pub valid: Option<bool>,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplicationFacts {
    /// Replication rules with status `Enabled`.
    pub enabled_rules: u64,
    pub destinations: Vec<ReplicationDestination>,
    /// An enabled rule replicates to a bucket in another region. Null when no destination is
    /// known to be in another region and some destination is not in the snapshot.
    pub cross_region: Option<bool>,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq, Eq)]
pub struct ReplicationDestination {
    pub bucket: String,
    /// The destination's region, when the destination is in the snapshot.
    pub region: Option<String>,
    /// The destination's account, when the destination is in the snapshot.
    pub account: Option<String>,
}

/// Whether CloudTrail delivers logs to this bucket, from the trails of every account in the
/// snapshot (the log bucket usually lives in a log-archive account, not beside the trail).
#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq, Eq, Default)]
pub struct CloudTrailFacts {
    pub is_log_bucket: bool,
    /// ARNs of the trails writing here.
    pub trails: Vec<String>,
}

/// What IAM Access Analyzer says about the bucket.
#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessAnalyzerFacts {
    /// An active external access analyzer covers the bucket's region: one of the account's
    /// own, or an organization analyzer of the snapshot.
    pub covered: bool,
    pub active_findings: Vec<scope::AnalyzerFindingRef>,
}

/// s3audit's verdict on the bucket policy next to AWS's own (`GetBucketPolicyStatus`).
#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq, Eq, Default)]
pub struct PublicAssessment {
    /// s3audit: a statement allows everyone, with no condition restricting the caller.
    pub s3audit_public: bool,
    /// AWS: `GetBucketPolicyStatus` `IsPublic`; null when there is no policy status.
    pub aws_policy_status_public: Option<bool>,
    /// Both say the same, or AWS gave no status.
    pub agrees: bool,
    /// Why they differ, when they do.
    pub explanation: Option<String>,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq, Eq, Default)]
pub struct EffectivePublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
    pub all_enabled: bool,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq, Eq, Default)]
pub struct AclFacts {
    /// Permissions granted to `AllUsers` (anyone, unsigned).
    pub all_users_permissions: Vec<String>,
    /// Permissions granted to `AuthenticatedUsers` (any AWS account in the world).
    pub authenticated_users_permissions: Vec<String>,
    /// A public grant lets the public read objects or list the bucket (`READ`, `FULL_CONTROL`).
    pub public_read: bool,
    /// A public grant lets the public write (`WRITE`, `FULL_CONTROL`) or take control by
    /// rewriting the ACL itself (`WRITE_ACP`).
    pub public_write: bool,
    /// A public grant of `READ_ACP`: the ACL, with the owner's id, is readable by anyone.
    pub public_read_acp: bool,
    /// Grants to anyone other than the bucket owner.
    pub grants_to_others: u64,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyFacts {
    /// The bucket has a policy.
    pub exists: bool,
    pub statement_count: u64,
    /// Statements (Sid or `#index`) that allow a public principal with no restricting condition.
    pub public_statements: Vec<String>,
    /// Statements that allow a public principal but are restricted by condition keys.
    pub restricted_statements: Vec<RestrictedStatement>,
    /// The policy lets the public read or list.
    pub public_read: bool,
    /// The policy lets the public write, delete or change permissions.
    pub public_write: bool,
    /// A `Deny` of every S3 action when `aws:SecureTransport` is false covers both the bucket
    /// and all of its objects: plain HTTP is refused.
    pub denies_insecure_transport: bool,
    /// Such a `Deny` exists but covers only part of the bucket (e.g. only `bucket/*`).
    pub denies_insecure_transport_partially: bool,
    /// The lowest TLS version allowed by a `Deny` on `s3:TlsVersion` (e.g. `1.2`), if any.
    pub min_tls_version: Option<String>,
    /// A `Deny` to everyone refuses uploads with customer-provided keys (SSE-C): a
    /// condition on `s3:x-amz-server-side-encryption-customer-algorithm`.
    pub denies_sse_c_uploads: bool,
    /// Other AWS accounts an `Allow` names as principals.
    pub cross_account: Vec<CrossAccountGrant>,
    /// Accounts outside the organization that an `Allow` grants access to (sorted, unique).
    pub external_accounts: Vec<String>,
    /// An `Allow` gives another account (or everyone) one of the actions AWS FSBP S3.6
    /// forbids to other accounts: `s3:DeleteBucketPolicy`, `s3:PutBucketAcl`,
    /// `s3:PutBucketPolicy`, `s3:PutEncryptionConfiguration`, `s3:PutObjectAcl`.
    pub grants_sensitive_actions_to_other_accounts: bool,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq, Eq)]
pub struct CrossAccountGrant {
    pub statement: String,
    pub account: String,
    /// The account is a member of the audited organization.
    pub in_organization: bool,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq, Eq)]
pub struct RestrictedStatement {
    pub statement: String,
    pub restricted_by: Vec<String>,
    /// Only network conditions (`aws:SourceIp`) restrict it: "restricted to networks".
    pub network_only: bool,
    /// An `aws:PrincipalOrgID` condition names an organization other than the audited one.
    pub outside_organization: bool,
}

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq, Eq, Default)]
pub struct Exposure {
    pub public_read: bool,
    pub public_write: bool,
    /// Public through the bucket policy, after `RestrictPublicBuckets`.
    pub via_policy: bool,
    /// Public through the ACL, after `IgnorePublicAcls`.
    pub via_acl: bool,
}

/// A bucket's facts, plus sections that were read but could not be analysed (a damaged
/// policy document): rules that need them become `unknown`.
#[derive(Debug, Clone)]
pub struct AnalyzedBucket {
    pub facts: BucketFacts,
    pub unreadable: Vec<(&'static str, ReadFailure)>,
}

pub const ALL_USERS_URI: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
pub const AUTHENTICATED_USERS_URI: &str =
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

pub fn analyze_bucket(
    account: &Account,
    bucket: &Bucket,
    scope: &Scope,
    selectors: &BucketSelectors,
) -> AnalyzedBucket {
    let partition = scope.partition.as_str();
    let mut unreadable = Vec::new();
    let public_access_block =
        effective_public_access_block(&account.public_access_block, &bucket.public_access_block);
    let acl = bucket.acl.value().map(acl_facts).unwrap_or_default();
    let policy = match bucket.policy.value() {
        None => PolicyFacts::default(),
        Some(text) => match policy::parse(text) {
            Ok(parsed) => policy_facts(&parsed, &bucket.arn(partition), &account.id, scope),
            Err(e) => {
                unreadable.push((
                    "bucket.policy",
                    ReadFailure {
                        code: Some("MalformedPolicy".into()),
                        message: format!("the policy document cannot be analysed: {e}"),
                        ..ReadFailure::default()
                    },
                ));
                PolicyFacts::default()
            }
        },
    };
    let via_policy =
        (policy.public_read || policy.public_write) && !public_access_block.restrict_public_buckets;
    let via_acl = (acl.public_read || acl.public_write) && !public_access_block.ignore_public_acls;
    let exposure = Exposure {
        public_read: (policy.public_read && via_policy) || (acl.public_read && via_acl),
        public_write: (policy.public_write && via_policy) || (acl.public_write && via_acl),
        via_policy,
        via_acl,
    };
    let public_assessment = public_assessment(bucket, &policy);
    let logging_target = logging_target_facts(account, bucket, scope, &mut unreadable);
    let replication = replication_facts(bucket, scope, &mut unreadable);
    let is_log_bucket = scope.trail_log_buckets.contains_key(&bucket.name);
    let access_log_target = scope.access_log_targets.contains_key(&bucket.name);
    // Any bucket may log here: while one bucket's logging is unread, "no" is not known.
    if !access_log_target && let Some((source, failure)) = &scope.unread_logging {
        unreadable.push((
            "facts.access_log_target",
            ReadFailure {
                message: format!(
                    "bucket.logging of bucket {source} could not be read: {}",
                    failure.message
                ),
                ..failure.clone()
            },
        ));
    }
    let access_analyzer = access_analyzer_facts(account, bucket, scope, &mut unreadable);
    // The comparison is made from the same findings: unreadable when they are.
    if let Some((_, failure)) = unreadable
        .iter()
        .find(|(f, _)| *f == "facts.access_analyzer")
    {
        let failure = failure.clone();
        unreadable.push(("facts.access_analyzer_assessment", failure));
    }
    let access_analyzer_assessment =
        access_analyzer_assessment(&access_analyzer, &policy, &acl, &exposure);
    // A trail of any account may write here: when the trails of the bucket's own account, or
    // of another entered account, could not be read, whether one writes here is not known.
    if !is_log_bucket {
        let own = account.trails.failure().map(|(_, f)| f);
        let other = scope.unread_trails.first().map(|(id, f)| (id, f));
        let failure = match (own, other) {
            (Some(f), _) => Some(f.clone()),
            (None, Some((id, f))) => Some(ReadFailure {
                code: f.code.clone(),
                message: format!(
                    "the trails of account {id} could not be read: {}",
                    f.message
                ),
                ..ReadFailure::default()
            }),
            (None, None) => None,
        };
        if let Some(failure) = failure {
            unreadable.push(("facts.cloudtrail", failure));
        }
    }
    AnalyzedBucket {
        facts: BucketFacts {
            public_access_block,
            acl,
            policy,
            exposure,
            critical: bucket
                .tags
                .value()
                .is_some_and(|tags| selectors.critical.matches(tags)),
            global_uploads: bucket
                .tags
                .value()
                .is_some_and(|tags| selectors.global_uploads.matches(tags)),
            dns_compatible_name: !bucket
                .name
                .bytes()
                .any(|b| b == b'.' || b == b'_' || b.is_ascii_uppercase()),
            logging_target,
            replication,
            cloudtrail: CloudTrailFacts {
                is_log_bucket,
                trails: scope
                    .trail_log_buckets
                    .get(&bucket.name)
                    .cloned()
                    .unwrap_or_default(),
            },
            access_log_target,
            access_analyzer_assessment,
            access_analyzer,
            storage: storage::storage_facts(bucket.storage_metrics.value()),
            public_assessment,
        },
        unreadable,
    }
}

/// Where the logs go, checked against the target bucket as the snapshot holds it. A check
/// whose other side could not be read is null and adds its reason to `unreadable`, unless
/// another check already fails the target.
fn logging_target_facts(
    account: &Account,
    bucket: &Bucket,
    scope: &Scope,
    unreadable: &mut Vec<(&'static str, ReadFailure)>,
) -> LoggingTargetFacts {
    let Some(logging) = bucket.logging.value() else {
        return LoggingTargetFacts::default();
    };
    let target = logging.target_bucket.clone();
    let is_self = target == bucket.name;
    let known = scope.known_bucket(&target);
    let own_region = own_region(bucket);
    let same_region = known.clone().and_then(|k| {
        let theirs = k.region.clone()?;
        Ok(own_region.clone()? == theirs)
    });
    let same_account = known.clone().map(|k| k.account == account.id);
    let target_has_default_retention = known.clone().and_then(|k| k.default_retention.clone());
    let target_uses_kms = known.clone().and_then(|k| k.default_kms.clone());
    let target_requester_pays = known.clone().and_then(|k| k.requester_pays.clone());
    let checks = [
        same_region.clone(),
        same_account.clone(),
        target_has_default_retention.clone().map(|r| !r),
        target_uses_kms.clone().map(|k| !k),
        target_requester_pays.clone().map(|r| !r),
    ];
    let valid = if is_self || checks.iter().any(|c| c == &Ok(false)) {
        Some(false)
    } else if let Some(Err(unread)) = checks.iter().find(|c| c.is_err()) {
        unreadable.push(("facts.logging_target", unread.as_fact_failure()));
        None
    } else {
        Some(true)
    };
    LoggingTargetFacts {
        enabled: true,
        target_bucket: Some(target),
        is_self,
        target_in_snapshot: known.is_ok(),
        same_region: same_region.ok(),
        same_account: same_account.ok(),
        target_has_default_retention: target_has_default_retention.ok(),
        target_uses_kms: target_uses_kms.ok(),
        target_requester_pays: target_requester_pays.ok(),
        valid,
    }
}

/// The bucket's own region, or why it is not known.
fn own_region(bucket: &Bucket) -> Result<String, scope::Unread> {
    bucket.region.clone().ok_or_else(|| scope::Unread {
        resource: format!("bucket {}", bucket.name),
        section: "bucket.region".into(),
        failure: ReadFailure {
            code: None,
            message: "the bucket's region is not known".into(),
            ..ReadFailure::default()
        },
    })
}

/// Enabled replication rules and where they go. Cross-region is decided by one destination
/// known to be in another region; otherwise a destination whose region is not known (not in
/// the snapshot, region unreadable) leaves it null, with the reason in `unreadable`.
fn replication_facts(
    bucket: &Bucket,
    scope: &Scope,
    unreadable: &mut Vec<(&'static str, ReadFailure)>,
) -> ReplicationFacts {
    let mut facts = ReplicationFacts {
        cross_region: Some(false),
        ..ReplicationFacts::default()
    };
    let Some(replication) = bucket.replication.value() else {
        return facts;
    };
    let own_region = own_region(bucket);
    let mut undecided = None;
    for rule in replication.rules.iter().filter(|r| r.status == "Enabled") {
        facts.enabled_rules += 1;
        let name = Scope::bucket_name(&rule.destination_bucket).to_string();
        let known = scope.known_bucket(&name);
        let region = known.clone().and_then(|k| k.region.clone());
        match (&region, &own_region) {
            (Ok(theirs), Ok(ours)) if theirs != ours => facts.cross_region = Some(true),
            (Ok(_), Ok(_)) => {}
            (Err(unread), _) | (_, Err(unread)) => {
                undecided.get_or_insert_with(|| unread.clone());
            }
        }
        facts.destinations.push(ReplicationDestination {
            bucket: name,
            region: region.ok(),
            account: known.ok().map(|k| k.account.clone()),
        });
    }
    if let Some(unread) = undecided
        && facts.cross_region == Some(false)
    {
        facts.cross_region = None;
        unreadable.push(("facts.replication", unread.as_fact_failure()));
    }
    facts
}

fn access_analyzer_facts(
    account: &Account,
    bucket: &Bucket,
    scope: &Scope,
    unreadable: &mut Vec<(&'static str, ReadFailure)>,
) -> AccessAnalyzerFacts {
    // Analyzers are regional: without the bucket's region, nothing says which one covers it.
    let region = match own_region(bucket) {
        Ok(region) => region,
        Err(unread) => {
            unreadable.push(("facts.access_analyzer", unread.as_fact_failure()));
            String::new()
        }
    };
    // The account's own external access analyzers (an organization analyzer it owns covers
    // its own buckets too), or an organization analyzer of the audited organization.
    let own_analyzer = account
        .access_analyzers
        .value()
        .into_iter()
        .flatten()
        .any(|a| {
            a.status == "ACTIVE"
                && (a.analyzer_type == "ACCOUNT" || a.analyzer_type == "ORGANIZATION")
                && a.region == region
        });
    let in_organization = scope.organization_accounts.contains(&account.id);
    let organization_analyzer =
        in_organization && scope.organization_analyzer_regions.contains(&region);
    let arn = bucket.arn(&scope.partition);
    let active_findings = scope
        .analyzer_findings
        .get(&arn)
        .cloned()
        .unwrap_or_default();
    // Not covered as far as the snapshot shows, but another account's analyzers are unread:
    // one of them may be an organization analyzer covering this bucket.
    if !(own_analyzer || organization_analyzer)
        && in_organization
        && let Some((id, f)) = scope
            .unread_analyzers
            .iter()
            .find(|(id, _)| *id != account.id)
    {
        unreadable.push((
            "facts.access_analyzer",
            ReadFailure {
                code: f.code.clone(),
                message: format!(
                    "the analyzers of account {id} could not be listed: {}",
                    f.message
                ),
                ..ReadFailure::default()
            },
        ));
    }
    if active_findings.is_empty() {
        let own = scope
            .unread_analyzer_findings
            .get(&(account.id.clone(), region.clone()));
        let organization = scope
            .unread_analyzer_findings
            .get(&(String::new(), region))
            .filter(|_| in_organization);
        if let Some(failure) = own.or(organization) {
            unreadable.push(("facts.access_analyzer", failure.clone()));
        }
    }
    AccessAnalyzerFacts {
        covered: own_analyzer || organization_analyzer,
        active_findings,
    }
}

fn public_assessment(bucket: &Bucket, policy: &PolicyFacts) -> PublicAssessment {
    let s3audit_public = !policy.public_statements.is_empty();
    let aws = bucket.policy_status.value().map(|s| s.is_public);
    let agrees = aws.is_none_or(|aws| aws == s3audit_public);
    let explanation = match aws {
        Some(true) if !s3audit_public => Some(format!(
            "AWS reports the policy as public; s3audit finds no statement that allows everyone \
             without a restricting condition. Statements allowing everyone under conditions: \
             {}. AWS counts a condition as restricting only when its values are fixed and \
             narrow (no wildcards, no policy variables, IP ranges no wider than AWS allows), \
             so one of these conditions is probably too broad for AWS: review its values.",
            describe_restricted(&policy.restricted_statements)
        )),
        Some(false) if s3audit_public => Some(format!(
            "AWS reports the policy as not public; s3audit finds statements {} allowing \
             everyone (a `*` principal or a `NotPrincipal`) with no condition it recognises as \
             restricting the caller. AWS may recognise a restriction s3audit does not model; \
             if the statement is restricted, waive the public-access findings with the reason.",
            policy.public_statements.join(", ")
        )),
        _ => None,
    };
    PublicAssessment {
        s3audit_public,
        aws_policy_status_public: aws,
        agrees,
        explanation,
    }
}

fn access_analyzer_assessment(
    analyzer: &AccessAnalyzerFacts,
    policy: &PolicyFacts,
    acl: &AclFacts,
    exposure: &Exposure,
) -> AccessAnalyzerAssessment {
    let external = analyzer
        .active_findings
        .iter()
        .any(|f| f.finding_type != "InternalAccess");
    let s3audit_public = exposure.public_read || exposure.public_write;
    let s3audit_shared = s3audit_public
        || !policy.public_statements.is_empty()
        || !policy.restricted_statements.is_empty()
        || !policy.cross_account.is_empty()
        || acl.grants_to_others > 0;
    // A grant inside the organization is external to an account analyzer and not to an
    // organization analyzer, so only the two clear cases count as disagreement.
    let explanation = if !analyzer.covered {
        None
    } else if external && !s3audit_shared {
        Some(format!(
            "IAM Access Analyzer reports external access ({}), but s3audit finds no public \
             statement, no grant to another account and no ACL grant to anyone else in the \
             bucket policy and ACL it read. The access may come from something s3audit does \
             not read (an access point policy, a grant added after the snapshot) or from a \
             statement s3audit misreads: review the finding in the Access Analyzer console.",
            analyzer
                .active_findings
                .iter()
                .map(|f| format!("{} {}", f.finding_type, f.id))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    } else if !external && s3audit_public {
        Some(
            "s3audit finds the bucket reachable by the public, but the IAM Access Analyzer \
             analyzer covering it has no active finding on it. The finding may have been \
             archived (by hand or by an archive rule), or the analyzer has not yet analysed a \
             recent change: check the archived findings before trusting either verdict."
                .to_string(),
        )
    } else {
        None
    };
    AccessAnalyzerAssessment {
        covered: analyzer.covered,
        access_analyzer_external: external,
        s3audit_public,
        s3audit_shared,
        agrees: explanation.is_none(),
        explanation,
    }
}

fn describe_restricted(statements: &[RestrictedStatement]) -> String {
    if statements.is_empty() {
        return "none".into();
    }
    statements
        .iter()
        .map(|s| format!("{} ({})", s.statement, s.restricted_by.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Account OR bucket, per setting. A section that is absent (never configured) counts as all
/// off; a rule reading this fact requires both sections, so denied ones never reach here.
fn effective_public_access_block(
    account: &Section<PublicAccessBlock>,
    bucket: &Section<PublicAccessBlock>,
) -> EffectivePublicAccessBlock {
    let off = PublicAccessBlock::default();
    let a = account.value().unwrap_or(&off);
    let b = bucket.value().unwrap_or(&off);
    let combined = PublicAccessBlock {
        block_public_acls: a.block_public_acls || b.block_public_acls,
        ignore_public_acls: a.ignore_public_acls || b.ignore_public_acls,
        block_public_policy: a.block_public_policy || b.block_public_policy,
        restrict_public_buckets: a.restrict_public_buckets || b.restrict_public_buckets,
    };
    EffectivePublicAccessBlock {
        all_enabled: combined.all_enabled(),
        block_public_acls: combined.block_public_acls,
        ignore_public_acls: combined.ignore_public_acls,
        block_public_policy: combined.block_public_policy,
        restrict_public_buckets: combined.restrict_public_buckets,
    }
}

fn acl_facts(acl: &Acl) -> AclFacts {
    let mut facts = AclFacts::default();
    for grant in &acl.grants {
        let uri = grant.grantee_uri.as_deref();
        let public = match uri {
            Some(ALL_USERS_URI) => {
                facts.all_users_permissions.push(grant.permission.clone());
                true
            }
            Some(AUTHENTICATED_USERS_URI) => {
                facts
                    .authenticated_users_permissions
                    .push(grant.permission.clone());
                true
            }
            _ => false,
        };
        let is_owner = grant.grantee_id.is_some() && grant.grantee_id == acl.owner_id;
        if !is_owner {
            facts.grants_to_others += 1;
        }
        if public {
            match grant.permission.as_str() {
                "READ" => facts.public_read = true,
                "WRITE" | "WRITE_ACP" => facts.public_write = true,
                "READ_ACP" => facts.public_read_acp = true,
                "FULL_CONTROL" => {
                    facts.public_read = true;
                    facts.public_write = true;
                    facts.public_read_acp = true;
                }
                _ => {}
            }
        }
    }
    facts
}

fn policy_facts(
    policy: &Policy,
    bucket_arn: &str,
    own_account: &str,
    scope: &Scope,
) -> PolicyFacts {
    let mut facts = PolicyFacts {
        exists: true,
        statement_count: policy.statements.len() as u64,
        ..PolicyFacts::default()
    };
    // A key no real object has, so that only a pattern covering every object matches it.
    let any_object = format!("{bucket_arn}/\u{0}any-object");
    for statement in &policy.statements {
        match statement.effect {
            Effect::Allow if statement.has_public_principal() => {
                let restricted_by = statement.restricting_keys();
                if restricted_by.is_empty() {
                    facts.public_statements.push(statement.label.clone());
                    facts.public_read |= READ_ACTIONS.iter().any(|a| statement.covers_action(a));
                    facts.public_write |= WRITE_ACTIONS.iter().any(|a| statement.covers_action(a));
                } else {
                    let network_only = statement
                        .conditions
                        .iter()
                        .filter(|c| c.restricts_caller())
                        .all(|c| c.is_network_only());
                    facts.restricted_statements.push(RestrictedStatement {
                        statement: statement.label.clone(),
                        restricted_by,
                        network_only,
                        outside_organization: names_another_organization(statement, scope),
                    });
                }
                if SENSITIVE_ACTIONS.iter().any(|a| statement.covers_action(a)) {
                    facts.grants_sensitive_actions_to_other_accounts = true;
                }
            }
            Effect::Allow => {
                for account in statement.principal_accounts() {
                    if account == own_account {
                        continue;
                    }
                    let in_organization = scope.organization_accounts.contains(&account);
                    if SENSITIVE_ACTIONS.iter().any(|a| statement.covers_action(a)) {
                        facts.grants_sensitive_actions_to_other_accounts = true;
                    }
                    if !in_organization {
                        facts.external_accounts.push(account.clone());
                    }
                    facts.cross_account.push(CrossAccountGrant {
                        statement: statement.label.clone(),
                        account,
                        in_organization,
                    });
                }
            }
            Effect::Deny if applies_to_everyone(statement) => {
                if denies_plain_http(statement) && statement.covers_action("s3:AnyAction") {
                    let bucket = statement.covers_resource(bucket_arn);
                    let objects = statement.covers_resource(&any_object);
                    facts.denies_insecure_transport |= bucket && objects;
                    facts.denies_insecure_transport_partially |= bucket != objects;
                }
                // Like the SecureTransport deny, it must cover every action on the bucket and
                // all of its objects; a deny on one prefix or one action enforces nothing.
                if let Some(version) = denied_below_tls_version(statement)
                    && statement.covers_action("s3:AnyAction")
                    && statement.covers_resource(bucket_arn)
                    && statement.covers_resource(&any_object)
                {
                    facts.min_tls_version = Some(version);
                }
                if denies_sse_c(statement) && statement.covers_action("s3:PutObject") {
                    facts.denies_sse_c_uploads |= statement.covers_resource(&any_object);
                }
            }
            _ => {}
        }
    }
    if facts.denies_insecure_transport {
        facts.denies_insecure_transport_partially = false;
    }
    facts.external_accounts.sort();
    facts.external_accounts.dedup();
    facts
}

/// The actions AWS FSBP S3.6 (Config `s3-bucket-blacklisted-actions-prohibited`) forbids to
/// principals of other accounts.
const SENSITIVE_ACTIONS: &[&str] = &[
    "s3:DeleteBucketPolicy",
    "s3:PutBucketAcl",
    "s3:PutBucketPolicy",
    "s3:PutEncryptionConfiguration",
    "s3:PutObjectAcl",
];

/// An `aws:PrincipalOrgID` condition whose values are not the audited organization. Without
/// an organization in the snapshot, nothing can be said, and the condition is taken as ours.
fn names_another_organization(statement: &Statement, scope: &Scope) -> bool {
    let Some(ours) = &scope.organization_id else {
        return false;
    };
    statement.conditions.iter().any(|c| {
        c.restricts_caller()
            && c.key.eq_ignore_ascii_case("aws:PrincipalOrgID")
            && c.values.iter().any(|v| v != ours)
    })
}

/// A `Deny` that binds every caller for the actions and resources it lists: `Principal` is
/// everyone (not `NotPrincipal`, which exempts someone), and the action and resource sets are
/// written positively (a `NotAction`/`NotResource` deny leaves out what it names).
fn applies_to_everyone(statement: &Statement) -> bool {
    statement.not_principal.is_none()
        && statement
            .principal
            .as_ref()
            .is_some_and(policy::Principals::is_public)
        && statement.not_actions.is_empty()
        && statement.not_resources.is_empty()
}

/// `Bool`/`BoolIfExists` `aws:SecureTransport` = `false`, and no other condition: a further
/// condition (e.g. `aws:SourceVpce`) narrows the deny, so plain HTTP stays allowed elsewhere.
fn denies_plain_http(statement: &Statement) -> bool {
    statement.conditions.len() == 1
        && statement.conditions.iter().any(|c| {
            matches!(c.operator.as_str(), "Bool" | "BoolIfExists")
                && c.key.eq_ignore_ascii_case("aws:SecureTransport")
                && c.values.iter().any(|v| v.eq_ignore_ascii_case("false"))
        })
}

/// A condition that matches exactly the requests carrying a customer-provided key:
/// `Null` = `false` on `s3:x-amz-server-side-encryption-customer-algorithm` (the header is
/// present), or a string match of its only value, `AES256`, or `*`. No other condition may
/// narrow the deny.
fn denies_sse_c(statement: &Statement) -> bool {
    statement.conditions.len() == 1
        && statement.conditions.iter().any(|c| {
            c.key
                .eq_ignore_ascii_case("s3:x-amz-server-side-encryption-customer-algorithm")
                && match c.operator.as_str() {
                    "Null" => {
                        !c.values.is_empty()
                            && c.values.iter().all(|v| v.eq_ignore_ascii_case("false"))
                    }
                    // The header's only valid value is `AES256`, compared case-sensitively.
                    "StringEquals" => c.values.iter().any(|v| v == "AES256"),
                    "StringEqualsIgnoreCase" => {
                        c.values.iter().any(|v| v.eq_ignore_ascii_case("AES256"))
                    }
                    "StringLike" => c.values.iter().any(|v| v == "*" || v == "AES256"),
                    _ => false,
                }
        })
}

/// `NumericLessThan` `s3:TlsVersion` = `1.2` denies TLS below 1.2. It does not refuse plain
/// HTTP, whose requests carry no TLS version, unless the operator ends in `IfExists`.
fn denied_below_tls_version(statement: &Statement) -> Option<String> {
    if statement.conditions.len() != 1 {
        return None;
    }
    statement.conditions.iter().find_map(|c| {
        let lower_bound = matches!(
            c.operator.as_str(),
            "NumericLessThan" | "NumericLessThanIfExists"
        );
        (lower_bound && c.key.eq_ignore_ascii_case("s3:TlsVersion"))
            .then(|| c.values.first().cloned())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Grant;

    fn bucket_with_policy(policy: &str) -> Bucket {
        let mut bucket = Bucket::all_absent("b", "us-east-1");
        bucket.policy = Section::present(policy.to_string());
        bucket
    }

    /// Account 111111111111 in organization o-ours with 222222222222.
    fn scope() -> Scope {
        Scope {
            partition: "aws".into(),
            organization_id: Some("o-ours".into()),
            organization_accounts: ["111111111111", "222222222222"].map(String::from).into(),
            ..Scope::default()
        }
    }

    fn facts(bucket: &Bucket) -> BucketFacts {
        let account = Account::all_absent("111111111111");
        let analyzed = analyze_bucket(&account, bucket, &scope(), &BucketSelectors::default());
        assert!(analyzed.unreadable.is_empty(), "{:?}", analyzed.unreadable);
        analyzed.facts
    }

    #[test]
    fn a_star_principal_with_get_object_is_public_read() {
        let f = facts(&bucket_with_policy(
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#,
        ));
        assert!(f.policy.public_read);
        assert!(!f.policy.public_write);
        assert!(f.exposure.public_read && f.exposure.via_policy);
    }

    #[test]
    fn principal_org_id_restricts_a_star_principal() {
        let f = facts(&bucket_with_policy(
            r#"{"Statement":[{"Sid":"Org","Effect":"Allow","Principal":{"AWS":"*"},"Action":["s3:*"],"Resource":"*",
               "Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc"}}}]}"#,
        ));
        assert!(!f.policy.public_read && !f.policy.public_write);
        assert_eq!(
            f.policy.restricted_statements[0].restricted_by,
            ["aws:PrincipalOrgID"]
        );
    }

    #[test]
    fn if_exists_conditions_do_not_restrict() {
        let f = facts(&bucket_with_policy(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"*",
               "Condition":{"StringEqualsIfExists":{"aws:SourceVpce":"vpce-1"}}}]}"#,
        ));
        assert!(f.policy.public_write);
    }

    #[test]
    fn secure_transport_deny_must_cover_bucket_and_objects() {
        let both = facts(&bucket_with_policy(
            r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*",
               "Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],
               "Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#,
        ));
        assert!(both.policy.denies_insecure_transport);
        let objects_only = facts(&bucket_with_policy(
            r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*",
               "Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":false}}}]}"#,
        ));
        assert!(!objects_only.policy.denies_insecure_transport);
        assert!(objects_only.policy.denies_insecure_transport_partially);
    }

    #[test]
    fn a_secure_transport_deny_that_exempts_someone_does_not_enforce_tls() {
        for statement in [
            // NotPrincipal: the named principal may still use HTTP.
            r#"{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
            // NotAction: the named actions may still use HTTP.
            r#"{"Effect":"Deny","Principal":"*","NotAction":"s3:GetObject","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
            // NotResource: the named objects may still be read over HTTP.
            r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","NotResource":"arn:aws:s3:::b/public/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
            // A further condition narrows the deny to one network path.
            r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"},"StringEquals":{"aws:SourceVpce":"vpce-1"}}}"#,
        ] {
            let f = facts(&bucket_with_policy(&format!(
                r#"{{"Statement":[{statement}]}}"#
            )));
            assert!(!f.policy.denies_insecure_transport, "{statement}");
        }
    }

    #[test]
    fn cross_account_grants_tell_members_from_outsiders() {
        let f = facts(&bucket_with_policy(
            r#"{"Statement":[{"Sid":"Member","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"s3:GetObject","Resource":"*"},
               {"Sid":"Vendor","Effect":"Allow","Principal":{"AWS":["333333333333","arn:aws:iam::111111111111:role/own"]},"Action":"s3:PutObjectAcl","Resource":"*"}]}"#,
        ));
        assert_eq!(f.policy.external_accounts, ["333333333333"]);
        let members: Vec<(&str, bool)> = f
            .policy
            .cross_account
            .iter()
            .map(|g| (g.account.as_str(), g.in_organization))
            .collect();
        assert_eq!(members, [("222222222222", true), ("333333333333", false)]);
        assert!(f.policy.grants_sensitive_actions_to_other_accounts);
    }

    #[test]
    fn an_org_condition_naming_another_organization_is_outside() {
        let f = facts(&bucket_with_policy(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*",
               "Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-theirs"}}}]}"#,
        ));
        assert!(!f.policy.public_read);
        assert!(f.policy.restricted_statements[0].outside_organization);
    }

    #[test]
    fn tls_version_deny_is_a_separate_fact() {
        let f = facts(&bucket_with_policy(
            r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*",
               "Condition":{"NumericLessThan":{"s3:TlsVersion":"1.2"}}}]}"#,
        ));
        assert_eq!(f.policy.min_tls_version.as_deref(), Some("1.2"));
        assert!(!f.policy.denies_insecure_transport);
    }

    #[test]
    fn write_acp_to_all_users_is_public_write_unless_ignored() {
        let mut bucket = Bucket::all_absent("b", "us-east-1");
        bucket.acl = Section::present(Acl {
            owner_id: Some("owner".into()),
            grants: vec![Grant {
                grantee_type: "Group".into(),
                grantee_id: None,
                grantee_uri: Some(ALL_USERS_URI.into()),
                grantee_email: None,
                permission: "WRITE_ACP".into(),
            }],
        });
        let f = facts(&bucket);
        assert!(f.acl.public_write && f.exposure.public_write);
        bucket.public_access_block = Section::present(PublicAccessBlock {
            ignore_public_acls: true,
            ..PublicAccessBlock::default()
        });
        assert!(!facts(&bucket).exposure.public_write);
    }

    #[test]
    fn a_damaged_policy_is_reported_not_guessed() {
        let account = Account::all_absent("111111111111");
        let analyzed = analyze_bucket(
            &account,
            &bucket_with_policy("{not json"),
            &scope(),
            &BucketSelectors::default(),
        );
        assert_eq!(analyzed.unreadable[0].0, "bucket.policy");
    }

    #[test]
    fn wildcards_match_like_iam() {
        assert!(policy::wildcard_match("s3:Get*", "s3:GetObject"));
        assert!(policy::wildcard_match("S3:*", "s3:anything"));
        assert!(!policy::wildcard_match("s3:Get*", "s3:PutObject"));
        assert!(policy::wildcard_match(
            "arn:aws:s3:::b*",
            "arn:aws:s3:::b/x"
        ));
        assert!(policy::wildcard_match("s3:?etObject", "s3:GetObject"));
    }
}

/// Every fact that reads another resource, with that resource denied, failed or missing from
/// the snapshot: the fact is unknown, and its reason names the other resource.
#[cfg(test)]
mod join_tests {
    use super::*;
    use crate::snapshot::{
        Logging, Organization, Replication, ReplicationRule, SectionState, Snapshot,
    };

    const OWN: &str = "111111111111";
    const OTHER: &str = "222222222222";

    /// Account OWN has `src` (us-east-1) logging to `tgt` (us-east-1) and replicating to `dst`
    /// (us-west-2); account OTHER has no trail and no analyzer. Everything was read.
    fn world() -> Snapshot {
        let mut src = Bucket::all_absent("src", "us-east-1");
        src.logging = Section::present(Logging {
            target_bucket: "tgt".into(),
            target_prefix: "src/".into(),
        });
        src.replication = Section::present(Replication {
            role: "arn:aws:iam::111111111111:role/replication".into(),
            rules: vec![ReplicationRule {
                id: None,
                status: "Enabled".into(),
                destination_bucket: "arn:aws:s3:::dst".into(),
                destination_account: None,
                replication_time_enabled: false,
            }],
        });
        let mut own = Account::all_absent(OWN);
        own.trails = Section::present(Vec::new());
        own.access_analyzers = Section::present(Vec::new());
        own.buckets = Section::present(vec![
            src,
            Bucket::all_absent("tgt", "us-east-1"),
            Bucket::all_absent("dst", "us-west-2"),
        ]);
        let mut other = Account::all_absent(OTHER);
        other.trails = Section::present(Vec::new());
        other.access_analyzers = Section::present(Vec::new());
        let organization = Organization {
            id: "o-ours".into(),
            management_account_id: OWN.into(),
            account_ids: vec![OWN.into(), OTHER.into()],
        };
        Snapshot::new(
            "2026-01-01T00:00:00Z",
            "aws",
            Some(organization),
            vec![own, other],
        )
    }

    fn failed(state: SectionState) -> Section<()> {
        let failure = ReadFailure {
            code: Some("Injected".into()),
            message: "injected failure".into(),
            ..ReadFailure::default()
        };
        match state {
            SectionState::Denied => Section::denied(failure),
            _ => Section::error(failure),
        }
    }

    fn bucket_mut<'a>(snapshot: &'a mut Snapshot, name: &str) -> &'a mut Bucket {
        let buckets = match &mut snapshot.accounts[0].buckets {
            Section::Present { value } => value,
            _ => unreachable!("the world lists its buckets"),
        };
        buckets
            .iter_mut()
            .find(|b| b.name == name)
            .expect("in the world")
    }

    fn remove_bucket(snapshot: &mut Snapshot, name: &str) {
        if let Section::Present { value } = &mut snapshot.accounts[0].buckets {
            value.retain(|b| b.name != name);
        }
    }

    /// The facts of `src` and what could not be decided.
    fn analyze_src(snapshot: &Snapshot) -> AnalyzedBucket {
        let scope = Scope::of(snapshot);
        let account = &snapshot.accounts[0];
        let src = &account.buckets.value().unwrap()[0];
        analyze_bucket(account, src, &scope, &BucketSelectors::default())
    }

    #[test]
    fn the_clean_world_decides_every_join() {
        let analyzed = analyze_src(&world());
        assert!(analyzed.unreadable.is_empty(), "{:?}", analyzed.unreadable);
        assert_eq!(analyzed.facts.logging_target.valid, Some(true));
        assert_eq!(analyzed.facts.replication.cross_region, Some(true));
    }

    #[test]
    fn a_join_whose_other_side_is_unread_is_unknown_and_names_it() {
        type Break = fn(&mut Snapshot, SectionState);
        let cases: &[(&str, Break, &str, &str)] = &[
            (
                "logging target's region",
                |s, state| {
                    *bucket_mut(s, "tgt") = Bucket::every_section("tgt", None, &failed(state));
                },
                "facts.logging_target",
                "bucket tgt",
            ),
            (
                "logging target's Object Lock",
                |s, state| bucket_mut(s, "tgt").object_lock = failed(state).map_unreadable(),
                "facts.logging_target",
                "bucket.object_lock of bucket tgt",
            ),
            (
                "logging target's encryption",
                |s, state| bucket_mut(s, "tgt").encryption = failed(state).map_unreadable(),
                "facts.logging_target",
                "bucket.encryption of bucket tgt",
            ),
            (
                "logging target's Requester Pays",
                |s, state| bucket_mut(s, "tgt").request_payment = failed(state).map_unreadable(),
                "facts.logging_target",
                "bucket.request_payment of bucket tgt",
            ),
            (
                "replication destination's region",
                |s, state| {
                    *bucket_mut(s, "dst") = Bucket::every_section("dst", None, &failed(state));
                },
                "facts.replication",
                "bucket dst",
            ),
            (
                "the bucket's own region",
                |s, state| {
                    let src = bucket_mut(s, "src");
                    src.region = None;
                    src.versioning = failed(state).map_unreadable();
                },
                "facts.replication",
                "bucket src",
            ),
            (
                "trails of another account",
                |s, state| s.accounts[1].trails = failed(state).map_unreadable(),
                "facts.cloudtrail",
                OTHER,
            ),
            (
                "analyzers of another account",
                |s, state| s.accounts[1].access_analyzers = failed(state).map_unreadable(),
                "facts.access_analyzer",
                OTHER,
            ),
        ];
        for (what, break_it, fact, names) in cases {
            for state in [SectionState::Denied, SectionState::Error] {
                let mut snapshot = world();
                break_it(&mut snapshot, state);
                let analyzed = analyze_src(&snapshot);
                let reason = analyzed
                    .unreadable
                    .iter()
                    .find(|(f, _)| f == fact)
                    .unwrap_or_else(|| panic!("{what} {state:?}: {fact} decided"));
                assert!(
                    reason.1.message.contains(names),
                    "{what} {state:?}: {:?} does not name {names}",
                    reason.1.message
                );
            }
        }
    }

    #[test]
    fn a_join_whose_other_side_is_not_in_the_snapshot_is_unknown() {
        for (missing, fact) in [
            ("tgt", "facts.logging_target"),
            ("dst", "facts.replication"),
        ] {
            let mut snapshot = world();
            remove_bucket(&mut snapshot, missing);
            let analyzed = analyze_src(&snapshot);
            let (_, reason) = analyzed
                .unreadable
                .iter()
                .find(|(f, _)| *f == fact)
                .unwrap_or_else(|| panic!("{fact} decided without {missing}"));
            assert_eq!(reason.code.as_deref(), Some("NotInSnapshot"));
            assert!(reason.message.contains(missing), "{}", reason.message);
        }
        let analyzed = analyze_src(&{
            let mut s = world();
            remove_bucket(&mut s, "tgt");
            s
        });
        assert_eq!(analyzed.facts.logging_target.valid, None);
    }

    #[test]
    fn a_failed_target_that_fails_another_check_still_fails() {
        // Owned by another account: invalid whatever its unread Object Lock says.
        let mut snapshot = world();
        let mut tgt = Bucket::all_absent("tgt", "us-east-1");
        tgt.object_lock = failed(SectionState::Denied).map_unreadable();
        remove_bucket(&mut snapshot, "tgt");
        snapshot.accounts[1].buckets = Section::present(vec![tgt]);
        let analyzed = analyze_src(&snapshot);
        assert_eq!(analyzed.facts.logging_target.valid, Some(false));
        assert!(
            !analyzed
                .unreadable
                .iter()
                .any(|(f, _)| *f == "facts.logging_target")
        );
    }

    #[test]
    fn an_unlocated_bucket_makes_regional_account_facts_unknown() {
        let mut snapshot = world();
        *bucket_mut(&mut snapshot, "dst") =
            Bucket::every_section("dst", None, &failed(SectionState::Error));
        let scope = Scope::of(&snapshot);
        let analyzed = analyze_account(&snapshot.accounts[0], &scope);
        for fact in [
            "facts.guardduty_s3_protection_missing",
            "facts.macie_missing",
        ] {
            let (_, reason) = analyzed
                .unreadable
                .iter()
                .find(|(f, _)| *f == fact)
                .unwrap_or_else(|| panic!("{fact} decided"));
            assert!(reason.message.contains("bucket dst"), "{}", reason.message);
        }
    }
}
