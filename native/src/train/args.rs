//! The command line of `codeblock train`, which is also the run's settings (`OUT/run.json`,
//! read back by `--resume`), and the knobs `codeblock experiment` passes to every mode.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use clap::{Parser, ValueEnum};
use codeblock_core::model::{Precision, Projection};
use codeblock_core::train::{Mode, Normalize};
use serde::{Deserialize, Serialize};

use crate::model::DeviceArg;

/// The command line; also the run's settings, saved as `OUT/run.json` for `--resume`.
#[derive(Debug, Clone, clap::Parser, Serialize, Deserialize)]
pub struct Args {
    /// The model to fine-tune (GGUF file or Hugging Face folder).
    #[arg(long, required_unless_present = "resume")]
    model: Option<PathBuf>,
    /// The output of `codeblock select` made with the same model (its token ids).
    #[arg(long, required_unless_present = "resume")]
    pub data: Option<PathBuf>,
    /// The run's folder (metrics, checkpoints, settings).
    #[arg(long, required_unless_present = "resume")]
    out: Option<PathBuf>,
    /// Go on with the run in this folder from its newest checkpoint, with its saved settings.
    #[arg(long, conflicts_with_all = ["model", "data", "out"])]
    #[serde(skip)]
    pub resume: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "codeblock")]
    pub mode: ModeArg,
    /// With `--mode token-cleaning`: the reference model (same tokenizer), e.g. one tuned on
    /// high-quality data.
    #[arg(long, required_if_eq("mode", "token-cleaning"))]
    pub reference: Option<PathBuf>,
    /// With `--mode token-cleaning`: the fraction of all response tokens to keep.
    #[arg(long, default_value_t = 0.6)]
    pub keep: f64,
    /// With `--mode token-cleaning`: keep as many tokens as the masks in `--data` supervise
    /// (Token Cleaning at CodeBlock's budget) instead of `--keep`.
    #[arg(long, conflicts_with = "keep")]
    #[serde(default)]
    pub keep_as_mask: bool,
    #[arg(long, default_value_t = 1)]
    pub epochs: usize,
    /// Stop after this many optimizer steps (default: all epochs).
    #[arg(long)]
    pub max_steps: Option<usize>,
    #[arg(long, value_enum, default_value = "auto")]
    pub device: DeviceArg,
    /// Optimizer, LoRA, precision and checkpoint settings.
    #[command(flatten)]
    #[serde(flatten)]
    pub knobs: Knobs,
    /// Also write the trained model to OUT/final as a Hugging Face checkpoint (config.json,
    /// model.safetensors, tokenizer.json, tokenizer_config.json).
    #[arg(long)]
    pub export: bool,
}

/// The training settings `codeblock experiment` passes through to every mode's run.
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
pub struct Knobs {
    /// Write a checkpoint every this many optimizer steps, and at the end (0: never).
    #[arg(long, default_value_t = 100)]
    pub checkpoint_every: usize,
    /// Checkpoints kept on disk (the newest).
    #[arg(long, default_value_t = 2)]
    pub keep_checkpoints: usize,
    /// Train LoRA adapters of this rank instead of every weight (0: full fine-tuning).
    #[arg(long, default_value_t = 0)]
    pub lora_rank: usize,
    /// LoRA's alpha: adapters are scaled by alpha / rank.
    #[arg(long, default_value_t = 16.0)]
    pub lora_alpha: f64,
    /// The projections that get adapters, in every block.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = LoraTarget::ALL)]
    pub lora_targets: Vec<LoraTarget>,
    #[arg(long, default_value_t = 2e-5)]
    pub lr: f64,
    /// Fraction of the steps spent warming up.
    #[arg(long, default_value_t = 0.1)]
    pub warmup: f64,
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f32,
    /// Clip the gradient norm to this (0: no clipping).
    #[arg(long, default_value_t = 1.0)]
    pub clip: f32,
    /// Padded tokens per micro-batch.
    #[arg(long, default_value_t = 4096)]
    pub batch_tokens: usize,
    /// Skip examples longer than this many tokens, prompt and response (default: the model's
    /// context). A long sequence trains alone, and its attention's memory grows with its square.
    #[arg(long)]
    #[serde(default)]
    pub max_length: Option<usize>,
    /// Micro-batches per optimizer step.
    #[arg(long, default_value_t = 4)]
    pub grad_accum: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// What a step's loss is divided by: `constant` (the dataset's mean supervised tokens per
    /// step, so every supervised token weighs the same whatever its batch) or `step` (the
    /// step's own supervised tokens: a mean per step).
    #[arg(long, value_enum, default_value = "constant")]
    #[serde(default)]
    pub normalize: NormalizeArg,
    /// Mixed precision: the projections' and the LM head's matrix products in bf16 or f16
    /// (f16 with a static loss scale); parameters, optimizer state and the rest stay f32.
    #[arg(long, value_enum, default_value = "f32")]
    #[serde(default)]
    pub precision: PrecisionArg,
    /// Data parallelism: train on these devices (`cpu`, `wgpu`, `gpu:N`; comma-separated),
    /// instead of `--device`. The first holds the model and the optimizer; each step's
    /// micro-batches are shared among all (so give `--grad-accum` at least one per device), and
    /// their gradients are summed on the first.
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub devices: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModeArg {
    Codeblock,
    Full,
    Random,
    RandomItems,
    Mask,
    TokenCleaning,
}

impl From<ModeArg> for Mode {
    fn from(mode: ModeArg) -> Mode {
        match mode {
            ModeArg::Codeblock => Mode::Codeblock,
            ModeArg::Full => Mode::Full,
            ModeArg::Random => Mode::Random,
            ModeArg::RandomItems => Mode::RandomItems,
            ModeArg::Mask => Mode::Mask,
            ModeArg::TokenCleaning => Mode::TokenCleaning,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormalizeArg {
    #[default]
    Constant,
    Step,
}

impl From<NormalizeArg> for Normalize {
    fn from(normalize: NormalizeArg) -> Normalize {
        match normalize {
            NormalizeArg::Constant => Normalize::Constant,
            NormalizeArg::Step => Normalize::Step,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrecisionArg {
    #[default]
    F32,
    Bf16,
    F16,
}

impl From<PrecisionArg> for Precision {
    fn from(precision: PrecisionArg) -> Precision {
        match precision {
            PrecisionArg::F32 => Precision::F32,
            PrecisionArg::Bf16 => Precision::Bf16,
            PrecisionArg::F16 => Precision::F16,
        }
    }
}

/// A projection that can carry a LoRA adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoraTarget {
    Q,
    K,
    V,
    O,
    Gate,
    Up,
    Down,
}

impl LoraTarget {
    const ALL: [LoraTarget; 7] = [
        LoraTarget::Q,
        LoraTarget::K,
        LoraTarget::V,
        LoraTarget::O,
        LoraTarget::Gate,
        LoraTarget::Up,
        LoraTarget::Down,
    ];
}

impl From<LoraTarget> for Projection {
    fn from(target: LoraTarget) -> Projection {
        match target {
            LoraTarget::Q => Projection::Q,
            LoraTarget::K => Projection::K,
            LoraTarget::V => Projection::V,
            LoraTarget::O => Projection::O,
            LoraTarget::Gate => Projection::Gate,
            LoraTarget::Up => Projection::Up,
            LoraTarget::Down => Projection::Down,
        }
    }
}

impl Args {
    pub fn model(&self) -> &Path {
        self.model.as_deref().expect("resolved: given, or read from run.json")
    }
    pub fn data(&self) -> &Path {
        self.data.as_deref().expect("resolved: given, or read from run.json")
    }
    pub fn out(&self) -> &Path {
        self.out.as_deref().expect("resolved: given, or read from run.json")
    }

    /// A new run of `mode` from `model` on `data` into `out` for `max_steps` steps, exported
    /// at the end, with the other settings at their defaults (what `codeblock experiment`
    /// starts from).
    pub fn new_run(model: &Path, data: &Path, out: &Path, mode: ModeArg, max_steps: usize) -> Args {
        let mut args = Args::parse_from(["train", "--model", "-", "--data", "-", "--out", "-"]);
        args.model = Some(model.to_path_buf());
        args.data = Some(data.to_path_buf());
        args.out = Some(out.to_path_buf());
        args.mode = mode;
        args.epochs = usize::MAX;
        args.max_steps = Some(max_steps);
        args.export = true;
        args
    }

    /// The run's settings, and whether it goes on from a checkpoint: these, saved to
    /// `OUT/run.json` for a new run; or, with `--resume`, the ones saved there.
    pub fn resolve(self) -> Result<(Args, bool)> {
        if let Some(dir) = &self.resume {
            let saved = saved(dir)?;
            saved.check()?;
            // A run stopped before its first checkpoint has nothing to lose: it starts again.
            let started = crate::checkpoint::any(dir)?;
            if !started {
                eprintln!("{} has no finished checkpoint yet: starting at step 0", dir.display());
            }
            return Ok((saved, started));
        }
        self.save()?;
        Ok((self, false))
    }

    /// Settings no run can train with.
    fn check(&self) -> Result<()> {
        ensure!(
            self.knobs.grad_accum > 0 && self.knobs.batch_tokens > 0,
            "--grad-accum and --batch-tokens must be positive"
        );
        Ok(())
    }

    /// Saves these settings as a new run's `OUT/run.json`, which `--resume OUT` then starts.
    pub fn save(&self) -> Result<()> {
        self.check()?;
        let out = self.out();
        ensure!(
            !crate::checkpoint::any(out)?,
            "{} already holds a run with checkpoints: `--resume {}` goes on with it",
            out.display(),
            out.display()
        );
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        crate::output::write(&out.join("run.json"), serde_json::to_string_pretty(self)?)
    }
}

/// The settings saved in `dir/run.json`.
pub fn saved(dir: &Path) -> Result<Args> {
    let path = dir.join("run.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot resume {}: no {}", dir.display(), path.display()))?;
    let mut saved: Args = serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))?;
    ensure!(
        saved.model.is_some() && saved.data.is_some(),
        "{} is damaged: it names no model or no data",
        path.display()
    );
    saved.out = Some(dir.to_path_buf());
    Ok(saved)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Settings no run can train with are refused before a new run saves them and when a
    /// saved run (an experiment's) is resumed.
    #[test]
    fn zero_micro_batches_are_refused_new_or_saved() {
        let dir = tempfile::tempdir().unwrap();
        let mut run = Args::new_run(Path::new("m.gguf"), Path::new("d.jsonl"), dir.path(), ModeArg::Full, 3);
        run.knobs.grad_accum = 0;
        let message = format!("{:#}", run.save().unwrap_err());
        assert_eq!(message, "--grad-accum and --batch-tokens must be positive");
        assert!(!dir.path().join("run.json").exists());

        let settings = serde_json::to_string(&run).unwrap();
        std::fs::write(dir.path().join("run.json"), settings).unwrap();
        let resume = Args::parse_from(["train", "--resume", dir.path().to_str().unwrap()]);
        let message = format!("{:#}", resume.resolve().unwrap_err());
        assert_eq!(message, "--grad-accum and --batch-tokens must be positive");
    }

    /// A `run.json` that names no model or data is damaged, not a panic later (seen while
    /// writing the fuzz crate's train-settings target).
    #[test]
    fn settings_without_a_model_are_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let run = Args::new_run(Path::new("m.gguf"), Path::new("d.jsonl"), dir.path(), ModeArg::Full, 3);
        let mut settings = serde_json::to_value(&run).unwrap();
        std::fs::write(dir.path().join("run.json"), settings.to_string()).unwrap();
        assert_eq!(saved(dir.path()).unwrap().model(), Path::new("m.gguf"));
        settings["model"] = serde_json::Value::Null;
        std::fs::write(dir.path().join("run.json"), settings.to_string()).unwrap();
        let message = format!("{:#}", saved(dir.path()).unwrap_err());
        assert!(
            message.ends_with("is damaged: it names no model or no data"),
            "{message}"
        );
    }
}
