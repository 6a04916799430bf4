//! `codeblock score`: a model's log-probability of every response token, written as the score
//! lines `select --scores` reads. Score once (with a big model, on a GPU), then select as often
//! as the knobs need, in seconds; or check a model against another implementation
//! (tools/reference/transformers_check.py).

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail, ensure};
use codeblock_core::Config;
use codeblock_core::model::{ModelScorer, Scored};
use codeblock_core::train::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::input::RecordArgs;
use crate::model::{self, DeviceArg, score_side_by_side};
use crate::{interrupt, output};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write one score line per scored record (`id`, `token_ids`, `logprobs`), each
    /// on disk as soon as it is scored.
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
    /// Go on with a killed or interrupted run: keep OUT's whole lines, score the records it
    /// lacks (same model and input; OUT.run.json says which).
    #[arg(long)]
    resume: bool,
    #[command(flatten)]
    records: RecordArgs,
}

pub fn run(args: Args) -> Result<()> {
    let run = ScoreRun {
        model: args.model.display().to_string(),
        input: args.records.path().display().to_string(),
        complete: false,
    };
    let done = match args.resume {
        true => resume_from(&args.out, &run)?,
        false => HashSet::new(),
    };
    let (device, device_name) = model::choose_device(args.device);
    eprintln!("model {} on {device_name}", args.model.display());
    let loaded = model::load(&args.model, device)?;
    let side_by_side = model::side_by_side(&loaded.device);
    let mut scorer = ModelScorer::from_bundle(loaded.bundle, loaded.device);
    scorer.batch_tokens = args.batch_tokens;
    let mut inputs = args.records.read()?;
    let before = inputs.len();
    inputs.retain(|input| !input.record.as_ref().is_ok_and(|r| done.contains(&r.id)));
    if args.resume {
        eprintln!(
            "resuming: {} records scored already, {} to go",
            before - inputs.len(),
            inputs.len()
        );
    }

    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("score {bar:40} {pos}/{len} tokens, {per_sec}, eta {eta}")
            .expect("the template is valid"),
    );
    output::write(&run_path(&args.out), serde_json::to_string(&run)? + "\n")?;
    // A resumed file keeps its whole lines (`resume_from` cut any partial one); a new one starts empty.
    let mut out = match args.resume {
        true => OpenOptions::new().create(true).append(true).open(&args.out),
        false => File::create(&args.out),
    }
    .with_context(|| format!("cannot write {}", args.out.display()))?;
    interrupt::install();
    let (mut scored, mut failed, mut total_tokens) = (0, 0, 0);
    let mut written = Ok(());
    let mut report = |result: Scored, done: usize, total: usize| {
        match result {
            Scored::Line(line) => {
                scored += 1;
                // Whole lines, each on disk before the next: a kill loses at most a chunk of records.
                if written.is_ok() {
                    written = out.write_all(format!("{line}\n").as_bytes());
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
        if interrupt::requested() && written.is_ok() {
            bar.finish_and_clear();
            eprintln!(
                "stopped: {scored} more records scored in {}; the same command with --resume goes on",
                args.out.display()
            );
            std::process::exit(130);
        }
    };
    // Responses are cut exactly as `select` cuts them, so the ids line up there.
    let config = Config::default();
    if side_by_side {
        let (model, device) = (&scorer.bundle().model, scorer.device());
        let run =
            async |batches: &[Vec<Context>]| score_side_by_side(model, device, batches).into_iter().map(Ok).collect();
        pollster::block_on(scorer.score_inputs_by(inputs, &config, run, &mut report));
    } else {
        pollster::block_on(scorer.score_inputs(inputs, &config, &mut report));
    }
    bar.finish_and_clear();
    written.with_context(|| format!("cannot write {}", args.out.display()))?;
    output::write(
        &run_path(&args.out),
        serde_json::to_string(&ScoreRun { complete: true, ..run })? + "\n",
    )?;
    println!(
        "scored {scored} records ({total_tokens} response tokens), {failed} not scored; wrote {}",
        args.out.display()
    );
    Ok(())
}

/// What a score file was made from, beside it (`OUT.run.json`), so `--resume` goes on only
/// with the same model and input; `complete` once every record has been tried.
#[derive(Debug, Serialize, Deserialize)]
struct ScoreRun {
    model: String,
    input: String,
    complete: bool,
}

fn run_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".run.json");
    out.with_file_name(name)
}

/// The ids a killed run scored: its whole lines are kept and a line cut short by the kill is
/// dropped (the file is truncated after the last whole line).
fn resume_from(out: &Path, run: &ScoreRun) -> Result<HashSet<String>> {
    let Ok(bytes) = std::fs::read(out) else {
        return Ok(HashSet::new());
    };
    let saved = std::fs::read_to_string(run_path(out))
        .ok()
        .and_then(|text| serde_json::from_str::<ScoreRun>(&text).ok());
    let Some(saved) = saved else {
        bail!(
            "{} has no {} saying what it was scored from; score it again without --resume",
            out.display(),
            run_path(out).display()
        );
    };
    ensure!(
        saved.model == run.model && saved.input == run.input,
        "{} was scored with --model {} on {}; resume it with the same",
        out.display(),
        saved.model,
        saved.input
    );
    ensure!(!saved.complete, "{} is complete; nothing to resume", out.display());
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut ids = HashSet::new();
    for (number, line) in bytes[..whole]
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
    {
        let line: ScoredId = serde_json::from_slice(line)
            .with_context(|| format!("{} line {}: not a score line", out.display(), number + 1))?;
        ids.insert(line.id);
    }
    OpenOptions::new().write(true).open(out)?.set_len(whole as u64)?;
    Ok(ids)
}

/// How many records a killed run of `model` on `input` had scored (for the fuzz crate).
pub(crate) fn resume_count(out: &Path, model: &str, input: &str) -> Result<usize> {
    let run = ScoreRun {
        model: model.into(),
        input: input.into(),
        complete: false,
    };
    Ok(resume_from(out, &run)?.len())
}

/// The id of a score line.
#[derive(Deserialize)]
struct ScoredId {
    id: String,
}
