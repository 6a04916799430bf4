//! Evaluation as plain data: benchmark tasks and the programs that test a solution
//! ([`tasks`]), MBPP's tasks and splits ([`mbpp`]), the statistics ([`stats`]), the records
//! `codeblock eval` writes ([`results`]), and the check that no task was trained on
//! ([`hygiene`]). Running programs is the shell's (a sandbox).

pub mod hygiene;
pub mod mbpp;
pub mod results;
pub mod stats;
pub mod tasks;
