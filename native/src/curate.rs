//! `codeblock curate`: the pair stage, before `select`. Keeps the instruction/response pairs of
//! high quality (their code parses; it passes the pair's own `test`, run in the sandbox) that lie
//! in the long tail of the pool (far from their nearest neighbours), as
//! `codeblock_core::curate` scores them; with `--model`, the model's IFD and hidden states join
//! in. Writes the kept pairs, each line as it came with a `curate` object of its scores added,
//! and a report: every input line is kept or dropped with a reason.

use std::path::PathBuf;

use anyhow::{Context, Result, ensure};
use codeblock_core::curate::{self, CurateConfig, Measured, Pair, Pool};
use codeblock_core::eval::results::Outcome;
use codeblock_core::model::read_pairs;

use crate::input::{self, RecordArgs};
use crate::model::{self, DeviceArg};
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
        Some(path) => {
            let (device, device_name) = model::choose_device(args.device);
            eprintln!("model {} on {device_name}", path.display());
            let loaded = model::load(path, device)?;
            let records: Vec<_> = pairs.iter().map(|p| p.record).collect();
            let read = read_pairs(&loaded.bundle, &loaded.device, &records, args.batch_tokens);
            Some(pollster::block_on(read))
        }
    };
    let curated = pool
        .curate(Measured { passes_tests, readings }, &config)
        .map_err(anyhow::Error::msg)?;
    std::fs::write(&args.out, &curated.kept_lines).with_context(|| format!("cannot write {}", args.out.display()))?;
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
        std::fs::write(path, serde_json::to_string_pretty(report)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
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
