//! The structure stages of a response, before tokens: segment, parse, partition, names and core
//! logic, each code segment parsed once. Also the structure of Python source alone, for editors.

use crate::Diagnostic;
use crate::pipeline::analysis::PreparedItem;
use crate::pipeline::captures;
use crate::pipeline::lang::{self, Language};
use crate::pipeline::logic;
use crate::pipeline::names::{Edge, NameIndex};
use crate::pipeline::output::{CodeItem, CodeItems};
use crate::pipeline::partition::{self, PartitionConfig};
use crate::pipeline::segment::{self, Segment, SegmentKind};
use crate::span::{LineIndex, Span, merge_spans};

/// The structure of a response: segments, items, core logic, def-use edges.
#[derive(Debug, Clone)]
pub struct Structure {
    pub segments: Vec<Segment>,
    /// Items with their token lists still empty.
    pub items: Vec<PreparedItem>,
    /// Sorted, disjoint spans of core logic.
    pub core: Vec<Span>,
    /// Sorted, disjoint spans of wording inside code: the occurrences that introduce a new name
    /// and the contents of long string literals (`score.core_tokens = without_wording`).
    pub wording: Vec<Span>,
    pub edges: Vec<Edge>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The structure stages: segment, parse, partition, names and core logic.
pub fn structure(response: &str, config: &PartitionConfig) -> Structure {
    let mut diagnostics = Vec::new();
    let mut segments = segment::segment(response, &mut diagnostics);
    // A response without fences is code when it parses as Python; that parse is kept.
    let mut unfenced = None;
    if !segments.iter().any(|s| s.kind == SegmentKind::Fence) {
        let tree = lang::parse_python(response);
        if lang::looks_like_python(&tree, response) {
            let kind = SegmentKind::Code {
                tag: String::new(),
                language: Language::Python,
            };
            segments = vec![Segment {
                kind,
                span: Span::new(0, response.len()),
            }];
            unfenced = Some(tree);
        }
    }
    structure_of(response, segments, unfenced, diagnostics, config)
}

/// The coding items of Python source alone (a file in an editor): one code segment, partitioned
/// even where it does not parse (syntax errors become diagnostics).
pub fn code_items(code: &str, config: &PartitionConfig) -> CodeItems {
    if let Some(why) = unparsable(code, config) {
        let index = LineIndex::new(code);
        let diagnostic = Diagnostic::new(Span::new(0, code.len()), format!("{}: not partitioned", why.message));
        return CodeItems {
            items: Vec::new(),
            edges: Vec::new(),
            core: Vec::new(),
            diagnostics: vec![diagnostic.located(&index)],
        };
    }
    let whole = Segment {
        kind: SegmentKind::Code {
            tag: "python".into(),
            language: Language::Python,
        },
        span: Span::new(0, code.len()),
    };
    let structure = structure_of(code, vec![whole], None, Vec::new(), config);
    let index = LineIndex::new(code);
    CodeItems {
        items: structure
            .items
            .iter()
            .map(|item| CodeItem {
                span: item.span,
                lines: index.line_range(item.span),
                kind: item.kind,
                node: item.node_kind.clone(),
                depth: item.depth,
            })
            .collect(),
        edges: structure.edges,
        core: structure.core,
        diagnostics: structure.diagnostics.iter().map(|d| d.located(&index)).collect(),
    }
}

/// Why code is not parsed: a shape that tree-sitter-python handles in time that grows with
/// its square. `select` rejects such a record (`reason`); an editor's call gets a diagnostic.
#[derive(Debug, Clone, PartialEq)]
pub struct Unparsable {
    pub reason: &'static str,
    pub message: String,
}

/// Whether `text` is [`Unparsable`]:
/// - more bytes than `max_code_bytes`: the tree cursors over the parse of some broken code
///   (one long line of operators) walk back over the error's children at each step (a 1 MB
///   line of `!/` took 3.7 s, 4 MB 52 s);
/// - a run of comment lines (blank lines between them count as part of the run): the
///   scanner looks ahead over the rest of the run at each of its lines inside a block, where a
///   dedent may follow (4,000 lines took 4.8 s);
/// - brackets nested deeper than CPython allows (200): each step of the parse's tree cursors
///   walks back over the whole depth (100,000 took 15 s).
pub fn unparsable(text: &str, config: &PartitionConfig) -> Option<Unparsable> {
    if text.len() > config.max_code_bytes {
        let message = format!(
            "{} bytes of code; the limit is {} (partition.max_code_bytes: walking the parse of \
             some broken code takes time that grows with the square of its size)",
            text.len(),
            config.max_code_bytes
        );
        return Some(Unparsable {
            reason: "code_too_large",
            message,
        });
    }
    let (mut longest, mut run) = (0, 0);
    for line in text.lines().map(str::trim_start) {
        match line {
            "" => {}
            comment if comment.starts_with('#') => {
                run += 1;
                longest = longest.max(run);
            }
            _ => run = 0,
        }
    }
    if longest > config.max_comment_run {
        let message = format!(
            "a run of {longest} comment lines; the limit is {} (partition.max_comment_run: the \
             Python parser's time grows with its square)",
            config.max_comment_run
        );
        return Some(Unparsable {
            reason: "comment_run_too_long",
            message,
        });
    }
    let (mut deepest, mut depth) = (0usize, 0usize);
    for byte in text.bytes() {
        match byte {
            b'(' | b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    (deepest > config.max_nesting).then(|| Unparsable {
        reason: "nesting_too_deep",
        message: format!(
            "brackets nested {deepest} deep; the limit is {} (partition.max_nesting: the Python \
             parser's time grows with the square of the depth, and CPython refuses more than 200)",
            config.max_nesting
        ),
    })
}

/// Partition, names and core logic of every code segment; `unfenced` is the parse of a
/// response that is code without fences, kept to avoid parsing it twice.
fn structure_of(
    text: &str,
    mut segments: Vec<Segment>,
    mut unfenced: Option<tree_sitter::Tree>,
    mut diagnostics: Vec<Diagnostic>,
    config: &PartitionConfig,
) -> Structure {
    let mut items = Vec::new();
    let mut names = NameIndex::default();
    let mut core = Vec::new();
    let mut wording = Vec::new();
    for (index, seg) in segments.iter_mut().enumerate() {
        let SegmentKind::Code { tag, language } = &mut seg.kind else {
            continue;
        };
        let source = &text[seg.span.start..seg.span.end];
        let tree = unfenced.take().unwrap_or_else(|| lang::parse_python(source));
        if tag.is_empty() && *language == Language::Python && !lang::mostly_parses(&tree) {
            *language = Language::Other;
            diagnostics.push(Diagnostic::new(
                seg.span,
                "untagged fence that does not parse as Python: kept as other code",
            ));
            continue;
        }
        if *language != Language::Python {
            diagnostics.push(Diagnostic::new(
                seg.span,
                "code in another language: kept, not partitioned",
            ));
            continue;
        }
        let captures = captures::capture(&tree);
        let parts = partition::partition(&tree, &captures, seg.span.start, config, &mut diagnostics);
        names.add_segment(items.len(), &parts, source, seg.span.start);
        for part in &parts {
            items.push(PreparedItem {
                span: part.span.shift(seg.span.start),
                kind: part.kind,
                node_kind: part.node_kind.to_string(),
                depth: part.depth,
                segment: index,
                tokens: Vec::new(),
                core_tokens: Vec::new(),
            });
        }
        core.extend(logic::core_spans(&captures, seg.span.start));
        wording.extend(captures.long_strings.iter().map(|s| s.shift(seg.span.start)));
    }
    let edges = names.edges();
    // Nested error nodes can report the same span twice.
    diagnostics.sort_by_key(|d| d.span);
    diagnostics.dedup();
    wording.extend(names.new_names());
    Structure {
        segments,
        items,
        core,
        wording: merge_spans(wording),
        edges,
        diagnostics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Code past the size limit gets one diagnostic and no items, before any parse.
    #[test]
    fn code_past_the_size_limit_is_not_parsed() {
        let config = PartitionConfig {
            max_code_bytes: 64,
            ..PartitionConfig::default()
        };
        let code = "x = 1\n".repeat(10);
        assert_eq!(code_items(&code, &config).items.len(), 10);
        let refused = code_items(&code.repeat(2), &config);
        assert!(refused.items.is_empty());
        let [diagnostic] = refused.diagnostics.as_slice() else {
            panic!("{:?}", refused.diagnostics)
        };
        assert!(
            diagnostic.message.starts_with("120 bytes of code; the limit is 64"),
            "{}",
            diagnostic.message
        );
    }

    /// Comment runs count across blank lines, at any indent; past the limit an editor's call
    /// gets one diagnostic and no items (parsing it would take the square of the run).
    #[test]
    fn a_long_run_of_comments_is_not_parsed() {
        let config = PartitionConfig::default();
        assert_eq!(unparsable("# a\nx = 1\n  # b\n\n# c\n", &config), None);
        let code = |comments: usize| format!("def f():\n    x = 1\n{}    return x\n", "    # why\n".repeat(comments));
        assert_eq!(code_items(&code(config.max_comment_run), &config).items.len(), 3);
        let refused = code_items(&code(config.max_comment_run + 1), &config);
        assert!(refused.items.is_empty());
        let [diagnostic] = refused.diagnostics.as_slice() else {
            panic!("{:?}", refused.diagnostics)
        };
        assert!(
            diagnostic.message.starts_with("a run of 257 comment lines"),
            "{}",
            diagnostic.message
        );
    }

    /// Brackets nested deeper than CPython allows are not parsed (a fuzzed 3 MB line of `(`
    /// hung the parse); closers past zero do not go negative.
    #[test]
    fn brackets_nested_too_deep_are_not_parsed() {
        let config = PartitionConfig::default();
        let nested = |depth: usize| format!("x = {}1{}\n", "(".repeat(depth), ")".repeat(depth));
        assert_eq!(
            unparsable(&format!("))) {}", nested(config.max_nesting)), &config),
            None
        );
        assert_eq!(code_items(&nested(config.max_nesting), &config).items.len(), 1);
        let why = unparsable(&nested(config.max_nesting + 1), &config).expect("too deep");
        assert_eq!(why.reason, "nesting_too_deep");
        assert!(why.message.starts_with("brackets nested 201 deep"), "{}", why.message);
        assert!(code_items(&nested(config.max_nesting + 1), &config).items.is_empty());
    }

    #[test]
    fn code_items_count_in_bytes_or_utf16() {
        let code = "s = 'é'\nt = s + s\n";
        let bytes = code_items(code, &PartitionConfig::default());
        let spans: Vec<Span> = bytes.items.iter().map(|i| i.span).collect();
        assert_eq!(spans, [Span::new(0, 8), Span::new(9, 18)]);
        assert_eq!(bytes.edges.len(), 1);
        assert_eq!((bytes.edges[0].from, bytes.edges[0].to), (0, 1));
        let utf16 = bytes.in_positions(code, crate::span::Positions::Utf16);
        assert_eq!(utf16.items[1].span, Span::new(8, 17));
        assert_eq!(utf16.items[1].lines, (2, 2));
    }

    #[test]
    fn wording_is_new_names_and_long_strings() {
        let code = "Count:\n```python\ndef count(items):\n    total = 0\n    for item in items:\n        total += item\n    log('counted the items of the list', total, 'n')\n    return total\n```\n";
        let structure = structure(code, &PartitionConfig::default());
        let texts: Vec<&str> = structure.wording.iter().map(|s| &code[s.start..s.end]).collect();
        // Each name where it is introduced; `total +=` reads first and every use is logic; the
        // short string `'n'` is a value, the long one a message.
        assert_eq!(
            texts,
            ["count", "items", "total", "item", "counted the items of the list"]
        );
    }

    #[test]
    fn code_items_of_broken_source_come_with_a_diagnostic() {
        let items = code_items("def f(:\n    return 1\nx = 2\n", &PartitionConfig::default());
        assert!(!items.diagnostics.is_empty());
        assert!(items.items.iter().any(|i| i.node == "expression_statement"));
    }
}
