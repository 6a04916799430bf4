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
use crate::output::{ItemOutput, Mask, RecordOutput, Stats};
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
    let mut items = Vec::new();
    let mut names = NameIndex::default();
    let mut core = Vec::new();
    for (index, seg) in segments.iter_mut().enumerate() {
        let SegmentKind::Code { tag, language } = &mut seg.kind else {
            continue;
        };
        let source = &response[seg.span.start..seg.span.end];
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

/// All stages over a set of records, in order; one output per record, rejected ones included.
pub fn run(
    records: Vec<Result<Record, (String, Reject)>>,
    tokenizer: &dyn Tokenize,
    scorer: &mut dyn TokenScorer,
    config: &Config,
) -> Vec<RecordOutput> {
    let mut outputs: Vec<Option<RecordOutput>> = vec![None; records.len()];
    let mut prepared = Vec::new();
    for (slot, record) in records.into_iter().enumerate() {
        let result = record.and_then(|r| {
            let id = r.id.clone();
            prepare(r, tokenizer, config).map_err(|e| (id, e))
        });
        match result {
            Ok(p) => prepared.push((slot, p)),
            Err((id, reject)) => outputs[slot] = Some(RecordOutput::rejected(id, reject)),
        }
    }
    let batch: Vec<&Prepared> = prepared.iter().map(|(_, p)| p).collect();
    let requests = requests(&batch);
    scorer.observe(&requests);
    let logprobs = scorer.logprobs(&requests);
    let mut analyses = Vec::new();
    for ((slot, p), logprobs) in prepared.into_iter().zip(logprobs) {
        let id = p.record.id.clone();
        match logprobs.map_err(Reject::from).and_then(|l| rank(p, &l, config)) {
            Ok(a) => analyses.push((slot, a)),
            Err(reject) => outputs[slot] = Some(RecordOutput::rejected(id, reject)),
        }
    }
    let (slots, analyses): (Vec<usize>, Vec<Analysis>) = analyses.into_iter().unzip();
    let chosen = choose(&analyses, &config.select);
    for ((slot, analysis), chosen) in slots.into_iter().zip(&analyses).zip(&chosen) {
        outputs[slot] = Some(output(analysis, chosen));
    }
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
    fn run_keeps_input_order_and_rejects_in_place() {
        let records = vec![
            Ok(record(
                "a",
                "Compute it:\n```python\ntotal = sum(values)\nprint(total)\n```\n",
            )),
            Err((
                "line 2".to_string(),
                Reject::new("malformed_json", "line 2: not valid JSON"),
            )),
            Ok(record("c", "")),
            Ok(record("d", "x = 1\ny = x + 1\n")),
        ];
        let outputs = run(
            records,
            &LexicalTokenizer,
            &mut NgramScorer::default(),
            &Config::default(),
        );
        let ids: Vec<&str> = outputs.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["a", "line 2", "c", "d"]);
        assert!(outputs[0].selected().is_some() && outputs[3].selected().is_some());
        assert!(matches!(&outputs[2].status, Status::Rejected(r) if r.reason == "empty_response"));
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
            vec![Ok(short), Ok(long)],
            &LexicalTokenizer,
            &mut NgramScorer::default(),
            &config,
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
