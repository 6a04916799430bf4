//! Where weights come from: a GGUF file, or a Hugging Face checkpoint (config.json and one or
//! more `*.safetensors` shards), both read from bytes. Tensors are asked for by their GGUF names;
//! the Hugging Face source maps them to its own.

use std::collections::HashMap;

use half::{bf16, f16};
use safetensors::{Dtype, SafeTensors};

use super::{Arch, LlamaConfig, ModelError};
use crate::formats::gguf::Gguf;

/// A source of f32 weights, addressed by GGUF tensor names.
pub trait Weights {
    /// The shape in PyTorch order, if the tensor exists.
    fn shape(&self, name: &str) -> Option<Vec<usize>>;
    fn values(&self, name: &str) -> Result<Vec<f32>, ModelError>;
    /// Whether q/k rows are stored for half-split RoPE (Hugging Face, and llama.cpp's Qwen2),
    /// rather than for adjacent pairs (llama.cpp's llama).
    fn half_split_rope(&self) -> bool;
}

/// A GGUF file's tensors, dequantized on demand.
pub struct GgufWeights<'a, 'b> {
    pub gguf: &'a Gguf<'b>,
    pub arch: Arch,
}

impl Weights for GgufWeights<'_, '_> {
    fn shape(&self, name: &str) -> Option<Vec<usize>> {
        self.gguf.tensor(name).ok().map(|t| t.shape())
    }

    fn values(&self, name: &str) -> Result<Vec<f32>, ModelError> {
        Ok(self.gguf.dequantize(name)?)
    }

    fn half_split_rope(&self) -> bool {
        self.arch == Arch::Qwen2
    }
}

/// A Hugging Face checkpoint: its shards' tensors, by Hugging Face name.
pub struct HfWeights<'a> {
    shards: Vec<SafeTensors<'a>>,
    /// Hugging Face tensor name → shard index.
    index: HashMap<String, usize>,
}

impl<'a> HfWeights<'a> {
    /// Reads shards from their bytes (each a `*.safetensors` file).
    pub fn new(shards: &'a [Vec<u8>]) -> Result<Self, ModelError> {
        let mut parsed = Vec::with_capacity(shards.len());
        let mut index = HashMap::new();
        for (i, bytes) in shards.iter().enumerate() {
            let shard = SafeTensors::deserialize(bytes)
                .map_err(|e| ModelError::Config(format!("safetensors shard {i}: {e}")))?;
            for name in shard.names() {
                index.insert(name.to_string(), i);
            }
            parsed.push(shard);
        }
        Ok(HfWeights { shards: parsed, index })
    }
}

/// The Hugging Face name of a GGUF tensor name (`blk.3.attn_q.weight` → `model.layers.3.self_attn.q_proj.weight`).
fn hf_name(name: &str) -> String {
    let fixed = match name {
        "token_embd.weight" => Some("model.embed_tokens.weight"),
        "output_norm.weight" => Some("model.norm.weight"),
        "output.weight" => Some("lm_head.weight"),
        _ => None,
    };
    if let Some(fixed) = fixed {
        return fixed.to_string();
    }
    let Some(rest) = name.strip_prefix("blk.") else {
        return name.to_string();
    };
    let Some((layer, part)) = rest.split_once('.') else {
        return name.to_string();
    };
    let (module, suffix) = part.rsplit_once('.').unwrap_or((part, ""));
    let module = match module {
        "attn_norm" => "input_layernorm",
        "ffn_norm" => "post_attention_layernorm",
        "attn_q" => "self_attn.q_proj",
        "attn_k" => "self_attn.k_proj",
        "attn_v" => "self_attn.v_proj",
        "attn_output" => "self_attn.o_proj",
        "ffn_gate" => "mlp.gate_proj",
        "ffn_up" => "mlp.up_proj",
        "ffn_down" => "mlp.down_proj",
        other => other,
    };
    format!("model.layers.{layer}.{module}.{suffix}")
}

impl Weights for HfWeights<'_> {
    fn shape(&self, name: &str) -> Option<Vec<usize>> {
        let hf = hf_name(name);
        let shard = &self.shards[*self.index.get(&hf)?];
        shard.tensor(&hf).ok().map(|t| t.shape().to_vec())
    }

    fn values(&self, name: &str) -> Result<Vec<f32>, ModelError> {
        let hf = hf_name(name);
        let missing = || ModelError::Config(format!("the checkpoint has no tensor `{hf}`"));
        let shard = &self.shards[*self.index.get(&hf).ok_or_else(missing)?];
        let view = shard.tensor(&hf).map_err(|_| missing())?;
        let data = view.data();
        Ok(match view.dtype() {
            Dtype::F32 => data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => data
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::BF16 => data
                .chunks_exact(2)
                .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => {
                return Err(ModelError::Config(format!(
                    "tensor `{hf}` is {other:?}; F32, F16 and BF16 are supported"
                )));
            }
        })
    }

    fn half_split_rope(&self) -> bool {
        true
    }
}

/// The shard files of a checkpoint: those named in `model.safetensors.index.json` (given its
/// text), else the single `model.safetensors`.
pub fn hf_shard_files(index_json: Option<&str>) -> Result<Vec<String>, ModelError> {
    let Some(text) = index_json else {
        return Ok(vec!["model.safetensors".into()]);
    };
    let index: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ModelError::Config(format!("model.safetensors.index.json: {e}")))?;
    let map = index["weight_map"]
        .as_object()
        .ok_or_else(|| ModelError::Config("model.safetensors.index.json has no weight_map".into()))?;
    let mut files: Vec<String> = map.values().filter_map(|v| v.as_str().map(String::from)).collect();
    files.sort();
    files.dedup();
    Ok(files)
}

/// Hyper-parameters from a Hugging Face `config.json`.
pub fn hf_config(json: &str, weights: &HfWeights) -> Result<LlamaConfig, ModelError> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| ModelError::Config(format!("config.json: {e}")))?;
    let number = |key: &str| {
        value[key]
            .as_u64()
            .map(|v| v as usize)
            .ok_or_else(|| ModelError::Config(format!("config.json: `{key}` is missing")))
    };
    let arch = match value["model_type"].as_str().unwrap_or("") {
        "llama" => Arch::Llama,
        "qwen2" => Arch::Qwen2,
        other => return Err(ModelError::UnsupportedArchitecture(other.to_string())),
    };
    let hidden_size = number("hidden_size")?;
    let heads = number("num_attention_heads")?;
    let rope_scale = match value["rope_scaling"]
        .get("type")
        .or_else(|| value["rope_scaling"].get("rope_type"))
    {
        None => 1.0,
        Some(kind) if kind == "linear" => value["rope_scaling"]["factor"].as_f64().unwrap_or(1.0) as f32,
        Some(kind) => return Err(ModelError::Config(format!("RoPE scaling {kind} is not supported"))),
    };
    let config = LlamaConfig {
        arch,
        vocab_size: number("vocab_size")?,
        hidden_size,
        intermediate_size: number("intermediate_size")?,
        layers: number("num_hidden_layers")?,
        heads,
        kv_heads: number("num_key_value_heads").unwrap_or(heads),
        head_dim: number("head_dim").unwrap_or(hidden_size / heads.max(1)),
        rope_theta: value["rope_theta"].as_f64().unwrap_or(10_000.0) as f32,
        rope_scale,
        rms_eps: value["rms_norm_eps"].as_f64().unwrap_or(1e-6),
        context_length: number("max_position_embeddings")?,
        tied_embeddings: weights.shape("output.weight").is_none(),
    };
    config.validate()?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_hugging_face() {
        assert_eq!(hf_name("token_embd.weight"), "model.embed_tokens.weight");
        assert_eq!(hf_name("blk.3.attn_q.bias"), "model.layers.3.self_attn.q_proj.bias");
        assert_eq!(
            hf_name("blk.0.ffn_norm.weight"),
            "model.layers.0.post_attention_layernorm.weight"
        );
        assert_eq!(
            hf_name("blk.12.ffn_down.weight"),
            "model.layers.12.mlp.down_proj.weight"
        );
    }
}
