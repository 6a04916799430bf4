//! Throughput of randomly initialised models of real shapes, so that it runs with only the
//! repository (no weight file): scoring (the forward pass and every position's log-prob, 8
//! sequences of 256 tokens) and one full fine-tuning step (forward, backward and AdamW, 4
//! sequences of 512 tokens, 2% of positions supervised) with the sparse loss and with the
//! full-logits masked loss. PyTorch runs the same jobs on the same device in the same run
//! (`tools/bench/torch_shapes.py`: transformers' model of the same config, the full-logits loss
//! as TRL computes it); the figures and ratios are printed and written as one JSON.
//!
//! Run: `scripts/bench-gpu.sh` (on a CUDA machine: SmolLM2-135M's and Qwen2.5-Coder-1.5B's shapes;
//! elsewhere the tiny shape on wgpu), or
//! `cargo bench -p codeblock --bench gpu -- --device wgpu --shapes tiny --out FILE`
//! (`--features cuda` for `--device cuda`).

use anyhow::{Context as _, Result, bail};
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use clap::Parser;
use codeblock::named_device;
use codeblock_core::model::{
    Arch, Llama, LlamaConfig, Target, full_logits_loss, random_model, score_contexts, sparse_loss,
};
use codeblock_core::train::Context;
use codeblock_tests::{bench_ids, pytorch, timed};
use serde_json::{Value, json};

#[global_allocator]
static ALLOCATOR: codeblock::Allocator = codeblock::Allocator;

const SCORE_BATCH: usize = 8;
const SCORE_LENGTH: usize = 256;
const TRAIN_BATCH: usize = 4;
const TRAIN_LENGTH: usize = 512;
const SUPERVISED_PERCENT: usize = 2;
/// Timed repetitions of each job, after one warm-up.
const ROUNDS: usize = 3;

#[derive(Parser)]
struct Args {
    /// `cpu`, `wgpu`, `gpu:N`, or `cuda`/`cuda:N` (built with `--features cuda`).
    #[arg(long, default_value = "wgpu")]
    device: String,
    /// Comma-separated: smollm2-135m, qwen2.5-coder-1.5b, tiny.
    #[arg(long, default_value = "tiny", value_delimiter = ',')]
    shapes: Vec<String>,
    /// Where to write the JSON of figures and ratios.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Passed by `cargo bench`.
    #[arg(long, hide = true)]
    bench: bool,
}

/// The models' shapes, from their published `config.json`s.
fn shape(name: &str) -> Result<LlamaConfig> {
    let config =
        |arch, vocab_size, hidden_size, intermediate_size, layers, heads, kv_heads, rope_theta, rms_eps| LlamaConfig {
            arch,
            vocab_size,
            hidden_size,
            intermediate_size,
            layers,
            heads,
            kv_heads,
            head_dim: hidden_size / heads,
            rope_theta,
            rope_scale: 1.0,
            rms_eps,
            context_length: 8192,
            tied_embeddings: true,
        };
    Ok(match name {
        "smollm2-135m" => config(Arch::Llama, 49_152, 576, 1_536, 30, 9, 3, 100_000.0, 1e-5),
        "qwen2.5-coder-1.5b" => config(Arch::Qwen2, 151_936, 1_536, 8_960, 28, 12, 2, 1_000_000.0, 1e-6),
        "tiny" => config(Arch::Llama, 512, 64, 128, 2, 4, 2, 10_000.0, 1e-5),
        _ => bail!("shape `{name}`: expected smollm2-135m, qwen2.5-coder-1.5b or tiny"),
    })
}

fn score_tokens_per_s(config: &LlamaConfig, device: &Device) -> Result<f64> {
    let model = random_model(config, device)?;
    let contexts: Vec<Context> = bench_ids(SCORE_BATCH, SCORE_LENGTH, config.vocab_size)
        .into_iter()
        .map(|ids| Context { ids, prompt_len: 1 })
        .collect();
    // Reading the log-probs back waits for the device.
    let seconds = timed(ROUNDS, || {
        std::hint::black_box(score_contexts(&model, device, &contexts));
    });
    Ok((SCORE_BATCH * SCORE_LENGTH) as f64 / seconds)
}

fn train_tokens_per_s(config: &LlamaConfig, device: &Device, sparse: bool) -> Result<f64> {
    let device = device.clone().autodiff();
    let mut model: Option<Llama> = Some(random_model(config, &device)?);
    let mut optimizer = AdamWConfig::new().init();
    let batch = bench_ids(TRAIN_BATCH, TRAIN_LENGTH, config.vocab_size);
    let supervised = TRAIN_LENGTH * SUPERVISED_PERCENT / 100;
    let targets: Vec<Target> = (0..TRAIN_BATCH)
        .flat_map(|b| (0..supervised).map(move |k| (b, 1 + k * (TRAIN_LENGTH - 1) / supervised)))
        .map(|(b, position)| Target {
            batch: b,
            position,
            token: batch[b][position],
            weight: 1.0,
        })
        .collect();
    let flat: Vec<i64> = batch.iter().flatten().map(|&id| i64::from(id)).collect();
    let seconds = timed(ROUNDS, || {
        let current = model.take().expect("the model is put back after each step");
        let tokens = Tensor::<2, Int>::from_data(TensorData::new(flat.clone(), [TRAIN_BATCH, TRAIN_LENGTH]), &device);
        let loss = match sparse {
            true => sparse_loss(&current, tokens, &targets, targets.len() as f32),
            false => full_logits_loss(&current, tokens, &targets, targets.len() as f32),
        };
        let grads = GradientsParams::from_grads(loss.backward(), &current);
        let next = optimizer.step(1e-5, current, grads);
        // The device works asynchronously: reading a weight back waits for the step.
        std::hint::black_box(next.norm.gamma.val().into_data());
        model = Some(next);
    });
    Ok((TRAIN_BATCH * TRAIN_LENGTH) as f64 / seconds)
}

/// PyTorch's figures for the same jobs, or why there are none.
fn pytorch_figures(config: &LlamaConfig, device: &str) -> Result<Value, String> {
    let torch_device = match device.split_once(':').map_or(device, |(kind, _)| kind) {
        "cpu" => "cpu",
        // wgpu on a machine with an NVIDIA GPU is that GPU; PyTorch reaches it through CUDA.
        _ => "cuda",
    };
    let args = [
        ("--config", config.hf_json().to_string()),
        ("--device", torch_device.to_string()),
        ("--score-batch", SCORE_BATCH.to_string()),
        ("--score-length", SCORE_LENGTH.to_string()),
        ("--train-batch", TRAIN_BATCH.to_string()),
        ("--train-length", TRAIN_LENGTH.to_string()),
        ("--supervised-percent", SUPERVISED_PERCENT.to_string()),
        ("--rounds", ROUNDS.to_string()),
    ];
    pytorch("torch_shapes.py", &args)
}

fn measure(name: &str, device: &Device, device_name: &str, args: &Args) -> Result<Value> {
    let config = shape(name)?;
    let ours = json!({
        "score_tokens_per_s": score_tokens_per_s(&config, device)?,
        "train_sparse_tokens_per_s": train_tokens_per_s(&config, device, true)?,
        "train_full_tokens_per_s": train_tokens_per_s(&config, device, false)?,
    });
    println!("{name} on {device_name}: codeblock {ours}");
    let mut row = json!({"shape": name, "config": config.hf_json(), "codeblock": ours});
    match pytorch_figures(&config, &args.device) {
        Ok(theirs) => {
            println!("{name}: PyTorch {theirs}");
            let ratio = |a: &str, b: &str| ours[a].as_f64().zip(theirs[b].as_f64()).map(|(a, b)| a / b);
            row["ratios"] = json!({
                "score": ratio("score_tokens_per_s", "score_tokens_per_s"),
                "train_sparse": ratio("train_sparse_tokens_per_s", "train_tokens_per_s"),
                "train_full": ratio("train_full_tokens_per_s", "train_tokens_per_s"),
            });
            println!("{name}: codeblock / PyTorch {}", row["ratios"]);
            row["pytorch"] = theirs;
        }
        Err(why) => {
            println!("{name}: PyTorch not measured ({why})");
            row["pytorch"] = json!({"not_measured": why});
        }
    }
    Ok(row)
}

fn main() -> Result<()> {
    codeblock::keep_freed_memory();
    let args = Args::parse();
    let (device, device_name) = named_device(&args.device)?;
    device.seed(0);
    let rows = args
        .shapes
        .iter()
        .map(|name| measure(name, &device, &device_name, &args))
        .collect::<Result<Vec<_>>>()?;
    let report = json!({
        "device": device_name,
        "score": {"batch": SCORE_BATCH, "length": SCORE_LENGTH},
        "train": {"batch": TRAIN_BATCH, "length": TRAIN_LENGTH, "supervised_percent": SUPERVISED_PERCENT, "optimizer": "AdamW", "precision": "f32"},
        "shapes": rows,
    });
    if let Some(out) = &args.out {
        let text = serde_json::to_string_pretty(&report)? + "\n";
        std::fs::write(out, text).with_context(|| format!("cannot write {}", out.display()))?;
    }
    Ok(())
}
