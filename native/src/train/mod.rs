//! `codeblock train`: fine-tune with the full response as context and the loss only where the
//! mode puts it (the sparse loss). AdamW with warm-up and cosine decay, gradient clipping and
//! accumulation, batches packed by token count, deterministic on the CPU. Metrics go to
//! `OUT/metrics.jsonl`, one line per optimizer step.
//!
//! Checkpoints every `--checkpoint-every` steps and at the end (`checkpoint.rs`); `--resume OUT`
//! goes on from the newest with the run's saved settings (`OUT/run.json`), to the same result
//! as an uninterrupted run (or starts again a run stopped before its first checkpoint).
//! `--lora-rank` trains LoRA adapters instead of every weight.
//! `--export` writes the result (adapters merged) as a Hugging Face checkpoint.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use burn::grad_clipping::GradientClippingConfig;
use burn::module::Module;
use burn::optim::AdamWConfig;
use burn::tensor::Device;
use codeblock_core::model::{self as core_model, Llama, Precision, Projection, export_hf};
use codeblock_core::train::{Metrics, Normalize, learning_rate, mean_weight_per_step, pack};
use indicatif::{ProgressBar, ProgressStyle};

use crate::checkpoint::{self, Progress};
use crate::model;
use crate::{interrupt, output};

pub(crate) mod args;
mod data;
mod step;

pub use args::{Args, Knobs, ModeArg, saved};

/// AdamW's epsilon (burn's default), before loss scaling.
const ADAMW_EPSILON: f32 = 1e-5;

pub fn run(args: Args) -> Result<()> {
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
    let (mut examples, mask_fraction) = data::read_examples(&args, &loaded)?;
    if let Some(reference) = args
        .reference
        .as_ref()
        .filter(|_| matches!(args.mode, ModeArg::TokenCleaning))
    {
        let keep = if args.keep_as_mask { mask_fraction } else { args.keep };
        data::clean(&mut examples, args.model(), reference, keep, &device)?;
    }
    ensure!(!examples.is_empty(), "{}: no record to train on", args.data().display());

    let lengths: Vec<usize> = examples.iter().map(|e| e.context.ids.len()).collect();
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
    let normalize = Normalize::from(args.knobs.normalize);
    let per_step = mean_weight_per_step(&examples, steps_per_epoch);
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
    interrupt::install();
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
            let divisor = normalize.divisor(&examples, group, per_step);
            let step::Step {
                loss: loss_value,
                tokens,
                grads,
            } = step::forward_backward(&model, &loaded.device, &replicas, &examples, group, divisor, scale);
            let grad_norm = step::grad_norm(&model, &grads, &loaded.device) / f64::from(scale);
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
            let of_step = || group.iter().flatten().map(|&i| &examples[i]);
            let response: f64 = of_step().map(|e| f64::from(e.response_weight())).sum();
            let end: f64 = of_step().map(|e| f64::from(e.end_weight())).sum();
            let metrics = Metrics {
                step: step - 1,
                epoch,
                loss: loss_value,
                loss_per_token: loss_value * f64::from(divisor) / (response + end).max(f64::MIN_POSITIVE),
                lr,
                supervised_tokens: response,
                end_tokens: end,
                total_tokens: tokens,
                supervised_fraction: response / tokens.max(1) as f64,
                grad_norm,
                tokens_per_s: tokens as f64 / seconds,
                supervised_tokens_per_s: response / seconds,
                elapsed_s: progress.elapsed_s,
            };
            writeln!(metrics_file, "{}", serde_json::to_string(&metrics)?)?;
            metrics_file.flush()?;
            bar.set_message(format!(
                "loss {:.4} per token, {:.0} tok/s",
                metrics.loss_per_token, metrics.tokens_per_s
            ));
            bar.inc(1);
            if args.knobs.checkpoint_every > 0 && step % args.knobs.checkpoint_every == 0 {
                save(&args, &model, &optimizer, &progress)?;
                saved_at = step;
            }
            if interrupt::requested() {
                bar.finish_and_clear();
                if saved_at < step {
                    save(&args, &model, &optimizer, &progress)?;
                }
                eprintln!(
                    "stopped after step {step}; `codeblock train --resume {}` goes on",
                    args.out().display()
                );
                std::process::exit(130);
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
            &loaded.bundle.chat.tokenizer,
            loaded.bundle.chat.template_source.as_deref(),
            &loaded.bundle.chat.end_tokens,
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

fn save(args: &Args, model: &Llama, optimizer: &burn::optim::ModuleOptimizer, progress: &Progress) -> Result<()> {
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
                serde_json::from_str::<Metrics>(line)
                    .ok()
                    .is_some_and(|m| m.step < from)
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
    model: &Llama,
    config: &codeblock_core::model::LlamaConfig,
    tokenizer: &codeblock_core::pipeline::tokens::HfTokenizer,
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
        output::write(&dir.join(name), bytes)?;
    }
    eprintln!("exported the trained model to {}", dir.display());
    Ok(())
}
