//! Precomputed log-probs: scores made elsewhere (vLLM's `prompt_logprobs`, a bigger model),
//! one JSON line per record: `{"id": ..., "token_ids": [...], "logprobs": [...]}` for the
//! response tokens. Token ids must equal this run's tokenization, so the mask lines up.

use std::collections::HashMap;

use serde::Deserialize;

use crate::formats::jsonl;

use super::{ScoreError, ScoreRequest, TokenScorer, validate};

/// Log-probs read from JSONL, looked up by record id.
#[derive(Debug, Default)]
pub struct PrecomputedScorer {
    by_id: HashMap<String, Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: serde_json::Value,
    token_ids: Vec<u32>,
    logprobs: Vec<f64>,
}

/// A line of the scores file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scores line {line}: {problem}")]
pub struct PrecomputedError {
    pub line: usize,
    pub problem: String,
}

impl PrecomputedScorer {
    /// The scores of a whole JSONL file (a line that is not UTF-8 is an error naming it).
    pub fn from_jsonl(bytes: &[u8]) -> Result<Self, PrecomputedError> {
        let mut scorer = PrecomputedScorer::default();
        for line in jsonl::lines(bytes) {
            let text = line.text.map_err(|problem| PrecomputedError {
                line: line.number,
                problem,
            })?;
            scorer.add_line(line.number, text)?;
        }
        Ok(scorer)
    }

    /// Adds one JSONL line (1-based `line` for messages). Blank lines are skipped.
    fn add_line(&mut self, line: usize, text: &str) -> Result<(), PrecomputedError> {
        if text.trim().is_empty() {
            return Ok(());
        }
        let error = |problem: String| PrecomputedError { line, problem };
        let entry: Entry = serde_json::from_str(text).map_err(|e| error(e.to_string()))?;
        if entry.token_ids.len() != entry.logprobs.len() {
            return Err(error(format!(
                "{} token_ids but {} logprobs",
                entry.token_ids.len(),
                entry.logprobs.len()
            )));
        }
        let id = match &entry.id {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if self.by_id.insert(id.clone(), entry).is_some() {
            return Err(error(format!("record `{id}` is scored twice")));
        }
        Ok(())
    }
}

/// One line of a scores file, as [`PrecomputedScorer::from_jsonl`] reads it.
pub fn score_line(id: &str, token_ids: &[u32], logprobs: &[f64]) -> String {
    serde_json::json!({ "id": id, "token_ids": token_ids, "logprobs": logprobs }).to_string()
}

impl TokenScorer for PrecomputedScorer {
    fn logprobs(&mut self, batch: &[ScoreRequest]) -> Vec<Result<Vec<f64>, ScoreError>> {
        batch.iter().map(|request| self.one(request)).collect()
    }
}

impl PrecomputedScorer {
    fn one(&self, request: &ScoreRequest) -> Result<Vec<f64>, ScoreError> {
        let id = &request.record.id;
        let entry = self.by_id.get(id).ok_or_else(|| ScoreError::Missing(id.clone()))?;
        if entry.token_ids.len() != request.tokens.len() {
            return Err(ScoreError::Length {
                id: id.clone(),
                expected: request.tokens.len(),
                found: entry.token_ids.len(),
            });
        }
        for (index, (token, &found)) in request.tokens.iter().zip(&entry.token_ids).enumerate() {
            let expected = token.id.ok_or_else(|| {
                ScoreError::Failed("precomputed scores need token ids: give a tokenizer (--tokenizer)".into())
            })?;
            if expected != found {
                return Err(ScoreError::Mismatch {
                    id: id.clone(),
                    index,
                    expected,
                    found,
                });
            }
        }
        validate(id, &entry.logprobs)?;
        Ok(entry.logprobs.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::record::Record;
    use crate::pipeline::tokens::Token;
    use crate::span::Span;

    fn record(id: &str) -> Record {
        Record {
            id: id.into(),
            prompt: vec![],
            response: "ab".into(),
        }
    }

    fn tokens(ids: &[u32]) -> Vec<Token> {
        ids.iter()
            .enumerate()
            .map(|(i, &id)| Token {
                span: Span::new(i, i + 1),
                id: Some(id),
            })
            .collect()
    }

    #[test]
    fn written_lines_read_back() {
        let mut scorer = PrecomputedScorer::default();
        scorer.add_line(1, &score_line("a", &[5, 6], &[-0.25, -3.5])).unwrap();
        let a = record("a");
        let request = ScoreRequest {
            record: &a,
            tokens: &tokens(&[5, 6]),
        };
        assert_eq!(scorer.logprobs(&[request]), [Ok(vec![-0.25, -3.5])]);
    }

    #[test]
    fn looks_up_and_checks_tokens() {
        let mut scorer = PrecomputedScorer::default();
        scorer
            .add_line(1, r#"{"id":"a","token_ids":[5,6],"logprobs":[-0.5,-1.0]}"#)
            .unwrap();
        scorer
            .add_line(2, r#"{"id":7,"token_ids":[5],"logprobs":[-0.5]}"#)
            .unwrap();
        let (a, b, c) = (record("a"), record("7"), record("zzz"));
        let good = tokens(&[5, 6]);
        let wrong = tokens(&[5, 9]);
        let results = scorer.logprobs(&[
            ScoreRequest {
                record: &a,
                tokens: &good,
            },
            ScoreRequest {
                record: &a,
                tokens: &wrong,
            },
            ScoreRequest {
                record: &b,
                tokens: &good,
            },
            ScoreRequest {
                record: &c,
                tokens: &good,
            },
        ]);
        assert_eq!(results[0], Ok(vec![-0.5, -1.0]));
        assert_eq!(
            results[1].as_ref().unwrap_err().to_string(),
            "record `a`: token 1 is id 6 in the scores but 9 from the tokenizer"
        );
        assert_eq!(results[2].as_ref().unwrap_err().reason(), "scores_mismatch");
        assert_eq!(results[3].as_ref().unwrap_err().reason(), "scores_missing");
    }

    #[test]
    fn bad_lines_are_named() {
        let mut scorer = PrecomputedScorer::default();
        let err = scorer
            .add_line(3, r#"{"id":"a","token_ids":[1,2],"logprobs":[-1]}"#)
            .unwrap_err();
        assert_eq!(err.to_string(), "scores line 3: 2 token_ids but 1 logprobs");
        assert!(scorer.add_line(4, "{").is_err());
    }
}
