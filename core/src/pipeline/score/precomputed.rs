//! Precomputed log-probs: scores made elsewhere, one JSON line per record, in any of three
//! shapes, told apart by their keys:
//! - ours (`codeblock score`): `{"id", "token_ids", "logprobs"}` over the response's tokens;
//! - a full sequence, e.g. from a transformers forward pass (`tools/score_transformers.py`):
//!   `{"id", "prompt_len", "token_ids", "logprobs"}` over prompt + response (+ anything after,
//!   such as an end token, which is ignored), `logprobs[0]` null;
//! - vLLM's `prompt_logprobs` (`tools/score_vllm.py`): `{"id", "prompt_logprobs"}`, one entry per
//!   prompt token, the first null, each a map from token id (a string, as vLLM's OpenAI server
//!   writes it) to `{"logprob", ...}` holding the prompt's own token and perhaps top
//!   alternatives; with `prompt_token_ids` when the line has them. The response is found as the
//!   last run of positions that hold its ids.
//!
//! The response's token ids must be this run's tokenization, so the mask lines up; a record whose
//! ids are not where they should be is a `scores_mismatch` reject, never a silent shift.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::formats::jsonl;

use super::{ScoreError, ScoreRequest, TokenScorer, validate};

/// Log-probs read from JSONL, looked up by record id.
#[derive(Debug, Default)]
pub struct PrecomputedScorer {
    by_id: HashMap<String, Entry>,
}

/// One record's scores: per position, the token ids given a log-prob there (one, or vLLM's
/// prompt token and its alternatives), and where the response starts.
#[derive(Debug)]
struct Entry {
    positions: Vec<Vec<(u32, f64)>>,
    start: Start,
}

#[derive(Debug, Clone, Copy)]
enum Start {
    /// Our own lines: the positions are the response's tokens, exactly.
    Response,
    /// A full sequence whose response starts at this position (`prompt_len`).
    At(usize),
    /// vLLM's lines: the response is the last run of positions that hold its ids.
    Search,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseLine {
    id: Value,
    token_ids: Vec<u32>,
    logprobs: Vec<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SequenceLine {
    id: Value,
    prompt_len: usize,
    token_ids: Vec<u32>,
    logprobs: Vec<Option<f64>>,
}

/// vLLM's output carries more than we read (`outputs`, `finished`, ...): unknown keys are fine.
#[derive(Deserialize)]
struct VllmLine {
    id: Value,
    prompt_logprobs: Vec<Option<BTreeMap<String, VllmLogprob>>>,
    prompt_token_ids: Option<Vec<u32>>,
}

#[derive(Deserialize)]
struct VllmLogprob {
    logprob: f64,
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
        let value: Value = serde_json::from_str(text).map_err(|e| PrecomputedError {
            line,
            problem: e.to_string(),
        })?;
        self.add(value).map_err(|problem| PrecomputedError { line, problem })
    }

    /// Adds a record's scores given beside the record rather than in a file (a dataset's score
    /// columns): an object in any of the three shapes, without its `id`.
    pub fn add_record(&mut self, id: &str, mut scores: serde_json::Map<String, Value>) -> Result<(), String> {
        scores.insert("id".into(), Value::String(id.into()));
        self.add(Value::Object(scores))
    }

    fn add(&mut self, value: Value) -> Result<(), String> {
        let (id, entry) = parse_value(value)?;
        let id = match id {
            Value::String(s) => s,
            other => other.to_string(),
        };
        match self.by_id.insert(id.clone(), entry) {
            Some(_) => Err(format!("record `{id}` is scored twice")),
            None => Ok(()),
        }
    }
}

/// A line in any of the three shapes, by its keys.
fn parse_value(value: Value) -> Result<(Value, Entry), String> {
    if value.get("prompt_logprobs").is_some() {
        vllm_entry(typed(value)?)
    } else if value.get("prompt_len").is_some() {
        sequence_entry(typed(value)?)
    } else {
        let line: ResponseLine = typed(value)?;
        if line.token_ids.len() != line.logprobs.len() {
            return Err(format!(
                "{} token_ids but {} logprobs",
                line.token_ids.len(),
                line.logprobs.len()
            ));
        }
        let positions = line.token_ids.into_iter().zip(line.logprobs).map(|p| vec![p]).collect();
        Ok((
            line.id,
            Entry {
                positions,
                start: Start::Response,
            },
        ))
    }
}

fn typed<T: DeserializeOwned>(value: Value) -> Result<T, String> {
    serde_json::from_value(value).map_err(|e| e.to_string())
}

fn sequence_entry(line: SequenceLine) -> Result<(Value, Entry), String> {
    if line.token_ids.len() != line.logprobs.len() {
        return Err(format!(
            "{} token_ids but {} logprobs",
            line.token_ids.len(),
            line.logprobs.len()
        ));
    }
    if line.prompt_len == 0 || line.prompt_len > line.token_ids.len() {
        return Err(format!(
            "prompt_len {} is not within the {} tokens (the first token has no log-prob)",
            line.prompt_len,
            line.token_ids.len()
        ));
    }
    let positions = line
        .token_ids
        .iter()
        .zip(&line.logprobs)
        .enumerate()
        .map(|(i, (&id, logprob))| match (i, logprob) {
            (0, _) => Ok(vec![]),
            (_, Some(logprob)) => Ok(vec![(id, *logprob)]),
            (_, None) => Err(format!("logprobs[{i}] is null; only the first may be")),
        })
        .collect::<Result<_, _>>()?;
    let start = Start::At(line.prompt_len);
    Ok((line.id, Entry { positions, start }))
}

fn vllm_entry(line: VllmLine) -> Result<(Value, Entry), String> {
    if let Some(ids) = &line.prompt_token_ids
        && ids.len() != line.prompt_logprobs.len()
    {
        return Err(format!(
            "{} prompt_token_ids but {} prompt_logprobs",
            ids.len(),
            line.prompt_logprobs.len()
        ));
    }
    let mut positions = Vec::with_capacity(line.prompt_logprobs.len());
    for (i, entry) in line.prompt_logprobs.into_iter().enumerate() {
        let Some(entry) = entry else {
            match i {
                0 => {
                    positions.push(vec![]);
                    continue;
                }
                _ => return Err(format!("prompt_logprobs[{i}] is null; only the first may be")),
            }
        };
        let mut candidates = Vec::with_capacity(entry.len());
        for (key, logprob) in entry {
            let id = key
                .parse::<u32>()
                .map_err(|_| format!("prompt_logprobs[{i}]: `{key}` is not a token id"))?;
            candidates.push((id, logprob.logprob));
        }
        // With the prompt's ids known, only the prompt's own token counts.
        if let Some(ids) = &line.prompt_token_ids {
            candidates.retain(|&(id, _)| id == ids[i]);
            if candidates.is_empty() {
                return Err(format!("prompt_logprobs[{i}] has no entry for token {}", ids[i]));
            }
        }
        positions.push(candidates);
    }
    Ok((
        line.id,
        Entry {
            positions,
            start: Start::Search,
        },
    ))
}

/// One line of a scores file in our own shape, as [`PrecomputedScorer::from_jsonl`] reads it.
pub fn score_line(id: &str, token_ids: &[u32], logprobs: &[f64]) -> String {
    serde_json::json!({ "id": id, "token_ids": token_ids, "logprobs": logprobs }).to_string()
}

impl TokenScorer for PrecomputedScorer {
    fn logprobs(&mut self, batch: &[ScoreRequest]) -> Vec<Result<Vec<f64>, ScoreError>> {
        batch.iter().map(|request| self.one(request)).collect()
    }
}

fn length_error(id: &str, tokens: usize, positions: &[Vec<(u32, f64)>]) -> ScoreError {
    ScoreError::Length {
        id: id.to_string(),
        expected: tokens,
        found: positions.len(),
    }
}

impl PrecomputedScorer {
    fn one(&self, request: &ScoreRequest) -> Result<Vec<f64>, ScoreError> {
        let id = &request.record.id;
        let entry = self.by_id.get(id).ok_or_else(|| ScoreError::Missing(id.clone()))?;
        let positions = &entry.positions;
        let tokens = request.tokens.len();
        // A length that cannot fit is named before token ids are asked for.
        match entry.start {
            Start::Response if positions.len() != tokens => return Err(length_error(id, tokens, positions)),
            Start::At(start) if start + tokens > positions.len() => return Err(length_error(id, tokens, positions)),
            _ => {}
        }
        let ids = request.token_ids().ok_or_else(|| {
            ScoreError::Failed("precomputed scores need token ids: give a tokenizer (--tokenizer)".into())
        })?;
        let start = match entry.start {
            Start::Response => 0,
            Start::At(start) => start,
            Start::Search => (1..=positions.len().saturating_sub(ids.len()))
                .rev()
                .find(|&start| (0..ids.len()).all(|j| logprob_of(&positions[start + j], ids[j]).is_some()))
                .ok_or_else(|| ScoreError::NotFound {
                    id: id.clone(),
                    tokens: ids.len(),
                })?,
        };
        let logprobs = ids
            .iter()
            .enumerate()
            .map(|(index, &expected)| {
                let candidates = &positions[start + index];
                logprob_of(candidates, expected).ok_or_else(|| ScoreError::Mismatch {
                    id: id.clone(),
                    index,
                    expected,
                    found: candidates.first().map_or(u32::MAX, |&(found, _)| found),
                })
            })
            .collect::<Result<Vec<f64>, ScoreError>>()?;
        validate(id, &logprobs)?;
        Ok(logprobs)
    }
}

fn logprob_of(candidates: &[(u32, f64)], id: u32) -> Option<f64> {
    candidates.iter().find(|&&(c, _)| c == id).map(|&(_, logprob)| logprob)
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

    /// The scores of record `a` (response ids 5, 6) from one line, or the reject's message.
    fn read_a(line: &str, response: &[u32]) -> Result<Vec<f64>, String> {
        let mut scorer = PrecomputedScorer::default();
        scorer.add_line(1, line).map_err(|e| e.to_string())?;
        let a = record("a");
        let request = ScoreRequest {
            record: &a,
            tokens: &tokens(response),
        };
        scorer.logprobs(&[request]).remove(0).map_err(|e| e.to_string())
    }

    #[test]
    fn full_sequences_are_cut_at_the_prompt() {
        // Prompt 1, 2; response 5, 6; an end token 9 after it, ignored.
        let line = r#"{"id":"a","prompt_len":2,"token_ids":[1,2,5,6,9],"logprobs":[null,-0.1,-0.5,-1.0,-2.0]}"#;
        assert_eq!(read_a(line, &[5, 6]), Ok(vec![-0.5, -1.0]));
        assert_eq!(
            read_a(line, &[5, 7]).unwrap_err(),
            "record `a`: token 1 is id 6 in the scores but 7 from the tokenizer"
        );
        let null = r#"{"id":"a","prompt_len":1,"token_ids":[1,5,6],"logprobs":[null,null,-1]}"#;
        assert_eq!(
            read_a(null, &[5, 6]).unwrap_err(),
            "scores line 1: logprobs[1] is null; only the first may be"
        );
    }

    #[test]
    fn vllm_prompt_logprobs_find_the_response_among_alternatives() {
        // Position 2 holds the prompt's token 5 and a likelier alternative 8, as vLLM writes
        // top-k prompt log-probs; position 3 holds 6.
        let line = r#"{"id":"a","prompt_logprobs":[null,{"2":{"logprob":-0.1,"rank":1,"decoded_token":"b"}},
            {"8":{"logprob":-0.2,"rank":1},"5":{"logprob":-0.5,"rank":2}},{"6":{"logprob":-1.0,"rank":1}}]}"#;
        assert_eq!(read_a(line, &[5, 6]), Ok(vec![-0.5, -1.0]));
        assert_eq!(
            read_a(line, &[5, 7]).unwrap_err(),
            "record `a`: its response's 2 token ids are not in the scored sequence"
        );
        // With the prompt's ids, the alternatives no longer count.
        let with_ids = line.replacen('{', r#"{"prompt_token_ids":[1,2,8,6],"#, 1);
        assert_eq!(
            read_a(&with_ids, &[5, 6]).unwrap_err(),
            "record `a`: its response's 2 token ids are not in the scored sequence"
        );
        let bad_key = r#"{"id":"a","prompt_logprobs":[null,{"x":{"logprob":-1}}]}"#;
        assert_eq!(
            read_a(bad_key, &[5]).unwrap_err(),
            "scores line 1: prompt_logprobs[1]: `x` is not a token id"
        );
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
