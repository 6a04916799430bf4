//! The pipeline, stage by stage: prepare (structure, tokens) → score → rank (utility, reach,
//! bridge, priority) → choose → output. Each stage's rules live in its own module; this one
//! only chains them. Stages are separate functions so a shell can batch the scorer across
//! records and time each stage; [`run`] chains them all.

pub mod analysis;
pub mod captures;
pub mod config;
pub mod dataflow;
pub mod lang;
pub mod logic;
pub mod names;
pub mod output;
pub mod partition;
pub mod query;
pub mod record;
pub mod score;
pub mod segment;
pub mod select;
pub mod structure;
pub mod summary;
pub mod tokens;

use crate::Diagnostic;
use analysis::{Analysis, Prepared};
pub use config::{Config, ConfigError};
use lang::Language;
use output::{Input, RecordOutput, Reject};
use record::Record;
use score::{CoreTokens, ScoreError, ScoreRequest, TokenScorer, Utility};
use structure::Structure;
use tokens::Tokenize;

use crate::span::Span;

/// Stage 1: everything that needs no scores.
pub fn prepare(record: Record, tokenizer: &dyn Tokenize, config: &Config) -> Result<Prepared, Reject> {
    let response = &record.response;
    if response.len() > config.max_response_bytes {
        return Err(Reject::new(
            "response_too_large",
            format!(
                "response is {} bytes; the limit is {} (--max-response-bytes)",
                response.len(),
                config.max_response_bytes
            ),
        ));
    }
    if let Some(why) = structure::unparsable(response, Language::Python, &config.partition) {
        return Err(Reject::new(why.reason, format!("the response has {}", why.message)));
    }
    if response.trim().is_empty() {
        return Err(Reject::new(
            "empty_response",
            "the response is empty: nothing to supervise",
        ));
    }
    let tokens = tokenizer
        .tokenize(response)
        .map_err(|e| Reject::new("tokenizer_failed", e.to_string()))?;
    let Structure {
        segments,
        mut items,
        core,
        wording,
        edges,
        mut diagnostics,
    } = structure::structure(response, &config.partition);
    let core = match config.score.core_tokens {
        CoreTokens::All => core,
        CoreTokens::WithoutWording => logic::subtract(&core, &wording),
    };
    for item in &mut items {
        item.tokens = tokens::overlapping(&tokens, item.span);
        item.core_tokens = item
            .tokens
            .iter()
            .copied()
            .filter(|&t| logic::overlaps_any(&core, tokens[t].span))
            .collect();
    }
    let prose_tokens = select::prose_tokens(response, &segments, &tokens);
    diagnostics.sort_by_key(|d| d.span);
    Ok(Prepared {
        record,
        segments,
        tokens,
        items,
        edges,
        prose_tokens,
        diagnostics,
    })
}

/// The scorer's view of prepared records.
pub fn requests<'a>(batch: &[&'a Prepared]) -> Vec<ScoreRequest<'a>> {
    batch
        .iter()
        .map(|p| ScoreRequest {
            record: &p.record,
            tokens: &p.tokens,
        })
        .collect()
}

/// Stage 3 (after the scorer gave log-probs, and the reference scorer too for the `excess`
/// utility): token scores, utilities, data-flow signals and priorities.
pub fn rank(
    mut prepared: Prepared,
    logprobs: &[f64],
    reference: Option<&[f64]>,
    config: &Config,
) -> Result<Analysis, Reject> {
    let id = &prepared.record.id;
    if config.score.utility == Utility::Excess && reference.is_none() {
        let why = "the `excess` utility needs a reference scorer".to_string();
        return Err(ScoreError::Failed(why).into());
    }
    for scores in std::iter::once(logprobs).chain(reference) {
        if scores.len() != prepared.tokens.len() {
            let (expected, found) = (prepared.tokens.len(), scores.len());
            return Err(ScoreError::Length {
                id: id.clone(),
                expected,
                found,
            }
            .into());
        }
    }
    let token_scores = config.score.token_scores(logprobs, reference);
    let utility: Vec<f64> = prepared
        .items
        .iter()
        .map(|item| config.score.utility(&item.core_tokens, &token_scores))
        .collect();
    let signals = dataflow::signals(&utility, &prepared.edges, &config.dataflow);
    if let Some(why) = signals.skipped {
        let whole = Span::new(0, prepared.record.response.len());
        prepared.diagnostics.push(Diagnostic::new(whole, why));
    }
    let candidate: Vec<bool> = prepared.items.iter().map(select::is_candidate).collect();
    let priority = dataflow::priority(&utility, &signals.reach, &signals.bridge, &candidate, &config.dataflow);
    Ok(Analysis {
        prepared,
        token_scores,
        utility,
        reach: signals.reach,
        bridge: signals.bridge,
        priority,
    })
}

/// The stages of [`run`], as a shell's progress display sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Units: records.
    Prepare,
    /// Units: response tokens.
    Score,
    /// Units: records.
    Rank,
    /// Units: records.
    Select,
}

/// Told where [`run`] is, so a shell can draw progress and time stages (core has no clock).
pub trait Progress {
    /// A stage begins with `total` units of work.
    fn stage(&mut self, _stage: Stage, _total: usize) {}
    /// `done` more units of the current stage are finished.
    fn advance(&mut self, _done: usize) {}
}

/// No progress display.
impl Progress for () {}

/// Records scored per scorer call, so progress moves while a model works.
pub const SCORE_CHUNK: usize = 64;

/// The requests in the chunks a scorer gets them in: [`SCORE_CHUNK`] at a time, shortest
/// response first, each beside its index in `requests`. A model pads each of its batches to the
/// batch's longest context, so chunks of like lengths pad little (MBPP's training pairs for
/// SmolLM2: 5% of the padded tokens in input order, 1% by length).
pub fn score_chunks<'a>(requests: &[ScoreRequest<'a>]) -> Vec<(Vec<usize>, Vec<ScoreRequest<'a>>)> {
    let mut order: Vec<usize> = (0..requests.len()).collect();
    order.sort_by_key(|&i| requests[i].tokens.len());
    order
        .chunks(SCORE_CHUNK)
        .map(|indices| (indices.to_vec(), indices.iter().map(|&i| requests[i]).collect()))
        .collect()
}

/// All stages over a set of records, in order; one output per input, rejected ones included.
/// `reference` scores the tokens a second time for the `excess` utility.
pub fn run(
    inputs: Vec<Input>,
    tokenizer: &dyn Tokenize,
    scorer: &mut dyn TokenScorer,
    reference: Option<&mut dyn TokenScorer>,
    config: &Config,
    progress: &mut dyn Progress,
) -> Vec<RecordOutput> {
    let analysed = analyse(inputs, tokenizer, scorer, reference, config, progress);
    finish(analysed, config, progress)
}

/// The last stage: each record's shortlist, the global cut, and the output lines in order.
pub fn finish(
    analysed: Vec<Result<Analysis, RecordOutput>>,
    config: &Config,
    progress: &mut dyn Progress,
) -> Vec<RecordOutput> {
    let shortlists: Vec<select::Shortlist> = analysed
        .iter()
        .filter_map(|a| a.as_ref().ok())
        .map(|a| select::shortlist(a, config.select.granularity))
        .collect();
    let records = shortlists.len();
    progress.stage(Stage::Select, records);
    let mut chosen = select::cut(shortlists, &config.select).into_iter();
    let outputs = analysed
        .into_iter()
        .map(|analysis| output_line(analysis, &mut chosen))
        .collect();
    progress.advance(records);
    outputs
}

/// A record's output line: its analysis with the next of the cut's choices (which are in the
/// order of the analysed records), or its reject.
pub fn output_line(
    analysis: Result<Analysis, RecordOutput>,
    chosen: &mut impl Iterator<Item = select::Chosen>,
) -> RecordOutput {
    match analysis {
        Ok(analysis) => output::record_output(&analysis, &chosen.next().expect("one choice per analysis")),
        Err(rejected) => rejected,
    }
}

/// Stage 1's answer for one input: its line and prepared record, or its output line (a reject).
pub type PreparedSlot = Result<(Option<usize>, Prepared), RecordOutput>;

/// Stage 1 for one input: its line and prepared record, or its output line as a reject. Pure
/// and per record, so a shell may run it on all cores (keeping the input order).
pub fn prepare_input(input: Input, tokenizer: &dyn Tokenize, config: &Config) -> PreparedSlot {
    let name = input.name();
    let Input { line, record } = input;
    record
        .and_then(|record| prepare(record, tokenizer, config))
        .map(|prepared| (line, prepared))
        .map_err(|reject| RecordOutput::rejected(name, reject.at_line(line)))
}

/// Stages 1 to 3 over a set of records, in order: an analysis or an output line as a reject
/// for each.
pub fn analyse(
    inputs: Vec<Input>,
    tokenizer: &dyn Tokenize,
    scorer: &mut dyn TokenScorer,
    mut reference: Option<&mut dyn TokenScorer>,
    config: &Config,
    progress: &mut dyn Progress,
) -> Vec<Result<Analysis, RecordOutput>> {
    progress.stage(Stage::Prepare, inputs.len());
    let prepared: Vec<_> = inputs
        .into_iter()
        .map(|input| {
            let prepared = prepare_input(input, tokenizer, config);
            progress.advance(1);
            prepared
        })
        .collect();
    observe(&prepared, scorer, reference.as_deref_mut());
    analyse_prepared(prepared, scorer, reference, config, progress)
}

/// Shows the scorers the corpus before any record is scored (the n-gram baseline fits on it):
/// the records of `prepared` that stage 1 accepted. A shell that streams a dataset calls this
/// once per chunk, all before the first [`analyse_prepared`].
pub fn observe(
    prepared: &[PreparedSlot],
    scorer: &mut (dyn TokenScorer + '_),
    reference: Option<&mut (dyn TokenScorer + '_)>,
) {
    let batch: Vec<&Prepared> = prepared
        .iter()
        .filter_map(|p| p.as_ref().ok())
        .map(|(_, p)| p)
        .collect();
    let requests = requests(&batch);
    scorer.observe(&requests);
    if let Some(reference) = reference {
        reference.observe(&requests);
    }
}

/// Stages 2 and 3 (score, rank) over records through stage 1 ([`prepare_input`], in input
/// order), after the scorers have [`observe`]d every record.
pub fn analyse_prepared(
    prepared: Vec<PreparedSlot>,
    scorer: &mut dyn TokenScorer,
    mut reference: Option<&mut dyn TokenScorer>,
    config: &Config,
    progress: &mut dyn Progress,
) -> Vec<Result<Analysis, RecordOutput>> {
    let mut analysed: Vec<Option<Result<Analysis, RecordOutput>>> = Vec::new();
    analysed.resize_with(prepared.len(), || None);
    let prepared: Vec<(usize, Option<usize>, Prepared)> = prepared
        .into_iter()
        .enumerate()
        .filter_map(|(slot, prepared)| match prepared {
            Ok((line, prepared)) => Some((slot, line, prepared)),
            Err(rejected) => {
                analysed[slot] = Some(Err(rejected));
                None
            }
        })
        .collect();

    let batch: Vec<&Prepared> = prepared.iter().map(|(_, _, p)| p).collect();
    let requests = requests(&batch);
    progress.stage(Stage::Score, requests.iter().map(|r| r.tokens.len()).sum());
    let mut logprobs = vec![None; requests.len()];
    let mut reference_logprobs = vec![None; requests.len()];
    for (indices, chunk) in score_chunks(&requests) {
        for (&i, result) in indices.iter().zip(scorer.logprobs(&chunk)) {
            logprobs[i] = Some(result);
        }
        if let Some(reference) = reference.as_deref_mut() {
            for (&i, result) in indices.iter().zip(reference.logprobs(&chunk)) {
                reference_logprobs[i] = Some(result);
            }
        }
        progress.advance(chunk.iter().map(|r| r.tokens.len()).sum());
    }

    progress.stage(Stage::Rank, prepared.len());
    for (((slot, line, p), logprobs), reference) in prepared.into_iter().zip(logprobs).zip(reference_logprobs) {
        let id = p.record.id.clone();
        // A scorer owes one result per request; a record it left out is a named reject.
        let ranked = logprobs
            .unwrap_or_else(|| Err(ScoreError::Missing(id.clone())))
            .and_then(|l| Ok((l, reference.transpose()?)))
            .map_err(Reject::from);
        analysed[slot] = Some(
            ranked
                .and_then(|(l, r)| rank(p, &l, r.as_deref(), config))
                .map_err(|reject| RecordOutput::rejected(id, reject.at_line(line))),
        );
        progress.advance(1);
    }
    analysed
        .into_iter()
        .map(|a| a.expect("every record gets an analysis or a reject"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::record::Message;
    use crate::pipeline::tokens::{LexicalTokenizer, Token};

    fn record(response: String) -> Record {
        Record {
            id: "r".into(),
            prompt: vec![Message {
                role: "user".into(),
                content: "Write it.".into(),
            }],
            response,
        }
    }

    /// A run of comment lines inside a block costs the Python parser its square (a fuzzed
    /// response of 19,635 took 108 s): past the limit the record is a named reject.
    #[test]
    fn a_long_run_of_comments_is_rejected_by_name() {
        let body = |comments: usize| {
            let run = "    # Guard against empty input.\n\n".repeat(comments);
            format!("```python\ndef mean(values):\n    x = 1\n{run}    return x\n```\n")
        };
        let config = Config::default();
        let limit = config.partition.max_comment_run;
        assert!(prepare(record(body(limit)), &LexicalTokenizer, &config).is_ok());
        let reject = prepare(record(body(limit + 1)), &LexicalTokenizer, &config).unwrap_err();
        assert_eq!(reject.reason, "comment_run_too_long");
        let message = reject.message;
        assert!(
            message.starts_with("the response has a run of 257 comment lines"),
            "{message}"
        );
    }

    /// A scorer that returns fewer results than it was asked for leaves each record it missed
    /// rejected by name, not dropped and not a panic.
    #[test]
    fn a_record_the_scorer_leaves_out_is_rejected_by_name() {
        struct Silent;
        impl TokenScorer for Silent {
            fn logprobs(&mut self, _: &[ScoreRequest]) -> Vec<Result<Vec<f64>, ScoreError>> {
                Vec::new()
            }
        }
        let config = Config::default();
        let prepared = prepare(record("Some words.".into()), &LexicalTokenizer, &config).unwrap();
        let analysed = analyse_prepared(vec![Ok((Some(1), prepared))], &mut Silent, None, &config, &mut ());
        let [Err(output)] = analysed.as_slice() else {
            panic!("expected one reject, got {analysed:?}")
        };
        let line = serde_json::to_value(output).unwrap();
        assert_eq!(line["id"], "r");
        assert_eq!(line["reason"], "scores_missing", "{line}");
    }

    /// Every request is scored once, in chunks of at most `SCORE_CHUNK`, shortest first, each
    /// beside its own index.
    #[test]
    fn requests_are_scored_in_chunks_by_length() {
        let lengths = (0..SCORE_CHUNK + 5).map(|i| (i * 37) % 50);
        let tokens: Vec<Vec<Token>> = lengths
            .map(|n| LexicalTokenizer.tokenize(&"x ".repeat(n)).unwrap())
            .collect();
        let record = record(String::new());
        let requests: Vec<ScoreRequest> = tokens
            .iter()
            .map(|t| ScoreRequest {
                record: &record,
                tokens: t,
            })
            .collect();
        let chunks = score_chunks(&requests);
        assert_eq!(chunks.len(), 2);
        let mut seen = Vec::new();
        for (indices, chunk) in &chunks {
            assert!(chunk.len() <= SCORE_CHUNK);
            for (&i, request) in indices.iter().zip(chunk) {
                assert!(std::ptr::eq(request.tokens, requests[i].tokens));
            }
            seen.extend(indices.iter().copied());
        }
        let seen_lengths: Vec<usize> = seen.iter().map(|&i| requests[i].tokens.len()).collect();
        assert!(seen_lengths.is_sorted(), "{seen_lengths:?}");
        seen.sort();
        assert_eq!(seen, (0..requests.len()).collect::<Vec<_>>());
    }
}
