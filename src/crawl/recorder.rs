//! Records every AWS operation the crawler calls (an SDK interceptor on every client), so the
//! report can list them and a test can prove the crawler only reads. The table below maps
//! each operation to the IAM action it needs; `docs/iam-policy.json` is generated from it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// The IAM actions that grant an operation named without its service (`GetBucketPolicy`);
/// two when services share the name (`GetPublicAccessBlock` of S3 and of S3 Control).
pub fn iam_actions_of(operation: &str) -> Vec<&'static str> {
    let mut actions: Vec<&'static str> = OPERATIONS
        .iter()
        .filter(|(name, _)| name.split_once(':').is_some_and(|(_, op)| op == operation))
        .filter_map(|(_, action)| *action)
        .collect();
    actions.sort_unstable();
    actions.dedup();
    actions
}

/// Every operation the crawler may call, as `<service>:<Operation>` (the SDK's names), with
/// the IAM action that grants it (`None`: no permission needed).
pub const OPERATIONS: &[(&str, Option<&str>)] = &[
    ("sts:GetCallerIdentity", None),
    ("sts:AssumeRole", Some("sts:AssumeRole")),
    (
        "organizations:DescribeOrganization",
        Some("organizations:DescribeOrganization"),
    ),
    (
        "organizations:ListAccounts",
        Some("organizations:ListAccounts"),
    ),
    (
        "organizations:ListAccountsForParent",
        Some("organizations:ListAccountsForParent"),
    ),
    (
        "organizations:ListOrganizationalUnitsForParent",
        Some("organizations:ListOrganizationalUnitsForParent"),
    ),
    (
        "s3control:GetPublicAccessBlock",
        Some("s3:GetAccountPublicAccessBlock"),
    ),
    ("s3control:ListAccessPoints", Some("s3:ListAccessPoints")),
    ("cloudwatch:ListMetrics", Some("cloudwatch:ListMetrics")),
    ("cloudwatch:GetMetricData", Some("cloudwatch:GetMetricData")),
    (
        "s3:ListBucketMetricsConfigurations",
        Some("s3:GetMetricsConfiguration"),
    ),
    (
        "s3:ListBucketAnalyticsConfigurations",
        Some("s3:GetAnalyticsConfiguration"),
    ),
    (
        "s3control:ListMultiRegionAccessPoints",
        Some("s3:ListMultiRegionAccessPoints"),
    ),
    (
        "s3control:ListStorageLensConfigurations",
        Some("s3:ListStorageLensConfigurations"),
    ),
    (
        "s3control:GetStorageLensConfiguration",
        Some("s3:GetStorageLensConfiguration"),
    ),
    ("s3control:GetAccessPoint", Some("s3:GetAccessPoint")),
    (
        "s3control:GetAccessPointPolicy",
        Some("s3:GetAccessPointPolicy"),
    ),
    (
        "s3control:GetAccessPointPolicyStatus",
        Some("s3:GetAccessPointPolicyStatus"),
    ),
    (
        "cloudfront:ListDistributions",
        Some("cloudfront:ListDistributions"),
    ),
    ("s3:HeadBucket", Some("s3:ListBucket")),
    (
        "cloudtrail:GetTrailStatus",
        Some("cloudtrail:GetTrailStatus"),
    ),
    ("guardduty:ListDetectors", Some("guardduty:ListDetectors")),
    ("guardduty:GetDetector", Some("guardduty:GetDetector")),
    ("macie2:GetMacieSession", Some("macie2:GetMacieSession")),
    (
        "accessanalyzer:ListAnalyzers",
        Some("access-analyzer:ListAnalyzers"),
    ),
    (
        "accessanalyzer:ListFindingsV2",
        Some("access-analyzer:ListFindingsV2"),
    ),
    (
        "cloudtrail:DescribeTrails",
        Some("cloudtrail:DescribeTrails"),
    ),
    (
        "cloudtrail:GetEventSelectors",
        Some("cloudtrail:GetEventSelectors"),
    ),
    ("s3:ListBuckets", Some("s3:ListAllMyBuckets")),
    ("s3:GetBucketLocation", Some("s3:GetBucketLocation")),
    ("s3:GetBucketPolicy", Some("s3:GetBucketPolicy")),
    ("s3:GetBucketPolicyStatus", Some("s3:GetBucketPolicyStatus")),
    ("s3:GetBucketAcl", Some("s3:GetBucketAcl")),
    (
        "s3:GetPublicAccessBlock",
        Some("s3:GetBucketPublicAccessBlock"),
    ),
    (
        "s3:GetBucketOwnershipControls",
        Some("s3:GetBucketOwnershipControls"),
    ),
    (
        "s3:GetBucketEncryption",
        Some("s3:GetEncryptionConfiguration"),
    ),
    ("s3:GetBucketVersioning", Some("s3:GetBucketVersioning")),
    ("s3:GetBucketLogging", Some("s3:GetBucketLogging")),
    (
        "s3:GetBucketLifecycleConfiguration",
        Some("s3:GetLifecycleConfiguration"),
    ),
    (
        "s3:GetBucketReplication",
        Some("s3:GetReplicationConfiguration"),
    ),
    (
        "s3:GetObjectLockConfiguration",
        Some("s3:GetBucketObjectLockConfiguration"),
    ),
    (
        "s3:GetBucketNotificationConfiguration",
        Some("s3:GetBucketNotification"),
    ),
    ("s3:GetBucketTagging", Some("s3:GetBucketTagging")),
    ("s3:GetBucketWebsite", Some("s3:GetBucketWebsite")),
    ("s3:GetBucketCors", Some("s3:GetBucketCORS")),
    (
        "s3:GetBucketAccelerateConfiguration",
        Some("s3:GetAccelerateConfiguration"),
    ),
    (
        "s3:GetBucketRequestPayment",
        Some("s3:GetBucketRequestPayment"),
    ),
    (
        "s3:ListDirectoryBuckets",
        Some("s3express:ListAllMyDirectoryBuckets"),
    ),
    (
        "s3:ListBucketIntelligentTieringConfigurations",
        Some("s3:GetIntelligentTieringConfiguration"),
    ),
    (
        "s3:ListBucketInventoryConfigurations",
        Some("s3:GetInventoryConfiguration"),
    ),
];

/// The IAM action for an operation, if the operation is one the crawler may call.
pub fn iam_action(operation: &str) -> Option<Option<&'static str>> {
    OPERATIONS
        .iter()
        .find(|(op, _)| *op == operation)
        .map(|(_, action)| *action)
}

/// Whether an operation name is a read by its verb.
pub fn is_read(operation: &str) -> bool {
    let name = operation.rsplit(':').next().unwrap_or(operation);
    ["Get", "List", "Describe", "Head"]
        .iter()
        .any(|verb| name.starts_with(verb))
        || name == "AssumeRole"
}

/// Directory buckets are read with the same S3 operations as general-purpose buckets, which
/// IAM authorises with `s3express` actions instead.
const DIRECTORY_BUCKET_ACTIONS: &[&str] = &[
    "s3express:GetBucketPolicy",
    "s3express:GetEncryptionConfiguration",
    "s3express:GetLifecycleConfiguration",
];

/// The least-privilege IAM policy for the operations in [`OPERATIONS`].
pub fn iam_policy() -> serde_json::Value {
    let mut by_service: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let actions = OPERATIONS.iter().filter_map(|(_, a)| *a);
    for action in actions.chain(DIRECTORY_BUCKET_ACTIONS.iter().copied()) {
        let service = action.split(':').next().unwrap_or(action);
        by_service.entry(service).or_default().push(action);
    }
    let statements: Vec<serde_json::Value> = by_service
        .into_iter()
        .map(|(service, mut actions)| {
            actions.sort();
            actions.dedup();
            let sid: String = service
                .split('-')
                .map(|w| w[..1].to_uppercase() + &w[1..])
                .collect::<String>()
                + "Read";
            serde_json::json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": "*"})
        })
        .collect();
    serde_json::json!({"Version": "2012-10-17", "Statement": statements})
}

/// Counts of operations (executions) and of HTTP attempts (retries included).
#[derive(Debug, Default, Clone)]
pub struct Recorder {
    inner: Arc<Mutex<Counts>>,
}

#[derive(Debug, Default)]
struct Counts {
    operations: BTreeMap<String, u64>,
    attempts: u64,
}

impl Recorder {
    /// Counts an operation made by a client the crawler does not build itself (the STS client
    /// inside the SDK's AssumeRole credentials provider).
    pub fn count_operation(&self, operation: &str) {
        let mut counts = self.inner.lock().expect("not poisoned");
        *counts.operations.entry(operation.to_string()).or_default() += 1;
        counts.attempts += 1;
    }

    pub fn operations(&self) -> BTreeMap<String, u64> {
        self.inner.lock().expect("not poisoned").operations.clone()
    }

    pub fn attempts(&self) -> u64 {
        self.inner.lock().expect("not poisoned").attempts
    }
}

/// The SDK's service names, as the short prefixes used in the report.
fn service_prefix(service: &str) -> String {
    match service {
        "S3 Control" => "s3control".into(),
        other => other.to_ascii_lowercase().replace(' ', ""),
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "s3audit-operation-recorder"
    }

    // Once per operation, whatever its outcome; the operation's metadata is in the bag by then
    // (it is not yet when `read_before_execution` runs).
    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(metadata) = cfg.load::<Metadata>() {
            let key = format!("{}:{}", service_prefix(metadata.service()), metadata.name());
            *self
                .inner
                .lock()
                .expect("not poisoned")
                .operations
                .entry(key)
                .or_default() += 1;
        }
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.inner.lock().expect("not poisoned").attempts += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_declared_section_operation_is_listed_with_an_iam_action() {
        use crate::snapshot::{ACCOUNT_SECTION_DECLARATIONS, BUCKET_SECTION_DECLARATIONS};
        for declaration in BUCKET_SECTION_DECLARATIONS
            .iter()
            .chain(ACCOUNT_SECTION_DECLARATIONS)
        {
            for operation in declaration.operations {
                let known = super::OPERATIONS.iter().find(|(name, _)| name == operation);
                assert!(
                    known.is_some_and(|(_, action)| action.is_some()),
                    "{}: {operation} is not in the crawler's operation table (and so not in \
                     docs/iam-policy.json)",
                    declaration.name
                );
            }
        }
    }

    use super::*;

    #[test]
    fn every_listed_operation_is_a_read() {
        for (operation, _) in OPERATIONS {
            assert!(is_read(operation), "{operation} is not a read");
        }
        assert!(!is_read("s3:PutBucketPolicy"));
        assert!(!is_read("s3:DeleteBucket"));
    }

    #[test]
    fn the_checked_in_iam_policy_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/iam-policy.json");
        let checked_in: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("docs/iam-policy.json"))
                .expect("valid JSON");
        assert_eq!(
            checked_in,
            iam_policy(),
            "docs/iam-policy.json is stale: run `cargo run -- iam-policy > docs/iam-policy.json`"
        );
    }
}
