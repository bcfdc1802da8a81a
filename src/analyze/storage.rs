//! What a bucket stores, from its CloudWatch storage metrics: bytes per storage class (the
//! class a storage type is billed as), and the totals the cost rules compare.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use crate::snapshot::StorageMetrics;

/// The storage type CloudWatch reports for noncurrent object versions, where it does.
pub const NONCURRENT_STORAGE_TYPE: &str = "NoncurrentVersionStorage";

/// The storage class a CloudWatch `StorageType` is billed as; `None` for a type s3audit does
/// not know (its bytes count in the total but have no price). The per-object overheads of
/// Glacier and Deep Archive are billed partly at the archive price and partly (the
/// `S3ObjectOverhead`) at STANDARD; noncurrent versions are priced as STANDARD, the class
/// they usually stay in.
pub fn storage_class_of(storage_type: &str) -> Option<&'static str> {
    let class = match storage_type {
        "StandardStorage" | "GlacierS3ObjectOverhead" | "DeepArchiveS3ObjectOverhead" => "STANDARD",
        NONCURRENT_STORAGE_TYPE => "STANDARD",
        "ReducedRedundancyStorage" => "REDUCED_REDUNDANCY",
        "IntelligentTieringFAStorage" => "INTELLIGENT_TIERING_FREQUENT",
        "IntelligentTieringIAStorage" => "INTELLIGENT_TIERING_INFREQUENT",
        "IntelligentTieringAIAStorage" => "INTELLIGENT_TIERING_ARCHIVE_INSTANT",
        "IntelligentTieringAAStorage" => "INTELLIGENT_TIERING_ARCHIVE",
        "IntelligentTieringDAAStorage" => "INTELLIGENT_TIERING_DEEP_ARCHIVE",
        "ExpressOneZone" => "EXPRESS_ONEZONE",
        t if t.starts_with("StandardIA") => "STANDARD_IA",
        t if t.starts_with("OneZoneIA") => "ONEZONE_IA",
        t if t.starts_with("GlacierInstantRetrieval") => "GLACIER_IR",
        t if t.starts_with("Glacier") => "GLACIER",
        t if t.starts_with("DeepArchive") => "DEEP_ARCHIVE",
        _ => return None,
    };
    Some(class)
}

/// The bucket's storage, as rules read it (`facts.storage`). A bucket CloudWatch reports
/// nothing for (an empty or a new bucket) has zeros everywhere.
#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq, Eq, Default)]
pub struct StorageFacts {
    /// The day the metrics are from, `YYYY-MM-DD`; null without metrics.
    pub day: Option<String>,
    /// Bytes stored, every storage type.
    pub total_bytes: i64,
    /// Bytes in S3 Standard (current versions; noncurrent ones are `noncurrent_bytes`).
    pub standard_bytes: i64,
    /// Bytes in any Intelligent-Tiering access tier.
    pub intelligent_tiering_bytes: i64,
    /// Bytes of noncurrent object versions, where CloudWatch reports them separately
    /// (`NoncurrentVersionStorage`); 0 otherwise.
    pub noncurrent_bytes: i64,
    /// Bytes per storage class (`STANDARD`, `STANDARD_IA`, `GLACIER`, ...; storage types
    /// s3audit does not know are listed as they are).
    pub bytes_by_class: BTreeMap<String, i64>,
    /// Objects stored (`NumberOfObjects`), null when CloudWatch has no count.
    pub objects: Option<i64>,
}

/// CEL integers are signed: a byte count beyond `i64::MAX` (8 EiB) saturates.
fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub fn storage_facts(metrics: Option<&StorageMetrics>) -> StorageFacts {
    let Some(metrics) = metrics else {
        return StorageFacts::default();
    };
    let mut facts = StorageFacts {
        day: Some(metrics.day.clone()),
        objects: metrics.objects.map(int),
        ..StorageFacts::default()
    };
    for (storage_type, bytes) in &metrics.bytes {
        let bytes = int(*bytes);
        facts.total_bytes = facts.total_bytes.saturating_add(bytes);
        if storage_type == NONCURRENT_STORAGE_TYPE {
            facts.noncurrent_bytes = facts.noncurrent_bytes.saturating_add(bytes);
        } else if storage_type == "StandardStorage" {
            facts.standard_bytes = facts.standard_bytes.saturating_add(bytes);
        } else if storage_type.starts_with("IntelligentTiering") {
            facts.intelligent_tiering_bytes = facts.intelligent_tiering_bytes.saturating_add(bytes);
        }
        let class = storage_class_of(storage_type).unwrap_or(storage_type);
        let entry = facts.bytes_by_class.entry(class.to_string()).or_default();
        *entry = entry.saturating_add(bytes);
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_types_are_summed_by_the_class_they_are_billed_as() {
        let metrics = StorageMetrics {
            day: "2026-12-04".into(),
            bytes: BTreeMap::from([
                ("StandardStorage".into(), 100),
                ("StandardIAStorage".into(), 40),
                ("StandardIASizeOverhead".into(), 2),
                ("GlacierStorage".into(), 30),
                ("GlacierS3ObjectOverhead".into(), 1),
                ("IntelligentTieringIAStorage".into(), 7),
                ("NoncurrentVersionStorage".into(), 50),
                ("SomethingNew".into(), 5),
            ]),
            objects: Some(9),
        };
        let facts = storage_facts(Some(&metrics));
        assert_eq!(facts.total_bytes, 235);
        assert_eq!(facts.standard_bytes, 100);
        assert_eq!(facts.noncurrent_bytes, 50);
        assert_eq!(facts.intelligent_tiering_bytes, 7);
        assert_eq!(facts.bytes_by_class["STANDARD"], 151);
        assert_eq!(facts.bytes_by_class["STANDARD_IA"], 42);
        assert_eq!(facts.bytes_by_class["GLACIER"], 30);
        assert_eq!(facts.bytes_by_class["SomethingNew"], 5);
        assert_eq!(facts.objects, Some(9));
        assert_eq!(storage_facts(None), StorageFacts::default());
    }
}
