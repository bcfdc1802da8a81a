//! The crawler: finds the accounts (the organization, or the caller's own), enters each one
//! (its own credentials or `sts:AssumeRole`), and reads everything into a snapshot. An
//! account that cannot be entered is recorded with the reason; the others are still read.

mod account;
mod bucket;
pub mod classify;
pub mod clients;
pub mod listing;
mod progress;
pub mod recorder;
mod storage_metrics;

use std::collections::BTreeSet;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use classify::explain;
use futures::StreamExt;

use clients::{AccountClients, Connection, RequestLimits};
use progress::Progress;
use recorder::Recorder;

use crate::snapshot::{
    Account, AccountAccess, Organization, ReadFailure, ReadPlan, Section, Shard, Snapshot,
};

/// What to crawl and how hard.
#[derive(Debug, Clone)]
pub struct CrawlOptions {
    pub connection: Connection,
    /// Every ACTIVE account of the organization, instead of the caller's account only.
    pub org: bool,
    /// Only these account ids.
    pub accounts: Vec<String>,
    pub exclude_accounts: Vec<String>,
    /// Only accounts under this organizational unit, recursively.
    pub ou: Option<String>,
    /// Only the accounts of this shard (by a hash of the account id).
    pub shard: Option<Shard>,
    /// With `org`: the membership as `s3audit list-accounts` wrote it, instead of reading
    /// Organizations again.
    pub accounts_from: Option<listing::AccountListing>,
    /// The sections to read: those the enabled rules need, or every one.
    pub read_plan: ReadPlan,
    pub role_name: String,
    pub external_id: Option<String>,
    pub max_accounts: usize,
    pub max_buckets_per_account: usize,
    pub max_requests: usize,
    /// Requests in flight in one account.
    pub max_requests_per_account: usize,
    /// A steady cap on the run's request rate.
    pub max_requests_per_second: Option<f64>,
    pub quiet: bool,
}

/// An account to read, as Organizations (or STS) described it.
#[derive(Debug, Clone)]
struct Target {
    id: String,
    name: Option<String>,
}

pub async fn crawl(options: &CrawlOptions) -> Result<Snapshot> {
    let started = Instant::now();
    let started_at = now_rfc3339();
    let recorder = Recorder::default();
    let base = clients::base_config(&options.connection).await;
    let (caller_account, partition) = identify(&base, &recorder).await?;

    let (organization, targets) = if options.org {
        let (organization, targets) = match &options.accounts_from {
            Some(listing) => listed_accounts(&base, &recorder, listing).await?,
            None => organization_accounts(&base, &recorder, &[], options.ou.as_deref()).await?,
        };
        (Some(organization), targets)
    } else {
        let targets = vec![Target {
            id: caller_account.clone(),
            name: None,
        }];
        (None, targets)
    };
    let mut targets = filter_targets(targets, options)?;
    // After the filters: a shard is a share of the accounts the whole run would audit.
    if let Some(shard) = &options.shard {
        targets.retain(|t| shard.contains(&t.id));
    }

    let progress = Progress::new(options.quiet);
    progress.set_accounts(targets.len() as u64);
    let requests = RequestLimits::new(
        options.max_requests,
        options.max_requests_per_account,
        options.max_requests_per_second,
    );
    let mut accounts: Vec<Account> = futures::stream::iter(targets)
        .map(|target| {
            let (base, recorder, requests, progress) = (&base, &recorder, &requests, &progress);
            let (caller_account, partition) = (&caller_account, &partition);
            async move {
                let account = crawl_account(
                    target,
                    base,
                    recorder,
                    requests.clone(),
                    caller_account,
                    partition,
                    options,
                    progress,
                )
                .await;
                let problem = match &account.access {
                    AccountAccess::Failed { message, .. } => Some(message.as_str()),
                    _ => None,
                };
                let buckets = account.buckets.value().map_or(0, Vec::len);
                progress.account_done(&account.id, buckets, problem);
                account
            }
        })
        .buffer_unordered(options.max_accounts.max(1))
        .collect()
        .await;
    progress.finish();
    accounts.sort_by(|a, b| a.id.cmp(&b.id));

    Ok(Snapshot {
        duration_ms: started.elapsed().as_millis() as u64,
        api_calls: recorder.operations(),
        shard: options.shard,
        ..Snapshot::new(&started_at, &partition, organization, accounts)
    })
}

/// The organization's membership for `s3audit list-accounts`: the organization, and its
/// ACTIVE accounts (under `--ou` when given). `--accounts`, `--exclude-accounts` and
/// `--shard` are left to the runs that use the listing.
pub async fn list_accounts(options: &listing::ListOptions) -> Result<listing::AccountListing> {
    let recorder = Recorder::default();
    let base = clients::base_config(&options.connection).await;
    let (organization, targets) =
        organization_accounts(&base, &recorder, &[], options.ou.as_deref()).await?;
    Ok(listing::AccountListing {
        format: listing::LISTING_FORMAT.to_string(),
        listed_at: now_rfc3339(),
        organization,
        ou: options.ou.clone(),
        accounts: targets
            .into_iter()
            .map(|t| listing::ListedAccount {
                id: t.id,
                name: t.name,
            })
            .collect(),
    })
}

/// The accounts of a listing, once the caller is known to be in that organization: a
/// listing of another organization would audit accounts the credentials cannot enter, or
/// worse, the wrong ones.
async fn listed_accounts(
    base: &aws_config::SdkConfig,
    recorder: &Recorder,
    listing: &listing::AccountListing,
) -> Result<(Organization, Vec<Target>)> {
    let id = describe_organization(&clients::organizations(base, recorder, &[]))
        .await
        .context("cannot check the account listing against the credentials' organization")?
        .id;
    if id != listing.organization.id {
        bail!(
            "the account listing is of organization {}, but these credentials are in {id}; \
             help: write the listing with `s3audit list-accounts` and the same credentials",
            listing.organization.id
        );
    }
    let targets = listing
        .accounts
        .iter()
        .map(|a| Target {
            id: a.id.clone(),
            name: a.name.clone(),
        })
        .collect();
    Ok((listing.organization.clone(), targets))
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("the current time formats")
}

/// The caller's account and partition (`sts:GetCallerIdentity`).
async fn identify(base: &aws_config::SdkConfig, recorder: &Recorder) -> Result<(String, String)> {
    let identity = clients::sts(base, recorder)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(explain("GetCallerIdentity", &e)))
        .context(
            "cannot identify the caller (sts:GetCallerIdentity); \
             help: check the AWS credentials (environment, --profile, SSO login)",
        )?;
    let caller_account = identity
        .account()
        .context("sts:GetCallerIdentity returned no account")?
        .to_string();
    // `arn:aws:...`, `arn:aws-cn:...`: the partition is the ARN's second field.
    let partition = identity
        .arn()
        .and_then(|arn| arn.split(':').nth(1))
        .unwrap_or("aws")
        .to_string();
    Ok((caller_account, partition))
}

/// Reads single resources again after a change (`s3audit watch`): the caller is identified
/// once and each account's clients are kept, so a change costs one `AssumeRole` per account
/// per session, then only the reads of the changed resource.
pub struct Rereader {
    base: aws_config::SdkConfig,
    recorder: Recorder,
    caller_account: String,
    partition: String,
    options: CrawlOptions,
    limits: RequestLimits,
    entered: tokio::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<AccountClients>>>,
}

impl Rereader {
    pub async fn new(options: CrawlOptions) -> Result<Rereader> {
        let recorder = Recorder::default();
        let base = clients::base_config(&options.connection).await;
        let (caller_account, partition) = identify(&base, &recorder).await?;
        let limits = RequestLimits::new(
            options.max_requests,
            options.max_requests_per_account,
            options.max_requests_per_second,
        );
        Ok(Rereader {
            base,
            recorder,
            caller_account,
            partition,
            options,
            limits,
            entered: tokio::sync::Mutex::new(std::collections::HashMap::new()),
        })
    }

    /// The caller's configuration (for the SQS and SNS clients of `watch`).
    pub fn base_config(&self) -> &aws_config::SdkConfig {
        &self.base
    }

    /// Every AWS operation called so far, with counts.
    pub fn api_calls(&self) -> std::collections::BTreeMap<String, u64> {
        self.recorder.operations()
    }

    /// The account's clients: the caller's own, or through the audit role; the reason when
    /// the account cannot be entered.
    async fn enter(&self, account_id: &str) -> Result<std::sync::Arc<AccountClients>, String> {
        let mut entered = self.entered.lock().await;
        if let Some(clients) = entered.get(account_id) {
            return Ok(clients.clone());
        }
        let config = if account_id == self.caller_account {
            self.base.clone()
        } else {
            let role_arn = format!(
                "arn:{}:iam::{account_id}:role/{}",
                self.partition, self.options.role_name
            );
            clients::assume_role(
                &self.base,
                &role_arn,
                self.options.external_id.as_deref(),
                &self.recorder,
            )
            .await
            .map_err(|f| format!("cannot assume {role_arn}: {}", f.message))?
        };
        let clients = std::sync::Arc::new(AccountClients::new(
            config,
            self.recorder.clone(),
            self.options.connection.endpoint_url.clone(),
            self.limits.clone(),
        ));
        entered.insert(account_id.to_string(), clients.clone());
        Ok(clients)
    }

    /// The bucket as it is now; `Ok(None)` when it no longer exists.
    pub async fn bucket(
        &self,
        account_id: &str,
        name: &str,
        created: Option<String>,
    ) -> Result<Option<crate::snapshot::Bucket>, String> {
        let clients = self.enter(account_id).await?;
        Ok(account::reread_bucket(&clients, name, created, &self.options.read_plan).await)
    }

    /// The account's Block Public Access settings as they are now.
    pub async fn account_public_access_block(
        &self,
        account_id: &str,
    ) -> Result<Section<crate::snapshot::PublicAccessBlock>, String> {
        let clients = self.enter(account_id).await?;
        Ok(account::reread_account_public_access_block(&clients, account_id).await)
    }
}

#[allow(clippy::too_many_arguments)]
async fn crawl_account(
    target: Target,
    base: &aws_config::SdkConfig,
    recorder: &Recorder,
    requests: RequestLimits,
    caller_account: &str,
    partition: &str,
    options: &CrawlOptions,
    progress: &Progress,
) -> Account {
    let (config, access) = if target.id == caller_account {
        (base.clone(), AccountAccess::Caller)
    } else {
        let role_arn = format!(
            "arn:{partition}:iam::{}:role/{}",
            target.id, options.role_name
        );
        match clients::assume_role(base, &role_arn, options.external_id.as_deref(), recorder).await
        {
            Ok(config) => (config, AccountAccess::AssumedRole { role_arn }),
            Err(failure) => return not_entered(target, role_arn, failure),
        }
    };
    let clients = AccountClients::new(
        config,
        recorder.clone(),
        options.connection.endpoint_url.clone(),
        requests,
    );
    let data = account::read_account(
        &clients,
        &target.id,
        options.max_buckets_per_account,
        progress,
        &options.read_plan,
    )
    .await;
    Account {
        id: target.id,
        name: target.name,
        access,
        ..data
    }
}

/// An account whose role could not be assumed: recorded, with every section an error that
/// names the reason, so that nothing in it can pass.
fn not_entered(target: Target, role_arn: String, failure: clients::AssumeRoleFailure) -> Account {
    let reason = ReadFailure {
        code: failure.code.clone(),
        message: format!("the account could not be entered: {}", failure.message),
        ..ReadFailure::default()
    };
    Account::every_section(
        &target.id,
        target.name,
        AccountAccess::Failed {
            role_arn: Some(role_arn),
            code: failure.code,
            message: failure.message,
        },
        &Section::error(reason),
    )
}

/// The organization and its ACTIVE accounts (under `--ou` when given).
/// The organization the credentials are in (`DescribeOrganization`), its members not yet
/// listed.
async fn describe_organization(client: &aws_sdk_organizations::Client) -> Result<Organization> {
    let described = client
        .describe_organization()
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(explain("DescribeOrganization", &e)))
        .context(
            "cannot describe the organization; help: --org needs credentials of the \
             management account or a delegated administrator (organizations:DescribeOrganization)",
        )?;
    let org = described
        .organization()
        .context("DescribeOrganization returned no organization")?;
    // The id tells organizations apart when shards are merged: never guessed.
    Ok(Organization {
        id: org
            .id()
            .context("DescribeOrganization returned no organization id")?
            .to_string(),
        management_account_id: org
            .master_account_id()
            .context("DescribeOrganization returned no management account id")?
            .to_string(),
        account_ids: Vec::new(),
    })
}

async fn organization_accounts(
    base: &aws_config::SdkConfig,
    recorder: &Recorder,
    extra_interceptors: &[aws_smithy_runtime_api::client::interceptors::SharedInterceptor],
    ou: Option<&str>,
) -> Result<(Organization, Vec<Target>)> {
    let client = clients::organizations(base, recorder, extra_interceptors);
    let mut organization = describe_organization(&client).await?;
    // Every account of the organization: the audit targets come from here (or from the OU
    // below), and policy analysis needs the membership of all of them.
    let mut members = Vec::new();
    let mut pages = client.list_accounts().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page
            .map_err(|e| anyhow::anyhow!(explain("ListAccounts", &e)))
            .context("organizations:ListAccounts failed")?;
        members.extend(page.accounts().iter().cloned());
    }
    organization.account_ids = members
        .iter()
        .filter_map(|a| a.id().map(str::to_string))
        .collect();
    organization.account_ids.sort();
    let accounts = match ou {
        None => members,
        Some(ou) => accounts_under(&client, ou).await?,
    };
    let targets = accounts
        .into_iter()
        .filter(is_active)
        .filter_map(|a| {
            Some(Target {
                id: a.id()?.to_string(),
                name: a.name().map(str::to_string),
            })
        })
        .collect();
    Ok((organization, targets))
}

/// Accounts under an organizational unit, recursively: the accounts directly under each OU,
/// then its child OUs, depth first.
async fn accounts_under(
    client: &aws_sdk_organizations::Client,
    ou: &str,
) -> Result<Vec<aws_sdk_organizations::types::Account>> {
    let mut accounts = Vec::new();
    let mut parents = vec![ou.to_string()];
    while let Some(parent) = parents.pop() {
        let mut pages = client
            .list_accounts_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page
                .map_err(|e| anyhow::anyhow!(explain("ListAccountsForParent", &e)))
                .with_context(|| format!("organizations:ListAccountsForParent {parent} failed"))?;
            accounts.extend(page.accounts().iter().cloned());
        }
        let mut pages = client
            .list_organizational_units_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page
                .map_err(|e| anyhow::anyhow!(explain("ListOrganizationalUnitsForParent", &e)))
                .with_context(|| {
                    format!("organizations:ListOrganizationalUnitsForParent {parent} failed")
                })?;
            parents.extend(
                page.organizational_units()
                    .iter()
                    .filter_map(|u| u.id().map(str::to_string)),
            );
        }
    }
    Ok(accounts)
}

/// ACTIVE accounts only: suspended and closing accounts cannot be audited.
fn is_active(account: &aws_sdk_organizations::types::Account) -> bool {
    #[allow(deprecated)]
    let status = account.status().map(|s| s.as_str().to_string());
    let state = account.state().map(|s| s.as_str().to_string());
    state.or(status).is_some_and(|s| s == "ACTIVE")
}

/// Applies `--accounts` and `--exclude-accounts`; an id given to `--accounts` that is not
/// among the candidates is an error rather than a silent no-op.
fn filter_targets(targets: Vec<Target>, options: &CrawlOptions) -> Result<Vec<Target>> {
    let known: BTreeSet<&str> = targets.iter().map(|t| t.id.as_str()).collect();
    if let Some(missing) = options
        .accounts
        .iter()
        .find(|id| !known.contains(id.as_str()))
    {
        bail!(
            "account {missing} given to --accounts is not among the accounts to audit ({}); \
             help: with --org it must be an ACTIVE account of the organization (and under --ou)",
            known.iter().copied().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(targets
        .into_iter()
        .filter(|t| options.accounts.is_empty() || options.accounts.contains(&t.id))
        .filter(|t| !options.exclude_accounts.contains(&t.id))
        .collect())
}

#[cfg(test)]
mod tests;
