//! The decoder: embeddings, blocks of (RMSNorm → grouped-query attention with RoPE → residual,
//! RMSNorm → SwiGLU MLP → residual), a final RMSNorm, and the LM head (tied to the embeddings
//! or not). RoPE rotates adjacent pairs of each head's features (llama.cpp's layout); weights
//! stored for half-split rotation are permuted into it at load time.

use burn::module::Module;
use burn::nn::{Embedding, Linear, RmsNorm, RotaryEncoding};
use burn::tensor::activation::{silu, softmax};
use burn::tensor::{Bool, Int, Tensor};

#[derive(Module, Debug)]
pub struct Attention {
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub o: Linear,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
}

#[derive(Module, Debug)]
pub struct Mlp {
    pub gate: Linear,
    pub up: Linear,
    pub down: Linear,
}

#[derive(Module, Debug)]
pub struct Block {
    pub attention_norm: RmsNorm,
    pub attention: Attention,
    pub mlp_norm: RmsNorm,
    pub mlp: Mlp,
}

#[derive(Module, Debug)]
pub struct Llama {
    pub embedding: Embedding,
    pub blocks: Vec<Block>,
    pub norm: RmsNorm,
    /// `None` when the head is tied to the embeddings.
    pub head: Option<Linear>,
    pub rope: RotaryEncoding,
}

/// One block's cached keys and values, `[batch, kv_heads, positions, head_dim]` each.
type KvSlot = Option<(Tensor<4>, Tensor<4>)>;

/// Keys and values of earlier positions, per block, for generation.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    layers: Vec<KvSlot>,
    pub length: usize,
}

impl Attention {
    fn forward(&self, x: Tensor<3>, rope: &RotaryEncoding, cache: Option<&mut KvSlot>, start: usize) -> Tensor<3> {
        let [batch, length, _] = x.dims();
        let split = |t: Tensor<3>, heads: usize| t.reshape([batch, length, heads, self.head_dim]).swap_dims(1, 2);
        let q = rope.apply(split(self.q.forward(x.clone()), self.heads), start);
        let mut k = rope.apply(split(self.k.forward(x.clone()), self.kv_heads), start);
        let mut v = split(self.v.forward(x), self.kv_heads);
        if let Some(slot) = cache {
            if let Some((past_k, past_v)) = slot.take() {
                k = Tensor::cat(vec![past_k, k], 2);
                v = Tensor::cat(vec![past_v, v], 2);
            }
            *slot = Some((k.clone(), v.clone()));
        }
        let total = k.dims()[2];
        let (k, v) = (self.repeat_kv(k), self.repeat_kv(v));
        let scores = q.matmul(k.swap_dims(2, 3)).div_scalar((self.head_dim as f32).sqrt());
        // Position i of this chunk sees keys up to start + i.
        let future = Tensor::<2, Bool>::tril_mask([length, total], start as i64, &scores.device());
        let future = future.unsqueeze::<4>().expand([batch, self.heads, length, total]);
        let weights = softmax(scores.mask_fill(future, f32::NEG_INFINITY), 3);
        let out = weights
            .matmul(v)
            .swap_dims(1, 2)
            .reshape([batch, length, self.heads * self.head_dim]);
        self.o.forward(out)
    }

    /// Each key/value head serves `heads / kv_heads` query heads, in order.
    fn repeat_kv(&self, t: Tensor<4>) -> Tensor<4> {
        let repeat = self.heads / self.kv_heads;
        if repeat == 1 {
            return t;
        }
        let [batch, kv_heads, length, dim] = t.dims();
        t.unsqueeze_dim::<5>(2)
            .expand([batch, kv_heads, repeat, length, dim])
            .reshape([batch, kv_heads * repeat, length, dim])
    }
}

impl Mlp {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.down
            .forward(silu(self.gate.forward(x.clone())) * self.up.forward(x))
    }
}

impl Block {
    fn forward(&self, x: Tensor<3>, rope: &RotaryEncoding, cache: Option<&mut KvSlot>, start: usize) -> Tensor<3> {
        let x = x.clone()
            + self
                .attention
                .forward(self.attention_norm.forward(x), rope, cache, start);
        x.clone() + self.mlp.forward(self.mlp_norm.forward(x))
    }
}

impl Llama {
    /// Final hidden states (after the last norm) of a batch of token ids `[batch, length]`.
    pub fn hidden(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        let mut x = self.embedding.forward(tokens);
        for block in &self.blocks {
            x = block.forward(x, &self.rope, None, 0);
        }
        self.norm.forward(x)
    }

    /// Hidden states of new tokens after those in `cache`, which they extend.
    pub fn hidden_cached(&self, tokens: Tensor<2, Int>, cache: &mut KvCache) -> Tensor<3> {
        let start = cache.length;
        cache.layers.resize(self.blocks.len(), None);
        let mut x = self.embedding.forward(tokens);
        for (block, slot) in self.blocks.iter().zip(&mut cache.layers) {
            x = block.forward(x, &self.rope, Some(slot), start);
        }
        cache.length = start + x.dims()[1];
        self.norm.forward(x)
    }

    /// Vocabulary logits of hidden states `[n, hidden]` → `[n, vocab]`.
    pub fn logits(&self, hidden: Tensor<2>) -> Tensor<2> {
        match &self.head {
            Some(head) => head.forward(hidden),
            None => hidden.matmul(self.embedding.weight.val().transpose()),
        }
    }
}
