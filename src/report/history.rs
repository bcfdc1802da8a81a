//! The history folder of a nightly run (`--history-dir DIR --keep N`): each run's JSON
//! results are kept there, the oldest pruned, and the trend of failures over the kept runs is
//! added to the report.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Results;

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HistoryPoint {
    pub started_at: String,
    pub fail: u64,
    pub unknown: u64,
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
    pub info: u64,
}

impl HistoryPoint {
    pub fn of(results: &Results) -> HistoryPoint {
        let by = |s: &str| {
            results
                .summary
                .findings_by_severity
                .get(s)
                .copied()
                .unwrap_or(0)
        };
        HistoryPoint {
            started_at: results.snapshot.started_at.clone(),
            fail: results.summary.fail,
            unknown: results.summary.unknown,
            critical: by("critical"),
            high: by("high"),
            medium: by("medium"),
            low: by("low"),
            info: by("info"),
        }
    }
}

/// The results files kept in `dir`, oldest first (their names sort by time).
fn kept_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the history folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("s3audit-") && n.ends_with(".json"))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// The trend over the kept results plus `current` (last).
pub fn trend(dir: &Path, current: &Results) -> Result<Vec<HistoryPoint>> {
    let mut points = Vec::new();
    for file in kept_files(dir)? {
        let previous = Results::load(&file)?;
        if previous.snapshot.started_at != current.snapshot.started_at {
            points.push(HistoryPoint::of(&previous));
        }
    }
    points.push(HistoryPoint::of(current));
    Ok(points)
}

/// Saves `current` into `dir` and removes all but the newest `keep` results.
pub fn save(dir: &Path, current: &Results, keep: usize) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the history folder {}", dir.display()))?;
    // RFC 3339 times sort as text; `:` is not welcome in file names everywhere.
    let stamp = current.snapshot.started_at.replace(':', "");
    let path = dir.join(format!("s3audit-{stamp}.json"));
    let file =
        std::fs::File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
    serde_json::to_writer(std::io::BufWriter::new(file), current)
        .with_context(|| format!("cannot write {}", path.display()))?;
    let files = kept_files(dir)?;
    let excess = files.len().saturating_sub(keep.max(1));
    for old in &files[..excess] {
        std::fs::remove_file(old).with_context(|| format!("cannot remove {}", old.display()))?;
    }
    Ok(path)
}
