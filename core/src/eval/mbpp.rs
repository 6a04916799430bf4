//! MBPP tasks (HumanEval format) as instruction/response pairs: the embedded default data of
//! the demo and the bench. Instruction: the task text. Response: a sentence of prose, the
//! reference solution (signature, docstring, body) in a fenced Python block, a closing sentence.

use serde::Deserialize;

use crate::pipeline::record::{Message, Record};

/// One line of `mbpp_humaneval_format.jsonl.gz`.
#[derive(Debug, Clone, Deserialize)]
pub struct MbppTask {
    pub task_id: String,
    pub prompt: String,
    pub canonical_solution: String,
    pub entry_point: String,
    pub description: String,
    /// `check(candidate)` and its assertions (HumanEval's form).
    pub test: String,
}

/// MBPP's standard splits by task number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// 1–10, the few-shot prompts.
    Prompt,
    /// 11–510.
    Test,
    /// 511–600.
    Validation,
    /// 601–974.
    Train,
}

impl Split {
    /// The split of a task id `MBPP/N` (also `Mbpp/N`, as MBPP+ spells it), if it has that form
    /// and N is in 1..=974.
    pub fn of(task_id: &str) -> Option<Split> {
        match task_number(task_id)? {
            1..=10 => Some(Split::Prompt),
            11..=510 => Some(Split::Test),
            511..=600 => Some(Split::Validation),
            601..=974 => Some(Split::Train),
            _ => None,
        }
    }
}

/// The N of a task id `.../N`, if it has that form.
pub fn task_number(task_id: &str) -> Option<u32> {
    task_id.rsplit_once('/')?.1.parse().ok()
}

impl MbppTask {
    /// The N of `MBPP/N`, if the id has that form.
    pub fn number(&self) -> Option<u32> {
        task_number(&self.task_id)
    }

    pub fn split(&self) -> Option<Split> {
        Split::of(&self.task_id)
    }

    /// A program that tests a solution's code: the task's `check`, called on its entry point.
    pub fn test_program(&self) -> String {
        format!("{}\n\ncheck({})\n", self.test, self.entry_point)
    }

    /// The reference solution: signature and docstring, then the body.
    pub fn code(&self) -> String {
        format!("{}{}", self.prompt.trim_start_matches('\n'), self.canonical_solution)
            .trim_end()
            .to_string()
    }

    pub fn record(&self) -> Record {
        let response = format!(
            "Here is a Python function `{}` that solves the task.\n\n```python\n{}\n```\n\n\
             It returns the result directly, so it can be used in an expression.",
            self.entry_point,
            self.code()
        );
        Record {
            id: self.task_id.clone(),
            prompt: vec![Message {
                role: "user".into(),
                content: self.description.clone(),
            }],
            response,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_becomes_a_fenced_pair() {
        let task = MbppTask {
            task_id: "MBPP/700".into(),
            prompt: "\n\ndef f(x):\n\t\"\"\"Doc.\"\"\"\n".into(),
            canonical_solution: "\treturn x\n".into(),
            entry_point: "f".into(),
            description: "Return x.".into(),
            test: "def check(f):\n    assert f(1) == 1\n".into(),
        };
        assert_eq!(task.number(), Some(700));
        assert_eq!(task.split(), Some(Split::Train));
        let record = task.record();
        assert_eq!(record.prompt[0].content, "Return x.");
        assert!(
            record
                .response
                .contains("```python\ndef f(x):\n\t\"\"\"Doc.\"\"\"\n\treturn x\n```")
        );
    }
}
