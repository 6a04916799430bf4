//! The model's steps that run in codeblock's own CPU kernels (`codeblock-kernels`) on flex's
//! inference path (`Llama::flex_inference`), where flex would take a scalar `exp` of every value
//! in one pass per tensor op. On flex a tensor's values already sit in host memory and move to
//! the kernel and back without a copy.

use burn::tensor::{DType, Device, Tensor, TensorData};

/// `silu(gate) · up`, SwiGLU's gating.
pub(super) fn silu_times<const D: usize>(gate: Tensor<D>, up: Tensor<D>) -> Tensor<D> {
    let device = gate.device();
    let (mut gated, shape, dtype) = f32_data(gate).into_parts();
    let up = f32_data(up);
    codeblock_kernels::silu_times(
        bytemuck::cast_slice_mut(&mut gated),
        bytemuck::cast_slice(up.as_bytes()),
    );
    Tensor::from_data(TensorData::from_bytes(gated, shape, dtype), &device)
}

/// Each row's log-softmax at its target, for logits `[rows, vocab]` and one target a row.
pub(super) fn target_log_probs(logits: Tensor<2>, targets: &[i64], device: &Device) -> Tensor<1> {
    let [rows, vocab] = logits.dims();
    let targets: Vec<usize> = targets.iter().map(|&t| t as usize).collect();
    let logits = f32_data(logits);
    let values = codeblock_kernels::target_log_probs(bytemuck::cast_slice(logits.as_bytes()), vocab, &targets);
    Tensor::from_data(TensorData::new(values, [rows]), device)
}

/// A tensor's values. Cast as plain bytes: burn's typed views check every value's bit pattern,
/// a pass over the tensor in dev builds.
fn f32_data<const D: usize>(tensor: Tensor<D>) -> TensorData {
    // The values leave burn's graph here: a model under autodiff never gets `flex_inference`.
    assert!(!tensor.device().is_autodiff(), "the CPU kernels take no gradients");
    let data = tensor.into_data();
    // Products in other precisions are cast back, so the activations are f32.
    assert_eq!(data.dtype(), DType::F32, "the model's activations are f32");
    data
}
