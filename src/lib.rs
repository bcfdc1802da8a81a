//! s3audit: a compliance auditor for Amazon S3 across an AWS Organization.
//!
//! The data flows one way, one module per stage:
//! crawl → [`snapshot`] → [`analyze`] → [`rules`] (evaluate) → [`report`].

pub mod analyze;
pub mod cli;
pub mod config;
pub mod crawl;
pub mod report;
pub mod rules;
pub mod snapshot;
pub mod text;
