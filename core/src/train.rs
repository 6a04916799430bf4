//! Training plans, as plain data: what a model sees of a record (the [`Context`] the scorer
//! scores, the [`Example`] the trainer trains on), which tokens get loss in each mode, how
//! examples are packed into batches by token count, and the learning-rate schedule. The trainer
//! loop (native) runs the model on these; everything here is deterministic given the seed.

use serde::{Deserialize, Serialize};

use crate::pipeline::output::Selected;

/// The token ids a model sees of one record: its prompt through the chat template, then its
/// response's ids as the mask has them. The scorer scores exactly this; an [`Example`] closes it
/// with the end token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub ids: Vec<u32>,
    /// How many of `ids` are the prompt (at least 1: the first response token is predicted
    /// from the last prompt token).
    pub prompt_len: usize,
}

impl Context {
    pub fn new(prompt: Vec<u32>, response: &[u32]) -> Context {
        let prompt_len = prompt.len();
        let mut ids = prompt;
        ids.extend_from_slice(response);
        Context { ids, prompt_len }
    }

    /// The ids after the prompt.
    pub fn response(&self) -> &[u32] {
        &self.ids[self.prompt_len..]
    }
}

/// One record to train on: its context closed by the model's end token, and a loss weight for
/// every token after the prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub context: Context,
    pub weights: Vec<f32>,
}

/// The example of a record in `mode`: its context, `response_weights` from [`token_weights`],
/// and the end token (`end`, when the model has one) closing the turn as in the chat, weighted
/// by [`end_weight`].
pub fn example(context: Context, end: Option<u32>, response_weights: Vec<f32>, mode: Mode) -> Example {
    let (mut context, mut weights) = (context, response_weights);
    if let Some(end) = end {
        context.ids.push(end);
        weights.push(end_weight(mode));
    }
    Example { context, weights }
}

/// The loss weight of the end-of-turn token: full SFT (and token cleaning, which starts from
/// it) supervises it, so the model learns to stop after a response; the sparse modes leave it
/// to the mask, which never covers it.
pub fn end_weight(mode: Mode) -> f32 {
    match mode {
        Mode::Full | Mode::TokenCleaning => 1.0,
        Mode::Codeblock | Mode::Random | Mode::Mask => 0.0,
    }
}

/// Which response tokens carry the loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The mask `codeblock select` wrote.
    Codeblock,
    /// Every response token: standard SFT.
    Full,
    /// As many tokens per record as the codeblock mask has, uniformly at random (seeded).
    Random,
    /// Per-token weights the user brings: a `weights` list on the line, else the mask's flags.
    Mask,
    /// Token Cleaning: the tokens a reference model gains most on over the base model
    /// (global top fraction), scored by the trainer with both models.
    TokenCleaning,
}

/// Per-token loss weights of one record's response for a mode; `user_weights` is the line's
/// optional `weights` list.
pub fn token_weights(
    mode: Mode,
    selected: &Selected,
    user_weights: Option<&[f32]>,
    seed: u64,
) -> Result<Vec<f32>, String> {
    let flags: Vec<f32> = selected.mask.supervised.iter().map(|&f| f32::from(f)).collect();
    Ok(match mode {
        Mode::Codeblock => flags,
        // Token cleaning starts from every token; `token_cleaning_weights` then picks.
        Mode::Full | Mode::TokenCleaning => vec![1.0; flags.len()],
        Mode::Random => {
            let count = flags.iter().filter(|&&f| f > 0.0).count();
            let mut order: Vec<usize> = (0..flags.len()).collect();
            let mut state = seed ^ fnv(&selected.response);
            // Fisher-Yates with splitmix64: the same record and seed pick the same tokens.
            for i in (1..order.len()).rev() {
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                order.swap(i, ((z ^ (z >> 31)) % (i as u64 + 1)) as usize);
            }
            let mut weights = vec![0.0; flags.len()];
            for &i in &order[..count] {
                weights[i] = 1.0;
            }
            weights
        }
        Mode::Mask => match user_weights {
            Some(w) if w.len() != flags.len() => {
                return Err(format!(
                    "`weights` has {} entries, the response has {} tokens",
                    w.len(),
                    flags.len()
                ));
            }
            Some(w) if w.iter().any(|x| !x.is_finite() || *x < 0.0) => {
                return Err("`weights` must be finite and non-negative".into());
            }
            Some(w) => w.to_vec(),
            None => flags,
        },
    })
}

/// Token Cleaning's selection: per token, the excess loss `−ln p_base + ln p_reference` (how much
/// better a reference model, tuned on good data, predicts it than the base model), and the
/// globally top `keep` fraction of all response tokens get weight 1. Ties go to earlier tokens.
pub fn token_cleaning_weights(base: &[Vec<f64>], reference: &[Vec<f64>], keep: f64) -> Vec<Vec<f32>> {
    let mut all: Vec<(f64, usize, usize)> = Vec::new();
    for (r, (b, f)) in base.iter().zip(reference).enumerate() {
        for (t, (lb, lf)) in b.iter().zip(f).enumerate() {
            all.push((lf - lb, r, t));
        }
    }
    let count = (keep.clamp(0.0, 1.0) * all.len() as f64).round() as usize;
    all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut weights: Vec<Vec<f32>> = base.iter().map(|b| vec![0.0; b.len()]).collect();
    for &(_, r, t) in &all[..count] {
        weights[r][t] = 1.0;
    }
    weights
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Batches of example indices: examples sorted by length are filled into batches whose padded
/// size (examples × longest) stays within `batch_tokens`; batch order is shuffled per epoch.
pub fn pack(lengths: &[usize], batch_tokens: usize, epoch_seed: u64) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| (lengths[i], i));
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for i in order {
        let longest = current.iter().map(|&j| lengths[j]).max().unwrap_or(0).max(lengths[i]);
        if !current.is_empty() && (current.len() + 1) * longest > batch_tokens {
            batches.push(std::mem::take(&mut current));
        }
        current.push(i);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    let mut state = epoch_seed;
    for i in (1..batches.len()).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        batches.swap(i, ((state >> 33) % (i as u64 + 1)) as usize);
    }
    batches
}

/// The total loss weight of a step's micro-batches (each a list of example indices): the
/// step's loss is one mean over every supervised token, across its micro-batches.
pub fn supervised_weight(examples: &[Example], batches: &[Vec<usize>]) -> f32 {
    batches
        .iter()
        .flatten()
        .map(|&i| examples[i].weights.iter().sum::<f32>())
        .sum()
}

/// One line of a training run's `metrics.jsonl`: what an optimizer step measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub step: usize,
    pub epoch: usize,
    pub loss: f64,
    pub lr: f64,
    /// The step's summed loss weight (supervised tokens, when weights are 0/1).
    pub supervised_tokens: f64,
    /// Padded tokens of the step's micro-batches.
    pub total_tokens: usize,
    pub supervised_fraction: f64,
    pub tokens_per_s: f64,
    pub supervised_tokens_per_s: f64,
    /// Seconds of training so far, over resumes.
    pub elapsed_s: f64,
}

/// Linear warm-up over `warmup` steps to `peak`, then cosine decay to 0 at `total` steps.
pub fn learning_rate(step: usize, total: usize, warmup: usize, peak: f64) -> f64 {
    if step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let span = total.saturating_sub(warmup).max(1) as f64;
    let progress = ((step - warmup) as f64 / span).min(1.0);
    peak * 0.5 * (1.0 + libm::cos(std::f64::consts::PI * progress))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selected(flags: &[u8]) -> Selected {
        let record = crate::pipeline::record::Record {
            id: "r".into(),
            prompt: vec![],
            response: "x = 1\n".repeat(flags.len()),
        };
        let tokenizer = crate::pipeline::tokens::LexicalTokenizer;
        let mut output = crate::run(
            vec![crate::Input::record(record)],
            &tokenizer,
            &mut crate::pipeline::score::NgramScorer::default(),
            &Default::default(),
            &mut (),
        );
        let crate::pipeline::output::Status::Ok(selected) = output.remove(0).status else {
            panic!("ok")
        };
        let mut selected = *selected;
        selected.mask.supervised = flags.to_vec();
        selected
    }

    #[test]
    fn modes_weigh_tokens() {
        let s = selected(&[0, 1, 0, 0, 1, 0, 0, 0]);
        assert_eq!(
            token_weights(Mode::Codeblock, &s, None, 0).unwrap(),
            [0., 1., 0., 0., 1., 0., 0., 0.]
        );
        assert_eq!(token_weights(Mode::Full, &s, None, 0).unwrap(), [1.0; 8]);
        assert_eq!(token_weights(Mode::TokenCleaning, &s, None, 0).unwrap(), [1.0; 8]);
        let random = token_weights(Mode::Random, &s, None, 7).unwrap();
        assert_eq!(random.iter().sum::<f32>(), 2.0, "as many tokens as the mask");
        assert_eq!(random, token_weights(Mode::Random, &s, None, 7).unwrap(), "seeded");
        let user = [0.5; 8];
        assert_eq!(token_weights(Mode::Mask, &s, Some(&user), 0).unwrap(), user);
        assert!(
            token_weights(Mode::Mask, &s, Some(&[1.0; 3]), 0)
                .unwrap_err()
                .contains("3 entries")
        );
        assert!(token_weights(Mode::Mask, &s, Some(&[-1.0; 8]), 0).is_err());
    }

    #[test]
    fn examples_close_the_turn_with_the_end_token() {
        let context = Context::new(vec![1, 2], &[7, 8, 9]);
        assert_eq!((context.prompt_len, context.response()), (2, &[7, 8, 9][..]));
        let full = example(context.clone(), Some(0), vec![1.0; 3], Mode::Full);
        assert_eq!(full.context.ids, [1, 2, 7, 8, 9, 0]);
        assert_eq!(full.weights, [1.0, 1.0, 1.0, 1.0], "full SFT learns to stop");
        let sparse = example(context.clone(), Some(0), vec![0.0, 1.0, 0.0], Mode::Codeblock);
        assert_eq!(
            sparse.weights,
            [0.0, 1.0, 0.0, 0.0],
            "the end token is context in sparse modes"
        );
        let cleaning = example(context.clone(), Some(0), vec![1.0; 3], Mode::TokenCleaning);
        assert_eq!(cleaning.weights.len(), 4);
        assert_eq!(end_weight(Mode::TokenCleaning), 1.0);
        let open = example(context, None, vec![1.0; 3], Mode::Full);
        assert_eq!(
            (open.context.ids.len(), open.weights.len()),
            (5, 3),
            "no end token, none added"
        );
    }

    #[test]
    fn a_step_weighs_every_supervised_token_of_its_batches() {
        let example = |weights: Vec<f32>| Example {
            context: Context::new(vec![1], &vec![2; weights.len()]),
            weights,
        };
        let examples = [
            example(vec![1.0, 0.0]),
            example(vec![0.5, 0.5, 1.0]),
            example(vec![1.0]),
        ];
        assert_eq!(supervised_weight(&examples, &[vec![0, 1], vec![2]]), 4.0);
        assert_eq!(supervised_weight(&examples, &[vec![2]]), 1.0);
    }

    #[test]
    fn token_cleaning_keeps_the_global_top_excess_loss() {
        // Excess = reference − base: record 0 → [1.0, -1.0], record 1 → [3.0, 0.5, 0.0].
        let base = vec![vec![-2.0, -1.0], vec![-4.0, -1.0, -1.0]];
        let reference = vec![vec![-1.0, -2.0], vec![-1.0, -0.5, -1.0]];
        let weights = token_cleaning_weights(&base, &reference, 0.4);
        assert_eq!(weights, vec![vec![1.0, 0.0], vec![1.0, 0.0, 0.0]]);
        assert_eq!(token_cleaning_weights(&base, &reference, 1.0).concat(), [1.0; 5]);
    }

    #[test]
    fn schedule_warms_up_then_decays() {
        assert_eq!(learning_rate(0, 10, 2, 1.0), 0.5);
        assert_eq!(learning_rate(1, 10, 2, 1.0), 1.0);
        assert!((learning_rate(2, 10, 2, 1.0) - 1.0).abs() < 1e-12);
        assert!((learning_rate(6, 10, 2, 1.0) - 0.5).abs() < 1e-12);
        assert!(learning_rate(10, 10, 2, 1.0).abs() < 1e-12);
    }

    #[test]
    fn packing_respects_the_token_budget_and_keeps_everything() {
        let lengths = [10, 50, 12, 48, 11, 100];
        let batches = pack(&lengths, 110, 3);
        let mut all: Vec<usize> = batches.iter().flatten().copied().collect();
        all.sort();
        assert_eq!(all, [0, 1, 2, 3, 4, 5]);
        for batch in &batches {
            let longest = batch.iter().map(|&i| lengths[i]).max().unwrap();
            assert!(batch.len() == 1 || batch.len() * longest <= 110, "{batch:?}");
        }
        assert_eq!(batches, pack(&lengths, 110, 3), "deterministic");
    }
}
