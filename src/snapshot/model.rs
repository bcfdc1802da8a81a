//! The serde types of snapshot v1. Field names are the JSON names and the names rules use in
//! CEL (`bucket.versioning.status`), so renaming a field is a breaking change of both.
//!
//! Optional fields are written as `null`, never left out: CEL then sees `null` for them
//! (a left-out key would be an evaluation error in CEL, not a value to compare).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

// Serialized as `{"state": "present", "value": ...}`, `{"state": "absent", "code": ...}`,
// `{"state": "denied" | "error", "code": ..., "message": ...}`. Deserialization is written by
// hand (`section_de` below): serde's internally tagged enums buffer every value before reading
// it, which made loading a 100,000-bucket snapshot twice as slow.
/// One configuration section as read from AWS.
#[derive(Serialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Section<T> {
    /// AWS returned the configuration.
    Present { value: T },
    /// AWS said the configuration does not exist (e.g. `NoSuchBucketPolicy`), or the
    /// crawler did not ask because it cannot exist (no policy status without a policy).
    Absent {
        #[serde(default)]
        code: Option<String>,
    },
    /// AWS refused the read (AccessDenied, HTTP 403).
    Denied(Box<ReadFailure>),
    /// Any other failure: throttling that outlived the retries, a timeout, a server error.
    Error(Box<ReadFailure>),
}

/// Why a section could not be read.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct ReadFailure {
    /// The AWS error code when AWS gave one (JSON services answer 403 with none).
    #[serde(default)]
    pub code: Option<String>,
    /// One readable sentence: what failed and, when it helps, what to do.
    pub message: String,
    /// The AWS operation that failed (`GetBucketPolicy`), when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The HTTP status of AWS's answer; none when no answer came (timeout, connection reset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
}

impl<T> Section<T> {
    /// AWS refused the read. (The failure is boxed: a bucket has some twenty sections, and
    /// a failure inline would make each of them as large as the largest.)
    pub fn denied(failure: ReadFailure) -> Self {
        Section::Denied(Box::new(failure))
    }

    /// The read failed otherwise.
    pub fn error(failure: ReadFailure) -> Self {
        Section::Error(Box::new(failure))
    }

    /// A section a snapshot from an older s3audit does not have: unknown, never absent.
    pub fn not_read() -> Self {
        Section::error(ReadFailure {
            code: Some("NotRead".into()),
            message: "the snapshot was taken by an s3audit that did not read this".into(),
            ..ReadFailure::default()
        })
    }

    pub fn present(value: T) -> Self {
        Section::Present { value }
    }

    pub fn absent() -> Self {
        Section::Absent { code: None }
    }

    pub fn value(&self) -> Option<&T> {
        match self {
            Section::Present { value } => Some(value),
            _ => None,
        }
    }

    /// The read failure, when the section could not be read.
    pub fn failure(&self) -> Option<(SectionState, &ReadFailure)> {
        match self {
            Section::Denied(f) => Some((SectionState::Denied, f)),
            Section::Error(f) => Some((SectionState::Error, f)),
            _ => None,
        }
    }

    pub fn state(&self) -> SectionState {
        match self {
            Section::Present { .. } => SectionState::Present,
            Section::Absent { .. } => SectionState::Absent,
            Section::Denied(_) => SectionState::Denied,
            Section::Error(_) => SectionState::Error,
        }
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum SectionState {
    Present,
    Absent,
    Denied,
    Error,
}

impl SectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SectionState::Present => "present",
            SectionState::Absent => "absent",
            SectionState::Denied => "denied",
            SectionState::Error => "error",
        }
    }
}

/// The whole document.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// Always 1 for this format.
    pub schema_version: u32,
    pub tool: ToolInfo,
    /// RFC 3339 time the crawl started.
    pub started_at: String,
    pub duration_ms: u64,
    /// The AWS partition (`aws`, `aws-cn`, `aws-us-gov`), used to build ARNs.
    pub partition: String,
    /// The organization, when the crawl was `--org`.
    #[serde(default)]
    pub organization: Option<Organization>,
    pub accounts: Vec<Account>,
    /// Every AWS operation the crawler called, with the number of calls.
    #[serde(default)]
    pub api_calls: BTreeMap<String, u64>,
    /// The share of the organization's accounts this snapshot holds (`--shard K/N`); null
    /// for a whole run and for a merge of every shard.
    #[serde(default)]
    pub shard: Option<super::Shard>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

impl ToolInfo {
    /// This build of s3audit.
    pub fn this_build() -> ToolInfo {
        ToolInfo {
            name: "s3audit".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

impl Snapshot {
    /// A snapshot in this build's format, by this build, with no duration and no recorded
    /// calls yet.
    pub fn new(
        started_at: &str,
        partition: &str,
        organization: Option<Organization>,
        accounts: Vec<Account>,
    ) -> Snapshot {
        Snapshot {
            schema_version: super::SCHEMA_VERSION,
            tool: ToolInfo::this_build(),
            started_at: started_at.to_string(),
            duration_ms: 0,
            partition: partition.to_string(),
            organization,
            accounts,
            api_calls: BTreeMap::new(),
            shard: None,
        }
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    pub id: String,
    pub management_account_id: String,
    /// Every account of the organization (`ListAccounts`, whatever its status), audited or
    /// not: policy analysis tells grants to members from grants to outsiders with it.
    #[serde(default)]
    pub account_ids: Vec<String>,
}

super::sections::declare_account! {
    /// Account-level S3 Block Public Access (S3 Control `GetPublicAccessBlock`).
    public_access_block: PublicAccessBlock => ["s3control:GetPublicAccessBlock"];
    /// S3 access points of the account (S3 Control `ListAccessPoints`).
    access_points: Vec<AccessPoint> => [
        "s3control:ListAccessPoints",
        "s3control:GetAccessPoint",
        "s3control:GetAccessPointPolicy",
        "s3control:GetAccessPointPolicyStatus",
    ];
    /// Directory buckets (S3 Express One Zone), per region read (home region and every bucket
    /// region), each with the sections AWS lets one read of it.
    #[serde(default = "Section::<Vec<DirectoryBucket>>::not_read")]
    directory_buckets: Vec<DirectoryBucket> => [
        "s3:ListDirectoryBuckets",
        "s3:GetBucketPolicy",
        "s3:GetBucketEncryption",
        "s3:GetBucketLifecycleConfiguration",
    ];
    /// IAM Access Analyzer analyzers in the regions crawled.
    access_analyzers: Vec<Analyzer> => ["accessanalyzer:ListAnalyzers", "accessanalyzer:ListFindingsV2"];
    /// CloudTrail trails visible from the account.
    trails: Vec<Trail> => [
        "cloudtrail:DescribeTrails",
        "cloudtrail:GetEventSelectors",
        "cloudtrail:GetTrailStatus",
    ];
    /// Multi-Region Access Points (S3 Control `ListMultiRegionAccessPoints`, us-west-2).
    #[serde(default = "Section::<Vec<MultiRegionAccessPoint>>::not_read")]
    multi_region_access_points: Vec<MultiRegionAccessPoint> => ["s3control:ListMultiRegionAccessPoints"];
    /// S3 Storage Lens configurations (S3 Control `ListStorageLensConfigurations`).
    #[serde(default = "Section::<Vec<StorageLensConfiguration>>::not_read")]
    storage_lens: Vec<StorageLensConfiguration> => [
        "s3control:ListStorageLensConfigurations",
        "s3control:GetStorageLensConfiguration",
    ];
    /// Amazon GuardDuty detectors, per region read (home region and every bucket region).
    #[serde(default = "Section::<Vec<GuardDutyRegion>>::not_read")]
    guardduty: Vec<GuardDutyRegion> => ["guardduty:ListDetectors", "guardduty:GetDetector"];
    /// Amazon Macie, per region read (home region and every bucket region).
    #[serde(default = "Section::<Vec<MacieRegion>>::not_read")]
    macie: Vec<MacieRegion> => ["macie2:GetMacieSession"];
    /// CloudFront distributions of the account and their origins (`ListDistributions`), with
    /// a `HeadBucket` on each S3 origin's bucket.
    #[serde(default = "Section::<Vec<CloudFrontDistribution>>::not_read")]
    cloudfront_distributions: Vec<CloudFrontDistribution>
        => ["cloudfront:ListDistributions", "s3:HeadBucket"];
}

/// How the crawler entered an account.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AccountAccess {
    /// Read with the caller's own credentials.
    Caller,
    /// Read through `sts:AssumeRole` into this role.
    AssumedRole { role_arn: String },
    /// The account could not be entered; nothing else in it was read.
    Failed {
        #[serde(default)]
        role_arn: Option<String>,
        #[serde(default)]
        code: Option<String>,
        message: String,
    },
}

/// The four Block Public Access settings, at account, bucket or access point level.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    pub fn all_enabled(&self) -> bool {
        self.block_public_acls
            && self.ignore_public_acls
            && self.block_public_policy
            && self.restrict_public_buckets
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AccessPoint {
    pub name: String,
    /// The region the access point is in (access points are regional).
    pub region: String,
    pub bucket: String,
    /// `Internet` or `VPC`.
    pub network_origin: String,
    #[serde(default)]
    pub vpc_id: Option<String>,
    pub public_access_block: Section<PublicAccessBlock>,
    /// The access point policy document, as AWS returned it.
    pub policy: Section<String>,
    pub policy_status: Section<PolicyStatus>,
}

/// A directory bucket (S3 Express One Zone): a bucket in one Availability or Local Zone,
/// named `base--zone-id--x-s3`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DirectoryBucket {
    pub name: String,
    pub region: String,
    /// The bucket policy document, as AWS returned it.
    pub policy: Section<String>,
    pub encryption: Section<Encryption>,
    pub lifecycle: Section<Lifecycle>,
}

/// The sections of a directory bucket, as rules require them (`directory_bucket.<name>`).
pub const DIRECTORY_BUCKET_SECTIONS: &[&str] = &["policy", "encryption", "lifecycle"];

impl DirectoryBucket {
    pub fn sections(&self) -> Vec<(&'static str, &dyn super::AnySection)> {
        vec![
            ("policy", &self.policy),
            ("encryption", &self.encryption),
            ("lifecycle", &self.lifecycle),
        ]
    }

    pub fn arn(&self, partition: &str, account_id: &str) -> String {
        format!(
            "arn:{partition}:s3express:{}:{account_id}:bucket/{}",
            self.region, self.name
        )
    }
}

/// The sections of an access point, as rules require them (`access_point.<name>`).
/// `GetAccessPoint` gives the Block Public Access settings and the network origin: a rule
/// on the network origin requires `access_point.public_access_block`.
pub const ACCESS_POINT_SECTIONS: &[&str] = &["public_access_block", "policy", "policy_status"];

impl AccessPoint {
    pub fn sections(&self) -> Vec<(&'static str, &dyn super::AnySection)> {
        vec![
            ("public_access_block", &self.public_access_block),
            ("policy", &self.policy),
            ("policy_status", &self.policy_status),
        ]
    }

    pub fn arn(&self, partition: &str, account_id: &str) -> String {
        format!(
            "arn:{partition}:s3:{}:{account_id}:accesspoint/{}",
            self.region, self.name
        )
    }
}

impl MultiRegionAccessPoint {
    /// Multi-Region Access Points are global and named in ARNs by their alias.
    pub fn arn(&self, partition: &str, account_id: &str) -> String {
        format!(
            "arn:{partition}:s3::{account_id}:accesspoint/{}",
            self.alias
        )
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MultiRegionAccessPoint {
    pub name: String,
    pub alias: String,
    /// `READY`, `CREATING`, ...
    pub status: String,
    /// The buckets behind it.
    pub buckets: Vec<String>,
    /// Its Block Public Access settings (fixed at creation); null when AWS gave none.
    #[serde(default)]
    pub public_access_block: Option<PublicAccessBlock>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GuardDutyRegion {
    pub region: String,
    /// The region's detectors (GuardDuty allows one per account and region).
    pub detectors: Vec<GuardDutyDetector>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GuardDutyDetector {
    pub id: String,
    /// `ENABLED` or `DISABLED`.
    pub status: String,
    /// S3 Protection: the `S3_DATA_EVENTS` feature, or the older `S3Logs` data source
    /// (`ENABLED`/`DISABLED`); null when the detector reports neither.
    #[serde(default)]
    pub s3_protection: Option<String>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CloudFrontDistribution {
    pub id: String,
    /// `d111111abcdef8.cloudfront.net`.
    pub domain_name: String,
    pub enabled: bool,
    pub origins: Vec<CloudFrontOrigin>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CloudFrontOrigin {
    pub id: String,
    pub domain_name: String,
    /// The S3 bucket the origin's domain names (REST or website endpoint); null for other
    /// origins.
    #[serde(default)]
    pub s3_bucket: Option<String>,
    /// Whether that bucket exists (`HeadBucket`: 404 means it does not, and anyone could
    /// create it); null when not an S3 origin or when the check failed.
    #[serde(default)]
    pub s3_bucket_exists: Option<bool>,
    /// Why the existence check failed, when it did.
    #[serde(default)]
    pub s3_bucket_check_error: Option<String>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MacieRegion {
    pub region: String,
    /// `ENABLED` or `PAUSED`; null when Macie is not enabled in the region.
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StorageLensConfiguration {
    pub id: String,
    pub home_region: String,
    pub is_enabled: bool,
    /// The dashboard covers the whole organization (`AwsOrg` is set).
    pub organization_wide: bool,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Analyzer {
    pub arn: String,
    pub name: String,
    pub region: String,
    /// `ACCOUNT`, `ORGANIZATION`, or an unused-access type.
    #[serde(rename = "type")]
    pub analyzer_type: String,
    /// `ACTIVE`, `CREATING`, `DISABLED`, `FAILED`.
    pub status: String,
    /// Active findings of the analyzer for `AWS::S3::Bucket` resources.
    pub bucket_findings: Section<Vec<AnalyzerFinding>>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AnalyzerFinding {
    pub id: String,
    /// The resource ARN, e.g. `arn:aws:s3:::my-bucket`.
    pub resource: String,
    pub finding_type: String,
    pub status: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Trail {
    pub name: String,
    pub arn: String,
    pub home_region: String,
    pub is_multi_region: bool,
    pub is_organization_trail: bool,
    #[serde(default)]
    pub s3_bucket_name: Option<String>,
    /// Whether the trail is logging now (`GetTrailStatus` `IsLogging`): a stopped trail
    /// records nothing, whatever its selectors say.
    #[serde(default = "Section::<bool>::not_read")]
    pub logging: Section<bool>,
    pub event_selectors: Section<EventSelectors>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct EventSelectors {
    pub basic: Vec<EventSelector>,
    pub advanced: Vec<AdvancedEventSelector>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EventSelector {
    /// `ReadOnly`, `WriteOnly` or `All`.
    pub read_write_type: String,
    pub include_management_events: bool,
    pub data_resources: Vec<DataResource>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataResource {
    /// e.g. `AWS::S3::Object`.
    #[serde(rename = "type")]
    pub resource_type: String,
    pub values: Vec<String>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AdvancedEventSelector {
    #[serde(default)]
    pub name: Option<String>,
    pub field_selectors: Vec<AdvancedFieldSelector>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct AdvancedFieldSelector {
    pub field: String,
    #[serde(default)]
    pub equals: Vec<String>,
    #[serde(default)]
    pub starts_with: Vec<String>,
    #[serde(default)]
    pub ends_with: Vec<String>,
    #[serde(default)]
    pub not_equals: Vec<String>,
    #[serde(default)]
    pub not_starts_with: Vec<String>,
    #[serde(default)]
    pub not_ends_with: Vec<String>,
}

super::sections::declare_bucket! {
    /// The bucket policy document, as AWS returned it.
    policy: String => ["s3:GetBucketPolicy"], query "policy";
    policy_status: PolicyStatus => ["s3:GetBucketPolicyStatus"], query "policyStatus";
    acl: Acl => ["s3:GetBucketAcl"], query "acl";
    public_access_block: PublicAccessBlock => ["s3:GetPublicAccessBlock"], query "publicAccessBlock";
    ownership_controls: OwnershipControls => ["s3:GetBucketOwnershipControls"], query "ownershipControls";
    encryption: Encryption => ["s3:GetBucketEncryption"], query "encryption";
    versioning: Versioning => ["s3:GetBucketVersioning"], query "versioning";
    logging: Logging => ["s3:GetBucketLogging"], query "logging";
    lifecycle: Lifecycle => ["s3:GetBucketLifecycleConfiguration"], query "lifecycle";
    replication: Replication => ["s3:GetBucketReplication"], query "replication";
    object_lock: ObjectLock => ["s3:GetObjectLockConfiguration"], query "object-lock";
    notifications: Notifications => ["s3:GetBucketNotificationConfiguration"], query "notification";
    tags: BTreeMap<String, String> => ["s3:GetBucketTagging"], query "tagging";
    website: Website => ["s3:GetBucketWebsite"], query "website";
    cors: Vec<CorsRule> => ["s3:GetBucketCors"], query "cors";
    accelerate: Accelerate => ["s3:GetBucketAccelerateConfiguration"], query "accelerate";
    intelligent_tiering: Vec<IntelligentTieringConfiguration>
        => ["s3:ListBucketIntelligentTieringConfigurations"], query "intelligent-tiering";
    inventory: Vec<InventoryConfiguration>
        => ["s3:ListBucketInventoryConfigurations"], query "inventory";
    /// CloudWatch request metrics configurations (`ListBucketMetricsConfigurations`).
    #[serde(default = "Section::<Vec<MetricsConfiguration>>::not_read")]
    metrics: Vec<MetricsConfiguration> => ["s3:ListBucketMetricsConfigurations"], query "metrics";
    /// Storage class analysis configurations (`ListBucketAnalyticsConfigurations`).
    #[serde(default = "Section::<Vec<AnalyticsConfiguration>>::not_read")]
    analytics: Vec<AnalyticsConfiguration>
        => ["s3:ListBucketAnalyticsConfigurations"], query "analytics";
    /// Who pays for requests and downloads (`GetBucketRequestPayment`).
    #[serde(default = "Section::<RequestPayment>::not_read")]
    request_payment: RequestPayment => ["s3:GetBucketRequestPayment"], query "requestPayment";
    /// The daily storage metrics S3 publishes to CloudWatch (`AWS/S3`: `BucketSizeBytes` per
    /// storage type, `NumberOfObjects`), read per region for all its buckets at once; absent
    /// (`NoStorageMetrics`) when CloudWatch has none, as for an empty or a new bucket.
    #[serde(default = "Section::<StorageMetrics>::not_read")]
    storage_metrics: StorageMetrics => ["cloudwatch:ListMetrics", "cloudwatch:GetMetricData"];
}

/// One day of a bucket's CloudWatch storage metrics: the latest day reported.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StorageMetrics {
    /// The day of the datapoints, `YYYY-MM-DD` (UTC).
    pub day: String,
    /// `BucketSizeBytes` by CloudWatch `StorageType` (`StandardStorage`, `StandardIAStorage`,
    /// `GlacierStorage`, `DeepArchiveStorage`, `IntelligentTieringFAStorage`, ...).
    pub bytes: BTreeMap<String, u64>,
    /// `NumberOfObjects` over all storage types; null when CloudWatch has no count that day.
    pub objects: Option<u64>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RequestPayment {
    /// `BucketOwner`, or `Requester` for a Requester Pays bucket.
    pub payer: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfiguration {
    pub id: String,
    /// Limited to a prefix, tags or an access point; false for the whole bucket.
    pub filtered: bool,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsConfiguration {
    pub id: String,
    /// Limited to a prefix or tags; false for the whole bucket.
    pub filtered: bool,
    /// The analysis is exported as CSV to a bucket.
    pub exports_data: bool,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PolicyStatus {
    pub is_public: bool,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Acl {
    #[serde(default)]
    pub owner_id: Option<String>,
    pub grants: Vec<Grant>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// `CanonicalUser`, `Group` or `AmazonCustomerByEmail`.
    pub grantee_type: String,
    /// Canonical user id, for `CanonicalUser`.
    #[serde(default)]
    pub grantee_id: Option<String>,
    /// Group URI, for `Group` (e.g. `http://acs.amazonaws.com/groups/global/AllUsers`).
    #[serde(default)]
    pub grantee_uri: Option<String>,
    #[serde(default)]
    pub grantee_email: Option<String>,
    /// `READ`, `WRITE`, `READ_ACP`, `WRITE_ACP` or `FULL_CONTROL`.
    pub permission: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OwnershipControls {
    /// `BucketOwnerEnforced`, `BucketOwnerPreferred` or `ObjectWriter`.
    pub object_ownership: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Encryption {
    pub rules: Vec<EncryptionRule>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EncryptionRule {
    /// `AES256`, `aws:kms` or `aws:kms:dsse`.
    pub sse_algorithm: String,
    #[serde(default)]
    pub kms_master_key_id: Option<String>,
    pub bucket_key_enabled: bool,
    /// Server-side encryption types S3 refuses for uploads to the bucket (`SSE-C`), as set by
    /// `PutBucketEncryption` with `BlockedEncryptionTypes`. Empty when none are blocked.
    #[serde(default)]
    pub blocked_encryption_types: Vec<String>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Versioning {
    /// `Enabled`, `Suspended`, or `Disabled` for a bucket that never had versioning.
    pub status: String,
    /// `Enabled` or `Disabled`.
    pub mfa_delete: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Logging {
    pub target_bucket: String,
    pub target_prefix: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    pub rules: Vec<LifecycleRule>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LifecycleRule {
    #[serde(default)]
    pub id: Option<String>,
    /// `Enabled` or `Disabled`.
    pub status: String,
    /// The key prefix the rule is limited to; empty for no prefix limit.
    pub prefix: String,
    /// Object tags the rule is limited to (`Filter.Tag` or `Filter.And.Tags`).
    #[serde(default)]
    pub filter_tags: BTreeMap<String, String>,
    /// Object size limits of the rule's filter, in bytes.
    #[serde(default)]
    pub object_size_greater_than: Option<i64>,
    #[serde(default)]
    pub object_size_less_than: Option<i64>,
    #[serde(default)]
    pub expiration_days: Option<i64>,
    #[serde(default)]
    pub noncurrent_version_expiration_days: Option<i64>,
    #[serde(default)]
    pub abort_incomplete_multipart_upload_days: Option<i64>,
    pub transitions: Vec<Transition>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    #[serde(default)]
    pub days: Option<i64>,
    pub storage_class: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Replication {
    pub role: String,
    pub rules: Vec<ReplicationRule>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReplicationRule {
    #[serde(default)]
    pub id: Option<String>,
    pub status: String,
    /// The destination bucket ARN.
    pub destination_bucket: String,
    #[serde(default)]
    pub destination_account: Option<String>,
    /// Replication Time Control enabled.
    pub replication_time_enabled: bool,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ObjectLock {
    pub enabled: bool,
    /// Default retention mode: `GOVERNANCE` or `COMPLIANCE`.
    #[serde(default)]
    pub default_mode: Option<String>,
    #[serde(default)]
    pub default_days: Option<i64>,
    #[serde(default)]
    pub default_years: Option<i64>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    pub topics: Vec<NotificationTarget>,
    pub queues: Vec<NotificationTarget>,
    pub lambda_functions: Vec<NotificationTarget>,
    pub eventbridge_enabled: bool,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NotificationTarget {
    pub arn: String,
    pub events: Vec<String>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Website {
    #[serde(default)]
    pub index_document: Option<String>,
    #[serde(default)]
    pub redirect_all_requests_to: Option<String>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CorsRule {
    pub allowed_origins: Vec<String>,
    pub allowed_methods: Vec<String>,
    pub allowed_headers: Vec<String>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Accelerate {
    /// `Enabled`, `Suspended`, or `Disabled` when never configured.
    pub status: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IntelligentTieringConfiguration {
    pub id: String,
    pub status: String,
    pub tierings: Vec<Tiering>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Tiering {
    /// `ARCHIVE_ACCESS` or `DEEP_ARCHIVE_ACCESS`.
    pub access_tier: String,
    pub days: i64,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct InventoryConfiguration {
    pub id: String,
    pub enabled: bool,
    pub destination_bucket: String,
    /// `Daily` or `Weekly`.
    pub frequency: String,
}

/// A region that is unknown is null; snapshots before null regions wrote an empty string.
pub(super) fn unknown_when_empty<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let region: Option<String> = Option::deserialize(deserializer)?;
    Ok(region.filter(|r| !r.is_empty()))
}

impl Bucket {
    /// A bucket with every section `absent`: the base that rule examples and tests fill in.
    /// An empty region is an unknown one.
    pub fn all_absent(name: &str, region: &str) -> Self {
        let region = Some(region).filter(|r| !r.is_empty());
        Self::every_section(name, region, &Section::absent())
    }

    pub fn arn(&self, partition: &str) -> String {
        format!("arn:{partition}:s3:::{}", self.name)
    }
}

impl Account {
    /// An entered account with every section `absent` and no buckets.
    pub fn all_absent(id: &str) -> Self {
        Account {
            buckets: Section::present(Vec::new()),
            ..Account::every_section(id, None, AccountAccess::Caller, &Section::absent())
        }
    }
}

impl<T> Section<T> {
    /// A section that was not read successfully, carried over to another value type.
    /// A present section has no failure to carry and becomes absent; callers match `Present`
    /// before calling this.
    pub fn map_unreadable<U>(self) -> Section<U> {
        match self {
            Section::Present { .. } => Section::absent(),
            Section::Absent { code } => Section::Absent { code },
            Section::Denied(f) => Section::Denied(f),
            Section::Error(f) => Section::Error(f),
        }
    }
}

mod section_de {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

    use super::{ReadFailure, Section, SectionState};

    #[derive(serde::Deserialize)]
    #[serde(field_identifier, rename_all = "snake_case")]
    enum Field {
        State,
        Value,
        Code,
        Message,
        Operation,
        HttpStatus,
    }

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Section<T> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_map(SectionVisitor(PhantomData))
        }
    }

    struct SectionVisitor<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for SectionVisitor<T> {
        type Value = Section<T>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(
                "a section: {\"state\": \"present\" | \"absent\" | \"denied\" | \"error\", ...}",
            )
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Section<T>, A::Error> {
            let mut state: Option<SectionState> = None;
            let mut value: Option<T> = None;
            let mut code: Option<Option<String>> = None;
            let mut message: Option<String> = None;
            let mut operation: Option<Option<String>> = None;
            let mut http_status: Option<Option<u16>> = None;
            while let Some(field) = map.next_key::<Field>()? {
                match field {
                    Field::State if state.is_some() => {
                        return Err(de::Error::duplicate_field("state"));
                    }
                    Field::State => state = Some(map.next_value()?),
                    Field::Value if value.is_some() => {
                        return Err(de::Error::duplicate_field("value"));
                    }
                    Field::Value => value = Some(map.next_value()?),
                    Field::Code if code.is_some() => {
                        return Err(de::Error::duplicate_field("code"));
                    }
                    Field::Code => code = Some(map.next_value()?),
                    Field::Message if message.is_some() => {
                        return Err(de::Error::duplicate_field("message"));
                    }
                    Field::Message => message = Some(map.next_value()?),
                    Field::Operation if operation.is_some() => {
                        return Err(de::Error::duplicate_field("operation"));
                    }
                    Field::Operation => operation = Some(map.next_value()?),
                    Field::HttpStatus if http_status.is_some() => {
                        return Err(de::Error::duplicate_field("http_status"));
                    }
                    Field::HttpStatus => http_status = Some(map.next_value()?),
                }
            }
            let state = state.ok_or_else(|| de::Error::missing_field("state"))?;
            let code = code.flatten();
            let operation = operation.flatten();
            let http_status = http_status.flatten();
            let failure_fields = operation.is_some() || http_status.is_some();
            match state {
                SectionState::Present => {
                    if code.is_some() || message.is_some() || failure_fields {
                        return Err(de::Error::custom(
                            "a present section has no `code` or `message`",
                        ));
                    }
                    let value = value.ok_or_else(|| de::Error::missing_field("value"))?;
                    Ok(Section::Present { value })
                }
                SectionState::Absent => {
                    if value.is_some() || message.is_some() || failure_fields {
                        return Err(de::Error::custom(
                            "an absent section has no `value` or `message`",
                        ));
                    }
                    Ok(Section::Absent { code })
                }
                SectionState::Denied | SectionState::Error => {
                    if value.is_some() {
                        return Err(de::Error::custom(
                            "a section that was not read has no `value`",
                        ));
                    }
                    let failure = ReadFailure {
                        code,
                        message: message.ok_or_else(|| de::Error::missing_field("message"))?,
                        operation,
                        http_status,
                    };
                    Ok(if state == SectionState::Denied {
                        Section::denied(failure)
                    } else {
                        Section::error(failure)
                    })
                }
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::Section;

        #[test]
        fn sections_read_back_whatever_the_key_order() {
            let present: Section<u32> =
                serde_json::from_str(r#"{"value": 7, "state": "present"}"#).unwrap();
            assert_eq!(present, Section::present(7));
            let denied: Section<u32> = serde_json::from_str(
                r#"{"state": "denied", "code": "AccessDenied", "message": "no"}"#,
            )
            .unwrap();
            assert!(matches!(denied, Section::Denied(_)));
            let absent: Section<u32> =
                serde_json::from_str(r#"{"state": "absent", "code": null}"#).unwrap();
            assert_eq!(absent, Section::absent());
            for broken in [
                r#"{"state": "present"}"#,
                r#"{"state": "absent", "value": 1}"#,
                r#"{"state": "error"}"#,
                r#"{"state": "present", "value": 1, "extra": 2}"#,
                r#"{"state": "maybe"}"#,
            ] {
                assert!(
                    serde_json::from_str::<Section<u32>>(broken).is_err(),
                    "{broken}"
                );
            }
        }
    }
}
