//! `codeblock experiment`: the CodeBlock-vs-full comparison in one command. It selects on the
//! training pairs once, trains each mode from the same model with the same seed, data and step
//! count (`codeblock train`'s own flags, passed to every mode), evaluates the base model and
//! every trained one, and prints one table. Each stage writes into its own folder under OUT:
//! training in this process, the others as this binary's own subcommands. A finished stage (its
//! output on disk) is not redone, and a killed training goes on from its checkpoint, so
//! re-running the same command resumes the experiment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};
use clap::ValueEnum;
use codeblock_core::eval::results::{OutcomeLine, Results, first_outcomes};
use codeblock_core::eval::stats::{self, sign_test, standard_error};
use codeblock_core::eval::tasks::InputSet;
use codeblock_core::train::Metrics;
use serde_json::Value;

use crate::model::DeviceArg;
use crate::train::{self, ModeArg};
use crate::{datasets, input};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model every mode starts from (GGUF file or Hugging Face folder).
    #[arg(long)]
    model: PathBuf,
    /// Training pairs: `mbpp-train` (MBPP tasks 601–974 from CODEBLOCK_DATA) or a JSONL file.
    #[arg(long, default_value = "mbpp-train")]
    train: String,
    /// Only the first N training pairs (a quick run).
    #[arg(long)]
    train_limit: Option<usize>,
    /// Benchmarks for `codeblock eval`, comma-separated (e.g. humaneval,mbpp).
    #[arg(long, default_value = "humaneval,mbpp")]
    eval: String,
    /// Only the first N tasks of each benchmark.
    #[arg(long)]
    eval_limit: Option<usize>,
    /// Training modes, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "full,codeblock,random")]
    modes: Vec<ModeArg>,
    /// With the `token-cleaning` mode: its reference model.
    #[arg(long)]
    reference: Option<PathBuf>,
    /// Optimizer steps of every mode (the same for all, so they are comparable).
    #[arg(long, default_value_t = 100)]
    steps: usize,
    /// Every mode trains with these (`codeblock train`'s flags).
    #[command(flatten)]
    training: train::Knobs,
    /// Tokens a reply may have in the evaluation.
    #[arg(long, default_value_t = 512)]
    max_tokens: usize,
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
        args.reference.is_some() || !args.modes.iter().any(|m| matches!(m, ModeArg::TokenCleaning)),
        "the token-cleaning mode needs --reference (a model with the same tokenizer)"
    );
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let pairs = pairs(&args)?;
    if !args.allow_trained_tasks {
        let benches = args
            .eval
            .split(',')
            .map(|name| Ok((name.to_string(), crate::eval::tasks(name, args.eval_limit)?)))
            .collect::<Result<Vec<_>>>()?;
        crate::eval::refuse_trained_tasks(&pairs, &benches)?;
    }
    let selected = args.out.join("selected.jsonl");
    stage("select", &selected, || {
        let mut select = codeblock("select");
        select
            .args(["--device", &value_name(args.device)])
            .arg("--input")
            .arg(&pairs);
        select.arg("--model").arg(&args.model).arg("--out").arg(&selected);
        select.arg("--report").arg(args.out.join("select-report.json"));
        succeed(select)
    })?;

    // Every mode trains before anything is evaluated: training is the stage that resumes from
    // checkpoints, so a long experiment's first hours are never spent on evaluation alone.
    let mut trained = Vec::new();
    for &mode in &args.modes {
        let name = value_name(mode);
        let run = args.out.join(format!("train-{name}"));
        stage(
            &format!("train {name}"),
            &run.join("final/model.safetensors"),
            || match run.join("checkpoints").exists() {
                true => train::resume(&run),
                false => {
                    let mut settings = train::Args::new_run(&args.model, &selected, &run, mode, args.steps);
                    settings.device = args.device;
                    settings.reference = args.reference.clone();
                    settings.knobs = args.training.clone();
                    train::run(settings)
                }
            },
        )?;
        trained.push((name, run));
    }
    let mut rows = vec![("base".to_string(), None, evaluate(&args, "base", &args.model)?)];
    for (mode, run) in trained {
        rows.push((
            mode.clone(),
            Some(training(&run)?),
            evaluate(&args, &mode, &run.join("final"))?,
        ));
    }
    table(&args, &rows)
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
    let text = std::fs::read_to_string(&all).with_context(|| format!("cannot read {}", all.display()))?;
    let path = args.out.join("pairs.jsonl");
    let kept: String = text.lines().take(limit).map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, kept).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// `codeblock eval` of one model into OUT/eval-NAME; its results.
fn evaluate(args: &Args, name: &str, model: &Path) -> Result<Results> {
    let out = args.out.join(format!("eval-{name}"));
    let results = out.join("results.json");
    stage(&format!("eval {name}"), &results, || {
        let mut eval = codeblock("eval");
        eval.args(["--device", &value_name(args.device), "--bench", &args.eval]);
        eval.args(["--max-tokens", &args.max_tokens.to_string()]);
        if let Some(limit) = args.eval_limit {
            eval.args(["--limit", &limit.to_string()]);
        }
        if args.allow_trained_tasks {
            eval.arg("--allow-trained-tasks");
        }
        eval.arg("--model").arg(model).arg("--out").arg(&out);
        succeed(eval)
    })?;
    let text = std::fs::read_to_string(&results).with_context(|| format!("cannot read {}", results.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not an eval's results.json", results.display()))
}

/// What a training run measured (mean supervised fraction, wall time) and its settings
/// (its run.json, which may come from an earlier invocation of the experiment).
struct Training {
    supervised_fraction: f64,
    seconds: f64,
    settings: train::Args,
}

fn training(run: &Path) -> Result<Training> {
    let path = run.join("metrics.jsonl");
    let metrics: Vec<Metrics> = input::read_jsonl::<Metrics>(&path, "a metrics line")?
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    let last = metrics
        .last()
        .with_context(|| format!("{}: no training step", path.display()))?;
    Ok(Training {
        supervised_fraction: metrics.iter().map(|m| m.supervised_fraction).sum::<f64>() / metrics.len() as f64,
        seconds: last.elapsed_s,
        settings: train::saved(run)?,
    })
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

/// This binary's `subcommand`, to run as a child process.
fn codeblock(subcommand: &str) -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("codeblock"));
    let mut command = Command::new(exe);
    command.arg(subcommand);
    command
}

/// Prints the table and writes it to OUT/table.md and OUT/experiment.json.
fn table(args: &Args, rows: &[(String, Option<Training>, Results)]) -> Result<()> {
    // A column per benchmark, and one more (`NAME+`) for base and plus inputs together where
    // the benchmark has EvalPlus's plus inputs.
    let mut columns: Vec<(&str, InputSet)> = Vec::new();
    for bench in args.eval.split(',').map(str::trim) {
        columns.push((bench, InputSet::Base));
        if rows
            .iter()
            .any(|(_, _, r)| r.benchmarks.get(bench).is_some_and(|b| b.plus.is_some()))
        {
            columns.push((bench, InputSet::Plus));
        }
    }
    let names: Vec<String> = columns
        .iter()
        .map(|&(bench, set)| match set {
            InputSet::Base => bench.to_string(),
            InputSet::Plus => format!("{bench}+"),
        })
        .collect();
    let mut lines = vec![
        format!("| mode | supervised | train s | {} | average |", names.join(" | ")),
        format!("|---|---|---|{}---|", "---|".repeat(names.len())),
    ];
    let mut summary = Vec::new();
    for (mode, training, results) in rows {
        let measured = |b: &str| results.benchmarks.get(b);
        let scores: Vec<f64> = columns
            .iter()
            .map(|&(b, set)| {
                let result = measured(b);
                match set {
                    InputSet::Base => result.and_then(|r| r.pass_at_1()),
                    InputSet::Plus => result.and_then(|r| r.plus_pass_at_1()),
                }
                .unwrap_or(f64::NAN)
            })
            .collect();
        let average = scores.iter().sum::<f64>() / scores.len() as f64;
        let errors: Vec<f64> = columns
            .iter()
            .zip(&scores)
            .map(|(&(b, _), &p)| measured(b).map_or(f64::NAN, |r| standard_error(p, r.tasks)))
            .collect();
        let (fraction, seconds) = match training {
            Some(t) => (
                format!("{:.2}%", 100.0 * t.supervised_fraction),
                format!("{:.0}", t.seconds),
            ),
            None => ("–".into(), "–".into()),
        };
        let shown: Vec<String> = scores
            .iter()
            .zip(&errors)
            .map(|(s, e)| format!("{:.1}% ±{:.1}", 100.0 * s, 100.0 * e))
            .collect();
        lines.push(format!(
            "| {mode} | {fraction} | {seconds} | {} | {:.1}% |",
            shown.join(" | "),
            100.0 * average
        ));
        summary.push(serde_json::json!({
            "mode": mode,
            "supervised_fraction": training.as_ref().map(|t| t.supervised_fraction),
            "train_s": training.as_ref().map(|t| t.seconds),
            "train_settings": training.as_ref().map(|t| &t.settings),
            "pass@1": names.iter().zip(&scores).map(|(b, s)| (b.clone(), *s)).collect::<BTreeMap<_, _>>(),
            "standard_error": names.iter().zip(&errors).map(|(b, e)| (b.clone(), *e)).collect::<BTreeMap<_, _>>(),
            "average": average,
        }));
    }
    let modes: Vec<&str> = rows.iter().map(|(name, _, _)| name.as_str()).collect();
    let (paired_lines, paired) = paired(args, &modes)?;
    lines.extend(paired_lines);
    let table = lines.join("\n") + "\n";
    print!("{table}");
    std::fs::write(args.out.join("table.md"), &table)?;
    let settings = serde_json::json!({
        "model": args.model, "train": args.train, "train_limit": args.train_limit, "eval": args.eval,
        "eval_limit": args.eval_limit, "modes": args.modes, "steps": args.steps, "training": args.training,
        "max_tokens": args.max_tokens, "device": args.device, "allow_trained_tasks": args.allow_trained_tasks,
    });
    let report = serde_json::json!({ "settings": settings, "rows": summary, "paired": paired });
    std::fs::write(
        args.out.join("experiment.json"),
        serde_json::to_string_pretty(&report)? + "\n",
    )?;
    Ok(())
}

/// Paired comparisons on the same tasks: each mode against the base model, and `codeblock`
/// against each other mode. Counts the tasks one solves and the other does not (each task's
/// first sample), with the exact two-sided sign test (McNemar's) of that split.
fn paired(args: &Args, names: &[&str]) -> Result<(Vec<String>, Vec<Value>)> {
    let mut outcomes = BTreeMap::new();
    for name in names {
        let path = args.out.join(format!("eval-{name}/outcomes.jsonl"));
        let lines: Vec<OutcomeLine> = input::read_jsonl::<OutcomeLine>(&path, "an outcome line")?
            .into_iter()
            .map(|(_, line)| line)
            .collect();
        outcomes.insert(*name, lines);
    }
    let mut comparisons: Vec<(&str, &str)> = names[1..].iter().map(|&mode| (mode, names[0])).collect();
    if names.contains(&"codeblock") {
        comparisons.extend(
            names[1..]
                .iter()
                .filter(|&&m| m != "codeblock")
                .map(|&m| ("codeblock", m)),
        );
    }
    let mut lines = vec![
        String::new(),
        "| paired, same tasks | solves, the other not | the other solves, not it | sign test p |".into(),
        "|---|---|---|---|".into(),
    ];
    let mut report = Vec::new();
    // Base tests, then base and plus inputs together (on the tasks that have plus inputs).
    for (set, suffix) in [(InputSet::Base, ""), (InputSet::Plus, " (+)")] {
        let first: BTreeMap<&str, _> = outcomes.iter().map(|(&m, l)| (m, first_outcomes(l, set))).collect();
        if first.values().all(BTreeMap::is_empty) {
            continue;
        }
        for &(a, b) in &comparisons {
            let (wins, losses) = stats::paired(&first[a], &first[b]);
            let p = sign_test(wins, losses);
            lines.push(format!("| {a} vs {b}{suffix} | {wins} | {losses} | {p:.2} |"));
            report.push(serde_json::json!({
                "a": a, "b": b, "plus": set == InputSet::Plus, "a_only": wins, "b_only": losses, "sign_test_p": p,
            }));
        }
    }
    Ok((lines, report))
}
