//! One optimizer step's forward and backward passes, shared among devices (data parallelism):
//! each device takes every n-th micro-batch on its own thread, and their gradients are summed
//! by burn's multi-device step.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{GradientsAccumulator, GradientsParams, MultiGradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use codeblock_core::model::{Llama, Target, sparse_loss};
use codeblock_core::train::Example;

/// What the devices computed for one step: its loss, its padded tokens, and the gradients.
pub struct Step {
    pub loss: f64,
    pub tokens: usize,
    pub grads: MultiGradientsParams,
}

/// The forward and backward passes of the micro-batches in `group` with `model` on `device` and
/// a replica on each of `replicas`, the loss a mean over `normalizer` supervised tokens and
/// scaled by `scale` (mixed precision's loss scale).
pub fn forward_backward(
    model: &Llama,
    device: &Device,
    replicas: &[Device],
    examples: &[Example],
    group: &[Vec<usize>],
    normalizer: f32,
    scale: f32,
) -> Step {
    // Each device (the model's, then every replica's) takes every n-th micro-batch. burn's
    // multi-device step updates each parameter on the device that summed its gradients, so
    // with replicas the model's own copy is gathered back to its device too.
    let workers: Vec<(&Device, Llama)> = match replicas.is_empty() {
        true => vec![(device, model.clone())],
        false => std::iter::once(device)
            .chain(replicas)
            .map(|d| (d, model.clone().fork(d)))
            .collect(),
    };
    let count = workers.len();
    let shares: Vec<Share> = std::thread::scope(|scope| {
        let handles: Vec<_> = workers
            .into_iter()
            .enumerate()
            .map(|(k, (device, replica))| {
                let mine: Vec<&Vec<usize>> = group.iter().skip(k).step_by(count).collect();
                scope.spawn(move || share(&replica, examples, &mine, normalizer, scale, device))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a training thread panicked"))
            .collect()
    });
    let mut step = Step {
        loss: 0.0,
        tokens: 0,
        grads: MultiGradientsParams::default(),
    };
    for share in shares {
        step.loss += share.loss;
        step.tokens += share.tokens;
        step.grads.grads.extend(share.grads);
    }
    step
}

/// The global L2 norm of a step's gradients before clipping, each parameter's gradient summed
/// over the devices that computed parts of it (as burn's multi-device step sums them).
pub fn grad_norm(model: &Llama, grads: &MultiGradientsParams, device: &Device) -> f64 {
    let mut norm = GradNorm {
        grads,
        device,
        squares: None,
    };
    model.visit(&mut norm);
    norm.squares
        .map_or(0.0, |s| s.into_data().iter::<f32>().map(f64::from).sum::<f64>())
        .sqrt()
}

/// Sums the squares of every parameter's gradient, on one device (one read-back per step).
struct GradNorm<'a> {
    grads: &'a MultiGradientsParams,
    device: &'a Device,
    squares: Option<Tensor<1>>,
}

impl ModuleVisitor for GradNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let parts = self.grads.grads.iter().filter_map(|(g, _)| g.get::<D>(param.id));
        if let Some(grad) = parts.map(|g| g.to_device(self.device)).reduce(|a, b| a + b) {
            let square = (grad.clone() * grad).sum();
            self.squares = Some(match self.squares.take() {
                Some(total) => total + square,
                None => square,
            });
        }
    }
}

/// What one device computed for its micro-batches of a step: their summed gradients (none when
/// it had no supervised token), the loss they add to the step's, and their padded tokens.
struct Share {
    grads: Option<(GradientsParams, Device)>,
    loss: f64,
    tokens: usize,
}

/// Forward and backward passes of `batches` on `device` with `model` (a replica there).
fn share(
    model: &Llama,
    examples: &[Example],
    batches: &[&Vec<usize>],
    normalizer: f32,
    scale: f32,
    device: &Device,
) -> Share {
    let mut accumulator = GradientsAccumulator::new();
    let (mut loss, mut tokens, mut any) = (0.0, 0, false);
    for batch in batches {
        let (input, targets, padded) = micro_batch(examples, batch, device);
        tokens += padded;
        if targets.is_empty() {
            continue;
        }
        let batch_loss = sparse_loss(model, input, &targets, normalizer / scale);
        let scaled = batch_loss.clone().into_data().iter::<f32>().next().unwrap_or(f32::NAN);
        loss += f64::from(scaled / scale);
        accumulator.accumulate(model, GradientsParams::from_grads(batch_loss.backward(), model));
        any = true;
    }
    Share {
        grads: any.then(|| (accumulator.grads(), device.clone())),
        loss,
        tokens,
    }
}

/// Token ids `[batch, longest]` (right-padded), the supervised targets, and the padded size.
fn micro_batch(examples: &[Example], batch: &[usize], device: &Device) -> (Tensor<2, Int>, Vec<Target>, usize) {
    let longest = batch.iter().map(|&i| examples[i].context.ids.len()).max().unwrap_or(0);
    let mut ids = vec![0i64; batch.len() * longest];
    let mut targets = Vec::new();
    for (row, &i) in batch.iter().enumerate() {
        let Example { context, weights, .. } = &examples[i];
        for (col, &id) in context.ids.iter().enumerate() {
            ids[row * longest + col] = i64::from(id);
        }
        for (k, &weight) in weights.iter().enumerate() {
            if weight > 0.0 {
                let position = context.prompt_len + k;
                targets.push(Target {
                    batch: row,
                    position,
                    token: context.ids[position],
                    weight,
                });
            }
        }
    }
    let input = Tensor::<2, Int>::from_data(TensorData::new(ids, [batch.len(), longest]), device);
    (input, targets, batch.len() * longest)
}
