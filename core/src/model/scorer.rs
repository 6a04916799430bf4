//! The model as a token scorer: one forward pass over each record's context (its prompt through
//! the chat template, then the response tokens: [`Context`]) gives every response token's
//! log-probability given everything before it. Records are batched by length; the LM head runs
//! only at the positions that predict response tokens.

use burn::tensor::{Device, Int, Tensor, TensorData};

use super::{KvCache, Llama, ModelBundle, cpu};
use crate::Config;
use crate::pipeline;
use crate::pipeline::analysis::Prepared;
use crate::pipeline::output::{Input, Reject};
use crate::pipeline::score::{ScoreError, ScoreRequest, TokenScorer, score_line};
use crate::pipeline::tokens::HfTokenizer;
use crate::train::Context;

/// Rows of the LM head computed at once: bounds the `[rows, vocab]` logits in memory.
const HEAD_ROWS: usize = 256;

/// A Llama-family model, with its tokenizer and chat template, scoring response tokens.
#[derive(Debug)]
pub struct ModelScorer {
    bundle: ModelBundle,
    device: Device,
    /// Token budget of one forward batch (sequences × padded length).
    pub batch_tokens: usize,
}

/// One record's result of [`ModelScorer::score_inputs`].
#[derive(Debug, Clone, PartialEq)]
pub enum Scored {
    /// Its score line (`id`, `token_ids`, `logprobs`; no line end) for `select --scores`.
    Line(String),
    /// Not scored: the record's name (id, or input line) and why.
    Failed(String, Reject),
}

impl ModelScorer {
    /// The scorer of a loaded model on the device it was loaded on.
    pub fn from_bundle(bundle: ModelBundle, device: Device) -> Self {
        ModelScorer {
            bundle,
            device,
            batch_tokens: 8 * 256,
        }
    }

    /// The loaded model, for its other readings ([`super::read_pairs`]).
    pub fn bundle(&self) -> &ModelBundle {
        &self.bundle
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The model's tokenizer: responses must be cut with it for their scores to line up.
    pub fn tokenizer(&self) -> &HfTokenizer {
        &self.bundle.chat.tokenizer
    }

    /// The context of a record: templated prompt ids, then the response ids.
    fn context(&self, request: &ScoreRequest) -> Result<Context, ScoreError> {
        let id = &request.record.id;
        let response = request.token_ids().ok_or_else(|| {
            ScoreError::Failed("a model scores token ids: the response needs the model's tokenizer".into())
        })?;
        let context = self
            .bundle
            .chat
            .context(&request.record.prompt, &response)
            .map_err(|e| ScoreError::Failed(format!("record `{id}`: {e}")))?;
        let max_positions = self.bundle.config.max_positions();
        if context.ids.len() > max_positions {
            return Err(ScoreError::Failed(format!(
                "record `{id}` has {} context tokens; the model is loaded for {max_positions}",
                context.ids.len(),
            )));
        }
        Ok(context)
    }

    /// The batches of a request list: contexts grouped by similar length under `batch_tokens`,
    /// each with the request's index; and the requests that have no context, with why.
    fn plan(&self, batch: &[ScoreRequest]) -> Plan {
        let mut failed = Vec::new();
        let mut ready = Vec::new();
        for (i, request) in batch.iter().enumerate() {
            match self.context(request) {
                Ok(context) => ready.push((i, context)),
                Err(e) => failed.push((i, e)),
            }
        }
        let lengths: Vec<usize> = ready.iter().map(|(_, c)| c.ids.len()).collect();
        let mut ready: Vec<Option<(usize, Context)>> = ready.into_iter().map(Some).collect();
        let (indices, batches) = by_length(&lengths, self.batch_tokens)
            .into_iter()
            .map(|group| group.into_iter().filter_map(|i| ready[i].take()).unzip())
            .unzip();
        Plan {
            indices,
            batches,
            failed,
        }
    }

    /// Scores records as read into score lines, cutting responses exactly as `select` does (so
    /// the ids line up there). In [`pipeline::score_chunks`], shortest responses first; `report`
    /// gets each record's result once its chunk is scored, with the response tokens scored so
    /// far and in all. Every input gets one result. The read-back is asynchronous, as a
    /// browser's GPU requires; native shells block on it.
    pub async fn score_inputs(
        &self,
        inputs: Vec<Input>,
        config: &Config,
        report: &mut dyn FnMut(Scored, usize, usize),
    ) {
        let one_after_another = async |batches: &[Vec<Context>]| {
            let mut scores = Vec::with_capacity(batches.len());
            for contexts in batches {
                scores.push(score_contexts_async(&self.bundle.model, &self.device, contexts).await);
            }
            scores
        };
        self.score_inputs_by(inputs, config, one_after_another, report).await;
    }

    /// [`Self::score_inputs`] with each chunk's forward batches run by `run`, which gets their
    /// contexts and gives back each batch's log-probs, in order: so a shell can spread the
    /// batches over threads.
    pub async fn score_inputs_by(
        &self,
        inputs: Vec<Input>,
        config: &Config,
        mut run: impl AsyncFnMut(&[Vec<Context>]) -> Vec<Result<Vec<Vec<f64>>, ScoreError>>,
        report: &mut dyn FnMut(Scored, usize, usize),
    ) {
        let mut prepared: Vec<Prepared> = Vec::new();
        let mut failed = Vec::new();
        for input in inputs {
            let name = input.name();
            let Input { line, record } = input;
            match record.and_then(|r| pipeline::prepare(r, self.tokenizer(), config)) {
                Ok(p) => prepared.push(p),
                Err(reject) => failed.push(Scored::Failed(name, reject.at_line(line))),
            }
        }
        let batch: Vec<&Prepared> = prepared.iter().collect();
        let requests = pipeline::requests(&batch);
        let total: usize = requests.iter().map(|r| r.tokens.len()).sum();
        for result in failed {
            report(result, 0, total);
        }
        let mut done = 0;
        for (_, chunk) in pipeline::score_chunks(&requests) {
            let Plan {
                indices,
                batches,
                failed,
            } = self.plan(&chunk);
            for (i, error) in failed {
                done += chunk[i].tokens.len();
                report(Scored::Failed(chunk[i].record.id.clone(), error.into()), done, total);
            }
            let scores = run(&batches).await;
            for ((indices, contexts), scores) in indices.iter().zip(&batches).zip(scores) {
                let results = scores.map_or_else(|e| vec![Err(e); contexts.len()], |s| s.into_iter().map(Ok).collect());
                for ((&i, context), result) in indices.iter().zip(contexts).zip(results) {
                    let request = &chunk[i];
                    done += request.tokens.len();
                    let scored = match result {
                        Ok(logprobs) => Scored::Line(score_line(&request.record.id, context.response(), &logprobs)),
                        Err(e) => Scored::Failed(request.record.id.clone(), e.into()),
                    };
                    report(scored, done, total);
                }
            }
        }
    }
}

/// Log-probs of the tokens after the prompt of each context (`prompt_len >= 1`), all padded
/// into one batch.
pub fn score_contexts(model: &Llama, device: &Device, contexts: &[Context]) -> Vec<Vec<f64>> {
    split(contexts, gathered(model, device, contexts).into_data())
}

/// [`score_contexts`] with an asynchronous read-back, as a browser's GPU needs.
async fn score_contexts_async(
    model: &Llama,
    device: &Device,
    contexts: &[Context],
) -> Result<Vec<Vec<f64>>, ScoreError> {
    let data = gathered(model, device, contexts).into_data_async().await;
    Ok(split(contexts, data.map_err(|e| ScoreError::Failed(format!("{e:?}")))?))
}

/// Indices into `lengths`, grouped so that similar lengths go together (padding stays small)
/// and each group's padded size stays under `batch_tokens` (a longer one goes alone).
pub(super) fn by_length(lengths: &[usize], batch_tokens: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| lengths[i]);
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in order {
        match groups.last_mut() {
            Some(group) if (group.len() + 1) * lengths[i] <= batch_tokens => group.push(i),
            _ => groups.push(vec![i]),
        }
    }
    groups
}

/// The forward pass: the log-prob of every response token of every context, in order.
fn gathered(model: &Llama, device: &Device, contexts: &[Context]) -> Tensor<1> {
    response_logprobs(model, device, contexts, forward(model, device, contexts))
}

/// A batch's final hidden states `[contexts, longest - start, width]` from position `start` on.
pub(super) struct Hidden {
    pub states: Tensor<3>,
    pub start: usize,
}

/// The final hidden states of a batch of contexts, from the first position any response needs.
/// The positions the contexts share from their start (a chat template's system prompt, say)
/// run once for the whole batch, and the rest attend to their cached keys and values: the same
/// states as running every context whole, for fewer products.
pub(super) fn forward(model: &Llama, device: &Device, contexts: &[Context]) -> Hidden {
    let start = shared_prefix(contexts);
    if start == 0 {
        return Hidden {
            states: model.hidden(padded_ids(contexts, 0, device)),
            start,
        };
    }
    let prefix: Vec<i64> = contexts[0].ids[..start].iter().map(|&id| i64::from(id)).collect();
    let prefix = Tensor::<2, Int>::from_data(TensorData::new(prefix, [1, start]), device);
    let mut cache = KvCache::default();
    model.hidden_cached(prefix, &mut cache);
    cache.keep_rows(&vec![0; contexts.len()], device);
    Hidden {
        states: model.hidden_cached(padded_ids(contexts, start, device), &mut cache),
        start,
    }
}

/// How many leading positions every context of a batch of two or more shares, short of the
/// first position that predicts a response token (whose hidden state is needed).
fn shared_prefix(contexts: &[Context]) -> usize {
    let [first, rest @ ..] = contexts else { return 0 };
    if rest.is_empty() {
        return 0;
    }
    let needed = contexts.iter().map(|c| c.prompt_len - 1).min().unwrap_or(0);
    rest.iter().fold(needed, |shared, context| {
        first.ids[..shared]
            .iter()
            .zip(&context.ids)
            .take_while(|(a, b)| a == b)
            .count()
    })
}

/// The contexts' ids from position `start` on, right-padded into one batch
/// `[contexts, longest - start]`.
fn padded_ids(contexts: &[Context], start: usize, device: &Device) -> Tensor<2, Int> {
    let length = contexts.iter().map(|c| c.ids.len()).max().unwrap_or(0) - start;
    let batch = contexts.len();
    let mut tokens = vec![0i64; batch * length];
    for (row, context) in contexts.iter().enumerate() {
        for (col, &id) in context.ids[start..].iter().enumerate() {
            tokens[row * length + col] = i64::from(id);
        }
    }
    Tensor::<2, Int>::from_data(TensorData::new(tokens, [batch, length]), device)
}

/// The log-prob of every response token of every context, in order, from the batch's final
/// hidden states.
pub(super) fn response_logprobs(model: &Llama, device: &Device, contexts: &[Context], hidden: Hidden) -> Tensor<1> {
    let Hidden { states, start } = hidden;
    let [batch, length, width] = states.dims();
    let hidden = states.reshape([batch * length, width]);
    // Rows that predict response tokens: position p predicts token p + 1.
    let mut rows = Vec::new();
    let mut targets = Vec::new();
    for (row, context) in contexts.iter().enumerate() {
        for p in context.prompt_len - 1..context.ids.len() - 1 {
            rows.push((row * length + p - start) as i64);
            targets.push(i64::from(context.ids[p + 1]));
        }
    }
    let chunks = rows.chunks(HEAD_ROWS).zip(targets.chunks(HEAD_ROWS));
    let values = chunks.map(|(rows, targets)| {
        let n = rows.len();
        let index = Tensor::<1, Int>::from_data(TensorData::new(rows.to_vec(), [n]), device);
        let logits = model.logits(hidden.clone().select(0, index));
        match model.flex_inference {
            true => cpu::target_log_probs(logits, targets, device),
            false => target_log_probs(logits, targets, device),
        }
    });
    Tensor::cat(values.collect(), 0)
}

/// `log_softmax(logits, 1)` at each row's target, in the same arithmetic (the row shifted by
/// its max, less the log of the sum of the exponentials) but without writing out the whole
/// log-softmax, which is one more pass over `n` × vocabulary values.
fn target_log_probs(logits: Tensor<2>, targets: &[i64], device: &Device) -> Tensor<1> {
    let n = logits.dims()[0];
    let targets = Tensor::<2, Int>::from_data(TensorData::new(targets.to_vec(), [n, 1]), device);
    let shifted = logits.clone() - logits.max_dim(1);
    let target = shifted.clone().gather(1, targets);
    (target - shifted.exp().sum_dim(1).log()).reshape([n])
}

/// How a request list is scored: batches of (request index, context), and the failures.
#[derive(Debug)]
struct Plan {
    /// Each batch's request indices, beside its contexts.
    indices: Vec<Vec<usize>>,
    batches: Vec<Vec<Context>>,
    failed: Vec<(usize, ScoreError)>,
}

/// Splits the gathered log-probs back into one list per context.
pub(super) fn split(contexts: &[Context], data: TensorData) -> Vec<Vec<f64>> {
    let mut values = data.iter::<f32>().map(f64::from);
    contexts
        .iter()
        .map(|c| values.by_ref().take(c.ids.len() - c.prompt_len).collect())
        .collect()
}

/// Places each group's scores at its requests' indices, next to the failures.
fn assemble(
    len: usize,
    scored: Vec<(usize, Vec<f64>)>,
    failed: Vec<(usize, ScoreError)>,
) -> Vec<Result<Vec<f64>, ScoreError>> {
    let mut results: Vec<Option<Result<Vec<f64>, ScoreError>>> = vec![None; len];
    for (i, scores) in scored {
        results[i] = Some(Ok(scores));
    }
    for (i, error) in failed {
        results[i] = Some(Err(error));
    }
    results
        .into_iter()
        .map(|r| r.expect("every request is scored or failed"))
        .collect()
}

impl TokenScorer for ModelScorer {
    fn logprobs(&mut self, batch: &[ScoreRequest]) -> Vec<Result<Vec<f64>, ScoreError>> {
        self.logprobs_by(batch, |batches| {
            batches
                .iter()
                .map(|contexts| score_contexts(&self.bundle.model, &self.device, contexts))
                .collect()
        })
    }
}

impl ModelScorer {
    /// [`TokenScorer::logprobs`] with the forward batches run by `run`, which gets every batch's
    /// contexts and gives back each batch's log-probs as [`score_contexts`] does, in order: so a
    /// shell can spread the batches over threads.
    pub fn logprobs_by(
        &self,
        batch: &[ScoreRequest],
        run: impl FnOnce(&[Vec<Context>]) -> Vec<Vec<Vec<f64>>>,
    ) -> Vec<Result<Vec<f64>, ScoreError>> {
        let Plan {
            indices,
            batches,
            failed,
        } = self.plan(batch);
        let scored = indices
            .into_iter()
            .zip(run(&batches))
            .flat_map(|(indices, scores)| indices.into_iter().zip(scores))
            .collect();
        assemble(batch.len(), scored, failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_prefix_stops_short_of_the_first_predicting_position() {
        let system = [1, 2, 3, 4, 5];
        let context = |prompt: &[u32], response: &[u32]| Context::new([&system[..], prompt].concat(), response);
        let contexts = [
            context(&[9, 10], &[11]),
            context(&[9, 20], &[22]),
            context(&[30], &[31]),
        ];
        assert_eq!(
            shared_prefix(&contexts),
            5,
            "the system prompt, not the first prompt token"
        );
        let contexts = [Context::new(vec![1, 2], &[3]), Context::new(vec![1, 2, 7], &[8])];
        // Position 1 predicts the first context's response: only position 0 can run shared.
        assert_eq!(shared_prefix(&contexts), 1);
        assert_eq!(shared_prefix(&contexts[..1]), 0, "one context shares with no other");
        let apart = [Context::new(vec![1, 2], &[3]), Context::new(vec![4, 2], &[3])];
        assert_eq!(shared_prefix(&apart), 0);
    }
}
