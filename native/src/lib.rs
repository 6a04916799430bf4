//! `codeblock` as a library: the command line ([`main`], which `main.rs` runs) and, for the
//! fuzz crate, the readers of the files and requests that users and earlier runs hand the
//! commands ([`fuzzing`]).

mod allocator;
mod checkpoint;
mod compare;
mod curate;
mod datasets;
mod eval;
mod experiment;
mod export;
mod generate;
mod hygiene;
mod input;
mod interrupt;
mod model;
mod nll;
mod output;
mod pairs;
mod runs;
mod sandbox;
mod score;
mod select;
mod serve;
mod show;
mod spill;
mod train;

use clap::{Parser, Subcommand};

pub use allocator::{Allocator, keep_freed_memory};
/// How `select` runs a model's batches on the CPU, and the loader every command uses, which
/// the scoring bench measures too.
pub use model::{Loaded, load as load_model, score_side_by_side};

/// The command line's reading of a device name, which the benches take too.
pub use model::named_device;

#[derive(Debug, Parser)]
#[command(
    name = "codeblock",
    version,
    about = "Supervise only the code that matters: CodeBlock selection for code-LLM fine-tuning."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Cut responses into coding items, score, rerank and select them, and write token loss masks.
    Select(Box<select::Args>),
    /// Write a model's log-prob of every response token, for `select --scores`.
    Score(score::Args),
    /// Preview one selected record in the terminal (or as a standalone HTML page).
    Show(show::Args),
    /// How alike two selections of the same records are (Jaccard overlap of their masks).
    Compare(compare::Args),
    /// Build instruction/response pairs from the MBPP benchmark file (HumanEval format).
    Pairs(pairs::Args),
    /// Keep the high-quality, long-tail pairs of a pool (the stage before `select`).
    Curate(Box<curate::Args>),
    /// Generate a reply with a model (a sanity check of a loaded model).
    Generate(generate::Args),
    /// Fine-tune a model with the sparse loss on the output of `select`.
    Train(Box<train::Args>),
    /// Write `select`'s output as rows for other trainers (TRL, axolotl): token ids and labels.
    Export(export::Args),
    /// pass@k of solutions on HumanEval, MBPP and MBPP+, each run in a sandbox.
    Eval(eval::Args),
    /// Which benchmark tasks a training set holds, by id and by text.
    Hygiene(hygiene::Args),
    /// A model's mean per-token NLL of each benchmark task's canonical solution.
    Nll(nll::Args),
    /// The comparison: select, train each mode alike, evaluate all, one table (resumable).
    Experiment(Box<experiment::Args>),
    /// Redraw an experiment's charts (DIR/report.html) from the files it wrote.
    Report(experiment::report::Args),
    /// Serve the block-mask previewer page (web/, built by scripts/build-wasm.sh) on localhost.
    Serve(serve::Args),
}

/// Runs the command line.
pub fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Select(args) => select::run(*args),
        Command::Score(args) => score::run(args),
        Command::Show(args) => show::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Pairs(args) => pairs::run(args),
        Command::Curate(args) => curate::run(*args),
        Command::Generate(args) => generate::run(args),
        Command::Train(args) => train::run(*args),
        Command::Export(args) => export::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Hygiene(args) => hygiene::run(args),
        Command::Nll(args) => nll::run(args),
        Command::Experiment(args) => experiment::run(*args),
        Command::Report(args) => experiment::report::run(args),
    }
}

/// What the fuzz crate attacks besides core: the readers of `run.json` files, checkpoints and
/// `serve`'s request paths.
pub mod fuzzing {
    use std::path::Path;

    use anyhow::Result;
    use burn::optim::{AdamWConfig, ModuleOptimizer};
    use codeblock_core::model::Llama;

    use crate::checkpoint::{self, Progress};

    pub use crate::serve::file_for;

    /// `train --resume DIR`'s reading of `DIR/run.json`, through the paths it must name.
    pub fn train_settings(dir: &Path) -> Result<()> {
        let args = crate::train::args::saved(dir)?;
        let _ = (args.model(), args.data(), args.out());
        Ok(())
    }

    /// A `run.json` as `train` writes it: a seed.
    pub fn train_settings_seed() -> String {
        let (model, data, out) = (Path::new("model.gguf"), Path::new("selected.jsonl"), Path::new("run"));
        let args = crate::train::args::Args::new_run(model, data, out, crate::train::args::ModeArg::Codeblock, 40);
        serde_json::to_string_pretty(&args).expect("settings serialize")
    }

    /// A checkpoint of `model` (full fine-tuning, before its first step) in `out`, as `train`
    /// writes it; returns its model and optimizer records' bytes, the seeds.
    pub fn checkpoint_seed(out: &Path, model: &Llama) -> Result<(Vec<u8>, Vec<u8>)> {
        let progress = Progress {
            step: 0,
            first_loss: None,
            elapsed_s: 0.0,
        };
        let dir = checkpoint::save(out, model, false, &optimizer(), progress, 1)?;
        Ok((
            std::fs::read(dir.join("model.bpk"))?,
            std::fs::read(dir.join("optimizer.bpk"))?,
        ))
    }

    /// `train --resume`'s reading of the checkpoint in `out` (made by [`checkpoint_seed`]) once
    /// its records are `model_record` and `optimizer_record`, checksums made to match.
    pub fn checkpoint_resume(out: &Path, model: Llama, model_record: &[u8], optimizer_record: &[u8]) -> Result<()> {
        let dir = out.join("checkpoints/step-000000");
        checkpoint::rewrite(
            &dir,
            &[("model.bpk", model_record), ("optimizer.bpk", optimizer_record)],
        )?;
        checkpoint::latest(out, model, false, optimizer())?;
        Ok(())
    }

    fn optimizer() -> ModuleOptimizer {
        AdamWConfig::new().init()
    }

    /// `score --resume`'s reading of a killed run's output `out` (and `OUT.run.json`, which
    /// must name `model` and `input`): how many records it had scored.
    pub fn score_resume(out: &Path, model: &str, input: &str) -> Result<usize> {
        crate::score::resume_count(out, model, input)
    }
}
