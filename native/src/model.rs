//! Loading a model for the commands that need one, on the device the user asked for.

use std::path::Path;

use anyhow::{Context, Result};
use burn::tensor::{Device, DeviceKind};
use clap::ValueEnum;
use codeblock_core::chat::ChatTemplate;
use codeblock_core::gguf::Gguf;
use codeblock_core::model::{Llama, LlamaConfig, hf_shard_files, load_gguf, load_hf};
use codeblock_core::tokens::HfTokenizer;

/// Where the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeviceArg {
    /// A GPU through wgpu when one exists, else the CPU.
    Auto,
    Wgpu,
    Cpu,
}

/// A model with everything needed to feed it.
pub struct Loaded {
    pub config: LlamaConfig,
    pub model: Llama,
    pub tokenizer: HfTokenizer,
    pub template: Option<ChatTemplate>,
    /// The template's source, to export with a trained model.
    pub template_source: Option<String>,
    /// Ids that end the assistant's turn.
    pub end_tokens: Vec<u32>,
    pub device: Device,
}

/// The device for `arg`, and a sentence saying which one it is.
pub fn choose_device(arg: DeviceArg) -> (Device, String) {
    let gpu = || {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
            .into_iter()
            .map(|a| a.get_info())
            .find(|info| info.device_type != wgpu::DeviceType::Cpu)
    };
    match arg {
        DeviceArg::Cpu => (Device::flex(), "CPU (burn flex)".into()),
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

/// Loads a model: a GGUF file, or a Hugging Face folder (config.json, `*.safetensors`,
/// tokenizer.json, and tokenizer_config.json for the chat template and end token).
pub fn load(path: &Path, device: Device) -> Result<Loaded> {
    if path.is_dir() {
        load_hf_dir(path, device)
    } else {
        load_gguf_file(path, device)
    }
}

fn load_gguf_file(path: &Path, device: Device) -> Result<Loaded> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read model {}", path.display()))?;
    let gguf = Gguf::parse(&bytes).with_context(|| format!("model {}", path.display()))?;
    let (config, model) = load_gguf(&gguf, &device).with_context(|| format!("model {}", path.display()))?;
    let tokenizer = HfTokenizer::from_gguf(&gguf).with_context(|| format!("tokenizer of {}", path.display()))?;
    let template_source = gguf
        .metadata
        .get("tokenizer.chat_template")
        .and_then(|v| v.as_str())
        .map(String::from);
    let template = match &template_source {
        Some(source) => {
            Some(ChatTemplate::new(source).with_context(|| format!("chat template of {}", path.display()))?)
        }
        None => None,
    };
    let end_ids = ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"]
        .iter()
        .filter_map(|key| gguf.metadata.get(*key).and_then(|v| v.as_u64()))
        .map(|id| id as u32);
    let end_tokens = end_ids.chain(tokenizer.token_id("<|im_end|>")).collect();
    Ok(Loaded {
        config,
        model,
        tokenizer,
        template,
        template_source,
        end_tokens,
        device,
    })
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
    let files = hf_shard_files(index.as_deref()).with_context(|| format!("model {}", dir.display()))?;
    let shards = files.iter().map(|f| read(f)).collect::<Result<Vec<_>>>()?;
    let (config, model) =
        load_hf(&text("config.json")?, &shards, &device).with_context(|| format!("model {}", dir.display()))?;
    let tokenizer = HfTokenizer::from_bytes(&read("tokenizer.json")?)
        .with_context(|| format!("{}", dir.join("tokenizer.json").display()))?;
    let settings: serde_json::Value = match text("tokenizer_config.json") {
        Ok(json) => serde_json::from_str(&json).with_context(|| format!("{}/tokenizer_config.json", dir.display()))?,
        Err(_) => serde_json::Value::Null,
    };
    let template_source = settings["chat_template"].as_str().map(String::from);
    let template = match &template_source {
        Some(source) => Some(ChatTemplate::new(source).with_context(|| format!("chat template of {}", dir.display()))?),
        None => None,
    };
    let eos = settings["eos_token"]
        .as_str()
        .or_else(|| settings["eos_token"]["content"].as_str());
    let end_tokens = eos
        .into_iter()
        .chain(["<|im_end|>", "<|endoftext|>"])
        .filter_map(|t| tokenizer.token_id(t))
        .collect();
    Ok(Loaded {
        config,
        model,
        tokenizer,
        template,
        template_source,
        end_tokens,
        device,
    })
}
