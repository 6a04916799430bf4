//! `codeblock curate`: the pair stage, before `select`. Keeps the instruction/response pairs of
//! high quality (their code parses; it passes the pair's own `test`, run in the sandbox) that lie
//! in the long tail of the pool (far from their nearest neighbours), as
//! `codeblock_core::curate` scores them. Writes the kept pairs, each line as it came with a
//! `curate` object of its scores added, and a report: every input line is kept or dropped with
//! a reason.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, ensure};
use codeblock_core::curate::{self, CurateConfig, Quality, code_embedding, knn_distances, long_tail};
use codeblock_core::formats::jsonl;
use codeblock_core::pipeline::output::Input;
use serde::Serialize;
use serde_json::Value;

use crate::input::{self, RecordArgs};
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
    #[command(flatten)]
    records: RecordArgs,
}

/// What `curate` adds to a kept line.
#[derive(Debug, Serialize)]
struct Scores {
    #[serde(flatten)]
    quality: Quality,
    quality_score: f64,
    knn_distance: f64,
    long_tail: f64,
    score: f64,
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
    let inputs = args.records.parse(&bytes);
    ensure!(
        inputs.len() <= MAX_PAIRS,
        "{} pairs: exact neighbours are O(n²) and stop at {MAX_PAIRS}; curate the pool in shards",
        inputs.len()
    );
    let raw: Vec<Option<Value>> = jsonl::lines(&bytes)
        .into_iter()
        .map(|line| line.text.ok().and_then(|t| serde_json::from_str(t).ok()))
        .collect();

    let mut dropped: BTreeMap<String, usize> = BTreeMap::new();
    let mut pairs = Vec::new(); // (input index, response, test)
    for (i, Input { record, .. }) in inputs.iter().enumerate() {
        match record {
            Ok(record) => {
                let test = raw[i].as_ref().and_then(|v| v["test"].as_str()).map(String::from);
                pairs.push((i, record.response.clone(), test));
            }
            Err(reject) => *dropped.entry(format!("unreadable: {}", reject.reason)).or_default() += 1,
        }
    }
    let tested = if args.no_tests || pairs.iter().all(|(_, _, t)| t.is_none()) {
        vec![None; pairs.len()]
    } else {
        sandbox::check()?;
        run_tests(&pairs, args.workers)?
    };
    let qualities: Vec<Quality> = pairs
        .iter()
        .zip(tested)
        .map(|((_, response, _), passes_tests)| Quality {
            parses: curate::parse_share(response),
            passes_tests,
            ifd: None,
        })
        .collect();
    let embeddings: Vec<Vec<f32>> = pairs.iter().map(|(_, response, _)| code_embedding(response)).collect();
    let distances = knn_distances(&embeddings, config.k);
    let scores: Vec<Scores> = qualities
        .into_iter()
        .zip(distances)
        .map(|(quality, knn_distance)| {
            let quality_score = curate::quality(&quality);
            let long_tail = long_tail(knn_distance);
            Scores {
                quality,
                quality_score,
                knn_distance,
                long_tail,
                score: quality_score * long_tail,
            }
        })
        .collect();
    let kept = curate::cut(&scores.iter().map(|s| s.score).collect::<Vec<_>>(), &config);

    let file = std::fs::File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut out = std::io::BufWriter::new(file);
    for (((i, _, _), s), &keep) in pairs.iter().zip(&scores).zip(&kept) {
        if keep {
            let mut line = raw[*i].clone().context("a readable record is a JSON object")?;
            line["curate"] = serde_json::to_value(s)?;
            writeln!(out, "{line}")?;
        } else {
            *dropped.entry(drop_reason(s).into()).or_default() += 1;
        }
    }
    out.flush()
        .with_context(|| format!("cannot write {}", args.out.display()))?;

    let kept_count = kept.iter().filter(|&&k| k).count();
    ensure!(
        kept_count + dropped.values().sum::<usize>() == inputs.len(),
        "every input line is kept or dropped"
    );
    let report = serde_json::json!({
        "records_in": inputs.len(),
        "kept": kept_count,
        "dropped_by_reason": dropped,
        "config": config,
        "embedding": "hashed token trigrams of the response's code (model-free)",
        "histograms": {
            "quality": histogram(scores.iter().map(|s| s.quality_score)),
            "long_tail": histogram(scores.iter().map(|s| s.long_tail)),
            "score": histogram(scores.iter().map(|s| s.score)),
        },
    });
    println!(
        "curate: {} pairs in, {kept_count} kept; dropped: {}",
        inputs.len(),
        dropped
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("wrote {}", args.out.display());
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Why a pair that was not kept was dropped: its first zero signal, else the cut.
fn drop_reason(s: &Scores) -> &'static str {
    if s.quality.parses == 0.0 {
        "no Python code that parses"
    } else if s.quality.passes_tests == Some(false) {
        "fails its tests"
    } else if s.quality_score == 0.0 {
        "misaligned (IFD > 1)"
    } else {
        "below the cut"
    }
}

/// Each pair's code run against its `test` in the sandbox (`None`: it carries no test).
fn run_tests(pairs: &[(usize, String, Option<String>)], workers: usize) -> Result<Vec<Option<bool>>> {
    let limits = Limits::default();
    sandbox::in_parallel(pairs.len(), workers, |i| {
        let (_, response, test) = &pairs[i];
        let Some(test) = test else { return Ok(None) };
        let program = format!("{}\n\n{test}", curate::python_blocks(response).join("\n"));
        Ok(Some(
            sandbox::run(&program, &limits)? == codeblock_core::eval::results::Outcome::Passed,
        ))
    })
}

/// Counts of `values` (in [0, 1]) in ten equal bins.
fn histogram(values: impl Iterator<Item = f64>) -> [usize; 10] {
    let mut bins = [0; 10];
    for v in values {
        bins[((v * 10.0) as usize).min(9)] += 1;
    }
    bins
}
