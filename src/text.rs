//! Small helpers for error messages that point into a file.

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
    fn the_caret_sits_under_the_column() {
        assert_eq!(super::excerpt("ab\ncdef", 2, 3), "  | cdef\n  |   ^");
    }
}
