//! `codeblock hygiene`: which benchmark tasks a training set holds, by id and by text
//! (`codeblock_core::eval::hygiene`): the tasks a model trained on these pairs must not be
//! scored on, and copies under other ids.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{Context, Result};
use codeblock_core::eval::hygiene::{PairText, near_duplicates, trained_on};
use codeblock_core::formats::chat::plain_prompt;

use crate::eval;
use crate::input::RecordArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Benchmarks to check, comma-separated (as `codeblock eval --bench`).
    #[arg(long, value_delimiter = ',', default_value = "humaneval,mbpp,mbpp-plus")]
    bench: Vec<String>,
    /// The share of a task's 8-word shingles a pair must hold to count as its copy.
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    /// Write every finding as JSON here too.
    #[arg(long)]
    report: Option<PathBuf>,
    #[command(flatten)]
    records: RecordArgs,
}

pub fn run(args: Args) -> Result<()> {
    let pairs: Vec<PairText> = args
        .records
        .read()?
        .into_iter()
        .filter_map(|input| input.record.ok())
        .map(|record| PairText {
            instruction: plain_prompt(&record.prompt),
            id: record.id,
            response: record.response,
        })
        .collect();
    let mut report = serde_json::Map::new();
    for bench in &args.bench {
        let tasks = eval::tasks(bench, None)?;
        let by_id = trained_on(pairs.iter().map(|p| p.id.as_str()), &tasks);
        let copies = near_duplicates(&pairs, &tasks, args.threshold);
        let copied: BTreeSet<&str> = copies.iter().map(|d| d.task_id.as_str()).collect();
        let exact = copies.iter().filter(|d| d.exact).count();
        println!(
            "{bench}: {} tasks; {} in the training pairs by id; {} with a copy by text ({} exact matches)",
            tasks.len(),
            by_id.len(),
            copied.len(),
            exact
        );
        for copy in copies.iter().take(5) {
            println!(
                "  {} ~ {} ({}, {:.0}% of its shingles{})",
                copy.task_id,
                copy.pair_id,
                copy.field,
                100.0 * copy.overlap,
                if copy.exact { ", exact" } else { "" }
            );
        }
        report.insert(
            bench.clone(),
            serde_json::json!({"tasks": tasks.len(), "by_id": by_id, "tasks_copied": copied.len(), "copies": copies}),
        );
    }
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
