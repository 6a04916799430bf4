//! `codeblock score`: a model's log-probability of every response token, written as the score
//! lines `select --scores` reads. Score once (with a big model, on a GPU), then select as often
//! as the knobs need, in seconds; or check a model against another implementation
//! (tools/reference/transformers_check.py).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use codeblock_core::Config;
use codeblock_core::model::{ModelScorer, Scored};
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

pub fn run(args: Args) -> Result<()> {
    let (device, device_name) = model::choose_device(args.device);
    eprintln!("model {} on {device_name}", args.model.display());
    let loaded = model::load(&args.model, device)?;
    let mut scorer = ModelScorer::from_bundle(loaded.bundle, loaded.device);
    scorer.batch_tokens = args.batch_tokens;
    let inputs = args.records.read()?;

    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("score {bar:40} {pos}/{len} tokens, {per_sec}, eta {eta}")
            .expect("the template is valid"),
    );
    let file = std::fs::File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let (mut scored, mut failed, mut total_tokens) = (0, 0, 0);
    let mut written = Ok(());
    let mut report = |result: Scored, done: usize, total: usize| {
        match result {
            Scored::Line(line) => {
                scored += 1;
                if written.is_ok() {
                    written = writeln!(out, "{line}");
                }
            }
            Scored::Failed(name, reject) => {
                failed += 1;
                bar.suspend(|| eprintln!("{name}: not scored: {} ({})", reject.message, reject.reason));
            }
        }
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        total_tokens = total;
    };
    // Responses are cut exactly as `select` cuts them, so the ids line up there.
    pollster::block_on(scorer.score_inputs(inputs, &Config::default(), &mut report));
    bar.finish_and_clear();
    written
        .and_then(|()| out.flush())
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "scored {scored} records ({total_tokens} response tokens), {failed} not scored; wrote {}",
        args.out.display()
    );
    Ok(())
}
