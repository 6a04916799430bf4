//! The Python shell (`import codeblock`): core's pipeline behind a `Selector`, with the same
//! answers as the `codeblock` binary, byte for byte (tests/python/test_package.py). Thin: it
//! converts arguments and errors; every decision is core's.
//!
//! Besides `select_jsonl` (one call, one process), the selector runs the global budget as a
//! map/reduce over shards of a dataset, which `codeblock.select_dataset` drives: `fit` per shard
//! and `fitted` once (the n-gram baseline of the whole input), `shortlist` per shard, `cut` once,
//! `apply` per shard. Shards name their rows by line number (a row is line `index + 1`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use codeblock_core::export::{TokenRow, TrainingLine, trainable};
use codeblock_core::formats::chat::ChatTokenizer;
use codeblock_core::formats::jsonl;
use codeblock_core::pipeline::analysis::Prepared;
use codeblock_core::pipeline::output::Input;
use codeblock_core::pipeline::record::Fields;
use codeblock_core::pipeline::score::{Fitted, NgramCounts, NgramScorer, PrecomputedScorer, TokenScorer};
use codeblock_core::pipeline::select::{self, Chosen, Shortlist};
use codeblock_core::pipeline::tokens::{LexicalTokenizer, Tokenize};
use codeblock_core::pipeline::{analyse, output, prepare, requests};
use codeblock_core::train::Mode;
use codeblock_core::{Config, run};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The pipeline's settings and a model's tokenizer (with its chat template and end tokens),
/// ready to select and to make training rows. Picklable (its config, the tokenizer's JSON, the
/// template, the end tokens and a fitted n-gram model's counts), so `datasets.map(num_proc=N)`
/// and Ray can ship it to workers.
#[pyclass(module = "codeblock._codeblock", frozen)]
#[derive(Debug, Clone)]
struct Selector {
    chat: Option<ChatTokenizer>,
    config: Config,
    /// The n-gram baseline fitted on a whole dataset (`fitted`), shared by its shards.
    ngram: Option<Arc<NgramScorer>>,
}

fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// The bytes shards and the driver pass each other (counts, shortlists, shares): postcard,
/// compact and exact (an f64 travels as its 8 bytes).
fn to_bytes(value: &impl Serialize) -> PyResult<Vec<u8>> {
    postcard::to_stdvec(value).map_err(value_error)
}

fn from_bytes<T: DeserializeOwned>(bytes: &[u8], what: &str) -> PyResult<T> {
    postcard::from_bytes(bytes).map_err(|e| PyValueError::new_err(format!("{what}: {e}")))
}

#[pymethods]
impl Selector {
    /// `tokenizer`: the bytes of a Hugging Face `tokenizer.json` or of a GGUF model (its
    /// tokenizer, chat template and end tokens); without one, the lexical fallback (which can
    /// select but makes no training rows). `config`: the pipeline's knobs as JSON text, as
    /// `codeblock select --config` reads them (METHOD.md). `ngram`: a fitted n-gram model's
    /// counts (what pickling carries; `fitted` makes them). `tokenizer_config`: the text of a
    /// checkpoint's `tokenizer_config.json` (its chat template and end token). `chat_template`
    /// and `end_tokens` replace what the tokenizer came with.
    #[new]
    #[pyo3(signature = (tokenizer=None, config=None, ngram=None, tokenizer_config=None, chat_template=None, end_tokens=None))]
    fn new(
        tokenizer: Option<&[u8]>,
        config: Option<&str>,
        ngram: Option<&[u8]>,
        tokenizer_config: Option<&str>,
        chat_template: Option<String>,
        end_tokens: Option<Vec<u32>>,
    ) -> PyResult<Self> {
        let chat = tokenizer
            .map(|bytes| chat_tokenizer(bytes, tokenizer_config, chat_template, end_tokens))
            .transpose()?;
        let ngram = ngram
            .map(|bytes| from_bytes::<NgramCounts>(bytes, "n-gram counts"))
            .transpose()?
            .map(|counts| Arc::new(NgramScorer::from_counts([counts])));
        Selector::build(chat, parse_config(config)?, ngram)
    }

    /// A selector for a model's files: `tokenizer` is a GGUF model, a `tokenizer.json` (with
    /// `tokenizer_config.json` and `chat_template.jinja` read from beside it when there), or a
    /// Hugging Face checkpoint folder holding them. `chat_template`: a template's text in place
    /// of the model's. `budget`: the fraction of response tokens to supervise (METHOD.md's
    /// `select.budget`), over `config`.
    #[staticmethod]
    #[pyo3(signature = (tokenizer, chat_template=None, budget=None, config=None))]
    fn from_pretrained_files(
        tokenizer: PathBuf,
        chat_template: Option<String>,
        budget: Option<f64>,
        config: Option<&str>,
    ) -> PyResult<Self> {
        let (file, folder) = match tokenizer.is_dir() {
            true => (tokenizer.join("tokenizer.json"), tokenizer.clone()),
            false => (
                tokenizer.clone(),
                tokenizer.parent().map(Path::to_path_buf).unwrap_or_default(),
            ),
        };
        let bytes = read(&file)?;
        let beside = |name: &str| -> PyResult<Option<String>> {
            let path = folder.join(name);
            match bytes.starts_with(b"GGUF") || !path.exists() {
                true => Ok(None),
                false => String::from_utf8(read(&path)?)
                    .map(Some)
                    .map_err(|_| value_error(format!("{} is not UTF-8", path.display()))),
            }
        };
        let tokenizer_config = beside("tokenizer_config.json")?;
        // transformers saves a template in its own file, which wins over the config's.
        let chat_template = chat_template.or(beside("chat_template.jinja")?);
        let chat = chat_tokenizer(&bytes, tokenizer_config.as_deref(), chat_template, None)
            .map_err(|e| value_error(format!("{}: {e}", tokenizer.display())))?;
        let mut config = parse_config(config)?;
        if let Some(budget) = budget {
            config.select.budget = budget;
        }
        Selector::build(Some(chat), config, None)
    }

    /// Whether this selector has a model's tokenizer, and so can make training rows.
    #[getter]
    fn has_tokenizer(&self) -> bool {
        self.chat.is_some()
    }

    /// The JSONL `codeblock select` writes for these input lines: one line per record, rejects
    /// included. `scores`: precomputed log-probs (`select --scores`, any of its shapes);
    /// without them the n-gram baseline, fitted on these lines.
    #[pyo3(signature = (data, scores=None))]
    fn select_jsonl(&self, py: Python<'_>, data: &[u8], scores: Option<&[u8]>) -> PyResult<String> {
        let mut scorer = self.scorer(scores, None, &[])?;
        py.detach(|| {
            let inputs = jsonl::records(data, &Fields::default(), None);
            let outputs = run(inputs, self.tokenizer(), scorer.as_mut(), None, &self.config, &mut ());
            Ok(output::jsonl(&outputs))
        })
    }

    /// Phase 0 of a dataset's n-gram baseline: the counts of these rows (JSON lines, with their
    /// line numbers), to be added up by `fitted`.
    fn fit(&self, py: Python<'_>, lines: Vec<String>, numbers: Vec<usize>) -> PyResult<Vec<u8>> {
        let inputs = inputs(&lines, &numbers)?;
        py.detach(|| {
            // The model sees what `analyse` shows a scorer: every record that prepares. Scores
            // and ranks are not needed to count.
            let prepared: Vec<Prepared> = inputs
                .into_iter()
                .filter_map(|input| input.record.ok())
                .filter_map(|record| prepare(record, self.tokenizer(), &self.config).ok())
                .collect();
            let mut ngram = NgramScorer::default();
            ngram.observe(&requests(&prepared.iter().collect::<Vec<_>>()));
            to_bytes(&ngram.counts())
        })
    }

    /// This selector with the n-gram baseline fitted on every shard's counts (from `fit`).
    fn fitted(&self, py: Python<'_>, counts: Vec<Vec<u8>>) -> PyResult<Selector> {
        let parts = counts
            .iter()
            .map(|bytes| from_bytes::<NgramCounts>(bytes, "n-gram counts"))
            .collect::<PyResult<Vec<_>>>()?;
        let ngram = py.detach(|| NgramScorer::from_counts(parts));
        Ok(Selector {
            ngram: Some(Arc::new(ngram)),
            ..self.clone()
        })
    }

    /// Phase 1: each row's shortlist for the budget (bytes), or None when the row is rejected.
    /// `scores`: precomputed log-probs as a file's bytes (`select --scores`), or `row_scores`,
    /// one JSON object per row in any of its shapes without the `id` (a dataset's `logprobs`
    /// column), None for a row without.
    #[pyo3(signature = (lines, numbers, scores=None, row_scores=None))]
    fn shortlist(
        &self,
        py: Python<'_>,
        lines: Vec<String>,
        numbers: Vec<usize>,
        scores: Option<&[u8]>,
        row_scores: Option<Vec<Option<String>>>,
    ) -> PyResult<Vec<Option<Vec<u8>>>> {
        let inputs = inputs(&lines, &numbers)?;
        let mut scorer = self.scorer(scores, row_scores.as_deref(), &inputs)?;
        py.detach(|| {
            analyse(inputs, self.tokenizer(), scorer.as_mut(), None, &self.config, &mut ())
                .iter()
                .map(|analysis| match analysis {
                    Ok(analysis) => to_bytes(&select::shortlist(analysis, self.config.select.granularity)).map(Some),
                    Err(_) => Ok(None),
                })
                .collect()
        })
    }

    /// Phase 2, once over every row's shortlist in row order: what each row is given (bytes),
    /// or None for a rejected row.
    fn cut(&self, py: Python<'_>, shortlists: Vec<Option<Vec<u8>>>) -> PyResult<Vec<Option<Vec<u8>>>> {
        let lists = shortlists
            .iter()
            .flatten()
            .map(|bytes| from_bytes::<Shortlist>(bytes, "a shortlist"))
            .collect::<PyResult<Vec<_>>>()?;
        let chosen = py.detach(|| select::cut(lists, &self.config.select));
        let mut chosen = chosen.iter();
        shortlists
            .iter()
            .map(|list| match list {
                Some(_) => chosen.next().map(to_bytes).transpose(),
                None => Ok(None),
            })
            .collect()
    }

    /// Phase 3: each row's output line (`codeblock select`'s JSON), from what `cut` gave it.
    /// The scores are phase 1's.
    #[pyo3(signature = (lines, numbers, chosen, scores=None, row_scores=None))]
    fn apply(
        &self,
        py: Python<'_>,
        lines: Vec<String>,
        numbers: Vec<usize>,
        chosen: Vec<Option<Vec<u8>>>,
        scores: Option<&[u8]>,
        row_scores: Option<Vec<Option<String>>>,
    ) -> PyResult<Vec<String>> {
        let inputs = inputs(&lines, &numbers)?;
        if chosen.len() != lines.len() {
            return Err(value_error(format!(
                "{} rows but {} choices",
                lines.len(),
                chosen.len()
            )));
        }
        let mut scorer = self.scorer(scores, row_scores.as_deref(), &inputs)?;
        py.detach(|| {
            let analysed = analyse(inputs, self.tokenizer(), scorer.as_mut(), None, &self.config, &mut ());
            analysed
                .into_iter()
                .zip(&chosen)
                .map(|(analysis, chosen)| {
                    let output = match (analysis, chosen) {
                        (Ok(analysis), Some(chosen)) => {
                            output::record_output(&analysis, &from_bytes::<Chosen>(chosen, "a choice")?)
                        }
                        (Err(rejected), None) => rejected,
                        _ => return Err(value_error("a row's choice does not match its shortlist")),
                    };
                    serde_json::to_string(&output).map_err(value_error)
                })
                .collect()
        })
    }

    /// The training rows of `select` output lines (`apply`'s, the binary's, or either with
    /// the `weights` of `mode="mask"`), as the columns of `codeblock export --format trl`:
    /// `input_ids` (the prompt through the chat template, the response's ids, the end token),
    /// `attention_mask`, `labels` (-100 where no loss) and `assistant_masks`, one row per line.
    /// A line that gives no row (rejected by select, or given no loss by the mode) has empty
    /// columns and its reason in `reject` ("reason: message"); the others have `reject` None.
    /// `mode`: one of the trainer's modes (codeblock, full, random, random_items, mask).
    #[pyo3(signature = (selected, mode="codeblock", seed=0))]
    fn token_columns(&self, py: Python<'_>, selected: Vec<String>, mode: &str, seed: u64) -> PyResult<TokenColumns> {
        let chat = self
            .chat
            .as_ref()
            .ok_or_else(|| value_error("training rows need a model's tokenizer; make the Selector with one"))?;
        let mode: Mode = serde_json::from_value(serde_json::Value::String(mode.replace('-', "_")))
            .map_err(|_| value_error(format!("unknown mode `{mode}`")))?;
        if mode == Mode::TokenCleaning {
            return Err(value_error(
                "mode token_cleaning needs two models; train it with `codeblock train`",
            ));
        }
        py.detach(|| {
            let mut columns = TokenColumns::default();
            for (index, text) in selected.iter().enumerate() {
                let line: TrainingLine = serde_json::from_str(text)
                    .map_err(|e| value_error(format!("row {index}: not a `codeblock select` output line: {e}")))?;
                let trainable = trainable(chat, &line, mode, seed)
                    .map_err(|e| value_error(format!("row {index} (record `{}`): {e}", line.record.id)))?;
                match trainable {
                    Ok(trainable) => columns.push(TokenRow::new(&trainable.example), None),
                    Err(reject) => columns.push(
                        TokenRow::default(),
                        Some(format!("{}: {}", reject.reason, reject.message)),
                    ),
                }
            }
            Ok(columns)
        })
    }

    /// Pickling: the tokenizer as its JSON, the config as JSON, a fitted model's counts, the
    /// chat template and end tokens.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let py = slf.py();
        let this = slf.get();
        let tokenizer = this
            .chat
            .as_ref()
            .map(|chat| chat.tokenizer.to_json().map(|json| PyBytes::new(py, json.as_bytes())))
            .transpose()
            .map_err(value_error)?;
        let config = serde_json::to_string(&this.config).map_err(value_error)?;
        let ngram = this
            .ngram
            .as_ref()
            .map(|ngram| to_bytes(&ngram.counts()).map(|b| PyBytes::new(py, &b)))
            .transpose()?;
        let template = this.chat.as_ref().and_then(|chat| chat.template_source.clone());
        let end_tokens = this.chat.as_ref().map(|chat| chat.end_tokens.clone());
        Ok((
            slf.get_type().into_any(),
            (tokenizer, config, ngram, None, template, end_tokens),
        ))
    }
}

impl Selector {
    /// A selector from its parts; every constructor's config is checked here.
    fn build(chat: Option<ChatTokenizer>, config: Config, ngram: Option<Arc<NgramScorer>>) -> PyResult<Self> {
        config
            .check()
            .map_err(|e| PyValueError::new_err(format!("config: {e}")))?;
        Ok(Selector { chat, config, ngram })
    }

    fn tokenizer(&self) -> &dyn Tokenize {
        match &self.chat {
            Some(chat) => &chat.tokenizer,
            None => &LexicalTokenizer,
        }
    }

    /// Precomputed scores when given (a file's, or each row's beside its record in `inputs`);
    /// else the fitted n-gram model, or one fitted on the call's own records.
    fn scorer(
        &self,
        scores: Option<&[u8]>,
        row_scores: Option<&[Option<String>]>,
        inputs: &[Input],
    ) -> PyResult<Box<dyn TokenScorer + Send + '_>> {
        Ok(match (scores, row_scores, &self.ngram) {
            (Some(scores), _, _) => Box::new(PrecomputedScorer::from_jsonl(scores).map_err(value_error)?),
            (None, Some(rows), _) => Box::new(rows_scorer(rows, inputs)?),
            (None, None, Some(ngram)) => Box::new(Fitted(ngram)),
            (None, None, None) => Box::new(NgramScorer::default()),
        })
    }
}

/// The pipeline's knobs from JSON text (`select --config`'s), or the defaults.
fn parse_config(json: Option<&str>) -> PyResult<Config> {
    match json {
        Some(json) => serde_json::from_str(json).map_err(|e| PyValueError::new_err(format!("config: {e}"))),
        None => Ok(Config::default()),
    }
}

/// A model's tokenizer from a `tokenizer.json`'s or a GGUF file's bytes, with its chat template
/// and end tokens, or the ones given in their place.
fn chat_tokenizer(
    bytes: &[u8],
    tokenizer_config: Option<&str>,
    chat_template: Option<String>,
    end_tokens: Option<Vec<u32>>,
) -> PyResult<ChatTokenizer> {
    let chat = ChatTokenizer::from_bytes(bytes, tokenizer_config).map_err(value_error)?;
    let template = chat_template.or(chat.template_source);
    let end_tokens = end_tokens.unwrap_or(chat.end_tokens);
    ChatTokenizer::from_parts(chat.tokenizer, template, end_tokens).map_err(value_error)
}

/// The scores given beside each row's record; a row that cannot be read has none to give.
fn rows_scorer(rows: &[Option<String>], inputs: &[Input]) -> PyResult<PrecomputedScorer> {
    if rows.len() != inputs.len() {
        return Err(value_error(format!("{} rows but {} scores", inputs.len(), rows.len())));
    }
    let mut scorer = PrecomputedScorer::default();
    for (input, scores) in inputs.iter().zip(rows) {
        let (Ok(record), Some(scores)) = (&input.record, scores) else {
            continue;
        };
        let row = input.line.unwrap_or_default();
        serde_json::from_str(scores)
            .map_err(|e| e.to_string())
            .and_then(|scores| scorer.add_record(&record.id, scores))
            .map_err(|e| value_error(format!("line {row} (record `{}`): scores: {e}", record.id)))?;
    }
    Ok(scorer)
}

/// Training rows as columns (`Selector.token_columns`).
#[derive(Default, IntoPyObject)]
struct TokenColumns {
    input_ids: Vec<Vec<u32>>,
    // 0/1 flags as ints: PyO3 would turn a `Vec<u8>` into `bytes`.
    attention_mask: Vec<Vec<i32>>,
    labels: Vec<Vec<i64>>,
    assistant_masks: Vec<Vec<i32>>,
    reject: Vec<Option<String>>,
}

impl TokenColumns {
    fn push(&mut self, row: TokenRow, reject: Option<String>) {
        self.input_ids.push(row.input_ids);
        let ints = |flags: Vec<u8>| flags.into_iter().map(i32::from).collect();
        self.attention_mask.push(ints(row.attention_mask));
        self.labels.push(row.labels);
        self.assistant_masks.push(ints(row.assistant_masks));
        self.reject.push(reject);
    }
}

fn read(path: &Path) -> PyResult<Vec<u8>> {
    std::fs::read(path).map_err(|e| PyOSError::new_err(format!("cannot read {}: {e}", path.display())))
}

/// Rows given as JSON lines with their line numbers.
fn inputs(lines: &[String], numbers: &[usize]) -> PyResult<Vec<Input>> {
    if lines.len() != numbers.len() {
        return Err(value_error(format!(
            "{} lines but {} line numbers",
            lines.len(),
            numbers.len()
        )));
    }
    Ok(lines
        .iter()
        .zip(numbers)
        .map(|(line, &number)| jsonl::record_at(number, Ok(line), &Fields::default(), None))
        .collect())
}

/// What pickle calls to remake a selector: the class, and its constructor's arguments.
type Reduced<'py> = (
    Bound<'py, PyAny>,
    (
        Option<Bound<'py, PyBytes>>,
        String,
        Option<Bound<'py, PyBytes>>,
        Option<String>,
        Option<String>,
        Option<Vec<u32>>,
    ),
);

#[pymodule]
fn _codeblock(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Selector>()?;
    Ok(())
}
