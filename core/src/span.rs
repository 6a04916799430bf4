//! Byte spans and the position conversions around them.
//!
//! Every span in codeblock is a half-open byte range into the original UTF-8 text. Editors and
//! JavaScript count in UTF-16 code units, people count in lines: [`LineIndex`] converts exactly,
//! whatever the line endings (LF or CRLF) and however many bytes a character takes.

use serde::{Deserialize, Serialize};

/// A half-open byte range `[start, end)` into a text; in JSON, `[start, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(from = "(usize, usize)", into = "(usize, usize)")]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        debug_assert!(start <= end, "span {start}..{end} is reversed");
        Span { start, end }
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// True when the two spans share at least one byte.
    pub fn overlaps(&self, other: Span) -> bool {
        self.start < other.end && other.start < self.end
    }

    pub fn contains(&self, other: Span) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// The same span moved right by `offset` bytes.
    pub fn shift(&self, offset: usize) -> Span {
        Span::new(self.start + offset, self.end + offset)
    }
}

impl From<(usize, usize)> for Span {
    fn from((start, end): (usize, usize)) -> Self {
        Span { start, end }
    }
}

impl From<Span> for (usize, usize) {
    fn from(span: Span) -> Self {
        (span.start, span.end)
    }
}

/// Merges overlapping or touching spans into a sorted, disjoint list.
pub fn merge_spans(mut spans: Vec<Span>) -> Vec<Span> {
    spans.retain(|s| !s.is_empty());
    spans.sort();
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => merged.push(span),
        }
    }
    merged
}

/// Line starts of a text, for byte → (line, column) and byte → UTF-16 conversions.
#[derive(Debug, Clone)]
pub struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, line_starts }
    }

    /// The 1-based line that holds byte `offset` (an offset at the end of the text belongs to the last line).
    pub fn line(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }

    /// 1-based first and last line of a span; an empty span sits on the line of its start.
    pub fn line_range(&self, span: Span) -> (usize, usize) {
        let last = if span.is_empty() { span.start } else { span.end - 1 };
        (self.line(span.start), self.line(last))
    }

    /// Number of UTF-16 code units before byte `offset`, which must lie on a char boundary.
    pub fn utf16_offset(&self, offset: usize) -> usize {
        self.text[..offset].encode_utf16().count()
    }

    /// Number of Unicode scalar values before byte `offset`, which must lie on a char boundary.
    pub fn char_offset(&self, offset: usize) -> usize {
        self.text[..offset].chars().count()
    }
}

/// Where positions count in: bytes of UTF-8 (Rust, Python, files) or UTF-16 code units
/// (JavaScript strings, VS Code, the Language Server Protocol).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Positions {
    #[default]
    Bytes,
    Utf16,
}

/// Byte offsets of one text to UTF-16 offsets, for converting many spans at once.
#[derive(Debug, Clone)]
pub struct Utf16Map {
    /// The UTF-16 offset of every byte offset `0..=len` (inside a character: its start's).
    units: Vec<usize>,
}

impl Utf16Map {
    pub fn new(text: &str) -> Self {
        let mut units = Vec::with_capacity(text.len() + 1);
        let mut unit = 0;
        for c in text.chars() {
            units.extend(std::iter::repeat_n(unit, c.len_utf8()));
            unit += c.len_utf16();
        }
        units.push(unit);
        Utf16Map { units }
    }

    pub fn span(&self, span: Span) -> Span {
        Span::new(self.units[span.start], self.units[span.end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_with_crlf_and_multibyte() {
        let text = "é = 1\r\nπ = 2\n";
        let index = LineIndex::new(text);
        assert_eq!(index.line(0), 1);
        let pi = text.find('π').unwrap();
        assert_eq!(index.line(pi), 2);
        assert_eq!(index.line_range(Span::new(pi, pi + 2)), (2, 2));
        assert_eq!(index.line_range(Span::new(0, pi)), (1, 1), "the CRLF belongs to line 1");
        assert_eq!(index.char_offset(pi), 7);
        assert_eq!(index.utf16_offset(pi), 7);
        assert_eq!(index.line(text.len()), 3);
    }

    #[test]
    fn utf16_counts_surrogate_pairs() {
        let text = "🦀x";
        let index = LineIndex::new(text);
        assert_eq!(index.utf16_offset(4), 2);
        assert_eq!(index.char_offset(4), 1);
        let map = Utf16Map::new(text);
        assert_eq!(map.span(Span::new(0, 5)), Span::new(0, 3));
        assert_eq!(map.span(Span::new(4, 5)), Span::new(2, 3));
    }

    #[test]
    fn merge_joins_touching_and_overlapping() {
        let merged = merge_spans(vec![Span::new(5, 7), Span::new(0, 2), Span::new(2, 3), Span::new(6, 9)]);
        assert_eq!(merged, vec![Span::new(0, 3), Span::new(5, 9)]);
    }
}
