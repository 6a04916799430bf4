//! The decoder: embeddings, blocks of (RMSNorm → grouped-query attention with RoPE → residual,
//! RMSNorm → SwiGLU MLP → residual), a final RMSNorm, and the LM head (tied to the embeddings
//! or not). RoPE rotates adjacent pairs of each head's features (llama.cpp's layout); weights
//! stored for half-split rotation are permuted into it at load time.

use burn::module::Module;
use burn::nn::{Embedding, Linear, RmsNorm, RotaryEncoding};
use burn::tensor::activation::silu;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

use super::{Precision, cpu};

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
    /// The matrix products' precision (set by `with_precision`; not saved with the weights).
    #[module(skip)]
    pub precision: Precision,
    /// Whether the model runs on flex, the CPU backend, without autodiff (set when the model is
    /// built, from its device; not saved with the weights), and so gets what suits a CPU:
    /// attention through flex's fused kernel with the key/value heads as they are, each serving
    /// its group of query heads (the fallback that autodiff runs multiplies head by head and
    /// needs copies repeated per query head), and causal queries in chunks
    /// (`causal_in_chunks`), where a GPU kernel would pay a launch per chunk; and SwiGLU's
    /// gating and the head's log-softmax in our vectorised kernels ([`super::cpu`]), where flex
    /// takes a scalar `exp` of every value.
    #[module(skip)]
    pub flex_inference: bool,
}

/// One block's cached keys and values, `[batch, kv_heads, positions, head_dim]` each.
type KvSlot = Option<(Tensor<4>, Tensor<4>)>;

/// Keys and values of earlier positions, per block, for generation. A batch of prompts of
/// different lengths is left-padded: row b's first `padding[b]` positions are padding, which
/// no real position attends to. RoPE sees only relative positions, so a row shifted right by
/// its padding attends exactly as it would alone.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    layers: Vec<KvSlot>,
    pub length: usize,
    padding: Vec<usize>,
}

impl KvCache {
    /// An empty cache for rows with this much left padding each.
    pub fn padded(padding: Vec<usize>) -> Self {
        KvCache {
            padding,
            ..KvCache::default()
        }
    }

    /// Keeps only these rows (in this order), e.g. when others have finished generating.
    pub fn keep_rows(&mut self, rows: &[usize], device: &Device) {
        let indices: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
        let indices = Tensor::<1, Int>::from_data(TensorData::new(indices, [rows.len()]), device);
        for (k, v) in self.layers.iter_mut().flatten() {
            *k = k.clone().select(0, indices.clone());
            *v = v.clone().select(0, indices.clone());
        }
        if !self.padding.is_empty() {
            self.padding = rows.iter().map(|&r| self.padding[r]).collect();
        }
    }

    /// `[batch, total]`, true at padding keys; `None` when no row is padded.
    fn padding_mask(&self, total: usize, device: &Device) -> Option<Tensor<2, Bool>> {
        if self.padding.iter().all(|&p| p == 0) {
            return None;
        }
        let batch = self.padding.len();
        let pads: Vec<i64> = self.padding.iter().map(|&p| p as i64).collect();
        let pads = Tensor::<2, Int>::from_data(TensorData::new(pads, [batch, 1]), device);
        let positions = Tensor::<1, Int>::arange(0..total as i64, device).unsqueeze::<2>();
        Some(positions.expand([batch, total]).lower(pads.expand([batch, total])))
    }
}

impl Attention {
    fn forward(&self, x: Tensor<3>, context: &Context, cache: Option<&mut KvSlot>) -> Tensor<3> {
        let [batch, length, _] = x.dims();
        let (rope, start, precision) = (context.rope, context.start, context.precision);
        let split = |t: Tensor<3>, heads: usize| t.reshape([batch, length, heads, self.head_dim]).swap_dims(1, 2);
        let q = rope.apply(split(precision.project(&self.q, x.clone()), self.heads), start);
        let mut k = rope.apply(split(precision.project(&self.k, x.clone()), self.kv_heads), start);
        let mut v = split(precision.project(&self.v, x), self.kv_heads);
        if let Some(slot) = cache {
            if let Some((past_k, past_v)) = slot.take() {
                k = Tensor::cat(vec![past_k, k], 2);
                v = Tensor::cat(vec![past_v, v], 2);
            }
            *slot = Some((k.clone(), v.clone()));
        }
        let total = k.dims()[2];
        // Causal with the chunk's offset (position i of this chunk sees keys up to start + i),
        // and padding hidden bar its own position (so a padding row never attends to nothing).
        let mask = context.padding.clone().map(|padding| {
            let past = Tensor::<2, Bool>::triu_mask([length, total], start as i64, &padding.device());
            let shape = [batch, self.heads, length, total];
            padding
                .unsqueeze_dims::<4>(&[1, 2])
                .expand(shape)
                .bool_and(past.unsqueeze::<4>().expand(shape))
        });
        // Fused on backends that have it (flex: no score matrix or mask materialised per head).
        // Repeating the keys and values copies the whole cache at every generated token.
        let (k, v) = match context.flex_inference {
            true => (k, v),
            false => (self.repeat_kv(k), self.repeat_kv(v)),
        };
        let options = AttentionModuleOptions {
            scale: None,
            softcap: None,
            is_causal: true,
        };
        let out = match (context.flex_inference, mask) {
            (true, None) => causal_in_chunks(q, k, v, options),
            (_, mask) => attention(q, k, v, mask, None, options),
        };
        let out = out.swap_dims(1, 2).reshape([batch, length, self.heads * self.head_dim]);
        precision.project(&self.o, out)
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

/// Queries per call of `causal_in_chunks`.
const QUERY_CHUNK: usize = 64;

/// Causal attention of the last `queries` positions of `keys`, a chunk of queries at a time, each
/// chunk against the keys up to its own last position only. Flex's fused attention scores the
/// whole square and masks the half it then discards; in chunks, a 300-token context scores
/// about 60% of it. Each chunk's rows are computed as in one call: a masked key adds nothing.
fn causal_in_chunks(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, options: AttentionModuleOptions) -> Tensor<4> {
    let [batch, heads, queries, dim] = q.dims();
    if queries <= QUERY_CHUNK {
        return attention(q, k, v, None, None, options);
    }
    let [_, kv_heads, keys, _] = k.dims();
    let past = keys - queries;
    let chunks = (0..queries).step_by(QUERY_CHUNK).map(|from| {
        let to = (from + QUERY_CHUNK).min(queries);
        let seen = past + to;
        attention(
            q.clone().slice([0..batch, 0..heads, from..to, 0..dim]),
            k.clone().slice([0..batch, 0..kv_heads, 0..seen, 0..dim]),
            v.clone().slice([0..batch, 0..kv_heads, 0..seen, 0..dim]),
            None,
            None,
            options,
        )
    });
    Tensor::cat(chunks.collect(), 2)
}

impl Mlp {
    fn forward(&self, x: Tensor<3>, context: &Context) -> Tensor<3> {
        let precision = context.precision;
        let (gate, up) = (precision.project(&self.gate, x.clone()), precision.project(&self.up, x));
        let gated = match context.flex_inference {
            true => cpu::silu_times(gate, up),
            false => silu(gate) * up,
        };
        precision.project(&self.down, gated)
    }
}

/// What every block of one forward pass shares.
struct Context<'a> {
    rope: &'a RotaryEncoding,
    /// The position of the chunk's first token (after cached ones).
    start: usize,
    precision: Precision,
    flex_inference: bool,
    /// `[batch, keys]`, true at a padded batch's padding keys (see `KvCache`).
    padding: Option<Tensor<2, Bool>>,
}

impl Block {
    fn forward(&self, x: Tensor<3>, context: &Context, cache: Option<&mut KvSlot>) -> Tensor<3> {
        let x = x.clone() + self.attention.forward(self.attention_norm.forward(x), context, cache);
        x.clone() + self.mlp.forward(self.mlp_norm.forward(x), context)
    }
}

impl Llama {
    /// Final hidden states (after the last norm) of a batch of token ids `[batch, length]`.
    pub fn hidden(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        let mut x = self.embedding.forward(tokens);
        let context = self.context(0, None);
        for block in &self.blocks {
            x = block.forward(x, &context, None);
        }
        self.norm.forward(x)
    }

    /// Hidden states of new tokens after those in `cache`, which they extend.
    pub fn hidden_cached(&self, tokens: Tensor<2, Int>, cache: &mut KvCache) -> Tensor<3> {
        let start = cache.length;
        let keys = start + tokens.dims()[1];
        let context = self.context(start, cache.padding_mask(keys, &tokens.device()));
        cache.layers.resize(self.blocks.len(), None);
        let mut x = self.embedding.forward(tokens);
        for (block, slot) in self.blocks.iter().zip(&mut cache.layers) {
            x = block.forward(x, &context, Some(slot));
        }
        cache.length = keys;
        self.norm.forward(x)
    }

    /// Vocabulary logits of hidden states `[n, hidden]` → `[n, vocab]`.
    pub fn logits(&self, hidden: Tensor<2>) -> Tensor<2> {
        match &self.head {
            Some(head) => self.precision.project(head, hidden),
            None => self.precision.matmul(hidden, self.embedding.weight.val().transpose()),
        }
    }

    /// The same model computing its matrix products in `precision`.
    pub fn with_precision(self, precision: Precision) -> Self {
        Llama { precision, ..self }
    }

    /// The same model with `flex_inference` set (see there).
    pub fn with_flex_inference(self, flex_inference: bool) -> Self {
        Llama { flex_inference, ..self }
    }

    fn context(&self, start: usize, padding: Option<Tensor<2, Bool>>) -> Context<'_> {
        Context {
            rope: &self.rope,
            start,
            precision: self.precision,
            flex_inference: self.flex_inference,
            padding,
        }
    }
}
