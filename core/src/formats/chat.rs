//! Chat templates: the Jinja template a model was tuned with (GGUF `tokenizer.chat_template`,
//! or `tokenizer_config.json`), rendered with minijinja; and [`ChatTokenizer`], a model's
//! tokenizer with its template and end tokens, which turns a record into the ids a model sees.
//! The scorer, the trainer and the exports all build a record's context as
//! `render(prompt, add_generation_prompt = true)` followed by the response tokens, so the
//! prompt/response boundary is where the loss starts. No weights are needed for any of it.

use minijinja::{Environment, Error, ErrorKind, context};

use crate::formats::gguf::Gguf;
use crate::pipeline::record::Message;
use crate::pipeline::tokens::HfTokenizer;
use crate::train::Context;

/// Why a model's chat cannot be set up, or a prompt cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    #[error("chat template: {0}")]
    Template(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("tokenizer_config.json: {0}")]
    Settings(String),
    #[error("the prompt renders to no tokens")]
    EmptyPrompt,
}

/// A compiled chat template.
#[derive(Debug, Clone)]
pub struct ChatTemplate {
    env: Environment<'static>,
}

impl ChatTemplate {
    pub fn new(source: &str) -> Result<Self, ChatError> {
        let mut env = Environment::new();
        env.add_function("raise_exception", |message: String| -> Result<String, Error> {
            Err(Error::new(ErrorKind::InvalidOperation, message))
        });
        env.add_template_owned("chat", source.to_string())
            .map_err(|e| ChatError::Template(e.to_string()))?;
        Ok(ChatTemplate { env })
    }

    /// The text of a conversation; with `add_generation_prompt`, ready for the assistant's turn.
    pub fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String, ChatError> {
        let template = self
            .env
            .get_template("chat")
            .map_err(|e| ChatError::Template(e.to_string()))?;
        template
            .render(context! { messages => messages, add_generation_prompt => add_generation_prompt })
            .map_err(|e| ChatError::Template(e.to_string()))
    }
}

/// A model's tokenizer, chat template and end tokens: everything that turns a record into the
/// ids the model sees, without the model's weights.
#[derive(Debug, Clone)]
pub struct ChatTokenizer {
    pub tokenizer: HfTokenizer,
    pub template: Option<ChatTemplate>,
    /// The template's source, to export with a trained model.
    pub template_source: Option<String>,
    /// Ids that end the assistant's turn; the first closes every training example.
    pub end_tokens: Vec<u32>,
}

impl ChatTokenizer {
    /// From a GGUF file's metadata (its tensors are not read).
    pub fn from_gguf(gguf: &Gguf) -> Result<Self, ChatError> {
        let tokenizer = HfTokenizer::from_gguf(gguf).map_err(|e| ChatError::Tokenizer(e.to_string()))?;
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
        Self::from_parts(tokenizer, template_source, end_tokens)
    }

    /// From the bytes of a GGUF model or of a `tokenizer.json` (with `tokenizer_config.json`'s
    /// text, when there is one).
    pub fn from_bytes(tokenizer: &[u8], tokenizer_config_json: Option<&str>) -> Result<Self, ChatError> {
        if tokenizer.starts_with(b"GGUF") {
            let gguf = Gguf::parse(tokenizer).map_err(|e| ChatError::Tokenizer(e.to_string()))?;
            Self::from_gguf(&gguf)
        } else {
            Self::from_hf(tokenizer, tokenizer_config_json)
        }
    }

    /// From a Hugging Face checkpoint's `tokenizer.json` and, when it has one,
    /// `tokenizer_config.json` (the chat template and the end token).
    pub fn from_hf(tokenizer_json: &[u8], tokenizer_config_json: Option<&str>) -> Result<Self, ChatError> {
        let tokenizer = HfTokenizer::from_bytes(tokenizer_json).map_err(|e| ChatError::Tokenizer(e.to_string()))?;
        let settings: serde_json::Value = match tokenizer_config_json {
            Some(json) => serde_json::from_str(json).map_err(|e| ChatError::Settings(e.to_string()))?,
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
        Self::from_parts(tokenizer, template_source, end_tokens)
    }

    /// From its parts: a tokenizer, a chat template's source (none: prompts are joined plainly),
    /// and the ids that end the assistant's turn.
    pub fn from_parts(
        tokenizer: HfTokenizer,
        template_source: Option<String>,
        end_tokens: Vec<u32>,
    ) -> Result<Self, ChatError> {
        let template = template_source.as_deref().map(ChatTemplate::new).transpose()?;
        Ok(ChatTokenizer {
            tokenizer,
            template,
            template_source,
            end_tokens,
        })
    }

    /// The ids of a prompt as the model sees it before a reply: the messages through the chat
    /// template with the generation prompt (joined plainly when the model has no template),
    /// encoded with special tokens.
    pub fn prompt_ids(&self, messages: &[Message]) -> Result<Vec<u32>, ChatError> {
        let text = match &self.template {
            Some(template) => template.render(messages, true)?,
            None => plain_prompt(messages),
        };
        let ids = self
            .tokenizer
            .encode_with_specials(&text)
            .map_err(|e| ChatError::Tokenizer(e.to_string()))?;
        match ids.is_empty() {
            true => Err(ChatError::EmptyPrompt),
            false => Ok(ids),
        }
    }

    /// What the model sees of a record: its prompt's ids, then the response's ids.
    pub fn context(&self, prompt: &[Message], response_ids: &[u32]) -> Result<Context, ChatError> {
        Ok(Context::new(self.prompt_ids(prompt)?, response_ids))
    }

    /// The end-of-turn token a training example closes with.
    pub fn end_token(&self) -> Option<u32> {
        self.end_tokens.first().copied()
    }
}

/// The prompt text of a record when a model has no template: the messages' contents, one per
/// paragraph, then a blank line.
pub fn plain_prompt(messages: &[Message]) -> String {
    let mut text: String = messages.iter().map(|m| format!("{}\n\n", m.content)).collect();
    if text.is_empty() {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHATML: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    fn user(content: &str) -> Message {
        Message {
            role: "user".into(),
            content: content.into(),
        }
    }

    #[test]
    fn renders_chatml_with_the_generation_prompt() {
        let template = ChatTemplate::new(CHATML).unwrap();
        let text = template.render(&[user("Add two numbers.")], true).unwrap();
        assert_eq!(
            text,
            "<|im_start|>user\nAdd two numbers.<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn template_errors_are_reported() {
        assert!(ChatTemplate::new("{% for %}").is_err());
        let raising = ChatTemplate::new("{{ raise_exception('no system role') }}").unwrap();
        assert!(
            raising
                .render(&[], false)
                .unwrap_err()
                .to_string()
                .contains("no system role")
        );
        assert_eq!(plain_prompt(&[user("a"), user("b")]), "a\n\nb\n\n");
    }
}
