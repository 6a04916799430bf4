//! Evaluation as plain data: benchmark tasks and the programs that test a solution
//! ([`tasks`]), MBPP's tasks and splits ([`mbpp`]), the statistics ([`stats`]), and the records
//! `codeblock eval` writes ([`results`]). Running programs is the shell's (a sandbox).

pub mod mbpp;
pub mod results;
pub mod stats;
pub mod tasks;
