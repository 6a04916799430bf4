//! codeblock in JavaScript: a thin wasm-bindgen shell over `codeblock-core`, for the previewer
//! page and editor extensions. No pipeline logic lives here: each call reads its JS arguments as
//! JSON, calls core, and hands back plain JSON-serialisable values (or, for `selectJsonl`, the
//! exact text `codeblock select` writes). Errors are JS `Error`s with core's messages; an
//! argument of the wrong type is a `TypeError` naming it, thrown before anything reaches wasm
//! memory.
//!
//! Two modules come from this crate: the whole pipeline (feature `select`, the default: `Session`
//! and `curate`, with a tokenizer inside) and, without it, the editor's light entry
//! (`partition` and `defaultConfig` only).

use codeblock_core::pipeline::lang::Language;
use codeblock_core::pipeline::{Config, structure};
use codeblock_core::span::Positions;
use serde::Deserialize;
use wasm_bindgen::prelude::*;

#[cfg(feature = "model")]
mod model;
#[cfg(feature = "select")]
mod select;
#[cfg(feature = "model")]
pub use model::Model;
#[cfg(feature = "select")]
pub use select::{Session, curate};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = include_str!("types.d.ts");

#[wasm_bindgen]
extern "C" {
    /// The `Options` object of types.d.ts, as JS hands it over.
    #[wasm_bindgen(typescript_type = "Options")]
    pub type JsOptions;
}

/// What every call may be told; all optional. `config` is METHOD.md's knobs, as in
/// `codeblock select --config`. The light module knows only `config`, `positions` and `language`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Options {
    config: Config,
    positions: Positions,
    /// `partition`'s language.
    language: Language,
    /// The pair stage's knobs, for `curate`.
    #[cfg(feature = "select")]
    curate: codeblock_core::curate::CurateConfig,
    #[cfg(feature = "select")]
    fields: codeblock_core::pipeline::record::Fields,
    #[cfg(feature = "select")]
    schema: Option<codeblock_core::pipeline::record::Schema>,
}

impl Options {
    fn from_js(value: Option<JsOptions>) -> Result<Self, JsValue> {
        let Some(value) = value.filter(|v| !v.is_undefined()) else {
            return Ok(Options::default());
        };
        if !is_plain_object(&value) {
            return Err(wrong_type("options", "an object", &value));
        }
        let options: Options = from_js(&value).map_err(|e| JsError::new(&format!("options: {e}")))?;
        options
            .config
            .check()
            .map_err(|e| JsError::new(&format!("options.config: {e}")))?;
        #[cfg(feature = "select")]
        if options.curate.k == 0 {
            return Err(JsError::new("options.curate.k must be positive").into());
        }
        Ok(options)
    }
}

/// The coding items of source code in `options.language` (a file in an editor), with the
/// def-use edges between them, the core-logic spans and syntax diagnostics. No tokenizer or
/// scores needed.
#[wasm_bindgen(unchecked_return_type = "CodeItems")]
pub fn partition(
    #[wasm_bindgen(unchecked_param_type = "string")] code: JsValue,
    options: Option<JsOptions>,
) -> Result<JsValue, JsValue> {
    let code = string_arg("code", &code)?;
    let options = Options::from_js(options)?;
    let items = structure::code_items(&code, options.language, &options.config.partition)
        .in_positions(&code, options.positions);
    Ok(to_js(&items)?)
}

/// The default knobs (METHOD.md), for a UI to start from.
#[wasm_bindgen(js_name = defaultConfig, unchecked_return_type = "Config")]
pub fn default_config() -> Result<JsValue, JsError> {
    to_js(&Config::default())
}

/// A JS argument of the wrong type: a `TypeError` naming it, what it must be and what it was.
fn wrong_type(name: &str, expected: &str, got: &JsValue) -> JsValue {
    let got = if got.is_null() {
        "null".to_string()
    } else if js_sys::Array::is_array(got) {
        "an array".to_string()
    } else {
        got.js_typeof().as_string().unwrap_or_default()
    };
    js_sys::TypeError::new(&format!("{name} must be {expected}, not {got}")).into()
}

fn string_arg(name: &str, value: &JsValue) -> Result<String, JsValue> {
    value.as_string().ok_or_else(|| wrong_type(name, "a string", value))
}

/// An object that is not null, an array or a function.
fn is_plain_object(value: &JsValue) -> bool {
    value.is_object() && !js_sys::Array::is_array(value)
}

fn stringify(value: &JsValue) -> Result<String, JsError> {
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| JsError::new("not representable as JSON"))
}

fn from_js<T: serde::de::DeserializeOwned>(value: &JsValue) -> Result<T, String> {
    let json = stringify(value).map_err(|_| "not representable as JSON".to_string())?;
    serde_json::from_str(&json).map_err(|e| e.to_string())
}

fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsError> {
    let json = serde_json::to_string(value).map_err(|e| JsError::new(&e.to_string()))?;
    js_sys::JSON::parse(&json).map_err(|_| JsError::new("internal: output is not JSON"))
}
