//! What a bucket or account is analysed against: the partition, the organization, and an
//! index of the whole snapshot, so a fact about one bucket can use what was read about
//! another (the bucket it logs to, the bucket it replicates to, the trail that writes to it).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::snapshot::{
    Account, AccountAccess, Analyzer, Bucket, ReadFailure, Section, Snapshot, Trail,
};

/// A bucket without a region and without a failure to say why (a hand-written snapshot).
static REGION_NOT_READ: std::sync::LazyLock<ReadFailure> =
    std::sync::LazyLock::new(|| ReadFailure {
        code: None,
        message: "the snapshot holds no region for the bucket".into(),
        ..ReadFailure::default()
    });

/// The state of a section, whatever its value type.
trait AnySectionState {
    fn failure(&self) -> Option<&ReadFailure>;
}

impl<T> AnySectionState for Section<T> {
    fn failure(&self) -> Option<&ReadFailure> {
        Section::failure(self).map(|(_, f)| f)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub partition: String,
    /// The organization id, when the snapshot was taken with `--org`.
    pub organization_id: Option<String>,
    /// Every account of the organization.
    pub organization_accounts: BTreeSet<String>,
    /// Every bucket of the snapshot, by name (bucket names are global).
    pub buckets: HashMap<String, KnownBucket>,
    /// Buckets other buckets deliver their server access logs to: target name → sources.
    pub access_log_targets: BTreeMap<String, Vec<String>>,
    /// A bucket whose logging configuration could not be read: it may log anywhere.
    pub unread_logging: Option<(String, ReadFailure)>,
    /// Buckets that trails deliver their logs to: bucket name → trail ARNs.
    pub trail_log_buckets: BTreeMap<String, Vec<String>>,
    /// Organization trails, which log for every account of the organization.
    pub organization_trails: Vec<Trail>,
    /// Active findings of every analyzer of the snapshot, by resource ARN.
    pub analyzer_findings: HashMap<String, Vec<AnalyzerFindingRef>>,
    /// Regions with an active organization analyzer; it covers every member's buckets there.
    pub organization_analyzer_regions: BTreeSet<String>,
    /// An enabled organization-wide Storage Lens dashboard exists in the snapshot.
    pub organization_storage_lens: bool,
    /// Entered accounts whose trails could not be listed: one of them may deliver to any bucket.
    pub unread_trails: Vec<(String, ReadFailure)>,
    /// Entered accounts whose analyzers could not be listed: one may be an organization
    /// analyzer covering other accounts' buckets.
    pub unread_analyzers: Vec<(String, ReadFailure)>,
    /// Entered accounts whose Storage Lens configurations could not be read: one may be an
    /// organization-wide dashboard.
    pub unread_storage_lens: Vec<(String, ReadFailure)>,
    /// External access analyzers whose findings could not be read, by (account, region) for
    /// account analyzers and by ("", region) for organization analyzers: a bucket they cover
    /// may have findings nobody saw.
    pub unread_analyzer_findings: BTreeMap<(String, String), ReadFailure>,
}

/// What other buckets' facts need to know about a bucket. Each field is what was read, or
/// why it could not be: a fact that joins on it must then be unknown, never compare against
/// a stand-in value (an empty region, "no Object Lock").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownBucket {
    pub name: String,
    pub account: String,
    pub region: Result<String, Unread>,
    /// Object Lock with a default retention.
    pub default_retention: Result<bool, Unread>,
    /// Default encryption with a KMS key (`aws:kms`, `aws:kms:dsse`).
    pub default_kms: Result<bool, Unread>,
    /// Requester Pays is on.
    pub requester_pays: Result<bool, Unread>,
}

/// Why something about another resource is not known: the resource and its section that
/// could not be read, or that the resource is not in the snapshot at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    /// The other resource, e.g. `bucket example-logs`.
    pub resource: String,
    /// The section that could not be read (`bucket.object_lock`, `bucket.region`), or
    /// `snapshot` when the resource is not in the snapshot.
    pub section: String,
    pub failure: ReadFailure,
}

impl Unread {
    /// The failure as a reason of the fact that needed it: names the other resource and its
    /// section, keeps the AWS code.
    pub fn as_fact_failure(&self) -> ReadFailure {
        let message = if self.section == "snapshot" {
            self.failure.message.clone()
        } else {
            format!(
                "{} of {} could not be read: {}",
                self.section, self.resource, self.failure.message
            )
        };
        ReadFailure {
            message,
            ..self.failure.clone()
        }
    }

    /// A bucket that the snapshot does not hold.
    pub fn not_in_snapshot(name: &str) -> Unread {
        Unread {
            resource: format!("bucket {name}"),
            section: "snapshot".into(),
            failure: ReadFailure {
                code: Some("NotInSnapshot".into()),
                message: format!(
                    "bucket {name} is not in the snapshot: its account was not audited (audit \
                     it with --org or --accounts) or the bucket no longer exists"
                ),
                ..ReadFailure::default()
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct AnalyzerFindingRef {
    pub analyzer: String,
    pub id: String,
    pub finding_type: String,
}

impl Scope {
    pub fn of(snapshot: &Snapshot) -> Scope {
        let organization = snapshot.organization.as_ref();
        let mut scope = Scope {
            partition: snapshot.partition.clone(),
            organization_id: organization.map(|o| o.id.clone()),
            organization_accounts: organization
                .map(|o| o.account_ids.iter().cloned().collect())
                .unwrap_or_default(),
            ..Scope::default()
        };
        for account in &snapshot.accounts {
            scope.index_account(account);
        }
        scope
    }

    /// A scope for one partition and no organization (rule examples, tests).
    pub fn partition(partition: &str) -> Scope {
        Scope {
            partition: partition.to_string(),
            ..Scope::default()
        }
    }

    /// Adds an account's trails, analyzers and buckets to the index.
    pub fn index_account(&mut self, account: &Account) {
        // An account that could not be entered is reported as not audited; its sections are
        // not "unread" in the sense below, or every bucket would be unknown.
        if !matches!(account.access, AccountAccess::Failed { .. }) {
            let note = |list: &mut Vec<(String, ReadFailure)>, failure: Option<&ReadFailure>| {
                if let Some(failure) = failure {
                    list.push((account.id.clone(), failure.clone()));
                }
            };
            note(
                &mut self.unread_trails,
                account.trails.failure().map(|(_, f)| f),
            );
            note(
                &mut self.unread_analyzers,
                account.access_analyzers.failure().map(|(_, f)| f),
            );
            note(
                &mut self.unread_storage_lens,
                account.storage_lens.failure().map(|(_, f)| f),
            );
        }
        for trail in account.trails.value().into_iter().flatten() {
            if let Some(name) = &trail.s3_bucket_name {
                self.trail_log_buckets
                    .entry(name.clone())
                    .or_default()
                    .push(trail.arn.clone());
            }
            if trail.is_organization_trail {
                self.organization_trails.push(trail.clone());
            }
        }
        let storage_lens = account.storage_lens.value().into_iter().flatten();
        self.organization_storage_lens |= storage_lens
            .into_iter()
            .any(|c| c.is_enabled && c.organization_wide);
        for analyzer in account.access_analyzers.value().into_iter().flatten() {
            self.index_analyzer(&account.id, analyzer);
        }
        for bucket in account.buckets.value().into_iter().flatten() {
            self.index_bucket(&account.id, bucket);
        }
    }

    fn index_analyzer(&mut self, account: &str, analyzer: &Analyzer) {
        // Only external access analyzers report buckets shared outside the zone of trust;
        // unused-access and internal-access analyzers answer other questions.
        let organization = analyzer.analyzer_type == "ORGANIZATION";
        if analyzer.status != "ACTIVE" || !(organization || analyzer.analyzer_type == "ACCOUNT") {
            return;
        }
        if organization {
            self.organization_analyzer_regions
                .insert(analyzer.region.clone());
        }
        match &analyzer.bucket_findings {
            Section::Present { value } => {
                for finding in value.iter().filter(|f| f.status == "ACTIVE") {
                    self.analyzer_findings
                        .entry(finding.resource.clone())
                        .or_default()
                        .push(AnalyzerFindingRef {
                            analyzer: analyzer.arn.clone(),
                            id: finding.id.clone(),
                            finding_type: finding.finding_type.clone(),
                        });
                }
            }
            other => {
                if let Some((_, failure)) = other.failure() {
                    let owner = if organization { "" } else { account };
                    self.unread_analyzer_findings.insert(
                        (owner.to_string(), analyzer.region.clone()),
                        failure.clone(),
                    );
                }
            }
        }
    }

    pub fn index_bucket(&mut self, account: &str, bucket: &Bucket) {
        match &bucket.logging {
            Section::Present { value } => self
                .access_log_targets
                .entry(value.target_bucket.clone())
                .or_default()
                .push(bucket.name.clone()),
            other => {
                if let Some((_, failure)) = other.failure()
                    && self.unread_logging.is_none()
                {
                    self.unread_logging = Some((bucket.name.clone(), failure.clone()));
                }
            }
        }
        let unread = |section: &str, failure: &ReadFailure| Unread {
            resource: format!("bucket {}", bucket.name),
            section: section.to_string(),
            failure: failure.clone(),
        };
        let known = |section: &str, read: &dyn AnySectionState| -> Result<(), Unread> {
            match read.failure() {
                Some(failure) => Err(unread(section, failure)),
                None => Ok(()),
            }
        };
        let region = match &bucket.region {
            Some(region) => Ok(region.clone()),
            // A bucket whose region is unknown has every section failed with the reason.
            None => Err(unread(
                "bucket.region",
                bucket
                    .versioning
                    .failure()
                    .map_or(&REGION_NOT_READ, |(_, f)| f),
            )),
        };
        let default_retention = known("bucket.object_lock", &bucket.object_lock).map(|()| {
            bucket
                .object_lock
                .value()
                .is_some_and(|lock| lock.enabled && lock.default_mode.is_some())
        });
        let default_kms = known("bucket.encryption", &bucket.encryption).map(|()| {
            bucket.encryption.value().is_some_and(|encryption| {
                encryption
                    .rules
                    .iter()
                    .any(|r| r.sse_algorithm.starts_with("aws:kms"))
            })
        });
        let requester_pays = known("bucket.request_payment", &bucket.request_payment).map(|()| {
            bucket
                .request_payment
                .value()
                .is_some_and(|p| p.payer == "Requester")
        });
        self.buckets.insert(
            bucket.name.clone(),
            KnownBucket {
                name: bucket.name.clone(),
                account: account.to_string(),
                region,
                default_retention,
                default_kms,
                requester_pays,
            },
        );
    }

    /// What the snapshot holds about a bucket, or why it holds nothing.
    pub fn known_bucket(&self, name: &str) -> Result<&KnownBucket, Unread> {
        self.buckets
            .get(name)
            .ok_or_else(|| Unread::not_in_snapshot(name))
    }

    /// The bucket name of an S3 bucket ARN (`arn:aws:s3:::name`), or the name itself.
    pub fn bucket_name(arn_or_name: &str) -> &str {
        arn_or_name
            .strip_prefix("arn:")
            .and_then(|rest| rest.split_once(":s3:::"))
            .map_or(arn_or_name, |(_, name)| name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_come_from_arns_in_any_partition() {
        assert_eq!(Scope::bucket_name("arn:aws:s3:::logs"), "logs");
        assert_eq!(Scope::bucket_name("arn:aws-cn:s3:::logs"), "logs");
        assert_eq!(Scope::bucket_name("logs"), "logs");
    }
}
