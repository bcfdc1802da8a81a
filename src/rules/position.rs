//! Where a top-level field of a YAML rule file is, so that an error inside a CEL expression
//! can point at the line and column of the file, not of the expression. The YAML parser gives
//! where each value starts (`FieldSpans`); this maps a position inside the value to the file.

use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

/// How a top-level field's value is written.
#[derive(Debug, Clone, Copy)]
enum ValueStart {
    /// `key: value` on the key's line, starting at this 1-based column.
    Inline { column: usize },
    /// `key: |` block scalar: the value starts on the line after `key_line`, indented by this
    /// much.
    Block { indent: usize },
    /// The key was not found (the file was valid YAML, so this is a nested or flow key).
    Unknown,
}

#[derive(Debug, Clone, Copy)]
pub struct FieldPosition {
    key_line: usize,
    value: ValueStart,
}

/// Where the top-level fields of a rule file start, as the YAML parser saw them (parsed
/// beside the rule itself; other fields are ignored here).
#[derive(serde::Deserialize, Default)]
pub struct FieldSpans {
    #[serde(default)]
    id: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    resource: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    requires: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    applies_if: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    condition: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    detail: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    examples: Option<Spanned<IgnoredAny>>,
}

impl FieldSpans {
    /// Where `field`'s value is in `text`: inline on the key's line, or a block scalar whose
    /// content starts on a later line.
    pub fn position(&self, text: &str, field: &str) -> FieldPosition {
        let span = match field {
            "id" => &self.id,
            "resource" => &self.resource,
            "requires" => &self.requires,
            "applies_if" => &self.applies_if,
            "condition" => &self.condition,
            "detail" => &self.detail,
            "examples" => &self.examples,
            _ => &None,
        };
        let Some((line, column)) = span.as_ref().map(crate::text::span_start) else {
            return FieldPosition {
                key_line: 1,
                value: ValueStart::Unknown,
            };
        };
        let source_line = text.lines().nth(line.saturating_sub(1)).unwrap_or_default();
        if source_line.starts_with(&format!("{field}:")) {
            // A quoted scalar's content starts after the quote.
            let quoted = matches!(source_line.chars().nth(column - 1), Some('"' | '\''));
            FieldPosition {
                key_line: line,
                value: ValueStart::Inline {
                    column: column + usize::from(quoted),
                },
            }
        } else {
            FieldPosition {
                key_line: line - 1,
                value: ValueStart::Block { indent: column - 1 },
            }
        }
    }
}

impl FieldPosition {
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

    fn position(text: &str, field: &str) -> FieldPosition {
        let spans: FieldSpans = crate::text::from_yaml(text).unwrap();
        spans.position(text, field)
    }

    #[test]
    fn block_scalars_map_below_the_key() {
        let text = "id: x\ncondition: |\n  a.b &&\n    c\n";
        let p = position(text, "condition");
        assert_eq!(p.map("a.b &&\n  c\n", 2, 3), (4, 5));
        assert_eq!(p.map_offset("a.b &&\n  c\n", 9), (4, 5));
    }

    #[test]
    fn inline_values_map_on_the_key_line() {
        let text = "condition: a.b\n";
        assert_eq!(position(text, "condition").map("a.b", 1, 2), (1, 13));
        let quoted = "id: x\ncondition: \"a.b\"\n";
        assert_eq!(position(quoted, "condition").map("a.b", 1, 2), (2, 14));
    }
}
