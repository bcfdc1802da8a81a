//! Reading a snapshot file, with errors that say where the file is broken.

use std::path::{Path, PathBuf};

use super::{SCHEMA_VERSION, Snapshot};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read snapshot {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}:{line}:{column} (byte {byte}): not a valid s3audit snapshot: {message}\n{excerpt}"
    )]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        byte: usize,
        message: String,
        excerpt: String,
    },
    #[error(
        "{path}: snapshot schema_version {found} is not supported (this s3audit reads version {SCHEMA_VERSION})"
    )]
    Version { path: PathBuf, found: u64 },
}

/// Reads and validates a snapshot file.
pub fn load_file(path: &Path) -> Result<Snapshot, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    from_json_str(&text, path)
}

/// Parses a snapshot; `path` only names the source in errors.
pub fn from_json_str(text: &str, path: &Path) -> Result<Snapshot, LoadError> {
    // The version is checked first so that a future snapshot gets a version error, not a
    // confusing complaint about a field this build does not know.
    #[derive(serde::Deserialize)]
    struct VersionOnly {
        schema_version: u64,
    }
    if let Ok(v) = serde_json::from_str::<VersionOnly>(text)
        && v.schema_version != u64::from(SCHEMA_VERSION)
    {
        return Err(LoadError::Version {
            path: path.to_path_buf(),
            found: v.schema_version,
        });
    }
    serde_json::from_str::<Snapshot>(text).map_err(|e| syntax_error(text, path, &e))
}

fn syntax_error(text: &str, path: &Path, e: &serde_json::Error) -> LoadError {
    let at = JsonErrorAt::of(text, e);
    LoadError::Syntax {
        path: path.to_path_buf(),
        line: at.line,
        column: at.column,
        byte: at.byte,
        message: at.message,
        excerpt: at.excerpt,
    }
}

/// Where a JSON file is broken and why, for any file s3audit reads with serde_json.
pub(crate) struct JsonErrorAt {
    pub line: usize,
    pub column: usize,
    pub byte: usize,
    /// serde_json's message without its " at line L column C": the position is printed
    /// from the fields above.
    pub message: String,
    /// The line with a caret under the column.
    pub excerpt: String,
}

impl JsonErrorAt {
    pub fn of(text: &str, e: &serde_json::Error) -> JsonErrorAt {
        let (line, column) = (e.line(), e.column());
        let full = e.to_string();
        let message = match full.rfind(" at line ") {
            Some(i) => full[..i].to_string(),
            None => full,
        };
        JsonErrorAt {
            line,
            column,
            byte: byte_offset(text, line, column),
            message,
            excerpt: crate::text::excerpt(text, line, column),
        }
    }
}

/// The 0-based byte offset of a 1-based line and column (serde_json counts columns in bytes).
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (line_start + column.saturating_sub(1)).min(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_truncated_file_names_line_column_and_byte() {
        let text = "{\n  \"schema_version\": 1,\n  \"tool\": {\"name\": \"s3audit\"";
        let err = from_json_str(text, Path::new("x.json")).unwrap_err();
        let LoadError::Syntax {
            line, column, byte, ..
        } = &err
        else {
            panic!("expected a syntax error, got {err}");
        };
        assert_eq!((*line, *column), (3, 28));
        assert_eq!(*byte, text.len() - 1);
    }

    #[test]
    fn a_wrong_field_type_names_its_position() {
        let text = r#"{"schema_version": 1, "tool": {"name": 5, "version": "x"}}"#;
        let err = from_json_str(text, Path::new("x.json")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("x.json:1:40 (byte 39)"), "{msg}");
        assert!(msg.contains("expected a string"), "{msg}");
    }

    #[test]
    fn another_schema_version_is_refused_by_name() {
        let text = r#"{"schema_version": 7, "whatever": true}"#;
        let err = from_json_str(text, Path::new("x.json")).unwrap_err();
        assert!(matches!(err, LoadError::Version { found: 7, .. }), "{err}");
    }
}
