//! The whole pipeline in JavaScript (feature `select`): a [`Session`] that selects records' loss
//! masks with an optional `tokenizer.json` and model scores, and `curate`, the pair stage.

use codeblock_core::curate::{Curated, Measured, Pool};
use codeblock_core::formats::jsonl;
use codeblock_core::pipeline;
use codeblock_core::pipeline::output::{self, Input, RecordOutput, Reject};
use codeblock_core::pipeline::record::parse_record;
use codeblock_core::pipeline::score::{NgramScorer, PrecomputedScorer, TokenScorer};
use codeblock_core::pipeline::tokens::{HfTokenizer, LexicalTokenizer, Tokenize};
use wasm_bindgen::prelude::*;

use crate::{JsOptions, Options, is_plain_object, string_arg, stringify, to_js, wrong_type};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = include_str!("select.d.ts");

/// A tokenizer (Qwen's, say, from a `tokenizer.json` the user picked) and the calls that use it.
/// Without one, the lexical fallback tokenizes, as natively without `--tokenizer`.
#[wasm_bindgen]
#[derive(Debug, Default)]
pub struct Session {
    tokenizer: Option<HfTokenizer>,
    /// A model's log-probs (`setScores`); without them the n-gram baseline scores.
    scores: Option<PrecomputedScorer>,
}

#[wasm_bindgen]
impl Session {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Session {
        Session::default()
    }

    /// Loads a Hugging Face `tokenizer.json` from its bytes.
    #[wasm_bindgen(js_name = loadTokenizer)]
    pub fn load_tokenizer(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue,
    ) -> Result<(), JsValue> {
        let bytes = bytes_arg("bytes", &bytes)?;
        let tokenizer = HfTokenizer::from_bytes(&bytes).map_err(|e| JsError::new(&format!("tokenizer: {e}")))?;
        self.tokenizer = Some(tokenizer);
        Ok(())
    }

    /// Uses a model's scores (JSONL lines `id`, `token_ids`, `logprobs`: what `Model.score`
    /// resolves to, or a file for `codeblock select --scores`) instead of the n-gram baseline.
    #[wasm_bindgen(js_name = setScores)]
    pub fn set_scores(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] jsonl: JsValue,
    ) -> Result<(), JsValue> {
        let jsonl = string_arg("jsonl", &jsonl)?;
        let scores = PrecomputedScorer::from_jsonl(jsonl.as_bytes()).map_err(|e| JsError::new(&e.to_string()))?;
        self.scores = Some(scores);
        Ok(())
    }

    /// Back to the n-gram baseline.
    #[wasm_bindgen(js_name = clearScores)]
    pub fn clear_scores(&mut self) {
        self.scores = None;
    }

    /// True while a model's scores are in use.
    #[wasm_bindgen(getter, js_name = hasScores)]
    pub fn has_scores(&self) -> bool {
        self.scores.is_some()
    }

    /// True once a `tokenizer.json` is loaded.
    #[wasm_bindgen(getter, js_name = hasTokenizer)]
    pub fn has_tokenizer(&self) -> bool {
        self.tokenizer.is_some()
    }

    /// Runs the pipeline on a JSONL file's bytes and returns the JSONL that
    /// `codeblock select --input FILE` writes, byte for byte (n-gram scores fitted on the file).
    #[wasm_bindgen(js_name = selectJsonl)]
    pub fn select_jsonl(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue,
        options: Option<JsOptions>,
    ) -> Result<String, JsValue> {
        let bytes = bytes_arg("bytes", &bytes)?;
        let options = Options::from_js(options)?;
        let inputs = jsonl::records(&bytes, &options.fields, options.schema);
        Ok(output::jsonl(&self.run(inputs, &options)))
    }

    /// Selects the blocks of one record, given as an object in any of the input schemas
    /// (`{instruction, output}`, `{messages}`, `{prompt, completion}`).
    #[wasm_bindgen(unchecked_return_type = "RecordOutput")]
    pub fn select(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "object")] record: JsValue,
        options: Option<JsOptions>,
    ) -> Result<JsValue, JsValue> {
        if !is_plain_object(&record) {
            return Err(wrong_type("record", "an object", &record));
        }
        let options = Options::from_js(options)?;
        let input = record_input(&stringify(&record)?, &options);
        let output = self.run(vec![input], &options).remove(0);
        Ok(to_js(&output)?)
    }

    fn run(&mut self, inputs: Vec<Input>, options: &Options) -> Vec<RecordOutput> {
        let tokenizer: &dyn Tokenize = match &self.tokenizer {
            Some(tokenizer) => tokenizer,
            None => &LexicalTokenizer,
        };
        let mut ngram = NgramScorer::default();
        let scorer: &mut dyn TokenScorer = match &mut self.scores {
            Some(scores) => scores,
            None => &mut ngram,
        };
        pipeline::run(inputs, tokenizer, scorer, None, &options.config, &mut ())
            .into_iter()
            .map(|output| output.in_positions(options.positions))
            .collect()
    }
}

/// The pair stage on a JSONL file's bytes, model-free: the kept lines (`kept`, JSONL, the text
/// `codeblock curate --no-tests` writes) and the report (`report`). Pairs' `test` fields are not
/// run here (no sandbox in a page); `Model.curate` adds a model's reading.
#[wasm_bindgen(unchecked_return_type = "CurateResult")]
pub fn curate(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue,
    options: Option<JsOptions>,
) -> Result<JsValue, JsValue> {
    let bytes = bytes_arg("bytes", &bytes)?;
    let options = Options::from_js(options)?;
    let pool = Pool::new(&bytes, jsonl::records(&bytes, &options.fields, options.schema));
    Ok(curated_to_js(pool.curate(Measured::default(), &options.curate))?)
}

pub(crate) fn curated_to_js(curated: Result<Curated, String>) -> Result<JsValue, JsError> {
    let Curated { kept_lines, report } = curated.map_err(|e| JsError::new(&e))?;
    to_js(&serde_json::json!({ "kept": kept_lines, "report": report }))
}

/// One record given as JSON (in any input schema); a record that cannot be read is named `record`.
pub(crate) fn record_input(json: &str, options: &Options) -> Input {
    let record = parse_record(json, "record", &options.fields, options.schema)
        .map_err(|e| Reject::new(e.reason(), e.to_string()));
    Input { line: None, record }
}

/// Bytes from a `Uint8Array` (a Node `Buffer` is one) or an `ArrayBuffer`.
pub(crate) fn bytes_arg(name: &str, value: &JsValue) -> Result<Vec<u8>, JsValue> {
    if let Some(array) = value.dyn_ref::<js_sys::Uint8Array>() {
        Ok(array.to_vec())
    } else if value.is_instance_of::<js_sys::ArrayBuffer>() {
        Ok(js_sys::Uint8Array::new(value).to_vec())
    } else {
        Err(wrong_type(name, "a Uint8Array", value))
    }
}
