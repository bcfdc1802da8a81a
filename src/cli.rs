//! The command line: parses arguments, runs the pipeline, renders errors once, and maps the
//! outcome to an exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::report::{self, Results};
use crate::rules::{self, RuleSet, Severity, examples};
use crate::snapshot::Snapshot;
use crate::{crawl, snapshot};

/// Exit codes, documented in the README.
pub mod exit {
    /// No finding at or above `--fail-on`, and (with `--fail-on-unknown`) nothing unknown.
    pub const CLEAN: u8 = 0;
    /// Findings at or above `--fail-on`.
    pub const FINDINGS: u8 = 1;
    /// Bad usage or input: a broken snapshot or rule file, an unreadable path.
    pub const USAGE: u8 = 2;
    /// `--fail-on-unknown` and some outcomes are unknown: the scan is incomplete.
    pub const INCOMPLETE: u8 = 3;
}

/// Without a subcommand, s3audit crawls (the caller's account, or with `--org` every account
/// of the organization), evaluates and reports in one run.
#[derive(Parser, Debug)]
#[command(
    name = "s3audit",
    version,
    about = "Compliance auditor for Amazon S3 across an AWS Organization",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub scan: ScanArgs,
    /// More detail on stderr (-v: info, -vv: debug, -vvv: trace, including the AWS SDK).
    #[arg(long, short, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

#[derive(clap::Args, Debug, Clone)]
pub struct ScanArgs {
    /// Audit every ACTIVE account of the organization (management or delegated-admin credentials).
    #[arg(long)]
    pub org: bool,
    /// Only these account ids (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub accounts: Vec<String>,
    /// Skip these account ids (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub exclude_accounts: Vec<String>,
    /// Only accounts under this organizational unit, recursively (with --org).
    #[arg(long, value_name = "OU_ID", requires = "org")]
    pub ou: Option<String>,
    /// Audit only shard K of N (0-based) of the accounts, by a hash of the account id, for
    /// a CI matrix or a Kubernetes Indexed Job; `s3audit merge` joins the shards' snapshots.
    #[arg(long, value_name = "K/N", requires = "org", value_parser = parse_shard)]
    pub shard: Option<crate::snapshot::Shard>,
    /// With --org: take the organization's accounts from this file, written once by
    /// `s3audit list-accounts`, instead of reading Organizations in every shard (one
    /// `DescribeOrganization` checks that the credentials are in that organization).
    #[arg(long, value_name = "FILE", requires = "org", conflicts_with = "ou")]
    pub accounts_from: Option<PathBuf>,
    /// The role assumed in every account but the caller's.
    #[arg(long, default_value = "OrganizationAccountAccessRole")]
    pub role_name: String,
    /// The external id the role's trust policy requires.
    #[arg(long)]
    pub external_id: Option<String>,
    /// Also write the snapshot to this file, for `s3audit evaluate` later.
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
    /// Accounts read in parallel.
    #[arg(long, default_value_t = 8)]
    pub max_accounts: usize,
    /// Buckets read in parallel within one account.
    #[arg(long, default_value_t = 16)]
    pub max_buckets: usize,
    /// AWS requests in flight at once, over all accounts.
    #[arg(long, default_value_t = 64)]
    pub max_requests: usize,
    /// AWS requests in flight at once in one account (AWS throttles per account): lower it
    /// below --max-requests so that one large account cannot take every slot.
    #[arg(long, default_value_t = 64)]
    pub max_requests_per_account: usize,
    /// Space requests evenly at no more than this many per second over the whole run, for
    /// detection rules that fire on bursts of `GetBucket*` calls (default: no cap).
    #[arg(long, value_name = "N", value_parser = positive_rate)]
    pub max_requests_per_second: Option<f64>,
    /// Read every section of every bucket and account even when `rules.only`, `rules.disable`,
    /// `--only-rules` or `--disable-rules` select rules (a selection otherwise reads only
    /// the sections its rules need), for a complete snapshot.
    #[arg(long)]
    pub read_all: bool,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// How s3audit reaches AWS: credentials, endpoint, timeouts and retries.
#[derive(clap::Args, Debug, Clone)]
pub struct ConnectionArgs {
    /// The AWS profile for the base credentials, as in the AWS CLI.
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// The region for account-level calls, as in the AWS CLI (buckets are read in their own).
    #[arg(long)]
    pub region: Option<String>,
    /// Send every request to this URL (an emulator such as moto); S3 then uses path-style
    /// addressing.
    #[arg(long, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Seconds before one AWS call (retries included) is abandoned and recorded as an error.
    #[arg(long, default_value_t = 60)]
    pub call_timeout: u64,
    /// Attempts per AWS call, with the retries of `--retry-mode` between them.
    #[arg(long, default_value_t = 5)]
    pub max_attempts: u32,
    /// How throttled calls are retried: `standard` backs off each throttled call on its own;
    /// `adaptive` also slows every other call of the account's clients after throttling.
    #[arg(long, value_enum, default_value_t = crawl::clients::RetryMode::Standard)]
    pub retry_mode: crawl::clients::RetryMode,
    /// Milliseconds the first retry of a throttled or failed call waits at most (with
    /// jitter); each later attempt waits up to twice as long.
    #[arg(long, value_name = "MS", default_value_t = 200)]
    pub retry_backoff_ms: u64,
}

/// Which outcomes the reports list one by one.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeSelection {
    /// Findings and unknowns (passes and not applicable are counted only).
    Failing,
    /// Every outcome, passes and not applicable with why.
    All,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Evaluate the rules on a saved snapshot and write reports.
    Evaluate {
        /// The snapshot file (JSON, schema v1).
        snapshot: PathBuf,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// List, show and test the rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Compare two results (or snapshots): new, fixed and unchanged findings.
    Diff {
        /// The earlier JSON results (`s3audit.json`) or snapshot.
        old: PathBuf,
        /// The later JSON results or snapshot.
        new: PathBuf,
        /// Also load rules from this directory (when a snapshot is given).
        #[arg(long = "rules", value_name = "DIR")]
        rules_dir: Option<PathBuf>,
        /// The configuration file (when a snapshot is given).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Merge the snapshots of a sharded run (`--shard K/N`, every K) into one, then evaluate
    /// and report as `evaluate` does.
    Merge {
        /// The shards' snapshot files.
        #[arg(required = true)]
        snapshots: Vec<PathBuf>,
        /// Write the merged snapshot to this file.
        #[arg(long, value_name = "FILE")]
        snapshot: Option<PathBuf>,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Write a remediation plan for the open findings of a results file (`s3audit.json`): an
    /// AWS CLI script or Terraform, one change per finding whose rule has a fix. Generated
    /// only: s3audit never applies a change.
    Plan {
        /// The JSON results (`--format json`).
        results: PathBuf,
        #[arg(long, value_enum, default_value_t = report::plan::PlanFormat::Sh)]
        format: report::plan::PlanFormat,
        /// Only findings of these rules (comma-separated ids).
        #[arg(long = "rule", value_delimiter = ',', value_name = "ID,...")]
        rules: Vec<String>,
        /// Only findings in these accounts (comma-separated ids).
        #[arg(long = "account", value_delimiter = ',', value_name = "ID,...")]
        accounts: Vec<String>,
        /// Also load rules from this directory, as the run that wrote the results did.
        #[arg(long = "rules", value_name = "DIR")]
        rules_dir: Option<PathBuf>,
        /// Write the plan to this file instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Re-audit within seconds of a change: read the CloudTrail events EventBridge delivers
    /// to an SQS queue, read the changed buckets again, update the snapshot (`--snapshot`,
    /// required) and the JSON results in --output-dir, and print each finding that changed
    /// (new, fixed, unknown) as a JSON line. See docs/watch.md for the queue and the rule.
    Watch {
        /// The SQS queue EventBridge delivers the S3 CloudTrail events to.
        #[arg(long, value_name = "URL")]
        queue_url: String,
        /// Also publish each changed finding to this SNS topic (email, chat, a webhook).
        #[arg(long, value_name = "ARN")]
        sns_topic_arn: Option<String>,
        /// Seconds one receive waits for a message (SQS long polling, at most 20).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(i32).range(0..=20))]
        wait_seconds: i32,
        /// After the first message of a burst, milliseconds to keep collecting before acting:
        /// a burst of calls on one bucket is read once.
        #[arg(long, value_name = "MS", default_value_t = 500)]
        debounce_ms: u64,
        /// Stop after this many seconds without a message (default: run until stopped).
        #[arg(long, value_name = "SECONDS")]
        idle_exit: Option<u64>,
        #[command(flatten)]
        scan: Box<ScanArgs>,
    },
    /// Read the organization's membership once and write it (`--out FILE`, JSON) for the
    /// shards of a run to share with `--org --accounts-from FILE --shard K/N`. Lists the
    /// ACTIVE accounts, under `--ou` when given.
    ListAccounts {
        /// Where to write the listing.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Only accounts under this organizational unit, recursively.
        #[arg(long, value_name = "OU_ID")]
        ou: Option<String>,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// Print the least-privilege IAM policy for the calls s3audit makes.
    IamPolicy,
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
    /// Print the JSON Schema of a file format.
    Schema {
        #[arg(value_enum)]
        format: SchemaFormat,
    },
}

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// List every rule with its severity, resource and framework mappings.
    List {
        /// Also load rules from this directory (added, or replacing embedded ones by id).
        #[arg(long = "rules", value_name = "DIR")]
        rules_dir: Option<PathBuf>,
    },
    /// Show one rule's documentation.
    Show {
        id: String,
        #[arg(long = "rules", value_name = "DIR")]
        rules_dir: Option<PathBuf>,
    },
    /// Write the rule documentation (one Markdown page per rule and an index).
    Docs {
        /// Where to write the pages.
        #[arg(long, value_name = "DIR", default_value = "docs/rules")]
        out: PathBuf,
        /// Write nothing; exit 1 and list the pages that differ from the rule files.
        #[arg(long)]
        check: bool,
    },
    /// Per framework: requirements automated by rules, and the manual ones with the reason.
    Coverage {
        #[arg(long = "rules", value_name = "DIR")]
        rules_dir: Option<PathBuf>,
    },
    /// Run every rule's examples; exits non-zero on any mismatch.
    Test {
        /// A directory of rule files to test together with the embedded ones.
        dir: Option<PathBuf>,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum SchemaFormat {
    Snapshot,
    Results,
    Config,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Console,
    Json,
    Sarif,
    Html,
}

/// `--fail-on`: a severity, or `none` to never exit 1 for findings.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    Critical,
    High,
    Medium,
    Low,
    Info,
    None,
}

impl FailOn {
    fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Critical => Some(Severity::Critical),
            FailOn::High => Some(Severity::High),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::Low => Some(Severity::Low),
            FailOn::Info => Some(Severity::Info),
            FailOn::None => None,
        }
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct ReportArgs {
    /// Also load rules from this directory (added, or replacing embedded ones by id).
    #[arg(long = "rules", value_name = "DIR")]
    pub rules_dir: Option<PathBuf>,
    /// The configuration file: rules to run, severity overrides, critical buckets, waivers
    /// (JSON Schema: docs/config.schema.json).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Run only these rules (comma-separated ids; added to `rules.only` of the config). A
    /// crawl then reads only the sections they need.
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub only_rules: Vec<String>,
    /// Do not run these rules (comma-separated ids; added to `rules.disable`).
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub disable_rules: Vec<String>,
    /// `all`: also list every passing and not applicable (rule, resource) pair with why, in
    /// the JSON results and the HTML report (evidence for auditors; larger files).
    #[arg(long, value_enum, default_value_t = OutcomeSelection::Failing)]
    pub outcomes: OutcomeSelection,
    /// Report formats, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "console,json,sarif,html"
    )]
    pub format: Vec<Format>,
    /// Where `s3audit.json`, `s3audit.sarif` (or `s3audit-<n>.sarif`) and `s3audit.html` are
    /// written.
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub output_dir: PathBuf,
    /// Exit 1 when a finding (not waived) has this severity or a higher one.
    #[arg(long, value_enum, default_value = "low")]
    pub fail_on: FailOn,
    /// Exit 3 when some outcomes are unknown (data that could not be read).
    #[arg(long)]
    pub fail_on_unknown: bool,
    /// A previous JSON result: findings are marked new or unchanged, and fixed ones listed.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Keep each run's JSON result in this folder and show the trend of failures.
    #[arg(long, value_name = "DIR")]
    pub history_dir: Option<PathBuf>,
    /// How many results the history folder keeps.
    #[arg(long, default_value_t = 30, requires = "history_dir")]
    pub keep: usize,
    /// No progress output and no console summary (the files are still written).
    #[arg(long, short)]
    pub quiet: bool,
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(exit::USAGE)
        }
    }
}

/// Diagnostics on stderr; `RUST_LOG` overrides the level chosen with `-v`.
fn init_tracing(verbose: u8) {
    let level = match verbose {
        // The SDK warns when STS refuses a role; s3audit reports that account itself.
        0 => "warn,aws_config::sts::assume_role=error",
        1 => "s3audit=info,warn",
        2 => "s3audit=debug,info",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::env::var_os("NO_COLOR").is_none())
        .try_init();
}

pub fn run(cli: Cli) -> Result<u8> {
    let Some(command) = cli.command else {
        return scan(&cli.scan);
    };
    match command {
        Command::Evaluate { snapshot, report } => evaluate_file(&snapshot, &report),
        Command::Merge {
            snapshots,
            snapshot,
            report,
        } => merge(&snapshots, snapshot.as_deref(), &report),
        Command::Diff {
            old,
            new,
            rules_dir,
            config,
        } => diff(&old, &new, rules_dir.as_deref(), config.as_deref()),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "s3audit", &mut std::io::stdout());
            Ok(exit::CLEAN)
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(command)
                .render(&mut std::io::stdout())
                .context("cannot write the man page")?;
            Ok(exit::CLEAN)
        }
        Command::Plan {
            results,
            format,
            rules,
            accounts,
            rules_dir,
            out,
        } => write_plan(
            &results,
            format,
            &report::plan::PlanFilter { rules, accounts },
            rules_dir.as_deref(),
            out.as_deref(),
        ),
        Command::Watch {
            queue_url,
            sns_topic_arn,
            wait_seconds,
            debounce_ms,
            idle_exit,
            scan,
        } => {
            let (rules, config) = load_rules(&scan.report)?;
            let snapshot = scan
                .snapshot
                .clone()
                .context("watch needs --snapshot FILE: the last snapshot, kept up to date")?;
            let options = crate::watch::WatchOptions {
                queue_url,
                snapshot,
                output_dir: scan.report.output_dir.clone(),
                sns_topic_arn,
                wait_seconds,
                debounce: std::time::Duration::from_millis(debounce_ms),
                idle_exit: idle_exit.map(std::time::Duration::from_secs),
                crawl: crawl_options(&scan, &rules, &config)?,
            };
            crate::watch::run(options, rules, config)?;
            Ok(exit::CLEAN)
        }
        Command::ListAccounts {
            out,
            ou,
            connection,
        } => list_accounts(&out, ou, &connection),
        Command::IamPolicy => {
            println!(
                "{}",
                serde_json::to_string_pretty(&crate::crawl::recorder::iam_policy())?
            );
            Ok(exit::CLEAN)
        }
        Command::Rules { command } => rules_command(command),
        Command::Schema { format } => {
            let schema = match format {
                SchemaFormat::Snapshot => snapshot::json_schema(),
                SchemaFormat::Results => report::json_schema(),
                SchemaFormat::Config => Config::json_schema(),
            };
            println!("{}", serde_json::to_string_pretty(&schema)?);
            Ok(exit::CLEAN)
        }
    }
}

fn scan(args: &ScanArgs) -> Result<u8> {
    // Rules, configuration and baseline load first: a broken file should fail before minutes
    // of crawling.
    let (rules, config) = load_rules(&args.report)?;
    let baseline = load_baseline(&args.report)?;
    let options = crawl_options(args, &rules, &config)?;
    let runtime = async_runtime()?;
    let snapshot = runtime.block_on(crawl::crawl(&options))?;
    if let Some(path) = &args.snapshot {
        save_snapshot(path, &snapshot, args.report.quiet)?;
    }
    report_on(&snapshot, &rules, &config, baseline.as_ref(), &args.report)
}

fn crawl_options(args: &ScanArgs, rules: &RuleSet, config: &Config) -> Result<crawl::CrawlOptions> {
    let accounts_from = args
        .accounts_from
        .as_deref()
        .map(crawl::listing::AccountListing::load)
        .transpose()?;
    Ok(crawl::CrawlOptions {
        connection: connection(&args.connection),
        org: args.org,
        accounts: args.accounts.clone(),
        exclude_accounts: args.exclude_accounts.clone(),
        ou: args.ou.clone(),
        shard: args.shard,
        accounts_from,
        // The whole catalog reads everything, for a complete snapshot; a selection of rules
        // (`rules.only`, `rules.disable`) reads only what it needs.
        read_plan: if args.read_all
            || (config.rules.only.is_empty() && config.rules.disable.is_empty())
        {
            snapshot::ReadPlan::everything()
        } else {
            rules.read_plan()
        },
        role_name: args.role_name.clone(),
        external_id: args.external_id.clone(),
        max_accounts: args.max_accounts,
        max_buckets_per_account: args.max_buckets,
        max_requests: args.max_requests,
        max_requests_per_account: args.max_requests_per_account,
        max_requests_per_second: args.max_requests_per_second,
        quiet: args.report.quiet,
    })
}

fn async_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn connection(args: &ConnectionArgs) -> crawl::clients::Connection {
    crawl::clients::Connection {
        profile: args.profile.clone(),
        region: args.region.clone(),
        endpoint_url: args.endpoint_url.clone(),
        call_timeout: std::time::Duration::from_secs(args.call_timeout),
        max_attempts: args.max_attempts,
        retry_mode: args.retry_mode,
        retry_backoff: std::time::Duration::from_millis(args.retry_backoff_ms),
    }
}

/// `s3audit list-accounts`: the organization's membership, read once, for the shards.
fn list_accounts(out: &Path, ou: Option<String>, connection_args: &ConnectionArgs) -> Result<u8> {
    let options = crawl::listing::ListOptions {
        connection: connection(connection_args),
        ou,
    };
    let runtime = async_runtime()?;
    let listing = runtime.block_on(crawl::list_accounts(&options))?;
    let text = serde_json::to_string_pretty(&listing)? + "\n";
    std::fs::write(out, text).with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!(
        "{}: {} ACTIVE account(s) of organization {}{}",
        out.display(),
        listing.accounts.len(),
        listing.organization.id,
        listing
            .ou
            .as_deref()
            .map_or(String::new(), |ou| format!(" under {ou}"))
    );
    Ok(exit::CLEAN)
}

fn write_plan(
    results: &Path,
    format: report::plan::PlanFormat,
    filter: &report::plan::PlanFilter,
    rules_dir: Option<&Path>,
    out: Option<&Path>,
) -> Result<u8> {
    let results = Results::load(results)?;
    let rules = RuleSet::load(rules_dir)?;
    if let Some(id) = filter.rules.iter().find(|id| rules.get(id).is_none()) {
        anyhow::bail!("--rule {id}: there is no such rule (`s3audit rules list` lists them)");
    }
    let plan = report::plan::plan(&results, &rules, format, filter);
    match out {
        Some(path) => std::fs::write(path, &plan.text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{}", plan.text),
    }
    eprintln!(
        "plan: {} finding(s) covered; {} left to fix by hand (listed at the end of the plan)",
        plan.covered.len(),
        plan.manual.len()
    );
    Ok(exit::CLEAN)
}

fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "`{text}` is not a positive number of requests per second"
        )),
    }
}

fn parse_shard(text: &str) -> Result<crate::snapshot::Shard, String> {
    crate::snapshot::Shard::parse(text)
}

fn save_snapshot(path: &Path, snapshot: &Snapshot, quiet: bool) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    write_json(path, snapshot)?;
    if !quiet {
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn merge(paths: &[PathBuf], out: Option<&Path>, args: &ReportArgs) -> Result<u8> {
    let (rules, config) = load_rules(args)?;
    let baseline = load_baseline(args)?;
    let mut parts = Vec::with_capacity(paths.len());
    for path in paths {
        parts.push((path.clone(), snapshot::load_file(path)?));
    }
    let merged = snapshot::merge(parts).context("cannot merge the snapshots")?;
    if let Some(path) = out {
        save_snapshot(path, &merged, args.quiet)?;
    }
    report_on(&merged, &rules, &config, baseline.as_ref(), args)
}

fn evaluate_file(path: &Path, args: &ReportArgs) -> Result<u8> {
    let (rules, config) = load_rules(args)?;
    let baseline = load_baseline(args)?;
    let snapshot = snapshot::load_file(path)?;
    report_on(&snapshot, &rules, &config, baseline.as_ref(), args)
}

/// The `--baseline` results. A file that does not exist yet (the first night) is no baseline,
/// with a warning; a file that exists but cannot be read is an error.
fn load_baseline(args: &ReportArgs) -> Result<Option<Results>> {
    let Some(path) = &args.baseline else {
        return Ok(None);
    };
    if !path.exists() {
        eprintln!(
            "warning: no baseline at {} yet: findings are not compared this time",
            path.display()
        );
        return Ok(None);
    }
    Results::load(path).map(Some)
}

/// The rules, narrowed and re-ranked by the configuration file when one is given.
fn load_rules(args: &ReportArgs) -> Result<(RuleSet, Config)> {
    let mut config = load_config(args.config.as_deref())?;
    config.rules.only.extend(args.only_rules.iter().cloned());
    config
        .rules
        .disable
        .extend(args.disable_rules.iter().cloned());
    rules_with_config(args.rules_dir.as_deref(), config)
}

fn load_config(path: Option<&Path>) -> Result<Config> {
    Ok(match path {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    })
}

fn rules_with_config(rules_dir: Option<&Path>, config: Config) -> Result<(RuleSet, Config)> {
    let mut rules = RuleSet::load(rules_dir)?;
    rules.configure(&config)?;
    Ok((rules, config))
}

/// Evaluate, compare with the baseline and history, write every format, and decide the exit
/// code: the part shared by a crawl and a saved snapshot.
fn report_on(
    snapshot: &Snapshot,
    rules: &RuleSet,
    config: &Config,
    baseline: Option<&Results>,
    args: &ReportArgs,
) -> Result<u8> {
    let evaluations = rules::evaluate(snapshot, rules, &config.selectors());
    let mut results = Results::build(snapshot, rules, &evaluations, config, &report::today());
    if args.outcomes == OutcomeSelection::All {
        results.record_decided(snapshot, rules, &evaluations);
    }
    // Everything from here on reads the results; a million outcomes need not stay in memory.
    drop(evaluations);
    if let Some(previous) = baseline {
        report::baseline::apply(&mut results, previous);
    }
    if let Some(dir) = &args.history_dir {
        results.history = report::history::trend(dir, &results)?;
    }
    write_reports(&results, rules, Some(snapshot), &config.selectors(), args)?;
    if let Some(dir) = &args.history_dir {
        let saved = report::history::save(dir, &results, args.keep)?;
        if !args.quiet {
            eprintln!("kept {}", saved.display());
        }
    }
    Ok(exit_code(&results, args))
}

fn diff(old: &Path, new: &Path, rules_dir: Option<&Path>, config: Option<&Path>) -> Result<u8> {
    let (rules, config) = rules_with_config(rules_dir, load_config(config)?)?;
    let load = |path: &Path| -> Result<Results> {
        // A results file has a `summary`; anything else is read as a snapshot.
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if text.contains("\"summary\"") {
            return Results::load(path);
        }
        let snapshot = snapshot::from_json_str(&text, path)?;
        let evaluations = rules::evaluate(&snapshot, &rules, &config.selectors());
        Ok(Results::build(
            &snapshot,
            &rules,
            &evaluations,
            &config,
            &report::today(),
        ))
    };
    let previous = load(old)?;
    let mut current = load(new)?;
    report::baseline::apply(&mut current, &previous);
    print!("{}", report::baseline::render_diff(&current));
    Ok(exit::CLEAN)
}

/// Writes the requested formats; console goes to stdout, files to the output directory.
pub fn write_reports(
    results: &Results,
    rules: &RuleSet,
    snapshot: Option<&Snapshot>,
    critical: &crate::config::BucketSelectors,
    args: &ReportArgs,
) -> Result<()> {
    let dir = &args.output_dir;
    let needs_dir = args.format.iter().any(|f| *f != Format::Console);
    if needs_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the output directory {}", dir.display()))?;
    }
    if args.format.contains(&Format::Console) && !args.quiet {
        use std::io::Write as _;
        // anstream drops the colours when stdout is not a terminal or NO_COLOR is set.
        let mut out = anstream::stdout();
        write!(out, "{}", report::console::render(results)).context("cannot write to stdout")?;
    }
    let wanted = |format| args.format.contains(&format);
    let index_of = report::sarif::rule_indexes(rules);
    let sarif_files = if wanted(Format::Sarif) {
        remove_stale_sarif(dir)?;
        report::sarif::render(results, rules, &index_of)
    } else {
        Vec::new()
    };
    // The files are written side by side: for a large organization the JSON and the SARIF
    // files are hundreds of megabytes each, and serializing them is most of a run's time.
    let write_one_json = || -> Result<Vec<PathBuf>> {
        if !wanted(Format::Json) {
            return Ok(Vec::new());
        }
        let path = dir.join("s3audit.json");
        write_json(&path, results)?;
        Ok(vec![path])
    };
    let write_sarif = || -> Result<Vec<PathBuf>> {
        use rayon::prelude::*;
        sarif_files
            .par_iter()
            .map(|file| {
                let path = dir.join(&file.name);
                write_json(&path, file)?;
                Ok(path)
            })
            .collect()
    };
    let write_html = || -> Result<Vec<PathBuf>> {
        if !wanted(Format::Html) {
            return Ok(Vec::new());
        }
        let path = dir.join("s3audit.html");
        let html = report::html::render(results, rules, snapshot, critical)?;
        std::fs::write(&path, html).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(vec![path])
    };
    let (json, (sarif, html)) =
        rayon::join(write_one_json, || rayon::join(write_sarif, write_html));
    let (json, sarif, html) = (json?, sarif?, html?);
    let mut written = Vec::new();
    for format in &args.format {
        match format {
            Format::Console => {}
            Format::Json => written.extend(json.iter().cloned()),
            Format::Sarif => written.extend(sarif.iter().cloned()),
            Format::Html => written.extend(html.iter().cloned()),
        }
    }
    if !args.quiet {
        for path in written {
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}

/// SARIF files of an earlier run in the same folder would be uploaded with this run's: a
/// run that needs fewer files must not leave old ones behind.
fn remove_stale_sarif(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        let stale = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("s3audit") && n.ends_with(".sarif"));
        if stale {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    Ok(())
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut writer, value)
        .with_context(|| format!("cannot write {}", path.display()))?;
    std::io::Write::flush(&mut writer).with_context(|| format!("cannot write {}", path.display()))
}

pub fn exit_code(results: &Results, args: &ReportArgs) -> u8 {
    let over_threshold = match (args.fail_on.threshold(), results.worst_severity()) {
        (Some(threshold), Some(worst)) => worst >= threshold,
        _ => false,
    };
    if over_threshold {
        exit::FINDINGS
    } else if args.fail_on_unknown && results.summary.unknown > 0 {
        exit::INCOMPLETE
    } else {
        exit::CLEAN
    }
}

fn rules_command(command: RulesCommand) -> Result<u8> {
    match command {
        RulesCommand::List { rules_dir } => {
            let rules = RuleSet::load(rules_dir.as_deref())?;
            println!("{:<50} {:<9} {:<8} MAPPINGS", "ID", "SEVERITY", "RESOURCE");
            for rule in &rules.rules {
                let mappings: Vec<String> = rules
                    .mappings(&rule.id)
                    .into_iter()
                    .map(|(f, r)| format!("{f}:{r}"))
                    .collect();
                println!(
                    "{:<50} {:<9} {:<8} {}",
                    rule.id,
                    rule.severity.as_str(),
                    rule.resource.as_str(),
                    mappings.join(", ")
                );
            }
            println!("\n{} rules", rules.rules.len());
            Ok(exit::CLEAN)
        }
        RulesCommand::Show { id, rules_dir } => {
            let rules = RuleSet::load(rules_dir.as_deref())?;
            let rule = rules
                .get(&id)
                .with_context(|| format!("no rule `{id}`; `s3audit rules list` lists them"))?;
            print!("{}", rules::docs::rule_page(rule, &rules));
            Ok(exit::CLEAN)
        }
        RulesCommand::Docs { out, check } => {
            let rules = RuleSet::load(None)?;
            if check {
                let stale = rules::docs::stale(&rules, &out);
                for name in &stale {
                    println!("stale: {}", out.join(name).display());
                }
                if !stale.is_empty() {
                    println!("run `s3audit rules docs --out {}`", out.display());
                    return Ok(exit::FINDINGS);
                }
                return Ok(exit::CLEAN);
            }
            rules::docs::write(&rules, &out)?;
            println!(
                "wrote {} rule pages and the index to {}",
                rules.rules.len(),
                out.display()
            );
            Ok(exit::CLEAN)
        }
        RulesCommand::Coverage { rules_dir } => {
            let rules = RuleSet::load(rules_dir.as_deref())?;
            for c in rules::docs::coverage(&rules) {
                let total = c.framework.requirements.len();
                println!(
                    "{:<40} {:>3}/{:<3} automated, {} manual",
                    format!("{} ({})", c.framework.id, c.framework.version),
                    c.automated,
                    total,
                    c.manual.len()
                );
                for (id, title, reason) in &c.manual {
                    println!(
                        "    manual {id} {title}: {}",
                        reason.trim().replace('\n', " ")
                    );
                }
            }
            Ok(exit::CLEAN)
        }
        RulesCommand::Test { dir } => {
            let rules = RuleSet::load(dir.as_deref())?;
            let report = examples::run_all(&rules);
            for failure in &report.failures {
                println!("FAIL {failure}");
            }
            println!(
                "{} rules, {} examples, {} failed",
                rules.rules.len(),
                report.examples_run,
                report.failures.len()
            );
            Ok(if report.failures.is_empty() {
                exit::CLEAN
            } else {
                exit::FINDINGS
            })
        }
    }
}
