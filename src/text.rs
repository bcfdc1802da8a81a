//! Small helpers for error messages that point into a file, and the one YAML entry point:
//! rule, framework and configuration files are read with `serde-saphyr`, which reports the
//! line and column of every error and of any value read as `Spanned`.

/// A YAML document that does not fit its type: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parses YAML into `T`; duplicate keys are errors, as are unknown fields where `T` denies
/// them.
pub fn from_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    let options = serde_saphyr::options! { with_snippet: false };
    serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let (line, column) = e
            .location()
            .map_or((1, 1), |l| (l.line() as usize, l.column() as usize));
        // The message starts with "error: line L column C: ", which the caller prints its own
        // way (file:line:column and an excerpt).
        let full = e.to_string();
        let first = full
            .split_once(&format!("line {line} column {column}: "))
            .map_or(full.as_str(), |(_, rest)| rest)
            .lines()
            .next()
            .unwrap_or_default();
        let bare = first
            .strip_suffix(&format!(" at line {line}, column {column}"))
            .unwrap_or(first);
        // Name the field: the key written on the error's line, when there is one.
        let key = text
            .lines()
            .nth(line.saturating_sub(1))
            .map(|l| l.trim_start().trim_start_matches("- "))
            .and_then(|l| l.split_once(':'))
            .map(|(key, _)| key.trim())
            .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        let message = match key {
            Some(key) if !bare.contains(&format!("`{key}`")) => format!("{key}: {bare}"),
            _ => bare.to_string(),
        };
        YamlError {
            line,
            column,
            message,
        }
    })
}

/// Where a value starts: its 1-based line and column, as the YAML parser saw it.
pub fn span_start<T>(spanned: &serde_saphyr::Spanned<T>) -> (usize, usize) {
    (
        spanned.referenced.line() as usize,
        spanned.referenced.column() as usize,
    )
}

/// The given line of `text` (cut to a readable width around the column) with a caret under
/// the 1-based column, indented for display under an error message.
pub fn excerpt(text: &str, line: usize, column: usize) -> String {
    let Some(source_line) = text.lines().nth(line.saturating_sub(1)) else {
        return String::new();
    };
    let column = column.max(1);
    const WIDTH: usize = 100;
    let start = column.saturating_sub(WIDTH / 2);
    let shown: String = source_line.chars().skip(start).take(WIDTH).collect();
    let caret_at = column - 1 - start;
    format!("  | {shown}\n  | {}^", " ".repeat(caret_at))
}

#[cfg(test)]
mod tests {
    #[test]
    fn yaml_errors_give_line_column_and_the_bare_message() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Doc {
            id: String,
        }
        let e = super::from_yaml::<Doc>("id: x\nbogus: 1\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 1));
        assert!(
            e.message.starts_with("unknown field `bogus`"),
            "{}",
            e.message
        );
        let e = super::from_yaml::<Doc>("id: x\nid: y\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("duplicate"), "{}", e.message);
    }

    #[test]
    fn the_caret_sits_under_the_column() {
        assert_eq!(super::excerpt("ab\ncdef", 2, 3), "  | cdef\n  |   ^");
    }
}
