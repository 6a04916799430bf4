//! `codeblock eval`: pass@k of solutions on HumanEval, MBPP's test split, MBPP+, or any
//! benchmark file in their schemas. Solutions come from a model (`--model`: greedy, or
//! `--n` samples at `--temperature`), from `--samples` (EvalPlus's samples.jsonl: `task_id` and
//! `solution`, or `completion` after the prompt) or `--canonical` (the tasks' own solutions: a
//! check of the harness). Every program runs in the sandbox, `--workers` at a time. Writes
//! OUT/results.json (with every setting), OUT/samples.jsonl (EvalPlus-compatible),
//! OUT/outcomes.jsonl and OUT/replies.jsonl (a model's raw replies), and prints a table.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use burn::tensor::Device;
use codeblock_core::eval::hygiene::trained_on;
use codeblock_core::eval::mbpp::{Split, task_number};
use codeblock_core::eval::results::{
    BenchResult, Generated, GenerationSettings, Outcome, OutcomeLine, Results, plus_not_run,
};
use codeblock_core::eval::tasks::{InputSet, Task, extract_code, instruction, load_tasks, test_program};
use codeblock_core::model::{GenerateConfig, Request, generate_batch};
use codeblock_core::pipeline::record::Message;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::model::{self, DeviceArg};
use crate::sandbox::{self, Limits};
use crate::{datasets, input};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Benchmarks, comma-separated: `humaneval`, `mbpp` (tasks 11–510), `mbpp-plus` (base and
    /// plus inputs, reported side by side), `mbpp-validation` (tasks 511–600 that MBPP+ does
    /// not hold: for choosing settings), or a path to a JSONL(.gz) file in HumanEval's or
    /// EvalPlus's schema.
    #[arg(long, value_delimiter = ',', required = true)]
    bench: Vec<String>,
    /// Solutions: JSONL lines with `task_id` and `solution` (a complete program) or
    /// `completion` (what follows the task's prompt). Several lines per task: n samples.
    #[arg(long, required_unless_present_any = ["canonical", "model"])]
    samples: Option<PathBuf>,
    /// Score the tasks' canonical solutions instead (every one should pass).
    #[arg(long, conflicts_with = "samples")]
    canonical: bool,
    /// Generate the solutions with this model (GGUF file or Hugging Face folder).
    #[arg(long, conflicts_with_all = ["samples", "canonical"])]
    model: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceArg,
    /// Samples per task (with `--temperature` > 0 for unbiased pass@k).
    #[arg(long, default_value_t = 1)]
    n: usize,
    /// 0 is greedy.
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    #[arg(long, default_value_t = 0.95)]
    top_p: f32,
    #[arg(long, default_value_t = 512)]
    max_tokens: usize,
    /// Generate every reply to its end token or `--max-tokens`, instead of stopping once its
    /// first fenced block that defines the entry point is closed (which cannot change the code
    /// evaluated; replies of an instruct model stop there by default).
    #[arg(long)]
    full_replies: bool,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Replies generated together (one batch reads the weights once per token for all of its
    /// rows: several times the throughput of one at a time).
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Batches generated at once, each on its own thread (default: the CPU's cores on the CPU,
    /// one on a GPU).
    #[arg(long)]
    threads: Option<usize>,
    /// The results folder.
    #[arg(long)]
    out: PathBuf,
    /// Programs run at once.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Wall-clock seconds per program.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Wall-clock seconds per program on EvalPlus's plus inputs (many more inputs; each input
    /// also has its own limit, 4× the canonical solution's time, at least 1 s).
    #[arg(long, default_value_t = 60.0)]
    plus_timeout: f64,
    /// Address-space limit per program on the plus inputs (some are large: MBPP+'s Mbpp/255's
    /// canonical solution needs more than 1 GiB).
    #[arg(long, default_value_t = 4096)]
    plus_memory_mib: u64,
    /// Address-space limit per program.
    #[arg(long, default_value_t = 1024)]
    memory_mib: u64,
    /// The k of pass@k, comma-separated (each needs at least k samples per task).
    #[arg(long, value_delimiter = ',', default_value = "1")]
    k: Vec<usize>,
    /// Only the first N tasks of each benchmark (a quick check).
    #[arg(long)]
    limit: Option<usize>,
    /// The model's training data (JSONL records with an `id`: pairs, or `select`'s output), so
    /// that no task it holds is evaluated. Found by itself for a `codeblock train` run's
    /// `OUT/final` (its `OUT/run.json` names the data).
    #[arg(long)]
    trained_on: Option<PathBuf>,
    /// Evaluate tasks the model was trained on anyway (the score then says nothing about
    /// generalisation).
    #[arg(long)]
    allow_trained_tasks: bool,
}

/// One solution to run.
struct Sample<'a> {
    bench: &'a str,
    task: &'a Task,
    solution: String,
}

#[derive(Serialize)]
struct SampleLine<'a> {
    task_id: &'a str,
    solution: &'a str,
}

pub fn run(args: Args) -> Result<()> {
    ensure!(args.workers > 0, "--workers must be positive");
    ensure!(args.batch > 0, "--batch must be positive");
    sandbox::check()?;
    let benches: Vec<(String, Vec<Task>)> = args
        .bench
        .iter()
        .map(|name| Ok((name.clone(), tasks(name, args.limit)?)))
        .collect::<Result<_>>()?;
    if !args.allow_trained_tasks
        && let Some(data) = training_data(&args)?
    {
        refuse_trained_tasks(&data, &benches)?;
    }
    let mut generated = None;
    let solutions = match (&args.samples, &args.model) {
        (Some(path), _) => Some(read_samples(path)?),
        (None, Some(model)) => {
            let (solutions, work) = generate_samples(&args, model, &benches)?;
            generated = Some(work);
            Some(solutions)
        }
        (None, None) => None,
    };
    let mut samples = Vec::new();
    for (bench, tasks) in &benches {
        for task in tasks {
            let found: Vec<String> = match &solutions {
                None => vec![task.canonical.clone()],
                Some(by_task) => by_task
                    .get(&task.task_id)
                    .map(|list| list.iter().map(|s| s.program(task)).collect())
                    .with_context(|| format!("{bench}: no sample for task {}", task.task_id))?,
            };
            samples.extend(found.into_iter().map(|solution| Sample { bench, task, solution }));
        }
    }
    let limits = Limits {
        timeout: Duration::from_secs_f64(args.timeout),
        memory_mib: args.memory_mib,
        ..Limits::default()
    };
    let clock = Instant::now();
    let plus_limits = Limits {
        timeout: Duration::from_secs_f64(args.plus_timeout),
        memory_mib: args.plus_memory_mib,
        ..limits.clone()
    };
    let outcomes = run_all(&samples, &limits, &plus_limits, args.workers)?;
    let seconds = clock.elapsed().as_secs_f64();
    write_outputs(&args, &benches, &samples, &outcomes, generated, seconds)
}

/// The training data of the evaluated model: `--trained-on`, else the data of the
/// `codeblock train` run whose `final` folder it is.
fn training_data(args: &Args) -> Result<Option<PathBuf>> {
    if let Some(path) = &args.trained_on {
        return Ok(Some(path.clone()));
    }
    let Some(run) = args.model.as_deref().and_then(Path::parent) else {
        return Ok(None);
    };
    match run.join("run.json").exists() {
        true => Ok(crate::train::saved(run)?.data),
        false => Ok(None),
    }
}

/// Stops, naming them, when tasks of `benches` are in the training data at `data`.
pub fn refuse_trained_tasks(data: &Path, benches: &[(String, Vec<Task>)]) -> Result<()> {
    let records = input::read_jsonl::<serde_json::Value>(data, "a JSON record")?;
    let ids: Vec<String> = records
        .iter()
        .filter_map(|(_, record)| match &record["id"] {
            serde_json::Value::String(id) => Some(id.clone()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        })
        .collect();
    for (bench, tasks) in benches {
        let trained = trained_on(ids.iter().map(String::as_str), tasks);
        ensure!(
            trained.is_empty(),
            "{bench}: {} of its {} tasks are in the training data {}: {}{}. Evaluate on other tasks \
             (e.g. MBPP+ without MBPP's training split), or pass --allow-trained-tasks to score them anyway",
            trained.len(),
            tasks.len(),
            data.display(),
            trained.iter().take(12).cloned().collect::<Vec<_>>().join(", "),
            if trained.len() > 12 { ", ..." } else { "" }
        );
    }
    Ok(())
}

/// The tasks of a named benchmark or a file.
pub fn tasks(name: &str, limit: Option<usize>) -> Result<Vec<Task>> {
    let (path, split) = match name {
        "humaneval" => (datasets::humaneval(), None),
        "mbpp" => (datasets::mbpp(), Some(Split::Test)),
        "mbpp-plus" => (datasets::mbpp_plus(), None),
        "mbpp-validation" => (datasets::mbpp(), Some(Split::Validation)),
        path => (PathBuf::from(path), None),
    };
    let bytes = input::read(&path).with_context(|| format!("benchmark `{name}` (see README: Evaluation)"))?;
    let text = String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8", path.display()))?;
    let mut tasks = load_tasks(&text).with_context(|| path.display().to_string())?;
    if let Some(split) = split {
        tasks.retain(|t| Split::of(&t.task_id) == Some(split));
    }
    if name == "mbpp-validation" {
        // MBPP+ holds 39 of MBPP's validation tasks: settings chosen on them would be chosen on
        // the test set.
        let tested: HashSet<Option<u32>> = self::tasks("mbpp-plus", None)?
            .iter()
            .map(|t| task_number(&t.task_id))
            .collect();
        tasks.retain(|t| !tested.contains(&task_number(&t.task_id)));
    }
    tasks.truncate(limit.unwrap_or(usize::MAX));
    ensure!(!tasks.is_empty(), "{}: no task", path.display());
    Ok(tasks)
}

/// A solution line of a samples file.
#[derive(serde::Deserialize)]
struct SolutionLine {
    task_id: String,
    solution: Option<String>,
    completion: Option<String>,
}

impl SolutionLine {
    fn program(&self, task: &Task) -> String {
        match (&self.solution, &self.completion) {
            (Some(solution), _) => solution.clone(),
            (None, Some(completion)) => format!("{}{completion}", task.prompt),
            (None, None) => String::new(),
        }
    }
}

/// A model's solutions: per task, `n` replies to the task as a user turn (the chat template
/// when the model has one; else the prompt to continue), code extracted from each.
fn generate_samples(
    args: &Args,
    path: &Path,
    benches: &[(String, Vec<Task>)],
) -> Result<(BTreeMap<String, Vec<SolutionLine>>, Generated)> {
    let (device, device_name) = model::choose_device(args.device);
    eprintln!("model {} on {device_name}, generating", path.display());
    let loaded = model::load(path, device)?;
    let bundle = &loaded.bundle;
    let total: usize = benches.iter().map(|(_, tasks)| tasks.len() * args.n).sum();
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("generate {bar:40} {pos}/{len} replies, eta {eta} {msg}")
            .expect("the template is valid"),
    );
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let tasks: Vec<&Task> = benches.iter().flat_map(|(_, tasks)| tasks).collect();
    let mut requests = Vec::new();
    for task in &tasks {
        // An instruct model answers the task as a user turn; a base model continues it.
        let (ids, stop, answered) = match &bundle.chat.template {
            Some(_) => {
                let turn = [Message {
                    role: "user".into(),
                    content: instruction(task),
                }];
                let answered = (!args.full_replies).then(|| task.entry_point.clone());
                (bundle.chat.prompt_ids(&turn)?, vec![], answered)
            }
            None => (
                bundle.chat.tokenizer.encode_with_specials(&task.prompt)?,
                ["\ndef ", "\nclass ", "\nif __name__", "\nprint("]
                    .map(String::from)
                    .to_vec(),
                None,
            ),
        };
        requests.extend((0..args.n).map(|sample| Request {
            prompt: ids.clone(),
            config: GenerateConfig {
                max_tokens: args.max_tokens,
                temperature: args.temperature,
                top_p: args.top_p,
                seed: args.seed.wrapping_add(sample as u64),
                stop: stop.clone(),
                stop_when_answered: answered.clone(),
            },
        }));
    }
    // Batches of similar prompt lengths waste little on padding.
    let mut order: Vec<usize> = (0..requests.len()).collect();
    order.sort_by_key(|&i| requests[i].prompt.len());
    let threads = args.threads.unwrap_or_else(|| match loaded.device == Device::flex() {
        // One decoding step of a batch keeps one core busy; more batches use more cores.
        true => std::thread::available_parallelism().map_or(1, usize::from),
        false => 1,
    });
    // Batches are fixed before any thread starts, so replies do not depend on `threads`.
    let batches: Vec<&[usize]> = order.chunks(args.batch).collect();
    let next = AtomicUsize::new(0);
    let tokens = AtomicUsize::new(0);
    let generations = Mutex::new(vec![None; requests.len()]);
    let clock = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                while let Some(&chunk) = batches.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let batch: Vec<Request> = chunk.iter().map(|&i| requests[i].clone()).collect();
                    let replies = generate_batch(
                        &bundle.model,
                        &loaded.device,
                        &bundle.chat.tokenizer,
                        &batch,
                        &bundle.chat.end_tokens,
                        bundle.config.max_positions(),
                    );
                    let count: usize = replies.iter().map(|r| r.ids.len()).sum();
                    let done = tokens.fetch_add(count, Ordering::Relaxed) + count;
                    let mut generations = generations.lock().expect("no generation thread panics");
                    for (&i, reply) in chunk.iter().zip(replies) {
                        generations[i] = Some(reply);
                    }
                    bar.set_message(format!("{:.1} tokens/s", done as f64 / clock.elapsed().as_secs_f64()));
                    bar.inc(chunk.len() as u64);
                }
            });
        }
    });
    let generations = generations.into_inner().expect("no generation thread panics");
    let tokens = tokens.into_inner();
    let mut replies = String::new();
    let mut by_task: BTreeMap<String, Vec<SolutionLine>> = BTreeMap::new();
    for (i, reply) in generations.into_iter().enumerate() {
        let task = tasks[i / args.n];
        let reply = reply.expect("every request was generated");
        replies += &(serde_json::json!({"task_id": task.task_id, "reply": reply.text, "stop": reply.stop.name()})
            .to_string()
            + "\n");
        let code = match &bundle.chat.template {
            Some(_) => extract_code(&reply.text, &task.prompt, &task.entry_point),
            None => format!("{}{}", task.prompt, reply.text),
        };
        by_task.entry(task.task_id.clone()).or_default().push(SolutionLine {
            task_id: task.task_id.clone(),
            solution: Some(code),
            completion: None,
        });
    }
    bar.finish_and_clear();
    std::fs::write(args.out.join("replies.jsonl"), replies)?;
    let generated = Generated {
        replies: total,
        tokens,
        seconds: clock.elapsed().as_secs_f64(),
    };
    eprintln!("{total} replies, {tokens} tokens in {:.0}s", generated.seconds);
    Ok((by_task, generated))
}

fn read_samples(path: &Path) -> Result<BTreeMap<String, Vec<SolutionLine>>> {
    let mut by_task: BTreeMap<String, Vec<SolutionLine>> = BTreeMap::new();
    for (number, sample) in input::read_jsonl::<SolutionLine>(path, "a sample (task_id, solution)")? {
        if sample.solution.is_none() && sample.completion.is_none() {
            bail!("{} line {number}: neither `solution` nor `completion`", path.display());
        }
        by_task.entry(sample.task_id.clone()).or_default().push(sample);
    }
    Ok(by_task)
}

/// Runs every sample in the sandbox, `workers` at a time; outcomes in sample order.
fn run_all(samples: &[Sample], limits: &Limits, plus_limits: &Limits, workers: usize) -> Result<Vec<OutcomeLine>> {
    let bar = ProgressBar::new(samples.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("eval {bar:40} {pos}/{len} programs, eta {eta} {msg}")
            .expect("the template is valid"),
    );
    let passed = AtomicUsize::new(0);
    let outcomes = sandbox::in_parallel(samples.len(), workers, |i| {
        let outcome = run_sample(&samples[i], limits, plus_limits)?;
        if outcome.outcome == Outcome::Passed {
            passed.fetch_add(1, Ordering::Relaxed);
        }
        bar.set_message(format!("{} passed", passed.load(Ordering::Relaxed)));
        bar.inc(1);
        Ok(outcome)
    })?;
    bar.finish_and_clear();
    Ok(outcomes)
}

/// One sample's outcome on the base tests and, when its task has them and the base tests
/// pass, on the plus inputs.
fn run_sample(sample: &Sample, limits: &Limits, plus_limits: &Limits) -> Result<OutcomeLine> {
    let program = |set| test_program(sample.task, &sample.solution, set);
    let base = program(InputSet::Base).context("every task has base tests")?;
    let outcome = sandbox::run(&base, limits)?;
    let plus = match program(InputSet::Plus) {
        Some(_) if outcome != Outcome::Passed => Some(plus_not_run()),
        Some(plus) => Some(sandbox::run(&plus, plus_limits)?),
        None => None,
    };
    Ok(OutcomeLine {
        bench: sample.bench.to_string(),
        task_id: sample.task.task_id.clone(),
        outcome,
        plus,
    })
}

fn write_outputs(
    args: &Args,
    benches: &[(String, Vec<Task>)],
    samples: &[Sample],
    outcomes: &[OutcomeLine],
    generated: Option<Generated>,
    seconds: f64,
) -> Result<()> {
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut sample_lines = String::new();
    let mut outcome_lines = String::new();
    for (sample, outcome) in samples.iter().zip(outcomes) {
        let task_id = &sample.task.task_id;
        sample_lines += &(serde_json::to_string(&SampleLine {
            task_id,
            solution: &sample.solution,
        })? + "\n");
        outcome_lines += &(serde_json::to_string(outcome)? + "\n");
    }
    std::fs::write(args.out.join("samples.jsonl"), sample_lines)?;
    std::fs::write(args.out.join("outcomes.jsonl"), outcome_lines)?;

    let mut results = BTreeMap::new();
    println!(
        "{:<12} {:>6} {:>8} {:>7} {:>7} {:>8}  pass@k",
        "bench", "tasks", "samples", "passed", "failed", "timeout"
    );
    for (bench, tasks) in benches {
        let result = BenchResult::tally(tasks.len(), outcomes.iter().filter(|o| o.bench == *bench), &args.k);
        let mut shown: Vec<String> = result
            .pass_at
            .iter()
            .map(|(k, v)| format!("{k} {:.1}%", 100.0 * v))
            .collect();
        if let Some(plus) = &result.plus {
            shown.extend(plus.pass_at.iter().map(|(k, v)| format!("plus {k} {:.1}%", 100.0 * v)));
        }
        println!(
            "{bench:<12} {:>6} {:>8} {:>7} {:>7} {:>8}  {}",
            result.tasks,
            result.samples,
            result.passed,
            result.failed,
            result.timeout,
            shown.join(", ")
        );
        results.insert(bench.clone(), result);
    }
    let solutions = match (&args.model, &args.samples) {
        (Some(model), _) => format!("model {}", model.display()),
        (None, Some(samples)) => samples.display().to_string(),
        (None, None) => "canonical".into(),
    };
    let report = Results {
        benchmarks: results,
        generated,
        generation: args.model.as_ref().map(|_| GenerationSettings {
            batch: args.batch,
            max_tokens: args.max_tokens,
            n: args.n,
            prompt: "the model's chat template with codeblock_core::eval::tasks::instruction as the user turn; \
                     without a template, the task prompt continued (stops: def, class, if __name__, print)"
                .into(),
            stop_when_answered: !args.full_replies,
            seed: args.seed,
            temperature: args.temperature,
            threads: args.threads,
            top_p: args.top_p,
        }),
        memory_mib: args.memory_mib,
        plus_memory_mib: args.plus_memory_mib,
        plus_timeout_s: args.plus_timeout,
        sandbox_s: seconds,
        solutions,
        timeout_s: args.timeout,
        workers: args.workers,
    };
    std::fs::write(
        args.out.join("results.json"),
        serde_json::to_string_pretty(&report)? + "\n",
    )?;
    println!(
        "{} programs in {seconds:.1}s; wrote {}",
        samples.len(),
        args.out.join("results.json").display()
    );
    Ok(())
}
