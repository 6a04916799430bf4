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
        if summary.records_ok > 0 {
            summary.items_per_record = summary.items as f64 / summary.records_ok as f64;
        }
        summary
    }
}
