//! Scoring: token probabilities → generalized cross-entropy → item utility.
//!
//! A [`TokenScorer`] gives each response token its log-probability given the prompt and the
//! response before it. Per token, `GCE_q(p) = (1 - p^q) / q`: at q → 0 it is the cross-entropy
//! `-ln p`, at q = 1 it is `1 - p`; in between it keeps hard tokens high while bounding the
//! weight of tokens the model finds hopeless (noise). An item's utility aggregates GCE over its
//! core logic tokens.

mod ngram;
mod precomputed;

pub use ngram::{Fitted, NgramCounts, NgramScorer};
pub use precomputed::{PrecomputedError, PrecomputedScorer, score_line};

use serde::{Deserialize, Serialize};

use crate::pipeline::record::Record;
use crate::pipeline::tokens::Token;

/// Why a record's tokens could not be scored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoreError {
    #[error("no scores for record `{0}`")]
    Missing(String),
    #[error("record `{id}`: scores have {found} tokens, the tokenizer gives {expected}")]
    Length { id: String, expected: usize, found: usize },
    #[error("record `{id}`: token {index} is id {found} in the scores but {expected} from the tokenizer")]
    Mismatch {
        id: String,
        index: usize,
        expected: u32,
        found: u32,
    },
    #[error("record `{id}`: its response's {tokens} token ids are not in the scored sequence")]
    NotFound { id: String, tokens: usize },
    #[error("record `{id}`: log-prob {value} at token {index} is not a finite number <= 0")]
    BadValue { id: String, index: usize, value: f64 },
    #[error("the scorer failed: {0}")]
    Failed(String),
}

impl ScoreError {
    pub fn reason(&self) -> &'static str {
        match self {
            ScoreError::Missing(_) => "scores_missing",
            ScoreError::Length { .. } | ScoreError::Mismatch { .. } | ScoreError::NotFound { .. } => "scores_mismatch",
            ScoreError::BadValue { .. } => "scores_invalid",
            ScoreError::Failed(_) => "scorer_failed",
        }
    }
}

/// One record's response tokens, to be scored.
#[derive(Debug, Clone, Copy)]
pub struct ScoreRequest<'a> {
    pub record: &'a Record,
    pub tokens: &'a [Token],
}

impl ScoreRequest<'_> {
    /// The response's token ids; `None` when a token has none (the lexical tokenizer's).
    pub fn token_ids(&self) -> Option<Vec<u32>> {
        self.tokens.iter().map(|t| t.id).collect()
    }
}

/// The seam between the pipeline and whatever gives token probabilities: a model, a file of
/// precomputed log-probs, or the n-gram baseline. Batched, so a model can fill its batches.
pub trait TokenScorer {
    /// Sees every record of the run before any is scored: the n-gram baseline fits on them;
    /// a model needs nothing.
    fn observe(&mut self, _corpus: &[ScoreRequest]) {}

    /// Natural-log probability of each response token, one result per request.
    fn logprobs(&mut self, batch: &[ScoreRequest]) -> Vec<Result<Vec<f64>, ScoreError>>;
}

/// Knobs of token scoring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoreConfig {
    /// The GCE exponent q in [0, 1]; 0 is cross-entropy.
    pub q: f64,
    pub aggregate: Aggregate,
    /// Which core tokens an item's utility reads.
    pub core_tokens: CoreTokens,
    /// What a token's score is.
    pub utility: Utility,
}

impl Default for ScoreConfig {
    fn default() -> Self {
        ScoreConfig {
            q: 0.7,
            aggregate: Aggregate::Mean,
            core_tokens: CoreTokens::All,
            utility: Utility::Gce,
        }
    }
}

impl ScoreConfig {
    /// Every token's score from its log-prob under the scorer: its GCE; for [`Utility::Excess`],
    /// minus its GCE under the reference (`reference`: the reference's log-probs, required).
    pub fn token_scores(&self, logprobs: &[f64], reference: Option<&[f64]>) -> Vec<f64> {
        let own = logprobs.iter().map(|&l| gce(l, self.q));
        match (self.utility, reference) {
            (Utility::Excess, Some(reference)) => own.zip(reference).map(|(g, &r)| g - gce(r, self.q)).collect(),
            _ => own.collect(),
        }
    }

    /// An item's utility: the scores of its core tokens, aggregated.
    pub fn utility(&self, core_tokens: &[usize], token_scores: &[f64]) -> f64 {
        self.aggregate.apply(core_tokens.iter().map(|&t| token_scores[t]))
    }
}

/// Generalized cross-entropy of a token from its log-probability; `q = 0` is plain cross-entropy.
pub fn gce(logprob: f64, q: f64) -> f64 {
    if q == 0.0 {
        -logprob
    } else {
        (1.0 - libm::exp(q * logprob)) / q
    }
}

/// Which tokens of an item count as its core logic (METHOD.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoreTokens {
    /// Every core token.
    #[default]
    All,
    /// Without the wording inside code: the occurrence that introduces a new name and the
    /// contents of long string literals, whose low probability is often a replaceable choice
    /// of words rather than logic.
    WithoutWording,
}

/// What a token's score is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Utility {
    /// Its GCE under the scorer: how much the model has to learn there.
    #[default]
    Gce,
    /// Its GCE under the scorer (the model being trained) minus its GCE under a reference
    /// model: what is learnable, not just hard (Rho-1's excess loss, applied to items).
    Excess,
}

/// How an item's token scores become one utility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// Mean GCE over core tokens: difficulty per token, independent of the item's length.
    #[default]
    Mean,
    /// The hardest core token.
    Max,
    /// Total GCE: favours long items.
    Sum,
}

impl Aggregate {
    /// Aggregates token scores; no tokens → 0.
    pub fn apply(self, scores: impl Iterator<Item = f64>) -> f64 {
        let (count, sum, max) = scores.fold((0usize, 0.0, 0.0f64), |(n, s, m), x| (n + 1, s + x, m.max(x)));
        match self {
            _ if count == 0 => 0.0,
            Aggregate::Mean => sum / count as f64,
            Aggregate::Max => max,
            Aggregate::Sum => sum,
        }
    }
}

/// Checks that log-probs are usable numbers.
pub(crate) fn validate(id: &str, logprobs: &[f64]) -> Result<(), ScoreError> {
    match logprobs.iter().position(|&v| !v.is_finite() || v > 0.0) {
        Some(index) => Err(ScoreError::BadValue {
            id: id.into(),
            index,
            value: logprobs[index],
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excess_is_own_gce_minus_the_reference() {
        let config = ScoreConfig {
            q: 0.0,
            utility: Utility::Excess,
            ..ScoreConfig::default()
        };
        let (own, reference) = ([-2.0, -0.5], [-0.5, -2.0]);
        assert_eq!(config.token_scores(&own, Some(&reference)), [1.5, -1.5]);
        let gce = ScoreConfig {
            q: 0.0,
            ..ScoreConfig::default()
        };
        assert_eq!(
            gce.token_scores(&own, Some(&reference)),
            [2.0, 0.5],
            "gce ignores a reference"
        );
    }

    #[test]
    fn gce_by_hand() {
        // p = 0.25, q = 0.5: (1 - 0.25^0.5) / 0.5 = (1 - 0.5) / 0.5 = 1.
        assert!((gce(0.25f64.ln(), 0.5) - 1.0).abs() < 1e-12);
        // p = 0.5, q = 1: 1 - p.
        assert!((gce(0.5f64.ln(), 1.0) - 0.5).abs() < 1e-12);
        // q = 0 is cross-entropy.
        assert!((gce(0.5f64.ln(), 0.0) - std::f64::consts::LN_2).abs() < 1e-12);
        // Certain tokens cost nothing; GCE at q = 0.7 is bounded by 1/q.
        assert_eq!(gce(0.0, 0.7), 0.0);
        assert!(gce(-1e9, 0.7) <= 1.0 / 0.7 + 1e-12);
    }

    #[test]
    fn aggregates() {
        let scores = [1.0, 3.0, 2.0];
        assert_eq!(Aggregate::Mean.apply(scores.into_iter()), 2.0);
        assert_eq!(Aggregate::Max.apply(scores.into_iter()), 3.0);
        assert_eq!(Aggregate::Sum.apply(scores.into_iter()), 6.0);
        assert_eq!(Aggregate::Mean.apply(std::iter::empty()), 0.0);
    }
}
