//! Properties over generated Python (proptest): for any mix of records made of generated code
//! and prose, the invariants the fixture tests assert hold (segments tile the response, items
//! are whole syntax nodes, the mask agrees with the selection, a per-record budget is a cap per
//! record and a global one over all), and the two-phase selection (shortlists of shards, one
//! cut) equals one run.

use codeblock_core::Input;
use codeblock_core::pipeline::output::{RecordOutput, Status, record_output};
use codeblock_core::pipeline::record::{Message, Record};
use codeblock_core::pipeline::score::NgramScorer;
use codeblock_core::pipeline::select::{BudgetScope, Shortlist, cut, shortlist};
use codeblock_core::pipeline::tokens::HfTokenizer;
use codeblock_core::pipeline::{Config, analyse};
use codeblock_core::run;
use codeblock_tests::{check_invariants, tokenizer};
use proptest::prelude::*;
use std::sync::OnceLock;

/// A Python statement, nested up to `depth` blocks.
fn statement(depth: u32) -> BoxedStrategy<String> {
    let name = prop::sample::select(vec!["x", "y", "total", "items", "f", "data", "é"]);
    let leaf = prop_oneof![
        (name.clone(), 0..1000i32).prop_map(|(n, v)| format!("{n} = {v}")),
        (name.clone(), name.clone()).prop_map(|(a, b)| format!("{a} = {b} + 1")),
        name.clone().prop_map(|n| format!("return {n}")),
        name.clone()
            .prop_map(|n| format!("print({n}, [i * 2 for i in range({n}) if i])")),
        name.clone().prop_map(|n| format!("{n} = lambda a, b=2: a * b")),
        Just("import os, sys".to_string()),
        Just("pass".to_string()),
        Just("s = \"a string: with (brackets\"".to_string()),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    let body = prop::collection::vec(statement(depth - 1), 1..4);
    let header = prop_oneof![
        name.clone().prop_map(|n| format!("def {n}(a, *args, **kw):")),
        name.clone().prop_map(|n| format!("for i in {n}:")),
        name.clone().prop_map(|n| format!("if {n} > 1:")),
        Just("while True:".to_string()),
        Just("class A(object):".to_string()),
        Just("with open(p) as fh:".to_string()),
        Just("try:".to_string()),
    ];
    prop_oneof![
        leaf,
        (header, body).prop_map(|(header, body)| {
            let indented: Vec<String> = body
                .iter()
                .flat_map(|s| s.lines().map(|l| format!("    {l}")).collect::<Vec<_>>())
                .collect();
            let tail = if header == "try:" {
                "\nexcept Exception:\n    pass"
            } else {
                ""
            };
            format!("{header}\n{}{tail}", indented.join("\n"))
        }),
    ]
    .boxed()
}

/// A response: code (fenced or bare, sometimes broken) with prose around it.
fn response() -> impl Strategy<Value = String> {
    let code = prop::collection::vec(statement(3), 1..6).prop_map(|s| s.join("\n"));
    let prose = prop::sample::select(vec![
        "",
        "Here is the function.",
        "It returns the total of the items.",
        "Note: `x` is used twice.",
    ]);
    (code, prose.clone(), prose, 0..4u8).prop_map(|(code, before, after, form)| match form {
        0 => format!("{before}\n```python\n{code}\n```\n{after}"),
        1 => code,
        2 => format!("{before}\n```python\n{code}\n```"),
        _ => format!("```python\n{}\n```\n{after}", code.replacen(':', "", 1)),
    })
}

/// Qwen3's tokenizer, loaded once for every case.
fn shared_tokenizer() -> &'static HfTokenizer {
    static TOKENIZER: OnceLock<HfTokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(tokenizer)
}

fn records(responses: &[String]) -> Vec<Record> {
    responses
        .iter()
        .enumerate()
        .map(|(i, response)| Record {
            id: i.to_string(),
            prompt: vec![Message {
                role: "user".into(),
                content: "Write it.".into(),
            }],
            response: response.clone(),
        })
        .collect()
}

fn select(records: &[Record], tokenizer: &HfTokenizer, config: &Config) -> Vec<RecordOutput> {
    let inputs = records.iter().cloned().map(Input::record).collect();
    run(inputs, tokenizer, &mut NgramScorer::default(), None, config, &mut ())
}

fn config(budget: f64, scope: BudgetScope) -> Config {
    let mut config = Config::default();
    config.select.budget = budget;
    config.select.scope = scope;
    config
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_invariants_hold_and_the_budget_caps(responses in prop::collection::vec(response(), 1..5), budget in 0.005f64..0.5) {
        let tokenizer = shared_tokenizer();
        let records = records(&responses);
        for output in select(&records, tokenizer, &config(budget, BudgetScope::PerRecord)) {
            check_invariants(&output, budget);
        }
        let (mut cost, mut tokens) = (0, 0);
        for output in select(&records, tokenizer, &config(budget, BudgetScope::Global)) {
            check_invariants(&output, 1.0);
            if let Status::Ok(selected) = &output.status {
                cost += selected.items.iter().filter(|i| i.selected).map(|i| i.tokens).sum::<usize>() + selected.prose.len();
                tokens += selected.stats.response_tokens;
            }
        }
        prop_assert!(cost as f64 <= budget * tokens as f64 + 1e-9, "{cost} tokens over a global budget of {}", budget * tokens as f64);
    }

    #[test]
    fn shortlists_of_shards_cut_once_equal_one_run(responses in prop::collection::vec(response(), 1..6), shard in 1usize..4, budget in 0.005f64..0.3) {
        let tokenizer = shared_tokenizer();
        let records = records(&responses);
        let config = config(budget, BudgetScope::Global);
        let whole = select(&records, tokenizer, &config);
        let inputs = records.iter().cloned().map(Input::record).collect();
        let analysed: Vec<_> = analyse(inputs, tokenizer, &mut NgramScorer::default(), None, &config, &mut ())
            .into_iter()
            .map(|a| a.expect("generated records are accepted"))
            .collect();
        let shortlists: Vec<Shortlist> = analysed.chunks(shard).flat_map(|part| part.iter().map(|a| shortlist(a, config.select.granularity))).collect();
        let chosen = cut(shortlists, &config.select);
        let sharded: Vec<RecordOutput> = analysed.iter().zip(&chosen).map(|(a, c)| record_output(a, c)).collect();
        prop_assert_eq!(sharded, whole);
    }
}
