//! What the stages know of one record, as it grows: [`Prepared`] after prepare (structure and
//! tokens, no scores), [`Analysis`] after rank (scores, data-flow signals, priorities). Plain
//! data handed from stage to stage; the stages themselves live in their own modules.

use serde::{Deserialize, Serialize};

use crate::Diagnostic;
use crate::pipeline::names::Edge;
use crate::pipeline::partition::ItemKind;
use crate::pipeline::record::Record;
use crate::pipeline::segment::Segment;
use crate::pipeline::tokens::Token;
use crate::span::Span;

/// An item before scoring.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Prepared {
    pub record: Record,
    pub segments: Vec<Segment>,
    pub tokens: Vec<Token>,
    pub items: Vec<PreparedItem>,
    pub edges: Vec<Edge>,
    /// Tokens of prose that may be selected (`select::prose_tokens`).
    pub prose_tokens: Vec<usize>,
    pub diagnostics: Vec<Diagnostic>,
}

/// A prepared record with scores, signals and priorities.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Analysis {
    pub prepared: Prepared,
    /// Every response token's score: its GCE, or its excess GCE (`score.utility`).
    pub token_scores: Vec<f64>,
    pub utility: Vec<f64>,
    pub reach: Vec<f64>,
    pub bridge: Vec<f64>,
    pub priority: Vec<f64>,
}
