//! `codeblock select`: the pipeline over a JSONL file, with progress, timings and a report.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use clap::ValueEnum;
use codeblock_core::Config;
use codeblock_core::pipeline::analysis::Analysis;
use codeblock_core::pipeline::output::RecordOutput;
use codeblock_core::pipeline::score::{
    Aggregate, CoreTokens, Fitted, NgramScorer, PrecomputedScorer, TokenScorer, Utility,
};
use codeblock_core::pipeline::select::{
    self, BudgetScope, Candidate, Chosen, Cut, CutPlan, Granularity, Guard, GuardOptions, SelectConfig, Shortlist,
};
use codeblock_core::pipeline::summary::Summary;
use codeblock_core::pipeline::tokens::{HfTokenizer, LexicalTokenizer, Tokenize};
use codeblock_core::pipeline::{self, PreparedSlot, Progress, Stage};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use rayon::iter::{IndexedParallelIterator, IntoParallelIterator, IntoParallelRefIterator, ParallelIterator};
use serde::Serialize;

use crate::input::{self, RecordArgs};
use crate::model::{self, DeviceArg};
use crate::output;
use crate::runs::Runs;
use crate::spill::Spill;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write one JSON line per input record.
    #[arg(long)]
    out: PathBuf,
    /// A Hugging Face `tokenizer.json` (or a GGUF model file, for its tokenizer): the trainer's
    /// tokenizer. Without one, a lexical fallback.
    #[arg(long)]
    tokenizer: Option<PathBuf>,
    /// A language model (GGUF) that scores the tokens; its own tokenizer and chat template are
    /// used. Without `--model` or `--scores`, the n-gram baseline fitted on the input scores.
    #[arg(long, conflicts_with_all = ["scores", "tokenizer"])]
    model: Option<PathBuf>,
    /// Where the model runs.
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceArg,
    /// Token budget of one model batch (sequences × padded length); on the CPU one batch per
    /// core runs at once.
    #[arg(long, default_value_t = 2048)]
    batch_tokens: usize,
    /// Records held in memory between passes over the input (two passes' worth at most); past
    /// that, records wait on disk beside `--out`, so memory stays flat however large the input.
    #[arg(long, default_value_t = 8192, value_parser = clap::value_parser!(u64).range(1..))]
    in_memory: u64,
    /// Precomputed response-token log-probs (JSONL: id, token_ids, logprobs).
    #[arg(long)]
    scores: Option<PathBuf>,
    /// Write the run summary as JSON here too.
    #[arg(long)]
    report: Option<PathBuf>,
    /// A JSON file with any pipeline knobs (see METHOD.md); flags below override it.
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long)]
    budget: Option<f64>,
    #[arg(long, value_enum)]
    budget_scope: Option<ScopeArg>,
    #[arg(long)]
    prose_share: Option<f64>,
    /// The unit every record is guaranteed: its best code item that fits its share of the
    /// budget (`item`), its best prose token (`prose`), or nothing (`none`).
    #[arg(long, value_enum)]
    guard: Option<GuardArg>,
    /// What code is selected as: whole coding items (the method), or single core-logic tokens
    /// by their GCE (the `top-tokens` ablation: scores without structure).
    #[arg(long, value_enum)]
    granularity: Option<GranularityArg>,
    #[arg(long)]
    q: Option<f64>,
    #[arg(long, value_enum)]
    aggregate: Option<AggregateArg>,
    /// What a token's score is: its GCE under the scorer (`gce`), or that minus its GCE under
    /// the reference model (`excess`: what is learnable, not just hard; needs `--reference` or
    /// `--reference-scores`).
    #[arg(long, value_enum)]
    utility: Option<UtilityArg>,
    /// The reference model of the `excess` utility (GGUF file or Hugging Face folder), with the
    /// same tokenizer as the scorer.
    #[arg(long, conflicts_with = "reference_scores")]
    reference: Option<PathBuf>,
    /// The reference's log-probs, precomputed (JSONL, as `--scores`).
    #[arg(long)]
    reference_scores: Option<PathBuf>,
    /// Which core tokens an item's utility reads: `all`, or `without-wording` (not the
    /// occurrence that introduces a new name, nor the inside of long string literals).
    #[arg(long, value_enum)]
    core_tokens: Option<CoreTokensArg>,
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
    #[arg(long)]
    max_comment_run: Option<usize>,
    #[arg(long)]
    max_nesting: Option<usize>,
    #[arg(long)]
    max_code_bytes: Option<usize>,
    #[command(flatten)]
    records: RecordArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ScopeArg {
    Global,
    PerRecord,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum GuardArg {
    Item,
    Prose,
    None,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum GranularityArg {
    Items,
    Tokens,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum UtilityArg {
    Gce,
    Excess,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CoreTokensArg {
    All,
    WithoutWording,
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
        set(
            &mut select.guard,
            self.guard.map(|g| match g {
                GuardArg::Item => Guard::Item,
                GuardArg::Prose => Guard::Prose,
                GuardArg::None => Guard::None,
            }),
        );
        set(
            &mut select.granularity,
            self.granularity.map(|g| match g {
                GranularityArg::Items => Granularity::Items,
                GranularityArg::Tokens => Granularity::Tokens,
            }),
        );
        set(&mut config.score.q, self.q);
        set(
            &mut config.score.aggregate,
            self.aggregate.map(|a| match a {
                AggregateArg::Mean => Aggregate::Mean,
                AggregateArg::Max => Aggregate::Max,
                AggregateArg::Sum => Aggregate::Sum,
            }),
        );
        set(
            &mut config.score.utility,
            self.utility.map(|u| match u {
                UtilityArg::Gce => Utility::Gce,
                UtilityArg::Excess => Utility::Excess,
            }),
        );
        set(
            &mut config.score.core_tokens,
            self.core_tokens.map(|c| match c {
                CoreTokensArg::All => CoreTokens::All,
                CoreTokensArg::WithoutWording => CoreTokens::WithoutWording,
            }),
        );
        let has_reference = self.reference.is_some() || self.reference_scores.is_some();
        match config.score.utility {
            Utility::Excess => ensure!(
                has_reference,
                "the excess utility needs --reference or --reference-scores"
            ),
            Utility::Gce => ensure!(!has_reference, "a reference is only used by --utility excess"),
        }
        set(&mut config.dataflow.lambda_reach, self.lambda_reach);
        set(&mut config.dataflow.lambda_bridge, self.lambda_bridge);
        set(&mut config.dataflow.gate_quantile, self.gate_quantile);
        set(&mut config.partition.max_depth, self.max_depth);
        set(&mut config.partition.min_item_bytes, self.min_item_bytes);
        set(&mut config.max_response_bytes, self.max_response_bytes);
        set(&mut config.partition.max_comment_run, self.max_comment_run);
        set(&mut config.partition.max_nesting, self.max_nesting);
        set(&mut config.partition.max_code_bytes, self.max_code_bytes);
        config.check()?;
        Ok(config)
    }
}

fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *target = value;
    }
}

/// Wall time of each stage, for the report.
#[derive(Debug, Default, Serialize)]
struct Timings {
    read_s: f64,
    prepare_s: f64,
    /// Zero with the n-gram scorer, which scores inside the rank stage, on every core.
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

/// Records per chunk: what each pass works on at once.
const CHUNK: usize = 4096;

/// Records scored and ranked together on one core, when the scorer allows it.
const RANK_PIECE: usize = 256;

/// Runs the pipeline in three passes over the input, holding one chunk of records at a time
/// (the rest wait on disk): (1) read and prepare, on every core, showing the scorers the
/// corpus; (2) score and rank, keeping each record's shortlist; then the budget is cut once
/// over all shortlists, and (3) each record's output line is written, in input order.
pub fn run(args: Args) -> Result<()> {
    let config = args.config()?;
    let Scoring {
        tokenizer,
        mut scorer,
        name: scorer_name,
        mut reference,
    } = tokenizer_and_scorer(&args)?;
    let folder = match args.out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut timings = Timings::default();
    let mut progress = StageProgress::new();

    let in_memory = args.in_memory as usize;
    let mut prepared_spill: Spill<PreparedSlot> = Spill::new(in_memory, folder);
    let mut chunks = args.records.chunks(in_memory.min(CHUNK))?;
    loop {
        let clock = Instant::now();
        let Some(inputs) = chunks.next().transpose()? else {
            break;
        };
        timings.read_s += seconds(clock.elapsed());
        progress.stage(Stage::Prepare, inputs.len());
        let bar = progress.bar();
        let prepared: Vec<PreparedSlot> = inputs
            .into_par_iter()
            .map(|input| {
                let prepared = pipeline::prepare_input(input, tokenizer.as_ref(), &config);
                bar.inc(1);
                prepared
            })
            .collect();
        pipeline::observe(
            &prepared,
            scorer.as_dyn(),
            reference.as_deref_mut().map(|r| r as &mut dyn TokenScorer),
        );
        prepared_spill.push(prepared)?;
    }

    let mut analysed_spill: Spill<Result<Analysis, RecordOutput>> = Spill::new(in_memory, folder);
    let mut budget = Budget::new(&config.select, in_memory, folder);
    for prepared in prepared_spill.into_chunks()? {
        let analysed = match &mut scorer {
            Scorer::Ngram(ngram) if reference.is_none() => {
                analyse_on_every_core(prepared?, ngram, &config, &mut progress)
            }
            scorer => pipeline::analyse_prepared(
                prepared?,
                scorer.as_dyn(),
                reference.as_deref_mut().map(|r| r as &mut dyn TokenScorer),
                &config,
                &mut progress,
            ),
        };
        budget.add(&analysed)?;
        analysed_spill.push(analysed)?;
    }

    let records = budget.records;
    progress.stage(Stage::Select, records);
    let cut = budget.cut()?;
    progress.advance(records);
    progress.finish(&mut timings);

    let clock = Instant::now();
    let mut summary = Summary::empty(config.select.budget);
    output::write_with(&args.out, |out| match cut {
        Some(Walked {
            cut,
            mut guards,
            mut taken,
        }) => {
            let (mut guards, mut taken) = (guards.merged()?, taken.merged()?);
            let mut chosen = cut.into_chosen(&mut guards, &mut taken);
            let lines = analysed_spill
                .into_chunks()?
                .map(|analysed| encode_lines(analysed?, &mut chosen, &mut summary));
            output::write_overlapped(out, lines)?;
            drop(chosen);
            guards.finish()?;
            taken.finish()
        }
        None => {
            let lines = analysed_spill.into_chunks()?.map(|analysed| {
                let analysed = analysed?;
                let chosen = select::cut(shortlists(&analysed, &config.select), &config.select);
                encode_lines(analysed, &mut chosen.into_iter(), &mut summary)
            });
            output::write_overlapped(out, lines)
        }
    })?;
    timings.write_s = seconds(clock.elapsed());

    // `--model` brings its own tokenizer; else `--tokenizer`, else the lexical fallback.
    let tokenizer_name = match (&args.model, &args.tokenizer) {
        (Some(model), _) => format!("the model's ({})", model.display()),
        (None, Some(path)) => path.display().to_string(),
        (None, None) => "lexical".to_string(),
    };
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
        output::write(path, text + "\n")?;
    }
    Ok(())
}

/// Stages 2 and 3 of a chunk on every core: a fitted n-gram model is read-only, so pieces of
/// the chunk score with it at once, and each record ranks on its own. The same analyses as
/// [`pipeline::analyse_prepared`], in order; progress and time count as the rank stage.
fn analyse_on_every_core(
    prepared: Vec<PreparedSlot>,
    ngram: &NgramScorer,
    config: &Config,
    progress: &mut StageProgress,
) -> Vec<Result<Analysis, RecordOutput>> {
    progress.stage(Stage::Rank, prepared.len());
    let bar = progress.bar();
    prepared
        .into_par_iter()
        .chunks(RANK_PIECE)
        .flat_map_iter(|piece| {
            let records = piece.len();
            let analysed = pipeline::analyse_prepared(piece, &mut Fitted(ngram), None, config, &mut ());
            bar.inc(records as u64);
            analysed
        })
        .collect()
}

/// The budget's side of the passes: records counted as they come and, under a global budget,
/// the cut's plan and streams. A per-record budget cuts each record as it is written.
struct Budget<'c> {
    config: &'c SelectConfig,
    records: usize,
    global: Option<GlobalBudget<'c>>,
}

/// A global budget: each chunk's candidates and guard options go to external sorts (on disk
/// past `--in-memory` records' worth), which the cut walks merged, keeping what it chooses in
/// external sorts too: nothing grows with the records.
struct GlobalBudget<'c> {
    plan: CutPlan<'c>,
    candidates: Runs<Candidate>,
    options: Runs<GuardOptions>,
    /// Items each external sort holds in memory.
    limit: usize,
    folder: PathBuf,
}

/// The global cut, walked: each record's guard and what the fills took, in record order, for
/// [`Cut::into_chosen`].
struct Walked {
    cut: Cut,
    guards: Runs<Candidate>,
    taken: Runs<Candidate>,
}

/// Candidates a record has, about (29 for MBPP-like pairs), to size the sorts held in memory.
const CANDIDATES_PER_RECORD: usize = 32;

impl<'c> Budget<'c> {
    fn new(config: &'c SelectConfig, in_memory: usize, folder: &Path) -> Self {
        let limit = in_memory.saturating_mul(CANDIDATES_PER_RECORD);
        let global = matches!(config.scope, BudgetScope::Global).then(|| GlobalBudget {
            plan: CutPlan::new(config),
            candidates: Runs::new(select::by_priority, limit, folder),
            options: Runs::new(select::by_guard_order, in_memory, folder),
            limit,
            folder: folder.to_path_buf(),
        });
        Budget {
            config,
            records: 0,
            global,
        }
    }

    /// The next records, in input order.
    fn add(&mut self, analysed: &[Result<Analysis, RecordOutput>]) -> Result<()> {
        self.records += analysed.iter().filter(|a| a.is_ok()).count();
        let Some(global) = &mut self.global else {
            return Ok(());
        };
        let (tokens, candidates) = select::gather(shortlists(analysed, self.config));
        let batch = global.plan.add(&tokens, candidates);
        global.candidates.extend(batch.run)?;
        global.options.extend(batch.options)
    }

    /// The global cut's walk: the guards, then the fills of code and of prose; none per record.
    fn cut(self) -> Result<Option<Walked>> {
        let Some(GlobalBudget {
            plan,
            mut candidates,
            mut options,
            limit,
            folder,
        }) = self.global
        else {
            return Ok(None);
        };
        let mut cut = plan.into_cut();
        let mut by_priority = Runs::new(select::by_priority, limit, &folder);
        let mut by_record = Runs::new(select::by_record, limit, &folder);
        let mut sorted = options.merged()?;
        for guard in sorted.by_ref().filter_map(|o| cut.guard(&o)) {
            by_priority.extend([guard])?;
            by_record.extend([guard])?;
        }
        sorted.finish()?;
        let mut taken = Runs::new(select::by_record, limit, &folder);
        let (mut sorted, mut guards) = (candidates.merged()?, by_priority.merged()?);
        taken.extend(cut.fill_code(&mut sorted, &mut guards))?;
        sorted.finish()?;
        guards.finish()?;
        let (mut sorted, mut guards) = (candidates.merged()?, by_priority.merged()?);
        taken.extend(cut.fill_prose(&mut sorted, &mut guards))?;
        sorted.finish()?;
        guards.finish()?;
        Ok(Some(Walked {
            cut,
            guards: by_record,
            taken,
        }))
    }
}

/// A chunk's output lines, encoded: each analysis with the next of the cut's choices (one per
/// analysis, in record order), the lines made and encoded on every core and counted in the
/// summary in order.
fn encode_lines(
    analysed: Vec<Result<Analysis, RecordOutput>>,
    chosen: &mut impl Iterator<Item = Chosen>,
    summary: &mut Summary,
) -> Result<Vec<u8>> {
    let choices: Vec<Option<Chosen>> = analysed
        .iter()
        .map(|a| a.is_ok().then(|| chosen.next()).flatten())
        .collect();
    let lines: Vec<(RecordOutput, Vec<u8>)> = analysed
        .into_par_iter()
        .zip(choices)
        .map(|(analysis, choice)| {
            let line = pipeline::output_line(analysis, &mut choice.into_iter());
            let mut bytes = serde_json::to_vec(&line)?;
            bytes.push(b'\n');
            Ok((line, bytes))
        })
        .collect::<Result<_>>()?;
    let mut bytes = Vec::with_capacity(lines.iter().map(|(_, b)| b.len()).sum());
    for (line, encoded) in &lines {
        summary.add(line);
        bytes.extend_from_slice(encoded);
    }
    Ok(bytes)
}

/// The shortlists of a chunk's analysed records.
fn shortlists(analysed: &[Result<Analysis, RecordOutput>], config: &SelectConfig) -> Vec<Shortlist> {
    let ok = analysed.par_iter().filter_map(|a| a.as_ref().ok());
    ok.map(|a| select::shortlist(a, config.granularity)).collect()
}

/// A progress bar per pipeline stage, all shown at once (a streamed run goes back and forth
/// between them, chunk by chunk), and each stage's wall time, summed over its visits.
struct StageProgress {
    bars: MultiProgress,
    stages: Vec<(Stage, ProgressBar, Duration)>,
    /// The stage being worked on, and since when.
    current: Option<(usize, Instant)>,
}

impl StageProgress {
    fn new() -> Self {
        StageProgress {
            bars: MultiProgress::new(),
            stages: Vec::new(),
            current: None,
        }
    }

    /// The current stage's bar, for work spread over threads.
    fn bar(&self) -> ProgressBar {
        self.current
            .map_or_else(ProgressBar::hidden, |(i, _)| self.stages[i].1.clone())
    }

    /// Stops the clock of the current stage.
    fn pause(&mut self) {
        if let Some((i, since)) = self.current.take() {
            self.stages[i].2 += since.elapsed();
        }
    }

    /// Clears the bars and writes each stage's time into `timings`.
    fn finish(&mut self, timings: &mut Timings) {
        self.pause();
        for (stage, bar, time) in &self.stages {
            bar.finish_and_clear();
            let slot = match stage {
                Stage::Prepare => &mut timings.prepare_s,
                Stage::Score => &mut timings.score_s,
                Stage::Rank => &mut timings.rank_s,
                Stage::Select => &mut timings.select_s,
            };
            *slot = seconds(*time);
        }
    }
}

impl Progress for StageProgress {
    /// A stage's bar grows by `total` each time the stage is entered (once per chunk).
    fn stage(&mut self, stage: Stage, total: usize) {
        self.pause();
        let i = match self.stages.iter().position(|(s, _, _)| *s == stage) {
            Some(i) => i,
            None => {
                let (name, unit) = match stage {
                    Stage::Prepare => ("prepare", "records"),
                    Stage::Score => ("score", "tokens"),
                    Stage::Rank => ("rank", "records"),
                    Stage::Select => ("select", "records"),
                };
                let bar = self.bars.add(bar(0, name, unit));
                self.stages.push((stage, bar, Duration::ZERO));
                self.stages.len() - 1
            }
        };
        self.stages[i].1.inc_length(total as u64);
        self.current = Some((i, Instant::now()));
    }

    fn advance(&mut self, done: usize) {
        self.bar().inc(done as u64);
    }
}

/// How responses are tokenized and scored, and the scorer's name for the report.
struct Scoring {
    tokenizer: Box<dyn Tokenize + Send + Sync>,
    scorer: Scorer,
    name: String,
    /// The reference scorer of the `excess` utility.
    reference: Option<Box<dyn TokenScorer>>,
}

/// The scorer of a run. The n-gram baseline is kept as itself: once fitted it is read-only, so
/// it scores on every core. A model or precomputed scores score in order, one call at a time.
enum Scorer {
    Ngram(NgramScorer),
    Other(Box<dyn TokenScorer>),
}

impl Scorer {
    fn as_dyn(&mut self) -> &mut dyn TokenScorer {
        match self {
            Scorer::Ngram(ngram) => ngram,
            Scorer::Other(other) => other.as_mut(),
        }
    }
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
            let tokenizer = loaded.bundle.chat.tokenizer.clone();
            let reference = reference(args, Some(&tokenizer))?;
            Scoring {
                tokenizer: Box::new(tokenizer),
                scorer: Scorer::Other(model::scorer(loaded, args.batch_tokens)),
                name: format!("model {} on {device_name}", path.display()),
                reference,
            }
        }
        (None, scores) => {
            let tokenizer: Box<dyn Tokenize + Send + Sync> = match &args.tokenizer {
                Some(path) => {
                    let bytes =
                        std::fs::read(path).with_context(|| format!("cannot read tokenizer {}", path.display()))?;
                    Box::new(
                        HfTokenizer::from_json_or_gguf(&bytes)
                            .with_context(|| format!("tokenizer {}", path.display()))?,
                    )
                }
                None => Box::new(LexicalTokenizer),
            };
            let reference = reference(args, None)?;
            match scores {
                Some(path) => Scoring {
                    tokenizer,
                    scorer: Scorer::Other(Box::new(read_scores(path)?)),
                    name: "precomputed".into(),
                    reference,
                },
                None => Scoring {
                    tokenizer,
                    scorer: Scorer::Ngram(NgramScorer::default()),
                    name: "ngram".into(),
                    reference,
                },
            }
        }
    })
}

/// The reference scorer of the `excess` utility: a model, which must cut tokens as the
/// scorer's model does (`tokenizer`, when the scorer is a model), or precomputed log-probs.
fn reference(args: &Args, tokenizer: Option<&HfTokenizer>) -> Result<Option<Box<dyn TokenScorer>>> {
    if let Some(path) = &args.reference_scores {
        return Ok(Some(Box::new(read_scores(path)?)));
    }
    let Some(path) = &args.reference else { return Ok(None) };
    let (device, device_name) = model::choose_device(args.device);
    eprintln!("reference model {} on {device_name}", path.display());
    let loaded = model::load(path, device)?;
    if let Some(tokenizer) = tokenizer {
        ensure!(
            tokenizer.to_json()? == loaded.bundle.chat.tokenizer.to_json()?,
            "reference model {}: its tokenizer differs from the scoring model's, so its scores would not line up",
            path.display()
        );
    }
    Ok(Some(model::scorer(loaded, args.batch_tokens)))
}

fn read_scores(path: &Path) -> Result<PrecomputedScorer> {
    PrecomputedScorer::from_jsonl(&input::read(path)?).with_context(|| path.display().to_string())
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
        "spent: {:.1}% on code items, {:.1}% on prose tokens; guards {:.1}% of it",
        100.0 * summary.item_share,
        100.0 * summary.prose_share,
        100.0 * summary.guard_share
    );
    if summary.overshoot_tokens > 0 {
        println!("overshoot: {} tokens past the asked fraction", summary.overshoot_tokens);
    }
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
