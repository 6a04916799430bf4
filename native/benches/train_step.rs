//! One training step (forward + backward) of SmolLM2-135M, sequence 512 with 2% of tokens
//! supervised: the sparse-head loss against the full-logits masked loss, and the sparse loss
//! with mixed precision. Each variant runs in its own child process so that its peak memory is
//! its own. Prints the step-time and peak-memory ratios, and the logits each variant
//! materialises.
//!
//! Run: `cargo bench -p codeblock --bench train_step` (model from `CODEBLOCK_MODEL` or the
//! set-up cache). `CODEBLOCK_BENCH_DEVICE=wgpu` runs it on the GPU, with f16 as the mixed
//! precision (Vulkan rarely has bf16 arithmetic); the CPU's is bf16.

use std::process::Command;
use std::time::Instant;

use burn::tensor::{Device, DeviceKind, Int, Tensor, TensorData};
use codeblock_core::formats::gguf::Gguf;
use codeblock_core::model::{Precision, Target, full_logits_loss, load_gguf, sparse_loss};
use codeblock_tests::{model_bytes, peak_rss_mib};

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

/// Runs one variant in this process and prints `seconds peak_mib vocab`.
fn variant(sparse: bool, mixed: bool) {
    let bytes = model_bytes();
    let (device, half, _) = device();
    let device = device.autodiff();
    let (config, model) = load_gguf(&Gguf::parse(&bytes).expect("the model parses"), &device).expect("loads");
    let model = model.with_precision(if mixed { half } else { Precision::F32 });
    let ids: Vec<i64> = (0..LENGTH)
        .map(|i| ((i * 104_729) % config.vocab_size) as i64)
        .collect();
    let targets: Vec<Target> = (0..SUPERVISED)
        .map(|k| {
            let position = 1 + k * (LENGTH - 1) / SUPERVISED;
            Target {
                batch: 0,
                position,
                token: ids[position] as u32,
                weight: 1.0,
            }
        })
        .collect();
    let mut best = f64::INFINITY;
    for _ in 0..STEPS {
        let tokens = Tensor::<2, Int>::from_data(TensorData::new(ids.clone(), [1, LENGTH]), &device);
        let clock = Instant::now();
        let loss = if sparse {
            sparse_loss(&model, tokens, &targets, SUPERVISED as f32)
        } else {
            full_logits_loss(&model, tokens, &targets, SUPERVISED as f32)
        };
        let grads = loss.backward();
        // The GPU works asynchronously: reading a gradient waits for the step to finish.
        let _ = model.norm.gamma.val().grad(&grads).map(|g| g.into_data());
        best = best.min(clock.elapsed().as_secs_f64());
    }
    println!("{best} {} {}", peak_rss_mib().unwrap_or(f64::NAN), config.vocab_size);
}

fn measure(which: &str) -> (f64, f64, usize) {
    let output = Command::new(std::env::current_exe().expect("the bench knows its path"))
        .arg(which)
        .output()
        .expect("the bench re-runs itself");
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    assert!(
        fields.len() == 3,
        "variant {which} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        fields[0].parse().unwrap(),
        fields[1].parse().unwrap(),
        fields[2].parse().unwrap(),
    )
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("sparse") => return variant(true, false),
        Some("full") => return variant(false, false),
        Some("mixed") => return variant(true, true),
        _ => {}
    }
    let (_, half, device_name) = device();
    let (sparse_s, sparse_mib, vocab) = measure("sparse");
    let (full_s, full_mib, _) = measure("full");
    let (mixed_s, mixed_mib, _) = measure("mixed");
    let logits_mib = |rows: usize| (rows * vocab * 4) as f64 / (1 << 20) as f64;
    println!("SmolLM2-135M, {device_name}, sequence {LENGTH}, {SUPERVISED} supervised tokens (2%), best of {STEPS}:");
    println!(
        "  sparse head:  step {sparse_s:.2}s, peak RSS {sparse_mib:.0} MiB, logits {:.1} MiB",
        logits_mib(SUPERVISED)
    );
    println!(
        "  full logits:  step {full_s:.2}s, peak RSS {full_mib:.0} MiB, logits {:.1} MiB",
        logits_mib(LENGTH)
    );
    println!("  sparse head, {half:?} products:  step {mixed_s:.2}s, peak RSS {mixed_mib:.0} MiB");
    println!(
        "  ratios: step {:.2}× (aim ≤ 0.85), logits memory {:.1}% (aim ≤ 5%), peak RSS {:.2}×; \
         mixed precision step {:.2}× of f32",
        sparse_s / full_s,
        100.0 * SUPERVISED as f64 / LENGTH as f64,
        sparse_mib / full_mib,
        mixed_s / sparse_s
    );
}
