//! Building the model from a weight source: every tensor checked against the config's shapes,
//! converted to f32, and q/k rows stored for half-split RoPE permuted into our adjacent-pair layout;
//! or random weights of a config's shape.

use burn::module::Param;
use burn::nn::{
    Embedding, EmbeddingConfig, Linear, LinearConfig, RmsNorm, RmsNormConfig, RotaryEncoding, RotaryEncodingConfig,
};
use burn::tensor::{Device, Tensor, TensorData};

use super::Precision;
use super::llama::{Attention, Block, Llama, Mlp};
use super::weights::{GgufWeights, HfWeights, Weights, hf_config};
use super::{Arch, LlamaConfig, ModelError};
use crate::formats::gguf::Gguf;

struct Loader<'a> {
    weights: &'a dyn Weights,
    config: &'a LlamaConfig,
    device: &'a Device,
}

impl Loader<'_> {
    /// A tensor as f32 with the expected PyTorch-order shape.
    fn values(&self, name: &str, expected: &[usize]) -> Result<Vec<f32>, ModelError> {
        let found = self
            .weights
            .shape(name)
            .ok_or_else(|| ModelError::Config(format!("the weights have no tensor `{name}`")))?;
        if found != expected {
            return Err(ModelError::Shape {
                name: name.into(),
                expected: expected.to_vec(),
                found,
            });
        }
        self.weights.values(name)
    }

    fn vector(&self, name: &str, size: usize) -> Result<Tensor<1>, ModelError> {
        Ok(Tensor::from_data(
            TensorData::new(self.values(name, &[size])?, [size]),
            self.device,
        ))
    }

    fn norm(&self, name: &str) -> Result<RmsNorm, ModelError> {
        let gamma = self.vector(name, self.config.hidden_size)?;
        Ok(RmsNorm {
            gamma: Param::from_tensor(gamma),
            epsilon: self.config.rms_eps,
        })
    }

    /// A projection stored `[out, in]`, as burn's `[in, out]`, with its bias if the file has one.
    fn linear(&self, name: &str, out: usize, input: usize, rope_heads: Option<usize>) -> Result<Linear, ModelError> {
        let mut weight = self.values(&format!("{name}.weight"), &[out, input])?;
        let bias_name = format!("{name}.bias");
        let mut bias = match self.weights.shape(&bias_name) {
            Some(_) => Some(self.values(&bias_name, &[out])?),
            None => None,
        };
        if let (Some(heads), true) = (rope_heads, self.weights.half_split_rope()) {
            weight = interleave_rope_rows(&weight, heads, self.config.head_dim, input);
            bias = bias.map(|b| interleave_rope_rows(&b, heads, self.config.head_dim, 1));
        }
        // Transposed here, once, into burn's contiguous `[in, out]`: a transposed view would be
        // copied into a contiguous one by every forward pass (most of a decode step's time).
        let weight = Tensor::<2>::from_data(
            TensorData::new(codeblock_kernels::transpose(&weight, out, input), [input, out]),
            self.device,
        );
        let bias = bias.map(|b| Param::from_tensor(Tensor::from_data(TensorData::new(b, [out]), self.device)));
        Ok(Linear {
            weight: Param::from_tensor(weight),
            bias,
        })
    }

    fn block(&self, i: usize) -> Result<Block, ModelError> {
        let c = self.config;
        let (hidden, kv) = (c.hidden_size, c.kv_heads * c.head_dim);
        let name = |part: &str| format!("blk.{i}.{part}");
        Ok(Block {
            attention_norm: self.norm(&name("attn_norm.weight"))?,
            attention: Attention {
                q: self.linear(&name("attn_q"), hidden, hidden, Some(c.heads))?,
                k: self.linear(&name("attn_k"), kv, hidden, Some(c.kv_heads))?,
                v: self.linear(&name("attn_v"), kv, hidden, None)?,
                o: self.linear(&name("attn_output"), hidden, hidden, None)?,
                heads: c.heads,
                kv_heads: c.kv_heads,
                head_dim: c.head_dim,
            },
            mlp_norm: self.norm(&name("ffn_norm.weight"))?,
            mlp: Mlp {
                gate: self.linear(&name("ffn_gate"), c.intermediate_size, hidden, None)?,
                up: self.linear(&name("ffn_up"), c.intermediate_size, hidden, None)?,
                down: self.linear(&name("ffn_down"), hidden, c.intermediate_size, None)?,
            },
        })
    }
}

/// Loads a model from a parsed GGUF file onto `device`.
pub fn load_gguf(gguf: &Gguf, device: &Device) -> Result<(LlamaConfig, Llama), ModelError> {
    let config = LlamaConfig::from_gguf(gguf)?;
    let model = build(
        &GgufWeights {
            gguf,
            arch: config.arch,
        },
        &config,
        device,
    )?;
    Ok((config, model))
}

/// Loads a Hugging Face checkpoint (`config.json` text and the bytes of its safetensors shards).
pub fn load_hf(config_json: &str, shards: &[Vec<u8>], device: &Device) -> Result<(LlamaConfig, Llama), ModelError> {
    let weights = HfWeights::new(shards)?;
    let config = hf_config(config_json, &weights)?;
    let model = build(&weights, &config, device)?;
    Ok((config, model))
}

fn build(weights: &dyn Weights, config: &LlamaConfig, device: &Device) -> Result<Llama, ModelError> {
    let loader = Loader {
        weights,
        config,
        device,
    };
    let embedding = loader.values("token_embd.weight", &[config.vocab_size, config.hidden_size])?;
    let embedding = Tensor::<2>::from_data(
        TensorData::new(embedding, [config.vocab_size, config.hidden_size]),
        device,
    );
    let blocks = (0..config.layers)
        .map(|i| loader.block(i))
        .collect::<Result<Vec<_>, _>>()?;
    let head = if config.tied_embeddings {
        None
    } else {
        Some(loader.linear("output", config.vocab_size, config.hidden_size, None)?)
    };
    Ok(Llama {
        embedding: Embedding {
            weight: Param::from_tensor(embedding),
        },
        blocks,
        norm: loader.norm("output_norm.weight")?,
        head,
        rope: rope(config, device),
        precision: Precision::F32,
        flex_inference: runs_flex_inference(device),
    })
}

/// A model of `config`'s shape with random weights (burn's default initialisers; seed the
/// device for a repeatable one), for benchmarks and device checks that have no weight file.
pub fn random_model(config: &LlamaConfig, device: &Device) -> Result<Llama, ModelError> {
    config.validate()?;
    let (hidden, kv) = (config.hidden_size, config.kv_heads * config.head_dim);
    let linear = |input: usize, out: usize, bias: bool| LinearConfig::new(input, out).with_bias(bias).init(device);
    let norm = || RmsNormConfig::new(hidden).with_epsilon(config.rms_eps).init(device);
    let qkv_bias = config.arch == Arch::Qwen2;
    let block = || Block {
        attention_norm: norm(),
        attention: Attention {
            q: linear(hidden, hidden, qkv_bias),
            k: linear(hidden, kv, qkv_bias),
            v: linear(hidden, kv, qkv_bias),
            o: linear(hidden, hidden, false),
            heads: config.heads,
            kv_heads: config.kv_heads,
            head_dim: config.head_dim,
        },
        mlp_norm: norm(),
        mlp: Mlp {
            gate: linear(hidden, config.intermediate_size, false),
            up: linear(hidden, config.intermediate_size, false),
            down: linear(config.intermediate_size, hidden, false),
        },
    };
    Ok(Llama {
        embedding: EmbeddingConfig::new(config.vocab_size, hidden).init(device),
        blocks: (0..config.layers).map(|_| block()).collect(),
        norm: norm(),
        head: (!config.tied_embeddings).then(|| linear(hidden, config.vocab_size, false)),
        rope: rope(config, device),
        precision: Precision::F32,
        flex_inference: runs_flex_inference(device),
    })
}

/// Whether a model built on `device` runs flex's fused attention and our CPU kernels
/// (`Llama::flex_inference`): on flex, unless under autodiff (which runs burn's fallback
/// attention, and takes gradients through burn's ops only).
fn runs_flex_inference(device: &Device) -> bool {
    *device == Device::flex() && !device.is_autodiff()
}

/// The rotary position table, for the config's longest context and RoPE scaling.
fn rope(config: &LlamaConfig, device: &Device) -> RotaryEncoding {
    let scale = config.rope_scale;
    RotaryEncodingConfig::new(config.max_positions(), config.head_dim)
        .with_theta(config.rope_theta)
        .init_with_frequency_scaling(move |theta| theta.div_scalar(scale), device)
}

/// Reorders each head's rows from half-split RoPE order (`x[i]` pairs with `x[i + d/2]`) to
/// adjacent pairs (`x[2i]` with `x[2i + 1]`): row `2i` ← `i`, row `2i + 1` ← `i + d/2`.
fn interleave_rope_rows(values: &[f32], heads: usize, head_dim: usize, row_len: usize) -> Vec<f32> {
    permute_rope_rows(values, heads, head_dim, row_len, true)
}

/// The inverse of [`interleave_rope_rows`]: adjacent pairs back to half-split order.
pub(super) fn split_rope_rows(values: &[f32], heads: usize, head_dim: usize, row_len: usize) -> Vec<f32> {
    permute_rope_rows(values, heads, head_dim, row_len, false)
}

/// Moves rows between the two RoPE orders: half-split row `i` ↔ adjacent row `2i`, and
/// `i + d/2` ↔ `2i + 1`, in the direction `interleave` says.
fn permute_rope_rows(values: &[f32], heads: usize, head_dim: usize, row_len: usize, interleave: bool) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    let half = head_dim / 2;
    for h in 0..heads {
        for i in 0..half {
            for (adjacent, split) in [(2 * i, i), (2 * i + 1, i + half)] {
                let (to, from) = if interleave {
                    (adjacent, split)
                } else {
                    (split, adjacent)
                };
                let (to, from) = ((h * head_dim + to) * row_len, (h * head_dim + from) * row_len);
                out[to..to + row_len].copy_from_slice(&values[from..from + row_len]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rope_rows_interleave_per_head() {
        // Two heads of 4 rows, one value per row: [0 1 2 3 | 4 5 6 7] → [0 2 1 3 | 4 6 5 7].
        let rows: Vec<f32> = (0..8).map(|v| v as f32).collect();
        assert_eq!(
            interleave_rope_rows(&rows, 2, 4, 1),
            [0.0, 2.0, 1.0, 3.0, 4.0, 6.0, 5.0, 7.0]
        );
    }
}
