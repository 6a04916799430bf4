//! The Python shell (`import codeblock`): core's pipeline behind a `Selector`, with the same
//! answers as the `codeblock` binary, byte for byte (tests/python/test_package.py). Thin: it
//! converts arguments and errors; every decision is core's.
//!
//! Besides `select_jsonl` (one call, one process), the selector runs the global budget as a
//! map/reduce over shards of a dataset, which `codeblock.select_dataset` drives: `fit` per shard
//! and `fitted` once (the n-gram baseline of the whole input), `shortlist` per shard, `cut` once,
//! `apply` per shard. Shards name their rows by line number (a row is line `index + 1`).

use std::sync::Arc;

use codeblock_core::formats::jsonl;
use codeblock_core::pipeline::analysis::Prepared;
use codeblock_core::pipeline::output::{Input, RecordOutput};
use codeblock_core::pipeline::record::Fields;
use codeblock_core::pipeline::score::{Fitted, NgramCounts, NgramScorer, PrecomputedScorer, TokenScorer};
use codeblock_core::pipeline::select::{self, Chosen, Shortlist};
use codeblock_core::pipeline::tokens::{HfTokenizer, LexicalTokenizer, Tokenize};
use codeblock_core::pipeline::{analyse, output, prepare, requests};
use codeblock_core::{Config, run};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The pipeline's settings and tokenizer, ready to select. Picklable (its config, the
/// tokenizer's JSON and a fitted n-gram model's counts), so `datasets.map(num_proc=N)` and Ray
/// can ship it to workers.
#[pyclass(module = "codeblock._codeblock", frozen)]
#[derive(Debug, Clone)]
struct Selector {
    tokenizer: Option<HfTokenizer>,
    config: Config,
    /// The n-gram baseline fitted on a whole dataset (`fitted`), shared by its shards.
    ngram: Option<Arc<NgramScorer>>,
}

fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

fn to_bytes(value: &impl Serialize) -> PyResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(value_error)
}

fn from_bytes<T: DeserializeOwned>(bytes: &[u8], what: &str) -> PyResult<T> {
    serde_json::from_slice(bytes).map_err(|e| PyValueError::new_err(format!("{what}: {e}")))
}

#[pymethods]
impl Selector {
    /// `tokenizer`: the bytes of a Hugging Face `tokenizer.json` or of a GGUF model (its
    /// tokenizer); without one, the lexical fallback. `config`: the pipeline's knobs as JSON
    /// text, as `codeblock select --config` reads them (METHOD.md). `ngram`: a fitted n-gram
    /// model's counts (what pickling carries; `fitted` makes them).
    #[new]
    #[pyo3(signature = (tokenizer=None, config=None, ngram=None))]
    fn new(tokenizer: Option<&[u8]>, config: Option<&str>, ngram: Option<&[u8]>) -> PyResult<Self> {
        let tokenizer = tokenizer
            .map(HfTokenizer::from_json_or_gguf)
            .transpose()
            .map_err(|e| PyValueError::new_err(format!("tokenizer: {e}")))?;
        let config: Config = match config {
            Some(json) => serde_json::from_str(json).map_err(|e| PyValueError::new_err(format!("config: {e}")))?,
            None => Config::default(),
        };
        config
            .check()
            .map_err(|e| PyValueError::new_err(format!("config: {e}")))?;
        let ngram = ngram
            .map(|bytes| from_bytes::<NgramCounts>(bytes, "n-gram counts"))
            .transpose()?
            .map(|counts| Arc::new(NgramScorer::from_counts([counts])));
        Ok(Selector {
            tokenizer,
            config,
            ngram,
        })
    }

    /// The JSONL `codeblock select` writes for these input lines: one line per record, rejects
    /// included. `scores`: precomputed log-probs (`select --scores`, any of its shapes);
    /// without them the n-gram baseline, fitted on these lines.
    #[pyo3(signature = (data, scores=None))]
    fn select_jsonl(&self, py: Python<'_>, data: &[u8], scores: Option<&[u8]>) -> PyResult<String> {
        let mut scorer = self.scorer(scores)?;
        py.detach(|| {
            let inputs = jsonl::records(data, &Fields::default(), None);
            let outputs = run(inputs, self.tokenizer(), scorer.as_mut(), None, &self.config, &mut ());
            lines_of(&outputs)
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
    #[pyo3(signature = (lines, numbers, scores=None))]
    fn shortlist(
        &self,
        py: Python<'_>,
        lines: Vec<String>,
        numbers: Vec<usize>,
        scores: Option<&[u8]>,
    ) -> PyResult<Vec<Option<Vec<u8>>>> {
        let inputs = inputs(&lines, &numbers)?;
        let mut scorer = self.scorer(scores)?;
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
        let chosen = py.detach(|| select::cut(&lists, &self.config.select));
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
    #[pyo3(signature = (lines, numbers, chosen, scores=None))]
    fn apply(
        &self,
        py: Python<'_>,
        lines: Vec<String>,
        numbers: Vec<usize>,
        chosen: Vec<Option<Vec<u8>>>,
        scores: Option<&[u8]>,
    ) -> PyResult<Vec<String>> {
        let inputs = inputs(&lines, &numbers)?;
        if chosen.len() != lines.len() {
            return Err(value_error(format!(
                "{} rows but {} choices",
                lines.len(),
                chosen.len()
            )));
        }
        let mut scorer = self.scorer(scores)?;
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

    /// Pickling: the tokenizer as its JSON, the config as JSON, a fitted model's counts.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let py = slf.py();
        let this = slf.get();
        let tokenizer = this
            .tokenizer
            .as_ref()
            .map(|t| t.to_json().map(|json| PyBytes::new(py, json.as_bytes())))
            .transpose()
            .map_err(value_error)?;
        let config = serde_json::to_string(&this.config).map_err(value_error)?;
        let ngram = this
            .ngram
            .as_ref()
            .map(|ngram| to_bytes(&ngram.counts()).map(|b| PyBytes::new(py, &b)))
            .transpose()?;
        Ok((slf.get_type().into_any(), (tokenizer, config, ngram)))
    }
}

impl Selector {
    fn tokenizer(&self) -> &dyn Tokenize {
        match &self.tokenizer {
            Some(tokenizer) => tokenizer,
            None => &LexicalTokenizer,
        }
    }

    /// Precomputed scores when given; else the fitted n-gram model, or one fitted on the call's
    /// own records.
    fn scorer(&self, scores: Option<&[u8]>) -> PyResult<Box<dyn TokenScorer + Send + '_>> {
        Ok(match (scores, &self.ngram) {
            (Some(scores), _) => Box::new(PrecomputedScorer::from_jsonl(scores).map_err(value_error)?),
            (None, Some(ngram)) => Box::new(Fitted(ngram)),
            (None, None) => Box::new(NgramScorer::default()),
        })
    }
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

/// Output lines as `codeblock select` writes them.
fn lines_of(outputs: &[RecordOutput]) -> PyResult<String> {
    let mut text = String::new();
    for output in outputs {
        text.push_str(&serde_json::to_string(output).map_err(value_error)?);
        text.push('\n');
    }
    Ok(text)
}

/// What pickle calls to remake a selector: the class, and its constructor's arguments.
type Reduced<'py> = (
    Bound<'py, PyAny>,
    (Option<Bound<'py, PyBytes>>, String, Option<Bound<'py, PyBytes>>),
);

#[pymodule]
fn _codeblock(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Selector>()?;
    Ok(())
}
