//! Generation with a KV cache: greedy, or temperature with nucleus (top-p) sampling from a
//! seeded generator (so a run can be repeated), until an end token, a stop string, or the token
//! limit.

use burn::tensor::{Device, Int, Tensor, TensorData};

use super::Llama;
use super::llama::KvCache;
use crate::eval::tasks::answered_at;
use crate::pipeline::tokens::HfTokenizer;

#[derive(Debug, Clone, PartialEq)]
pub struct GenerateConfig {
    pub max_tokens: usize,
    /// 0 is greedy.
    pub temperature: f32,
    pub top_p: f32,
    pub seed: u64,
    /// Generation ends before the first of these strings; it is not part of the output.
    pub stop: Vec<String>,
    /// Generation also ends once the reply's first fenced block that defines this function is
    /// closed (`eval::tasks::answered_at`): what follows cannot change the code evaluated.
    pub stop_when_answered: Option<String>,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        GenerateConfig {
            max_tokens: 256,
            temperature: 0.0,
            top_p: 1.0,
            seed: 0,
            stop: Vec::new(),
            stop_when_answered: None,
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    EndToken,
    StopString(String),
    /// The reply's code is complete (`GenerateConfig::stop_when_answered`).
    Answered,
    MaxTokens,
    ContextFull,
}

impl Stop {
    /// The reason in one word, for logs and reply files.
    pub fn name(&self) -> &'static str {
        match self {
            Stop::EndToken => "end_token",
            Stop::StopString(_) => "stop_string",
            Stop::Answered => "answered",
            Stop::MaxTokens => "max_tokens",
            Stop::ContextFull => "context_full",
        }
    }
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
    let request = Request {
        prompt: prompt.to_vec(),
        config: config.clone(),
    };
    let [generation] = generate_batch(model, device, tokenizer, &[request], end_tokens, max_positions)
        .try_into()
        .expect("one request gives one generation");
    generation
}

/// One prompt to continue, with its own settings (e.g. its own sampling seed).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub prompt: Vec<u32>,
    pub config: GenerateConfig,
}

/// Continues every request in one batch: prompts are left-padded to one length, every step
/// decodes one token for each unfinished row, and finished rows leave the batch. On a CPU this
/// reads the weights once per step for all rows, so it is several times the throughput of one
/// request at a time; answers are the same up to float rounding.
pub fn generate_batch(
    model: &Llama,
    device: &Device,
    tokenizer: &HfTokenizer,
    requests: &[Request],
    end_tokens: &[u32],
    max_positions: usize,
) -> Vec<Generation> {
    let Some(longest) = requests.iter().map(|r| r.prompt.len()).max() else {
        return Vec::new();
    };
    let mut rows: Vec<Row> = requests.iter().map(Row::new).collect();
    let padding = requests.iter().map(|r| longest - r.prompt.len()).collect();
    let mut cache = KvCache::padded(padding);
    // Padding ids are never attended to; 0 is as good as any.
    let mut input: Vec<Vec<u32>> = requests
        .iter()
        .map(|r| [vec![0; longest - r.prompt.len()], r.prompt.clone()].concat())
        .collect();
    let mut active: Vec<usize> = (0..requests.len()).collect();
    loop {
        let context_full = cache.length + input[0].len() > max_positions;
        for &row in &active {
            let this = &mut rows[row];
            if this.done.is_none() && this.ids.len() >= requests[row].config.max_tokens {
                this.finish(tokenizer, Stop::MaxTokens);
            } else if this.done.is_none() && context_full {
                this.finish(tokenizer, Stop::ContextFull);
            }
        }
        let still: Vec<usize> = (0..active.len()).filter(|&i| rows[active[i]].done.is_none()).collect();
        if still.is_empty() {
            break;
        }
        if still.len() < active.len() {
            cache.keep_rows(&still, device);
            input = still.iter().map(|&i| input[i].clone()).collect();
            active = still.iter().map(|&i| active[i]).collect();
        }
        let (batch, n) = (input.len(), input[0].len());
        let tokens: Vec<i64> = input.iter().flatten().map(|&t| i64::from(t)).collect();
        let tokens = Tensor::<2, Int>::from_data(TensorData::new(tokens, [batch, n]), device);
        let hidden = model.hidden_cached(tokens, &mut cache);
        let width = hidden.dims()[2];
        let last = hidden.slice([0..batch, n - 1..n]).reshape([batch, width]);
        let logits: Vec<f32> = model.logits(last).into_data().iter::<f32>().collect();
        let vocab = logits.len() / batch;
        for (&row, logits) in active.iter().zip(logits.chunks(vocab)) {
            rows[row].step(logits, &requests[row].config, end_tokens, tokenizer);
        }
        input = active
            .iter()
            .map(|&row| vec![*rows[row].ids.last().unwrap_or(&0)])
            .collect();
    }
    rows.into_iter()
        .map(|row| row.done.expect("every row finishes"))
        .collect()
}

/// One request's progress through `generate_batch`.
struct Row {
    ids: Vec<u32>,
    rng: Rng,
    done: Option<Generation>,
}

impl Row {
    fn new(request: &Request) -> Self {
        Row {
            ids: Vec::new(),
            rng: Rng(request.config.seed),
            done: None,
        }
    }

    fn finish(&mut self, tokenizer: &HfTokenizer, stop: Stop) {
        let text = tokenizer.decode(&self.ids).unwrap_or_default();
        let ids = std::mem::take(&mut self.ids);
        self.done = Some(Generation { ids, text, stop });
    }

    /// Picks the next token from this row's logits and ends the row at an end token or a stop
    /// string.
    fn step(&mut self, logits: &[f32], config: &GenerateConfig, end_tokens: &[u32], tokenizer: &HfTokenizer) {
        let next = pick(logits, config, &mut self.rng);
        if end_tokens.contains(&next) {
            return self.finish(tokenizer, Stop::EndToken);
        }
        self.ids.push(next);
        if config.stop.is_empty() && config.stop_when_answered.is_none() {
            return;
        }
        let text = tokenizer.decode(&self.ids).unwrap_or_default();
        if let Some(end) = config
            .stop_when_answered
            .as_deref()
            .and_then(|entry_point| answered_at(&text, entry_point))
        {
            let ids = std::mem::take(&mut self.ids);
            self.done = Some(Generation {
                ids,
                text: text[..end].to_string(),
                stop: Stop::Answered,
            });
            return;
        }
        if let Some((at, stop)) = config
            .stop
            .iter()
            .filter_map(|s| text.find(s.as_str()).map(|at| (at, s)))
            .min()
        {
            let ids = std::mem::take(&mut self.ids);
            self.done = Some(Generation {
                ids,
                text: text[..at].to_string(),
                stop: Stop::StopString(stop.clone()),
            });
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
