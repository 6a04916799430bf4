//! Tokens: the model's view of the response, as byte spans.
//!
//! The mask is per token, so the tokenizer must be the trainer's. [`HfTokenizer`] reads any
//! Hugging Face `tokenizer.json`; [`LexicalTokenizer`] is a model-free fallback (words, numbers,
//! single punctuation, whitespace runs) for previews without a tokenizer file. The response is
//! tokenized on its own, without special tokens: that is how SFT pipelines append a response to
//! its templated prompt.

use serde::{Deserialize, Serialize};

use crate::span::Span;

/// One token: where it sits in the response and, from a real tokenizer, its vocabulary id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub span: Span,
    #[serde(skip_serializing_if = "Option::is_none")]
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

/// A tokenizer that reports byte spans into the text it was given.
pub trait Tokenize {
    fn tokenize(&self, text: &str) -> Result<Vec<Token>, TokenizeError>;
}

/// A Hugging Face `tokenizer.json`, read from bytes (so the browser can load a picked file).
#[derive(Debug)]
pub struct HfTokenizer {
    inner: tokenizers::Tokenizer,
}

impl HfTokenizer {
    pub fn from_bytes(json: &[u8]) -> Result<Self, TokenizeError> {
        let inner = tokenizers::Tokenizer::from_bytes(json).map_err(|e| TokenizeError::Load(e.to_string()))?;
        Ok(HfTokenizer { inner })
    }
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
