//! A model with everything needed to feed it — tokenizer, chat template, end tokens — from the
//! bytes of a GGUF file or of a Hugging Face checkpoint's files. Both shells (native files, a
//! file picked in the browser) load through here.

use burn::tensor::Device;

use super::{Llama, LlamaConfig, ModelError, load_gguf, load_hf};
use crate::formats::chat::ChatTokenizer;
use crate::formats::gguf::Gguf;

/// A loaded model and its tokenizer, template and end tokens.
#[derive(Debug)]
pub struct ModelBundle {
    pub config: LlamaConfig,
    pub model: Llama,
    pub chat: ChatTokenizer,
}

/// The files of a Hugging Face checkpoint, as bytes and text.
#[derive(Debug)]
pub struct HfFiles {
    pub config_json: String,
    /// The `*.safetensors` shards, in `hf_shard_files` order.
    pub shards: Vec<Vec<u8>>,
    pub tokenizer_json: Vec<u8>,
    /// `tokenizer_config.json`, for the chat template and end token, when there is one.
    pub tokenizer_config_json: Option<String>,
}

impl ModelBundle {
    /// A GGUF file: weights, tokenizer and template all come from it.
    pub fn from_gguf(bytes: &[u8], device: &Device) -> Result<Self, ModelError> {
        let gguf = Gguf::parse(bytes)?;
        let (config, model) = load_gguf(&gguf, device)?;
        let chat = ChatTokenizer::from_gguf(&gguf)?;
        Ok(ModelBundle { config, model, chat })
    }

    /// A Hugging Face checkpoint: config.json, safetensors shards, tokenizer.json and
    /// (optionally) tokenizer_config.json.
    pub fn from_hf(files: &HfFiles, device: &Device) -> Result<Self, ModelError> {
        let (config, model) = load_hf(&files.config_json, &files.shards, device)?;
        let chat = ChatTokenizer::from_hf(&files.tokenizer_json, files.tokenizer_config_json.as_deref())?;
        Ok(ModelBundle { config, model, chat })
    }
}
