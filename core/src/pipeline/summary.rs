//! The run summary: every record in is accounted for as ok or rejected by reason.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::pipeline::output::{RecordOutput, Status};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub records_in: usize,
    pub records_ok: usize,
    pub records_rejected: usize,
    pub rejected_by_reason: BTreeMap<String, usize>,
    pub response_tokens: usize,
    pub supervised_tokens: usize,
    pub supervised_fraction: f64,
    pub asked_fraction: f64,
    /// Supervised tokens past the asked fraction of the response tokens (0 when within it).
    pub overshoot_tokens: usize,
    /// Where the supervised tokens went: selected items (code), selected prose tokens, and the
    /// guard units among them.
    pub item_tokens: usize,
    pub prose_tokens: usize,
    pub guard_tokens: usize,
    /// Those three as shares of the supervised tokens.
    pub item_share: f64,
    pub prose_share: f64,
    pub guard_share: f64,
    pub items: usize,
    pub selected_items: usize,
    pub items_per_record: f64,
    /// Records that got a guard unit so as not to end empty.
    pub guarded_records: usize,
    /// Records that ended with no supervised token (allowed, or nothing selectable).
    pub empty_records: usize,
    pub diagnostics: usize,
}

impl Summary {
    pub fn new(outputs: &[RecordOutput], asked_fraction: f64) -> Self {
        let mut summary = Summary::empty(asked_fraction);
        for output in outputs {
            summary.add(output);
        }
        summary
    }

    /// The summary of no records, for a shell that adds them as they are written.
    pub fn empty(asked_fraction: f64) -> Self {
        Summary {
            records_in: 0,
            records_ok: 0,
            records_rejected: 0,
            rejected_by_reason: BTreeMap::new(),
            response_tokens: 0,
            supervised_tokens: 0,
            supervised_fraction: 0.0,
            asked_fraction,
            overshoot_tokens: 0,
            item_tokens: 0,
            prose_tokens: 0,
            guard_tokens: 0,
            item_share: 0.0,
            prose_share: 0.0,
            guard_share: 0.0,
            items: 0,
            selected_items: 0,
            items_per_record: 0.0,
            guarded_records: 0,
            empty_records: 0,
            diagnostics: 0,
        }
    }

    /// Counts one more output line.
    pub fn add(&mut self, output: &RecordOutput) {
        self.records_in += 1;
        match &output.status {
            Status::Ok(selected) => {
                let stats = &selected.stats;
                self.records_ok += 1;
                self.response_tokens += stats.response_tokens;
                self.supervised_tokens += stats.supervised_tokens;
                self.items += stats.items;
                self.selected_items += stats.selected_items;
                self.item_tokens += stats.item_tokens;
                self.prose_tokens += stats.selected_prose_tokens;
                self.guard_tokens += stats.guard_tokens;
                self.guarded_records += usize::from(stats.guarded);
                self.empty_records += usize::from(stats.supervised_tokens == 0);
                self.diagnostics += selected.diagnostics.len();
            }
            Status::Rejected(reject) => {
                self.records_rejected += 1;
                *self.rejected_by_reason.entry(reject.reason.clone()).or_default() += 1;
            }
        }
        self.derive();
    }

    /// The fractions and shares, from the counts.
    fn derive(&mut self) {
        if self.response_tokens > 0 {
            self.supervised_fraction = self.supervised_tokens as f64 / self.response_tokens as f64;
        }
        let asked = self.asked_fraction * self.response_tokens as f64;
        self.overshoot_tokens = (self.supervised_tokens as f64 - asked).ceil().max(0.0) as usize;
        if self.supervised_tokens > 0 {
            let share = |tokens: usize| tokens as f64 / self.supervised_tokens as f64;
            self.item_share = share(self.item_tokens);
            self.prose_share = share(self.prose_tokens);
            self.guard_share = share(self.guard_tokens);
        }
        if self.records_ok > 0 {
            self.items_per_record = self.items as f64 / self.records_ok as f64;
        }
    }
}

/// How alike two selections of the same records are (the same records cut by the same
/// tokenizer, e.g. with and without data flow): the Jaccard overlap of their supervised tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overlap {
    /// Records ok in both, with the same tokens.
    pub records: usize,
    /// Records of the two sides not compared (counted on each side): missing or rejected on
    /// the other side, or cut into other tokens.
    pub unmatched: usize,
    /// The mean over records of |A ∩ B| / |A ∪ B| (1 when both supervise nothing).
    pub mean_jaccard: f64,
    /// Σ |A ∩ B| / Σ |A ∪ B| over all records.
    pub pooled_jaccard: f64,
    /// Records whose masks are equal.
    pub identical: usize,
}

/// The overlap of the masks of `a` and `b`, matched by record id.
pub fn overlap(a: &[RecordOutput], b: &[RecordOutput]) -> Overlap {
    let by_id: BTreeMap<&str, &RecordOutput> = b.iter().map(|o| (o.id.as_str(), o)).collect();
    let mut result = Overlap {
        records: 0,
        unmatched: 0,
        mean_jaccard: 0.0,
        pooled_jaccard: 0.0,
        identical: 0,
    };
    let (mut sum, mut both, mut either) = (0.0, 0usize, 0usize);
    for left in a {
        let right = by_id.get(left.id.as_str()).and_then(|o| o.selected());
        let (Some(x), Some(y)) = (left.selected(), right) else {
            continue;
        };
        if x.mask.token_spans != y.mask.token_spans {
            continue;
        }
        let flags = x.mask.supervised.iter().zip(&y.mask.supervised);
        let inter = flags.clone().filter(|&(&p, &q)| p == 1 && q == 1).count();
        let union = flags.filter(|&(&p, &q)| p == 1 || q == 1).count();
        result.records += 1;
        result.identical += usize::from(inter == union);
        sum += if union == 0 { 1.0 } else { inter as f64 / union as f64 };
        both += inter;
        either += union;
    }
    result.unmatched = a.len() + b.len() - 2 * result.records;
    if result.records > 0 {
        result.mean_jaccard = sum / result.records as f64;
    }
    if either > 0 {
        result.pooled_jaccard = both as f64 / either as f64;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::record::{Message, Record};
    use crate::pipeline::score::NgramScorer;
    use crate::pipeline::select::{BudgetScope, SelectConfig};
    use crate::pipeline::tokens::LexicalTokenizer;
    use crate::{Config, Input};

    fn selections(budget: f64, lambda: f64) -> Vec<RecordOutput> {
        let record = |id: &str, response: &str| {
            Input::record(Record {
                id: id.into(),
                prompt: vec![Message {
                    role: "user".into(),
                    content: "q".into(),
                }],
                response: response.into(),
            })
        };
        let mut config = Config {
            select: SelectConfig {
                budget,
                scope: BudgetScope::PerRecord,
                ..SelectConfig::default()
            },
            ..Config::default()
        };
        config.dataflow.lambda_reach = lambda;
        config.dataflow.lambda_bridge = lambda;
        let inputs = vec![
            record("a", "```python\nx = load()\ny = x + 1\nprint(y)\nz = 2\n```\n"),
            record("b", "Done:\n```python\nvalue = compute(1, 2)\n```\n"),
        ];
        crate::run(
            inputs,
            &LexicalTokenizer,
            &mut NgramScorer::default(),
            None,
            &config,
            &mut (),
        )
    }

    #[test]
    fn identical_selections_overlap_fully_and_others_less() {
        let base = selections(0.3, 0.5);
        let same = overlap(&base, &base);
        assert_eq!((same.records, same.unmatched, same.identical), (2, 0, 2));
        assert_eq!((same.mean_jaccard, same.pooled_jaccard), (1.0, 1.0));
        let wider = overlap(&base, &selections(0.9, 0.5));
        assert_eq!(wider.records, 2);
        assert!(wider.pooled_jaccard < 1.0 && wider.pooled_jaccard > 0.0, "{wider:?}");
        let missing = overlap(&base, &base[..1]);
        assert_eq!((missing.records, missing.unmatched), (1, 1));
    }
}
