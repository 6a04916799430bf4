//! Training plans, as plain data: what a model sees of a record (the [`Context`] the scorer
//! scores, the [`Example`] the trainer trains on), which tokens get loss in each mode, how
//! examples are packed into batches by token count, and the learning-rate schedule. The trainer
//! loop (native) runs the model on these; everything here is deterministic given the seed.

use serde::{Deserialize, Serialize};

use crate::formats::chat::ChatTokenizer;
use crate::hash::fnv1a;
use crate::pipeline::output::{ItemOutput, Selected};
use crate::span::Span;

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
    /// The context ends with the end token (the last weight is its own).
    pub closed: bool,
}

impl Example {
    /// The loss weight on the response's own tokens.
    pub fn response_weight(&self) -> f32 {
        self.weights.iter().sum::<f32>() - self.end_weight()
    }

    /// The loss weight on the end token.
    pub fn end_weight(&self) -> f32 {
        match self.closed {
            true => self.weights.last().copied().unwrap_or(0.0),
            false => 0.0,
        }
    }

    /// The context without the end token: the record's response alone, as the scorer scores it.
    pub fn response_context(&self) -> Context {
        let end = usize::from(self.closed);
        Context {
            ids: self.context.ids[..self.context.ids.len() - end].to_vec(),
            prompt_len: self.context.prompt_len,
        }
    }

    /// New weights for the response's tokens (Token Cleaning's choice); the end token keeps its
    /// own.
    pub fn reweigh(&mut self, response_weights: Vec<f32>) {
        let end = self.closed.then(|| self.end_weight());
        self.weights = response_weights;
        self.weights.extend(end);
    }
}

/// The example of a record: its context, `response_weights` from [`token_weights`], and the
/// end token (`end`, when the model has one) closing the turn as in the chat. The end token is
/// supervised in every mode, outside the mask's budget: every mode must learn to stop, or a
/// comparison of modes measures who stops rather than who codes (e1's sparse models, which
/// never saw it supervised, wrote replies 2.3× the base model's length).
pub fn example(context: Context, end: Option<u32>, response_weights: Vec<f32>) -> Example {
    let (mut context, mut weights) = (context, response_weights);
    if let Some(end) = end {
        context.ids.push(end);
        weights.push(1.0);
    }
    Example {
        context,
        weights,
        closed: end.is_some(),
    }
}

/// The example of a record of `select`'s output in a mode: its prompt through the chat
/// template, the response's ids as the mask has them, the end token, and the mode's weights
/// ([`token_weights`]); `None` when the mode gives the response no weight (such a record is not
/// trained on, its end token included). The trainer and every export build examples here, so
/// a mask lands on the same tokens in all of them.
pub fn record_example(
    chat: &ChatTokenizer,
    selected: &Selected,
    mode: Mode,
    user_weights: Option<&[f32]>,
    seed: u64,
) -> Result<Option<Example>, String> {
    let Some(response_ids) = &selected.mask.token_ids else {
        return Err("no token ids; run `codeblock select --model` with this model first".into());
    };
    let weights = token_weights(mode, selected, user_weights, seed)?;
    if weights.iter().all(|&w| w == 0.0) {
        return Ok(None);
    }
    let context = chat
        .context(&selected.prompt, response_ids)
        .map_err(|e| e.to_string())?;
    Ok(Some(example(context, chat.end_token(), weights)))
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
    /// Whole coding items at random (those with core tokens, seeded): a subset whose token count
    /// is closest to the mask's, per record. Structure without scoring.
    RandomItems,
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
            // The same record and seed pick the same tokens.
            shuffle(&mut order, seed ^ fnv1a(selected.response.as_bytes()));
            let mut weights = vec![0.0; flags.len()];
            for &i in &order[..count] {
                weights[i] = 1.0;
            }
            weights
        }
        Mode::RandomItems => {
            let target = flags.iter().filter(|&&f| f > 0.0).count();
            let mut items: Vec<&ItemOutput> = selected.items.iter().filter(|i| i.core_tokens > 0).collect();
            shuffle(&mut items, seed ^ fnv1a(selected.response.as_bytes()));
            let chosen = closest_subset(&items.iter().map(|i| i.tokens).collect::<Vec<_>>(), target);
            let chosen: Vec<Span> = chosen.into_iter().map(|k| items[k].span).collect();
            let spans = &selected.mask.token_spans;
            spans
                .iter()
                .map(|t| f32::from(u8::from(chosen.iter().any(|c| c.overlaps(*t)))))
                .collect()
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

/// The indices of a subset of `costs` whose sum is closest to `target` (below it on a tie):
/// the first such subset found when the items are taken in the given order, so a shuffled order
/// gives a random one. Subset sums up to `target` plus the largest cost are tracked.
fn closest_subset(costs: &[usize], target: usize) -> Vec<usize> {
    let bound = target + costs.iter().max().copied().unwrap_or(0);
    // How each reachable sum was first reached: (the sum before, the item added).
    let mut reached: Vec<Option<(usize, usize)>> = vec![None; bound + 1];
    let mut reachable = vec![false; bound + 1];
    reachable[0] = true;
    for (k, &cost) in costs.iter().enumerate() {
        for sum in (cost..=bound).rev() {
            if !reachable[sum] && reachable[sum - cost] {
                reachable[sum] = true;
                reached[sum] = Some((sum - cost, k));
            }
        }
    }
    let best = (0..=bound)
        .filter(|&s| reachable[s])
        .min_by_key(|&s| (s.abs_diff(target), s > target))
        .unwrap_or(0);
    let mut chosen = Vec::new();
    let mut sum = best;
    while let Some((before, k)) = reached[sum] {
        chosen.push(k);
        sum = before;
    }
    chosen
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

/// Records sorted by length within each window of this many (shuffled) records: batches mix
/// the whole dataset, and padding stays bounded.
pub const PACK_WINDOW: usize = 64;

/// Batches of example indices for one epoch: the examples are shuffled (from `epoch_seed`),
/// sorted by length within windows of [`PACK_WINDOW`], and filled into batches whose padded
/// size (examples × longest) stays within `batch_tokens`; the batch order is shuffled too. A
/// record lands in a different batch every epoch, next to records of any length class, so no
/// record is always in a batch of short (or of sparse) neighbours.
pub fn pack(lengths: &[usize], batch_tokens: usize, epoch_seed: u64) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    shuffle(&mut order, epoch_seed);
    for window in order.chunks_mut(PACK_WINDOW) {
        window.sort_by_key(|&i| (lengths[i], i));
    }
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
    shuffle(&mut batches, epoch_seed.rotate_left(32));
    batches
}

/// Fisher-Yates with splitmix64: the same seed gives the same order on every platform.
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    for i in (1..items.len()).rev() {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        items.swap(i, ((z ^ (z >> 31)) % (i as u64 + 1)) as usize);
    }
}

/// What a step's loss is divided by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalize {
    /// The step's own supervised weight: a mean per supervised token of the step. With sparse
    /// masks it swings with the batch (a token in a step of 13 weighs 8× one in a step of 100).
    Step,
    /// The dataset's mean supervised weight per step: every supervised token weighs the same,
    /// whichever batch it lands in (the sum over the step, on one fixed scale).
    #[default]
    Constant,
}

impl Normalize {
    /// The divisor of a step's summed loss over `group` (its micro-batches); `per_step` is the
    /// dataset's mean supervised weight per step ([`mean_weight_per_step`]).
    pub fn divisor(self, examples: &[Example], group: &[Vec<usize>], per_step: f32) -> f32 {
        match self {
            Normalize::Step => supervised_weight(examples, group),
            Normalize::Constant => per_step,
        }
    }
}

/// The dataset's supervised weight per optimizer step, on average over an epoch of `steps`.
pub fn mean_weight_per_step(examples: &[Example], steps: usize) -> f32 {
    examples.iter().map(|e| e.weights.iter().sum::<f32>()).sum::<f32>() / steps.max(1) as f32
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
    /// The mean loss per supervised token of the step (whatever the normaliser).
    pub loss_per_token: f64,
    /// The step's loss weight on response tokens (supervised tokens, when weights are 0/1).
    pub supervised_tokens: f64,
    /// The step's loss weight on end tokens, outside the mask's budget.
    #[serde(default)]
    pub end_tokens: f64,
    /// Padded tokens of the step's micro-batches.
    pub total_tokens: usize,
    /// Response supervised tokens over all of the step's tokens.
    pub supervised_fraction: f64,
    /// The global L2 norm of the step's gradients, before clipping.
    #[serde(default)]
    pub grad_norm: f64,
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
            None,
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
    fn examples_close_the_turn_with_the_end_token_supervised_in_every_mode() {
        let context = Context::new(vec![1, 2], &[7, 8, 9]);
        assert_eq!((context.prompt_len, context.response()), (2, &[7, 8, 9][..]));
        let full = example(context.clone(), Some(0), vec![1.0; 3]);
        assert_eq!(full.context.ids, [1, 2, 7, 8, 9, 0]);
        assert_eq!(full.weights, [1.0, 1.0, 1.0, 1.0]);
        let sparse = example(context.clone(), Some(0), vec![0.0, 1.0, 0.0]);
        assert_eq!(sparse.weights, [0.0, 1.0, 0.0, 1.0], "sparse modes learn to stop too");
        assert_eq!((sparse.response_weight(), sparse.end_weight()), (1.0, 1.0));
        assert_eq!(sparse.response_context().ids, [1, 2, 7, 8, 9]);
        let mut cleaned = sparse.clone();
        cleaned.reweigh(vec![1.0, 0.0, 1.0]);
        assert_eq!(
            cleaned.weights,
            [1.0, 0.0, 1.0, 1.0],
            "token cleaning keeps the end token"
        );
        let open = example(context, None, vec![1.0; 3]);
        assert_eq!(
            (open.context.ids.len(), open.weights.len()),
            (5, 3),
            "no end token, none added"
        );
        assert_eq!((open.response_weight(), open.end_weight()), (3.0, 0.0));
    }

    #[test]
    fn under_constant_normalisation_a_tokens_weight_does_not_depend_on_its_batch() {
        let example = |weights: Vec<f32>| Example {
            context: Context::new(vec![1], &vec![2; weights.len()]),
            weights,
            closed: false,
        };
        // A sparse record (one token) and a dense one (four).
        let examples = [example(vec![0.0, 1.0, 0.0]), example(vec![1.0; 4])];
        let per_step = mean_weight_per_step(&examples, 2);
        assert_eq!(per_step, 2.5);
        // The weight of record 0's supervised token, alone in a step or next to record 1.
        let weight = |normalize: Normalize, group: &[Vec<usize>]| 1.0 / normalize.divisor(&examples, group, per_step);
        let (alone, together) = (vec![vec![0]], vec![vec![0, 1]]);
        assert_eq!(
            weight(Normalize::Constant, &alone),
            weight(Normalize::Constant, &together)
        );
        assert_eq!(weight(Normalize::Step, &alone), 1.0);
        assert_eq!(weight(Normalize::Step, &together), 0.2, "a step mean: 1 of 5 tokens");
    }

    #[test]
    fn a_step_weighs_every_supervised_token_of_its_batches() {
        let example = |weights: Vec<f32>| Example {
            context: Context::new(vec![1], &vec![2; weights.len()]),
            weights,
            closed: false,
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
    fn random_items_take_whole_items_to_the_masks_count() {
        // Eight equal statements; the mask supervises two of them (budget 0.25 per record).
        let record = crate::pipeline::record::Record {
            id: "r".into(),
            prompt: vec![],
            response: (0..8).map(|i| format!("v{i} = {i}\n")).collect(),
        };
        let config = crate::Config {
            select: crate::pipeline::select::SelectConfig {
                budget: 0.25,
                prose_share: 0.0,
                scope: crate::pipeline::select::BudgetScope::PerRecord,
                ..Default::default()
            },
            ..Default::default()
        };
        let mut output = crate::run(
            vec![crate::Input::record(record)],
            &crate::pipeline::tokens::LexicalTokenizer,
            &mut crate::pipeline::score::NgramScorer::default(),
            None,
            &config,
            &mut (),
        );
        let s = output.remove(0).selected().cloned().expect("ok");
        let target = s.stats.supervised_tokens as f32;
        assert!(target > 0.0);
        let weights = token_weights(Mode::RandomItems, &s, None, 7).unwrap();
        assert_eq!(weights.iter().sum::<f32>(), target, "as many tokens as the mask");
        assert_eq!(
            weights,
            token_weights(Mode::RandomItems, &s, None, 7).unwrap(),
            "seeded"
        );
        assert_ne!(
            weights,
            token_weights(Mode::RandomItems, &s, None, 8).unwrap(),
            "random"
        );
        for item in &s.items {
            let covered: Vec<f32> = s
                .mask
                .token_spans
                .iter()
                .zip(&weights)
                .filter(|(t, _)| item.span.overlaps(**t))
                .map(|(_, &w)| w)
                .collect();
            assert!(
                covered.iter().all(|&w| w == covered[0]),
                "an item is taken whole or not at all"
            );
        }
    }

    #[test]
    fn the_closest_subset_by_hand() {
        let sum = |costs: &[usize], target| closest_subset(costs, target).iter().map(|&k| costs[k]).sum::<usize>();
        assert_eq!(sum(&[6, 4, 3], 7), 7);
        assert_eq!(sum(&[5, 5], 7), 5, "below the target on a tie");
        assert_eq!(sum(&[9], 3), 0);
        assert_eq!(sum(&[9], 6), 9);
        assert!(closest_subset(&[], 4).is_empty());
        // Each item at most once.
        let chosen = closest_subset(&[2, 2, 2], 5);
        assert_eq!(chosen.len(), 2);
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

    #[test]
    fn packing_shuffles_records_across_batches_each_epoch() {
        let lengths: Vec<usize> = (0..200).map(|i| 10 + i % 50).collect();
        let epochs: Vec<Vec<Vec<usize>>> = (0..3).map(|seed| pack(&lengths, 100, seed)).collect();
        assert_ne!(epochs[0], epochs[1]);
        let batch_of = |batches: &[Vec<usize>], record: usize| {
            let batch = batches
                .iter()
                .find(|b| b.contains(&record))
                .expect("every record is packed");
            let mut batch = batch.clone();
            batch.sort();
            batch
        };
        let moved = (0..200)
            .filter(|&r| batch_of(&epochs[0], r) != batch_of(&epochs[2], r))
            .count();
        assert!(moved > 150, "only {moved} of 200 records changed neighbours");
        for batch in epochs.iter().flatten() {
            let longest = batch.iter().map(|&i| lengths[i]).max().unwrap();
            assert!(batch.len() == 1 || batch.len() * longest <= 100, "{batch:?}");
        }
    }
}
