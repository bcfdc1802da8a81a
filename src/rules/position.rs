//! Where a top-level field of a YAML rule file is, so that an error inside a CEL expression
//! can point at the line and column of the file, not of the expression.

/// How a top-level field's value is written.
#[derive(Debug, Clone, Copy)]
enum ValueStart {
    /// `key: value` on the key's line, starting at this 1-based column.
    Inline { column: usize },
    /// `key: |` block scalar: the value starts on the next line, indented by this much.
    Block { indent: usize },
    /// The key was not found (the file was valid YAML, so this is a nested or flow key).
    Unknown,
}

#[derive(Debug, Clone, Copy)]
pub struct FieldPosition {
    key_line: usize,
    value: ValueStart,
}

impl FieldPosition {
    pub fn find(text: &str, field: &str) -> FieldPosition {
        let prefix = format!("{field}:");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(rest) = line.strip_prefix(&prefix) else {
                continue;
            };
            let trimmed = rest.trim_start();
            let value = if trimmed.starts_with('|') || trimmed.starts_with('>') {
                let indent = lines[i + 1..]
                    .iter()
                    .find(|l| !l.trim().is_empty())
                    .map_or(2, |l| l.len() - l.trim_start().len());
                ValueStart::Block { indent }
            } else {
                let mut column = prefix.len() + (rest.len() - trimmed.len()) + 1;
                // A quoted scalar's content starts after the quote.
                if trimmed.starts_with('"') || trimmed.starts_with('\'') {
                    column += 1;
                }
                ValueStart::Inline { column }
            };
            return FieldPosition {
                key_line: i + 1,
                value,
            };
        }
        FieldPosition {
            key_line: 1,
            value: ValueStart::Unknown,
        }
    }

    /// The line and column of the key itself.
    pub fn key_position(&self) -> (usize, usize) {
        (self.key_line, 1)
    }

    /// Maps a 1-based line and column inside the field's value to the file.
    pub fn map(&self, _value: &str, line: usize, column: usize) -> (usize, usize) {
        match self.value {
            ValueStart::Inline { column: start } => (self.key_line, start + column - 1),
            ValueStart::Block { indent } => (self.key_line + line, indent + column),
            ValueStart::Unknown => (self.key_line, 1),
        }
    }

    /// Maps a character offset inside the field's value to the file.
    pub fn map_offset(&self, value: &str, offset: usize) -> (usize, usize) {
        let before: String = value.chars().take(offset).collect();
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        self.map(value, line, column)
    }
}

pub fn excerpt_at(text: &str, line: usize, column: usize) -> String {
    let excerpt = crate::text::excerpt(text, line, column);
    if excerpt.is_empty() {
        excerpt
    } else {
        format!("\n{excerpt}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_scalars_map_below_the_key() {
        let text = "id: x\ncondition: |\n  a.b &&\n    c\n";
        let p = FieldPosition::find(text, "condition");
        assert_eq!(p.map("a.b &&\n  c\n", 2, 3), (4, 5));
        assert_eq!(p.map_offset("a.b &&\n  c\n", 9), (4, 5));
    }

    #[test]
    fn inline_values_map_on_the_key_line() {
        let text = "condition: a.b\n";
        let p = FieldPosition::find(text, "condition");
        assert_eq!(p.map("a.b", 1, 2), (1, 13));
    }
}
