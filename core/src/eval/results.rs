//! What `codeblock eval` writes and `codeblock experiment` reads back, as typed records:
//! `results.json` ([`Results`]) and the lines of `outcomes.jsonl` ([`OutcomeLine`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::eval::stats::pass_at;

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

/// A line of `outcomes.jsonl`: one sample's outcome on one task of one benchmark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeLine {
    pub bench: String,
    pub task_id: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Whether each (benchmark, task) passed, by its first sample.
pub fn first_outcomes(lines: &[OutcomeLine]) -> BTreeMap<(String, String), bool> {
    let mut passed = BTreeMap::new();
    for line in lines {
        passed
            .entry((line.bench.clone(), line.task_id.clone()))
            .or_insert(line.outcome == Outcome::Passed);
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
}

impl BenchResult {
    /// The counts and pass@k (for each of `ks`) of a benchmark of `tasks` tasks, from its
    /// samples' (task id, outcome).
    pub fn tally<'a>(tasks: usize, outcomes: impl Iterator<Item = (&'a str, &'a Outcome)>, ks: &[usize]) -> Self {
        let mut per_task: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        let mut result = BenchResult {
            tasks,
            samples: 0,
            passed: 0,
            failed: 0,
            timeout: 0,
            pass_at: BTreeMap::new(),
        };
        for (task_id, outcome) in outcomes {
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
        result
    }

    /// pass@1, when it was measured.
    pub fn pass_at_1(&self) -> Option<f64> {
        self.pass_at.get("pass@1").copied()
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_counts_outcomes_and_estimates_pass_at_k() {
        let failed = Outcome::Failed { error: "E".into() };
        let outcomes = [
            ("a", &Outcome::Passed),
            ("a", &failed),
            ("b", &Outcome::Timeout),
            ("b", &Outcome::Passed),
        ];
        let result = BenchResult::tally(2, outcomes.into_iter(), &[1, 2]);
        assert_eq!(
            (result.samples, result.passed, result.failed, result.timeout),
            (4, 2, 1, 1)
        );
        assert_eq!(result.pass_at_1(), Some(0.5));
        assert_eq!(result.pass_at["pass@2"], 1.0);
    }

    #[test]
    fn outcome_lines_read_back_and_the_first_sample_counts() {
        let text = r#"{"bench":"humaneval","task_id":"HumanEval/0","status":"failed","error":"E"}"#;
        let line: OutcomeLine = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&line).unwrap(), text);
        let passed = OutcomeLine {
            outcome: Outcome::Passed,
            ..line.clone()
        };
        let first = first_outcomes(&[line, passed]);
        assert!(
            !first[&("humaneval".into(), "HumanEval/0".into())],
            "the first sample failed"
        );
    }
}
