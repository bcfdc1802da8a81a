//! Reading one account: account-level S3 settings, access points, Access Analyzer, CloudTrail,
//! then every bucket (bounded concurrency per account).

use futures::StreamExt;

use super::bucket::{read_bucket, read_directory_bucket, region_from_location};
use super::classify::{Failure, classify, required, section};
use super::clients::AccountClients;
use super::progress::Progress;
use super::storage_metrics::{bucket_section, read_storage_metrics};
use crate::snapshot::{
    AccessPoint, Account, AccountAccess, AdvancedEventSelector, AdvancedFieldSelector, Analyzer,
    AnalyzerFinding, Bucket, CloudFrontDistribution, CloudFrontOrigin, DataResource,
    DirectoryBucket, EventSelector, EventSelectors, GuardDutyDetector, GuardDutyRegion,
    MacieRegion, MultiRegionAccessPoint, PolicyStatus, PublicAccessBlock, ReadFailure, ReadPlan,
    Section, StorageLensConfiguration, Trail,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

pub async fn read_account(
    clients: &AccountClients,
    account_id: &str,
    bucket_concurrency: usize,
    progress: &Progress,
    plan: &ReadPlan,
) -> Account {
    let s3control = clients.s3control(&clients.home_region());
    // A section the plan leaves out is not read at all; the bucket list always is (it gives
    // the regions the regional sections are read in).
    let planned = |name: &str| plan.reads_account(name);
    let (
        public_access_block,
        trails,
        multi_region_access_points,
        storage_lens,
        cloudfront_distributions,
        listing,
    ) = tokio::join!(
        if_planned(
            planned("public_access_block"),
            read_account_public_access_block(clients, &s3control, account_id)
        ),
        if_planned(planned("trails"), read_trails(clients)),
        if_planned(
            planned("multi_region_access_points"),
            read_multi_region_access_points(clients, account_id)
        ),
        if_planned(
            planned("storage_lens"),
            read_storage_lens(clients, &s3control, account_id)
        ),
        if_planned(
            planned("cloudfront_distributions"),
            read_cloudfront(clients)
        ),
        list_buckets(clients),
    );
    let buckets = match listing {
        Ok(listed) => {
            progress.add_buckets(listed.len() as u64);
            let buckets: Vec<Bucket> = futures::stream::iter(listed)
                .map(|(name, region, created)| async move {
                    let bucket = match region {
                        Some(region) => read_bucket(clients, &name, &region, created, plan).await,
                        None => match locate(clients, &name).await {
                            Ok(region) => read_bucket(clients, &name, &region, created, plan).await,
                            Err(failure) => unlocated_bucket(&name, created, failure),
                        },
                    };
                    progress.bucket_done(&bucket);
                    bucket
                })
                // Unordered: a bucket stuck in retries must not hold back the others.
                .buffer_unordered(bucket_concurrency.max(1))
                .collect()
                .await;
            let mut buckets: Vec<Bucket> = buckets;
            buckets.sort_by(|a, b| a.name.cmp(&b.name));
            Section::present(buckets)
        }
        Err(failure) => failure.into_section(),
    };
    // Analyzers are regional: read them in the home region and every region with buckets.
    let mut regions: Vec<String> = vec![clients.home_region()];
    if let Some(buckets) = buckets.value() {
        regions.extend(buckets.iter().filter_map(|b| b.region.clone()));
    }
    regions.sort();
    regions.dedup();
    let mut bucket_regions: Vec<String> = buckets
        .value()
        .into_iter()
        .flatten()
        .filter_map(|b| b.region.clone())
        .collect();
    bucket_regions.sort();
    bucket_regions.dedup();
    // Access points, analyzers, GuardDuty and Macie are regional: read them in every region
    // that matters.
    let (access_points, access_analyzers, guardduty, macie, directory_buckets, storage_metrics) = tokio::join!(
        if_planned(
            planned("access_points"),
            read_access_points(clients, account_id, &regions)
        ),
        if_planned(
            planned("access_analyzers"),
            read_analyzers(clients, &regions)
        ),
        if_planned(planned("guardduty"), read_guardduty(clients, &regions)),
        if_planned(planned("macie"), read_macie(clients, &regions)),
        if_planned(
            planned("directory_buckets"),
            read_directory_buckets(clients, &regions)
        ),
        async {
            if plan.reads_bucket("storage_metrics") {
                Some(read_storage_metrics(clients, &bucket_regions).await)
            } else {
                None
            }
        },
    );
    let mut buckets = buckets;
    if let (Some(by_region), Some(buckets)) = (storage_metrics, buckets.value_mut()) {
        for bucket in buckets.iter_mut() {
            // A bucket whose region is unknown already says why for every section.
            if let Some(region) = &bucket.region {
                bucket.storage_metrics = bucket_section(by_region.get(region), &bucket.name);
            }
        }
    }
    // The caller fills in the account's identity and how it was entered.
    Account {
        id: account_id.to_string(),
        name: None,
        access: AccountAccess::Caller,
        public_access_block,
        access_points,
        directory_buckets,
        access_analyzers,
        trails,
        multi_region_access_points,
        storage_lens,
        guardduty,
        macie,
        cloudfront_distributions,
        buckets,
    }
}

/// Reads an account section when the plan asks for it; otherwise it is not requested.
async fn if_planned<T>(planned: bool, read: impl Future<Output = Section<T>>) -> Section<T> {
    if planned {
        read.await
    } else {
        Section::not_requested()
    }
}

async fn read_cloudfront(clients: &AccountClients) -> Section<Vec<CloudFrontDistribution>> {
    let client = clients.cloudfront();
    let pages = all_pages(
        "ListDistributions",
        clients,
        |marker| client.list_distributions().set_marker(marker).send(),
        |page| {
            page.distribution_list()
                .filter(|list| list.is_truncated())
                .and_then(|list| list.next_marker())
        },
    )
    .await;
    let pages = match pages {
        Ok(pages) => pages,
        Err(failure) => return failure.into_section(),
    };
    let mut distributions = Vec::new();
    for list in pages.iter().filter_map(|page| page.distribution_list()) {
        for d in list.items() {
            let mut origins = Vec::new();
            for o in d.origins().map(|o| o.items()).unwrap_or_default() {
                let s3_bucket = s3_bucket_of_origin(o.domain_name());
                let (exists, error) = match &s3_bucket {
                    Some(bucket) => bucket_exists(clients, bucket).await,
                    None => (None, None),
                };
                origins.push(CloudFrontOrigin {
                    id: o.id().to_string(),
                    domain_name: o.domain_name().to_string(),
                    s3_bucket,
                    s3_bucket_exists: exists,
                    s3_bucket_check_error: error,
                });
            }
            distributions.push(CloudFrontDistribution {
                id: d.id().to_string(),
                domain_name: d.domain_name().to_string(),
                enabled: d.enabled(),
                origins,
            });
        }
    }
    Section::present(distributions)
}

/// The bucket an origin domain names: `b.s3.amazonaws.com`, `b.s3.eu-west-1.amazonaws.com`,
/// `b.s3-eu-west-1.amazonaws.com`, or a website endpoint (`b.s3-website-us-east-1...`,
/// `b.s3-website.eu-west-1...`), also under `amazonaws.com.cn`.
pub(super) fn s3_bucket_of_origin(domain: &str) -> Option<String> {
    let domain = domain.to_ascii_lowercase();
    let host = domain
        .strip_suffix(".amazonaws.com")
        .or_else(|| domain.strip_suffix(".amazonaws.com.cn"))?;
    // The bucket is everything before the first label that starts the S3 endpoint.
    let labels: Vec<&str> = host.split('.').collect();
    let endpoint = labels
        .iter()
        .position(|l| *l == "s3" || l.starts_with("s3-") || *l == "s3-website")?;
    (endpoint > 0).then(|| labels[..endpoint].join("."))
}

/// Whether a bucket exists: `HeadBucket` answers 404 when it does not; any other answer
/// (200, 301 to another region, 403 for someone else's bucket) means it does.
async fn bucket_exists(clients: &AccountClients, bucket: &str) -> (Option<bool>, Option<String>) {
    let s3 = clients.s3(&clients.home_region()).await;
    match clients.call(s3.head_bucket().bucket(bucket).send()).await {
        Ok(_) => (Some(true), None),
        Err(e) => match e.raw_response().map(|r| r.status().as_u16()) {
            Some(404) => (Some(false), None),
            Some(301 | 400 | 403) => (Some(true), None),
            _ => (None, Some(e.to_string())),
        },
    }
}

async fn read_guardduty(
    clients: &AccountClients,
    regions: &[String],
) -> Section<Vec<GuardDutyRegion>> {
    let mut out = Vec::with_capacity(regions.len());
    for region in regions {
        let client = clients.guardduty(region);
        let pages = all_pages(
            "ListDetectors",
            clients,
            |token| client.list_detectors().set_next_token(token).send(),
            |page| page.next_token(),
        )
        .await;
        let ids: Vec<String> = match pages {
            Ok(pages) => pages
                .iter()
                .flat_map(|page| page.detector_ids().iter().cloned())
                .collect(),
            Err(failure) => return failure.into_section(),
        };
        let mut detectors = Vec::with_capacity(ids.len());
        for id in ids {
            let detector = match clients
                .call(client.get_detector().detector_id(&id).send())
                .await
            {
                Ok(d) => d,
                Err(e) => return classify("GetDetector", &e, &[]).into_section(),
            };
            // The feature is the current form; the data source is what older detectors report.
            let feature = detector
                .features()
                .iter()
                .find(|f| f.name().is_some_and(|n| n.as_str() == "S3_DATA_EVENTS"))
                .and_then(|f| f.status())
                .map(|s| s.as_str().to_string());
            #[allow(deprecated)] // older detectors report S3 Protection only here
            let data_source = detector
                .data_sources()
                .and_then(|d| d.s3_logs())
                .and_then(|s| s.status())
                .map(|s| s.as_str().to_string());
            detectors.push(GuardDutyDetector {
                id,
                status: detector
                    .status()
                    .map_or("(no status in the response)", |s| s.as_str())
                    .to_string(),
                s3_protection: feature.or(data_source),
            });
        }
        out.push(GuardDutyRegion {
            region: region.clone(),
            detectors,
        });
    }
    Section::present(out)
}

async fn read_macie(clients: &AccountClients, regions: &[String]) -> Section<Vec<MacieRegion>> {
    let mut out = Vec::with_capacity(regions.len());
    for region in regions {
        let result = clients
            .call(clients.macie(region).get_macie_session().send())
            .await;
        let status = match result {
            Ok(session) => session.status().map(|s| s.as_str().to_string()),
            Err(e) => match classify("GetMacieSession", &e, &["ResourceNotFoundException"]) {
                Failure::Absent(_) => None,
                // AWS answers GetMacieSession with AccessDeniedException "Macie is not
                // enabled" in an account without Macie: that is "not enabled", not a denial.
                Failure::Denied(f) if f.message.contains("Macie is not enabled") => None,
                other => return other.into_section(),
            },
        };
        out.push(MacieRegion {
            region: region.clone(),
            status,
        });
    }
    Section::present(out)
}

/// Every page of a paginated call, each request under the cap on requests in flight. `fetch`
/// sends the request for a page token (none for the first page); `next` reads the next token
/// from a page, and a missing or empty one ends the listing. The first failure ends it too.
pub(super) async fn all_pages<P, E, Fut>(
    operation: &str,
    clients: &AccountClients,
    mut fetch: impl FnMut(Option<String>) -> Fut,
    next: impl Fn(&P) -> Option<&str>,
) -> Result<Vec<P>, Failure>
where
    Fut: std::future::Future<Output = Result<P, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let mut pages = Vec::new();
    let mut token = None;
    loop {
        let page = clients
            .call(fetch(token))
            .await
            .map_err(|e| classify(operation, &e, &[]))?;
        token = next(&page).filter(|t| !t.is_empty()).map(str::to_string);
        pages.push(page);
        if token.is_none() {
            return Ok(pages);
        }
    }
}

/// The Region that serves the Multi-Region Access Point control plane.
const MRAP_CONTROL_REGION: &str = "us-west-2";

async fn read_multi_region_access_points(
    clients: &AccountClients,
    account_id: &str,
) -> Section<Vec<MultiRegionAccessPoint>> {
    let s3control = clients.s3control(MRAP_CONTROL_REGION);
    let pages = all_pages(
        "ListMultiRegionAccessPoints",
        clients,
        |token| {
            s3control
                .list_multi_region_access_points()
                .account_id(account_id)
                .set_next_token(token)
                .send()
        },
        |page| page.next_token(),
    )
    .await;
    let pages = match pages {
        Ok(pages) => pages,
        Err(failure) => return failure.into_section(),
    };
    Section::present(
        pages
            .iter()
            .flat_map(|page| page.access_points())
            .map(|p| {
                MultiRegionAccessPoint {
                    // Labels only: no rule decides on them.
                    name: p.name().unwrap_or("(no name in the response)").to_string(),
                    alias: p
                        .alias()
                        .unwrap_or("(no alias in the response)")
                        .to_string(),
                    status: p
                        .status()
                        .map_or("(no status in the response)", |s| s.as_str())
                        .to_string(),
                    buckets: p
                        .regions()
                        .iter()
                        .filter_map(|r| r.bucket().map(str::to_string))
                        .collect(),
                    // Left null when missing: the rule then says unknown, not "all off".
                    public_access_block: p
                        .public_access_block()
                        .map(|c| public_access_block(Some(c))),
                }
            })
            .collect(),
    )
}

async fn read_storage_lens(
    clients: &AccountClients,
    s3control: &aws_sdk_s3control::Client,
    account_id: &str,
) -> Section<Vec<StorageLensConfiguration>> {
    let pages = all_pages(
        "ListStorageLensConfigurations",
        clients,
        |token| {
            s3control
                .list_storage_lens_configurations()
                .account_id(account_id)
                .set_next_token(token)
                .send()
        },
        |page| page.next_token(),
    )
    .await;
    let listed: Vec<(String, String, bool)> = match pages {
        Ok(pages) => pages
            .iter()
            .flat_map(|page| page.storage_lens_configuration_list())
            .map(|c| {
                (
                    c.id().to_string(),
                    c.home_region().to_string(),
                    c.is_enabled(),
                )
            })
            .collect(),
        Err(failure) => return failure.into_section(),
    };
    // Whether a dashboard covers the organization is only in the full configuration.
    let mut configurations = Vec::with_capacity(listed.len());
    for (id, home_region, is_enabled) in listed {
        // A configuration is served from its home region; fall back to ours if AWS gave none.
        let region = if home_region.is_empty() {
            clients.home_region()
        } else {
            home_region.clone()
        };
        let result = clients
            .call(
                clients
                    .s3control(&region)
                    .get_storage_lens_configuration()
                    .account_id(account_id)
                    .config_id(&id)
                    .send(),
            )
            .await;
        match result {
            Ok(o) => configurations.push(StorageLensConfiguration {
                organization_wide: o
                    .storage_lens_configuration()
                    .is_some_and(|c| c.aws_org().is_some()),
                id,
                home_region,
                is_enabled,
            }),
            Err(e) => return classify("GetStorageLensConfiguration", &e, &[]).into_section(),
        }
    }
    Section::present(configurations)
}

/// Directory buckets (S3 Express One Zone), listed per region (`ListDirectoryBuckets` is
/// regional), then read one by one.
async fn read_directory_buckets(
    clients: &AccountClients,
    regions: &[String],
) -> Section<Vec<DirectoryBucket>> {
    let mut buckets = Vec::new();
    for region in regions {
        let s3 = clients.s3(region).await;
        let pages = all_pages(
            "ListDirectoryBuckets",
            clients,
            |token| {
                s3.list_directory_buckets()
                    .set_continuation_token(token)
                    .send()
            },
            |page| page.continuation_token(),
        )
        .await;
        let listed: Vec<(String, String)> = match pages {
            Ok(pages) => pages
                .iter()
                .flat_map(|p| p.buckets())
                .filter_map(|b| {
                    let name = b.name()?.to_string();
                    // ListDirectoryBuckets answers for the region asked.
                    let bucket_region = b.bucket_region().unwrap_or(region).to_string();
                    Some((name, bucket_region))
                })
                .collect(),
            Err(failure) => return failure.into_section(),
        };
        for (name, bucket_region) in listed {
            buckets.push(read_directory_bucket(clients, &name, &bucket_region).await);
        }
    }
    buckets.sort_by(|a, b| a.name.cmp(&b.name));
    buckets.dedup_by(|a, b| a.name == b.name);
    Section::present(buckets)
}

/// The bucket's region when `ListBuckets` did not say (older APIs and emulators).
async fn locate(clients: &AccountClients, name: &str) -> Result<String, Failure> {
    locate_or_absent(clients, name, &[]).await
}

/// `locate`, with the error codes that mean the bucket does not exist.
async fn locate_or_absent(
    clients: &AccountClients,
    name: &str,
    absent_codes: &[&str],
) -> Result<String, Failure> {
    let s3 = clients.s3(&clients.home_region()).await;
    match clients
        .call(s3.get_bucket_location().bucket(name).send())
        .await
    {
        Ok(o) => Ok(region_from_location(
            o.location_constraint().map(|c| c.as_str()),
        )),
        Err(e) => Err(classify("GetBucketLocation", &e, absent_codes)),
    }
}

/// One bucket read again after a change (`watch`): `None` when it no longer exists.
pub(super) async fn reread_bucket(
    clients: &AccountClients,
    name: &str,
    created: Option<String>,
    plan: &ReadPlan,
) -> Option<Bucket> {
    match locate_or_absent(clients, name, &["NoSuchBucket"]).await {
        Ok(region) => Some(read_bucket(clients, name, &region, created, plan).await),
        Err(Failure::Absent(_)) => None,
        Err(failure) => Some(unlocated_bucket(name, created, failure)),
    }
}

/// The account's Block Public Access settings read again after a change (`watch`).
pub(super) async fn reread_account_public_access_block(
    clients: &AccountClients,
    account_id: &str,
) -> Section<PublicAccessBlock> {
    let s3control = clients.s3control(&clients.home_region());
    read_account_public_access_block(clients, &s3control, account_id).await
}

/// A bucket whose region could not be found: nothing else can be read from the right
/// endpoint, so every section carries the location failure instead of 18 confusing errors.
fn unlocated_bucket(name: &str, created: Option<String>, failure: Failure) -> Bucket {
    let cause = failure
        .read_failure()
        .cloned()
        .unwrap_or_else(|| ReadFailure {
            code: None,
            message: "GetBucketLocation gave no region".into(),
            operation: Some("GetBucketLocation".into()),
            http_status: None,
        });
    let reason = ReadFailure {
        message: format!(
            "the bucket's region could not be read, so nothing else was read from it: {}",
            cause.message
        ),
        ..cause
    };
    let state = match failure {
        Failure::Denied(_) => Section::denied(reason),
        _ => Section::error(reason),
    };
    Bucket {
        creation_date: created,
        ..Bucket::every_section(name, None, &state)
    }
}

pub(super) type Listed = (String, Option<String>, Option<String>);

pub(super) async fn list_buckets(clients: &AccountClients) -> Result<Vec<Listed>, Failure> {
    let s3 = clients.s3(&clients.home_region()).await;
    let pages = all_pages(
        "ListBuckets",
        clients,
        |token| {
            s3.list_buckets()
                .max_buckets(1000)
                .set_continuation_token(token)
                .send()
        },
        |page| page.continuation_token(),
    )
    .await?;
    Ok(pages
        .iter()
        .flat_map(|page| page.buckets())
        .filter_map(|b| {
            Some((
                b.name()?.to_string(),
                b.bucket_region().map(str::to_string),
                b.creation_date().map(|d| d.to_string()),
            ))
        })
        .collect())
}

async fn read_account_public_access_block(
    clients: &AccountClients,
    s3control: &aws_sdk_s3control::Client,
    account_id: &str,
) -> Section<PublicAccessBlock> {
    let result = clients
        .call(
            s3control
                .get_public_access_block()
                .account_id(account_id)
                .send(),
        )
        .await;
    section(
        "GetPublicAccessBlock",
        result,
        &["NoSuchPublicAccessBlockConfiguration"],
        |o| public_access_block(o.public_access_block_configuration()),
    )
}

fn public_access_block(
    c: Option<&aws_sdk_s3control::types::PublicAccessBlockConfiguration>,
) -> PublicAccessBlock {
    PublicAccessBlock {
        block_public_acls: c.and_then(|c| c.block_public_acls()).unwrap_or(false),
        ignore_public_acls: c.and_then(|c| c.ignore_public_acls()).unwrap_or(false),
        block_public_policy: c.and_then(|c| c.block_public_policy()).unwrap_or(false),
        restrict_public_buckets: c.and_then(|c| c.restrict_public_buckets()).unwrap_or(false),
    }
}

async fn read_access_points(
    clients: &AccountClients,
    account_id: &str,
    regions: &[String],
) -> Section<Vec<AccessPoint>> {
    let mut points = Vec::new();
    for region in regions {
        match read_access_points_in(clients, account_id, region).await {
            Section::Present { value } => points.extend(value),
            other => return other,
        }
    }
    Section::present(points)
}

async fn read_access_points_in(
    clients: &AccountClients,
    account_id: &str,
    region: &str,
) -> Section<Vec<AccessPoint>> {
    let s3control = clients.s3control(region);
    let pages = all_pages(
        "ListAccessPoints",
        clients,
        |token| {
            s3control
                .list_access_points()
                .account_id(account_id)
                .set_next_token(token)
                .send()
        },
        |page| page.next_token(),
    )
    .await;
    let names: Vec<String> = match pages {
        Ok(pages) => pages
            .iter()
            .flat_map(|page| page.access_point_list())
            // The ARN names the access point's region; keep this region's only, in case an
            // endpoint lists every region's (emulators do).
            .filter(|a| {
                a.access_point_arn()
                    .and_then(|arn| arn.split(':').nth(3))
                    .is_none_or(|r| r.is_empty() || r == region)
            })
            .map(|a| a.name().to_string())
            .collect(),
        Err(failure) => return failure.into_section(),
    };
    let mut points = Vec::with_capacity(names.len());
    for name in names {
        let (details, policy) = tokio::join!(
            clients.call(
                s3control
                    .get_access_point()
                    .account_id(account_id)
                    .name(&name)
                    .send()
            ),
            clients.call(
                s3control
                    .get_access_point_policy()
                    .account_id(account_id)
                    .name(&name)
                    .send()
            ),
        );
        let policy = section(
            "GetAccessPointPolicy",
            policy,
            &["NoSuchAccessPointPolicy"],
            |o| o.policy().unwrap_or_default().to_string(),
        );
        let policy_status = match &policy {
            Section::Present { .. } => required(
                section(
                    "GetAccessPointPolicyStatus",
                    clients
                        .call(
                            s3control
                                .get_access_point_policy_status()
                                .account_id(account_id)
                                .name(&name)
                                .send(),
                        )
                        .await,
                    &["NoSuchAccessPointPolicy"],
                    |o| {
                        o.policy_status().map(|s| PolicyStatus {
                            is_public: s.is_public(),
                        })
                    },
                ),
                "PolicyStatus",
            ),
            Section::Absent { .. } => Section::Absent {
                code: Some("NoSuchAccessPointPolicy".into()),
            },
            other => other.clone().map_unreadable(),
        };
        let (bucket, network_origin, vpc_id, bpa) = match &details {
            Ok(d) => (
                d.bucket().unwrap_or_default().to_string(),
                d.network_origin()
                    .map_or_else(String::new, |n| n.as_str().to_string()),
                d.vpc_configuration().map(|v| v.vpc_id().to_string()),
                // Missing settings would read as "all off": say they were not given.
                match d.public_access_block_configuration() {
                    Some(c) => Section::present(public_access_block(Some(c))),
                    None => Section::error(ReadFailure {
                        code: None,
                        message: "GetAccessPoint gave no PublicAccessBlockConfiguration".into(),
                        ..ReadFailure::default()
                    }),
                },
            ),
            Err(e) => (
                String::new(),
                String::new(),
                None,
                classify("GetAccessPoint", e, &[]).into_section(),
            ),
        };
        points.push(AccessPoint {
            name,
            region: region.to_string(),
            bucket,
            network_origin,
            vpc_id,
            public_access_block: bpa,
            policy,
            policy_status,
        });
    }
    Section::present(points)
}

pub(super) async fn read_analyzers(
    clients: &AccountClients,
    regions: &[String],
) -> Section<Vec<Analyzer>> {
    let mut analyzers = Vec::new();
    for region in regions {
        let client = clients.access_analyzer(region);
        let pages = all_pages(
            "ListAnalyzers",
            clients,
            |token| client.list_analyzers().set_next_token(token).send(),
            |page| page.next_token(),
        )
        .await;
        let pages = match pages {
            Ok(pages) => pages,
            Err(failure) => return failure.into_section(),
        };
        for a in pages.iter().flat_map(|page| page.analyzers()) {
            let bucket_findings = if a.status().as_str() == "ACTIVE" {
                read_bucket_findings(clients, &client, a.arn()).await
            } else {
                // An analyzer that is not active has no current findings: "none" would
                // read as "nothing public".
                Section::error(ReadFailure {
                    code: None,
                    message: format!("the analyzer is {}, not ACTIVE", a.status().as_str()),
                    ..ReadFailure::default()
                })
            };
            analyzers.push(Analyzer {
                arn: a.arn().to_string(),
                name: a.name().to_string(),
                region: region.clone(),
                analyzer_type: a.r#type().as_str().to_string(),
                status: a.status().as_str().to_string(),
                bucket_findings,
            });
        }
    }
    Section::present(analyzers)
}

/// Active findings on S3 buckets.
async fn read_bucket_findings(
    clients: &AccountClients,
    client: &aws_sdk_accessanalyzer::Client,
    analyzer_arn: &str,
) -> Section<Vec<AnalyzerFinding>> {
    use aws_sdk_accessanalyzer::types::Criterion;
    let criterion = |v: &str| Criterion::builder().eq(v).build();
    let pages = all_pages(
        "ListFindingsV2",
        clients,
        |token| {
            client
                .list_findings_v2()
                .analyzer_arn(analyzer_arn)
                .filter("resourceType", criterion("AWS::S3::Bucket"))
                .filter("status", criterion("ACTIVE"))
                .set_next_token(token)
                .send()
        },
        |page| page.next_token(),
    )
    .await;
    let pages = match pages {
        Ok(pages) => pages,
        Err(failure) => return failure.into_section(),
    };
    let findings = pages.iter().flat_map(|page| page.findings());
    // A finding that names no resource cannot be matched to its bucket; dropping it would
    // let the bucket it is about pass, so the whole list is unusable.
    if let Some(unnamed) = findings.clone().find(|f| f.resource().is_none()) {
        return Section::error(ReadFailure {
            message: format!(
                "ListFindingsV2 returned finding {} without the resource it is about",
                unnamed.id()
            ),
            operation: Some("ListFindingsV2".into()),
            ..ReadFailure::default()
        });
    }
    Section::present(
        findings
            .filter_map(|f| {
                Some(AnalyzerFinding {
                    id: f.id().to_string(),
                    resource: f.resource()?.to_string(),
                    finding_type: f
                        .finding_type()
                        .map_or_else(String::new, |t| t.as_str().to_string()),
                    status: f.status().as_str().to_string(),
                })
            })
            .collect(),
    )
}

async fn read_trails(clients: &AccountClients) -> Section<Vec<Trail>> {
    let client = clients.cloudtrail(&clients.home_region());
    // Shadow trails make multi-region and organization trails visible from this region.
    let described = match clients
        .call(client.describe_trails().include_shadow_trails(true).send())
        .await
    {
        Ok(o) => o,
        Err(e) => return classify("DescribeTrails", &e, &[]).into_section(),
    };
    let mut trails = Vec::new();
    for t in described.trail_list() {
        let arn = t.trail_arn().unwrap_or_default().to_string();
        // A shadow trail's selectors and status are served by the trail's home region.
        let home = t.home_region().unwrap_or_default();
        let home_client = if home.is_empty() || home == clients.home_region() {
            client.clone()
        } else {
            clients.cloudtrail(home)
        };
        let selectors = clients
            .call(home_client.get_event_selectors().trail_name(&arn).send())
            .await;
        let status = clients
            .call(home_client.get_trail_status().name(&arn).send())
            .await;
        trails.push(Trail {
            name: t.name().unwrap_or_default().to_string(),
            home_region: t.home_region().unwrap_or_default().to_string(),
            is_multi_region: t.is_multi_region_trail().unwrap_or(false),
            is_organization_trail: t.is_organization_trail().unwrap_or(false),
            s3_bucket_name: t.s3_bucket_name().map(str::to_string),
            logging: required(
                section("GetTrailStatus", status, &[], |o| o.is_logging()),
                "IsLogging in GetTrailStatus",
            ),
            event_selectors: section("GetEventSelectors", selectors, &[], |o| EventSelectors {
                basic: o
                    .event_selectors()
                    .iter()
                    .map(|s| EventSelector {
                        read_write_type: s
                            .read_write_type()
                            .map_or_else(|| "All".to_string(), |r| r.as_str().to_string()),
                        include_management_events: s.include_management_events().unwrap_or(true),
                        data_resources: s
                            .data_resources()
                            .iter()
                            .map(|d| DataResource {
                                resource_type: d.r#type().unwrap_or_default().to_string(),
                                values: d.values().to_vec(),
                            })
                            .collect(),
                    })
                    .collect(),
                advanced: o
                    .advanced_event_selectors()
                    .iter()
                    .map(|s| AdvancedEventSelector {
                        name: s.name().map(str::to_string),
                        field_selectors: s
                            .field_selectors()
                            .iter()
                            .map(|f| AdvancedFieldSelector {
                                field: f.field().to_string(),
                                equals: f.equals().to_vec(),
                                starts_with: f.starts_with().to_vec(),
                                ends_with: f.ends_with().to_vec(),
                                not_equals: f.not_equals().to_vec(),
                                not_starts_with: f.not_starts_with().to_vec(),
                                not_ends_with: f.not_ends_with().to_vec(),
                            })
                            .collect(),
                    })
                    .collect(),
            }),
            arn,
        });
    }
    Section::present(trails)
}

#[cfg(test)]
mod tests {
    use super::s3_bucket_of_origin;

    #[test]
    fn origin_domains_name_their_buckets() {
        let bucket = |d: &str| s3_bucket_of_origin(d);
        assert_eq!(bucket("assets.s3.amazonaws.com").as_deref(), Some("assets"));
        assert_eq!(
            bucket("my.assets.s3.eu-west-1.amazonaws.com").as_deref(),
            Some("my.assets")
        );
        assert_eq!(
            bucket("assets.s3-eu-west-1.amazonaws.com").as_deref(),
            Some("assets")
        );
        assert_eq!(
            bucket("site.s3-website-us-east-1.amazonaws.com").as_deref(),
            Some("site")
        );
        assert_eq!(
            bucket("site.s3-website.eu-west-1.amazonaws.com").as_deref(),
            Some("site")
        );
        assert_eq!(
            bucket("cn-assets.s3.cn-north-1.amazonaws.com.cn").as_deref(),
            Some("cn-assets")
        );
        assert_eq!(bucket("api.example.com"), None);
        assert_eq!(bucket("elb-123.us-east-1.elb.amazonaws.com"), None);
    }
}
