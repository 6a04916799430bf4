//! Scoring throughput of the default model on the CPU backend: batches of 8 sequences of 256
//! tokens through `score_contexts` (forward pass plus the LM head at every position), printed as
//! prompt tokens/s, with the process's peak resident memory; the same tokens as batches side by
//! side, one per core, as `select --model` runs them; then greedy generation of 64 tokens
//! after a 64-token prompt at batch 1 and 8 (new tokens/s); then PyTorch on the same jobs in the
//! same run (`tools/bench/torch_score.py`, transformers loading the same GGUF) and the ratios.
//! PyTorch is not installed by set-up (its Linux wheels pull in gigabytes of CUDA libraries):
//! `scripts/bench-score.sh` makes a virtual environment with it (`scripts/torch-env.sh`) and runs
//! this bench with `CODEBLOCK_PYTHON` pointing there; without one it says PyTorch was not run.
//!
//! Run: `scripts/bench-score.sh`, or `cargo bench -p codeblock --bench score`.

use burn::tensor::Device;
use codeblock::score_side_by_side;
use codeblock_core::model::{GenerateConfig, Request, generate_batch, score_contexts};
use codeblock_core::train::Context;
use codeblock_tests::{bench_ids, model_path, peak_rss_mib, pytorch, timed};

#[global_allocator]
static ALLOCATOR: codeblock::Allocator = codeblock::Allocator;

const BATCH: usize = 8;
const LENGTH: usize = 256;
const ROUNDS: usize = 3;
/// Generation: prompt and new tokens per row, and the batch sizes.
const PROMPT: usize = 64;
const NEW_TOKENS: usize = 64;
const GENERATION_BATCHES: [usize; 2] = [1, 8];

fn main() {
    let device = Device::flex();
    // The CLI's loader, so the bench runs the model as `select`, `score` and `eval` do.
    let bundle = codeblock::load_model(&model_path(), device.clone())
        .expect("the model loads")
        .bundle;
    let (config, model) = (&bundle.config, &bundle.model);
    let contexts: Vec<Context> = bench_ids(BATCH, LENGTH, config.vocab_size)
        .into_iter()
        .map(|ids| Context { ids, prompt_len: 1 })
        .collect();
    let seconds = timed(ROUNDS, || {
        std::hint::black_box(score_contexts(model, &device, &contexts));
    });
    let ours = (BATCH * LENGTH) as f64 / seconds;
    println!(
        "codeblock (burn flex, CPU): batch {BATCH} × {LENGTH} tokens in {seconds:.2}s = {ours:.0} prompt tokens/s; peak RSS {:.0} MiB",
        peak_rss_mib().unwrap_or(f64::NAN)
    );
    // Batches side by side, one per core, as `select --model` runs its batches: here the same
    // tokens as one batch per core.
    let cores = rayon::current_num_threads();
    let batches: Vec<Vec<Context>> = contexts
        .chunks(BATCH.div_ceil(cores))
        .map(<[Context]>::to_vec)
        .collect();
    let side_by_side_seconds = timed(ROUNDS, || {
        std::hint::black_box(score_side_by_side(model, &device, &batches));
    });
    let side_by_side = (BATCH * LENGTH) as f64 / side_by_side_seconds;
    println!(
        "codeblock as `select` runs it, {} batches side by side on {cores} cores: {side_by_side_seconds:.2}s = {side_by_side:.0} prompt tokens/s",
        batches.len()
    );
    // Greedy, with no end token, so every row makes all its new tokens.
    let generating = GenerateConfig {
        max_tokens: NEW_TOKENS,
        ..GenerateConfig::default()
    };
    let generated: Vec<f64> = GENERATION_BATCHES
        .iter()
        .map(|&batch| {
            let requests: Vec<Request> = contexts[..batch]
                .iter()
                .map(|c| Request {
                    prompt: c.ids[..PROMPT].to_vec(),
                    config: generating.clone(),
                })
                .collect();
            let tokenizer = &bundle.chat.tokenizer;
            let seconds = timed(ROUNDS, || {
                std::hint::black_box(generate_batch(model, &device, tokenizer, &requests, &[], config.max_positions()));
            });
            let ours = (batch * NEW_TOKENS) as f64 / seconds;
            println!("codeblock generation, batch {batch}: {NEW_TOKENS} new tokens after {PROMPT} in {seconds:.2}s = {ours:.1} new tokens/s");
            ours
        })
        .collect();
    drop(bundle);
    match pytorch_figures() {
        Ok(torch) => {
            let theirs = torch["tokens_per_s"].as_f64().unwrap_or(f64::NAN);
            println!(
                "PyTorch {} ({} threads, f32): {theirs:.0} prompt tokens/s; peak RSS {:.0} MiB",
                torch["torch"].as_str().unwrap_or("?"),
                torch["threads"],
                torch["peak_rss_mib"].as_f64().unwrap_or(f64::NAN)
            );
            println!(
                "ratio codeblock / PyTorch, prefill: one batch {:.2}×, side by side {:.2}× (aim ≥ 1.0×)",
                ours / theirs,
                side_by_side / theirs
            );
            for (batch, ours) in GENERATION_BATCHES.iter().zip(generated) {
                let theirs = torch["generation"][batch.to_string()].as_f64().unwrap_or(f64::NAN);
                println!(
                    "PyTorch generation, batch {batch}: {theirs:.1} new tokens/s; ratio codeblock / PyTorch {:.2}× (aim ≥ 1.0×)",
                    ours / theirs
                );
            }
        }
        Err(why) => println!("PyTorch: not measured ({why}); ratios unavailable"),
    }
}

/// PyTorch's figures on the same jobs, from `tools/bench/torch_score.py`.
fn pytorch_figures() -> Result<serde_json::Value, String> {
    let args = [
        ("--model", model_path().display().to_string()),
        ("--batch", BATCH.to_string()),
        ("--length", LENGTH.to_string()),
        ("--rounds", ROUNDS.to_string()),
        ("--prompt", PROMPT.to_string()),
        ("--new-tokens", NEW_TOKENS.to_string()),
        (
            "--generation-batches",
            GENERATION_BATCHES.map(|b| b.to_string()).join(","),
        ),
    ];
    pytorch("torch_score.py", &args)
}
