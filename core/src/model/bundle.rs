//! A model with everything needed to feed it — tokenizer, chat template, end tokens — from the
//! bytes of a GGUF file or of a Hugging Face checkpoint's files. Both shells (native files, a
//! file picked in the browser) load through here.

use burn::tensor::Device;

use super::{Llama, LlamaConfig, ModelError, load_gguf, load_hf};
use crate::formats::chat::{ChatTemplate, plain_prompt};
use crate::formats::gguf::Gguf;
use crate::pipeline::record::Message;
use crate::pipeline::tokens::HfTokenizer;
use crate::train::Context;

/// A loaded model and its tokenizer, template and end tokens.
#[derive(Debug)]
pub struct ModelBundle {
    pub config: LlamaConfig,
    pub model: Llama,
    pub tokenizer: HfTokenizer,
    pub template: Option<ChatTemplate>,
    /// The template's source, to export with a trained model.
    pub template_source: Option<String>,
    /// Ids that end the assistant's turn.
    pub end_tokens: Vec<u32>,
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
        let tokenizer = HfTokenizer::from_gguf(&gguf).map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        let template_source = gguf
            .metadata
            .get("tokenizer.chat_template")
            .and_then(|v| v.as_str())
            .map(String::from);
        let end_ids = ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"]
            .iter()
            .filter_map(|key| gguf.metadata.get(*key).and_then(|v| v.as_u64()))
            .map(|id| id as u32);
        let end_tokens = end_ids.chain(tokenizer.token_id("<|im_end|>")).collect();
        Self::new(config, model, tokenizer, template_source, end_tokens)
    }

    /// A Hugging Face checkpoint: config.json, safetensors shards, tokenizer.json and
    /// (optionally) tokenizer_config.json.
    pub fn from_hf(files: &HfFiles, device: &Device) -> Result<Self, ModelError> {
        let (config, model) = load_hf(&files.config_json, &files.shards, device)?;
        let tokenizer =
            HfTokenizer::from_bytes(&files.tokenizer_json).map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        let settings: serde_json::Value = match &files.tokenizer_config_json {
            Some(json) => {
                serde_json::from_str(json).map_err(|e| ModelError::Config(format!("tokenizer_config.json: {e}")))?
            }
            None => serde_json::Value::Null,
        };
        let template_source = settings["chat_template"].as_str().map(String::from);
        let eos = settings["eos_token"]
            .as_str()
            .or_else(|| settings["eos_token"]["content"].as_str());
        let end_tokens = eos
            .into_iter()
            .chain(["<|im_end|>", "<|endoftext|>"])
            .filter_map(|t| tokenizer.token_id(t))
            .collect();
        Self::new(config, model, tokenizer, template_source, end_tokens)
    }

    /// The ids of a prompt as the model sees it before a reply: the messages through the chat
    /// template with the generation prompt (joined plainly when the model has no template),
    /// encoded with special tokens.
    pub fn prompt_ids(&self, messages: &[Message]) -> Result<Vec<u32>, ModelError> {
        let text = match &self.template {
            Some(template) => template
                .render(messages, true)
                .map_err(|e| ModelError::Prompt(e.to_string()))?,
            None => plain_prompt(messages),
        };
        let ids = self
            .tokenizer
            .encode_with_specials(&text)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        match ids.is_empty() {
            true => Err(ModelError::Prompt("the prompt renders to no tokens".into())),
            false => Ok(ids),
        }
    }

    /// What the model sees of a record: its prompt's ids, then the response's ids.
    pub fn context(&self, prompt: &[Message], response_ids: &[u32]) -> Result<Context, ModelError> {
        Ok(Context::new(self.prompt_ids(prompt)?, response_ids))
    }

    /// The end-of-turn token a training example closes with.
    pub fn end_token(&self) -> Option<u32> {
        self.end_tokens.first().copied()
    }

    /// The bundle, with the template compiled from its source.
    fn new(
        config: LlamaConfig,
        model: Llama,
        tokenizer: HfTokenizer,
        template_source: Option<String>,
        end_tokens: Vec<u32>,
    ) -> Result<Self, ModelError> {
        let template = template_source
            .as_deref()
            .map(|s| ChatTemplate::new(s).map_err(|e| ModelError::Config(e.to_string())))
            .transpose()?;
        Ok(ModelBundle {
            config,
            model,
            tokenizer,
            template,
            template_source,
            end_tokens,
        })
    }
}
