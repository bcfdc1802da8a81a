//! The cost posture: the monthly storage cost of every bucket from its CloudWatch storage
//! metrics and a price table (`cost/prices.yaml`, overridable under `cost:` in s3audit.yml),
//! now and after the changes the cost rules recommend, per bucket, account and organization.
//!
//! An estimate, said plainly: storage only (no requests, retrievals, transfer or minimum
//! durations), one price per class whatever the region, and "after" moves every byte a
//! failing rule points at. A bucket whose metrics could not be read has no figure and is
//! counted, so a total is never presented as complete when it is not.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Finding;
use crate::analyze::storage::{NONCURRENT_STORAGE_TYPE, storage_class_of};
use crate::prices::Prices;
use crate::snapshot::{NOT_REQUESTED, Section, Snapshot};
use crate::vocabulary::ResourceRef;

/// The rule whose fix moves S3 Standard bytes to the recommended class.
pub const TIERING_RULE: &str = "bucket-large-standard-storage-without-tiering";
/// The rule whose fix expires noncurrent versions.
pub const NONCURRENT_RULE: &str = "bucket-noncurrent-versions-dominate-storage";

const BYTES_PER_GB: f64 = 1_073_741_824.0;

/// The cost section of the results.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Cost {
    pub currency: String,
    /// The monthly storage cost of every bucket with readable metrics.
    pub monthly_usd_current: f64,
    /// The same after the changes the failing cost rules recommend.
    pub monthly_usd_after: f64,
    pub monthly_usd_saving: f64,
    /// Bytes per storage class over the organization (the storage class mix).
    pub bytes_by_class: BTreeMap<String, u64>,
    /// Buckets whose storage metrics were read (with or without data).
    pub buckets_measured: u64,
    /// Buckets whose storage metrics could not be read: the totals leave them out.
    pub buckets_unknown: u64,
    /// Storage types with no price in the table: their bytes are counted, not priced.
    pub unpriced_storage_types: BTreeSet<String>,
    /// The prices used.
    pub prices: Prices,
    pub accounts: Vec<AccountCost>,
    /// Buckets with stored bytes or unreadable metrics, the largest saving first.
    pub buckets: Vec<BucketCost>,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AccountCost {
    pub account_id: String,
    pub monthly_usd_current: f64,
    pub monthly_usd_after: f64,
    pub buckets_unknown: u64,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BucketCost {
    pub resource: ResourceRef,
    /// Null when the storage metrics could not be read.
    pub monthly_usd_current: Option<f64>,
    pub monthly_usd_after: Option<f64>,
    pub bytes_by_class: BTreeMap<String, u64>,
    /// The failing cost rules the "after" figure applies.
    pub recommendations: Vec<String>,
    /// Why there is no figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_reason: Option<String>,
}

/// The monthly cost of some bytes of a class and its share of the objects.
fn monthly(prices: &Prices, class: &str, bytes: u64, objects: f64) -> Option<f64> {
    let price = prices.storage_per_gb_month.get(class)?;
    let mut cost = bytes as f64 / BYTES_PER_GB * price;
    if class.starts_with("INTELLIGENT_TIERING") {
        cost += objects / 1000.0 * prices.intelligent_tiering_monitoring_per_1000_objects;
    }
    Some(cost)
}

/// Rounds to a hundredth of a cent, for stable JSON.
fn round(usd: f64) -> f64 {
    (usd * 10_000.0).round() / 10_000.0
}

/// The cost section; `None` when no bucket's storage metrics were read at all (a crawl whose
/// rules did not need them, or a snapshot from before they were read).
pub fn estimate(snapshot: &Snapshot, findings: &[Finding], prices: Prices) -> Option<Cost> {
    let mut recommended: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
    for finding in findings.iter().filter(|f| f.is_active()) {
        if [TIERING_RULE, NONCURRENT_RULE].contains(&finding.rule_id.as_str()) {
            recommended
                .entry((&finding.resource.account_id, &finding.resource.name))
                .or_default()
                .push(finding.rule_id.clone());
        }
    }
    let mut cost = Cost {
        currency: prices.currency.clone(),
        monthly_usd_current: 0.0,
        monthly_usd_after: 0.0,
        monthly_usd_saving: 0.0,
        bytes_by_class: BTreeMap::new(),
        buckets_measured: 0,
        buckets_unknown: 0,
        unpriced_storage_types: BTreeSet::new(),
        prices: prices.clone(),
        accounts: Vec::new(),
        buckets: Vec::new(),
    };
    let mut read_anywhere = false;
    for (account_index, account) in snapshot.accounts.iter().enumerate() {
        let mut account_cost = AccountCost {
            account_id: account.id.clone(),
            monthly_usd_current: 0.0,
            monthly_usd_after: 0.0,
            buckets_unknown: 0,
        };
        for (bucket_index, bucket) in account.buckets.value().into_iter().flatten().enumerate() {
            let resource = || {
                ResourceRef::of(
                    snapshot,
                    account_index,
                    crate::rules::Target::Bucket(bucket_index),
                )
            };
            let metrics = match &bucket.storage_metrics {
                Section::Present { value } => value,
                Section::Absent { .. } => {
                    read_anywhere = true;
                    cost.buckets_measured += 1;
                    continue;
                }
                Section::Denied(f) | Section::Error(f) => {
                    if f.code.as_deref() == Some(NOT_REQUESTED)
                        || f.code.as_deref() == Some("NotRead")
                    {
                        continue;
                    }
                    read_anywhere = true;
                    cost.buckets_unknown += 1;
                    account_cost.buckets_unknown += 1;
                    cost.buckets.push(BucketCost {
                        resource: resource(),
                        monthly_usd_current: None,
                        monthly_usd_after: None,
                        bytes_by_class: BTreeMap::new(),
                        recommendations: Vec::new(),
                        unknown_reason: Some(f.message.clone()),
                    });
                    continue;
                }
            };
            read_anywhere = true;
            cost.buckets_measured += 1;
            let rules = recommended
                .get(&(account.id.as_str(), bucket.name.as_str()))
                .cloned()
                .unwrap_or_default();
            let total_bytes: u64 = metrics.bytes.values().sum();
            let objects = metrics.objects.unwrap_or(0) as f64;
            let (mut current, mut after) = (0.0, 0.0);
            let mut bytes_by_class: BTreeMap<String, u64> = BTreeMap::new();
            for (storage_type, bytes) in &metrics.bytes {
                let Some(class) = storage_class_of(storage_type) else {
                    cost.unpriced_storage_types.insert(storage_type.clone());
                    *bytes_by_class.entry(storage_type.clone()).or_default() += bytes;
                    continue;
                };
                *bytes_by_class.entry(class.to_string()).or_default() += bytes;
                // Objects are spread over the types by bytes: CloudWatch counts them only in total.
                let object_share = if total_bytes == 0 {
                    0.0
                } else {
                    objects * *bytes as f64 / total_bytes as f64
                };
                let Some(now) = monthly(&prices, class, *bytes, object_share) else {
                    cost.unpriced_storage_types.insert(storage_type.clone());
                    continue;
                };
                current += now;
                after += if storage_type == NONCURRENT_STORAGE_TYPE
                    && rules.iter().any(|r| r == NONCURRENT_RULE)
                {
                    0.0
                } else if storage_type == "StandardStorage"
                    && rules.iter().any(|r| r == TIERING_RULE)
                {
                    monthly(
                        &prices,
                        &prices.recommended_storage_class,
                        *bytes,
                        object_share,
                    )
                    .unwrap_or(now)
                } else {
                    now
                };
            }
            for (class, bytes) in &bytes_by_class {
                *cost.bytes_by_class.entry(class.clone()).or_default() += bytes;
            }
            account_cost.monthly_usd_current += current;
            account_cost.monthly_usd_after += after;
            if total_bytes > 0 {
                cost.buckets.push(BucketCost {
                    resource: resource(),
                    monthly_usd_current: Some(round(current)),
                    monthly_usd_after: Some(round(after)),
                    bytes_by_class,
                    recommendations: rules,
                    unknown_reason: None,
                });
            }
        }
        cost.monthly_usd_current += account_cost.monthly_usd_current;
        cost.monthly_usd_after += account_cost.monthly_usd_after;
        account_cost.monthly_usd_current = round(account_cost.monthly_usd_current);
        account_cost.monthly_usd_after = round(account_cost.monthly_usd_after);
        cost.accounts.push(account_cost);
    }
    if !read_anywhere {
        return None;
    }
    cost.monthly_usd_saving = round(cost.monthly_usd_current - cost.monthly_usd_after);
    cost.monthly_usd_current = round(cost.monthly_usd_current);
    cost.monthly_usd_after = round(cost.monthly_usd_after);
    let saving = |b: &BucketCost| match (b.monthly_usd_current, b.monthly_usd_after) {
        (Some(now), Some(after)) => now - after,
        _ => f64::INFINITY,
    };
    cost.buckets.sort_by(|a, b| {
        saving(b)
            .total_cmp(&saving(a))
            .then_with(|| {
                b.monthly_usd_current
                    .unwrap_or(0.0)
                    .total_cmp(&a.monthly_usd_current.unwrap_or(0.0))
            })
            .then_with(|| a.resource.cmp(&b.resource))
    });
    Some(cost)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intelligent_tiering_adds_its_monitoring_fee() {
        let prices = crate::prices::CostConfig::default().prices();
        let gb = BYTES_PER_GB as u64;
        assert_eq!(monthly(&prices, "STANDARD", 100 * gb, 1e6), Some(2.3));
        let it = monthly(&prices, "INTELLIGENT_TIERING_INFREQUENT", 100 * gb, 1e6).unwrap();
        assert!((it - (1.25 + 2.5)).abs() < 1e-9, "{it}");
        assert_eq!(monthly(&prices, "NOPE", gb, 0.0), None);
    }
}
