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
        let mut summary = Summary {
            records_in: outputs.len(),
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
        };
        for output in outputs {
            match &output.status {
                Status::Ok(selected) => {
                    let stats = &selected.stats;
                    summary.records_ok += 1;
                    summary.response_tokens += stats.response_tokens;
                    summary.supervised_tokens += stats.supervised_tokens;
                    summary.items += stats.items;
                    summary.selected_items += stats.selected_items;
                    summary.item_tokens += stats.item_tokens;
                    summary.prose_tokens += stats.selected_prose_tokens;
                    summary.guard_tokens += stats.guard_tokens;
                    summary.guarded_records += usize::from(stats.guarded);
                    summary.empty_records += usize::from(stats.supervised_tokens == 0);
                    summary.diagnostics += selected.diagnostics.len();
                }
                Status::Rejected(reject) => {
                    summary.records_rejected += 1;
                    *summary.rejected_by_reason.entry(reject.reason.clone()).or_default() += 1;
                }
            }
        }
        if summary.response_tokens > 0 {
            summary.supervised_fraction = summary.supervised_tokens as f64 / summary.response_tokens as f64;
        }
        let asked = asked_fraction * summary.response_tokens as f64;
        summary.overshoot_tokens = (summary.supervised_tokens as f64 - asked).ceil().max(0.0) as usize;
        if summary.supervised_tokens > 0 {
            let share = |tokens: usize| tokens as f64 / summary.supervised_tokens as f64;
            summary.item_share = share(summary.item_tokens);
            summary.prose_share = share(summary.prose_tokens);
            summary.guard_share = share(summary.guard_tokens);
        }
        if summary.records_ok > 0 {
            summary.items_per_record = summary.items as f64 / summary.records_ok as f64;
        }
        summary
    }
}
