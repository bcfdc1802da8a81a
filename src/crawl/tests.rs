//! Unit tests of the crawler with SDK mocks, for what the emulator cannot do: throttling
//! that is retried, pagination, and AccessDenied without an error code.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_async::rt::sleep::{SharedAsyncSleep, TokioSleep};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;

use super::account;
use super::classify::section;
use super::clients::{AccountClients, RequestLimits};
use super::recorder::Recorder;
use crate::snapshot::Section;

fn config() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::from_static("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        )))
        .http_client(create_mock_http_client())
        // Standard mode with a 1 ms backoff: production's adaptive mode adds a client-side
        // rate limiter that, once throttled, waits whole seconds, too long for a unit test.
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(4)
                .with_initial_backoff(Duration::from_millis(1)),
        )
        .sleep_impl(SharedAsyncSleep::new(TokioSleep::new()))
        .build()
}

fn interceptor(rules: &[&Rule]) -> SharedInterceptor {
    let mut mocks = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        mocks = mocks.with_rule(rule);
    }
    SharedInterceptor::new(mocks)
}

fn clients(rules: &[&Rule]) -> AccountClients {
    let mut clients = AccountClients::new(
        config(),
        Recorder::default(),
        None,
        RequestLimits::new(4, 4, None),
    );
    clients.extra_interceptors.push(interceptor(rules));
    clients
}

/// `GetBucketPolicy` as the bucket reader records it.
async fn read_policy(clients: &AccountClients, bucket: &str) -> Section<String> {
    let s3 = clients.s3("us-east-1").await;
    let result = clients
        .call(s3.get_bucket_policy().bucket(bucket).send())
        .await;
    section("GetBucketPolicy", result, &["NoSuchBucketPolicy"], |o| {
        o.policy().unwrap_or_default().to_string()
    })
}

/// An S3 error response as AWS sends it.
fn s3_error(status: u16, body: &'static str) -> aws_smithy_runtime_api::http::Response {
    aws_smithy_runtime_api::http::Response::new(
        aws_smithy_runtime_api::http::StatusCode::try_from(status).expect("a valid status"),
        aws_smithy_types::body::SdkBody::from(body),
    )
}

const SLOW_DOWN: &str =
    "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";

#[tokio::test]
async fn throttling_is_retried_until_it_succeeds() {
    use aws_sdk_s3::operation::get_bucket_policy::GetBucketPolicyOutput;
    let rule = mock!(aws_sdk_s3::Client::get_bucket_policy)
        .sequence()
        .http_status(503, Some(SLOW_DOWN.to_string()))
        .times(2)
        .output(|| {
            GetBucketPolicyOutput::builder()
                .policy("{\"Statement\":[]}")
                .build()
        })
        .build();
    let policy = read_policy(&clients(&[&rule]), "b").await;
    assert_eq!(policy, Section::present("{\"Statement\":[]}".to_string()));
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn throttling_that_outlasts_the_retries_is_an_error_not_absent() {
    let rule = mock!(aws_sdk_s3::Client::get_bucket_policy)
        .sequence()
        .http_status(503, Some(SLOW_DOWN.to_string()))
        .repeatedly()
        .build();
    let policy = read_policy(&clients(&[&rule]), "b").await;
    match policy {
        Section::Error(failure) => {
            assert_eq!(failure.code.as_deref(), Some("SlowDown"));
            assert_eq!(failure.http_status, Some(503));
            assert_eq!(failure.operation.as_deref(), Some("GetBucketPolicy"));
            assert_eq!(
                failure.message,
                "GetBucketPolicy was throttled by AWS (SlowDown, HTTP 503) after every retry; \
                 lower --max-requests or --max-buckets, or raise --max-attempts."
            );
        }
        other => panic!("expected an error section, got {other:?}"),
    }
    assert_eq!(rule.num_calls(), 4, "max_attempts is 4");
}

#[tokio::test]
async fn a_denied_read_names_the_iam_action_to_grant() {
    let denied = mock!(aws_sdk_s3::Client::get_bucket_policy).then_http_response(|| {
        s3_error(
            403,
            "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
        )
    });
    match read_policy(&clients(&[&denied]), "locked").await {
        Section::Denied(failure) => {
            assert_eq!(failure.http_status, Some(403));
            assert_eq!(
                failure.message,
                "GetBucketPolicy was denied (AccessDenied, HTTP 403): \"Access Denied\"; grant \
                 s3:GetBucketPolicy to the role s3audit uses (docs/iam-policy.json lists every \
                 action it needs), or check for an SCP, permission boundary or resource policy \
                 that denies it."
            );
        }
        other => panic!("expected a denied section, got {other:?}"),
    }
}

#[tokio::test]
async fn not_configured_is_absent_and_access_denied_is_denied() {
    let not_configured = mock!(aws_sdk_s3::Client::get_bucket_policy)
        .match_requests(|r| r.bucket() == Some("no-policy"))
        .then_http_response(|| {
            s3_error(
                404,
                "<Error><Code>NoSuchBucketPolicy</Code><Message>The bucket policy does not exist</Message></Error>",
            )
        });
    let denied = mock!(aws_sdk_s3::Client::get_bucket_policy)
        .match_requests(|r| r.bucket() == Some("locked"))
        .then_http_response(|| {
            s3_error(
                403,
                "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
            )
        });
    let clients = clients(&[&not_configured, &denied]);
    assert_eq!(
        read_policy(&clients, "no-policy").await,
        Section::Absent {
            code: Some("NoSuchBucketPolicy".into())
        }
    );
    match read_policy(&clients, "locked").await {
        Section::Denied(failure) => assert_eq!(failure.code.as_deref(), Some("AccessDenied")),
        other => panic!("expected denied, got {other:?}"),
    }
}

#[tokio::test]
async fn a_403_without_an_error_code_is_denied() {
    // JSON services (Access Analyzer) can answer AccessDenied with HTTP 403 and no code.
    let rule = mock!(aws_sdk_accessanalyzer::Client::list_analyzers)
        .sequence()
        .http_status(403, None)
        .repeatedly()
        .build();
    let clients = clients(&[&rule]);
    let analyzers = account::read_analyzers(&clients, &["us-east-1".to_string()]).await;
    match analyzers {
        Section::Denied(failure) => {
            assert_eq!(failure.code, None);
            assert!(failure.message.contains("HTTP 403"), "{}", failure.message);
        }
        other => panic!("expected denied, got {other:?}"),
    }
}

#[tokio::test]
async fn list_buckets_follows_continuation_tokens() {
    use aws_sdk_s3::operation::list_buckets::ListBucketsOutput;
    use aws_sdk_s3::types::Bucket;
    let first = mock!(aws_sdk_s3::Client::list_buckets)
        .match_requests(|r| r.continuation_token().is_none())
        .then_output(|| {
            ListBucketsOutput::builder()
                .buckets(
                    Bucket::builder()
                        .name("a")
                        .bucket_region("eu-west-1")
                        .build(),
                )
                .buckets(Bucket::builder().name("b").build())
                .continuation_token("page-2")
                .build()
        });
    let second = mock!(aws_sdk_s3::Client::list_buckets)
        .match_requests(|r| r.continuation_token() == Some("page-2"))
        .then_output(|| {
            ListBucketsOutput::builder()
                .buckets(
                    Bucket::builder()
                        .name("c")
                        .bucket_region("ap-southeast-2")
                        .build(),
                )
                .build()
        });
    let clients = clients(&[&first, &second]);
    let listed = account::list_buckets(&clients).await.expect("listed");
    let names: Vec<(&str, Option<&str>)> = listed
        .iter()
        .map(|(name, region, _)| (name.as_str(), region.as_deref()))
        .collect();
    assert_eq!(
        names,
        [
            ("a", Some("eu-west-1")),
            ("b", None),
            ("c", Some("ap-southeast-2"))
        ]
    );
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[tokio::test]
async fn list_accounts_follows_next_tokens_and_keeps_active_accounts() {
    use aws_sdk_organizations::operation::describe_organization::DescribeOrganizationOutput;
    use aws_sdk_organizations::operation::list_accounts::ListAccountsOutput;
    use aws_sdk_organizations::types::{Account, AccountState, Organization};
    let account =
        |id: &str, state: AccountState| Account::builder().id(id).name(id).state(state).build();
    let describe = mock!(aws_sdk_organizations::Client::describe_organization).then_output(|| {
        DescribeOrganizationOutput::builder()
            .organization(
                Organization::builder()
                    .id("o-test")
                    .master_account_id("111111111111")
                    .build(),
            )
            .build()
    });
    let first = mock!(aws_sdk_organizations::Client::list_accounts)
        .match_requests(|r| r.next_token().is_none())
        .then_output(move || {
            ListAccountsOutput::builder()
                .accounts(account("111111111111", AccountState::Active))
                .accounts(account("222222222222", AccountState::Suspended))
                .next_token("more")
                .build()
        });
    let second = mock!(aws_sdk_organizations::Client::list_accounts)
        .match_requests(|r| r.next_token() == Some("more"))
        .then_output(move || {
            ListAccountsOutput::builder()
                .accounts(account("333333333333", AccountState::Active))
                .build()
        });
    let extra = [interceptor(&[&describe, &first, &second])];
    let (organization, targets) =
        super::organization_accounts(&config(), &Recorder::default(), &extra, None)
            .await
            .expect("listed");
    assert_eq!(organization.id, "o-test");
    let ids: Vec<&str> = targets.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["111111111111", "333333333333"]);
}

#[tokio::test]
async fn an_analyzer_finding_without_a_resource_makes_the_findings_unreadable() {
    use aws_sdk_accessanalyzer::operation::list_analyzers::ListAnalyzersOutput;
    use aws_sdk_accessanalyzer::operation::list_findings_v2::ListFindingsV2Output;
    use aws_sdk_accessanalyzer::types::{
        AnalyzerStatus, AnalyzerSummary, FindingStatus, FindingSummaryV2, Type,
    };
    let time = aws_smithy_types::DateTime::from_secs(0);
    let analyzers = mock!(aws_sdk_accessanalyzer::Client::list_analyzers).then_output(move || {
        ListAnalyzersOutput::builder()
            .analyzers(
                AnalyzerSummary::builder()
                    .arn("arn:aws:access-analyzer:us-east-1:111111111111:analyzer/a")
                    .name("a")
                    .r#type(Type::Account)
                    .created_at(time)
                    .status(AnalyzerStatus::Active)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    });
    let finding = move |id: &str, resource: Option<&str>| {
        FindingSummaryV2::builder()
            .id(id)
            .set_resource(resource.map(str::to_string))
            .resource_type(aws_sdk_accessanalyzer::types::ResourceType::AwsS3Bucket)
            .resource_owner_account("111111111111")
            .status(FindingStatus::Active)
            .created_at(time)
            .analyzed_at(time)
            .updated_at(time)
            .build()
            .unwrap()
    };
    let findings = mock!(aws_sdk_accessanalyzer::Client::list_findings_v2).then_output(move || {
        ListFindingsV2Output::builder()
            .findings(finding("named", Some("arn:aws:s3:::shared")))
            .findings(finding("unnamed", None))
            .build()
            .unwrap()
    });
    let clients = clients(&[&analyzers, &findings]);
    let read = account::read_analyzers(&clients, &["us-east-1".to_string()]).await;
    let analyzers = read.value().expect("the analyzers were listed");
    match &analyzers[0].bucket_findings {
        Section::Error(failure) => assert!(
            failure
                .message
                .contains("finding unnamed without the resource"),
            "{}",
            failure.message
        ),
        other => panic!("expected an error, got {other:?}"),
    }
}
