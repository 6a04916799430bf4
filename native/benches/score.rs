//! Scoring throughput of the default model on the CPU backend: batches of 8 sequences of 256
//! tokens through `ModelScorer` (forward pass plus the LM head at every position), printed as
//! prompt tokens/s, with the process's peak resident memory.
//!
//! The issue asks for PyTorch's figure on the same machine next to ours; PyTorch is not
//! installed by set-up (its Linux wheels pull in gigabytes of CUDA libraries), so only our side
//! is measured here.
//!
//! Run: `cargo bench -p codeblock --bench score` (model from `CODEBLOCK_MODEL` or the set-up cache).

use std::time::Instant;

use burn::tensor::Device;
use codeblock_core::gguf::Gguf;
use codeblock_core::model::{ModelScorer, load_gguf};
use codeblock_core::tokens::HfTokenizer;
use codeblock_tests::{model_bytes, peak_rss_mib};

const BATCH: usize = 8;
const LENGTH: usize = 256;
const ROUNDS: usize = 3;

fn main() {
    let bytes = model_bytes();
    let gguf = Gguf::parse(&bytes).expect("the model parses");
    let device = Device::flex();
    let (config, model) = load_gguf(&gguf, &device).expect("the model loads");
    let tokenizer = HfTokenizer::from_gguf(&gguf).expect("the tokenizer loads");
    let scorer = ModelScorer::new(model, device, tokenizer, None, LENGTH);
    // Deterministic ids spread over the vocabulary.
    let contexts: Vec<(Vec<u32>, usize)> = (0..BATCH)
        .map(|b| {
            (
                (0..LENGTH)
                    .map(|i| ((b * 7919 + i * 104_729) % config.vocab_size) as u32)
                    .collect(),
                1,
            )
        })
        .collect();
    scorer.score_contexts(&contexts); // warm-up
    let clock = Instant::now();
    for _ in 0..ROUNDS {
        std::hint::black_box(scorer.score_contexts(&contexts));
    }
    let seconds = clock.elapsed().as_secs_f64() / ROUNDS as f64;
    println!(
        "codeblock (burn flex, CPU): batch {BATCH} × {LENGTH} tokens in {seconds:.2}s = {:.0} prompt tokens/s; peak RSS {:.0} MiB",
        (BATCH * LENGTH) as f64 / seconds,
        peak_rss_mib().unwrap_or(f64::NAN)
    );
    println!("PyTorch: not measured (not installed by set-up); ratio unavailable");
}
