//! Loading a model for the commands that need one, on the device the user asked for.

use std::path::Path;

use anyhow::{Context as _, Result};
use burn::tensor::{Device, DeviceKind};
use clap::ValueEnum;
use codeblock_core::formats::chat::ChatTokenizer;
use codeblock_core::formats::gguf::Gguf;
use codeblock_core::model::{HfFiles, Llama, ModelBundle, ModelScorer, hf_shard_files, score_contexts};
use codeblock_core::pipeline::score::{ScoreError, ScoreRequest, TokenScorer};
use codeblock_core::train::Context;
use rayon::iter::{IntoParallelRefIterator, ParallelIterator};

/// Where the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceArg {
    /// A GPU through wgpu when one exists, else the CPU.
    Auto,
    Wgpu,
    /// The first NVIDIA GPU through CUDA (builds with the `cuda` feature).
    #[cfg(feature = "cuda")]
    Cuda,
    Cpu,
}

/// A model with everything needed to feed it, and the device it is on.
#[derive(Debug)]
pub struct Loaded {
    pub bundle: ModelBundle,
    pub device: Device,
}

/// The device for `arg`, and a sentence saying which one it is.
pub fn choose_device(arg: DeviceArg) -> (Device, String) {
    let gpu = || {
        quietly(|| {
            let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
            pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
                .into_iter()
                .map(|a| a.get_info())
                .find(|info| info.device_type != wgpu::DeviceType::Cpu)
        })
    };
    match arg {
        DeviceArg::Cpu => (Device::flex(), "CPU (burn flex)".into()),
        #[cfg(feature = "cuda")]
        DeviceArg::Cuda => (Device::cuda(0), "CUDA GPU 0".into()),
        DeviceArg::Wgpu => {
            let name = gpu().map_or("a software adapter (no GPU found)".into(), |info| info.name);
            (Device::wgpu(DeviceKind::DefaultDevice), format!("wgpu on {name}"))
        }
        DeviceArg::Auto => match gpu() {
            Some(info) => (
                Device::wgpu(DeviceKind::DefaultDevice),
                format!("wgpu on {}", info.name),
            ),
            None => (Device::flex(), "CPU (burn flex; no GPU adapter found)".into()),
        },
    }
}

/// Runs `probe` with the process's stderr sent to /dev/null. Graphics drivers write to it while
/// adapters are listed (Mesa, without a display: "XDG_RUNTIME_DIR is invalid or not set", once
/// per backend), which users read as failures; the caller says in one line what was chosen.
#[cfg(unix)]
fn quietly<T>(probe: impl FnOnce() -> T) -> T {
    let null = std::fs::OpenOptions::new().write(true).open("/dev/null");
    let (Ok(null), Ok(saved)) = (null, rustix::io::dup(std::io::stderr())) else {
        return probe();
    };
    if rustix::stdio::dup2_stderr(&null).is_err() {
        return probe();
    }
    let _restore = RestoreStderr(saved);
    probe()
}

/// Puts stderr back when dropped, so a panicking probe still reports.
#[cfg(unix)]
#[derive(Debug)]
struct RestoreStderr(std::os::fd::OwnedFd);

#[cfg(unix)]
impl Drop for RestoreStderr {
    fn drop(&mut self) {
        let _ = rustix::stdio::dup2_stderr(&self.0);
    }
}

#[cfg(not(unix))]
fn quietly<T>(probe: impl FnOnce() -> T) -> T {
    probe()
}

/// A device named on the command line: `cpu`, `wgpu` (the default adapter), `gpu:N` (the N-th
/// discrete GPU through wgpu) or, in a build with the `cuda` feature, `cuda` or `cuda:N`; and a
/// sentence saying which one it is.
pub fn named_device(name: &str) -> Result<(Device, String)> {
    match name.split_once(':') {
        None if name == "cpu" => Ok(choose_device(DeviceArg::Cpu)),
        None if name == "wgpu" => Ok(choose_device(DeviceArg::Wgpu)),
        None if name == "cuda" => cuda(0),
        Some(("cuda", index)) => cuda(
            index
                .parse()
                .with_context(|| format!("device `{name}`: `{index}` is not a GPU number"))?,
        ),
        Some(("gpu", index)) => {
            let index: usize = index
                .parse()
                .with_context(|| format!("device `{name}`: `{index}` is not a GPU number"))?;
            Ok((
                Device::wgpu(DeviceKind::DiscreteGpu(index)),
                format!("wgpu on discrete GPU {index}"),
            ))
        }
        _ => anyhow::bail!("device `{name}`: expected cpu, wgpu, gpu:N, cuda or cuda:N"),
    }
}

/// The CUDA GPU `index`, where the build has CUDA.
fn cuda(index: usize) -> Result<(Device, String)> {
    #[cfg(feature = "cuda")]
    return Ok((Device::cuda(index), format!("CUDA GPU {index}")));
    #[cfg(not(feature = "cuda"))]
    anyhow::bail!("device `cuda:{index}`: this build has no CUDA; build with `--features cuda`")
}

/// Loads a model: a GGUF file, or a Hugging Face folder (config.json, `*.safetensors`,
/// tokenizer.json, and tokenizer_config.json for the chat template and end token).
pub fn load(path: &Path, device: Device) -> Result<Loaded> {
    crate::keep_freed_memory();
    match path.is_dir() {
        true => load_hf_dir(path, device),
        false => load_gguf_file(path, device),
    }
}

/// A model's tokenizer, chat template and end tokens, without its weights: from a GGUF file's
/// metadata, or a Hugging Face folder's tokenizer.json and tokenizer_config.json.
pub fn load_chat(path: &Path) -> Result<ChatTokenizer> {
    let chat = if path.is_dir() {
        let read = |name: &str| std::fs::read(path.join(name));
        let json = read("tokenizer.json").with_context(|| format!("cannot read {}/tokenizer.json", path.display()))?;
        let settings = read("tokenizer_config.json").ok().map(String::from_utf8).transpose();
        let settings = settings.with_context(|| format!("{}/tokenizer_config.json is not UTF-8", path.display()))?;
        ChatTokenizer::from_hf(&json, settings.as_deref())
    } else {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read model {}", path.display()))?;
        let gguf = Gguf::parse(&bytes).with_context(|| format!("model {}", path.display()))?;
        ChatTokenizer::from_gguf(&gguf)
    };
    chat.with_context(|| format!("model {}", path.display()))
}

fn load_gguf_file(path: &Path, device: Device) -> Result<Loaded> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read model {}", path.display()))?;
    let bundle = ModelBundle::from_gguf(&bytes, &device).with_context(|| format!("model {}", path.display()))?;
    Ok(Loaded { bundle, device })
}

fn load_hf_dir(dir: &Path, device: Device) -> Result<Loaded> {
    let read = |name: &str| -> Result<Vec<u8>> {
        let path = dir.join(name);
        std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))
    };
    let text = |name: &str| -> Result<String> {
        String::from_utf8(read(name)?).with_context(|| format!("{} is not UTF-8", dir.join(name).display()))
    };
    let index = text("model.safetensors.index.json").ok();
    let names = hf_shard_files(index.as_deref()).with_context(|| format!("model {}", dir.display()))?;
    let files = HfFiles {
        config_json: text("config.json")?,
        shards: names.iter().map(|f| read(f)).collect::<Result<Vec<_>>>()?,
        tokenizer_json: read("tokenizer.json")?,
        tokenizer_config_json: text("tokenizer_config.json").ok(),
    };
    let bundle = ModelBundle::from_hf(&files, &device).with_context(|| format!("model {}", dir.display()))?;
    Ok(Loaded { bundle, device })
}

/// Whether a model's forward batches run side by side, one per core: on a CPU of several cores,
/// where one batch keeps only about 1.2 of them busy (the matrix products use every core, much
/// of the rest one). The batches are the ones the plain scorer makes (some halved, see
/// [`pieces`]), and a context's log-probs are the same bits whatever batch it is in, so they are
/// the same whatever the number of cores.
pub fn side_by_side(device: &Device) -> bool {
    *device == Device::flex() && rayon::current_num_threads() > 1
}

/// A model's scorer for `select`, its batches side by side where [`side_by_side`] says so.
pub fn scorer(loaded: Loaded, batch_tokens: usize) -> Box<dyn TokenScorer> {
    let side_by_side = side_by_side(&loaded.device);
    let mut scorer = ModelScorer::from_bundle(loaded.bundle, loaded.device);
    scorer.batch_tokens = batch_tokens;
    match side_by_side {
        true => Box::new(SideBySide(scorer)),
        false => Box::new(scorer),
    }
}

/// A CPU scorer whose batches run side by side (see [`side_by_side`]).
struct SideBySide(ModelScorer);

impl TokenScorer for SideBySide {
    fn logprobs(&mut self, batch: &[ScoreRequest]) -> Vec<Result<Vec<f64>, ScoreError>> {
        let (model, device) = (&self.0.bundle().model, self.0.device());
        self.0
            .logprobs_by(batch, |batches| score_side_by_side(model, device, batches))
    }
}

/// Each batch's log-probs ([`score_contexts`]), the batches spread over the cores, in
/// [`pieces`] that the cores share evenly.
pub fn score_side_by_side(model: &Llama, device: &Device, batches: &[Vec<Context>]) -> Vec<Vec<Vec<f64>>> {
    let pieces = pieces(batches, rayon::current_num_threads());
    let scored: Vec<Vec<Vec<f64>>> = pieces
        .par_iter()
        .map(|(_, contexts)| score_contexts(model, device, contexts))
        .collect();
    let mut scores = vec![Vec::new(); batches.len()];
    for ((batch, _), logprobs) in pieces.iter().zip(scored) {
        scores[*batch].extend(logprobs);
    }
    scores
}

/// The batches as pieces for `cores` cores, each beside its batch's index, in order: the largest
/// (by padded tokens) halved until the pieces divide among the cores, where a batch of two or
/// more contexts is left to halve. A batch left over on its own keeps only about 1.2 cores busy,
/// and a context's log-probs are the same whatever batch it is in.
fn pieces(batches: &[Vec<Context>], cores: usize) -> Vec<(usize, &[Context])> {
    let padded = |contexts: &[Context]| contexts.len() * contexts.iter().map(|c| c.ids.len()).max().unwrap_or(0);
    let mut pieces: Vec<(usize, &[Context])> = batches.iter().map(Vec::as_slice).enumerate().collect();
    while !pieces.len().is_multiple_of(cores) {
        let halvable = (0..pieces.len()).filter(|&i| pieces[i].1.len() > 1);
        let Some(largest) = halvable.max_by_key(|&i| padded(pieces[i].1)) else {
            break;
        };
        let (batch, contexts) = pieces[largest];
        let (front, back) = contexts.split_at(contexts.len() / 2);
        pieces[largest] = (batch, front);
        pieces.insert(largest + 1, (batch, back));
    }
    pieces
}

#[cfg(test)]
mod tests {
    use codeblock_core::model::load_hf;

    use super::*;

    #[test]
    fn batches_side_by_side_score_as_one_after_another() {
        let (config, shards) = codeblock_tests::tiny_checkpoint("llama");
        let device = Device::flex();
        let (_, model) = load_hf(&config, &shards, &device).unwrap();
        let context = |length: usize, seed: usize| Context {
            ids: (0..length).map(|i| ((i * 31 + seed * 7) % 64) as u32).collect(),
            prompt_len: 2,
        };
        let batches = vec![
            vec![context(9, 1), context(12, 2)],
            vec![context(30, 3)],
            vec![context(5, 4), context(5, 5), context(7, 6)],
        ];
        let one_after_another: Vec<Vec<Vec<f64>>> = batches
            .iter()
            .map(|contexts| score_contexts(&model, &device, contexts))
            .collect();
        // Two cores: the three batches become four pieces, the largest halved.
        let two_cores = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        assert_eq!(
            two_cores.install(|| score_side_by_side(&model, &device, &batches)),
            one_after_another
        );
    }

    #[test]
    fn the_largest_batch_is_halved_until_the_pieces_divide_among_the_cores() {
        let context = |length: usize| Context {
            ids: vec![1; length],
            prompt_len: 1,
        };
        let batches = vec![
            vec![context(4), context(5)],
            vec![context(20)],
            vec![context(6), context(7), context(8)],
        ];
        let shape = |pieces: Vec<(usize, &[Context])>| -> Vec<(usize, usize)> {
            pieces
                .into_iter()
                .map(|(batch, contexts)| (batch, contexts.len()))
                .collect()
        };
        assert_eq!(shape(pieces(&batches, 1)), [(0, 2), (1, 1), (2, 3)]);
        // 24 padded tokens in the third batch against 20 and 10: it is halved, in order.
        assert_eq!(shape(pieces(&batches, 2)), [(0, 2), (1, 1), (2, 1), (2, 2)]);
        // A lone context is not halved.
        assert_eq!(shape(pieces(&batches[1..2], 2)), [(0, 1)]);
    }
}
