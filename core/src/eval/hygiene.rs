//! Evaluation hygiene: a model must not be scored on tasks it was trained on. Task ids are
//! compared without case, so MBPP's `MBPP/601` (the training pairs) and MBPP+'s `Mbpp/601`
//! are one task; and a training pair may copy a task under another id, which
//! [`near_duplicates`] finds by text.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::eval::tasks::Task;
use crate::hash::fnv1a;

/// Words per shingle of [`near_duplicates`].
pub const SHINGLE: usize = 8;

/// The ids of `tasks` that the training set (`training_ids`) also holds, in task order.
pub fn trained_on<'a>(training_ids: impl IntoIterator<Item = &'a str>, tasks: &[Task]) -> Vec<String> {
    let trained: BTreeSet<String> = training_ids.into_iter().map(str::to_lowercase).collect();
    tasks
        .iter()
        .filter(|t| trained.contains(&t.task_id.to_lowercase()))
        .map(|t| t.task_id.clone())
        .collect()
}

/// A training pair that says what a benchmark task says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Duplicate {
    pub task_id: String,
    pub pair_id: String,
    /// What matched: the task's `prompt` in the pair's instruction, or its `solution` in the
    /// pair's response.
    pub field: String,
    /// The share of the task text's shingles that the pair's text holds (1 for an exact copy).
    pub overlap: f64,
    /// The two texts are equal once normalised.
    pub exact: bool,
}

/// A training pair's texts, for [`near_duplicates`].
#[derive(Debug, Clone)]
pub struct PairText {
    pub id: String,
    pub instruction: String,
    pub response: String,
}

/// Lowercase words (runs of letters, digits and `_`), whitespace and punctuation dropped:
/// formatting and quoting do not hide a copy.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The hashed word shingles of a text ([`SHINGLE`] words each; the whole text when shorter).
fn shingles(text: &str) -> BTreeSet<u64> {
    let words = words(text);
    words
        .windows(SHINGLE.min(words.len().max(1)))
        .map(|w| fnv1a(w.join(" ").as_bytes()))
        .collect()
}

/// Every (task, pair) whose texts overlap by at least `threshold`: the share of the task's
/// prompt shingles found in the pair's instruction, or of its canonical solution's in the
/// pair's response. Sorted by task, then overlap (highest first).
pub fn near_duplicates(pairs: &[PairText], tasks: &[Task], threshold: f64) -> Vec<Duplicate> {
    let instructions = Texts::new(pairs.iter().map(|p| p.instruction.as_str()).collect());
    let responses = Texts::new(pairs.iter().map(|p| p.response.as_str()).collect());
    let mut found = Vec::new();
    for task in tasks {
        let mut of_task = Vec::new();
        for (field, texts, text) in [
            ("prompt", &instructions, &task.prompt),
            ("solution", &responses, &task.canonical),
        ] {
            for (i, overlap) in texts.holding(text, threshold) {
                of_task.push(Duplicate {
                    task_id: task.task_id.clone(),
                    pair_id: pairs[i].id.clone(),
                    field: field.into(),
                    overlap,
                    exact: words(text) == words(texts.texts[i]),
                });
            }
        }
        of_task.sort_by(|a, b| b.overlap.total_cmp(&a.overlap).then(a.pair_id.cmp(&b.pair_id)));
        found.extend(of_task);
    }
    found
}

/// One text of every pair, indexed by shingle.
struct Texts<'a> {
    texts: Vec<&'a str>,
    postings: BTreeMap<u64, Vec<usize>>,
}

impl<'a> Texts<'a> {
    fn new(texts: Vec<&'a str>) -> Self {
        let mut postings: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (i, text) in texts.iter().enumerate() {
            for shingle in shingles(text) {
                postings.entry(shingle).or_default().push(i);
            }
        }
        Texts { texts, postings }
    }

    /// The texts holding at least `threshold` of `text`'s shingles, with the share they hold.
    fn holding(&self, text: &str, threshold: f64) -> Vec<(usize, f64)> {
        let wanted = shingles(text);
        let mut hits: BTreeMap<usize, usize> = BTreeMap::new();
        for shingle in &wanted {
            for &i in self.postings.get(shingle).into_iter().flatten() {
                *hits.entry(i).or_default() += 1;
            }
        }
        hits.into_iter()
            .map(|(i, count)| (i, count as f64 / wanted.len() as f64))
            .filter(|&(_, overlap)| overlap >= threshold)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::tasks::Tests;

    fn task(id: &str) -> Task {
        Task {
            task_id: id.into(),
            prompt: String::new(),
            entry_point: "f".into(),
            canonical: String::new(),
            tests: Tests::Check { test: String::new() },
        }
    }

    #[test]
    fn copies_are_found_by_text_whatever_their_format() {
        let mut copied = task("Other/1");
        copied.prompt = "Write a function that returns the sum of the squares of a list of numbers.".into();
        copied.canonical = "def sum_squares(xs):\n    return sum(x * x for x in xs)\n".into();
        let mut unrelated = task("Other/2");
        unrelated.prompt = "Parse an ISO date string and return the weekday name in English words.".into();
        let pairs = [
            PairText {
                id: "p1".into(),
                instruction: "WRITE a function that returns the sum of the squares of a list of numbers!".into(),
                response: "Here:\n```python\ndef sum_squares(xs):\n    return sum(x * x for x in xs)\n```".into(),
            },
            PairText {
                id: "p2".into(),
                instruction: "Reverse a string.".into(),
                response: "```python\ndef rev(s):\n    return s[::-1]\n```".into(),
            },
        ];
        let found = near_duplicates(&pairs, &[copied, unrelated], 0.5);
        let summary: Vec<(&str, &str, &str, bool)> = found
            .iter()
            .map(|d| (d.task_id.as_str(), d.pair_id.as_str(), d.field.as_str(), d.exact))
            .collect();
        assert_eq!(
            summary,
            [("Other/1", "p1", "prompt", true), ("Other/1", "p1", "solution", false)]
        );
        assert!(found.iter().all(|d| d.overlap == 1.0));
    }

    #[test]
    fn mbpp_ids_match_mbpp_plus_ids_whatever_the_case() {
        let tasks = [
            task("Mbpp/600"),
            task("Mbpp/601"),
            task("HumanEval/601"),
            task("Mbpp/974"),
        ];
        let overlap = trained_on(["MBPP/601", "MBPP/974", "other"], &tasks);
        assert_eq!(overlap, ["Mbpp/601", "Mbpp/974"]);
        assert!(trained_on([], &tasks).is_empty());
    }
}
