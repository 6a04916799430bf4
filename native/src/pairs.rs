//! `codeblock pairs`: instruction/response pairs from MBPP in HumanEval format.
//!
//! Instruction: the task text. Response: a sentence of prose, then the reference solution
//! (signature, docstring and body) in a fenced Python block, then a closing sentence. Splits
//! follow MBPP: 1–10 prompt, 11–510 test, 511–600 validation, 601–974 train.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use serde::Deserialize;

use crate::input;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// MBPP in HumanEval format (`mbpp_humaneval_format.jsonl.gz`).
    #[arg(long)]
    input: PathBuf,
    #[arg(long, value_enum, default_value = "train")]
    split: Split,
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Split {
    Prompt,
    Test,
    Validation,
    Train,
    All,
}

impl Split {
    fn contains(self, task: u32) -> bool {
        match self {
            Split::Prompt => (1..=10).contains(&task),
            Split::Test => (11..=510).contains(&task),
            Split::Validation => (511..=600).contains(&task),
            Split::Train => (601..=974).contains(&task),
            Split::All => true,
        }
    }
}

#[derive(Deserialize)]
struct Task {
    task_id: String,
    prompt: String,
    canonical_solution: String,
    entry_point: String,
    description: String,
}

pub fn run(args: Args) -> Result<()> {
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?,
    );
    let mut written = 0;
    for line in input::lines(&args.input)? {
        let where_ = format!("{} line {}", args.input.display(), line.number);
        let text = line.text.map_err(anyhow::Error::msg).with_context(|| where_.clone())?;
        let task: Task = serde_json::from_str(&text).with_context(|| format!("{where_}: not an MBPP task"))?;
        let number: u32 = match task.task_id.rsplit_once('/').map(|(_, n)| n.parse()) {
            Some(Ok(n)) => n,
            _ => bail!("{where_}: task_id `{}` is not of the form MBPP/N", task.task_id),
        };
        if !args.split.contains(number) {
            continue;
        }
        let code = format!("{}{}", task.prompt.trim_start_matches('\n'), task.canonical_solution);
        let response = format!(
            "Here is a Python function `{}` that solves the task.\n\n```python\n{}\n```\n\nIt returns the result directly, so it can be used in an expression.",
            task.entry_point,
            code.trim_end()
        );
        let pair = serde_json::json!({"id": task.task_id, "instruction": task.description, "output": response});
        writeln!(out, "{pair}")?;
        written += 1;
    }
    out.flush()?;
    eprintln!("wrote {written} pairs to {}", args.out.display());
    Ok(())
}
