//! `codeblock pairs`: instruction/response pairs from MBPP in HumanEval format (see
//! `codeblock_core::eval::mbpp` for how a task becomes a pair).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use codeblock_core::eval::mbpp::{MbppTask, Split};

use crate::input;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// MBPP in HumanEval format (`mbpp_humaneval_format.jsonl.gz`).
    #[arg(long)]
    input: PathBuf,
    /// 1–10 prompt, 11–510 test, 511–600 validation, 601–974 train.
    #[arg(long, value_enum, default_value = "train")]
    split: SplitArg,
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, ValueEnum)]
enum SplitArg {
    Prompt,
    Test,
    Validation,
    Train,
    All,
}

impl SplitArg {
    fn contains(self, split: Split) -> bool {
        match self {
            SplitArg::Prompt => split == Split::Prompt,
            SplitArg::Test => split == Split::Test,
            SplitArg::Validation => split == Split::Validation,
            SplitArg::Train => split == Split::Train,
            SplitArg::All => true,
        }
    }
}

pub fn run(args: Args) -> Result<()> {
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?,
    );
    let mut written = 0;
    for (number, task) in input::read_jsonl::<MbppTask>(&args.input, "an MBPP task")? {
        let where_ = format!("{} line {number}", args.input.display());
        let Some(split) = task.split() else {
            bail!("{where_}: task_id `{}` is not MBPP/N with N in 1..=974", task.task_id);
        };
        if !args.split.contains(split) {
            continue;
        }
        let record = task.record();
        // The task's tests travel with the pair, for `codeblock curate` to run the response's code.
        let pair = serde_json::json!({
            "id": record.id,
            "instruction": record.prompt[0].content,
            "output": record.response,
            "test": task.test_program(),
        });
        writeln!(out, "{pair}")?;
        written += 1;
    }
    out.flush()?;
    eprintln!("wrote {written} pairs to {}", args.out.display());
    Ok(())
}
