//! `codeblock select`: the pipeline over a JSONL file, with progress, timings and a report.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::ValueEnum;
use codeblock_core::Config;
use codeblock_core::model::ModelScorer;
use codeblock_core::output::RecordOutput;
use codeblock_core::pipeline::{self, Analysis, Prepared, Reject};
use codeblock_core::record::{Fields, Schema, parse_record};
use codeblock_core::score::{Aggregate, NgramScorer, PrecomputedScorer, TokenScorer};
use codeblock_core::select::BudgetScope;
use codeblock_core::summary::Summary;
use codeblock_core::tokens::{HfTokenizer, LexicalTokenizer, Tokenize};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::input;
use crate::model::{self, DeviceArg};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Instruction/response pairs, one JSON object a line (`.gz` accepted).
    #[arg(long)]
    input: PathBuf,
    /// Where to write one JSON line per input record.
    #[arg(long)]
    out: PathBuf,
    /// A Hugging Face `tokenizer.json`: the trainer's tokenizer. Without one, a lexical fallback.
    #[arg(long)]
    tokenizer: Option<PathBuf>,
    /// A language model (GGUF) that scores the tokens; its own tokenizer and chat template are
    /// used. Without `--model` or `--scores`, the n-gram baseline fitted on the input scores.
    #[arg(long, conflicts_with_all = ["scores", "tokenizer"])]
    model: Option<PathBuf>,
    /// Where the model runs.
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceArg,
    /// Token budget of one model batch (sequences × padded length).
    #[arg(long, default_value_t = 2048)]
    batch_tokens: usize,
    /// Precomputed response-token log-probs (JSONL: id, token_ids, logprobs).
    #[arg(long)]
    scores: Option<PathBuf>,
    /// Write the run summary as JSON here too.
    #[arg(long)]
    report: Option<PathBuf>,
    /// A JSON file with any pipeline knobs (see METHOD.md); flags below override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Force a schema instead of detecting one per record.
    #[arg(long, value_enum)]
    schema: Option<SchemaArg>,
    #[arg(long)]
    budget: Option<f64>,
    #[arg(long, value_enum)]
    budget_scope: Option<ScopeArg>,
    #[arg(long)]
    prose_share: Option<f64>,
    /// Allow records to end with no supervised token.
    #[arg(long)]
    allow_empty: bool,
    #[arg(long)]
    q: Option<f64>,
    #[arg(long, value_enum)]
    aggregate: Option<AggregateArg>,
    #[arg(long)]
    lambda_reach: Option<f64>,
    #[arg(long)]
    lambda_bridge: Option<f64>,
    #[arg(long)]
    gate_quantile: Option<f64>,
    #[arg(long)]
    max_depth: Option<usize>,
    #[arg(long)]
    min_item_bytes: Option<usize>,
    #[arg(long)]
    max_response_bytes: Option<usize>,
    #[arg(long, default_value = "id")]
    id_field: String,
    #[arg(long, default_value = "instruction")]
    instruction_field: String,
    #[arg(long, default_value = "input")]
    input_field: String,
    #[arg(long, default_value = "output")]
    output_field: String,
    #[arg(long, default_value = "messages")]
    messages_field: String,
    #[arg(long, default_value = "prompt")]
    prompt_field: String,
    #[arg(long, default_value = "completion")]
    completion_field: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SchemaArg {
    Alpaca,
    Messages,
    PromptCompletion,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ScopeArg {
    Global,
    PerRecord,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum AggregateArg {
    Mean,
    Max,
    Sum,
}

impl Args {
    fn config(&self) -> Result<Config> {
        let mut config: Config = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
                serde_json::from_str(&text)
                    .with_context(|| format!("{}: not a valid codeblock config", path.display()))?
            }
            None => Config::default(),
        };
        let select = &mut config.select;
        set(&mut select.budget, self.budget);
        set(&mut select.prose_share, self.prose_share);
        set(
            &mut select.scope,
            self.budget_scope.map(|s| match s {
                ScopeArg::Global => BudgetScope::Global,
                ScopeArg::PerRecord => BudgetScope::PerRecord,
            }),
        );
        select.allow_empty |= self.allow_empty;
        set(&mut config.score.q, self.q);
        set(
            &mut config.score.aggregate,
            self.aggregate.map(|a| match a {
                AggregateArg::Mean => Aggregate::Mean,
                AggregateArg::Max => Aggregate::Max,
                AggregateArg::Sum => Aggregate::Sum,
            }),
        );
        set(&mut config.dataflow.lambda_reach, self.lambda_reach);
        set(&mut config.dataflow.lambda_bridge, self.lambda_bridge);
        set(&mut config.dataflow.gate_quantile, self.gate_quantile);
        set(&mut config.partition.max_depth, self.max_depth);
        set(&mut config.partition.min_item_bytes, self.min_item_bytes);
        set(&mut config.max_response_bytes, self.max_response_bytes);
        check_fraction("budget", config.select.budget)?;
        check_fraction("prose-share", config.select.prose_share)?;
        check_fraction("q", config.score.q)?;
        check_fraction("gate-quantile", config.dataflow.gate_quantile)?;
        Ok(config)
    }

    fn fields(&self) -> Fields {
        Fields {
            id: self.id_field.clone(),
            instruction: self.instruction_field.clone(),
            input: self.input_field.clone(),
            output: self.output_field.clone(),
            messages: self.messages_field.clone(),
            prompt: self.prompt_field.clone(),
            completion: self.completion_field.clone(),
        }
    }
}

fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *target = value;
    }
}

fn check_fraction(name: &str, value: f64) -> Result<()> {
    anyhow::ensure!(
        (0.0..=1.0).contains(&value),
        "--{name} must be between 0 and 1, got {value}"
    );
    Ok(())
}

/// Wall time of each stage, for the report.
#[derive(Debug, Default, Serialize)]
struct Timings {
    read_s: f64,
    prepare_s: f64,
    score_s: f64,
    rank_s: f64,
    select_s: f64,
    write_s: f64,
}

#[derive(Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    summary: &'a Summary,
    timings: &'a Timings,
    tokenizer: String,
    scorer: String,
    config: &'a Config,
}

pub fn run(args: Args) -> Result<()> {
    let config = args.config()?;
    let Scoring {
        tokenizer,
        mut scorer,
        name: scorer_name,
    } = tokenizer_and_scorer(&args)?;
    let mut timings = Timings::default();

    let clock = Instant::now();
    let lines = input::lines(&args.input)?;
    timings.read_s = seconds(clock.elapsed());
    let fields = args.fields();
    let schema = args.schema.map(|s| match s {
        SchemaArg::Alpaca => Schema::Alpaca,
        SchemaArg::Messages => Schema::Messages,
        SchemaArg::PromptCompletion => Schema::PromptCompletion,
    });

    // Stage 1: prepare every record; a record that fails keeps its slot as a reject.
    let clock = Instant::now();
    let progress = bar(lines.len(), "prepare", "records");
    let mut outputs: Vec<Option<RecordOutput>> = vec![None; lines.len()];
    let mut prepared: Vec<(usize, Prepared)> = Vec::new();
    let mut line_numbers = Vec::with_capacity(lines.len());
    for (slot, line) in lines.into_iter().enumerate() {
        let number = line.number;
        line_numbers.push(number);
        let at_line = |reject: Reject| Reject::new(&reject.reason, format!("line {number}: {}", reject.message));
        let outcome = match line.text {
            Err(e) => Err((format!("line {number}"), at_line(Reject::new("invalid_utf8", e)))),
            Ok(text) => match parse_record(&text, &number.to_string(), &fields, schema) {
                Err(e) => Err((
                    format!("line {number}"),
                    at_line(Reject::new(e.reason(), e.to_string())),
                )),
                Ok(record) => {
                    let id = record.id.clone();
                    pipeline::prepare(record, tokenizer.as_ref(), &config).map_err(|e| (id, at_line(e)))
                }
            },
        };
        match outcome {
            Ok(p) => prepared.push((slot, p)),
            Err((id, reject)) => outputs[slot] = Some(RecordOutput::rejected(id, reject)),
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    timings.prepare_s = seconds(clock.elapsed());

    // Stage 2: score, in batches so a model scorer can fill them.
    let clock = Instant::now();
    let batch: Vec<&Prepared> = prepared.iter().map(|(_, p)| p).collect();
    let requests = pipeline::requests(&batch);
    scorer.observe(&requests);
    let total_tokens: usize = requests.iter().map(|r| r.tokens.len()).sum();
    let progress = bar(total_tokens, "score", "tokens");
    let mut logprobs = Vec::with_capacity(requests.len());
    for chunk in requests.chunks(64) {
        logprobs.extend(scorer.logprobs(chunk));
        progress.inc(chunk.iter().map(|r| r.tokens.len() as u64).sum());
    }
    progress.finish_and_clear();
    timings.score_s = seconds(clock.elapsed());

    // Stage 3: rank.
    let clock = Instant::now();
    let mut analysed: Vec<(usize, Analysis)> = Vec::new();
    for ((slot, p), scores) in prepared.into_iter().zip(logprobs) {
        let id = p.record.id.clone();
        match scores
            .map_err(Reject::from)
            .and_then(|l| pipeline::rank(p, &l, &config))
        {
            Ok(a) => analysed.push((slot, a)),
            Err(reject) => {
                let message = format!("line {}: {}", line_numbers[slot], reject.message);
                outputs[slot] = Some(RecordOutput::rejected(id, Reject::new(&reject.reason, message)));
            }
        }
    }
    timings.rank_s = seconds(clock.elapsed());

    // Stage 4: select across the dataset.
    let clock = Instant::now();
    let (slots, analyses): (Vec<usize>, Vec<Analysis>) = analysed.into_iter().unzip();
    let chosen = pipeline::choose(&analyses, &config.select);
    for ((slot, analysis), chosen) in slots.into_iter().zip(&analyses).zip(&chosen) {
        outputs[slot] = Some(pipeline::output(analysis, chosen));
    }
    timings.select_s = seconds(clock.elapsed());

    // Stage 5: write, in input order.
    let clock = Instant::now();
    let outputs: Vec<RecordOutput> = outputs
        .into_iter()
        .map(|o| o.expect("every input line has an output or a reject"))
        .collect();
    write_jsonl(&args.out, &outputs)?;
    timings.write_s = seconds(clock.elapsed());

    let summary = Summary::new(&outputs, config.select.budget);
    let tokenizer_name = args
        .tokenizer
        .as_ref()
        .map_or("lexical".to_string(), |p| p.display().to_string());
    print_summary(&summary, &timings, &args.out);
    if let Some(path) = &args.report {
        let report = Report {
            summary: &summary,
            timings: &timings,
            tokenizer: tokenizer_name,
            scorer: scorer_name.clone(),
            config: &config,
        };
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// How responses are tokenized and scored, and the scorer's name for the report.
struct Scoring {
    tokenizer: Box<dyn Tokenize>,
    scorer: Box<dyn TokenScorer>,
    name: String,
}

/// The tokenizer of the response and the scorer of its tokens, with a name for the report: the
/// model's own tokenizer with `--model`, else `--tokenizer` (or the lexical fallback) with
/// precomputed or n-gram scores.
fn tokenizer_and_scorer(args: &Args) -> Result<Scoring> {
    Ok(match (&args.model, &args.scores) {
        (Some(path), _) => {
            let (device, device_name) = model::choose_device(args.device);
            eprintln!("model {} on {device_name}", path.display());
            let loaded = model::load(path, device)?;
            let max_positions = loaded.config.max_positions();
            let tokenizer = loaded.tokenizer.clone();
            let mut scorer = ModelScorer::new(
                loaded.model,
                loaded.device,
                loaded.tokenizer,
                loaded.template,
                max_positions,
            );
            scorer.batch_tokens = args.batch_tokens;
            Scoring {
                tokenizer: Box::new(tokenizer),
                scorer: Box::new(scorer),
                name: format!("model {} on {device_name}", path.display()),
            }
        }
        (None, scores) => {
            let tokenizer: Box<dyn Tokenize> = match &args.tokenizer {
                Some(path) => {
                    let bytes =
                        std::fs::read(path).with_context(|| format!("cannot read tokenizer {}", path.display()))?;
                    Box::new(HfTokenizer::from_bytes(&bytes).with_context(|| format!("tokenizer {}", path.display()))?)
                }
                None => Box::new(LexicalTokenizer),
            };
            match scores {
                Some(path) => Scoring {
                    tokenizer,
                    scorer: Box::new(read_scores(path)?),
                    name: "precomputed".into(),
                },
                None => Scoring {
                    tokenizer,
                    scorer: Box::new(NgramScorer::default()),
                    name: "ngram".into(),
                },
            }
        }
    })
}

fn read_scores(path: &Path) -> Result<PrecomputedScorer> {
    let mut scorer = PrecomputedScorer::default();
    for line in input::lines(path)? {
        let text = line
            .text
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("{} line {}", path.display(), line.number))?;
        scorer
            .add_line(line.number, &text)
            .with_context(|| path.display().to_string())?;
    }
    Ok(scorer)
}

fn write_jsonl(path: &Path, outputs: &[RecordOutput]) -> Result<()> {
    let file = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    for output in outputs {
        serde_json::to_writer(&mut out, output)?;
        out.write_all(b"\n")?;
    }
    out.flush().with_context(|| format!("cannot write {}", path.display()))
}

fn bar(len: usize, stage: &str, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    let template = format!("{{msg:>8}} {{bar:40}} {{pos}}/{{len}} {unit}, {{per_sec}}, eta {{eta}}");
    bar.set_style(ProgressStyle::with_template(&template).expect("the template is valid"));
    bar.set_message(stage.to_string());
    bar
}

fn seconds(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

fn print_summary(summary: &Summary, timings: &Timings, out: &Path) {
    println!(
        "records: {} in, {} ok, {} rejected{}",
        summary.records_in,
        summary.records_ok,
        summary.records_rejected,
        if summary.rejected_by_reason.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                summary
                    .rejected_by_reason
                    .iter()
                    .map(|(r, n)| format!("{r}: {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    println!(
        "supervised: {} of {} response tokens = {:.3}% (asked {:.3}%)",
        summary.supervised_tokens,
        summary.response_tokens,
        100.0 * summary.supervised_fraction,
        100.0 * summary.asked_fraction
    );
    println!(
        "items: {} ({:.1} per record), {} selected; {} records guarded, {} empty; {} diagnostics",
        summary.items,
        summary.items_per_record,
        summary.selected_items,
        summary.guarded_records,
        summary.empty_records,
        summary.diagnostics
    );
    println!(
        "time: read {:.2}s, prepare {:.2}s, score {:.2}s, rank {:.2}s, select {:.2}s, write {:.2}s",
        timings.read_s, timings.prepare_s, timings.score_s, timings.rank_s, timings.select_s, timings.write_s
    );
    println!("wrote {}", out.display());
}
