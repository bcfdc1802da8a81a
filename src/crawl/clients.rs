//! Building SDK clients: the base configuration from the standard credential chain, one
//! configuration per account (the caller's own, or `sts:AssumeRole` into the audit role), and
//! clients that all record their operations and, against an emulator, use its endpoint.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use tokio::sync::{Mutex, Semaphore};

use super::recorder::Recorder;

/// How to reach AWS, shared by every account.
#[derive(Debug, Clone)]
pub struct Connection {
    pub profile: Option<String>,
    pub region: Option<String>,
    /// Points every client at this URL (an emulator), like `AWS_ENDPOINT_URL`.
    pub endpoint_url: Option<String>,
    pub call_timeout: Duration,
    pub max_attempts: u32,
    pub retry_mode: RetryMode,
    /// The first retry waits up to this long (with jitter), each later one twice as long.
    pub retry_backoff: Duration,
}

/// How throttled and failed calls are retried (both with exponential backoff and jitter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RetryMode {
    /// The SDK's standard retries: each throttled call backs off on its own.
    Standard,
    /// The SDK's adaptive retries: after throttling, a client-side rate limiter also slows
    /// down every other call of the client.
    Adaptive,
}

/// The base configuration: the standard chain (environment, profile, SSO, web identity,
/// instance role), adaptive retries and a timeout per call.
pub async fn base_config(connection: &Connection) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            match connection.retry_mode {
                RetryMode::Standard => RetryConfig::standard(),
                RetryMode::Adaptive => RetryConfig::adaptive(),
            }
            .with_max_attempts(connection.max_attempts)
            .with_initial_backoff(connection.retry_backoff),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(connection.call_timeout)
                .build(),
        );
    if let Some(profile) = &connection.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &connection.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &connection.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let config = loader.load().await;
    if config.region().is_some() {
        return config;
    }
    // Without a configured region, read from us-east-1: S3 and Organizations answer there for
    // the whole partition, and bucket clients use each bucket's own region anyway.
    config
        .into_builder()
        .region(Region::from_static("us-east-1"))
        .build()
}

/// Credentials for another account through `sts:AssumeRole`, obtained once up front so that an
/// account we cannot enter is known before any read, then cached and refreshed by the SDK.
pub async fn assume_role(
    base: &SdkConfig,
    role_arn: &str,
    external_id: Option<&str>,
    recorder: &Recorder,
) -> Result<SdkConfig, AssumeRoleFailure> {
    // The provider calls STS with its own client; count that call like every other one.
    recorder.count_operation("sts:AssumeRole");
    let mut builder = AssumeRoleProvider::builder(role_arn)
        .session_name("s3audit")
        .configure(base);
    if let Some(id) = external_id {
        builder = builder.external_id(id);
    }
    let provider = builder.build().await;
    if let Err(error) = provider.provide_credentials().await {
        return Err(AssumeRoleFailure::from_error(&error));
    }
    Ok(base
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build())
}

#[derive(Debug, Clone)]
pub struct AssumeRoleFailure {
    pub code: Option<String>,
    pub message: String,
}

impl AssumeRoleFailure {
    fn from_error(error: &aws_credential_types::provider::error::CredentialsError) -> Self {
        use aws_sdk_sts::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
        use aws_sdk_sts::operation::assume_role::AssumeRoleError;
        use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
        // The STS error is somewhere in the chain of sources; its code says why.
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(e) = source {
            if let Some(sts) = e.downcast_ref::<SdkError<AssumeRoleError, HttpResponse>>() {
                return AssumeRoleFailure {
                    code: sts.code().map(str::to_string),
                    message: super::classify::explain("AssumeRole", sts),
                };
            }
            source = e.source();
        }
        AssumeRoleFailure {
            code: None,
            message: DisplayErrorContext(error).to_string(),
        }
    }
}

/// The clients of one account, with S3 clients per region created on first use.
/// A client of one SDK for one region, built from the account's configuration, with the
/// recorder and any extra interceptors (the SDKs share no builder trait, hence a macro).
macro_rules! regional_client {
    ($sdk:ident, $clients:expr, $region:expr) => {{
        let mut conf = $sdk::config::Builder::from(&$clients.config)
            .region(Region::new($region.to_string()))
            .interceptor($clients.recorder.clone());
        for interceptor in &$clients.extra_interceptors {
            conf.push_interceptor(interceptor.clone());
        }
        $sdk::Client::from_conf(conf.build())
    }};
}

/// The caps on AWS requests: in flight over the whole run, in flight per account (AWS
/// throttles per account, so one account with many buckets must not take every slot), and
/// an optional steady rate over the whole run.
#[derive(Clone)]
pub struct RequestLimits {
    pub in_flight: Arc<Semaphore>,
    pub per_account: usize,
    pub pacer: Option<Arc<Pacer>>,
}

impl RequestLimits {
    pub fn new(in_flight: usize, per_account: usize, per_second: Option<f64>) -> Self {
        RequestLimits {
            in_flight: Arc::new(Semaphore::new(in_flight.max(1))),
            per_account: per_account.max(1),
            pacer: per_second.map(|rate| Arc::new(Pacer::per_second(rate))),
        }
    }
}

/// Spaces requests evenly at a rate (`--max-requests-per-second`), for teams whose detection
/// rules fire on bursts of `GetBucket*` calls: each call takes the next free slot.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: std::sync::Mutex<Option<tokio::time::Instant>>,
}

impl Pacer {
    pub fn per_second(rate: f64) -> Pacer {
        Pacer {
            interval: Duration::from_secs_f64(1.0 / rate.max(0.001)),
            next: std::sync::Mutex::new(None),
        }
    }

    /// The time the next call may start, given the time now; reserves that slot.
    fn reserve(&self, now: tokio::time::Instant) -> tokio::time::Instant {
        let mut next = self.next.lock().expect("the pacer lock is never poisoned");
        let slot = next.map_or(now, |n| n.max(now));
        *next = Some(slot + self.interval);
        slot
    }

    pub async fn wait(&self) {
        let slot = self.reserve(tokio::time::Instant::now());
        tokio::time::sleep_until(slot).await;
    }
}

pub struct AccountClients {
    pub config: SdkConfig,
    pub recorder: Recorder,
    pub endpoint_url: Option<String>,
    limits: RequestLimits,
    /// Requests in flight in this account.
    account_requests: Semaphore,
    /// Interceptors added to every client besides the recorder (unit tests add SDK mocks).
    pub extra_interceptors: Vec<SharedInterceptor>,
    s3_by_region: Mutex<HashMap<String, aws_sdk_s3::Client>>,
}

impl AccountClients {
    pub fn new(
        config: SdkConfig,
        recorder: Recorder,
        endpoint_url: Option<String>,
        limits: RequestLimits,
    ) -> Self {
        AccountClients {
            config,
            recorder,
            endpoint_url,
            account_requests: Semaphore::new(limits.per_account),
            limits,
            extra_interceptors: Vec::new(),
            s3_by_region: Mutex::new(HashMap::new()),
        }
    }

    pub fn home_region(&self) -> String {
        self.config
            .region()
            .map_or_else(|| "us-east-1".to_string(), |r| r.to_string())
    }

    /// Runs one AWS call under the caps: the account's requests in flight, the rate, then
    /// the run's requests in flight (taken last, so a call waiting for its slot holds none).
    pub async fn call<F: std::future::Future>(&self, call: F) -> F::Output {
        let _account = self
            .account_requests
            .acquire()
            .await
            .expect("the semaphore is never closed");
        if let Some(pacer) = &self.limits.pacer {
            pacer.wait().await;
        }
        let _permit = self
            .limits
            .in_flight
            .acquire()
            .await
            .expect("the semaphore is never closed");
        call.await
    }

    /// Runs the call when the read plan asks for it; `None` when it does not.
    pub async fn call_if<F: std::future::Future>(
        &self,
        planned: bool,
        call: F,
    ) -> Option<F::Output> {
        if !planned {
            return None;
        }
        Some(self.call(call).await)
    }

    pub async fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let mut clients = self.s3_by_region.lock().await;
        clients
            .entry(region.to_string())
            .or_insert_with(|| {
                let mut conf = aws_sdk_s3::config::Builder::from(&self.config)
                    .region(Region::new(region.to_string()))
                    .interceptor(self.recorder.clone())
                    // An emulator serves every bucket under one host.
                    .force_path_style(self.endpoint_url.is_some());
                if let Some(url) = &self.endpoint_url {
                    conf = conf.endpoint_resolver(EmulatorS3Endpoint(
                        url.clone(),
                        aws_sdk_s3::config::endpoint::DefaultResolver::new(),
                    ));
                }
                for interceptor in &self.extra_interceptors {
                    conf.push_interceptor(interceptor.clone());
                }
                aws_sdk_s3::Client::from_conf(conf.build())
            })
            .clone()
    }

    pub fn s3control(&self, region: &str) -> aws_sdk_s3control::Client {
        let mut conf = aws_sdk_s3control::config::Builder::from(&self.config)
            .region(Region::new(region.to_string()))
            .interceptor(self.recorder.clone());
        if let Some(url) = &self.endpoint_url {
            // S3 Control's endpoint rules put the account id in front of the host
            // (`123456789012.127.0.0.1`), which an emulator cannot serve.
            conf = conf.endpoint_resolver(FixedS3ControlEndpoint(url.clone()));
        }
        for interceptor in &self.extra_interceptors {
            conf.push_interceptor(interceptor.clone());
        }
        aws_sdk_s3control::Client::from_conf(conf.build())
    }

    pub fn access_analyzer(&self, region: &str) -> aws_sdk_accessanalyzer::Client {
        regional_client!(aws_sdk_accessanalyzer, self, region)
    }

    pub fn guardduty(&self, region: &str) -> aws_sdk_guardduty::Client {
        regional_client!(aws_sdk_guardduty, self, region)
    }

    pub fn macie(&self, region: &str) -> aws_sdk_macie2::Client {
        regional_client!(aws_sdk_macie2, self, region)
    }

    /// CloudFront is global; its API is served from us-east-1.
    pub fn cloudfront(&self) -> aws_sdk_cloudfront::Client {
        regional_client!(aws_sdk_cloudfront, self, "us-east-1")
    }

    pub fn cloudwatch(&self, region: &str) -> aws_sdk_cloudwatch::Client {
        regional_client!(aws_sdk_cloudwatch, self, region)
    }

    pub fn cloudtrail(&self, region: &str) -> aws_sdk_cloudtrail::Client {
        regional_client!(aws_sdk_cloudtrail, self, region)
    }
}

pub fn organizations(
    config: &SdkConfig,
    recorder: &Recorder,
    extra_interceptors: &[SharedInterceptor],
) -> aws_sdk_organizations::Client {
    let mut conf =
        aws_sdk_organizations::config::Builder::from(config).interceptor(recorder.clone());
    for interceptor in extra_interceptors {
        conf.push_interceptor(interceptor.clone());
    }
    aws_sdk_organizations::Client::from_conf(conf.build())
}

pub fn sts(config: &SdkConfig, recorder: &Recorder) -> aws_sdk_sts::Client {
    let conf = aws_sdk_sts::config::Builder::from(config)
        .interceptor(recorder.clone())
        .build();
    aws_sdk_sts::Client::from_conf(conf)
}

/// An S3 Control endpoint that is the configured URL, unchanged.
/// S3's endpoint rules, except for S3 Express (directory bucket) control calls: the rules
/// cannot place a bucket-less one (`ListDirectoryBuckets`) on a custom endpoint URL, and send
/// the others to zonal hosts; against an emulator they go to the URL, path-style.
#[derive(Debug)]
struct EmulatorS3Endpoint(String, aws_sdk_s3::config::endpoint::DefaultResolver);

impl aws_sdk_s3::config::endpoint::ResolveEndpoint for EmulatorS3Endpoint {
    fn resolve_endpoint<'a>(
        &'a self,
        params: &'a aws_sdk_s3::config::endpoint::Params,
    ) -> aws_sdk_s3::config::endpoint::EndpointFuture<'a> {
        use aws_sdk_s3::config::endpoint::EndpointFuture;
        let url = match params.bucket() {
            None if params.use_s3_express_control_endpoint() == Some(true) => self.0.clone(),
            Some(bucket) if bucket.ends_with("--x-s3") => {
                format!("{}/{bucket}", self.0.trim_end_matches('/'))
            }
            _ => return self.1.resolve_endpoint(params),
        };
        let endpoint = aws_smithy_types::endpoint::Endpoint::builder()
            .url(url)
            .build();
        EndpointFuture::ready(Ok(endpoint))
    }
}

#[derive(Debug)]
struct FixedS3ControlEndpoint(String);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for FixedS3ControlEndpoint {
    fn resolve_endpoint<'a>(
        &'a self,
        _params: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
        let endpoint = aws_smithy_types::endpoint::Endpoint::builder()
            .url(self.0.clone())
            .build();
        aws_sdk_s3control::config::endpoint::EndpointFuture::ready(Ok(endpoint))
    }
}

#[cfg(test)]
mod pacer_tests {
    use super::Pacer;
    use std::time::Duration;

    #[test]
    fn calls_take_evenly_spaced_slots_and_an_idle_pacer_starts_now() {
        let pacer = Pacer::per_second(4.0);
        let start = tokio::time::Instant::now();
        let slots: Vec<Duration> = (0..5).map(|_| pacer.reserve(start) - start).collect();
        assert_eq!(
            slots,
            [0, 250, 500, 750, 1000].map(Duration::from_millis).to_vec()
        );
        // After a pause longer than the backlog, the next call goes at once.
        let later = start + Duration::from_secs(10);
        assert_eq!(pacer.reserve(later), later);
        assert_eq!(pacer.reserve(later) - later, Duration::from_millis(250));
    }
}
