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

    /// The context of a record: templated prompt ids, then the response ids.
    fn context(&self, request: &ScoreRequest) -> Result<(Vec<u32>, usize), ScoreError> {
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
        let mut logprobs = Vec::with_capacity(rows.len());
        for (rows, targets) in rows.chunks(HEAD_ROWS).zip(targets.chunks(HEAD_ROWS)) {
            let n = rows.len();
            let index = Tensor::<1, Int>::from_data(TensorData::new(rows.to_vec(), [n]), &self.device);
            let picked = hidden.clone().select(0, index);
            let log_probs = log_softmax(self.model.logits(picked), 1);
            let target = Tensor::<2, Int>::from_data(TensorData::new(targets.to_vec(), [n, 1]), &self.device);
            let values = log_probs.gather(1, target).into_data();
            logprobs.extend(values.iter::<f32>().map(f64::from));
        }
        let mut out = Vec::with_capacity(batch);
        let mut at = 0;
        for (ids, prompt_len) in contexts {
            let n = ids.len() - prompt_len;
            out.push(logprobs[at..at + n].to_vec());
            at += n;
        }
        out
    }
}

impl TokenScorer for ModelScorer {
    fn logprobs(&mut self, batch: &[ScoreRequest]) -> Vec<Result<Vec<f64>, ScoreError>> {
        let mut results: Vec<Option<Result<Vec<f64>, ScoreError>>> = vec![None; batch.len()];
        let mut ready = Vec::new();
        for (i, request) in batch.iter().enumerate() {
            match self.context(request) {
                Ok(context) => ready.push((i, context)),
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        // Similar lengths together, so padding stays small.
        ready.sort_by_key(|(_, (ids, _))| ids.len());
        let mut start = 0;
        while start < ready.len() {
            let mut end = start + 1;
            while end < ready.len() && (end + 1 - start) * ready[end].1.0.len() <= self.batch_tokens {
                end += 1;
            }
            let contexts: Vec<(Vec<u32>, usize)> = ready[start..end].iter().map(|(_, c)| c.clone()).collect();
            for ((i, _), scores) in ready[start..end].iter().zip(self.score_contexts(&contexts)) {
                results[*i] = Some(Ok(scores));
            }
            start = end;
        }
        results
            .into_iter()
            .map(|r| r.expect("every request is scored or failed"))
            .collect()
    }
}
