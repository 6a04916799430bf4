//! The model's reading of instruction/response pairs for the pair stage (`curate`): how hard a
//! response is with and without its instruction (IFD), and where it lies among the others in
//! the model's hidden space (the long-tail embedding).

use burn::tensor::{Device, Tensor, TensorData};

use super::ModelBundle;
use super::scorer::{Hidden, by_length, forward, response_logprobs, split};
use crate::curate::Reading;
use crate::pipeline::record::Record;
use crate::pipeline::tokens::Tokenize;
use crate::train::Context;

/// Reads each record twice: its response (cut by the model's tokenizer, as `select` cuts it, and
/// shortened to fit the model's window) after its prompt, and after no instruction at all (the
/// chat template's assistant turn alone, so the template's own tokens cancel in the ratio).
/// Batched by length under `batch_tokens` padded tokens. `Err` says why a record was not read.
pub async fn read_pairs(
    bundle: &ModelBundle,
    device: &Device,
    records: &[&Record],
    batch_tokens: usize,
) -> Vec<Result<Reading, String>> {
    let mut results: Vec<Option<Result<Reading, String>>> = vec![None; records.len()];
    let mut ready = Vec::new(); // (record index, given, alone)
    // The bare assistant turn is the same for every record: rendered once.
    let alone_prompt = bundle
        .chat
        .prompt_ids(&[])
        .map_err(|e| format!("the empty prompt: {e}"));
    for (i, record) in records.iter().enumerate() {
        match contexts(bundle, record, &alone_prompt) {
            Ok((given, alone)) => ready.push((i, given, alone)),
            Err(e) => results[i] = Some(Err(e)),
        }
    }
    let lengths: Vec<usize> = ready.iter().map(|(_, given, _)| given.ids.len()).collect();
    for group in by_length(&lengths, batch_tokens) {
        let given: Vec<Context> = group.iter().map(|&g| ready[g].1.clone()).collect();
        let alone: Vec<Context> = group.iter().map(|&g| ready[g].2.clone()).collect();
        let read = read_group(bundle, device, &given, &alone).await;
        for (n, &g) in group.iter().enumerate() {
            results[ready[g].0] = Some(read.as_ref().map(|r| r[n].clone()).map_err(Clone::clone));
        }
    }
    results
        .into_iter()
        .map(|r| r.expect("every record is read or failed"))
        .collect()
}

/// A record's response after its prompt, and after the empty prompt (`alone_prompt`).
fn contexts(
    bundle: &ModelBundle,
    record: &Record,
    alone_prompt: &Result<Vec<u32>, String>,
) -> Result<(Context, Context), String> {
    let id = &record.id;
    let given_prompt = bundle
        .chat
        .prompt_ids(&record.prompt)
        .map_err(|e| format!("record `{id}`: {e}"))?;
    let alone_prompt = alone_prompt.clone()?;
    let mut response: Vec<u32> = bundle
        .chat
        .tokenizer
        .tokenize(&record.response)
        .map_err(|e| format!("record `{id}`: {e}"))?
        .iter()
        .filter_map(|t| t.id)
        .collect();
    let room = bundle.config.max_positions().saturating_sub(given_prompt.len());
    response.truncate(room);
    if response.is_empty() {
        return Err(format!(
            "record `{id}`: no response token fits the model's window after its prompt"
        ));
    }
    Ok((
        Context::new(given_prompt, &response),
        Context::new(alone_prompt, &response),
    ))
}

/// One batch: the response's log-probs and pooled hidden states after its prompt, and its
/// log-probs alone.
async fn read_group(
    bundle: &ModelBundle,
    device: &Device,
    given: &[Context],
    alone: &[Context],
) -> Result<Vec<Reading>, String> {
    let model = &bundle.model;
    let hidden = forward(model, device, given);
    let pooled = mean_over_responses(&hidden, given, device);
    let given_logprobs = response_logprobs(model, device, given, hidden);
    let alone_logprobs = response_logprobs(model, device, alone, forward(model, device, alone));
    let read = |data: Result<TensorData, _>| data.map_err(|e| format!("reading the device: {e:?}"));
    let given_logprobs = split(given, read(given_logprobs.into_data_async().await)?);
    let alone_logprobs = split(alone, read(alone_logprobs.into_data_async().await)?);
    let pooled = read(pooled.into_data_async().await)?;
    let pooled: Vec<f32> = pooled.iter::<f32>().collect();
    let width = pooled.len() / given.len().max(1);
    let loss = |logprobs: &[f64]| -logprobs.iter().sum::<f64>() / logprobs.len() as f64;
    Ok((0..given.len())
        .map(|n| Reading {
            ifd: loss(&given_logprobs[n]) / loss(&alone_logprobs[n]),
            embedding: pooled[n * width..(n + 1) * width].to_vec(),
        })
        .collect())
}

/// The mean of each context's hidden states over its response positions: `[contexts, width]`.
fn mean_over_responses(hidden: &Hidden, contexts: &[Context], device: &Device) -> Tensor<2> {
    let [batch, length, width] = hidden.states.dims();
    let mut weights = vec![0f32; batch * length];
    for (row, context) in contexts.iter().enumerate() {
        let count = (context.ids.len() - context.prompt_len) as f32;
        for position in context.prompt_len..context.ids.len() {
            weights[row * length + position - hidden.start] = 1.0 / count;
        }
    }
    let weights = Tensor::<3>::from_data(TensorData::new(weights, [batch, length, 1]), device);
    (hidden.states.clone() * weights).sum_dim(1).reshape([batch, width])
}
