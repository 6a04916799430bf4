//! `codeblock curate`: the pair stage, before `select`. Keeps the instruction/response pairs of
//! high quality (their code parses; it passes the pair's own `test`, run in the sandbox) that lie
//! in the long tail of the pool (far from their nearest neighbours), as
//! `codeblock_core::curate` scores them; with `--model`, the model's IFD and hidden states join
//! in. Writes the kept pairs, each line as it came with a `curate` object of its scores added,
//! and a report: every input line is kept or dropped with a reason.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use codeblock_core::curate::{self, CurateConfig, Measured, Pair, Pool, Reading};
use codeblock_core::eval::results::Outcome;
use codeblock_core::model::read_pairs;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::input::{self, RecordArgs};
use crate::model::{self, DeviceArg};
use crate::output;
use crate::sandbox::{self, Limits};

/// Exact neighbours are O(n²): past this many pairs, shard the pool.
const MAX_PAIRS: usize = 100_000;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the kept pairs.
    #[arg(long)]
    out: PathBuf,
    /// Write the report (kept, dropped by reason, score histograms) here too.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Fraction of the pairs to keep, by score.
    #[arg(long, default_value_t = 0.5)]
    keep: f64,
    /// Keep this many pairs instead of a fraction.
    #[arg(long, conflicts_with = "keep")]
    keep_count: Option<usize>,
    /// Neighbours whose mean distance makes the long-tail score.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Do not run the pairs' `test` fields (no sandbox needed).
    #[arg(long)]
    no_tests: bool,
    /// Programs run at once.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// A model (GGUF file or Hugging Face folder) that reads the pairs: IFD joins the quality,
    /// and its mean-pooled hidden states replace the model-free embedding.
    #[arg(long)]
    model: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceArg,
    /// Token budget of one model batch (sequences × padded length).
    #[arg(long, default_value_t = 2048)]
    batch_tokens: usize,
    /// Keep the model's readings in this file as they are made (a line a pair) and reuse those
    /// it holds: a killed run goes on where it stopped, losing at most one chunk of pairs.
    #[arg(long, requires = "model")]
    readings: Option<PathBuf>,
    #[command(flatten)]
    records: RecordArgs,
}

pub fn run(args: Args) -> Result<()> {
    let config = CurateConfig {
        keep: args.keep,
        keep_count: args.keep_count,
        k: args.k,
    };
    ensure!(args.k > 0, "--k must be positive");
    // Read once: the records, and the raw lines for their `test` fields and to write kept
    // pairs as they came.
    let bytes = input::read(args.records.path())?;
    let pool = Pool::new(&bytes, args.records.parse(&bytes));
    ensure!(
        pool.inputs.len() <= MAX_PAIRS,
        "{} pairs: exact neighbours are O(n²) and stop at {MAX_PAIRS}; curate the pool in shards",
        pool.inputs.len()
    );
    let pairs = pool.pairs();
    let passes_tests = if args.no_tests || pairs.iter().all(|p| p.test.is_none()) {
        vec![]
    } else {
        sandbox::check()?;
        run_tests(&pairs, args.workers)?
    };
    let readings = match &args.model {
        None => None,
        Some(path) => Some(read_with_model(&args, path, &pairs)?),
    };
    let curated = pool
        .curate(Measured { passes_tests, readings }, &config)
        .map_err(anyhow::Error::msg)?;
    output::write(&args.out, &curated.kept_lines)?;
    let report = &curated.report;
    println!(
        "curate: {} pairs in, {} kept; dropped: {}",
        report.records_in,
        report.kept,
        report
            .dropped_by_reason
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("wrote {}", args.out.display());
    if let Some(path) = &args.report {
        output::write(path, serde_json::to_string_pretty(report)? + "\n")?;
    }
    Ok(())
}

/// Each pair's code run against its `test` in the sandbox (`None`: it carries no test).
fn run_tests(pairs: &[Pair], workers: usize) -> Result<Vec<Option<bool>>> {
    let limits = Limits::default();
    sandbox::in_parallel(pairs.len(), workers, |i| {
        let Some(test) = pairs[i].test else { return Ok(None) };
        let program = format!(
            "{}\n\n{test}",
            curate::python_blocks(&pairs[i].record.response).join("\n")
        );
        Ok(Some(sandbox::run(&program, &limits)? == Outcome::Passed))
    })
}

/// Pairs read by the model between two appends to `--readings`.
const CHUNK: usize = 32;

/// One pair's reading as `--readings` keeps it: the pool line it belongs to, and its IFD and
/// embedding, or why it could not be read. Floats are written in full (shortest round trip), so
/// a resumed run uses the very numbers an uninterrupted one would.
#[derive(Debug, Serialize, Deserialize)]
struct SavedReading {
    line: usize,
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ifd: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    embedding: Option<Vec<f32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The model's reading of every pair, in chunks of similar length with a progress bar; with
/// `--readings`, the pairs read before are taken from the file and new ones appended to it.
fn read_with_model(args: &Args, path: &Path, pairs: &[Pair]) -> Result<Vec<Result<Reading, String>>> {
    let mut readings: Vec<Option<Result<Reading, String>>> = vec![None; pairs.len()];
    let mut saved = match &args.readings {
        Some(file) => Some(open_readings(file, pairs, &mut readings)?),
        None => None,
    };
    let (device, device_name) = model::choose_device(args.device);
    eprintln!("model {} on {device_name}", path.display());
    let loaded = model::load(path, device)?;
    let mut todo: Vec<usize> = (0..pairs.len()).filter(|&i| readings[i].is_none()).collect();
    todo.sort_by_key(|&i| pairs[i].record.response.len());
    let bar = ProgressBar::new(pairs.len() as u64).with_position((pairs.len() - todo.len()) as u64);
    bar.set_style(ProgressStyle::with_template(
        "read {bar:40} {pos}/{len} pairs, eta {eta}",
    )?);
    for chunk in todo.chunks(CHUNK) {
        let records: Vec<_> = chunk.iter().map(|&i| pairs[i].record).collect();
        let read = pollster::block_on(read_pairs(&loaded.bundle, &loaded.device, &records, args.batch_tokens));
        let mut lines = String::new();
        for (&i, reading) in chunk.iter().zip(read) {
            let (ifd, embedding, error) = match &reading {
                Ok(r) => (Some(r.ifd), Some(r.embedding.clone()), None),
                Err(e) => (None, None, Some(e.clone())),
            };
            let line = SavedReading {
                line: i,
                id: pairs[i].record.id.clone(),
                ifd,
                embedding,
                error,
            };
            lines += &(serde_json::to_string(&line)? + "\n");
            readings[i] = Some(reading);
        }
        if let (Some(file), Some(path)) = (&mut saved, &args.readings) {
            // One write a chunk: a kill leaves at most a partial last line, dropped on resume.
            file.write_all(lines.as_bytes())
                .and_then(|()| file.flush())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(readings.into_iter().map(|r| r.expect("every pair is read")).collect())
}

/// Fills `readings` from the file's complete lines (checking that they belong to this pool)
/// and opens it to append; a partial last line, left by a kill, is cut off.
fn open_readings(
    path: &Path,
    pairs: &[Pair],
    readings: &mut [Option<Result<Reading, String>>],
) -> Result<std::fs::File> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let complete = text.rfind('\n').map_or(0, |end| end + 1);
    for (n, line) in text[..complete].lines().enumerate() {
        let saved: SavedReading = serde_json::from_str(line)
            .with_context(|| format!("{} line {}: not a saved reading", path.display(), n + 1))?;
        if pairs.get(saved.line).is_none_or(|p| p.record.id != saved.id) {
            bail!(
                "{} line {}: pair `{}` at pool line {} is not in this pool; it was made from another \
                 pool (remove it or name another file)",
                path.display(),
                n + 1,
                saved.id,
                saved.line + 1
            );
        }
        readings[saved.line] = Some(match (saved.ifd, saved.embedding, saved.error) {
            (Some(ifd), Some(embedding), None) => Ok(Reading { ifd, embedding }),
            (_, _, Some(error)) => Err(error),
            _ => bail!("{} line {}: neither a reading nor an error", path.display(), n + 1),
        });
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    file.set_len(complete as u64)
        .with_context(|| format!("cannot cut the partial last line of {}", path.display()))?;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0))?;
    Ok(file)
}
