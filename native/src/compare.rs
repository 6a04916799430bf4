//! `codeblock compare`: how alike two `select` outputs of the same records are — the Jaccard
//! overlap of their masks (`core::pipeline::summary::overlap`). Does data flow change what is
//! picked at 1.9%? Select with and without it (`--lambda-reach 0 --lambda-bridge 0`), compare.

use std::path::{Path, PathBuf};

use anyhow::Result;
use codeblock_core::pipeline::output::RecordOutput;
use codeblock_core::pipeline::summary::overlap;

use crate::input;
use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// One `codeblock select` output.
    a: PathBuf,
    /// Another, of the same records with the same tokenizer.
    b: PathBuf,
    /// Also write the figures as JSON here.
    #[arg(long)]
    report: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let read = |path: &Path| -> Result<Vec<RecordOutput>> {
        let lines = input::read_jsonl::<RecordOutput>(path, "a `codeblock select` output line")?;
        Ok(lines.into_iter().map(|(_, record)| record).collect())
    };
    let result = overlap(&read(&args.a)?, &read(&args.b)?);
    println!(
        "{} records compared ({} not: missing, rejected or cut otherwise on one side)",
        result.records, result.unmatched
    );
    println!(
        "mask overlap (Jaccard): mean {:.3} per record, {:.3} pooled; identical masks {} ({:.1}%)",
        result.mean_jaccard,
        result.pooled_jaccard,
        result.identical,
        100.0 * result.identical as f64 / result.records.max(1) as f64
    );
    if let Some(path) = &args.report {
        output::write(path, serde_json::to_string_pretty(&result)? + "\n")?;
    }
    Ok(())
}
