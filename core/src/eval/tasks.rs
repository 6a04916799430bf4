//! Benchmark tasks (HumanEval's schema, and EvalPlus's MBPP+ with its test inputs), the Python
//! program that tests one solution, the instruction that asks a model for it, and code
//! extraction from a model's reply.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::pipeline::segment::{self, SegmentKind};

/// How a task checks a solution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Tests {
    /// HumanEval's schema: `test` defines `check(candidate)`, called with the entry point.
    Check { test: String },
    /// EvalPlus's: the solution's outputs on these argument lists must equal the canonical
    /// solution's, compared as EvalPlus 0.3.1 compares (`core/src/eval/evalplus_mbpp.py`).
    Inputs { inputs: Vec<Value>, atol: f64 },
}

/// One benchmark task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub task_id: String,
    /// What the model is shown: a signature with a docstring (HumanEval) or a docstring (MBPP+).
    pub prompt: String,
    pub entry_point: String,
    /// A complete program that passes: the prompt with its canonical body, or a whole function.
    pub canonical: String,
    pub tests: Tests,
}

/// A benchmark line that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct TaskError {
    pub line: usize,
    pub problem: String,
}

/// The tasks of a benchmark file (JSONL): HumanEval's schema (`test`), or EvalPlus's MBPP+
/// (`base_input`, `atol`). Every line must be a valid task; the first bad one is named.
pub fn load_tasks(text: &str) -> Result<Vec<Task>, TaskError> {
    crate::formats::jsonl::lines(text.as_bytes())
        .into_iter()
        .map(|line| {
            let error = |problem: String| TaskError {
                line: line.number,
                problem,
            };
            let text = line.text.map_err(&error)?;
            let text = non_finite_as_strings(text);
            let value: Value = serde_json::from_str(&text).map_err(|e| error(format!("not valid JSON: {e}")))?;
            task(&value).map_err(error)
        })
        .collect()
}

fn task(value: &Value) -> Result<Task, String> {
    let field = |name: &str| -> Result<String, String> {
        match value.get(name) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(format!("field `{name}` must be a string")),
            None => Err(format!("field `{name}` is missing")),
        }
    };
    let (task_id, prompt, entry_point) = (field("task_id")?, field("prompt")?, field("entry_point")?);
    let solution = field("canonical_solution")?;
    if value.get("test").is_some() {
        return Ok(Task {
            canonical: format!("{prompt}{solution}"),
            tests: Tests::Check { test: field("test")? },
            task_id,
            prompt,
            entry_point,
        });
    }
    let inputs = match value.get("base_input") {
        // EvalPlus's release stores the inputs as a JSON list, or as JSON text of one.
        Some(Value::String(text)) => serde_json::from_str(text).map_err(|e| format!("`base_input`: {e}"))?,
        Some(Value::Array(list)) => list.clone(),
        _ => return Err("neither `test` (HumanEval) nor `base_input` (EvalPlus) is given".into()),
    };
    let atol = match value.get("atol") {
        Some(Value::String(text)) => text.parse().map_err(|e| format!("`atol`: {e}"))?,
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        _ => 0.0,
    };
    Ok(Task {
        canonical: solution,
        tests: Tests::Inputs { inputs, atol },
        task_id,
        prompt,
        entry_point,
    })
}

/// EvalPlus's files are written by Python's `json`, which writes `NaN`, `Infinity` and
/// `-Infinity` bare; JSON has no such numbers. They become these strings (outside string
/// literals), and the test program turns them back into floats.
const NON_FINITE: [(&str, &str); 3] = [("-Infinity", "__-inf__"), ("Infinity", "__inf__"), ("NaN", "__nan__")];

fn non_finite_as_strings(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if !in_string && let Some((token, name)) = NON_FINITE.iter().find(|(token, _)| rest.starts_with(token)) {
            out.push_str(&format!("\"{name}\""));
            rest = &rest[token.len()..];
            continue;
        }
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (_, false, '"') => in_string = !in_string,
            _ => {}
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// EvalPlus 0.3.1's MBPP+ input types and output comparison (vendored, Apache-2.0).
const EVALPLUS_MBPP: &str = include_str!("evalplus_mbpp.py");

/// A Python string literal of `text` (JSON's string syntax is valid Python).
fn literal(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}

/// The program that exits 0 exactly when `solution` (a complete program) passes `task`.
pub fn test_program(task: &Task, solution: &str) -> String {
    match &task.tests {
        Tests::Check { test } => format!("{solution}\n\n{test}\n\ncheck({})\n", task.entry_point),
        Tests::Inputs { inputs, atol } => {
            let inputs = serde_json::to_string(inputs).expect("JSON values serialise");
            // EvalPlus's input types (tuples, sets, ...) and special oracles are MBPP+'s only.
            let mbpp = task.task_id.starts_with("Mbpp/");
            format!(
                r#"import copy, json

{evalplus}

def _finite(value):
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {{k: _finite(v) for k, v in value.items()}}
    return {{"__-inf__": -math.inf, "__inf__": math.inf, "__nan__": math.nan}}.get(value, value) if isinstance(value, str) else value

_reference, _candidate = {{}}, {{}}
exec(compile({canonical}, "canonical", "exec"), _reference)
exec(compile({solution}, "solution", "exec"), _candidate)
_inputs = _finite(json.loads({inputs}))
if {mbpp}:
    _inputs = mbpp_deserialize_inputs({task_id}, _inputs)
for _args in _inputs:
    _expected = _reference[{entry}](*copy.deepcopy(_args))
    if {mbpp} and {entry} in MBPP_OUTPUT_NOT_NONE_TASKS:
        _expected = _expected is not None  # as evalplus.gen.util.trusted_exec stores it
    _got = _candidate[{entry}](*copy.deepcopy(_args))
    _same = _evalplus_same({entry}, _args, _got, _expected, {atol}) if {mbpp} else (
        _got == _expected or (type(_got) == type(_expected) and _allclose(_got, _expected, {atol} or 1e-6)))
    assert _same, f"input {{_args!r}}: expected {{_expected!r}}, got {{_got!r}}"
"#,
                evalplus = EVALPLUS_MBPP,
                canonical = literal(&task.canonical),
                solution = literal(solution),
                inputs = literal(&inputs),
                task_id = literal(&task.task_id),
                entry = literal(&task.entry_point),
                mbpp = if mbpp { "True" } else { "False" },
                atol = atol,
            )
        }
    }
}

/// The user turn that asks an instruct model for a task's solution (EvalPlus's instruction).
pub fn instruction(task: &Task) -> String {
    format!(
        "Please provide a self-contained Python script that solves the following problem in a markdown code block:\n```\n{}\n```",
        task.prompt.trim()
    )
}

/// The code of a model's reply: the first fenced Python block that defines `entry_point` (else
/// the first fenced block), or the whole reply when it has no fence. A reply that only
/// continues the prompt (a body, as base models write) gets the prompt in front; one that
/// rewrites the function gets the prompt's imports in front (replies often drop them).
pub fn extract_code(reply: &str, prompt: &str, entry_point: &str) -> String {
    let mut diagnostics = Vec::new();
    let blocks: Vec<&str> = segment::segment(reply, &mut diagnostics)
        .into_iter()
        .filter(|s| matches!(s.kind, SegmentKind::Code { .. }))
        .map(|s| &reply[s.span.start..s.span.end])
        .collect();
    let defines = |code: &str| code.contains(&format!("def {entry_point}"));
    let code = blocks
        .iter()
        .find(|code| defines(code))
        .or(blocks.first())
        .copied()
        .unwrap_or(reply);
    if !defines(code) {
        return format!("{prompt}{code}");
    }
    let imports: String = prompt
        .lines()
        .filter(|line| line.starts_with("import ") || line.starts_with("from "))
        .map(|line| format!("{line}\n"))
        .collect();
    format!("{imports}{code}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_schemas_load_and_bad_lines_are_named() {
        let text = concat!(
            r#"{"task_id":"HumanEval/0","prompt":"def f(x):\n","entry_point":"f","canonical_solution":"    return x\n","test":"def check(c):\n    assert c(1) == 1\n"}"#,
            "\n",
            r#"{"task_id":"Mbpp/2","prompt":"\"\"\"doc\"\"\"\n","entry_point":"g","canonical_solution":"def g(a):\n    return a * 2\n","base_input":"[[1], [2.5]]","atol":"0"}"#,
            "\n"
        );
        let tasks = load_tasks(text).unwrap();
        assert_eq!(tasks[0].canonical, "def f(x):\n    return x\n");
        assert_eq!(
            tasks[1].tests,
            Tests::Inputs {
                inputs: serde_json::from_str("[[1], [2.5]]").unwrap(),
                atol: 0.0
            }
        );
        let error = load_tasks("{\"task_id\":\"x\"}\n").unwrap_err();
        assert_eq!(error.to_string(), "line 1: field `prompt` is missing");
    }

    #[test]
    fn python_non_finite_numbers_load() {
        let line = r#"{"a": [-Infinity, Infinity, NaN, "NaN in a \" string"]}"#;
        assert_eq!(
            non_finite_as_strings(line),
            r#"{"a": ["__-inf__", "__inf__", "__nan__", "NaN in a \" string"]}"#
        );
    }

    #[test]
    fn code_comes_from_the_fence_that_defines_the_entry_point() {
        let reply = "Here:\n```python\nimport os\n```\nand\n```python\ndef f(x):\n    return x\n```\n";
        assert_eq!(extract_code(reply, "def f(x):\n", "f"), "def f(x):\n    return x\n");
        let typed = "from typing import List\n\ndef f(x):\n";
        assert_eq!(
            extract_code(reply, typed, "f"),
            "from typing import List\ndef f(x):\n    return x\n"
        );
        assert_eq!(
            extract_code("    return x\n", "def f(x):\n", "f"),
            "def f(x):\n    return x\n"
        );
    }
}
