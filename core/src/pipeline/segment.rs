//! Segmentation: cut a response into prose, fence markup and code.
//!
//! Fences follow CommonMark: a line indented at most three spaces that opens with three or more
//! backticks or tildes, an optional info string whose first word is the language, and a closing
//! line of the same character at least as long. An unterminated fence runs to the end of the
//! response (as CommonMark renders it) and is reported. Inline code spans inside prose become
//! their own segments. (Whether a response without fences is code is decided by the pipeline,
//! which parses it once for both questions.)

use serde::{Deserialize, Serialize};

use crate::Diagnostic;
use crate::pipeline::lang::Language;
use crate::span::Span;

/// What a segment is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SegmentKind {
    /// Text between fences.
    Prose,
    /// A backtick span inside prose; scored and selected as prose.
    InlineCode,
    /// An opening or closing fence line: markup, never supervised.
    Fence,
    /// The inside of a fence (or a whole unfenced response). `tag` is the info string's first
    /// word as written; `language` is what codeblock parses it as.
    Code { tag: String, language: Language },
}

/// A run of the response with one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    #[serde(flatten)]
    pub kind: SegmentKind,
    pub span: Span,
}

/// Splits `text` into segments that tile it exactly, in order.
pub fn segment(text: &str, diagnostics: &mut Vec<Diagnostic>) -> Vec<Segment> {
    let mut blocks = Vec::new();
    let mut prose_start = 0;
    let mut lines = lines_with_offsets(text).peekable();
    while let Some((line_start, line)) = lines.next() {
        let Some(open) = parse_fence(line) else { continue };
        blocks.push((Span::new(prose_start, line_start), None));
        blocks.push((Span::new(line_start, line_start + line.len()), Some(SegmentKind::Fence)));
        let code_start = line_start + line.len();
        let mut code_end = text.len();
        let mut closed = false;
        for (close_start, close_line) in lines.by_ref() {
            if is_closing_fence(close_line, &open) {
                code_end = close_start;
                blocks.push((Span::new(code_start, code_end), Some(code_kind(&open.tag))));
                blocks.push((
                    Span::new(close_start, close_start + close_line.len()),
                    Some(SegmentKind::Fence),
                ));
                prose_start = close_start + close_line.len();
                closed = true;
                break;
            }
        }
        if !closed {
            diagnostics.push(Diagnostic::new(
                Span::new(line_start, text.len()),
                "unterminated code fence: the code runs to the end of the response",
            ));
            blocks.push((Span::new(code_start, code_end), Some(code_kind(&open.tag))));
            prose_start = text.len();
        }
    }
    blocks.push((Span::new(prose_start, text.len()), None));

    let mut segments = Vec::new();
    for (span, kind) in blocks {
        match kind {
            _ if span.is_empty() => {}
            Some(kind) => segments.push(Segment { kind, span }),
            None => split_inline_code(text, span, &mut segments),
        }
    }
    segments
}

struct Fence {
    marker: u8,
    length: usize,
    tag: String,
}

fn code_kind(tag: &str) -> SegmentKind {
    SegmentKind::Code {
        tag: tag.to_string(),
        language: Language::from_tag(tag),
    }
}

/// Lines with their start offsets; each line keeps its terminator.
fn lines_with_offsets(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_inclusive('\n').scan(0, |offset, line| {
        let start = *offset;
        *offset += line.len();
        Some((start, line))
    })
}

fn fence_indent(line: &str) -> Option<&str> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    (indent <= 3).then(|| &line[indent..])
}

fn parse_fence(line: &str) -> Option<Fence> {
    let rest = fence_indent(line)?;
    let marker = *rest.as_bytes().first()?;
    if marker != b'`' && marker != b'~' {
        return None;
    }
    let length = rest.bytes().take_while(|&b| b == marker).count();
    let info = rest[length..].trim();
    if length < 3 || (marker == b'`' && info.contains('`')) {
        return None;
    }
    let tag = info
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_start_matches('{')
        .trim_end_matches('}');
    Some(Fence {
        marker,
        length,
        tag: tag.to_string(),
    })
}

fn is_closing_fence(line: &str, open: &Fence) -> bool {
    let Some(rest) = fence_indent(line) else { return false };
    let length = rest.bytes().take_while(|&b| b == open.marker).count();
    length >= open.length && rest[length..].trim().is_empty()
}

/// Cuts a prose span into prose and inline code spans (a run of N backticks closed by the next
/// run of exactly N backticks; an unclosed run is plain prose).
fn split_inline_code(text: &str, span: Span, segments: &mut Vec<Segment>) {
    let bytes = text.as_bytes();
    let mut prose_start = span.start;
    let mut i = span.start;
    while i < span.end {
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let run = bytes[i..span.end].iter().take_while(|&&b| b == b'`').count();
        match find_backtick_run(bytes, i + run, span.end, run) {
            Some(close) => {
                push_prose(segments, Span::new(prose_start, i));
                segments.push(Segment {
                    kind: SegmentKind::InlineCode,
                    span: Span::new(i, close + run),
                });
                i = close + run;
                prose_start = i;
            }
            None => i += run,
        }
    }
    push_prose(segments, Span::new(prose_start, span.end));
}

fn find_backtick_run(bytes: &[u8], from: usize, end: usize, run: usize) -> Option<usize> {
    let mut i = from;
    while i < end {
        if bytes[i] == b'`' {
            let len = bytes[i..end].iter().take_while(|&&b| b == b'`').count();
            if len == run {
                return Some(i);
            }
            i += len;
        } else {
            i += 1;
        }
    }
    None
}

fn push_prose(segments: &mut Vec<Segment>, span: Span) {
    if !span.is_empty() {
        segments.push(Segment {
            kind: SegmentKind::Prose,
            span,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(String, &str)> {
        let mut diagnostics = Vec::new();
        segment(text, &mut diagnostics)
            .into_iter()
            .map(|s| {
                let name = match &s.kind {
                    SegmentKind::Code { tag, .. } => format!("code:{tag}"),
                    other => format!("{other:?}").to_lowercase(),
                };
                (name, &text[s.span.start..s.span.end])
            })
            .collect()
    }

    #[test]
    fn fences_with_and_without_tags() {
        let text = "Use `f`:\n```python\nx = 1\n```\nand\n~~~\ny\n~~~\n";
        assert_eq!(
            kinds(text),
            vec![
                ("prose".into(), "Use "),
                ("inlinecode".into(), "`f`"),
                ("prose".into(), ":\n"),
                ("fence".into(), "```python\n"),
                ("code:python".into(), "x = 1\n"),
                ("fence".into(), "```\n"),
                ("prose".into(), "and\n"),
                ("fence".into(), "~~~\n"),
                ("code:".into(), "y\n"),
                ("fence".into(), "~~~\n"),
            ]
        );
    }

    #[test]
    fn longer_fences_nest_shorter_ones_and_unterminated_runs_to_end() {
        let text = "````md\n```\ninner\n```\n````\n";
        assert_eq!(kinds(text)[1], ("code:md".into(), "```\ninner\n```\n"));
        let mut diagnostics = Vec::new();
        let segments = segment("a\n```py\nx = 1", &mut diagnostics);
        assert_eq!(segments.last().unwrap().span, Span::new(8, 13));
        assert_eq!(diagnostics.len(), 1);
    }

    #[test]
    fn crlf_fences() {
        let text = "Hi\r\n```python\r\nx = 1\r\n```\r\n";
        assert_eq!(kinds(text)[2], ("code:python".into(), "x = 1\r\n"));
    }

    #[test]
    fn text_without_fences_is_prose_here() {
        assert_eq!(
            kinds("This is prose, not code."),
            vec![("prose".into(), "This is prose, not code.")]
        );
    }
}
