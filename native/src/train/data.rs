//! What `codeblock train` trains on: the records of `select`'s output as examples (the context
//! and weights of `codeblock_core::train::example`), and Token Cleaning's choice of tokens.

use std::path::Path;

use anyhow::{Result, bail, ensure};
use burn::tensor::Device;
use codeblock_core::export::TrainingLine;
use codeblock_core::model::score_contexts;
use codeblock_core::pipeline::output::Status;
use codeblock_core::train::{self as plan, Example, Mode, token_cleaning_weights};
use indicatif::ProgressBar;

use super::args::Args;
use crate::input;
use crate::model;

/// The records of `select`'s output as examples: prompt through the chat template, response
/// token ids, the end token, and the mode's weights. Rejected records and records with no
/// weight are counted. Also the fraction of the examples' response tokens that their masks
/// supervise.
pub fn read_examples(args: &Args, loaded: &model::Loaded) -> Result<(Vec<Example>, f64)> {
    let bundle = &loaded.bundle;
    let mode = Mode::from(args.mode);
    let mut examples = Vec::new();
    let (mut rejected, mut empty, mut too_long) = (0, 0, 0);
    let (mut masked, mut tokens) = (0, 0);
    let longest = bundle
        .config
        .max_positions()
        .min(args.knobs.max_length.unwrap_or(usize::MAX));
    let lines = input::read_jsonl::<TrainingLine>(args.data(), "a `codeblock select` output line")?;
    for (number, TrainingLine { record, weights }) in lines {
        let where_ = format!("{} line {number}", args.data().display());
        let Status::Ok(selected) = &record.status else {
            rejected += 1;
            continue;
        };
        let example = plan::record_example(&bundle.chat, selected, mode, weights.as_deref(), args.knobs.seed)
            .map_err(|e| anyhow::anyhow!("{where_}: {e}"))?;
        let Some(example) = example else {
            empty += 1;
            continue;
        };
        let vocab = bundle.config.vocab_size as u32;
        if let Some(bad) = example.context.response().iter().find(|&&id| id >= vocab) {
            bail!("{where_}: token id {bad} is outside the model's vocabulary; select with the same model");
        }
        if example.context.ids.len() > longest {
            too_long += 1;
            continue;
        }
        masked += selected.stats.supervised_tokens;
        tokens += selected.stats.response_tokens;
        examples.push(example);
    }
    eprintln!(
        "{} records to train on; skipped {rejected} rejected by select, {empty} with no supervised token, \
         {too_long} longer than {longest} tokens",
        examples.len(),
    );
    Ok((examples, masked as f64 / tokens.max(1) as f64))
}

/// Token Cleaning: scores every response token under the base model and the reference, and
/// keeps the global top `keep` fraction by excess loss; examples left with nothing are dropped.
pub fn clean(examples: &mut Vec<Example>, base: &Path, reference: &Path, keep: f64, device: &Device) -> Result<()> {
    let (base, reference_model) = (
        model::load(base, device.clone())?,
        model::load(reference, device.clone())?,
    );
    ensure!(
        base.bundle.config.vocab_size == reference_model.bundle.config.vocab_size,
        "{}: the reference's vocabulary differs from the model's",
        reference.display()
    );
    // The response tokens only: the end token is supervised in every mode, whatever cleaning picks.
    let contexts: Vec<_> = examples.iter().map(Example::response_context).collect();
    let progress = ProgressBar::new(contexts.len() as u64);
    let (mut base_scores, mut reference_scores) = (Vec::new(), Vec::new());
    for chunk in contexts.chunks(8) {
        base_scores.extend(score_contexts(&base.bundle.model, device, chunk));
        reference_scores.extend(score_contexts(&reference_model.bundle.model, device, chunk));
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();
    let weights = token_cleaning_weights(&base_scores, &reference_scores, keep);
    for (example, weights) in examples.iter_mut().zip(weights) {
        example.reweigh(weights);
    }
    let before = examples.len();
    examples.retain(|e| e.response_weight() > 0.0);
    eprintln!(
        "token cleaning kept {:.1}% of response tokens; {} records left with none",
        100.0 * keep,
        before - examples.len()
    );
    Ok(())
}
