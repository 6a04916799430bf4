//! Training plans, as plain data: which response tokens get loss in each mode, how examples
//! are packed into batches by token count, and the learning-rate schedule. The trainer loop
//! (native) runs the model on these; everything here is deterministic given the seed.

use serde::{Deserialize, Serialize};

use crate::output::Selected;

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
        Mode::Full => vec![1.0; flags.len()],
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
        Mode::TokenCleaning => {
            return Err("token-cleaning weights come from two models' scores (token_cleaning_weights)".into());
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
        let record = crate::record::Record {
            id: "r".into(),
            prompt: vec![],
            response: "x = 1\n".repeat(flags.len()),
        };
        let tokenizer = crate::tokens::LexicalTokenizer;
        let mut output = crate::run(
            vec![crate::Input::record(record)],
            &tokenizer,
            &mut crate::score::NgramScorer::default(),
            &Default::default(),
            &mut (),
        );
        let crate::output::Status::Ok(selected) = output.remove(0).status else {
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
