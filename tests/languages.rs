//! Real code in every language: HumanEval-X's canonical solutions in JavaScript (also read as
//! TypeScript, whose grammar extends JavaScript's), Java, Go and Rust (`tests/data/humaneval-x/`,
//! 164 tasks each), each wrapped as an instruction/response pair with the code in a tagged fence.
//! Every solution partitions with no diagnostic, the invariants of every output hold, and where
//! a function calls a helper defined earlier in the solution, a def-use edge names the helper.

use codeblock_core::Input;
use codeblock_core::pipeline::Config;
use codeblock_core::pipeline::output::{Selected, Status};
use codeblock_core::pipeline::partition::ItemKind;
use codeblock_core::pipeline::record::{Message, Record};
use codeblock_core::pipeline::score::NgramScorer;
use codeblock_core::pipeline::tokens::LexicalTokenizer;
use codeblock_tests::check_invariants;
use serde::Deserialize;

#[derive(Deserialize)]
struct Task {
    task_id: String,
    code: String,
}

fn tasks(file: &str) -> Vec<Task> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/humaneval-x")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).expect("a task line"))
        .collect()
}

fn select(task: &Task, tag: &str) -> Selected {
    let record = Record {
        id: task.task_id.clone(),
        prompt: vec![Message {
            role: "user".into(),
            content: "Solve the task.".into(),
        }],
        response: format!("Here is a solution:\n\n```{tag}\n{}\n```\n", task.code.trim_end()),
    };
    let config = Config::default();
    let output = codeblock_core::run(
        vec![Input::record(record)],
        &LexicalTokenizer,
        &mut NgramScorer::default(),
        None,
        &config,
        &mut (),
    )
    .remove(0);
    check_invariants(&output, config.select.budget);
    match output.status {
        Status::Ok(selected) => *selected,
        Status::Rejected(reject) => panic!("{}: rejected: {}", task.task_id, reject.message),
    }
}

/// The name a function-like header defines: the last word before its first `(`.
fn defined_name(header: &str) -> Option<&str> {
    let before = &header[..header.find('(')?];
    let name = before
        .trim_end_matches([' ', '='])
        .rsplit(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()?;
    (!name.is_empty()).then_some(name)
}

/// Checks one language; returns the tasks where a helper call was checked for an edge.
fn check(file: &str, tag: &str, language: &str) -> Vec<String> {
    let mut helper_calls = Vec::new();
    for task in tasks(file) {
        let selected = select(&task, tag);
        let text = &selected.response;
        assert_eq!(
            selected.segments[2].kind,
            serde_json::from_value(serde_json::json!({"kind": "code", "tag": tag, "language": language})).unwrap(),
            "{}",
            task.task_id
        );
        assert!(
            selected.diagnostics.is_empty(),
            "{}: {:?}",
            task.task_id,
            selected.diagnostics
        );
        let items = &selected.items;
        assert!(items.len() >= 2, "{}: {} items", task.task_id, items.len());
        let functions: Vec<(usize, &str)> = items
            .iter()
            .enumerate()
            .filter(|(_, item)| item.kind == ItemKind::Header)
            .filter(|(_, item)| ["function", "method", "arrow"].iter().any(|k| item.node.contains(k)))
            .filter_map(|(i, item)| Some((i, defined_name(&text[item.span.start..item.span.end])?)))
            .collect();
        for (at, &(helper, name)) in functions.iter().enumerate() {
            for &(caller, _) in &functions[at + 1..] {
                let depth = items[caller].depth;
                let body = items[caller + 1..].iter().take_while(|item| item.depth > depth).count();
                for (user, item) in items.iter().enumerate().skip(caller + 1).take(body) {
                    if !text[item.span.start..item.span.end].contains(&format!("{name}(")) {
                        continue;
                    }
                    helper_calls.push(task.task_id.clone());
                    let edge = selected.edges.iter().find(|e| e.from == helper && e.to == user);
                    assert!(
                        edge.is_some_and(|e| e.names.iter().any(|n| n == name)),
                        "{}: item {user} calls {name}, defined by item {helper}; edges {:?}",
                        task.task_id,
                        selected.edges
                    );
                }
            }
        }
    }
    helper_calls.dedup();
    helper_calls
}

/// HumanEval-X's solutions that call a helper of their own: `make_palindrome` calls
/// `is_palindrome` (task 10), `find_zero` calls `poly` (32), `decode_cyclic` calls
/// `encode_cyclic` (38; Rust's solution of 38 does not).
fn assert_helpers(tasks: &[String], expected: &[&str]) {
    let ids: Vec<&str> = tasks.iter().map(|t| t.rsplit('/').next().unwrap_or(t)).collect();
    assert_eq!(ids, expected, "the solutions whose helper calls were checked");
}

#[test]
fn javascript_solutions() {
    assert_helpers(
        &check("javascript.jsonl", "javascript", "javascript"),
        &["10", "32", "38"],
    );
}

#[test]
fn javascript_solutions_read_as_typescript() {
    assert_helpers(&check("javascript.jsonl", "ts", "typescript"), &["10", "32", "38"]);
}

#[test]
fn java_solutions() {
    assert_helpers(&check("java.jsonl", "java", "java"), &["10", "32", "38"]);
}

#[test]
fn go_solutions() {
    assert_helpers(&check("go.jsonl", "go", "go"), &["10", "32", "38"]);
}

#[test]
fn rust_solutions() {
    assert_helpers(&check("rust.jsonl", "rust", "rust"), &["10", "32"]);
}
