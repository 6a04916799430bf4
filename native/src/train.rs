//! `codeblock train`: fine-tune with the full response as context and the loss only where the
//! mode puts it (the sparse loss). AdamW with warm-up and cosine decay, gradient clipping and
//! accumulation, batches packed by token count, deterministic on the CPU. Metrics go to
//! `OUT/metrics.jsonl`, one line per optimizer step.
//!
//! Checkpoints every `--checkpoint-every` steps and at the end (`checkpoint.rs`); `--resume OUT`
//! goes on from the newest with the run's saved settings (`OUT/run.json`), to the same result
//! as an uninterrupted run. `--lora-rank` trains LoRA adapters instead of every weight.
//! `--export` writes the result (adapters merged) as a Hugging Face checkpoint.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use burn::grad_clipping::GradientClippingConfig;
use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsAccumulator, GradientsParams, MultiGradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use clap::{Parser, ValueEnum};
use codeblock_core::chat::plain_prompt;
use codeblock_core::model::{self as core_model, Llama, ModelScorer, Precision, Projection, export_hf, sparse_loss};
use codeblock_core::output::{RecordOutput, Status};
use codeblock_core::train::{Mode, learning_rate, pack, token_cleaning_weights, token_weights};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{self, Progress};
use crate::input;
use crate::model::{self, DeviceArg};

/// The command line; also the run's settings, saved as `OUT/run.json` for `--resume`.
#[derive(Debug, Clone, clap::Parser, Serialize, Deserialize)]
pub struct Args {
    /// The model to fine-tune (GGUF file or Hugging Face folder).
    #[arg(long, required_unless_present = "resume")]
    model: Option<PathBuf>,
    /// The output of `codeblock select` made with the same model (its token ids).
    #[arg(long, required_unless_present = "resume")]
    data: Option<PathBuf>,
    /// The run's folder (metrics, checkpoints, settings).
    #[arg(long, required_unless_present = "resume")]
    out: Option<PathBuf>,
    /// Go on with the run in this folder from its newest checkpoint, with its saved settings.
    #[arg(long, conflicts_with_all = ["model", "data", "out"])]
    #[serde(skip)]
    resume: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "codeblock")]
    mode: ModeArg,
    /// With `--mode token-cleaning`: the reference model (same tokenizer), e.g. one tuned on
    /// high-quality data.
    #[arg(long, required_if_eq("mode", "token-cleaning"))]
    pub reference: Option<PathBuf>,
    /// With `--mode token-cleaning`: the fraction of all response tokens to keep.
    #[arg(long, default_value_t = 0.6)]
    keep: f64,
    #[arg(long, default_value_t = 1)]
    epochs: usize,
    /// Stop after this many optimizer steps (default: all epochs).
    #[arg(long)]
    max_steps: Option<usize>,
    #[arg(long, value_enum, default_value = "auto")]
    pub device: DeviceArg,
    /// Optimizer, LoRA, precision and checkpoint settings.
    #[command(flatten)]
    #[serde(flatten)]
    pub knobs: Knobs,
    /// Also write the trained model to OUT/final as a Hugging Face checkpoint (config.json,
    /// model.safetensors, tokenizer.json, tokenizer_config.json).
    #[arg(long)]
    export: bool,
}

/// The training settings `codeblock experiment` passes through to every mode's run.
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
pub struct Knobs {
    /// Write a checkpoint every this many optimizer steps, and at the end (0: never).
    #[arg(long, default_value_t = 100)]
    checkpoint_every: usize,
    /// Checkpoints kept on disk (the newest).
    #[arg(long, default_value_t = 2)]
    keep_checkpoints: usize,
    /// Train LoRA adapters of this rank instead of every weight (0: full fine-tuning).
    #[arg(long, default_value_t = 0)]
    lora_rank: usize,
    /// LoRA's alpha: adapters are scaled by alpha / rank.
    #[arg(long, default_value_t = 16.0)]
    lora_alpha: f64,
    /// The projections that get adapters, in every block.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = LoraTarget::ALL)]
    lora_targets: Vec<LoraTarget>,
    #[arg(long, default_value_t = 2e-5)]
    lr: f64,
    /// Fraction of the steps spent warming up.
    #[arg(long, default_value_t = 0.1)]
    warmup: f64,
    #[arg(long, default_value_t = 0.0)]
    weight_decay: f32,
    /// Clip the gradient norm to this (0: no clipping).
    #[arg(long, default_value_t = 1.0)]
    clip: f32,
    /// Padded tokens per micro-batch.
    #[arg(long, default_value_t = 4096)]
    batch_tokens: usize,
    /// Micro-batches per optimizer step.
    #[arg(long, default_value_t = 4)]
    grad_accum: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Mixed precision: the projections' and the LM head's matrix products in bf16 or f16
    /// (f16 with a static loss scale); parameters, optimizer state and the rest stay f32.
    #[arg(long, value_enum, default_value = "f32")]
    #[serde(default)]
    precision: PrecisionArg,
    /// Data parallelism: train on these devices (`cpu`, `wgpu`, `gpu:N`; comma-separated),
    /// instead of `--device`. The first holds the model and the optimizer; each step's
    /// micro-batches are shared among all (so give `--grad-accum` at least one per device), and
    /// their gradients are summed on the first.
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    devices: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModeArg {
    Codeblock,
    Full,
    Random,
    Mask,
    TokenCleaning,
}

impl From<ModeArg> for Mode {
    fn from(mode: ModeArg) -> Mode {
        match mode {
            ModeArg::Codeblock => Mode::Codeblock,
            ModeArg::Full => Mode::Full,
            ModeArg::Random => Mode::Random,
            ModeArg::Mask => Mode::Mask,
            ModeArg::TokenCleaning => Mode::TokenCleaning,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum PrecisionArg {
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
enum LoraTarget {
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

/// AdamW's epsilon (burn's default), before loss scaling.
const ADAMW_EPSILON: f32 = 1e-5;

/// One record ready to train on.
struct Example {
    ids: Vec<u32>,
    prompt_len: usize,
    weights: Vec<f32>,
}

#[derive(Serialize)]
struct Metrics {
    step: usize,
    epoch: usize,
    loss: f64,
    lr: f64,
    supervised_tokens: f64,
    total_tokens: usize,
    supervised_fraction: f64,
    tokens_per_s: f64,
    supervised_tokens_per_s: f64,
    elapsed_s: f64,
}

impl Args {
    fn model(&self) -> &Path {
        self.model.as_deref().expect("resolved: given, or read from run.json")
    }
    fn data(&self) -> &Path {
        self.data.as_deref().expect("resolved: given, or read from run.json")
    }
    fn out(&self) -> &Path {
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

    /// The run's settings: these, saved to `OUT/run.json` for a new run; or, with `--resume`,
    /// the ones saved there.
    fn resolve(self) -> Result<(Args, bool)> {
        if let Some(dir) = &self.resume {
            return Ok((saved(dir)?, true));
        }
        let out = self.out();
        ensure!(
            !out.join("checkpoints").exists(),
            "{} already holds a run with checkpoints: `--resume {}` goes on with it",
            out.display(),
            out.display()
        );
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        let path = out.join("run.json");
        std::fs::write(&path, serde_json::to_string_pretty(&self)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok((self, false))
    }
}

/// The settings saved in `dir/run.json`.
fn saved(dir: &Path) -> Result<Args> {
    let path = dir.join("run.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot resume {}: no {}", dir.display(), path.display()))?;
    let mut saved: Args = serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))?;
    saved.out = Some(dir.to_path_buf());
    Ok(saved)
}

/// Goes on with the run in `dir` from its newest checkpoint.
pub fn resume(dir: &Path) -> Result<()> {
    train(saved(dir)?, true)
}

pub fn run(args: Args) -> Result<()> {
    ensure!(
        args.knobs.grad_accum > 0 && args.knobs.batch_tokens > 0,
        "--grad-accum and --batch-tokens must be positive"
    );
    let (args, resuming) = args.resolve()?;
    train(args, resuming)
}

fn train(args: Args, resuming: bool) -> Result<()> {
    let mut devices = args
        .knobs
        .devices
        .iter()
        .map(|name| model::named_device(name))
        .collect::<Result<Vec<_>>>()?;
    if devices.is_empty() {
        devices.push(model::choose_device(args.device));
    }
    let (device, device_name) = devices[0].clone();
    eprintln!("model {} on {device_name}, training", args.model().display());
    for (i, (replica, name)) in devices.iter().enumerate().skip(1) {
        ensure!(
            !devices[..i].iter().any(|(other, _)| other == replica),
            "--devices names {name} twice"
        );
        eprintln!("data parallel: a replica on {name}");
    }
    let precision = Precision::from(args.knobs.precision);
    if let Some(dtype) = precision.dtype() {
        for (device, name) in &devices {
            ensure!(
                device.supports_dtype(dtype),
                "{name} cannot compute in {dtype:?}; choose another --precision (wgpu on Vulkan often has f16 but not bf16)"
            );
        }
    }
    let replicas: Vec<Device> = devices[1..].iter().map(|(d, _)| d.clone().autodiff()).collect();
    let loaded = model::load(args.model(), device.clone().autodiff())?;
    let mut examples = read_examples(&args, &loaded)?;
    if let Some(reference) = args
        .reference
        .as_ref()
        .filter(|_| matches!(args.mode, ModeArg::TokenCleaning))
    {
        clean(&mut examples, args.model(), reference, args.keep, &device)?;
    }
    ensure!(!examples.is_empty(), "{}: no record to train on", args.data().display());

    let lengths: Vec<usize> = examples.iter().map(|e| e.ids.len()).collect();
    let steps_per_epoch = pack(&lengths, args.knobs.batch_tokens, 0)
        .len()
        .div_ceil(args.knobs.grad_accum);
    let total_steps = args
        .max_steps
        .unwrap_or(usize::MAX)
        .min(steps_per_epoch.saturating_mul(args.epochs));
    let warmup = (args.knobs.warmup * total_steps as f64).round() as usize;
    // A loss scaled by s gives gradients scaled by s. AdamW's update is the same for them
    // once its epsilon and the clipping norm are scaled too, so nothing is unscaled by hand.
    let scale = precision.loss_scale();
    let optimizer = AdamWConfig::new()
        .with_weight_decay(args.knobs.weight_decay)
        .with_epsilon(ADAMW_EPSILON * scale)
        .with_grad_clipping((args.knobs.clip > 0.0).then_some(GradientClippingConfig::Norm(args.knobs.clip * scale)))
        .init();
    let lora = args.knobs.lora_rank > 0;
    let start = match lora {
        true => {
            let targets: Vec<Projection> = args.knobs.lora_targets.iter().map(|&t| t.into()).collect();
            // The adapters' A factors start random: seeded, so a run repeats.
            loaded.device.seed(args.knobs.seed);
            let base = loaded.bundle.model.num_params();
            let model = core_model::apply_lora(
                loaded.bundle.model,
                args.knobs.lora_rank,
                args.knobs.lora_alpha,
                &targets,
            );
            eprintln!(
                "LoRA rank {} (alpha {}) on {:?}: {} trainable parameters, {base} frozen",
                args.knobs.lora_rank,
                args.knobs.lora_alpha,
                args.knobs.lora_targets,
                model.num_params() - base
            );
            model
        }
        false => loaded.bundle.model,
    }
    .with_precision(precision);
    let (mut model, mut optimizer, mut progress) = if resuming {
        let resumed = checkpoint::latest(args.out(), start, lora, optimizer)?
            .with_context(|| format!("{} has no finished checkpoint to resume from", args.out().display()))?;
        eprintln!(
            "resuming from {} (step {} of {total_steps})",
            resumed.dir.display(),
            resumed.progress.step
        );
        (resumed.model, resumed.optimizer, resumed.progress)
    } else {
        let fresh = Progress {
            step: 0,
            first_loss: None,
            elapsed_s: 0.0,
        };
        (start, optimizer, fresh)
    };
    let mut metrics_file = metrics(args.out(), progress.step)?;
    let bar = ProgressBar::new(total_steps as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} step {pos}/{len} eta {eta} {msg}").expect("the template is valid"),
    );
    bar.set_position(progress.step as u64);
    let clock = Instant::now();
    let elapsed_before = progress.elapsed_s;
    let mut last_loss = f64::NAN;
    let mut saved_at = progress.step;
    let mut step = 0;
    'epochs: for epoch in 0..args.epochs {
        let batches = pack(
            &lengths,
            args.knobs.batch_tokens,
            args.knobs.seed.wrapping_add(epoch as u64),
        );
        for group in batches.chunks(args.knobs.grad_accum) {
            if step >= total_steps {
                break 'epochs;
            }
            // Steps a resumed run has done already: the same batches, in the same order.
            if step < progress.step {
                step += 1;
                continue;
            }
            let step_clock = Instant::now();
            // One mean over every supervised token of the step, across its micro-batches.
            let normalizer: f32 = group
                .iter()
                .flatten()
                .map(|&i| examples[i].weights.iter().sum::<f32>())
                .sum();
            // Each device (the model's, then every replica's) takes every n-th micro-batch. burn's
            // multi-device step updates each parameter on the device that summed its gradients,
            // so with replicas the model's own copy is gathered back to its device too.
            let workers: Vec<(&Device, Llama)> = match replicas.is_empty() {
                true => vec![(&loaded.device, model.clone())],
                false => std::iter::once(&loaded.device)
                    .chain(&replicas)
                    .map(|d| (d, model.clone().fork(d)))
                    .collect(),
            };
            let count = workers.len();
            let shares: Vec<Share> = std::thread::scope(|scope| {
                let handles: Vec<_> = workers
                    .into_iter()
                    .enumerate()
                    .map(|(k, (device, replica))| {
                        let mine: Vec<&Vec<usize>> = group.iter().skip(k).step_by(count).collect();
                        let examples = &examples;
                        scope.spawn(move || share(&replica, examples, &mine, normalizer, scale, device))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a training thread panicked"))
                    .collect()
            });
            let (mut loss_value, mut tokens) = (0.0, 0);
            let mut grads = MultiGradientsParams::default();
            for share in shares {
                loss_value += share.loss;
                tokens += share.tokens;
                grads.grads.extend(share.grads);
            }
            let lr = learning_rate(step, total_steps, warmup, args.knobs.lr);
            model = optimizer.step_multi(lr, model, grads);
            ensure!(
                loss_value.is_finite(),
                "step {step}: the loss is not finite ({loss_value})"
            );
            progress.first_loss.get_or_insert(loss_value);
            last_loss = loss_value;
            step += 1;
            progress.step = step;
            progress.elapsed_s = elapsed_before + clock.elapsed().as_secs_f64();
            let seconds = step_clock.elapsed().as_secs_f64();
            let metrics = Metrics {
                step: step - 1,
                epoch,
                loss: loss_value,
                lr,
                supervised_tokens: f64::from(normalizer),
                total_tokens: tokens,
                supervised_fraction: f64::from(normalizer) / tokens.max(1) as f64,
                tokens_per_s: tokens as f64 / seconds,
                supervised_tokens_per_s: f64::from(normalizer) / seconds,
                elapsed_s: progress.elapsed_s,
            };
            writeln!(metrics_file, "{}", serde_json::to_string(&metrics)?)?;
            metrics_file.flush()?;
            bar.set_message(format!("loss {loss_value:.4}, {:.0} tok/s", metrics.tokens_per_s));
            bar.inc(1);
            if args.knobs.checkpoint_every > 0 && step % args.knobs.checkpoint_every == 0 {
                save(&args, &model, &optimizer, &progress)?;
                saved_at = step;
            }
        }
    }
    bar.finish_and_clear();
    if args.knobs.checkpoint_every > 0 && saved_at < step {
        save(&args, &model, &optimizer, &progress)?;
    }
    if args.export {
        export(
            &args,
            &model,
            &loaded.bundle.config,
            &loaded.bundle.tokenizer,
            loaded.bundle.template_source.as_deref(),
            &loaded.bundle.end_tokens,
        )?;
    }
    println!(
        "trained {step} steps ({:?} mode) in {:.1}s: loss {:.4} → {last_loss:.4}; metrics in {}",
        args.mode,
        progress.elapsed_s,
        progress.first_loss.unwrap_or(f64::NAN),
        args.out().join("metrics.jsonl").display()
    );
    Ok(())
}

fn save(
    args: &Args,
    model: &codeblock_core::model::Llama,
    optimizer: &burn::optim::ModuleOptimizer,
    progress: &Progress,
) -> Result<()> {
    let lora = args.knobs.lora_rank > 0;
    let dir = checkpoint::save(
        args.out(),
        model,
        lora,
        optimizer,
        progress.clone(),
        args.knobs.keep_checkpoints,
    )?;
    eprintln!("checkpoint {}", dir.display());
    Ok(())
}

/// `OUT/metrics.jsonl` opened for appending, keeping only the lines of steps before `from`
/// (those after a resumed run's checkpoint are done again).
fn metrics(out: &Path, from: usize) -> Result<std::fs::File> {
    let path = out.join("metrics.jsonl");
    let kept: String = match std::fs::read_to_string(&path) {
        Ok(text) if from > 0 => text
            .lines()
            .filter(|line| {
                serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v["step"].as_u64())
                    .is_some_and(|s| (s as usize) < from)
            })
            .map(|line| format!("{line}\n"))
            .collect(),
        _ => String::new(),
    };
    std::fs::write(&path, kept).with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))
}

/// Writes OUT/final as a Hugging Face checkpoint, each file through a temporary name and a rename.
fn export(
    args: &Args,
    model: &codeblock_core::model::Llama,
    config: &codeblock_core::model::LlamaConfig,
    tokenizer: &codeblock_core::tokens::HfTokenizer,
    template: Option<&str>,
    end_tokens: &[u32],
) -> Result<()> {
    let dir = args.out().join("final");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (config_json, weights) = export_hf(model, config)?;
    let eos = end_tokens.first().and_then(|&id| tokenizer.decode(&[id]).ok());
    let settings = serde_json::json!({"chat_template": template, "eos_token": eos});
    let files: [(&str, Vec<u8>); 4] = [
        ("config.json", config_json.into_bytes()),
        ("model.safetensors", weights),
        ("tokenizer.json", tokenizer.to_json()?.into_bytes()),
        ("tokenizer_config.json", serde_json::to_vec_pretty(&settings)?),
    ];
    for (name, bytes) in files {
        let (path, partial) = (dir.join(name), dir.join(format!("{name}.partial")));
        std::fs::write(&partial, bytes).with_context(|| format!("cannot write {}", partial.display()))?;
        std::fs::rename(&partial, &path).with_context(|| format!("cannot write {}", path.display()))?;
    }
    eprintln!("exported the trained model to {}", dir.display());
    Ok(())
}

/// Token Cleaning: scores every response token under the base model and the reference, and
/// keeps the global top `keep` fraction by excess loss; examples left with nothing are dropped.
fn clean(examples: &mut Vec<Example>, base: &Path, reference: &Path, keep: f64, device: &Device) -> Result<()> {
    let scorer = |path: &Path| -> Result<(ModelScorer, usize)> {
        let loaded = model::load(path, device.clone())?;
        let vocab = loaded.bundle.config.vocab_size;
        Ok((
            ModelScorer::new(
                loaded.bundle.model,
                loaded.device,
                loaded.bundle.tokenizer,
                None,
                loaded.bundle.config.max_positions(),
            ),
            vocab,
        ))
    };
    let (base, base_vocab) = scorer(base)?;
    let (reference_scorer, reference_vocab) = scorer(reference)?;
    ensure!(
        base_vocab == reference_vocab,
        "{}: the reference's vocabulary differs from the model's",
        reference.display()
    );
    let contexts: Vec<(Vec<u32>, usize)> = examples.iter().map(|e| (e.ids.clone(), e.prompt_len)).collect();
    let progress = ProgressBar::new(contexts.len() as u64);
    let (mut base_scores, mut reference_scores) = (Vec::new(), Vec::new());
    for chunk in contexts.chunks(8) {
        base_scores.extend(base.score_contexts(chunk));
        reference_scores.extend(reference_scorer.score_contexts(chunk));
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();
    let weights = token_cleaning_weights(&base_scores, &reference_scores, keep);
    for (example, weights) in examples.iter_mut().zip(weights) {
        example.weights = weights;
    }
    let before = examples.len();
    examples.retain(|e| e.weights.iter().any(|&w| w > 0.0));
    eprintln!(
        "token cleaning kept {:.1}% of response tokens; {} records left with none",
        100.0 * keep,
        before - examples.len()
    );
    Ok(())
}

/// What one device computed for its micro-batches of a step: their summed gradients (none when
/// it had no supervised token), the loss they add to the step's, and their padded tokens.
struct Share {
    grads: Option<(GradientsParams, Device)>,
    loss: f64,
    tokens: usize,
}

/// Forward and backward passes of `batches` on `device` with `model` (a replica there).
fn share(
    model: &Llama,
    examples: &[Example],
    batches: &[&Vec<usize>],
    normalizer: f32,
    scale: f32,
    device: &Device,
) -> Share {
    let mut accumulator = GradientsAccumulator::new();
    let (mut loss, mut tokens, mut any) = (0.0, 0, false);
    for batch in batches {
        let (input, targets, padded) = micro_batch(examples, batch, device);
        tokens += padded;
        if targets.is_empty() {
            continue;
        }
        let batch_loss = sparse_loss(model, input, &targets, normalizer / scale);
        let scaled = batch_loss.clone().into_data().iter::<f32>().next().unwrap_or(f32::NAN);
        loss += f64::from(scaled / scale);
        accumulator.accumulate(model, GradientsParams::from_grads(batch_loss.backward(), model));
        any = true;
    }
    Share {
        grads: any.then(|| (accumulator.grads(), device.clone())),
        loss,
        tokens,
    }
}

/// Token ids `[batch, longest]` (right-padded), the supervised targets, and the padded size.
fn micro_batch(
    examples: &[Example],
    batch: &[usize],
    device: &burn::tensor::Device,
) -> (Tensor<2, Int>, Vec<core_model::Target>, usize) {
    let longest = batch.iter().map(|&i| examples[i].ids.len()).max().unwrap_or(0);
    let mut ids = vec![0i64; batch.len() * longest];
    let mut targets = Vec::new();
    for (row, &i) in batch.iter().enumerate() {
        let example = &examples[i];
        for (col, &id) in example.ids.iter().enumerate() {
            ids[row * longest + col] = i64::from(id);
        }
        for (k, &weight) in example.weights.iter().enumerate() {
            if weight > 0.0 {
                let position = example.prompt_len + k;
                targets.push(core_model::Target {
                    batch: row,
                    position,
                    token: example.ids[position],
                    weight,
                });
            }
        }
    }
    let input = Tensor::<2, Int>::from_data(TensorData::new(ids, [batch.len(), longest]), device);
    (input, targets, batch.len() * longest)
}

/// The records of `select`'s output as examples: prompt through the chat template, response
/// token ids, and the mode's weights. Rejected records and records with no weight are counted.
fn read_examples(args: &Args, loaded: &model::Loaded) -> Result<Vec<Example>> {
    let mut examples = Vec::new();
    let (mut rejected, mut empty, mut too_long) = (0, 0, 0);
    for line in input::lines(args.data())? {
        let where_ = format!("{} line {}", args.data().display(), line.number);
        let text = line.text.map_err(anyhow::Error::msg).with_context(|| where_.clone())?;
        let value: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("{where_}: not JSON"))?;
        let user_weights: Option<Vec<f32>> = match value.get("weights") {
            Some(w) => Some(serde_json::from_value(w.clone()).with_context(|| format!("{where_}: `weights`"))?),
            None => None,
        };
        let record: RecordOutput =
            serde_json::from_value(value).with_context(|| format!("{where_}: not a `codeblock select` output line"))?;
        let Status::Ok(selected) = &record.status else {
            rejected += 1;
            continue;
        };
        let Some(response_ids) = &selected.mask.token_ids else {
            bail!("{where_}: no token ids; run `codeblock select --model` with this model first");
        };
        if let Some(bad) = response_ids
            .iter()
            .find(|&&id| id as usize >= loaded.bundle.config.vocab_size)
        {
            bail!("{where_}: token id {bad} is outside the model's vocabulary; select with the same model");
        }
        // Token cleaning starts from every token; `clean` then keeps the ones it picks.
        let mode = match args.mode {
            ModeArg::TokenCleaning => Mode::Full,
            other => other.into(),
        };
        let mut weights = token_weights(mode, selected, user_weights.as_deref(), args.knobs.seed)
            .map_err(|e| anyhow::anyhow!("{where_}: {e}"))?;
        if weights.iter().all(|&w| w == 0.0) {
            empty += 1;
            continue;
        }
        let prompt = match &loaded.bundle.template {
            Some(template) => template.render(&selected.prompt, true)?,
            None => plain_prompt(&selected.prompt),
        };
        let mut ids = loaded.bundle.tokenizer.encode_with_specials(&prompt)?;
        let prompt_len = ids.len();
        ensure!(prompt_len > 0, "{where_}: the prompt renders to no tokens");
        ids.extend(response_ids);
        // The turn ends as in the chat: with the model's end token. Full SFT supervises it, so
        // the model learns to stop after a response; the sparse modes leave it to the mask.
        if let Some(&end) = loaded.bundle.end_tokens.first() {
            ids.push(end);
            weights.push(if matches!(mode, Mode::Full) { 1.0 } else { 0.0 });
        }
        if ids.len() > loaded.bundle.config.max_positions() {
            too_long += 1;
            continue;
        }
        examples.push(Example {
            ids,
            prompt_len,
            weights,
        });
    }
    eprintln!(
        "{} records to train on; skipped {rejected} rejected by select, {empty} with no supervised token, \
         {too_long} longer than the model's {} positions",
        examples.len(),
        loaded.bundle.config.max_positions()
    );
    Ok(examples)
}
