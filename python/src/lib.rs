//! The Python shell (`import codeblock`): core's pipeline behind a `Selector`, with the same
//! answers as the `codeblock` binary, byte for byte (tests/python/test_package.py). Thin: it
//! converts arguments and errors; every decision is core's.

use codeblock_core::formats::jsonl;
use codeblock_core::pipeline::record::Fields;
use codeblock_core::pipeline::score::{NgramScorer, PrecomputedScorer, TokenScorer};
use codeblock_core::pipeline::tokens::{HfTokenizer, LexicalTokenizer, Tokenize};
use codeblock_core::{Config, run};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// The pipeline's settings and tokenizer, ready to select. Picklable (its config and the
/// tokenizer's JSON), so `datasets.map(num_proc=N)` and Ray can ship it to workers.
#[pyclass(module = "codeblock._codeblock", frozen)]
#[derive(Debug)]
struct Selector {
    tokenizer: Option<HfTokenizer>,
    config: Config,
}

#[pymethods]
impl Selector {
    /// `tokenizer`: the bytes of a Hugging Face `tokenizer.json` or of a GGUF model (its
    /// tokenizer); without one, the lexical fallback. `config`: the pipeline's knobs as JSON
    /// text, as `codeblock select --config` reads them (METHOD.md).
    #[new]
    #[pyo3(signature = (tokenizer=None, config=None))]
    fn new(tokenizer: Option<&[u8]>, config: Option<&str>) -> PyResult<Self> {
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
        Ok(Selector { tokenizer, config })
    }

    /// The JSONL `codeblock select` writes for these input lines: one line per record, rejects
    /// included. `scores`: precomputed log-probs (`select --scores`, any of its shapes);
    /// without them the n-gram baseline, fitted on these lines.
    #[pyo3(signature = (data, scores=None))]
    fn select_jsonl(&self, py: Python<'_>, data: &[u8], scores: Option<&[u8]>) -> PyResult<String> {
        let mut precomputed = scores
            .map(PrecomputedScorer::from_jsonl)
            .transpose()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        py.detach(|| {
            let inputs = jsonl::records(data, &Fields::default(), None);
            let tokenizer: &dyn Tokenize = match &self.tokenizer {
                Some(tokenizer) => tokenizer,
                None => &LexicalTokenizer,
            };
            let mut ngram = NgramScorer::default();
            let scorer: &mut dyn TokenScorer = match &mut precomputed {
                Some(scores) => scores,
                None => &mut ngram,
            };
            let mut text = String::new();
            for output in run(inputs, tokenizer, scorer, None, &self.config, &mut ()) {
                text.push_str(&serde_json::to_string(&output).map_err(|e| PyValueError::new_err(e.to_string()))?);
                text.push('\n');
            }
            Ok(text)
        })
    }

    /// Pickling: the tokenizer as its JSON and the config as JSON.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let py = slf.py();
        let this = slf.get();
        let tokenizer = this
            .tokenizer
            .as_ref()
            .map(|t| t.to_json().map(|json| PyBytes::new(py, json.as_bytes())))
            .transpose()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let config = serde_json::to_string(&this.config).map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok((slf.get_type().into_any(), (tokenizer, config)))
    }
}

/// What pickle calls to remake a selector: the class, and `(tokenizer, config)` for it.
type Reduced<'py> = (Bound<'py, PyAny>, (Option<Bound<'py, PyBytes>>, String));

#[pymodule]
fn _codeblock(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Selector>()?;
    Ok(())
}
