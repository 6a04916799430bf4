//! Tokens: the model's view of the response, as byte spans.
//!
//! The mask is per token, so the tokenizer must be the trainer's. [`HfTokenizer`] reads any
//! Hugging Face `tokenizer.json`; [`LexicalTokenizer`] is a model-free fallback (words, numbers,
//! single punctuation, whitespace runs) for previews without a tokenizer file. The response is
//! tokenized on its own, without special tokens: that is how SFT pipelines append a response to
//! its templated prompt.

use serde::{Deserialize, Serialize};

use crate::formats::gguf::Gguf;
use crate::span::Span;

/// One token: where it sits in the response and, from a real tokenizer, its vocabulary id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub span: Span,
    /// `default`: read back where it was skipped, from a format that writes structs as arrays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u32>,
}

/// Why a text could not be tokenized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenizeError {
    #[error("cannot read the tokenizer: {0}")]
    Load(String),
    #[error("the tokenizer failed: {0}")]
    Encode(String),
}

/// Indices of the tokens overlapping `span`; tokens are in text order.
pub fn overlapping(tokens: &[Token], span: Span) -> Vec<usize> {
    let first = tokens.partition_point(|t| t.span.end <= span.start);
    (first..tokens.len())
        .take_while(|&t| tokens[t].span.start < span.end)
        .filter(|&t| tokens[t].span.overlaps(span))
        .collect()
}

/// A tokenizer that reports byte spans into the text it was given.
pub trait Tokenize {
    fn tokenize(&self, text: &str) -> Result<Vec<Token>, TokenizeError>;
}

/// A Hugging Face `tokenizer.json`, read from bytes (so the browser can load a picked file).
#[derive(Debug, Clone)]
pub struct HfTokenizer {
    inner: tokenizers::Tokenizer,
}

impl HfTokenizer {
    pub fn from_bytes(json: &[u8]) -> Result<Self, TokenizeError> {
        let inner = tokenizers::Tokenizer::from_bytes(json).map_err(|e| TokenizeError::Load(e.to_string()))?;
        Ok(HfTokenizer { inner })
    }

    /// The tokenizer embedded in a GGUF file: a byte-level BPE (`tokenizer.ggml.model` = `gpt2`)
    /// with the pre-tokenizer that `tokenizer.ggml.pre` names, and the control tokens matched whole.
    pub fn from_gguf(gguf: &Gguf) -> Result<Self, TokenizeError> {
        let json = gguf_tokenizer_json(gguf)?;
        Self::from_bytes(json.to_string().as_bytes())
    }

    /// A `tokenizer.json`, or the tokenizer inside a GGUF model file (known by its magic), so
    /// `--tokenizer` and the previewer take either.
    pub fn from_json_or_gguf(bytes: &[u8]) -> Result<Self, TokenizeError> {
        if bytes.starts_with(b"GGUF") {
            let gguf = Gguf::parse(bytes).map_err(|e| TokenizeError::Load(e.to_string()))?;
            Self::from_gguf(&gguf)
        } else {
            Self::from_bytes(bytes)
        }
    }

    /// The id of a token, if the vocabulary has it.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Ids of a text in which special tokens (`<|im_start|>`, ...) are matched whole: for
    /// rendered chat templates.
    pub fn encode_with_specials(&self, text: &str) -> Result<Vec<u32>, TokenizeError> {
        let encoding = self
            .inner
            .encode(text, false)
            .map_err(|e| TokenizeError::Encode(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The tokenizer as `tokenizer.json` text.
    pub fn to_json(&self) -> Result<String, TokenizeError> {
        self.inner
            .to_string(false)
            .map_err(|e| TokenizeError::Load(e.to_string()))
    }

    pub fn decode(&self, ids: &[u32]) -> Result<String, TokenizeError> {
        self.inner
            .decode(ids, false)
            .map_err(|e| TokenizeError::Encode(e.to_string()))
    }
}

/// Split patterns of the byte-level BPE families whose pre-tokenizer is not plain GPT-2.
const QWEN2_PATTERN: &str =
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const LLAMA3_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// A `tokenizer.json` built from GGUF metadata.
fn gguf_tokenizer_json(gguf: &Gguf) -> Result<serde_json::Value, TokenizeError> {
    use serde_json::json;
    let text = |key: &str| gguf.get(key).ok().and_then(|v| v.as_str()).unwrap_or("").to_string();
    let list = |key: &str| -> Result<&[crate::formats::gguf::Value], TokenizeError> {
        gguf.get(key)
            .ok()
            .and_then(|v| v.as_array())
            .ok_or_else(|| TokenizeError::Load(format!("the GGUF file has no `{key}` list")))
    };
    let model = text("tokenizer.ggml.model");
    if model != "gpt2" {
        return Err(TokenizeError::Load(format!(
            "tokenizer model `{model}` is not supported (byte-level BPE, `gpt2`, is)"
        )));
    }
    let tokens = list("tokenizer.ggml.tokens")?;
    let types = list("tokenizer.ggml.token_type")?;
    let merges: Vec<&str> = list("tokenizer.ggml.merges")?
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    let mut vocab = serde_json::Map::new();
    let mut added = Vec::new();
    for (id, token) in tokens.iter().enumerate() {
        let token = token
            .as_str()
            .ok_or_else(|| TokenizeError::Load(format!("token {id} is not a string")))?;
        vocab.insert(token.to_string(), json!(id));
        // 3 = control, 4 = user-defined: matched whole, never split by BPE.
        let kind = types.get(id).and_then(|t| t.as_u64()).unwrap_or(1);
        if kind == 3 || kind == 4 {
            added.push(
                json!({"id": id, "content": token, "single_word": false, "lstrip": false,
                              "rstrip": false, "normalized": false, "special": kind == 3}),
            );
        }
    }
    let byte_level = |use_regex: bool| json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": use_regex});
    let split = |pattern: &str| json!({"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": false});
    let pre = text("tokenizer.ggml.pre");
    let pre_tokenizer = match pre.as_str() {
        "smollm" => json!({"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true}, byte_level(true)]}),
        "" | "default" | "gpt-2" | "gpt2" => byte_level(true),
        "qwen2" | "deepseek-coder" => {
            json!({"type": "Sequence", "pretokenizers": [split(QWEN2_PATTERN), byte_level(false)]})
        }
        "llama-bpe" | "llama3" => {
            json!({"type": "Sequence", "pretokenizers": [split(LLAMA3_PATTERN), byte_level(false)]})
        }
        other => {
            return Err(TokenizeError::Load(format!(
                "pre-tokenizer `{other}` is not supported yet"
            )));
        }
    };
    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": null,
        "decoder": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                  "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
                  "ignore_merges": false, "vocab": vocab, "merges": merges},
    }))
}

impl Tokenize for HfTokenizer {
    fn tokenize(&self, text: &str) -> Result<Vec<Token>, TokenizeError> {
        let encoding = self
            .inner
            .encode(text, false)
            .map_err(|e| TokenizeError::Encode(e.to_string()))?;
        Ok(encoding
            .get_offsets()
            .iter()
            .zip(encoding.get_ids())
            .map(|(&(start, end), &id)| Token {
                span: Span::new(start, end),
                id: Some(id),
            })
            .collect())
    }
}

/// A model-free tokenizer: a word with its leading space, a number, one punctuation character,
/// or a run of whitespace. Close to a BPE pre-tokenizer, so budgets mean about the same.
#[derive(Debug, Default, Clone, Copy)]
pub struct LexicalTokenizer;

#[derive(PartialEq, Clone, Copy)]
enum CharClass {
    Word,
    Digit,
    Space,
    Punct,
}

fn class(c: char) -> CharClass {
    if c.is_alphabetic() || c == '_' {
        CharClass::Word
    } else if c.is_numeric() {
        CharClass::Digit
    } else if c.is_whitespace() {
        CharClass::Space
    } else {
        CharClass::Punct
    }
}

/// Whether a character of class `next` extends a token of class `kind` (names may hold digits).
fn continues(kind: CharClass, next: CharClass) -> bool {
    next == kind || (kind == CharClass::Word && next == CharClass::Digit)
}

impl Tokenize for LexicalTokenizer {
    fn tokenize(&self, text: &str) -> Result<Vec<Token>, TokenizeError> {
        let mut tokens = Vec::new();
        let mut chars = text.char_indices().peekable();
        while let Some((start, c)) = chars.next() {
            let mut kind = class(c);
            // A single space before a word or number belongs to it, as in byte-level BPE.
            if c == ' '
                && chars
                    .peek()
                    .is_some_and(|&(_, n)| matches!(class(n), CharClass::Word | CharClass::Digit))
            {
                kind = class(chars.next().map_or(c, |(_, n)| n));
            }
            if kind != CharClass::Punct {
                while chars.peek().is_some_and(|&(i, n)| {
                    continues(kind, class(n)) && !(kind == CharClass::Space && n != '\n' && text[..i].ends_with('\n'))
                }) {
                    chars.next();
                }
            }
            let end = chars.peek().map_or(text.len(), |&(i, _)| i);
            tokens.push(Token {
                span: Span::new(start, end),
                id: None,
            });
        }
        Ok(tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_tokens_tile_the_text() {
        let text = "def f(x):\n    return x_1 + 42 # é\n";
        let tokens = LexicalTokenizer.tokenize(text).unwrap();
        let pieces: Vec<&str> = tokens.iter().map(|t| &text[t.span.start..t.span.end]).collect();
        assert_eq!(
            pieces,
            [
                "def", " f", "(", "x", ")", ":", "\n", "    ", "return", " x_1", " ", "+", " 42", " ", "#", " é", "\n"
            ]
        );
        assert_eq!(tokens.iter().map(|t| t.span.len()).sum::<usize>(), text.len());
    }
}
