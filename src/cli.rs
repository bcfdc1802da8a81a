//! The command line: parses arguments, runs the pipeline, renders errors once, and maps the
//! outcome to an exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand, ValueEnum};

use crate::report::{self, Results};
use crate::rules::{self, RuleSet, Severity, examples};
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
    /// The role assumed in every account but the caller's.
    #[arg(long, default_value = "OrganizationAccountAccessRole")]
    pub role_name: String,
    /// The external id the role's trust policy requires.
    #[arg(long)]
    pub external_id: Option<String>,
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
    /// Seconds before one AWS call (retries included) is abandoned and recorded as an error.
    #[arg(long, default_value_t = 60)]
    pub call_timeout: u64,
    /// Attempts per AWS call, with the SDK's adaptive retry between them.
    #[arg(long, default_value_t = 5)]
    pub max_attempts: u32,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub report: ReportArgs,
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
    /// Print the least-privilege IAM policy for the calls s3audit makes.
    IamPolicy,
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
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Console,
    Json,
    Sarif,
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
    /// Report formats, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "console,json,sarif"
    )]
    pub format: Vec<Format>,
    /// Where `s3audit.json` and `s3audit.sarif` are written.
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub output_dir: PathBuf,
    /// Exit 1 when a finding has this severity or a higher one.
    #[arg(long, value_enum, default_value = "low")]
    pub fail_on: FailOn,
    /// Exit 3 when some outcomes are unknown (data that could not be read).
    #[arg(long)]
    pub fail_on_unknown: bool,
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(exit::USAGE)
        }
    }
}

pub fn run(cli: Cli) -> Result<u8> {
    let Some(command) = cli.command else {
        return scan(&cli.scan);
    };
    match command {
        Command::Evaluate { snapshot, report } => evaluate_file(&snapshot, &report),
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
            };
            println!("{}", serde_json::to_string_pretty(&schema)?);
            Ok(exit::CLEAN)
        }
    }
}

fn scan(args: &ScanArgs) -> Result<u8> {
    // Rules load first: a broken rule file should fail before minutes of crawling.
    let rules = RuleSet::load(args.report.rules_dir.as_deref())?;
    let options = crawl::CrawlOptions {
        connection: crawl::clients::Connection {
            profile: args.profile.clone(),
            region: args.region.clone(),
            endpoint_url: args.endpoint_url.clone(),
            call_timeout: std::time::Duration::from_secs(args.call_timeout),
            max_attempts: args.max_attempts,
        },
        org: args.org,
        accounts: args.accounts.clone(),
        exclude_accounts: args.exclude_accounts.clone(),
        ou: args.ou.clone(),
        role_name: args.role_name.clone(),
        external_id: args.external_id.clone(),
        max_accounts: args.max_accounts,
        max_buckets_per_account: args.max_buckets,
        max_requests: args.max_requests,
        quiet: args.quiet,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let snapshot = runtime.block_on(crawl::crawl(&options))?;
    if let Some(path) = &args.snapshot {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        write_json(path, &snapshot)?;
        eprintln!("wrote {}", path.display());
    }
    let evaluations = rules::evaluate(&snapshot, &rules);
    let results = Results::build(&snapshot, &rules, &evaluations);
    write_reports(&results, &rules, &args.report)?;
    Ok(exit_code(&results, &args.report))
}

fn evaluate_file(path: &Path, args: &ReportArgs) -> Result<u8> {
    let rules = RuleSet::load(args.rules_dir.as_deref())?;
    let snapshot = snapshot::load_file(path)?;
    let evaluations = rules::evaluate(&snapshot, &rules);
    let results = Results::build(&snapshot, &rules, &evaluations);
    write_reports(&results, &rules, args)?;
    Ok(exit_code(&results, args))
}

/// Writes the requested formats; console goes to stdout, files to the output directory.
pub fn write_reports(results: &Results, rules: &RuleSet, args: &ReportArgs) -> Result<()> {
    let dir = &args.output_dir;
    let needs_dir = args.format.iter().any(|f| *f != Format::Console);
    if needs_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the output directory {}", dir.display()))?;
    }
    let mut written = Vec::new();
    for format in &args.format {
        match format {
            Format::Console => print!("{}", report::console::render(results)),
            Format::Json => {
                let path = dir.join("s3audit.json");
                write_json(&path, results)?;
                written.push(path);
            }
            Format::Sarif => {
                let path = dir.join("s3audit.sarif");
                write_json(&path, &report::sarif::render(results, rules))?;
                written.push(path);
            }
        }
    }
    for path in written {
        eprintln!("wrote {}", path.display());
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
            print!(
                "{}",
                report::sarif::help_markdown(rule, &rules.mappings(&rule.id))
            );
            println!(
                "\n## Condition (CEL, true when compliant)\n```\n{}\n```",
                rule.condition.source.trim()
            );
            if let Some(applies_if) = &rule.applies_if {
                println!("\n## Applies if\n```\n{}\n```", applies_if.source.trim());
            }
            println!("\nRequires: {}", rule.requires.join(", "));
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
