//! Facts derived about an account: whether its S3 data events are logged (by its own trails
//! or an organization trail) and how its access points are set up.

use schemars::JsonSchema;
use serde::Serialize;

use super::Scope;
use crate::snapshot::{Account, AdvancedEventSelector, EventSelector, ReadFailure, Section, Trail};

/// The sections each top-level account fact is computed from.
pub const ACCOUNT_FACT_DEPENDENCIES: &[(&str, &[&str])] = &[
    ("s3_data_events", &["account.trails"]),
    ("storage_lens_enabled", &["account.storage_lens"]),
    ("guardduty_s3_protection_missing", &["account.guardduty"]),
    ("macie_missing", &["account.macie"]),
    (
        "cloudfront_origins_without_bucket",
        &["account.cloudfront_distributions"],
    ),
];

#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq, Default)]
pub struct AccountFacts {
    pub s3_data_events: DataEventCoverage,
    /// An enabled Storage Lens dashboard covers the account: its own, or an
    /// organization-wide one of the snapshot (management or delegated administrator account).
    pub storage_lens_enabled: bool,
    /// Regions read (home region and bucket regions) without an enabled GuardDuty detector
    /// whose S3 Protection is enabled.
    pub guardduty_s3_protection_missing: Vec<String>,
    /// Regions read where Amazon Macie is not enabled (never enabled, or paused).
    pub macie_missing: Vec<String>,
    /// CloudFront origins (`distribution id: bucket`) that name an S3 bucket that does not
    /// exist: whoever creates a bucket of that name serves content through the distribution.
    pub cloudfront_origins_without_bucket: Vec<String>,
}

/// Multi-Region trails that log S3 object-level (data) events for every bucket, as Security
/// Hub S3.22/S3.23 and CIS 3.8/3.9 ask. The account's own trails count, and so do the
/// organization trails in the snapshot (they log for every member).
#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq, Default)]
pub struct DataEventCoverage {
    /// ARNs of multi-Region trails logging write data events of all buckets.
    pub write_trails: Vec<String>,
    /// ARNs of multi-Region trails logging read data events of all buckets.
    pub read_trails: Vec<String>,
    pub write: bool,
    pub read: bool,
}

/// An account's facts, plus the nested sections that could not be read and that the facts
/// would have needed: rules that read those facts become `unknown`.
#[derive(Debug, Clone)]
pub struct AnalyzedAccount {
    pub facts: AccountFacts,
    pub unreadable: Vec<(&'static str, ReadFailure)>,
}

pub fn analyze_account(account: &Account, scope: &Scope) -> AnalyzedAccount {
    let mut unreadable = Vec::new();
    let s3_data_events = data_event_coverage(account, scope, &mut unreadable);
    let mut facts = AccountFacts {
        s3_data_events,
        ..AccountFacts::default()
    };
    facts.guardduty_s3_protection_missing = account
        .guardduty
        .value()
        .into_iter()
        .flatten()
        .filter(|r| {
            !r.detectors
                .iter()
                .any(|d| d.status == "ENABLED" && d.s3_protection.as_deref() == Some("ENABLED"))
        })
        .map(|r| r.region.clone())
        .collect();
    facts.macie_missing = account
        .macie
        .value()
        .into_iter()
        .flatten()
        .filter(|r| r.status.as_deref() != Some("ENABLED"))
        .map(|r| r.region.clone())
        .collect();
    let mut unchecked = None;
    for distribution in account
        .cloudfront_distributions
        .value()
        .into_iter()
        .flatten()
    {
        for origin in &distribution.origins {
            let Some(bucket) = &origin.s3_bucket else {
                continue;
            };
            match origin.s3_bucket_exists {
                Some(false) => facts
                    .cloudfront_origins_without_bucket
                    .push(format!("{}: {bucket}", distribution.id)),
                Some(true) => {}
                None => unchecked = Some((distribution.id.clone(), bucket.clone(), origin)),
            }
        }
    }
    if let Some((id, bucket, origin)) = unchecked
        && facts.cloudfront_origins_without_bucket.is_empty()
    {
        unreadable.push((
            "facts.cloudfront_origins_without_bucket",
            ReadFailure {
                code: None,
                message: format!(
                    "whether bucket {bucket} of distribution {id} exists could not be checked: {}",
                    origin
                        .s3_bucket_check_error
                        .as_deref()
                        .unwrap_or("no answer")
                ),
                ..ReadFailure::default()
            },
        ));
    }
    let in_organization = scope.organization_accounts.contains(&account.id);
    facts.storage_lens_enabled = account
        .storage_lens
        .value()
        .is_some_and(|configs| configs.iter().any(|c| c.is_enabled))
        || (scope.organization_storage_lens && in_organization);
    // Another account's configurations are unread: one may be an organization dashboard.
    if !facts.storage_lens_enabled
        && in_organization
        && let Some((id, f)) = scope
            .unread_storage_lens
            .iter()
            .find(|(id, _)| *id != account.id)
    {
        unreadable.push((
            "facts.storage_lens_enabled",
            ReadFailure {
                code: f.code.clone(),
                message: format!(
                    "the Storage Lens configurations of account {id} could not be read: {}",
                    f.message
                ),
                ..ReadFailure::default()
            },
        ));
    }
    regions_not_all_known(account, &facts, &mut unreadable);
    AnalyzedAccount { facts, unreadable }
}

/// GuardDuty and Macie are read in every region with buckets (access points too: their
/// rules are made unknown by the engine). A bucket whose
/// region could not be read may be in a region that was not read, so a regional fact that
/// found nothing wrong in the regions read is not known for the account.
fn regions_not_all_known(
    account: &Account,
    facts: &AccountFacts,
    unreadable: &mut Vec<(&'static str, ReadFailure)>,
) {
    let Some(unlocated) = account
        .buckets
        .value()
        .into_iter()
        .flatten()
        .find(|b| b.region.is_none())
    else {
        return;
    };
    let cause = unlocated
        .versioning
        .failure()
        .map_or("its region is not in the snapshot", |(_, f)| &f.message);
    let failure = ReadFailure {
        code: unlocated
            .versioning
            .failure()
            .and_then(|(_, f)| f.code.clone()),
        message: format!(
            "the region of bucket {} could not be read, so the regions read may miss one with \
             buckets: {cause}",
            unlocated.name
        ),
        ..ReadFailure::default()
    };
    let regional: [(&'static str, bool); 2] = [
        (
            "facts.guardduty_s3_protection_missing",
            facts.guardduty_s3_protection_missing.is_empty(),
        ),
        ("facts.macie_missing", facts.macie_missing.is_empty()),
    ];
    for (fact, nothing_found) in regional {
        if nothing_found {
            unreadable.push((fact, failure.clone()));
        }
    }
}

fn data_event_coverage(
    account: &Account,
    scope: &Scope,
    unreadable: &mut Vec<(&'static str, ReadFailure)>,
) -> DataEventCoverage {
    let own = account.trails.value().into_iter().flatten();
    let in_organization = scope.organization_accounts.contains(&account.id);
    let organization = scope.organization_trails.iter().filter(|_| in_organization);
    let mut coverage = DataEventCoverage::default();
    let mut failure = None;
    // One trail can be seen twice (a member's shadow copy of an organization trail, and the
    // management account's own): use the copy whose selectors and status were read.
    let mut by_arn: std::collections::BTreeMap<&str, &Trail> = std::collections::BTreeMap::new();
    for trail in own.chain(organization).filter(|t| t.is_multi_region) {
        let read = |t: &Trail| t.event_selectors.value().is_some() && t.logging.value().is_some();
        match by_arn.get(trail.arn.as_str()) {
            Some(kept) if read(kept) || !read(trail) => {}
            _ => {
                by_arn.insert(trail.arn.as_str(), trail);
            }
        }
    }
    for trail in by_arn.into_values() {
        let logging = match &trail.logging {
            Section::Present { value } => Some(*value),
            other => {
                if let Some((_, f)) = other.failure() {
                    failure = Some(ReadFailure {
                        code: f.code.clone(),
                        message: format!("status of trail {}: {}", trail.arn, f.message),
                        ..ReadFailure::default()
                    });
                }
                None
            }
        };
        if logging == Some(false) {
            continue;
        }
        match &trail.event_selectors {
            Section::Present { value } if logging.is_some() => {
                let (write, read) = covers_all_buckets(trail, &value.basic, &value.advanced);
                if write {
                    coverage.write_trails.push(trail.arn.clone());
                }
                if read {
                    coverage.read_trails.push(trail.arn.clone());
                }
            }
            Section::Present { .. } => {}
            other => {
                if let Some((_, f)) = other.failure() {
                    failure = Some(ReadFailure {
                        code: f.code.clone(),
                        message: format!("event selectors of trail {}: {}", trail.arn, f.message),
                        ..ReadFailure::default()
                    });
                }
            }
        }
    }
    coverage.write = !coverage.write_trails.is_empty();
    coverage.read = !coverage.read_trails.is_empty();
    // A trail whose selectors could not be read may be the one that logs.
    if let Some(f) = failure.filter(|_| !(coverage.write && coverage.read)) {
        unreadable.push(("facts.s3_data_events", f));
    }
    coverage
}

/// Whether the selectors log (write, read) S3 data events of every bucket.
fn covers_all_buckets(
    trail: &Trail,
    basic: &[EventSelector],
    advanced: &[AdvancedEventSelector],
) -> (bool, bool) {
    let partition = trail.arn.split(':').nth(1).unwrap_or("aws");
    let all_objects = [
        format!("arn:{partition}:s3"),
        format!("arn:{partition}:s3:::"),
    ];
    let (mut write, mut read) = (false, false);
    for selector in basic {
        let all = selector.data_resources.iter().any(|r| {
            r.resource_type == "AWS::S3::Object" && r.values.iter().any(|v| all_objects.contains(v))
        });
        if all {
            write |= matches!(selector.read_write_type.as_str(), "All" | "WriteOnly");
            read |= matches!(selector.read_write_type.as_str(), "All" | "ReadOnly");
        }
    }
    for selector in advanced {
        let mut data = false;
        let mut s3_objects = false;
        let mut narrowed = false;
        let (mut w, mut r) = (true, true);
        for field in &selector.field_selectors {
            let only_positive = field.not_equals.is_empty()
                && field.not_starts_with.is_empty()
                && field.not_ends_with.is_empty()
                && field.ends_with.is_empty();
            match field.field.as_str() {
                "eventCategory" => data = field.equals == ["Data"] && only_positive,
                "resources.type" => {
                    s3_objects = field.equals == ["AWS::S3::Object"] && only_positive
                }
                "readOnly" if only_positive && field.starts_with.is_empty() => {
                    match field.equals.as_slice() {
                        [v] if v == "true" => w = false,
                        [v] if v == "false" => r = false,
                        _ => narrowed = true,
                    }
                }
                // A prefix of every bucket's objects is no restriction.
                "resources.ARN"
                    if only_positive
                        && field.equals.is_empty()
                        && !field.starts_with.is_empty()
                        && field.starts_with.iter().all(|p| all_objects.contains(p)) => {}
                _ => narrowed = true,
            }
        }
        if data && s3_objects && !narrowed {
            write |= w;
            read |= r;
        }
    }
    (write, read)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{AdvancedFieldSelector, DataResource, EventSelectors};

    fn trail(multi_region: bool, selectors: Section<EventSelectors>) -> Trail {
        Trail {
            name: "t".into(),
            arn: "arn:aws:cloudtrail:us-east-1:111111111111:trail/t".into(),
            home_region: "us-east-1".into(),
            is_multi_region: multi_region,
            is_organization_trail: false,
            s3_bucket_name: Some("logs".into()),
            logging: Section::present(true),
            event_selectors: selectors,
        }
    }

    fn basic(read_write: &str, values: &[&str]) -> EventSelectors {
        EventSelectors {
            basic: vec![EventSelector {
                read_write_type: read_write.into(),
                include_management_events: true,
                data_resources: vec![DataResource {
                    resource_type: "AWS::S3::Object".into(),
                    values: values.iter().map(|v| v.to_string()).collect(),
                }],
            }],
            advanced: vec![],
        }
    }

    fn field(name: &str, equals: &[&str]) -> AdvancedFieldSelector {
        AdvancedFieldSelector {
            field: name.into(),
            equals: equals.iter().map(|v| v.to_string()).collect(),
            starts_with: vec![],
            ends_with: vec![],
            not_equals: vec![],
            not_starts_with: vec![],
            not_ends_with: vec![],
        }
    }

    fn coverage(trails: Vec<Trail>) -> (DataEventCoverage, usize) {
        let mut account = Account::all_absent("111111111111");
        account.trails = Section::present(trails);
        let analyzed = analyze_account(&account, &Scope::partition("aws"));
        (analyzed.facts.s3_data_events, analyzed.unreadable.len())
    }

    #[test]
    fn basic_selectors_for_all_buckets_count_by_read_write_type() {
        let (c, _) = coverage(vec![trail(
            true,
            Section::present(basic("WriteOnly", &["arn:aws:s3"])),
        )]);
        assert!(c.write && !c.read);
        let (c, _) = coverage(vec![trail(
            true,
            Section::present(basic("All", &["arn:aws:s3:::"])),
        )]);
        assert!(c.write && c.read);
    }

    #[test]
    fn one_bucket_or_a_single_region_trail_is_not_enough() {
        let (c, _) = coverage(vec![trail(
            true,
            Section::present(basic("All", &["arn:aws:s3:::one/"])),
        )]);
        assert!(!c.write && !c.read);
        let (c, _) = coverage(vec![trail(
            false,
            Section::present(basic("All", &["arn:aws:s3"])),
        )]);
        assert!(!c.write && !c.read);
    }

    #[test]
    fn advanced_selectors_count_unless_narrowed() {
        let selectors = |extra: Vec<AdvancedFieldSelector>| {
            let mut fields = vec![
                field("eventCategory", &["Data"]),
                field("resources.type", &["AWS::S3::Object"]),
            ];
            fields.extend(extra);
            Section::present(EventSelectors {
                basic: vec![],
                advanced: vec![AdvancedEventSelector {
                    name: None,
                    field_selectors: fields,
                }],
            })
        };
        let (c, _) = coverage(vec![trail(true, selectors(vec![]))]);
        assert!(c.write && c.read);
        let (c, _) = coverage(vec![trail(
            true,
            selectors(vec![field("readOnly", &["true"])]),
        )]);
        assert!(!c.write && c.read);
        let (c, _) = coverage(vec![trail(
            true,
            selectors(vec![field("eventName", &["PutObject"])]),
        )]);
        assert!(!c.write && !c.read);
    }

    #[test]
    fn unread_selectors_make_a_missing_coverage_unreadable() {
        let denied = Section::denied(ReadFailure {
            code: Some("AccessDenied".into()),
            message: "no".into(),
            ..ReadFailure::default()
        });
        let (c, unreadable) = coverage(vec![trail(true, denied)]);
        assert!(!c.write);
        assert_eq!(unreadable, 1);
    }

    #[test]
    fn an_organization_wide_storage_lens_dashboard_covers_members_only() {
        use crate::snapshot::StorageLensConfiguration;
        let mut management = Account::all_absent("111111111111");
        management.storage_lens = Section::present(vec![StorageLensConfiguration {
            id: "org-dashboard".into(),
            home_region: "us-east-1".into(),
            is_enabled: true,
            organization_wide: true,
        }]);
        let mut scope = Scope::partition("aws");
        scope.organization_accounts = ["111111111111", "222222222222"].map(String::from).into();
        scope.index_account(&management);
        let mut member = Account::all_absent("222222222222");
        member.storage_lens = Section::present(vec![]);
        assert!(analyze_account(&member, &scope).facts.storage_lens_enabled);
        let stranger = Account::all_absent("333333333333");
        assert!(
            !analyze_account(&stranger, &scope)
                .facts
                .storage_lens_enabled
        );
    }

    #[test]
    fn a_stopped_trail_logs_nothing_and_an_unknown_status_is_unknown() {
        let mut stopped = trail(true, Section::present(basic("All", &["arn:aws:s3"])));
        stopped.logging = Section::present(false);
        let (c, unreadable) = coverage(vec![stopped]);
        assert!(!c.write && !c.read);
        assert_eq!(unreadable, 0);
        let mut unknown = trail(true, Section::present(basic("All", &["arn:aws:s3"])));
        unknown.logging = Section::denied(ReadFailure {
            code: Some("AccessDeniedException".into()),
            message: "no".into(),
            ..ReadFailure::default()
        });
        let (c, unreadable) = coverage(vec![unknown]);
        assert!(!c.write);
        assert_eq!(unreadable, 1);
    }

    #[test]
    fn organization_trails_cover_members() {
        let mut org_trail = trail(true, Section::present(basic("All", &["arn:aws:s3"])));
        org_trail.is_organization_trail = true;
        let mut scope = Scope::partition("aws");
        scope.organization_accounts.insert("222222222222".into());
        scope.organization_trails.push(org_trail);
        let mut member = Account::all_absent("222222222222");
        member.trails = Section::present(vec![]);
        let facts = analyze_account(&member, &scope).facts;
        assert!(facts.s3_data_events.write && facts.s3_data_events.read);
    }
}
