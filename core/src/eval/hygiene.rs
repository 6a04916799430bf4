//! Evaluation hygiene: a model must not be scored on tasks it was trained on. Task ids are
//! compared without case, so MBPP's `MBPP/601` (the training pairs) and MBPP+'s `Mbpp/601`
//! are one task.

use std::collections::BTreeSet;

use crate::eval::tasks::Task;

/// The ids of `tasks` that the training set (`training_ids`) also holds, in task order.
pub fn trained_on<'a>(training_ids: impl IntoIterator<Item = &'a str>, tasks: &[Task]) -> Vec<String> {
    let trained: BTreeSet<String> = training_ids.into_iter().map(str::to_lowercase).collect();
    tasks
        .iter()
        .filter(|t| trained.contains(&t.task_id.to_lowercase()))
        .map(|t| t.task_id.clone())
        .collect()
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
