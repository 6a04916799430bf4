//! Helpers shared by the `codeblock` binary's integration tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

pub fn codeblock() -> Command {
    Command::new(env!("CARGO_BIN_EXE_codeblock"))
}

/// A fresh, empty scratch folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("codeblock-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
