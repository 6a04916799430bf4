//! What `codeblock eval` writes and `codeblock experiment` reads back, as typed records:
//! `results.json` ([`Results`]) and the lines of `outcomes.jsonl` ([`OutcomeLine`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::eval::stats::pass_at;
use crate::eval::tasks::InputSet;

/// How a program ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    /// It exited non-zero: the end of its stderr (the traceback), trimmed.
    Failed {
        error: String,
    },
    /// It ran past the timeout and was killed with everything it started.
    Timeout,
}

/// A line of `outcomes.jsonl`: one sample's outcome on one task of one benchmark, on its base
/// tests and, for a task with EvalPlus's extra inputs, on those (`plus`; not run, and failed,
/// when the base tests fail: a task passes plus only if it passes both).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeLine {
    pub bench: String,
    pub task_id: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plus: Option<Outcome>,
}

/// The plus outcome of a sample whose base tests failed.
pub fn plus_not_run() -> Outcome {
    Outcome::Failed {
        error: "not run: the base tests failed".into(),
    }
}

/// Whether each (benchmark, task) passed, by its first sample: on the base tests, or on base
/// and plus inputs together (then only the tasks that have plus inputs).
pub fn first_outcomes(lines: &[OutcomeLine], set: InputSet) -> BTreeMap<(String, String), bool> {
    let mut passed = BTreeMap::new();
    for line in lines {
        let base = line.outcome == Outcome::Passed;
        let outcome = match (set, &line.plus) {
            (InputSet::Base, _) => base,
            (InputSet::Plus, Some(plus)) => base && *plus == Outcome::Passed,
            (InputSet::Plus, None) => continue,
        };
        passed
            .entry((line.bench.clone(), line.task_id.clone()))
            .or_insert(outcome);
    }
    passed
}

/// `results.json`. Fields in alphabetical order, as the file has always listed them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    pub benchmarks: BTreeMap<String, BenchResult>,
    /// What generating the replies took (a model's solutions only).
    pub generated: Option<Generated>,
    /// How the replies were generated (a model's solutions only).
    pub generation: Option<GenerationSettings>,
    pub memory_mib: u64,
    /// The limits of the programs on plus inputs.
    #[serde(default)]
    pub plus_memory_mib: u64,
    #[serde(default)]
    pub plus_timeout_s: f64,
    /// Seconds spent running programs.
    pub sandbox_s: f64,
    /// Where the solutions came from: `model PATH`, a samples file, or `canonical`.
    pub solutions: String,
    pub timeout_s: f64,
    pub workers: usize,
}

/// One benchmark's counts and pass@k.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchResult {
    pub tasks: usize,
    pub samples: usize,
    pub passed: usize,
    pub failed: usize,
    pub timeout: usize,
    /// `pass@k` for each asked k.
    pub pass_at: BTreeMap<String, f64>,
    /// On base and plus inputs together, when the tasks have plus inputs (EvalPlus's "+").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plus: Option<PlusResult>,
}

/// A benchmark's results on base and plus inputs together: a sample passes when it passes both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlusResult {
    pub passed: usize,
    pub pass_at: BTreeMap<String, f64>,
}

impl BenchResult {
    /// The counts and pass@k (for each of `ks`) of a benchmark of `tasks` tasks, from its
    /// samples' outcome lines.
    pub fn tally<'a>(tasks: usize, lines: impl Iterator<Item = &'a OutcomeLine>, ks: &[usize]) -> Self {
        let mut per_task: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        let mut plus_per_task: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        let mut result = BenchResult {
            tasks,
            samples: 0,
            passed: 0,
            failed: 0,
            timeout: 0,
            pass_at: BTreeMap::new(),
            plus: None,
        };
        for line in lines {
            let (task_id, outcome) = (line.task_id.as_str(), &line.outcome);
            if let Some(plus) = &line.plus {
                let entry = plus_per_task.entry(task_id).or_default();
                entry.0 += 1;
                entry.1 += usize::from(*outcome == Outcome::Passed && *plus == Outcome::Passed);
            }
            let entry = per_task.entry(task_id).or_default();
            entry.0 += 1;
            result.samples += 1;
            match outcome {
                Outcome::Passed => {
                    entry.1 += 1;
                    result.passed += 1;
                }
                Outcome::Failed { .. } => result.failed += 1,
                Outcome::Timeout => result.timeout += 1,
            }
        }
        result.pass_at = pass_at(&per_task.into_values().collect::<Vec<_>>(), ks);
        if !plus_per_task.is_empty() {
            let counts: Vec<(usize, usize)> = plus_per_task.into_values().collect();
            result.plus = Some(PlusResult {
                passed: counts.iter().map(|&(_, c)| c).sum(),
                pass_at: pass_at(&counts, ks),
            });
        }
        result
    }

    /// pass@1 on the base tests, when it was measured.
    pub fn pass_at_1(&self) -> Option<f64> {
        self.pass_at.get("pass@1").copied()
    }

    /// pass@1 on base and plus inputs, when the tasks have plus inputs.
    pub fn plus_pass_at_1(&self) -> Option<f64> {
        self.plus.as_ref().and_then(|p| p.pass_at.get("pass@1").copied())
    }
}

/// What generating a model's replies took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generated {
    pub replies: usize,
    pub tokens: usize,
    pub seconds: f64,
}

/// How a model's replies were generated. Fields in alphabetical order, as in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationSettings {
    pub batch: usize,
    pub max_tokens: usize,
    pub n: usize,
    /// How the prompt was made, in words.
    pub prompt: String,
    pub seed: u64,
    pub temperature: f32,
    pub threads: Option<usize>,
    pub top_p: f32,
    /// Replies stopped once their first fenced block defining the entry point closed.
    #[serde(default)]
    pub stop_when_answered: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(task: &str, outcome: &Outcome, plus: Option<&Outcome>) -> OutcomeLine {
        OutcomeLine {
            bench: "b".into(),
            task_id: task.into(),
            outcome: outcome.clone(),
            plus: plus.cloned(),
        }
    }

    #[test]
    fn a_tally_counts_outcomes_and_estimates_pass_at_k() {
        let failed = Outcome::Failed { error: "E".into() };
        let lines = [
            line("a", &Outcome::Passed, None),
            line("a", &failed, None),
            line("b", &Outcome::Timeout, None),
            line("b", &Outcome::Passed, None),
        ];
        let result = BenchResult::tally(2, lines.iter(), &[1, 2]);
        assert_eq!(
            (result.samples, result.passed, result.failed, result.timeout),
            (4, 2, 1, 1)
        );
        assert_eq!(result.pass_at_1(), Some(0.5));
        assert_eq!(result.pass_at["pass@2"], 1.0);
        assert_eq!(result.plus, None, "no task has plus inputs");
    }

    #[test]
    fn plus_passes_only_with_base() {
        // a passes both, b fails plus, c fails base (plus not run).
        let failed = Outcome::Failed { error: "E".into() };
        let lines = [
            line("a", &Outcome::Passed, Some(&Outcome::Passed)),
            line("b", &Outcome::Passed, Some(&failed)),
            line("c", &failed, Some(&plus_not_run())),
        ];
        let result = BenchResult::tally(3, lines.iter(), &[1]);
        assert_eq!(result.passed, 2);
        assert_eq!(result.plus.as_ref().map(|p| p.passed), Some(1));
        assert_eq!(result.plus_pass_at_1(), Some(1.0 / 3.0));
        let key = ("b".to_string(), "b".to_string());
        assert!(first_outcomes(&lines, InputSet::Base)[&key]);
        assert!(!first_outcomes(&lines, InputSet::Plus)[&key]);
        assert!(first_outcomes(&[line("d", &Outcome::Passed, None)], InputSet::Plus).is_empty());
    }

    #[test]
    fn outcome_lines_read_back_and_the_first_sample_counts() {
        let text = r#"{"bench":"humaneval","task_id":"HumanEval/0","status":"failed","error":"E"}"#;
        let first_line: OutcomeLine = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&first_line).unwrap(), text);
        let passed = OutcomeLine {
            outcome: Outcome::Passed,
            ..first_line.clone()
        };
        let first = first_outcomes(&[first_line, passed.clone()], InputSet::Base);
        assert!(
            !first[&("humaneval".into(), "HumanEval/0".into())],
            "the first sample failed"
        );
        let with_plus = OutcomeLine {
            plus: Some(Outcome::Timeout),
            ..passed
        };
        let written = serde_json::to_string(&with_plus).unwrap();
        assert!(
            written.ends_with(r#""status":"passed","plus":{"status":"timeout"}}"#),
            "{written}"
        );
        assert_eq!(serde_json::from_str::<OutcomeLine>(&written).unwrap(), with_plus);
    }
}
