//! The pipeline, stage by stage: prepare (segment, partition, names, core tokens) → score →
//! rank (utility, reach, bridge, priority) → select → output. Stages are separate functions so a
//! shell can batch the scorer across records and time each stage; [`run`] chains them all.

use serde::{Deserialize, Serialize};

use crate::Diagnostic;
use crate::captures;
use crate::dataflow::{self, DataflowConfig};
use crate::lang::{self, Language};
use crate::logic;
use crate::names::{Edge, NameIndex};
use crate::output::{CodeItem, CodeItems, ItemOutput, Mask, RecordOutput, Stats};
use crate::partition::{self, ItemKind, PartitionConfig};
use crate::record::Record;
use crate::score::{Aggregate, ScoreError, ScoreRequest, TokenScorer, gce};
use crate::segment::{self, Segment, SegmentKind};
use crate::select::{self, BudgetScope, Candidate, Chosen, SelectConfig};
use crate::span::{Span, merge_spans};
use crate::tokens::{Token, Tokenize};

/// Every knob of the pipeline, with the defaults of METHOD.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub partition: PartitionConfig,
    pub score: ScoreConfig,
    pub dataflow: DataflowConfig,
    pub select: SelectConfig,
    /// Longer responses are rejected (`response_too_large`).
    pub max_response_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            partition: PartitionConfig::default(),
            score: ScoreConfig::default(),
            dataflow: DataflowConfig::default(),
            select: SelectConfig::default(),
            max_response_bytes: 1 << 20,
        }
    }
}

impl Config {
    /// Checks the knobs that have a valid range, naming the first that is out of it.
    pub fn check(&self) -> Result<(), ConfigError> {
        let fractions = [
            ("select.budget", self.select.budget),
            ("select.prose_share", self.select.prose_share),
            ("score.q", self.score.q),
            ("dataflow.gate_quantile", self.dataflow.gate_quantile),
        ];
        for (name, value) in fractions {
            if !(0.0..=1.0).contains(&value) {
                return Err(ConfigError { name, value });
            }
        }
        Ok(())
    }
}

/// A knob outside its range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{name} must be between 0 and 1, got {value}")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: f64,
}

/// Knobs of token scoring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoreConfig {
    /// The GCE exponent q in [0, 1]; 0 is cross-entropy.
    pub q: f64,
    pub aggregate: Aggregate,
}

impl Default for ScoreConfig {
    fn default() -> Self {
        ScoreConfig {
            q: 0.7,
            aggregate: Aggregate::Mean,
        }
    }
}

/// Why a record was rejected: a stable reason and a message naming the problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reject {
    pub reason: String,
    pub message: String,
}

impl Reject {
    pub fn new(reason: &str, message: impl Into<String>) -> Self {
        Reject {
            reason: reason.into(),
            message: message.into(),
        }
    }
}

impl From<ScoreError> for Reject {
    fn from(error: ScoreError) -> Self {
        Reject::new(error.reason(), error.to_string())
    }
}

/// An item before scoring.
#[derive(Debug, Clone)]
pub struct PreparedItem {
    pub span: Span,
    pub kind: ItemKind,
    pub node_kind: String,
    pub depth: usize,
    pub segment: usize,
    /// Tokens overlapping the item.
    pub tokens: Vec<usize>,
    /// Those of them that are core logic.
    pub core_tokens: Vec<usize>,
}

/// A record cut into segments and items, tokenized, with its def-use edges: all but scores.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub record: Record,
    pub segments: Vec<Segment>,
    pub tokens: Vec<Token>,
    pub items: Vec<PreparedItem>,
    pub edges: Vec<Edge>,
    /// Tokens of prose that may be selected: they overlap prose and hold a letter or digit.
    pub prose_tokens: Vec<usize>,
    pub diagnostics: Vec<Diagnostic>,
}

/// A prepared record with scores, signals and priorities.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub prepared: Prepared,
    /// GCE of every response token.
    pub token_gce: Vec<f64>,
    pub utility: Vec<f64>,
    pub reach: Vec<f64>,
    pub bridge: Vec<f64>,
    pub priority: Vec<f64>,
}

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
        edges,
        mut diagnostics,
    } = structure(response, config);
    for item in &mut items {
        item.tokens = overlapping(&tokens, item.span);
        item.core_tokens = item
            .tokens
            .iter()
            .copied()
            .filter(|&t| logic::overlaps_any(&core, tokens[t].span))
            .collect();
    }
    let prose_spans: Vec<Span> = segments
        .iter()
        .filter(|s| matches!(s.kind, SegmentKind::Prose | SegmentKind::InlineCode))
        .map(|s| s.span)
        .collect();
    let prose_tokens = (0..tokens.len())
        .filter(|&t| {
            let span = tokens[t].span;
            logic::overlaps_any(&prose_spans, span) && response[span.start..span.end].chars().any(char::is_alphanumeric)
        })
        .collect();
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

/// The structure of a response, before tokens: segments, items, core logic, def-use edges.
#[derive(Debug, Clone)]
pub struct Structure {
    pub segments: Vec<Segment>,
    /// Items with their token lists still empty.
    pub items: Vec<PreparedItem>,
    /// Sorted, disjoint spans of core logic.
    pub core: Vec<Span>,
    pub edges: Vec<Edge>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The structure stages: segment, parse, partition, names and core logic.
pub fn structure(response: &str, config: &Config) -> Structure {
    let mut diagnostics = Vec::new();
    let mut segments = segment::segment(response, &mut diagnostics);
    // A response without fences is code when it parses as Python; that parse is kept.
    let mut unfenced = None;
    if !segments.iter().any(|s| s.kind == SegmentKind::Fence) {
        let tree = lang::parse_python(response);
        if lang::looks_like_python(&tree, response) {
            let kind = SegmentKind::Code {
                tag: String::new(),
                language: Language::Python,
            };
            segments = vec![Segment {
                kind,
                span: Span::new(0, response.len()),
            }];
            unfenced = Some(tree);
        }
    }
    structure_of(response, segments, unfenced, diagnostics, config)
}

/// The structure of Python source alone (a file in an editor): one code segment, partitioned
/// even where it does not parse (syntax errors become diagnostics).
fn code_structure(code: &str, config: &Config) -> Structure {
    let whole = Segment {
        kind: SegmentKind::Code {
            tag: "python".into(),
            language: Language::Python,
        },
        span: Span::new(0, code.len()),
    };
    structure_of(code, vec![whole], None, Vec::new(), config)
}

/// The coding items of Python source alone, for editors.
pub fn code_items(code: &str, config: &Config) -> CodeItems {
    let structure = code_structure(code, config);
    let index = crate::span::LineIndex::new(code);
    CodeItems {
        items: structure
            .items
            .iter()
            .map(|item| CodeItem {
                span: item.span,
                lines: index.line_range(item.span),
                kind: item.kind,
                node: item.node_kind.clone(),
                depth: item.depth,
            })
            .collect(),
        edges: structure.edges,
        core: structure.core,
        diagnostics: structure.diagnostics.iter().map(|d| d.located(&index)).collect(),
    }
}

/// Partition, names and core logic of every code segment; `unfenced` is the parse of a
/// response that is code without fences, kept to avoid parsing it twice.
fn structure_of(
    text: &str,
    mut segments: Vec<Segment>,
    mut unfenced: Option<tree_sitter::Tree>,
    mut diagnostics: Vec<Diagnostic>,
    config: &Config,
) -> Structure {
    let mut items = Vec::new();
    let mut names = NameIndex::default();
    let mut core = Vec::new();
    for (index, seg) in segments.iter_mut().enumerate() {
        let SegmentKind::Code { tag, language } = &mut seg.kind else {
            continue;
        };
        let source = &text[seg.span.start..seg.span.end];
        let tree = unfenced.take().unwrap_or_else(|| lang::parse_python(source));
        if tag.is_empty() && *language == Language::Python && !lang::mostly_parses(&tree) {
            *language = Language::Other;
            diagnostics.push(Diagnostic::new(
                seg.span,
                "untagged fence that does not parse as Python: kept as other code",
            ));
            continue;
        }
        if *language != Language::Python {
            diagnostics.push(Diagnostic::new(
                seg.span,
                "code in another language: kept, not partitioned",
            ));
            continue;
        }
        let captures = captures::capture(&tree, source);
        let parts = partition::partition(&tree, &captures, seg.span.start, &config.partition, &mut diagnostics);
        names.add_segment(items.len(), &parts, source);
        for part in &parts {
            items.push(PreparedItem {
                span: part.span.shift(seg.span.start),
                kind: part.kind,
                node_kind: part.node_kind.to_string(),
                depth: part.depth,
                segment: index,
                tokens: Vec::new(),
                core_tokens: Vec::new(),
            });
        }
        core.extend(logic::core_spans(&captures, seg.span.start));
    }
    let edges = names.edges();
    // Nested error nodes can report the same span twice.
    diagnostics.sort_by_key(|d| d.span);
    diagnostics.dedup();
    Structure {
        segments,
        items,
        core,
        edges,
        diagnostics,
    }
}

/// Indices of the tokens overlapping `span`; tokens are in text order.
fn overlapping(tokens: &[Token], span: Span) -> Vec<usize> {
    let first = tokens.partition_point(|t| t.span.end <= span.start);
    (first..tokens.len())
        .take_while(|&t| tokens[t].span.start < span.end)
        .filter(|&t| tokens[t].span.overlaps(span))
        .collect()
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

/// Stage 3 (after the scorer gave log-probs): utilities, data-flow signals and priorities from a record's log-probs.
pub fn rank(mut prepared: Prepared, logprobs: &[f64], config: &Config) -> Result<Analysis, Reject> {
    if logprobs.len() != prepared.tokens.len() {
        return Err(ScoreError::Length {
            id: prepared.record.id.clone(),
            expected: prepared.tokens.len(),
            found: logprobs.len(),
        }
        .into());
    }
    let token_gce: Vec<f64> = logprobs.iter().map(|&l| gce(l, config.score.q)).collect();
    let utility: Vec<f64> = prepared
        .items
        .iter()
        .map(|item| {
            config
                .score
                .aggregate
                .apply(item.core_tokens.iter().map(|&t| token_gce[t]))
        })
        .collect();
    let n = utility.len();
    let (reach, bridge) = if n > config.dataflow.max_items {
        let whole = Span::new(0, prepared.record.response.len());
        prepared.diagnostics.push(Diagnostic::new(
            whole,
            format!(
                "{n} items exceed dataflow.max_items ({}): reach and bridge are left at 0",
                config.dataflow.max_items
            ),
        ));
        (vec![0.0; n], vec![0.0; n])
    } else {
        (
            dataflow::reach(&utility, &prepared.edges),
            dataflow::bridge(n, &prepared.edges),
        )
    };
    let priority = dataflow::priority(&utility, &reach, &bridge, &config.dataflow);
    Ok(Analysis {
        prepared,
        token_gce,
        utility,
        reach,
        bridge,
        priority,
    })
}

/// Stage 4: choose items and prose tokens for a set of analysed records.
pub fn choose(analyses: &[Analysis], config: &SelectConfig) -> Vec<Chosen> {
    let candidates = |record: usize, a: &Analysis| -> Vec<Candidate> {
        let items = a
            .prepared
            .items
            .iter()
            .enumerate()
            .filter(|(_, item)| !item.core_tokens.is_empty())
            .map(move |(index, item)| Candidate {
                record,
                index,
                prose: false,
                cost: item.tokens.len(),
                priority: a.priority[index],
            });
        let prose = a.prepared.prose_tokens.iter().map(move |&index| Candidate {
            record,
            index,
            prose: true,
            cost: 1,
            priority: a.token_gce[index],
        });
        items.chain(prose).collect()
    };
    match config.scope {
        BudgetScope::Global => {
            let all: Vec<Candidate> = analyses
                .iter()
                .enumerate()
                .flat_map(|(r, a)| candidates(r, a))
                .collect();
            let total = analyses.iter().map(|a| a.prepared.tokens.len()).sum();
            select::select(analyses.len(), total, &all, config)
        }
        BudgetScope::PerRecord => analyses
            .iter()
            .map(|a| select::select(1, a.prepared.tokens.len(), &candidates(0, a), config).remove(0))
            .collect(),
    }
}

/// Stage 5: the output line of an analysed record.
pub fn output(analysis: &Analysis, chosen: &Chosen) -> RecordOutput {
    let prepared = &analysis.prepared;
    let response = &prepared.record.response;
    let index = crate::span::LineIndex::new(response);
    let items: Vec<ItemOutput> = prepared
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| ItemOutput {
            span: item.span,
            lines: index.line_range(item.span),
            kind: item.kind,
            node: item.node_kind.clone(),
            depth: item.depth,
            tokens: item.tokens.len(),
            core_tokens: item.core_tokens.len(),
            utility: analysis.utility[i],
            reach: analysis.reach[i],
            bridge: analysis.bridge[i],
            priority: analysis.priority[i],
            selected: chosen.items.binary_search(&i).is_ok(),
        })
        .collect();
    let mut supervised = vec![false; prepared.tokens.len()];
    let mut spans = Vec::new();
    for &i in &chosen.items {
        spans.push(prepared.items[i].span);
        for &t in &prepared.items[i].tokens {
            supervised[t] = true;
        }
    }
    let prose: Vec<Span> = chosen.prose_tokens.iter().map(|&t| prepared.tokens[t].span).collect();
    for &t in &chosen.prose_tokens {
        supervised[t] = true;
    }
    spans.extend(prose.iter().copied());
    let supervised_tokens = supervised.iter().filter(|&&s| s).count();
    let token_ids = prepared.tokens.iter().map(|t| t.id).collect::<Option<Vec<u32>>>();
    RecordOutput::ok(
        &prepared.record,
        prepared.segments.clone(),
        items,
        prepared.edges.clone(),
        prose,
        Mask {
            spans: merge_spans(spans),
            token_spans: prepared.tokens.iter().map(|t| t.span).collect(),
            token_ids,
            supervised: supervised.into_iter().map(u8::from).collect(),
        },
        prepared.diagnostics.iter().map(|d| d.located(&index)).collect(),
        Stats {
            response_tokens: prepared.tokens.len(),
            supervised_tokens,
            items: prepared.items.len(),
            selected_items: chosen.items.len(),
            selected_prose_tokens: chosen.prose_tokens.len(),
            guarded: chosen.guarded,
        },
    )
}

/// One record to run, as read: the record, or why it could not be read. `line` (1-based, for
/// JSONL input) is named in every reject, so no record is lost without saying which.
#[derive(Debug, Clone)]
pub struct Input {
    pub line: Option<usize>,
    pub record: Result<Record, Reject>,
}

impl Input {
    /// A record that came from no file.
    pub fn record(record: Record) -> Self {
        Input {
            line: None,
            record: Ok(record),
        }
    }

    /// What a reject of this input is called: its id, or its line.
    fn name(&self) -> String {
        match (&self.record, self.line) {
            (Ok(record), _) => record.id.clone(),
            (Err(_), Some(line)) => format!("line {line}"),
            (Err(_), None) => "record".into(),
        }
    }
}

/// A reject that names the input line it came from, when there is one.
fn located(line: Option<usize>, reject: Reject) -> Reject {
    match line {
        Some(line) => Reject::new(&reject.reason, format!("line {line}: {}", reject.message)),
        None => reject,
    }
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
const SCORE_CHUNK: usize = 64;

/// All stages over a set of records, in order; one output per input, rejected ones included.
pub fn run(
    inputs: Vec<Input>,
    tokenizer: &dyn Tokenize,
    scorer: &mut dyn TokenScorer,
    config: &Config,
    progress: &mut dyn Progress,
) -> Vec<RecordOutput> {
    let mut outputs: Vec<Option<RecordOutput>> = vec![None; inputs.len()];
    let mut prepared = Vec::new();
    progress.stage(Stage::Prepare, inputs.len());
    for (slot, input) in inputs.into_iter().enumerate() {
        let name = input.name();
        let Input { line, record } = input;
        match record.and_then(|record| prepare(record, tokenizer, config)) {
            Ok(p) => prepared.push((slot, line, p)),
            Err(reject) => outputs[slot] = Some(RecordOutput::rejected(name, located(line, reject))),
        }
        progress.advance(1);
    }

    let batch: Vec<&Prepared> = prepared.iter().map(|(_, _, p)| p).collect();
    let requests = requests(&batch);
    scorer.observe(&requests);
    progress.stage(Stage::Score, requests.iter().map(|r| r.tokens.len()).sum());
    let mut logprobs = Vec::with_capacity(requests.len());
    for chunk in requests.chunks(SCORE_CHUNK) {
        logprobs.extend(scorer.logprobs(chunk));
        progress.advance(chunk.iter().map(|r| r.tokens.len()).sum());
    }

    progress.stage(Stage::Rank, prepared.len());
    let mut analyses = Vec::new();
    for ((slot, line, p), logprobs) in prepared.into_iter().zip(logprobs) {
        let id = p.record.id.clone();
        match logprobs.map_err(Reject::from).and_then(|l| rank(p, &l, config)) {
            Ok(a) => analyses.push((slot, a)),
            Err(reject) => outputs[slot] = Some(RecordOutput::rejected(id, located(line, reject))),
        }
        progress.advance(1);
    }

    progress.stage(Stage::Select, analyses.len());
    let (slots, analyses): (Vec<usize>, Vec<Analysis>) = analyses.into_iter().unzip();
    let chosen = choose(&analyses, &config.select);
    for ((slot, analysis), chosen) in slots.into_iter().zip(&analyses).zip(&chosen) {
        outputs[slot] = Some(output(analysis, chosen));
    }
    progress.advance(analyses.len());
    outputs
        .into_iter()
        .map(|o| o.expect("every record gets an output or a reject"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Status;
    use crate::record::Message;
    use crate::score::NgramScorer;
    use crate::tokens::{LexicalTokenizer, TokenizeError};

    /// Cuts `a = 1;b = 2` so that one token, `1;b`, straddles the two items.
    struct Straddling;

    impl Tokenize for Straddling {
        fn tokenize(&self, text: &str) -> Result<Vec<Token>, TokenizeError> {
            let cuts = [0, 1, 2, 3, 4, 7, 8, 9, 10, text.len()];
            Ok(cuts
                .windows(2)
                .map(|w| Token {
                    span: Span::new(w[0], w[1]),
                    id: None,
                })
                .collect())
        }
    }

    fn record(id: &str, response: &str) -> Record {
        Record {
            id: id.into(),
            prompt: vec![Message {
                role: "user".into(),
                content: "q".into(),
            }],
            response: response.into(),
        }
    }

    #[test]
    fn a_token_straddling_two_items_counts_for_both() {
        let prepared = prepare(record("r", "a = 1;b = 2"), &Straddling, &Config::default()).unwrap();
        let texts: Vec<&str> = prepared
            .items
            .iter()
            .map(|i| &prepared.record.response[i.span.start..i.span.end])
            .collect();
        assert_eq!(texts, ["a = 1", "b = 2"]);
        assert_eq!(prepared.items[0].tokens, [0, 1, 2, 3, 4]);
        assert_eq!(prepared.items[1].tokens, [4, 5, 6, 7, 8]);
        let analysis = rank(prepared, &[-1.0; 9], &Config::default()).unwrap();
        let chosen = Chosen {
            items: vec![1],
            prose_tokens: vec![],
            guarded: false,
        };
        let Status::Ok(selected) = output(&analysis, &chosen).status else {
            panic!("the record is ok")
        };
        assert_eq!(selected.mask.supervised, [0, 0, 0, 0, 1, 1, 1, 1, 1]);
        assert_eq!(selected.mask.spans, [Span::new(6, 11)]);
    }

    #[test]
    fn code_items_count_in_bytes_or_utf16() {
        let code = "s = 'é'\nt = s + s\n";
        let bytes = code_items(code, &Config::default());
        let spans: Vec<Span> = bytes.items.iter().map(|i| i.span).collect();
        assert_eq!(spans, [Span::new(0, 8), Span::new(9, 18)]);
        assert_eq!(bytes.edges.len(), 1);
        assert_eq!((bytes.edges[0].from, bytes.edges[0].to), (0, 1));
        let utf16 = bytes.in_positions(code, crate::span::Positions::Utf16);
        assert_eq!(utf16.items[1].span, Span::new(8, 17));
        assert_eq!(utf16.items[1].lines, (2, 2));
    }

    #[test]
    fn code_items_of_broken_source_come_with_a_diagnostic() {
        let items = code_items("def f(:\n    return 1\nx = 2\n", &Config::default());
        assert!(!items.diagnostics.is_empty());
        assert!(items.items.iter().any(|i| i.node == "expression_statement"));
    }

    #[test]
    fn run_keeps_input_order_and_rejects_in_place() {
        let records = vec![
            Input::record(record(
                "a",
                "Compute it:\n```python\ntotal = sum(values)\nprint(total)\n```\n",
            )),
            Input {
                line: Some(2),
                record: Err(Reject::new("malformed_json", "not valid JSON")),
            },
            Input {
                line: Some(3),
                record: Ok(record("c", "")),
            },
            Input::record(record("d", "x = 1\ny = x + 1\n")),
        ];
        let outputs = run(
            records,
            &LexicalTokenizer,
            &mut NgramScorer::default(),
            &Config::default(),
            &mut (),
        );
        let ids: Vec<&str> = outputs.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["a", "line 2", "c", "d"]);
        assert!(matches!(&outputs[1].status, Status::Rejected(r) if r.message == "line 2: not valid JSON"));
        assert!(outputs[0].selected().is_some() && outputs[3].selected().is_some());
        assert!(
            matches!(&outputs[2].status, Status::Rejected(r) if r.reason == "empty_response" && r.message.starts_with("line 3: "))
        );
        // Guards: every accepted record has something supervised.
        assert!(
            outputs
                .iter()
                .filter_map(|o| o.selected())
                .all(|s| s.stats.supervised_tokens > 0)
        );
    }

    #[test]
    fn global_budget_favours_records_with_more_to_learn() {
        let short = record("short", "```python\nx = 1\n```\n");
        let long_code: String = (0..60)
            .map(|i| format!("value_{i} = compute_{i}(value_{})\n", i.max(1) - 1))
            .collect();
        let long = record("long", &format!("```python\n{long_code}```\n"));
        let config = Config {
            select: SelectConfig {
                budget: 0.1,
                allow_empty: true,
                ..SelectConfig::default()
            },
            ..Config::default()
        };
        let outputs = run(
            vec![Input::record(short), Input::record(long)],
            &LexicalTokenizer,
            &mut NgramScorer::default(),
            &config,
            &mut (),
        );
        let supervised: Vec<usize> = outputs
            .iter()
            .map(|o| o.selected().unwrap().stats.supervised_tokens)
            .collect();
        let tokens: Vec<usize> = outputs
            .iter()
            .map(|o| o.selected().unwrap().stats.response_tokens)
            .collect();
        let total: usize = supervised.iter().sum();
        assert!(total as f64 <= 0.1 * tokens.iter().sum::<usize>() as f64);
        assert!(supervised[1] > supervised[0], "{supervised:?} of {tokens:?}");
    }
}
