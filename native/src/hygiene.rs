//! `codeblock hygiene`: which benchmark tasks a training set holds, by id and by text
//! (`codeblock_core::eval::hygiene`): the tasks a model trained on these pairs must not be
//! scored on, and copies under other ids; with `--clean`, the training set without them.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use codeblock_core::eval::hygiene::{PairText, near_duplicates, trained_on};
use codeblock_core::formats::chat::plain_prompt;
use codeblock_core::formats::jsonl;

use crate::eval;
use crate::input::{self, RecordArgs};
use crate::output;

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
    /// Write the input's lines without the pairs found (by id or by text, in any benchmark)
    /// here: the training set deduplicated against the benchmarks.
    #[arg(long)]
    clean: Option<PathBuf>,
    #[command(flatten)]
    records: RecordArgs,
}

pub fn run(args: Args) -> Result<()> {
    let bytes = input::read(args.records.path())?;
    let inputs = args.records.parse(&bytes);
    let pairs: Vec<PairText> = inputs
        .iter()
        .filter_map(|input| input.record.clone().ok())
        .map(|record| PairText {
            instruction: plain_prompt(&record.prompt),
            id: record.id,
            response: record.response,
        })
        .collect();
    let mut report = serde_json::Map::new();
    let mut found: BTreeSet<String> = BTreeSet::new(); // pair ids, lowercased
    for bench in &args.bench {
        let tasks = eval::tasks(bench, None)?;
        let by_id = trained_on(pairs.iter().map(|p| p.id.as_str()), &tasks);
        let copies = near_duplicates(&pairs, &tasks, args.threshold);
        let copied: BTreeSet<&str> = copies.iter().map(|d| d.task_id.as_str()).collect();
        found.extend(
            by_id
                .iter()
                .chain(copies.iter().map(|d| &d.pair_id))
                .map(|id| id.to_lowercase()),
        );
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
        output::write(path, serde_json::to_string_pretty(&report)? + "\n")?;
    }
    if let Some(path) = &args.clean {
        let (mut kept, mut removed, mut unreadable) = (0, 0, 0);
        output::write_with(path, |out| {
            // One input per non-blank line, in order.
            for (line, input) in jsonl::lines(&bytes).iter().zip(&inputs) {
                match (&input.record, &line.text) {
                    (Ok(record), Ok(text)) if !found.contains(&record.id.to_lowercase()) => {
                        writeln!(out, "{text}")?;
                        kept += 1;
                    }
                    (Ok(_), _) => removed += 1,
                    (Err(_), _) => unreadable += 1,
                }
            }
            Ok(())
        })?;
        println!(
            "wrote {kept} pairs to {}; removed {removed} holding a benchmark task, {unreadable} unreadable",
            path.display()
        );
    }
    Ok(())
}
