//! `codeblock nll`: a continuous, low-variance reading of a model on a benchmark: the mean
//! per-token negative log-likelihood of each task's canonical solution, as a reply to the task
//! (the same chat template and instruction as `eval`, the solution in a Python fence, as
//! training responses are). Lower is better; two models compare task by task (`experiment`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use codeblock_core::eval::tasks::{canonical_reply, instruction};
use codeblock_core::model::score_contexts;
use codeblock_core::pipeline::record::Message;
use codeblock_core::pipeline::tokens::Tokenize;
use serde::{Deserialize, Serialize};

use crate::eval;
use crate::output;

/// Contexts scored in one forward pass.
const BATCH: usize = 8;
use crate::model::{self, DeviceArg};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model (GGUF file or Hugging Face folder).
    #[arg(long)]
    model: PathBuf,
    /// Benchmarks, comma-separated (as `eval --bench`).
    #[arg(long, value_delimiter = ',', required = true)]
    bench: Vec<String>,
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceArg,
    /// Where to write one line per task.
    #[arg(long)]
    out: PathBuf,
    /// Only the first N tasks of each benchmark.
    #[arg(long)]
    limit: Option<usize>,
}

/// One task's reading.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NllLine {
    pub bench: String,
    pub task_id: String,
    /// Tokens of the canonical reply.
    pub tokens: usize,
    /// Their mean negative log-likelihood (nats per token).
    pub nll: f64,
}

pub fn run(args: Args) -> Result<()> {
    let (device, device_name) = model::choose_device(args.device);
    eprintln!(
        "model {} on {device_name}, reading the canonical solutions",
        args.model.display()
    );
    let loaded = model::load(&args.model, device)?;
    let bundle = &loaded.bundle;
    output::write_with(&args.out, |out| {
        for bench in &args.bench {
            let tasks = eval::tasks(bench, args.limit)?;
            let mut contexts = Vec::new();
            for task in &tasks {
                let turn = [Message {
                    role: "user".into(),
                    content: instruction(task),
                }];
                let reply = canonical_reply(task);
                let ids: Vec<u32> = bundle
                    .chat
                    .tokenizer
                    .tokenize(&reply)?
                    .iter()
                    .filter_map(|t| t.id)
                    .collect();
                contexts.push(bundle.chat.context(&turn, &ids)?);
            }
            // Batches of similar lengths pad little; the log-probs do not depend on the batch.
            let mut order: Vec<usize> = (0..tasks.len()).collect();
            order.sort_by_key(|&i| contexts[i].ids.len());
            let mut nll = vec![0.0; tasks.len()];
            for chunk in order.chunks(BATCH) {
                let batch: Vec<_> = chunk.iter().map(|&i| contexts[i].clone()).collect();
                for (&i, logprobs) in chunk.iter().zip(score_contexts(&bundle.model, &loaded.device, &batch)) {
                    nll[i] = -logprobs.iter().sum::<f64>() / logprobs.len() as f64;
                }
            }
            for ((task, context), &nll) in tasks.iter().zip(&contexts).zip(&nll) {
                let line = NllLine {
                    bench: bench.clone(),
                    task_id: task.task_id.clone(),
                    tokens: context.ids.len() - context.prompt_len,
                    nll,
                };
                writeln!(out, "{}", serde_json::to_string(&line)?)?;
            }
            let total: f64 = nll.iter().sum();
            println!(
                "{bench}: mean NLL {:.4} nats/token over {} tasks",
                total / tasks.len() as f64,
                tasks.len()
            );
        }
        Ok(())
    })?;
    println!("wrote {}", args.out.display());
    Ok(())
}
