//! One snapshot per fixture in `tests/fixtures/`: the whole pipeline on one response, with a
//! real tokenizer (Qwen3's) and the n-gram scorer fitted on that response alone, so fixtures do
//! not influence each other. Invariants are asserted before each snapshot.

use codeblock_core::Input;
use codeblock_core::pipeline::Config;
use codeblock_core::pipeline::record::{Message, Record};
use codeblock_core::pipeline::score::NgramScorer;
use codeblock_core::pipeline::select::{BudgetScope, SelectConfig};
use codeblock_tests::{check_invariants, render, tokenizer};

/// A budget large enough that fixtures show selection beyond the guard.
const FIXTURE_BUDGET: f64 = 0.3;

fn config() -> Config {
    Config {
        select: SelectConfig {
            budget: FIXTURE_BUDGET,
            scope: BudgetScope::PerRecord,
            ..SelectConfig::default()
        },
        ..Config::default()
    }
}

#[test]
fn fixtures() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/fixtures exists")
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    assert!(paths.len() >= 30, "only {} fixtures", paths.len());
    let tokenizer = tokenizer();
    let names: Vec<String> = paths
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().to_string())
        .collect();
    let snapshots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots");
    for entry in std::fs::read_dir(&snapshots).into_iter().flatten() {
        let file = entry.unwrap().file_name().to_string_lossy().to_string();
        let fixture = file.strip_prefix("fixtures__").and_then(|f| f.strip_suffix(".snap"));
        assert!(
            fixture.is_some_and(|f| names.iter().any(|n| n == f)),
            "unreferenced snapshot {file}"
        );
    }
    for path in paths {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let response = std::fs::read_to_string(&path).unwrap();
        let record = Record {
            id: name.clone(),
            prompt: vec![Message {
                role: "user".into(),
                content: "Fixture.".into(),
            }],
            response,
        };
        let output = codeblock_core::run(
            vec![Input::record(record)],
            &tokenizer,
            &mut NgramScorer::default(),
            None,
            &config(),
            &mut (),
        )
        .remove(0);
        check_invariants(&output, FIXTURE_BUDGET);
        insta::assert_snapshot!(name, render(&output));
    }
}
