//! Export to a Hugging Face checkpoint: `config.json` and one `model.safetensors` (f32) that
//! `transformers` loads as `LlamaForCausalLM` or `Qwen2ForCausalLM`. Our adjacent-pair RoPE rows
//! go back to Hugging Face's half-split order, and `[in, out]` matrices back to `[out, in]`.

use std::collections::BTreeMap;

use burn::tensor::Tensor;
use safetensors::{Dtype, View};

use super::llama::Llama;
use super::load::split_rope_rows;
use super::{LlamaConfig, ModelError};

/// A tensor ready for safetensors: little-endian f32 bytes and a shape.
struct F32Tensor {
    bytes: Vec<u8>,
    shape: Vec<usize>,
}

impl View for &F32Tensor {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

fn f32_tensor(values: Vec<f32>, shape: Vec<usize>) -> F32Tensor {
    F32Tensor {
        bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        shape,
    }
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().iter::<f32>().collect()
}

/// `config.json` text and `model.safetensors` bytes of a model.
pub fn export_hf(model: &Llama, config: &LlamaConfig) -> Result<(String, Vec<u8>), ModelError> {
    let mut tensors: BTreeMap<String, F32Tensor> = BTreeMap::new();
    let (hidden, head_dim) = (config.hidden_size, config.head_dim);
    let linear =
        |tensors: &mut BTreeMap<String, F32Tensor>, name: &str, layer: &burn::nn::Linear, rope_heads: Option<usize>| {
            let weight = layer.weight.val();
            let [input, out] = weight.dims();
            let mut rows = values(weight.transpose());
            let mut bias = layer.bias.as_ref().map(|b| values(b.val()));
            if let Some(heads) = rope_heads {
                rows = split_rope_rows(&rows, heads, head_dim, input);
                bias = bias.map(|b| split_rope_rows(&b, heads, head_dim, 1));
            }
            tensors.insert(format!("{name}.weight"), f32_tensor(rows, vec![out, input]));
            if let Some(bias) = bias {
                tensors.insert(format!("{name}.bias"), f32_tensor(bias, vec![out]));
            }
        };
    let vocab = config.vocab_size;
    tensors.insert(
        "model.embed_tokens.weight".into(),
        f32_tensor(values(model.embedding.weight.val()), vec![vocab, hidden]),
    );
    for (i, block) in model.blocks.iter().enumerate() {
        let p = format!("model.layers.{i}");
        let attention = &block.attention;
        linear(
            &mut tensors,
            &format!("{p}.self_attn.q_proj"),
            &attention.q,
            Some(config.heads),
        );
        linear(
            &mut tensors,
            &format!("{p}.self_attn.k_proj"),
            &attention.k,
            Some(config.kv_heads),
        );
        linear(&mut tensors, &format!("{p}.self_attn.v_proj"), &attention.v, None);
        linear(&mut tensors, &format!("{p}.self_attn.o_proj"), &attention.o, None);
        linear(&mut tensors, &format!("{p}.mlp.gate_proj"), &block.mlp.gate, None);
        linear(&mut tensors, &format!("{p}.mlp.up_proj"), &block.mlp.up, None);
        linear(&mut tensors, &format!("{p}.mlp.down_proj"), &block.mlp.down, None);
        let norm = |g: &burn::nn::RmsNorm| f32_tensor(values(g.gamma.val()), vec![hidden]);
        tensors.insert(format!("{p}.input_layernorm.weight"), norm(&block.attention_norm));
        tensors.insert(format!("{p}.post_attention_layernorm.weight"), norm(&block.mlp_norm));
    }
    tensors.insert(
        "model.norm.weight".into(),
        f32_tensor(values(model.norm.gamma.val()), vec![hidden]),
    );
    if let Some(head) = &model.head {
        linear(&mut tensors, "lm_head", head, None);
    }
    let bytes = safetensors::serialize(tensors.iter().map(|(k, v)| (k.clone(), v)), None)
        .map_err(|e| ModelError::Config(format!("cannot write safetensors: {e}")))?;
    Ok((
        serde_json::to_string_pretty(&config.hf_json()).expect("a JSON value serialises") + "\n",
        bytes,
    ))
}
