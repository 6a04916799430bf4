//! The pipeline end to end through its public stages: `prepare` → `rank` → `record_output`
//! for one record, and `run` over several (input order, rejects in place, the global budget).

use codeblock_core::pipeline::output::{Input, Reject, Status, record_output};
use codeblock_core::pipeline::record::{Message, Record};
use codeblock_core::pipeline::score::NgramScorer;
use codeblock_core::pipeline::select::{Chosen, Granularity, Guard, SelectConfig, Shortlist, cut, shortlist};
use codeblock_core::pipeline::tokens::{LexicalTokenizer, Token, Tokenize, TokenizeError};
use codeblock_core::pipeline::{Config, analyse, prepare, rank, run};
use codeblock_core::span::Span;

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
    let analysis = rank(prepared, &[-1.0; 9], None, &Config::default()).unwrap();
    let chosen = Chosen {
        items: vec![1],
        ..Chosen::default()
    };
    let Status::Ok(selected) = record_output(&analysis, &chosen).status else {
        panic!("the record is ok")
    };
    assert_eq!(selected.mask.supervised, [0, 0, 0, 0, 1, 1, 1, 1, 1]);
    assert_eq!(selected.mask.spans, [Span::new(6, 11)]);
}

#[test]
fn run_keeps_input_order_and_rejects_in_place() {
    let records = vec![
        Input::record(record(
            "a",
            "Compute it:\n```python\ntotal = sum(values)\nprint(total)\n```\n",
        )),
        Input {
            line: Some(2),
            record: Err(Reject::new("malformed_json", "not valid JSON")),
        },
        Input {
            line: Some(3),
            record: Ok(record("c", "")),
        },
        Input::record(record("d", "x = 1\ny = x + 1\n")),
    ];
    // A budget that holds a guard for each record (the budget is a cap, guards included).
    let config = Config {
        select: SelectConfig {
            budget: 0.3,
            ..SelectConfig::default()
        },
        ..Config::default()
    };
    let outputs = run(
        records.clone(),
        &LexicalTokenizer,
        &mut NgramScorer::default(),
        None,
        &config,
        &mut (),
    );
    let ids: Vec<&str> = outputs.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["a", "line 2", "c", "d"]);
    assert!(matches!(&outputs[1].status, Status::Rejected(r) if r.message == "line 2: not valid JSON"));
    assert!(outputs[0].selected().is_some() && outputs[3].selected().is_some());
    assert!(
        matches!(&outputs[2].status, Status::Rejected(r) if r.reason == "empty_response" && r.message.starts_with("line 3: "))
    );
    // Guards: every accepted record has something supervised, a code item in each.
    let selected: Vec<_> = outputs.iter().filter_map(|o| o.selected()).collect();
    assert!(
        selected
            .iter()
            .all(|s| s.stats.supervised_tokens > 0 && s.stats.item_tokens > 0)
    );

    // At the default 1.9% these 18 response tokens hold no guard: nothing passes the cap.
    let outputs = run(
        records,
        &LexicalTokenizer,
        &mut NgramScorer::default(),
        None,
        &Config::default(),
        &mut (),
    );
    let supervised: usize = outputs
        .iter()
        .filter_map(|o| o.selected())
        .map(|s| s.stats.supervised_tokens)
        .sum();
    let tokens: usize = outputs
        .iter()
        .filter_map(|o| o.selected())
        .map(|s| s.stats.response_tokens)
        .sum();
    assert!((supervised as f64) <= 0.019 * tokens as f64, "{supervised} of {tokens}");
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
            guard: Guard::None,
            ..SelectConfig::default()
        },
        ..Config::default()
    };
    let outputs = run(
        vec![Input::record(short), Input::record(long)],
        &LexicalTokenizer,
        &mut NgramScorer::default(),
        None,
        &config,
        &mut (),
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

#[test]
fn token_granularity_supervises_single_core_tokens_by_gce() {
    let code: String = (0..30)
        .map(|i| format!("total_{i} = total_{} + step({i})\n", i.max(1) - 1))
        .collect();
    let response = format!("Add the steps:\n```python\n{code}```\n");
    let config = |granularity| Config {
        select: SelectConfig {
            budget: 0.1,
            granularity,
            ..SelectConfig::default()
        },
        ..Config::default()
    };
    let select = |granularity| {
        let input = Input::record(record("steps", &response));
        let outputs = run(
            vec![input],
            &LexicalTokenizer,
            &mut NgramScorer::default(),
            None,
            &config(granularity),
            &mut (),
        );
        outputs[0].selected().unwrap().clone()
    };
    let (items, tokens) = (select(Granularity::Items), select(Granularity::Tokens));
    assert!(items.items.iter().any(|i| i.selected));
    assert!(!tokens.items.iter().any(|i| i.selected), "no item is taken whole");
    let budget = 0.1 * tokens.stats.response_tokens as f64;
    assert!(tokens.stats.supervised_tokens as f64 <= budget);
    // Single tokens fill code's part of the budget (prose has only three words to offer).
    assert!(
        tokens.stats.item_tokens as f64 >= 0.8 * budget - 1.0,
        "{:?}",
        tokens.stats
    );
    // Every supervised code token is a core token: a name or a number, never `=` or `+`.
    for (t, &on) in tokens.mask.supervised.iter().enumerate() {
        let span = tokens.mask.token_spans[t];
        let text = response[span.start..span.end].trim();
        if on == 1 && span.start > response.find("```").unwrap() {
            assert!(
                text.chars().all(|c| c.is_alphanumeric() || c == '_'),
                "`{text}` supervised"
            );
        }
    }
}

/// The global budget as a map/reduce: shortlists made in three shards, each sent through JSON as
/// between processes, and cut once, give every record the output `run` gives it over all.
#[test]
fn shortlists_of_shards_cut_once_equal_one_run() {
    let responses = [
        "```python\ndef f(x):\n    y = x * 2\n    return y + 1\n```\nIt doubles and adds one.",
        "Use a loop:\n```python\ntotal = 0\nfor i in range(10):\n    total += i\nprint(total)\n```",
        "x = [i for i in range(5) if i % 2]",
        "```python\nclass A:\n    def g(self):\n        return 3\n```\nA class with one method.",
        "Sorted: `sorted(xs)` returns a new list.",
    ];
    let records: Vec<Record> = responses
        .iter()
        .enumerate()
        .map(|(i, r)| record(&format!("r{i}"), r))
        .collect();
    for scope in ["global", "per_record"] {
        let config: Config =
            serde_json::from_value(serde_json::json!({"select": {"budget": 0.3, "scope": scope}})).unwrap();
        let inputs = records.iter().cloned().map(Input::record).collect();
        let whole = run(
            inputs,
            &LexicalTokenizer,
            &mut NgramScorer::default(),
            None,
            &config,
            &mut (),
        );
        let inputs = records.iter().cloned().map(Input::record).collect();
        let analysed = analyse(
            inputs,
            &LexicalTokenizer,
            &mut NgramScorer::default(),
            None,
            &config,
            &mut (),
        );
        let analyses: Vec<_> = analysed.into_iter().map(|a| a.unwrap()).collect();
        let mut shortlists: Vec<Shortlist> = Vec::new();
        for shard in analyses.chunks(2) {
            let lists: Vec<Shortlist> = shard.iter().map(|a| shortlist(a, config.select.granularity)).collect();
            let sent = serde_json::to_string(&lists).unwrap();
            shortlists.extend(serde_json::from_str::<Vec<Shortlist>>(&sent).unwrap());
        }
        let chosen = cut(shortlists, &config.select);
        let sharded: Vec<_> = analyses.iter().zip(&chosen).map(|(a, c)| record_output(a, c)).collect();
        assert_eq!(sharded, whole, "scope {scope}");
        assert!(chosen.iter().any(|c| !c.items.is_empty()), "something is selected");
    }
}
