//! Generation with a KV cache: greedy, or temperature with nucleus (top-p) sampling from a
//! seeded generator (so a run can be repeated), until an end token, a stop string, or the token
//! limit.

use burn::tensor::{Device, Int, Tensor, TensorData};

use super::Llama;
use super::llama::KvCache;
use crate::tokens::HfTokenizer;

#[derive(Debug, Clone, PartialEq)]
pub struct GenerateConfig {
    pub max_tokens: usize,
    /// 0 is greedy.
    pub temperature: f32,
    pub top_p: f32,
    pub seed: u64,
    /// Generation ends before the first of these strings; it is not part of the output.
    pub stop: Vec<String>,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        GenerateConfig {
            max_tokens: 256,
            temperature: 0.0,
            top_p: 1.0,
            seed: 0,
            stop: Vec::new(),
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    EndToken,
    StopString(String),
    MaxTokens,
    ContextFull,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    pub ids: Vec<u32>,
    pub text: String,
    pub stop: Stop,
}

/// splitmix64: a small, fixed generator, so sampling is the same on every platform.
struct Rng(u64);

impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Picks the next token from logits: the argmax, or a sample from the top-p nucleus.
fn pick(logits: &[f32], config: &GenerateConfig, rng: &mut Rng) -> u32 {
    let argmax = || {
        logits
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i as u32)
    };
    if config.temperature <= 0.0 {
        return argmax();
    }
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut probs: Vec<(u32, f32)> = logits
        .iter()
        .enumerate()
        .map(|(i, &l)| (i as u32, ((l - max) / config.temperature).exp()))
        .collect();
    probs.sort_by(|a, b| b.1.total_cmp(&a.1));
    let total: f32 = probs.iter().map(|p| p.1).sum();
    let mut kept = 0.0;
    let nucleus: Vec<(u32, f32)> = probs
        .into_iter()
        .take_while(|p| {
            let keep = kept < config.top_p * total;
            kept += p.1;
            keep
        })
        .collect();
    let mass: f32 = nucleus.iter().map(|p| p.1).sum();
    let mut target = rng.next_f32() * mass;
    for (id, p) in &nucleus {
        target -= p;
        if target <= 0.0 {
            return *id;
        }
    }
    nucleus.last().map_or_else(argmax, |p| p.0)
}

/// Continues `prompt` (token ids) with the model.
pub fn generate(
    model: &Llama,
    device: &Device,
    tokenizer: &HfTokenizer,
    prompt: &[u32],
    end_tokens: &[u32],
    max_positions: usize,
    config: &GenerateConfig,
) -> Generation {
    let mut cache = KvCache::default();
    let mut rng = Rng(config.seed);
    let mut ids: Vec<u32> = Vec::new();
    let mut input: Vec<u32> = prompt.to_vec();
    let finish = |ids: Vec<u32>, stop: Stop| {
        let text = tokenizer.decode(&ids).unwrap_or_default();
        Generation { ids, text, stop }
    };
    loop {
        if ids.len() >= config.max_tokens {
            return finish(ids, Stop::MaxTokens);
        }
        if cache.length + input.len() > max_positions {
            return finish(ids, Stop::ContextFull);
        }
        let tokens: Vec<i64> = input.iter().map(|&t| i64::from(t)).collect();
        let n = tokens.len();
        let tokens = Tensor::<2, Int>::from_data(TensorData::new(tokens, [1, n]), device);
        let hidden = model.hidden_cached(tokens, &mut cache);
        let width = hidden.dims()[2];
        let last = hidden.slice([0..1, n - 1..n]).reshape([1, width]);
        let logits: Vec<f32> = model.logits(last).into_data().iter::<f32>().collect();
        let next = pick(&logits, config, &mut rng);
        if end_tokens.contains(&next) {
            return finish(ids, Stop::EndToken);
        }
        ids.push(next);
        input = vec![next];
        if !config.stop.is_empty() {
            let text = tokenizer.decode(&ids).unwrap_or_default();
            if let Some((at, stop)) = config
                .stop
                .iter()
                .filter_map(|s| text.find(s.as_str()).map(|at| (at, s)))
                .min()
            {
                return Generation {
                    ids,
                    text: text[..at].to_string(),
                    stop: Stop::StopString(stop.clone()),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_and_nucleus_picks() {
        let logits = [0.0, 3.0, 1.0, 2.9];
        let greedy = GenerateConfig::default();
        assert_eq!(pick(&logits, &greedy, &mut Rng(1)), 1);
        // A tiny nucleus keeps only the most likely token.
        let narrow = GenerateConfig {
            temperature: 1.0,
            top_p: 0.01,
            ..Default::default()
        };
        assert!((0..20).all(|s| pick(&logits, &narrow, &mut Rng(s)) == 1));
        // A wide one samples both leaders, deterministically per seed.
        let wide = GenerateConfig {
            temperature: 1.0,
            top_p: 0.9,
            ..Default::default()
        };
        let picks: Vec<u32> = (0..200).map(|s| pick(&logits, &wide, &mut Rng(s))).collect();
        assert!(picks.contains(&1) && picks.contains(&3));
        assert_eq!(
            picks,
            (0..200).map(|s| pick(&logits, &wide, &mut Rng(s))).collect::<Vec<_>>()
        );
    }
}
