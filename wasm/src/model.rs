//! In-browser scoring (feature `model`): a GGUF model picked by the user, on WebGPU, or on the
//! CPU where the browser has no WebGPU. It writes the same score lines `codeblock select
//! --scores` reads, which a [`crate::Session`] then selects with (`setScores`), so moving a knob
//! re-selects without scoring again.

use std::cell::RefCell;
use std::rc::Rc;

use burn::tensor::Device;
use codeblock_core::curate::{Measured, Pool};
use codeblock_core::formats::jsonl;
use codeblock_core::model::{ModelBundle, ModelScorer, Scored, read_pairs};
use wasm_bindgen::prelude::*;

use crate::{JsOptions, Options, stringify};

thread_local! {
    /// burn's WebGPU runtime can be set up once per page; later models reuse it.
    static WEBGPU: RefCell<Option<Device>> = const { RefCell::new(None) };
}

/// A language model loaded from a GGUF file's bytes, with its own tokenizer and chat template.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Model {
    inner: Rc<Inner>,
}

#[derive(Debug)]
struct Inner {
    scorer: ModelScorer,
    tokenizer_json: String,
    device: String,
}

#[wasm_bindgen]
impl Model {
    /// Loads a GGUF model (Llama or Qwen2 family). `device`: `"auto"` (WebGPU when the browser
    /// has it, else the CPU), `"webgpu"` or `"cpu"`.
    pub async fn load(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue,
        device: Option<js_sys::JsString>,
    ) -> Result<Model, JsValue> {
        let bytes = crate::select::bytes_arg("bytes", &bytes)?;
        let device = match device.map(JsValue::from).filter(|d| !d.is_undefined()) {
            Some(device) => crate::string_arg("device", &device)?,
            None => "auto".into(),
        };
        let (device, device_name) = choose_device(&device).await?;
        let bundle = ModelBundle::from_gguf(&bytes, &device).map_err(|e| JsError::new(&format!("model: {e}")))?;
        drop(bytes);
        let tokenizer_json = bundle
            .chat
            .tokenizer
            .to_json()
            .map_err(|e| JsError::new(&format!("model: {e}")))?;
        let scorer = ModelScorer::from_bundle(bundle, device);
        let inner = Inner {
            scorer,
            tokenizer_json,
            device: device_name,
        };
        Ok(Model { inner: Rc::new(inner) })
    }

    /// Where the model runs, in words.
    #[wasm_bindgen(getter)]
    pub fn device(&self) -> String {
        self.inner.device.clone()
    }

    /// The model's tokenizer as `tokenizer.json` text, for `Session.loadTokenizer`: scores only
    /// line up with the model's own tokens.
    #[wasm_bindgen(getter, js_name = tokenizerJson)]
    pub fn tokenizer_json(&self) -> String {
        self.inner.tokenizer_json.clone()
    }

    /// Scores the records of a JSONL file's bytes, or one record object. Resolves to score lines
    /// (JSONL: `id`, `token_ids`, `logprobs`; shortest responses first) for `Session.setScores`.
    /// Records that cannot be read or scored get no line; selecting reports them.
    /// `onProgress(done, total)` counts tokens.
    #[wasm_bindgen(unchecked_return_type = "Promise<string>")]
    pub fn score(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | object")] input: JsValue,
        options: Option<JsOptions>,
        #[wasm_bindgen(js_name = onProgress)] on_progress: Option<js_sys::Function>,
    ) -> Result<js_sys::Promise, JsValue> {
        if let Some(callback) = on_progress.as_ref().map(JsValue::from)
            && !callback.is_undefined()
            && !callback.is_function()
        {
            return Err(crate::wrong_type("onProgress", "a function", &callback));
        }
        let options = Options::from_js(options)?;
        let inputs = match input.dyn_ref::<js_sys::Uint8Array>() {
            Some(bytes) => jsonl::records(&bytes.to_vec(), &options.fields, options.schema),
            None if crate::is_plain_object(&input) => vec![crate::select::record_input(&stringify(&input)?, &options)],
            None => return Err(crate::wrong_type("input", "a Uint8Array or a record object", &input)),
        };
        let inner = Rc::clone(&self.inner);
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            let mut lines = String::new();
            let mut report = |scored: Scored, done: usize, total: usize| {
                if let Scored::Line(line) = scored {
                    lines.push_str(&line);
                    lines.push('\n');
                }
                if let Some(callback) = &on_progress {
                    let _ = callback.call2(&JsValue::NULL, &done.into(), &total.into());
                }
            };
            inner.scorer.score_inputs(inputs, &options.config, &mut report).await;
            Ok(JsValue::from(lines))
        }))
    }

    /// The pair stage on a JSONL file's bytes with this model's reading: IFD joins each pair's
    /// quality and the model's mean-pooled hidden states place it among the others. Resolves
    /// to `{kept, report}`, as `codeblock curate --model --no-tests` writes them.
    #[wasm_bindgen(unchecked_return_type = "Promise<CurateResult>")]
    pub fn curate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue,
        options: Option<JsOptions>,
    ) -> Result<js_sys::Promise, JsValue> {
        let bytes = crate::select::bytes_arg("bytes", &bytes)?;
        let options = Options::from_js(options)?;
        let inner = Rc::clone(&self.inner);
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            let pool = Pool::new(&bytes, jsonl::records(&bytes, &options.fields, options.schema));
            let records: Vec<_> = pool.pairs().iter().map(|p| p.record).collect();
            let (bundle, device) = (inner.scorer.bundle(), inner.scorer.device());
            let readings = read_pairs(bundle, device, &records, inner.scorer.batch_tokens).await;
            let measured = Measured {
                passes_tests: vec![],
                readings: Some(readings),
            };
            crate::select::curated_to_js(pool.curate(measured, &options.curate)).map_err(JsValue::from)
        }))
    }
}

/// The device for `choice`, and its name in words.
async fn choose_device(choice: &str) -> Result<(Device, String), JsError> {
    let cpu = |why: &str| (Device::flex(), format!("CPU (burn flex in WebAssembly{why})"));
    if choice == "cpu" {
        return Ok(cpu(""));
    }
    if !matches!(choice, "auto" | "webgpu") {
        return Err(JsError::new(&format!(
            "device `{choice}`: expected \"auto\", \"webgpu\" or \"cpu\""
        )));
    }
    if let Some(device) = WEBGPU.with(|d| d.borrow().clone()) {
        return Ok((device, "WebGPU".into()));
    }
    match Device::wgpu_options().init_async().await {
        Ok(device) => {
            WEBGPU.with(|d| *d.borrow_mut() = Some(device.clone()));
            Ok((device, "WebGPU".into()))
        }
        Err(e) if choice == "auto" => Ok(cpu(&format!("; no WebGPU: {e}"))),
        Err(e) => Err(JsError::new(&format!("WebGPU is not available: {e}"))),
    }
}
