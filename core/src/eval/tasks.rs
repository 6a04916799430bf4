//! Benchmark tasks (HumanEval's schema, and EvalPlus's MBPP+ with its test inputs), the Python
//! program that tests one solution, the instruction that asks a model for it, and code
//! extraction from a model's reply.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::pipeline::segment::{self, SegmentKind};

/// How a task checks a solution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Tests {
    /// HumanEval's schema: `test` defines `check(candidate)`, called with the entry point.
    Check { test: String },
    /// EvalPlus's: the solution's outputs on these argument lists must equal the canonical
    /// solution's, compared as EvalPlus 0.3.1 compares (`core/src/eval/evalplus_mbpp.py`):
    /// the base inputs, and the extra `plus_inputs` that are the point of MBPP+/HumanEval+.
    /// The argument lists are kept as the file's JSON text, which Python reads: parsed here,
    /// integers past 64 bits (MBPP+ has them) would turn into floats. `plus_inputs` is empty
    /// when there are none.
    Inputs {
        inputs: String,
        #[serde(default)]
        plus_inputs: String,
        atol: f64,
    },
}

/// Which of a task's inputs a test program runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputSet {
    /// The base tests (`check`, or the base inputs).
    Base,
    /// EvalPlus's extra inputs.
    Plus,
}

impl Task {
    /// Whether the task has EvalPlus's extra inputs.
    pub fn has_plus(&self) -> bool {
        matches!(&self.tests, Tests::Inputs { plus_inputs, .. } if !plus_inputs.is_empty())
    }
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
            let raw: RawInputs = serde_json::from_str(&text).map_err(|e| error(format!("not valid JSON: {e}")))?;
            task(&value, &raw).map_err(error)
        })
        .collect()
}

/// EvalPlus's input fields exactly as the file writes them.
#[derive(Deserialize)]
struct RawInputs<'a> {
    #[serde(borrow)]
    base_input: Option<&'a RawValue>,
    #[serde(borrow)]
    plus_input: Option<&'a RawValue>,
}

fn task(value: &Value, raw: &RawInputs) -> Result<Task, String> {
    let field = |name: &str| -> Result<String, String> {
        match value.get(name) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(format!("field `{name}` must be a string")),
            None => Err(format!("field `{name}` is missing")),
        }
    };
    let (task_id, prompt, entry_point) = (field("task_id")?, field("prompt")?, field("entry_point")?);
    let solution = field("canonical_solution")?;
    // EvalPlus's files (MBPP+, HumanEval+) carry inputs; HumanEval+ keeps HumanEval's `test`
    // too, but EvalPlus judges by the inputs, and only they have a plus set.
    if value.get("test").is_some() && raw.base_input.is_none() {
        return Ok(Task {
            canonical: format!("{prompt}{solution}"),
            tests: Tests::Check { test: field("test")? },
            task_id,
            prompt,
            entry_point,
        });
    }
    // EvalPlus's release stores the inputs as JSON text of a list, or as a list: either way the
    // text is kept as written, checked to be a list.
    let list = |name: &str, raw: Option<&RawValue>| -> Result<Option<String>, String> {
        let Some(raw) = raw else { return Ok(None) };
        let text = match serde_json::from_str::<String>(raw.get()) {
            Ok(inner) => inner,
            Err(_) => raw.get().to_string(),
        };
        // MBPP+'s Mbpp/793 has `{}`: no inputs.
        if text.trim() == "{}" {
            return Ok(Some(String::new()));
        }
        let parsed: Vec<Value> = serde_json::from_str(&non_finite_as_strings(&text))
            .map_err(|e| format!("`{name}` is not a JSON list: {e}"))?;
        Ok(Some(if parsed.is_empty() { String::new() } else { text }))
    };
    let inputs =
        list("base_input", raw.base_input)?.ok_or("neither `test` (HumanEval) nor `base_input` (EvalPlus) is given")?;
    let plus_inputs = list("plus_input", raw.plus_input)?.unwrap_or_default();
    let atol = match value.get("atol") {
        Some(Value::String(text)) => text.parse().map_err(|e| format!("`atol`: {e}"))?,
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        _ => 0.0,
    };
    // MBPP+'s canonical solution is a whole program; HumanEval+'s is the body after the prompt.
    let canonical = match solution.contains(&format!("def {entry_point}(")) {
        true => solution,
        false => format!("{prompt}{solution}"),
    };
    Ok(Task {
        canonical,
        tests: Tests::Inputs {
            inputs,
            plus_inputs,
            atol,
        },
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

/// The program that exits 0 exactly when `solution` (a complete program) passes `task` on
/// `set`; `None` when the task has no such inputs (no plus inputs). Each input gets EvalPlus's
/// time limit: 4× the canonical solution's time on it, at least one second.
pub fn test_program(task: &Task, solution: &str, set: InputSet) -> Option<String> {
    match &task.tests {
        Tests::Check { test } => match set {
            InputSet::Base => Some(format!("{solution}\n\n{test}\n\ncheck({})\n", task.entry_point)),
            InputSet::Plus => None,
        },
        Tests::Inputs {
            inputs,
            plus_inputs,
            atol,
        } => {
            let inputs = match set {
                InputSet::Base => inputs,
                InputSet::Plus if plus_inputs.is_empty() => return None,
                InputSet::Plus => plus_inputs,
            };
            // EvalPlus's input types (tuples, sets, ...) and most special oracles are MBPP+'s.
            let mbpp = task.task_id.starts_with("Mbpp/");
            Some(format!(
                r#"import copy, json, signal, time

{evalplus}

def _finite(value):
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {{k: _finite(v) for k, v in value.items()}}
    return {{"__-inf__": -math.inf, "__inf__": math.inf, "__nan__": math.nan}}.get(value, value) if isinstance(value, str) else value

def _over_time(signum, frame):
    raise TimeoutError

signal.signal(signal.SIGALRM, _over_time)
_reference, _candidate = {{}}, {{}}
exec(compile({canonical}, "canonical", "exec"), _reference)
exec(compile({solution}, "solution", "exec"), _candidate)
_inputs = _finite(json.loads({inputs}))
if {mbpp}:
    _inputs = mbpp_deserialize_inputs({task_id}, _inputs)
for _args in _inputs:
    _start = time.perf_counter()
    _expected = _reference[{entry}](*copy.deepcopy(_args))
    _limit = max(1.0, 4.0 * (time.perf_counter() - _start))  # EvalPlus's gt_time_limit_factor, min_time_limit
    if {mbpp} and {entry} in MBPP_OUTPUT_NOT_NONE_TASKS:
        _expected = _expected is not None  # as evalplus.gen.util.trusted_exec stores it
    signal.setitimer(signal.ITIMER_REAL, _limit)
    try:
        _got = _candidate[{entry}](*copy.deepcopy(_args))
    except TimeoutError:
        raise AssertionError(f"input {{_args!r}}: over its time limit of {{_limit:.1f}}s") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if {mbpp}:
        _same = _evalplus_same({entry}, _args, _got, _expected, {atol})
    elif {entry} == "find_zero":  # HumanEval/32: any zero of the polynomial, as EvalPlus's oracle
        _same = abs(sum(c * math.pow(_got, i) for i, c in enumerate(_args[0]))) <= {atol}
    else:
        _same = _got == _expected or (type(_got) == type(_expected) and _allclose(_got, _expected, {atol} or 1e-6))
    assert _same, f"input {{_args!r}}: expected {{_expected!r}}, got {{_got!r}}"
"#,
                evalplus = EVALPLUS_MBPP,
                canonical = literal(&task.canonical),
                solution = literal(solution),
                inputs = literal(inputs),
                task_id = literal(&task.task_id),
                entry = literal(&task.entry_point),
                mbpp = if mbpp { "True" } else { "False" },
                atol = atol,
            ))
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

/// A task's canonical solution as a reply to [`instruction`]: the code in a Python fence, the
/// form training responses and instruct models' answers take. `codeblock nll` scores it.
pub fn canonical_reply(task: &Task) -> String {
    format!("```python\n{}\n```", task.canonical.trim())
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
    let defines = |code: &str| defines(code, entry_point);
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

/// Whether code defines the entry point.
fn defines(code: &str, entry_point: &str) -> bool {
    code.contains(&format!("def {entry_point}"))
}

/// Where a reply is answered: the end of the closing fence of its first fenced block that
/// defines `entry_point`, once that fence is closed. Nothing after it can change what
/// [`extract_code`] takes, so generation may stop there.
pub fn answered_at(reply: &str, entry_point: &str) -> Option<usize> {
    let mut diagnostics = Vec::new();
    let segments = segment::segment(reply, &mut diagnostics);
    let first = segments.iter().position(|s| {
        matches!(s.kind, SegmentKind::Code { .. }) && defines(&reply[s.span.start..s.span.end], entry_point)
    })?;
    let closing = segments.get(first + 1).filter(|s| s.kind == SegmentKind::Fence)?;
    Some(closing.span.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_is_answered_once_the_defining_fence_closes() {
        let open = "Sure:\n```python\nimport math\n```\n```python\ndef area(r):\n    return math.pi * r * r\n";
        assert_eq!(answered_at(open, "area"), None, "still open");
        let closed = format!("{open}```");
        assert_eq!(answered_at(&closed, "area"), Some(closed.len()));
        let more = format!("{closed}\nIt squares r.\n```python\ndef other(): pass\n```\n");
        assert_eq!(extract_code(&more, "", "area"), extract_code(&closed, "", "area"));
        assert_eq!(
            answered_at("```python\nx = 1\n```\n", "area"),
            None,
            "does not define it"
        );
    }

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
        // Integers past 64 bits stay exact (as MBPP+'s plus inputs need), and `{}` is no inputs.
        let big = r#"{"task_id":"Mbpp/9","prompt":"","entry_point":"h","canonical_solution":"","base_input":[[99999999999999999999999]],"plus_input":{}}"#;
        let task = &load_tasks(big).unwrap()[0];
        let program = test_program(task, "", InputSet::Base).unwrap();
        assert!(program.contains("[[99999999999999999999999]]"), "{program}");
        assert!(!task.has_plus() && test_program(task, "", InputSet::Plus).is_none());
        assert_eq!(
            tasks[1].tests,
            Tests::Inputs {
                inputs: "[[1], [2.5]]".into(),
                plus_inputs: String::new(),
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
