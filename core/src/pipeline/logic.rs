//! Core logic: the parts of code whose tokens carry an item's logic.
//!
//! A token is core when it overlaps an identifier, a literal or an operator (calls and conditions
//! are made of these) and that overlap is not inside a comment, a docstring or an import
//! (`queries/python/core.scm` and `noncore.scm`). Keywords, punctuation and whitespace alone are
//! never core.

use crate::pipeline::captures::Captures;
use crate::span::Span;

/// Sorted, disjoint spans (in response offsets) where core logic lies in one parsed segment.
pub fn core_spans(captures: &Captures, offset: usize) -> Vec<Span> {
    subtract(&captures.core, &captures.noncore)
        .into_iter()
        .map(|s| s.shift(offset))
        .collect()
}

/// Whether `span` overlaps any of the sorted, disjoint `spans`.
pub fn overlaps_any(spans: &[Span], span: Span) -> bool {
    let first_ending_after = spans.partition_point(|s| s.end <= span.start);
    spans.get(first_ending_after).is_some_and(|s| s.overlaps(span))
}

/// `keep` minus `remove`, both sorted and disjoint.
pub fn subtract(keep: &[Span], remove: &[Span]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut r = 0;
    for &span in keep {
        let mut start = span.start;
        while r < remove.len() && remove[r].end <= start {
            r += 1;
        }
        let mut k = r;
        while k < remove.len() && remove[k].start < span.end {
            if remove[k].start > start {
                out.push(Span::new(start, remove[k].start));
            }
            start = start.max(remove[k].end);
            k += 1;
        }
        if start < span.end {
            out.push(Span::new(start, span.end));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::captures::capture;
    use crate::pipeline::lang::{Language, parse_python};

    fn core_texts(source: &str) -> Vec<&str> {
        let tree = parse_python(source);
        core_spans(&capture(&tree, Language::Python), 0)
            .into_iter()
            .map(|s| &source[s.start..s.end])
            .collect()
    }

    #[test]
    fn identifiers_operators_literals_are_core() {
        assert_eq!(core_texts("total += f(x, 2)\n"), ["total", "+=", "f", "x", "2"]);
    }

    #[test]
    fn comments_docstrings_imports_are_not() {
        let source = "import os\ndef f(a):\n    \"\"\"Doc.\"\"\"\n    return a  # the answer\n";
        assert_eq!(core_texts(source), ["f", "a", "a"]);
    }

    #[test]
    fn subtract_cuts_holes() {
        let keep = [Span::new(0, 10), Span::new(12, 14)];
        let remove = [Span::new(2, 3), Span::new(5, 13)];
        assert_eq!(
            subtract(&keep, &remove),
            [Span::new(0, 2), Span::new(3, 5), Span::new(13, 14)]
        );
    }

    #[test]
    fn overlap_lookup() {
        let spans = [Span::new(2, 4), Span::new(8, 9)];
        assert!(overlaps_any(&spans, Span::new(3, 6)));
        assert!(!overlaps_any(&spans, Span::new(4, 8)));
        assert!(overlaps_any(&spans, Span::new(0, 20)));
    }
}
