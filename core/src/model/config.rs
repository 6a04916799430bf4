//! Model hyper-parameters, read from GGUF metadata (`{arch}.*` keys).

use crate::formats::gguf::Gguf;

use super::ModelError;

/// The longest context any model is loaded for.
const MAX_POSITIONS: usize = 4096;

/// The supported layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// Llama, SmolLM2: no attention biases.
    Llama,
    /// Qwen2, Qwen2.5-Coder: biases on the q, k and v projections.
    Qwen2,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    pub arch: Arch,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    pub rope_theta: f32,
    /// Linear RoPE scaling: positions are divided by this factor (1 = none).
    pub rope_scale: f32,
    pub rms_eps: f64,
    pub context_length: usize,
    pub tied_embeddings: bool,
}

impl LlamaConfig {
    pub fn from_gguf(gguf: &Gguf) -> Result<Self, ModelError> {
        let arch_name = gguf.get("general.architecture")?.as_str().unwrap_or("").to_string();
        let arch = match arch_name.as_str() {
            "llama" => Arch::Llama,
            "qwen2" => Arch::Qwen2,
            _ => return Err(ModelError::UnsupportedArchitecture(arch_name)),
        };
        let number = |key: &str| -> Result<usize, ModelError> {
            let full = format!("{arch_name}.{key}");
            gguf.get(&full)?
                .as_u64()
                .map(|v| v as usize)
                .ok_or_else(|| ModelError::Config(format!("`{full}` is not an integer")))
        };
        let hidden_size = number("embedding_length")?;
        let heads = number("attention.head_count")?;
        let vocab_size = gguf.tensor("token_embd.weight")?.shape()[0];
        let float = |key: &str, default: f64| {
            gguf.metadata
                .get(&format!("{arch_name}.{key}"))
                .and_then(|v| v.as_f64())
                .unwrap_or(default)
        };
        let rope_scale = match gguf
            .metadata
            .get(&format!("{arch_name}.rope.scaling.type"))
            .and_then(|v| v.as_str())
        {
            Some("linear") => float("rope.scaling.factor", 1.0) as f32,
            None | Some("none") => 1.0,
            Some(other) => return Err(ModelError::Config(format!("RoPE scaling `{other}` is not supported"))),
        };
        let config = LlamaConfig {
            arch,
            vocab_size,
            hidden_size,
            intermediate_size: number("feed_forward_length")?,
            layers: number("block_count")?,
            heads,
            kv_heads: number("attention.head_count_kv").unwrap_or(heads),
            head_dim: number("rope.dimension_count").unwrap_or(hidden_size / heads.max(1)),
            rope_theta: float("rope.freq_base", 10_000.0) as f32,
            rope_scale,
            rms_eps: float("attention.layer_norm_rms_epsilon", 1e-6),
            context_length: number("context_length")?,
            tied_embeddings: gguf.tensor("output.weight").is_err(),
        };
        config.validate()?;
        Ok(config)
    }

    /// The longest context the model is loaded for: its own limit, capped so the RoPE table
    /// stays small.
    pub fn max_positions(&self) -> usize {
        self.context_length.min(MAX_POSITIONS)
    }

    /// The config as a Hugging Face `config.json` (float32 weights).
    pub fn hf_json(&self) -> serde_json::Value {
        let (model_type, architecture) = match self.arch {
            Arch::Llama => ("llama", "LlamaForCausalLM"),
            Arch::Qwen2 => ("qwen2", "Qwen2ForCausalLM"),
        };
        let mut json = serde_json::json!({
            "model_type": model_type,
            "architectures": [architecture],
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.layers,
            "num_attention_heads": self.heads,
            "num_key_value_heads": self.kv_heads,
            "head_dim": self.head_dim,
            "rope_theta": self.rope_theta,
            "rms_norm_eps": self.rms_eps,
            "max_position_embeddings": self.context_length,
            "tie_word_embeddings": self.tied_embeddings,
            "torch_dtype": "float32",
        });
        if self.rope_scale != 1.0 {
            json["rope_scaling"] = serde_json::json!({"type": "linear", "factor": self.rope_scale});
        }
        json
    }

    pub(super) fn validate(&self) -> Result<(), ModelError> {
        if self.heads == 0 || self.kv_heads == 0 || !self.heads.is_multiple_of(self.kv_heads) {
            return Err(ModelError::Config(format!(
                "{} heads cannot share {} key/value heads",
                self.heads, self.kv_heads
            )));
        }
        if !self.head_dim.is_multiple_of(2) || self.head_dim * self.heads != self.hidden_size {
            return Err(ModelError::Config(format!(
                "head size {} × {} heads does not make the hidden size {}",
                self.head_dim, self.heads, self.hidden_size
            )));
        }
        Ok(())
    }
}
