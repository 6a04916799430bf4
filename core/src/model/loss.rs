//! The sparse loss: the full response is context, the loss is on supervised tokens only, and
//! the LM head (hidden × vocabulary, the largest matrix product of a small model) runs only at
//! the positions that predict them. So logits memory and head FLOPs scale with supervised
//! tokens, not with sequence length.
//!
//! `loss = Σ_{supervised i} w_i · (−ln p(token_i | tokens before i)) / normalizer`. The trainer
//! passes the supervised-weight total of the whole optimizer step as the normalizer, so the
//! micro-batches of a gradient-accumulation step add up to one mean over all its tokens (not a
//! mean of per-batch means).

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor, TensorData};

use super::Llama;

/// One supervised token of a batch: row `batch`, the token at `position` (≥ 1), with a weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    pub batch: usize,
    pub position: usize,
    pub token: u32,
    pub weight: f32,
}

/// Sparse-head cross-entropy of `targets` in a batch of token ids `[batch, length]`.
pub fn sparse_loss(model: &Llama, tokens: Tensor<2, Int>, targets: &[Target], normalizer: f32) -> Tensor<1> {
    let [batch, length] = tokens.dims();
    let device = tokens.device();
    let hidden = model.hidden(tokens);
    let width = hidden.dims()[2];
    let rows: Vec<i64> = targets
        .iter()
        .map(|t| (t.batch * length + t.position - 1) as i64)
        .collect();
    let n = rows.len();
    let picked = hidden
        .reshape([batch * length, width])
        .select(0, Tensor::from_data(TensorData::new(rows, [n]), &device));
    weighted_nll(model.logits(picked), targets, normalizer)
}

/// The same loss with logits at every position, masked afterwards: the reference the sparse
/// loss must equal (its gradient too), and the baseline of the memory bench.
pub fn full_logits_loss(model: &Llama, tokens: Tensor<2, Int>, targets: &[Target], normalizer: f32) -> Tensor<1> {
    let [batch, length] = tokens.dims();
    let device = tokens.device();
    let hidden = model.hidden(tokens);
    let width = hidden.dims()[2];
    let logits = model.logits(hidden.reshape([batch * length, width]));
    let rows: Vec<i64> = targets
        .iter()
        .map(|t| (t.batch * length + t.position - 1) as i64)
        .collect();
    let n = rows.len();
    weighted_nll(
        logits.select(0, Tensor::from_data(TensorData::new(rows, [n]), &device)),
        targets,
        normalizer,
    )
}

/// `Σ w_i · −log_softmax(logits_i)[token_i] / normalizer` over rows of logits `[n, vocab]`.
fn weighted_nll(logits: Tensor<2>, targets: &[Target], normalizer: f32) -> Tensor<1> {
    let device = logits.device();
    let n = targets.len();
    let tokens: Vec<i64> = targets.iter().map(|t| i64::from(t.token)).collect();
    let weights: Vec<f32> = targets.iter().map(|t| t.weight).collect();
    let tokens = Tensor::<2, Int>::from_data(TensorData::new(tokens, [n, 1]), &device);
    let weights = Tensor::<1>::from_data(TensorData::new(weights, [n]), &device);
    let nll = log_softmax(logits, 1).gather(1, tokens).reshape([n]).neg();
    (nll * weights).sum().div_scalar(normalizer.max(f32::MIN_POSITIVE))
}
