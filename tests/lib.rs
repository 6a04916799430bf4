//! Helpers for the whole-pipeline fixture tests: the tokenizer they share, the invariants every
//! output must hold, and the readable rendering that snapshots store; and what the benches
//! share (the model, their ids, timing, peak memory, PyTorch's side).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::PathBuf;

use codeblock_core::pipeline::captures::{Role, capture};
use codeblock_core::pipeline::lang::{self, Language};
use codeblock_core::pipeline::output::{RecordOutput, Selected, Status};
use codeblock_core::pipeline::segment::SegmentKind;
use codeblock_core::pipeline::tokens::HfTokenizer;
use codeblock_core::span::{LineIndex, Span};
use tree_sitter::Tree;

/// Where `scripts/setup.sh` put the real tokenizer (Qwen3's `tokenizer.json`), or
/// `CODEBLOCK_TOKENIZER`.
pub fn tokenizer_path() -> PathBuf {
    std::env::var_os("CODEBLOCK_TOKENIZER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
            home.join(".cache/codeblock/qwen3-tokenizer.json")
        })
}

/// The real tokenizer fetched by `scripts/setup.sh`.
pub fn tokenizer() -> HfTokenizer {
    let path = tokenizer_path();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run scripts/setup.sh (or set CODEBLOCK_TOKENIZER)",
            path.display()
        )
    });
    HfTokenizer::from_bytes(&bytes).expect("the fetched tokenizer.json loads")
}

/// Where `scripts/setup.sh` put the default model (SmolLM2-135M-Instruct, Q4_1 GGUF), or
/// `CODEBLOCK_MODEL`.
pub fn model_path() -> PathBuf {
    std::env::var_os("CODEBLOCK_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
            home.join(".cache/codeblock/SmolLM2-135M-Instruct.Q4_1.gguf")
        })
}

/// The default model's bytes.
pub fn model_bytes() -> Vec<u8> {
    let path = model_path();
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/setup.sh (or set CODEBLOCK_MODEL)", path.display()))
}

/// A tiny checkpoint of `tests/data/tiny/` (`llama` or `qwen2`): its config.json text and the
/// bytes of its safetensors shards, in the order the index lists them.
pub fn tiny_checkpoint(name: &str) -> (String, Vec<Vec<u8>>) {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/tiny")
        .join(name);
    let read = |file: &str| std::fs::read(folder.join(file)).unwrap_or_else(|e| panic!("{name}/{file}: {e}"));
    let index = std::fs::read_to_string(folder.join("model.safetensors.index.json")).ok();
    let files = codeblock_core::model::hf_shard_files(index.as_deref()).expect("the index parses");
    let config = String::from_utf8(read("config.json")).expect("config.json is UTF-8");
    (config, files.iter().map(|f| read(f)).collect())
}

/// This process's peak resident memory in MiB (Linux `VmHWM`), for benches.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The benches' deterministic token ids, spread over the vocabulary: `batch` rows of `length`
/// (tools/bench/torch_common.py makes the same for PyTorch's side).
pub fn bench_ids(batch: usize, length: usize, vocab: usize) -> Vec<Vec<u32>> {
    (0..batch)
        .map(|b| (0..length).map(|i| ((b * 7919 + i * 104_729) % vocab) as u32).collect())
        .collect()
}

/// Mean seconds of `job` over `rounds` timed runs, after one warm-up.
pub fn timed(rounds: usize, mut job: impl FnMut()) -> f64 {
    job();
    let clock = std::time::Instant::now();
    for _ in 0..rounds {
        job();
    }
    clock.elapsed().as_secs_f64() / rounds as f64
}

/// A bench's PyTorch side: `tools/bench/SCRIPT` run with these `--flag value`s by
/// `CODEBLOCK_PYTHON` (else `python3`), and the JSON of its last line; or why there is none (its
/// last error line).
pub fn pytorch(script: &str, flags: &[(&str, String)]) -> Result<serde_json::Value, String> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tools/bench")
        .join(script);
    let python = std::env::var("CODEBLOCK_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = std::process::Command::new(&python)
        .arg(script)
        .args(flags.iter().flat_map(|(flag, value)| [*flag, value.as_str()]))
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(stderr.lines().last().unwrap_or("failed").to_string());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).map_err(|e| e.to_string())
}

fn check_span(text: &str, span: Span, what: &str) {
    assert!(
        span.start <= span.end && span.end <= text.len(),
        "{what} {span:?} is out of bounds"
    );
    assert!(
        text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
        "{what} {span:?} cuts a character"
    );
}

/// Asserts what every output must hold: spans in bounds, segments tiling the response, items
/// sorted, disjoint and never cutting a syntax node, mask consistent with the selection, and
/// the budget respected.
pub fn check_invariants(output: &RecordOutput, budget: f64) {
    let Status::Ok(selected) = &output.status else { return };
    let text = selected.response.as_str();
    let mut next = 0;
    for segment in &selected.segments {
        check_span(text, segment.span, "segment");
        assert_eq!(segment.span.start, next, "segments tile the response");
        next = segment.span.end;
    }
    assert_eq!(next, text.len(), "segments cover the response");
    for pair in selected.items.windows(2) {
        assert!(
            pair[0].span.end <= pair[1].span.start,
            "items {:?} and {:?} overlap",
            pair[0].span,
            pair[1].span
        );
    }
    for item in &selected.items {
        check_span(text, item.span, "item");
    }
    // Each segment's items, against that segment parsed once.
    let mut checked = 0;
    for segment in &selected.segments {
        let inside: Vec<Span> = selected
            .items
            .iter()
            .map(|item| item.span)
            .filter(|span| segment.span.contains(*span))
            .collect();
        if inside.is_empty() {
            continue;
        }
        let SegmentKind::Code { language, .. } = segment.kind else {
            panic!("items lie in code")
        };
        let source = &text[segment.span.start..segment.span.end];
        let tree = lang::parse(language, source).expect("items lie in code of a parsed language");
        let compound = Compound::of(&tree, language);
        for span in inside {
            compound.assert_whole_nodes(
                &tree,
                Span::new(span.start - segment.span.start, span.end - segment.span.start),
            );
            checked += 1;
        }
    }
    assert_eq!(checked, selected.items.len(), "every item lies inside one segment");
    for span in selected
        .mask
        .spans
        .iter()
        .chain(&selected.mask.token_spans)
        .chain(&selected.prose)
    {
        check_span(text, *span, "mask span");
    }
    assert_eq!(selected.mask.token_spans.len(), selected.mask.supervised.len());
    let selected_spans: Vec<Span> = selected.items.iter().filter(|i| i.selected).map(|i| i.span).collect();
    for (span, &flag) in selected.mask.token_spans.iter().zip(&selected.mask.supervised) {
        let expected = selected_spans.iter().any(|s| s.overlaps(*span)) || selected.prose.contains(span);
        assert_eq!(flag == 1, expected, "token {span:?} supervised flag");
    }
    let cost: usize = selected
        .items
        .iter()
        .filter(|i| i.selected)
        .map(|i| i.tokens)
        .sum::<usize>()
        + selected.prose.len();
    // The budget is a cap, guards included.
    let allowed = budget * selected.stats.response_tokens as f64;
    assert!(
        cost as f64 <= allowed + 1e-9,
        "selection costs {cost} tokens, over the budget of {allowed}"
    );
}

/// What a tree's `partition.scm` makes compound: the nodes with a role, and the bodies.
struct Compound {
    roles: HashSet<usize>,
    bodies: Vec<Span>,
}

impl Compound {
    fn of(tree: &Tree, language: Language) -> Compound {
        let captures = capture(tree, language);
        let bodies = captures
            .roles
            .values()
            .flat_map(|role| match role {
                Role::Compound(bodies) => bodies.clone(),
                _ => Vec::new(),
            })
            .map(|b| Span::new(b.start_byte(), b.end_byte()))
            .collect();
        Compound {
            roles: captures.roles.keys().copied().collect(),
            bodies,
        }
    }

    /// Every node either contains the span, lies inside it, lies outside it, or is one a header
    /// may cut: a compound statement (or wrapper, or clause) whose header the span is, or a node
    /// on the way to one of its bodies; the span then starts no later than the node.
    fn assert_whole_nodes(&self, tree: &Tree, span: Span) {
        let mut stack = vec![tree.root_node()];
        while let Some(node) = stack.pop() {
            let node_span = Span::new(node.start_byte(), node.end_byte());
            if node_span.contains(span) || span.contains(node_span) || !node_span.overlaps(span) {
                if node_span.contains(span) && node_span != span {
                    let mut cursor = node.walk();
                    stack.extend(node.children(&mut cursor));
                }
                continue;
            }
            let may_be_cut = self.roles.contains(&node.id()) || self.bodies.iter().any(|b| node_span.contains(*b));
            assert!(
                may_be_cut && node_span.start >= span.start,
                "item {span:?} cuts through a `{}` node {node_span:?}",
                node.kind()
            );
            let mut cursor = node.walk();
            stack.extend(node.children(&mut cursor));
        }
    }
}

/// The snapshot text: segments, items with lines and scores, edges, diagnostics, and the
/// response line by line with `+` (some token supervised) or `-`, supervised tokens in ⟦ ⟧.
pub fn render(output: &RecordOutput) -> String {
    let selected = match &output.status {
        Status::Ok(selected) => selected,
        Status::Rejected(reject) => return format!("rejected: {} ({})\n", reject.reason, reject.message),
    };
    let index = LineIndex::new(&selected.response);
    let mut out = String::new();
    let stats = &selected.stats;
    let _ = writeln!(
        out,
        "tokens {}, supervised {}, items {} ({} selected, {} tokens), prose tokens {}, guard {} tokens",
        stats.response_tokens,
        stats.supervised_tokens,
        stats.items,
        stats.selected_items,
        stats.item_tokens,
        stats.selected_prose_tokens,
        stats.guard_tokens
    );
    out.push_str("\nsegments:\n");
    for segment in &selected.segments {
        let (first, last) = index.line_range(segment.span);
        let kind = match &segment.kind {
            SegmentKind::Code { tag, language } => format!("code [{tag}] as {language:?}"),
            other => format!("{other:?}"),
        };
        let _ = writeln!(out, "  L{first}-{last} {kind}");
    }
    out.push_str("\nitems:\n");
    for (i, item) in selected.items.iter().enumerate() {
        let first_line = selected.response[item.span.start..item.span.end]
            .lines()
            .next()
            .unwrap_or("");
        let _ = writeln!(
            out,
            "  {} #{i} L{}-{} {:?} {} d{} tok {} core {} | u {:.3} r {:.3} b {:.3} p {:.3} | {}",
            if item.selected { "*" } else { " " },
            item.lines.0,
            item.lines.1,
            item.kind,
            item.node,
            item.depth,
            item.tokens,
            item.core_tokens,
            item.utility,
            item.reach,
            item.bridge,
            item.priority,
            first_line.trim()
        );
    }
    out.push_str("\nedges:\n");
    for edge in &selected.edges {
        let _ = writeln!(out, "  #{} -> #{} {}", edge.from, edge.to, edge.names.join(", "));
    }
    if !selected.diagnostics.is_empty() {
        out.push_str("\ndiagnostics:\n");
        for d in &selected.diagnostics {
            let _ = writeln!(out, "  L{}-{} {}", d.lines.0, d.lines.1, d.message);
        }
    }
    out.push_str("\nmask:\n");
    out.push_str(&render_mask(selected));
    out
}

fn render_mask(selected: &Selected) -> String {
    let text = selected.response.as_str();
    let supervised: Vec<Span> = selected
        .mask
        .token_spans
        .iter()
        .zip(&selected.mask.supervised)
        .filter(|&(_, &flag)| flag == 1)
        .map(|(span, _)| *span)
        .collect();
    let mut out = String::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let line_span = Span::new(line_start, line_start + line.len());
        let mut rendered = String::new();
        let mut cursor = line_span.start;
        let mut any = false;
        for span in supervised.iter().filter(|s| s.overlaps(line_span)) {
            let start = span.start.max(line_span.start).max(cursor);
            let end = span.end.min(line_span.end);
            if start >= end {
                continue;
            }
            rendered.push_str(&text[cursor..start]);
            let piece = &text[start..end];
            let visible = piece.trim_end_matches(['\n', '\r']);
            let _ = write!(rendered, "⟦{visible}⟧{}", &piece[visible.len()..]);
            cursor = end;
            any = true;
        }
        rendered.push_str(&text[cursor..line_span.end]);
        let visible = rendered
            .trim_end_matches(['\n', '\r'])
            .replace('\t', "→")
            .replace('\r', "␍");
        let _ = writeln!(out, "{} {visible}", if any { "+" } else { "-" });
        line_start = line_span.end;
    }
    out
}
