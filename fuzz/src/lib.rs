//! Fuzzing on stable Rust (nightly, and so cargo-fuzz, cannot be installed here): core's entry
//! points over hostile input, which must never panic (broken input is data: a reject or a
//! diagnostic). Inputs are real seeds (the fixtures, MBPP-style pairs, score lines) changed by
//! structure-aware [`Edit`]s drawn with `arbitrary` from random bytes: deleted colons,
//! unbalanced brackets, deep nesting, huge literals, broken encodings, splices and truncations.
//! Besides core, the readers of files and requests in the `codeblock` command line.
//! `src/main.rs` runs it for hours; `tests/smoke.rs` runs a fixed-seed pass in CI.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};
use burn::tensor::Device;
use codeblock_core::formats::gguf::Gguf;
use codeblock_core::formats::jsonl;
use codeblock_core::hash::fnv1a;
use codeblock_core::model::{Llama, load_hf};
use codeblock_core::pipeline::config::Config;
use codeblock_core::pipeline::lang;
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
    /// Source code → coding items, names, data flow (an editor's call), in any language.
    Python,
    /// Score lines (`select --scores`, any shape) → the pipeline scored with them.
    Scores,
    /// A GGUF file → its header, metadata, tensor table and every tensor dequantized.
    Gguf,
    /// A Hugging Face checkpoint (`config.json`, a `model.safetensors`) → a loaded model.
    HfModel,
    /// `train --resume`'s `run.json`.
    TrainSettings,
    /// `train --resume`'s checkpoint: burn's model and optimizer records (checksums matching).
    Checkpoint,
    /// `score --resume`'s killed output and its `OUT.run.json`.
    ScoreResume,
    /// A request path → the file `serve` answers with, which must lie inside its folder.
    Serve,
}

impl Target {
    pub const ALL: [Target; 10] = [
        Target::Jsonl,
        Target::JsonlTokenizer,
        Target::Python,
        Target::Scores,
        Target::Gguf,
        Target::HfModel,
        Target::TrainSettings,
        Target::Checkpoint,
        Target::ScoreResume,
        Target::Serve,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::Jsonl => "jsonl",
            Target::JsonlTokenizer => "jsonl-tokenizer",
            Target::Python => "python",
            Target::Scores => "scores",
            Target::Gguf => "gguf",
            Target::HfModel => "hf-model",
            Target::TrainSettings => "train-settings",
            Target::Checkpoint => "checkpoint",
            Target::ScoreResume => "score-resume",
            Target::Serve => "serve",
        }
    }
}

/// Where an input of two files is cut in two (a checkpoint's `config.json` and its weights; a
/// score file and its `run.json`).
const SEPARATOR: &[u8] = b"\n\0--- next file ---\0\n";

fn two_files(input: &[u8]) -> (&[u8], &[u8]) {
    match input.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        Some(at) => (&input[..at], &input[at + SEPARATOR.len()..]),
        None => (input, &[]),
    }
}

fn joined(first: &[u8], second: &[u8]) -> Vec<u8> {
    [first, SEPARATOR, second].concat()
}

/// The seeds: every fixture (Markdown responses with Python fences, and their code alone), the
/// pairs the scores target scores, and their score lines in all three shapes; a small GGUF
/// and Hugging Face checkpoint; settings and score files as the commands write them; request
/// paths.
#[derive(Debug)]
pub struct Corpus {
    code: Vec<Vec<u8>>,
    scores: Vec<Vec<u8>>,
    gguf: Vec<Vec<u8>>,
    hf_model: Vec<Vec<u8>>,
    train_settings: Vec<Vec<u8>>,
    /// Made by [`Harness::new`], which has the model.
    checkpoint: Vec<Vec<u8>>,
    score_resume: Vec<Vec<u8>>,
    paths: Vec<Vec<u8>>,
    pub pairs: Vec<u8>,
}

/// What a resumed score run must have been made from (the score-resume target's `run.json`).
const SCORED_MODEL: &str = "model.gguf";
const SCORED_INPUT: &str = "pairs.jsonl";

impl Corpus {
    pub fn new(tokenizer: &HfTokenizer) -> Corpus {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let read = |path: &str| {
            let path = repo.join(path);
            std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        };
        let dir = repo.join("tests/fixtures");
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
        let scored = serde_json::json!({"model": SCORED_MODEL, "input": SCORED_INPUT, "complete": false});
        let score_resume = vec![joined(&scores[0], scored.to_string().as_bytes())];
        let hf_model = vec![joined(
            &read("tests/data/tiny/llama/config.json"),
            &read("tests/data/tiny/llama/model.safetensors"),
        )];
        let paths = [
            "/",
            "/index.html?x=1#y",
            "/pkg/codeblock.js",
            "/../outside.txt",
            "/out/outside.txt",
            "/escape",
        ]
        .map(|p| p.as_bytes().to_vec())
        .to_vec();
        Corpus {
            code,
            scores,
            gguf: vec![read("core/tests/data/quants.gguf")],
            hf_model,
            train_settings: vec![codeblock::fuzzing::train_settings_seed().into_bytes()],
            checkpoint: Vec::new(),
            score_resume,
            paths,
            pairs,
        }
    }

    /// The seeds a target's inputs are made from.
    pub fn seeds(&self, target: Target) -> &[Vec<u8>] {
        match target {
            Target::Jsonl | Target::JsonlTokenizer | Target::Python => &self.code,
            Target::Scores => &self.scores,
            Target::Gguf => &self.gguf,
            Target::HfModel => &self.hf_model,
            Target::TrainSettings => &self.train_settings,
            Target::Checkpoint => &self.checkpoint,
            Target::ScoreResume => &self.score_resume,
            Target::Serve => &self.paths,
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
    Duplicate { line: u16, times: u16 },
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
    "../",
    "%2e%2e/",
    "//",
    "null",
    "-1",
    "1e309",
    "18446744073709551616",
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
                let times = usize::from(times % 20_000).min(MAX_INPUT / text.len().max(1));
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

/// The targets with what they run against: the corpus, a tokenizer, and a scratch folder for
/// the targets that read files (with a previewer folder that has links out of it).
pub struct Harness {
    pub corpus: Corpus,
    tokenizer: HfTokenizer,
    scratch: tempfile::TempDir,
    web: PathBuf,
    /// The tiny Llama, whose checkpoint the checkpoint target reads.
    model: Llama,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("scratch", &self.scratch.path())
            .finish_non_exhaustive()
    }
}

impl Harness {
    pub fn new(tokenizer: HfTokenizer) -> Harness {
        let mut corpus = Corpus::new(&tokenizer);
        let scratch = tempfile::tempdir().expect("a scratch folder");
        let web = scratch.path().join("web");
        std::fs::create_dir_all(web.join("pkg")).expect("the page's folder");
        std::fs::write(web.join("index.html"), "<p>page</p>").expect("the page");
        std::fs::write(web.join("pkg/codeblock.js"), "export {}").expect("the module");
        std::fs::write(scratch.path().join("outside.txt"), "secret").expect("a file outside");
        std::os::unix::fs::symlink(scratch.path().join("outside.txt"), web.join("escape")).expect("a link out");
        std::os::unix::fs::symlink(scratch.path(), web.join("out")).expect("a folder link out");
        let web = web.canonicalize().expect("the page's folder");
        let (config, shard) = two_files(&corpus.hf_model[0]);
        let (_, model) =
            load_hf(&String::from_utf8_lossy(config), &[shard.to_vec()], &Device::flex()).expect("the tiny Llama");
        let (model_record, optimizer_record) =
            codeblock::fuzzing::checkpoint_seed(&scratch.path().join("train"), &model).expect("a checkpoint");
        corpus.checkpoint = vec![joined(&model_record, &optimizer_record)];
        Harness {
            corpus,
            tokenizer,
            scratch,
            web,
            model,
        }
    }

    /// Runs a target on an input; `Err` with the panic's message when it panics (or when a
    /// promise of the target is broken).
    pub fn check(&self, target: Target, input: &[u8]) -> Result<(), String> {
        catch_unwind(AssertUnwindSafe(|| self.run_target(target, input))).map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic".into())
        })
    }

    fn run_target(&self, target: Target, input: &[u8]) {
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
            Target::JsonlTokenizer => select(&as_pairs(input), &self.tokenizer),
            Target::Python => {
                let code = String::from_utf8_lossy(input);
                // One grammar per input, picked by its hash: over a run every grammar reads
                // every kind of input (they share the partition and names code), at one parse
                // an input.
                let languages: Vec<lang::Language> = lang::parsed_languages().collect();
                let language = languages[(fnv1a(input) % languages.len() as u64) as usize];
                let items = structure::code_items(&code, language, &config.partition);
                serde_json::to_string(&items).expect("items serialize");
            }
            Target::Scores => {
                // A scores file that cannot be read is an error naming its line, never a panic.
                if let Ok(mut scorer) = PrecomputedScorer::from_jsonl(input) {
                    let inputs = jsonl::records(&self.corpus.pairs, &Fields::default(), None);
                    let count = inputs.len();
                    let outputs = run(inputs, &self.tokenizer, &mut scorer, None, &config, &mut ());
                    assert_eq!(outputs.len(), count, "a record was lost");
                }
            }
            Target::Gguf => {
                if let Ok(gguf) = Gguf::parse(input) {
                    for tensor in &gguf.tensors {
                        let _ = gguf.dequantize(&tensor.name);
                    }
                }
            }
            Target::HfModel => {
                let (config, shard) = two_files(input);
                let _ = load_hf(&String::from_utf8_lossy(config), &[shard.to_vec()], &Device::flex());
            }
            Target::TrainSettings => {
                let dir = self.scratch.path().join("run");
                std::fs::create_dir_all(&dir).expect("the run folder");
                std::fs::write(dir.join("run.json"), input).expect("run.json");
                let _ = codeblock::fuzzing::train_settings(&dir);
            }
            Target::Checkpoint => {
                let (model_record, optimizer_record) = two_files(input);
                let out = self.scratch.path().join("train");
                let _ = codeblock::fuzzing::checkpoint_resume(&out, self.model.clone(), model_record, optimizer_record);
            }
            Target::ScoreResume => {
                let (scores, run) = two_files(input);
                let out = self.scratch.path().join("scores.jsonl");
                std::fs::write(&out, scores).expect("the score file");
                std::fs::write(self.scratch.path().join("scores.jsonl.run.json"), run).expect("its run.json");
                let _ = codeblock::fuzzing::score_resume(&out, SCORED_MODEL, SCORED_INPUT);
            }
            Target::Serve => {
                let url = String::from_utf8_lossy(input);
                if let Some(file) = codeblock::fuzzing::file_for(&self.web, &url) {
                    assert!(
                        file.starts_with(&self.web) && file.is_file(),
                        "{url} served {}",
                        file.display()
                    );
                }
            }
        }
    }
}
