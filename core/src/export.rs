//! Rows for the trainers people already use. A training [`Example`] (the context our trainer
//! trains on: the templated prompt, the response's ids as the mask has them, the end token) is
//! written as token columns (TRL, axolotl's pre-tokenized form, LLaMA-Factory) or as a chat with
//! character spans (axolotl's `train_detail`), so a mask lands on the same tokens in any of them.

use serde::{Deserialize, Serialize};

use crate::formats::chat::ChatTokenizer;
use crate::pipeline::output::{RecordOutput, Reject, Selected, Status};
use crate::pipeline::record::Message;
use crate::pipeline::tokens::Tokenize;
use crate::train::{Example, Mode, record_example};

/// The label of a token that carries no loss (PyTorch's `ignore_index`).
pub const IGNORE_INDEX: i64 = -100;

/// A line of `select`'s output, with the per-token `weights` the `mask` mode may bring.
#[derive(Debug, Deserialize)]
pub struct TrainingLine {
    #[serde(flatten)]
    pub record: RecordOutput,
    pub weights: Option<Vec<f32>>,
}

/// A record that gives a training row: its analysis and the example it trains as.
#[derive(Debug)]
pub struct Trainable<'a> {
    pub selected: &'a Selected,
    pub example: Example,
}

/// What a line of `select`'s output trains on in a mode, or why it gives no row: a record
/// `select` rejected (`rejected_by_select`) or one the mode gives no loss
/// (`no_supervised_token`). `Err` when no row can be made of the line: it has no token ids, or
/// they are not this tokenizer's, so every label would be another model's token.
pub fn trainable<'a>(
    chat: &ChatTokenizer,
    line: &'a TrainingLine,
    mode: Mode,
    seed: u64,
) -> Result<Result<Trainable<'a>, Reject>, String> {
    let selected = match &line.record.status {
        Status::Ok(selected) => selected,
        Status::Rejected(reject) => {
            let message = format!("{}: {}", reject.reason, reject.message);
            return Ok(Err(Reject::new("rejected_by_select", message)));
        }
    };
    check_tokens(chat, selected)?;
    Ok(
        match record_example(chat, selected, mode, line.weights.as_deref(), seed)? {
            Some(example) => Ok(Trainable { selected, example }),
            None => Err(Reject::new(
                "no_supervised_token",
                "the mode gives no token of this response any loss",
            )),
        },
    )
}

/// The response's token ids must be this tokenizer's tokenization of it. (A line without ids
/// is refused by `record_example`.)
fn check_tokens(chat: &ChatTokenizer, selected: &Selected) -> Result<(), String> {
    let Some(given) = &selected.mask.token_ids else {
        return Ok(());
    };
    let tokens = chat.tokenizer.tokenize(&selected.response).map_err(|e| e.to_string())?;
    match tokens.len() == given.len() && tokens.iter().zip(given).all(|(t, &id)| t.id == Some(id)) {
        true => Ok(()),
        false => Err("its token ids are not this model's tokenization of its response; select with this model".into()),
    }
}

impl Trainable<'_> {
    /// The example's weights of the response's own tokens (the end token's left out).
    pub fn response_weights(&self) -> &[f32] {
        let example = &self.example;
        &example.weights[..example.context.response().len() - usize::from(example.closed)]
    }
}

/// An example as the token columns of Hugging Face trainers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TokenRow {
    pub input_ids: Vec<u32>,
    /// 1 for every token: a row holds no padding.
    pub attention_mask: Vec<u8>,
    /// The token's own id where it carries loss, [`IGNORE_INDEX`] elsewhere; trainers shift it
    /// by one, so a label is the token predicted from the ones before it.
    pub labels: Vec<i64>,
    /// 1 where the token carries loss: TRL builds `labels` from it when a dataset has none.
    pub assistant_masks: Vec<u8>,
}

impl TokenRow {
    /// Loss weights become 0/1 flags: a token carries loss when its weight is above zero.
    pub fn new(example: &Example) -> TokenRow {
        let ids = &example.context.ids;
        let prompt_len = example.context.prompt_len;
        let assistant_masks: Vec<u8> = (0..ids.len())
            .map(|i| u8::from(i >= prompt_len && example.weights[i - prompt_len] > 0.0))
            .collect();
        let labels = ids
            .iter()
            .zip(&assistant_masks)
            .map(|(&id, &flag)| if flag == 1 { i64::from(id) } else { IGNORE_INDEX })
            .collect();
        TokenRow {
            input_ids: ids.clone(),
            attention_mask: vec![1; ids.len()],
            labels,
            assistant_masks,
        }
    }
}

/// A record as a chat whose assistant turn says, in `train_detail`, which characters of the
/// response carry loss (axolotl's `chat_template` datasets).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatRow {
    pub messages: Vec<ChatTurn>,
}

/// A message; the assistant's carries `train_detail`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatTurn {
    pub role: String,
    pub content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_detail: Option<Vec<TrainDetail>>,
}

/// Characters `begin_offset..=end_offset` of a message (Unicode scalar values, as Python
/// counts them; the end is inclusive) carry loss when `train`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TrainDetail {
    pub begin_offset: usize,
    pub end_offset: usize,
    pub train: bool,
}

impl ChatRow {
    /// The record's prompt, then its response with one detail per run of supervised tokens.
    /// axolotl gives a token the characters from its start to the next token's start and
    /// trains it only when they lie wholly inside a detail, so each run is cut at token starts
    /// the same way. `response_weights` are the example's weights of the response's tokens.
    pub fn new(selected: &Selected, response_weights: &[f32]) -> ChatRow {
        let response = &selected.response;
        let starts = char_offsets(response, selected.mask.token_spans.iter().map(|t| t.start));
        let chars = response.chars().count();
        let mut details: Vec<TrainDetail> = Vec::new();
        let mut run_start = None;
        for (i, &weight) in response_weights.iter().enumerate() {
            match (weight > 0.0, run_start) {
                (true, None) => run_start = Some(starts[i]),
                (false, Some(begin)) => {
                    details.push(detail(begin, starts[i]));
                    run_start = None;
                }
                _ => {}
            }
        }
        details.extend(run_start.map(|begin| detail(begin, chars)));
        let mut messages: Vec<ChatTurn> = selected.prompt.iter().map(ChatTurn::from).collect();
        messages.push(ChatTurn {
            role: "assistant".into(),
            content: selected.response.clone(),
            train_detail: Some(details),
        });
        ChatRow { messages }
    }
}

/// The character offsets of ascending byte offsets into `text`, in one pass (an offset inside
/// a character counts that character as before it).
fn char_offsets(text: &str, bytes: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut char_starts = text.char_indices().map(|(i, _)| i).peekable();
    let mut chars = 0;
    bytes
        .map(|target| {
            while char_starts.next_if(|&i| i < target).is_some() {
                chars += 1;
            }
            chars
        })
        .collect()
}

/// A detail from a run's first character to just before `next_start`.
fn detail(begin: usize, next_start: usize) -> TrainDetail {
    TrainDetail {
        begin_offset: begin,
        end_offset: next_start.saturating_sub(1).max(begin),
        train: true,
    }
}

impl From<&Message> for ChatTurn {
    fn from(message: &Message) -> Self {
        ChatTurn {
            role: message.role.clone(),
            content: message.content.clone(),
            train_detail: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{Context, example};

    #[test]
    fn character_offsets_count_unicode_scalars() {
        let text = "aé😀b";
        assert_eq!(char_offsets(text, [0, 1, 3, 7, 8].into_iter()), vec![0, 1, 2, 3, 4]);
        // Inside the emoji: counted as before it, never a panic.
        assert_eq!(char_offsets(text, [5].into_iter()), vec![3]);
    }

    #[test]
    fn labels_are_the_ids_of_supervised_tokens_and_the_end_token() {
        let example = example(Context::new(vec![1, 2], &[10, 11, 12]), Some(99), vec![0.0, 1.0, 0.5]);
        let row = TokenRow::new(&example);
        assert_eq!(row.input_ids, vec![1, 2, 10, 11, 12, 99]);
        assert_eq!(row.attention_mask, vec![1; 6]);
        assert_eq!(row.labels, vec![-100, -100, -100, 11, 12, 99]);
        assert_eq!(row.assistant_masks, vec![0, 0, 0, 1, 1, 1]);
    }
}
