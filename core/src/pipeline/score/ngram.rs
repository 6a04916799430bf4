//! The model-free baseline: token surprisal under a smoothed trigram model fitted on the input
//! corpus itself (Superfiltering's weak-scorer idea, without a model). Witten-Bell interpolation
//! backs off trigram → bigram → add-one unigram, so every token gets a probability.
//!
//! The model is fitted on every response, the scored one included: a token that is rare in the
//! corpus stays surprising, which is the signal this baseline is for.

use rustc_hash::FxHashMap;

use serde::{Deserialize, Serialize};

use super::{ScoreError, ScoreRequest, TokenScorer};
use crate::hash::fnv1a;
use crate::pipeline::tokens::Token;

/// A token's key: its vocabulary id, or a hash of its text without a tokenizer.
pub type Key = u64;

/// Start-of-response padding for the first two contexts.
const BOS: Key = u64::MAX;

/// A trigram model over token keys (vocabulary ids, or a hash of the text without a tokenizer).
#[derive(Debug, Default)]
pub struct NgramScorer {
    unigrams: FxHashMap<Key, u32>,
    bigrams: FxHashMap<(Key, Key), u32>,
    trigrams: FxHashMap<(Key, Key, Key), u32>,
    /// Per context: (tokens seen after it, distinct tokens seen after it).
    bigram_contexts: FxHashMap<Key, (u32, u32)>,
    trigram_contexts: FxHashMap<(Key, Key), (u32, u32)>,
    total: u64,
}

/// The counts a fit made, as plain sorted lists: what shards of a corpus send to be added up
/// ([`NgramScorer::from_counts`]), so a model fitted shard by shard is the one fitted on all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NgramCounts {
    pub unigrams: Vec<(Key, u32)>,
    pub bigrams: Vec<(Key, Key, u32)>,
    pub trigrams: Vec<(Key, Key, Key, u32)>,
}

impl NgramScorer {
    /// The counts of everything observed so far.
    pub fn counts(&self) -> NgramCounts {
        let mut counts = NgramCounts {
            unigrams: self.unigrams.iter().map(|(&k, &n)| (k, n)).collect(),
            bigrams: self.bigrams.iter().map(|(&(b, k), &n)| (b, k, n)).collect(),
            trigrams: self.trigrams.iter().map(|(&(a, b, k), &n)| (a, b, k, n)).collect(),
        };
        counts.unigrams.sort_unstable();
        counts.bigrams.sort_unstable();
        counts.trigrams.sort_unstable();
        counts
    }

    /// The model fitted on all the corpora whose counts these are.
    pub fn from_counts(parts: impl IntoIterator<Item = NgramCounts>) -> NgramScorer {
        let mut model = NgramScorer::default();
        for part in parts {
            for (key, n) in part.unigrams {
                *model.unigrams.entry(key).or_default() += n;
                model.total += u64::from(n);
            }
            for (b, key, n) in part.bigrams {
                *model.bigrams.entry((b, key)).or_default() += n;
            }
            for (a, b, key, n) in part.trigrams {
                *model.trigrams.entry((a, b, key)).or_default() += n;
            }
        }
        // A context's totals follow from its grams: the tokens seen after it, and how many
        // distinct ones.
        for (&(b, _), &n) in &model.bigrams {
            let entry = model.bigram_contexts.entry(b).or_default();
            *entry = (entry.0 + n, entry.1 + 1);
        }
        for (&(a, b, _), &n) in &model.trigrams {
            let entry = model.trigram_contexts.entry((a, b)).or_default();
            *entry = (entry.0 + n, entry.1 + 1);
        }
        model
    }

    /// The log-prob of each of a response's tokens.
    fn score(&self, request: &ScoreRequest) -> Vec<f64> {
        let keys = keys(&request.record.response, request.tokens);
        (0..keys.len())
            .map(|i| {
                let (a, b) = context(&keys, i);
                self.logprob(a, b, keys[i])
            })
            .collect()
    }

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
    grams: &mut FxHashMap<K, u32>,
    contexts: &mut FxHashMap<C, (u32, u32)>,
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
        batch.iter().map(|request| Ok(self.score(request))).collect()
    }
}

/// A fitted model that scores without fitting further: each shard of a corpus scores with the
/// model of the whole ([`NgramScorer::from_counts`]) and adds nothing to it.
#[derive(Debug)]
pub struct Fitted<'a>(pub &'a NgramScorer);

impl TokenScorer for Fitted<'_> {
    fn logprobs(&mut self, batch: &[ScoreRequest]) -> Vec<Result<Vec<f64>, ScoreError>> {
        batch.iter().map(|request| Ok(self.0.score(request))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::record::Record;
    use crate::pipeline::tokens::{LexicalTokenizer, Tokenize};

    #[test]
    fn a_model_added_up_from_shards_is_the_model_of_all() {
        let responses = ["x = x + 1\n", "y = x * 2\nprint(y)\n", "x = 1\nx = x + 1\n"];
        let records: Vec<Record> = responses
            .iter()
            .map(|r| Record {
                id: "r".into(),
                prompt: vec![],
                response: r.to_string(),
            })
            .collect();
        let tokens: Vec<_> = records
            .iter()
            .map(|r| LexicalTokenizer.tokenize(&r.response).unwrap())
            .collect();
        let requests: Vec<ScoreRequest> = records
            .iter()
            .zip(&tokens)
            .map(|(record, tokens)| ScoreRequest { record, tokens })
            .collect();
        let mut whole = NgramScorer::default();
        whole.observe(&requests);
        let shards = requests.chunks(2).map(|shard| {
            let mut part = NgramScorer::default();
            part.observe(shard);
            part.counts()
        });
        let added = NgramScorer::from_counts(shards);
        assert_eq!(added.counts(), whole.counts());
        assert_eq!(Fitted(&added).logprobs(&requests), whole.logprobs(&requests));
    }

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
