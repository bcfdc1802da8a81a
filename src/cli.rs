//! The command line: parses arguments, runs the pipeline, renders errors once, and maps the
//! outcome to an exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand, ValueEnum};

use crate::report::{self, Results};
use crate::rules::{self, RuleSet, Severity, examples};
use crate::snapshot;

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

#[derive(Parser, Debug)]
#[command(
    name = "s3audit",
    version,
    about = "Compliance auditor for Amazon S3 across an AWS Organization"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
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
    match cli.command {
        Command::Evaluate { snapshot, report } => evaluate_file(&snapshot, &report),
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
