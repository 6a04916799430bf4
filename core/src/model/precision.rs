//! Mixed precision: the parameters, the optimizer state, norms, attention, residuals and the
//! loss stay f32; the matrix products of the projections and the LM head (nearly all of the
//! FLOPs) run in bf16 or f16, their inputs and weights cast down and their outputs cast back.
//! Autodiff follows the casts, so gradients reach the f32 parameters.

use burn::nn::Linear;
use burn::tensor::{FloatDType, Tensor};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    F32,
    Bf16,
    F16,
}

impl Precision {
    /// The matrix products' float type; `None` for f32.
    pub fn dtype(self) -> Option<FloatDType> {
        match self {
            Precision::F32 => None,
            Precision::Bf16 => Some(FloatDType::BF16),
            Precision::F16 => Some(FloatDType::F16),
        }
    }

    /// The factor the loss is multiplied by before the backward pass. f16's smallest normal
    /// number is 6e-5, and per-token gradients of a mean over thousands of tokens fall below
    /// it; 1024 lifts them while the largest stay far under f16's 65504. bf16 has f32's range.
    pub fn loss_scale(self) -> f32 {
        match self {
            Precision::F16 => 1024.0,
            Precision::F32 | Precision::Bf16 => 1.0,
        }
    }

    /// `x · W + b` with the product in this precision, the result in f32.
    pub(crate) fn project<const D: usize>(self, linear: &Linear, x: Tensor<D>) -> Tensor<D> {
        let Some(dtype) = self.dtype() else {
            return linear.forward(x);
        };
        let product = burn::tensor::module::linear(
            x.cast(dtype),
            linear.weight.val().cast(dtype),
            linear.bias.as_ref().map(|b| b.val().cast(dtype)),
        );
        product.cast(FloatDType::F32)
    }

    /// `a · b` in this precision, the result in f32.
    pub(crate) fn matmul<const D: usize>(self, a: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
        match self.dtype() {
            None => a.matmul(b),
            Some(dtype) => a.cast(dtype).matmul(b.cast(dtype)).cast(FloatDType::F32),
        }
    }
}
