//! `codeblock score`: a model's log-probability of every response token, written as the score
//! lines `select --scores` reads. Score once (with a big model, on a GPU), then select as often
//! as the knobs need, in seconds; or check a model against another implementation
//! (tools/reference/transformers_check.py).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use codeblock_core::Config;
use codeblock_core::model::ModelScorer;
use codeblock_core::pipeline::{self, Prepared};
use codeblock_core::score::{TokenScorer, score_line};
use indicatif::{ProgressBar, ProgressStyle};

use crate::input::RecordArgs;
use crate::model::{self, DeviceArg};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write one score line per scored record (`id`, `token_ids`, `logprobs`).
    #[arg(long)]
    out: PathBuf,
    /// The model (GGUF file or Hugging Face folder); its tokenizer cuts the responses.
    #[arg(long)]
    model: PathBuf,
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceArg,
    /// Token budget of one model batch (sequences × padded length).
    #[arg(long, default_value_t = 2048)]
    batch_tokens: usize,
    #[command(flatten)]
    records: RecordArgs,
}

/// Records per scorer call, so the progress bar moves.
const CHUNK: usize = 64;

pub fn run(args: Args) -> Result<()> {
    let (device, device_name) = model::choose_device(args.device);
    eprintln!("model {} on {device_name}", args.model.display());
    let loaded = model::load(&args.model, device)?;
    let bundle = loaded.bundle;
    let max_positions = bundle.config.max_positions();
    let tokenizer = bundle.tokenizer.clone();
    let mut scorer = ModelScorer::new(
        bundle.model,
        loaded.device,
        bundle.tokenizer,
        bundle.template,
        max_positions,
    );
    scorer.batch_tokens = args.batch_tokens;

    // Responses are cut exactly as `select` cuts them, so the ids line up there.
    let config = Config::default();
    let mut prepared: Vec<Prepared> = Vec::new();
    let mut failed = 0;
    for input in args.records.read()? {
        let line = input.line.unwrap_or_default();
        match input.record.and_then(|r| pipeline::prepare(r, &tokenizer, &config)) {
            Ok(p) => prepared.push(p),
            Err(reject) => {
                failed += 1;
                eprintln!("line {line}: not scored: {} ({})", reject.message, reject.reason);
            }
        }
    }
    let batch: Vec<&Prepared> = prepared.iter().collect();
    let requests = pipeline::requests(&batch);
    let total: usize = requests.iter().map(|r| r.tokens.len()).sum();
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("score {bar:40} {pos}/{len} tokens, {per_sec}, eta {eta}")
            .expect("the template is valid"),
    );
    let file = std::fs::File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let mut scored = 0;
    for chunk in requests.chunks(CHUNK) {
        for (request, result) in chunk.iter().zip(scorer.logprobs(chunk)) {
            match result {
                Ok(logprobs) => {
                    let ids: Vec<u32> = request.tokens.iter().filter_map(|t| t.id).collect();
                    writeln!(out, "{}", score_line(&request.record.id, &ids, &logprobs))?;
                    scored += 1;
                }
                Err(e) => {
                    failed += 1;
                    eprintln!("record {}: not scored: {e}", request.record.id);
                }
            }
        }
        bar.inc(chunk.iter().map(|r| r.tokens.len() as u64).sum());
    }
    bar.finish_and_clear();
    out.flush()
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "scored {scored} records ({total} response tokens), {failed} not scored; wrote {}",
        args.out.display()
    );
    Ok(())
}
