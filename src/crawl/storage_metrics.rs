//! The daily storage metrics S3 publishes to CloudWatch, read per region for every bucket of
//! the account at once: `ListMetrics` finds the (bucket, storage type) series CloudWatch has,
//! `GetMetricData` reads their latest datapoints, 500 series per request. A region whose
//! metrics cannot be read leaves every bucket in it `unknown`, never "no storage".

use std::collections::{BTreeMap, HashMap};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    Dimension, Metric, MetricDataQuery, MetricStat, ScanBy, StatusCode,
};

use super::account::all_pages;
use super::classify::{Failure, classify};
use super::clients::AccountClients;
use crate::snapshot::{ReadFailure, Section, StorageMetrics};

const NAMESPACE: &str = "AWS/S3";
const SIZE: &str = "BucketSizeBytes";
const OBJECTS: &str = "NumberOfObjects";
/// `GetMetricData` takes at most 500 queries per request.
const QUERIES_PER_REQUEST: usize = 500;
const DAY_SECONDS: i64 = 86_400;
/// The error code of a bucket CloudWatch has no storage metrics for.
pub const NO_STORAGE_METRICS: &str = "NoStorageMetrics";

/// The storage metrics of the buckets of one region, by bucket name.
pub type RegionStorageMetrics = Result<HashMap<String, StorageMetrics>, Failure>;

/// One (bucket, metric, storage type) series CloudWatch lists.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Series {
    bucket: String,
    metric: &'static str,
    storage_type: String,
}

/// The storage metrics of every bucket in each region, read concurrently per region.
pub async fn read_storage_metrics(
    clients: &AccountClients,
    regions: &[String],
) -> HashMap<String, RegionStorageMetrics> {
    let reads = regions
        .iter()
        .map(|region| async move { (region.clone(), read_region(clients, region).await) });
    futures::future::join_all(reads).await.into_iter().collect()
}

/// A bucket's storage metrics section from its region's read.
pub fn bucket_section(
    read: Option<&RegionStorageMetrics>,
    bucket: &str,
) -> Section<StorageMetrics> {
    match read {
        Some(Ok(by_bucket)) => by_bucket.get(bucket).map_or_else(
            || Section::Absent {
                code: Some(NO_STORAGE_METRICS.into()),
            },
            |m| Section::present(m.clone()),
        ),
        Some(Err(failure)) => failure.clone().into_section(),
        None => Section::error(ReadFailure {
            message: "the storage metrics of the bucket's region were not read".into(),
            ..ReadFailure::default()
        }),
    }
}

async fn read_region(clients: &AccountClients, region: &str) -> RegionStorageMetrics {
    let cloudwatch = clients.cloudwatch(region);
    let pages = all_pages(
        "ListMetrics",
        clients,
        |token| {
            cloudwatch
                .list_metrics()
                .namespace(NAMESPACE)
                .set_next_token(token)
                .send()
        },
        |page| page.next_token(),
    )
    .await?;
    let series: Vec<Series> = pages
        .iter()
        .flat_map(|page| page.metrics())
        .filter_map(series_of)
        .collect();
    // Daily datapoints are stamped at 00:00 UTC. A window aligned on days asks the same
    // question all day long and holds the last three days, so a late datapoint is still found.
    let now = DateTime::from(std::time::SystemTime::now()).secs();
    let today = now - now.rem_euclid(DAY_SECONDS);
    let start = DateTime::from_secs(today - 3 * DAY_SECONDS);
    let end = DateTime::from_secs(today + DAY_SECONDS);
    let mut latest: Vec<Option<(i64, f64)>> = vec![None; series.len()];
    for (batch_index, batch) in series.chunks(QUERIES_PER_REQUEST).enumerate() {
        let offset = batch_index * QUERIES_PER_REQUEST;
        let queries: Vec<MetricDataQuery> = batch
            .iter()
            .enumerate()
            .map(|(i, s)| query(&format!("q{}", offset + i), s))
            .collect();
        let mut token: Option<String> = None;
        loop {
            let page = clients
                .call(
                    cloudwatch
                        .get_metric_data()
                        .set_metric_data_queries(Some(queries.clone()))
                        .start_time(start)
                        .end_time(end)
                        .scan_by(ScanBy::TimestampDescending)
                        .set_next_token(token.clone())
                        .send(),
                )
                .await
                .map_err(|e| classify("GetMetricData", &e, &[]))?;
            for result in page.metric_data_results() {
                if let Some(status) = result.status_code()
                    && matches!(status, StatusCode::InternalError | StatusCode::Forbidden)
                {
                    return Err(internal(&format!(
                        "GetMetricData answered {} for a storage metric",
                        status.as_str()
                    )));
                }
                let index = result
                    .id()
                    .and_then(|id| id.strip_prefix('q'))
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|i| *i < series.len())
                    .ok_or_else(|| internal("GetMetricData answered a query it was not asked"))?;
                for (time, value) in result.timestamps().iter().zip(result.values()) {
                    if !value.is_finite() || *value < 0.0 {
                        return Err(internal(&format!(
                            "GetMetricData answered {value} for {} of bucket {}",
                            series[index].metric, series[index].bucket
                        )));
                    }
                    let newer = latest[index].is_none_or(|(t, _)| time.secs() > t);
                    if newer {
                        latest[index] = Some((time.secs(), *value));
                    }
                }
            }
            token = page
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    Ok(by_bucket(&series, &latest))
}

/// The bucket's metrics of its latest day: a storage type CloudWatch stopped reporting
/// earlier holds nothing any more.
fn by_bucket(series: &[Series], latest: &[Option<(i64, f64)>]) -> HashMap<String, StorageMetrics> {
    let mut days: HashMap<&str, i64> = HashMap::new();
    for (s, point) in series.iter().zip(latest) {
        if let (SIZE, Some((time, _))) = (s.metric, point) {
            let day = days.entry(&s.bucket).or_insert(*time);
            *day = (*day).max(*time);
        }
    }
    let mut buckets: HashMap<String, StorageMetrics> = HashMap::new();
    for (s, point) in series.iter().zip(latest) {
        let (Some(day), Some((time, value))) = (days.get(s.bucket.as_str()), point) else {
            continue;
        };
        if time != day {
            continue;
        }
        let metrics = buckets
            .entry(s.bucket.clone())
            .or_insert_with(|| StorageMetrics {
                day: day_of(*day),
                bytes: BTreeMap::new(),
                objects: None,
            });
        // Byte and object counts are whole numbers; CloudWatch carries them as doubles.
        let count = value.round() as u64;
        if s.metric == SIZE {
            metrics.bytes.insert(s.storage_type.clone(), count);
        } else {
            metrics.objects = Some(count);
        }
    }
    buckets
}

/// A listed metric as a series s3audit reads: the size per storage type and the object count
/// of a bucket (request metrics, with a `FilterId`, are left out).
fn series_of(metric: &Metric) -> Option<Series> {
    let name = match metric.metric_name()? {
        SIZE => SIZE,
        OBJECTS => OBJECTS,
        _ => return None,
    };
    let dimension = |wanted: &str| {
        metric
            .dimensions()
            .iter()
            .find(|d| d.name() == Some(wanted))
            .and_then(Dimension::value)
            .map(str::to_string)
    };
    if metric.dimensions().len() != 2 {
        return None;
    }
    Some(Series {
        bucket: dimension("BucketName")?,
        metric: name,
        storage_type: dimension("StorageType")?,
    })
}

fn query(id: &str, series: &Series) -> MetricDataQuery {
    let metric = Metric::builder()
        .namespace(NAMESPACE)
        .metric_name(series.metric)
        .dimensions(
            Dimension::builder()
                .name("BucketName")
                .value(&series.bucket)
                .build(),
        )
        .dimensions(
            Dimension::builder()
                .name("StorageType")
                .value(&series.storage_type)
                .build(),
        )
        .build();
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(DAY_SECONDS as i32)
                .stat("Average")
                .build(),
        )
        .return_data(true)
        .build()
}

fn day_of(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .map(|t| t.date().to_string())
        .unwrap_or_else(|_| format!("@{seconds}"))
}

fn internal(message: &str) -> Failure {
    Failure::Error(ReadFailure {
        message: message.to_string(),
        operation: Some("GetMetricData".into()),
        ..ReadFailure::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(bucket: &str, metric: &'static str, storage_type: &str) -> Series {
        Series {
            bucket: bucket.into(),
            metric,
            storage_type: storage_type.into(),
        }
    }

    #[test]
    fn a_bucket_holds_the_storage_types_of_its_latest_day_only() {
        let day = 20_000 * DAY_SECONDS;
        let series = [
            series("a", SIZE, "StandardStorage"),
            series("a", SIZE, "GlacierStorage"),
            series("a", OBJECTS, "AllStorageTypes"),
            series("b", SIZE, "StandardStorage"),
            series("c", OBJECTS, "AllStorageTypes"),
        ];
        let latest = [
            Some((day, 1000.0)),
            // Reported two days ago, not since: moved out of Glacier.
            Some((day - 2 * DAY_SECONDS, 500.0)),
            Some((day, 7.0)),
            None,
            Some((day, 3.0)),
        ];
        let buckets = by_bucket(&series, &latest);
        assert_eq!(
            buckets["a"],
            StorageMetrics {
                day: "2024-10-04".into(),
                bytes: BTreeMap::from([("StandardStorage".into(), 1000)]),
                objects: Some(7),
            }
        );
        // No size datapoint: no storage metrics at all, whatever the object count says.
        assert!(!buckets.contains_key("b"));
        assert!(!buckets.contains_key("c"));
    }

    #[test]
    fn a_region_that_could_not_be_read_leaves_its_buckets_unknown() {
        let failure: RegionStorageMetrics = Err(Failure::Denied(ReadFailure {
            code: Some("AccessDenied".into()),
            message: "denied".into(),
            ..ReadFailure::default()
        }));
        assert!(matches!(
            bucket_section(Some(&failure), "a"),
            Section::Denied(_)
        ));
        assert!(matches!(bucket_section(None, "a"), Section::Error(_)));
        let read: RegionStorageMetrics = Ok(HashMap::new());
        assert_eq!(
            bucket_section(Some(&read), "a"),
            Section::Absent {
                code: Some(NO_STORAGE_METRICS.into())
            }
        );
    }
}
