//! Helpers shared by the `codeblock` binary's integration tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

pub fn codeblock() -> Command {
    Command::new(env!("CARGO_BIN_EXE_codeblock"))
}

/// A fresh, empty scratch folder for one test, removed when the test ends (model runs write
/// gigabytes: checkpoints, exports).
pub fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("codeblock-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

pub struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for Scratch {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// MBPP's 374 training pairs, as `codeblock pairs` writes them (with their tests), in `dir`.
#[allow(dead_code)] // used by some of the test binaries that share this module
pub fn mbpp_training_pairs(dir: &Path) -> PathBuf {
    let pairs = dir.join("pairs.jsonl");
    let data = std::env::var("CODEBLOCK_DATA").unwrap_or_else(|_| "../../shared/data".into());
    let status = codeblock()
        .args(["pairs", "--split", "train", "--input"])
        .arg(Path::new(&data).join("mbpp_humaneval_format.jsonl.gz"))
        .arg("--out")
        .arg(&pairs)
        .status()
        .unwrap();
    assert!(status.success());
    pairs
}
