//! Reading one bucket: one request per configuration section, against a client for the
//! bucket's own region. Every section lands as present / absent / denied / error.

use std::collections::BTreeMap;

use aws_sdk_s3::Client;

use super::classify::{planned, required, section};
use super::clients::AccountClients;
use crate::snapshot::{
    Accelerate, Acl, AnalyticsConfiguration, Bucket, CorsRule, DirectoryBucket, Encryption,
    EncryptionRule, Grant, IntelligentTieringConfiguration, InventoryConfiguration, Lifecycle,
    LifecycleRule, Logging, MetricsConfiguration, NotificationTarget, Notifications, ObjectLock,
    OwnershipControls, PolicyStatus, PublicAccessBlock, ReadPlan, Replication, ReplicationRule,
    RequestPayment, Section, Tiering, Transition, Versioning, Website,
};

/// The region a bucket lives in, from `GetBucketLocation` (empty means us-east-1, `EU` is the
/// legacy name of eu-west-1).
pub fn region_from_location(constraint: Option<&str>) -> String {
    match constraint {
        None | Some("") => "us-east-1".to_string(),
        Some("EU") => "eu-west-1".to_string(),
        Some(region) => region.to_string(),
    }
}

pub async fn read_bucket(
    clients: &AccountClients,
    name: &str,
    region: &str,
    creation_date: Option<String>,
    plan: &ReadPlan,
) -> Bucket {
    let s3 = clients.s3(region).await;
    let (policy, acl, public_access_block, ownership_controls, encryption, versioning, logging) = tokio::join!(
        clients.call_if(
            plan.reads_bucket("policy"),
            s3.get_bucket_policy().bucket(name).send()
        ),
        clients.call_if(
            plan.reads_bucket("acl"),
            s3.get_bucket_acl().bucket(name).send()
        ),
        clients.call_if(
            plan.reads_bucket("public_access_block"),
            s3.get_public_access_block().bucket(name).send()
        ),
        clients.call_if(
            plan.reads_bucket("ownership_controls"),
            s3.get_bucket_ownership_controls().bucket(name).send()
        ),
        clients.call_if(
            plan.reads_bucket("encryption"),
            s3.get_bucket_encryption().bucket(name).send()
        ),
        clients.call_if(
            plan.reads_bucket("versioning"),
            s3.get_bucket_versioning().bucket(name).send()
        ),
        clients.call_if(
            plan.reads_bucket("logging"),
            s3.get_bucket_logging().bucket(name).send()
        ),
    );
    let policy = planned("GetBucketPolicy", policy, &["NoSuchBucketPolicy"], |o| {
        o.policy().unwrap_or_default().to_string()
    });
    let policy_status = if plan.reads_bucket("policy_status") {
        read_policy_status(clients, &s3, name, &policy).await
    } else {
        Section::not_requested()
    };
    let (lifecycle, replication, object_lock, notifications, tags, website, cors) = tokio::join!(
        clients.call_if(
            plan.reads_bucket("lifecycle"),
            s3.get_bucket_lifecycle_configuration().bucket(name).send()
        ),
        clients.call_if(
            plan.reads_bucket("replication"),
            s3.get_bucket_replication().bucket(name).send()
        ),
        clients.call_if(
            plan.reads_bucket("object_lock"),
            s3.get_object_lock_configuration().bucket(name).send()
        ),
        clients.call_if(
            plan.reads_bucket("notifications"),
            s3.get_bucket_notification_configuration()
                .bucket(name)
                .send()
        ),
        clients.call_if(
            plan.reads_bucket("tags"),
            s3.get_bucket_tagging().bucket(name).send()
        ),
        clients.call_if(
            plan.reads_bucket("website"),
            s3.get_bucket_website().bucket(name).send()
        ),
        clients.call_if(
            plan.reads_bucket("cors"),
            s3.get_bucket_cors().bucket(name).send()
        ),
    );
    let (accelerate, intelligent_tiering, inventory, metrics, analytics, request_payment) = tokio::join!(
        clients.call_if(
            plan.reads_bucket("accelerate"),
            s3.get_bucket_accelerate_configuration().bucket(name).send()
        ),
        clients.call_if(
            plan.reads_bucket("intelligent_tiering"),
            s3.list_bucket_intelligent_tiering_configurations()
                .bucket(name)
                .send()
        ),
        clients.call_if(
            plan.reads_bucket("inventory"),
            s3.list_bucket_inventory_configurations()
                .bucket(name)
                .send()
        ),
        clients.call_if(
            plan.reads_bucket("metrics"),
            s3.list_bucket_metrics_configurations().bucket(name).send()
        ),
        clients.call_if(
            plan.reads_bucket("analytics"),
            s3.list_bucket_analytics_configurations()
                .bucket(name)
                .send()
        ),
        clients.call_if(
            plan.reads_bucket("request_payment"),
            s3.get_bucket_request_payment().bucket(name).send()
        ),
    );

    Bucket {
        name: name.to_string(),
        region: Some(region.to_string()),
        creation_date,
        policy,
        policy_status,
        acl: planned("GetBucketAcl", acl, &[], |o| Acl {
            owner_id: o.owner().and_then(|w| w.id()).map(str::to_string),
            grants: o
                .grants()
                .iter()
                .map(|g| {
                    let grantee = g.grantee();
                    Grant {
                        grantee_type: grantee
                            .map_or_else(String::new, |g| g.r#type().as_str().to_string()),
                        grantee_id: grantee.and_then(|g| g.id()).map(str::to_string),
                        grantee_uri: grantee.and_then(|g| g.uri()).map(str::to_string),
                        grantee_email: grantee.and_then(|g| g.email_address()).map(str::to_string),
                        permission: g
                            .permission()
                            .map_or_else(String::new, |p| p.as_str().to_string()),
                    }
                })
                .collect(),
        }),
        public_access_block: planned(
            "GetPublicAccessBlock",
            public_access_block,
            &["NoSuchPublicAccessBlockConfiguration"],
            |o| {
                let c = o.public_access_block_configuration();
                PublicAccessBlock {
                    block_public_acls: c.and_then(|c| c.block_public_acls()).unwrap_or(false),
                    ignore_public_acls: c.and_then(|c| c.ignore_public_acls()).unwrap_or(false),
                    block_public_policy: c.and_then(|c| c.block_public_policy()).unwrap_or(false),
                    restrict_public_buckets: c
                        .and_then(|c| c.restrict_public_buckets())
                        .unwrap_or(false),
                }
            },
        ),
        ownership_controls: required(
            planned(
                "GetBucketOwnershipControls",
                ownership_controls,
                &["OwnershipControlsNotFoundError"],
                |o| {
                    o.ownership_controls()
                        .and_then(|c| c.rules().first())
                        .map(|r| OwnershipControls {
                            object_ownership: r.object_ownership().as_str().to_string(),
                        })
                },
            ),
            "ownership rule",
        ),
        encryption: planned(
            "GetBucketEncryption",
            encryption,
            &["ServerSideEncryptionConfigurationNotFoundError"],
            |o| encryption_of(&o),
        ),
        versioning: planned("GetBucketVersioning", versioning, &[], |o| Versioning {
            // AWS returns no status for a bucket that never had versioning.
            status: o.status().map_or("Disabled", |s| s.as_str()).to_string(),
            mfa_delete: o
                .mfa_delete()
                .map_or("Disabled", |s| s.as_str())
                .to_string(),
        }),
        logging: match planned("GetBucketLogging", logging, &[], |o| {
            o.logging_enabled().map(|l| Logging {
                target_bucket: l.target_bucket().to_string(),
                target_prefix: l.target_prefix().to_string(),
            })
        }) {
            Section::Present { value: Some(l) } => Section::present(l),
            // GetBucketLogging answers 200 with an empty document when logging is off.
            Section::Present { value: None } => Section::absent(),
            other => other.map_unreadable(),
        },
        lifecycle: planned(
            "GetBucketLifecycleConfiguration",
            lifecycle,
            &["NoSuchLifecycleConfiguration"],
            |o| Lifecycle {
                rules: o.rules().iter().map(lifecycle_rule).collect(),
            },
        ),
        replication: planned(
            "GetBucketReplication",
            replication,
            &["ReplicationConfigurationNotFoundError"],
            |o| {
                let c = o.replication_configuration();
                Replication {
                    role: c.map_or_else(String::new, |c| c.role().to_string()),
                    rules: c
                        .map(|c| c.rules())
                        .unwrap_or_default()
                        .iter()
                        .map(|r| {
                            let d = r.destination();
                            ReplicationRule {
                                id: r.id().map(str::to_string),
                                status: r.status().as_str().to_string(),
                                destination_bucket: d
                                    .map_or_else(String::new, |d| d.bucket().to_string()),
                                destination_account: d
                                    .and_then(|d| d.account())
                                    .map(str::to_string),
                                replication_time_enabled: d
                                    .and_then(|d| d.replication_time())
                                    .is_some_and(|t| t.status().as_str() == "Enabled"),
                            }
                        })
                        .collect(),
                }
            },
        ),
        object_lock: planned(
            "GetObjectLockConfiguration",
            object_lock,
            &["ObjectLockConfigurationNotFoundError"],
            |o| {
                let c = o.object_lock_configuration();
                let retention = c.and_then(|c| c.rule()).and_then(|r| r.default_retention());
                ObjectLock {
                    enabled: c
                        .and_then(|c| c.object_lock_enabled())
                        .is_some_and(|e| e.as_str() == "Enabled"),
                    default_mode: retention
                        .and_then(|r| r.mode())
                        .map(|m| m.as_str().to_string()),
                    default_days: retention.and_then(|r| r.days()).map(i64::from),
                    default_years: retention.and_then(|r| r.years()).map(i64::from),
                }
            },
        ),
        notifications: planned(
            "GetBucketNotificationConfiguration",
            notifications,
            &[],
            |o| Notifications {
                topics: o
                    .topic_configurations()
                    .iter()
                    .map(|t| target(t.topic_arn(), t.events()))
                    .collect(),
                queues: o
                    .queue_configurations()
                    .iter()
                    .map(|q| target(q.queue_arn(), q.events()))
                    .collect(),
                lambda_functions: o
                    .lambda_function_configurations()
                    .iter()
                    .map(|l| target(l.lambda_function_arn(), l.events()))
                    .collect(),
                eventbridge_enabled: o.event_bridge_configuration().is_some(),
            },
        ),
        tags: planned("GetBucketTagging", tags, &["NoSuchTagSet"], |o| {
            o.tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect::<BTreeMap<_, _>>()
        }),
        website: planned(
            "GetBucketWebsite",
            website,
            &["NoSuchWebsiteConfiguration"],
            |o| Website {
                index_document: o.index_document().map(|d| d.suffix().to_string()),
                redirect_all_requests_to: o
                    .redirect_all_requests_to()
                    .map(|r| r.host_name().to_string()),
            },
        ),
        cors: planned("GetBucketCors", cors, &["NoSuchCORSConfiguration"], |o| {
            o.cors_rules()
                .iter()
                .map(|r| CorsRule {
                    allowed_origins: r.allowed_origins().to_vec(),
                    allowed_methods: r.allowed_methods().to_vec(),
                    allowed_headers: r.allowed_headers().to_vec(),
                })
                .collect()
        }),
        accelerate: planned("GetBucketAccelerateConfiguration", accelerate, &[], |o| {
            Accelerate {
                status: o.status().map_or("Disabled", |s| s.as_str()).to_string(),
            }
        }),
        intelligent_tiering: planned(
            "ListBucketIntelligentTieringConfigurations",
            intelligent_tiering,
            &[],
            |o| {
                o.intelligent_tiering_configuration_list()
                    .iter()
                    .map(|c| IntelligentTieringConfiguration {
                        id: c.id().to_string(),
                        status: c.status().as_str().to_string(),
                        tierings: c
                            .tierings()
                            .iter()
                            .map(|t| Tiering {
                                access_tier: t.access_tier().as_str().to_string(),
                                days: i64::from(t.days()),
                            })
                            .collect(),
                    })
                    .collect()
            },
        ),
        inventory: planned("ListBucketInventoryConfigurations", inventory, &[], |o| {
            o.inventory_configuration_list()
                .iter()
                .map(|c| InventoryConfiguration {
                    id: c.id().to_string(),
                    enabled: c.is_enabled(),
                    destination_bucket: c
                        .destination()
                        .and_then(|d| d.s3_bucket_destination())
                        .map_or_else(String::new, |d| d.bucket().to_string()),
                    frequency: c
                        .schedule()
                        .map_or_else(String::new, |s| s.frequency().as_str().to_string()),
                })
                .collect()
        }),
        metrics: planned("ListBucketMetricsConfigurations", metrics, &[], |o| {
            o.metrics_configuration_list()
                .iter()
                .map(|c| MetricsConfiguration {
                    id: c.id().to_string(),
                    filtered: c.filter().is_some(),
                })
                .collect()
        }),
        analytics: planned("ListBucketAnalyticsConfigurations", analytics, &[], |o| {
            o.analytics_configuration_list()
                .iter()
                .map(|c| AnalyticsConfiguration {
                    id: c.id().to_string(),
                    filtered: c.filter().is_some(),
                    exports_data: c
                        .storage_class_analysis()
                        .is_some_and(|a| a.data_export().is_some()),
                })
                .collect()
        }),
        request_payment: required(
            planned("GetBucketRequestPayment", request_payment, &[], |o| {
                o.payer().map(|p| RequestPayment {
                    payer: p.as_str().to_string(),
                })
            }),
            "Payer",
        ),
        // Read per region for all buckets at once; the account fills it in.
        storage_metrics: Section::not_requested(),
    }
}

/// `GetBucketPolicyStatus` only when there is a policy: without one it cannot be public.
async fn read_policy_status(
    clients: &AccountClients,
    s3: &Client,
    name: &str,
    policy: &Section<String>,
) -> Section<PolicyStatus> {
    match policy {
        Section::Present { .. } => required(
            section(
                "GetBucketPolicyStatus",
                clients
                    .call(s3.get_bucket_policy_status().bucket(name).send())
                    .await,
                &["NoSuchBucketPolicy"],
                |o| {
                    o.policy_status()
                        .and_then(|s| s.is_public())
                        .map(|is_public| PolicyStatus { is_public })
                },
            ),
            "PolicyStatus.IsPublic",
        ),
        Section::Absent { .. } => Section::Absent {
            code: Some("NoSuchBucketPolicy".into()),
        },
        // Whether the policy is public cannot be known when the policy could not be read
        // either; say so rather than calling again.
        other => other.clone().map_unreadable(),
    }
}

fn target(arn: &str, events: &[aws_sdk_s3::types::Event]) -> NotificationTarget {
    NotificationTarget {
        arn: arn.to_string(),
        events: events.iter().map(|e| e.as_str().to_string()).collect(),
    }
}

/// Default encryption as `GetBucketEncryption` gave it (general-purpose and directory buckets).
fn encryption_of(
    o: &aws_sdk_s3::operation::get_bucket_encryption::GetBucketEncryptionOutput,
) -> Encryption {
    Encryption {
        rules: o
            .server_side_encryption_configuration()
            .map(|c| c.rules())
            .unwrap_or_default()
            .iter()
            .map(|r| {
                let default = r.apply_server_side_encryption_by_default();
                EncryptionRule {
                    sse_algorithm: default
                        .map_or_else(String::new, |d| d.sse_algorithm().as_str().to_string()),
                    kms_master_key_id: default
                        .and_then(|d| d.kms_master_key_id())
                        .map(str::to_string),
                    bucket_key_enabled: r.bucket_key_enabled().unwrap_or(false),
                    // AWS leaves the element out when no type is blocked.
                    blocked_encryption_types: r
                        .blocked_encryption_types()
                        .map(|b| {
                            b.encryption_type()
                                .iter()
                                .map(|t| t.as_str().to_string())
                                .collect()
                        })
                        .unwrap_or_default(),
                }
            })
            .collect(),
    }
}

/// A directory bucket (S3 Express One Zone): the sections AWS lets one read of it, each
/// through the regional endpoint of the bucket's region.
pub async fn read_directory_bucket(
    clients: &AccountClients,
    name: &str,
    region: &str,
) -> DirectoryBucket {
    let s3 = clients.s3(region).await;
    let (policy, encryption, lifecycle) = tokio::join!(
        clients.call(s3.get_bucket_policy().bucket(name).send()),
        clients.call(s3.get_bucket_encryption().bucket(name).send()),
        clients.call(s3.get_bucket_lifecycle_configuration().bucket(name).send()),
    );
    DirectoryBucket {
        name: name.to_string(),
        region: region.to_string(),
        policy: required(
            section("GetBucketPolicy", policy, &["NoSuchBucketPolicy"], |o| {
                o.policy().map(str::to_string)
            }),
            "Policy",
        ),
        encryption: section(
            "GetBucketEncryption",
            encryption,
            &["ServerSideEncryptionConfigurationNotFoundError"],
            |o| encryption_of(&o),
        ),
        lifecycle: section(
            "GetBucketLifecycleConfiguration",
            lifecycle,
            &["NoSuchLifecycleConfiguration"],
            |o| Lifecycle {
                rules: o.rules().iter().map(lifecycle_rule).collect(),
            },
        ),
    }
}

fn lifecycle_rule(rule: &aws_sdk_s3::types::LifecycleRule) -> LifecycleRule {
    let filter = rule.filter();
    let and = filter.and_then(|f| f.and());
    #[allow(deprecated)]
    let legacy_prefix = rule.prefix();
    let prefix = filter
        .and_then(|f| f.prefix())
        .or_else(|| and.and_then(|a| a.prefix()))
        .or(legacy_prefix)
        .unwrap_or_default();
    let tags = filter
        .and_then(|f| f.tag())
        .into_iter()
        .chain(and.map(|a| a.tags()).unwrap_or_default())
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    LifecycleRule {
        id: rule.id().map(str::to_string),
        status: rule.status().as_str().to_string(),
        prefix: prefix.to_string(),
        filter_tags: tags,
        object_size_greater_than: filter
            .and_then(|f| f.object_size_greater_than())
            .or_else(|| and.and_then(|a| a.object_size_greater_than())),
        object_size_less_than: filter
            .and_then(|f| f.object_size_less_than())
            .or_else(|| and.and_then(|a| a.object_size_less_than())),
        expiration_days: rule.expiration().and_then(|e| e.days()).map(i64::from),
        noncurrent_version_expiration_days: rule
            .noncurrent_version_expiration()
            .and_then(|e| e.noncurrent_days())
            .map(i64::from),
        abort_incomplete_multipart_upload_days: rule
            .abort_incomplete_multipart_upload()
            .and_then(|a| a.days_after_initiation())
            .map(i64::from),
        transitions: rule
            .transitions()
            .iter()
            .map(|t| Transition {
                days: t.days().map(i64::from),
                storage_class: t
                    .storage_class()
                    .map_or_else(String::new, |c| c.as_str().to_string()),
            })
            .collect(),
    }
}
