//! Fuzzing on stable Rust (nightly, and so cargo-fuzz, cannot be installed here): core's entry
//! points over hostile input, which must never panic (broken input is data: a reject or a
//! diagnostic). Inputs are real seeds (the fixtures, MBPP-style pairs, score lines) changed by
//! structure-aware [`Edit`]s drawn with `arbitrary` from random bytes: deleted colons,
//! unbalanced brackets, deep nesting, huge literals, broken encodings, splices and truncations.
//! `src/main.rs` runs it for hours; `tests/smoke.rs` runs a fixed-seed pass in CI.

use std::panic::{AssertUnwindSafe, catch_unwind};

use arbitrary::{Arbitrary, Unstructured};
use codeblock_core::formats::jsonl;
use codeblock_core::pipeline::config::Config;
use codeblock_core::pipeline::record::Fields;
use codeblock_core::pipeline::score::{NgramScorer, PrecomputedScorer};
use codeblock_core::pipeline::structure;
use codeblock_core::pipeline::tokens::{HfTokenizer, LexicalTokenizer, Tokenize};
use codeblock_core::run;

/// What is attacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// JSONL bytes → records → the whole pipeline (`select`), lexical tokens.
    Jsonl,
    /// The same with a real `tokenizer.json`.
    JsonlTokenizer,
    /// Python source → coding items, names, data flow (an editor's call).
    Python,
    /// Score lines (`select --scores`, any shape) → the pipeline scored with them.
    Scores,
}

impl Target {
    pub const ALL: [Target; 4] = [Target::Jsonl, Target::JsonlTokenizer, Target::Python, Target::Scores];

    pub fn name(self) -> &'static str {
        match self {
            Target::Jsonl => "jsonl",
            Target::JsonlTokenizer => "jsonl-tokenizer",
            Target::Python => "python",
            Target::Scores => "scores",
        }
    }
}

/// The seeds: every fixture (Markdown responses with Python fences, and their code alone), the
/// pairs the scores target scores, and their score lines in all three shapes.
#[derive(Debug)]
pub struct Corpus {
    code: Vec<Vec<u8>>,
    scores: Vec<Vec<u8>>,
    pub pairs: Vec<u8>,
}

impl Corpus {
    pub fn new(tokenizer: &HfTokenizer) -> Corpus {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .map(|entry| entry.expect("a fixture").path())
            .filter(|path| path.extension().is_some_and(|e| e == "md"))
            .collect();
        files.sort();
        let mut code = Vec::new();
        for path in files {
            let text = std::fs::read_to_string(&path).expect("a fixture is UTF-8");
            let fenced: String = text
                .split("```")
                .skip(1)
                .step_by(2)
                .map(|block| block.split_once('\n').map_or("", |(_, c)| c))
                .collect();
            code.push(text.into_bytes());
            code.push(fenced.into_bytes());
        }
        let pairs: Vec<u8> = code.iter().step_by(7).flat_map(|seed| as_pairs(seed)).collect();
        let scores = vec![score_seed(&pairs, tokenizer)];
        Corpus { code, scores, pairs }
    }

    /// The seeds a target's inputs are made from.
    pub fn seeds(&self, target: Target) -> &[Vec<u8>] {
        match target {
            Target::Scores => &self.scores,
            _ => &self.code,
        }
    }
}

/// One structure-aware change to an input.
#[derive(Debug, Clone, Arbitrary)]
pub enum Edit {
    /// Deletes the n-th colon (a block header without its `:`).
    DeleteColon(u16),
    /// Inserts an opening or closing bracket.
    Bracket { at: u16, which: u8 },
    /// Wraps a line in `depth` blocks or brackets.
    Nest { line: u16, depth: u16, brackets: bool },
    /// A literal of `len` digits or characters.
    HugeLiteral { at: u16, len: u32, string: bool },
    /// Bytes that are not UTF-8, or a BOM, a NUL, a lone `\r`.
    Encoding { at: u16, kind: u8 },
    /// A Python or Markdown token from the dictionary.
    Token { at: u16, which: u8 },
    /// A line repeated.
    Duplicate { line: u16, times: u8 },
    /// The input cut short.
    Truncate(u16),
    /// Another seed's bytes spliced in.
    Splice { at: u16, seed: u16 },
    /// One byte changed.
    Flip { at: u16, byte: u8 },
}

const TOKENS: &[&str] = &[
    "def ",
    "class ",
    "lambda",
    "async ",
    "await ",
    ":=",
    "match ",
    "case ",
    "yield",
    "global ",
    "nonlocal ",
    "```",
    "```python\n",
    "\n```\n",
    "\"\"\"",
    "'",
    "\"",
    "\\",
    "#",
    "@",
    "->",
    "**",
    "*",
    "\t",
    "    ",
    "\n",
    "\r\n",
    "import ",
    "from ",
    " as ",
    "try:",
    "except:",
    "finally:",
    "with ",
    "if ",
    "else:",
    "elif ",
    "for ",
    "while ",
    "return ",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    ",",
    ";",
    "é",
    "😀",
    "\u{2028}",
    "\u{200b}",
];
const OPEN: &[&str] = &["(", "[", "{", ")", "]", "}"];

fn position(len: usize, at: u16) -> usize {
    if len == 0 { 0 } else { usize::from(at) % (len + 1) }
}

/// Byte offsets where lines start.
fn line_starts(input: &[u8]) -> Vec<usize> {
    std::iter::once(0)
        .chain(
            input
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect()
}

impl Edit {
    /// The input with this edit made (`seeds` for splices).
    pub fn apply(&self, input: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
        let mut out = input.to_vec();
        let insert = |out: &mut Vec<u8>, at: usize, bytes: &[u8]| {
            out.splice(at..at, bytes.iter().copied());
        };
        match *self {
            Edit::DeleteColon(n) => {
                let colons: Vec<usize> = out
                    .iter()
                    .enumerate()
                    .filter(|&(_, &b)| b == b':')
                    .map(|(i, _)| i)
                    .collect();
                if !colons.is_empty() {
                    out.remove(colons[usize::from(n) % colons.len()]);
                }
            }
            Edit::Bracket { at, which } => {
                let at = position(out.len(), at);
                insert(&mut out, at, OPEN[usize::from(which) % OPEN.len()].as_bytes());
            }
            Edit::Nest { line, depth, brackets } => {
                let starts = line_starts(&out);
                let at = starts[usize::from(line) % starts.len()];
                let depth = usize::from(depth % 3000);
                let prefix: Vec<u8> = match brackets {
                    true => "(".repeat(depth).into_bytes(),
                    false => (0..depth.min(300))
                        .flat_map(|d| format!("{}if x:\n", " ".repeat(d)).into_bytes())
                        .collect(),
                };
                insert(&mut out, at, &prefix);
                if brackets {
                    let end = out[at..].iter().position(|&b| b == b'\n').map_or(out.len(), |i| at + i);
                    insert(&mut out, end, ")".repeat(depth).as_bytes());
                }
            }
            Edit::HugeLiteral { at, len, string } => {
                let at = position(out.len(), at);
                let len = (len % 2_000_000) as usize;
                let literal = match string {
                    true => format!("\"{}\"", "a".repeat(len)),
                    false => "9".repeat(len),
                };
                insert(&mut out, at, literal.as_bytes());
            }
            Edit::Encoding { at, kind } => {
                let at = position(out.len(), at);
                let bytes: &[u8] = match kind % 6 {
                    0 => b"\xff\xfe",
                    1 => b"\xef\xbb\xbf",
                    2 => b"\0",
                    3 => b"\r",
                    4 => b"\xe9t\xe9",
                    _ => b"\xf0\x9f",
                };
                insert(&mut out, at, bytes);
            }
            Edit::Token { at, which } => {
                let at = position(out.len(), at);
                insert(&mut out, at, TOKENS[usize::from(which) % TOKENS.len()].as_bytes());
            }
            Edit::Duplicate { line, times } => {
                let starts = line_starts(&out);
                let start = starts[usize::from(line) % starts.len()];
                let end = out[start..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(out.len(), |i| start + i + 1);
                let text = out[start..end].to_vec();
                let times = usize::from(times % 64).min(MAX_INPUT / text.len().max(1));
                insert(&mut out, end, &text.repeat(times));
            }
            Edit::Truncate(at) => out.truncate(position(out.len(), at)),
            Edit::Splice { at, seed } => {
                if !seeds.is_empty() {
                    let at = position(out.len(), at);
                    insert(&mut out, at, &seeds[usize::from(seed) % seeds.len()]);
                }
            }
            Edit::Flip { at, byte } => {
                if !out.is_empty() {
                    let at = usize::from(at) % out.len();
                    out[at] = byte;
                }
            }
        }
        out
    }
}

/// The largest input made: a response of a few megabytes is hostile enough, and more only
/// slows the search.
pub const MAX_INPUT: usize = 4 << 20;

/// `seed` with the edits that `entropy` describes (drawn with `arbitrary`).
pub fn mutate(seed: &[u8], seeds: &[Vec<u8>], entropy: &[u8]) -> Vec<u8> {
    let mut unstructured = Unstructured::new(entropy);
    let edits: Vec<Edit> = Vec::arbitrary(&mut unstructured).unwrap_or_default();
    edits.iter().take(8).fold(seed.to_vec(), |input, edit| {
        let mut out = edit.apply(&input, seeds);
        out.truncate(MAX_INPUT);
        out
    })
}

/// A target's input as JSONL: Python seeds become the responses of pairs (in a fence, bare,
/// and in a chat), so the JSONL targets reach the structure stages with the same edits.
pub fn as_pairs(code: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(code);
    let mut out = Vec::new();
    for response in [format!("Here:\n```python\n{text}\n```\nDone."), text.to_string()] {
        let line = serde_json::json!({"instruction": "Write it.", "output": response});
        out.extend_from_slice(line.to_string().as_bytes());
        out.push(b'\n');
    }
    let chat =
        serde_json::json!({"messages": [{"role": "user", "content": "Go."}, {"role": "assistant", "content": text}]});
    out.extend_from_slice(chat.to_string().as_bytes());
    out.push(b'\n');
    // The raw bytes too, as a broken line among good ones.
    out.extend_from_slice(code);
    out.push(b'\n');
    out
}

/// The score lines of `pairs` under `tokenizer`, with made-up log-probs, in all three shapes:
/// seeds for the scores target.
pub fn score_seed(pairs: &[u8], tokenizer: &HfTokenizer) -> Vec<u8> {
    let inputs = jsonl::records(pairs, &Fields::default(), None);
    let mut out = String::new();
    for (k, record) in inputs.into_iter().filter_map(|i| i.record.ok()).enumerate() {
        let ids: Vec<u32> = tokenizer
            .tokenize(&record.response)
            .map(|tokens| tokens.iter().filter_map(|t| t.id).collect())
            .unwrap_or_default();
        let logprobs: Vec<f64> = (0..ids.len()).map(|i| -((i % 7) as f64) * 0.5).collect();
        let line = match k % 3 {
            0 => serde_json::json!({"id": record.id, "token_ids": ids, "logprobs": logprobs}),
            1 => {
                let mut all = vec![1u32, 2];
                all.extend(&ids);
                let mut lp: Vec<Option<f64>> = vec![None, Some(-1.0)];
                lp.extend(logprobs.iter().map(|&l| Some(l)));
                serde_json::json!({"id": record.id, "prompt_len": 2, "token_ids": all, "logprobs": lp})
            }
            _ => {
                let mut entries = vec![serde_json::Value::Null];
                entries.extend(
                    ids.iter()
                        .zip(&logprobs)
                        .map(|(id, lp)| serde_json::json!({id.to_string(): {"logprob": lp, "rank": 1}})),
                );
                serde_json::json!({"id": record.id, "prompt_logprobs": entries, "prompt_token_ids": std::iter::once(0).chain(ids.iter().copied()).collect::<Vec<u32>>()})
            }
        };
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out.into_bytes()
}

/// Runs a target on an input; `Err` with the panic's message when it panics.
pub fn check(target: Target, input: &[u8], pairs: &[u8], tokenizer: &HfTokenizer) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| run_target(target, input, pairs, tokenizer))).map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic".into())
    })
}

/// One target on one input. `pairs` are the records the scores target scores.
fn run_target(target: Target, input: &[u8], pairs: &[u8], tokenizer: &HfTokenizer) {
    let config = Config::default();
    let select = |bytes: &[u8], tokenizer: &dyn Tokenize| {
        let inputs = jsonl::records(bytes, &Fields::default(), None);
        let count = inputs.len();
        let outputs = run(inputs, tokenizer, &mut NgramScorer::default(), None, &config, &mut ());
        assert_eq!(outputs.len(), count, "a record was lost");
        for output in &outputs {
            serde_json::to_string(output).expect("an output line serializes");
        }
    };
    match target {
        Target::Jsonl => select(&as_pairs(input), &LexicalTokenizer),
        Target::JsonlTokenizer => select(&as_pairs(input), tokenizer),
        Target::Python => {
            let code = String::from_utf8_lossy(input);
            let items = structure::code_items(&code, &config.partition);
            serde_json::to_string(&items).expect("items serialize");
        }
        Target::Scores => {
            // A scores file that cannot be read is an error naming its line, never a panic.
            if let Ok(mut scorer) = PrecomputedScorer::from_jsonl(input) {
                let inputs = jsonl::records(pairs, &Fields::default(), None);
                let count = inputs.len();
                let outputs = run(inputs, tokenizer, &mut scorer, None, &config, &mut ());
                assert_eq!(outputs.len(), count, "a record was lost");
            }
        }
    }
}
