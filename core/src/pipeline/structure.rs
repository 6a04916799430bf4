//! The structure stages of a response, before tokens: segment, parse, partition, names and core
//! logic, each code segment parsed once. Also the structure of source code alone, for editors.

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
    let segments = parsed_segments(response, config, &mut diagnostics);
    structure_of(response, segments, diagnostics, config)
}

/// A response's segments, each code segment with its parse (`None`: kept as other code, with a
/// diagnostic). The code is decided here: a response without fences is code when it parses as
/// Python (that parse is kept), and each fence is read in its language ([`parse_as`]).
pub fn parsed_segments(
    response: &str,
    config: &PartitionConfig,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<(Segment, Option<tree_sitter::Tree>)> {
    let segments = segment::segment(response, diagnostics);
    if !segments.iter().any(|s| s.kind == SegmentKind::Fence) {
        let tree = lang::parse_python(response);
        if lang::looks_like_python(&tree, response) {
            let kind = SegmentKind::Code {
                tag: String::new(),
                language: Language::Python,
            };
            let whole = Segment {
                kind,
                span: Span::new(0, response.len()),
            };
            return vec![(whole, Some(tree))];
        }
    }
    segments
        .into_iter()
        .map(|mut seg| {
            let tree = match &mut seg.kind {
                SegmentKind::Code { tag, language } => {
                    let source = &response[seg.span.start..seg.span.end];
                    parse_as(source, tag, language, config, diagnostics, seg.span)
                }
                _ => None,
            };
            (seg, tree)
        })
        .collect()
}

/// The coding items of source code alone (a file in an editor): one code segment, partitioned
/// even where it does not parse (syntax errors become diagnostics). A language this build does
/// not parse gets one diagnostic and no items.
pub fn code_items(code: &str, language: Language, config: &PartitionConfig) -> CodeItems {
    let why = match language.is_parsed() {
        true => unparsable(code, language, config).map(|why| why.message),
        false => Some(format!("{language:?} code is not parsed by this build")),
    };
    if let Some(why) = why {
        let index = LineIndex::new(code);
        let diagnostic = Diagnostic::new(Span::new(0, code.len()), format!("{why}: not partitioned"));
        return CodeItems {
            items: Vec::new(),
            edges: Vec::new(),
            core: Vec::new(),
            diagnostics: vec![diagnostic.located(&index)],
        };
    }
    let whole = Segment {
        kind: SegmentKind::Code {
            tag: language.tag().into(),
            language,
        },
        span: Span::new(0, code.len()),
    };
    let tree = lang::parse(language, code);
    let structure = structure_of(code, vec![(whole, tree)], Vec::new(), config);
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

/// Why code is not parsed: a shape that tree-sitter's parsers (measured on Python's) handle in
/// time that grows with its square. `select` rejects such a record (`reason`); an editor's call gets a diagnostic.
#[derive(Debug, Clone, PartialEq)]
pub struct Unparsable {
    pub reason: &'static str,
    pub message: String,
}

/// Whether `text` is [`Unparsable`]:
/// - more bytes than `max_code_bytes`: the tree cursors over the parse of some broken code
///   (one long line of operators) walk back over the error's children at each step (a 1 MB
///   line of `!/` took 3.7 s, 4 MB 52 s);
/// - a run of comment lines (blank lines between them count as part of the run; a comment is
///   a line opening with the language's line comment marker): Python's scanner looks ahead over
///   the rest of the run at each of its lines inside a block, where a dedent may follow (4,000
///   lines took 4.8 s);
/// - brackets nested deeper than CPython allows (200): each step of the parse's tree cursors
///   walks back over the whole depth (100,000 took 15 s).
pub fn unparsable(text: &str, language: Language, config: &PartitionConfig) -> Option<Unparsable> {
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
            comment if comment.starts_with(language.line_comment()) => {
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
    if matches!(language, Language::JavaScript | Language::TypeScript | Language::Tsx) {
        let labels = trailing_labels(text);
        if labels > MAX_TRAILING_LABELS {
            let message = format!(
                "{labels} labels after other code on their line; the limit is {MAX_TRAILING_LABELS} \
                 (after an error, a chain of them takes the JavaScript and TypeScript parsers time \
                 that grows with its square)"
            );
            return Some(Unparsable {
                reason: "label_chain_too_long",
                message,
            });
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

/// The most [`trailing_labels`] JavaScript or TypeScript code may hold. Real code holds next
/// to none; 4,000 of them (`x y a: ` repeated, 28 KB) took tree-sitter-javascript 23 s to
/// parse, and a fuzzed 300 KB of `Here is the code:` lines a quarter of an hour.
pub const MAX_TRAILING_LABELS: usize = 256;

/// How many `word:` (one colon) stand after other code on their line, right after a word, a
/// number or a string (`x y a:`, `Here is the code:`): the labels that nest, after an error,
/// in a chain that the parser walks again at each. A key in braces or after a comma, a member
/// at the start of its line, a ternary and `case X:` do not count.
fn trailing_labels(text: &str) -> usize {
    let bytes = text.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80;
    let mut count = 0;
    for (colon, _) in text.match_indices(':') {
        if bytes.get(colon + 1) == Some(&b':') || colon > 0 && bytes[colon - 1] == b':' {
            continue;
        }
        let start = colon - bytes[..colon].iter().rev().take_while(|&&b| word(b)).count();
        let before = bytes[..start].iter().rev().position(|&b| b != b' ' && b != b'\t');
        let Some(gap) = before else { continue };
        let previous = bytes[start - gap - 1];
        let after_word = word(previous) || matches!(previous, b'\'' | b'"' | b'`');
        let after_case = text[..start - gap].ends_with("case")
            && !text[..start - gap - 4].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        count += usize::from(start < colon && after_word && !after_case);
    }
    count
}

/// Partition, names and core logic of every parsed code segment.
fn structure_of(
    text: &str,
    parsed: Vec<(Segment, Option<tree_sitter::Tree>)>,
    mut diagnostics: Vec<Diagnostic>,
    config: &PartitionConfig,
) -> Structure {
    let mut items = Vec::new();
    let mut names = NameIndex::default();
    let mut core = Vec::new();
    let mut wording = Vec::new();
    let mut segments = Vec::with_capacity(parsed.len());
    for (index, (seg, tree)) in parsed.into_iter().enumerate() {
        let (SegmentKind::Code { language, .. }, Some(tree)) = (&seg.kind, tree) else {
            segments.push(seg);
            continue;
        };
        let language = *language;
        let source = &text[seg.span.start..seg.span.end];
        let captures = captures::capture(&tree, language);
        let parts = partition::partition(&tree, &captures, language, seg.span.start, config, &mut diagnostics);
        match language {
            Language::Python => names.add_segment(items.len(), &parts, source, seg.span.start),
            _ => names.add_segment_by_locals(language, items.len(), &parts, &captures.locals, source, seg.span.start),
        }
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
        segments.push(seg);
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

/// The parse of a code segment in its language. An untagged fence is parsed as Python; if that
/// has errors, it is parsed in the language [`lang::guess`] names, which wins when fewer of its
/// bytes lie in errors; if neither mostly parses, it is other code. `None`, with a diagnostic,
/// when the code is kept as other code (a language this build does not parse, or an untagged
/// fence that parses as nothing); `language` then says `other` for an untagged fence.
fn parse_as(
    source: &str,
    tag: &str,
    language: &mut Language,
    config: &PartitionConfig,
    diagnostics: &mut Vec<Diagnostic>,
    span: Span,
) -> Option<tree_sitter::Tree> {
    if !language.is_parsed() {
        diagnostics.push(Diagnostic::new(span, "code in another language: kept, not partitioned"));
        return None;
    }
    if *language != Language::Python
        && let Some(why) = unparsable(source, *language, config)
    {
        diagnostics.push(Diagnostic::new(span, format!("{}: kept, not partitioned", why.message)));
        return None;
    }
    let tree = lang::parse(*language, source).expect("the language is parsed");
    if !tag.is_empty() || !tree.root_node().has_error() {
        return Some(tree);
    }
    let python_errors = lang::error_bytes(&tree);
    let guessed = lang::guess(source)
        .filter(|&guess| unparsable(source, guess, config).is_none())
        .and_then(|guess| Some((guess, lang::parse(guess, source)?)))
        .filter(|(_, other)| lang::error_bytes(other) < python_errors);
    let (guess, tree) = guessed.unwrap_or((Language::Python, tree));
    if lang::mostly_parses(&tree) {
        *language = guess;
        return Some(tree);
    }
    *language = Language::Other;
    diagnostics.push(Diagnostic::new(
        span,
        "untagged fence that does not parse as Python: kept as other code",
    ));
    None
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
        assert_eq!(code_items(&code, Language::Python, &config).items.len(), 10);
        let refused = code_items(&code.repeat(2), Language::Python, &config);
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
        assert_eq!(
            unparsable("# a\nx = 1\n  # b\n\n# c\n", Language::Python, &config),
            None
        );
        let code = |comments: usize| format!("def f():\n    x = 1\n{}    return x\n", "    # why\n".repeat(comments));
        assert_eq!(
            code_items(&code(config.max_comment_run), Language::Python, &config)
                .items
                .len(),
            3
        );
        let refused = code_items(&code(config.max_comment_run + 1), Language::Python, &config);
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
            unparsable(
                &format!("))) {}", nested(config.max_nesting)),
                Language::Python,
                &config
            ),
            None
        );
        assert_eq!(
            code_items(&nested(config.max_nesting), Language::Python, &config)
                .items
                .len(),
            1
        );
        let why = unparsable(&nested(config.max_nesting + 1), Language::Python, &config).expect("too deep");
        assert_eq!(why.reason, "nesting_too_deep");
        assert!(why.message.starts_with("brackets nested 201 deep"), "{}", why.message);
        assert!(
            code_items(&nested(config.max_nesting + 1), Language::Python, &config)
                .items
                .is_empty()
        );
    }

    /// Broken JavaScript nested thousands deep (an error, then a label, again and again: a
    /// fuzzed response took a quarter of an hour) is not parsed, in a fence or an editor's
    /// source; keys, members, ternaries and cases do not count as such labels.
    #[test]
    fn a_long_chain_of_trailing_labels_is_not_parsed() {
        let config = PartitionConfig::default();
        assert_eq!(trailing_labels("x y a: 1 1 b: 's' c: Here is the code:\n"), 4);
        let legit = "const o = {a: 1, b: 2};\ninterface I {\n  a: string\n  b: number\n}\nx = c ? d: e;\nswitch (x) { case A: f(); }\nouter: for (;;) {}\nf(a::b, (x): T => x);\n";
        assert_eq!(trailing_labels(legit), 0);
        let broken = "x y a: ".repeat(MAX_TRAILING_LABELS + 1);
        let refused = code_items(&broken, Language::JavaScript, &config);
        assert!(refused.items.is_empty());
        let [diagnostic] = refused.diagnostics.as_slice() else {
            panic!("{:?}", refused.diagnostics)
        };
        assert!(
            diagnostic.message.starts_with("257 labels after other code"),
            "{}",
            diagnostic.message
        );
        let structure = structure(&format!("```ts\n{broken}\n```\n"), &config);
        assert!(structure.items.is_empty());
        assert!(structure.diagnostics[0].message.ends_with("kept, not partitioned"));
        // Python reads the same text (its parser has no such labels).
        assert_eq!(unparsable(&broken, Language::Python, &config), None);
        let within = "x y a: ".repeat(MAX_TRAILING_LABELS);
        let items = code_items(&within, Language::JavaScript, &config);
        assert!(items.diagnostics.iter().all(|d| !d.message.contains("labels")));
    }

    /// Names flow between the fences of one language and never between languages.
    #[test]
    fn names_stay_in_their_language() {
        let response = "```python\ntotal = 1\n```\n```js\nconst total = 2;\nf(total);\n```\n```go\nfunc g() {\n\tuse(total)\n}\n```\n```python\nprint(total)\n```\n";
        let structure = structure(response, &PartitionConfig::default());
        let languages: Vec<Language> = structure
            .segments
            .iter()
            .filter_map(|s| match s.kind {
                SegmentKind::Code { language, .. } => Some(language),
                _ => None,
            })
            .collect();
        assert_eq!(
            languages,
            [Language::Python, Language::JavaScript, Language::Go, Language::Python]
        );
        let edges: Vec<(usize, usize)> = structure.edges.iter().map(|e| (e.from, e.to)).collect();
        // Items: 0 Python `total = 1`; 1 `const total`, 2 `f(total)`; 3 `func g()`, 4 `use(total)`;
        // 5 `print(total)`. Go's `total` is defined nowhere in Go.
        assert_eq!(edges, [(0, 5), (1, 2)]);
    }

    #[test]
    fn code_items_count_in_bytes_or_utf16() {
        let code = "s = 'é'\nt = s + s\n";
        let bytes = code_items(code, Language::Python, &PartitionConfig::default());
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
        let items = code_items(
            "def f(:\n    return 1\nx = 2\n",
            Language::Python,
            &PartitionConfig::default(),
        );
        assert!(!items.diagnostics.is_empty());
        assert!(items.items.iter().any(|i| i.node == "expression_statement"));
    }
}
