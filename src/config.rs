//! The configuration file (`s3audit.yml`): rules to enable or disable, severity overrides,
//! the selector of critical buckets, and waivers. Unknown keys are errors with their line:
//! a misspelled `waivers:` must not silently waive nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::vocabulary::{BucketSelectors, TagSelector};
use crate::vocabulary::{ResourceRef, Severity};

#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub rules: RuleSelection,
    /// Severity overrides by rule id.
    #[serde(default)]
    pub severity: BTreeMap<String, Severity>,
    /// Which buckets are critical: rules for critical data (versioning, MFA delete, ...) apply
    /// to these. Default: the tag `data-classification=critical`.
    #[serde(default = "TagSelector::critical_default")]
    pub critical_buckets: TagSelector,
    /// Which buckets take uploads from around the world, and so should use S3 Transfer
    /// Acceleration. Default: the tag `upload-scope=global`.
    #[serde(default = "TagSelector::global_uploads_default")]
    pub global_upload_buckets: TagSelector,
    #[serde(default)]
    pub waivers: Vec<Waiver>,
    /// Prices and settings of the storage cost estimate, replacing those of
    /// `cost/prices.yaml` one by one.
    #[serde(default)]
    pub cost: crate::prices::CostConfig,
}

#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleSelection {
    /// When given, only these rules run.
    #[serde(default)]
    pub only: Vec<String>,
    /// These rules do not run.
    #[serde(default)]
    pub disable: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rules: RuleSelection::default(),
            severity: BTreeMap::new(),
            critical_buckets: TagSelector::critical_default(),
            global_upload_buckets: TagSelector::global_uploads_default(),
            waivers: Vec::new(),
            cost: crate::prices::CostConfig::default(),
        }
    }
}

impl Config {
    pub fn selectors(&self) -> BucketSelectors {
        BucketSelectors {
            critical: self.critical_buckets.clone(),
            global_uploads: self.global_upload_buckets.clone(),
        }
    }
}

/// A decision to accept a finding for a while. Exactly one of `account`, `bucket`,
/// `bucket_name_glob` says what it covers.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// The rule waived.
    pub rule: String,
    /// An exact account id: the account and every bucket in it.
    #[serde(default)]
    pub account: Option<String>,
    /// An exact bucket ARN, `arn:aws:s3:::name`.
    #[serde(default)]
    pub bucket: Option<String>,
    /// Buckets by name, with `*` and `?` wildcards in the name only; with `account` given,
    /// only that account's buckets.
    #[serde(default)]
    pub bucket_name_glob: Option<String>,
    pub reason: String,
    pub owner: String,
    /// The last day the waiver applies (YYYY-MM-DD, UTC). After it, the finding is reported
    /// again and flagged as an expired waiver.
    pub expires: String,
}

/// How a finding stands against the waivers.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WaiverStatus {
    pub reason: String,
    pub owner: String,
    pub expires: String,
    /// The waiver has expired: the finding counts again.
    pub expired: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}{excerpt}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
        excerpt: String,
    },
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let invalid = |line: usize, column: usize, message: String| {
            let excerpt = crate::text::excerpt(text, line, column);
            ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message,
                excerpt: if excerpt.is_empty() {
                    excerpt
                } else {
                    format!("\n{excerpt}")
                },
            }
        };
        let config: Config = if text.trim().is_empty() {
            Config::default()
        } else {
            crate::text::from_yaml(text).map_err(|e| invalid(e.line, e.column, e.message))?
        };
        if let Err(message) = config.cost.validate() {
            let (line, column) = cost_position(text);
            return Err(invalid(line, column, message));
        }
        for (index, waiver) in config.waivers.iter().enumerate() {
            if let Err(message) = waiver.validate() {
                let (line, column) = waiver_position(text, index);
                return Err(invalid(
                    line,
                    column,
                    format!("waiver {}: {message}", index + 1),
                ));
            }
        }
        Ok(config)
    }

    /// The JSON Schema of the file, for editors (docs/config.schema.json).
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Config)).expect("a JSON Schema serializes")
    }

    /// The waiver that covers (rule, resource), if any, with whether it has expired on `today`
    /// (YYYY-MM-DD).
    pub fn waiver_for(
        &self,
        rule: &str,
        resource: &ResourceRef,
        today: &str,
    ) -> Option<WaiverStatus> {
        self.waivers
            .iter()
            .find(|w| w.rule == rule && w.covers(resource))
            .map(|w| WaiverStatus {
                reason: w.reason.clone(),
                owner: w.owner.clone(),
                expires: w.expires.clone(),
                // ISO dates compare as strings; the waiver is valid through its last day.
                expired: w.expires.as_str() < today,
            })
    }
}

/// The line of the `index`-th item under `waivers:` (for errors about a waiver's values).
/// Where the `index`th waiver starts, as the YAML parser saw it.
fn waiver_position(text: &str, index: usize) -> (usize, usize) {
    #[derive(Deserialize)]
    struct Waivers {
        #[serde(default)]
        waivers: Vec<serde_saphyr::Spanned<serde::de::IgnoredAny>>,
    }
    crate::text::from_yaml::<Waivers>(text)
        .ok()
        .and_then(|w| w.waivers.get(index).map(crate::text::span_start))
        .unwrap_or((1, 1))
}

/// The line and column of the `cost:` value, for its errors.
fn cost_position(text: &str) -> (usize, usize) {
    #[derive(Deserialize)]
    struct Cost {
        #[serde(default)]
        cost: Option<serde_saphyr::Spanned<serde::de::IgnoredAny>>,
    }
    crate::text::from_yaml::<Cost>(text)
        .ok()
        .and_then(|c| c.cost.as_ref().map(crate::text::span_start))
        .unwrap_or((1, 1))
}

impl Waiver {
    fn validate(&self) -> Result<(), String> {
        let targets = [
            self.account.is_some() && self.bucket_name_glob.is_none(),
            self.bucket.is_some(),
            self.bucket_name_glob.is_some(),
        ];
        if targets.iter().filter(|t| **t).count() != 1 {
            return Err(
                "name exactly one of `account`, `bucket` (an ARN) or `bucket_name_glob` \
                 (optionally with `account`)"
                    .into(),
            );
        }
        if let Some(account) = &self.account
            && (account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!(
                "`account` must be a 12-digit account id, not `{account}`"
            ));
        }
        if let Some(bucket) = &self.bucket {
            let Some(name) = bucket
                .split(":::")
                .nth(1)
                .filter(|_| bucket.starts_with("arn:"))
            else {
                return Err(format!(
                    "`bucket` must be a bucket ARN (arn:aws:s3:::name), not `{bucket}`"
                ));
            };
            if name.contains(['*', '?']) {
                return Err("`bucket` is exact; use `bucket_name_glob` for a pattern".into());
            }
        }
        if let Some(glob) = &self.bucket_name_glob
            && (glob.contains(':') || glob.contains('/'))
        {
            return Err(format!(
                "`bucket_name_glob` is a bucket name pattern, not an ARN: `{glob}`"
            ));
        }
        let date = self.expires.as_bytes();
        let is_date = date.len() == 10
            && date[4] == b'-'
            && date[7] == b'-'
            && date
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !is_date {
            return Err(format!(
                "`expires` must be a date YYYY-MM-DD, not `{}`",
                self.expires
            ));
        }
        if self.reason.trim().is_empty() || self.owner.trim().is_empty() {
            return Err("`reason` and `owner` must not be empty".into());
        }
        Ok(())
    }

    fn covers(&self, resource: &ResourceRef) -> bool {
        use crate::vocabulary::ResourceKind;
        if let Some(bucket) = &self.bucket {
            return resource.kind == ResourceKind::Bucket && &resource.arn == bucket;
        }
        if let Some(glob) = &self.bucket_name_glob {
            return resource.kind == ResourceKind::Bucket
                && self
                    .account
                    .as_ref()
                    .is_none_or(|a| a == &resource.account_id)
                && crate::vocabulary::wildcard_match_exact_case(glob, &resource.name);
        }
        self.account.as_ref() == Some(&resource.account_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::ResourceKind;

    fn bucket(account: &str, name: &str) -> ResourceRef {
        ResourceRef {
            kind: ResourceKind::Bucket,
            account_id: account.into(),
            region: Some("us-east-1".into()),
            name: name.into(),
            arn: format!("arn:aws:s3:::{name}"),
        }
    }

    #[test]
    fn an_unknown_key_is_an_error_with_its_line() {
        let err = Config::parse(
            "rules:\n  disable: [x]\nwaiverz: []\n",
            Path::new("s3audit.yml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("s3audit.yml:3:1: unknown field `waiverz`"),
            "{err}"
        );
    }

    #[test]
    fn waivers_match_exactly_or_by_explicit_name_glob() {
        let config = Config::parse(
            "waivers:\n\
             - {rule: r, bucket: 'arn:aws:s3:::logs', reason: x, owner: o, expires: '2030-01-01'}\n\
             - {rule: r, account: '111111111111', bucket_name_glob: 'tmp-*', reason: x, owner: o, expires: '2020-01-01'}\n",
            Path::new("c.yml"),
        )
        .unwrap();
        let today = "2026-06-01";
        assert!(
            config
                .waiver_for("r", &bucket("222222222222", "logs"), today)
                .is_some()
        );
        // Exact: no substring matching ("logs" must not waive "logs-archive").
        assert!(
            config
                .waiver_for("r", &bucket("222222222222", "logs-archive"), today)
                .is_none()
        );
        let expired = config
            .waiver_for("r", &bucket("111111111111", "tmp-1"), today)
            .unwrap();
        assert!(expired.expired);
        assert!(
            config
                .waiver_for("r", &bucket("222222222222", "tmp-1"), today)
                .is_none()
        );
        assert!(
            config
                .waiver_for("other", &bucket("222222222222", "logs"), today)
                .is_none()
        );
    }

    #[test]
    fn a_waiver_with_a_glob_in_the_arn_is_refused_with_its_line() {
        let err = Config::parse(
            "severity: {r: high}\nwaivers:\n  - rule: r\n    bucket: 'arn:aws:s3:::logs-*'\n    reason: x\n    owner: o\n    expires: '2030-01-01'\n",
            Path::new("c.yml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("c.yml:3:5: waiver 1: `bucket` is exact"),
            "{err}"
        );
    }
}
