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
use std::iter::Peekable;

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
/// one budget over all of them: the [`Cut`]'s steps, with every stream sorted in memory.
pub fn select(record_tokens: &[usize], candidates: Vec<Candidate>, config: &SelectConfig) -> Vec<Chosen> {
    let mut plan = CutPlan::new(config);
    let Batch { run, mut options } = plan.add(record_tokens, candidates);
    let mut cut = plan.into_cut();
    options.sort_unstable_by(by_guard_order);
    let mut guards: Vec<Candidate> = options.iter().filter_map(|o| cut.guard(o)).collect();
    guards.sort_unstable_by(by_priority);
    let mut taken: Vec<Candidate> = cut.fill_code(run.iter().copied(), guards.iter().copied()).collect();
    taken.extend(cut.fill_prose(run.iter().copied(), guards.iter().copied()));
    guards.sort_unstable_by(by_record);
    taken.sort_unstable_by(by_record);
    cut.into_chosen(guards, taken).collect()
}

/// A global cut's records, added in order a batch at a time. It keeps only totals: each batch
/// comes back as its candidates and its records' guard options, for the caller to keep (in
/// memory, or on disk for a dataset of any size) and hand to the [`Cut`] sorted.
#[derive(Debug)]
pub struct CutPlan<'c> {
    config: &'c SelectConfig,
    records: usize,
    tokens: usize,
    any_prose: bool,
}

/// One batch added to a [`CutPlan`]: its candidates, numbered after the records added before,
/// in [`by_priority`] order; and the guard options of its records that have any.
#[derive(Debug)]
pub struct Batch {
    pub run: Vec<Candidate>,
    pub options: Vec<GuardOptions>,
}

impl<'c> CutPlan<'c> {
    pub fn new(config: &'c SelectConfig) -> Self {
        CutPlan {
            config,
            records: 0,
            tokens: 0,
            any_prose: false,
        }
    }

    /// Adds the next records: each one's response token count and their candidates, whose
    /// `record` counts from 0 in this batch.
    pub fn add(&mut self, record_tokens: &[usize], mut candidates: Vec<Candidate>) -> Batch {
        let first = self.records;
        for c in &mut candidates {
            c.record += narrow(first);
        }
        candidates.sort_unstable_by(by_priority);
        let mut scans = vec![GuardScan::default(); record_tokens.len()];
        for c in &candidates {
            let record = c.slot() - first;
            scans[record].see(c, record_tokens[record], self.config);
        }
        self.records += record_tokens.len();
        self.tokens += record_tokens.iter().sum::<usize>();
        self.any_prose |= candidates.iter().any(Candidate::prose);
        let guard = self.config.guard;
        Batch {
            run: candidates,
            options: scans.into_iter().filter_map(|scan| scan.options(guard)).collect(),
        }
    }

    /// The budget over `tokens` response tokens in all, split between code and prose (all of
    /// it to code when no record has a prose candidate).
    pub fn into_cut(self) -> Cut {
        let budget = self.config.budget * self.tokens as f64;
        let prose = if self.any_prose {
            self.config.prose_share.clamp(0.0, 1.0) * budget
        } else {
            0.0
        };
        Cut {
            left: Sides {
                prose,
                code: budget - prose,
            },
            records: self.records,
        }
    }
}

/// The global budget's walk over streams the caller keeps sorted, so that nothing in it grows
/// with the records: [`Cut::guard`] for every record's options in [`by_guard_order`]; then
/// [`Cut::fill_code`] and [`Cut::fill_prose`], each over every candidate and the guards, both
/// in [`by_priority`] order, and each drained; then [`Cut::into_chosen`] from the guards and
/// what the fills took, both in [`by_record`] order.
#[derive(Debug)]
pub struct Cut {
    left: Sides,
    records: usize,
}

impl Cut {
    /// The guard of a record with `options`: its first option that the whole remaining budget
    /// still holds (guards never blow the budget), paid from its side (a side that overspends
    /// pays from the other). Records come cheapest first so that the budget guards as many as
    /// it can.
    pub fn guard(&mut self, options: &GuardOptions) -> Option<Candidate> {
        let left = self.left.prose + self.left.code;
        let c = [Some(options.first), options.second]
            .into_iter()
            .flatten()
            .find(|c| c.cost as f64 <= left)?;
        *self.left.side(c.prose()) -= c.cost as f64;
        self.left.settle();
        Some(c)
    }

    /// Code, greedily by priority, skipping what no longer fits: yields what it takes.
    pub fn fill_code<S, G>(&mut self, sorted: S, guards: G) -> Fill<'_, S::IntoIter, G::IntoIter>
    where
        S: IntoIterator<Item = Candidate>,
        G: IntoIterator<Item = Candidate>,
    {
        Fill::new(&mut self.left.code, false, sorted, guards)
    }

    /// Prose, after code, with its share plus what code left unused (nothing flows back).
    pub fn fill_prose<S, G>(&mut self, sorted: S, guards: G) -> Fill<'_, S::IntoIter, G::IntoIter>
    where
        S: IntoIterator<Item = Candidate>,
        G: IntoIterator<Item = Candidate>,
    {
        self.left.prose += std::mem::take(&mut self.left.code);
        Fill::new(&mut self.left.prose, true, sorted, guards)
    }

    /// Each record's choice, in record order.
    pub fn into_chosen(
        self,
        guards: impl IntoIterator<Item = Candidate>,
        taken: impl IntoIterator<Item = Candidate>,
    ) -> impl Iterator<Item = Chosen> {
        let mut guards = guards.into_iter().peekable();
        let mut taken = taken.into_iter().peekable();
        (0..self.records).map(move |record| {
            let guard = guards.next_if(|g| g.slot() == record);
            let mut chosen = Chosen {
                guard_tokens: guard.map_or(0, |g| g.cost as usize),
                ..Chosen::default()
            };
            let fills = std::iter::from_fn(|| taken.next_if(|t| t.slot() == record));
            for c in guard.into_iter().chain(fills) {
                let list = match c.unit {
                    Unit::Item => &mut chosen.items,
                    Unit::CodeToken => &mut chosen.code_tokens,
                    Unit::ProseToken => &mut chosen.prose_tokens,
                };
                list.push(c.index as usize);
            }
            // The guard came first; the fills are in order.
            for list in [&mut chosen.items, &mut chosen.code_tokens, &mut chosen.prose_tokens] {
                list.sort_unstable();
            }
            chosen
        })
    }
}

/// A fill of one side of the budget: walks the candidates in [`by_priority`] order and yields
/// each one of its side that still fits and is not a guard.
#[derive(Debug)]
pub struct Fill<'c, S: Iterator<Item = Candidate>, G: Iterator<Item = Candidate>> {
    left: &'c mut f64,
    prose: bool,
    sorted: S,
    guards: Peekable<G>,
}

impl<'c, S: Iterator<Item = Candidate>, G: Iterator<Item = Candidate>> Fill<'c, S, G> {
    fn new(
        left: &'c mut f64,
        prose: bool,
        sorted: impl IntoIterator<IntoIter = S>,
        guards: impl IntoIterator<IntoIter = G>,
    ) -> Self {
        Fill {
            left,
            prose,
            sorted: sorted.into_iter(),
            guards: guards.into_iter().peekable(),
        }
    }
}

impl<S: Iterator<Item = Candidate>, G: Iterator<Item = Candidate>> Iterator for Fill<'_, S, G> {
    type Item = Candidate;

    fn next(&mut self) -> Option<Candidate> {
        for c in self.sorted.by_ref() {
            // The guards come in the same order: those before `c` are passed, and `c` is one
            // if it is the next.
            while self.guards.next_if(|g| by_priority(g, &c).is_lt()).is_some() {}
            if self.guards.next_if(|g| by_priority(g, &c).is_eq()).is_some() {
                continue;
            }
            if c.prose() == self.prose && c.cost as f64 <= *self.left {
                *self.left -= c.cost as f64;
                return Some(c);
            }
        }
        None
    }
}

/// The order the guards are placed in: cheapest first option first, then by its priority.
pub fn by_guard_order(a: &GuardOptions, b: &GuardOptions) -> Ordering {
    a.first
        .cost
        .cmp(&b.first.cost)
        .then_with(|| by_priority(&a.first, &b.first))
}

/// Record order: by record, then unit, then index.
pub fn by_record(a: &Candidate, b: &Candidate) -> Ordering {
    (a.record, a.unit, a.index).cmp(&(b.record, b.unit, b.index))
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

/// A record's guard options: the unit it is guarded with if the budget holds it, else the
/// second, if any.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GuardOptions {
    pub first: Candidate,
    pub second: Option<Candidate>,
}

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

    /// None under [`Guard::None`], or for a record without candidates.
    fn options(self, guard: Guard) -> Option<GuardOptions> {
        let item = self.fitting.or(self.cheapest);
        let preference = match guard {
            Guard::Item => [item, self.prose],
            Guard::Prose => [self.prose, item],
            Guard::None => return None,
        };
        let mut options = preference.into_iter().flatten();
        Some(GuardOptions {
            first: options.next()?,
            second: options.next(),
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
