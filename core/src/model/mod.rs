//! The language model: a Llama-family decoder in burn (SmolLM2/Llama and Qwen2 layouts), its
//! weights from GGUF, and the [`ModelScorer`] that plugs it into the pipeline's token-scorer seam.
//! One model code for every backend: the shell picks the device (CPU, or wgpu on a GPU) at run
//! time. Behind the `model` feature, so the pipeline builds without burn.

mod bundle;
mod config;
mod cpu;
mod export;
mod generate;
mod llama;
mod load;
mod lora;
mod loss;
mod precision;
mod reading;
mod scorer;
mod weights;

pub use bundle::{HfFiles, ModelBundle};
pub use config::{Arch, LlamaConfig};
pub use export::export_hf;
pub use generate::{GenerateConfig, Generation, Request, Stop, generate, generate_batch};
pub use llama::{KvCache, Llama};
pub use load::{load_gguf, load_hf, random_model};
pub use lora::{Projection, adapters, apply_lora};
pub use loss::{Target, full_logits_loss, sparse_loss};
pub use precision::Precision;
pub use reading::read_pairs;
pub use scorer::{ModelScorer, Scored, score_contexts};
pub use weights::hf_shard_files;

/// Why a model cannot be loaded or run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Gguf(#[from] crate::formats::gguf::GgufError),
    #[error("architecture `{0}` is not supported (llama and qwen2 are)")]
    UnsupportedArchitecture(String),
    #[error("tensor `{name}` has shape {found:?}, the config needs {expected:?}")]
    Shape {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("config: {0}")]
    Config(String),
    /// The tokenizer or chat template cannot be loaded, or a prompt cannot be encoded.
    #[error(transparent)]
    Chat(#[from] crate::formats::chat::ChatError),
}
