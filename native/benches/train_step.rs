//! One full fine-tuning step (forward, backward, AdamW) of SmolLM2-135M, sequence 512 with 2% of
//! tokens supervised: the sparse-head loss against the full-logits masked loss, and the sparse
//! loss with mixed precision, each phase timed. Each variant runs in its own child process so
//! that its peak memory is its own. Prints the step-time and peak-memory ratios and the logits
//! each variant materialises; then PyTorch's step on the same job in the same run
//! (`tools/bench/torch_train_step.py`: transformers, f32, the full-logits loss with -100 labels
//! as TRL computes it, AdamW) and the ratio of tokens/s. PyTorch comes from `CODEBLOCK_PYTHON`
//! (`scripts/torch-env.sh` makes one); without it the bench says it was not run.
//!
//! Run: `cargo bench -p codeblock --bench train_step` (model from `CODEBLOCK_MODEL` or the
//! set-up cache). `CODEBLOCK_BENCH_DEVICE=wgpu` runs it on the GPU, with f16 as the mixed
//! precision (Vulkan rarely has bf16 arithmetic); the CPU's is bf16.

use std::process::Command;
use std::time::Instant;

use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, DeviceKind, Int, Tensor, TensorData};
use codeblock_core::formats::gguf::Gguf;
use codeblock_core::model::{Precision, Target, full_logits_loss, load_gguf, sparse_loss};
use codeblock_tests::{bench_ids, model_bytes, model_path, peak_rss_mib, pytorch};

#[global_allocator]
static ALLOCATOR: codeblock::Allocator = codeblock::Allocator;

const LENGTH: usize = 512;
const SUPERVISED: usize = LENGTH * 2 / 100;
const STEPS: usize = 3;

/// The bench's device and its mixed precision.
fn device() -> (Device, Precision, &'static str) {
    match std::env::var("CODEBLOCK_BENCH_DEVICE").as_deref() {
        Ok("wgpu") => (Device::wgpu(DeviceKind::DefaultDevice), Precision::F16, "wgpu"),
        _ => (Device::flex(), Precision::Bf16, "CPU (burn flex)"),
    }
}

/// The seconds of one step's phases.
#[derive(Clone, Copy)]
struct Phases {
    forward: f64,
    backward: f64,
    optimizer: f64,
}

impl Phases {
    fn total(&self) -> f64 {
        self.forward + self.backward + self.optimizer
    }
}

/// Runs one variant in this process: full fine-tuning steps (AdamW), each phase timed to its
/// end (the device works asynchronously: reading a value back waits for it). Prints the best
/// step's `forward backward optimizer`, then `peak_mib vocab`.
fn variant(sparse: bool, mixed: bool) {
    let bytes = model_bytes();
    let (device, half, _) = device();
    let device = device.autodiff();
    let (config, model) = load_gguf(&Gguf::parse(&bytes).expect("the model parses"), &device).expect("loads");
    let mut model = Some(model.with_precision(if mixed { half } else { Precision::F32 }));
    let mut optimizer = AdamWConfig::new().init();
    let [ids] = bench_ids(1, LENGTH, config.vocab_size).try_into().expect("one row");
    let ids: Vec<i64> = ids.into_iter().map(i64::from).collect();
    let targets: Vec<Target> = supervised_positions()
        .map(|position| Target {
            batch: 0,
            position,
            token: ids[position] as u32,
            weight: 1.0,
        })
        .collect();
    let mut best: Option<Phases> = None;
    for _ in 0..STEPS {
        let current = model.take().expect("each step puts the model back");
        let tokens = Tensor::<2, Int>::from_data(TensorData::new(ids.clone(), [1, LENGTH]), &device);
        let clock = Instant::now();
        let loss = if sparse {
            sparse_loss(&current, tokens, &targets, SUPERVISED as f32)
        } else {
            full_logits_loss(&current, tokens, &targets, SUPERVISED as f32)
        };
        let _ = loss.clone().into_data();
        let forward = clock.elapsed().as_secs_f64();
        let grads = loss.backward();
        let _ = current.norm.gamma.val().grad(&grads).map(|g| g.into_data());
        let backward = clock.elapsed().as_secs_f64() - forward;
        let grads = GradientsParams::from_grads(grads, &current);
        let next = optimizer.step(1e-5, current, grads);
        let _ = next.norm.gamma.val().into_data();
        let optimizer_s = clock.elapsed().as_secs_f64() - forward - backward;
        model = Some(next);
        let phases = Phases {
            forward,
            backward,
            optimizer: optimizer_s,
        };
        if best.is_none_or(|b| phases.total() < b.total()) {
            best = Some(phases);
        }
    }
    let best = best.expect("at least one step");
    println!(
        "{} {} {} {} {}",
        best.forward,
        best.backward,
        best.optimizer,
        peak_rss_mib().unwrap_or(f64::NAN),
        config.vocab_size
    );
}

/// The supervised positions, spread over the sequence.
fn supervised_positions() -> impl Iterator<Item = usize> {
    (0..SUPERVISED).map(|k| 1 + k * (LENGTH - 1) / SUPERVISED)
}

/// A variant's best step and its peak memory and the vocabulary size.
fn measure(which: &str) -> (Phases, f64, usize) {
    let output = Command::new(std::env::current_exe().expect("the bench knows its path"))
        .arg(which)
        .output()
        .expect("the bench re-runs itself");
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    assert!(
        fields.len() == 5,
        "variant {which} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let number = |i: usize| fields[i].parse::<f64>().expect("the variant prints numbers");
    let phases = Phases {
        forward: number(0),
        backward: number(1),
        optimizer: number(2),
    };
    (phases, number(3), fields[4].parse().expect("the vocabulary size"))
}

/// PyTorch's step on the same job (`tools/bench/torch_train_step.py`), or why there is none.
fn pytorch_step() -> Result<serde_json::Value, String> {
    let positions: Vec<String> = supervised_positions().map(|p| p.to_string()).collect();
    let args = [
        ("--model", model_path().display().to_string()),
        ("--length", LENGTH.to_string()),
        ("--steps", STEPS.to_string()),
        ("--supervised", positions.join(",")),
    ];
    pytorch("torch_train_step.py", &args)
}

fn main() {
    codeblock::keep_freed_memory();
    match std::env::args().nth(1).as_deref() {
        Some("sparse") => return variant(true, false),
        Some("full") => return variant(false, false),
        Some("mixed") => return variant(true, true),
        _ => {}
    }
    let (_, half, device_name) = device();
    let (sparse, sparse_mib, vocab) = measure("sparse");
    let (full, full_mib, _) = measure("full");
    let (mixed, mixed_mib, _) = measure("mixed");
    let logits_mib = |rows: usize| (rows * vocab * 4) as f64 / (1 << 20) as f64;
    let phases = |p: &Phases| {
        format!(
            "step {:.2}s (forward {:.2}, backward {:.2}, AdamW {:.2}), {:.0} tokens/s",
            p.total(),
            p.forward,
            p.backward,
            p.optimizer,
            LENGTH as f64 / p.total()
        )
    };
    println!(
        "SmolLM2-135M, {device_name}, full fine-tuning, sequence {LENGTH}, {SUPERVISED} supervised tokens (2%), best of {STEPS}:"
    );
    println!(
        "  sparse head:  {}, peak RSS {sparse_mib:.0} MiB, logits {:.1} MiB",
        phases(&sparse),
        logits_mib(SUPERVISED)
    );
    println!(
        "  full logits:  {}, peak RSS {full_mib:.0} MiB, logits {:.1} MiB",
        phases(&full),
        logits_mib(LENGTH)
    );
    println!(
        "  sparse head, {half:?} products:  {}, peak RSS {mixed_mib:.0} MiB",
        phases(&mixed)
    );
    let passes = |p: &Phases| p.forward + p.backward;
    println!(
        "  ratios: forward + backward {:.2}× (aim ≤ 0.85), whole step {:.2}×, logits memory {:.1}% (aim ≤ 5%), \
         peak RSS {:.2}×; mixed precision step {:.2}× of f32",
        passes(&sparse) / passes(&full),
        sparse.total() / full.total(),
        100.0 * SUPERVISED as f64 / LENGTH as f64,
        sparse_mib / full_mib,
        mixed.total() / sparse.total()
    );
    match pytorch_step() {
        Ok(torch) => {
            let seconds = |key: &str| torch[key].as_f64().unwrap_or(f64::NAN);
            let total = seconds("forward") + seconds("backward") + seconds("optimizer");
            println!(
                "  PyTorch {} ({} threads, f32, full logits with -100 labels as TRL): step {total:.2}s \
                 (forward {:.2}, backward {:.2}, AdamW {:.2}), {:.0} tokens/s, peak RSS {:.0} MiB",
                torch["torch"].as_str().unwrap_or("?"),
                torch["threads"],
                seconds("forward"),
                seconds("backward"),
                seconds("optimizer"),
                LENGTH as f64 / total,
                seconds("peak_rss_mib")
            );
            println!(
                "  ratio of tokens/s, codeblock / PyTorch: sparse head {:.2}×, full logits {:.2}× (aim ≥ 1.0×)",
                total / sparse.total(),
                total / full.total()
            );
        }
        Err(why) => println!("  PyTorch: not measured ({why}); ratio unavailable"),
    }
}
