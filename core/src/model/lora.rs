//! LoRA on the decoder's projections, with burn's own adapters (`Module::apply_lora`): every
//! base weight is frozen and the chosen projections get trainable `A·B · alpha/rank` updates.
//! Merging is `Module::materialize`; `export_hf` writes effective (merged) weights either way.

use burn::module::{Lora, Module, ParamGroup};
use serde::{Deserialize, Serialize};

use super::Llama;

/// A projection of a block that can carry an adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Projection {
    Q,
    K,
    V,
    O,
    Gate,
    Up,
    Down,
}

impl Projection {
    pub const ALL: [Projection; 7] = [
        Projection::Q,
        Projection::K,
        Projection::V,
        Projection::O,
        Projection::Gate,
        Projection::Up,
        Projection::Down,
    ];

    /// The module path of this projection's weight in block `block`.
    fn weight_path(self, block: usize) -> String {
        let (module, name) = match self {
            Projection::Q => ("attention", "q"),
            Projection::K => ("attention", "k"),
            Projection::V => ("attention", "v"),
            Projection::O => ("attention", "o"),
            Projection::Gate => ("mlp", "gate"),
            Projection::Up => ("mlp", "up"),
            Projection::Down => ("mlp", "down"),
        };
        format!("blocks.{block}.{module}.{name}.weight")
    }
}

/// The model with LoRA adapters of `rank` (scale `alpha / rank`) on `targets` in every block;
/// all base parameters frozen.
pub fn apply_lora(model: Llama, rank: usize, alpha: f64, targets: &[Projection]) -> Llama {
    let paths: Vec<String> = (0..model.blocks.len())
        .flat_map(|block| targets.iter().map(move |t| t.weight_path(block)))
        .collect();
    model.apply_lora(Lora::new(rank, alpha).set_param_group(ParamGroup::from_paths(paths)))
}

/// The adapters' parameters (what a LoRA run trains and checkpoints).
pub fn adapters() -> ParamGroup {
    ParamGroup::from_predicate("lora")
}
