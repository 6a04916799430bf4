//! The model as a token scorer: one forward pass over each record's context (its prompt through
//! the chat template, then the response tokens) gives every response token's log-probability
//! given everything before it. Records are batched by length; the LM head runs only at the
//! positions that predict response tokens.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::Llama;
use crate::chat::{ChatTemplate, plain_prompt};
use crate::score::{ScoreError, ScoreRequest, TokenScorer};
use crate::tokens::HfTokenizer;

/// Rows of the LM head computed at once: bounds the `[rows, vocab]` logits in memory.
const HEAD_ROWS: usize = 256;

/// A Llama-family model scoring response tokens.
#[derive(Debug)]
pub struct ModelScorer {
    model: Llama,
    device: Device,
    tokenizer: HfTokenizer,
    template: Option<ChatTemplate>,
    max_positions: usize,
    /// Token budget of one forward batch (sequences × padded length).
    pub batch_tokens: usize,
}

impl ModelScorer {
    pub fn new(
        model: Llama,
        device: Device,
        tokenizer: HfTokenizer,
        template: Option<ChatTemplate>,
        max_positions: usize,
    ) -> Self {
        ModelScorer {
            model,
            device,
            tokenizer,
            template,
            max_positions,
            batch_tokens: 8 * 256,
        }
    }

    /// The model's tokenizer: responses must be cut with it for their scores to line up.
    pub fn tokenizer(&self) -> &HfTokenizer {
        &self.tokenizer
    }

    /// The context of a record: templated prompt ids, then the response ids.
    fn context(&self, request: &ScoreRequest) -> Result<Context, ScoreError> {
        let id = &request.record.id;
        let prompt = match &self.template {
            Some(template) => template
                .render(&request.record.prompt, true)
                .map_err(|e| ScoreError::Failed(format!("record `{id}`: {e}")))?,
            None => plain_prompt(&request.record.prompt),
        };
        let mut ids = self
            .tokenizer
            .encode_with_specials(&prompt)
            .map_err(|e| ScoreError::Failed(e.to_string()))?;
        let prompt_len = ids.len();
        if prompt_len == 0 {
            return Err(ScoreError::Failed(format!(
                "record `{id}`: the prompt renders to no tokens"
            )));
        }
        for token in request.tokens {
            ids.push(token.id.ok_or_else(|| {
                ScoreError::Failed("a model scores token ids: the response needs the model's tokenizer".into())
            })?);
        }
        if ids.len() > self.max_positions {
            return Err(ScoreError::Failed(format!(
                "record `{id}` has {} context tokens; the model is loaded for {}",
                ids.len(),
                self.max_positions
            )));
        }
        Ok((ids, prompt_len))
    }

    /// Log-probs of the tokens after the first `prompt_len` of each context (`(ids, prompt_len)`,
    /// `prompt_len >= 1`), all padded into one batch.
    pub fn score_contexts(&self, contexts: &[(Vec<u32>, usize)]) -> Vec<Vec<f64>> {
        split(contexts, self.gathered(contexts).into_data())
    }

    /// [`Self::score_contexts`] with an asynchronous read-back, as a browser's GPU needs.
    pub async fn score_contexts_async(&self, contexts: &[(Vec<u32>, usize)]) -> Result<Vec<Vec<f64>>, ScoreError> {
        let data = self.gathered(contexts).into_data_async().await;
        Ok(split(contexts, data.map_err(|e| ScoreError::Failed(format!("{e:?}")))?))
    }

    /// The forward pass: the log-prob of every response token of every context, in order.
    fn gathered(&self, contexts: &[(Vec<u32>, usize)]) -> Tensor<1> {
        let length = contexts.iter().map(|(ids, _)| ids.len()).max().unwrap_or(0);
        let batch = contexts.len();
        let mut tokens = vec![0i64; batch * length];
        for (row, (ids, _)) in contexts.iter().enumerate() {
            for (col, &id) in ids.iter().enumerate() {
                tokens[row * length + col] = i64::from(id);
            }
        }
        let tokens = Tensor::<2, Int>::from_data(TensorData::new(tokens, [batch, length]), &self.device);
        let hidden = self.model.hidden(tokens);
        let width = hidden.dims()[2];
        let hidden = hidden.reshape([batch * length, width]);
        // Rows that predict response tokens: position p predicts token p + 1.
        let mut rows = Vec::new();
        let mut targets = Vec::new();
        for (row, (ids, prompt_len)) in contexts.iter().enumerate() {
            for p in prompt_len - 1..ids.len() - 1 {
                rows.push((row * length + p) as i64);
                targets.push(i64::from(ids[p + 1]));
            }
        }
        let chunks = rows.chunks(HEAD_ROWS).zip(targets.chunks(HEAD_ROWS));
        let values = chunks.map(|(rows, targets)| {
            let n = rows.len();
            let index = Tensor::<1, Int>::from_data(TensorData::new(rows.to_vec(), [n]), &self.device);
            let picked = hidden.clone().select(0, index);
            let log_probs = log_softmax(self.model.logits(picked), 1);
            let target = Tensor::<2, Int>::from_data(TensorData::new(targets.to_vec(), [n, 1]), &self.device);
            log_probs.gather(1, target).reshape([n])
        });
        Tensor::cat(values.collect(), 0)
    }

    /// The batches of a request list: contexts grouped by similar length under `batch_tokens`,
    /// each with the request's index; and the requests that have no context, with why.
    pub fn plan(&self, batch: &[ScoreRequest]) -> Plan {
        let mut failed = Vec::new();
        let mut ready = Vec::new();
        for (i, request) in batch.iter().enumerate() {
            match self.context(request) {
                Ok(context) => ready.push((i, context)),
                Err(e) => failed.push((i, e)),
            }
        }
        // Similar lengths together, so padding stays small.
        ready.sort_by_key(|(_, (ids, _))| ids.len());
        let mut groups = Vec::new();
        let mut rest = ready.into_iter().peekable();
        while let Some(first) = rest.next() {
            let mut group = vec![first];
            while let Some(next) = rest.next_if(|(_, (ids, _))| (group.len() + 1) * ids.len() <= self.batch_tokens) {
                group.push(next);
            }
            groups.push(group);
        }
        Plan { groups, failed }
    }
}

/// A record's context: its token ids (templated prompt, then response) and the prompt's length.
pub type Context = (Vec<u32>, usize);

/// How a request list is scored: batches of (request index, context), and the failures.
#[derive(Debug)]
pub struct Plan {
    pub groups: Vec<Vec<(usize, Context)>>,
    pub failed: Vec<(usize, ScoreError)>,
}

/// Splits the gathered log-probs back into one list per context.
fn split(contexts: &[Context], data: TensorData) -> Vec<Vec<f64>> {
    let mut values = data.iter::<f32>().map(f64::from);
    contexts
        .iter()
        .map(|(ids, prompt_len)| values.by_ref().take(ids.len() - prompt_len).collect())
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
        let Plan { groups, failed } = self.plan(batch);
        let mut scored = Vec::new();
        for group in groups {
            let contexts: Vec<Context> = group.iter().map(|(_, c)| c.clone()).collect();
            let indices = group.iter().map(|(i, _)| *i);
            scored.extend(indices.zip(self.score_contexts(&contexts)));
        }
        assemble(batch.len(), scored, failed)
    }
}
