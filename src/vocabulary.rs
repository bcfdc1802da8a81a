//! The vocabulary the stages share, below all of them: how bad a finding is, what kind of
//! resource it is about and how it is named, and how buckets are chosen by their tags. It
//! imports no other module of s3audit, so `config`, `analyze` and `rules` can all use it
//! without importing each other in a circle.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How bad a failing rule is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// What a rule is evaluated on.
#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    Bucket,
    Account,
    /// An S3 access point (S3 Control), regional.
    AccessPoint,
    /// A Multi-Region Access Point (S3 Control), global.
    MultiRegionAccessPoint,
    /// A directory bucket (S3 Express One Zone), in one zone of a region.
    DirectoryBucket,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Bucket => "bucket",
            ResourceKind::Account => "account",
            ResourceKind::AccessPoint => "access_point",
            ResourceKind::MultiRegionAccessPoint => "multi_region_access_point",
            ResourceKind::DirectoryBucket => "directory_bucket",
        }
    }
}

/// The resource an outcome is about.
#[derive(
    Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
#[serde(deny_unknown_fields)]
pub struct ResourceRef {
    pub kind: ResourceKind,
    pub account_id: String,
    /// The bucket's region; none for account-level resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Bucket name, or the account id for an account.
    pub name: String,
    pub arn: String,
}

/// Buckets chosen by their tags, for rules that apply to some buckets only.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TagSelector {
    /// A bucket is selected when it has any of these tags with that value.
    pub tags: BTreeMap<String, String>,
}

impl TagSelector {
    fn tag(key: &str, value: &str) -> TagSelector {
        TagSelector {
            tags: BTreeMap::from([(key.into(), value.into())]),
        }
    }

    pub fn critical_default() -> TagSelector {
        TagSelector::tag("data-classification", "critical")
    }

    pub fn global_uploads_default() -> TagSelector {
        TagSelector::tag("upload-scope", "global")
    }

    pub fn matches(&self, tags: &BTreeMap<String, String>) -> bool {
        self.tags.iter().any(|(k, v)| tags.get(k) == Some(v))
    }
}

/// The tag selectors rules use, as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketSelectors {
    pub critical: TagSelector,
    pub global_uploads: TagSelector,
}

impl Default for BucketSelectors {
    fn default() -> Self {
        BucketSelectors {
            critical: TagSelector::critical_default(),
            global_uploads: TagSelector::global_uploads_default(),
        }
    }
}

/// Case-sensitive wildcard match (`*` any run of characters, `?` one character).
pub fn wildcard_match_exact_case(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if let Some((star, matched)) = backtrack {
            pi = star + 1;
            ti = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}
