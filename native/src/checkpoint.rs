//! Training checkpoints: what a run needs to go on exactly where it stopped — the trained
//! parameters, the optimizer state (AdamW's moments and step counts) and the step (the data
//! order follows from the seed and the step) — written atomically and checked on load.
//!
//! `OUT/checkpoints/step-000120/` holds `model.bpk` (burn's module record: every parameter, or
//! with LoRA only the adapters, each with its parameter id, which keys the optimizer state),
//! `optimizer.bpk` (burn's optimizer record) and `state.json`, written last, with the sha256 of
//! the other files. A checkpoint is written as `.partial-step-000120` and renamed when complete,
//! so a kill mid-write leaves a partial folder that resume ignores; a file that does not match
//! its checksum stops the resume with an error naming it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use burn::module::Module;
use burn::optim::{ModuleOptimizer, OptimizerRecord};
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use codeblock_core::model::{Llama, adapters};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const STATE: &str = "state.json";

/// Where a run stands after a step, besides the tensors.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Progress {
    /// Optimizer steps done.
    pub step: usize,
    pub first_loss: Option<f64>,
    /// Wall time of the run so far, so metrics' `elapsed_s` goes on across a resume.
    pub elapsed_s: f64,
}

#[derive(Serialize, Deserialize)]
struct State {
    progress: Progress,
    /// sha256 (hex) of every other file of the checkpoint.
    sha256: BTreeMap<String, String>,
}

/// A checkpoint read back: the model with its trained parameters (and their ids), the
/// optimizer, the progress.
pub struct Resumed {
    pub model: Llama,
    pub optimizer: ModuleOptimizer,
    pub progress: Progress,
    pub dir: PathBuf,
}

fn root(out: &Path) -> PathBuf {
    out.join("checkpoints")
}

/// Writes a checkpoint of `step` (with `lora`, the adapters only: the base is the model file),
/// then removes all but the newest `keep`.
pub fn save(
    out: &Path,
    model: &Llama,
    lora: bool,
    optimizer: &ModuleOptimizer,
    progress: Progress,
    keep: usize,
) -> Result<PathBuf> {
    let root = root(out);
    let name = format!("step-{:06}", progress.step);
    let (partial, done) = (root.join(format!(".partial-{name}")), root.join(&name));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).with_context(|| format!("cannot remove {}", partial.display()))?;
    }
    std::fs::create_dir_all(&partial).with_context(|| format!("cannot create {}", partial.display()))?;
    let record = match lora {
        true => model.clone().into_record_group(adapters()),
        false => model.clone().into_record(),
    };
    let model_bytes = record
        .into_bytes()
        .map_err(|e| anyhow::anyhow!("cannot serialise the model: {e:?}"))?;
    let optimizer_bytes = optimizer
        .to_record()
        .into_bytes()
        .map_err(|e| anyhow::anyhow!("cannot serialise the optimizer state: {e:?}"))?;
    let files: [(&str, &[u8]); 2] = [("model.bpk", &model_bytes), ("optimizer.bpk", &optimizer_bytes)];
    let mut sha256 = BTreeMap::new();
    for (file, bytes) in files {
        write_synced(&partial.join(file), bytes)?;
        sha256.insert(file.to_string(), hex(&Sha256::digest(bytes)));
    }
    let state = State { progress, sha256 };
    write_synced(&partial.join(STATE), &serde_json::to_vec_pretty(&state)?)?;
    if done.exists() {
        std::fs::remove_dir_all(&done).with_context(|| format!("cannot replace {}", done.display()))?;
    }
    std::fs::rename(&partial, &done).with_context(|| format!("cannot write {}", done.display()))?;
    for old in complete(&root)?.into_iter().rev().skip(keep.max(1)) {
        std::fs::remove_dir_all(&old).with_context(|| format!("cannot remove {}", old.display()))?;
    }
    Ok(done)
}

/// The newest complete checkpoint of a run, loaded over `model` (the run's starting model, with
/// its adapters when `lora`), or `None` when there is none.
pub fn latest(out: &Path, model: Llama, lora: bool, optimizer: ModuleOptimizer) -> Result<Option<Resumed>> {
    let Some(dir) = complete(&root(out))?.pop() else {
        return Ok(None);
    };
    let read =
        |file: &str| std::fs::read(dir.join(file)).with_context(|| format!("{}: cannot read {file}", dir.display()));
    let state: State = serde_json::from_slice(&read(STATE)?).with_context(|| {
        format!(
            "{}: {STATE} is damaged; delete the folder to resume from the one before",
            dir.display()
        )
    })?;
    let mut files = BTreeMap::new();
    for (file, expected) in &state.sha256 {
        let bytes = read(file)?;
        ensure!(
            hex(&Sha256::digest(&bytes)) == *expected,
            "checkpoint {} is corrupted: {file} does not match its sha256 in {STATE}; \
             delete the folder to resume from the one before",
            dir.display()
        );
        files.insert(file.as_str(), bytes);
    }
    let (Some(model_bytes), Some(optimizer_bytes)) = (files.remove("model.bpk"), files.remove("optimizer.bpk")) else {
        bail!("checkpoint {} lacks a file its {STATE} should list", dir.display());
    };
    let damaged = |file: &str, e: &dyn std::fmt::Debug| anyhow::anyhow!("checkpoint {}: {file}: {e:?}", dir.display());
    let module = ModuleRecord::from_bytes(Bytes::from_bytes_vec(model_bytes)).map_err(|e| damaged("model.bpk", &e))?;
    let model = model
        .try_load_record(module.allow_partial(lora))
        .map_err(|e| damaged("model.bpk", &e))?;
    let record = OptimizerRecord::from_bytes(Bytes::from_bytes_vec(optimizer_bytes))
        .map_err(|e| damaged("optimizer.bpk", &e))?;
    Ok(Some(Resumed {
        model,
        optimizer: optimizer.load_record(record),
        progress: state.progress,
        dir,
    }))
}

/// Replaces files of the checkpoint in `dir` and their checksums: the fuzz crate's way past
/// the checksums to burn's decoders.
pub(crate) fn rewrite(dir: &Path, files: &[(&str, &[u8])]) -> Result<()> {
    let mut state: State = serde_json::from_slice(&std::fs::read(dir.join(STATE))?)?;
    for &(file, bytes) in files {
        write_synced(&dir.join(file), bytes)?;
        state.sha256.insert(file.to_string(), hex(&Sha256::digest(bytes)));
    }
    write_synced(&dir.join(STATE), &serde_json::to_vec_pretty(&state)?)
}

/// Whether the run in `out` has a complete checkpoint.
pub fn any(out: &Path) -> Result<bool> {
    Ok(!complete(&root(out))?.is_empty())
}

/// Complete checkpoints (renamed from partial, with a state file), oldest first.
fn complete(root: &Path) -> Result<Vec<PathBuf>> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Ok(Vec::new());
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let path = entry.with_context(|| format!("cannot list {}", root.display()))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with("step-") && path.join(STATE).is_file() {
            dirs.push(path);
        } else if name.starts_with(".partial-") {
            eprintln!("ignoring {}: a checkpoint that was never finished", path.display());
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// Writes a file and flushes it to disk, so a rename after it publishes complete data.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
