//! The output line of a record: what `select` writes and the previewer shows.

use serde::{Deserialize, Serialize};

use crate::pipeline::analysis::Analysis;
use crate::pipeline::names::Edge;
use crate::pipeline::partition::ItemKind;
use crate::pipeline::record::{Message, Record};
use crate::pipeline::score::ScoreError;
use crate::pipeline::segment::Segment;
use crate::pipeline::select::Chosen;
use crate::span::{LineIndex, Positions, Span, Utf16Map, merge_spans};

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
    pub fn name(&self) -> String {
        match (&self.record, self.line) {
            (Ok(record), _) => record.id.clone(),
            (Err(_), Some(line)) => format!("line {line}"),
            (Err(_), None) => "record".into(),
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

    /// The same reject, its message naming the input line it came from when there is one.
    pub fn at_line(self, line: Option<usize>) -> Self {
        match line {
            Some(line) => Reject::new(&self.reason, format!("line {line}: {}", self.message)),
            None => self,
        }
    }
}

impl From<ScoreError> for Reject {
    fn from(error: ScoreError) -> Self {
        Reject::new(error.reason(), error.to_string())
    }
}

/// One JSON line per input record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordOutput {
    pub id: String,
    #[serde(flatten)]
    pub status: Status,
}

/// `ok` with the analysis, or `rejected` with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    Ok(Box<Selected>),
    Rejected(Reject),
}

/// The analysis and selection of an accepted record, with the record itself so the file
/// alone is enough to train on or to preview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selected {
    pub prompt: Vec<Message>,
    pub response: String,
    pub segments: Vec<Segment>,
    pub items: Vec<ItemOutput>,
    pub edges: Vec<Edge>,
    /// Selected prose tokens.
    pub prose: Vec<Span>,
    pub mask: Mask,
    pub diagnostics: Vec<LocatedDiagnostic>,
    pub stats: Stats,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemOutput {
    pub span: Span,
    /// 1-based first and last line.
    pub lines: (usize, usize),
    pub kind: ItemKind,
    /// The tree-sitter kind of the statement.
    pub node: String,
    pub depth: usize,
    pub tokens: usize,
    pub core_tokens: usize,
    pub utility: f64,
    pub reach: f64,
    pub bridge: f64,
    pub priority: f64,
    pub selected: bool,
}

/// The loss mask: supervised byte spans, and per token its span, a 0/1 flag and (from a real
/// tokenizer) its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mask {
    pub spans: Vec<Span>,
    pub token_spans: Vec<Span>,
    /// `default`: read back where it was skipped, from a format that writes structs as arrays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ids: Option<Vec<u32>>,
    pub supervised: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocatedDiagnostic {
    pub span: Span,
    pub lines: (usize, usize),
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub response_tokens: usize,
    pub supervised_tokens: usize,
    pub items: usize,
    pub selected_items: usize,
    pub selected_prose_tokens: usize,
    /// Supervised tokens of code: in selected items (or the single code tokens chosen under
    /// token granularity).
    #[serde(default)]
    pub item_tokens: usize,
    /// The record got a guard unit so that it is not left without supervision.
    pub guarded: bool,
    /// What the guard unit cost, counted in the budget like everything else.
    #[serde(default)]
    pub guard_tokens: usize,
}

/// The coding items of Python source alone (what an editor asks for): no tokens, no scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeItems {
    pub items: Vec<CodeItem>,
    pub edges: Vec<Edge>,
    /// Sorted, disjoint spans of core logic.
    pub core: Vec<Span>,
    pub diagnostics: Vec<LocatedDiagnostic>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeItem {
    pub span: Span,
    /// 1-based first and last line.
    pub lines: (usize, usize),
    pub kind: ItemKind,
    pub node: String,
    pub depth: usize,
}

impl CodeItems {
    /// The same items with spans counted in `positions` of `code`.
    pub fn in_positions(mut self, code: &str, positions: Positions) -> Self {
        if positions == Positions::Utf16 {
            let map = Utf16Map::new(code);
            self.items.iter_mut().for_each(|i| i.span = map.span(i.span));
            self.core.iter_mut().for_each(|s| *s = map.span(*s));
            self.diagnostics.iter_mut().for_each(|d| d.span = map.span(d.span));
        }
        self
    }
}

/// The output line of an analysed record: its items with their scores, and the mask of what
/// `chosen` supervises (every token of a chosen item, and each chosen code or prose token).
pub fn record_output(analysis: &Analysis, chosen: &Chosen) -> RecordOutput {
    let prepared = &analysis.prepared;
    let response = &prepared.record.response;
    let index = LineIndex::new(response);
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
    for &t in &chosen.code_tokens {
        supervised[t] = true;
    }
    let item_tokens = supervised.iter().filter(|&&s| s).count();
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
            item_tokens,
            guarded: chosen.guard_tokens > 0,
            guard_tokens: chosen.guard_tokens,
        },
    )
}

impl Selected {
    /// Converts every span to UTF-16 code units of the response.
    fn count_in_utf16(&mut self) {
        let map = Utf16Map::new(&self.response);
        let spans = self.segments.iter_mut().map(|s| &mut s.span);
        let spans = spans.chain(self.items.iter_mut().map(|i| &mut i.span));
        let spans = spans.chain(self.prose.iter_mut());
        let spans = spans.chain(self.mask.spans.iter_mut());
        let spans = spans.chain(self.mask.token_spans.iter_mut());
        let spans = spans.chain(self.diagnostics.iter_mut().map(|d| &mut d.span));
        spans.for_each(|span| *span = map.span(*span));
    }
}

/// Outputs as the JSONL `codeblock select` writes: one line each, in order.
pub fn jsonl(outputs: &[RecordOutput]) -> String {
    let mut text = String::new();
    for output in outputs {
        text.push_str(&serde_json::to_string(output).expect("an output serializes: plain data, string keys"));
        text.push('\n');
    }
    text
}

impl RecordOutput {
    /// The same output with spans counted in `positions` of the response.
    pub fn in_positions(mut self, positions: Positions) -> Self {
        if let (Status::Ok(selected), Positions::Utf16) = (&mut self.status, positions) {
            selected.count_in_utf16();
        }
        self
    }

    #[allow(clippy::too_many_arguments)]
    fn ok(
        record: &Record,
        segments: Vec<Segment>,
        items: Vec<ItemOutput>,
        edges: Vec<Edge>,
        prose: Vec<Span>,
        mask: Mask,
        diagnostics: Vec<LocatedDiagnostic>,
        stats: Stats,
    ) -> Self {
        let (prompt, response) = (record.prompt.clone(), record.response.clone());
        let selected = Selected {
            prompt,
            response,
            segments,
            items,
            edges,
            prose,
            mask,
            diagnostics,
            stats,
        };
        RecordOutput {
            id: record.id.clone(),
            status: Status::Ok(Box::new(selected)),
        }
    }

    pub fn rejected(id: String, reject: Reject) -> Self {
        RecordOutput {
            id,
            status: Status::Rejected(reject),
        }
    }

    pub fn selected(&self) -> Option<&Selected> {
        match &self.status {
            Status::Ok(selected) => Some(selected),
            Status::Rejected(_) => None,
        }
    }
}
