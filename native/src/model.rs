//! Loading a model for the commands that need one, on the device the user asked for.

use std::path::Path;

use anyhow::{Context, Result, bail};
use burn::tensor::{Device, DeviceKind};
use clap::ValueEnum;
use codeblock_core::chat::ChatTemplate;
use codeblock_core::gguf::Gguf;
use codeblock_core::model::{Llama, LlamaConfig, load_gguf};
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

/// Loads a GGUF model file.
pub fn load(path: &Path, device: Device) -> Result<Loaded> {
    if path.is_dir() {
        bail!(
            "{}: Hugging Face model folders are not supported yet; give a .gguf file",
            path.display()
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read model {}", path.display()))?;
    let gguf = Gguf::parse(&bytes).with_context(|| format!("model {}", path.display()))?;
    let (config, model) = load_gguf(&gguf, &device).with_context(|| format!("model {}", path.display()))?;
    let tokenizer = HfTokenizer::from_gguf(&gguf).with_context(|| format!("tokenizer of {}", path.display()))?;
    let template = match gguf.metadata.get("tokenizer.chat_template").and_then(|v| v.as_str()) {
        Some(source) => {
            Some(ChatTemplate::new(source).with_context(|| format!("chat template of {}", path.display()))?)
        }
        None => None,
    };
    let end_tokens = ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"]
        .iter()
        .filter_map(|key| gguf.metadata.get(*key).and_then(|v| v.as_u64()))
        .map(|id| id as u32)
        .chain(tokenizer.token_id("<|im_end|>"))
        .collect();
    Ok(Loaded {
        config,
        model,
        tokenizer,
        template,
        end_tokens,
        device,
    })
}
