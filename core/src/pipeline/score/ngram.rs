//! The model-free baseline: token surprisal under a smoothed trigram model fitted on the input
//! corpus itself (Superfiltering's weak-scorer idea, without a model). Witten-Bell interpolation
//! backs off trigram → bigram → add-one unigram, so every token gets a probability.
//!
//! The model is fitted on every response, the scored one included: a token that is rare in the
//! corpus stays surprising, which is the signal this baseline is for.

use std::collections::HashMap;

use super::{ScoreError, ScoreRequest, TokenScorer};
use crate::hash::fnv1a;
use crate::pipeline::tokens::Token;

type Key = u64;

/// Start-of-response padding for the first two contexts.
const BOS: Key = u64::MAX;

/// A trigram model over token keys (vocabulary ids, or a hash of the text without a tokenizer).
#[derive(Debug, Default)]
pub struct NgramScorer {
    unigrams: HashMap<Key, u32>,
    bigrams: HashMap<(Key, Key), u32>,
    trigrams: HashMap<(Key, Key, Key), u32>,
    /// Per context: (tokens seen after it, distinct tokens seen after it).
    bigram_contexts: HashMap<Key, (u32, u32)>,
    trigram_contexts: HashMap<(Key, Key), (u32, u32)>,
    total: u64,
}

impl NgramScorer {
    fn logprob(&self, a: Key, b: Key, key: Key) -> f64 {
        let vocabulary = self.unigrams.len() as f64 + 1.0;
        let unigram =
            (f64::from(self.unigrams.get(&key).copied().unwrap_or(0)) + 1.0) / (self.total as f64 + vocabulary);
        let bigram = witten_bell(self.bigrams.get(&(b, key)), self.bigram_contexts.get(&b), unigram);
        let trigram = witten_bell(
            self.trigrams.get(&(a, b, key)),
            self.trigram_contexts.get(&(a, b)),
            bigram,
        );
        libm::log(trigram)
    }
}

/// Witten-Bell: `P(w|h) = (c(h,w) + T(h) P_lower(w)) / (c(h) + T(h))`, or `P_lower` for an unseen context.
fn witten_bell(count: Option<&u32>, context: Option<&(u32, u32)>, lower: f64) -> f64 {
    match context {
        Some(&(seen, distinct)) => {
            (f64::from(count.copied().unwrap_or(0)) + f64::from(distinct) * lower) / f64::from(seen + distinct)
        }
        None => lower,
    }
}

fn count<K: std::hash::Hash + Eq, C: std::hash::Hash + Eq>(
    grams: &mut HashMap<K, u32>,
    contexts: &mut HashMap<C, (u32, u32)>,
    gram: K,
    context: C,
) {
    let n = grams.entry(gram).or_default();
    *n += 1;
    let entry = contexts.entry(context).or_default();
    entry.0 += 1;
    if *n == 1 {
        entry.1 += 1;
    }
}

fn context(keys: &[Key], i: usize) -> (Key, Key) {
    let at = |j: Option<usize>| j.map_or(BOS, |j| keys[j]);
    (at(i.checked_sub(2)), at(i.checked_sub(1)))
}

fn keys(text: &str, tokens: &[Token]) -> Vec<Key> {
    tokens
        .iter()
        .map(|t| match t.id {
            Some(id) => Key::from(id),
            None => fnv1a(&text.as_bytes()[t.span.start..t.span.end]) >> 1,
        })
        .collect()
}

impl TokenScorer for NgramScorer {
    /// Fits (adds counts of) the corpus responses.
    fn observe(&mut self, corpus: &[ScoreRequest]) {
        for request in corpus {
            let keys = keys(&request.record.response, request.tokens);
            for (i, &key) in keys.iter().enumerate() {
                let (a, b) = context(&keys, i);
                *self.unigrams.entry(key).or_default() += 1;
                self.total += 1;
                count(&mut self.bigrams, &mut self.bigram_contexts, (b, key), b);
                count(&mut self.trigrams, &mut self.trigram_contexts, (a, b, key), (a, b));
            }
        }
    }

    fn logprobs(&mut self, batch: &[ScoreRequest]) -> Vec<Result<Vec<f64>, ScoreError>> {
        batch
            .iter()
            .map(|request| {
                let keys = keys(&request.record.response, request.tokens);
                Ok((0..keys.len())
                    .map(|i| {
                        let (a, b) = context(&keys, i);
                        self.logprob(a, b, keys[i])
                    })
                    .collect())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::record::Record;
    use crate::pipeline::tokens::{LexicalTokenizer, Tokenize};

    #[test]
    fn witten_bell_by_hand() {
        // Context seen 3 times with 2 distinct followers; w seen twice after it; lower = 0.1.
        let p = witten_bell(Some(&2), Some(&(3, 2)), 0.1);
        assert!((p - (2.0 + 2.0 * 0.1) / 5.0).abs() < 1e-12);
        assert_eq!(witten_bell(None, None, 0.1), 0.1);
    }

    #[test]
    fn repeated_text_is_less_surprising_and_probabilities_are_proper() {
        let common = "x = x + 1\n".repeat(20);
        let record = Record {
            id: "r".into(),
            prompt: vec![],
            response: format!("{common}zeta_omega = 7\n"),
        };
        let tokens = LexicalTokenizer.tokenize(&record.response).unwrap();
        let request = [ScoreRequest {
            record: &record,
            tokens: &tokens,
        }];
        let mut model = NgramScorer::default();
        model.observe(&request);
        let logprobs = model.logprobs(&request).remove(0).unwrap();
        let rare = logprobs[logprobs.len() - 5];
        assert!(logprobs.iter().all(|&l| l < 0.0 && l.is_finite()));
        assert!(
            rare < logprobs[10],
            "a rare token ({rare}) is more surprising than a repeated one"
        );
        // The distribution after a seen context sums to 1 over the vocabulary plus the unknown share.
        let vocabulary: Vec<Key> = model.unigrams.keys().copied().collect();
        let (a, b) = (keys(&record.response, &tokens)[0], keys(&record.response, &tokens)[1]);
        let mass: f64 = vocabulary.iter().map(|&k| model.logprob(a, b, k).exp()).sum();
        let unknown = model.logprob(a, b, 12345).exp();
        assert!((mass + unknown - 1.0).abs() < 1e-9, "mass {mass} + unknown {unknown}");
    }
}
