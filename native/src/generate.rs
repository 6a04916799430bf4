//! `codeblock generate`: a sanity check of a loaded model, and the generation the evaluation
//! harness uses: the prompt goes through the model's chat template as a user turn.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use codeblock_core::model::{GenerateConfig, generate};
use codeblock_core::pipeline::record::Message;

use crate::model::{self, DeviceArg};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A GGUF model file.
    #[arg(long)]
    model: PathBuf,
    /// The user's message.
    #[arg(long)]
    prompt: String,
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceArg,
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    /// 0 is greedy.
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    #[arg(long, default_value_t = 1.0)]
    top_p: f32,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Stop before this string (repeatable).
    #[arg(long)]
    stop: Vec<String>,
}

pub fn run(args: Args) -> Result<()> {
    let (device, device_name) = model::choose_device(args.device);
    eprintln!("model {} on {device_name}", args.model.display());
    let loaded = model::load(&args.model, device)?;
    let messages = [Message {
        role: "user".into(),
        content: args.prompt.clone(),
    }];
    let ids = loaded.bundle.chat.prompt_ids(&messages).context("the prompt")?;
    let config = GenerateConfig {
        max_tokens: args.max_tokens,
        temperature: args.temperature,
        top_p: args.top_p,
        seed: args.seed,
        stop: args.stop,
        stop_when_answered: None,
    };
    let clock = Instant::now();
    let max_positions = loaded.bundle.config.max_positions();
    let generation = generate(
        &loaded.bundle.model,
        &loaded.device,
        &loaded.bundle.chat.tokenizer,
        &ids,
        &loaded.bundle.chat.end_tokens,
        max_positions,
        &config,
    );
    let seconds = clock.elapsed().as_secs_f64();
    println!("{}", generation.text);
    eprintln!(
        "{} tokens in {seconds:.1}s ({:.1} tokens/s), stopped by {:?}",
        generation.ids.len(),
        generation.ids.len() as f64 / seconds.max(1e-9),
        generation.stop
    );
    Ok(())
}
