//! Selection: whole items and single prose tokens under a token budget.
//!
//! The budget is a fraction of response tokens, over the whole dataset (default) or per record,
//! and a cap: nothing, guards included, is taken past it. Code gets `1 − prose_share` of it,
//! prose the rest. First every record gets a guard unit (by default its best code item that
//! fits its own share of the budget, else its best prose token) so that no record ends with
//! nothing supervised, while the budget holds; then code is filled greedily by priority (gated
//! priority), skipping what no longer fits, and prose (by GCE) with its share plus what code
//! left unused. Unused prose budget does not flow back to code: prose is filled last.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::pipeline::analysis::{Analysis, PreparedItem};
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
    /// The unit each record is guaranteed.
    pub guard: Guard,
    /// What code is selected as: whole items (the method) or single core tokens (an ablation).
    pub granularity: Granularity,
}

impl Default for SelectConfig {
    fn default() -> Self {
        SelectConfig {
            budget: 0.019,
            prose_share: 0.2,
            scope: BudgetScope::Global,
            guard: Guard::Item,
            granularity: Granularity::Items,
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

/// The unit a record is guaranteed before the greedy fill, so that it does not end with nothing
/// supervised. A guard item must fit the record's own share of the budget (at least one token),
/// and a guard is only taken while the whole budget still holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Guard {
    /// The record's best code item that fits its share, else its best prose token: short
    /// responses spend their one unit on code rather than on a template word.
    #[default]
    Item,
    /// The record's best prose token, else its best item that fits its share.
    Prose,
    /// No guard: records may end with nothing supervised.
    None,
}

/// The granularity of code selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// Whole coding items, by gated priority: structure and scores (the method).
    #[default]
    Items,
    /// Single core-logic tokens of the items, by their GCE: scores without structure (the
    /// `top-tokens` ablation).
    Tokens,
}

/// What a candidate is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Item,
    /// A core-logic token of code, under [`Granularity::Tokens`].
    CodeToken,
    ProseToken,
}

/// Something that can be selected: an item, a code token or a prose token of one record.
/// Numbers are `u32` (a response is at most `max_response_bytes`) to keep a dataset's
/// candidates, which the global budget holds all at once, small.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub record: u32,
    /// Item index, or token index for a token.
    pub index: u32,
    pub unit: Unit,
    /// Tokens it covers.
    pub cost: u32,
    pub priority: f64,
}

/// A count or index as a candidate holds it.
fn narrow(n: usize) -> u32 {
    u32::try_from(n).expect("counts and indices of candidates fit in 32 bits")
}

/// What was chosen, per record: sorted item and token indices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chosen {
    pub items: Vec<usize>,
    pub code_tokens: Vec<usize>,
    pub prose_tokens: Vec<usize>,
    /// What the record's guard unit cost (0: it got none).
    pub guard_tokens: usize,
}

/// Whether an item can be selected: it holds core logic (an item of only keywords and
/// punctuation teaches nothing the model does not predict). The data-flow gate ranks among
/// these items only.
pub fn is_candidate(item: &PreparedItem) -> bool {
    !item.core_tokens.is_empty()
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
/// token they cover; priority: the gated priority), or under [`Granularity::Tokens`] those
/// items' core tokens (cost 1; priority: the token's GCE); and its selectable prose tokens
/// (cost 1; priority: the token's GCE).
pub fn candidates(record: usize, analysis: &Analysis, granularity: Granularity) -> Vec<Candidate> {
    let prepared = &analysis.prepared;
    let record = narrow(record);
    let token = |unit, index: usize| Candidate {
        record,
        index: narrow(index),
        unit,
        cost: 1,
        priority: analysis.token_scores[index],
    };
    let items = prepared.items.iter().enumerate().filter(|(_, item)| is_candidate(item));
    let code: Vec<Candidate> = match granularity {
        Granularity::Items => items
            .map(|(index, item)| Candidate {
                record,
                index: narrow(index),
                unit: Unit::Item,
                cost: narrow(item.tokens.len()),
                priority: analysis.priority[index],
            })
            .collect(),
        Granularity::Tokens => {
            let core: BTreeSet<usize> = items.flat_map(|(_, item)| item.core_tokens.iter().copied()).collect();
            core.into_iter().map(|t| token(Unit::CodeToken, t)).collect()
        }
    };
    let prose = prepared.prose_tokens.iter().map(|&t| token(Unit::ProseToken, t));
    code.into_iter().chain(prose).collect()
}

impl Candidate {
    fn prose(&self) -> bool {
        self.unit == Unit::ProseToken
    }

    /// Its record's place among the records.
    fn slot(&self) -> usize {
        self.record as usize
    }
}

/// What the budget needs to know of one record, and nothing more: its response's token count
/// and its candidates (their `record` is set by [`cut`]). This is the global budget as a
/// map/reduce: shortlists made shard by shard (phase 1), concatenated in record order and cut
/// once (phase 2), give each record the same [`Chosen`] as one process over all records; each
/// shard then writes its records with theirs (phase 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shortlist {
    pub tokens: usize,
    pub candidates: Vec<Candidate>,
}

/// A record's shortlist.
pub fn shortlist(analysis: &Analysis, granularity: Granularity) -> Shortlist {
    Shortlist {
        tokens: analysis.prepared.tokens.len(),
        candidates: candidates(0, analysis, granularity),
    }
}

/// The order the budget walks candidates in: priority, best first; ties by record, unit, index.
pub fn by_priority(a: &Candidate, b: &Candidate) -> Ordering {
    b.priority
        .total_cmp(&a.priority)
        .then(a.record.cmp(&b.record))
        .then(a.unit.cmp(&b.unit))
        .then(a.index.cmp(&b.index))
}

/// Chooses for every record of `shortlists` (in record order) under one budget over all of
/// them, or one per record. Takes them by value: each is freed as its candidates join the
/// dataset's, so the two never stand side by side.
pub fn cut(shortlists: Vec<Shortlist>, config: &SelectConfig) -> Vec<Chosen> {
    match config.scope {
        BudgetScope::Global => {
            let (tokens, candidates) = gather(shortlists);
            select(&tokens, candidates, config)
        }
        BudgetScope::PerRecord => shortlists
            .into_iter()
            .map(|s| select(&[s.tokens], s.candidates, config).remove(0))
            .collect(),
    }
}

/// Shortlists as one list: each record's response token count, and all candidates, numbered by
/// their record's place in `shortlists`.
pub fn gather(shortlists: Vec<Shortlist>) -> (Vec<usize>, Vec<Candidate>) {
    let tokens: Vec<usize> = shortlists.iter().map(|s| s.tokens).collect();
    // Sized once: a growing vector would hold its old and new buffers at once.
    let mut all = Vec::with_capacity(shortlists.iter().map(|s| s.candidates.len()).sum());
    for (record, s) in shortlists.into_iter().enumerate() {
        let record = narrow(record);
        all.extend(s.candidates.into_iter().map(|c| Candidate { record, ..c }));
    }
    (tokens, all)
}

/// Selects among `candidates` of records holding `record_tokens` response tokens each, under
/// one budget over all of them.
pub fn select(record_tokens: &[usize], candidates: Vec<Candidate>, config: &SelectConfig) -> Vec<Chosen> {
    let mut plan = CutPlan::new(config);
    let run = plan.add(record_tokens, candidates);
    let mut cut = plan.into_cut();
    cut.fill_code(run.iter().copied());
    cut.fill_prose(run.iter().copied());
    cut.into_chosen().collect()
}

/// A global cut's records, added in order a batch at a time: what the cut must know of each
/// before the walk (the budget, the guard options). Each batch comes back as a run, its
/// candidates in [`by_priority`] order, which the walk then reads merged with the others: all
/// at once in memory ([`select`]), or from disk (native `select`, which never holds a
/// dataset's candidates).
#[derive(Debug)]
pub struct CutPlan<'c> {
    config: &'c SelectConfig,
    tokens: usize,
    any_prose: bool,
    options: Vec<GuardOptions>,
}

impl<'c> CutPlan<'c> {
    pub fn new(config: &'c SelectConfig) -> Self {
        CutPlan {
            config,
            tokens: 0,
            any_prose: false,
            options: Vec::new(),
        }
    }

    /// Adds the next records: each one's response token count and their candidates, whose
    /// `record` counts from 0 in this batch. Returns the candidates as a run: numbered after the
    /// records added before, in [`by_priority`] order.
    pub fn add(&mut self, record_tokens: &[usize], mut candidates: Vec<Candidate>) -> Vec<Candidate> {
        let first = narrow(self.options.len());
        for c in &mut candidates {
            c.record += first;
        }
        candidates.sort_unstable_by(by_priority);
        let mut scans = vec![GuardScan::default(); record_tokens.len()];
        for c in &candidates {
            let record = c.slot() - first as usize;
            scans[record].see(c, record_tokens[record], self.config);
        }
        self.options
            .extend(scans.into_iter().map(|scan| scan.options(self.config.guard)));
        self.tokens += record_tokens.iter().sum::<usize>();
        self.any_prose |= candidates.iter().any(Candidate::prose);
        candidates
    }

    /// Records added so far.
    pub fn records(&self) -> usize {
        self.options.len()
    }

    /// The cut, with the guards placed.
    pub fn into_cut(self) -> Cut {
        Cut::new(self.tokens, self.any_prose, self.options, self.config)
    }
}

/// The global budget's walk: [`CutPlan::into_cut`] places the guards; then [`Cut::fill_code`]
/// and [`Cut::fill_prose`], each given every candidate in [`by_priority`] order (the plan's
/// runs, merged); then [`Cut::into_chosen`].
#[derive(Debug)]
pub struct Cut {
    left: Sides,
    /// Each record's guard unit, if it got one.
    guards: Vec<Option<Candidate>>,
    /// Everything taken, guards included, as (record, unit, index).
    taken: Vec<(u32, Unit, u32)>,
}

impl Cut {
    /// The budget over `tokens` response tokens in all, split between code and prose (all of
    /// it to code when no record has a prose candidate), less the guards: each record with
    /// options takes its first that the whole remaining budget still holds (guards never blow
    /// the budget), records cheapest first (then by priority) so that the budget guards as
    /// many as it can, paid from its side (a side that overspends pays from the other).
    fn new(tokens: usize, any_prose: bool, options: Vec<GuardOptions>, config: &SelectConfig) -> Cut {
        let budget = config.budget * tokens as f64;
        let prose = if any_prose {
            config.prose_share.clamp(0.0, 1.0) * budget
        } else {
            0.0
        };
        let mut cut = Cut {
            left: Sides {
                prose,
                code: budget - prose,
            },
            guards: vec![None; options.len()],
            taken: Vec::new(),
        };
        let mut order: Vec<&Candidate> = options.iter().filter_map(|o| o.0[0].as_ref()).collect();
        order.sort_unstable_by(|a, b| a.cost.cmp(&b.cost).then_with(|| by_priority(a, b)));
        for first in order {
            let left = cut.left.prose + cut.left.code;
            let Some(&c) = options[first.slot()].0.iter().flatten().find(|c| c.cost as f64 <= left) else {
                continue;
            };
            cut.guards[c.slot()] = Some(c);
            cut.taken.push((c.record, c.unit, c.index));
            *cut.left.side(c.prose()) -= c.cost as f64;
            cut.left.settle();
        }
        cut
    }

    /// Code, greedily by priority, skipping what no longer fits. Prose candidates pass by.
    pub fn fill_code(&mut self, sorted: impl IntoIterator<Item = Candidate>) {
        let mut left = self.left.code;
        self.fill(sorted, false, &mut left);
        self.left.code = left;
    }

    /// Prose, after code, with its share plus what code left unused (nothing flows back).
    pub fn fill_prose(&mut self, sorted: impl IntoIterator<Item = Candidate>) {
        let mut left = self.left.prose + self.left.code;
        self.fill(sorted, true, &mut left);
        self.left = Sides { prose: left, code: 0.0 };
    }

    fn fill(&mut self, sorted: impl IntoIterator<Item = Candidate>, prose: bool, left: &mut f64) {
        for c in sorted {
            let guard = self.guards[c.slot()].is_some_and(|g| (g.unit, g.index) == (c.unit, c.index));
            if c.prose() == prose && !guard && c.cost as f64 <= *left {
                self.taken.push((c.record, c.unit, c.index));
                *left -= c.cost as f64;
            }
        }
    }

    /// Each record's choice, in record order.
    pub fn into_chosen(self) -> impl Iterator<Item = Chosen> {
        let Cut { guards, mut taken, .. } = self;
        taken.sort_unstable();
        let mut taken = taken.into_iter().peekable();
        guards.into_iter().enumerate().map(move |(record, guard)| {
            let mut chosen = Chosen {
                guard_tokens: guard.map_or(0, |g| g.cost as usize),
                ..Chosen::default()
            };
            while let Some((_, unit, index)) = taken.next_if(|t| t.0 as usize == record) {
                let list = match unit {
                    Unit::Item => &mut chosen.items,
                    Unit::CodeToken => &mut chosen.code_tokens,
                    Unit::ProseToken => &mut chosen.prose_tokens,
                };
                list.push(index as usize);
            }
            chosen
        })
    }
}

/// What is left of the budget on each side.
#[derive(Debug)]
struct Sides {
    prose: f64,
    code: f64,
}

impl Sides {
    fn side(&mut self, prose: bool) -> &mut f64 {
        match prose {
            true => &mut self.prose,
            false => &mut self.code,
        }
    }

    /// A side below zero pays from the other.
    fn settle(&mut self) {
        if self.prose < 0.0 {
            self.code += self.prose;
            self.prose = 0.0;
        }
        if self.code < 0.0 {
            self.prose += self.code;
            self.code = 0.0;
        }
    }
}

/// A record's guard options, best first (at most two; none under [`Guard::None`]).
#[derive(Debug, Clone, Copy, Default)]
struct GuardOptions([Option<Candidate>; 2]);

/// One record's candidates seen in [`by_priority`] order, for its guard options. With
/// `Guard::Item`: the best item that fits the record's own share of the budget (at least one
/// token), else its cheapest item (the least code it can be given), else its best prose token;
/// the prose token is also the fallback when the budget cannot hold the item.
#[derive(Debug, Clone, Copy, Default)]
struct GuardScan {
    fitting: Option<Candidate>,
    cheapest: Option<Candidate>,
    prose: Option<Candidate>,
}

impl GuardScan {
    /// The next candidate of a record of `tokens` response tokens.
    fn see(&mut self, c: &Candidate, tokens: usize, config: &SelectConfig) {
        if c.prose() {
            self.prose.get_or_insert(*c);
            return;
        }
        if c.cost as f64 <= (config.budget * tokens as f64).max(1.0) {
            self.fitting.get_or_insert(*c);
        }
        if self.cheapest.is_none_or(|cheapest| c.cost < cheapest.cost) {
            self.cheapest = Some(*c);
        }
    }

    fn options(self, guard: Guard) -> GuardOptions {
        let item = self.fitting.or(self.cheapest);
        let [first, second] = match guard {
            Guard::Item => [item, self.prose],
            Guard::Prose => [self.prose, item],
            Guard::None => [None, None],
        };
        GuardOptions(if first.is_some() {
            [first, second]
        } else {
            [second, None]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(record: u32, index: u32, cost: u32, priority: f64) -> Candidate {
        Candidate {
            record,
            index,
            unit: Unit::Item,
            cost,
            priority,
        }
    }

    fn prose(record: u32, index: u32, priority: f64) -> Candidate {
        Candidate {
            record,
            index,
            unit: Unit::ProseToken,
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
            guard: Guard::None,
            ..Default::default()
        };
        // Budget 0.1 × 50 = 5 tokens: item 0 (6) does not fit; 1 (3) and 2 (2) do.
        let chosen = select(&[50], candidates.to_vec(), &config);
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
        // Budget 10 over two records of 50 tokens: prose 2, code 8; each record's own share is
        // 5, so both guards are items (4 each). Code is then left with 0: the prose fill has 2.
        let chosen = select(&[50, 50], candidates.to_vec(), &config);
        let expected = |items: Vec<usize>, prose_tokens: Vec<usize>| Chosen {
            items,
            prose_tokens,
            guard_tokens: 4,
            ..Chosen::default()
        };
        assert_eq!(chosen, [expected(vec![0], vec![7]), expected(vec![0], vec![3])]);

        // Guarding with prose: one prose token each (2), code keeps its 8.
        let prose_first = SelectConfig {
            guard: Guard::Prose,
            ..config.clone()
        };
        let chosen = select(&[50, 50], candidates.to_vec(), &prose_first);
        assert_eq!((&chosen[0].items, &chosen[0].prose_tokens), (&vec![0, 1], &vec![7]));
        assert_eq!((&chosen[1].items, &chosen[1].prose_tokens), (&vec![], &vec![3]));
        assert_eq!(chosen[1].guard_tokens, 1);

        // Without guards the greedy fill alone decides: record 1 gets nothing.
        let code_only = [item(0, 0, 4, 9.0), item(0, 1, 4, 8.0), item(1, 0, 4, 0.1)];
        let unguarded = select(
            &[50, 50],
            code_only.to_vec(),
            &SelectConfig {
                guard: Guard::None,
                ..config
            },
        );
        assert_eq!(
            (unguarded[0].items.clone(), unguarded[1].items.clone()),
            (vec![0, 1], vec![])
        );
    }

    #[test]
    fn guards_prefer_code_and_never_blow_the_budget() {
        // A short record whose items all exceed its share (0.05 × 50 = 2.5) still gets code:
        // its cheapest item (3), which the budget (5) holds.
        let short = [
            item(0, 0, 4, 9.0),
            item(0, 1, 3, 1.0),
            prose(0, 6, 5.0),
            prose(1, 2, 0.1),
        ];
        let chosen = select(
            &[50, 50],
            short.to_vec(),
            &SelectConfig {
                budget: 0.05,
                ..Default::default()
            },
        );
        assert_eq!((chosen[0].items.clone(), chosen[0].guard_tokens), (vec![1], 3));
        assert_eq!((chosen[1].prose_tokens.clone(), chosen[1].guard_tokens), (vec![2], 1));

        // A huge item (90) fits neither its record's share nor the budget (10): the guard falls
        // back to the record's prose token.
        let huge = [item(0, 0, 90, 9.0), prose(0, 5, 0.1)];
        let chosen = select(
            &[100],
            huge.to_vec(),
            &SelectConfig {
                budget: 0.1,
                ..Default::default()
            },
        );
        assert_eq!(
            (chosen[0].items.clone(), chosen[0].prose_tokens.clone()),
            (vec![], vec![5])
        );

        // Four records of 10 tokens at 5%: a budget of 2 tokens guards the two best records
        // only, however many ask.
        let tiny: Vec<Candidate> = (0..4).map(|r| item(r, 0, 1, r as f64)).collect();
        let chosen = select(
            &[10; 4],
            tiny,
            &SelectConfig {
                budget: 0.05,
                ..Default::default()
            },
        );
        let guarded: Vec<usize> = chosen.iter().map(|c| c.guard_tokens).collect();
        assert_eq!(guarded, [0, 0, 1, 1]);
    }

    #[test]
    fn prose_budget_goes_to_code_when_there_is_no_prose() {
        let candidates = [item(0, 0, 10, 1.0)];
        let config = SelectConfig {
            budget: 0.1,
            prose_share: 0.5,
            guard: Guard::None,
            ..Default::default()
        };
        assert_eq!(select(&[100], candidates.to_vec(), &config)[0].items, vec![0]);
    }
}
