//! `codeblock experiment`: CodeBlock against full-token SFT and the ablations, in one command.
//! Stages, each writing into its own folder under OUT: the training pairs; the pair stage
//! (`--curate N`: tests, quality and long tail, read by the model); `select` on the kept pairs
//! (and the variants some arms need); the base model's readings; a sweep of training settings
//! on a validation benchmark (`--sweep`), one per family of arms; then every arm and seed:
//! train, evaluate (`codeblock eval`), read the canonical solutions (`codeblock nll`). The
//! table and the charts (`report.html`) come last. A finished stage (its output on disk) is not redone and a killed training
//! goes on from its checkpoint, so re-running the same command resumes the experiment; a
//! model is trained only when a stage that needs it is not done yet, so an experiment whose
//! small outputs are kept (metrics, settings, eval results) resumes on another machine.

mod arms;
pub mod report;
mod table;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};
use clap::ValueEnum;
use codeblock_core::eval::results::{OutcomeLine, Results};
use codeblock_core::train::Metrics;

pub use arms::{Arm, Point, Run, Selection};

use crate::model::DeviceArg;
use crate::nll::NllLine;
use crate::train;
use crate::{datasets, input};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model every arm starts from (GGUF file or Hugging Face folder).
    #[arg(long)]
    model: PathBuf,
    /// Training pairs: `mbpp-train` (MBPP tasks 601–974 from CODEBLOCK_DATA) or a JSONL file.
    #[arg(long, default_value = "mbpp-train")]
    train: String,
    /// Only the first N training pairs (a quick run).
    #[arg(long)]
    train_limit: Option<usize>,
    /// Run the pair stage on the training pairs (`codeblock curate --model`: their tests,
    /// quality with IFD, long tail) and train on the N pairs it keeps.
    #[arg(long)]
    curate: Option<usize>,
    /// Benchmarks for `codeblock eval` and `codeblock nll`, comma-separated.
    #[arg(long, default_value = "humaneval,mbpp")]
    eval: String,
    /// Only the first N tasks of each benchmark (also of the validation benchmark).
    #[arg(long)]
    eval_limit: Option<usize>,
    /// Arms, comma-separated: a training mode on a selection of the data.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "full,codeblock,random")]
    modes: Vec<Arm>,
    /// Training seeds of each arm in `--seeded` (the others train with the first seed only).
    #[arg(long, default_value_t = 1)]
    seeds: u64,
    #[arg(long, value_enum, value_delimiter = ',', default_value = "full,codeblock,random")]
    seeded: Vec<Arm>,
    /// Training settings to choose among (`1e-4`: full fine-tuning at that learning rate;
    /// `lora16:1e-3`: LoRA adapters of rank 16), comma-separated. Each is trained with the
    /// first seed for `full` and for `codeblock` and read on `--validate`; the best validation
    /// pass@1 (ties: the lower validation NLL) is then used by every arm of that family.
    /// Without it, every arm uses `--lr` and `--lora-rank`.
    #[arg(long, value_delimiter = ',')]
    sweep: Vec<Point>,
    /// The sweep's validation benchmark.
    #[arg(long, default_value = "mbpp-validation")]
    validate: String,
    /// With the `token-cleaning` arm: its reference model (default: the `full` arm's model of
    /// the first seed, tuned on the kept pairs).
    #[arg(long)]
    reference: Option<PathBuf>,
    /// Optimizer steps of every run (the same for all, so they are comparable).
    #[arg(long, default_value_t = 100)]
    steps: usize,
    /// Every run trains with these (`codeblock train`'s flags; `--seed` is the first seed).
    #[command(flatten)]
    training: train::Knobs,
    /// Tokens a reply may have in the evaluation.
    #[arg(long, default_value_t = 512)]
    max_tokens: usize,
    /// Replies generated together in the evaluation.
    #[arg(long, default_value_t = 8)]
    eval_batch: usize,
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceArg,
    /// Evaluate on tasks the training pairs hold anyway (the experiment otherwise refuses, naming
    /// them: such a score says nothing about generalisation).
    #[arg(long)]
    allow_trained_tasks: bool,
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    ensure!(
        args.curate.is_some() || !args.modes.contains(&Arm::FullPool),
        "the full-pool arm draws as many pairs as the pair stage keeps: give --curate N"
    );
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let pairs = pairs(&args)?;
    if !args.allow_trained_tasks {
        let mut names: Vec<&str> = args.eval.split(',').collect();
        if args.sweep.len() > 1 {
            names.push(&args.validate);
        }
        let benches = names
            .iter()
            .map(|&name| Ok((name.to_string(), crate::eval::tasks(name, args.eval_limit)?)))
            .collect::<Result<Vec<_>>>()?;
        crate::eval::refuse_trained_tasks(&pairs, &benches)?;
    }
    let experiment = Experiment::new(args, pairs)?;
    let base = experiment.readings(Bench::Test, "base", || Ok(experiment.args.model.clone()))?;
    let (chosen, sweep) = experiment.sweep()?;
    let mut rows = Vec::new();
    // The first seed of every arm before the second of any: a partial experiment has them all.
    for i in 0..experiment.args.seeds.max(1) {
        for &arm in &experiment.args.modes {
            if i > 0 && !experiment.args.seeded.contains(&arm) {
                continue;
            }
            let run = Run {
                arm,
                point: chosen[&arm.tuned_by()],
                seed: experiment.args.training.seed + i,
            };
            let readings = experiment.readings(Bench::Test, &run.name(), || experiment.model(&run))?;
            rows.push(table::Row {
                run,
                training: training(&experiment.train_dir(&run))?,
                readings,
            });
        }
    }
    table::write(&experiment.args, &base, &rows, &sweep)?;
    report::write(&experiment.args.out)
}

/// The training pairs' path, building MBPP's training split when asked.
fn pairs(args: &Args) -> Result<PathBuf> {
    let all = match args.train.as_str() {
        "mbpp-train" => {
            let path = args.out.join("pairs-all.jsonl");
            stage("pairs", &path, || {
                let mut pairs = codeblock("pairs");
                pairs.arg("--input").arg(datasets::mbpp());
                pairs.args(["--split", "train"]).arg("--out").arg(&path);
                succeed(pairs)
            })?;
            path
        }
        path => PathBuf::from(path),
    };
    let Some(limit) = args.train_limit else { return Ok(all) };
    let lines = read_lines(&all)?;
    let path = args.out.join("pairs.jsonl");
    write_lines(&path, lines.iter().take(limit))?;
    Ok(path)
}

/// Which benchmarks a model is read on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bench {
    /// `--eval`, into OUT/eval-NAME.
    Test,
    /// `--validate`, into OUT/valid-NAME.
    Validation,
}

/// What one model's evaluation and reading measured.
#[derive(Debug)]
pub struct Readings {
    pub results: Results,
    pub outcomes: Vec<OutcomeLine>,
    pub nll: Vec<NllLine>,
}

/// What a training run measured (mean supervised fraction, wall time) and its settings (its run.json, which may come from an earlier invocation).
#[derive(Debug)]
pub struct Training {
    pub supervised_fraction: f64,
    pub seconds: f64,
    pub settings: train::Args,
}

struct Experiment {
    args: Args,
    /// The pairs every arm but `full-pool` trains on.
    kept: PathBuf,
}

impl Experiment {
    /// Runs the pair stage when asked, and draws the pool's sample for `full-pool`.
    fn new(args: Args, pairs: PathBuf) -> Result<Experiment> {
        let Some(count) = args.curate else {
            return Ok(Experiment { args, kept: pairs });
        };
        let kept = args.out.join("curate/kept.jsonl");
        stage("curate", &kept, || {
            std::fs::create_dir_all(args.out.join("curate"))?;
            let mut curate = codeblock("curate");
            curate.arg("--input").arg(&pairs).arg("--model").arg(&args.model);
            curate.args(["--device", &value_name(args.device), "--keep-count", &count.to_string()]);
            curate
                .arg("--out")
                .arg(&kept)
                .arg("--report")
                .arg(args.out.join("curate/report.json"));
            curate.arg("--readings").arg(args.out.join("curate/readings.jsonl"));
            succeed(curate)
        })?;
        if args.modes.contains(&Arm::FullPool) {
            let drawn = args.out.join("curate/pool-draw.jsonl");
            stage("pool draw", &drawn, || {
                let lines = read_lines(&pairs)?;
                write_lines(&drawn, draw(&lines, count, args.training.seed))
            })?;
        }
        Ok(Experiment { args, kept })
    }

    /// `select`'s output for an arm's selection, made when first needed.
    fn selection(&self, selection: Selection) -> Result<PathBuf> {
        let out = self.args.out.join(selection.file());
        let input = match selection {
            Selection::Pool => self.args.out.join("curate/pool-draw.jsonl"),
            Selection::Kept | Selection::NoDataflow => self.kept.clone(),
        };
        stage(&format!("select {}", selection.file()), &out, || {
            let mut select = codeblock("select");
            select.args(["--device", &value_name(self.args.device)]);
            select.arg("--input").arg(&input).arg("--model").arg(&self.args.model);
            select.args(selection.select_flags()).arg("--out").arg(&out);
            select.arg("--report").arg(out.with_extension("report.json"));
            succeed(select)
        })?;
        Ok(out)
    }

    fn train_dir(&self, run: &Run) -> PathBuf {
        self.args.out.join(format!("train-{}", run.name()))
    }

    /// The run's trained model, training it (or going on from its checkpoint) if it is not on
    /// disk.
    fn model(&self, run: &Run) -> Result<PathBuf> {
        let dir = self.train_dir(run);
        let model = dir.join("final");
        stage(
            &format!("train {}", run.name()),
            &model.join("model.safetensors"),
            || {
                let data = self.selection(run.arm.selection())?;
                if crate::checkpoint::any(&dir)? {
                    return train_child(&dir);
                }
                let mut settings = train::Args::new_run(&self.args.model, &data, &dir, run.arm.mode(), self.args.steps);
                settings.device = self.args.device;
                settings.knobs = self.args.training.clone();
                settings.knobs.lr = run.point.lr;
                settings.knobs.lora_rank = run.point.lora_rank;
                settings.knobs.seed = run.seed;
                if run.arm == Arm::TokenCleaning {
                    settings.keep_as_mask = true;
                    settings.reference = Some(match &self.args.reference {
                        Some(path) => path.clone(),
                        None => self.model(&Run {
                            arm: Arm::Full,
                            seed: self.args.training.seed,
                            ..*run
                        })?,
                    });
                }
                settings.save()?;
                train_child(&dir)
            },
        )?;
        // A finished run's checkpoints only served resuming it: an experiment of many models
        // would otherwise keep gigabytes of optimizer state per model.
        let checkpoints = dir.join("checkpoints");
        if checkpoints.exists() {
            std::fs::remove_dir_all(&checkpoints)
                .with_context(|| format!("cannot remove {}", checkpoints.display()))?;
        }
        Ok(model)
    }

    /// A model's evaluation and NLL reading on the test or the validation benchmarks; the
    /// model is asked for only if one of them is not done yet.
    fn readings(&self, bench: Bench, name: &str, model: impl Fn() -> Result<PathBuf>) -> Result<Readings> {
        let (prefix, benches) = match bench {
            Bench::Test => ("eval", self.args.eval.as_str()),
            Bench::Validation => ("valid", self.args.validate.as_str()),
        };
        let out = self.args.out.join(format!("{prefix}-{name}"));
        let results = out.join("results.json");
        let limit = self.args.eval_limit.map(|l| l.to_string());
        stage(&format!("{prefix} {name}"), &results, || {
            let mut eval = codeblock("eval");
            eval.args(["--device", &value_name(self.args.device), "--bench", benches]);
            eval.args(["--max-tokens", &self.args.max_tokens.to_string()]);
            eval.args(["--batch", &self.args.eval_batch.to_string()]);
            eval.args(limit.iter().flat_map(|l| ["--limit", l]));
            if self.args.allow_trained_tasks {
                eval.arg("--allow-trained-tasks");
            }
            eval.arg("--model").arg(model()?).arg("--out").arg(&out);
            succeed(eval)
        })?;
        let nll = out.join("nll.jsonl");
        stage(&format!("nll {prefix} {name}"), &nll, || {
            let mut reading = codeblock("nll");
            reading.args(["--device", &value_name(self.args.device), "--bench", benches]);
            reading.args(limit.iter().flat_map(|l| ["--limit", l]));
            reading.arg("--model").arg(model()?).arg("--out").arg(&nll);
            succeed(reading)
        })?;
        let text = std::fs::read_to_string(&results).with_context(|| format!("cannot read {}", results.display()))?;
        Ok(Readings {
            results: serde_json::from_str(&text)
                .with_context(|| format!("{} is not an eval's results.json", results.display()))?,
            outcomes: read_all(&out.join("outcomes.jsonl"), "an outcome line")?,
            nll: read_all(&nll, "an NLL line")?,
        })
    }

    /// Each family's setting: with one setting or none, that one; else the sweep's choice.
    fn sweep(&self) -> Result<(BTreeMap<Arm, Point>, Vec<table::Tried>)> {
        let knobs = &self.args.training;
        let given = Point {
            lr: knobs.lr,
            lora_rank: knobs.lora_rank,
        };
        let mut families: BTreeSet<Arm> = self.args.modes.iter().map(|a| a.tuned_by()).collect();
        if self.args.modes.contains(&Arm::TokenCleaning) && self.args.reference.is_none() {
            families.insert(Arm::Full);
        }
        let mut chosen = BTreeMap::new();
        let mut tried = Vec::new();
        for family in families {
            if self.args.sweep.len() <= 1 {
                chosen.insert(family, self.args.sweep.first().copied().unwrap_or(given));
                continue;
            }
            let mut best: Option<(table::Tried, (f64, f64))> = None;
            for &point in &self.args.sweep {
                let run = Run {
                    arm: family,
                    point,
                    seed: knobs.seed,
                };
                let readings = self.readings(Bench::Validation, &run.name(), || self.model(&run))?;
                let this = table::Tried::new(run, &readings, &self.args.validate);
                // Higher pass@1 first; then lower NLL.
                let key = (this.pass_at_1, -this.nll);
                if best.as_ref().is_none_or(|(_, k)| key > *k) {
                    best = Some((this.clone(), key));
                }
                tried.push(this);
            }
            let (best, _) = best.expect("a sweep of two or more settings");
            chosen.insert(family, best.run.point);
            tried
                .iter_mut()
                .filter(|t| t.run.arm == family)
                .for_each(|t| t.chosen = t.run.point == best.run.point);
        }
        Ok((chosen, tried))
    }
}

/// `count` lines drawn uniformly without replacement (a seeded shuffle, the same on every
/// platform), in their file order.
fn draw(lines: &[String], count: usize, seed: u64) -> impl Iterator<Item = &String> {
    let mut order: Vec<usize> = (0..lines.len()).collect();
    codeblock_core::train::shuffle(&mut order, seed);
    order.truncate(count);
    order.sort_unstable();
    order.into_iter().map(move |i| &lines[i])
}

fn training(run: &Path) -> Result<Training> {
    let metrics: Vec<Metrics> = read_all(&run.join("metrics.jsonl"), "a metrics line")?;
    let last = metrics
        .last()
        .with_context(|| format!("{}: no training step", run.display()))?;
    Ok(Training {
        supervised_fraction: metrics.iter().map(|m| m.supervised_fraction).sum::<f64>() / metrics.len() as f64,
        seconds: last.elapsed_s,
        settings: train::saved(run)?,
    })
}

fn read_all<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<Vec<T>> {
    Ok(input::read_jsonl::<T>(path, what)?
        .into_iter()
        .map(|(_, line)| line)
        .collect())
}

fn read_lines(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(text.lines().map(str::to_string).collect())
}

fn write_lines<'a>(path: &Path, lines: impl Iterator<Item = &'a String>) -> Result<()> {
    let text: String = lines.map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Runs a stage unless its output exists.
fn stage(name: &str, output: &Path, work: impl FnOnce() -> Result<()>) -> Result<()> {
    if output.exists() {
        eprintln!("{name}: done already ({})", output.display());
        return Ok(());
    }
    eprintln!("{name} …");
    work().with_context(|| format!("{name} failed; run the same command again to go on"))
}

/// Runs a command to its end; an error unless it succeeds.
fn succeed(mut command: Command) -> Result<()> {
    let status = command.status().context("cannot start")?;
    ensure!(status.success(), "it ended with {status}");
    Ok(())
}

/// A clap value's name on the command line (`full`, `cpu`, ...).
fn value_name(value: impl ValueEnum) -> String {
    value
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_string())
}

/// `codeblock train --resume dir`: the run saved there, from its newest checkpoint or from the
/// start. In a child process, as every stage: the memory a training holds (gigabytes, which the
/// allocator keeps for reuse) goes back when it ends, not after the whole experiment.
fn train_child(dir: &Path) -> Result<()> {
    let mut train = codeblock("train");
    train.arg("--resume").arg(dir);
    succeed(train)
}

/// This binary's `subcommand`, to run as a child process.
fn codeblock(subcommand: &str) -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("codeblock"));
    let mut command = Command::new(exe);
    command.arg(subcommand);
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_seeded_distinct_and_in_file_order() {
        let lines: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        let drawn: Vec<&String> = draw(&lines, 10, 7).collect();
        assert_eq!(drawn.len(), 10);
        let numbers: Vec<usize> = drawn.iter().map(|l| l.parse().unwrap()).collect();
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
        assert_eq!(drawn, draw(&lines, 10, 7).collect::<Vec<_>>());
        assert_ne!(drawn, draw(&lines, 10, 8).collect::<Vec<_>>());
        assert_eq!(draw(&lines, 500, 0).count(), 100);
    }
}
