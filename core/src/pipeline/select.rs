//! Selection: whole items and single prose tokens under a token budget.
//!
//! The budget is a fraction of response tokens, over the whole dataset (default) or per record.
//! Code gets `1 − prose_share` of it, prose the rest; each side is filled greedily by priority
//! (items: gated priority; prose tokens: their GCE), skipping what no longer fits, and what one
//! side leaves unused goes to the other. Unless empty records are allowed, every record first
//! gets a guard unit — its best prose token, or its best item when it has no prose — so no record
//! ends with nothing supervised; guards are paid from the same budget.

use serde::{Deserialize, Serialize};

use crate::pipeline::analysis::Analysis;
use crate::pipeline::logic;
use crate::pipeline::segment::{Segment, SegmentKind};
use crate::pipeline::tokens::Token;
use crate::span::Span;

/// Knobs of the selection stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SelectConfig {
    /// Fraction of response tokens to supervise.
    pub budget: f64,
    /// Share of the budget for prose tokens.
    pub prose_share: f64,
    pub scope: BudgetScope,
    /// Let records end with no supervised token instead of guarding them.
    pub allow_empty: bool,
}

impl Default for SelectConfig {
    fn default() -> Self {
        SelectConfig {
            budget: 0.019,
            prose_share: 0.2,
            scope: BudgetScope::Global,
            allow_empty: false,
        }
    }
}

/// Where the budget applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetScope {
    /// One budget over all records: long, hard responses get more.
    #[default]
    Global,
    /// Each record gets the budget fraction of its own tokens.
    PerRecord,
}

/// Something that can be selected: an item or a prose token of one record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub record: usize,
    /// Item index, or token index for prose.
    pub index: usize,
    pub prose: bool,
    /// Tokens it covers.
    pub cost: usize,
    pub priority: f64,
}

/// What was chosen, per record: sorted item and prose-token indices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chosen {
    pub items: Vec<usize>,
    pub prose_tokens: Vec<usize>,
    /// The record got its guard unit.
    pub guarded: bool,
}

/// The prose tokens of a response that may be selected: they overlap prose (or inline code)
/// and hold a letter or digit, so punctuation and whitespace are never supervised alone.
pub fn prose_tokens(response: &str, segments: &[Segment], tokens: &[Token]) -> Vec<usize> {
    let prose_spans: Vec<Span> = segments
        .iter()
        .filter(|s| matches!(s.kind, SegmentKind::Prose | SegmentKind::InlineCode))
        .map(|s| s.span)
        .collect();
    (0..tokens.len())
        .filter(|&t| {
            let span = tokens[t].span;
            logic::overlaps_any(&prose_spans, span) && response[span.start..span.end].chars().any(char::is_alphanumeric)
        })
        .collect()
}

/// The candidates of record number `record`: its items that have core tokens (cost: every
/// token they cover; priority: the gated priority), and its selectable prose tokens (cost 1;
/// priority: the token's GCE).
pub fn candidates(record: usize, analysis: &Analysis) -> Vec<Candidate> {
    let prepared = &analysis.prepared;
    let items = prepared
        .items
        .iter()
        .enumerate()
        .filter(|(_, item)| !item.core_tokens.is_empty())
        .map(|(index, item)| Candidate {
            record,
            index,
            prose: false,
            cost: item.tokens.len(),
            priority: analysis.priority[index],
        });
    let prose = prepared.prose_tokens.iter().map(|&index| Candidate {
        record,
        index,
        prose: true,
        cost: 1,
        priority: analysis.token_gce[index],
    });
    items.chain(prose).collect()
}

/// Chooses items and prose tokens for a set of analysed records, under one budget over all of
/// them or one per record.
pub fn choose(analyses: &[Analysis], config: &SelectConfig) -> Vec<Chosen> {
    match config.scope {
        BudgetScope::Global => {
            let all: Vec<Candidate> = analyses
                .iter()
                .enumerate()
                .flat_map(|(r, a)| candidates(r, a))
                .collect();
            let total = analyses.iter().map(|a| a.prepared.tokens.len()).sum();
            select(analyses.len(), total, &all, config)
        }
        BudgetScope::PerRecord => analyses
            .iter()
            .map(|a| select(1, a.prepared.tokens.len(), &candidates(0, a), config).remove(0))
            .collect(),
    }
}

/// Selects among `candidates` of `records` records holding `total_tokens` response tokens.
pub fn select(records: usize, total_tokens: usize, candidates: &[Candidate], config: &SelectConfig) -> Vec<Chosen> {
    let mut chosen = vec![Chosen::default(); records];
    let mut order: Vec<&Candidate> = candidates.iter().collect();
    order.sort_by(|a, b| {
        b.priority
            .total_cmp(&a.priority)
            .then(a.record.cmp(&b.record))
            .then(a.prose.cmp(&b.prose))
            .then(a.index.cmp(&b.index))
    });
    let budget = config.budget * total_tokens as f64;
    let mut prose_left = config.prose_share.clamp(0.0, 1.0) * budget;
    let mut code_left = budget - prose_left;
    let mut taken = vec![false; order.len()];

    if !config.allow_empty {
        let mut guard_of: Vec<Option<usize>> = vec![None; records];
        for (k, c) in order.iter().enumerate() {
            let better = match guard_of[c.record] {
                None => true,
                Some(g) => c.prose && !order[g].prose,
            };
            if better {
                guard_of[c.record] = Some(k);
            }
        }
        for k in guard_of.into_iter().flatten() {
            let c = order[k];
            taken[k] = true;
            chosen[c.record].guarded = true;
            let left = if c.prose { &mut prose_left } else { &mut code_left };
            *left -= c.cost as f64;
        }
        // A side that overspent on guards pays from the other.
        if prose_left < 0.0 {
            code_left += prose_left;
            prose_left = 0.0;
        }
        if code_left < 0.0 {
            prose_left += code_left;
            code_left = 0.0;
        }
    }

    let mut fill = |prose: bool, left: &mut f64| {
        for (k, c) in order.iter().enumerate() {
            if c.prose == prose && !taken[k] && c.cost as f64 <= *left {
                taken[k] = true;
                *left -= c.cost as f64;
            }
        }
    };
    let has_prose = candidates.iter().any(|c| c.prose);
    if !has_prose {
        code_left += prose_left.max(0.0);
        prose_left = 0.0;
    }
    fill(false, &mut code_left);
    let mut prose_budget = prose_left.max(0.0) + code_left.max(0.0);
    fill(true, &mut prose_budget);

    for (k, c) in order.iter().enumerate() {
        if taken[k] {
            let record = &mut chosen[c.record];
            if c.prose {
                record.prose_tokens.push(c.index)
            } else {
                record.items.push(c.index)
            }
        }
    }
    for record in &mut chosen {
        record.items.sort_unstable();
        record.prose_tokens.sort_unstable();
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(record: usize, index: usize, cost: usize, priority: f64) -> Candidate {
        Candidate {
            record,
            index,
            prose: false,
            cost,
            priority,
        }
    }

    fn prose(record: usize, index: usize, priority: f64) -> Candidate {
        Candidate {
            record,
            index,
            prose: true,
            cost: 1,
            priority,
        }
    }

    #[test]
    fn greedy_by_priority_skipping_what_does_not_fit() {
        let candidates = [item(0, 0, 6, 3.0), item(0, 1, 3, 2.0), item(0, 2, 2, 1.0)];
        let config = SelectConfig {
            budget: 0.1,
            prose_share: 0.0,
            allow_empty: true,
            ..Default::default()
        };
        // Budget 0.1 × 50 = 5 tokens: item 0 (6) does not fit; 1 (3) and 2 (2) do.
        let chosen = select(1, 50, &candidates, &config);
        assert_eq!(chosen[0].items, vec![1, 2]);
    }

    #[test]
    fn guards_keep_every_record_and_count_against_the_budget() {
        let candidates = [
            item(0, 0, 4, 9.0),
            item(0, 1, 4, 8.0),
            prose(0, 7, 0.5),
            item(1, 0, 4, 0.1),
            prose(1, 3, 0.2),
        ];
        let config = SelectConfig {
            budget: 0.1,
            prose_share: 0.2,
            ..Default::default()
        };
        // Budget 10: prose 2, code 8. Guards: one prose token each (2) → code still 8.
        let chosen = select(2, 100, &candidates, &config);
        assert_eq!(
            chosen[0],
            Chosen {
                items: vec![0, 1],
                prose_tokens: vec![7],
                guarded: true
            }
        );
        assert_eq!(
            chosen[1],
            Chosen {
                items: vec![],
                prose_tokens: vec![3],
                guarded: true
            }
        );

        // Without prose, a record's guard is its best item, paid before the greedy fill.
        let code_only = [item(0, 0, 4, 9.0), item(0, 1, 4, 8.0), item(1, 0, 4, 0.1)];
        let guarded = select(2, 100, &code_only, &config);
        assert_eq!((guarded[0].items.clone(), guarded[1].items.clone()), (vec![0], vec![0]));
        let unguarded = select(
            2,
            100,
            &code_only,
            &SelectConfig {
                allow_empty: true,
                ..config
            },
        );
        assert_eq!(
            (unguarded[0].items.clone(), unguarded[1].items.clone()),
            (vec![0, 1], vec![])
        );
    }

    #[test]
    fn prose_budget_goes_to_code_when_there_is_no_prose() {
        let candidates = [item(0, 0, 10, 1.0)];
        let config = SelectConfig {
            budget: 0.1,
            prose_share: 0.5,
            allow_empty: true,
            ..Default::default()
        };
        assert_eq!(select(1, 100, &candidates, &config)[0].items, vec![0]);
    }
}
